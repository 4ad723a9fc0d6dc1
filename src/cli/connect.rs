//! `sslwalk connect`: sslwalk's client engine over a TCP connection.

use std::io::{self, IsTerminal, Read};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::args::ConnectArgs;
use super::tls::{self, KeyLogFile, Pumped};
use super::{CliError, LazyRenderer, Renderer, EXIT_NEGATIVE, EXIT_OK};
use crate::analyze::Analyzer;
use crate::engine::{Engine, EngineConfig, Role, Session};
use crate::event::*;
use crate::report::{RunInfo, RunSummary};

/// Splits HOST:PORT ([v6]:PORT too) into the host and the port.
pub fn split_target(target: &str) -> Result<(String, u16), CliError> {
    let bad = || CliError(format!("{target:?}: expected HOST:PORT (or [IPv6]:PORT)"));
    if let Ok(sa) = target.parse::<SocketAddr>() {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port.parse().map_err(|_| bad())?))
}

fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, CliError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| CliError(format!("{host}: cannot resolve: {e}")))?
        .collect();
    let mut last = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(CliError(match last {
        Some(e) => format!("{host}:{port}: {e}"),
        None => format!("{host}: no address"),
    }))
}

struct Run<'a> {
    args: &'a ConnectArgs,
    host: String,
    port: u16,
    keylog: KeyLogFile,
    verifier: std::sync::Arc<dyn crate::engine::CertVerifier>,
    credentials: Option<std::sync::Arc<crate::engine::Credentials>>,
    data: Vec<u8>,
}

pub fn run(a: &ConnectArgs) -> Result<u8, CliError> {
    let (host, port) = split_target(&a.target)?;
    let keylog = KeyLogFile::open(a.tls.keylog.as_ref())?;
    let verifier = tls::verifier(a.cafile.as_deref())?;
    let credentials = match (&a.cert, &a.key) {
        (Some(c), Some(k)) => Some(tls::load_credentials(c, k)?),
        _ => None,
    };
    tls::version_range(&a.tls)?;
    tls::cipher_list(a.tls.cipher.as_deref())?;
    let data = match &a.send {
        Some(s) => s.clone().into_bytes(),
        None if !io::stdin().is_terminal() => {
            let mut v = Vec::new();
            io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| CliError(format!("standard input: {e}")))?;
            v
        }
        None => Vec::new(),
    };
    let run = Run {
        args: a,
        host,
        port,
        keylog,
        verifier,
        credentials,
        data,
    };
    let out = io::BufWriter::new(io::stdout().lock());
    let mut renderer = LazyRenderer {
        inner: Renderer::new(out, &a.output, super::now()).with_secrets(a.tls.show_secrets),
        run: RunInfo::new("connect", a.target.clone()),
        begun: false,
    };
    let mut summary = RunSummary::default();
    let r = (|| -> Result<(), CliError> {
        let mut tee = Tee(vec![&mut renderer, &mut summary]);
        let mut sink = Analyzer::new(&mut tee, super::now());
        let session = run.once(1, None, &mut sink)?;
        if a.reconnect {
            match session {
                Some(s) => {
                    run.once(2, Some(s), &mut sink)?;
                }
                None => eprintln!("sslwalk: no session to resume: --reconnect skipped"),
            }
        }
        Ok(())
    })();
    if let Err(CliError(m)) = &r {
        if m.contains("output closed") {
            return Ok(EXIT_OK);
        }
    }
    let finished = renderer.finish(&summary);
    r?;
    match finished {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(EXIT_OK),
        r => r?,
    }
    Ok(if summary.all_ok() && summary.connections() > 0 {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    })
}

impl Run<'_> {
    /// One connection: handshake, optional renegotiation, data, close.
    /// Returns the session for `--reconnect`.
    fn once(
        &self,
        conn: ConnId,
        resume: Option<Session>,
        sink: &mut dyn EventSink,
    ) -> Result<Option<Session>, CliError> {
        let a = self.args;
        let timeout = Duration::from_secs(a.timeout.max(1));
        let mut stream = connect_tcp(&self.host, self.port, timeout)?;
        let mut cfg = EngineConfig::new(Role::Client);
        cfg.conn = conn;
        tls::apply(&mut cfg, &a.tls)?;
        let is_ip = self.host.parse::<IpAddr>().is_ok();
        // RFC 6066 §3: server_name carries host names, never IP literals.
        cfg.server_name = match (&a.servername, a.no_sni, is_ip) {
            (Some(n), _, _) => Some(n.clone()),
            (None, false, false) => Some(self.host.clone()),
            _ => None,
        };
        cfg.verify_name = a.servername.clone().or_else(|| Some(self.host.clone()));
        cfg.verifier = Some(self.verifier.clone());
        cfg.insecure = a.insecure;
        cfg.credentials = self.credentials.clone();
        cfg.fallback_scsv = a.fallback_scsv;
        cfg.resume = resume;
        let mut engine = Engine::new(cfg);
        let io_err = |e: io::Error| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                CliError("output closed".into())
            } else {
                CliError(format!("{}:{}: {e}", self.host, self.port))
            }
        };
        let info = ConnectionInfo {
            client: stream.local_addr().ok(),
            server: stream.peer_addr().ok(),
            tcp_handshake_seen: true,
        };
        sink.emit(&Event {
            seq: 0,
            conn,
            dir: None,
            origin: Origin::Sent,
            time: Some(crate::engine::system_now()),
            kind: EventKind::Connection(info),
        })
        .map_err(io_err)?;
        let _ = engine.start(sink);
        let state = tls::pump(&mut engine, &mut stream, sink, timeout, &mut |e, _| {
            e.is_established()
        })
        .map_err(io_err)?;
        if state == Pumped::TimedOut {
            eprintln!(
                "sslwalk: {}:{}: no answer within {} s",
                self.host, self.port, a.timeout
            );
        }
        if engine.is_established() {
            self.keylog.log(&engine);
            if a.renegotiate && conn == 1 {
                let before = engine.handshakes();
                if engine.renegotiate(sink).is_ok() {
                    tls::pump(&mut engine, &mut stream, sink, timeout, &mut |e, _| {
                        e.is_established() && e.handshakes() > before || e.error().is_some()
                    })
                    .map_err(io_err)?;
                    self.keylog.log(&engine);
                }
            }
            if engine.is_established()
                && !self.data.is_empty()
                && engine.send_application_data(&self.data, sink).is_ok()
            {
                // Read the answer until the server goes quiet or closes.
                let quiet = Duration::from_millis(1500).min(timeout);
                let _ = tls::pump(&mut engine, &mut stream, sink, quiet, &mut |_, _| false);
            }
            let _ = engine.close(sink);
            let _ = tls::flush(&mut engine, &mut stream);
        }
        let session = engine.session().cloned();
        engine.finish(sink).map_err(io_err)?;
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("example.com:443").unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(split_target("[::1]:8443").unwrap(), ("::1".into(), 8443));
        assert_eq!(
            split_target("127.0.0.1:1").unwrap(),
            ("127.0.0.1".into(), 1)
        );
        assert!(split_target("example.com").is_err());
        assert!(split_target(":443").is_err());
        assert!(split_target("h:99999").is_err());
    }
}
