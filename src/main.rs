//! The `sslwalk` binary: parse, run, exit. Everything else is in the
//! library (`sslwalk::cli`).
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than the system's allocator: `decode` keeps megabytes
/// of record buffers in flight between its two threads, made on one and
/// freed on the other, which glibc's malloc served with page faults and
/// arena locks: 2,200 page faults decrypting a 66 MB capture, 170 with
/// mimalloc, and 4 to 20% less wall time by suite (medians of alternated
/// runs on the captures of benches/decode/run-decrypt.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = sslwalk::cli::args::Cli::parse();
    ExitCode::from(sslwalk::cli::run(cli))
}
