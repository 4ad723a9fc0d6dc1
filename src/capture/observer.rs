//! The passive observer: the engine's twin for captures. It is fed the
//! reassembled byte streams of TCP connections (from `capture::reassembly`),
//! finds TLS by content on any port, follows each conversation in both
//! directions with the same record deframer, codec and flow tables as the
//! engine, and pushes the same events.
//!
//! It never fails on protocol errors: a violation becomes a note, and a
//! direction that lost record synchronisation stays so (sticky).
//!
//! After ChangeCipherSpec, protected records are shown by type and size
//! (an encrypted handshake record right after CCS is, presumably, Finished)
//! unless the observer was given secrets ([`Secrets`]): the server's RSA
//! key, or key log entries (a file, or a pcapng Decryption Secrets Block
//! met in the capture). With them it derives the keys exactly as the engine
//! does, through the same code (`crypto::prf`, `crypto::transcript`,
//! `record::protection::protections`), opens every protected record of
//! both directions with `record::protection`, and feeds the plaintext back
//! through the same handlers: Finished is checked against the transcript,
//! encrypted alerts and renegotiation handshakes are ordinary messages, and
//! the keys switch at each ChangeCipherSpec. A session resumed later in the
//! capture is decrypted with the master secret learnt on its first
//! connection (a session cache by session ID and ticket). TLS 1.3 is
//! decrypted from the key log's traffic secrets (`crypto::tls13`,
//! `record::protection::Tls13Protection`, AES-GCM suites): the handshake
//! keys from ServerHello on, each side's application keys after its
//! Finished, the next keys after a KeyUpdate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io;
use std::net::SocketAddr;

use crate::capture::ahead::{AheadLink, OpenedAhead, RecordAt, Seed};
use crate::capture::reassembly::{FxHasher, WholeRecord};
use crate::crypto::keylog::{KeyLog, Tls13Label};
use crate::crypto::keys::key_material;
use crate::crypto::prf;
use crate::crypto::rsa_kx::{self, RsaKxOutcome};
use crate::crypto::secret::{constant_time_eq, MasterSecret, PreMasterSecret, SecretBytes};
use crate::crypto::tls13::{self, Tls13Hash};
use crate::crypto::transcript::{self, Sender, Transcript};
use crate::engine::flow::{FlowCursor, FlowMsg, Writer};
use crate::event::*;
use crate::pki;
use crate::record::deframer::{is_control, HandshakeJoiner, RecordDeframer, RecordItem};
use crate::record::protection::{
    self, KeyingId, RecordError, RecordFacts, RecordProtection, Tls13Protection,
};
use crate::wire::handshake::{ClientKeyExchange, ServerKeyExchange};
use crate::wire::record::{classify_stream_start, StreamStart};
use crate::wire::suites::SuiteInfo;
use crate::wire::*;

/// Identifies a TCP flow, as numbered by the reassembler.
pub type FlowKey = crate::capture::FlowId;

/// What the observer counted over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObserverStats {
    pub tcp_flows: u64,
    pub tls_connections: u64,
    pub non_tls_flows: u64,
    pub ok: u64,
    pub failed: u64,
    pub incomplete: u64,
    /// Connections of which at least one protected record was decrypted.
    pub decrypted: u64,
    /// Protected records whose opening was taken over from the reading
    /// thread ([`crate::capture::ahead`]).
    pub opened_ahead: u64,
}

/// What a decoder may decrypt with.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Servers' RSA private keys (`--key`): each is used for the
    /// connections whose server certificate carries its public key.
    pub server_keys: Vec<rsa::RsaPrivateKey>,
    /// Key log entries (`--keylog`, SSLKEYLOGFILE); a pcapng Decryption
    /// Secrets Block adds to them as the capture is read.
    pub keylog: KeyLog,
    /// Keep the plaintext of application data in the events (`--show-data`).
    pub show_data: bool,
}

impl Secrets {
    fn any(&self) -> bool {
        !self.server_keys.is_empty() || !self.keylog.is_empty()
    }
}

/// A session the capture showed the master secret of, for resumption.
struct CachedSession {
    master: MasterSecret,
    conn: ConnId,
}

/// Sessions kept at most (the oldest go first): memory stays bounded
/// whatever the capture's length.
const SESSION_CACHE_LIMIT: usize = 100_000;

/// Which connections to report.
#[derive(Clone, Debug, Default)]
pub struct ObserverFilter {
    /// Only these connection numbers (empty: all).
    pub connections: Vec<ConnId>,
    /// Only flows with an endpoint matching one of these (IP, optional port).
    pub hosts: Vec<(Option<std::net::IpAddr>, Option<u16>)>,
}

impl ObserverFilter {
    fn wants_flow(&self, client: SocketAddr, server: SocketAddr) -> bool {
        self.hosts.is_empty()
            || self.hosts.iter().any(|(ip, port)| {
                [client, server]
                    .iter()
                    .any(|a| ip.is_none_or(|ip| ip == a.ip()) && port.is_none_or(|p| p == a.port()))
            })
    }
    fn wants_conn(&self, conn: ConnId) -> bool {
        self.connections.is_empty() || self.connections.contains(&conn)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Detect {
    /// No payload seen yet (`buf` keeps the first bytes until we can tell).
    Unknown,
    Tls,
    NotTls,
    /// TLS, but filtered out by the user: followed silently.
    Filtered,
}

#[derive(Debug, Default)]
struct DirState {
    deframer: RecordDeframer,
    joiner: HandshakeJoiner,
    /// ChangeCipherSpec seen: what follows is protected.
    protected: bool,
    /// An encrypted handshake record was seen after CCS (presumably Finished).
    finished: bool,
    data: DataCount,
    /// First bytes, kept until TLS can be recognised.
    head: Vec<u8>,
    /// The joined handshake message in progress was interrupted by another
    /// content type (already noted once).
    interleave_noted: bool,
    records_after_protection: u64,
    /// The handlers found record boundaries lost (an impossible handshake
    /// length): the deframer stops once the current chunk is done.
    lose_sync: bool,
    /// The whole record being handled, as the capture pipeline cut it.
    cut: Option<Cut>,
    /// What the reading thread was last given to open this direction with.
    seeded: Seeded,
}

/// A whole record from the capture pipeline ([`Observer::record`]).
#[derive(Debug)]
struct Cut {
    flow: FlowKey,
    index: u64,
    offset: u64,
    ahead: Option<Box<OpenedAhead>>,
}

/// The last seed published for a direction: its keys, and the records
/// opened here since.
#[derive(Debug, Default)]
struct Seeded {
    keying: Option<KeyingId>,
    opened_here: u32,
}

/// Records a direction's protection opens here before it is published
/// again: the reader may have dropped the last seed (an RC4 direction it
/// did not take over).
const RESEED_AFTER: u32 = 32;

#[derive(Debug, Default)]
struct HandshakeState {
    cursor: FlowCursor,
    /// Handshakes started on this connection.
    handshakes: u32,
    /// A handshake completed (a further ClientHello is a renegotiation).
    established: bool,
    client_session_id: Vec<u8>,
    server_name: Option<String>,
    version: Option<ProtocolVersion>,
    suite: Option<CipherSuite>,
    kx: KeyExchangeKind,
    tls13: bool,
    resumed: bool,
    alert: Option<(Alert, Direction)>,
    failure: Option<Note>,
    /// A plaintext fatal alert or broken stream already decided the result.
    failed: bool,
}

/// The secrets of the handshake in progress, as they become known.
#[derive(Default)]
struct HandshakeSecrets {
    /// Every handshake message so far (but HelloRequest), as it travelled.
    transcript: Transcript,
    client_version: Option<ProtocolVersion>,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    /// The ClientHello offered extended_master_secret / encrypt_then_mac.
    client_ems: bool,
    client_etm: bool,
    /// Negotiated (both hellos).
    ems: bool,
    etm: bool,
    /// The session ticket the ClientHello offered.
    offered_ticket: Option<Vec<u8>>,
    server_session_id: Vec<u8>,
    version: Option<ProtocolVersion>,
    suite: Option<&'static SuiteInfo>,
    /// The --key matching the server certificate (index into the keys).
    server_key: Option<usize>,
    /// A server certificate was seen.
    certificate_seen: bool,
    /// The export RSA key of ServerKeyExchange encrypts the pre-master.
    temporary_rsa_key: bool,
    master: Option<MasterSecret>,
    source: Option<SecretSource>,
    /// Why this handshake cannot be decrypted, once known.
    why_not: Option<String>,
    /// The note saying so was given.
    why_not_noted: bool,
}

/// Decryption state of a connection.
#[derive(Default)]
struct Decryption {
    /// Protection of the records now flowing each way (None: in clear, or
    /// a cipher spec whose keys are unknown).
    read: [Option<RecordProtection>; 2],
    /// The keys each way takes at its next ChangeCipherSpec.
    pending: [Option<RecordProtection>; 2],
    hs: HandshakeSecrets,
    /// Protected records opened, and those that failed to.
    opened: u64,
    failed: u64,
    /// Finished messages checked and right, and wrong.
    finished_ok: u32,
    finished_bad: u32,
    /// A Finished went by without being checked.
    finished_unchecked: bool,
    /// Why the connection's records stay encrypted (for its outcome).
    why_not: Option<String>,
    /// TLS 1.3 keys, from the key log's traffic secrets.
    tls13: Option<Box<Tls13Keys>>,
    /// TLS 1.3: the server asked for a new ClientHello.
    hello_retry: bool,
}

/// TLS 1.3 traffic keys of a connection (RFC 8446 §7.3).
struct Tls13Keys {
    hash: Tls13Hash,
    suite: &'static SuiteInfo,
    /// The handshake traffic secrets (client, server): Finished keys.
    handshake_secret: [Option<SecretBytes>; 2],
    /// The application traffic secrets now in force (after KeyUpdates).
    app_secret: [Option<SecretBytes>; 2],
    /// What protects each direction's records now.
    current: [Option<Tls13Protection>; 2],
}

struct Conn {
    conn: ConnId,
    client: SocketAddr,
    server: SocketAddr,
    tcp_handshake_seen: bool,
    detect: Detect,
    dirs: [DirState; 2],
    hs: HandshakeState,
    last_time: Timestamp,
    /// Keys and the handshake's secrets, when the observer has secrets.
    dec: Option<Box<Decryption>>,
}

fn di(d: Direction) -> usize {
    match d {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

fn writer_of(d: Direction) -> Writer {
    match d {
        Direction::ClientToServer => Writer::Client,
        Direction::ServerToClient => Writer::Server,
    }
}

pub use crate::wire::suites::key_exchange_kind as key_exchange_of;

/// Follows every TLS conversation of a capture and emits events.
pub struct Observer<'s> {
    sink: &'s mut dyn EventSink,
    filter: ObserverFilter,
    /// Boxed: a `Conn` is large and moves out and back in on every data
    /// event.
    flows: HashMap<FlowKey, Box<Conn>, BuildHasherDefault<FxHasher>>,
    next_conn: ConnId,
    seq: u64,
    /// Whether the sink uses record headers and record crypto
    /// ([`EventSink::wants`]), asked once.
    record_headers: bool,
    record_crypto: bool,
    stats: ObserverStats,
    error: Option<io::Error>,
    secrets: Secrets,
    /// The public keys of `secrets.server_keys`, and whether each matched
    /// a server certificate.
    server_publics: Vec<(rsa::RsaPublicKey, bool)>,
    /// Master secrets by session ID and by session ticket.
    sessions: HashMap<Vec<u8>, CachedSession>,
    session_order: std::collections::VecDeque<Vec<u8>>,
    /// Where protections go for the reading thread to open records ahead.
    ahead: Option<AheadLink>,
    /// Certificates already summarized, by their DER bytes.
    summaries: CertSummaries,
    /// Record buffers done with, for [`StreamSink::give_back`], and the
    /// room they hold.
    spent: Vec<Vec<u8>>,
    spent_bytes: usize,
}

/// What the spent buffers kept for [`StreamSink::give_back`] hold at most:
/// so many, so much room in all (the capture pipeline takes them after
/// every batch, of 512 KiB of records and as much plaintext), and none
/// larger than a record's body. When nothing takes them (a capture read
/// on one thread), they stay bounded.
const SPENT_MAX: usize = 8192;
const SPENT_BYTES: usize = 4 << 20;
const SPENT_CAPACITY: usize = crate::wire::record::MAX_CIPHERTEXT;

/// Summaries of the certificates seen, so that a certificate every
/// connection to a server sends is parsed and fingerprinted once (most of
/// a capture's certificates are the same few). Bounded: forgotten all at
/// once when full, so memory stays flat whatever the capture holds.
#[derive(Default)]
struct CertSummaries {
    by_der: HashMap<Vec<u8>, Result<pki::CertSummary, String>, BuildHasherDefault<FxHasher>>,
}

impl CertSummaries {
    /// Distinct certificates remembered at most.
    const MAX: usize = 256;

    fn summarize(&mut self, der: &[u8]) -> Result<pki::CertSummary, String> {
        if let Some(s) = self.by_der.get(der) {
            return s.clone();
        }
        let s = pki::summarize(der).map_err(|e| e.to_string());
        if self.by_der.len() >= Self::MAX {
            self.by_der.clear();
        }
        self.by_der.insert(der.to_vec(), s.clone());
        s
    }
}

impl<'s> Observer<'s> {
    pub fn new(sink: &'s mut dyn EventSink, filter: ObserverFilter) -> Self {
        Self {
            record_headers: sink.wants(RecordDetail::Headers),
            record_crypto: sink.wants(RecordDetail::Crypto),
            sink,
            filter,
            flows: HashMap::default(),
            next_conn: 1,
            seq: 0,
            stats: ObserverStats::default(),
            error: None,
            secrets: Secrets::default(),
            server_publics: Vec::new(),
            sessions: HashMap::new(),
            session_order: Default::default(),
            ahead: None,
            summaries: CertSummaries::default(),
            spent: Vec::new(),
            spent_bytes: 0,
        }
    }

    /// Keeps a record buffer the observer is done with for
    /// [`StreamSink::give_back`].
    fn spend(&mut self, buffer: Vec<u8>) {
        let room = buffer.capacity();
        if self.spent.len() < SPENT_MAX
            && room <= SPENT_CAPACITY
            && self.spent_bytes + room <= SPENT_BYTES
        {
            self.spent_bytes += room;
            self.spent.push(buffer);
        }
    }

    /// Publishes the protections it opens records with to `link`, and
    /// takes over the records the capture pipeline opened ahead with them
    /// ([`crate::capture::ahead`]).
    pub fn with_open_ahead(mut self, link: AheadLink) -> Self {
        link.share_keylog(&self.secrets.keylog);
        self.ahead = Some(link);
        self
    }

    /// Decrypt with these secrets.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.server_publics = secrets
            .server_keys
            .iter()
            .map(|k| (rsa::RsaPublicKey::from(k), false))
            .collect();
        if let Some(link) = &self.ahead {
            link.share_keylog(&secrets.keylog);
        }
        self.secrets = secrets;
        self
    }

    /// Adds key log text (a pcapng Decryption Secrets Block); returns the
    /// number of malformed lines.
    pub fn add_key_log(&mut self, text: &[u8]) -> usize {
        self.secrets.keylog.add_text(text).len()
    }

    /// For each server key given, whether it matched a server certificate
    /// seen in the capture.
    pub fn server_keys_matched(&self) -> Vec<bool> {
        self.server_publics.iter().map(|(_, m)| *m).collect()
    }

    pub fn stats(&self) -> ObserverStats {
        self.stats
    }

    /// The output error that stopped the capture, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// A TCP connection appeared.
    pub fn open(
        &mut self,
        flow: FlowKey,
        client: SocketAddr,
        server: SocketAddr,
        tcp_handshake_seen: bool,
        at: Timestamp,
    ) {
        self.stats.tcp_flows += 1;
        let detect = if self.filter.wants_flow(client, server) {
            Detect::Unknown
        } else {
            Detect::NotTls
        };
        self.flows.insert(
            flow,
            Box::new(Conn {
                conn: 0,
                client,
                server,
                tcp_handshake_seen,
                detect,
                dirs: Default::default(),
                hs: HandshakeState::default(),
                last_time: at,
                dec: None,
            }),
        );
    }

    /// Bytes of one direction, in stream order.
    pub fn data(
        &mut self,
        flow: FlowKey,
        dir: Direction,
        at: Timestamp,
        bytes: &[u8],
    ) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        c.last_time = at;
        let r = self.data_inner(&mut c, dir, at, bytes);
        self.flows.insert(flow, c);
        r
    }

    fn data_inner(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        bytes: &[u8],
    ) -> io::Result<()> {
        match c.detect {
            Detect::NotTls => return Ok(()),
            Detect::Unknown => {
                // Until five bytes have arrived the first chunk is kept, so
                // the decision is made on the stream's real start.
                let d = &mut c.dirs[di(dir)];
                let start = if d.head.is_empty() {
                    classify_stream_start(bytes)
                } else {
                    d.head.extend_from_slice(bytes);
                    classify_stream_start(&d.head)
                };
                match start {
                    StreamStart::NeedMore => {
                        if d.head.is_empty() {
                            d.head.extend_from_slice(bytes);
                        }
                        return Ok(());
                    }
                    StreamStart::NotTls => {
                        c.detect = Detect::NotTls;
                        self.stats.non_tls_flows += 1;
                        return Ok(());
                    }
                    StreamStart::Record | StreamStart::SslV2ClientHello => {
                        self.stats.tls_connections += 1;
                        c.conn = self.next_conn;
                        self.next_conn += 1;
                        if self.filter.wants_conn(c.conn) {
                            c.detect = Detect::Tls;
                            self.emit(
                                c,
                                None,
                                Origin::Observed,
                                at,
                                EventKind::Connection(ConnectionInfo {
                                    client: Some(c.client),
                                    server: Some(c.server),
                                    tcp_handshake_seen: c.tcp_handshake_seen,
                                }),
                            )?;
                            if !c.tcp_handshake_seen {
                                self.note(c, None, at, Note::new(NoteCode::MidStreamStart))?;
                            }
                        } else {
                            c.detect = Detect::Filtered;
                        }
                        // A few bytes the other side sent before we could
                        // tell (fewer than a record header) come first.
                        let other = std::mem::take(&mut c.dirs[di(dir.reverse())].head);
                        if !other.is_empty() {
                            self.feed_records(c, dir.reverse(), at, &other)?;
                        }
                        let head = std::mem::take(&mut c.dirs[di(dir)].head);
                        if !head.is_empty() {
                            // `head` already holds this chunk.
                            return self.feed_records(c, dir, at, &head);
                        }
                    }
                }
            }
            Detect::Tls | Detect::Filtered => {}
        }
        self.feed_records(c, dir, at, bytes)
    }

    /// One whole record of a direction (see
    /// [`StreamSink::on_record`](crate::capture::StreamSink::on_record)):
    /// its body goes to the handlers as it is, without a copy, once the
    /// connection is known to be TLS; before that, its bytes take the
    /// ordinary path.
    pub fn record(
        &mut self,
        flow: FlowKey,
        dir: Direction,
        at: Timestamp,
        record: WholeRecord,
    ) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        c.last_time = at;
        let WholeRecord {
            header,
            body,
            index,
            offset,
            ahead,
        } = record;
        let r = match c.detect {
            Detect::Tls | Detect::Filtered => {
                c.dirs[di(dir)].cut = Some(Cut {
                    flow,
                    index,
                    offset,
                    ahead,
                });
                let r = self.feed_with(&mut c, dir, at, |deframer, keep, out| {
                    deframer.feed_record(header, body, keep, out)
                });
                c.dirs[di(dir)].cut = None;
                r
            }
            Detect::NotTls => Ok(()),
            Detect::Unknown => self
                .data_inner(&mut c, dir, at, &header)
                .and_then(|()| self.data_inner(&mut c, dir, at, &body)),
        };
        self.flows.insert(flow, c);
        r
    }

    fn feed_records(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        bytes: &[u8],
    ) -> io::Result<()> {
        self.feed_with(c, dir, at, |deframer, keep, out| {
            deframer.feed(bytes, keep, out)
        })
    }

    /// Runs `feed` (one of the deframer's ways in) with this direction's
    /// deframer, each record it cuts going to the handlers.
    fn feed_with(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        feed: impl FnOnce(
            &mut RecordDeframer,
            &mut dyn FnMut(&RecordHeader) -> bool,
            &mut dyn FnMut(RecordItem<'_>),
        ),
    ) -> io::Result<()> {
        // The deframer is taken out while it runs, so that each record
        // goes to the handlers as it is cut, its body borrowed (no copy),
        // while they hold the whole connection.
        let protected = c.dirs[di(dir)].protected;
        // With secrets every body is kept: it may be decrypted.
        let keep_all = self.secrets.any();
        let mut keep = |h: &RecordHeader| {
            keep_all
                || (is_control(h.content_type)
                    && !(protected && h.content_type == ContentType::ApplicationData))
        };
        let mut deframer = std::mem::take(&mut c.dirs[di(dir)].deframer);
        let mut result = Ok(());
        feed(&mut deframer, &mut keep, &mut |item| {
            // After an error, or once the handlers gave up on this
            // direction's record boundaries, the rest is not looked at.
            if result.is_ok() && !c.dirs[di(dir)].lose_sync {
                result = self.on_record(c, dir, at, item);
            }
        });
        if std::mem::take(&mut c.dirs[di(dir)].lose_sync) {
            deframer.lose_sync();
        }
        c.dirs[di(dir)].deframer = deframer;
        result
    }

    fn on_record(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        item: RecordItem<'_>,
    ) -> io::Result<()> {
        match item {
            RecordItem::Desync { offset, bytes } => {
                let n = Note::new(NoteCode::RecordDesync)
                    .with("offset", offset)
                    .with("bytes", bytes.to_vec());
                c.hs.failed = true;
                c.hs.failure.get_or_insert(n.clone());
                self.note(c, Some(dir), at, n)
            }
            RecordItem::SslV2ClientHello { offset, body } => {
                let body = body.to_vec();
                let header = RecordHeader {
                    content_type: ContentType::Handshake,
                    version: ProtocolVersion::SSLv2,
                    length: body.len() as u16,
                };
                let wanted = self.record_headers;
                self.emit_detail(c, dir, at, wanted, || {
                    EventKind::Record(RecordInfo {
                        header,
                        protected: false,
                        stream_offset: offset,
                        sslv2: true,
                    })
                })?;
                let parsed = SslV2ClientHello::from_bytes(&body, "SSLv2 CLIENT-HELLO");
                let mut notes = Vec::new();
                let step = self.advance(c, dir, FlowMsg::ClientHello, &mut notes);
                if let Ok(h) = &parsed {
                    c.hs.client_session_id = h.session_id.clone();
                    c.hs.handshakes += 1;
                    if c.dec.is_none() && self.secrets.any() {
                        c.dec = Some(Box::default());
                    }
                    if let Some(dec) = c.dec.as_deref_mut() {
                        // RFC 5246 Appendix E.2: the transcript starts with
                        // the SSL 2.0 message; the random is the challenge,
                        // right-aligned in 32 bytes.
                        dec.hs = HandshakeSecrets {
                            client_version: Some(h.version),
                            client_random: Some(h.client_random().0),
                            ..Default::default()
                        };
                        dec.hs.transcript.add(&body);
                        dec.pending = [None, None];
                    }
                }
                if let Err(e) = &parsed {
                    notes.push(decode_note(e));
                    c.hs.failed = true;
                }
                self.message(
                    c,
                    dir,
                    at,
                    Message::SslV2ClientHello(parsed),
                    body,
                    1,
                    false,
                    step,
                    notes,
                    vec![],
                )
            }
            RecordItem::Record {
                header,
                offset,
                body,
            } => {
                let protected = c.dirs[di(dir)].protected;
                let wanted = self.record_headers;
                self.emit_detail(c, dir, at, wanted, || {
                    EventKind::Record(RecordInfo {
                        header,
                        protected,
                        stream_offset: offset,
                        sslv2: false,
                    })
                })?;
                let len = header.length as usize;
                let ct = header.content_type;
                if ct != ContentType::Handshake
                    && c.dirs[di(dir)].joiner.has_partial()
                    && !c.dirs[di(dir)].interleave_noted
                {
                    c.dirs[di(dir)].interleave_noted = true;
                    self.note(
                        c,
                        Some(dir),
                        at,
                        Note::new(NoteCode::InterleavedHandshake).with("content_type", ct.0 as u64),
                    )?;
                }
                // Under a cipher spec whose keys are known, every record is
                // opened, ChangeCipherSpec included (a renegotiation's CCS
                // travels under the keys of the handshake before).
                if protected
                    && !c.hs.tls13
                    && c.dec.as_ref().is_some_and(|d| d.read[di(dir)].is_some())
                {
                    return self.on_sealed_record(
                        c,
                        dir,
                        at,
                        header,
                        offset,
                        body.unwrap_or_default(),
                    );
                }
                // TLS 1.3 with the traffic secrets: every application_data
                // typed record is opened.
                if c.hs.tls13
                    && ct == ContentType::ApplicationData
                    && c.dec
                        .as_ref()
                        .and_then(|d| d.tls13.as_ref())
                        .is_some_and(|t| t.current[di(dir)].is_some())
                {
                    return self.on_sealed13_record(
                        c,
                        dir,
                        at,
                        header,
                        offset,
                        &body.unwrap_or_default(),
                    );
                }
                // TLS 1.3: after ServerHello every record but CCS is protected
                // (RFC 8446 §5); the client's turn comes with its first
                // application_data-typed record.
                let tls13_protected = c.hs.tls13 && ct == ContentType::ApplicationData;
                if (protected || tls13_protected) && ct != ContentType::ChangeCipherSpec {
                    return self.on_protected_record(c, dir, at, ct, len, Vec::new());
                }
                self.on_content(
                    c,
                    dir,
                    at,
                    ct,
                    body.map(Cow::into_owned).unwrap_or_default(),
                    false,
                )
            }
        }
    }

    /// A record's content, in clear or decrypted (`protected`), by type.
    fn on_content(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        ct: ContentType,
        body: Vec<u8>,
        protected: bool,
    ) -> io::Result<()> {
        let len = body.len();
        match ct {
            ContentType::Handshake => self.on_handshake_record(c, dir, at, &body, protected),
            ContentType::ChangeCipherSpec => self.on_ccs(c, dir, at, body, protected),
            ContentType::Alert => self.on_alert(c, dir, at, body, protected),
            ContentType::Heartbeat => {
                let parsed = Heartbeat::from_bytes(&body, "Heartbeat");
                let mut notes = Vec::new();
                if let Ok(h) = &parsed {
                    if h.claims_more_than_sent() {
                        notes.push(
                            Note::new(NoteCode::HeartbleedProbe)
                                .with("claimed", h.payload_length)
                                .with("sent", h.payload.len()),
                        );
                    }
                }
                self.message(
                    c,
                    dir,
                    at,
                    Message::Heartbeat(parsed),
                    body,
                    1,
                    protected,
                    None,
                    notes,
                    vec![],
                )
            }
            ContentType::ApplicationData if protected => {
                // Decrypted application data.
                let d = &mut c.dirs[di(dir)];
                d.data.records += 1;
                d.data.bytes += len as u64;
                let show = self.secrets.show_data;
                let (plaintext, raw) = if show {
                    (Some(body.clone()), body)
                } else {
                    self.spend(body);
                    (None, Vec::new())
                };
                self.message(
                    c,
                    dir,
                    at,
                    Message::ApplicationData {
                        length: len,
                        plaintext,
                    },
                    raw,
                    1,
                    true,
                    Some(10),
                    vec![],
                    vec![],
                )
            }
            ContentType::ApplicationData => {
                // Application data before any ChangeCipherSpec.
                let d = &mut c.dirs[di(dir)];
                d.data.records += 1;
                d.data.bytes += len as u64;
                let notes = vec![Note::new(NoteCode::UnexpectedMessage)
                    .with("expected", "handshake")
                    .with("got", "application_data")];
                self.message(
                    c,
                    dir,
                    at,
                    Message::ApplicationData {
                        length: len,
                        plaintext: None,
                    },
                    Vec::new(),
                    1,
                    false,
                    Some(10),
                    notes,
                    vec![],
                )
            }
            other => self.message(
                c,
                dir,
                at,
                Message::UnknownRecord {
                    content_type: other,
                    length: len,
                },
                body,
                1,
                protected,
                None,
                vec![],
                vec![],
            ),
        }
    }

    /// A TLS 1.3 record under traffic keys from the key log: opened, its
    /// real content type found inside, handled like any record's content.
    fn on_sealed13_record(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        header: RecordHeader,
        offset: u64,
        body: &[u8],
    ) -> io::Result<()> {
        let dec = c.dec.as_mut().expect("checked by the caller");
        let t = dec.tls13.as_mut().expect("checked by the caller");
        let p = t.current[di(dir)].as_mut().expect("checked by the caller");
        let opened = p
            .open(&header, body)
            .map(|o| (o.content_type, o.plaintext, o.facts));
        self.on_opened(c, dir, at, offset, header, opened, None)
    }

    /// A record under a cipher spec whose keys are known: opened with
    /// `record::protection`, its crypto narrated, its plaintext handled
    /// like any record's. One that does not open is shown by size with a
    /// `bad_record_mac` note, and the next is tried (the protection state
    /// has moved on past it).
    fn on_sealed_record(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        header: RecordHeader,
        offset: u64,
        body: Cow<[u8]>,
    ) -> io::Result<()> {
        // The pipeline's cut of this very record (the same stream offset).
        let mut cut = c.dirs[di(dir)].cut.take().filter(|w| w.offset == offset);
        let ahead = cut.as_mut().and_then(|w| w.ahead.take());
        let dec = c.dec.as_mut().expect("checked by the caller");
        let p = dec.read[di(dir)].as_mut().expect("checked by the caller");
        let seq = p.sequence_number();
        let adopted = ahead.filter(|a| p.is_at(&a.before));
        let opened_here = adopted.is_none();
        let opened = match adopted {
            Some(a) => {
                // Opened before it came, from where this protection stands
                // (by the reading thread, or a batch at a time): what
                // opening it here would give (see capture::ahead).
                let OpenedAhead { after, opened, .. } = *a;
                p.resume(after);
                self.stats.opened_ahead += 1;
                if let Cow::Owned(ciphertext) = body {
                    self.spend(ciphertext);
                }
                Ok(opened)
            }
            None => p.open(&header, body),
        };
        if let (Some(link), Some(w), Ok(_)) = (&self.ahead, cut, &opened) {
            let seeded = &mut c.dirs[di(dir)].seeded;
            seeded.opened_here += u32::from(opened_here);
            if seeded.keying != Some(p.keying()) || seeded.opened_here >= RESEED_AFTER {
                *seeded = Seeded {
                    keying: Some(p.keying()),
                    opened_here: 0,
                };
                link.publish(Seed {
                    flow: w.flow,
                    dir,
                    next: RecordAt {
                        index: w.index + 1,
                        offset: w.offset + 5 + u64::from(header.length),
                    },
                    protection: p.clone(),
                });
            }
        }
        if let Err(RecordError::DecodeError | RecordError::RecordOverflow) = &opened {
            // Refused before decryption, so the state did not move; but the
            // sender counted the record: keep the sequence numbers in step.
            if let Some(s) = seq.and_then(|s| s.checked_add(1)) {
                p.set_sequence_number(s);
            }
        }
        let opened = opened.map(|o| (header.content_type, o.plaintext, o.facts));
        self.on_opened(c, dir, at, offset, header, opened, seq)
    }

    /// What opening a protected record gave, told the same way for every
    /// version: its crypto, then its content by (inner) type; or, when it
    /// did not open, a `bad_record_mac` note (with the sequence number
    /// when known) and the record shown by size.
    #[allow(clippy::too_many_arguments)]
    fn on_opened(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        offset: u64,
        header: RecordHeader,
        opened: Result<(ContentType, Vec<u8>, RecordFacts), RecordError>,
        seq: Option<u64>,
    ) -> io::Result<()> {
        if opened.is_ok() {
            c.dirs[di(dir)].records_after_protection += 1;
        }
        let facts = opened.as_ref().map(|o| o.2.clone()).map_err(|e| *e);
        let length = opened.as_ref().ok().map(|o| o.1.len());
        self.emit_record_crypto(c, dir, at, offset, header, facts, length)?;
        match opened {
            Ok((ct, plaintext, _)) => self.on_content(c, dir, at, ct, plaintext, true),
            Err(e) => {
                let mut n = Note::new(NoteCode::BadRecordMac).with("error", e.to_string());
                if let Some(s) = seq {
                    n = n.with("seq", s);
                }
                self.on_protected_record(
                    c,
                    dir,
                    at,
                    header.content_type,
                    header.length as usize,
                    vec![n],
                )
            }
        }
    }

    fn on_protected_record(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        ct: ContentType,
        len: usize,
        mut notes: Vec<Note>,
    ) -> io::Result<()> {
        let d = &mut c.dirs[di(dir)];
        d.records_after_protection += 1;
        let mut step = None;
        if ct == ContentType::ApplicationData {
            d.data.records += 1;
            d.data.bytes += len as u64;
            if !c.hs.tls13 {
                step = Some(10);
            } else if !d.finished {
                // TLS 1.3 without keys: the first protected records carry
                // the rest of the handshake; count that direction's flight.
                d.finished = true;
            }
        } else if ct == ContentType::Handshake && !d.finished {
            d.finished = true;
            step = self.advance(c, dir, FlowMsg::Finished, &mut notes);
            if c.hs.cursor.complete() {
                c.hs.established = true;
            }
        }
        let message = if ct == ContentType::ApplicationData && !c.hs.tls13 {
            Message::ApplicationData {
                length: len,
                plaintext: None,
            }
        } else {
            Message::Encrypted {
                content_type: ct,
                length: len,
            }
        };
        self.message(
            c,
            dir,
            at,
            message,
            Vec::new(),
            1,
            true,
            step,
            notes,
            vec![],
        )
    }

    fn on_handshake_record(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        body: &[u8],
        protected: bool,
    ) -> io::Result<()> {
        if body.is_empty() {
            return self.note(
                c,
                Some(dir),
                at,
                Note::new(NoteCode::EmptyRecord).with("content_type", 22u64),
            );
        }
        let mut joined: Vec<(HandshakeType, Vec<u8>, u32)> = Vec::new();
        let res = c.dirs[di(dir)].joiner.push_record(body, &mut |m| {
            joined.push((m.typ, m.raw.to_vec(), m.records))
        });
        for (typ, raw, records) in joined {
            self.on_handshake_message(c, dir, at, typ, raw, records, protected)?;
        }
        if let Err(e) = res {
            let n = Note::new(NoteCode::DecodeFailed).with(
                "error",
                format!(
                    "{}: announced length {} is beyond any real message",
                    typ_name(e.typ),
                    e.length
                ),
            );
            c.hs.failed = true;
            c.hs.failure.get_or_insert(n.clone());
            c.dirs[di(dir)].lose_sync = true;
            self.note(c, Some(dir), at, n)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn on_handshake_message(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        typ: HandshakeType,
        raw: Vec<u8>,
        records: u32,
        protected: bool,
    ) -> io::Result<()> {
        let cx = WireContext::new(c.hs.version.unwrap_or(ProtocolVersion::TLSv1_2), c.hs.kx);
        let parsed = HandshakeMessage::decode_body(typ, &raw[4..], &cx, 4);
        let mut notes = Vec::new();
        let mut certificates = Vec::new();
        let mut flow_event = None;
        if let Err(e) = &parsed {
            notes.push(decode_note(e));
            c.hs.failed = true;
            c.hs.failure.get_or_insert(decode_note(e));
        }
        let flow_msg = match typ {
            HandshakeType::HelloRequest => None,
            t => FlowMsg::from_handshake_type(t),
        };
        // A ClientHello on an established connection starts a new handshake.
        if typ == HandshakeType::ClientHello
            && c.hs.handshakes > 0
            && dir == Direction::ClientToServer
        {
            let established = c.hs.established;
            c.hs.cursor = FlowCursor::new();
            c.hs.cursor.kind.renegotiation = established;
            if established {
                flow_event = Some(FlowEvent::Renegotiation {
                    number: c.hs.handshakes + 1,
                });
            }
        }
        match &parsed {
            Ok(HandshakeMessage::ClientHello(ch)) if dir == Direction::ClientToServer => {
                c.hs.handshakes += 1;
                c.hs.client_session_id = ch.session_id.clone();
                c.hs.server_name = ch.server_name().or(c.hs.server_name.take());
                if ch.offers_suite(CipherSuite::TLS_FALLBACK_SCSV) {
                    notes.push(Note::new(NoteCode::FallbackScsv));
                }
            }
            Ok(HandshakeMessage::ServerHello(sh)) if dir == Direction::ServerToClient => {
                let version = sh.negotiated_version();
                c.hs.version = Some(version);
                c.hs.suite = Some(sh.cipher_suite);
                c.hs.kx = key_exchange_of(sh.cipher_suite);
                c.hs.cursor.kind.anonymous = crate::wire::suites::lookup(sh.cipher_suite.0)
                    .is_some_and(|s| s.is_anonymous());
                if sh.is_hello_retry_request() {
                    c.hs.cursor.kind.hello_retry = true;
                }
                if version == ProtocolVersion::TLSv1_3 {
                    c.hs.tls13 = true;
                    c.hs.cursor.kind.tls13 = true;
                    notes.push(Note::new(NoteCode::Tls13Encrypted));
                } else {
                    if !sh.session_id.is_empty() && sh.session_id == c.hs.client_session_id {
                        // The cursor switches table once ServerHello is
                        // placed (below).
                        c.hs.resumed = true;
                        notes.push(Note::new(NoteCode::SessionResumed));
                    }
                    let tail: [u8; 8] = sh.random.0[24..].try_into().expect("8 bytes");
                    if tail == hello::DOWNGRADE_TLS12 || tail == hello::DOWNGRADE_TLS11 {
                        notes.push(Note::new(NoteCode::DowngradeSentinel));
                    }
                }
            }
            Ok(HandshakeMessage::Certificate(cert)) => {
                certificates = cert
                    .chain()
                    .map(|der| self.summaries.summarize(der))
                    .collect();
                if dir == Direction::ClientToServer && !cert.entries.is_empty() {
                    c.hs.cursor.mark_client_cert_sent();
                }
                if dir == Direction::ClientToServer && cert.entries.is_empty() {
                    c.hs.cursor.kind.no_client_cert = true;
                }
            }
            _ => {}
        }
        let secrets = self.track_secrets(c, dir, typ, &raw, parsed.as_ref().ok(), &mut notes);
        let kind_before = c.hs.cursor.kind;
        let step = match (flow_msg, typ) {
            (_, HandshakeType::HelloRequest) => Some(11),
            (Some(m), _)
                if !c.hs.tls13 || matches!(m, FlowMsg::ClientHello | FlowMsg::ServerHello) =>
            {
                if c.hs.tls13 && m == FlowMsg::ServerHello {
                    // TLS 1.3 has no table here yet: the hellos are steps 1 and 2.
                    Some(2)
                } else if c.hs.tls13 && m == FlowMsg::ClientHello {
                    Some(1)
                } else {
                    self.advance(c, dir, m, &mut notes)
                }
            }
            _ => None,
        };
        if typ == HandshakeType::ServerHello && c.hs.resumed && step.is_some() {
            c.hs.cursor.mark_resumed();
        }
        if typ == HandshakeType::ServerHello && !c.hs.tls13 && c.hs.cursor.kind != kind_before {
            flow_event.get_or_insert(FlowEvent::Kind(c.hs.cursor.kind));
        }
        if let Some(f) = flow_event.take() {
            self.emit(c, Some(dir), Origin::Observed, at, EventKind::Flow(f))?;
        }
        if typ == HandshakeType::ServerHello && (c.hs.tls13 || c.hs.cursor.kind == kind_before) {
            self.emit(
                c,
                Some(dir),
                Origin::Observed,
                at,
                EventKind::Flow(FlowEvent::Kind(c.hs.cursor.kind)),
            )?;
        }
        if typ == HandshakeType::Finished && (step.is_some() || (c.hs.tls13 && protected)) {
            c.dirs[di(dir)].finished = true;
            if c.hs.cursor.complete() {
                c.hs.established = true;
            }
        }
        let kind_now = c.hs.cursor.kind;
        self.message(
            c,
            dir,
            at,
            Message::Handshake { typ, parsed },
            raw,
            records,
            protected,
            step,
            notes,
            certificates,
        )?;
        if typ != HandshakeType::ServerHello && kind_now != kind_before {
            self.emit(
                c,
                Some(dir),
                Origin::Observed,
                at,
                EventKind::Flow(FlowEvent::Kind(kind_now)),
            )?;
        }
        if let Some(secrets) = secrets {
            self.emit(
                c,
                Some(dir),
                Origin::Observed,
                at,
                EventKind::Crypto(Box::new(CryptoEvent::Secrets(Box::new(secrets)))),
            )?;
        }
        Ok(())
    }

    // -- Secrets and keys --

    /// Follows the handshake's secrets through one handshake message,
    /// before it is emitted (notes about it go on it): the transcript, the
    /// randoms and extensions of the hellos, the server key matching the
    /// certificate, the pre-master secret of ClientKeyExchange, and the
    /// check of Finished. Returns the session's secrets when they became
    /// known with this message (the pending keys are then derived).
    fn track_secrets(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        typ: HandshakeType,
        raw: &[u8],
        parsed: Option<&HandshakeMessage>,
        notes: &mut Vec<Note>,
    ) -> Option<SessionSecrets> {
        if typ == HandshakeType::ClientHello
            && dir == Direction::ClientToServer
            && c.dec.is_none()
            && self.secrets.any()
        {
            c.dec = Some(Box::default());
        }
        let conn = c.conn;
        let resumed = c.hs.resumed;
        let dec = c.dec.as_deref_mut()?;
        let hs = &mut dec.hs;
        match (typ, parsed) {
            // RFC 5246 §7.4.1.1: HelloRequest is not part of the transcript.
            (HandshakeType::HelloRequest, _) => None,
            (HandshakeType::ClientHello, Some(HandshakeMessage::ClientHello(ch)))
                if dir == Direction::ClientToServer =>
            {
                // A new handshake: the keys of the one before stay in force
                // until this one's ChangeCipherSpec.
                *hs = HandshakeSecrets {
                    client_version: Some(ch.client_version),
                    client_random: Some(ch.random.0),
                    client_ems: ch.extension(ExtensionType::ExtendedMasterSecret).is_some(),
                    client_etm: ch.extension(ExtensionType::EncryptThenMac).is_some(),
                    offered_ticket: ch
                        .extension(ExtensionType::SessionTicket)
                        .filter(|e| !e.data.is_empty())
                        .map(|e| e.data.clone()),
                    ..Default::default()
                };
                hs.transcript.add(raw);
                dec.pending = [None, None];
                None
            }
            (HandshakeType::ServerHello, Some(HandshakeMessage::ServerHello(sh)))
                if dir == Direction::ServerToClient =>
            {
                hs.transcript.add(raw);
                let version = sh.negotiated_version();
                hs.version = Some(version);
                hs.server_random = Some(sh.random.0);
                hs.suite = crate::wire::suites::lookup(sh.cipher_suite.0);
                hs.server_session_id = sh.session_id.clone();
                if sh.is_hello_retry_request() {
                    // RFC 8446 §4.4.1: the transcript then starts with a
                    // hash of the first ClientHello; not followed, so the
                    // Finished messages go unchecked.
                    dec.hello_retry = true;
                    return None;
                }
                if version == ProtocolVersion::TLSv1_3 {
                    let secrets = tls13_keys(dec, &self.secrets.keylog);
                    if secrets.is_none() {
                        let why = dec.hs.why_not.clone().unwrap_or_default();
                        dec.why_not = Some(why.clone());
                        notes.push(Note::new(NoteCode::NotDecrypted).with("reason", why));
                    }
                    return secrets;
                }
                if !(ProtocolVersion::SSLv3..=ProtocolVersion::TLSv1_2).contains(&version) {
                    let why = format!("no decryption for version 0x{:04x}", version.0);
                    hs.why_not = Some(why.clone());
                    dec.why_not = Some(why.clone());
                    notes.push(Note::new(NoteCode::NotDecrypted).with("reason", why));
                    return None;
                }
                // RFC 7627 §5.1: in force when both hellos carry the
                // extension (which SSL 3.0 has no place for).
                hs.ems = version != ProtocolVersion::SSLv3
                    && hs.client_ems
                    && sh.extension(ExtensionType::ExtendedMasterSecret).is_some();
                hs.etm = sh.encrypt_then_mac_agreed(hs.client_etm);
                let client_random = hs.client_random?;
                if hs.suite.is_none() {
                    hs.why_not = Some(format!("unknown cipher suite 0x{:04x}", sh.cipher_suite.0));
                    return None;
                }
                if let Some(ms) = self.secrets.keylog.master_secret_for(&client_random) {
                    hs.master = Some(ms.clone());
                    hs.source = Some(SecretSource::KeyLogMasterSecret);
                } else if resumed {
                    let cached = self.sessions.get(&hs.server_session_id).or_else(|| {
                        hs.offered_ticket
                            .as_ref()
                            .and_then(|t| self.sessions.get(t))
                    });
                    match cached {
                        Some(s) => {
                            hs.master = Some(s.master.clone());
                            hs.source = Some(SecretSource::EarlierSession { conn: s.conn });
                        }
                        None => {
                            hs.why_not = Some(
                                "a resumed session whose master secret is neither in the key log nor learnt \
                                 earlier in this capture"
                                    .into(),
                            )
                        }
                    }
                }
                hs.master.as_ref()?;
                let secrets = derive_keys(dec, None);
                self.remember_session(c, conn);
                secrets
            }
            (HandshakeType::Certificate, Some(HandshakeMessage::Certificate(cert)))
                if dir == Direction::ServerToClient =>
            {
                hs.transcript.add(raw);
                hs.certificate_seen = true;
                if self.server_publics.is_empty() {
                    return None;
                }
                let leaf = cert.chain().next()?;
                let public = pki::rsa_public_key(leaf).ok();
                match self
                    .server_publics
                    .iter()
                    .position(|(k, _)| Some(k) == public.as_ref())
                {
                    Some(i) => {
                        self.server_publics[i].1 = true;
                        hs.server_key = Some(i);
                    }
                    None => {
                        let subject = pki::summarize(leaf).map(|s| s.subject).unwrap_or_default();
                        notes.push(Note::new(NoteCode::KeyMismatch).with("subject", subject));
                        hs.why_not
                            .get_or_insert("no --key matches the server's certificate".into());
                    }
                }
                None
            }
            (HandshakeType::ServerKeyExchange, parsed) if dir == Direction::ServerToClient => {
                hs.transcript.add(raw);
                if let Some(HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Rsa {
                    ..
                })) = parsed
                {
                    hs.temporary_rsa_key = true;
                }
                None
            }
            (HandshakeType::ClientKeyExchange, parsed) if dir == Direction::ClientToServer => {
                // RFC 7627 §3: the session hash covers ClientKeyExchange.
                hs.transcript.add(raw);
                if hs.master.is_some() || hs.version.is_none() || hs.suite.is_none() {
                    return None;
                }
                let cke = match parsed {
                    Some(HandshakeMessage::ClientKeyExchange(cke)) => Some(cke),
                    _ => None,
                };
                let pre_master = self.pre_master_of(&mut c.dec.as_deref_mut()?.hs, cke, notes)?;
                let dec = c.dec.as_deref_mut()?;
                let secrets = master_from_pre_master(dec, pre_master);
                self.remember_session(c, conn);
                secrets
            }
            (HandshakeType::NewSessionTicket, parsed) if dir == Direction::ServerToClient => {
                hs.transcript.add(raw);
                if let Some(HandshakeMessage::NewSessionTicket(
                    crate::wire::handshake::NewSessionTicket::Tls12 { ticket, .. },
                )) = parsed
                {
                    if let (false, Some(ms)) = (ticket.is_empty(), hs.master.clone()) {
                        self.remember(ticket.clone(), ms, conn);
                    }
                }
                None
            }
            (HandshakeType::Finished, parsed) => {
                // Each side's Finished covers every message before it
                // (RFC 5246 §7.4.9): checked, then added.
                let got = match parsed {
                    Some(HandshakeMessage::Finished(f)) => Some(&f.verify_data),
                    _ => None,
                };
                let expected = match (&hs.master, hs.version, hs.suite) {
                    _ if dec.hello_retry => None,
                    (_, Some(ProtocolVersion::TLSv1_3), _) => dec.tls13.as_ref().and_then(|t| {
                        let base = t.handshake_secret[di(dir)].as_ref()?;
                        let th = t.hash.digest(hs.transcript.bytes());
                        Some(tls13::finished_verify_data(t.hash, base.expose(), &th))
                    }),
                    (Some(ms), Some(v), Some(suite)) => {
                        let sender = match dir {
                            Direction::ClientToServer => Sender::Client,
                            Direction::ServerToClient => Sender::Server,
                        };
                        transcript::finished_verify_data(v, suite, ms, sender, &hs.transcript).ok()
                    }
                    _ => None,
                };
                hs.transcript.add(raw);
                match (expected, got) {
                    (Some(expected), Some(got)) if constant_time_eq(&expected, got) => {
                        dec.finished_ok += 1;
                        notes.push(Note::new(NoteCode::FinishedVerified));
                    }
                    (Some(expected), Some(got)) => {
                        dec.finished_bad += 1;
                        let n = Note::new(NoteCode::FinishedMismatch)
                            .with("expected", expected)
                            .with("got", got.clone());
                        c.hs.failed = true;
                        c.hs.failure.get_or_insert(n.clone());
                        notes.push(n);
                    }
                    _ => dec.finished_unchecked = true,
                }
                // TLS 1.3: this direction's application keys start with its
                // next record (RFC 8446 §7.2).
                if let Some(t) = dec.tls13.as_deref_mut() {
                    t.current[di(dir)] = t.app_secret[di(dir)]
                        .as_ref()
                        .and_then(|s| tls13_protection(t.hash, t.suite, s.expose()));
                }
                None
            }
            (HandshakeType::KeyUpdate, _) => {
                // RFC 8446 §4.6.3: the sender's next records use the next
                // generation of its traffic secret.
                if let Some(t) = dec.tls13.as_deref_mut() {
                    let i = di(dir);
                    t.app_secret[i] = t.app_secret[i].as_ref().map(|s| {
                        SecretBytes::from_slice(&tls13::next_traffic_secret(t.hash, s.expose()))
                    });
                    t.current[i] = t.app_secret[i]
                        .as_ref()
                        .and_then(|s| tls13_protection(t.hash, t.suite, s.expose()));
                }
                None
            }
            _ => {
                hs.transcript.add(raw);
                None
            }
        }
    }

    /// RFC 5246 §7.4.7.1: the pre-master secret of an RSA
    /// ClientKeyExchange, from a key log `RSA` line or decrypted with the
    /// server's key; `None` (and the reason in `hs.why_not`) otherwise.
    fn pre_master_of(
        &mut self,
        hs: &mut HandshakeSecrets,
        cke: Option<&ClientKeyExchange>,
        notes: &mut Vec<Note>,
    ) -> Option<(PreMasterSecret, SecretSource)> {
        let Some(ClientKeyExchange::Rsa {
            encrypted_pre_master,
            ..
        }) = cke
        else {
            hs.why_not.get_or_insert(
                "the key exchange is not RSA: a server key cannot recover its pre-master secret, only a \
                 key log can"
                    .into(),
            );
            return None;
        };
        if let Some(pms) = self.secrets.keylog.pre_master_for(encrypted_pre_master) {
            return Some((pms.clone(), SecretSource::KeyLogPreMaster));
        }
        if hs.temporary_rsa_key {
            hs.why_not.get_or_insert(
                "export RSA: the pre-master secret is encrypted to the temporary key of \
                 ServerKeyExchange, which only the server knew; a key log can decrypt it"
                    .into(),
            );
            return None;
        }
        // The key matching the certificate; without a certificate (a
        // capture joined late, or a peer that sent none) every key is tried.
        let candidates: Vec<usize> = match hs.server_key {
            Some(i) => vec![i],
            None if !hs.certificate_seen => (0..self.secrets.server_keys.len()).collect(),
            None => Vec::new(),
        };
        let client_version = hs.client_version?;
        for i in candidates {
            let key = &self.secrets.server_keys[i];
            // The passive decoder may tell bad padding from a bad length:
            // it answers nobody, so this is no padding oracle.
            match rsa_kx::decrypt_pre_master_checked(key, encrypted_pre_master, client_version) {
                RsaKxOutcome::Valid(pms)
                | RsaKxOutcome::VersionMismatch {
                    pre_master: pms, ..
                } => {
                    self.server_publics[i].1 = true;
                    return Some((pms, SecretSource::ServerKey));
                }
                RsaKxOutcome::BadPadding if hs.server_key.is_some() => {
                    notes.push(
                        Note::new(NoteCode::PreMasterInvalid).with("reason", "bad PKCS #1 padding"),
                    );
                    hs.why_not
                        .get_or_insert("the pre-master secret did not decrypt".into());
                }
                RsaKxOutcome::BadLength { len } if hs.server_key.is_some() => {
                    notes.push(
                        Note::new(NoteCode::PreMasterInvalid)
                            .with("reason", format!("{len} bytes instead of 48")),
                    );
                    hs.why_not
                        .get_or_insert("the pre-master secret did not decrypt".into());
                }
                _ => {}
            }
        }
        hs.why_not
            .get_or_insert(if self.secrets.server_keys.is_empty() {
                "the key log has no CLIENT_RANDOM or RSA line for this session".into()
            } else {
                "neither the key log nor a --key gives this session's secrets".into()
            });
        None
    }

    /// Keeps the master secret of the handshake in progress for a later
    /// resumption, by the server's session ID.
    fn remember_session(&mut self, c: &Conn, conn: ConnId) {
        let Some(dec) = c.dec.as_deref() else { return };
        if let (Some(ms), false) = (&dec.hs.master, dec.hs.server_session_id.is_empty()) {
            if !self.sessions.contains_key(&dec.hs.server_session_id) {
                self.remember(dec.hs.server_session_id.clone(), ms.clone(), conn);
            }
        }
    }

    fn remember(&mut self, key: Vec<u8>, master: MasterSecret, conn: ConnId) {
        if self.sessions.len() >= SESSION_CACHE_LIMIT {
            if let Some(old) = self.session_order.pop_front() {
                self.sessions.remove(&old);
            }
        }
        if self
            .sessions
            .insert(key.clone(), CachedSession { master, conn })
            .is_none()
        {
            self.session_order.push_back(key);
        }
    }

    fn on_ccs(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        body: Vec<u8>,
        protected: bool,
    ) -> io::Result<()> {
        let parsed = ChangeCipherSpec::from_bytes(&body, "ChangeCipherSpec");
        let mut notes = Vec::new();
        let step = if c.hs.tls13 {
            // RFC 8446 §5: a compatibility CCS, which changes nothing.
            None
        } else {
            c.dirs[di(dir)].protected = true;
            c.dirs[di(dir)].finished = false;
            if let Some(dec) = c.dec.as_deref_mut() {
                // The keys switch here: the pending ones, or none known.
                let next = dec.pending[di(dir)].take();
                if next.is_none() && !dec.hs.why_not_noted {
                    dec.hs.why_not_noted = true;
                    let why = dec
                        .hs
                        .why_not
                        .clone()
                        .unwrap_or_else(|| "the key log has no secret for this session".into());
                    let mut n = Note::new(NoteCode::NoSecretForSession).with("reason", why.clone());
                    if let Some(cr) = dec.hs.client_random {
                        n = n.with("client_random", cr.to_vec());
                    }
                    notes.push(n);
                    dec.why_not = Some(why);
                }
                dec.read[di(dir)] = next;
            }
            self.advance(c, dir, FlowMsg::ChangeCipherSpec, &mut notes)
        };
        if let Err(e) = &parsed {
            notes.push(decode_note(e));
        }
        self.message(
            c,
            dir,
            at,
            Message::ChangeCipherSpec(parsed),
            body,
            1,
            protected,
            step,
            notes,
            vec![],
        )
    }

    fn on_alert(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        body: Vec<u8>,
        protected: bool,
    ) -> io::Result<()> {
        let parsed = Alert::from_bytes(&body, "Alert");
        let mut notes = Vec::new();
        let mut step = c.hs.cursor.current_step(writer_of(dir));
        match &parsed {
            Ok(a)
                if a.description == AlertDescription::NoCertificate
                    && a.level == AlertLevel::Warning
                    && dir == Direction::ClientToServer =>
            {
                // SSL 3.0: the client has no certificate (RFC 6101 §5.6.6).
                step = self.advance(c, dir, FlowMsg::NoCertificateAlert, &mut notes);
            }
            Ok(a) => {
                if a.is_fatal() || a.description == AlertDescription::CloseNotify {
                    c.hs.alert.get_or_insert((*a, dir));
                }
                if a.is_fatal() {
                    c.hs.failed = true;
                    let n = Note::new(NoteCode::FatalAlert)
                        .with("description", u64::from(a.description.0))
                        .with("from", dir.id());
                    c.hs.failure.get_or_insert(n);
                }
            }
            Err(e) => notes.push(decode_note(e)),
        }
        self.message(
            c,
            dir,
            at,
            Message::Alert(parsed),
            body,
            1,
            protected,
            step,
            notes,
            vec![],
        )
    }

    /// Moves the flow on; an out-of-place message becomes a note.
    fn advance(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        m: FlowMsg,
        notes: &mut Vec<Note>,
    ) -> Option<u8> {
        match c.hs.cursor.advance(writer_of(dir), m) {
            Ok(step) => Some(step.number),
            Err(e) => {
                notes.push(
                    Note::new(NoteCode::UnexpectedMessage)
                        .with("expected", e.expected.join(" or "))
                        .with("got", m.name()),
                );
                None
            }
        }
    }

    /// A gap in one direction: record alignment is lost there.
    pub fn gap(
        &mut self,
        flow: FlowKey,
        dir: Direction,
        at: Timestamp,
        missing: u64,
    ) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        let r = if c.detect == Detect::Tls {
            c.dirs[di(dir)].deframer.lose_sync();
            self.note(
                &mut c,
                Some(dir),
                at,
                Note::new(NoteCode::TcpGap).with("missing", missing),
            )
        } else {
            if c.detect == Detect::Unknown {
                c.detect = Detect::NotTls;
                self.stats.non_tls_flows += 1;
            }
            Ok(())
        };
        self.flows.insert(flow, c);
        r
    }

    /// The TCP connection ended (FIN, RST, end of capture): its outcome.
    pub fn close(
        &mut self,
        flow: FlowKey,
        at: Timestamp,
        reset: bool,
        end_of_capture: bool,
    ) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        match c.detect {
            Detect::Tls => {}
            Detect::Filtered => {
                let (result, _) = self.outcome(&mut c, at, true, reset, end_of_capture)?;
                self.count(result);
                return Ok(());
            }
            Detect::Unknown => {
                self.stats.non_tls_flows += 1;
                return Ok(());
            }
            Detect::NotTls => return Ok(()),
        }
        let (result, outcome) = self.outcome(&mut c, at, false, reset, end_of_capture)?;
        self.count(result);
        if let Some(o) = outcome {
            self.emit(&mut c, None, Origin::Observed, at, EventKind::Outcome(o))?;
        }
        Ok(())
    }

    fn count(&mut self, r: OutcomeResult) {
        match r {
            OutcomeResult::Ok => self.stats.ok += 1,
            OutcomeResult::Failed => self.stats.failed += 1,
            OutcomeResult::Incomplete => self.stats.incomplete += 1,
        }
    }

    fn outcome(
        &mut self,
        c: &mut Conn,
        at: Timestamp,
        silent: bool,
        reset: bool,
        end_of_capture: bool,
    ) -> io::Result<(OutcomeResult, Option<Outcome>)> {
        let mut notes = Vec::new();
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let d = &c.dirs[di(dir)];
            if let Some((offset, missing)) = d.deframer.pending() {
                notes.push((
                    dir,
                    Note::new(NoteCode::TruncatedRecord)
                        .with("offset", offset)
                        .with("missing", missing),
                ));
            } else if d.joiner.has_partial() {
                notes.push((
                    dir,
                    Note::new(NoteCode::IncompleteHandshakeMessage)
                        .with("have", d.joiner.partial_len()),
                ));
            }
        }
        if reset {
            notes.push((Direction::ClientToServer, Note::new(NoteCode::TcpReset)));
        }
        let complete = if c.hs.tls13 {
            // Without keys, a TLS 1.3 handshake is taken as complete once
            // both sides have sent protected records.
            c.dirs[0].finished && c.dirs[1].finished
        } else {
            c.hs.cursor.complete() || c.hs.established
        };
        let result = if c.hs.failed {
            OutcomeResult::Failed
        } else if complete {
            OutcomeResult::Ok
        } else {
            OutcomeResult::Incomplete
        };
        if silent {
            return Ok((result, None));
        }
        for (dir, n) in notes {
            self.note(c, Some(dir), at, n)?;
        }
        let mut reason = c.hs.failure.clone();
        if result == OutcomeResult::Incomplete {
            let code = if end_of_capture {
                NoteCode::CaptureEndedMidConnection
            } else {
                NoteCode::HandshakeIncomplete
            };
            reason = Some(Note::new(code));
        }
        let mut kind = c.hs.cursor.kind;
        kind.tls13 = c.hs.tls13;
        let protected_any = c.dirs.iter().any(|d| d.records_after_protection > 0);
        let decrypted = c.dec.as_ref().is_some_and(|d| d.opened > 0);
        let finished_verified = c.dec.as_ref().and_then(|d| {
            if d.finished_bad > 0 {
                Some(false)
            } else if d.finished_ok >= 2 && !d.finished_unchecked {
                Some(true)
            } else {
                None
            }
        });
        if decrypted {
            self.stats.decrypted += 1;
        }
        let not_decrypted = || {
            let n = Note::new(NoteCode::NotDecrypted);
            match c
                .dec
                .as_ref()
                .and_then(|d| d.why_not.clone().or_else(|| d.hs.why_not.clone()))
            {
                Some(why) => n.with("reason", why),
                None => n,
            }
        };
        Ok((
            result,
            Some(Outcome {
                result,
                version: c.hs.version,
                cipher_suite: c.hs.suite,
                resumed: c.hs.resumed || kind.resumed,
                kind: (c.hs.handshakes > 0).then_some(kind),
                alert: c.hs.alert,
                decrypted,
                finished_verified,
                handshakes: c.hs.handshakes,
                client_to_server: c.dirs[0].data,
                server_to_client: c.dirs[1].data,
                server_name: c.hs.server_name.clone(),
                reason: reason.or_else(|| (protected_any && !decrypted).then(not_decrypted)),
            }),
        ))
    }

    /// Ends every connection still open (the capture is over).
    pub fn finish(&mut self) -> io::Result<ObserverStats> {
        let mut open: Vec<FlowKey> = self.flows.keys().copied().collect();
        open.sort_unstable();
        for f in open {
            let at = self.flows[&f].last_time;
            self.close(f, at, false, true)?;
        }
        Ok(self.stats)
    }

    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        message: Message,
        raw: Vec<u8>,
        records: u32,
        protected: bool,
        step: Option<u8>,
        notes: Vec<Note>,
        certificates: Vec<Result<pki::CertSummary, String>>,
    ) -> io::Result<()> {
        self.emit(
            c,
            Some(dir),
            Origin::Observed,
            at,
            EventKind::Message(Box::new(MessageEvent {
                step,
                message,
                raw,
                records,
                protected,
                notes,
                certificates,
            })),
        )
    }

    /// A per-record event ([`RecordDetail`]), built and emitted only when
    /// the sink wants it; left out, its sequence number is spent as
    /// [`Observer::emit`] would have, so the other events keep theirs.
    fn emit_detail(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        wanted: bool,
        kind: impl FnOnce() -> EventKind,
    ) -> io::Result<()> {
        if !wanted {
            if c.detect == Detect::Tls {
                self.seq += 1;
            }
            return Ok(());
        }
        self.emit(c, Some(dir), Origin::Observed, at, kind())
    }

    /// The crypto facts of one protected record (shown with `-v`), opened
    /// or not, counted for the outcome.
    #[allow(clippy::too_many_arguments)]
    fn emit_record_crypto(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        offset: u64,
        header: RecordHeader,
        result: Result<
            crate::record::protection::RecordFacts,
            crate::record::protection::RecordError,
        >,
        plaintext_length: Option<usize>,
    ) -> io::Result<()> {
        if let Some(dec) = c.dec.as_mut() {
            if result.is_ok() {
                dec.opened += 1;
            } else {
                dec.failed += 1;
            }
        }
        let wanted = self.record_crypto;
        self.emit_detail(c, dir, at, wanted, || {
            EventKind::Crypto(Box::new(CryptoEvent::Record(RecordCrypto {
                stream_offset: offset,
                header,
                result,
                plaintext_length,
            })))
        })
    }

    fn note(
        &mut self,
        c: &mut Conn,
        dir: Option<Direction>,
        at: Timestamp,
        n: Note,
    ) -> io::Result<()> {
        self.emit(c, dir, Origin::Observed, at, EventKind::Note(n))
    }

    fn emit(
        &mut self,
        c: &mut Conn,
        dir: Option<Direction>,
        origin: Origin,
        at: Timestamp,
        kind: EventKind,
    ) -> io::Result<()> {
        if c.detect != Detect::Tls {
            return Ok(());
        }
        self.seq += 1;
        self.sink.emit(&Event {
            seq: self.seq,
            conn: c.conn,
            dir,
            origin,
            time: Some(at),
            kind,
        })
    }
}

/// The observer as the capture pipeline's sink. An output error (such as a
/// closed pipe) stops the capture; it is kept for [`Observer::take_error`].
impl crate::capture::StreamSink for Observer<'_> {
    fn on_event(&mut self, event: crate::capture::StreamEvent<'_>) -> std::ops::ControlFlow<()> {
        use crate::capture::{CloseReason, StreamEvent as E};
        let r = match event {
            E::Opened {
                flow,
                client,
                server,
                ts,
                handshake_seen,
            } => {
                self.open(flow, client, server, handshake_seen, ts);
                Ok(())
            }
            E::Data {
                flow,
                dir,
                ts,
                bytes,
            } => self.data(flow, dir, ts, bytes),
            E::Gap {
                flow,
                dir,
                ts,
                missing,
            } => self.gap(flow, dir, ts, missing),
            E::Closed { flow, ts, reason } => self.close(
                flow,
                ts,
                reason == CloseReason::Rst,
                matches!(reason, CloseReason::EndOfCapture | CloseReason::Evicted),
            ),
            E::KeyLog { text } => {
                self.add_key_log(text);
                Ok(())
            }
        };
        self.keep_going(r)
    }

    fn on_record(
        &mut self,
        flow: crate::capture::FlowId,
        dir: Direction,
        ts: Timestamp,
        record: WholeRecord,
    ) -> std::ops::ControlFlow<()> {
        let r = self.record(flow, dir, ts, record);
        self.keep_going(r)
    }

    /// The protection `on_sealed_record` opens `dir`'s records with, when
    /// it opens them faster a batch at a time.
    fn protection_now(
        &self,
        flow: crate::capture::FlowId,
        dir: Direction,
    ) -> Option<RecordProtection> {
        let c = self.flows.get(&flow)?;
        if !c.dirs[di(dir)].protected || c.hs.tls13 {
            return None;
        }
        let p = c.dec.as_ref()?.read[di(dir)].as_ref()?;
        p.finishes_faster_together().then(|| p.clone())
    }

    fn give_back(&mut self, spent: &mut Vec<Vec<u8>>) {
        spent.append(&mut self.spent);
        self.spent_bytes = 0;
    }
}

impl Observer<'_> {
    /// Whether the capture goes on after a step: an output error stops it
    /// and is kept for [`Observer::take_error`].
    fn keep_going(&mut self, r: io::Result<()>) -> std::ops::ControlFlow<()> {
        match r {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                std::ops::ControlFlow::Break(())
            }
        }
    }
}

/// The master secret from the pre-master secret (RFC 5246 §8.1, or RFC
/// 7627 §4 with the session hash when extended_master_secret is in force),
/// then the keys.
fn master_from_pre_master(
    dec: &mut Decryption,
    (pre_master, source): (PreMasterSecret, SecretSource),
) -> Option<SessionSecrets> {
    let hs = &mut dec.hs;
    let (version, suite) = (hs.version?, hs.suite?);
    let master = if hs.ems {
        transcript::session_hash(version, suite, &hs.transcript)
            .and_then(|h| prf::extended_master_secret(version, suite, &pre_master, &h))
    } else {
        prf::master_secret(
            version,
            suite,
            &pre_master,
            hs.client_random.as_ref()?,
            hs.server_random.as_ref()?,
        )
    };
    match master {
        Ok(ms) => {
            hs.master = Some(ms);
            hs.source = Some(source);
            derive_keys(dec, Some(pre_master))
        }
        Err(e) => {
            hs.why_not = Some(e.to_string());
            None
        }
    }
}

/// TLS 1.3 record protection from a traffic secret.
fn tls13_protection(hash: Tls13Hash, suite: &SuiteInfo, secret: &[u8]) -> Option<Tls13Protection> {
    let (key, iv) = tls13::traffic_keys(hash, secret, suite.cipher.key_len(), 12);
    Tls13Protection::new(suite, &key, &iv).ok()
}

/// TLS 1.3 at ServerHello: the handshake keys of both directions from the
/// key log's traffic secrets (and the application secrets for later).
fn tls13_keys(dec: &mut Decryption, keylog: &KeyLog) -> Option<SessionSecrets> {
    let hs = &mut dec.hs;
    let (cr, sr) = (hs.client_random?, hs.server_random?);
    let Some(suite) = hs.suite.filter(|s| s.is_tls13()) else {
        hs.why_not = Some("not a TLS 1.3 cipher suite".into());
        return None;
    };
    let hash = Tls13Hash::of_suite(suite.code);
    let get = |label| keylog.tls13_secret(label, &cr).cloned();
    let handshake_secret = [
        get(Tls13Label::ClientHandshakeTrafficSecret),
        get(Tls13Label::ServerHandshakeTrafficSecret),
    ];
    let app_secret = [
        get(Tls13Label::ClientTrafficSecret0),
        get(Tls13Label::ServerTrafficSecret0),
    ];
    let [Some(c), Some(s)] = &handshake_secret else {
        hs.why_not =
            Some("the key log has no TLS 1.3 handshake traffic secrets for this session".into());
        return None;
    };
    let current = [
        tls13_protection(hash, suite, c.expose()),
        tls13_protection(hash, suite, s.expose()),
    ];
    if current.iter().any(Option::is_none) {
        hs.why_not = Some(format!(
            "no TLS 1.3 record protection for {}",
            suite.cipher.name()
        ));
        return None;
    }
    let mut tls13_secrets = Vec::new();
    for (label, secret) in [
        (
            Tls13Label::ClientHandshakeTrafficSecret,
            &handshake_secret[0],
        ),
        (
            Tls13Label::ServerHandshakeTrafficSecret,
            &handshake_secret[1],
        ),
        (Tls13Label::ClientTrafficSecret0, &app_secret[0]),
        (Tls13Label::ServerTrafficSecret0, &app_secret[1]),
    ] {
        if let Some(v) = secret {
            tls13_secrets.push((label, v.clone()));
        }
    }
    hs.source = Some(SecretSource::KeyLogTls13);
    dec.tls13 = Some(Box::new(Tls13Keys {
        hash,
        suite,
        handshake_secret,
        app_secret,
        current,
    }));
    Some(SessionSecrets {
        source: SecretSource::KeyLogTls13,
        client_random: cr,
        server_random: sr,
        version: ProtocolVersion::TLSv1_3,
        cipher_suite: CipherSuite(suite.code),
        extended_master_secret: false,
        encrypt_then_mac: false,
        pre_master: None,
        master_secret: None,
        keys: None,
        tls13_secrets,
    })
}

/// Both directions' pending protection from the master secret, through
/// `record::protection` as the engine derives it.
fn derive_keys(
    dec: &mut Decryption,
    pre_master: Option<PreMasterSecret>,
) -> Option<SessionSecrets> {
    let hs = &mut dec.hs;
    let (version, suite, master) = (hs.version?, hs.suite?, hs.master.as_ref()?);
    let (client_random, server_random) = (hs.client_random?, hs.server_random?);
    let km = match key_material(version, suite, master, &client_random, &server_random) {
        Ok(km) => km,
        Err(e) => {
            hs.why_not = Some(e.to_string());
            return None;
        }
    };
    match protection::protections_from_keys(version, suite, &km, hs.etm) {
        Ok((client, server)) => dec.pending = [Some(client), Some(server)],
        Err(e) => {
            hs.why_not = Some(format!("no record protection for this suite: {e}"));
            return None;
        }
    }
    Some(SessionSecrets {
        source: hs.source?,
        client_random,
        server_random,
        version,
        cipher_suite: CipherSuite(suite.code),
        extended_master_secret: hs.ems,
        encrypt_then_mac: hs.etm && suite.cipher.kind() == crate::wire::suites::CipherKind::Block,
        pre_master,
        master_secret: Some(master.clone()),
        keys: Some(km),
        tls13_secrets: Vec::new(),
    })
}

fn typ_name(t: HandshakeType) -> String {
    format!("{t:?}")
}

fn decode_note(e: &DecodeError) -> Note {
    Note::new(NoteCode::DecodeFailed)
        .with("error", e.to_string())
        .with("what", e.what())
        .with("offset", e.offset())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::handshake::{Certificate, ClientKeyExchange, Finished};
    use crate::wire::hello::Random;

    /// A certificate summarized again comes from the cache, the same as
    /// summarized afresh; a broken one too (its error); and the cache
    /// forgets everything rather than grow past its bound.
    #[test]
    fn certificate_summaries_are_kept_and_bounded() {
        let rsa: &[u8] = include_bytes!("../../fixtures/certs/rsa2048.der");
        let ec: &[u8] = include_bytes!("../../fixtures/certs/ec-p256.der");
        let mut cache = CertSummaries::default();
        for der in [rsa, ec, rsa, &rsa[..100], ec, &rsa[..100]] {
            let fresh = pki::summarize(der).map_err(|e| e.to_string());
            assert_eq!(cache.summarize(der), fresh);
        }
        assert_eq!(cache.by_der.len(), 3);
        for n in 0..CertSummaries::MAX + 5 {
            let _ = cache.summarize(&n.to_be_bytes());
            assert!(cache.by_der.len() <= CertSummaries::MAX);
        }
    }

    /// The buffers kept for the reader stay bounded when nothing takes
    /// them (one thread), and all go when taken.
    #[test]
    fn spent_buffers_are_bounded_and_given_back() {
        use crate::capture::StreamSink as _;
        let mut sink = VecSink::default();
        let mut o = Observer::new(&mut sink, ObserverFilter::default());
        for n in 0..20_000 {
            o.spend(Vec::with_capacity(if n % 2 == 0 { 300 } else { 16_384 }));
            assert!(o.spent.len() <= SPENT_MAX && o.spent_bytes <= SPENT_BYTES);
        }
        let room: usize = o.spent.iter().map(Vec::capacity).sum();
        assert_eq!(room, o.spent_bytes);
        assert!(room > SPENT_BYTES - SPENT_CAPACITY, "{room}: it filled up");
        // Too large for any record: not kept.
        o.spend(Vec::with_capacity(SPENT_CAPACITY + 1));
        assert_eq!(o.spent_bytes, room);
        let mut taken = Vec::new();
        o.give_back(&mut taken);
        assert_eq!(taken.iter().map(Vec::capacity).sum::<usize>(), room);
        assert!(o.spent.is_empty() && o.spent_bytes == 0);
        o.spend(Vec::with_capacity(100));
        assert_eq!(o.spent_bytes, 100);
    }

    fn rec(ct: ContentType, v: ProtocolVersion, body: &[u8]) -> Vec<u8> {
        let mut out = RecordHeader {
            content_type: ct,
            version: v,
            length: body.len() as u16,
        }
        .to_bytes();
        out.extend_from_slice(body);
        out
    }

    fn hs(m: HandshakeMessage) -> Vec<u8> {
        m.to_bytes(&WireContext::new(
            ProtocolVersion::TLSv1_0,
            KeyExchangeKind::Rsa,
        ))
    }

    fn client_hello(sid: Vec<u8>) -> Vec<u8> {
        hs(HandshakeMessage::ClientHello(ClientHello {
            client_version: ProtocolVersion::TLSv1_0,
            random: Random([1; 32]),
            session_id: sid,
            cipher_suites: vec![CipherSuite(0x000a), CipherSuite(0x002f)],
            compression_methods: vec![CompressionMethod::Null],
            extensions: None,
        }))
    }

    fn server_hello(sid: Vec<u8>) -> Vec<u8> {
        hs(HandshakeMessage::ServerHello(ServerHello {
            server_version: ProtocolVersion::TLSv1_0,
            random: Random([2; 32]),
            session_id: sid,
            cipher_suite: CipherSuite(0x000a),
            compression_method: CompressionMethod::Null,
            extensions: None,
        }))
    }

    const V: ProtocolVersion = ProtocolVersion::TLSv1_0;
    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    fn addr(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    /// Runs the observer over (direction, bytes) chunks of one flow, each
    /// chunk split into pieces of `piece` bytes.
    fn observe(chunks: &[(Direction, Vec<u8>)], piece: usize) -> (Vec<Event>, ObserverStats) {
        let mut sink = VecSink::default();
        let stats = {
            let mut o = Observer::new(&mut sink, ObserverFilter::default());
            o.open(1, addr(40000), addr(443), true, Timestamp::default());
            for (d, b) in chunks {
                for p in b.chunks(piece) {
                    o.data(1, *d, Timestamp::default(), p).unwrap();
                }
            }
            o.close(1, Timestamp::default(), false, false).unwrap();
            o.finish().unwrap()
        };
        (sink.0, stats)
    }

    fn names(events: &[Event]) -> Vec<(Direction, &'static str, Option<u8>)> {
        events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Message(m) => Some((e.dir.unwrap(), m.message.name(), m.step)),
                _ => None,
            })
            .collect()
    }

    fn outcome(events: &[Event]) -> &Outcome {
        match &events.last().unwrap().kind {
            EventKind::Outcome(o) => o,
            k => panic!("last event is {k:?}"),
        }
    }

    fn full_handshake() -> Vec<(Direction, Vec<u8>)> {
        let mut flight = server_hello(vec![7; 32]);
        flight.extend(hs(HandshakeMessage::Certificate(Certificate::from_chain(
            vec![vec![0x30, 0x03, 1, 2, 3]],
        ))));
        flight.extend(hs(HandshakeMessage::ServerHelloDone));
        let cke = hs(HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(
            vec![9; 256],
            V,
        )));
        vec![
            (C2S, rec(ContentType::Handshake, V, &client_hello(vec![]))),
            // the server's flight split over two records
            (S2C, rec(ContentType::Handshake, V, &flight[..50])),
            (S2C, rec(ContentType::Handshake, V, &flight[50..])),
            (C2S, rec(ContentType::Handshake, V, &cke)),
            (C2S, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (C2S, rec(ContentType::Handshake, V, &[0xee; 48])),
            (S2C, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (S2C, rec(ContentType::Handshake, V, &[0xee; 48])),
            (C2S, rec(ContentType::ApplicationData, V, &[0xdd; 100])),
            (S2C, rec(ContentType::ApplicationData, V, &[0xdd; 200])),
            (C2S, rec(ContentType::Alert, V, &[0xdd; 32])),
        ]
    }

    #[test]
    fn full_handshake_steps_whatever_the_chunking() {
        for piece in [1, 3, 7, 4096] {
            let (ev, stats) = observe(&full_handshake(), piece);
            assert_eq!(
                names(&ev),
                [
                    (C2S, "client_hello", Some(1)),
                    (S2C, "server_hello", Some(2)),
                    (S2C, "certificate", Some(2)),
                    (S2C, "server_hello_done", Some(2)),
                    (C2S, "client_key_exchange", Some(4)),
                    (C2S, "change_cipher_spec", Some(8)),
                    (C2S, "encrypted_handshake", Some(8)),
                    (S2C, "change_cipher_spec", Some(9)),
                    (S2C, "encrypted_handshake", Some(9)),
                    (C2S, "application_data", Some(10)),
                    (S2C, "application_data", Some(10)),
                    (C2S, "encrypted_alert", None),
                ],
                "piece {piece}"
            );
            let o = outcome(&ev);
            assert_eq!(o.result, OutcomeResult::Ok);
            assert_eq!(o.version, Some(V));
            assert_eq!(o.cipher_suite, Some(CipherSuite(0x000a)));
            assert!(!o.resumed);
            assert_eq!(
                o.client_to_server,
                DataCount {
                    records: 1,
                    bytes: 100
                }
            );
            assert_eq!(
                o.server_to_client,
                DataCount {
                    records: 1,
                    bytes: 200
                }
            );
            assert_eq!(stats.ok, 1);
            // ServerHello spanned the two records; Certificate sat in the second.
            let records = |name| {
                ev.iter()
                    .find_map(|e| match &e.kind {
                        EventKind::Message(m) if m.message.name() == name => Some(m.records),
                        _ => None,
                    })
                    .unwrap()
            };
            assert_eq!(records("server_hello"), 2);
            assert_eq!(records("certificate"), 1);
        }
    }

    #[test]
    fn resumed_session() {
        let sid = vec![5; 32];
        let chunks = vec![
            (
                C2S,
                rec(ContentType::Handshake, V, &client_hello(sid.clone())),
            ),
            (S2C, rec(ContentType::Handshake, V, &server_hello(sid))),
            (S2C, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (S2C, rec(ContentType::Handshake, V, &[0xee; 48])),
            (C2S, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (C2S, rec(ContentType::Handshake, V, &[0xee; 48])),
        ];
        let (ev, _) = observe(&chunks, 1000);
        let steps: Vec<_> = names(&ev).iter().map(|x| x.2).collect();
        assert_eq!(
            steps,
            [Some(1), Some(2), Some(9), Some(9), Some(8), Some(8)]
        );
        let o = outcome(&ev);
        assert!(o.resumed);
        assert_eq!(o.result, OutcomeResult::Ok);
    }

    #[test]
    fn fatal_alert_fails_with_its_step() {
        let chunks = vec![
            (C2S, rec(ContentType::Handshake, V, &client_hello(vec![]))),
            (S2C, rec(ContentType::Alert, V, &[2, 40])),
        ];
        let (ev, stats) = observe(&chunks, 1000);
        assert_eq!(names(&ev)[1], (S2C, "alert", Some(2)));
        let o = outcome(&ev);
        assert_eq!(o.result, OutcomeResult::Failed);
        assert_eq!(
            o.alert.unwrap().0.description,
            AlertDescription::HandshakeFailure
        );
        assert_eq!(stats.failed, 1);
    }

    #[test]
    fn garbage_inside_a_stream_is_a_desync_note() {
        let mut c = rec(ContentType::Handshake, V, &client_hello(vec![]));
        c.extend_from_slice(&[0x99; 40]);
        let (ev, _) = observe(&[(C2S, c)], 3);
        assert!(ev
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Note(n) if n.code == NoteCode::RecordDesync)));
        assert_eq!(outcome(&ev).result, OutcomeResult::Failed);
    }

    #[test]
    fn stream_cut_mid_record_is_noted_and_incomplete() {
        let c = rec(ContentType::Handshake, V, &client_hello(vec![]));
        let (ev, _) = observe(&[(C2S, c[..c.len() - 10].to_vec())], 1000);
        assert!(ev.iter().any(|e| matches!(&e.kind,
            EventKind::Note(n) if n.code == NoteCode::TruncatedRecord && n.param("missing") == Some(&NoteValue::U64(10)))));
        assert_eq!(outcome(&ev).result, OutcomeResult::Incomplete);
    }

    #[test]
    fn undecodable_message_is_a_note_not_a_stop() {
        // A ServerHelloDone with a body byte: decodes as an error.
        let chunks = vec![
            (C2S, rec(ContentType::Handshake, V, &client_hello(vec![]))),
            (S2C, rec(ContentType::Handshake, V, &[14, 0, 0, 1, 0])),
        ];
        let (ev, _) = observe(&chunks, 1000);
        let m = ev
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::Message(m) if m.message.name() == "server_hello_done" => Some(m),
                _ => None,
            })
            .unwrap();
        assert!(m.message.decode_error().is_some());
        assert_eq!(m.raw, [14, 0, 0, 1, 0]);
        assert_eq!(outcome(&ev).result, OutcomeResult::Failed);
    }

    #[test]
    fn non_tls_flow_emits_nothing() {
        let (ev, stats) = observe(&[(C2S, b"GET / HTTP/1.1\r\n\r\n".to_vec())], 1000);
        assert!(ev.is_empty());
        assert_eq!(stats.non_tls_flows, 1);
        assert_eq!(stats.tls_connections, 0);
    }

    #[test]
    fn unexpected_order_is_noted() {
        let chunks = vec![
            (C2S, rec(ContentType::Handshake, V, &client_hello(vec![]))),
            (
                S2C,
                rec(
                    ContentType::Handshake,
                    V,
                    &hs(HandshakeMessage::ServerHelloDone),
                ),
            ),
        ];
        let (ev, _) = observe(&chunks, 1000);
        let m = ev
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::Message(m) if m.message.name() == "server_hello_done" => Some(m),
                _ => None,
            })
            .unwrap();
        assert_eq!(m.notes[0].code, NoteCode::UnexpectedMessage);
        assert_eq!(
            m.notes[0].param("expected"),
            Some(&NoteValue::Str("server_hello".into()))
        );
    }

    fn observe_with(chunks: &[(Direction, Vec<u8>)], secrets: Secrets) -> Vec<Event> {
        let mut sink = VecSink::default();
        observe_into(&mut sink, chunks, secrets);
        sink.0
    }

    fn observe_into(sink: &mut dyn EventSink, chunks: &[(Direction, Vec<u8>)], secrets: Secrets) {
        let mut o = Observer::new(sink, ObserverFilter::default()).with_secrets(secrets);
        o.open(1, addr(40000), addr(443), true, Timestamp::default());
        for (d, b) in chunks {
            o.data(1, *d, Timestamp::default(), b).unwrap();
        }
        o.close(1, Timestamp::default(), false, false).unwrap();
        o.finish().unwrap();
    }

    /// Keeps every event it is given, and wants no per-record detail.
    struct NoDetail(Vec<Event>);

    impl EventSink for NoDetail {
        fn emit(&mut self, ev: &Event) -> io::Result<()> {
            self.0.push(ev.clone());
            Ok(())
        }
        fn wants(&self, _: RecordDetail) -> bool {
            false
        }
    }

    #[test]
    fn record_detail_no_sink_wants_is_left_out_and_the_rest_keeps_its_numbers() {
        // Records that fail to open, so that there are crypto events too.
        let chunks = full_handshake();
        let all = observe_with(&chunks, keylog_for([1; 32]));
        let mut sink = NoDetail(Vec::new());
        observe_into(&mut sink, &chunks, keylog_for([1; 32]));
        let detail = |e: &Event| match &e.kind {
            EventKind::Record(_) => true,
            EventKind::Crypto(c) => matches!(&**c, CryptoEvent::Record(_)),
            _ => false,
        };
        let headers = all
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Record(_)))
            .count();
        assert!(headers > 5, "{headers} record headers");
        assert_eq!(all.iter().filter(|e| detail(e)).count(), headers + 5);
        assert!(!sink.0.iter().any(detail));
        let rest: Vec<Event> = all.into_iter().filter(|e| !detail(e)).collect();
        assert_eq!(sink.0, rest);
    }

    fn keylog_for(client_random: [u8; 32]) -> Secrets {
        let line = crate::crypto::keylog::format_client_random(
            &client_random,
            &MasterSecret::new([7; 48]),
        );
        Secrets {
            keylog: KeyLog::parse(line.as_bytes()).0,
            ..Secrets::default()
        }
    }

    fn note_codes(events: &[Event]) -> Vec<NoteCode> {
        events
            .iter()
            .flat_map(|e| match &e.kind {
                EventKind::Message(m) => m.notes.iter().map(|n| n.code).collect(),
                EventKind::Note(n) => vec![n.code],
                _ => vec![],
            })
            .collect()
    }

    #[test]
    fn a_key_log_for_other_sessions_is_noted_at_change_cipher_spec() {
        let ev = observe_with(&full_handshake(), keylog_for([9; 32]));
        let notes = note_codes(&ev);
        // Once per direction's switch would be noise: once per handshake.
        assert_eq!(
            notes
                .iter()
                .filter(|n| **n == NoteCode::NoSecretForSession)
                .count(),
            1
        );
        // Without keys the records are what they were.
        assert_eq!(names(&ev)[6], (C2S, "encrypted_handshake", Some(8)));
        let o = outcome(&ev);
        assert_eq!(o.result, OutcomeResult::Ok);
        assert!(!o.decrypted);
        assert_eq!(o.finished_verified, None);
        let reason = o.reason.as_ref().unwrap();
        assert_eq!(reason.code, NoteCode::NotDecrypted);
        assert!(reason.param("reason").is_some());
    }

    #[test]
    fn records_that_do_not_open_are_noted_and_skipped() {
        // The key log has this session, but the "records" are 0xee bytes:
        // each fails its MAC, is shown by size with a note, and the next
        // is tried.
        let ev = observe_with(&full_handshake(), keylog_for([1; 32]));
        assert!(ev.iter().any(|e| matches!(&e.kind,
            EventKind::Crypto(c) if matches!(&**c, CryptoEvent::Secrets(s) if s.source == SecretSource::KeyLogMasterSecret))));
        let bad = note_codes(&ev)
            .iter()
            .filter(|n| **n == NoteCode::BadRecordMac)
            .count();
        assert_eq!(bad, 5);
        let o = outcome(&ev);
        assert!(!o.decrypted);
        assert_eq!(o.finished_verified, None);
        assert_eq!(o.result, OutcomeResult::Ok);
        // For every record tried there is its crypto event, with the error.
        let tried = ev
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Crypto(c) if matches!(&**c, CryptoEvent::Record(r) if r.result.is_err())))
            .count();
        assert_eq!(tried, 5);
    }

    #[test]
    fn finished_message_decodes_as_finished_when_plaintext() {
        let _ = Finished {
            verify_data: vec![],
        };
    }

    #[test]
    fn suite_key_exchange_from_registry() {
        assert_eq!(key_exchange_of(CipherSuite(0x000a)), KeyExchangeKind::Rsa);
        assert_eq!(key_exchange_of(CipherSuite(0x0003)), KeyExchangeKind::Rsa);
        assert_eq!(key_exchange_of(CipherSuite(0xc02f)), KeyExchangeKind::Ecdhe);
        assert_eq!(key_exchange_of(CipherSuite(0x0033)), KeyExchangeKind::Dhe);
        assert_eq!(key_exchange_of(CipherSuite(0x1301)), KeyExchangeKind::Tls13);
        assert_eq!(
            key_exchange_of(CipherSuite(0x7a7a)),
            KeyExchangeKind::Unknown
        );
    }
}
