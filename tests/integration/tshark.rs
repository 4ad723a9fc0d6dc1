//! tshark as an oracle for `sslwalk decode`: for every capture under
//! `fixtures/peers/` and `fixtures/edge/`, the TLS message sequence tshark
//! sees must be the one `sslwalk decode --json` reports.
//!
//! # What is compared
//!
//! Per TCP connection, per direction, a list of tokens. Connections are
//! matched by endpoints: tshark's `tcp.stream` gives the client (the sender
//! of the SYN; without one, the sender of a ClientHello, or the receiver of
//! the SYN-ACK; else the higher port) and the server; sslwalk's `connection` event gives `data.client`
//! and `data.server` ("ip:port", an IPv6 address possibly in brackets).
//! Only connections where either side saw a TLS record are compared.
//!
//! # Normalisation
//!
//! Both sides are reduced to the same tokens, by a per-direction state
//! machine that knows whether that direction is *protected* yet:
//!
//! - Before protection, every complete handshake message is its RFC name in
//!   snake_case (tshark `tls.handshake.type` numbers are mapped to names;
//!   fragments of a message split across records count once, where the
//!   message completes, as tshark reassembles them); a ChangeCipherSpec is
//!   `change_cipher_spec`, an alert `alert`. sslwalk's `hello_retry_request`
//!   is `server_hello` (same wire type).
//! - TLS 1.2 and older: a direction is protected after its first
//!   ChangeCipherSpec. From then on one token per record gives only the
//!   record's content type: `protected:handshake` (an encrypted Finished, or
//!   a whole renegotiation), `protected:change_cipher_spec`,
//!   `protected:alert`, `protected:application_data`. On the sslwalk side the
//!   names map the same way: `encrypted_handshake` and any handshake name to
//!   `protected:handshake`, `encrypted_alert`/`alert` to `protected:alert`,
//!   and so on.
//! - TLS 1.3 (the ServerHello tshark sees carries supported_versions
//!   0x0304): every record of outer type 23 is `protected:application_data`
//!   (its true type is hidden); other records are plaintext as above, and do
//!   not switch the state (the compatibility ChangeCipherSpec). On the
//!   sslwalk side, `client_hello`, `server_hello` and `change_cipher_spec`
//!   stay, an `alert` stays plaintext until that direction has sent a
//!   protected message, and every other name is `protected:application_data`.
//! - `application_data` is always `protected:application_data` (type 23
//!   never carries a plaintext handshake).
//! - tshark is run without keys, but a pcapng with a Decryption Secrets
//!   Block is decrypted by tshark anyway: its protected records are still
//!   classed by their outer content type (`tls.record.opaque_type` when
//!   present), so decryption changes nothing on the tshark side. If sslwalk
//!   decrypted a direction (it names a protected message other than
//!   `encrypted_handshake`, `encrypted_alert`, `application_data` or
//!   `change_cipher_spec`, so one record may have become several messages),
//!   runs of equal protected tokens are collapsed to one on both sides for
//!   that direction; otherwise the record counts must match exactly.
//!
//! The negotiated version tshark reads from the ServerHello is also
//! compared with sslwalk's `outcome` `data.version` where both exist.
//! `decode` must exit with 0 or 1 (a conversation that did not complete is
//! a negative outcome, not an error) and its output must begin with a
//! `begin` line and end with an `end` line.
//!
//! A second test checks the oracle itself on the peer captures (each
//! conversation opens with ClientHello / ServerHello, the split Certificate
//! is reassembled, the multi-connection capture has four connections...),
//! so that a tshark change cannot silently empty the comparison.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::util::{repo_path, require_tool, run_sslwalk, run_with_limit};

const FIXTURE_DIRS: &[&str] = &["fixtures/peers", "fixtures/edge"];
const TSHARK_LIMIT: Duration = Duration::from_secs(120);

// ------------------------------------------------------------- model ---

/// One end of a TCP connection; `ip` without brackets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Endpoint {
    ip: String,
    port: u16,
}

impl Endpoint {
    /// Parses "1.2.3.4:443", "[::1]:443" or "::1:443" (last colon splits).
    fn parse(s: &str) -> Option<Self> {
        let (ip, port) = s.rsplit_once(':')?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some(Self {
            ip: ip.to_string(),
            port: port.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ip.contains(':') {
            write!(f, "[{}]:{}", self.ip, self.port)
        } else {
            write!(f, "{}:{}", self.ip, self.port)
        }
    }
}

/// A connection: its endpoints, and which of the connections with these
/// endpoints it is (0 for the first; a capture may reuse a port pair).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ConnKey {
    client: Endpoint,
    server: Endpoint,
    nth: usize,
}

impl std::fmt::Display for ConnKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.client, self.server)?;
        if self.nth > 0 {
            write!(f, " (connection #{} on these endpoints)", self.nth + 1)?;
        }
        Ok(())
    }
}

/// Numbers connections that share endpoints, in the order they come.
#[derive(Default)]
struct KeyMaker(BTreeMap<(Endpoint, Endpoint), usize>);

impl KeyMaker {
    fn key(&mut self, client: Endpoint, server: Endpoint) -> ConnKey {
        let n = self.0.entry((client.clone(), server.clone())).or_default();
        *n += 1;
        ConnKey {
            client,
            server,
            nth: *n - 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    C2S,
    S2C,
}

impl Dir {
    fn id(self) -> &'static str {
        match self {
            Dir::C2S => "client_to_server",
            Dir::S2C => "server_to_client",
        }
    }
}

/// One TLS record as tshark shows it.
#[derive(Clone, Debug)]
struct Record {
    /// The outer content type (20, 21, 22, 23, ...).
    content_type: u8,
    /// Handshake messages that complete in this record (fragments of a
    /// longer message count in the record that completes it).
    handshakes: Vec<u8>,
}

/// What tshark saw of one TCP connection.
#[derive(Debug, Default)]
struct TsharkConn {
    /// "SSLv3" ... "TLSv1.3", from the first plaintext ServerHello.
    version: Option<&'static str>,
    records: Vec<(Dir, Record)>,
}

/// What sslwalk reported of one connection.
#[derive(Debug, Default)]
struct SslwalkConn {
    version: Option<String>,
    messages: Vec<(Dir, String)>,
}

/// The normalised, comparable form of one connection.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tokens {
    c2s: Vec<String>,
    s2c: Vec<String>,
}

// -------------------------------------------------------- fixtures ---

/// Every pcap/pcapng under the fixture directories (recursively), sorted.
fn capture_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in FIXTURE_DIRS {
        walk(&repo_path(d), &mut out);
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(repo_path(""))
        .unwrap_or(p)
        .display()
        .to_string()
}

// ---------------------------------------------------------- tshark ---

fn tshark(args: &[String]) -> Result<String, String> {
    let mut cmd = Command::new("tshark");
    cmd.args(args);
    let out = run_with_limit(&mut cmd, TSHARK_LIMIT);
    // tshark exits 2 on a capture that was cut short but still prints what
    // it read; only an empty answer is an error.
    if out.stdout.trim().is_empty() && out.code != Some(0) {
        return Err(format!("tshark {args:?}: {}", out.describe()));
    }
    Ok(out.stdout)
}

/// The server port of every TCP stream: the destination of the SYN, or
/// the lower port when the capture starts after the SYN.
fn server_ports(file: &Path) -> Result<BTreeSet<u16>, String> {
    let text = tshark(&[
        "-n".into(),
        "-r".into(),
        file.display().to_string(),
        "-Y".into(),
        "tcp".into(),
        "-T".into(),
        "fields".into(),
        "-e".into(),
        "tcp.stream".into(),
        "-e".into(),
        "tcp.srcport".into(),
        "-e".into(),
        "tcp.dstport".into(),
        "-e".into(),
        "tcp.flags".into(),
    ])?;
    let mut syn: BTreeMap<u64, u16> = BTreeMap::new();
    let mut lowest: BTreeMap<u64, u16> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 {
            continue;
        }
        let (Ok(stream), Ok(sp), Ok(dp)) = (f[0].parse(), f[1].parse(), f[2].parse()) else {
            continue;
        };
        let flags = parse_int(f[3]).unwrap_or(0);
        if flags & 0x02 != 0 && flags & 0x10 == 0 {
            syn.entry(stream).or_insert(dp);
        }
        let lo: u16 = std::cmp::min(sp, dp);
        let e = lowest.entry(stream).or_insert(lo);
        *e = (*e).min(lo);
    }
    Ok(lowest
        .iter()
        .map(|(s, lo)| *syn.get(s).unwrap_or(lo))
        .collect())
}

fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A JSON value that tshark gives as one object or, repeated, as an array.
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Whether `v` (recursively) has `key` with the string value `want`.
fn has_value(v: &Value, key: &str, want: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (k == key && items(x).iter().any(|i| i.as_str() == Some(want)))
                || has_value(x, key, want)
        }),
        Value::Array(a) => a.iter().any(|x| has_value(x, key, want)),
        _ => false,
    }
}

fn version_name(v: &str) -> Option<&'static str> {
    Some(match parse_int(v)? {
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => return None,
    })
}

struct FrameInfo {
    stream: u64,
    src: Endpoint,
    dst: Endpoint,
    syn_only: bool,
    syn_ack: bool,
    records: Vec<Record>,
    server_hello_version: Option<&'static str>,
}

/// Reads one frame of `tshark -T json --no-duplicate-keys`.
fn frame_info(frame: &Value) -> Option<FrameInfo> {
    let layers = frame.get("_source")?.get("layers")?;
    let tcp = items(layers.get("tcp")?).into_iter().next()?;
    let ip = items(layers.get("ip").or_else(|| layers.get("ipv6"))?)
        .into_iter()
        .next()?;
    let (src_ip, dst_ip) = match (str_field(ip, "ip.src"), str_field(ip, "ip.dst")) {
        (Some(s), Some(d)) => (s, d),
        _ => (str_field(ip, "ipv6.src")?, str_field(ip, "ipv6.dst")?),
    };
    let stream = parse_int(str_field(tcp, "tcp.stream")?)?;
    let src = Endpoint {
        ip: src_ip.to_string(),
        port: str_field(tcp, "tcp.srcport")?.parse().ok()?,
    };
    let dst = Endpoint {
        ip: dst_ip.to_string(),
        port: str_field(tcp, "tcp.dstport")?.parse().ok()?,
    };
    let flags = str_field(tcp, "tcp.flags").and_then(parse_int).unwrap_or(0);
    let mut info = FrameInfo {
        stream,
        src,
        dst,
        syn_only: flags & 0x02 != 0 && flags & 0x10 == 0,
        syn_ack: flags & 0x12 == 0x12,
        records: Vec::new(),
        server_hello_version: None,
    };
    for tls in layers.get("tls").map(items).unwrap_or_default() {
        for rec in tls.get("tls.record").map(items).unwrap_or_default() {
            let ct = str_field(rec, "tls.record.opaque_type")
                .or_else(|| str_field(rec, "tls.record.content_type"))
                .and_then(parse_int);
            let Some(ct) = ct else { continue };
            let mut record = Record {
                content_type: ct as u8,
                handshakes: Vec::new(),
            };
            if ct == 22 {
                for hs in rec.get("tls.handshake").map(items).unwrap_or_default() {
                    // "" is a fragment or an encrypted message.
                    let Some(t) = str_field(hs, "tls.handshake.type").and_then(parse_int) else {
                        continue;
                    };
                    record.handshakes.push(t as u8);
                    if t == 2 && info.server_hello_version.is_none() {
                        info.server_hello_version = if has_value(
                            hs,
                            "tls.handshake.extensions.supported_version",
                            "0x0304",
                        ) {
                            Some("TLSv1.3")
                        } else {
                            str_field(hs, "tls.handshake.version").and_then(version_name)
                        };
                    }
                }
            }
            info.records.push(record);
        }
    }
    Some(info)
}

type TsharkView = Result<BTreeMap<ConnKey, TsharkConn>, String>;

/// tshark's view of `file`, computed once per test run (both tests need
/// it, and tshark is slow to start).
fn tshark_view(file: &Path) -> Arc<TsharkView> {
    type Slot = Arc<OnceLock<Arc<TsharkView>>>;
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();
    let cell = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(file.to_path_buf())
        .or_default()
        .clone();
    cell.get_or_init(|| Arc::new(run_tshark_view(file))).clone()
}

/// tshark's view of `file`: records per connection and direction.
fn run_tshark_view(file: &Path) -> TsharkView {
    let mut args: Vec<String> = vec!["-n".into(), "-r".into(), file.display().to_string()];
    for port in server_ports(file)? {
        args.push("-d".into());
        args.push(format!("tcp.port=={port},tls"));
    }
    for pref in [
        "tcp.desegment_tcp_streams:TRUE",
        "tcp.reassemble_out_of_order:TRUE",
        "tcp.analyze_sequence_numbers:TRUE",
        "tls.desegment_ssl_records:TRUE",
        "tls.desegment_ssl_application_data:TRUE",
    ] {
        args.push("-o".into());
        args.push(pref.into());
    }
    args.extend(["-T", "json", "--no-duplicate-keys"].map(String::from));
    let text = tshark(&args)?;
    let frames: Vec<Value> = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]", text.trim_end().trim_end_matches(','))))
        .map_err(|e| format!("tshark JSON for {}: {e}", file.display()))?;

    // Per stream: frames in order, then who is the client.
    let mut streams: BTreeMap<u64, Vec<FrameInfo>> = BTreeMap::new();
    for f in frames.iter().filter_map(frame_info) {
        streams.entry(f.stream).or_default().push(f);
    }
    let mut conns: BTreeMap<ConnKey, TsharkConn> = BTreeMap::new();
    let mut keys = KeyMaker::default();
    // tcp.stream numbers follow the first packet of each connection.
    for frames in streams.values() {
        if frames.iter().all(|f| f.records.is_empty()) {
            continue;
        }
        let client = frames
            .iter()
            .find(|f| f.syn_only)
            .or_else(|| {
                frames.iter().find(|f| {
                    f.records
                        .iter()
                        .any(|r| r.content_type == 22 && r.handshakes.contains(&1))
                })
            })
            .map(|f| f.src.clone())
            .or_else(|| frames.iter().find(|f| f.syn_ack).map(|f| f.dst.clone()))
            .unwrap_or_else(|| {
                let f = &frames[0];
                if f.src.port > f.dst.port {
                    f.src.clone()
                } else {
                    f.dst.clone()
                }
            });
        let first = &frames[0];
        let server = if first.src == client {
            first.dst.clone()
        } else {
            first.src.clone()
        };
        let conn = conns.entry(keys.key(client.clone(), server)).or_default();
        for f in frames {
            let dir = if f.src == client { Dir::C2S } else { Dir::S2C };
            if dir == Dir::S2C && conn.version.is_none() {
                conn.version = f.server_hello_version;
            }
            for r in &f.records {
                conn.records.push((dir, r.clone()));
            }
        }
    }
    Ok(conns)
}

// --------------------------------------------------------- sslwalk ---

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

/// sslwalk's view of `file`, from `sslwalk decode --json FILE`.
fn sslwalk_view(file: &Path) -> Result<BTreeMap<ConnKey, SslwalkConn>, String> {
    let out = run_sslwalk(&["decode".as_ref(), "--json".as_ref(), file.as_os_str()]);
    if !matches!(out.code, Some(0 | 1)) {
        return Err(format!(
            "`sslwalk decode --json {}`: {}",
            file.display(),
            out.describe()
        ));
    }
    let lines: Vec<Line> = out
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("stdout line {}: {e}: {l}", i + 1))
        })
        .collect::<Result<_, _>>()?;
    match (lines.first(), lines.last()) {
        (Some(b), Some(e)) if b.kind == "begin" && e.kind == "end" => {}
        _ => return Err("output does not run from a `begin` line to an `end` line".into()),
    }
    let conn_no = |d: &Value| d.get("conn").and_then(Value::as_u64);
    // By connection number: endpoints (from the `connection` event) and
    // what was said.
    let mut by_no: BTreeMap<u64, (Option<(Endpoint, Endpoint)>, SslwalkConn)> = BTreeMap::new();
    for line in &lines {
        let d = &line.data;
        match line.kind.as_str() {
            "connection" => {
                let n = conn_no(d).ok_or("connection event without data.conn")?;
                let ep = |k: &str| {
                    d.get(k)
                        .and_then(Value::as_str)
                        .and_then(Endpoint::parse)
                        .ok_or_else(|| format!("connection event without a usable data.{k}: {d}"))
                };
                by_no.entry(n).or_default().0 = Some((ep("client")?, ep("server")?));
            }
            "message" => {
                let n = conn_no(d).ok_or("message event without data.conn")?;
                let dir = match d.get("dir").and_then(Value::as_str) {
                    Some("client_to_server") => Dir::C2S,
                    Some("server_to_client") => Dir::S2C,
                    other => return Err(format!("message with data.dir {other:?}")),
                };
                let name = d
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("message event without data.name")?;
                by_no
                    .entry(n)
                    .or_default()
                    .1
                    .messages
                    .push((dir, name.to_string()));
            }
            "outcome" => {
                let n = conn_no(d).ok_or("outcome event without data.conn")?;
                let version = d.get("version").and_then(Value::as_str).map(String::from);
                by_no.entry(n).or_default().1.version = version;
            }
            _ => {}
        }
    }
    // Connections that said nothing are left out, as on the tshark side;
    // one never announced still shows up, under endpoints tshark lacks.
    let mut keys = KeyMaker::default();
    let mut conns = BTreeMap::new();
    for (n, (endpoints, conn)) in by_no {
        if conn.messages.is_empty() {
            continue;
        }
        let (client, server) = endpoints.unwrap_or_else(|| {
            let e = Endpoint {
                ip: format!("unannounced-conn-{n}"),
                port: 0,
            };
            (e.clone(), e)
        });
        conns.insert(keys.key(client, server), conn);
    }
    Ok(conns)
}

// --------------------------------------------------- normalisation ---

fn handshake_name(t: u8) -> String {
    match t {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        3 => "hello_verify_request",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        21 => "certificate_url",
        22 => "certificate_status",
        23 => "supplemental_data",
        24 => "key_update",
        25 => "compressed_certificate",
        254 => "message_hash",
        t => return format!("handshake_type_{t}"),
    }
    .to_string()
}

fn protected(class: &str) -> String {
    format!("protected:{class}")
}

fn content_class(ct: u8) -> String {
    match ct {
        20 => "change_cipher_spec".into(),
        21 => "alert".into(),
        22 => "handshake".into(),
        23 => "application_data".into(),
        24 => "heartbeat".into(),
        t => format!("content_type_{t}"),
    }
}

fn push(tokens: &mut Tokens, dir: Dir, tok: String) {
    match dir {
        Dir::C2S => tokens.c2s.push(tok),
        Dir::S2C => tokens.s2c.push(tok),
    }
}

fn tshark_tokens(conn: &TsharkConn, tls13: bool) -> Tokens {
    let mut t = Tokens::default();
    let mut prot = [false, false];
    for (dir, r) in &conn.records {
        let p = &mut prot[*dir as usize];
        if r.content_type == 23 || *p {
            push(&mut t, *dir, protected(&content_class(r.content_type)));
            continue;
        }
        match r.content_type {
            22 => {
                for h in &r.handshakes {
                    push(&mut t, *dir, handshake_name(*h));
                }
            }
            20 => {
                push(&mut t, *dir, "change_cipher_spec".into());
                *p = !tls13;
            }
            other => push(&mut t, *dir, content_class(other)),
        }
    }
    t
}

/// The names sslwalk gives records it could not decrypt.
const OPAQUE_NAMES: &[&str] = &[
    "encrypted_handshake",
    "encrypted_alert",
    "application_data",
    "change_cipher_spec",
];

/// Returns the tokens and, per direction, whether sslwalk decrypted
/// (named a protected message beyond what the record header shows).
fn sslwalk_tokens(conn: &SslwalkConn, tls13: bool) -> (Tokens, [bool; 2]) {
    let mut t = Tokens::default();
    let mut prot = [false, false];
    let mut decrypted = [false, false];
    for (dir, name) in &conn.messages {
        let i = *dir as usize;
        let name = match name.as_str() {
            "hello_retry_request" => "server_hello",
            n => n,
        };
        let tok = if tls13 {
            match name {
                "client_hello" | "server_hello" | "change_cipher_spec" => name.to_string(),
                "alert" if !prot[i] => name.to_string(),
                _ => {
                    prot[i] = true;
                    decrypted[i] |= !OPAQUE_NAMES.contains(&name);
                    protected("application_data")
                }
            }
        } else if name == "application_data" {
            protected("application_data")
        } else if prot[i] {
            decrypted[i] |= !OPAQUE_NAMES.contains(&name);
            protected(match name {
                "change_cipher_spec" => "change_cipher_spec",
                "alert" | "encrypted_alert" => "alert",
                "heartbeat" => "heartbeat",
                _ => "handshake",
            })
        } else {
            if name == "change_cipher_spec" {
                prot[i] = true;
            }
            name.to_string()
        };
        push(&mut t, *dir, tok);
    }
    (t, decrypted)
}

fn collapse_protected(v: &mut Vec<String>) {
    v.dedup_by(|b, a| a == b && a.starts_with("protected:"));
}

fn fmt_tokens(v: &[String]) -> String {
    if v.is_empty() {
        return "(nothing)".into();
    }
    // Runs of equal tokens as "tok x3", to keep the listing short.
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        out.push(if j - i > 1 {
            format!("{} x{}", v[i], j - i)
        } else {
            v[i].clone()
        });
        i = j;
    }
    out.join(", ")
}

// ------------------------------------------------------------ tests ---

/// tshark's listing of one capture, one line per connection and direction.
fn describe_tshark(conns: &BTreeMap<ConnKey, TsharkConn>) -> String {
    let mut s = String::new();
    for (key, conn) in conns {
        let t = tshark_tokens(conn, conn.version == Some("TLSv1.3"));
        let _ = writeln!(s, "  {key} ({})", conn.version.unwrap_or("version unknown"));
        let _ = writeln!(s, "    C>S: {}", fmt_tokens(&t.c2s));
        let _ = writeln!(s, "    S>C: {}", fmt_tokens(&t.s2c));
    }
    s
}

/// Compares one capture: tshark's listing of it, and the differences ("" when
/// it matches) or why it could not be compared.
fn compare_file(file: &Path) -> (String, Result<String, String>) {
    let view = tshark_view(file);
    let theirs = match view.as_ref() {
        Ok(t) => t,
        Err(e) => return (String::new(), Err(e.clone())),
    };
    let listing = describe_tshark(theirs);
    let diff = sslwalk_view(file).map(|ours| diff_views(theirs, &ours));
    (listing, diff)
}

fn diff_views(
    theirs: &BTreeMap<ConnKey, TsharkConn>,
    ours: &BTreeMap<ConnKey, SslwalkConn>,
) -> String {
    let mut diff = String::new();
    let keys: BTreeSet<&ConnKey> = theirs
        .iter()
        .filter(|(_, c)| !c.records.is_empty())
        .map(|(k, _)| k)
        .chain(
            ours.iter()
                .filter(|(_, c)| !c.messages.is_empty())
                .map(|(k, _)| k),
        )
        .collect();
    let empty_t = TsharkConn::default();
    let empty_s = SslwalkConn::default();
    for key in keys {
        let t = theirs.get(key).unwrap_or(&empty_t);
        let s = ours.get(key).unwrap_or(&empty_s);
        let tls13 = t.version == Some("TLSv1.3");
        let mut want = tshark_tokens(t, tls13);
        let (mut got, decrypted) = sslwalk_tokens(s, tls13);
        for (i, dir) in [Dir::C2S, Dir::S2C].into_iter().enumerate() {
            let (w, g) = match dir {
                Dir::C2S => (&mut want.c2s, &mut got.c2s),
                Dir::S2C => (&mut want.s2c, &mut got.s2c),
            };
            if decrypted[i] {
                collapse_protected(w);
                collapse_protected(g);
            }
            if w != g {
                let _ = writeln!(
                    diff,
                    "  {key} {}:\n    tshark:  {}\n    sslwalk: {}",
                    dir.id(),
                    fmt_tokens(w),
                    fmt_tokens(g)
                );
            }
        }
        if let (Some(tv), Some(sv)) = (t.version, s.version.as_deref()) {
            if tv != sv {
                let _ = writeln!(diff, "  {key}: version: tshark {tv}, sslwalk {sv}");
            }
        }
    }
    diff
}

/// Runs `f` over `files` on a few threads; results in file order.
fn par_map<T: Send>(files: &[PathBuf], f: impl Fn(&Path) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<T>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let r = f(file);
                *results[i].lock().unwrap() = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap().expect("every file was handled"))
        .collect()
}

#[test]
fn decode_matches_tshark() {
    if !require_tool("tshark") {
        return;
    }
    let files = capture_files();
    assert!(
        !files.is_empty(),
        "no captures under {FIXTURE_DIRS:?} (run fixtures/make-captures.sh)"
    );
    let results = par_map(&files, compare_file);
    let mut report = String::new();
    for (file, (listing, r)) in files.iter().zip(results) {
        // Shown with --nocapture, or when the test fails.
        eprint!("tshark sees {}:\n{listing}", rel(file));
        match r {
            Ok(d) if d.is_empty() => {}
            Ok(d) => {
                let _ = write!(report, "{}:\n{d}", rel(file));
            }
            Err(e) => {
                let _ = writeln!(report, "{}:\n  {e}", rel(file));
            }
        }
    }
    assert!(
        report.is_empty(),
        "sslwalk decode disagrees with tshark on these captures:\n{report}"
    );
}

/// The oracle itself: what tshark reads from the peer captures must look
/// like the handshakes fixtures/make-captures.sh recorded.
#[test]
fn tshark_oracle_reads_peer_captures() {
    if !require_tool("tshark") {
        return;
    }
    let files: Vec<PathBuf> = capture_files()
        .into_iter()
        .filter(|f| f.starts_with(repo_path("fixtures/peers")))
        .collect();
    assert!(
        !files.is_empty(),
        "no captures in fixtures/peers (run fixtures/make-captures.sh)"
    );
    let views = par_map(&files, tshark_view);
    let mut problems = String::new();
    let mut listing = String::new();
    for (file, view) in files.iter().zip(views) {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let conns = match view.as_ref() {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(problems, "{name}: {e}");
                continue;
            }
        };
        let _ = write!(listing, "{name}\n{}", describe_tshark(conns));
        let mut problem = |msg: String| {
            let _ = writeln!(problems, "{name}: {msg}");
        };
        let expected_conns = if name.contains("multi") {
            4
        } else if name.contains("resumed") {
            2
        } else {
            1
        };
        if conns.len() != expected_conns {
            problem(format!(
                "{} TLS connections, expected {expected_conns}",
                conns.len()
            ));
        }
        for conn in conns.values() {
            let tls13 = conn.version == Some("TLSv1.3");
            let t = tshark_tokens(conn, tls13);
            if t.c2s.first().map(String::as_str) != Some("client_hello") {
                problem(format!(
                    "client does not open with client_hello: {:?}",
                    t.c2s
                ));
            }
            if t.s2c.first().map(String::as_str) != Some("server_hello") {
                problem(format!(
                    "server does not open with server_hello: {:?}",
                    t.s2c
                ));
            }
            if conn.version.is_none() {
                problem("no negotiated version".into());
            }
            let count = |v: &[String], tok: &str| v.iter().filter(|x| *x == tok).count();
            let app = protected("application_data");
            if count(&t.c2s, &app) == 0 || count(&t.s2c, &app) == 0 {
                problem("no application data both ways".into());
            }
            let want_version = [
                ("ssl3", "SSLv3"),
                ("tls10", "TLSv1.0"),
                ("tls11", "TLSv1.1"),
                ("tls12", "TLSv1.2"),
                ("tls13", "TLSv1.3"),
            ]
            .iter()
            .find(|(k, _)| name.contains(&format!("-{k}-")) || name.ends_with(&format!("-{k}")))
            .map(|(_, v)| *v);
            if want_version.is_some() && conn.version != want_version {
                problem(format!(
                    "version {:?}, expected {want_version:?}",
                    conn.version
                ));
            }
            if !tls13 {
                // Not resumed: one Certificate from the server, reassembled
                // even when split across records.
                let resumed = !t.s2c.iter().any(|x| x == "certificate");
                if resumed && !name.contains("resumed") {
                    problem(format!("no server certificate: {:?}", t.s2c));
                }
                if !resumed && count(&t.s2c, "certificate") != 1 {
                    problem(format!("certificate count: {:?}", t.s2c));
                }
            }
        }
        if name.contains("client-auth") {
            let c2s = conns.values().next().map(|c| tshark_tokens(c, false).c2s);
            let c2s = c2s.unwrap_or_default();
            for m in ["certificate", "client_key_exchange", "certificate_verify"] {
                if !c2s.iter().any(|x| x == m) {
                    problem(format!("client sends no {m}: {c2s:?}"));
                }
            }
        }
        if name.contains("resumed") {
            let resumed = conns.values().filter(|c| {
                let t = tshark_tokens(c, false);
                !t.s2c.iter().any(|x| x == "certificate")
            });
            if resumed.count() != 1 {
                problem("expected exactly one abbreviated handshake".into());
            }
        }
    }
    eprintln!("tshark sees:\n{listing}");
    assert!(
        problems.is_empty(),
        "the tshark oracle misreads the peer captures:\n{problems}\nlisting:\n{listing}"
    );
}

/// The normalisation on hand-made sequences: sslwalk with and without keys
/// compares equal to tshark, and a missing message does not.
#[test]
fn normalisation_examples() {
    let rec = |dir, content_type, handshakes: &[u8]| {
        (
            dir,
            Record {
                content_type,
                handshakes: handshakes.to_vec(),
            },
        )
    };
    let msgs = |v: &[(Dir, &str)]| SslwalkConn {
        version: None,
        messages: v.iter().map(|(d, n)| (*d, n.to_string())).collect(),
    };
    let same = |t: &TsharkConn, s: &SslwalkConn, tls13: bool| {
        let mut want = tshark_tokens(t, tls13);
        let (mut got, decrypted) = sslwalk_tokens(s, tls13);
        if decrypted[0] {
            collapse_protected(&mut want.c2s);
            collapse_protected(&mut got.c2s);
        }
        if decrypted[1] {
            collapse_protected(&mut want.s2c);
            collapse_protected(&mut got.s2c);
        }
        want == got
    };
    use Dir::{C2S, S2C};

    // TLS 1.2, RSA: Finished and the app data are opaque to tshark.
    let t12 = TsharkConn {
        version: Some("TLSv1.2"),
        records: vec![
            rec(C2S, 22, &[1]),
            rec(S2C, 22, &[2, 11, 14]),
            rec(C2S, 22, &[16]),
            rec(C2S, 20, &[]),
            rec(C2S, 22, &[]),
            rec(S2C, 20, &[]),
            rec(S2C, 22, &[]),
            rec(C2S, 23, &[]),
            rec(S2C, 21, &[]),
        ],
    };
    let keyless = [
        (C2S, "client_hello"),
        (S2C, "server_hello"),
        (S2C, "certificate"),
        (S2C, "server_hello_done"),
        (C2S, "client_key_exchange"),
        (C2S, "change_cipher_spec"),
        (C2S, "encrypted_handshake"),
        (S2C, "change_cipher_spec"),
        (S2C, "encrypted_handshake"),
        (C2S, "application_data"),
        (S2C, "encrypted_alert"),
    ];
    assert!(same(&t12, &msgs(&keyless), false));
    let mut decrypted = keyless;
    decrypted[6].1 = "finished";
    decrypted[8].1 = "finished";
    decrypted[10].1 = "alert";
    assert!(same(&t12, &msgs(&decrypted), false));
    let mut missing = keyless.to_vec();
    missing.remove(3);
    assert!(!same(&t12, &msgs(&missing), false));

    // TLS 1.3: EncryptedExtensions..Finished in one record of type 23.
    let t13 = TsharkConn {
        version: Some("TLSv1.3"),
        records: vec![
            rec(C2S, 22, &[1]),
            rec(S2C, 22, &[2]),
            rec(S2C, 20, &[]),
            rec(S2C, 23, &[]),
            rec(C2S, 20, &[]),
            rec(C2S, 23, &[]),
            rec(S2C, 23, &[]),
        ],
    };
    let keyless13 = [
        (C2S, "client_hello"),
        (S2C, "server_hello"),
        (S2C, "change_cipher_spec"),
        (S2C, "application_data"),
        (C2S, "change_cipher_spec"),
        (C2S, "application_data"),
        (S2C, "application_data"),
    ];
    assert!(same(&t13, &msgs(&keyless13), true));
    let decrypted13 = [
        (C2S, "client_hello"),
        (S2C, "server_hello"),
        (S2C, "change_cipher_spec"),
        (S2C, "encrypted_extensions"),
        (S2C, "certificate"),
        (S2C, "certificate_verify"),
        (S2C, "finished"),
        (C2S, "change_cipher_spec"),
        (C2S, "finished"),
        (S2C, "new_session_ticket"),
    ];
    assert!(same(&t13, &msgs(&decrypted13), true));
    assert!(!same(&t13, &msgs(&keyless13[..4]), true));
}
