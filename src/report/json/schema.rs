//! The JSON view types: the shape of every `data` object of the JSON Lines
//! output, and the functions that build them from events.
//!
//! These types exist only to be serialized. The event and wire types never
//! derive `Serialize`, so refactoring them cannot change the public format
//! by accident: a change here is a change to the contract, documented in
//! `docs/json-schema.md` and [`super`], and a rename or removal bumps
//! [`SCHEMA`].
//!
//! Conventions: bytes are lowercase hex strings; protocol numbers are
//! integers (`code`) beside their registry name (`name`, `null` when
//! unknown); optional facts are `null` rather than absent, except the few
//! fields marked "only when" in the documentation.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::crypto::mac::MacConstruction;
use crate::event::{
    ConnectionInfo, DataCount, Direction, Event, FlowEvent, HandshakeKind, Message, MessageEvent,
    Note, NoteValue, Origin, Outcome, RecordCrypto, RecordInfo, SecretSource, SessionSecrets,
    Severity, Timestamp,
};
use crate::pki::{CertSummary, KeyType};
use crate::record::protection::{Integrity, IvUse, PaddingCheck};
use crate::report::describe::{self, hex};
use crate::report::{bit_length, extension_data_offsets, RunInfo, RunSummary};
use crate::wire::handshake::{
    Certificate, CertificateRequest, ClientKeyExchange, DigitallySigned, NewSessionTicket,
    ServerKeyExchange,
};
use crate::wire::{
    suites, Alert, CipherSuite, ClientHello, DecodeError, Extension, ExtensionBody,
    ExtensionContext, HandshakeMessage, ProtocolVersion, ServerHello, SslV2ClientHello,
};

/// The schema number written in the `begin` line. Adding fields keeps it;
/// renaming or removing one bumps it.
pub const SCHEMA: u32 = 1;

/// One output line: `{"type": ..., "data": {...}}`.
#[derive(Serialize)]
pub struct Envelope<T: Serialize> {
    #[serde(rename = "type")]
    pub typ: &'static str,
    pub data: T,
}

// -- Small shared shapes --

/// A one-byte protocol number with its registry name.
#[derive(Serialize)]
pub struct Named8 {
    pub code: u8,
    pub name: Option<&'static str>,
}

/// A two-byte protocol number with its registry name.
#[derive(Serialize)]
pub struct Named16 {
    pub code: u16,
    pub name: Option<&'static str>,
}

fn n8(code: u8, name: Option<&'static str>) -> Named8 {
    Named8 { code, name }
}

fn n16(code: u16, name: Option<&'static str>) -> Named16 {
    Named16 { code, name }
}

/// `{"code": 769, "name": "TLSv1.0"}`.
pub fn version(v: ProtocolVersion) -> Named16 {
    n16(v.0, v.name())
}

/// A cipher suite: code, IANA and OpenSSL names, and `grease: true` only
/// for GREASE values.
#[derive(Serialize)]
pub struct SuiteView {
    pub code: u16,
    pub iana: Option<&'static str>,
    pub openssl: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub grease: bool,
}

pub fn suite(s: CipherSuite) -> SuiteView {
    let info = suites::lookup(s.0);
    SuiteView {
        code: s.0,
        iana: info.map(|i| i.iana),
        openssl: info.and_then(|i| i.openssl),
        grease: s.is_grease(),
    }
}

/// A decode error: which structure, where (offset into `raw`), and the
/// message.
#[derive(Serialize)]
pub struct ErrorView {
    pub what: &'static str,
    pub offset: usize,
    pub message: String,
}

pub fn error(e: &DecodeError) -> ErrorView {
    ErrorView {
        what: e.what(),
        offset: e.offset(),
        message: e.to_string(),
    }
}

/// Seconds since the Unix epoch, as a float.
pub fn time(t: Option<Timestamp>) -> Option<f64> {
    t.map(|t| t.secs as f64 + f64::from(t.nanos) / 1e9)
}

pub fn dir(d: Option<Direction>) -> Option<&'static str> {
    d.map(Direction::id)
}

fn origin(o: Origin) -> &'static str {
    match o {
        Origin::Sent => "sent",
        Origin::Received => "received",
        Origin::Observed => "observed",
    }
}

// -- Notes --

/// A note parameter: numbers as numbers, strings as strings, bytes as hex.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ParamView {
    Number(u64),
    Text(String),
}

/// A finding: stable code, severity, typed parameters.
#[derive(Serialize)]
pub struct NoteView {
    pub code: &'static str,
    pub severity: &'static str,
    pub params: BTreeMap<&'static str, ParamView>,
}

pub fn note(n: &Note) -> NoteView {
    NoteView {
        code: n.code.id(),
        severity: match n.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        },
        params: n
            .params
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    NoteValue::U64(x) => ParamView::Number(*x),
                    NoteValue::Str(s) => ParamView::Text(s.clone()),
                    NoteValue::Bytes(b) => ParamView::Text(hex(b)),
                };
                (*k, v)
            })
            .collect(),
    }
}

// -- Lines --

#[derive(Serialize)]
pub struct BeginView {
    pub schema: u32,
    pub version: String,
    pub command: String,
    pub target: String,
}

pub fn begin(run: &RunInfo) -> BeginView {
    BeginView {
        schema: SCHEMA,
        version: run.version.clone(),
        command: run.command.clone(),
        target: run.target.clone(),
    }
}

#[derive(Serialize)]
pub struct EndView {
    pub connections: u32,
    pub ok: u32,
    pub failed: u32,
    pub incomplete: u32,
}

pub fn end(s: &RunSummary) -> EndView {
    EndView {
        connections: s.connections(),
        ok: s.ok,
        failed: s.failed,
        incomplete: s.incomplete,
    }
}

#[derive(Serialize)]
pub struct ConnectionView {
    pub seq: u64,
    pub conn: u32,
    pub time: Option<f64>,
    pub client: Option<String>,
    pub server: Option<String>,
    pub tcp_handshake_seen: bool,
}

pub fn connection(ev: &Event, c: &ConnectionInfo) -> ConnectionView {
    ConnectionView {
        seq: ev.seq,
        conn: ev.conn,
        time: time(ev.time),
        client: c.client.map(|a| a.to_string()),
        server: c.server.map(|a| a.to_string()),
        tcp_handshake_seen: c.tcp_handshake_seen,
    }
}

#[derive(Serialize)]
pub struct RecordView {
    pub seq: u64,
    pub conn: u32,
    pub dir: Option<&'static str>,
    pub time: Option<f64>,
    pub content_type: Named8,
    pub version: Named16,
    pub length: u16,
    pub protected: bool,
    pub stream_offset: u64,
    pub sslv2: bool,
}

pub fn record(ev: &Event, r: &RecordInfo) -> RecordView {
    RecordView {
        seq: ev.seq,
        conn: ev.conn,
        dir: dir(ev.dir),
        time: time(ev.time),
        content_type: n8(r.header.content_type.0, r.header.content_type.name()),
        version: version(r.header.version),
        length: r.header.length,
        protected: r.protected,
        stream_offset: r.stream_offset,
        sslv2: r.sslv2,
    }
}

/// The flags of a handshake's shape.
#[derive(Serialize)]
pub struct KindView {
    pub resumed: bool,
    pub client_auth: bool,
    pub no_client_cert: bool,
    pub server_key_exchange: bool,
    pub tls13: bool,
    pub hello_retry: bool,
    pub renegotiation: bool,
}

pub fn kind(k: &HandshakeKind) -> KindView {
    KindView {
        resumed: k.resumed,
        client_auth: k.client_auth,
        no_client_cert: k.no_client_cert,
        server_key_exchange: k.server_key_exchange,
        tls13: k.tls13,
        hello_retry: k.hello_retry,
        renegotiation: k.renegotiation,
    }
}

#[derive(Serialize)]
pub struct FlowView {
    pub seq: u64,
    pub conn: u32,
    pub time: Option<f64>,
    /// `kind` or `renegotiation`.
    pub event: &'static str,
    /// Only for `kind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<KindView>,
    /// Only for `renegotiation`: the number of the new handshake (2, 3...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
}

pub fn flow(ev: &Event, f: &FlowEvent) -> FlowView {
    let (event, k, number) = match f {
        FlowEvent::Kind(k) => ("kind", Some(kind(k)), None),
        FlowEvent::Renegotiation { number } => ("renegotiation", None, Some(*number)),
    };
    FlowView {
        seq: ev.seq,
        conn: ev.conn,
        time: time(ev.time),
        event,
        kind: k,
        number,
    }
}

#[derive(Serialize)]
pub struct NoteEventView {
    pub seq: u64,
    pub conn: u32,
    pub dir: Option<&'static str>,
    pub time: Option<f64>,
    #[serde(flatten)]
    pub note: NoteView,
}

pub fn note_event(ev: &Event, n: &Note) -> NoteEventView {
    NoteEventView {
        seq: ev.seq,
        conn: ev.conn,
        dir: dir(ev.dir),
        time: time(ev.time),
        note: note(n),
    }
}

#[derive(Serialize)]
pub struct DataCountView {
    pub records: u64,
    pub bytes: u64,
}

fn data_count(d: &DataCount) -> DataCountView {
    DataCountView {
        records: d.records,
        bytes: d.bytes,
    }
}

/// The alert that ended a connection and who sent it.
#[derive(Serialize)]
pub struct OutcomeAlertView {
    pub level: Option<&'static str>,
    pub description: Option<&'static str>,
    pub code: u8,
    /// `client` or `server`.
    pub from: &'static str,
}

#[derive(Serialize)]
pub struct OutcomeView {
    pub seq: u64,
    pub conn: u32,
    pub time: Option<f64>,
    /// `ok`, `failed` or `incomplete`.
    pub result: &'static str,
    /// `SSLv3`, `TLSv1.0` ... `TLSv1.3`; null when none was negotiated or
    /// the value is unknown (then see `version_code`).
    pub version: Option<&'static str>,
    pub version_code: Option<u16>,
    /// The IANA name.
    pub cipher_suite: Option<&'static str>,
    pub cipher_suite_code: Option<u16>,
    pub resumed: bool,
    pub handshake_kind: Option<KindView>,
    pub alert: Option<OutcomeAlertView>,
    pub decrypted: bool,
    pub finished_verified: Option<bool>,
    pub handshakes: u32,
    pub client_to_server: DataCountView,
    pub server_to_client: DataCountView,
    pub server_name: Option<String>,
    pub reason: Option<NoteView>,
}

pub fn outcome(ev: &Event, o: &Outcome) -> OutcomeView {
    OutcomeView {
        seq: ev.seq,
        conn: ev.conn,
        time: time(ev.time),
        result: o.result.id(),
        version: o.version.and_then(|v| v.name()),
        version_code: o.version.map(|v| v.0),
        cipher_suite: o.cipher_suite.and_then(|s| s.name()),
        cipher_suite_code: o.cipher_suite.map(|s| s.0),
        resumed: o.resumed,
        handshake_kind: o.kind.as_ref().map(kind),
        alert: o.alert.as_ref().map(|(a, from)| OutcomeAlertView {
            level: a.level.name(),
            description: a.description.name(),
            code: a.description.0,
            from: match from {
                Direction::ClientToServer => "client",
                Direction::ServerToClient => "server",
            },
        }),
        decrypted: o.decrypted,
        finished_verified: o.finished_verified,
        handshakes: o.handshakes,
        client_to_server: data_count(&o.client_to_server),
        server_to_client: data_count(&o.server_to_client),
        server_name: o.server_name.clone(),
        reason: o.reason.as_ref().map(note),
    }
}

// -- Decryption --

/// How a record's integrity was checked.
#[derive(Serialize)]
pub struct MacView {
    /// `hmac`, `ssl3_mac` or `aead`.
    pub kind: &'static str,
    /// `MD5`, `SHA1`, `SHA256`, `SHA384`; null for AEAD.
    pub algorithm: Option<&'static str>,
    pub value: String,
    pub verified: bool,
}

/// The IV or nonce of a record.
#[derive(Serialize)]
pub struct IvView {
    /// `implicit` (SSL 3.0, TLS 1.0 CBC), `explicit` (TLS 1.1+ CBC) or
    /// `gcm_nonce`.
    pub kind: &'static str,
    pub value: String,
    /// Implicit IV only: the first record's, from the key block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_key_block: Option<bool>,
}

#[derive(Serialize)]
pub struct PaddingView {
    /// The padding_length byte.
    pub length: u8,
    /// `length_only` (SSL 3.0) or `every_byte`.
    pub check: &'static str,
}

/// A `record_crypto` line (with `-v`): a protected record opened, or not.
#[derive(Serialize)]
pub struct RecordCryptoView {
    pub seq: u64,
    pub conn: u32,
    pub dir: Option<&'static str>,
    pub time: Option<f64>,
    pub stream_offset: u64,
    pub content_type: Named8,
    pub length: u16,
    /// The record sequence number (null when it did not open).
    pub sequence_number: Option<u64>,
    /// The bulk cipher as suite names write it (`AES_128_CBC`).
    pub cipher: Option<&'static str>,
    pub mac: Option<MacView>,
    pub iv: Option<IvView>,
    pub padding: Option<PaddingView>,
    pub encrypt_then_mac: Option<bool>,
    pub plaintext_length: Option<usize>,
    /// Why it did not open (`bad_record_mac`, `record_overflow`,
    /// `decode_error`, `sequence_exhausted`), or null.
    pub error: Option<&'static str>,
}

pub fn record_crypto(ev: &Event, rc: &RecordCrypto) -> RecordCryptoView {
    let f = rc.result.as_ref().ok();
    RecordCryptoView {
        seq: ev.seq,
        conn: ev.conn,
        dir: dir(ev.dir),
        time: time(ev.time),
        stream_offset: rc.stream_offset,
        content_type: n8(rc.header.content_type.0, rc.header.content_type.name()),
        length: rc.header.length,
        sequence_number: f.map(|f| f.seq),
        cipher: f.map(|f| f.cipher.name()),
        mac: f.and_then(|f| match &f.integrity {
            Integrity::None => None,
            Integrity::Mac {
                algorithm,
                construction,
                value,
                verified,
            } => Some(MacView {
                kind: match construction {
                    MacConstruction::Ssl3 => "ssl3_mac",
                    MacConstruction::Hmac => "hmac",
                },
                algorithm: Some(algorithm.name()),
                value: hex(value),
                verified: *verified,
            }),
            Integrity::AeadTag { tag, verified } => Some(MacView {
                kind: "aead",
                algorithm: None,
                value: hex(tag),
                verified: *verified,
            }),
        }),
        iv: f.and_then(|f| match &f.iv {
            IvUse::None => None,
            IvUse::CbcImplicit { iv, from_key_block } => Some(IvView {
                kind: "implicit",
                value: hex(iv),
                from_key_block: Some(*from_key_block),
            }),
            IvUse::CbcExplicit { iv } => Some(IvView {
                kind: "explicit",
                value: hex(iv),
                from_key_block: None,
            }),
            IvUse::GcmNonce { salt, explicit } => Some(IvView {
                kind: "gcm_nonce",
                value: format!("{}{}", hex(salt), hex(explicit)),
                from_key_block: None,
            }),
            IvUse::Tls13Nonce { nonce } => Some(IvView {
                kind: "tls13_nonce",
                value: hex(nonce),
                from_key_block: None,
            }),
        }),
        padding: f.and_then(|f| f.padding).map(|p| PaddingView {
            length: p.length,
            check: match p.check {
                PaddingCheck::LengthOnly => "length_only",
                PaddingCheck::EveryByte => "every_byte",
            },
        }),
        encrypt_then_mac: f.map(|f| f.encrypt_then_mac),
        plaintext_length: rc.plaintext_length,
        error: rc
            .result
            .as_ref()
            .err()
            .map(|e| e.alert().name().unwrap_or("error")),
    }
}

/// The key block as cut (`keys` of a `secrets` line).
#[derive(Serialize)]
pub struct KeysView {
    pub client_write_mac_key: String,
    pub server_write_mac_key: String,
    pub client_write_key: String,
    pub server_write_key: String,
    pub client_write_iv: String,
    pub server_write_iv: String,
}

/// A `secrets` line: a session's secrets became known. The secret members
/// are null unless `--show-secrets` was given.
#[derive(Serialize)]
pub struct SecretsView {
    pub seq: u64,
    pub conn: u32,
    pub time: Option<f64>,
    /// `key_log_client_random`, `key_log_rsa`, `server_key`,
    /// `earlier_session` or `key_log_tls13`.
    pub source: &'static str,
    /// `earlier_session` only: the connection it was learnt on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_conn: Option<u32>,
    pub client_random: String,
    pub server_random: String,
    pub version: Option<&'static str>,
    pub cipher_suite: Option<&'static str>,
    pub extended_master_secret: bool,
    pub encrypt_then_mac: bool,
    pub redacted: bool,
    pub pre_master: Option<String>,
    /// SSL 3.0 to TLS 1.2.
    pub master_secret: Option<String>,
    pub keys: Option<KeysView>,
    /// TLS 1.3: the traffic secrets by key log label
    /// (`CLIENT_HANDSHAKE_TRAFFIC_SECRET`...).
    pub tls13_secrets: Option<BTreeMap<&'static str, String>>,
}

pub fn secrets(ev: &Event, s: &SessionSecrets, show: bool) -> SecretsView {
    SecretsView {
        seq: ev.seq,
        conn: ev.conn,
        time: time(ev.time),
        source: s.source.id(),
        from_conn: match s.source {
            SecretSource::EarlierSession { conn } => Some(conn),
            _ => None,
        },
        client_random: hex(&s.client_random),
        server_random: hex(&s.server_random),
        version: s.version.name(),
        cipher_suite: s.cipher_suite.name(),
        extended_master_secret: s.extended_master_secret,
        encrypt_then_mac: s.encrypt_then_mac,
        redacted: !show,
        pre_master: show
            .then(|| s.pre_master.as_ref().map(|p| hex(p.expose())))
            .flatten(),
        master_secret: show
            .then(|| s.master_secret.as_ref().map(|m| hex(m.expose())))
            .flatten(),
        tls13_secrets: show.then(|| {
            s.tls13_secrets
                .iter()
                .map(|(label, secret)| (label.name(), hex(secret.expose())))
                .collect()
        }),
        keys: show
            .then(|| {
                s.keys.as_ref().map(|k| KeysView {
                    client_write_mac_key: hex(k.client_write_mac_key.expose()),
                    server_write_mac_key: hex(k.server_write_mac_key.expose()),
                    client_write_key: hex(k.client_write_key.expose()),
                    server_write_key: hex(k.server_write_key.expose()),
                    client_write_iv: hex(k.client_write_iv.expose()),
                    server_write_iv: hex(k.server_write_iv.expose()),
                })
            })
            .flatten(),
    }
}

// -- Messages --

#[derive(Serialize)]
pub struct MessageView {
    pub seq: u64,
    pub conn: u32,
    pub dir: Option<&'static str>,
    /// `sent`, `received` or `observed`.
    pub origin: &'static str,
    pub time: Option<f64>,
    /// `Message::name()`: `client_hello`, `change_cipher_spec`,
    /// `encrypted_handshake`...
    pub name: &'static str,
    pub step: Option<u8>,
    /// The exact bytes, lowercase hex (empty when not kept).
    pub raw: String,
    pub records: u32,
    pub protected: bool,
    pub notes: Vec<NoteView>,
    /// The parsed view; null when the message did not decode.
    pub fields: Option<Fields>,
    /// Only when the message did not decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
}

pub fn message(ev: &Event, m: &MessageEvent) -> MessageView {
    MessageView {
        seq: ev.seq,
        conn: ev.conn,
        dir: dir(ev.dir),
        origin: origin(ev.origin),
        time: time(ev.time),
        name: m.message.name(),
        step: m.step,
        raw: hex(&m.raw),
        records: m.records,
        protected: m.protected,
        notes: m.notes.iter().map(note).collect(),
        fields: fields(m),
        error: m.message.decode_error().map(error),
    }
}

/// The parsed fields of a message, by message type (see the docs for the
/// members of each).
#[derive(Serialize)]
#[serde(untagged)]
pub enum Fields {
    ClientHello(ClientHelloView),
    ServerHello(ServerHelloView),
    SslV2ClientHello(SslV2ClientHelloView),
    Certificate(CertificateView),
    ServerKeyExchange(ServerKeyExchangeView),
    CertificateRequest(CertificateRequestView),
    CertificateVerify {
        signature: SignatureView,
    },
    ClientKeyExchange(ClientKeyExchangeView),
    Finished {
        verify_data: String,
        length: usize,
    },
    NewSessionTicket(NewSessionTicketView),
    Extensions {
        extensions: Vec<ExtensionView>,
    },
    CertificateStatus {
        status_type: Named8,
        response: String,
    },
    KeyUpdate {
        request: Named8,
    },
    UnknownHandshake {
        handshake_type: u8,
        body: String,
    },
    Alert(AlertView),
    Heartbeat(HeartbeatView),
    ApplicationData {
        length: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        plaintext: Option<String>,
    },
    Record {
        content_type: Named8,
        length: usize,
    },
    /// HelloRequest, ServerHelloDone, EndOfEarlyData, ChangeCipherSpec.
    Empty {},
}

fn fields(m: &MessageEvent) -> Option<Fields> {
    let raw_len = m.raw.len();
    Some(match &m.message {
        Message::Handshake { parsed, .. } => match parsed.as_ref().ok()? {
            HandshakeMessage::HelloRequest
            | HandshakeMessage::ServerHelloDone
            | HandshakeMessage::EndOfEarlyData => Fields::Empty {},
            HandshakeMessage::ClientHello(ch) => Fields::ClientHello(client_hello(ch, raw_len)),
            HandshakeMessage::ServerHello(sh) => Fields::ServerHello(server_hello(sh, raw_len)),
            HandshakeMessage::NewSessionTicket(t) => {
                Fields::NewSessionTicket(new_session_ticket(t, raw_len))
            }
            HandshakeMessage::EncryptedExtensions(e) => Fields::Extensions {
                extensions: extensions(e, ExtensionContext::EncryptedExtensions, raw_len),
            },
            HandshakeMessage::Certificate(c) => {
                Fields::Certificate(certificate(c, &m.certificates))
            }
            HandshakeMessage::ServerKeyExchange(s) => {
                Fields::ServerKeyExchange(server_key_exchange(s))
            }
            HandshakeMessage::CertificateRequest(c) => {
                Fields::CertificateRequest(certificate_request(c, raw_len))
            }
            HandshakeMessage::CertificateVerify(s) => Fields::CertificateVerify {
                signature: signature(s),
            },
            HandshakeMessage::ClientKeyExchange(c) => {
                Fields::ClientKeyExchange(client_key_exchange(c))
            }
            HandshakeMessage::Finished(f) => Fields::Finished {
                verify_data: hex(&f.verify_data),
                length: f.verify_data.len(),
            },
            HandshakeMessage::CertificateStatus(c) => Fields::CertificateStatus {
                status_type: n8(c.status_type.0, c.status_type.name()),
                response: hex(&c.response),
            },
            HandshakeMessage::KeyUpdate(k) => Fields::KeyUpdate {
                request: n8(k.0, k.name()),
            },
            HandshakeMessage::Unknown { typ, body } => Fields::UnknownHandshake {
                handshake_type: typ.0,
                body: hex(body),
            },
        },
        Message::SslV2ClientHello(h) => {
            Fields::SslV2ClientHello(sslv2_client_hello(h.as_ref().ok()?))
        }
        Message::ChangeCipherSpec(c) => {
            c.as_ref().ok()?;
            Fields::Empty {}
        }
        Message::Alert(a) => Fields::Alert(alert(a.as_ref().ok()?)),
        Message::Heartbeat(h) => {
            let h = h.as_ref().ok()?;
            Fields::Heartbeat(HeartbeatView {
                heartbeat_type: n8(h.typ.0, h.typ.name()),
                payload_length: h.payload_length,
                payload: hex(&h.payload),
                padding_length: h.padding.len(),
            })
        }
        Message::ApplicationData { length, plaintext } => Fields::ApplicationData {
            length: *length,
            plaintext: plaintext.as_deref().map(hex),
        },
        Message::Encrypted {
            content_type,
            length,
        }
        | Message::UnknownRecord {
            content_type,
            length,
        } => Fields::Record {
            content_type: n8(content_type.0, content_type.name()),
            length: *length,
        },
    })
}

#[derive(Serialize)]
pub struct ClientHelloView {
    pub version: Named16,
    pub random: String,
    pub gmt_unix_time: u32,
    pub session_id: String,
    pub cipher_suites: Vec<SuiteView>,
    pub compression_methods: Vec<Named8>,
    /// Null when the hello has no extensions block at all.
    pub extensions: Option<Vec<ExtensionView>>,
    pub server_name: Option<String>,
}

fn client_hello(ch: &ClientHello, raw_len: usize) -> ClientHelloView {
    ClientHelloView {
        version: version(ch.client_version),
        random: hex(&ch.random.0),
        gmt_unix_time: ch.random.gmt_unix_time(),
        session_id: hex(&ch.session_id),
        cipher_suites: ch.cipher_suites.iter().map(|s| suite(*s)).collect(),
        compression_methods: ch
            .compression_methods
            .iter()
            .map(|c| n8(c.0, c.name()))
            .collect(),
        extensions: ch
            .extensions
            .as_deref()
            .map(|e| extensions(e, ExtensionContext::ClientHello, raw_len)),
        server_name: ch.server_name(),
    }
}

#[derive(Serialize)]
pub struct ServerHelloView {
    pub version: Named16,
    /// supported_versions when present, otherwise `version`.
    pub negotiated_version: Named16,
    pub hello_retry_request: bool,
    pub random: String,
    pub gmt_unix_time: u32,
    pub session_id: String,
    pub cipher_suite: SuiteView,
    pub compression_method: Named8,
    pub extensions: Option<Vec<ExtensionView>>,
}

fn server_hello(sh: &ServerHello, raw_len: usize) -> ServerHelloView {
    let cx = if sh.is_hello_retry_request() {
        ExtensionContext::HelloRetryRequest
    } else {
        ExtensionContext::ServerHello
    };
    ServerHelloView {
        version: version(sh.server_version),
        negotiated_version: version(sh.negotiated_version()),
        hello_retry_request: sh.is_hello_retry_request(),
        random: hex(&sh.random.0),
        gmt_unix_time: sh.random.gmt_unix_time(),
        session_id: hex(&sh.session_id),
        cipher_suite: suite(sh.cipher_suite),
        compression_method: n8(sh.compression_method.0, sh.compression_method.name()),
        extensions: sh.extensions.as_deref().map(|e| extensions(e, cx, raw_len)),
    }
}

#[derive(Serialize)]
pub struct SslV2ClientHelloView {
    /// Always true: tells this form from the TLS ClientHello.
    pub sslv2: bool,
    pub version: Named16,
    /// Every three-byte cipher spec, as an integer.
    pub cipher_specs: Vec<u32>,
    /// The specs that are TLS suites (0x00XXXX).
    pub cipher_suites: Vec<SuiteView>,
    pub session_id: String,
    pub challenge: String,
}

fn sslv2_client_hello(h: &SslV2ClientHello) -> SslV2ClientHelloView {
    SslV2ClientHelloView {
        sslv2: true,
        version: version(h.version),
        cipher_specs: h.cipher_specs.clone(),
        cipher_suites: h.tls_cipher_suites().map(suite).collect(),
        session_id: hex(&h.session_id),
        challenge: hex(&h.challenge),
    }
}

// -- Extensions --

#[derive(Serialize)]
pub struct ExtensionView {
    #[serde(rename = "type")]
    pub typ: u16,
    pub name: Option<&'static str>,
    pub length: usize,
    pub data: String,
    /// The decoded content; null for types not decoded and for malformed
    /// ones.
    pub parsed: Option<ParsedExtension>,
    /// Only when the extension is malformed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
}

fn extensions(exts: &[Extension], cx: ExtensionContext, raw_len: usize) -> Vec<ExtensionView> {
    exts.iter()
        .zip(extension_data_offsets(exts, raw_len))
        .map(|(e, offset)| {
            let (parsed, err) = match e.parse(cx, offset.unwrap_or(0)) {
                Ok(ExtensionBody::Unparsed(_)) => (None, None),
                Ok(b) => (Some(parsed_extension(&b)), None),
                Err(err) => (None, Some(error(&err))),
            };
            ExtensionView {
                typ: e.typ.0,
                name: e.typ.name(),
                length: e.data.len(),
                data: hex(&e.data),
                parsed,
                error: err,
            }
        })
        .collect()
}

#[derive(Serialize)]
pub struct KeyShareView {
    pub group: Named16,
    pub key_exchange: String,
}

#[derive(Serialize)]
pub struct PskIdentityView {
    pub identity: String,
    pub obfuscated_ticket_age: u32,
}

/// The decoded content of an extension; each shape has its own member
/// names (see the docs).
#[derive(Serialize)]
#[serde(untagged)]
pub enum ParsedExtension {
    /// server_name. Host names as strings (lossy UTF-8).
    ServerName {
        host_names: Vec<String>,
    },
    MaxFragmentLength {
        max_fragment_length: Named8,
    },
    StatusRequest {
        status_type: Option<Named8>,
        responder_id_list: String,
        request_extensions: String,
    },
    SupportedGroups {
        groups: Vec<Named16>,
    },
    EcPointFormats {
        formats: Vec<Named8>,
    },
    SignatureAlgorithms {
        algorithms: Vec<Named16>,
    },
    Heartbeat {
        mode: Named8,
    },
    Alpn {
        protocols: Vec<String>,
    },
    Padding {
        padding_length: usize,
        all_zero: bool,
    },
    /// encrypt_then_mac, extended_master_secret, post_handshake_auth,
    /// early_data in hellos.
    Empty {},
    RecordSizeLimit {
        record_size_limit: u16,
    },
    SessionTicket {
        ticket: String,
    },
    PreSharedKeyOffer {
        identities: Vec<PskIdentityView>,
        binders: Vec<String>,
    },
    PreSharedKeySelected {
        selected_identity: u16,
    },
    EarlyData {
        max_early_data_size: u32,
    },
    SupportedVersions {
        versions: Vec<Named16>,
    },
    SelectedVersion {
        selected_version: Named16,
    },
    Cookie {
        cookie: String,
    },
    PskKeyExchangeModes {
        modes: Vec<Named8>,
    },
    KeyShareOffer {
        client_shares: Vec<KeyShareView>,
    },
    KeyShareSelected {
        server_share: KeyShareView,
    },
    KeyShareRetry {
        selected_group: Named16,
    },
    RenegotiationInfo {
        renegotiated_connection: String,
    },
}

fn key_share(e: &crate::wire::extensions::KeyShareEntry) -> KeyShareView {
    KeyShareView {
        group: n16(e.group.0, e.group.name()),
        key_exchange: hex(&e.key_exchange),
    }
}

fn parsed_extension(b: &ExtensionBody) -> ParsedExtension {
    use ExtensionBody as B;
    use ParsedExtension as P;
    match b {
        B::ServerName(names) => P::ServerName {
            host_names: names
                .iter()
                .filter(|n| n.name_type == crate::wire::ServerNameType::HostName)
                .map(|n| String::from_utf8_lossy(&n.name).into_owned())
                .collect(),
        },
        B::MaxFragmentLength(m) => P::MaxFragmentLength {
            max_fragment_length: n8(m.0, m.name()),
        },
        B::StatusRequest {
            status_type,
            responder_id_list,
            request_extensions,
        } => P::StatusRequest {
            status_type: status_type.map(|t| n8(t.0, t.name())),
            responder_id_list: hex(responder_id_list),
            request_extensions: hex(request_extensions),
        },
        B::SupportedGroups(g) => P::SupportedGroups {
            groups: g.iter().map(|g| n16(g.0, g.name())).collect(),
        },
        B::EcPointFormats(f) => P::EcPointFormats {
            formats: f.iter().map(|f| n8(f.0, f.name())).collect(),
        },
        B::SignatureAlgorithms(s) | B::SignatureAlgorithmsCert(s) => P::SignatureAlgorithms {
            algorithms: s.iter().map(|s| n16(s.0, s.name())).collect(),
        },
        B::Heartbeat(m) => P::Heartbeat {
            mode: n8(m.0, m.name()),
        },
        B::Alpn(p) => P::Alpn {
            protocols: p
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
        },
        B::Padding { length, all_zero } => P::Padding {
            padding_length: *length,
            all_zero: *all_zero,
        },
        B::EncryptThenMac | B::ExtendedMasterSecret | B::PostHandshakeAuth | B::EarlyData(None) => {
            P::Empty {}
        }
        B::RecordSizeLimit(n) => P::RecordSizeLimit {
            record_size_limit: *n,
        },
        B::SessionTicket(t) => P::SessionTicket { ticket: hex(t) },
        B::PreSharedKeyOffer {
            identities,
            binders,
        } => P::PreSharedKeyOffer {
            identities: identities
                .iter()
                .map(|i| PskIdentityView {
                    identity: hex(&i.identity),
                    obfuscated_ticket_age: i.obfuscated_ticket_age,
                })
                .collect(),
            binders: binders.iter().map(|b| hex(b)).collect(),
        },
        B::PreSharedKeySelected(i) => P::PreSharedKeySelected {
            selected_identity: *i,
        },
        B::EarlyData(Some(m)) => P::EarlyData {
            max_early_data_size: *m,
        },
        B::SupportedVersionsOffer(v) => P::SupportedVersions {
            versions: v.iter().map(|v| version(*v)).collect(),
        },
        B::SupportedVersionsSelected(v) => P::SelectedVersion {
            selected_version: version(*v),
        },
        B::Cookie(c) => P::Cookie { cookie: hex(c) },
        B::PskKeyExchangeModes(m) => P::PskKeyExchangeModes {
            modes: m.iter().map(|m| n8(m.0, m.name())).collect(),
        },
        B::KeyShareOffer(e) => P::KeyShareOffer {
            client_shares: e.iter().map(key_share).collect(),
        },
        B::KeyShareSelected(e) => P::KeyShareSelected {
            server_share: key_share(e),
        },
        B::KeyShareRetry(g) => P::KeyShareRetry {
            selected_group: n16(g.0, g.name()),
        },
        B::RenegotiationInfo(v) => P::RenegotiationInfo {
            renegotiated_connection: hex(v),
        },
        // Filtered out by the caller; kept total for safety.
        B::Unparsed(_) => P::Empty {},
    }
}

// -- Certificates and key exchange --

/// One certificate of a chain: its DER size and, when it parsed, its
/// summary members; otherwise `error`.
#[derive(Serialize)]
pub struct CertView {
    pub der_length: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub summary: Option<CertSummaryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct AltNameView {
    /// `dns`, `ip`, `email`, `uri`, `directory_name`, `registered_id`,
    /// `other`.
    pub kind: &'static str,
    pub value: String,
}

/// The facts of one certificate (see `pki::CertSummary`).
#[derive(Serialize)]
pub struct CertSummaryView {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub subject_alt_names: Vec<AltNameView>,
    /// `rsa`, `rsa_pss`, `ec`, `ed25519`, `ed448`, `x25519`, `x448`,
    /// `dsa`, `unknown`.
    pub key_type: &'static str,
    /// The curve name (`P-256`) for `ec` keys, the OID for `unknown` ones.
    pub key_detail: Option<String>,
    pub key_bits: u32,
    pub signature_algorithm: String,
    pub sha256_fingerprint: String,
    pub self_signed: bool,
    pub is_ca: bool,
}

fn cert_summary(s: &CertSummary) -> CertSummaryView {
    CertSummaryView {
        subject: s.subject.clone(),
        issuer: s.issuer.clone(),
        serial: s.serial.clone(),
        not_before: s.not_before,
        not_after: s.not_after,
        subject_alt_names: s
            .subject_alt_names
            .iter()
            .map(|a| AltNameView {
                kind: describe::alt_name_kind_id(a.kind),
                value: a.value.clone(),
            })
            .collect(),
        key_type: describe::key_type_id(&s.key_type),
        key_detail: match &s.key_type {
            KeyType::Ec { curve } => Some(curve.clone()),
            KeyType::Unknown { oid } => Some(oid.clone()),
            _ => None,
        },
        key_bits: s.key_bits,
        signature_algorithm: s.signature_algorithm.clone(),
        sha256_fingerprint: s.sha256_fingerprint.clone(),
        self_signed: s.self_signed,
        is_ca: s.is_ca,
    }
}

#[derive(Serialize)]
pub struct CertificateView {
    /// TLS 1.3 only: the certificate_request_context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub chain: Vec<CertView>,
}

fn cert_view(der_length: usize, summary: Option<&Result<CertSummary, String>>) -> CertView {
    let mut v = CertView {
        der_length,
        summary: None,
        error: None,
    };
    match summary {
        Some(Ok(s)) => v.summary = Some(cert_summary(s)),
        Some(Err(e)) => v.error = Some(e.clone()),
        None => {}
    }
    v
}

fn certificate(c: &Certificate, summaries: &[Result<CertSummary, String>]) -> CertificateView {
    CertificateView {
        context: c.context.as_deref().map(hex),
        chain: c
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| cert_view(e.der.len(), summaries.get(i)))
            .collect(),
    }
}

#[derive(Serialize)]
pub struct SignatureView {
    /// TLS 1.2 and later; null before.
    pub algorithm: Option<Named16>,
    pub length: usize,
    pub signature: String,
}

fn signature(s: &DigitallySigned) -> SignatureView {
    SignatureView {
        algorithm: s.algorithm.map(|a| n16(a.0, a.name())),
        length: s.signature.len(),
        signature: hex(&s.signature),
    }
}

/// ServerKeyExchange parameters, tagged by `kind`.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerKeyExchangeView {
    Rsa {
        modulus: String,
        modulus_bits: usize,
        exponent: String,
        signature: SignatureView,
    },
    Dh {
        p: String,
        p_bits: usize,
        g: String,
        public: String,
        signature: Option<SignatureView>,
    },
    Ecdh {
        named_curve: Named16,
        public: String,
        signature: Option<SignatureView>,
    },
    Psk {
        identity_hint: String,
    },
    Opaque {
        data: String,
    },
}

fn server_key_exchange(s: &ServerKeyExchange) -> ServerKeyExchangeView {
    match s {
        ServerKeyExchange::Rsa {
            modulus,
            exponent,
            signature: sig,
        } => ServerKeyExchangeView::Rsa {
            modulus: hex(modulus),
            modulus_bits: bit_length(modulus),
            exponent: hex(exponent),
            signature: signature(sig),
        },
        ServerKeyExchange::Dh {
            p,
            g,
            public,
            signature: sig,
        } => ServerKeyExchangeView::Dh {
            p: hex(p),
            p_bits: bit_length(p),
            g: hex(g),
            public: hex(public),
            signature: sig.as_ref().map(signature),
        },
        ServerKeyExchange::Ecdh {
            named_curve,
            public,
            signature: sig,
        } => ServerKeyExchangeView::Ecdh {
            named_curve: n16(named_curve.0, named_curve.name()),
            public: hex(public),
            signature: sig.as_ref().map(signature),
        },
        ServerKeyExchange::Psk { identity_hint } => ServerKeyExchangeView::Psk {
            identity_hint: hex(identity_hint),
        },
        ServerKeyExchange::Opaque(b) => ServerKeyExchangeView::Opaque { data: hex(b) },
    }
}

/// ClientKeyExchange contents, tagged by `kind`.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientKeyExchangeView {
    Rsa {
        encrypted_pre_master: String,
        length: usize,
        /// False in SSL 3.0, which sends the ciphertext without a length.
        length_prefixed: bool,
    },
    Dh {
        public: String,
    },
    Ecdh {
        public: String,
    },
    Psk {
        identity: String,
    },
    Opaque {
        data: String,
    },
}

fn client_key_exchange(c: &ClientKeyExchange) -> ClientKeyExchangeView {
    match c {
        ClientKeyExchange::Rsa {
            encrypted_pre_master,
            length_prefixed,
        } => ClientKeyExchangeView::Rsa {
            encrypted_pre_master: hex(encrypted_pre_master),
            length: encrypted_pre_master.len(),
            length_prefixed: *length_prefixed,
        },
        ClientKeyExchange::Dh { public } => ClientKeyExchangeView::Dh {
            public: hex(public),
        },
        ClientKeyExchange::Ecdh { public } => ClientKeyExchangeView::Ecdh {
            public: hex(public),
        },
        ClientKeyExchange::Psk { identity } => ClientKeyExchangeView::Psk {
            identity: hex(identity),
        },
        ClientKeyExchange::Opaque(b) => ClientKeyExchangeView::Opaque { data: hex(b) },
    }
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum CertificateRequestView {
    Legacy {
        certificate_types: Vec<Named8>,
        /// TLS 1.2 only; null before.
        signature_algorithms: Option<Vec<Named16>>,
        /// DER distinguished names, hex.
        certificate_authorities: Vec<String>,
    },
    Tls13 {
        context: String,
        extensions: Vec<ExtensionView>,
    },
}

fn certificate_request(c: &CertificateRequest, raw_len: usize) -> CertificateRequestView {
    match c {
        CertificateRequest::Legacy {
            certificate_types,
            signature_algorithms,
            certificate_authorities,
        } => CertificateRequestView::Legacy {
            certificate_types: certificate_types
                .iter()
                .map(|t| n8(t.0, t.name()))
                .collect(),
            signature_algorithms: signature_algorithms
                .as_ref()
                .map(|a| a.iter().map(|s| n16(s.0, s.name())).collect()),
            certificate_authorities: certificate_authorities.iter().map(|d| hex(d)).collect(),
        },
        CertificateRequest::Tls13 {
            context,
            extensions: e,
        } => CertificateRequestView::Tls13 {
            context: hex(context),
            extensions: extensions(e, ExtensionContext::CertificateRequest, raw_len),
        },
    }
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum NewSessionTicketView {
    Tls12 {
        lifetime_hint: u32,
        ticket: String,
    },
    Tls13 {
        lifetime: u32,
        age_add: u32,
        nonce: String,
        ticket: String,
        extensions: Vec<ExtensionView>,
    },
}

fn new_session_ticket(t: &NewSessionTicket, raw_len: usize) -> NewSessionTicketView {
    match t {
        NewSessionTicket::Tls12 {
            lifetime_hint,
            ticket,
        } => NewSessionTicketView::Tls12 {
            lifetime_hint: *lifetime_hint,
            ticket: hex(ticket),
        },
        NewSessionTicket::Tls13 {
            lifetime,
            age_add,
            nonce,
            ticket,
            extensions: e,
        } => NewSessionTicketView::Tls13 {
            lifetime: *lifetime,
            age_add: *age_add,
            nonce: hex(nonce),
            ticket: hex(ticket),
            extensions: extensions(e, ExtensionContext::NewSessionTicket, raw_len),
        },
    }
}

// -- Record-level messages --

#[derive(Serialize)]
pub struct AlertView {
    /// `warning`, `fatal`, or null for an unknown level.
    pub level: Option<&'static str>,
    pub level_code: u8,
    /// `handshake_failure`..., or null for an unknown code.
    pub description: Option<&'static str>,
    pub code: u8,
    /// Ends the connection (sent as fatal, or fatal by nature).
    pub fatal: bool,
}

fn alert(a: &Alert) -> AlertView {
    AlertView {
        level: a.level.name(),
        level_code: a.level.0,
        description: a.description.name(),
        code: a.description.0,
        fatal: a.is_fatal(),
    }
}

#[derive(Serialize)]
pub struct HeartbeatView {
    pub heartbeat_type: Named8,
    /// As declared; more than the payload's length is a Heartbleed probe.
    pub payload_length: u16,
    pub payload: String,
    pub padding_length: usize,
}
