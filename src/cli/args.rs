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
                      protected records are shown by type and size, unless secrets are \
                      given: with the server's RSA key (--key) or a key log (--keylog, \
                      SSLKEYLOGFILE, or one embedded in a pcapng file), conversations are \
                      decrypted (SSL 3.0 to TLS 1.2 with either; TLS 1.3 and (EC)DHE with \
                      a key log): Finished is verified, encrypted alerts and renegotiations \
                      are shown, and application data with --show-data. When --key or --keylog is given and nothing at all \
                      decrypts, the exit status is 1."
    )]
    Decode(DecodeArgs),

    /// Handshake with a server and show every step as it happens
    #[command(
        long_about = "Connects to HOST:PORT, performs an SSL 3.0 to TLS 1.2 handshake with RSA \
                      key exchange using sslwalk's own engine, and narrates every step, \
                      including the verdict on the server's certificate (step 3). Then sends \
                      --send or standard input as application data and prints the answer."
    )]
    Connect(ConnectArgs),

    /// Accept connections and show every step of each handshake (a test server)
    #[command(
        long_about = "A TEST SERVER for trying clients against: SSL 3.0 to TLS 1.2 with RSA \
                      key exchange, including suites nobody should deploy (RC4, DES, export, \
                      NULL). It answers in echo mode, or with --http a small HTTP page \
                      describing the handshake. Do not expose it: its RSA implementation (the \
                      `rsa` crate) has a known timing side channel (RUSTSEC-2023-0071). \
                      Without --cert it serves an ephemeral self-signed certificate for \
                      localhost and prints its fingerprint."
    )]
    Serve(ServeArgs),

    /// Run a client and a server in one process and show the whole handshake
    #[command(
        long_about = "Starts sslwalk's server and client in one process, over a loopback TCP \
                      connection, with an embedded test certificate, and shows every step of \
                      the handshake. No files, no network beyond 127.0.0.1."
    )]
    Demo(DemoArgs),
}

/// Protocol versions as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionArg {
    #[value(name = "ssl3", alias = "sslv3", alias = "ssl3.0")]
    Ssl3,
    #[value(name = "tls1", alias = "tls1.0", alias = "tls1_0", alias = "tlsv1")]
    Tls1,
    #[value(name = "tls1_1", alias = "tls1.1", alias = "tlsv1.1")]
    Tls1_1,
    #[value(name = "tls1_2", alias = "tls1.2", alias = "tlsv1.2")]
    Tls1_2,
}

/// What to negotiate: versions, suites, extensions.
#[derive(Debug, Args, Clone)]
pub struct TlsArgs {
    /// Only SSL 3.0
    #[arg(long, group = "pin")]
    pub ssl3: bool,
    /// Only TLS 1.0
    #[arg(long, group = "pin")]
    pub tls1: bool,
    /// Only TLS 1.1
    #[arg(long = "tls1_1", group = "pin")]
    pub tls1_1: bool,
    /// Only TLS 1.2
    #[arg(long = "tls1_2", group = "pin")]
    pub tls1_2: bool,
    /// Lowest version to accept
    #[arg(long, value_enum, value_name = "VERSION", conflicts_with = "pin")]
    pub min_version: Option<VersionArg>,
    /// Highest version to offer or accept
    #[arg(long, value_enum, value_name = "VERSION", conflicts_with = "pin")]
    pub max_version: Option<VersionArg>,
    /// Cipher suites in order of preference, separated by ':' or ',', as
    /// IANA names (TLS_RSA_WITH_3DES_EDE_CBC_SHA) or OpenSSL names
    /// (DES-CBC3-SHA); `ALL` adds the export and NULL suites
    #[arg(long = "cipher", value_name = "LIST")]
    pub cipher: Option<String>,
    /// Do not offer or accept extended master secret (RFC 7627)
    #[arg(long)]
    pub no_ems: bool,
    /// Do not send renegotiation_info or its SCSV (RFC 5746)
    #[arg(long)]
    pub no_secure_renegotiation: bool,
    /// Write the session secrets to FILE in NSS key log format (Wireshark
    /// reads it); SSLKEYLOGFILE in the environment does the same
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Add the names of secrets to the output (pre-master, master secret)
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server: HOST:PORT, or [IPv6]:PORT
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// Name to send in server_name and to check the certificate against
    /// (default: the host, unless it is an IP address)
    #[arg(long, value_name = "NAME", conflicts_with = "no_sni")]
    pub servername: Option<String>,
    /// Send no server_name extension
    #[arg(long)]
    pub no_sni: bool,
    /// Trust the CA certificates in FILE (PEM) instead of the system store
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Show the certificate verdict but go on when it is negative
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Client certificate chain (PEM or DER), sent when the server asks
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM or DER, PKCS#1 or PKCS#8)
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// After the first handshake, connect again resuming the session, and
    /// show which steps were skipped
    #[arg(long)]
    pub reconnect: bool,
    /// Renegotiate once after the handshake (RFC 5746)
    #[arg(long)]
    pub renegotiate: bool,
    /// Offer TLS_FALLBACK_SCSV (RFC 7507)
    #[arg(long)]
    pub fallback_scsv: bool,
    /// Send this as application data (default: standard input when it is
    /// not a terminal; nothing otherwise)
    #[arg(long, value_name = "TEXT")]
    pub send: Option<String>,
    /// Seconds to wait for the connection and for each answer
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Certificate chain (PEM or DER); without it an ephemeral self-signed
    /// certificate for localhost is made
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM or DER, PKCS#1 or PKCS#8; RSA)
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Port on 127.0.0.1
    #[arg(short, long, value_name = "N", conflicts_with = "listen")]
    pub port: Option<u16>,
    /// Address and port to listen on (default 127.0.0.1:4433)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Ask clients for a certificate
    #[arg(long)]
    pub verify_client: bool,
    /// Ask clients for a certificate and refuse those without one
    #[arg(long)]
    pub require_client_cert: bool,
    /// CA certificates (PEM) to check client certificates against
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// Do not keep sessions for resumption
    #[arg(long)]
    pub no_session_cache: bool,
    /// Answer with a small HTTP page describing the handshake (for curl and
    /// browsers) instead of echoing
    #[arg(long)]
    pub http: bool,
    /// Exit after the first connection
    #[arg(long)]
    pub once: bool,
    /// Refuse renegotiation requested by clients
    #[arg(long)]
    pub no_renegotiation: bool,
    /// Seconds a client may stay silent before it is dropped
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Protocol version to negotiate (default: the highest, TLS 1.2)
    #[arg(long = "protocol", value_enum, value_name = "VERSION")]
    pub protocol: Option<VersionArg>,
    /// Cipher suite(s) to offer, as in `connect --cipher`
    #[arg(long = "cipher", value_name = "LIST")]
    pub cipher: Option<String>,
    /// The server asks for a client certificate and the client sends one
    #[arg(long)]
    pub client_auth: bool,
    /// Then connect again, resuming the session
    #[arg(long)]
    pub resume: bool,
    /// Then renegotiate on the same connection
    #[arg(long)]
    pub renegotiate: bool,
    /// Text the client sends once the handshake is done (the server echoes it)
    #[arg(long, value_name = "TEXT", default_value = "hello from sslwalk")]
    pub send: String,
    #[command(flatten)]
    pub output: OutputArgs,
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

    /// A server's RSA private key (PEM or DER, PKCS#1 or PKCS#8), to
    /// decrypt RSA key exchange; repeatable: each key serves the
    /// connections whose server certificate carries its public key
    #[arg(long = "key", value_name = "FILE")]
    pub keys: Vec<PathBuf>,

    /// Secrets in NSS key log format (CLIENT_RANDOM and RSA lines), as
    /// written by SSLKEYLOGFILE; SSLKEYLOGFILE in the environment is read
    /// too, and a pcapng Decryption Secrets Block is used by itself
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,

    /// Write the secrets of every decrypted session to FILE in NSS key log
    /// format (CLIENT_RANDOM lines, which Wireshark reads)
    #[arg(long, value_name = "FILE")]
    pub write_keylog: Option<PathBuf>,

    /// Show the decrypted application data (text when printable, hex
    /// otherwise; in JSON `fields.plaintext`)
    #[arg(long)]
    pub show_data: bool,

    /// Show the secrets learnt: pre-master secret, master secret and the
    /// keys cut from the key block (redacted otherwise)
    #[arg(long)]
    pub show_secrets: bool,

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
        let cli = Cli::try_parse_from(["sslwalk", "decode", "--json", "-vv", "-c", "2", "x.pcap"])
            .unwrap();
        let Command::Decode(d) = cli.command else {
            panic!("not decode")
        };
        assert_eq!(d.output.format(), Format::Json);
        assert_eq!(d.output.verbose, 2);
        assert_eq!(d.connections, [2]);
    }

    #[test]
    fn version_pins_conflict() {
        assert!(Cli::try_parse_from(["sslwalk", "connect", "--ssl3", "--tls1", "h:1"]).is_err());
        assert!(Cli::try_parse_from([
            "sslwalk",
            "connect",
            "--ssl3",
            "--max-version",
            "tls1",
            "h:1"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["sslwalk", "connect", "--min-version", "tls1.1", "h:443"])
            .unwrap();
        let Command::Connect(c) = cli.command else {
            panic!("not connect")
        };
        assert_eq!(c.tls.min_version, Some(VersionArg::Tls1_1));
    }
}
