//! The passive observer: the engine's twin for captures. It is fed the
//! reassembled byte streams of TCP connections (from `capture::reassembly`),
//! finds TLS by content on any port, follows each conversation in both
//! directions with the same record deframer, codec and flow tables as the
//! engine, and pushes the same events.
//!
//! It never fails on protocol errors: a violation becomes a note, and a
//! direction that lost record synchronisation stays so (sticky). After
//! ChangeCipherSpec, protected records are shown by type and size until
//! decryption exists (an encrypted handshake record right after CCS is,
//! presumably, Finished).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;

use crate::engine::flow::{FlowCursor, FlowMsg, Writer};
use crate::event::*;
use crate::pki;
use crate::record::deframer::{is_control, HandshakeJoiner, RecordDeframer, RecordItem};
use crate::wire::record::{classify_stream_start, StreamStart};
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
}

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
}

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

struct Conn {
    conn: ConnId,
    client: SocketAddr,
    server: SocketAddr,
    tcp_handshake_seen: bool,
    detect: Detect,
    dirs: [DirState; 2],
    hs: HandshakeState,
    last_time: Timestamp,
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
    flows: HashMap<FlowKey, Box<Conn>>,
    next_conn: ConnId,
    seq: u64,
    stats: ObserverStats,
    error: Option<io::Error>,
}

impl<'s> Observer<'s> {
    pub fn new(sink: &'s mut dyn EventSink, filter: ObserverFilter) -> Self {
        Self {
            sink,
            filter,
            flows: HashMap::new(),
            next_conn: 1,
            seq: 0,
            stats: ObserverStats::default(),
            error: None,
        }
    }

    pub fn stats(&self) -> ObserverStats {
        self.stats
    }

    /// The output error that stopped the capture, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// A TCP connection appeared.
    pub fn open(&mut self, flow: FlowKey, client: SocketAddr, server: SocketAddr, tcp_handshake_seen: bool, at: Timestamp) {
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
            }),
        );
    }

    /// Bytes of one direction, in stream order.
    pub fn data(&mut self, flow: FlowKey, dir: Direction, at: Timestamp, bytes: &[u8]) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        c.last_time = at;
        let r = self.data_inner(&mut c, dir, at, bytes);
        self.flows.insert(flow, c);
        r
    }

    fn data_inner(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, bytes: &[u8]) -> io::Result<()> {
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

    fn feed_records(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, bytes: &[u8]) -> io::Result<()> {
        // Records are collected first, then processed, so the deframer's
        // borrow ends before the handlers need the whole connection.
        let mut items: Vec<OwnedItem> = Vec::new();
        let protected = c.dirs[di(dir)].protected;
        let d = &mut c.dirs[di(dir)];
        let mut keep = |h: &RecordHeader| is_control(h.content_type) && !(protected && h.content_type == ContentType::ApplicationData);
        d.deframer.feed(bytes, &mut keep, &mut |item| match item {
            RecordItem::Record { header, offset, body } => {
                items.push(OwnedItem::Record {
                    header,
                    offset,
                    body: body.map(|b| b.to_vec()),
                });
            }
            RecordItem::SslV2ClientHello { offset, body } => items.push(OwnedItem::V2 {
                offset,
                body: body.to_vec(),
            }),
            RecordItem::Desync { offset, bytes } => items.push(OwnedItem::Desync { offset, bytes }),
        });
        for item in items {
            self.on_record(c, dir, at, item)?;
        }
        Ok(())
    }

    fn on_record(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, item: OwnedItem) -> io::Result<()> {
        match item {
            OwnedItem::Desync { offset, bytes } => {
                let n = Note::new(NoteCode::RecordDesync)
                    .with("offset", offset)
                    .with("bytes", bytes.to_vec());
                c.hs.failed = true;
                c.hs.failure.get_or_insert(n.clone());
                self.note(c, Some(dir), at, n)
            }
            OwnedItem::V2 { offset, body } => {
                let header = RecordHeader {
                    content_type: ContentType::Handshake,
                    version: ProtocolVersion::SSLv2,
                    length: body.len() as u16,
                };
                self.emit(
                    c,
                    Some(dir),
                    Origin::Observed,
                    at,
                    EventKind::Record(RecordInfo {
                        header,
                        protected: false,
                        stream_offset: offset,
                        sslv2: true,
                    }),
                )?;
                let parsed = SslV2ClientHello::from_bytes(&body, "SSLv2 CLIENT-HELLO");
                let mut notes = Vec::new();
                let step = self.advance(c, dir, FlowMsg::ClientHello, &mut notes);
                if let Ok(h) = &parsed {
                    c.hs.client_session_id = h.session_id.clone();
                    c.hs.handshakes += 1;
                }
                if let Err(e) = &parsed {
                    notes.push(decode_note(e));
                    c.hs.failed = true;
                }
                self.message(c, dir, at, Message::SslV2ClientHello(parsed), body, 1, false, step, notes, vec![])
            }
            OwnedItem::Record { header, offset, body } => {
                let protected = c.dirs[di(dir)].protected;
                self.emit(
                    c,
                    Some(dir),
                    Origin::Observed,
                    at,
                    EventKind::Record(RecordInfo {
                        header,
                        protected,
                        stream_offset: offset,
                        sslv2: false,
                    }),
                )?;
                let len = header.length as usize;
                let ct = header.content_type;
                if ct != ContentType::Handshake && c.dirs[di(dir)].joiner.has_partial() && !c.dirs[di(dir)].interleave_noted {
                    c.dirs[di(dir)].interleave_noted = true;
                    self.note(c, Some(dir), at, Note::new(NoteCode::InterleavedHandshake).with("content_type", ct.0 as u64))?;
                }
                // TLS 1.3: after ServerHello every record but CCS is protected
                // (RFC 8446 §5); the client's turn comes with its first
                // application_data-typed record.
                let tls13_protected = c.hs.tls13 && ct == ContentType::ApplicationData;
                if (protected || tls13_protected) && ct != ContentType::ChangeCipherSpec {
                    return self.on_protected_record(c, dir, at, ct, len);
                }
                let body = body.unwrap_or_default();
                match ct {
                    ContentType::Handshake => self.on_handshake_record(c, dir, at, &body),
                    ContentType::ChangeCipherSpec => self.on_ccs(c, dir, at, body),
                    ContentType::Alert => self.on_alert(c, dir, at, body),
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
                        self.message(c, dir, at, Message::Heartbeat(parsed), body, 1, false, None, notes, vec![])
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
                        false,
                        None,
                        vec![],
                        vec![],
                    ),
                }
            }
        }
    }

    fn on_protected_record(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, ct: ContentType, len: usize) -> io::Result<()> {
        let d = &mut c.dirs[di(dir)];
        d.records_after_protection += 1;
        let mut step = None;
        let mut notes = Vec::new();
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
        self.message(c, dir, at, message, Vec::new(), 1, true, step, notes, vec![])
    }

    fn on_handshake_record(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, body: &[u8]) -> io::Result<()> {
        if body.is_empty() {
            return self.note(c, Some(dir), at, Note::new(NoteCode::EmptyRecord).with("content_type", 22u64));
        }
        let mut joined: Vec<(HandshakeType, Vec<u8>, u32)> = Vec::new();
        let res = c.dirs[di(dir)]
            .joiner
            .push_record(body, &mut |m| joined.push((m.typ, m.raw.to_vec(), m.records)));
        for (typ, raw, records) in joined {
            self.on_handshake_message(c, dir, at, typ, raw, records)?;
        }
        if let Err(e) = res {
            let n = Note::new(NoteCode::DecodeFailed).with(
                "error",
                format!("{}: announced length {} is beyond any real message", typ_name(e.typ), e.length),
            );
            c.hs.failed = true;
            c.hs.failure.get_or_insert(n.clone());
            c.dirs[di(dir)].deframer.lose_sync();
            self.note(c, Some(dir), at, n)?;
        }
        Ok(())
    }

    fn on_handshake_message(
        &mut self,
        c: &mut Conn,
        dir: Direction,
        at: Timestamp,
        typ: HandshakeType,
        raw: Vec<u8>,
        records: u32,
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
        if typ == HandshakeType::ClientHello && c.hs.handshakes > 0 && dir == Direction::ClientToServer {
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
                c.hs.cursor.kind.anonymous = crate::wire::suites::lookup(sh.cipher_suite.0).is_some_and(|s| s.is_anonymous());
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
                    .map(|der| pki::summarize(der).map_err(|e| e.to_string()))
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
        let kind_before = c.hs.cursor.kind;
        let step = match (flow_msg, typ) {
            (_, HandshakeType::HelloRequest) => Some(11),
            (Some(m), _) if !c.hs.tls13 || matches!(m, FlowMsg::ClientHello | FlowMsg::ServerHello) => {
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
            self.emit(c, Some(dir), Origin::Observed, at, EventKind::Flow(FlowEvent::Kind(c.hs.cursor.kind)))?;
        }
        let kind_now = c.hs.cursor.kind;
        self.message(c, dir, at, Message::Handshake { typ, parsed }, raw, records, false, step, notes, certificates)?;
        if typ != HandshakeType::ServerHello && kind_now != kind_before {
            self.emit(c, Some(dir), Origin::Observed, at, EventKind::Flow(FlowEvent::Kind(kind_now)))?;
        }
        Ok(())
    }

    fn on_ccs(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, body: Vec<u8>) -> io::Result<()> {
        let parsed = ChangeCipherSpec::from_bytes(&body, "ChangeCipherSpec");
        let mut notes = Vec::new();
        let step = if c.hs.tls13 {
            // RFC 8446 §5: a compatibility CCS, which changes nothing.
            None
        } else {
            c.dirs[di(dir)].protected = true;
            c.dirs[di(dir)].finished = false;
            self.advance(c, dir, FlowMsg::ChangeCipherSpec, &mut notes)
        };
        if let Err(e) = &parsed {
            notes.push(decode_note(e));
        }
        self.message(c, dir, at, Message::ChangeCipherSpec(parsed), body, 1, false, step, notes, vec![])
    }

    fn on_alert(&mut self, c: &mut Conn, dir: Direction, at: Timestamp, body: Vec<u8>) -> io::Result<()> {
        let parsed = Alert::from_bytes(&body, "Alert");
        let mut notes = Vec::new();
        let mut step = c.hs.cursor.current_step(writer_of(dir));
        match &parsed {
            Ok(a) if a.description == AlertDescription::NoCertificate
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
        self.message(c, dir, at, Message::Alert(parsed), body, 1, false, step, notes, vec![])
    }

    /// Moves the flow on; an out-of-place message becomes a note.
    fn advance(&mut self, c: &mut Conn, dir: Direction, m: FlowMsg, notes: &mut Vec<Note>) -> Option<u8> {
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
    pub fn gap(&mut self, flow: FlowKey, dir: Direction, at: Timestamp, missing: u64) -> io::Result<()> {
        let Some(mut c) = self.flows.remove(&flow) else {
            return Ok(());
        };
        let r = if c.detect == Detect::Tls {
            c.dirs[di(dir)].deframer.lose_sync();
            self.note(&mut c, Some(dir), at, Note::new(NoteCode::TcpGap).with("missing", missing))
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
    pub fn close(&mut self, flow: FlowKey, at: Timestamp, reset: bool, end_of_capture: bool) -> io::Result<()> {
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
                    Note::new(NoteCode::IncompleteHandshakeMessage).with("have", d.joiner.partial_len()),
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
        Ok((
            result,
            Some(Outcome {
                result,
                version: c.hs.version,
                cipher_suite: c.hs.suite,
                resumed: c.hs.resumed || kind.resumed,
                kind: (c.hs.handshakes > 0).then_some(kind),
                alert: c.hs.alert,
                decrypted: false,
                finished_verified: None,
                handshakes: c.hs.handshakes,
                client_to_server: c.dirs[0].data,
                server_to_client: c.dirs[1].data,
                server_name: c.hs.server_name.clone(),
                reason: reason.or_else(|| protected_any.then(|| Note::new(NoteCode::NotDecrypted))),
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

    fn note(&mut self, c: &mut Conn, dir: Option<Direction>, at: Timestamp, n: Note) -> io::Result<()> {
        self.emit(c, dir, Origin::Observed, at, EventKind::Note(n))
    }

    fn emit(&mut self, c: &mut Conn, dir: Option<Direction>, origin: Origin, at: Timestamp, kind: EventKind) -> io::Result<()> {
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
            E::Data { flow, dir, ts, bytes } => self.data(flow, dir, ts, bytes),
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
            E::KeyLog { .. } => Ok(()),
        };
        match r {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                std::ops::ControlFlow::Break(())
            }
        }
    }
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

enum OwnedItem {
    Record {
        header: RecordHeader,
        offset: u64,
        body: Option<Vec<u8>>,
    },
    V2 {
        offset: u64,
        body: Vec<u8>,
    },
    Desync {
        offset: u64,
        bytes: [u8; 5],
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::handshake::{Certificate, ClientKeyExchange, Finished};
    use crate::wire::hello::Random;

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
        m.to_bytes(&WireContext::new(ProtocolVersion::TLSv1_0, KeyExchangeKind::Rsa))
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
        flight.extend(hs(HandshakeMessage::Certificate(Certificate::from_chain(vec![vec![
            0x30, 0x03, 1, 2, 3,
        ]]))));
        flight.extend(hs(HandshakeMessage::ServerHelloDone));
        let cke = hs(HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(vec![9; 256], V)));
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
            assert_eq!(o.client_to_server, DataCount { records: 1, bytes: 100 });
            assert_eq!(o.server_to_client, DataCount { records: 1, bytes: 200 });
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
            (C2S, rec(ContentType::Handshake, V, &client_hello(sid.clone()))),
            (S2C, rec(ContentType::Handshake, V, &server_hello(sid))),
            (S2C, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (S2C, rec(ContentType::Handshake, V, &[0xee; 48])),
            (C2S, rec(ContentType::ChangeCipherSpec, V, &[1])),
            (C2S, rec(ContentType::Handshake, V, &[0xee; 48])),
        ];
        let (ev, _) = observe(&chunks, 1000);
        let steps: Vec<_> = names(&ev).iter().map(|x| x.2).collect();
        assert_eq!(steps, [Some(1), Some(2), Some(9), Some(9), Some(8), Some(8)]);
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
        assert_eq!(o.alert.unwrap().0.description, AlertDescription::HandshakeFailure);
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
            (S2C, rec(ContentType::Handshake, V, &hs(HandshakeMessage::ServerHelloDone))),
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
        assert_eq!(m.notes[0].param("expected"), Some(&NoteValue::Str("server_hello".into())));
    }

    #[test]
    fn finished_message_decodes_as_finished_when_plaintext() {
        let _ = Finished { verify_data: vec![] };
    }

    #[test]
    fn suite_key_exchange_from_registry() {
        assert_eq!(key_exchange_of(CipherSuite(0x000a)), KeyExchangeKind::Rsa);
        assert_eq!(key_exchange_of(CipherSuite(0x0003)), KeyExchangeKind::Rsa);
        assert_eq!(key_exchange_of(CipherSuite(0xc02f)), KeyExchangeKind::Ecdhe);
        assert_eq!(key_exchange_of(CipherSuite(0x0033)), KeyExchangeKind::Dhe);
        assert_eq!(key_exchange_of(CipherSuite(0x1301)), KeyExchangeKind::Tls13);
        assert_eq!(key_exchange_of(CipherSuite(0x7a7a)), KeyExchangeKind::Unknown);
    }
}
