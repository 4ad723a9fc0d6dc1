//! `sslwalk serve`: a test server on sslwalk's engine. Every connection
//! runs in its own thread with its own engine; events go, one at a time,
//! to one shared renderer, each connection numbered. A slow or silent
//! client only holds its own thread (and is dropped after --timeout).
//! Threads wait in accept() and are kept for the next connection once
//! theirs ends, and the output is written whenever a connection waits for
//! its peer (a few writes per handshake instead of one per line).

use std::io::{self, BufWriter};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::args::ServeArgs;
use super::tls::{self, KeyLogFile, Pumped, SharedSink};
use super::{CliError, LazyRenderer, Renderer, EXIT_NEGATIVE, EXIT_OK};
use crate::analyze::Analyzer;
use crate::engine::{ClientAuth, Credentials, Engine, EngineConfig, Role, SessionCache};
use crate::event::*;
use crate::report::{RunInfo, RunSummary};
use crate::wire::suites;

/// The renderer and the outcome counts, shared by every connection. The
/// renderer writes into a buffer that goes to stdout when a connection
/// waits for its peer or ends (`EventSink::flush`): a server's output is
/// read live.
struct Output {
    renderer: LazyRenderer<BufWriter<io::Stdout>>,
    summary: RunSummary,
}

impl EventSink for Output {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        self.summary.emit(ev)?;
        self.renderer.emit(ev)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.renderer.flush()
    }
}

/// An ephemeral self-signed RSA 2048 certificate for localhost (rcgen).
fn ephemeral_credentials() -> Result<Arc<Credentials>, CliError> {
    use rsa::pkcs8::EncodePrivateKey;
    let fail = |what: &str| CliError(format!("ephemeral certificate: {what}"));
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|_| fail("key generation failed"))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|_| fail("key encoding failed"))?;
    let key_pair = rcgen::KeyPair::try_from(pkcs8.as_bytes()).map_err(|e| fail(&e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(|e| fail(&e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sslwalk test server (localhost)");
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| fail(&e.to_string()))?;
    Ok(Arc::new(Credentials {
        chain: vec![cert.der().to_vec()],
        key,
    }))
}

pub fn run(a: &ServeArgs) -> Result<u8, CliError> {
    let creds = match (&a.cert, &a.key) {
        (Some(c), Some(k)) => tls::load_credentials(c, k)?,
        _ => ephemeral_credentials()?,
    };
    // Check the TLS choices before listening.
    tls::version_range(&a.tls)?;
    tls::cipher_list(a.tls.cipher.as_deref())?;
    let verifier = match &a.cafile {
        Some(p) => Some(tls::verifier(Some(p))?),
        None => None,
    };
    let keylog = KeyLogFile::open(a.tls.keylog.as_ref())?;
    let addr: SocketAddr = match (&a.listen, a.port) {
        (Some(l), _) => l
            .parse()
            .map_err(|_| CliError(format!("--listen {l:?}: expected ADDR:PORT")))?,
        (None, p) => SocketAddr::from(([127, 0, 0, 1], p.unwrap_or(4433))),
    };
    let listener = TcpListener::bind(addr).map_err(|e| CliError(format!("{addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError(format!("{addr}: {e}")))?;
    let fingerprint = crate::pki::summarize(&creds.chain[0])
        .map(|s| s.sha256_fingerprint)
        .unwrap_or_default();
    eprintln!(
        "sslwalk: test server listening on {bound} (certificate SHA-256 {fingerprint}); not for production use"
    );
    let output = Arc::new(Mutex::new(Output {
        renderer: LazyRenderer {
            inner: Renderer::new(
                BufWriter::with_capacity(1 << 16, io::stdout()),
                &a.output,
                super::now(),
            )
            .with_secrets(a.tls.show_secrets),
            run: RunInfo::new("serve", bound.to_string()),
            begun: false,
        },
        summary: RunSummary::default(),
    }));
    let server = Arc::new(Server {
        args: ServeSettings::from(a),
        creds,
        verifier,
        keylog,
        cache: (!a.no_session_cache).then(|| Arc::new(Mutex::new(SessionCache::default()))),
        next_conn: AtomicU32::new(1),
    });
    if a.once {
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) => accept_failed(&e),
            }
        };
        let conn = server.next_conn.fetch_add(1, Ordering::Relaxed);
        server.handle(conn, stream, &output);
        let out = match Arc::try_unwrap(output) {
            Ok(m) => m
                .into_inner()
                .map_err(|_| CliError("output lock poisoned".into()))?,
            Err(_) => return Err(CliError("output still shared".into())),
        };
        let summary = out.summary;
        match out.renderer.finish(&summary) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            r => r?,
        }
        return Ok(if summary.all_ok() {
            EXIT_OK
        } else {
            EXIT_NEGATIVE
        });
    }
    Arc::new(Acceptors {
        listener,
        server,
        output,
        waiting: AtomicUsize::new(1),
    })
    .run();
    Ok(EXIT_OK)
}

/// Says why accept failed and pauses a little, so that a lasting failure
/// (out of file descriptors) does not spin.
fn accept_failed(e: &io::Error) {
    eprintln!("sslwalk: accept: {e}");
    std::thread::sleep(Duration::from_millis(50));
}

/// The connection threads. Each waits in accept() itself, so the kernel
/// hands a new connection straight to an idle thread (no hand-over between
/// threads); one that takes a connection while no other is waiting starts
/// another first, so a slow client never keeps the next one waiting.
/// Threads stay for the next connection once theirs ends.
struct Acceptors {
    listener: TcpListener,
    server: Arc<Server>,
    output: Arc<Mutex<Output>>,
    /// Threads in (or on their way to) accept().
    waiting: AtomicUsize,
}

impl Acceptors {
    fn run(self: Arc<Self>) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) => {
                    accept_failed(&e);
                    continue;
                }
            };
            if self.waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.waiting.fetch_add(1, Ordering::AcqRel);
                let next = self.clone();
                std::thread::spawn(move || next.run());
            }
            let conn = self.server.next_conn.fetch_add(1, Ordering::Relaxed);
            self.server.handle(conn, stream, &self.output);
            self.waiting.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The parts of the arguments a connection thread needs.
struct ServeSettings {
    tls: super::args::TlsArgs,
    client_auth: ClientAuth,
    http: bool,
    allow_renegotiation: bool,
    timeout: Duration,
}

impl From<&ServeArgs> for ServeSettings {
    fn from(a: &ServeArgs) -> Self {
        Self {
            tls: a.tls.clone(),
            client_auth: if a.require_client_cert {
                ClientAuth::Require
            } else if a.verify_client {
                ClientAuth::Request
            } else {
                ClientAuth::None
            },
            http: a.http,
            allow_renegotiation: !a.no_renegotiation,
            timeout: Duration::from_secs(a.timeout.max(1)),
        }
    }
}

struct Server {
    args: ServeSettings,
    creds: Arc<Credentials>,
    verifier: Option<Arc<dyn crate::engine::CertVerifier>>,
    keylog: KeyLogFile,
    cache: Option<Arc<Mutex<SessionCache>>>,
    next_conn: AtomicU32,
}

impl Server {
    fn handle(&self, conn: ConnId, mut stream: TcpStream, output: &Arc<Mutex<Output>>) {
        let mut shared = SharedSink::new(output.clone());
        let mut sink = Analyzer::new(&mut shared, super::now());
        let _ = stream.set_nodelay(true);
        let mut cfg = EngineConfig::new(Role::Server);
        cfg.conn = conn;
        if tls::apply(&mut cfg, &self.args.tls).is_err() {
            return;
        }
        cfg.credentials = Some(self.creds.clone());
        cfg.client_auth = self.args.client_auth;
        cfg.verifier = self.verifier.clone();
        cfg.session_cache = self.cache.clone();
        cfg.allow_renegotiation = self.args.allow_renegotiation;
        let mut engine = Engine::new(cfg);
        let _ = sink.emit(&Event {
            seq: 0,
            conn,
            dir: None,
            origin: Origin::Received,
            time: Some(crate::engine::system_now()),
            kind: EventKind::Connection(ConnectionInfo {
                client: stream.peer_addr().ok(),
                server: stream.local_addr().ok(),
                tcp_handshake_seen: true,
            }),
        });
        let timeout = self.args.timeout;
        let r = tls::pump(&mut engine, &mut stream, &mut sink, timeout, &mut |e, _| {
            e.is_established()
        });
        if matches!(r, Ok(Pumped::Done)) && engine.is_established() {
            self.keylog.log(&engine);
            if self.args.http {
                self.answer_http(&mut engine, &mut stream, &mut sink, timeout);
            } else {
                // Echo until the client closes or goes quiet.
                let _ = tls::pump(&mut engine, &mut stream, &mut sink, timeout, &mut |e, s| {
                    let data = e.take_application_data();
                    if !data.is_empty() {
                        let _ = e.send_application_data(&data, s);
                    }
                    e.is_closed()
                });
                if engine.handshakes() > 1 {
                    self.keylog.log(&engine);
                }
            }
        }
        let _ = engine.close(&mut sink);
        let _ = tls::flush(&mut engine, &mut stream);
        let _ = engine.finish(&mut sink);
        let _ = sink.flush();
    }

    /// `--http`: read a request, answer with a page describing the
    /// handshake, close.
    fn answer_http(
        &self,
        engine: &mut Engine,
        stream: &mut TcpStream,
        sink: &mut dyn EventSink,
        timeout: Duration,
    ) {
        let mut request = Vec::new();
        let _ = tls::pump(engine, stream, sink, timeout, &mut |e, _| {
            request.extend(e.take_application_data());
            request.windows(4).any(|w| w == b"\r\n\r\n") || e.is_closed()
        });
        if engine.is_closed() {
            return;
        }
        let first_line =
            String::from_utf8_lossy(request.split(|b| *b == b'\n').next().unwrap_or(&[]))
                .trim()
                .to_string();
        let suite = engine.cipher_suite().and_then(|s| suites::lookup(s.0));
        let mut body = String::new();
        body.push_str("sslwalk test server: your handshake\n\n");
        body.push_str(&format!("request:       {first_line}\n"));
        body.push_str(&format!(
            "version:       {}\n",
            engine.version().and_then(|v| v.name()).unwrap_or("?")
        ));
        if let Some(s) = suite {
            body.push_str(&format!(
                "cipher suite:  0x{:04X} {} ({})\n",
                s.code,
                s.iana,
                s.openssl.unwrap_or("-")
            ));
        }
        body.push_str(&format!(
            "resumed:       {}\n",
            if engine.resumed() { "yes" } else { "no" }
        ));
        match engine
            .peer_certificates()
            .first()
            .map(|d| crate::pki::summarize(d))
        {
            Some(Ok(c)) => body.push_str(&format!("client cert:   {}\n", c.subject)),
            _ => body.push_str("client cert:   none\n"),
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = engine.send_application_data(response.as_bytes(), sink);
        let _ = tls::flush(engine, stream);
    }
}
