//! The handshake as data: for each handshake kind, the ordered steps (who
//! writes which message), in the spirit of s2n-tls's handshake tables.
//!
//! The observer checks what it sees against these sequences and the engine
//! drives from them; a tester's deliberate deviation is an edit of the
//! sequence. Each step also carries its number in HANDSHAKE.md's list.
//!
//! Messages from the two directions are only loosely ordered in time (TCP
//! streams are independent), so the check is per direction: each writer's
//! messages must follow that writer's subsequence, skipping only the steps
//! that are optional for the kind in force.

use crate::event::{Direction, HandshakeKind};

/// Who writes a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    Client,
    Server,
}

impl Writer {
    pub fn direction(self) -> Direction {
        match self {
            Self::Client => Direction::ClientToServer,
            Self::Server => Direction::ServerToClient,
        }
    }
}

/// A message as the flow sees it (independent of its wire decoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowMsg {
    HelloRequest,
    ClientHello,
    ServerHello,
    Certificate,
    CertificateStatus,
    ServerKeyExchange,
    CertificateRequest,
    ServerHelloDone,
    ClientKeyExchange,
    CertificateVerify,
    /// SSL 3.0's way of saying "no client certificate": a warning alert
    /// no_certificate in place of the Certificate message (RFC 6101 §5.4).
    NoCertificateAlert,
    NewSessionTicket,
    ChangeCipherSpec,
    Finished,
}

impl FlowMsg {
    /// The flow's name for a handshake message type; `None` for types that
    /// are in no SSL 3.0 to TLS 1.2 table (TLS 1.3 messages, unknown types).
    pub fn from_handshake_type(t: crate::wire::HandshakeType) -> Option<Self> {
        use crate::wire::HandshakeType as T;
        Some(match t {
            T::HelloRequest => Self::HelloRequest,
            T::ClientHello => Self::ClientHello,
            T::ServerHello => Self::ServerHello,
            T::Certificate => Self::Certificate,
            T::CertificateStatus => Self::CertificateStatus,
            T::ServerKeyExchange => Self::ServerKeyExchange,
            T::CertificateRequest => Self::CertificateRequest,
            T::ServerHelloDone => Self::ServerHelloDone,
            T::ClientKeyExchange => Self::ClientKeyExchange,
            T::CertificateVerify => Self::CertificateVerify,
            T::NewSessionTicket => Self::NewSessionTicket,
            T::Finished => Self::Finished,
            _ => return None,
        })
    }

    /// snake_case name, as in the JSON contract.
    pub fn name(self) -> &'static str {
        match self {
            Self::HelloRequest => "hello_request",
            Self::ClientHello => "client_hello",
            Self::ServerHello => "server_hello",
            Self::Certificate => "certificate",
            Self::CertificateStatus => "certificate_status",
            Self::ServerKeyExchange => "server_key_exchange",
            Self::CertificateRequest => "certificate_request",
            Self::ServerHelloDone => "server_hello_done",
            Self::ClientKeyExchange => "client_key_exchange",
            Self::CertificateVerify => "certificate_verify",
            Self::NoCertificateAlert => "no_certificate",
            Self::NewSessionTicket => "new_session_ticket",
            Self::ChangeCipherSpec => "change_cipher_spec",
            Self::Finished => "finished",
        }
    }
}

/// When a step is present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// May or may not appear (CertificateStatus, ServerKeyExchange with RSA,
    /// NewSessionTicket...).
    Optional,
    /// Only when the server asked for a client certificate.
    ClientAuth,
    /// Only when the client sent a non-empty certificate.
    ClientCertSent,
    /// Required unless the suite is anonymous (DH_anon, ECDH_anon), where
    /// the server sends no certificate at all.
    Authenticated,
}

/// One step of a handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub writer: Writer,
    pub msg: FlowMsg,
    /// The step number of HANDSHAKE.md.
    pub number: u8,
    pub when: When,
}

const fn s(writer: Writer, msg: FlowMsg, number: u8, when: When) -> Step {
    Step {
        writer,
        msg,
        number,
        when,
    }
}

use FlowMsg as M;
use When::*;
use Writer::{Client as C, Server as S};

/// Full handshake, SSL 3.0 to TLS 1.2 (RFC 5246 §7.3, Figure 1), with its
/// optional and client-authentication steps. A client without a
/// certificate sends an empty Certificate (TLS) or the no_certificate
/// alert (SSL 3.0) at the client Certificate step.
#[rustfmt::skip]
pub const FULL: &[Step] = &[
    s(C, M::ClientHello,        1, Always),
    s(S, M::ServerHello,        2, Always),
    s(S, M::Certificate,        2, Authenticated),
    s(S, M::CertificateStatus,  2, Optional),
    s(S, M::ServerKeyExchange,  2, Optional),
    s(S, M::CertificateRequest, 2, Optional),
    s(S, M::ServerHelloDone,    2, Always),
    s(C, M::Certificate,        5, ClientAuth),
    s(C, M::ClientKeyExchange,  4, Always),
    s(C, M::CertificateVerify,  5, ClientCertSent),
    s(C, M::ChangeCipherSpec,   8, Always),
    s(C, M::Finished,           8, Always),
    s(S, M::NewSessionTicket,   9, Optional),
    s(S, M::ChangeCipherSpec,   9, Always),
    s(S, M::Finished,           9, Always),
];

/// Abbreviated handshake resuming a session (RFC 5246 §7.3, Figure 2):
/// the server finishes first.
#[rustfmt::skip]
pub const RESUMED: &[Step] = &[
    s(C, M::ClientHello,        1, Always),
    s(S, M::ServerHello,        2, Always),
    s(S, M::NewSessionTicket,   9, Optional),
    s(S, M::ChangeCipherSpec,   9, Always),
    s(S, M::Finished,           9, Always),
    s(C, M::ChangeCipherSpec,   8, Always),
    s(C, M::Finished,           8, Always),
];

/// The table for a kind.
pub fn sequence(kind: &HandshakeKind) -> &'static [Step] {
    if kind.resumed {
        RESUMED
    } else {
        FULL
    }
}

/// Why a message does not fit the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpected {
    /// Names of the messages that could have come next from this writer.
    pub expected: Vec<&'static str>,
    pub got: FlowMsg,
}

/// A position in a handshake's flow, per direction.
#[derive(Clone, Debug)]
pub struct FlowCursor {
    pub kind: HandshakeKind,
    /// Index of the next step to check, per writer.
    next: [usize; 2],
    /// Set once the client's Certificate step was passed with a certificate.
    client_cert_sent: bool,
}

impl Default for FlowCursor {
    fn default() -> Self {
        Self::new()
    }
}

fn idx(w: Writer) -> usize {
    match w {
        Writer::Client => 0,
        Writer::Server => 1,
    }
}

impl FlowCursor {
    pub fn new() -> Self {
        Self {
            kind: HandshakeKind::default(),
            next: [0, 0],
            client_cert_sent: false,
        }
    }

    fn applies(&self, when: When) -> Option<bool> {
        // Some(true): required; Some(false): may be skipped; None: must not appear.
        match when {
            Always => Some(true),
            Optional => Some(false),
            ClientAuth => self.kind.client_auth.then_some(true),
            ClientCertSent => self.client_cert_sent.then_some(true),
            Authenticated => (!self.kind.anonymous).then_some(true),
        }
    }

    /// Switches to the resumed table: called when the server, right after
    /// ServerHello, goes straight to ChangeCipherSpec (or echoes the
    /// session ID). The server's cursor stays after ServerHello.
    pub fn mark_resumed(&mut self) {
        if !self.kind.resumed {
            self.kind.resumed = true;
            self.next = [1, 2];
        }
    }

    /// Records that the client's Certificate carried a certificate (so a
    /// CertificateVerify must follow).
    pub fn mark_client_cert_sent(&mut self) {
        self.client_cert_sent = true;
    }

    /// Checks the next message from `writer`; on success returns its step.
    pub fn advance(&mut self, writer: Writer, msg: FlowMsg) -> Result<Step, Unexpected> {
        // Server going from ServerHello straight to CCS (or a ticket then
        // CCS): an abbreviated handshake (RFC 5246 §7.3; RFC 5077 §3.1).
        if writer == Writer::Server
            && !self.kind.resumed
            && self.next[1] == 2
            && matches!(msg, FlowMsg::ChangeCipherSpec | FlowMsg::NewSessionTicket)
        {
            self.mark_resumed();
        }
        let table = sequence(&self.kind);
        let mut i = self.next[idx(writer)];
        let mut expected = Vec::new();
        while i < table.len() {
            let step = table[i];
            if step.writer != writer {
                i += 1;
                continue;
            }
            match self.applies(step.when) {
                None => {
                    i += 1;
                    continue;
                }
                Some(required) => {
                    if step.msg == msg
                        || (step.msg == FlowMsg::Certificate
                            && msg == FlowMsg::NoCertificateAlert
                            && writer == Writer::Client)
                    {
                        if step.msg == FlowMsg::CertificateRequest {
                            self.kind.client_auth = true;
                        }
                        if step.msg == FlowMsg::ServerKeyExchange {
                            self.kind.server_key_exchange = true;
                        }
                        if msg == FlowMsg::NoCertificateAlert {
                            self.kind.no_client_cert = true;
                        }
                        self.next[idx(writer)] = i + 1;
                        return Ok(step);
                    }
                    expected.push(step.msg.name());
                    if required {
                        break;
                    }
                    i += 1;
                }
            }
        }
        Err(Unexpected { expected, got: msg })
    }

    /// The next step in table order that has not happened yet and may
    /// still happen, with its index: what the engine does next (write it if
    /// it is its own, else wait for the peer).
    pub fn next_step(&self) -> Option<(usize, Step)> {
        let table = sequence(&self.kind);
        let start = self.next[0].min(self.next[1]);
        (start..table.len())
            .map(|i| (i, table[i]))
            .find(|(i, s)| *i >= self.next[idx(s.writer)] && self.applies(s.when).is_some())
    }

    /// Passes over an optional step of `writer` that will not be written
    /// (our own CertificateStatus, ServerKeyExchange... when not needed).
    pub fn skip(&mut self, index: usize) {
        let table = sequence(&self.kind);
        if let Some(step) = table.get(index) {
            let w = idx(step.writer);
            if self.next[w] <= index {
                self.next[w] = index + 1;
            }
        }
    }

    /// Whether `writer` has sent every required step.
    pub fn writer_done(&self, writer: Writer) -> bool {
        let table = sequence(&self.kind);
        table[self.next[idx(writer)].min(table.len())..]
            .iter()
            .filter(|s| s.writer == writer)
            .all(|s| self.applies(s.when) != Some(true))
    }

    /// Both sides have sent their Finished.
    pub fn complete(&self) -> bool {
        self.writer_done(Writer::Client) && self.writer_done(Writer::Server)
    }

    /// The step the next message of `writer` would belong to (for messages
    /// that are not in the table, such as alerts).
    pub fn current_step(&self, writer: Writer) -> Option<u8> {
        let table = sequence(&self.kind);
        table[self.next[idx(writer)].min(table.len())..]
            .iter()
            .find(|s| s.writer == writer)
            .map(|s| s.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cur: &mut FlowCursor, msgs: &[(Writer, FlowMsg)]) -> Vec<u8> {
        msgs.iter()
            .map(|(w, m)| {
                cur.advance(*w, *m)
                    .unwrap_or_else(|e| panic!("{e:?}"))
                    .number
            })
            .collect()
    }

    #[test]
    fn full_rsa_handshake() {
        let mut c = FlowCursor::new();
        let steps = run(
            &mut c,
            &[
                (C, M::ClientHello),
                (S, M::ServerHello),
                (S, M::Certificate),
                (S, M::ServerHelloDone),
                (C, M::ClientKeyExchange),
                (C, M::ChangeCipherSpec),
                (C, M::Finished),
                (S, M::ChangeCipherSpec),
                (S, M::Finished),
            ],
        );
        assert_eq!(steps, [1, 2, 2, 2, 4, 8, 8, 9, 9]);
        assert!(c.complete());
        assert!(!c.kind.resumed);
    }

    #[test]
    fn client_auth_with_and_without_certificate() {
        let mut c = FlowCursor::new();
        run(
            &mut c,
            &[
                (C, M::ClientHello),
                (S, M::ServerHello),
                (S, M::Certificate),
                (S, M::CertificateRequest),
                (S, M::ServerHelloDone),
                (C, M::Certificate),
            ],
        );
        c.mark_client_cert_sent();
        let e = c.advance(C, M::ChangeCipherSpec).unwrap_err();
        assert_eq!(e.expected, ["client_key_exchange"]);
        run(&mut c, &[(C, M::ClientKeyExchange)]);
        let e = c.advance(C, M::ChangeCipherSpec).unwrap_err();
        assert_eq!(e.expected, ["certificate_verify"]);
        assert!(c.kind.client_auth);

        let mut c = FlowCursor::new();
        run(
            &mut c,
            &[
                (C, M::ClientHello),
                (S, M::ServerHello),
                (S, M::Certificate),
                (S, M::CertificateRequest),
                (S, M::ServerHelloDone),
                (C, M::NoCertificateAlert),
                (C, M::ClientKeyExchange),
                (C, M::ChangeCipherSpec),
                (C, M::Finished),
            ],
        );
        assert!(c.kind.no_client_cert);
    }

    #[test]
    fn resumption_detected_from_server_ccs() {
        let mut c = FlowCursor::new();
        let steps = run(
            &mut c,
            &[
                (C, M::ClientHello),
                (S, M::ServerHello),
                (S, M::ChangeCipherSpec),
                (S, M::Finished),
                (C, M::ChangeCipherSpec),
                (C, M::Finished),
            ],
        );
        assert_eq!(steps, [1, 2, 9, 9, 8, 8]);
        assert!(c.kind.resumed);
        assert!(c.complete());
    }

    #[test]
    fn next_step_walks_the_table_in_order() {
        let mut c = FlowCursor::new();
        assert_eq!(c.next_step().unwrap().1.msg, M::ClientHello);
        run(&mut c, &[(C, M::ClientHello), (S, M::ServerHello)]);
        // Server's optional steps come next in table order.
        let (i, s) = c.next_step().unwrap();
        assert_eq!((s.writer, s.msg), (S, M::Certificate));
        run(&mut c, &[(S, M::Certificate)]);
        let (i2, s2) = c.next_step().unwrap();
        assert_eq!(s2.msg, M::CertificateStatus);
        assert!(i2 > i);
        c.skip(i2);
        c.skip(i2 + 1);
        c.skip(i2 + 2);
        assert_eq!(c.next_step().unwrap().1.msg, M::ServerHelloDone);
        run(&mut c, &[(S, M::ServerHelloDone)]);
        // No CertificateRequest: the client's Certificate step does not apply.
        assert_eq!(c.next_step().unwrap().1.msg, M::ClientKeyExchange);
    }

    #[test]
    fn unexpected_message_names_what_was_expected() {
        let mut c = FlowCursor::new();
        run(
            &mut c,
            &[
                (C, M::ClientHello),
                (S, M::ServerHello),
                (S, M::Certificate),
            ],
        );
        let e = c.advance(S, M::Finished).unwrap_err();
        assert_eq!(
            e.expected,
            [
                "certificate_status",
                "server_key_exchange",
                "certificate_request",
                "server_hello_done"
            ]
        );
        // Without CertificateRequest, a client Certificate is unexpected.
        run(&mut c, &[(S, M::ServerHelloDone)]);
        assert!(c.advance(C, M::Certificate).is_err());
    }
}
