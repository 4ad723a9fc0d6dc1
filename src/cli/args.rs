//! What the user typed: clap definitions only, checked for form but not
//! resolved (files are read and sinks built in `cli::config`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// SSL/TLS handshake inspector: every step of the handshake, explained.
#[derive(Debug, Parser)]
#[command(
    name = "sslwalk",
    version,
    about = "SSL/TLS handshake inspector: every step of the handshake, explained",
    long_about = "sslwalk walks through SSL 3.0 to TLS 1.3 handshakes step by step, \
                  as annotated text for people or as JSON Lines for scripts.\n\n\
                  Exit status: 0 when every handshake (or decoded conversation) \
                  completed, 1 when a protocol outcome was negative (an alert, a \
                  conversation that did not complete, no TLS found), 2 on usage, \
                  input or internal errors.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode the TLS conversations of a pcap or pcapng capture, step by step
    #[command(
        long_about = "Reads a pcap or pcapng capture (a file, or - for standard input, so \
                      `tcpdump -w - | sslwalk decode -` works live), reassembles TCP, finds \
                      TLS by content on any port, and shows every message of every \
                      conversation under its numbered step. After ChangeCipherSpec, \
                      protected records are shown by type and size."
    )]
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Capture file (pcap or pcapng), or - for standard input
    #[arg(value_name = "FILE")]
    pub input: PathBuf,

    /// Only show connection number N (repeatable)
    #[arg(short = 'c', long = "conn", value_name = "N")]
    pub connections: Vec<u32>,

    /// Only show connections with this endpoint: an IP address, :PORT, or
    /// IP:PORT (IPv6 as [ADDR]:PORT); repeatable
    #[arg(long = "host", value_name = "ADDR[:PORT]")]
    pub hosts: Vec<String>,

    /// Only show connections with this TCP port at either end (repeatable)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// How events are rendered.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output JSON Lines (one object per line; see docs/json-schema.md)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// More detail: -v adds records and timestamps, -vv hex dumps
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours (NO_COLOR in the environment means never for auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_decode() {
        let cli = Cli::try_parse_from(["sslwalk", "decode", "--json", "-vv", "-c", "2", "x.pcap"]).unwrap();
        let Command::Decode(d) = cli.command;
        assert_eq!(d.output.format(), Format::Json);
        assert_eq!(d.output.verbose, 2);
        assert_eq!(d.connections, [2]);
    }
}
