//! Writes a large capture whose records really are encrypted under known
//! keys, and its key log, for the decrypting decode benchmark
//! (`benches/decode/run-decrypt.sh`).
//!
//! Each connection is a real conversation between sslwalk's own engines,
//! client and server, in memory (RSA key exchange with the test key of
//! `fixtures/peers/keys/`, the version and suite asked for), written to a
//! classic pcap (Ethernet, IPv4, TCP, server port 443) with
//! `sslwalk::capture::writer`: the TCP handshake, the TLS handshake, bulk
//! application data in full 16 KiB records, or records of `--record-size`
//! bytes, sent in bursts of four records, three bursts from the server for
//! each one from the client, then close_notify and FINs. The plaintext is
//! pseudo-random bytes, or with `--content http` HTTP/1.1 as an HTTPS
//! capture carries it: each client burst one `POST` and each three server
//! bursts one `200 OK`, their bodies pseudo-random bytes that fill the
//! bursts exactly (so a tool that dissects HTTP inside TLS, as tshark
//! does by default, finds whole messages and keeps decrypting). `active`
//! connections run
//! at a time, their bursts interleaved round-robin. The master secret of
//! every connection goes to `OUT.keylog` (NSS format, CLIENT_RANDOM).
//!
//! ```text
//! cargo run --release --example gen_decrypt_capture -- OUT.pcap --suite 0x009c \
//!     [--version tls1.2] [--size-mb 60] [--connections 200] [--active 16] [--seed 1] \
//!     [--record-size 16384] [--content random|http]
//! ```
//!
//! The output is deterministic for a given set of arguments and written as
//! it is generated (memory stays flat whatever the size). The last line of
//! standard output says how many application-data records it holds.

use std::collections::VecDeque;
use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;

use rand::SeedableRng;

use sslwalk::capture::writer::{PcapWriter, TcpConversation};
use sslwalk::engine::{Credentials, Engine, EngineConfig, Role};
use sslwalk::event::{Direction, Event, EventSink, Timestamp};
use sslwalk::wire::{CipherSuite, ProtocolVersion};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;
/// Plaintext per record by default: the maximum (RFC 5246 §6.2.1).
const RECORD: usize = 1 << 14;
const BURST_RECORDS: usize = 4;
const SERVER_BURSTS_PER_CLIENT_BURST: usize = 3;

const SERVER_CERT: &[u8] = include_bytes!("../fixtures/peers/keys/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/peers/keys/server.key");

struct Args {
    out: PathBuf,
    suite: CipherSuite,
    version: ProtocolVersion,
    size_mb: f64,
    connections: usize,
    active: usize,
    seed: u64,
    /// Plaintext bytes per application-data record.
    record_size: usize,
    /// HTTP/1.1 messages rather than random bytes.
    http: bool,
}

fn usage() -> String {
    "usage: gen_decrypt_capture OUT.pcap --suite 0xCODE [--version ssl3|tls1|tls1.1|tls1.2] \
     [--size-mb MB] [--connections N] [--active N] [--seed S] [--record-size BYTES] \
     [--content random|http]"
        .into()
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        out: PathBuf::new(),
        suite: CipherSuite(0x009c),
        version: ProtocolVersion::TLSv1_2,
        size_mb: 60.0,
        connections: 200,
        active: 16,
        seed: 1,
        record_size: RECORD,
        http: false,
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--suite" => {
                let v = value("--suite")?;
                args.suite = CipherSuite(u16::from_str_radix(v.trim_start_matches("0x"), 16)?);
            }
            "--version" => {
                args.version = match value("--version")?.as_str() {
                    "ssl3" => ProtocolVersion::SSLv3,
                    "tls1" | "tls1.0" => ProtocolVersion::TLSv1_0,
                    "tls1.1" => ProtocolVersion::TLSv1_1,
                    "tls1.2" => ProtocolVersion::TLSv1_2,
                    v => return Err(format!("unknown version {v}").into()),
                }
            }
            "--size-mb" => args.size_mb = value("--size-mb")?.parse()?,
            "--connections" => args.connections = value("--connections")?.parse()?,
            "--active" => args.active = value("--active")?.parse()?,
            "--seed" => args.seed = value("--seed")?.parse()?,
            "--record-size" => args.record_size = value("--record-size")?.parse()?,
            "--content" => {
                args.http = match value("--content")?.as_str() {
                    "random" => false,
                    "http" => true,
                    v => return Err(format!("unknown content {v}").into()),
                }
            }
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            _ if arg.starts_with('-') => {
                return Err(format!("unknown option {arg}\n{}", usage()).into())
            }
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(usage().into()),
        }
    }
    args.out = out.ok_or_else(usage)?;
    if args.connections == 0 || args.active == 0 || args.size_mb.is_nan() || args.size_mb <= 0.0 {
        return Err("--size-mb, --connections and --active must be positive".into());
    }
    if !(1..=RECORD).contains(&args.record_size) {
        return Err(format!("--record-size must be 1 to {RECORD}").into());
    }
    if args.http && args.record_size < HTTP_MIN_RECORD {
        return Err(format!("--content http needs --record-size {HTTP_MIN_RECORD} or more").into());
    }
    Ok(args)
}

/// Events are not needed here.
struct Discard;

impl EventSink for Discard {
    fn emit(&mut self, _: &Event) -> std::io::Result<()> {
        Ok(())
    }
}

/// SplitMix64 for the plaintext.
struct Mix(u64);

impl Mix {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// The plaintext of one direction: random bytes, or HTTP/1.1 messages of
/// `message_len` bytes each, one after the other (requests from the
/// client, responses from the server).
struct Content {
    http: Option<HttpStream>,
}

struct HttpStream {
    dir: Direction,
    message_len: usize,
    /// Messages begun so far, and how much of the current one is out.
    messages: usize,
    sent: usize,
    /// The current message's head (start line and header fields).
    head: Vec<u8>,
}

/// The smallest record size for HTTP content: a request (four records)
/// then holds its head (under 100 bytes) and a body.
const HTTP_MIN_RECORD: usize = 64;

impl HttpStream {
    /// The head of message `n`, whose body fills the message to `len`
    /// bytes.
    fn head(dir: Direction, n: usize, len: usize) -> Vec<u8> {
        // The body's length depends on the head's, which depends on the
        // digits of the body's length: settled in two passes, unless the
        // body's length is just at a power of ten, where one space more
        // after the colon (optional whitespace, RFC 9110 §5.6.3) settles it.
        for space in [0, 1] {
            let mut body = len;
            for _ in 0..2 {
                body = len.saturating_sub(Self::head_for(dir, n, body, space).len());
            }
            let head = Self::head_for(dir, n, body, space);
            if head.len() + body == len {
                return head;
            }
        }
        unreachable!("no head of message {n} makes it {len} bytes")
    }

    fn head_for(dir: Direction, n: usize, body: usize, space: usize) -> Vec<u8> {
        let sp = " ".repeat(space);
        match dir {
            Direction::ClientToServer => format!(
                "POST /up/{n} HTTP/1.1\r\nHost: localhost\r\nContent-Length:{sp} {body}\r\n\r\n"
            ),
            Direction::ServerToClient => {
                format!("HTTP/1.1 200 OK\r\nContent-Length:{sp} {body}\r\n\r\n")
            }
        }
        .into_bytes()
    }

    fn fill(&mut self, mix: &mut Mix, out: &mut [u8]) {
        let mut at = 0;
        while at < out.len() {
            if self.sent == self.message_len || self.head.is_empty() {
                self.head = Self::head(self.dir, self.messages, self.message_len);
                self.messages += 1;
                self.sent = 0;
            }
            let n = (out.len() - at).min(self.message_len - self.sent);
            let chunk = &mut out[at..at + n];
            // The head's bytes, then the body's.
            let in_head = self.head.len().saturating_sub(self.sent).min(n);
            if in_head > 0 {
                chunk[..in_head].copy_from_slice(&self.head[self.sent..self.sent + in_head]);
            }
            mix.fill(&mut chunk[in_head..]);
            self.sent += n;
            at += n;
        }
    }
}

impl Content {
    fn new(a: &Args, dir: Direction) -> Self {
        let records = match dir {
            Direction::ClientToServer => BURST_RECORDS,
            Direction::ServerToClient => BURST_RECORDS * SERVER_BURSTS_PER_CLIENT_BURST,
        };
        Self {
            http: a.http.then(|| HttpStream {
                dir,
                message_len: records * a.record_size,
                messages: 0,
                sent: 0,
                head: Vec::new(),
            }),
        }
    }

    fn fill(&mut self, mix: &mut Mix, out: &mut [u8]) {
        match &mut self.http {
            Some(h) => h.fill(mix, out),
            None => mix.fill(out),
        }
    }
}

/// One connection in progress.
struct Conn {
    client: Engine,
    server: Engine,
    tcp: TcpConversation,
    /// Application data still to send, in records.
    records_left: usize,
    bursts: usize,
    /// Each direction's plaintext, client to server first.
    content: [Content; 2],
}

fn config(role: Role, a: &Args, seed: u64, creds: &Arc<Credentials>) -> EngineConfig {
    let mut c = EngineConfig::new(role);
    c.rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    c.clock = Box::new(|| Timestamp {
        secs: 1_704_067_200,
        nanos: 0,
    });
    c.min_version = a.version;
    c.max_version = a.version;
    c.cipher_suites = vec![a.suite];
    match role {
        Role::Server => c.credentials = Some(creds.clone()),
        Role::Client => c.server_name = Some("localhost".into()),
    }
    c
}

struct Output {
    pcap: PcapWriter<BufWriter<File>>,
    keylog: BufWriter<File>,
    records: u64,
    plaintext: u64,
}

impl Output {
    fn send(&mut self, tcp: &mut TcpConversation, dir: Direction, bytes: &[u8]) -> Result<()> {
        if !bytes.is_empty() {
            self.pcap.write_segments(&tcp.send(dir, bytes))?;
        }
        Ok(())
    }
}

/// Starts connection `n`: TCP and TLS handshakes, written out.
fn open(
    n: usize,
    a: &Args,
    creds: &Arc<Credentials>,
    out: &mut Output,
    records: usize,
) -> Result<Conn> {
    let seed = a.seed.wrapping_mul(1_000_003).wrapping_add(n as u64);
    let mut client = Engine::new(config(Role::Client, a, seed, creds));
    let mut server = Engine::new(config(Role::Server, a, seed ^ 0x5555, creds));
    let client_addr = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(10, 1, (n / 250) as u8, (n % 250) as u8 + 1),
        40000 + (n % 20000) as u16,
    ));
    let server_addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 443));
    let mut tcp = TcpConversation::new(client_addr, server_addr)
        .with_isns(0x1000_0000 ^ n as u32, 0x2000_0000 ^ (n as u32) << 4)
        .starting_at(Timestamp {
            secs: 1_704_067_200 + n as i64,
            nanos: 0,
        })
        .with_step(10_000);
    out.pcap.write_segments(&tcp.handshake())?;
    client.start(&mut Discard).map_err(|e| format!("{e:?}"))?;
    for _ in 0..20 {
        let c = client.take_output();
        if !c.is_empty() {
            let _ = server.feed(&c, &mut Discard);
            out.send(&mut tcp, C2S, &c)?;
        }
        let s = server.take_output();
        if !s.is_empty() {
            let _ = client.feed(&s, &mut Discard);
            out.send(&mut tcp, S2C, &s)?;
        }
        if c.is_empty() && s.is_empty() {
            break;
        }
    }
    if !client.is_established() {
        return Err(format!("connection {n}: the handshake failed: {:?}", client.error()).into());
    }
    writeln!(
        out.keylog,
        "{}",
        client.keylog_line().ok_or("no key log line")?
    )?;
    Ok(Conn {
        client,
        server,
        tcp,
        records_left: records,
        bursts: 0,
        content: [Content::new(a, C2S), Content::new(a, S2C)],
    })
}

/// One burst of records; true when the connection is done (then closed).
fn step(c: &mut Conn, mix: &mut Mix, plain: &mut [u8], out: &mut Output) -> Result<bool> {
    if c.records_left == 0 {
        c.client.close(&mut Discard).map_err(|e| format!("{e:?}"))?;
        let bytes = c.client.take_output();
        out.send(&mut c.tcp, C2S, &bytes)?;
        c.server.close(&mut Discard).map_err(|e| format!("{e:?}"))?;
        let bytes = c.server.take_output();
        out.send(&mut c.tcp, S2C, &bytes)?;
        out.pcap.write_segments(&c.tcp.close())?;
        return Ok(true);
    }
    let from_client = c.bursts.is_multiple_of(SERVER_BURSTS_PER_CLIENT_BURST + 1);
    c.bursts += 1;
    let n = c.records_left.min(BURST_RECORDS);
    c.records_left -= n;
    let (engine, dir, content) = if from_client {
        (&mut c.client, C2S, &mut c.content[0])
    } else {
        (&mut c.server, S2C, &mut c.content[1])
    };
    for _ in 0..n {
        content.fill(mix, plain);
        engine
            .send_application_data(plain, &mut Discard)
            .map_err(|e| format!("{e:?}"))?;
    }
    let bytes = engine.take_output();
    out.send(&mut c.tcp, dir, &bytes)?;
    out.records += n as u64;
    out.plaintext += (n * plain.len()) as u64;
    Ok(false)
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let creds = Arc::new(Credentials {
        chain: sslwalk::pki::load_certificates(SERVER_CERT)?,
        key: sslwalk::pki::load_rsa_private_key(SERVER_KEY)?,
    });
    let keylog_path = a.out.with_extension("keylog");
    let mut out = Output {
        pcap: PcapWriter::ethernet(BufWriter::with_capacity(1 << 20, File::create(&a.out)?))?,
        keylog: BufWriter::new(File::create(&keylog_path)?),
        records: 0,
        plaintext: 0,
    };
    // Records per connection for the size asked for (each record costs its
    // plaintext plus ~100 bytes of framing on the wire).
    let total_records = ((a.size_mb * 1e6) / (a.record_size as f64 + 100.0)).ceil() as usize;
    let mut per_conn = total_records.div_ceil(a.connections).max(1);
    if a.http {
        // Whole exchanges (a request's burst and its response's three),
        // as many as come nearest the size asked for.
        let exchange = BURST_RECORDS * (1 + SERVER_BURSTS_PER_CLIENT_BURST);
        per_conn = ((per_conn + exchange / 2) / exchange).max(1) * exchange;
    }
    let mut mix = Mix(a.seed);
    let mut plain = vec![0u8; a.record_size];
    let mut next = 0;
    let mut active: VecDeque<Conn> = VecDeque::new();
    while next < a.connections || !active.is_empty() {
        while active.len() < a.active && next < a.connections {
            active.push_back(open(next, &a, &creds, &mut out, per_conn)?);
            next += 1;
        }
        let Some(mut c) = active.pop_front() else {
            break;
        };
        if !step(&mut c, &mut mix, &mut plain, &mut out)? {
            active.push_back(c);
        }
    }
    out.keylog.flush()?;
    let mut file = out.pcap.into_inner();
    file.flush()?;
    let bytes = std::fs::metadata(&a.out)?.len();
    println!(
        "{}: {:.1} MB, {} connections, {:?} {:?}; key log {}",
        a.out.display(),
        bytes as f64 / 1e6,
        a.connections,
        a.version,
        a.suite,
        keylog_path.display()
    );
    println!(
        "{} application-data records, {} bytes of plaintext",
        out.records, out.plaintext
    );
    Ok(())
}
