//! `sslwalk demo`: sslwalk's server and client in one process, over a
//! loopback TCP connection, with an embedded test PKI, narrated step by
//! step. Each message is shown once, as it is sent; the notes (such as the
//! client's verdict on the certificate, step 3) and the client's outcome
//! come from their own side.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::args::DemoArgs;
use super::tls;
use super::{CliError, LazyRenderer, Renderer, EXIT_NEGATIVE, EXIT_OK};
use crate::analyze::Analyzer;
use crate::engine::{ClientAuth, Credentials, Engine, EngineConfig, Role, Session, SessionCache};
use crate::event::*;
use crate::report::{RunInfo, RunSummary};

/// The embedded test PKI: a CA, a server certificate for `localhost` and a
/// client certificate, both RSA 2048 and signed by the CA (the same files
/// the peer fixtures use; see fixtures/README.md).
const CA_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/ca.crt");
const SERVER_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../../fixtures/peers/keys/server.key");
const CLIENT_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/client.crt");
const CLIENT_KEY: &[u8] = include_bytes!("../../fixtures/peers/keys/client.key");

fn embedded(cert: &[u8], key: &[u8]) -> Result<Arc<Credentials>, CliError> {
    Ok(Arc::new(Credentials {
        chain: crate::pki::load_certificates(cert)
            .map_err(|e| CliError(format!("embedded certificate: {e}")))?,
        key: crate::pki::load_rsa_private_key(key)
            .map_err(|e| CliError(format!("embedded key: {e}")))?,
    }))
}

/// Passes on what one side of the demo should show: the messages it sends
/// (the other side's copy would repeat them), its notes and flow events,
/// and, for the client, the outcome.
struct Side<'a> {
    inner: &'a mut dyn EventSink,
    client: bool,
}

impl EventSink for Side<'_> {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        let show = match &ev.kind {
            EventKind::Message(_) | EventKind::Record(_) => ev.origin == Origin::Sent,
            EventKind::Outcome(_) => self.client,
            EventKind::Connection(_) => self.client,
            EventKind::Note(_) | EventKind::Flow(_) | EventKind::Crypto(_) => true,
        };
        if show {
            self.inner.emit(ev)
        } else {
            Ok(())
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One engine with its socket.
struct End {
    engine: Engine,
    stream: TcpStream,
}

impl End {
    /// Sends what the engine has; returns how many bytes.
    fn flush(&mut self) -> io::Result<usize> {
        let out = self.engine.take_output();
        self.stream.write_all(&out)?;
        Ok(out.len())
    }
}

/// Moves bytes until neither side has anything to say. Bytes go through
/// the kernel's loopback; since we know how many were written, we read
/// exactly that many, which keeps the demo deterministic.
fn settle(
    c: &mut End,
    s: &mut End,
    cs: &mut dyn EventSink,
    ss: &mut dyn EventSink,
) -> io::Result<()> {
    for _ in 0..64 {
        let n = c.flush()?;
        if n > 0 {
            let mut buf = vec![0u8; n];
            s.stream.read_exact(&mut buf)?;
            let _ = s.engine.feed(&buf, ss);
        }
        let m = s.flush()?;
        if m > 0 {
            let mut buf = vec![0u8; m];
            c.stream.read_exact(&mut buf)?;
            let _ = c.engine.feed(&buf, cs);
        }
        if n == 0 && m == 0 {
            break;
        }
    }
    Ok(())
}

pub fn run(a: &DemoArgs) -> Result<u8, CliError> {
    let suites = tls::cipher_list(a.cipher.as_deref())?;
    let version = a.protocol.map(tls::version_of);
    if let Some(v) = version {
        tls::check_suites_fit(&suites, v, v)?;
    }
    let server_creds = embedded(SERVER_CERT, SERVER_KEY)?;
    let client_creds = embedded(CLIENT_CERT, CLIENT_KEY)?;
    let roots = crate::verify::TrustStore::from_pem(CA_CERT);
    let verifier: Arc<dyn crate::engine::CertVerifier> = Arc::new(tls::ChainVerifierAdapter(
        crate::verify::ChainVerifier::new(roots),
    ));
    let cache = Arc::new(Mutex::new(SessionCache::default()));
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| CliError(format!("loopback: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError(format!("loopback: {e}")))?;

    let out = io::BufWriter::new(io::stdout().lock());
    let mut renderer = LazyRenderer {
        inner: Renderer::new(out, &a.output, super::now()),
        run: RunInfo::new("demo", addr.to_string()),
        begun: false,
    };
    let mut summary = RunSummary::default();
    let config = |role: Role, conn: ConnId, resume: Option<Session>| {
        let mut cfg = EngineConfig::new(role);
        cfg.conn = conn;
        cfg.cipher_suites = suites.clone();
        if let Some(v) = version {
            cfg.min_version = v;
            cfg.max_version = v;
        }
        match role {
            Role::Server => {
                cfg.credentials = Some(server_creds.clone());
                cfg.session_cache = Some(cache.clone());
                if a.client_auth {
                    cfg.client_auth = ClientAuth::Require;
                    cfg.verifier = Some(verifier.clone());
                }
            }
            Role::Client => {
                cfg.server_name = Some("localhost".into());
                cfg.verifier = Some(verifier.clone());
                if a.client_auth {
                    cfg.credentials = Some(client_creds.clone());
                }
                cfg.resume = resume;
            }
        }
        cfg
    };
    let r = (|| -> io::Result<()> {
        let mut tee = Tee(vec![&mut renderer, &mut summary]);
        let mut sink = Analyzer::new(&mut tee, super::now());
        let mut session = None;
        let rounds = if a.resume { 2 } else { 1 };
        for conn in 1..=rounds {
            let client_stream = TcpStream::connect(addr)?;
            let (server_stream, _) = listener.accept()?;
            let mut c = End {
                engine: Engine::new(config(Role::Client, conn, session.take())),
                stream: client_stream,
            };
            let mut s = End {
                engine: Engine::new(config(Role::Server, conn, None)),
                stream: server_stream,
            };
            let sink: &mut dyn EventSink = &mut sink;
            sink.emit(&Event {
                seq: 0,
                conn,
                dir: None,
                origin: Origin::Sent,
                time: Some(crate::engine::system_now()),
                kind: EventKind::Connection(ConnectionInfo {
                    client: c.stream.local_addr().ok(),
                    server: s.stream.local_addr().ok(),
                    tcp_handshake_seen: true,
                }),
            })?;
            // Both sides write into the one renderer, each filtered.
            let shared = std::cell::RefCell::new(sink);
            let mut cs = SideCell {
                cell: &shared,
                client: true,
            };
            let mut ss = SideCell {
                cell: &shared,
                client: false,
            };
            let _ = c.engine.start(&mut cs);
            settle(&mut c, &mut s, &mut cs, &mut ss)?;
            if c.engine.is_established() && a.renegotiate && conn == 1 {
                let _ = c.engine.renegotiate(&mut cs);
                settle(&mut c, &mut s, &mut cs, &mut ss)?;
            }
            if c.engine.is_established() {
                let _ = c.engine.send_application_data(a.send.as_bytes(), &mut cs);
                settle(&mut c, &mut s, &mut cs, &mut ss)?;
                // The server echoes what it got.
                let got = s.engine.take_application_data();
                if !got.is_empty() {
                    let _ = s.engine.send_application_data(&got, &mut ss);
                    settle(&mut c, &mut s, &mut cs, &mut ss)?;
                }
                let _ = c.engine.take_application_data();
                let _ = c.engine.close(&mut cs);
                settle(&mut c, &mut s, &mut cs, &mut ss)?;
            }
            session = c.engine.session().cloned();
            c.engine.finish(&mut cs)?;
            s.engine.finish(&mut ss)?;
        }
        Ok(())
    })();
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(EXIT_OK),
        Err(e) => return Err(CliError(format!("demo: {e}"))),
        Ok(()) => {}
    }
    match renderer.finish(&summary) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(EXIT_OK),
        r => r?,
    }
    Ok(if summary.all_ok() {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    })
}

/// A [`Side`] over a shared sink.
struct SideCell<'a, 'b> {
    cell: &'a std::cell::RefCell<&'b mut dyn EventSink>,
    client: bool,
}

impl EventSink for SideCell<'_, '_> {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        let mut guard = self.cell.borrow_mut();
        Side {
            inner: &mut **guard,
            client: self.client,
        }
        .emit(ev)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.cell.borrow_mut().flush()
    }
}
