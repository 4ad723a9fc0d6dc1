//! The command line: arguments ([`args`], what the user typed) are resolved
//! here into a producer, a chain of sinks (analyzer, renderer, summary) and
//! an exit code. Only this module touches argv, the environment, files,
//! stdout/stderr and exit codes.
//!
//! Exit codes (ARCHITECTURE.md): 0 when every handshake or decoded
//! conversation completed; 1 for a negative protocol outcome (an alert, a
//! conversation that did not complete, a truncated capture, no TLS at all);
//! 2 for usage, input and internal errors. A broken pipe is not an error.

pub mod args;
mod connect;
mod demo;
mod serve;
mod tls;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::analyze::Analyzer;
use crate::capture::ahead::AheadLink;
use crate::capture::observer::{Observer, ObserverFilter, Secrets};
use crate::capture::{self, CaptureOptions};
use crate::crypto::keylog;
use crate::event::{CryptoEvent, Event, EventKind, EventSink, RecordDetail, Tee, Timestamp};
use crate::report::{JsonRenderer, Palette, RunInfo, RunSummary, TextOptions, TextRenderer};
use args::{Cli, ColorChoice, Command, DecodeArgs, Format, OutputArgs};

/// Exit code: everything completed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a negative protocol outcome.
pub const EXIT_NEGATIVE: u8 = 1;
/// Exit code: usage, input or internal error.
pub const EXIT_ERROR: u8 = 2;

/// An error on the way to the user: one line on stderr, exit code 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        Self(format!("output error: {e}"))
    }
}

/// Runs a parsed command line; returns the exit code. Diagnostics have
/// been written to stderr.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Decode(a) => decode(&a),
        Command::Connect(a) => connect::run(&a),
        Command::Serve(a) => serve::run(&a),
        Command::Demo(a) => demo::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("sslwalk: {msg}");
            EXIT_ERROR
        }
    }
}

/// The renderer the user chose.
enum Renderer<W: Write> {
    Text(Box<TextRenderer<W>>),
    Json(JsonRenderer<W>),
}

/// A renderer whose opening lines are written with the first event (or at
/// the end), so that an input rejected outright leaves stdout empty.
struct LazyRenderer<W: Write> {
    inner: Renderer<W>,
    run: RunInfo,
    begun: bool,
}

impl<W: Write> LazyRenderer<W> {
    fn start(&mut self) -> io::Result<()> {
        if !self.begun {
            self.begun = true;
            self.inner.begin(&self.run)?;
        }
        Ok(())
    }
    fn finish(mut self, s: &RunSummary) -> io::Result<()> {
        self.start()?;
        self.inner.finish(s)
    }
}

impl<W: Write> EventSink for LazyRenderer<W> {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        self.start()?;
        self.inner.emit(ev)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        self.inner.wants(detail)
    }
}

impl<W: Write> Renderer<W> {
    fn new(out: W, o: &OutputArgs, now: Option<Timestamp>) -> Self {
        match o.format() {
            Format::Json => Self::Json(JsonRenderer::new(out).with_verbosity(o.verbose)),
            Format::Text => Self::Text(Box::new(TextRenderer::new(
                out,
                TextOptions {
                    verbosity: o.verbose,
                    palette: if use_color(o.color) {
                        Palette::ansi()
                    } else {
                        Palette::plain()
                    },
                    now,
                    show_secrets: false,
                },
            ))),
        }
    }
    /// Show session secrets (`--show-secrets`).
    fn with_secrets(self, show: bool) -> Self {
        match self {
            Self::Text(mut r) => {
                r.set_show_secrets(show);
                Self::Text(r)
            }
            Self::Json(r) => Self::Json(r.with_secrets(show)),
        }
    }
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        match self {
            Self::Text(r) => r.begin(run),
            Self::Json(r) => r.begin(run),
        }
    }
    /// Writes the closing lines and flushes the output.
    fn finish(self, s: &RunSummary) -> io::Result<()> {
        match self {
            Self::Text(mut r) => {
                r.finish(s)?;
                (*r).into_inner().flush()
            }
            Self::Json(mut r) => {
                r.finish(s)?;
                r.into_inner().flush()
            }
        }
    }
}

impl<W: Write> EventSink for Renderer<W> {
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        match self {
            Self::Text(r) => r.emit(ev),
            Self::Json(r) => r.emit(ev),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Text(r) => r.flush(),
            Self::Json(r) => r.flush(),
        }
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        match self {
            Self::Text(r) => r.wants(detail),
            Self::Json(r) => r.wants(detail),
        }
    }
}

/// Colour for text on stdout: `--color`, then NO_COLOR (no-color.org),
/// TERM=dumb, and whether stdout is a terminal.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
                && io::stdout().is_terminal()
        }
    }
}

pub(crate) fn now() -> Option<Timestamp> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(Timestamp {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    })
}

/// `--host` values: `ADDR`, `ADDR:PORT`, `[V6]:PORT`, `:PORT`.
fn parse_host(s: &str) -> Result<(Option<IpAddr>, Option<u16>), CliError> {
    let bad = || {
        CliError(format!(
            "--host {s:?}: expected ADDR, ADDR:PORT, [ADDR]:PORT or :PORT"
        ))
    };
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((Some(ip), None));
    }
    if let Some(port) = s.strip_prefix(':') {
        return Ok((None, Some(port.parse().map_err(|_| bad())?)));
    }
    let sa: SocketAddr = s.parse().map_err(|_| bad())?;
    Ok((Some(sa.ip()), Some(sa.port())))
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// The secrets `decode` decrypts with: `--key` files, `--keylog` and
/// SSLKEYLOGFILE. Malformed key log lines are reported and skipped.
fn decode_secrets(a: &DecodeArgs) -> Result<Secrets, CliError> {
    let mut secrets = Secrets {
        show_data: a.show_data,
        ..Secrets::default()
    };
    for path in &a.keys {
        let bytes =
            std::fs::read(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        let key = crate::pki::load_rsa_private_key(&bytes)
            .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        secrets.server_keys.push(key);
    }
    let from_env = std::env::var_os("SSLKEYLOGFILE")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    for (path, required) in [(a.keylog.clone(), true), (from_env, false)] {
        let Some(path) = path else { continue };
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if required => return Err(CliError(format!("{}: {e}", path.display()))),
            Err(e) => {
                eprintln!("sslwalk: SSLKEYLOGFILE {}: {e}; not used", path.display());
                continue;
            }
        };
        for e in secrets.keylog.add_text(&text) {
            eprintln!("sslwalk: {}: {e}; line skipped", path.display());
        }
    }
    Ok(secrets)
}

/// `--write-keylog`: the secrets of every session decrypted, as
/// `CLIENT_RANDOM` lines, each once.
struct KeyLogOut {
    out: BufWriter<File>,
    seen: std::collections::HashSet<[u8; 32]>,
}

impl EventSink for KeyLogOut {
    // Renegotiations and resumptions give a new client random each: one
    // line set per handshake.
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        if let EventKind::Crypto(c) = &ev.kind {
            if let CryptoEvent::Secrets(s) = &**c {
                if self.seen.insert(s.client_random) {
                    if let Some(ms) = &s.master_secret {
                        let line = keylog::format_client_random(&s.client_random, ms);
                        writeln!(self.out, "{line}")?;
                    }
                    for (label, secret) in &s.tls13_secrets {
                        let line = keylog::format_tls13(*label, &s.client_random, secret);
                        writeln!(self.out, "{line}")?;
                    }
                }
            }
        }
        Ok(())
    }
    fn wants(&self, _: RecordDetail) -> bool {
        false
    }
}

fn decode(a: &DecodeArgs) -> Result<u8, CliError> {
    let name = a.input.display().to_string();
    let secrets = decode_secrets(a)?;
    let explicit_secrets = !a.keys.is_empty() || a.keylog.is_some();
    let input: Box<dyn Read + Send> = if a.input == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(&a.input).map_err(|e| CliError(format!("{name}: {e}")))?)
    };
    let mut filter = ObserverFilter {
        connections: a.connections.clone(),
        hosts: Vec::new(),
    };
    for h in &a.hosts {
        filter.hosts.push(parse_host(h)?);
    }
    filter
        .hosts
        .extend(a.ports.iter().map(|p| (None, Some(*p))));
    let mut keylog_out = match &a.write_keylog {
        Some(path) => Some(KeyLogOut {
            out: BufWriter::new(
                File::create(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?,
            ),
            seen: Default::default(),
        }),
        None => None,
    };

    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut renderer = LazyRenderer {
        inner: Renderer::new(out, &a.output, now()).with_secrets(a.show_secrets),
        run: RunInfo::new("decode", name.clone()),
        begun: false,
    };
    let mut summary = RunSummary::default();
    let outcome = (|| -> io::Result<_> {
        let mut sinks: Vec<&mut dyn EventSink> = vec![&mut renderer, &mut summary];
        if let Some(k) = keylog_out.as_mut() {
            sinks.push(k);
        }
        let mut tee = Tee(sinks);
        let mut analyzer = Analyzer::new(&mut tee, now());
        // Reading and reassembly on a thread of their own, the TLS work
        // here, but for records that thread opens ahead when this one is
        // the busier.
        let link = AheadLink::new();
        let mut observer = Observer::new(&mut analyzer, filter)
            .with_secrets(secrets)
            .with_open_ahead(link.clone());
        let captured = capture::run_capture_threaded(
            input,
            &CaptureOptions::default(),
            &mut observer,
            Some(link),
        );
        if let Some(e) = observer.take_error() {
            return Err(e);
        }
        let observed = observer.finish()?;
        let matched = observer.server_keys_matched();
        Ok((captured, observed, matched))
    })();
    let (captured, observed, matched) = match outcome {
        Ok(v) => v,
        Err(e) if is_broken_pipe(&e) => return Ok(EXIT_OK),
        Err(e) => return Err(e.into()),
    };
    // A file that is not a capture at all: nothing was shown.
    let stats = captured.map_err(|e| CliError(format!("{name}: {e}")))?;
    match renderer.finish(&summary) {
        Err(e) if is_broken_pipe(&e) => return Ok(EXIT_OK),
        r => r?,
    }
    if let Some(mut k) = keylog_out {
        k.out
            .flush()
            .map_err(|e| CliError(format!("--write-keylog: {e}")))?;
    }
    let mut code = if summary.all_ok() {
        EXIT_OK
    } else {
        EXIT_NEGATIVE
    };
    if let Some(e) = &stats.incomplete {
        eprintln!("sslwalk: {name}: {e}; everything before that point was decoded");
        code = EXIT_NEGATIVE;
    }
    if observed.tls_connections == 0 {
        eprintln!(
            "sslwalk: {name}: no TLS found ({} packets, {} TCP connections)",
            stats.packets, observed.tcp_flows
        );
        code = EXIT_NEGATIVE;
    } else if explicit_secrets && observed.decrypted == 0 {
        // Secrets were given for this capture and none served: say why in
        // one line.
        let unmatched: Vec<String> = a
            .keys
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(p, _)| p.display().to_string())
            .collect();
        let why = if !unmatched.is_empty() {
            format!(
                "--key {} matches no server certificate in the capture",
                unmatched.join(", ")
            )
        } else {
            "no connection's secrets were found (see the not_decrypted and no_secret_for_session notes)".to_string()
        };
        eprintln!("sslwalk: {name}: nothing was decrypted: {why}");
        code = EXIT_NEGATIVE;
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_filters() {
        assert_eq!(parse_host(":443").unwrap(), (None, Some(443)));
        assert_eq!(
            parse_host("10.0.0.1").unwrap(),
            (Some("10.0.0.1".parse().unwrap()), None)
        );
        assert_eq!(
            parse_host("[::1]:8443").unwrap(),
            (Some("::1".parse().unwrap()), Some(8443))
        );
        assert_eq!(
            parse_host("::1").unwrap(),
            (Some("::1".parse().unwrap()), None)
        );
        assert!(parse_host("example.com").is_err());
    }
}
