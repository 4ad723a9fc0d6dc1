//! Hand-built event streams for the renderer tests: a full TLS 1.0
//! handshake with RSA key exchange as a passive observer would report it
//! (no keys, so protected records are shown by size), and a handshake that
//! the server refuses. Built from the wire types, so `raw` is the real
//! encoding of each message.

use std::net::SocketAddr;

use crate::event::{
    ConnId, ConnectionInfo, DataCount, Direction, Event, EventKind, FlowEvent, HandshakeKind,
    Message, MessageEvent, Note, NoteCode, Origin, Outcome, OutcomeResult, RecordInfo, Timestamp,
};
use crate::pki::{AltName, AltNameKind, CertSummary, KeyType};
use crate::wire::extensions::ServerName;
use crate::wire::handshake::{Certificate, ClientKeyExchange};
use crate::wire::{
    Alert, AlertDescription, ChangeCipherSpec, CipherSuite, ClientHello, CompressionMethod,
    ContentType, Extension, ExtensionBody, ExtensionType, HandshakeMessage, KeyExchangeKind,
    ProtocolVersion, Random, RecordHeader, ServerHello, ServerNameType, WireContext,
};

/// 2020-09-13 12:26:40 UTC.
pub const T0: i64 = 1_600_000_000;

/// Builds events with increasing `seq` and time.
pub struct Builder {
    pub events: Vec<Event>,
    conn: ConnId,
    micros: u32,
}

const C2S: Option<Direction> = Some(Direction::ClientToServer);
const S2C: Option<Direction> = Some(Direction::ServerToClient);

impl Builder {
    pub fn new(conn: ConnId) -> Self {
        Self {
            events: Vec::new(),
            conn,
            micros: 0,
        }
    }

    pub fn push(&mut self, dir: Option<Direction>, kind: EventKind) {
        self.micros += 1500;
        self.events.push(Event {
            seq: self.events.len() as u64 + 1,
            conn: self.conn,
            dir,
            origin: Origin::Observed,
            time: Some(Timestamp {
                secs: T0,
                nanos: self.micros * 1000,
            }),
            kind,
        });
    }

    pub fn connection(&mut self) {
        let client: SocketAddr = "192.0.2.10:49152".parse().unwrap();
        let server: SocketAddr = "192.0.2.1:443".parse().unwrap();
        self.push(
            None,
            EventKind::Connection(ConnectionInfo {
                client: Some(client),
                server: Some(server),
                tcp_handshake_seen: true,
            }),
        );
    }

    pub fn record(
        &mut self,
        dir: Option<Direction>,
        content_type: ContentType,
        length: u16,
        offset: u64,
    ) {
        self.push(
            dir,
            EventKind::Record(RecordInfo {
                header: RecordHeader {
                    content_type,
                    version: ProtocolVersion::TLSv1_0,
                    length,
                },
                protected: false,
                stream_offset: offset,
                sslv2: false,
            }),
        );
    }

    pub fn message(
        &mut self,
        dir: Option<Direction>,
        step: Option<u8>,
        message: Message,
        raw: Vec<u8>,
    ) {
        self.message_with(dir, step, message, raw, Vec::new(), Vec::new());
    }

    pub fn message_with(
        &mut self,
        dir: Option<Direction>,
        step: Option<u8>,
        message: Message,
        raw: Vec<u8>,
        notes: Vec<Note>,
        certificates: Vec<Result<CertSummary, String>>,
    ) {
        let protected = matches!(message, Message::Encrypted { .. });
        self.push(
            dir,
            EventKind::Message(Box::new(MessageEvent {
                step,
                message,
                raw,
                records: 1,
                protected,
                notes,
                certificates,
            })),
        );
    }

    pub fn handshake(&mut self, dir: Option<Direction>, step: u8, h: HandshakeMessage) {
        self.handshake_with(dir, step, h, Vec::new());
    }

    pub fn handshake_with(
        &mut self,
        dir: Option<Direction>,
        step: u8,
        h: HandshakeMessage,
        certificates: Vec<Result<CertSummary, String>>,
    ) {
        let cx = WireContext::new(ProtocolVersion::TLSv1_0, KeyExchangeKind::Rsa);
        let raw = h.to_bytes(&cx);
        let typ = h.typ();
        self.message_with(
            dir,
            Some(step),
            Message::Handshake { typ, parsed: Ok(h) },
            raw,
            Vec::new(),
            certificates,
        );
    }
}

pub fn client_hello() -> ClientHello {
    let mut random = [0x11u8; 32];
    random[..4].copy_from_slice(&(T0 as u32 - 5).to_be_bytes());
    ClientHello {
        client_version: ProtocolVersion::TLSv1_0,
        random: Random(random),
        session_id: Vec::new(),
        cipher_suites: vec![
            CipherSuite(0x0a0a),
            CipherSuite(0x002f),
            CipherSuite(0x000a),
            CipherSuite(0x00ff),
        ],
        compression_methods: vec![CompressionMethod::Null],
        extensions: Some(vec![
            Extension::from_body(&ExtensionBody::ServerName(vec![ServerName {
                name_type: ServerNameType::HostName,
                name: b"example.com".to_vec(),
            }])),
            Extension {
                typ: ExtensionType::SupportedGroups,
                data: vec![0, 3, 0, 29, 0],
            },
            Extension {
                typ: ExtensionType(0x4242),
                data: vec![1, 2],
            },
        ]),
    }
}

pub fn server_hello() -> ServerHello {
    ServerHello {
        server_version: ProtocolVersion::TLSv1_0,
        random: Random([0x7f; 32]),
        session_id: vec![0xab; 32],
        cipher_suite: CipherSuite(0x000a),
        compression_method: CompressionMethod::Null,
        extensions: Some(vec![Extension::from_body(
            &ExtensionBody::RenegotiationInfo(vec![]),
        )]),
    }
}

pub fn leaf() -> CertSummary {
    CertSummary {
        version: 3,
        subject: "CN=example.com".into(),
        subject_cn: Some("example.com".into()),
        issuer: "CN=Example CA,O=Example".into(),
        serial: "1234".into(),
        not_before: T0 - 86_400 * 30,
        not_after: T0 + 86_400 * 335,
        not_before_utc: "2020-08-14 12:26:40 UTC".into(),
        not_after_utc: "2021-08-14 12:26:40 UTC".into(),
        subject_alt_names: vec![AltName {
            kind: AltNameKind::Dns,
            value: "example.com".into(),
        }],
        key_type: KeyType::Rsa,
        key_bits: 1024,
        signature_algorithm: "sha256WithRSAEncryption".into(),
        signature_algorithm_oid: "1.2.840.113549.1.1.11".into(),
        sha256_fingerprint: "5e".repeat(32),
        sha1_fingerprint: "1a".repeat(20),
        self_signed: false,
        is_ca: false,
        key_usage: None,
        extended_key_usage: None,
    }
}

/// The classic handshake of HANDSHAKE.md, steps 1 to 10, then the client
/// closes: TLS 1.0, TLS_RSA_WITH_3DES_EDE_CBC_SHA, no keys.
pub fn tls10_rsa_handshake() -> Vec<Event> {
    let mut b = Builder::new(1);
    b.connection();
    b.record(C2S, ContentType::Handshake, 90, 0);
    b.handshake(C2S, 1, HandshakeMessage::ClientHello(client_hello()));
    b.record(S2C, ContentType::Handshake, 600, 0);
    b.handshake(S2C, 2, HandshakeMessage::ServerHello(server_hello()));
    b.push(
        S2C,
        EventKind::Flow(FlowEvent::Kind(HandshakeKind::default())),
    );
    b.handshake_with(
        S2C,
        2,
        HandshakeMessage::Certificate(Certificate::from_chain(vec![vec![0x30; 500]])),
        vec![Ok(leaf())],
    );
    b.handshake(S2C, 2, HandshakeMessage::ServerHelloDone);
    b.handshake(
        C2S,
        4,
        HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(
            vec![0x5a; 128],
            ProtocolVersion::TLSv1_0,
        )),
    );
    b.message(
        C2S,
        Some(8),
        Message::ChangeCipherSpec(Ok(ChangeCipherSpec)),
        vec![1],
    );
    let enc = |content_type, length| Message::Encrypted {
        content_type,
        length,
    };
    b.message(C2S, Some(8), enc(ContentType::Handshake, 40), vec![]);
    b.message(
        S2C,
        Some(9),
        Message::ChangeCipherSpec(Ok(ChangeCipherSpec)),
        vec![1],
    );
    b.message(S2C, Some(9), enc(ContentType::Handshake, 40), vec![]);
    b.message(C2S, Some(10), enc(ContentType::ApplicationData, 56), vec![]);
    for len in [1056, 1056, 344] {
        b.message(
            S2C,
            Some(10),
            enc(ContentType::ApplicationData, len),
            vec![],
        );
    }
    b.message(C2S, None, enc(ContentType::Alert, 24), vec![]);
    b.push(
        None,
        EventKind::Outcome(Outcome {
            version: Some(ProtocolVersion::TLSv1_0),
            cipher_suite: Some(CipherSuite(0x000a)),
            kind: Some(HandshakeKind::default()),
            handshakes: 1,
            client_to_server: DataCount {
                records: 1,
                bytes: 56,
            },
            server_to_client: DataCount {
                records: 3,
                bytes: 2456,
            },
            server_name: Some("example.com".into()),
            ..Outcome::empty(OutcomeResult::Ok)
        }),
    );
    b.events
}

/// A ClientHello the server refuses with a fatal handshake_failure.
pub fn refused_handshake(conn: ConnId) -> Vec<Event> {
    let mut b = Builder::new(conn);
    b.connection();
    b.handshake(C2S, 1, HandshakeMessage::ClientHello(client_hello()));
    let alert = Alert::fatal(AlertDescription::HandshakeFailure);
    b.message(S2C, None, Message::Alert(Ok(alert)), vec![2, 40]);
    b.push(
        None,
        EventKind::Outcome(Outcome {
            alert: Some((alert, Direction::ServerToClient)),
            reason: Some(Note::new(NoteCode::FatalAlert).with("alert", "handshake_failure")),
            ..Outcome::empty(OutcomeResult::Failed)
        }),
    );
    b.events
}
