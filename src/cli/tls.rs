//! What `connect`, `serve` and `demo` share: turning TLS arguments into an
//! engine configuration, loading credentials, key logging, and the socket
//! pump that moves bytes between an engine and a TCP stream.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::args::{TlsArgs, VersionArg};
use super::CliError;
use crate::engine::{Credentials, Engine, EngineConfig, EngineError};
use crate::event::{Event, EventSink};
use crate::wire::{suites, CipherSuite, ProtocolVersion};

pub fn version_of(v: VersionArg) -> ProtocolVersion {
    match v {
        VersionArg::Ssl3 => ProtocolVersion::SSLv3,
        VersionArg::Tls1 => ProtocolVersion::TLSv1_0,
        VersionArg::Tls1_1 => ProtocolVersion::TLSv1_1,
        VersionArg::Tls1_2 => ProtocolVersion::TLSv1_2,
    }
}

/// The version range the arguments ask for (default SSL 3.0 to TLS 1.2).
pub fn version_range(t: &TlsArgs) -> Result<(ProtocolVersion, ProtocolVersion), CliError> {
    let pinned = [
        (t.ssl3, ProtocolVersion::SSLv3),
        (t.tls1, ProtocolVersion::TLSv1_0),
        (t.tls1_1, ProtocolVersion::TLSv1_1),
        (t.tls1_2, ProtocolVersion::TLSv1_2),
    ]
    .into_iter()
    .find(|(on, _)| *on)
    .map(|(_, v)| v);
    if let Some(v) = pinned {
        return Ok((v, v));
    }
    let min = t.min_version.map_or(ProtocolVersion::SSLv3, version_of);
    let max = t.max_version.map_or(ProtocolVersion::TLSv1_2, version_of);
    if min.0 > max.0 {
        return Err(CliError(format!(
            "--min-version {min:?} is above --max-version {max:?}"
        )));
    }
    Ok((min, max))
}

/// `--cipher` list: IANA or OpenSSL names separated by ':' or ','; `ALL`
/// for every implemented suite, `DEFAULT` for the defaults.
pub fn cipher_list(list: Option<&str>) -> Result<Vec<CipherSuite>, CliError> {
    let Some(list) = list else {
        return Ok(crate::engine::supported_suites().to_vec());
    };
    let mut out = Vec::new();
    for name in list
        .split([':', ','])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let found: Vec<CipherSuite> = match name.to_ascii_uppercase().as_str() {
            "ALL" => crate::engine::implemented_suites().to_vec(),
            "DEFAULT" => crate::engine::supported_suites().to_vec(),
            _ => {
                let info = suites::by_name(name)
                    .ok_or_else(|| CliError(format!("--cipher: unknown cipher suite {name:?}")))?;
                let s = CipherSuite(info.code);
                if !crate::engine::implemented_suites().contains(&s) {
                    return Err(CliError(format!(
                        "--cipher: {} is not implemented by sslwalk's engine (RSA key exchange only)",
                        info.iana
                    )));
                }
                vec![s]
            }
        };
        for s in found {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    if out.is_empty() {
        return Err(CliError("--cipher: empty list".into()));
    }
    Ok(out)
}

/// A usage error when none of `suites` exists in the versions chosen (GCM
/// and SHA-256 suites are TLS 1.2 only; export suites end at TLS 1.0).
pub fn check_suites_fit(
    suites: &[CipherSuite],
    min: ProtocolVersion,
    max: ProtocolVersion,
) -> Result<(), CliError> {
    if suites
        .iter()
        .any(|s| crate::engine::suite_usable(*s, min, max))
    {
        Ok(())
    } else {
        Err(CliError(format!(
            "none of the chosen cipher suites exists in {:?} to {:?}",
            min, max
        )))
    }
}

/// A certificate chain and its RSA key from files (PEM or DER).
pub fn load_credentials(cert: &Path, key: &Path) -> Result<Arc<Credentials>, CliError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| CliError(format!("{}: {e}", p.display())));
    let chain = crate::pki::load_certificates(&read(cert)?)
        .map_err(|e| CliError(format!("{}: {e}", cert.display())))?;
    let key_pair = crate::pki::load_rsa_private_key(&read(key)?)
        .map_err(|e| CliError(format!("{}: {e}", key.display())))?;
    let leaf_key = crate::pki::rsa_public_key(&chain[0]).map_err(|e| {
        CliError(format!(
            "{}: the certificate's key is not RSA: {e}",
            cert.display()
        ))
    })?;
    if rsa::RsaPublicKey::from(&key_pair) != leaf_key {
        return Err(CliError(format!(
            "{} does not belong to the certificate in {}",
            key.display(),
            cert.display()
        )));
    }
    Ok(Arc::new(Credentials {
        chain,
        key: key_pair,
    }))
}

/// Applies the version, suite and extension choices to `cfg`.
pub fn apply(cfg: &mut EngineConfig, t: &TlsArgs) -> Result<(), CliError> {
    let (min, max) = version_range(t)?;
    cfg.min_version = min;
    cfg.max_version = max;
    cfg.cipher_suites = cipher_list(t.cipher.as_deref())?;
    check_suites_fit(&cfg.cipher_suites, min, max)?;
    cfg.extended_master_secret = !t.no_ems;
    cfg.secure_renegotiation = !t.no_secure_renegotiation;
    Ok(())
}

/// Appends NSS key log lines to a file (`--keylog`, SSLKEYLOGFILE).
#[derive(Clone)]
pub struct KeyLogFile(Option<Arc<Mutex<std::fs::File>>>);

impl KeyLogFile {
    pub fn open(arg: Option<&PathBuf>) -> Result<Self, CliError> {
        let path = arg.cloned().or_else(|| {
            std::env::var_os("SSLKEYLOGFILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        let Some(path) = path else {
            return Ok(Self(None));
        };
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CliError(format!("key log {}: {e}", path.display())))?;
        Ok(Self(Some(Arc::new(Mutex::new(f)))))
    }

    pub fn log(&self, engine: &Engine) {
        if let (Some(f), Some(line)) = (&self.0, engine.keylog_line()) {
            if let Ok(mut f) = f.lock() {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

/// One thread's way into a sink shared by several (serve): events are
/// kept until the thread flushes (when it waits for its peer, or ends),
/// then passed on under one lock. The lines of one connection's batch stay
/// together, and the threads meet at the lock a few times per handshake
/// instead of once per event.
pub struct SharedSink<S: EventSink + Send> {
    shared: Arc<Mutex<S>>,
    pending: Vec<Event>,
}

impl<S: EventSink + Send> SharedSink<S> {
    pub fn new(shared: Arc<Mutex<S>>) -> Self {
        Self {
            shared,
            pending: Vec::new(),
        }
    }
}

impl<S: EventSink + Send> EventSink for SharedSink<S> {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        self.pending.push(ev.clone());
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        let mut s = self
            .shared
            .lock()
            .map_err(|_| io::Error::other("output lock poisoned"))?;
        for ev in self.pending.drain(..) {
            s.emit(&ev)?;
        }
        s.flush()
    }
}

/// Why a pump stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Pumped {
    /// The condition holds.
    Done,
    /// The peer closed the TCP connection.
    Eof,
    /// Nothing arrived in time.
    TimedOut,
    /// The engine failed (its alert was sent).
    Failed,
}

/// Sends what the engine has to send.
pub fn flush(engine: &mut Engine, stream: &mut TcpStream) -> io::Result<()> {
    let out = engine.take_output();
    if !out.is_empty() {
        stream.write_all(&out)?;
    }
    Ok(())
}

/// Moves bytes between `engine` and `stream` until `done(engine)` holds,
/// the peer closes, the engine fails, or `timeout` passes without data.
pub fn pump(
    engine: &mut Engine,
    stream: &mut TcpStream,
    sink: &mut dyn EventSink,
    timeout: Duration,
    done: &mut dyn FnMut(&mut Engine, &mut dyn EventSink) -> bool,
) -> io::Result<Pumped> {
    let mut buf = vec![0u8; 32 * 1024];
    stream.set_read_timeout(Some(timeout))?;
    loop {
        flush(engine, stream)?;
        if engine.error().is_some() && !engine.is_established() {
            return Ok(Pumped::Failed);
        }
        if done(engine, sink) {
            flush(engine, stream)?;
            return Ok(Pumped::Done);
        }
        // `done` may have queued an answer (the echo server does): send it
        // before waiting for the peer.
        flush(engine, stream)?;
        if engine.is_closed() {
            return Ok(Pumped::Done);
        }
        // About to wait for the peer: show what happened so far.
        sink.flush()?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Pumped::TimedOut);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            engine.peer_closed(sink);
            return Ok(Pumped::Eof);
        }
        match engine.feed(&buf[..n], sink) {
            Ok(()) => {}
            Err(EngineError::Internal("the event sink failed")) => {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))
            }
            Err(_) => {
                let _ = flush(engine, stream);
                return Ok(Pumped::Failed);
            }
        }
    }
}

/// Steps 3 and 6 through `verify::ChainVerifier`.
pub struct ChainVerifierAdapter(pub crate::verify::ChainVerifier);

impl crate::engine::CertVerifier for ChainVerifierAdapter {
    fn verify(
        &self,
        chain: &[Vec<u8>],
        server_name: Option<&str>,
        now: i64,
    ) -> Result<(), (crate::wire::AlertDescription, String)> {
        self.0
            .verify(chain, server_name, now)
            .map(|_| ())
            .map_err(|e| (e.alert(), e.to_string()))
    }
}

/// The verifier for `--cafile`, or the system store (SSL_CERT_FILE
/// overrides where it is).
pub fn verifier(cafile: Option<&Path>) -> Result<Arc<dyn crate::engine::CertVerifier>, CliError> {
    let store = match cafile {
        Some(p) => crate::verify::TrustStore::from_pem_file(p)
            .map_err(|e| CliError(format!("{}: {e}", p.display())))?,
        None => {
            crate::verify::TrustStore::system(std::env::var_os("SSL_CERT_FILE").map(PathBuf::from))
                .map_err(|e| CliError(format!("system trust store: {e}")))?
        }
    };
    if store.is_empty() {
        return Err(CliError(
            "the trust store holds no usable certificate".into(),
        ));
    }
    Ok(Arc::new(ChainVerifierAdapter(
        crate::verify::ChainVerifier::new(store),
    )))
}
