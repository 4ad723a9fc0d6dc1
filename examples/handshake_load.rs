//! A handshake load generator for benches/engine/run.sh: THREADS threads,
//! each opening one TCP connection after another to a server on the
//! loopback interface, doing a TLS 1.2 handshake with sslwalk's own engine
//! client (TLS_RSA_WITH_AES_128_GCM_SHA256 unless told otherwise, no
//! certificate check), sending close_notify and closing, until SECS
//! seconds have passed or MAX handshakes are done. With --resume each
//! thread makes one full handshake and then resumes its session (session
//! ID) on every connection after it.
//!
//!     cargo run --release --example handshake_load -- 127.0.0.1:4433 \
//!         --threads 2 --secs 10 [--resume]
//!
//! It prints one line: `handshakes=N resumed=R failed=F seconds=S rate=X`
//! (rate: handshakes per second of wall time). The client is much lighter
//! than the server (an RSA public-key operation per full handshake against
//! the server's private-key one), so the server is what is measured.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sslwalk::engine::{Engine, EngineConfig, Role, Session};
use sslwalk::event::{Event, EventSink};
use sslwalk::wire::{CipherSuite, ProtocolVersion};

#[derive(Parser)]
struct Args {
    /// Server address; must be a loopback address.
    addr: SocketAddr,
    /// Connections at a time (one thread each).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Stop after this many handshakes in all.
    #[arg(long, default_value_t = 200_000)]
    max: u64,
    /// Resume the session of each thread's first handshake.
    #[arg(long)]
    resume: bool,
    /// Cipher suite code (hex).
    #[arg(long, default_value = "009C")]
    suite: String,
}

/// Events are not looked at.
struct NullSink;

impl EventSink for NullSink {
    fn emit(&mut self, _: &Event) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    handshakes: AtomicU64,
    resumed: AtomicU64,
    failed: AtomicU64,
}

/// One connection: handshake, close_notify, close. Returns the session
/// and whether it was resumed.
fn connect(
    addr: SocketAddr,
    suite: CipherSuite,
    seed: u64,
    resume: Option<&Session>,
) -> io::Result<(Session, bool)> {
    let fail = |what: String| io::Error::other(what);
    let mut cfg = EngineConfig::new(Role::Client);
    cfg.rng = Box::new(StdRng::seed_from_u64(seed));
    cfg.min_version = ProtocolVersion::TLSv1_2;
    cfg.max_version = ProtocolVersion::TLSv1_2;
    cfg.cipher_suites = vec![suite];
    cfg.server_name = Some("localhost".into());
    cfg.resume = resume.cloned();
    let mut engine = Engine::new(cfg);
    let mut sink = NullSink;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    engine
        .start(&mut sink)
        .map_err(|e| fail(format!("start: {e}")))?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let out = engine.take_output();
        if !out.is_empty() {
            stream.write_all(&out)?;
        }
        if engine.is_established() {
            break;
        }
        if engine.is_closed() {
            return Err(fail(format!("handshake failed: {:?}", engine.error())));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(fail("the server closed during the handshake".into()));
        }
        engine
            .feed(&buf[..n], &mut sink)
            .map_err(|e| fail(format!("handshake failed: {e}")))?;
    }
    let session = engine
        .session()
        .cloned()
        .ok_or_else(|| fail("no session".into()))?;
    let resumed = engine.resumed();
    let _ = engine.close(&mut sink);
    let _ = stream.write_all(&engine.take_output());
    Ok((session, resumed))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        eprintln!("handshake_load: {} is not a loopback address", args.addr);
        return ExitCode::FAILURE;
    }
    let suite = match u16::from_str_radix(args.suite.trim_start_matches("0x"), 16) {
        Ok(code) => CipherSuite(code),
        Err(_) => {
            eprintln!("handshake_load: --suite {:?}: expected hex", args.suite);
            return ExitCode::FAILURE;
        }
    };
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.secs);
    let threads: Vec<_> = (0..args.threads)
        .map(|t| {
            let counts = counts.clone();
            let (addr, max, resume) = (args.addr, args.max, args.resume);
            std::thread::spawn(move || {
                let mut session: Option<Session> = None;
                let mut errors = 0u32;
                for n in 0u64.. {
                    if Instant::now() >= deadline
                        || counts.handshakes.load(Ordering::Relaxed) >= max
                    {
                        break;
                    }
                    let seed = (u64::from(t) << 40) | n;
                    let offer = if resume { session.as_ref() } else { None };
                    match connect(addr, suite, seed, offer) {
                        Ok((s, resumed)) => {
                            counts.handshakes.fetch_add(1, Ordering::Relaxed);
                            if resumed {
                                counts.resumed.fetch_add(1, Ordering::Relaxed);
                            }
                            session = Some(s);
                        }
                        Err(e) => {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            errors += 1;
                            if errors <= 3 {
                                eprintln!("handshake_load: thread {t}: {e}");
                            }
                            if errors >= 100 {
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let secs = started.elapsed().as_secs_f64();
    let handshakes = counts.handshakes.load(Ordering::Relaxed);
    println!(
        "handshakes={handshakes} resumed={} failed={} seconds={secs:.3} rate={:.1}",
        counts.resumed.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        handshakes as f64 / secs
    );
    if handshakes == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
