//! The `sslwalk` binary: parse, run, exit. Everything else is in the
//! library (`sslwalk::cli`).
#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sslwalk::cli::args::Cli::parse();
    ExitCode::from(sslwalk::cli::run(cli))
}
