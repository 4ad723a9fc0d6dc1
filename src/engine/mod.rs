//! The sans-IO handshake engine, client and server, SSL 3.0 to TLS 1.2
//! with RSA key exchange.
//!
//! It is fed bytes ([`Engine::feed`]) and hands back bytes to send
//! ([`Engine::take_output`]); it pushes events into a sink as things
//! happen. The CLI owns the socket; tests run two engines over an
//! in-memory pipe. The message order comes from the tables of [`flow`]:
//! the engine writes the next step when it is its own and waits for the
//! peer's otherwise, checking every received message against the table
//! (anything else is an `unexpected_message`). One handler per message, in
//! RFC order, lives in `client.rs` and `server.rs`; the one mapping from
//! errors to alerts is in [`error`].

pub mod error;
pub mod flow;
pub mod session;

mod client;
mod keys;
mod server;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use crate::event::*;
use crate::record::deframer::{HandshakeJoiner, RecordDeframer, RecordItem};
use crate::record::protection::RecordProtection;
use crate::wire::record::MAX_PLAINTEXT;
use crate::wire::*;
pub use error::EngineError;
use flow::{FlowCursor, FlowMsg, Writer};
pub use keys::{implemented_suites, suite_usable, supported_suites};
pub use session::{Session, SessionCache};

/// Which endpoint the engine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

impl Role {
    fn writer(self) -> Writer {
        match self {
            Self::Client => Writer::Client,
            Self::Server => Writer::Server,
        }
    }
    fn peer(self) -> Writer {
        match self {
            Self::Client => Writer::Server,
            Self::Server => Writer::Client,
        }
    }
    /// The direction of what this endpoint sends.
    fn sending(self) -> Direction {
        self.writer().direction()
    }
}

/// A certificate chain (DER, leaf first) and its RSA private key.
#[derive(Clone)]
pub struct Credentials {
    pub chain: Vec<Vec<u8>>,
    pub key: rsa::RsaPrivateKey,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ {} certificates, key <redacted> }}",
            self.chain.len()
        )
    }
}

/// Whether the server asks for a client certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    /// Ask; go on without one.
    Request,
    /// Ask; refuse a client without one.
    Require,
}

/// Step 3 (client) and 6 (server): judging the peer's certificate chain.
/// Returns the alert to send and a reason when the chain is refused.
pub trait CertVerifier: Send + Sync {
    fn verify(
        &self,
        chain: &[Vec<u8>],
        server_name: Option<&str>,
        now: i64,
    ) -> Result<(), (AlertDescription, String)>;
}

/// Everything an engine needs to know. Randomness and the clock are
/// injected so tests and golden outputs are deterministic.
pub struct EngineConfig {
    pub role: Role,
    pub conn: ConnId,
    pub min_version: ProtocolVersion,
    pub max_version: ProtocolVersion,
    /// Suites in order of preference.
    pub cipher_suites: Vec<CipherSuite>,
    /// Client: the host name for server_name (never an IP literal).
    pub server_name: Option<String>,
    /// Client: the name (or IP address) the server's certificate must
    /// match; defaults to `server_name`.
    pub verify_name: Option<String>,
    /// Server: its certificate; client: the certificate to present when asked.
    pub credentials: Option<Arc<Credentials>>,
    pub client_auth: ClientAuth,
    /// Judges the peer's chain (client: the server's; server: the client's).
    pub verifier: Option<Arc<dyn CertVerifier>>,
    /// Show the verdict but go on when the peer's certificate is refused.
    pub insecure: bool,
    /// Server: where sessions are kept for resumption.
    pub session_cache: Option<Arc<Mutex<SessionCache>>>,
    /// Client: a session to offer for resumption.
    pub resume: Option<Session>,
    /// Offer / accept extended master secret (RFC 7627).
    pub extended_master_secret: bool,
    /// Send renegotiation_info / the SCSV (RFC 5746).
    pub secure_renegotiation: bool,
    /// Client: add TLS_FALLBACK_SCSV (RFC 7507).
    pub fallback_scsv: bool,
    /// Accept renegotiation requested by the peer (only with RFC 5746).
    pub allow_renegotiation: bool,
    pub rng: Box<keys::Rng>,
    pub clock: Box<dyn Fn() -> Timestamp + Send>,
    /// Deliberate protocol violations, to test how a peer reacts.
    pub misbehave: Vec<Misbehavior>,
}

/// Ways the engine can break the protocol on purpose (a tester's tool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehavior {
    /// Send a Finished whose verify_data is wrong (one bit flipped): the
    /// peer must answer decrypt_error (handshake_failure in SSL 3.0).
    WrongFinished,
}

impl EngineConfig {
    /// A configuration with the classic defaults: SSL 3.0 to TLS 1.2, the
    /// RSA suites sslwalk implements, EMS and RFC 5746 on, the system clock
    /// and OS randomness.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            conn: 1,
            min_version: ProtocolVersion::SSLv3,
            max_version: ProtocolVersion::TLSv1_2,
            cipher_suites: keys::supported_suites().to_vec(),
            server_name: None,
            verify_name: None,
            credentials: None,
            client_auth: ClientAuth::None,
            verifier: None,
            insecure: false,
            session_cache: None,
            resume: None,
            extended_master_secret: true,
            secure_renegotiation: true,
            fallback_scsv: false,
            allow_renegotiation: true,
            rng: Box::new(rand::rngs::OsRng),
            clock: Box::new(system_now),
            misbehave: Vec::new(),
        }
    }
}

/// The system clock as a [`Timestamp`].
pub fn system_now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// What the engine learns during one handshake. Fields become available
/// at known steps; getters return `Internal` instead of panicking.
#[derive(Default)]
struct HandshakeCtx {
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// The version the client offered (its client_version), which the
    /// pre-master secret must carry (RFC 5246 §7.4.7.1).
    offered_version: Option<ProtocolVersion>,
    offered_suites: Vec<CipherSuite>,
    offered_session_id: Vec<u8>,
    version: Option<ProtocolVersion>,
    suite: Option<CipherSuite>,
    session_id: Vec<u8>,
    resumed: bool,
    master_secret: Option<crate::crypto::secret::MasterSecret>,
    peer_chain: Vec<Vec<u8>>,
    /// Key used for RSA key exchange: the certificate's, or the temporary
    /// export key of ServerKeyExchange.
    kx_public: Option<rsa::RsaPublicKey>,
    /// Server: the temporary export key it sent.
    kx_private: Option<rsa::RsaPrivateKey>,
    /// Client: the server asked for a certificate.
    cert_requested: bool,
    /// Server: the client sent a certificate.
    client_cert: Option<Vec<u8>>,
    ems: bool,
    peer_offered_secure_renegotiation: bool,
    /// All handshake messages so far, as sent (for Finished and
    /// CertificateVerify).
    transcript: Vec<u8>,
    /// The pre-master secret, for `--show-secrets` (client: made; server:
    /// decrypted).
    pre_master: Option<crate::crypto::secret::PreMasterSecret>,
    /// The Secrets event of this handshake was emitted.
    secrets_shown: bool,
    pending_client_write: Option<RecordProtection>,
    pending_server_write: Option<RecordProtection>,
}

/// Connection state across handshakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Established,
    Closed,
    Failed,
}

/// A sans-IO SSL/TLS endpoint.
pub struct Engine {
    cfg: EngineConfig,
    deframer: RecordDeframer,
    joiner: HandshakeJoiner,
    read: Option<RecordProtection>,
    write: Option<RecordProtection>,
    /// Version written in outgoing record headers.
    record_version: ProtocolVersion,
    cursor: FlowCursor,
    hs: HandshakeCtx,
    phase: Phase,
    handshakes: u32,
    /// verify_data of the last Finished each way (RFC 5746 §3.1).
    client_verify_data: Vec<u8>,
    server_verify_data: Vec<u8>,
    out: Vec<u8>,
    app_in: Vec<u8>,
    seq: u64,
    data: [DataCount; 2],
    alert: Option<(Alert, Direction)>,
    error: Option<EngineError>,
    established_session: Option<Session>,
    finished_ok: bool,
    /// Server: whether the ClientHello had an extensions block (a server
    /// must not send extensions to a client that sent none).
    client_sent_extensions: bool,
    /// The Outcome event is the last of a connection and comes once.
    outcome_emitted: bool,
}

fn di(d: Direction) -> usize {
    match d {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Self {
        let record_version = keys::initial_record_version(cfg.max_version);
        Self {
            cfg,
            deframer: RecordDeframer::new(),
            joiner: HandshakeJoiner::new(),
            read: None,
            write: None,
            record_version,
            cursor: FlowCursor::new(),
            hs: HandshakeCtx::default(),
            phase: Phase::Handshaking,
            handshakes: 0,
            client_verify_data: Vec::new(),
            server_verify_data: Vec::new(),
            out: Vec::new(),
            app_in: Vec::new(),
            seq: 0,
            data: Default::default(),
            alert: None,
            error: None,
            established_session: None,
            finished_ok: false,
            client_sent_extensions: false,
            outcome_emitted: false,
        }
    }

    pub fn role(&self) -> Role {
        self.cfg.role
    }
    pub fn is_handshaking(&self) -> bool {
        self.phase == Phase::Handshaking
    }
    pub fn is_established(&self) -> bool {
        self.phase == Phase::Established
    }
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed | Phase::Failed)
    }
    pub fn error(&self) -> Option<&EngineError> {
        self.error.as_ref()
    }
    /// The session established by the last complete handshake (to resume
    /// it later).
    pub fn session(&self) -> Option<&Session> {
        self.established_session.as_ref()
    }
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.hs.version
    }
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.hs.suite
    }
    pub fn resumed(&self) -> bool {
        self.hs.resumed
    }

    /// The key log line (NSS format, `CLIENT_RANDOM`) of the current
    /// session, once its master secret is known.
    pub fn keylog_line(&self) -> Option<String> {
        let ms = self.hs.master_secret.as_ref()?;
        Some(crate::crypto::keylog::format_client_random(
            &self.hs.client_random,
            ms,
        ))
    }

    /// The peer's certificate chain (DER, as sent).
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &self.hs.peer_chain
    }

    /// The number of handshakes done or under way on this connection.
    pub fn handshakes(&self) -> u32 {
        self.handshakes
    }

    /// Bytes to send to the peer.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Application data received so far.
    pub fn take_application_data(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.app_in)
    }

    /// Client: sends the ClientHello (step 1). Server: nothing to do until
    /// the peer speaks.
    pub fn start(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let r = match self.cfg.role {
            Role::Client => self.begin_handshake(sink).and_then(|_| self.drive(sink)),
            Role::Server => Ok(()),
        };
        self.fail_on_error(r, sink)
    }

    /// Processes bytes from the peer.
    pub fn feed(&mut self, bytes: &[u8], sink: &mut dyn EventSink) -> Result<(), EngineError> {
        if self.is_closed() {
            return Ok(());
        }
        let r = self.feed_inner(bytes, sink);
        self.fail_on_error(r, sink)
    }

    /// Sends application data (fragmented at 2^14 bytes per record).
    pub fn send_application_data(
        &mut self,
        data: &[u8],
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        if self.phase != Phase::Established {
            return Err(EngineError::Internal(
                "application data before the handshake completed",
            ));
        }
        for chunk in data.chunks(MAX_PLAINTEXT) {
            self.write_record(ContentType::ApplicationData, chunk)?;
            let d = &mut self.data[di(self.cfg.role.sending())];
            d.records += 1;
            d.bytes += chunk.len() as u64;
            self.emit_message(
                sink,
                Origin::Sent,
                self.cfg.role.sending(),
                Message::ApplicationData {
                    length: chunk.len(),
                    plaintext: Some(chunk.to_vec()),
                },
                chunk.to_vec(),
                Some(10),
                Vec::new(),
            )?;
        }
        Ok(())
    }

    /// Sends close_notify (RFC 5246 §7.2.1).
    pub fn close(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        if self.is_closed() {
            return Ok(());
        }
        self.send_alert(Alert::warning(AlertDescription::CloseNotify), sink)?;
        self.phase = Phase::Closed;
        Ok(())
    }

    /// The transport closed: a handshake in progress fails.
    pub fn peer_closed(&mut self, sink: &mut dyn EventSink) {
        if self.phase == Phase::Handshaking {
            self.error.get_or_insert(EngineError::PeerClosed);
            self.phase = Phase::Failed;
            let _ = self.emit_outcome(sink);
        } else if self.phase == Phase::Established {
            self.phase = Phase::Closed;
        }
    }

    /// Starts a renegotiation (RFC 5246 §7.4.1.1; RFC 5746): the client
    /// sends a new ClientHello, the server a HelloRequest.
    pub fn renegotiate(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        if self.phase != Phase::Established {
            return Err(EngineError::Internal(
                "renegotiation before the handshake completed",
            ));
        }
        let r = match self.cfg.role {
            Role::Client => {
                self.begin_handshake(sink)?;
                self.drive(sink)
            }
            Role::Server => self.send_handshake(HandshakeMessage::HelloRequest, None, sink),
        };
        self.fail_on_error(r, sink)
    }

    /// The final event of the connection: its outcome.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> std::io::Result<()> {
        self.emit_outcome(sink)
    }

    // -- records in --

    fn feed_inner(&mut self, bytes: &[u8], sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let mut items = Vec::new();
        self.deframer
            .feed(bytes, &mut |_| true, &mut |item| match item {
                RecordItem::Record {
                    header,
                    offset,
                    body,
                } => items.push(Ok((header, offset, body.unwrap_or_default().into_owned()))),
                RecordItem::SslV2ClientHello { offset, body } => {
                    items.push(Err(Some((offset, body.to_vec()))))
                }
                RecordItem::Desync { .. } => items.push(Err(None)),
            });
        for item in items {
            match item {
                Ok((header, offset, body)) => self.on_record(header, offset, body, sink)?,
                Err(Some((offset, body))) => self.on_sslv2_hello(offset, body, sink)?,
                // Bytes that are no record at all (RFC 5246 §6.2.1 leaves
                // unknown content types to unexpected_message; a length
                // beyond 2^14+2048 is record_overflow).
                Err(None) => {
                    return Err(EngineError::UnexpectedMessage {
                        expected: "a TLS record".into(),
                        got: "bytes that are not a record header".into(),
                    })
                }
            }
            if self.is_closed() {
                break;
            }
        }
        Ok(())
    }

    fn on_record(
        &mut self,
        header: RecordHeader,
        offset: u64,
        body: Vec<u8>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let dir = self.cfg.role.sending().reverse();
        let protected = self.read.is_some();
        self.emit(
            sink,
            Some(dir),
            Origin::Received,
            EventKind::Record(RecordInfo {
                header,
                protected,
                stream_offset: offset,
                sslv2: false,
            }),
        )?;
        if header.length as usize > crate::wire::record::MAX_CIPHERTEXT
            || (!protected && header.length as usize > MAX_PLAINTEXT)
        {
            return Err(EngineError::RecordOverflow);
        }
        let plaintext = match &mut self.read {
            Some(p) => {
                // Owned: decrypted in place.
                p.open(&header, body).map_err(keys::record_error)?.plaintext
            }
            None => body,
        };
        match header.content_type {
            ContentType::Handshake => {
                if plaintext.is_empty() {
                    return Err(EngineError::UnexpectedMessage {
                        expected: "a handshake fragment".into(),
                        got: "an empty handshake record".into(),
                    });
                }
                let mut joined = Vec::new();
                self.joiner
                    .push_record(&plaintext, &mut |m| {
                        joined.push((m.typ, m.raw.to_vec(), m.records))
                    })
                    .map_err(|_| EngineError::IllegalParameter("handshake message length"))?;
                for (typ, raw, records) in joined {
                    self.on_handshake_message(typ, raw, records, protected, sink)?;
                    if self.is_closed() {
                        break;
                    }
                }
            }
            ContentType::ChangeCipherSpec => self.on_change_cipher_spec(plaintext, sink)?,
            ContentType::Alert => self.on_alert(plaintext, sink)?,
            ContentType::ApplicationData => {
                if self.phase != Phase::Established && !(self.handshakes > 1 && self.read.is_some())
                {
                    return Err(EngineError::UnexpectedMessage {
                        expected: "handshake".into(),
                        got: "application_data".into(),
                    });
                }
                let d = &mut self.data[di(dir)];
                d.records += 1;
                d.bytes += plaintext.len() as u64;
                self.app_in.extend_from_slice(&plaintext);
                self.emit_message(
                    sink,
                    Origin::Received,
                    dir,
                    Message::ApplicationData {
                        length: plaintext.len(),
                        plaintext: Some(plaintext.clone()),
                    },
                    plaintext,
                    Some(10),
                    Vec::new(),
                )?;
            }
            other => {
                return Err(EngineError::UnexpectedMessage {
                    expected: "handshake, alert, change_cipher_spec or application_data".into(),
                    got: format!("record type {}", other.0),
                })
            }
        }
        Ok(())
    }

    fn on_sslv2_hello(
        &mut self,
        offset: u64,
        body: Vec<u8>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let dir = Direction::ClientToServer;
        self.emit(
            sink,
            Some(dir),
            Origin::Received,
            EventKind::Record(RecordInfo {
                header: RecordHeader {
                    content_type: ContentType::Handshake,
                    version: ProtocolVersion::SSLv2,
                    length: body.len() as u16,
                },
                protected: false,
                stream_offset: offset,
                sslv2: true,
            }),
        )?;
        if self.cfg.role != Role::Server {
            return Err(EngineError::UnexpectedMessage {
                expected: "server_hello".into(),
                got: "an SSL 2.0 CLIENT-HELLO".into(),
            });
        }
        let parsed = SslV2ClientHello::from_bytes(&body, "SSLv2 CLIENT-HELLO");
        let step = self.check_flow(Writer::Client, FlowMsg::ClientHello)?;
        self.emit_message(
            sink,
            Origin::Received,
            dir,
            Message::SslV2ClientHello(parsed.clone()),
            body.clone(),
            Some(step),
            Vec::new(),
        )?;
        let v2 = parsed?;
        // RFC 5246 E.2: the transcript starts with the SSL 2.0 message
        // (without its two-byte record header).
        self.hs.transcript.extend_from_slice(&body);
        let hello = ClientHello {
            client_version: v2.version,
            random: v2.client_random(),
            session_id: v2.session_id.clone(),
            cipher_suites: v2.tls_cipher_suites().collect(),
            compression_methods: vec![CompressionMethod::Null],
            extensions: None,
        };
        self.begin_handshake_as_server();
        self.on_client_hello(&hello, sink)?;
        self.drive(sink)
    }

    fn on_handshake_message(
        &mut self,
        typ: HandshakeType,
        raw: Vec<u8>,
        records: u32,
        protected: bool,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let cx = WireContext::new(
            self.hs.version.unwrap_or(ProtocolVersion::TLSv1_2),
            keys::wire_key_exchange(self.hs.suite),
        );
        let parsed = HandshakeMessage::decode_body(typ, &raw[4..], &cx, 4);
        // A new handshake on an established connection (renegotiation).
        if self.phase == Phase::Established {
            match (self.cfg.role, typ) {
                (Role::Server, HandshakeType::ClientHello) => {
                    if !self.cfg.allow_renegotiation || !self.hs.peer_offered_secure_renegotiation {
                        self.emit_received(typ, parsed, raw, records, protected, None, sink)?;
                        // RFC 5746 §4.4: refuse with a no_renegotiation warning.
                        return self
                            .send_alert(Alert::warning(AlertDescription::NoRenegotiation), sink);
                    }
                    self.begin_handshake_as_server();
                }
                (Role::Client, HandshakeType::HelloRequest) => {
                    self.emit_received(typ, parsed, raw, records, protected, Some(11), sink)?;
                    if !self.cfg.allow_renegotiation {
                        return self
                            .send_alert(Alert::warning(AlertDescription::NoRenegotiation), sink);
                    }
                    self.begin_handshake(sink)?;
                    return self.drive(sink);
                }
                _ => {
                    self.emit_received(typ, parsed, raw, records, protected, None, sink)?;
                    return Err(EngineError::UnexpectedMessage {
                        expected: "application data".into(),
                        got: typ.name().unwrap_or("handshake").into(),
                    });
                }
            }
        } else if typ == HandshakeType::HelloRequest && self.cfg.role == Role::Client {
            // RFC 5246 §7.4.1.1: ignored while a handshake is under way.
            return self.emit_received(typ, parsed, raw, records, protected, Some(11), sink);
        }
        if self.cfg.role == Role::Server
            && typ == HandshakeType::ClientHello
            && self.handshakes == 0
        {
            self.begin_handshake_as_server();
        }
        let flow_msg = keys::flow_msg(typ).ok_or_else(|| EngineError::UnexpectedMessage {
            expected: self.expected_names(),
            got: typ.name().unwrap_or("unknown handshake message").into(),
        });
        let flow_msg = match flow_msg {
            Ok(m) => m,
            Err(e) => {
                self.emit_received(typ, parsed, raw, records, protected, None, sink)?;
                return Err(e);
            }
        };
        let step = match self.cursor.advance(self.cfg.role.peer(), flow_msg) {
            Ok(s) => s.number,
            Err(e) => {
                self.emit_received(typ, parsed, raw, records, protected, None, sink)?;
                return Err(EngineError::UnexpectedMessage {
                    expected: e.expected.join(" or "),
                    got: flow_msg.name().into(),
                });
            }
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => {
                self.emit_received(typ, Err(e), raw, records, protected, Some(step), sink)?;
                return Err(EngineError::Decode(e));
            }
        };
        self.emit_received(
            typ,
            Ok(msg.clone()),
            raw.clone(),
            records,
            protected,
            Some(step),
            sink,
        )?;
        // Finished is checked against the transcript *before* it.
        if let HandshakeMessage::Finished(f) = &msg {
            self.on_finished(f, sink)?;
            self.hs.transcript.extend_from_slice(&raw);
            return self.after_peer_finished(sink);
        }
        // CertificateVerify signs the transcript before it.
        if let HandshakeMessage::CertificateVerify(cv) = &msg {
            self.on_certificate_verify(cv)?;
            self.hs.transcript.extend_from_slice(&raw);
            return self.drive(sink);
        }
        self.hs.transcript.extend_from_slice(&raw);
        match (self.cfg.role, &msg) {
            (Role::Server, HandshakeMessage::ClientHello(ch)) => self.on_client_hello(ch, sink)?,
            (Role::Client, HandshakeMessage::ServerHello(sh)) => self.on_server_hello(sh, sink)?,
            (_, HandshakeMessage::Certificate(c)) => self.on_certificate(c, sink)?,
            (Role::Client, HandshakeMessage::ServerKeyExchange(ske)) => {
                self.on_server_key_exchange(ske)?
            }
            (Role::Client, HandshakeMessage::CertificateRequest(cr)) => {
                self.on_certificate_request(cr)?
            }
            (Role::Client, HandshakeMessage::ServerHelloDone) => {}
            (Role::Server, HandshakeMessage::ClientKeyExchange(cke)) => {
                self.on_client_key_exchange(cke)?
            }
            (Role::Client, HandshakeMessage::NewSessionTicket(_)) => {}
            _ => {
                return Err(EngineError::UnexpectedMessage {
                    expected: self.expected_names(),
                    got: flow_msg.name().into(),
                })
            }
        }
        self.drive(sink)
    }

    /// Writes our own steps while the next step in the table is ours.
    fn drive(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        while self.phase == Phase::Handshaking {
            let Some((index, step)) = self.cursor.next_step() else {
                break;
            };
            if step.writer != self.cfg.role.writer() {
                break;
            }
            match self.cfg.role {
                Role::Client => self.write_client_step(index, step, sink)?,
                Role::Server => self.write_server_step(index, step, sink)?,
            }
        }
        Ok(())
    }

    fn expected_names(&self) -> String {
        match self.cursor.next_step() {
            Some((_, s)) => s.msg.name().into(),
            None => "nothing more".into(),
        }
    }

    fn check_flow(&mut self, writer: Writer, msg: FlowMsg) -> Result<u8, EngineError> {
        self.cursor
            .advance(writer, msg)
            .map(|s| s.number)
            .map_err(|e| EngineError::UnexpectedMessage {
                expected: e.expected.join(" or "),
                got: msg.name().into(),
            })
    }

    /// Resets per-handshake state for a new handshake on this connection.
    fn reset_handshake(&mut self) {
        let renegotiation = self.handshakes > 0;
        self.hs = HandshakeCtx {
            peer_offered_secure_renegotiation: self.hs.peer_offered_secure_renegotiation,
            version: self.hs.version,
            suite: self.hs.suite,
            ..Default::default()
        };
        self.cursor = FlowCursor::new();
        self.cursor.kind.renegotiation = renegotiation;
        self.phase = Phase::Handshaking;
        self.handshakes += 1;
        self.finished_ok = false;
    }

    fn begin_handshake_as_server(&mut self) {
        self.reset_handshake();
    }

    fn begin_handshake(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let renegotiation = self.handshakes > 0;
        self.reset_handshake();
        if renegotiation {
            self.emit(
                sink,
                None,
                Origin::Sent,
                EventKind::Flow(FlowEvent::Renegotiation {
                    number: self.handshakes,
                }),
            )?;
        }
        Ok(())
    }

    // -- ChangeCipherSpec, Finished, alerts: shared by both roles --

    fn on_change_cipher_spec(
        &mut self,
        body: Vec<u8>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let dir = self.cfg.role.sending().reverse();
        let parsed = ChangeCipherSpec::from_bytes(&body, "ChangeCipherSpec");
        // RFC 5246 §7.1: a CCS must come at a message boundary.
        let step = if self.joiner.has_partial() {
            Err(EngineError::UnexpectedMessage {
                expected: "the rest of a handshake message".into(),
                got: "change_cipher_spec".into(),
            })
        } else {
            self.check_flow(self.cfg.role.peer(), FlowMsg::ChangeCipherSpec)
        };
        self.emit_message(
            sink,
            Origin::Received,
            dir,
            Message::ChangeCipherSpec(parsed),
            body,
            step.as_ref().ok().copied(),
            Vec::new(),
        )?;
        step?;
        parsed?;
        let pending = match self.cfg.role {
            Role::Client => self.hs.pending_server_write.take(),
            Role::Server => self.hs.pending_client_write.take(),
        };
        self.read = Some(pending.ok_or(EngineError::UnexpectedMessage {
            expected: "keys before change_cipher_spec".into(),
            got: "change_cipher_spec".into(),
        })?);
        Ok(())
    }

    fn on_finished(
        &mut self,
        f: &handshake::Finished,
        _sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let sender = self.cfg.role.peer();
        let expected = self.verify_data(sender)?;
        if !keys::constant_time_eq(&expected, &f.verify_data) {
            return Err(EngineError::BadFinished);
        }
        match sender {
            Writer::Client => self.client_verify_data = expected,
            Writer::Server => self.server_verify_data = expected,
        }
        Ok(())
    }

    /// The peer's Finished checked: either we now send ours (their
    /// Finished came first) or the handshake is complete.
    fn after_peer_finished(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        self.drive(sink)?;
        if self.cursor.complete() {
            self.handshake_complete()?;
        }
        Ok(())
    }

    /// The RFC 5746 §3 binding of a renegotiation to the handshake before
    /// it: empty on a first handshake, else client_verify_data, then
    /// server_verify_data.
    fn renegotiation_binding(&self) -> Vec<u8> {
        if self.handshakes > 1 {
            [
                self.client_verify_data.as_slice(),
                self.server_verify_data.as_slice(),
            ]
            .concat()
        } else {
            Vec::new()
        }
    }

    fn handshake_complete(&mut self) -> Result<(), EngineError> {
        self.phase = Phase::Established;
        self.finished_ok = true;
        let session = Session {
            id: self.hs.session_id.clone(),
            master_secret: self.hs.master_secret.clone().ok_or(EngineError::Internal(
                "no master secret at the end of the handshake",
            ))?,
            version: self.hs.version.ok_or(EngineError::Internal("no version"))?,
            cipher_suite: self.hs.suite.ok_or(EngineError::Internal("no suite"))?,
            extended_master_secret: self.hs.ems,
        };
        if self.cfg.role == Role::Server && !session.id.is_empty() {
            if let Some(cache) = &self.cfg.session_cache {
                if let Ok(mut c) = cache.lock() {
                    c.insert(session.clone());
                }
            }
        }
        self.established_session = Some(session);
        Ok(())
    }

    fn on_alert(&mut self, body: Vec<u8>, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let dir = self.cfg.role.sending().reverse();
        let parsed = Alert::from_bytes(&body, "Alert");
        let mut step = self.cursor.current_step(self.cfg.role.peer());
        // SSL 3.0: a client without a certificate says so with a warning
        // no_certificate alert in place of its Certificate (RFC 6101 §5.4).
        if let Ok(a) = &parsed {
            if a.description == AlertDescription::NoCertificate
                && a.level == AlertLevel::Warning
                && self.cfg.role == Role::Server
                && self.phase == Phase::Handshaking
            {
                step = Some(self.check_flow(Writer::Client, FlowMsg::NoCertificateAlert)?);
                self.emit_message(
                    sink,
                    Origin::Received,
                    dir,
                    Message::Alert(parsed),
                    body,
                    step,
                    Vec::new(),
                )?;
                if self.cfg.client_auth == ClientAuth::Require {
                    return Err(EngineError::NoClientCertificate);
                }
                return self.drive(sink);
            }
        }
        self.emit_message(
            sink,
            Origin::Received,
            dir,
            Message::Alert(parsed),
            body,
            step,
            Vec::new(),
        )?;
        let a = parsed?;
        if a.is_fatal() {
            self.alert = Some((a, dir));
            self.invalidate_session();
            self.phase = Phase::Failed;
            self.error = Some(EngineError::PeerAlert(a.description));
            self.emit_outcome(sink)?;
            return Ok(());
        }
        match a.description {
            AlertDescription::CloseNotify => {
                self.alert.get_or_insert((a, dir));
                if self.phase == Phase::Handshaking {
                    self.phase = Phase::Failed;
                    self.error = Some(EngineError::PeerAlert(a.description));
                    self.emit_outcome(sink)?;
                } else {
                    // RFC 5246 §7.2.1: answer close_notify with our own.
                    self.send_alert(Alert::warning(AlertDescription::CloseNotify), sink)?;
                    self.phase = Phase::Closed;
                }
            }
            AlertDescription::NoRenegotiation
                if self.phase == Phase::Handshaking && self.handshakes > 1 =>
            {
                // The peer declined our renegotiation: the old session goes on.
                self.phase = Phase::Established;
                self.error = Some(EngineError::RenegotiationRefused);
            }
            _ => {}
        }
        Ok(())
    }

    fn invalidate_session(&mut self) {
        if let Some(cache) = &self.cfg.session_cache {
            if let Ok(mut c) = cache.lock() {
                c.remove(&self.hs.session_id);
            }
        }
    }

    /// Ends the connection for `e`: sends the alert the error maps to and
    /// emits the outcome. The error is returned to the caller as well.
    fn fail_on_error(
        &mut self,
        r: Result<(), EngineError>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let Err(e) = r else { return Ok(()) };
        if matches!(self.phase, Phase::Failed) {
            return Err(e);
        }
        let version = self.hs.version.unwrap_or(self.record_version);
        if let Some(desc) = e.alert(version) {
            let _ = self.send_alert(Alert::fatal(desc), sink);
        }
        self.invalidate_session();
        self.error = Some(e.clone());
        self.phase = Phase::Failed;
        let _ = self.emit_outcome(sink);
        Err(e)
    }

    fn send_alert(&mut self, a: Alert, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let body = a.to_bytes();
        let step = self.cursor.current_step(self.cfg.role.writer());
        self.write_record(ContentType::Alert, &body)?;
        if a.is_fatal() {
            self.alert = Some((a, self.cfg.role.sending()));
        } else if a.description == AlertDescription::CloseNotify {
            self.alert.get_or_insert((a, self.cfg.role.sending()));
        }
        self.emit_message(
            sink,
            Origin::Sent,
            self.cfg.role.sending(),
            Message::Alert(Ok(a)),
            body,
            step,
            Vec::new(),
        )?;
        Ok(())
    }

    // -- records out --

    fn write_record(&mut self, ct: ContentType, payload: &[u8]) -> Result<(), EngineError> {
        let chunks: Vec<&[u8]> = if payload.is_empty() {
            vec![payload]
        } else {
            payload.chunks(MAX_PLAINTEXT).collect()
        };
        for chunk in chunks {
            match &mut self.write {
                Some(p) => {
                    let rec = p
                        .seal(ct, self.record_version, chunk, &mut *self.cfg.rng)
                        .map_err(keys::record_error)?;
                    self.out.extend_from_slice(&rec);
                }
                None => {
                    self.out.extend_from_slice(
                        &RecordHeader {
                            content_type: ct,
                            version: self.record_version,
                            length: chunk.len() as u16,
                        }
                        .to_bytes(),
                    );
                    self.out.extend_from_slice(chunk);
                }
            }
        }
        Ok(())
    }

    /// Encodes, records in the transcript, writes and narrates one of our
    /// handshake messages. `flow` is its step in the table (None for
    /// HelloRequest, which is outside any handshake).
    fn send_handshake(
        &mut self,
        msg: HandshakeMessage,
        flow: Option<FlowMsg>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let cx = WireContext::new(
            self.hs.version.unwrap_or(self.record_version),
            keys::wire_key_exchange(self.hs.suite),
        );
        let raw = msg.to_bytes(&cx);
        let step = match flow {
            Some(f) => Some(self.check_flow(self.cfg.role.writer(), f)?),
            None => Some(11),
        };
        if flow.is_some() {
            self.hs.transcript.extend_from_slice(&raw);
        }
        let protected = self.write.is_some();
        self.write_record(ContentType::Handshake, &raw)?;
        let records = raw.len().div_ceil(MAX_PLAINTEXT).max(1) as u32;
        let certificates = match &msg {
            HandshakeMessage::Certificate(c) => summaries(c),
            _ => Vec::new(),
        };
        self.emit(
            sink,
            Some(self.cfg.role.sending()),
            Origin::Sent,
            EventKind::Message(Box::new(MessageEvent {
                step,
                message: Message::Handshake {
                    typ: msg.typ(),
                    parsed: Ok(msg),
                },
                raw,
                records,
                protected,
                notes: Vec::new(),
                certificates,
            })),
        )?;
        Ok(())
    }

    /// The secrets of this handshake, as an event renderers show only when
    /// asked (`--show-secrets`); once per handshake, when keys are first used.
    fn emit_secrets(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        if self.hs.secrets_shown {
            return Ok(());
        }
        self.hs.secrets_shown = true;
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        let keys = match (&self.hs.master_secret, crate::wire::suites::lookup(suite.0)) {
            (Some(ms), Some(info)) => crate::crypto::keys::key_material(
                version,
                info,
                ms,
                &self.hs.client_random,
                &self.hs.server_random,
            )
            .ok(),
            _ => None,
        };
        let secrets = SessionSecrets {
            source: SecretSource::Negotiated,
            client_random: self.hs.client_random,
            server_random: self.hs.server_random,
            version,
            cipher_suite: suite,
            extended_master_secret: self.hs.ems,
            encrypt_then_mac: false,
            pre_master: self.hs.pre_master.clone(),
            master_secret: self.hs.master_secret.clone(),
            keys,
            tls13_secrets: Vec::new(),
        };
        self.emit(
            sink,
            None,
            Origin::Sent,
            EventKind::Crypto(Box::new(CryptoEvent::Secrets(Box::new(secrets)))),
        )?;
        Ok(())
    }

    fn send_change_cipher_spec(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        self.emit_secrets(sink)?;
        let step = self.check_flow(self.cfg.role.writer(), FlowMsg::ChangeCipherSpec)?;
        let body = ChangeCipherSpec.to_bytes();
        self.write_record(ContentType::ChangeCipherSpec, &body)?;
        self.emit_message(
            sink,
            Origin::Sent,
            self.cfg.role.sending(),
            Message::ChangeCipherSpec(Ok(ChangeCipherSpec)),
            body,
            Some(step),
            Vec::new(),
        )?;
        let pending = match self.cfg.role {
            Role::Client => self.hs.pending_client_write.take(),
            Role::Server => self.hs.pending_server_write.take(),
        };
        self.write = Some(pending.ok_or(EngineError::Internal("no keys at ChangeCipherSpec"))?);
        self.record_version = self.hs.version.unwrap_or(self.record_version);
        Ok(())
    }

    fn send_finished(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let me = self.cfg.role.writer();
        let mut verify_data = self.verify_data(me)?;
        if self.cfg.misbehave.contains(&Misbehavior::WrongFinished) {
            verify_data[0] ^= 0x01;
        }
        match me {
            Writer::Client => self.client_verify_data = verify_data.clone(),
            Writer::Server => self.server_verify_data = verify_data.clone(),
        }
        self.send_handshake(
            HandshakeMessage::Finished(handshake::Finished { verify_data }),
            Some(FlowMsg::Finished),
            sink,
        )?;
        if self.cursor.complete() {
            self.handshake_complete()?;
        }
        Ok(())
    }

    fn verify_data(&self, sender: Writer) -> Result<Vec<u8>, EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        let ms = self
            .hs
            .master_secret
            .as_ref()
            .ok_or(EngineError::Internal("no master secret"))?;
        keys::finished(version, suite, ms, sender, &self.hs.transcript)
    }

    /// Derives the master secret (unless resumed) and both directions'
    /// pending protection.
    fn establish_keys(
        &mut self,
        pre_master: Option<&crate::crypto::secret::PreMasterSecret>,
    ) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        if let Some(pms) = pre_master {
            self.hs.pre_master = Some(pms.clone());
            let session_hash = if self.hs.ems {
                Some(keys::session_hash(version, suite, &self.hs.transcript)?)
            } else {
                None
            };
            self.hs.master_secret = Some(keys::master_secret(
                version,
                suite,
                pms,
                &self.hs.client_random,
                &self.hs.server_random,
                session_hash.as_deref(),
            )?);
        }
        let ms = self
            .hs
            .master_secret
            .as_ref()
            .ok_or(EngineError::Internal("no master secret"))?;
        let (c, s) = keys::protections(
            version,
            suite,
            ms,
            &self.hs.client_random,
            &self.hs.server_random,
            false,
        )?;
        self.hs.pending_client_write = Some(c);
        self.hs.pending_server_write = Some(s);
        Ok(())
    }

    // -- events --

    fn emit(
        &mut self,
        sink: &mut dyn EventSink,
        dir: Option<Direction>,
        origin: Origin,
        kind: EventKind,
    ) -> std::io::Result<()> {
        self.seq += 1;
        let ev = Event {
            seq: self.seq,
            conn: self.cfg.conn,
            dir,
            origin,
            time: Some((self.cfg.clock)()),
            kind,
        };
        sink.emit(&ev)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_message(
        &mut self,
        sink: &mut dyn EventSink,
        origin: Origin,
        dir: Direction,
        message: Message,
        raw: Vec<u8>,
        step: Option<u8>,
        notes: Vec<Note>,
    ) -> std::io::Result<()> {
        let protected = match origin {
            Origin::Sent => self.write.is_some(),
            _ => self.read.is_some(),
        };
        self.emit(
            sink,
            Some(dir),
            origin,
            EventKind::Message(Box::new(MessageEvent {
                step,
                message,
                raw,
                records: 1,
                protected,
                notes,
                certificates: Vec::new(),
            })),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_received(
        &mut self,
        typ: HandshakeType,
        parsed: Result<HandshakeMessage, DecodeError>,
        raw: Vec<u8>,
        records: u32,
        protected: bool,
        step: Option<u8>,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let certificates = match &parsed {
            Ok(HandshakeMessage::Certificate(c)) => summaries(c),
            _ => Vec::new(),
        };
        let dir = self.cfg.role.sending().reverse();
        self.emit(
            sink,
            Some(dir),
            Origin::Received,
            EventKind::Message(Box::new(MessageEvent {
                step,
                message: Message::Handshake { typ, parsed },
                raw,
                records,
                protected,
                notes: Vec::new(),
                certificates,
            })),
        )?;
        Ok(())
    }

    fn emit_note(
        &mut self,
        sink: &mut dyn EventSink,
        dir: Option<Direction>,
        n: Note,
    ) -> std::io::Result<()> {
        self.emit(sink, dir, Origin::Sent, EventKind::Note(n))
    }

    fn emit_outcome(&mut self, sink: &mut dyn EventSink) -> std::io::Result<()> {
        if self.outcome_emitted {
            return Ok(());
        }
        self.outcome_emitted = true;
        let result = if self.finished_ok && self.error.is_none() || self.phase == Phase::Established
        {
            OutcomeResult::Ok
        } else if self.error.is_some() {
            OutcomeResult::Failed
        } else {
            OutcomeResult::Incomplete
        };
        let mut kind = self.cursor.kind;
        kind.resumed = self.hs.resumed;
        let reason = self.error.as_ref().map(|e| {
            Note::new(NoteCode::HandshakeFailed)
                .with("error", e.id())
                .with("detail", e.to_string())
        });
        let outcome = Outcome {
            result,
            version: self.hs.version,
            cipher_suite: self.hs.suite,
            resumed: self.hs.resumed,
            kind: Some(kind),
            alert: self.alert,
            // Records were protected with keys this engine derived.
            decrypted: self.read.is_some() || self.write.is_some(),
            // true: both Finished checked; false: the peer's was wrong;
            // null: the handshake never got that far.
            finished_verified: if self.finished_ok {
                Some(true)
            } else if self.error == Some(EngineError::BadFinished) {
                Some(false)
            } else {
                None
            },
            handshakes: self.handshakes,
            client_to_server: self.data[0],
            server_to_client: self.data[1],
            server_name: self.cfg.server_name.clone(),
            reason,
        };
        self.emit(sink, None, Origin::Sent, EventKind::Outcome(outcome))
    }
}

fn summaries(c: &handshake::Certificate) -> Vec<Result<crate::pki::CertSummary, String>> {
    c.chain()
        .map(|der| crate::pki::summarize(der).map_err(|e| e.to_string()))
        .collect()
}
