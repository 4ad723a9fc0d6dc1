//! Policy findings: an [`EventSink`] adapter that sits between a producer
//! (engine or capture observer) and the renderers, forwards every event
//! unchanged, and after a message that shows a weakness adds a `Note` event
//! saying so: SSL 3.0 or TLS 1.0/1.1 negotiated; export, RC4, NULL,
//! single-DES, 3DES or anonymous suites; DEFLATE compression; RSA keys
//! under 2048 bits; certificates expired, not yet valid or self-signed.
//!
//! Why an adapter: the engine and the observer report facts only, so both
//! get the same findings from the same code, and a test of policy needs no
//! handshake (STYLE-ANCHORS.md, amendment A4). Protocol *violations* (bad
//! MAC, wrong Finished, unexpected message) are facts, not policy: the
//! producers note those themselves and this module leaves them alone.
//!
//! Suite weaknesses come from the suite registry's fields
//! ([`crate::wire::suites`]); certificate facts from the summaries the
//! producer attached ([`crate::pki::CertSummary`]). The reference time for
//! validity is injected ([`Analyzer::new`]), never read from the clock.
//!
//! A note added here carries the `seq`, connection, direction, origin and
//! time of the message that shows the weakness, so a consumer can tie the
//! two together.

use crate::event::{
    Direction, Event, EventKind, EventSink, Message, MessageEvent, Note, NoteCode, RecordDetail,
    Timestamp,
};
use crate::pki::{self, CertSummary, KeyType, Validity};
use crate::wire::handshake::ServerKeyExchange;
use crate::wire::suites::{self, BulkCipher};
use crate::wire::{CipherSuite, CompressionMethod, HandshakeMessage, ProtocolVersion, ServerHello};

/// RSA keys shorter than this are reported (NIST SP 800-131A, and what
/// browsers have required since 2014).
pub const MIN_RSA_BITS: u32 = 2048;

/// Forwards events to `inner`, adding policy notes.
pub struct Analyzer<S: EventSink> {
    inner: S,
    now: Option<Timestamp>,
}

impl<S: EventSink> Analyzer<S> {
    /// `now` is the time certificates are judged at (the CLI passes the
    /// current time, or the capture's); `None` judges each certificate at
    /// the time of the event that carried it, or not at all when the event
    /// has no time.
    pub fn new(inner: S, now: Option<Timestamp>) -> Self {
        Self { inner, now }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: EventSink> EventSink for Analyzer<S> {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()> {
        self.inner.emit(ev)?;
        let EventKind::Message(m) = &ev.kind else {
            return Ok(());
        };
        for note in findings(m, ev.dir, self.now.or(ev.time)) {
            self.inner.emit(&Event {
                seq: ev.seq,
                conn: ev.conn,
                dir: ev.dir,
                origin: ev.origin,
                time: ev.time,
                kind: EventKind::Note(note),
            })?;
        }
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        self.inner.wants(detail)
    }
}

/// The policy findings one message shows.
pub fn findings(m: &MessageEvent, dir: Option<Direction>, now: Option<Timestamp>) -> Vec<Note> {
    let Message::Handshake { parsed: Ok(h), .. } = &m.message else {
        return Vec::new();
    };
    match h {
        HandshakeMessage::ServerHello(sh) if !sh.is_hello_retry_request() => {
            server_hello_findings(sh)
        }
        HandshakeMessage::Certificate(_) => {
            let whose = match dir {
                Some(Direction::ClientToServer) => "client certificate",
                _ => "server certificate",
            };
            m.certificates
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().ok().map(|c| (i, c)))
                .flat_map(|(i, c)| certificate_findings(c, i, whose, now))
                .collect()
        }
        HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Rsa { modulus, .. }) => {
            let bits = bit_length(modulus);
            if bits < MIN_RSA_BITS {
                vec![Note::new(NoteCode::ShortRsaKey)
                    .with("what", "temporary RSA key")
                    .with("bits", bits)]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// Number of significant bits of a big-endian unsigned integer.
fn bit_length(b: &[u8]) -> u32 {
    match b.iter().position(|&x| x != 0) {
        Some(i) => ((b.len() - i) * 8) as u32 - b[i].leading_zeros(),
        None => 0,
    }
}

fn server_hello_findings(sh: &ServerHello) -> Vec<Note> {
    let mut notes = Vec::new();
    let v = sh.negotiated_version();
    if v == ProtocolVersion::SSLv3 {
        notes.push(Note::new(NoteCode::Ssl3Negotiated));
    } else if v == ProtocolVersion::TLSv1_0 || v == ProtocolVersion::TLSv1_1 {
        notes.push(Note::new(NoteCode::WeakVersion).with("version", v.name().unwrap_or("?")));
    }
    notes.extend(suite_findings(sh.cipher_suite));
    if sh.compression_method == CompressionMethod::Deflate {
        notes.push(Note::new(NoteCode::DeflateCompression));
    }
    notes
}

/// What is weak about a negotiated suite, from the registry's fields.
pub fn suite_findings(s: CipherSuite) -> Vec<Note> {
    let Some(info) = suites::lookup(s.0) else {
        return Vec::new();
    };
    if info.is_scsv() {
        return Vec::new();
    }
    let note = |code| Note::new(code).with("suite", info.iana);
    let mut notes = Vec::new();
    if info.export {
        notes.push(note(NoteCode::ExportCipher));
    }
    match info.cipher {
        BulkCipher::Rc4_40 | BulkCipher::Rc4_56 | BulkCipher::Rc4_128 => {
            notes.push(note(NoteCode::Rc4Cipher))
        }
        BulkCipher::Null => notes.push(note(NoteCode::NullCipher)),
        // Export DES40 is reported as export; this is the full 56-bit DES.
        BulkCipher::DesCbc => notes.push(note(NoteCode::DesCipher)),
        BulkCipher::TripleDesEdeCbc => notes.push(note(NoteCode::TripleDesCipher)),
        _ => {}
    }
    if info.auth == suites::Authentication::Anonymous {
        notes.push(note(NoteCode::AnonymousKeyExchange));
    }
    notes
}

/// What is wrong with one certificate of a chain (`index` 0 is the leaf).
pub fn certificate_findings(
    c: &CertSummary,
    index: usize,
    whose: &str,
    now: Option<Timestamp>,
) -> Vec<Note> {
    let mut notes = Vec::new();
    let rsa = matches!(c.key_type, KeyType::Rsa | KeyType::RsaPss);
    // key_bits is 0 when the key did not parse: unknown is not short.
    if rsa && c.key_bits > 0 && c.key_bits < MIN_RSA_BITS {
        notes.push(
            Note::new(NoteCode::ShortRsaKey)
                .with("what", whose)
                .with("bits", c.key_bits)
                .with("subject", c.subject.as_str()),
        );
    }
    if let Some(now) = now {
        match pki::validity_status(c, now.secs) {
            Validity::Expired => notes.push(
                Note::new(NoteCode::CertificateExpired)
                    .with("subject", c.subject.as_str())
                    .with("not_after", c.not_after_utc.as_str()),
            ),
            Validity::NotYetValid => notes.push(
                Note::new(NoteCode::CertificateNotYetValid)
                    .with("subject", c.subject.as_str())
                    .with("not_before", c.not_before_utc.as_str()),
            ),
            Validity::Valid => {}
        }
    }
    // A root sent along with the chain is self-signed by nature; only a
    // self-signed leaf means nobody else vouches for the peer.
    if index == 0 && c.self_signed {
        notes.push(Note::new(NoteCode::SelfSignedCertificate).with("subject", c.subject.as_str()));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Origin, Severity, VecSink};
    use crate::wire::{Random, WireContext};

    fn server_hello(version: ProtocolVersion, suite: u16, comp: CompressionMethod) -> Event {
        let sh = ServerHello {
            server_version: version,
            random: Random([1; 32]),
            session_id: vec![],
            cipher_suite: CipherSuite(suite),
            compression_method: comp,
            extensions: None,
        };
        let h = HandshakeMessage::ServerHello(sh);
        let raw = h.to_bytes(&WireContext::default());
        Event {
            seq: 3,
            conn: 1,
            dir: Some(Direction::ServerToClient),
            origin: Origin::Observed,
            time: None,
            kind: EventKind::Message(Box::new(MessageEvent {
                step: Some(2),
                message: Message::Handshake {
                    typ: h.typ(),
                    parsed: Ok(h),
                },
                raw,
                records: 1,
                protected: false,
                notes: vec![],
                certificates: vec![],
            })),
        }
    }

    fn codes(ev: &Event) -> Vec<NoteCode> {
        let mut a = Analyzer::new(VecSink::default(), None);
        a.emit(ev).unwrap();
        let events = a.into_inner().0;
        assert_eq!(&events[0], ev, "the message is forwarded first, unchanged");
        events[1..]
            .iter()
            .map(|e| {
                assert_eq!(e.seq, ev.seq);
                assert_eq!(e.conn, ev.conn);
                match &e.kind {
                    EventKind::Note(n) => n.code,
                    other => panic!("not a note: {other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn tls10_with_3des() {
        let ev = server_hello(ProtocolVersion::TLSv1_0, 0x000a, CompressionMethod::Null);
        assert_eq!(
            codes(&ev),
            [NoteCode::WeakVersion, NoteCode::TripleDesCipher]
        );
    }

    #[test]
    fn ssl3_export_rc4_deflate() {
        let ev = server_hello(ProtocolVersion::SSLv3, 0x0003, CompressionMethod::Deflate);
        assert_eq!(
            codes(&ev),
            [
                NoteCode::Ssl3Negotiated,
                NoteCode::ExportCipher,
                NoteCode::Rc4Cipher,
                NoteCode::DeflateCompression
            ]
        );
    }

    #[test]
    fn null_des_and_anonymous_suites() {
        let null = server_hello(ProtocolVersion::TLSv1_2, 0x0002, CompressionMethod::Null);
        assert_eq!(codes(&null), [NoteCode::NullCipher]);
        let des = server_hello(ProtocolVersion::TLSv1_2, 0x0009, CompressionMethod::Null);
        assert_eq!(codes(&des), [NoteCode::DesCipher]);
        // TLS_DH_anon_WITH_AES_128_CBC_SHA
        let anon = server_hello(ProtocolVersion::TLSv1_2, 0x0034, CompressionMethod::Null);
        assert_eq!(codes(&anon), [NoteCode::AnonymousKeyExchange]);
    }

    #[test]
    fn modern_handshake_is_quiet() {
        let ev = server_hello(ProtocolVersion::TLSv1_2, 0x009c, CompressionMethod::Null);
        assert!(codes(&ev).is_empty());
        let unknown = server_hello(ProtocolVersion::TLSv1_2, 0x4242, CompressionMethod::Null);
        assert!(codes(&unknown).is_empty());
    }

    #[test]
    fn notes_carry_the_suite_and_default_severity() {
        let notes = suite_findings(CipherSuite(0x0005));
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].severity, Severity::Warning);
        assert_eq!(
            notes[0].param("suite"),
            Some(&crate::event::NoteValue::Str(
                "TLS_RSA_WITH_RC4_128_SHA".into()
            ))
        );
    }

    fn certificate_event(
        dir: Direction,
        summaries: Vec<CertSummary>,
        time: Option<Timestamp>,
    ) -> Event {
        use crate::wire::handshake::Certificate;
        let h = HandshakeMessage::Certificate(Certificate::from_chain(vec![
            vec![0x30; 10];
            summaries.len()
        ]));
        Event {
            seq: 4,
            conn: 1,
            dir: Some(dir),
            origin: Origin::Observed,
            time,
            kind: EventKind::Message(Box::new(MessageEvent {
                step: Some(2),
                raw: h.to_bytes(&WireContext::default()),
                message: Message::Handshake {
                    typ: h.typ(),
                    parsed: Ok(h),
                },
                records: 1,
                protected: false,
                notes: vec![],
                certificates: summaries.into_iter().map(Ok).collect(),
            })),
        }
    }

    #[test]
    fn certificate_findings_judged_at_the_injected_time() {
        let mut leaf = crate::report::sample::leaf();
        leaf.self_signed = true;
        let mut root = leaf.clone();
        root.key_bits = 4096;
        root.is_ca = true;
        let valid_at = Timestamp {
            secs: crate::report::sample::T0,
            nanos: 0,
        };
        let ev = certificate_event(
            Direction::ServerToClient,
            vec![leaf.clone(), root.clone()],
            None,
        );
        // No time anywhere: no validity verdict; a self-signed root is not reported.
        assert_eq!(
            codes(&ev),
            [NoteCode::ShortRsaKey, NoteCode::SelfSignedCertificate]
        );

        let later = Timestamp {
            secs: leaf.not_after + 1,
            nanos: 0,
        };
        let mut a = Analyzer::new(VecSink::default(), Some(later));
        a.emit(&ev).unwrap();
        let notes: Vec<Note> = a.into_inner().0[1..]
            .iter()
            .map(|e| match &e.kind {
                EventKind::Note(n) => n.clone(),
                _ => unreachable!(),
            })
            .collect();
        let got: Vec<NoteCode> = notes.iter().map(|n| n.code).collect();
        assert_eq!(
            got,
            [
                NoteCode::ShortRsaKey,
                NoteCode::CertificateExpired,
                NoteCode::SelfSignedCertificate,
                NoteCode::CertificateExpired
            ]
        );
        assert_eq!(
            notes[0].param("what"),
            Some(&crate::event::NoteValue::Str("server certificate".into()))
        );
        assert_eq!(
            notes[1].param("not_after"),
            Some(&crate::event::NoteValue::Str(leaf.not_after_utc.clone()))
        );

        // The event's own time is used when no "now" is injected.
        let early = Timestamp {
            secs: leaf.not_before - 1,
            nanos: 0,
        };
        leaf.self_signed = false;
        leaf.key_bits = 2048;
        let ev = certificate_event(Direction::ClientToServer, vec![leaf.clone()], Some(early));
        assert_eq!(codes(&ev), [NoteCode::CertificateNotYetValid]);
        let ev = certificate_event(Direction::ClientToServer, vec![leaf], Some(valid_at));
        assert!(codes(&ev).is_empty());
    }

    #[test]
    fn short_temporary_rsa_key() {
        let skx = HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Rsa {
            modulus: vec![0xc0; 64],
            exponent: vec![1, 0, 1],
            signature: crate::wire::handshake::DigitallySigned {
                algorithm: None,
                signature: vec![0; 128],
            },
        });
        let m = MessageEvent {
            step: Some(2),
            raw: vec![],
            message: Message::Handshake {
                typ: skx.typ(),
                parsed: Ok(skx),
            },
            records: 1,
            protected: false,
            notes: vec![],
            certificates: vec![],
        };
        let notes = findings(&m, Some(Direction::ServerToClient), None);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].code, NoteCode::ShortRsaKey);
        assert_eq!(
            notes[0].param("bits"),
            Some(&crate::event::NoteValue::U64(512))
        );
    }

    #[test]
    fn non_message_events_pass_through_alone() {
        let ev = Event {
            seq: 1,
            conn: 1,
            dir: None,
            origin: Origin::Observed,
            time: None,
            kind: EventKind::Note(Note::new(NoteCode::TcpReset)),
        };
        let mut a = Analyzer::new(VecSink::default(), None);
        a.emit(&ev).unwrap();
        assert_eq!(a.into_inner().0, vec![ev]);
    }
}
