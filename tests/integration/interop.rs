//! Interoperability: the built `sslwalk` against real peers on 127.0.0.1,
//! in both directions: `sslwalk connect` → a peer server, and a peer client
//! → `sslwalk serve`. The peers are OpenSSL 3.0 (`s_server`/`s_client`),
//! GnuTLS 3.7 (`gnutls-serv`/`gnutls-cli`) and tlslite-ng (driven by
//! `tests/peers/tlslite-interop.py`); what each can negotiate is in
//! `/work/shared/design/PEERS.md` (copied facts: OpenSSL has no SSL 3.0 and
//! no RC4/3DES, GnuTLS no SSL 3.0, tlslite-ng is the only SSL 3.0 peer).
//!
//! Every suite cell checks the negotiated version and suite twice (sslwalk's
//! JSON `outcome`, and the peer's own report) and that application data
//! arrives intact both ways: sslwalk's `--send` text comes back from the
//! peer (reversed by `s_server -rev`, echoed by `gnutls-serv --echo` and the
//! tlslite server) and shows in sslwalk's JSON `application_data`
//! plaintext; a peer client's line comes back from `sslwalk serve` (echo
//! mode) and shows on the peer client's output while its input is still
//! open.
//!
//! Then: client authentication, resumption, renegotiation, and failures
//! (no common suite, untrusted server certificate, wrong client
//! certificate).
//!
//! Each test function runs its cells on a few threads, each cell on its own
//! port; every process has a time limit and is killed by PID at the end
//! (`ChildGuard`). A missing peer skips the test loudly (fails under
//! `CI=true`, see `util::require_tool`).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{
    free_port, repo_path, require_tool, run_with_limit, sslwalk_bin, ChildGuard, Output,
};

/// How long a server may take to say it is ready.
const READY: Duration = Duration::from_secs(15);
/// How long any one process may run.
const LIMIT: Duration = Duration::from_secs(30);
/// How long to wait for an echo or an expected line.
const ANSWER: Duration = Duration::from_secs(10);
/// Cells run at once in one test function.
const PARALLEL: usize = 4;

// ---------------------------------------------------------------------------
// Versions and suites, spelled per peer (PEERS.md, "Suite spellings").

#[derive(Clone, Copy, Debug)]
enum V {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
}

impl V {
    /// sslwalk's flag.
    fn flag(self) -> &'static str {
        match self {
            V::Ssl3 => "--ssl3",
            V::Tls10 => "--tls1",
            V::Tls11 => "--tls1_1",
            V::Tls12 => "--tls1_2",
        }
    }

    /// sslwalk's JSON name (and the tlslite helper's).
    fn json(self) -> &'static str {
        match self {
            V::Ssl3 => "SSLv3",
            V::Tls10 => "TLSv1.0",
            V::Tls11 => "TLSv1.1",
            V::Tls12 => "TLSv1.2",
        }
    }

    fn openssl_flag(self) -> &'static str {
        match self {
            V::Ssl3 => unreachable!("OpenSSL 3.0 here has no SSL 3.0"),
            V::Tls10 => "-tls1",
            V::Tls11 => "-tls1_1",
            V::Tls12 => "-tls1_2",
        }
    }

    /// How OpenSSL prints the version.
    fn openssl_name(self) -> &'static str {
        match self {
            V::Ssl3 => "SSLv3",
            V::Tls10 => "TLSv1",
            V::Tls11 => "TLSv1.1",
            V::Tls12 => "TLSv1.2",
        }
    }

    /// GnuTLS's spelling (`VERS-TLS1.0`, `(TLS1.0-X.509)`).
    fn gnutls(self) -> &'static str {
        match self {
            V::Ssl3 => "SSL3.0",
            V::Tls10 => "TLS1.0",
            V::Tls11 => "TLS1.1",
            V::Tls12 => "TLS1.2",
        }
    }

    fn tlslite(self) -> &'static str {
        match self {
            V::Ssl3 => "ssl3",
            V::Tls10 => "tls1.0",
            V::Tls11 => "tls1.1",
            V::Tls12 => "tls1.2",
        }
    }
}

#[derive(Debug)]
struct Suite {
    iana: &'static str,
    openssl: &'static str,
    /// GnuTLS cipher and MAC.
    gnutls: (&'static str, &'static str),
    /// tlslite cipherNames and macNames entries.
    tlslite: (&'static str, &'static str),
}

const RC4_MD5: Suite = Suite {
    iana: "TLS_RSA_WITH_RC4_128_MD5",
    openssl: "RC4-MD5",
    gnutls: ("ARCFOUR-128", "MD5"),
    tlslite: ("rc4", "md5"),
};
const RC4_SHA: Suite = Suite {
    iana: "TLS_RSA_WITH_RC4_128_SHA",
    openssl: "RC4-SHA",
    gnutls: ("ARCFOUR-128", "SHA1"),
    tlslite: ("rc4", "sha"),
};
const DES3_SHA: Suite = Suite {
    iana: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    openssl: "DES-CBC3-SHA",
    gnutls: ("3DES-CBC", "SHA1"),
    tlslite: ("3des", "sha"),
};
const AES128_SHA: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_128_CBC_SHA",
    openssl: "AES128-SHA",
    gnutls: ("AES-128-CBC", "SHA1"),
    tlslite: ("aes128", "sha"),
};
const AES256_SHA: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_256_CBC_SHA",
    openssl: "AES256-SHA",
    gnutls: ("AES-256-CBC", "SHA1"),
    tlslite: ("aes256", "sha"),
};
const AES128_SHA256: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    openssl: "AES128-SHA256",
    gnutls: ("AES-128-CBC", "SHA256"),
    tlslite: ("aes128", "sha256"),
};
const AES256_SHA256: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    openssl: "AES256-SHA256",
    gnutls: ("AES-256-CBC", "SHA256"),
    tlslite: ("aes256", "sha256"),
};
const AES128_GCM: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "AES128-GCM-SHA256",
    gnutls: ("AES-128-GCM", "AEAD"),
    tlslite: ("aes128gcm", "aead"),
};
const AES256_GCM: Suite = Suite {
    iana: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    openssl: "AES256-GCM-SHA384",
    gnutls: ("AES-256-GCM", "AEAD"),
    tlslite: ("aes256gcm", "aead"),
};
const NULL_SHA: Suite = Suite {
    iana: "TLS_RSA_WITH_NULL_SHA",
    openssl: "NULL-SHA",
    gnutls: ("NULL", "SHA1"),
    tlslite: ("null", "sha"),
};
const NULL_MD5: Suite = Suite {
    iana: "TLS_RSA_WITH_NULL_MD5",
    openssl: "NULL-MD5",
    gnutls: ("NULL", "MD5"),
    tlslite: ("null", "md5"),
};

/// The OpenSSL cells: TLS 1.0-1.2 with AES-CBC-SHA, and the TLS 1.2 suites.
fn openssl_cells() -> Vec<(V, &'static Suite)> {
    let mut cells = Vec::new();
    for v in [V::Tls10, V::Tls11, V::Tls12] {
        cells.push((v, &AES128_SHA));
        cells.push((v, &AES256_SHA));
    }
    for s in [
        &AES128_SHA256,
        &AES256_SHA256,
        &AES128_GCM,
        &AES256_GCM,
        &NULL_SHA,
        &NULL_MD5,
    ] {
        cells.push((V::Tls12, s));
    }
    cells
}

/// The GnuTLS cells: TLS 1.0-1.2 with RC4 (MD5, SHA), 3DES and AES-128.
fn gnutls_cells() -> Vec<(V, &'static Suite)> {
    let mut cells = Vec::new();
    for v in [V::Tls10, V::Tls11, V::Tls12] {
        for s in [&RC4_MD5, &RC4_SHA, &DES3_SHA, &AES128_SHA] {
            cells.push((v, s));
        }
    }
    cells
}

/// The tlslite-ng cells: every SSL 3.0 suite, plus a few TLS ones.
fn tlslite_cells() -> Vec<(V, &'static Suite)> {
    let mut cells: Vec<(V, &'static Suite)> =
        [&RC4_MD5, &RC4_SHA, &DES3_SHA, &AES128_SHA, &AES256_SHA]
            .into_iter()
            .map(|s| (V::Ssl3, s))
            .collect();
    cells.push((V::Tls10, &RC4_SHA));
    cells.push((V::Tls11, &DES3_SHA));
    cells.push((V::Tls12, &AES128_GCM));
    cells
}

fn gnutls_priority(v: V, s: &Suite) -> String {
    format!(
        "NONE:+VERS-{}:+RSA:+{}:+{}:+COMP-NULL:+SIGN-ALL:+CTYPE-X509",
        v.gnutls(),
        s.gnutls.0,
        s.gnutls.1
    )
}

/// What `gnutls-serv`/`gnutls-cli` print for the negotiated parameters.
fn gnutls_description(v: V, s: &Suite) -> String {
    format!(
        "- Description: ({}-X.509)-(RSA)-({})-({})",
        v.gnutls(),
        s.gnutls.0,
        s.gnutls.1
    )
}

// ---------------------------------------------------------------------------
// Files, ports, processes.

fn key(name: &str) -> String {
    repo_path("fixtures/peers/keys")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn fixture(rel: &str) -> String {
    repo_path(rel).to_string_lossy().into_owned()
}

fn tlslite_script() -> String {
    fixture("tests/peers/tlslite-interop.py")
}

/// A free port on 127.0.0.1 not handed to another cell of this run.
fn port() -> u16 {
    static USED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let p = free_port();
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        if !used.contains(&p) {
            used.push(p);
            return p;
        }
    }
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut cut = s.len() - n;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    &s[cut..]
}

/// A process running in the background whose output is collected while it
/// runs; killed by PID when dropped.
struct Proc {
    name: String,
    guard: ChildGuard,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    code: Option<Option<i32>>,
}

fn collect(mut r: impl Read + Send + 'static, buf: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]),
            }
        }
    })
}

impl Proc {
    /// Starts `cmd` with piped standard streams.
    fn spawn(name: &str, cmd: &mut Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = ChildGuard::spawn(cmd);
        let child = guard.child_mut();
        let stdin = child.stdin.take();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), out.clone()),
            collect(child.stderr.take().expect("piped stderr"), err.clone()),
        ];
        Proc {
            name: format!("{name} ({cmd:?})"),
            guard,
            stdin,
            out,
            err,
            readers,
            code: None,
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Everything it printed so far, for error messages.
    fn describe(&self) -> String {
        let status = match self.code {
            None => "still running".to_string(),
            Some(Some(c)) => format!("exit code {c}"),
            Some(None) => "killed".to_string(),
        };
        format!(
            "--- {} [{status}]\n--- stdout:\n{}\n--- stderr:\n{}",
            self.name,
            tail(&self.stdout(), 3000),
            tail(&self.stderr(), 2000)
        )
    }

    /// Waits until its stdout or stderr contains `needle`.
    fn wait_for(&self, needle: &str, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return Ok(());
            }
            if start.elapsed() >= limit {
                return Err(format!(
                    "{needle:?} did not show within {limit:?}\n{}",
                    self.describe()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for its ready line, failing early if it exits first.
    fn ready(&mut self, needle: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.guard.child_mut().try_wait() {
                self.code = Some(status.code());
                self.join_readers();
                return Err(format!("exited before it was ready\n{}", self.describe()));
            }
            if start.elapsed() >= READY {
                return Err(format!("not ready within {READY:?}\n{}", self.describe()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing to {}: {e}", self.name))
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// Waits for it to exit (killing it after `limit`) and returns its exit
    /// code; an error when it had to be killed.
    fn wait(&mut self, limit: Duration) -> Result<Option<i32>, String> {
        self.close_stdin();
        let start = Instant::now();
        loop {
            match self.guard.child_mut().try_wait() {
                Ok(Some(status)) => {
                    self.code = Some(status.code());
                    self.join_readers();
                    return Ok(status.code());
                }
                Ok(None) if start.elapsed() >= limit => {
                    self.kill();
                    return Err(format!(
                        "did not exit within {limit:?}\n{}",
                        self.describe()
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {}: {e}", self.name)),
            }
        }
    }

    /// Waits for it to exit with `code`.
    fn expect_exit(&mut self, code: i32, limit: Duration) -> Result<(), String> {
        match self.wait(limit)? {
            Some(c) if c == code => Ok(()),
            other => Err(format!(
                "expected exit code {code}, got {other:?}\n{}",
                self.describe()
            )),
        }
    }

    /// Kills it now (by PID) and collects the rest of its output.
    fn kill(&mut self) {
        self.close_stdin();
        self.guard.kill();
        if self.code.is_none() {
            self.code = Some(None);
        }
        self.join_readers();
    }

    /// Checks that its output shows every one of `needles`.
    fn expect_output(&self, needles: &[&str]) -> Result<(), String> {
        let all = format!("{}\n{}", self.stdout(), self.stderr());
        match needles.iter().find(|n| !all.contains(**n)) {
            None => Ok(()),
            Some(n) => Err(format!("peer output lacks {n:?}\n{}", self.describe())),
        }
    }
}

// ---------------------------------------------------------------------------
// sslwalk itself.

/// `sslwalk connect 127.0.0.1:PORT --json ARGS`.
fn connect(port: u16, args: &[&str]) -> Output {
    run_with_limit(
        Command::new(sslwalk_bin())
            .args(["connect", &addr(port), "--json", "--timeout", "10"])
            .args(args),
        LIMIT,
    )
}

/// `sslwalk serve --port PORT --cert server.crt --key server.key --json
/// ARGS`, ready.
fn serve(port: u16, args: &[&str]) -> Result<Proc, String> {
    let mut p = Proc::spawn(
        "sslwalk serve",
        Command::new(sslwalk_bin())
            .args(["serve", "--port", &port.to_string(), "--json"])
            .args(["--cert", &key("server.crt"), "--key", &key("server.key")])
            .args(["--timeout", "15"])
            .args(args),
    );
    p.ready("test server listening on")?;
    Ok(p)
}

/// The JSON lines of sslwalk's stdout.
fn json_lines(stdout: &str) -> Result<Vec<Value>, String> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], t: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["type"] == t)
        .map(|l| &l["data"])
        .collect()
}

fn outcomes(lines: &[Value]) -> Vec<&Value> {
    of_type(lines, "outcome")
}

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("hex {s:?}: {e}")))
        .collect()
}

/// The decrypted application data of one direction, in order.
fn app_data(lines: &[Value], dir: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    for m in of_type(lines, "message") {
        if m["name"] != "application_data" || m["dir"] != dir {
            continue;
        }
        let hex = m["fields"]["plaintext"]
            .as_str()
            .ok_or_else(|| format!("application_data without plaintext: {m}"))?;
        bytes.extend(hex_decode(hex)?);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether any JSON object in `v` has `"code": code` (a note, anywhere).
fn has_note(v: &Value, code: &str) -> bool {
    match v {
        Value::Object(m) => {
            m.get("code") == Some(&Value::from(code)) || m.values().any(|x| has_note(x, code))
        }
        Value::Array(a) => a.iter().any(|x| has_note(x, code)),
        _ => false,
    }
}

/// sslwalk's output for error messages: exit, stderr, the outcome and
/// note lines, and one short line per message.
fn describe_sslwalk(what: &str, code: Option<Option<i32>>, stdout: &str, stderr: &str) -> String {
    let mut shown = Vec::new();
    for l in stdout.lines() {
        let Ok(v) = serde_json::from_str::<Value>(l) else {
            shown.push(format!("(not JSON) {l}"));
            continue;
        };
        let d = &v["data"];
        match v["type"].as_str() {
            Some("outcome") | Some("note") => shown.push(l.to_string()),
            Some("message") => {
                let mut m = format!(
                    "message conn {} {} {} {}",
                    d["conn"], d["origin"], d["dir"], d["name"]
                );
                if let Some(p) = d["fields"]["plaintext"].as_str() {
                    m.push_str(&format!(" plaintext {p}"));
                }
                if let Some(desc) = d["fields"]["description"].as_str() {
                    m.push_str(&format!(" {desc}"));
                }
                shown.push(m);
            }
            _ => {}
        }
    }
    format!(
        "--- {what} [exit {code:?}]\n--- stdout (summary):\n{}\n--- stderr:\n{}",
        shown.join("\n"),
        tail(stderr, 2000)
    )
}

fn describe_output(out: &Output) -> String {
    let code = if out.timed_out { None } else { Some(out.code) };
    describe_sslwalk("sslwalk connect", code, &out.stdout, &out.stderr)
}

/// Checks one outcome: `ok`, with `version` and `suite`.
fn check_outcome(o: &Value, version: &str, suite: &str) -> Result<(), String> {
    if o["result"] != "ok" {
        return Err(format!("result {} instead of ok", o["result"]));
    }
    if o["version"] != version {
        return Err(format!("version {} instead of {version}", o["version"]));
    }
    if o["cipher_suite"] != suite {
        return Err(format!(
            "cipher_suite {} instead of {suite}",
            o["cipher_suite"]
        ));
    }
    Ok(())
}

/// The outcome of a `connect` that must have succeeded (exit 0) with one
/// connection of `version` and `suite`; returns all JSON lines.
fn connect_ok(out: &Output, version: &str, suite: &str) -> Result<Vec<Value>, String> {
    let fail = |msg: String| format!("{msg}\n{}", describe_output(out));
    if out.timed_out || out.code != Some(0) {
        return Err(fail("sslwalk connect did not exit 0".into()));
    }
    let lines = json_lines(&out.stdout).map_err(fail)?;
    let outs = outcomes(&lines);
    if outs.len() != 1 {
        return Err(fail(format!("{} outcome lines instead of 1", outs.len())));
    }
    check_outcome(outs[0], version, suite).map_err(fail)?;
    Ok(lines)
}

/// The data of one direction must be exactly `expected`.
fn expect_data(
    lines: &[Value],
    dir: &str,
    expected: &str,
    ctx: &dyn Fn() -> String,
) -> Result<(), String> {
    let got = app_data(lines, dir)?;
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "application data {dir}: {got:?} instead of {expected:?}\n{}",
            ctx()
        ))
    }
}

/// After a peer client ran against `server` (`sslwalk serve --once`):
/// the server exits with `code` and its JSON holds one outcome; returns the
/// JSON lines and that outcome.
fn served(server: &mut Proc, code: i32) -> Result<(Vec<Value>, Value), String> {
    server.expect_exit(code, ANSWER)?;
    let ctx = || {
        describe_sslwalk(
            "sslwalk serve",
            server.code,
            &server.stdout(),
            &server.stderr(),
        )
    };
    let lines = json_lines(&server.stdout()).map_err(|e| format!("{e}\n{}", ctx()))?;
    let outs = outcomes(&lines);
    if outs.len() != 1 {
        return Err(format!(
            "{} outcome lines instead of 1\n{}",
            outs.len(),
            ctx()
        ));
    }
    let o = outs[0].clone();
    Ok((lines, o))
}

/// A peer client → `sslwalk serve --once` exchange, from the point both
/// run: the client gets `line` on stdin, must print it back (the echo)
/// while its stdin is open, then exits 0 once stdin closes; the server
/// exits 0 with `version` and `suite` and saw `line` both ways.
fn echo_through_serve(
    server: &mut Proc,
    client: &mut Proc,
    line: &str,
    version: &str,
    suite: &str,
) -> Result<(), String> {
    let both = |server: &Proc, client: &Proc| {
        format!(
            "{}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            ),
            client.describe()
        )
    };
    client.send(&format!("{line}\n"))?;
    if let Err(e) = client.wait_for(line, ANSWER) {
        return Err(format!(
            "no echo of the line while the client's input was open: {e}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        ));
    }
    client.close_stdin();
    client.expect_exit(0, ANSWER)?;
    let (lines, o) = served(server, 0)?;
    let ctx = || both(server, client);
    check_outcome(&o, version, suite).map_err(|e| format!("{e}\n{}", ctx()))?;
    let with_nl = format!("{line}\n");
    expect_data(&lines, "client_to_server", &with_nl, &ctx)?;
    expect_data(&lines, "server_to_client", &with_nl, &ctx)?;
    Ok(())
}

/// A peer client → `sslwalk serve --once` handshake with the client's
/// input closed at once: both exit 0; returns the server's JSON lines and
/// outcome.
fn handshake_through_serve(
    server: &mut Proc,
    client: &mut Proc,
) -> Result<(Vec<Value>, Value), String> {
    client.close_stdin();
    client.expect_exit(0, ANSWER).map_err(|e| {
        format!(
            "{e}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    })?;
    served(server, 0).map_err(|e| format!("{e}\n{}", client.describe()))
}

/// Waits (up to `ANSWER`) until a running `sslwalk serve` printed `n`
/// outcome lines.
fn wait_outcomes(server: &Proc, n: usize) {
    let start = Instant::now();
    while outcomes(&json_lines(&server.stdout()).unwrap_or_default()).len() < n
        && start.elapsed() < ANSWER
    {
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Peers.

fn s_server(port: u16, args: &[&str]) -> Result<Proc, String> {
    let mut p = Proc::spawn(
        "openssl s_server",
        Command::new("openssl")
            .args(["s_server", "-accept", &addr(port)])
            .args(["-cert", &key("server.crt"), "-key", &key("server.key")])
            .args(args),
    );
    p.ready("ACCEPT")?;
    Ok(p)
}

fn s_client(port: u16, args: &[&str]) -> Proc {
    Proc::spawn(
        "openssl s_client",
        Command::new("openssl")
            .args(["s_client", "-connect", &addr(port)])
            .args(args),
    )
}

fn gnutls_serv(port: u16, args: &[&str]) -> Result<Proc, String> {
    let mut p = Proc::spawn(
        "gnutls-serv",
        Command::new("gnutls-serv")
            .args(["-p", &port.to_string(), "--noticket"])
            .args(["--x509certfile", &key("server.crt")])
            .args(["--x509keyfile", &key("server.key")])
            .args(args),
    );
    p.ready("listening on IPv4")?;
    Ok(p)
}

fn gnutls_cli(port: u16, args: &[&str]) -> Proc {
    Proc::spawn(
        "gnutls-cli",
        Command::new("gnutls-cli")
            .args(["-p", &port.to_string(), "127.0.0.1"])
            .args([
                "--x509cafile",
                &key("ca.crt"),
                "--verify-hostname",
                "localhost",
            ])
            .args(args),
    )
}

// ---------------------------------------------------------------------------
// Running cells.

type Cell = (String, Box<dyn FnOnce() -> Result<(), String> + Send>);

/// Runs the cells on `PARALLEL` threads and fails with every failure.
fn run_cells(what: &str, cells: Vec<Cell>) {
    let total = cells.len();
    let queue = Mutex::new(cells.into_iter().collect::<VecDeque<_>>());
    let failures = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..PARALLEL.min(total) {
            scope.spawn(|| loop {
                let Some((name, cell)) =
                    queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
                else {
                    break;
                };
                let t = Instant::now();
                let result = catch_unwind(AssertUnwindSafe(cell)).unwrap_or_else(|p| {
                    Err(p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into()))
                });
                match result {
                    Ok(()) => eprintln!("ok     {name} ({:.1?})", t.elapsed()),
                    Err(e) => {
                        eprintln!("FAILED {name} ({:.1?})", t.elapsed());
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("=== {name}\n{e}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "{what}: {} of {total} cells passed in {:.1?}",
        total - failures.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{what}: {} of {total} cells failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn cell(name: String, f: impl FnOnce() -> Result<(), String> + Send + 'static) -> Cell {
    (name, Box::new(f))
}

// ---------------------------------------------------------------------------
// Suite cells, sslwalk connect → peer server.

/// sslwalk connect → `openssl s_server -rev` (answers each line reversed).
fn connect_to_openssl(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let cipher = format!("{}:@SECLEVEL=0", s.openssl);
    let mut server = s_server(
        port,
        &[
            "-naccept",
            "1",
            "-rev",
            v.openssl_flag(),
            "-cipher",
            &cipher,
        ],
    )?;
    let text = format!("sslwalk to openssl {} {}", v.json(), s.iana);
    let out = connect(
        port,
        &[
            v.flag(),
            "--cipher",
            s.iana,
            "--cafile",
            &key("ca.crt"),
            "--send",
            &format!("{text}\n"),
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines =
        connect_ok(&out, v.json(), s.iana).map_err(|e| format!("{e}\n{}", server.describe()))?;
    expect_data(&lines, "client_to_server", &format!("{text}\n"), &ctx)?;
    let reversed: String = text.chars().rev().collect();
    expect_data(&lines, "server_to_client", &format!("{reversed}\n"), &ctx)?;
    server.expect_exit(0, ANSWER)?;
    server.expect_output(&[
        &format!("Protocol version: {}", v.openssl_name()),
        &format!("Ciphersuite: {}", s.openssl),
    ])
}

/// sslwalk connect → `gnutls-serv --echo` (no client certificate asked).
fn connect_to_gnutls(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let mut server = gnutls_serv(
        port,
        &["--echo", "-a", "--priority", &gnutls_priority(v, s)],
    )?;
    let text = format!("sslwalk to gnutls {} {}", v.json(), s.iana);
    let out = connect(
        port,
        &[
            v.flag(),
            "--cipher",
            s.openssl,
            "--cafile",
            &key("ca.crt"),
            "--send",
            &format!("{text}\n"),
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines =
        connect_ok(&out, v.json(), s.iana).map_err(|e| format!("{e}\n{}", server.describe()))?;
    expect_data(&lines, "client_to_server", &format!("{text}\n"), &ctx)?;
    expect_data(&lines, "server_to_client", &format!("{text}\n"), &ctx)?;
    server.wait_for(&gnutls_description(v, s), ANSWER)?;
    server.kill();
    Ok(())
}

/// sslwalk connect → the tlslite-ng server (echoes).
fn connect_to_tlslite(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let mut server = Proc::spawn(
        "tlslite server",
        Command::new("python3").args([
            &tlslite_script(),
            "server",
            &port.to_string(),
            &key("server.crt"),
            &key("server.key"),
            v.tlslite(),
            s.tlslite.0,
            s.tlslite.1,
        ]),
    );
    server.ready("READY")?;
    let text = format!("sslwalk to tlslite {} {}", v.json(), s.iana);
    let out = connect(
        port,
        &[
            v.flag(),
            "--cipher",
            s.iana,
            "--cafile",
            &key("ca.crt"),
            "--send",
            &format!("{text}\n"),
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines =
        connect_ok(&out, v.json(), s.iana).map_err(|e| format!("{e}\n{}", server.describe()))?;
    expect_data(&lines, "client_to_server", &format!("{text}\n"), &ctx)?;
    expect_data(&lines, "server_to_client", &format!("{text}\n"), &ctx)?;
    server.expect_exit(0, ANSWER)?;
    server.expect_output(&[&format!("NEGOTIATED {} {}", v.json(), s.iana)])
}

// ---------------------------------------------------------------------------
// Suite cells, peer client → sslwalk serve.

fn openssl_to_serve(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &["--once", v.flag(), "--cipher", s.openssl])?;
    let cipher = format!("{}:@SECLEVEL=0", s.openssl);
    let mut client = s_client(
        port,
        &[
            v.openssl_flag(),
            "-cipher",
            &cipher,
            "-CAfile",
            &key("ca.crt"),
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
        ],
    );
    let line = format!("openssl to sslwalk {} {}", v.json(), s.iana);
    echo_through_serve(&mut server, &mut client, &line, v.json(), s.iana)?;
    client.expect_output(&[
        &format!("Protocol  : {}\n", v.openssl_name()),
        &format!("Cipher    : {}\n", s.openssl),
        "Verify return code: 0 (ok)",
    ])
}

fn gnutls_to_serve(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &["--once", v.flag(), "--cipher", s.iana])?;
    let mut client = gnutls_cli(port, &["--priority", &gnutls_priority(v, s)]);
    let line = format!("gnutls to sslwalk {} {}", v.json(), s.iana);
    echo_through_serve(&mut server, &mut client, &line, v.json(), s.iana)?;
    client.expect_output(&[
        &gnutls_description(v, s),
        "- Status: The certificate is trusted.",
    ])
}

fn tlslite_to_serve(v: V, s: &'static Suite) -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &["--once", v.flag(), "--cipher", s.iana])?;
    let line = format!("tlslite to sslwalk {} {}", v.json(), s.iana);
    let mut client = Proc::spawn(
        "tlslite client",
        Command::new("python3").args([
            &tlslite_script(),
            "client",
            &port.to_string(),
            v.tlslite(),
            s.tlslite.0,
            s.tlslite.1,
            &line,
        ]),
    );
    // The helper sends the line itself and prints the echo as "ECHO line"
    // before it closes.
    let waited = client.wait_for(&format!("ECHO {line}"), ANSWER);
    client.expect_exit(0, ANSWER).map_err(|e| {
        format!(
            "{e}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    })?;
    waited.map_err(|e| {
        format!(
            "{e}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    })?;
    client.expect_output(&[&format!("NEGOTIATED {} {}", v.json(), s.iana)])?;
    let (lines, o) = served(&mut server, 0)?;
    let ctx = || {
        format!(
            "{}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            ),
            client.describe()
        )
    };
    check_outcome(&o, v.json(), s.iana).map_err(|e| format!("{e}\n{}", ctx()))?;
    expect_data(&lines, "client_to_server", &format!("{line}\n"), &ctx)?;
    expect_data(&lines, "server_to_client", &format!("{line}\n"), &ctx)
}

fn suite_cells(
    peer: &str,
    list: Vec<(V, &'static Suite)>,
    f: fn(V, &'static Suite) -> Result<(), String>,
) -> Vec<Cell> {
    list.into_iter()
        .map(|(v, s)| cell(format!("{peer} {} {}", v.json(), s.iana), move || f(v, s)))
        .collect()
}

#[test]
fn openssl_server_suites() {
    if !require_tool("openssl") {
        return;
    }
    run_cells(
        "sslwalk connect -> openssl s_server",
        suite_cells("connect->openssl", openssl_cells(), connect_to_openssl),
    );
}

#[test]
fn openssl_client_suites() {
    if !require_tool("openssl") {
        return;
    }
    run_cells(
        "openssl s_client -> sslwalk serve",
        suite_cells("openssl->serve", openssl_cells(), openssl_to_serve),
    );
}

#[test]
fn gnutls_server_suites() {
    if !require_tool("gnutls-serv") {
        return;
    }
    run_cells(
        "sslwalk connect -> gnutls-serv",
        suite_cells("connect->gnutls", gnutls_cells(), connect_to_gnutls),
    );
}

#[test]
fn gnutls_client_suites() {
    if !require_tool("gnutls-cli") {
        return;
    }
    run_cells(
        "gnutls-cli -> sslwalk serve",
        suite_cells("gnutls->serve", gnutls_cells(), gnutls_to_serve),
    );
}

/// Whether python3 with tlslite-ng is there (same skip rules as
/// `require_tool`).
fn require_tlslite() -> bool {
    if !require_tool("python3") {
        return false;
    }
    let out = run_with_limit(
        Command::new("python3").args(["-c", "import tlslite"]),
        Duration::from_secs(20),
    );
    if out.code == Some(0) {
        return true;
    }
    if crate::util::under_ci() {
        panic!("python3 cannot import tlslite (pip install tlslite-ng), and CI=true forbids skipping: {}", out.describe());
    }
    eprintln!();
    eprintln!("**********************************************************");
    eprintln!("SKIPPED: tlslite-ng not installed (set CI=true to make this fail)");
    eprintln!("**********************************************************");
    false
}

#[test]
fn tlslite_server_suites() {
    if !require_tlslite() {
        return;
    }
    run_cells(
        "sslwalk connect -> tlslite server",
        suite_cells("connect->tlslite", tlslite_cells(), connect_to_tlslite),
    );
}

#[test]
fn tlslite_client_suites() {
    if !require_tlslite() {
        return;
    }
    run_cells(
        "tlslite client -> sslwalk serve",
        suite_cells("tlslite->serve", tlslite_cells(), tlslite_to_serve),
    );
}

// ---------------------------------------------------------------------------
// Client authentication.

/// sslwalk connect --cert client.crt → `openssl s_server -Verify 1`.
fn client_auth_connect_openssl() -> Result<(), String> {
    let port = port();
    let mut server = s_server(
        port,
        &[
            "-naccept",
            "1",
            "-rev",
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            &key("ca.crt"),
        ],
    )?;
    let out = connect(
        port,
        &[
            "--cafile",
            &key("ca.crt"),
            "--cert",
            &key("client.crt"),
            "--key",
            &key("client.key"),
            "--send",
            "client auth\n",
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines = connect_ok(&out, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256")
        .map_err(|e| format!("{e}\n{}", server.describe()))?;
    if outcomes(&lines)[0]["handshake_kind"]["client_auth"] != true {
        return Err(format!("handshake_kind.client_auth is not true\n{}", ctx()));
    }
    expect_data(&lines, "server_to_client", "htua tneilc\n", &ctx)?;
    server.expect_exit(0, ANSWER)?;
    server.expect_output(&["Peer certificate: CN = sslwalk test client"])
}

/// A peer client with client.crt → `sslwalk serve --require-client-cert`.
fn client_auth_serve(peer: &str) -> Result<(), String> {
    let port = port();
    let mut server = serve(
        port,
        &[
            "--once",
            "--require-client-cert",
            "--cafile",
            &key("ca.crt"),
        ],
    )?;
    let (cert, k) = (key("client.crt"), key("client.key"));
    let mut client = match peer {
        "openssl" => s_client(
            port,
            &[
                "-CAfile",
                &key("ca.crt"),
                "-verify_return_error",
                "-cert",
                &cert,
                "-key",
                &k,
            ],
        ),
        _ => gnutls_cli(port, &["--x509certfile", &cert, "--x509keyfile", &k]),
    };
    // The handshake only (the echo is the suite cells' business).
    let (lines, o) = handshake_through_serve(&mut server, &mut client)?;
    let o = &o;
    if o["handshake_kind"]["client_auth"] != true || o["handshake_kind"]["no_client_cert"] != false
    {
        return Err(format!(
            "handshake_kind does not show client authentication: {}",
            o["handshake_kind"]
        ));
    }
    // The chain the server received is the client's.
    let subjects: Vec<String> = of_type(&lines, "message")
        .into_iter()
        .filter(|m| m["name"] == "certificate" && m["dir"] == "client_to_server")
        .map(|m| m["fields"]["chain"][0]["subject"].to_string())
        .collect();
    if !subjects.iter().any(|s| s.contains("sslwalk test client")) {
        return Err(format!(
            "no client Certificate with the client's subject: {subjects:?}"
        ));
    }
    Ok(())
}

#[test]
fn client_auth() {
    if !require_tool("openssl") || !require_tool("gnutls-cli") {
        return;
    }
    run_cells(
        "client authentication",
        vec![
            cell(
                "connect --cert -> openssl -Verify 1".into(),
                client_auth_connect_openssl,
            ),
            cell(
                "openssl -cert -> serve --require-client-cert".into(),
                || client_auth_serve("openssl"),
            ),
            cell(
                "gnutls-cli --x509certfile -> serve --require-client-cert".into(),
                || client_auth_serve("gnutls"),
            ),
        ],
    );
}

// ---------------------------------------------------------------------------
// Resumption.

/// sslwalk connect --reconnect → a server with a session cache: the second
/// connection resumes.
fn reconnect_to(peer: &str) -> Result<(), String> {
    let port = port();
    let mut server = match peer {
        "openssl" => s_server(port, &["-naccept", "2", "-rev", "-no_ticket"])?,
        _ => gnutls_serv(port, &["--echo", "-a"])?,
    };
    let out = connect(
        port,
        &[
            "--cafile",
            &key("ca.crt"),
            "--reconnect",
            "--send",
            "again\n",
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    if out.code != Some(0) {
        return Err(format!(
            "sslwalk connect --reconnect did not exit 0\n{}",
            ctx()
        ));
    }
    let lines = json_lines(&out.stdout)?;
    let outs = outcomes(&lines);
    if outs.len() != 2 {
        return Err(format!(
            "{} outcome lines instead of 2\n{}",
            outs.len(),
            ctx()
        ));
    }
    for (o, resumed) in outs.iter().zip([false, true]) {
        check_outcome(o, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256")
            .map_err(|e| format!("{e}\n{}", ctx()))?;
        if o["resumed"] != resumed {
            return Err(format!(
                "outcome of conn {} has resumed {} instead of {resumed}\n{}",
                o["conn"],
                o["resumed"],
                ctx()
            ));
        }
    }
    match peer {
        "openssl" => {
            server.expect_exit(0, ANSWER)?;
            server.expect_output(&["1 session cache hits"])
        }
        _ => {
            server.kill();
            Ok(())
        }
    }
}

/// `openssl s_client -sess_out`, then `-sess_in`, against one `sslwalk
/// serve` (not --once): the second handshake is `Reused`.
fn s_client_resumes() -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &[])?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let sess: PathBuf = dir.path().join("session.pem");
    let sess = sess.to_string_lossy().into_owned();
    let common = [
        "-CAfile",
        &key("ca.crt"),
        "-verify_return_error",
        "-no_ticket",
    ];
    let first = run_with_limit(
        Command::new("openssl")
            .args(["s_client", "-connect", &addr(port)])
            .args(common)
            .args(["-sess_out", &sess]),
        LIMIT,
    );
    let second = run_with_limit(
        Command::new("openssl")
            .args(["s_client", "-connect", &addr(port)])
            .args(common)
            .args(["-sess_in", &sess]),
        LIMIT,
    );
    wait_outcomes(&server, 2);
    server.kill();
    let ctx = || {
        format!(
            "--- first s_client: {}\n{}\n--- second s_client: {}\n{}\n{}",
            first.describe(),
            tail(&first.stdout, 1500),
            second.describe(),
            tail(&second.stdout, 1500),
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    };
    if first.code != Some(0)
        || !(first.stdout.contains("New, ") && first.stdout.contains("Protocol  : TLSv1.2\n"))
    {
        return Err(format!(
            "first s_client did not complete a new handshake\n{}",
            ctx()
        ));
    }
    if second.code != Some(0) || !second.stdout.contains("Reused, ") {
        return Err(format!(
            "second s_client did not resume (no \"Reused\")\n{}",
            ctx()
        ));
    }
    let lines = json_lines(&server.stdout())?;
    let resumed: Vec<&Value> = outcomes(&lines)
        .into_iter()
        .map(|o| &o["resumed"])
        .collect();
    if resumed.len() != 2 || *resumed[0] != false || *resumed[1] != true {
        return Err(format!(
            "server outcomes' resumed flags: {resumed:?} (want [false, true])\n{}",
            ctx()
        ));
    }
    Ok(())
}

/// `gnutls-cli --resume` (session IDs, no tickets) → `sslwalk serve`.
fn gnutls_cli_resumes() -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &[])?;
    // gnutls-cli connects, closes, reconnects resuming, then finds its
    // input closed and quits.
    let mut client = gnutls_cli(port, &["--resume", "--noticket"]);
    client.close_stdin();
    let exited = client.expect_exit(0, ANSWER);
    wait_outcomes(&server, 2);
    server.kill();
    let ctx = || {
        format!(
            "{}\n{}",
            client.describe(),
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    };
    exited.map_err(|e| format!("{e}\n{}", ctx()))?;
    client.expect_output(&["*** This is a resumed session"])?;
    let lines = json_lines(&server.stdout())?;
    let resumed: Vec<&Value> = outcomes(&lines)
        .into_iter()
        .map(|o| &o["resumed"])
        .collect();
    if resumed.len() != 2 || *resumed[0] != false || *resumed[1] != true {
        return Err(format!(
            "server outcomes' resumed flags: {resumed:?} (want [false, true])\n{}",
            ctx()
        ));
    }
    Ok(())
}

#[test]
fn resumption() {
    if !require_tool("openssl") || !require_tool("gnutls-serv") || !require_tool("gnutls-cli") {
        return;
    }
    run_cells(
        "resumption",
        vec![
            cell("connect --reconnect -> openssl -no_ticket".into(), || {
                reconnect_to("openssl")
            }),
            cell(
                "connect --reconnect -> gnutls-serv --noticket".into(),
                || reconnect_to("gnutls"),
            ),
            cell(
                "openssl -sess_out/-sess_in -> serve".into(),
                s_client_resumes,
            ),
            cell("gnutls-cli --resume -> serve".into(), gnutls_cli_resumes),
        ],
    );
}

// ---------------------------------------------------------------------------
// Renegotiation.

/// sslwalk connect --renegotiate → a peer that allows it: two handshakes,
/// and the data still flows.
fn renegotiate_with(peer: &str) -> Result<(), String> {
    let port = port();
    let mut server = match peer {
        "openssl" => s_server(port, &["-naccept", "1", "-rev", "-client_renegotiation"])?,
        _ => gnutls_serv(port, &["--echo", "-a"])?,
    };
    let out = connect(
        port,
        &[
            "--cafile",
            &key("ca.crt"),
            "--renegotiate",
            "--send",
            "renegotiated\n",
        ],
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines = connect_ok(&out, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256")
        .map_err(|e| format!("{e}\n{}", server.describe()))?;
    let o = outcomes(&lines)[0];
    if o["handshakes"] != 2 {
        return Err(format!(
            "handshakes {} instead of 2\n{}",
            o["handshakes"],
            ctx()
        ));
    }
    let expected = if peer == "openssl" {
        "detaitogener\n"
    } else {
        "renegotiated\n"
    };
    expect_data(&lines, "server_to_client", expected, &ctx)?;
    if peer == "openssl" {
        server.expect_exit(0, ANSWER)?;
        server.expect_output(&["1 server renegotiates"])
    } else {
        server.kill();
        Ok(())
    }
}

/// `gnutls-cli --rehandshake` → `sslwalk serve --once`.
fn gnutls_rehandshake() -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &["--once"])?;
    let mut client = gnutls_cli(port, &["--rehandshake"]);
    let (_, o) = handshake_through_serve(&mut server, &mut client)?;
    check_outcome(&o, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256").map_err(|e| {
        format!(
            "{e}\n{}",
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    })?;
    client.expect_output(&["- ReHandshake was completed"])?;
    if o["handshakes"] != 2 {
        return Err(format!(
            "server outcome: handshakes {} instead of 2\n{}",
            o["handshakes"],
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        ));
    }
    Ok(())
}

#[test]
fn renegotiation() {
    if !require_tool("openssl") || !require_tool("gnutls-serv") || !require_tool("gnutls-cli") {
        return;
    }
    run_cells(
        "renegotiation",
        vec![
            cell(
                "connect --renegotiate -> openssl -client_renegotiation".into(),
                || renegotiate_with("openssl"),
            ),
            cell("connect --renegotiate -> gnutls-serv".into(), || {
                renegotiate_with("gnutls")
            }),
            cell(
                "gnutls-cli --rehandshake -> serve".into(),
                gnutls_rehandshake,
            ),
        ],
    );
}

// ---------------------------------------------------------------------------
// Failures.

/// A `connect` that must fail: exit 1, one `failed` outcome whose alert
/// came `from` with `description`.
fn connect_failed(out: &Output, from: &str, description: &str) -> Result<Vec<Value>, String> {
    let fail = |msg: String| format!("{msg}\n{}", describe_output(out));
    if out.timed_out || out.code != Some(1) {
        return Err(fail("sslwalk connect did not exit 1".into()));
    }
    let lines = json_lines(&out.stdout).map_err(fail)?;
    let outs = outcomes(&lines);
    if outs.len() != 1 {
        return Err(fail(format!("{} outcome lines instead of 1", outs.len())));
    }
    check_failed(outs[0], from, description).map_err(fail)?;
    Ok(lines)
}

fn check_failed(o: &Value, from: &str, description: &str) -> Result<(), String> {
    if o["result"] != "failed" {
        return Err(format!("result {} instead of failed", o["result"]));
    }
    let a = &o["alert"];
    if a["description"] != description || a["from"] != from || a["level"] != "fatal" {
        return Err(format!(
            "alert {a} instead of a fatal {description} from the {from}"
        ));
    }
    Ok(())
}

/// sslwalk connect offers only AES256-SHA to a server that takes only
/// AES128-SHA.
fn no_common_suite_connect() -> Result<(), String> {
    let port = port();
    let mut server = s_server(
        port,
        &["-naccept", "1", "-rev", "-cipher", "AES128-SHA", "-tls1_2"],
    )?;
    let out = connect(
        port,
        &[
            "--tls1_2",
            "--cipher",
            "AES256-SHA",
            "--cafile",
            &key("ca.crt"),
        ],
    );
    connect_failed(&out, "server", "handshake_failure")
        .map_err(|e| format!("{e}\n{}", server.describe()))?;
    server.wait(ANSWER)?;
    server.expect_output(&["no shared cipher"])
}

/// `openssl s_client -cipher AES128-SHA` → `sslwalk serve --cipher
/// AES256-SHA`.
fn no_common_suite_serve() -> Result<(), String> {
    let port = port();
    let mut server = serve(port, &["--once", "--cipher", "AES256-SHA"])?;
    let mut client = s_client(
        port,
        &[
            "-tls1_2",
            "-cipher",
            "AES128-SHA",
            "-CAfile",
            &key("ca.crt"),
        ],
    );
    let client_exit = client.wait(ANSWER)?;
    let (_, o) = served(&mut server, 1)?;
    let ctx = || {
        format!(
            "{}\n{}",
            client.describe(),
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    };
    check_failed(&o, "server", "handshake_failure").map_err(|e| format!("{e}\n{}", ctx()))?;
    if client_exit == Some(0) {
        return Err(format!("s_client exited 0\n{}", ctx()));
    }
    client.expect_output(&["alert handshake failure"])
}

/// No --cafile: the system store does not know the test CA. Exit 1 with a
/// `certificate_rejected` note; with --insecure the handshake goes on.
fn untrusted(insecure: bool) -> Result<(), String> {
    let port = port();
    let mut server = s_server(port, &["-naccept", "1", "-rev"])?;
    let mut args = vec!["--send", "trust me\n"];
    if insecure {
        args.push("--insecure");
    }
    let out = run_with_limit(
        Command::new(sslwalk_bin())
            .env_remove("SSL_CERT_FILE")
            .args(["connect", &addr(port), "--json", "--timeout", "10"])
            .args(&args),
        LIMIT,
    );
    let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
    let lines = if insecure {
        let lines = connect_ok(&out, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256")
            .map_err(|e| format!("{e}\n{}", server.describe()))?;
        expect_data(&lines, "server_to_client", "em tsurt\n", &ctx)?;
        lines
    } else {
        let lines = connect_failed(&out, "client", "unknown_ca")
            .map_err(|e| format!("{e}\n{}", server.describe()))?;
        if !app_data(&lines, "client_to_server")?.is_empty() {
            return Err(format!(
                "application data sent to an untrusted server\n{}",
                ctx()
            ));
        }
        lines
    };
    if !lines.iter().any(|l| has_note(l, "certificate_rejected")) {
        return Err(format!("no certificate_rejected note\n{}", ctx()));
    }
    server.wait(ANSWER)?;
    Ok(())
}

/// sslwalk connect presents a certificate `openssl s_server -Verify 1
/// -verify_return_error` refuses with `alert`.
fn wrong_client_cert_openssl(cert: &str, k: &str, alert: &str) -> Result<(), String> {
    let port = port();
    let mut server = s_server(
        port,
        &[
            "-naccept",
            "1",
            "-rev",
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            &key("ca.crt"),
        ],
    )?;
    let out = connect(
        port,
        &[
            "--cafile",
            &key("ca.crt"),
            "--cert",
            cert,
            "--key",
            k,
            "--send",
            "let me in\n",
        ],
    );
    connect_failed(&out, "server", alert).map_err(|e| format!("{e}\n{}", server.describe()))?;
    server.wait(ANSWER)?;
    server.expect_output(&["certificate verify failed"])
}

/// A peer client presents a self-signed certificate to `sslwalk serve
/// --require-client-cert --cafile ca.crt` (or none at all).
fn wrong_client_cert_serve(cert: Option<(&str, &str)>) -> Result<(), String> {
    let port = port();
    let mut server = serve(
        port,
        &[
            "--once",
            "--require-client-cert",
            "--cafile",
            &key("ca.crt"),
        ],
    )?;
    let mut args = vec!["-CAfile".to_string(), key("ca.crt")];
    if let Some((c, k)) = cert {
        args.extend(["-cert".into(), c.into(), "-key".into(), k.into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut client = s_client(port, &args);
    client.send("let me in\n")?;
    let (lines, o) = served(&mut server, 1)?;
    let client_exit = client.wait(ANSWER)?;
    let ctx = || {
        format!(
            "{}\n{}",
            client.describe(),
            describe_sslwalk(
                "sslwalk serve",
                server.code,
                &server.stdout(),
                &server.stderr()
            )
        )
    };
    let expected = if cert.is_some() {
        "unknown_ca"
    } else {
        "handshake_failure"
    };
    check_failed(&o, "server", expected).map_err(|e| format!("{e}\n{}", ctx()))?;
    if !app_data(&lines, "client_to_server")?.is_empty() {
        return Err(format!(
            "the server took application data from a refused client\n{}",
            ctx()
        ));
    }
    if client_exit == Some(0) {
        return Err(format!("s_client exited 0\n{}", ctx()));
    }
    Ok(())
}

#[test]
fn failures() {
    if !require_tool("openssl") {
        return;
    }
    let self_signed = (
        fixture("fixtures/certs/rsa2048.pem"),
        fixture("fixtures/certs/rsa2048.key"),
    );
    let ss = self_signed.clone();
    run_cells(
        "failures",
        vec![
            cell(
                "no common suite: connect -> openssl".into(),
                no_common_suite_connect,
            ),
            cell(
                "no common suite: openssl -> serve".into(),
                no_common_suite_serve,
            ),
            cell("untrusted server certificate".into(), || untrusted(false)),
            cell("untrusted server certificate, --insecure".into(), || {
                untrusted(true)
            }),
            cell(
                "server cert as client cert -> openssl -Verify".into(),
                || {
                    wrong_client_cert_openssl(
                        &key("server.crt"),
                        &key("server.key"),
                        "unsupported_certificate",
                    )
                },
            ),
            cell(
                "self-signed client cert -> openssl -Verify".into(),
                move || wrong_client_cert_openssl(&ss.0, &ss.1, "unknown_ca"),
            ),
            cell(
                "self-signed client cert -> serve --require-client-cert".into(),
                move || wrong_client_cert_serve(Some((&self_signed.0, &self_signed.1))),
            ),
            cell(
                "no client cert -> serve --require-client-cert".into(),
                || wrong_client_cert_serve(None),
            ),
        ],
    );
}

/// `sslwalk serve` with many clients at once: connections that stay silent
/// (no ClientHello) hold only their own threads, the clients after them are
/// served, each connection is numbered, and the silent ones end as
/// incomplete once they close.
#[test]
fn serve_is_not_blocked_by_silent_clients() {
    let port = port();
    let mut server = serve(port, &[]).expect("sslwalk serve starts");
    let silent: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    for n in 0..2 {
        let text = format!("after the silent ones {n}\n");
        let out = connect(port, &["--cafile", &key("ca.crt"), "--send", &text]);
        let lines = connect_ok(&out, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256")
            .unwrap_or_else(|e| panic!("{e}\n{}", server.describe()));
        let ctx = || format!("{}\n{}", describe_output(&out), server.describe());
        expect_data(&lines, "server_to_client", &text, &ctx).unwrap_or_else(|e| panic!("{e}"));
    }
    wait_outcomes(&server, 2);
    drop(silent);
    wait_outcomes(&server, 5);
    server.kill();
    let lines = json_lines(&server.stdout()).unwrap();
    let mut conns: Vec<u64> = of_type(&lines, "connection")
        .iter()
        .filter_map(|c| c["conn"].as_u64())
        .collect();
    conns.sort();
    assert_eq!(conns, [1, 2, 3, 4, 5], "{}", server.describe());
    let results: Vec<String> = outcomes(&lines)
        .iter()
        .map(|o| o["result"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(
        results.iter().filter(|r| *r == "ok").count(),
        2,
        "{results:?}\n{}",
        server.describe()
    );
    assert_eq!(results.len(), 5, "{results:?}\n{}", server.describe());
}
