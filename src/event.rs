//! The event stream: what producers (the engine, the capture observer) push
//! and what renderers consume. Events carry facts only; prose lives in
//! `report`.

/// Which way bytes flow on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }
    /// Stable snake_case id, as in the JSON contract.
    pub fn id(self) -> &'static str {
        match self {
            Self::ClientToServer => "client_to_server",
            Self::ServerToClient => "server_to_client",
        }
    }
}

/// A point in time, seconds and nanoseconds since the Unix epoch (capture
/// timestamps, or the injected clock of the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

use crate::pki::CertSummary;
use crate::wire::{
    Alert, ChangeCipherSpec, CipherSuite, ContentType, DecodeError, HandshakeMessage,
    HandshakeType, Heartbeat, ProtocolVersion, RecordHeader, SslV2ClientHello,
};
use std::net::SocketAddr;

use crate::crypto::keylog::Tls13Label;
use crate::crypto::keys::KeyMaterial;
use crate::crypto::secret::{MasterSecret, PreMasterSecret, SecretBytes};
use crate::record::protection::{RecordError, RecordFacts};

/// Connection number within one run: 1, 2, ... in order of appearance.
pub type ConnId = u32;

/// Who produced an event: our own engine sending or receiving, or the
/// passive observer watching a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Sent,
    Received,
    Observed,
}

/// One event. `seq` numbers events of a run from 1; `time` is the capture
/// timestamp or the engine's injected clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub conn: ConnId,
    pub dir: Option<Direction>,
    pub origin: Origin,
    pub time: Option<Timestamp>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A connection (or a TCP flow in a capture) begins.
    Connection(ConnectionInfo),
    /// A record header was read (shown with `-v`).
    Record(RecordInfo),
    /// A protocol message: handshake, CCS, alert, heartbeat, application
    /// data, or a protected record that could not be opened.
    Message(Box<MessageEvent>),
    /// The handshake's shape became known or changed.
    Flow(FlowEvent),
    /// A finding that is not tied to one message.
    Note(Note),
    /// What a decoder holding the secrets learnt: a session's secrets, and
    /// the crypto of each protected record it opened (shown with `-v`;
    /// secrets only with `--show-secrets`).
    Crypto(Box<CryptoEvent>),
    /// The connection is over: always its last event.
    Outcome(Outcome),
}

/// The crypto facts a decoder with the session's secrets adds.
#[derive(Clone, Debug, PartialEq)]
pub enum CryptoEvent {
    /// A protected record was opened, or failed to open; it follows the
    /// record's `Record` event.
    Record(RecordCrypto),
    /// The secrets of a handshake became known, and how.
    Secrets(Box<SessionSecrets>),
}

/// The per-record crypto of one protected record.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordCrypto {
    /// Offset of the record header in its direction's stream (the
    /// `stream_offset` of its `Record` event).
    pub stream_offset: u64,
    pub header: RecordHeader,
    /// The record's facts when it opened (sequence number, MAC and its
    /// verdict, IV, padding), or why it did not.
    pub result: Result<RecordFacts, RecordError>,
    /// Bytes of plaintext, when it opened.
    pub plaintext_length: Option<usize>,
}

/// Where a decoder found a session's master secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// A key log `CLIENT_RANDOM` line (a file, SSLKEYLOGFILE, or a pcapng
    /// Decryption Secrets Block).
    KeyLogMasterSecret,
    /// A key log `RSA` line: the pre-master secret, by its encryption.
    KeyLogPreMaster,
    /// The server's RSA private key decrypted ClientKeyExchange.
    ServerKey,
    /// A resumed session: the master secret learnt earlier in the capture,
    /// on connection `conn`.
    EarlierSession { conn: ConnId },
    /// TLS 1.3: the handshake and application traffic secrets from a key
    /// log.
    KeyLogTls13,
    /// This endpoint took part in the key exchange (connect, serve, demo).
    Negotiated,
}

impl SecretSource {
    /// Stable snake_case id, as in the JSON contract.
    pub fn id(self) -> &'static str {
        match self {
            Self::KeyLogMasterSecret => "key_log_client_random",
            Self::KeyLogPreMaster => "key_log_rsa",
            Self::ServerKey => "server_key",
            Self::EarlierSession { .. } => "earlier_session",
            Self::KeyLogTls13 => "key_log_tls13",
            Self::Negotiated => "negotiated",
        }
    }
}

/// A handshake's secrets. `Debug` of every secret is redacted; renderers
/// show them only when asked (`--show-secrets`).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSecrets {
    pub source: SecretSource,
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
    pub version: ProtocolVersion,
    pub cipher_suite: CipherSuite,
    /// RFC 7627 was negotiated (the master secret hashes the handshake).
    pub extended_master_secret: bool,
    /// RFC 7366 was negotiated (and applies: CBC suites only).
    pub encrypt_then_mac: bool,
    /// Known when it came from the server key or a key log `RSA` line.
    pub pre_master: Option<PreMasterSecret>,
    /// SSL 3.0 to TLS 1.2.
    pub master_secret: Option<MasterSecret>,
    /// The key block, cut into MAC keys, write keys and IVs (after the
    /// export derivation for export suites).
    pub keys: Option<KeyMaterial>,
    /// TLS 1.3: the traffic secrets the key log gave.
    pub tls13_secrets: Vec<(Tls13Label, SecretBytes)>,
}

/// Where a connection runs between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    /// For captures: whether the TCP handshake was seen (otherwise the
    /// capture started mid-connection and roles were inferred).
    pub tcp_handshake_seen: bool,
}

/// A record as it crossed the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    pub header: RecordHeader,
    /// Sent under a negotiated cipher spec (after ChangeCipherSpec).
    pub protected: bool,
    /// Offset of the record header in its direction's byte stream.
    pub stream_offset: u64,
    /// An SSL 2.0-format record (two-byte header): `header` is synthesised.
    pub sslv2: bool,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEvent {
    /// The step of HANDSHAKE.md's numbered list this message belongs to.
    pub step: Option<u8>,
    pub message: Message,
    /// The exact bytes: for a handshake message its header and body; for a
    /// record-level message the record's fragment. Empty for records whose
    /// content was not kept (application data when not asked for).
    pub raw: Vec<u8>,
    /// How many records carried this message (more than one: fragmented).
    pub records: u32,
    /// Whether it travelled protected (after ChangeCipherSpec).
    pub protected: bool,
    /// Findings about this very message (decode errors, unexpected order...).
    pub notes: Vec<Note>,
    /// Summaries of the certificates of a Certificate message, leaf first;
    /// an entry is `Err` with a reason when it did not parse.
    pub certificates: Vec<Result<CertSummary, String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Handshake {
        typ: HandshakeType,
        parsed: Result<HandshakeMessage, DecodeError>,
    },
    SslV2ClientHello(Result<SslV2ClientHello, DecodeError>),
    ChangeCipherSpec(Result<ChangeCipherSpec, DecodeError>),
    Alert(Result<Alert, DecodeError>),
    Heartbeat(Result<Heartbeat, DecodeError>),
    /// Application data: its length, and its plaintext when it was
    /// decrypted and asked for.
    ApplicationData {
        length: usize,
        plaintext: Option<Vec<u8>>,
    },
    /// A protected record that was not (or could not be) decrypted, named
    /// by its outer content type: handshake (after CCS, presumably
    /// Finished), alert, or a TLS 1.3 record.
    Encrypted {
        content_type: ContentType,
        length: usize,
    },
    /// A record of a content type that has no meaning here.
    UnknownRecord {
        content_type: ContentType,
        length: usize,
    },
}

impl Message {
    /// The stable snake_case name used in JSON (`client_hello`,
    /// `change_cipher_spec`, `encrypted_handshake`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Handshake { typ, .. } => typ.name().unwrap_or("unknown_handshake"),
            Self::SslV2ClientHello(_) => "client_hello",
            Self::ChangeCipherSpec(_) => "change_cipher_spec",
            Self::Alert(_) => "alert",
            Self::Heartbeat(_) => "heartbeat",
            Self::ApplicationData { .. } => "application_data",
            Self::Encrypted { content_type, .. } => match *content_type {
                ContentType::Handshake => "encrypted_handshake",
                ContentType::Alert => "encrypted_alert",
                ContentType::ApplicationData => "application_data",
                ContentType::ChangeCipherSpec => "change_cipher_spec",
                ContentType::Heartbeat => "encrypted_heartbeat",
                _ => "encrypted_record",
            },
            Self::UnknownRecord { .. } => "unknown_record",
        }
    }

    /// The record content type this message travels in.
    pub fn content_type(&self) -> ContentType {
        match self {
            Self::Handshake { .. } | Self::SslV2ClientHello(_) => ContentType::Handshake,
            Self::ChangeCipherSpec(_) => ContentType::ChangeCipherSpec,
            Self::Alert(_) => ContentType::Alert,
            Self::Heartbeat(_) => ContentType::Heartbeat,
            Self::ApplicationData { .. } => ContentType::ApplicationData,
            Self::Encrypted { content_type, .. } | Self::UnknownRecord { content_type, .. } => {
                *content_type
            }
        }
    }

    /// The parse error, if this message did not decode.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match self {
            Self::Handshake { parsed: Err(e), .. }
            | Self::SslV2ClientHello(Err(e))
            | Self::ChangeCipherSpec(Err(e))
            | Self::Alert(Err(e))
            | Self::Heartbeat(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// The shape of a handshake (the s2n-style handshake kinds of
/// ARCHITECTURE.md), as far as it is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HandshakeKind {
    /// The server resumed a session: no Certificate, no key exchange.
    pub resumed: bool,
    /// The server asked for a client certificate.
    pub client_auth: bool,
    /// ... and the client had none (empty Certificate, or SSL 3.0's
    /// no_certificate alert).
    pub no_client_cert: bool,
    /// A ServerKeyExchange was sent (ephemeral or export key exchange).
    pub server_key_exchange: bool,
    /// TLS 1.3 handshake.
    pub tls13: bool,
    /// TLS 1.3: the server asked the client to retry.
    pub hello_retry: bool,
    /// This is a renegotiation (a handshake on an established connection).
    pub renegotiation: bool,
    /// The suite's key exchange is anonymous: the server sends no
    /// certificate.
    pub anonymous: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FlowEvent {
    /// The kind of the handshake now in progress became known (after
    /// ServerHello) or gained a flag (CertificateRequest...).
    Kind(HandshakeKind),
    /// A new handshake began on an established connection (number 2, 3 ...).
    Renegotiation { number: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// A finding, with a stable code and typed parameters. The renderers hold
/// the prose for each code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub code: NoteCode,
    pub severity: Severity,
    pub params: Vec<(&'static str, NoteValue)>,
}

impl Note {
    pub fn new(code: NoteCode) -> Self {
        Self {
            code,
            severity: code.default_severity(),
            params: Vec::new(),
        }
    }
    pub fn with(mut self, key: &'static str, value: impl Into<NoteValue>) -> Self {
        self.params.push((key, value.into()));
        self
    }
    pub fn param(&self, key: &str) -> Option<&NoteValue> {
        self.params.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoteValue {
    U64(u64),
    Str(String),
    Bytes(Vec<u8>),
}

impl From<u64> for NoteValue {
    fn from(v: u64) -> Self {
        Self::U64(v)
    }
}
impl From<usize> for NoteValue {
    fn from(v: usize) -> Self {
        Self::U64(v as u64)
    }
}
impl From<u32> for NoteValue {
    fn from(v: u32) -> Self {
        Self::U64(v.into())
    }
}
impl From<u16> for NoteValue {
    fn from(v: u16) -> Self {
        Self::U64(v.into())
    }
}
impl From<String> for NoteValue {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<&str> for NoteValue {
    fn from(v: &str) -> Self {
        Self::Str(v.to_string())
    }
}
impl From<Vec<u8>> for NoteValue {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

macro_rules! note_codes {
    ($( $(#[$m:meta])* $variant:ident => $id:literal, $sev:ident; )*) => {
        /// Stable identifiers of findings; `id()` is the snake_case form
        /// used in JSON, and the key of the renderers' description table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum NoteCode { $( $(#[$m])* $variant, )* }

        impl NoteCode {
            pub const ALL: &'static [NoteCode] = &[ $( NoteCode::$variant ),* ];
            pub fn id(self) -> &'static str {
                match self { $( Self::$variant => $id, )* }
            }
            pub fn default_severity(self) -> Severity {
                match self { $( Self::$variant => Severity::$sev, )* }
            }
        }
    };
}

note_codes! {
    // -- capture and TCP --
    /// TCP bytes missing in one direction (`missing`: byte count).
    TcpGap => "tcp_gap", Warning;
    /// The capture ended mid-connection.
    CaptureEndedMidConnection => "capture_ended_mid_connection", Info;
    /// The TCP connection was reset.
    TcpReset => "tcp_reset", Warning;
    /// The capture started after the TCP handshake: roles were inferred.
    MidStreamStart => "mid_stream_start", Info;
    // -- records --
    /// Bytes that do not form a valid record: the stream lost record
    /// synchronisation and the rest of this direction is not parsed.
    RecordDesync => "record_desync", Error;
    /// A record longer than the protocol allows (`length`).
    RecordOverflow => "record_overflow", Error;
    /// The stream ended inside a record (`missing`: bytes).
    TruncatedRecord => "truncated_record", Warning;
    /// The record version differs from the negotiated one.
    RecordVersionMismatch => "record_version_mismatch", Info;
    /// An empty record of a type that must not be empty.
    EmptyRecord => "empty_record", Warning;
    // -- messages --
    /// A message did not decode (`error`).
    DecodeFailed => "decode_failed", Error;
    /// A message arrived where the handshake flow does not allow it
    /// (`expected`, `got`).
    UnexpectedMessage => "unexpected_message", Error;
    /// A handshake message was interleaved with another content type.
    InterleavedHandshake => "interleaved_handshake", Warning;
    /// A handshake message was left incomplete at the end of the stream.
    IncompleteHandshakeMessage => "incomplete_handshake_message", Warning;
    /// The server resumed the session the client offered.
    SessionResumed => "session_resumed", Info;
    /// The ServerHello's random carries the TLS 1.3 downgrade sentinel.
    DowngradeSentinel => "downgrade_sentinel", Warning;
    /// The client offered TLS_FALLBACK_SCSV.
    FallbackScsv => "fallback_scsv", Info;
    /// Neither renegotiation_info nor the SCSV: RFC 5746 not in use.
    NoSecureRenegotiation => "no_secure_renegotiation", Warning;
    /// The Heartbeat claims more payload than it carries (Heartbleed probe).
    HeartbleedProbe => "heartbleed_probe", Error;
    /// A session ID longer than 32 bytes, or similar field oddities.
    /// TLS 1.3: what follows ServerHello is encrypted.
    Tls13Encrypted => "tls13_encrypted", Info;
    /// Protected records are shown by size only: no keys for this session
    /// (`reason` when secrets were given but could not serve).
    NotDecrypted => "not_decrypted", Info;
    // -- decryption (a decoder with keys) --
    /// No `--key` matches the server's certificate (`subject`).
    KeyMismatch => "key_mismatch", Warning;
    /// Secrets were given, but none for this session (`reason`,
    /// `client_random`).
    NoSecretForSession => "no_secret_for_session", Warning;
    /// The server key matches, but the ClientKeyExchange did not decrypt
    /// to a valid pre-master secret (`reason`).
    PreMasterInvalid => "pre_master_invalid", Warning;
    /// A Finished message's verify_data was recomputed and matches.
    FinishedVerified => "finished_verified", Info;
    /// A Finished message's verify_data does not match the transcript
    /// (`expected`, `got`).
    FinishedMismatch => "finished_mismatch", Error;
    /// A protected record failed to open (`error`, `seq`): a wrong key,
    /// or a record altered in flight.
    BadRecordMac => "bad_record_mac", Error;
    // -- engine --
    /// Step 3/6: the peer's certificate chain was accepted by the verifier.
    CertificateVerified => "certificate_verified", Info;
    /// Step 3/6: the peer's certificate was refused (`reason`, `alert`;
    /// `insecure` = 1 when the handshake went on anyway).
    CertificateRejected => "certificate_rejected", Error;
    /// No verifier was configured: the peer's certificate was not judged.
    CertificateNotVerified => "certificate_not_verified", Warning;
    /// The handshake failed on our side (`error`: stable id, `detail`).
    HandshakeFailed => "handshake_failed", Error;
    // -- policy (added by the analyzer) --
    Ssl3Negotiated => "ssl3_negotiated", Warning;
    WeakVersion => "weak_version", Warning;
    ExportCipher => "export_cipher", Warning;
    Rc4Cipher => "rc4_cipher", Warning;
    NullCipher => "null_cipher", Warning;
    DesCipher => "des_cipher", Warning;
    TripleDesCipher => "triple_des_cipher", Info;
    AnonymousKeyExchange => "anonymous_key_exchange", Warning;
    DeflateCompression => "deflate_compression", Warning;
    ShortRsaKey => "short_rsa_key", Warning;
    CertificateExpired => "certificate_expired", Warning;
    CertificateNotYetValid => "certificate_not_yet_valid", Warning;
    SelfSignedCertificate => "self_signed_certificate", Info;
    // -- outcome --
    /// The peer ended the handshake with a fatal alert.
    FatalAlert => "fatal_alert", Error;
    /// The conversation ended before the handshake completed.
    HandshakeIncomplete => "handshake_incomplete", Warning;
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeResult {
    /// The handshake completed.
    Ok,
    /// It ended with a fatal alert or a protocol failure.
    Failed,
    /// It stopped before completing (capture ended, connection closed).
    Incomplete,
}

impl OutcomeResult {
    pub fn id(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Incomplete => "incomplete",
        }
    }
}

/// Bytes and records of application data in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DataCount {
    pub records: u64,
    pub bytes: u64,
}

/// The last event of every connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub result: OutcomeResult,
    pub version: Option<ProtocolVersion>,
    pub cipher_suite: Option<CipherSuite>,
    pub resumed: bool,
    pub kind: Option<HandshakeKind>,
    /// The alert that ended the connection, and who sent it.
    pub alert: Option<(Alert, Direction)>,
    /// Whether protected records were decrypted.
    pub decrypted: bool,
    /// Whether both Finished messages were checked and correct (`None`:
    /// not checked).
    pub finished_verified: Option<bool>,
    /// Number of handshakes on the connection (more than 1: renegotiated).
    pub handshakes: u32,
    pub client_to_server: DataCount,
    pub server_to_client: DataCount,
    pub server_name: Option<String>,
    /// Why the result is not `Ok`, when there is a single reason.
    pub reason: Option<Note>,
}

impl Outcome {
    pub fn empty(result: OutcomeResult) -> Self {
        Self {
            result,
            version: None,
            cipher_suite: None,
            resumed: false,
            kind: None,
            alert: None,
            decrypted: false,
            finished_verified: None,
            handshakes: 0,
            client_to_server: DataCount::default(),
            server_to_client: DataCount::default(),
            server_name: None,
            reason: None,
        }
    }
}

/// The per-record events: a decoder emits one of each for every record of
/// a capture, which on small records costs about as much as rendering
/// what is shown, so a producer may leave out those no sink uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordDetail {
    /// [`EventKind::Record`]: each record's header.
    Headers,
    /// [`CryptoEvent::Record`]: how each protected record was opened.
    Crypto,
}

/// Where producers push events as they happen.
pub trait EventSink {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()>;
    /// Whether this sink uses `detail` events at all. A producer may ask
    /// once, before its first event, and then not emit those the answer
    /// was no for (their sequence numbers are still spent, so the other
    /// events' numbers do not depend on who listens). A sink that wraps
    /// others answers for them.
    fn wants(&self, detail: RecordDetail) -> bool {
        let _ = detail;
        true
    }
    /// The producer is about to wait (for the network, say): make what was
    /// emitted so far visible. Sinks that write may buffer between
    /// flushes, so that a handshake costs a few writes, not one per line.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps every event (tests).
#[derive(Default, Debug)]
pub struct VecSink(pub Vec<Event>);

impl EventSink for VecSink {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()> {
        self.0.push(ev.clone());
        Ok(())
    }
}

/// Sends every event to several sinks in turn.
pub struct Tee<'a>(pub Vec<&'a mut dyn EventSink>);

impl EventSink for Tee<'_> {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()> {
        for s in self.0.iter_mut() {
            s.emit(ev)?;
        }
        Ok(())
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        self.0.iter().any(|s| s.wants(detail))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        for s in self.0.iter_mut() {
            s.flush()?;
        }
        Ok(())
    }
}

impl<S: EventSink + ?Sized> EventSink for &mut S {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()> {
        (**self).emit(ev)
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        (**self).wants(detail)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (**self).flush()
    }
}
