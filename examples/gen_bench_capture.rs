//! Writes a large synthetic capture for the decode throughput benchmark
//! (`benches/decode/run.sh`): a classic pcap (Ethernet, IPv4, TCP) holding
//! many TLS 1.2 connections whose packets are interleaved round-robin.
//!
//! Each connection has a TCP handshake; the TLS 1.2 handshake records of a
//! real capture (`fixtures/peers/openssl-tls12-rsa-aes128-gcm-sha256.pcap`,
//! read with `sslwalk::capture`), with fresh client and server randoms;
//! bulk application data in both directions (full-size AES-GCM records:
//! 16 KiB of plaintext, 8-byte explicit nonce, 16-byte tag, the body
//! pseudo-random), sent in bursts of back-to-back records cut into 1448-byte
//! segments, the receiver acknowledging every second segment; then an
//! encrypted alert (a close_notify as sent under AES-GCM) each way and a
//! FIN exchange.
//!
//! ```text
//! cargo run --release --example gen_bench_capture -- OUT.pcap --size-mb 230 \
//!     [--connections 200] [--active 16] [--seed 1] [--fixture PATH]
//! ```
//!
//! Sizes are in decimal megabytes (10^6 bytes); the file comes out within
//! a record or so per connection of the size asked for. The output is
//! deterministic for a given set of arguments, and is written as it is
//! generated (memory stays flat whatever the size).

use std::collections::VecDeque;
use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::ControlFlow;
use std::path::PathBuf;

use sslwalk::capture::writer::{PcapWriter, Segment, TcpConversation};
use sslwalk::capture::{run_capture, CaptureOptions, StreamEvent, TcpFlags};
use sslwalk::event::{Direction, Timestamp};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// Segment size on the wire.
const MSS: usize = 1448;
/// A full AES-GCM record body: 2^14 bytes of plaintext, the 8-byte explicit
/// nonce and the 16-byte tag (RFC 5288).
const RECORD_BODY: usize = (1 << 14) + 8 + 16;
/// An encrypted two-byte alert under AES-GCM.
const ALERT_BODY: usize = 2 + 8 + 16;
/// Records sent back to back before the other side takes its turn.
const BURST_RECORDS: usize = 4;
/// Out of every this many bursts, one goes client to server.
const BURSTS_PER_CLIENT_BURST: usize = 4;
/// Bytes a packet costs in the file on top of its TCP payload: pcap record
/// header, Ethernet, IPv4, TCP.
const PACKET_OVERHEAD: usize = 16 + 14 + 20 + 20;
const SERVER_PORT: u16 = 443;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Args {
    out: PathBuf,
    size_mb: f64,
    connections: usize,
    active: usize,
    seed: u64,
    fixture: PathBuf,
}

fn usage() -> String {
    "usage: gen_bench_capture OUT.pcap [--size-mb MB] [--connections N] [--active N] \
     [--seed S] [--fixture PCAP]"
        .to_string()
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        out: PathBuf::new(),
        size_mb: 230.0,
        connections: 200,
        active: 16,
        seed: 1,
        fixture: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/peers/openssl-tls12-rsa-aes128-gcm-sha256.pcap"
        )),
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--size-mb" => args.size_mb = value("--size-mb")?.parse()?,
            "--connections" => args.connections = value("--connections")?.parse()?,
            "--active" => args.active = value("--active")?.parse()?,
            "--seed" => args.seed = value("--seed")?.parse()?,
            "--fixture" => args.fixture = value("--fixture")?.into(),
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
    Ok(args)
}

/// SplitMix64: a small deterministic generator for the record bodies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        let mut chunks = out.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        let tail = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        tail.copy_from_slice(&last[..tail.len()]);
    }
}

/// The TLS handshake of the fixture, as the four flights of a full RSA
/// handshake: ClientHello; ServerHello to ServerHelloDone; the client's
/// ClientKeyExchange, ChangeCipherSpec and Finished; the server's last
/// messages, ChangeCipherSpec and Finished. Each is whole records.
struct HandshakeTemplate {
    flights: [(Direction, Vec<u8>); 4],
}

/// Splits a stream into whole TLS records.
fn records(stream: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err("the fixture's stream ends inside a record header".into());
        }
        let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < len {
            return Err("the fixture's stream ends inside a record".into());
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    Ok(out)
}

/// The records of one direction up to and including the one after its
/// ChangeCipherSpec (the encrypted Finished).
fn handshake_records(stream: &[u8]) -> Result<Vec<&[u8]>> {
    let all = records(stream)?;
    let ccs = all
        .iter()
        .position(|r| r[0] == 20)
        .ok_or("the fixture has no ChangeCipherSpec")?;
    if ccs + 1 >= all.len() {
        return Err("the fixture has no Finished after its ChangeCipherSpec".into());
    }
    Ok(all[..ccs + 2].to_vec())
}

/// Whether an unprotected handshake record carries ServerHelloDone.
fn has_server_hello_done(record: &[u8]) -> bool {
    let mut body = &record[5..];
    while record[0] == 22 && body.len() >= 4 {
        if body[0] == 14 {
            return true;
        }
        let len = 4 + u32::from_be_bytes([0, body[1], body[2], body[3]]) as usize;
        body = &body[len.min(body.len())..];
    }
    false
}

impl HandshakeTemplate {
    fn from_fixture(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut streams: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut first_flow = None;
        let mut sink = |event: StreamEvent<'_>| {
            if let StreamEvent::Data {
                flow, dir, bytes, ..
            } = event
            {
                if *first_flow.get_or_insert(flow) == flow {
                    streams[usize::from(dir == S2C)].extend_from_slice(bytes);
                }
            }
            ControlFlow::Continue(())
        };
        run_capture(&bytes[..], &CaptureOptions::default(), &mut sink)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let client = handshake_records(&streams[0])?;
        let server = handshake_records(&streams[1])?;
        if client.len() < 2 || client[0].get(5) != Some(&1) {
            return Err("the fixture's client does not start with a ClientHello".into());
        }
        let done = server
            .iter()
            .position(|r| has_server_hello_done(r))
            .ok_or("the fixture's server sends no ServerHelloDone")?;
        if server[0].get(5) != Some(&2) {
            return Err("the fixture's server does not start with a ServerHello".into());
        }
        Ok(Self {
            flights: [
                (C2S, client[0].to_vec()),
                (S2C, server[..=done].concat()),
                (C2S, client[1..].concat()),
                (S2C, server[done + 1..].concat()),
            ],
        })
    }
}

/// One connection: its TCP state, the segments it has ready, and what is
/// left to send.
struct Connection {
    conv: TcpConversation,
    queue: VecDeque<Segment>,
    /// 0: TCP handshake; 1..=4: TLS flights; 5: bulk; 6: alerts and FIN;
    /// 7: done.
    phase: u8,
    bursts_sent: usize,
    records_left: usize,
    rng: Rng,
}

impl Connection {
    fn new(index: usize, records: usize, seed: u64) -> Self {
        let client = SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(10, 0, (index / 250) as u8, (index % 250 + 2) as u8),
            40_000 + (index % 20_000) as u16,
        ));
        let server = SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(10, 1, 0, (index % 8 + 1) as u8),
            SERVER_PORT,
        ));
        let mut rng = Rng(seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let isns = rng.next();
        let conv = TcpConversation::new(client, server)
            .with_isns(isns as u32, (isns >> 32) as u32)
            .with_mss(MSS);
        Self {
            conv,
            queue: VecDeque::new(),
            phase: 0,
            bursts_sent: 0,
            records_left: records,
            rng,
        }
    }

    /// Queues `payload` from the sender of `dir` in MSS-sized segments, the
    /// receiver acknowledging every second one and the last.
    fn send(&mut self, dir: Direction, payload: &[u8]) {
        let count = payload.len().div_ceil(MSS);
        for (i, chunk) in payload.chunks(MSS).enumerate() {
            let last = i + 1 == count;
            let flags = if last {
                TcpFlags::ACK | TcpFlags::PSH
            } else {
                TcpFlags::ACK
            };
            let segment = self.conv.segment(dir, flags, chunk);
            self.queue.push_back(segment);
            if i % 2 == 1 || last {
                let ack = self.conv.ack(dir.reverse());
                self.queue.push_back(ack);
            }
        }
    }

    fn record(&mut self, content_type: u8, body_len: usize, out: &mut Vec<u8>) {
        out.push(content_type);
        out.extend_from_slice(&[3, 3]);
        out.extend_from_slice(&(body_len as u16).to_be_bytes());
        let start = out.len();
        out.resize(start + body_len, 0);
        self.rng.fill(&mut out[start..]);
    }

    /// Queues the next step; false once the connection is over.
    fn refill(&mut self, template: &HandshakeTemplate) -> bool {
        match self.phase {
            0 => self.queue.extend(self.conv.handshake()),
            1..=4 => {
                let (dir, flight) = &template.flights[usize::from(self.phase - 1)];
                let mut flight = flight.clone();
                // Fresh randoms: bytes 11..43 of a record whose first
                // message is a ClientHello or ServerHello.
                if matches!(flight.get(5), Some(1 | 2)) && flight.len() >= 43 && flight[0] == 22 {
                    self.rng.fill(&mut flight[11..43]);
                }
                self.send(*dir, &flight);
            }
            5 if self.records_left > 0 => {
                let dir = if self.bursts_sent.is_multiple_of(BURSTS_PER_CLIENT_BURST) {
                    C2S
                } else {
                    S2C
                };
                let count = self.records_left.min(BURST_RECORDS);
                let mut burst = Vec::with_capacity(count * (5 + RECORD_BODY));
                for _ in 0..count {
                    self.record(23, RECORD_BODY, &mut burst);
                }
                self.records_left -= count;
                self.bursts_sent += 1;
                self.send(dir, &burst);
                return true;
            }
            5 => {}
            6 => {
                for dir in [C2S, S2C] {
                    let mut alert = Vec::new();
                    self.record(21, ALERT_BODY, &mut alert);
                    self.send(dir, &alert);
                }
                self.queue.extend(self.conv.close());
            }
            _ => return false,
        }
        self.phase += 1;
        true
    }

    /// The next segment of this connection, or None when it is over.
    fn next_segment(&mut self, template: &HandshakeTemplate) -> Option<Segment> {
        loop {
            if let Some(segment) = self.queue.pop_front() {
                return Some(segment);
            }
            if !self.refill(template) {
                return None;
            }
        }
    }
}

/// Bytes one connection takes in the file without its bulk data.
fn fixed_cost(template: &HandshakeTemplate) -> usize {
    let packets = |payload: usize| payload.div_ceil(MSS) * 3 / 2 + 1;
    let mut total = 7 * (PACKET_OVERHEAD + 4); // TCP handshake and close
    for (_, flight) in &template.flights {
        total += flight.len() + packets(flight.len()) * PACKET_OVERHEAD;
    }
    total + 2 * (5 + ALERT_BODY + 2 * PACKET_OVERHEAD)
}

/// Bytes one bulk record takes in the file, acknowledgments included.
fn record_cost() -> usize {
    let payload = 5 + RECORD_BODY;
    let segments = payload as f64 / MSS as f64;
    payload + (segments * 1.5 * PACKET_OVERHEAD as f64).round() as usize
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let template = HandshakeTemplate::from_fixture(&args.fixture)?;
    let target = (args.size_mb * 1e6) as usize;
    let budget = target
        .saturating_sub(24)
        .saturating_sub(args.connections * fixed_cost(&template));
    let total_records = budget / record_cost();
    let per = total_records / args.connections;
    let extra = total_records % args.connections;

    let file = File::create(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut writer = PcapWriter::ethernet(BufWriter::with_capacity(1 << 20, file))?;
    let mut clock = Timestamp {
        secs: 1_704_067_200,
        nanos: 0,
    };
    let mut next = 0;
    let mut active: Vec<Connection> = Vec::with_capacity(args.active);
    let mut packets: u64 = 0;
    let mut turn = 0;
    loop {
        while active.len() < args.active && next < args.connections {
            let records = per + usize::from(next < extra);
            active.push(Connection::new(next, records, args.seed));
            next += 1;
        }
        if active.is_empty() {
            break;
        }
        turn %= active.len();
        match active[turn].next_segment(&template) {
            Some(mut segment) => {
                // One clock for the whole capture, 20 µs per packet.
                segment.ts = clock;
                clock.nanos += 20_000;
                if clock.nanos >= 1_000_000_000 {
                    clock.secs += 1;
                    clock.nanos -= 1_000_000_000;
                }
                writer.write_segment(&segment)?;
                packets += 1;
                turn += 1;
            }
            None => {
                // Its place goes to the next connection, in the same turn.
                active.swap_remove(turn);
            }
        }
    }
    writer.flush()?;
    drop(writer);
    let size = std::fs::metadata(&args.out)?.len();
    println!(
        "{}: {} bytes ({:.1} MB), {} packets, {} TLS connections ({} at a time), {} \
         application-data records of {} bytes, server port {}, seed {}",
        args.out.display(),
        size,
        size as f64 / 1e6,
        packets,
        args.connections,
        args.active.min(args.connections),
        total_records,
        5 + RECORD_BODY,
        SERVER_PORT,
        args.seed
    );
    Ok(())
}
