//! Helpers shared by the integration tests: running the built binary and
//! external tools with a time limit, skipping (or, under CI, failing) when a
//! tool is missing, free ports, and a guard that kills a child process.
#![allow(dead_code)] // each test module uses its own subset

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The `sslwalk` binary Cargo built for this test run.
pub fn sslwalk_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sslwalk"))
}

/// A path relative to the package root (`fixtures/peers`, ...).
pub fn repo_path(rel: impl AsRef<Path>) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Output {
    /// The exit code; `None` when the process was ended by a signal
    /// (including our own kill after the time limit).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    /// A short description for assertion messages.
    pub fn describe(&self) -> String {
        let code = match (self.timed_out, self.code) {
            (true, _) => "killed after the time limit".to_string(),
            (false, Some(c)) => format!("exit code {c}"),
            (false, None) => "killed by a signal".to_string(),
        };
        let mut stderr = self.stderr.trim_end().to_string();
        if stderr.len() > 4000 {
            let mut cut = stderr.len() - 4000;
            while !stderr.is_char_boundary(cut) {
                cut += 1;
            }
            stderr = format!("...{}", &stderr[cut..]);
        }
        format!("{code}; stderr:\n{stderr}")
    }
}

/// Runs `cmd` to completion with stdin closed, collecting stdout and
/// stderr; kills it (by PID) after `limit`.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut guard = ChildGuard::new(child);
    let child = guard.child_mut();
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let start = Instant::now();
    let mut timed_out = false;
    let status: Option<ExitStatus> = loop {
        match guard.child_mut().try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= limit => {
                timed_out = true;
                guard.kill();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let join = |h: Option<thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    let stdout = join(out);
    let stderr = join(err);
    Output {
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs the built `sslwalk` with `args` (60 s limit).
pub fn run_sslwalk<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    run_with_limit(
        Command::new(sslwalk_bin()).args(args),
        Duration::from_secs(60),
    )
}

/// Whether `tool` is an executable file on PATH.
pub fn tool_on_path(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let p = dir.join(tool);
        std::fs::metadata(&p)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
            .unwrap_or(false)
    })
}

/// Whether we run under CI (`CI=true`), where nothing may be skipped.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Returns true when `tool` is on PATH. When it is not: under `CI=true` the
/// test fails; otherwise a loud SKIPPED line goes to stderr and this returns
/// false, and the caller returns early:
///
/// ```ignore
/// if !require_tool("tshark") { return; }
/// ```
pub fn require_tool(tool: &str) -> bool {
    if tool_on_path(tool) {
        return true;
    }
    if under_ci() {
        panic!("{tool} is not installed, and CI=true forbids skipping: install it (see .ci/run)");
    }
    eprintln!();
    eprintln!("**********************************************************");
    eprintln!("SKIPPED: {tool} not installed (set CI=true to make this fail)");
    eprintln!("**********************************************************");
    false
}

/// Ports [`free_port`] hands out: below the range Linux takes the source
/// ports of outgoing connections from (`ip_local_port_range`, 32768 and
/// up by default).
const TEST_PORTS: std::ops::Range<u32> = 20_000..32_000;

/// A TCP port on 127.0.0.1 that was free a moment ago (bound, then
/// released), for a peer to listen on. Not one from port 0: that is where
/// the system also picks the source port of any client connecting
/// meanwhile, and a client of another test took such a port between this
/// check and the peer's bind (`Address already in use` in a CI run). Each
/// test process starts at its own place in the range.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = TEST_PORTS.end - TEST_PORTS.start;
    let start = std::process::id().wrapping_mul(97) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (TEST_PORTS.start + (start + n) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {TEST_PORTS:?}");
}

/// Owns a child process and kills it (by its PID) and reaps it on drop, so
/// that a failing test leaves no peer running.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
}

impl ChildGuard {
    pub fn new(child: Child) -> Self {
        Self { child: Some(child) }
    }

    pub fn spawn(cmd: &mut Command) -> Self {
        Self::new(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")),
        )
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child already taken")
    }

    /// Kills the child now (if still running) and reaps it.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Hands the child back without killing it.
    pub fn into_inner(mut self) -> Child {
        self.child.take().expect("child already taken")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}
