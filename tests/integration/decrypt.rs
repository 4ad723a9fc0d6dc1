//! `decode` with secrets: the server's RSA key (`--key`), a key log
//! (`--keylog`), or a key log inside the pcapng (Decryption Secrets Block).
//!
//! - Every peer capture of `fixtures/peers/` (fixtures/README.md) decrypts
//!   to exactly the text its peers sent (`fixtures/make-captures.sh`: two
//!   or three "hello from client N" / "hello from server N" lines each way
//!   for openssl, the client's lines echoed by gnutls-serv, tlslite's
//!   "client message N" and "server echo: ..."), both Finished verified:
//!   RSA key exchange with `--key` and with the key log, (EC)DHE and TLS
//!   1.3 with the key log; and every one of them, rewritten as a pcapng
//!   with its key log in a Decryption Secrets Block, with no option at all
//!   (as is the DSB capture editcap made).
//! - The A10 test of ARCHITECTURE.md: an in-memory engine client and
//!   server talk (DES, export and other suites, SSL 3.0 to TLS 1.2, a
//!   renegotiation), their bytes go into a pcap through
//!   `sslwalk::capture::writer`, the observer decodes it with the engine's
//!   key log, the server key, and the key log in a Decryption Secrets
//!   Block, and its message events match the engine's one for one (name,
//!   direction, step, raw bytes), application data included.
//! - Failures: a wrong key, a key log of other sessions, a truncated
//!   protected record, a tampered ciphertext: notes, no panic, the rest
//!   still decoded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use rand::SeedableRng;
use serde_json::Value;

use sslwalk::capture::ahead::{AheadLink, WhoOpens};
use sslwalk::capture::observer::{Observer, ObserverFilter, ObserverStats, Secrets};
use sslwalk::capture::writer::{LinkLayer, PcapNgInterface, PcapWriter, Segment, TcpConversation};
use sslwalk::capture::{
    run_capture, run_capture_threaded, CaptureItem, CaptureOptions, LinkType, PacketSource,
};
use sslwalk::crypto::keylog::KeyLog;
use sslwalk::engine::{Credentials, Engine, EngineConfig, Role};
use sslwalk::event::{
    Direction, Event, EventKind, Message, NoteCode, Origin, Outcome, Timestamp, VecSink,
};
use sslwalk::wire::{CipherSuite, ProtocolVersion};

use crate::util::{repo_path, run_sslwalk, Output};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

// -- Reading the JSON output --------------------------------------------------

/// What the JSON output says about one connection.
#[derive(Debug, Default)]
struct Conn {
    outcome: Value,
    /// Decrypted application data per direction, concatenated.
    data: [Vec<u8>; 2],
    /// Every message and note code seen on the connection.
    notes: Vec<String>,
    messages: Vec<Value>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn parse(out: &Output) -> BTreeMap<u64, Conn> {
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    for line in out.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let d = &v["data"];
        let Some(n) = d["conn"].as_u64() else {
            continue;
        };
        let c = conns.entry(n).or_default();
        match v["type"].as_str().unwrap() {
            "outcome" => c.outcome = d.clone(),
            "note" => c.notes.push(d["code"].as_str().unwrap().to_string()),
            "message" => {
                for note in d["notes"].as_array().unwrap() {
                    c.notes.push(note["code"].as_str().unwrap().to_string());
                }
                if d["name"] == "application_data" {
                    if let Some(p) = d["fields"]["plaintext"].as_str() {
                        let i = usize::from(d["dir"] == "server_to_client");
                        c.data[i].extend(unhex(p));
                    }
                }
                c.messages.push(d.clone());
            }
            _ => {}
        }
    }
    conns
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn decode(args: &[&str]) -> (Output, BTreeMap<u64, Conn>) {
    let mut all = vec!["decode", "--json", "--show-data"];
    all.extend_from_slice(args);
    let out = run_sslwalk(&all);
    let conns = parse(&out);
    (out, conns)
}

fn fixture(name: &str) -> String {
    repo_path(format!("fixtures/peers/{name}"))
        .display()
        .to_string()
}

fn server_key() -> String {
    fixture("keys/server.key")
}

/// The lines the capture script's openssl peers send, `n` each way.
fn openssl_lines(who: &str, n: u32) -> String {
    (1..=n).map(|i| format!("hello from {who} {i}\n")).collect()
}

/// What each side of a fixture's connection sent: (client, server), by
/// connection number of the decoded output.
fn expected(name: &str, conn: &Conn) -> (String, String) {
    match name {
        n if n.starts_with("gnutls-") => {
            // gnutls-serv --echo sends back each line of the client.
            let c = openssl_lines("client", 2);
            (c.clone(), c)
        }
        n if n.starts_with("tlslite-") => (
            "client message 1\nclient message 2\n".into(),
            "server echo: client message 1\nserver echo: client message 2\n".into(),
        ),
        "openssl-tls12-renegotiation.pcap" => {
            (openssl_lines("client", 3), openssl_lines("server", 3))
        }
        "openssl-multi.pcap" => {
            // Client i sends "hello from client i.1" and "i.2"; the pairs
            // are told apart by version.
            let i = match conn.outcome["version"].as_str().unwrap() {
                "TLSv1.0" => 0,
                "TLSv1.1" => 1,
                "TLSv1.2" => 2,
                "TLSv1.3" => 3,
                v => panic!("{v}"),
            };
            let lines = |who: &str| -> String {
                (1..=2)
                    .map(|c| format!("hello from {who} {i}.{c}\n"))
                    .collect()
            };
            (lines("client"), lines("server"))
        }
        _ => (openssl_lines("client", 2), openssl_lines("server", 2)),
    }
}

/// Checks every connection that should decrypt: both Finished verified,
/// the exact data each way. Returns how many did.
fn check_decrypted(name: &str, how: &str, out: &Output, conns: &BTreeMap<u64, Conn>) -> usize {
    assert_eq!(out.code, Some(0), "{name} {how}: {}", out.describe());
    let mut n = 0;
    for (i, c) in conns {
        let o = &c.outcome;
        assert_eq!(o["result"], "ok", "{name} {how} #{i}: {o}");
        let ephemeral =
            o["cipher_suite"].as_str().unwrap().contains("DHE") || o["version"] == "TLSv1.3";
        if ephemeral && how == "--key" {
            assert_eq!(o["decrypted"], false, "{name} #{i}: {o}");
            let why = o["reason"]["params"]["reason"].as_str().unwrap();
            assert!(why.contains("not RSA") || why.contains("TLS 1.3"), "{o}");
            continue;
        }
        assert_eq!(o["decrypted"], true, "{name} {how} #{i}: {o}");
        assert_eq!(o["finished_verified"], true, "{name} {how} #{i}: {o}");
        assert_eq!(o["reason"], Value::Null, "{name} {how} #{i}");
        let (client, server) = expected(name, c);
        assert_eq!(text(&c.data[0]), client, "{name} {how} #{i}");
        assert_eq!(text(&c.data[1]), server, "{name} {how} #{i}");
        // The close_notify alerts were encrypted: now they are alerts.
        let alerts = c.messages.iter().filter(|m| m["name"] == "alert").count();
        assert!(alerts >= 1, "{name} {how} #{i}: no decrypted alert");
        assert!(
            !c.messages
                .iter()
                .any(|m| m["name"] != "encrypted_extensions"
                    && m["name"].as_str().unwrap().starts_with("encrypted_")),
            "{name} {how} #{i}: a record stayed encrypted"
        );
        let finished = c.messages.iter().filter(|m| m["name"] == "finished");
        for f in finished {
            assert_eq!(f["protected"], true);
            assert_eq!(f["notes"][0]["code"], "finished_verified", "{f}");
        }
        n += 1;
    }
    n
}

const RSA_FIXTURES: &[&str] = &[
    "openssl-tls10-rsa-aes128-sha.pcap",
    "openssl-tls12-rsa-aes128-gcm-sha256.pcap",
    "openssl-tls12-rsa-aes256-sha256.pcap",
    "openssl-tls12-rsa-client-auth.pcap",
    "openssl-tls12-rsa-resumed.pcap",
    "openssl-tls12-rsa-cert-split.pcap",
    "openssl-tls12-null-sha.pcap",
    "openssl-tls12-renegotiation.pcap",
    "openssl-multi.pcap",
    "dumpcap-openssl-tls12-rsa-aes128-sha.pcapng",
    "gnutls-tls10-rsa-3des-sha.pcap",
    "gnutls-tls11-rsa-rc4-sha.pcap",
    "gnutls-tls12-rsa-rc4-md5.pcap",
    "tlslite-ssl3-rsa-3des-sha.pcap",
    "tlslite-ssl3-rsa-rc4-sha.pcap",
];

const EPHEMERAL_FIXTURES: &[&str] = &[
    "openssl-tls13-aes128-gcm-sha256.pcap",
    "gnutls-tls13.pcap",
    "openssl-tls12-ecdhe-rsa-aes128-gcm-sha256.pcap",
    "gnutls-tls12-default.pcap",
    "gnutls-tls12-ecdhe-cbc-etm.pcap",
    "gnutls-tls12-rehandshake.pcap",
];

fn keylog_of(name: &str) -> String {
    let stem = name.rsplit_once('.').unwrap().0;
    fixture(&format!("{stem}.keylog"))
}

#[test]
fn rsa_fixtures_decrypt_with_the_server_key() {
    for name in RSA_FIXTURES {
        let (out, conns) = decode(&["--key", &server_key(), &fixture(name)]);
        let n = check_decrypted(name, "--key", &out, &conns);
        assert!(n >= 1, "{name}");
        // The key was the server's: the secrets came from it (or, for the
        // resumed connection, from the session learnt on connection 1).
        let sources: Vec<String> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with(r#"{"type":"secrets""#))
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["data"]["source"].to_string())
            .collect();
        if *name == "openssl-tls12-rsa-resumed.pcap" {
            assert_eq!(sources, [r#""server_key""#, r#""earlier_session""#]);
            assert_eq!(conns[&2].outcome["resumed"], true);
        } else {
            // One per handshake: the renegotiation has two.
            let handshakes = if *name == "openssl-tls12-renegotiation.pcap" {
                2
            } else {
                1
            };
            assert_eq!(sources.len(), n * handshakes, "{name}: {sources:?}");
            assert!(sources.iter().all(|s| s == r#""server_key""#), "{name}");
        }
    }
}

#[test]
fn every_fixture_decrypts_with_its_key_log() {
    for name in RSA_FIXTURES.iter().chain(EPHEMERAL_FIXTURES) {
        let (out, conns) = decode(&["--keylog", &keylog_of(name), &fixture(name)]);
        let n = check_decrypted(name, "--keylog", &out, &conns);
        assert!(n >= 1, "{name}");
    }
}

#[test]
fn renegotiation_switches_keys_at_its_change_cipher_spec() {
    for name in [
        "openssl-tls12-renegotiation.pcap",
        "gnutls-tls12-rehandshake.pcap",
    ] {
        let (out, conns) = decode(&["--keylog", &keylog_of(name), &fixture(name)]);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        let c = &conns[&1];
        assert_eq!(c.outcome["handshakes"], 2, "{name}");
        // The second handshake travelled encrypted and was decrypted.
        let hellos: Vec<&Value> = c
            .messages
            .iter()
            .filter(|m| m["name"] == "client_hello")
            .collect();
        assert_eq!(hellos.len(), 2, "{name}");
        assert_eq!(hellos[0]["protected"], false);
        assert_eq!(hellos[1]["protected"], true);
        let finished = c
            .messages
            .iter()
            .filter(|m| m["name"] == "finished")
            .count();
        assert_eq!(finished, 4, "{name}");
        assert!(c.notes.iter().filter(|n| *n == "finished_verified").count() == 4);
    }
}

/// `decode --json --show-data` of `path` with no secret option, and
/// SSLKEYLOGFILE set to `sslkeylogfile` or else unset (so that it cannot
/// help).
fn decode_with_environment(
    path: &str,
    sslkeylogfile: Option<&str>,
) -> (Output, BTreeMap<u64, Conn>) {
    let mut command = std::process::Command::new(crate::util::sslwalk_bin());
    command.args(["decode", "--json", "--show-data", path]);
    match sslkeylogfile {
        Some(file) => command.env("SSLKEYLOGFILE", file),
        None => command.env_remove("SSLKEYLOGFILE"),
    };
    let out = crate::util::run_with_limit(&mut command, std::time::Duration::from_secs(60));
    let conns = parse(&out);
    (out, conns)
}

fn decode_with_no_secret_given(path: &str) -> (Output, BTreeMap<u64, Conn>) {
    decode_with_environment(path, None)
}

#[test]
fn a_decryption_secrets_block_is_used_without_options() {
    let name = "openssl-tls12-ecdhe-rsa-aes128-gcm-sha256-dsb.pcapng";
    let (out, conns) = decode_with_no_secret_given(&fixture(name));
    assert_eq!(check_decrypted(name, "dsb", &out, &conns), 1);
}

/// `capture` rewritten as a pcapng whose first block after the interfaces
/// is a Decryption Secrets Block holding `keylog`, as `editcap
/// --inject-secrets` writes it: the same frames, times and interfaces.
fn with_secrets_block(capture: &str, keylog: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(capture).unwrap();
    let mut source = PacketSource::new(&bytes[..]).unwrap();
    let mut frames = Vec::new();
    while let Some(item) = source.next_item().unwrap() {
        match item {
            CaptureItem::Packet(p) => {
                assert_eq!(p.link_type, LinkType::ETHERNET, "{capture}");
                assert_eq!(p.data.len(), p.orig_len as usize, "{capture}: cut");
                frames.push((p.interface, p.ts, p.data.to_vec()));
            }
            CaptureItem::KeyLog(_) => panic!("{capture} has a key log already"),
            CaptureItem::BadPacket { what } => panic!("{capture}: {what}"),
        }
    }
    let interfaces = frames.iter().map(|f| f.0 + 1).max().unwrap_or(1);
    let ethernet = PcapNgInterface {
        tsresol: 9,
        ..PcapNgInterface::new(LinkLayer::Ethernet)
    };
    let mut w = PcapWriter::pcapng(Vec::new(), vec![ethernet; interfaces as usize]).unwrap();
    w.write_key_log(keylog).unwrap();
    for (interface, ts, frame) in &frames {
        w.write_frame(*interface, *ts, frame).unwrap();
    }
    w.into_inner()
}

/// Every peer capture also decrypts through the third way in: its key log
/// in a Decryption Secrets Block, with no option.
#[test]
fn every_fixture_decrypts_from_a_decryption_secrets_block() {
    let dir = tempfile::tempdir().unwrap();
    for name in RSA_FIXTURES.iter().chain(EPHEMERAL_FIXTURES) {
        let keylog = std::fs::read(keylog_of(name)).unwrap();
        let path = dir.path().join(format!("{name}-dsb.pcapng"));
        std::fs::write(&path, with_secrets_block(&fixture(name), &keylog)).unwrap();
        let (out, conns) = decode_with_no_secret_given(&path.display().to_string());
        let n = check_decrypted(name, "dsb", &out, &conns);
        assert!(n >= 1, "{name}");
        // Without the block, nothing decrypts: the block did it.
        let (_, plain) = decode_with_no_secret_given(&fixture(name));
        assert!(
            plain.values().all(|c| c.outcome["decrypted"] == false),
            "{name}"
        );
    }
}

#[test]
fn sslkeylogfile_is_read() {
    let name = "gnutls-tls12-default.pcap";
    let (out, conns) = decode_with_environment(&fixture(name), Some(&keylog_of(name)));
    assert_eq!(check_decrypted(name, "SSLKEYLOGFILE", &out, &conns), 1);
}

#[test]
fn tls13_decrypts_with_the_traffic_secrets_only() {
    for name in ["openssl-tls13-aes128-gcm-sha256.pcap", "gnutls-tls13.pcap"] {
        // With the key log: handshake messages, then data under the
        // application keys, both Finished checked (RFC 8446 §4.4.4).
        let (out, conns) = decode(&["-v", "--keylog", &keylog_of(name), &fixture(name)]);
        assert_eq!(check_decrypted(name, "--keylog", &out, &conns), 1);
        let names: Vec<&str> = conns[&1]
            .messages
            .iter()
            .filter(|m| m["protected"] == true)
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names[..4],
            ["encrypted_extensions", names[1], names[2], names[3]],
            "{name}"
        );
        assert!(names.contains(&"certificate_verify") && names.contains(&"new_session_ticket"));
        assert!(out.stdout.contains(r#""kind":"tls13_nonce""#), "{name}");
        assert!(out.stdout.contains(r#""source":"key_log_tls13""#), "{name}");
        // The server key cannot help: secrets given, nothing decrypted,
        // exit 1 and one line on stderr.
        let (out, conns) = decode(&["--key", &server_key(), &fixture(name)]);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("nothing was decrypted"),
            "{}",
            out.stderr
        );
        let o = &conns[&1].outcome;
        assert_eq!(o["result"], "ok");
        assert_eq!(o["decrypted"], false);
        assert_eq!(o["finished_verified"], Value::Null);
        assert!(o["reason"]["params"]["reason"]
            .as_str()
            .unwrap()
            .contains("TLS 1.3"));
    }
}

#[test]
fn without_secrets_nothing_changes() {
    let name = "openssl-tls12-rsa-aes128-gcm-sha256.pcap";
    let out = crate::util::run_with_limit(
        std::process::Command::new(crate::util::sslwalk_bin())
            .args(["decode", "--json", &fixture(name)])
            .env_remove("SSLKEYLOGFILE"),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(0));
    let conns = parse(&out);
    let c = &conns[&1];
    assert_eq!(c.outcome["decrypted"], false);
    assert_eq!(c.outcome["reason"]["code"], "not_decrypted");
    assert!(c
        .messages
        .iter()
        .any(|m| m["name"] == "encrypted_handshake"));
    assert!(!out.stdout.contains(r#""type":"secrets""#));
}

#[test]
fn show_secrets_and_write_keylog() {
    let name = "gnutls-tls10-rsa-3des-sha.pcap";
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("out.keylog");
    let written_s = written.display().to_string();
    let (out, _) = decode(&[
        "--key",
        &server_key(),
        "--show-secrets",
        "--write-keylog",
        &written_s,
        &fixture(name),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let secrets: Value = out
        .stdout
        .lines()
        .find(|l| l.starts_with(r#"{"type":"secrets""#))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    let s = &secrets["data"];
    assert_eq!(s["redacted"], false);
    assert_eq!(s["source"], "server_key");
    assert_eq!(s["pre_master"].as_str().unwrap().len(), 96);
    assert!(s["pre_master"].as_str().unwrap().starts_with("0301"));
    assert_eq!(s["keys"]["client_write_key"].as_str().unwrap().len(), 48);
    // The master secret from the server key is the one the client logged.
    let line = format!(
        "CLIENT_RANDOM {} {}",
        s["client_random"].as_str().unwrap(),
        s["master_secret"].as_str().unwrap()
    );
    let logged = std::fs::read_to_string(keylog_of(name)).unwrap();
    assert!(logged.lines().any(|l| l == line), "{line}\n{logged}");
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        format!("{line}\n")
    );
    // The written key log decrypts the capture by itself.
    let (out, conns) = decode(&["--keylog", &written_s, &fixture(name)]);
    assert_eq!(check_decrypted(name, "--keylog", &out, &conns), 1);

    // Without --show-secrets the line is there, redacted.
    let (out, _) = decode(&["--key", &server_key(), &fixture(name)]);
    let l = out
        .stdout
        .lines()
        .find(|l| l.starts_with(r#"{"type":"secrets""#))
        .unwrap();
    assert!(l.contains(r#""redacted":true"#) && l.contains(r#""master_secret":null"#));
    // Text: secrets shown only when asked.
    let t = run_sslwalk(&["decode", "-v", "--key", &server_key(), &fixture(name)]);
    assert!(t.stdout.contains("redacted (--show-secrets shows them)"));
    assert!(!t.stdout.contains(s["master_secret"].as_str().unwrap()));
    let t = run_sslwalk(&[
        "decode",
        "--show-secrets",
        "--key",
        &server_key(),
        &fixture(name),
    ]);
    assert!(t.stdout.contains(s["master_secret"].as_str().unwrap()));
}

#[test]
fn verbose_narrates_each_record() {
    let name = "tlslite-ssl3-rsa-3des-sha.pcap";
    let out = run_sslwalk(&["decode", "-v", "--key", &server_key(), &fixture(name)]);
    assert_eq!(out.code, Some(0));
    for want in [
        "crypto: seq 0, 3DES_EDE_CBC, SSL 3.0 MAC SHA1 verified, implicit IV",
        "(from the key block), padding",
        "only its length checked (SSL 3.0, the POODLE weakness)",
        "(the last ciphertext block of the record before)",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    let (out, _) = decode(&["-v", "--key", &server_key(), &fixture(name)]);
    let rc: Vec<Value> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"record_crypto""#))
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["data"].clone())
        .collect();
    assert!(rc.len() >= 6);
    assert_eq!(rc[0]["sequence_number"], 0);
    assert_eq!(rc[0]["mac"]["kind"], "ssl3_mac");
    assert_eq!(rc[0]["mac"]["verified"], true);
    assert_eq!(rc[0]["iv"]["kind"], "implicit");
    assert_eq!(rc[0]["iv"]["from_key_block"], true);
    assert_eq!(rc[0]["padding"]["check"], "length_only");
    // Not without -v.
    let (out, _) = decode(&["--key", &server_key(), &fixture(name)]);
    assert!(!out.stdout.contains("record_crypto"));
    // TLS 1.2 GCM and encrypt-then-MAC.
    let name = "gnutls-tls12-ecdhe-cbc-etm.pcap";
    let (out, _) = decode(&["-v", "--keylog", &keylog_of(name), &fixture(name)]);
    let l = out
        .stdout
        .lines()
        .find(|l| l.starts_with(r#"{"type":"record_crypto""#))
        .unwrap();
    let v: Value = serde_json::from_str(l).unwrap();
    assert_eq!(v["data"]["encrypt_then_mac"], true, "{l}");
    assert_eq!(v["data"]["iv"]["kind"], "explicit", "{l}");
    assert_eq!(v["data"]["padding"]["check"], "every_byte", "{l}");
}

// -- Failures -------------------------------------------------------------

#[test]
fn a_wrong_key_is_a_note_and_exit_1() {
    let name = "openssl-tls12-rsa-aes128-gcm-sha256.pcap";
    let wrong = repo_path("fixtures/certs/rsa2048.key")
        .display()
        .to_string();
    let (out, conns) = decode(&["--key", &wrong, &fixture(name)]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was decrypted")
            && out.stderr.contains("matches no server certificate"),
        "{}",
        out.stderr
    );
    let c = &conns[&1];
    assert!(
        c.notes.contains(&"key_mismatch".to_string()),
        "{:?}",
        c.notes
    );
    // The conversation is still decoded, undecrypted; its result is the
    // handshake's.
    assert_eq!(c.outcome["result"], "ok");
    assert_eq!(c.outcome["decrypted"], false);
    assert_eq!(c.outcome["reason"]["code"], "not_decrypted");
    assert!(c
        .messages
        .iter()
        .any(|m| m["name"] == "encrypted_handshake"));
    // The text report says so too.
    let t = run_sslwalk(&["decode", "--key", &wrong, &fixture(name)]);
    assert!(t
        .stdout
        .contains("no --key matches the server's certificate"));
    // A wrong key beside the right one harms nothing.
    let (out, conns) = decode(&["--key", &wrong, "--key", &server_key(), &fixture(name)]);
    assert_eq!(check_decrypted(name, "--key", &out, &conns), 1);
}

#[test]
fn a_key_log_of_other_sessions() {
    let name = "openssl-tls12-rsa-aes128-gcm-sha256.pcap";
    let other = keylog_of("gnutls-tls10-rsa-3des-sha.pcap");
    let (out, conns) = decode(&["--keylog", &other, &fixture(name)]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("nothing was decrypted"),
        "{}",
        out.stderr
    );
    let c = &conns[&1];
    assert!(
        c.notes.contains(&"no_secret_for_session".to_string()),
        "{:?}",
        c.notes
    );
    assert_eq!(c.outcome["result"], "ok");
    assert_eq!(c.outcome["decrypted"], false);
    // A malformed key log line is reported and skipped.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.keylog");
    let mut text = "CLIENT_RANDOM nothex 00\n".to_string();
    text.push_str(&std::fs::read_to_string(keylog_of(name)).unwrap());
    std::fs::write(&bad, text).unwrap();
    let (out, conns) = decode(&["--keylog", &bad.display().to_string(), &fixture(name)]);
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
    assert_eq!(check_decrypted(name, "--keylog", &out, &conns), 1);
}

// -- Engine to pcap to observer (A10) ----------------------------------------

const SERVER_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../../fixtures/peers/keys/server.key");

fn config(role: Role, version: ProtocolVersion, suite: CipherSuite, seed: u64) -> EngineConfig {
    let mut c = EngineConfig::new(role);
    c.rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    c.clock = Box::new(|| Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    });
    c.min_version = version;
    c.max_version = version;
    c.cipher_suites = vec![suite];
    if role == Role::Server {
        c.credentials = Some(Arc::new(Credentials {
            chain: sslwalk::pki::load_certificates(SERVER_CERT).unwrap(),
            key: sslwalk::pki::load_rsa_private_key(SERVER_KEY).unwrap(),
        }));
    } else {
        c.server_name = Some("localhost".into());
    }
    c
}

/// An engine conversation: the flights as they crossed, in order, and what
/// each engine said.
struct Exchange {
    flights: Vec<(Direction, Vec<u8>)>,
    keylog: String,
    client: VecSink,
    server: VecSink,
}

impl Exchange {
    /// Moves bytes both ways until nothing moves, keeping every flight.
    fn pump(&mut self, client: &mut Engine, server: &mut Engine) {
        for _ in 0..50 {
            let mut moved = false;
            let out = client.take_output();
            if !out.is_empty() {
                let _ = server.feed(&out, &mut self.server);
                self.flights.push((C2S, out));
                moved = true;
            }
            let out = server.take_output();
            if !out.is_empty() {
                let _ = client.feed(&out, &mut self.client);
                self.flights.push((S2C, out));
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn log(&mut self, client: &Engine) {
        let line = client.keylog_line().expect("a master secret");
        self.keylog.push_str(&line);
        self.keylog.push('\n');
    }
}

/// An engine client and server of `version` and `suite`, their handshake
/// done and its master secret in the exchange's key log.
fn handshake(version: ProtocolVersion, suite: CipherSuite) -> (Exchange, Engine, Engine) {
    let seed = u64::from(suite.0) << 16 | u64::from(version.0);
    let mut client = Engine::new(config(Role::Client, version, suite, seed));
    let mut server = Engine::new(config(Role::Server, version, suite, seed + 1));
    let mut x = Exchange {
        flights: Vec::new(),
        keylog: String::new(),
        client: VecSink::default(),
        server: VecSink::default(),
    };
    client.start(&mut x.client).unwrap();
    x.pump(&mut client, &mut server);
    assert!(
        client.is_established(),
        "{version:?} {suite:?}: {:?}",
        client.error()
    );
    x.log(&client);
    (x, client, server)
}

/// A handshake, data both ways (a short line, then 40000 bytes: three
/// records), optionally a renegotiation and more data, then close_notify.
fn converse(version: ProtocolVersion, suite: CipherSuite, renegotiate: bool) -> Exchange {
    let (mut x, mut client, mut server) = handshake(version, suite);
    client
        .send_application_data(b"ping from the client\n", &mut x.client)
        .unwrap();
    x.pump(&mut client, &mut server);
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    server.send_application_data(&big, &mut x.server).unwrap();
    x.pump(&mut client, &mut server);
    assert_eq!(client.take_application_data(), big);
    if renegotiate {
        client.renegotiate(&mut x.client).unwrap();
        x.pump(&mut client, &mut server);
        assert!(client.is_established(), "{:?}", client.error());
        assert_eq!(client.handshakes(), 2);
        x.log(&client);
        server
            .send_application_data(b"after the renegotiation\n", &mut x.server)
            .unwrap();
        x.pump(&mut client, &mut server);
    }
    client.close(&mut x.client).unwrap();
    x.pump(&mut client, &mut server);
    x
}

/// The flights as a pcap: TCP handshake, each flight as segments, FINs.
/// `alter` may change a flight (by index) on its way into the file only.
fn to_pcap(flights: &[(Direction, Vec<u8>)], alter: &dyn Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
    let mut w = PcapWriter::ethernet(Vec::new()).unwrap();
    w.write_segments(&segments_of(flights, alter)).unwrap();
    w.into_inner()
}

/// The flights as a pcapng that carries `keylog` in a Decryption Secrets
/// Block ahead of the packets.
fn to_pcapng_with_secrets(flights: &[(Direction, Vec<u8>)], keylog: &str) -> Vec<u8> {
    let ethernet = PcapNgInterface::new(LinkLayer::Ethernet);
    let mut w = PcapWriter::pcapng(Vec::new(), vec![ethernet]).unwrap();
    w.write_key_log(keylog.as_bytes()).unwrap();
    w.write_segments(&segments_of(flights, &|_, _| {})).unwrap();
    w.into_inner()
}

fn segments_of(
    flights: &[(Direction, Vec<u8>)],
    alter: &dyn Fn(usize, &mut Vec<u8>),
) -> Vec<Segment> {
    let client: SocketAddr = "192.0.2.10:49152".parse().unwrap();
    let server: SocketAddr = "198.51.100.20:443".parse().unwrap();
    let mut conv = TcpConversation::new(client, server);
    let mut segments = conv.handshake();
    for (i, (dir, bytes)) in flights.iter().enumerate() {
        let mut b = bytes.clone();
        alter(i, &mut b);
        segments.extend(conv.send(*dir, &b));
    }
    segments.extend(conv.close());
    segments
}

/// Decodes a pcap in memory with the observer and these secrets, on one
/// thread and on two (as `decode` does, records gathered by the reader
/// and handed over whole): the events must be the same.
fn observe(pcap: &[u8], secrets: Secrets) -> Vec<Event> {
    let run = |threaded: bool| {
        let mut sink = VecSink::default();
        {
            let mut o =
                Observer::new(&mut sink, ObserverFilter::default()).with_secrets(secrets.clone());
            if threaded {
                run_capture_threaded(pcap, &CaptureOptions::default(), &mut o, None).unwrap();
            } else {
                run_capture(pcap, &CaptureOptions::default(), &mut o).unwrap();
            }
            o.finish().unwrap();
        }
        sink.0
    };
    let plain = run(false);
    let threaded = run(true);
    assert_eq!(plain.len(), threaded.len(), "events, one thread and two");
    for (i, (p, t)) in plain.iter().zip(&threaded).enumerate() {
        assert_eq!(p, t, "event {i}, one thread and two");
    }
    plain
}

/// (direction, name, step, raw) of each message.
type Shown = (Direction, &'static str, Option<u8>, Vec<u8>, bool);

fn shown<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<Shown> {
    events
        .filter_map(|e| match &e.kind {
            EventKind::Message(m) => Some((
                e.dir.unwrap(),
                m.message.name(),
                m.step,
                m.raw.clone(),
                m.protected,
            )),
            _ => None,
        })
        .collect()
}

fn outcome(events: &[Event]) -> &Outcome {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::Outcome(o) => Some(o),
            _ => None,
        })
        .unwrap()
}

/// The A10 check for one conversation: with `secrets`, the observer's
/// messages are the engines' (each direction's messages as its sender
/// emitted them), application data included.
fn same_as_engines(x: &Exchange, capture: &[u8], secrets: Secrets, what: &str) {
    let events = observe(capture, secrets);
    let sent = |dir| -> Vec<Shown> {
        let sink = if dir == C2S { &x.client } else { &x.server };
        shown(
            sink.0
                .iter()
                .filter(|e| e.origin == Origin::Sent && e.dir == Some(dir)),
        )
    };
    for dir in [C2S, S2C] {
        let engine = sent(dir);
        let observer = shown(events.iter().filter(|e| e.dir == Some(dir)));
        assert_eq!(
            observer.len(),
            engine.len(),
            "{what} {dir:?}: {observer:#?}\n{engine:#?}"
        );
        for (i, (o, e)) in observer.iter().zip(&engine).enumerate() {
            assert_eq!(o, e, "{what} {dir:?}: message {i}");
        }
    }
    let o = outcome(&events);
    assert!(o.decrypted, "{what}");
    assert_eq!(o.finished_verified, Some(true), "{what}");
    assert!(o.reason.is_none(), "{what}: {:?}", o.reason);
    // Application data, byte for byte.
    let data = |evs: &[Event], dir| -> Vec<u8> {
        evs.iter()
            .filter(|e| e.dir == Some(dir))
            .filter_map(|e| match &e.kind {
                EventKind::Message(m) => match &m.message {
                    Message::ApplicationData {
                        plaintext: Some(p), ..
                    } => Some(p.clone()),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
            .collect()
    };
    for dir in [C2S, S2C] {
        let sink = if dir == C2S { &x.client } else { &x.server };
        let engine: Vec<Event> = sink
            .0
            .iter()
            .filter(|e| e.origin == Origin::Sent)
            .cloned()
            .collect();
        assert_eq!(data(&events, dir), data(&engine, dir), "{what} {dir:?}");
    }
}

fn keylog_secrets(text: &str) -> Secrets {
    let (keylog, errors) = KeyLog::parse(text.as_bytes());
    assert!(errors.is_empty());
    Secrets {
        keylog,
        show_data: true,
        ..Secrets::default()
    }
}

fn key_secrets() -> Secrets {
    Secrets {
        server_keys: vec![sslwalk::pki::load_rsa_private_key(SERVER_KEY).unwrap()],
        show_data: true,
        ..Secrets::default()
    }
}

const SSL3: ProtocolVersion = ProtocolVersion::SSLv3;
const TLS10: ProtocolVersion = ProtocolVersion::TLSv1_0;
const TLS11: ProtocolVersion = ProtocolVersion::TLSv1_1;
const TLS12: ProtocolVersion = ProtocolVersion::TLSv1_2;

#[test]
fn engine_conversations_decode_to_the_engines_own_messages() {
    let cases: &[(ProtocolVersion, u16, bool)] = &[
        // DES and the export suites, as sslwalk's engine speaks them.
        (SSL3, 0x0009, false),  // DES-CBC-SHA
        (TLS10, 0x0009, false), //
        (TLS11, 0x0009, false), //
        (SSL3, 0x0003, false),  // EXP-RC4-MD5
        (TLS10, 0x0003, false), //
        (SSL3, 0x0008, false),  // EXP-DES-CBC-SHA
        (TLS10, 0x0008, false), //
        (SSL3, 0x0006, false),  // EXP-RC2-CBC-MD5
        (TLS10, 0x0006, false), //
        // A few others, one renegotiating.
        (SSL3, 0x000a, false),  // DES-CBC3-SHA
        (TLS10, 0x002f, false), // AES128-SHA, implicit IV
        (TLS11, 0x0005, false), // RC4-SHA
        (TLS12, 0x003c, true),  // AES128-SHA256, renegotiation
        (TLS12, 0x009d, false), // AES256-GCM-SHA384
        (TLS12, 0x0001, false), // NULL-MD5
    ];
    for &(version, code, renegotiate) in cases {
        let suite = CipherSuite(code);
        let what = format!("{version:?} {suite:?}");
        let x = converse(version, suite, renegotiate);
        let pcap = to_pcap(&x.flights, &|_, _| {});
        same_as_engines(
            &x,
            &pcap,
            keylog_secrets(&x.keylog),
            &format!("{what} with the key log"),
        );
        // The key log inside the capture, nothing given.
        same_as_engines(
            &x,
            &to_pcapng_with_secrets(&x.flights, &x.keylog),
            Secrets {
                show_data: true,
                ..Secrets::default()
            },
            &format!("{what} with a Decryption Secrets Block"),
        );
        let export = matches!(code, 0x0003 | 0x0006 | 0x0008);
        if !export {
            same_as_engines(
                &x,
                &pcap,
                key_secrets(),
                &format!("{what} with the server key"),
            );
        } else {
            // Export RSA: the pre-master is encrypted to the temporary key;
            // the server key cannot help, and a note says why.
            let events = observe(&pcap, key_secrets());
            let o = outcome(&events);
            assert!(!o.decrypted, "{what}");
            let why = format!("{:?}", o.reason);
            assert!(why.contains("export RSA"), "{what}: {why}");
        }
    }
}

/// Records opened ahead on the reading thread (`capture::ahead`) change
/// nothing: a conversation long enough that the reader is still cutting
/// records when the observer's first keys reach it (more than the batches
/// the pipeline keeps in flight), decoded on one thread and on two with
/// every record the reader can open opened there, gives the same events,
/// and records were taken over. Suites of each way a protection moves on
/// from record to record: the CBC chain (TLS 1.0), explicit IVs, the RC4
/// keystream, GCM; one renegotiating, so that keys change under the
/// reader.
#[test]
fn records_opened_ahead_decode_the_same() {
    let cases: &[(ProtocolVersion, u16, bool)] = &[
        (TLS10, 0x002f, false), // AES128-SHA, implicit IV
        (TLS11, 0x0009, false), // DES-CBC-SHA, explicit IV
        (TLS12, 0x0005, true),  // RC4-SHA, renegotiation
        (TLS12, 0x009c, false), // AES128-GCM-SHA256
    ];
    for &(version, code, renegotiate) in cases {
        let suite = CipherSuite(code);
        let what = format!("{version:?} {suite:?}");
        let x = converse_bulk(version, suite, renegotiate);
        let pcap = to_pcap(&x.flights, &|_, _| {});
        let secrets = keylog_secrets(&x.keylog);
        let run = |ahead| decode_opening_ahead(&pcap, &secrets, ahead);
        let (plain, (plain_stats, _, _)) = run(None);
        assert_eq!(plain_stats.opened_ahead, 0, "{what}");
        // Records under the first keys, as counted by the reader alone.
        let mut first_keys = 0;
        // Each way alone, so that neither takes the other's records
        // (which one gets a record otherwise depends on timing), then both.
        for who in [
            WhoOpens::Reader,
            WhoOpens::ReaderFromHellos,
            WhoOpens::Consumer,
            WhoOpens::Both,
        ] {
            let (ahead, (ahead_stats, by_reader, given_back)) = run(Some(AheadLink::eager_by(who)));
            let what = format!("{what}, opened ahead by {who:?}");
            assert_eq!(plain.len(), ahead.len(), "{what}: events");
            for (i, (p, a)) in plain.iter().zip(&ahead).enumerate() {
                assert_eq!(p, a, "{what}: event {i}");
            }
            let taken = ahead_stats.opened_ahead;
            // With --show-data the plaintexts stay in the events; the
            // bodies of records taken over are given back.
            assert!(given_back >= taken, "{what}: {given_back} given back");
            match who {
                // At most the batches in flight (4 MiB) are cut before the
                // reader has keys: the rest it opens. After a renegotiation
                // halfway, what is left of each key's records may all be
                // in flight when its keys come (a busy machine): no count
                // holds there (capture::ahead's unit tests take RC4 over).
                WhoOpens::Reader => {
                    if !renegotiate {
                        assert!(by_reader > 100, "{what}: {by_reader} opened");
                    }
                    assert_eq!(taken, by_reader, "{what}");
                }
                // Every record under the first keys, found from the
                // hellos whatever the timing (the renegotiation's are
                // not): the consumer's protection has the same keying.
                WhoOpens::ReaderFromHellos => {
                    assert!(by_reader > 100, "{what}: {by_reader} opened");
                    assert_eq!(taken, by_reader, "{what}");
                    first_keys = by_reader;
                }
                // A batch at a time, where the MAC runs in lanes (GCM has
                // no MAC to batch): every record, those in the batch that
                // brought the keys too (with the keys the reader found
                // from the hellos); but after a renegotiation, the records
                // in the batch of its ChangeCipherSpec.
                WhoOpens::Consumer => {
                    assert_eq!(by_reader, 0, "{what}");
                    if code == 0x009c {
                        assert_eq!(taken, 0, "{what}");
                    } else if renegotiate {
                        assert!(taken > 100, "{what}: {taken} opened");
                    } else {
                        assert_eq!(taken, first_keys, "{what}");
                    }
                }
                WhoOpens::Both => assert!(taken > 100, "{what}: {taken} opened"),
            }
        }
        let o = outcome(&plain);
        assert!(o.decrypted && o.finished_verified == Some(true), "{what}");
        let received: usize = server_data(&plain).iter().map(Vec::len).sum();
        assert!(received >= BULK, "{what}: {received} bytes");
        // Without --show-data, every application data record's buffer is
        // given back to the reader to be filled again: the same events.
        let quiet = Secrets {
            show_data: false,
            ..secrets.clone()
        };
        let (plain, _) = decode_opening_ahead(&pcap, &quiet, None);
        let (ahead, (_, _, given_back)) =
            decode_opening_ahead(&pcap, &quiet, Some(AheadLink::eager_by(WhoOpens::Both)));
        assert_eq!(plain.len(), ahead.len(), "{what} without data: events");
        for (i, (p, a)) in plain.iter().zip(&ahead).enumerate() {
            assert_eq!(p, a, "{what} without data: event {i}");
        }
        let records = BULK / sslwalk::wire::record::MAX_PLAINTEXT;
        assert!(
            given_back as usize >= records,
            "{what}: {given_back} given back, {records} records"
        );
    }
}

/// Events of decoding `pcap` with `secrets`, on one thread, or on two with
/// records opened ahead through `ahead`; with the observer's counts, the
/// records the reading thread opened, and the buffers the observer gave
/// back to it.
fn decode_opening_ahead(
    pcap: &[u8],
    secrets: &Secrets,
    ahead: Option<AheadLink>,
) -> (Vec<Event>, (ObserverStats, u64, u64)) {
    let mut sink = VecSink::default();
    let stats = {
        let mut o =
            Observer::new(&mut sink, ObserverFilter::default()).with_secrets(secrets.clone());
        let captured = match ahead {
            Some(link) => {
                o = o.with_open_ahead(link.clone());
                run_capture_threaded(pcap, &CaptureOptions::default(), &mut o, Some(link))
            }
            None => run_capture(pcap, &CaptureOptions::default(), &mut o),
        }
        .unwrap();
        (
            o.finish().unwrap(),
            captured.opened_by_reader,
            captured.buffers_given_back,
        )
    };
    (sink.0, stats)
}

/// A key log whose master secret is wrong (for the right ClientHello
/// random): the reader derives the same wrong keys from the hellos as the
/// observer, every record it opens fails its MAC and is left to the
/// observer, which says so; the events are the same as on one thread,
/// and nothing was taken over.
#[test]
fn records_opened_ahead_under_a_wrong_master_secret_decode_the_same() {
    let x = converse_bulk(TLS12, CipherSuite(0x002f), false);
    let pcap = to_pcap(&x.flights, &|_, _| {});
    // The last hex digit of each master secret, changed.
    let wrong: String = x
        .keylog
        .lines()
        .map(|line| {
            let (head, last) = line.split_at(line.len() - 1);
            let flipped = if last == "0" { "1" } else { "0" };
            format!("{head}{flipped}\n")
        })
        .collect();
    assert_ne!(wrong, x.keylog);
    let secrets = keylog_secrets(&wrong);
    let (plain, (plain_stats, _, _)) = decode_opening_ahead(&pcap, &secrets, None);
    assert_eq!(plain_stats.opened_ahead, 0);
    let o = outcome(&plain);
    assert_ne!(o.finished_verified, Some(true));
    assert!(plain
        .iter()
        .any(|e| format!("{e:?}").contains("BadRecordMac")));
    for who in [
        WhoOpens::ReaderFromHellos,
        WhoOpens::Consumer,
        WhoOpens::Both,
    ] {
        let (ahead, (stats, by_reader, _)) =
            decode_opening_ahead(&pcap, &secrets, Some(AheadLink::eager_by(who)));
        assert_eq!(plain, ahead, "opened ahead by {who:?}");
        assert_eq!((stats.opened_ahead, by_reader), (0, 0), "{who:?}");
    }
}

/// Bytes the server sends in [`converse_bulk`]: records enough for more
/// batches than the capture pipeline keeps in flight.
const BULK: usize = 6 << 20;

/// A handshake, then [`BULK`] bytes from the server and a tenth of that
/// from the client, in turns of 256 KiB; optionally a renegotiation
/// halfway; then close_notify.
fn converse_bulk(version: ProtocolVersion, suite: CipherSuite, renegotiate: bool) -> Exchange {
    let (mut x, mut client, mut server) = handshake(version, suite);
    let chunk: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let turns = BULK / chunk.len();
    for turn in 0..turns {
        server.send_application_data(&chunk, &mut x.server).unwrap();
        if turn % 10 == 0 {
            client.send_application_data(&chunk, &mut x.client).unwrap();
        }
        x.pump(&mut client, &mut server);
        if renegotiate && turn == turns / 2 {
            client.renegotiate(&mut x.client).unwrap();
            x.pump(&mut client, &mut server);
            assert_eq!(client.handshakes(), 2);
            x.log(&client);
        }
    }
    assert_eq!(client.take_application_data().len(), turns * chunk.len());
    client.close(&mut x.client).unwrap();
    x.pump(&mut client, &mut server);
    x
}

/// The flight that carries the server's 40000 bytes, and the offset of its
/// first record's body.
fn big_flight(x: &Exchange) -> usize {
    x.flights
        .iter()
        .position(|(d, b)| *d == S2C && b.len() > 40_000)
        .unwrap()
}

fn notes_of(events: &[Event]) -> Vec<NoteCode> {
    events
        .iter()
        .flat_map(|e| match &e.kind {
            EventKind::Message(m) => m.notes.iter().map(|n| n.code).collect(),
            EventKind::Note(n) => vec![n.code],
            _ => vec![],
        })
        .collect()
}

fn server_data(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter(|e| e.dir == Some(S2C))
        .filter_map(|e| match &e.kind {
            EventKind::Message(m) => match &m.message {
                Message::ApplicationData {
                    plaintext: Some(p), ..
                } => Some(p.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn a_tampered_ciphertext_fails_that_record_only() {
    for (version, code) in [(TLS12, 0x009c), (TLS11, 0x0005), (TLS10, 0x002f)] {
        let x = converse(version, CipherSuite(code), false);
        let at = big_flight(&x);
        // A byte in the middle of the first record's ciphertext.
        let events = observe(
            &to_pcap(&x.flights, &|i, b| {
                if i == at {
                    b[5 + 200] ^= 0x40;
                }
            }),
            keylog_secrets(&x.keylog),
        );
        let notes = notes_of(&events);
        assert_eq!(
            notes
                .iter()
                .filter(|n| **n == NoteCode::BadRecordMac)
                .count(),
            1,
            "{code:04x}: {notes:?}"
        );
        // The other two records of the flight still open.
        let data = server_data(&events);
        assert_eq!(data.len(), 2, "{code:04x}");
        assert_eq!(data[0].len() + data[1].len(), 40_000 - 16_384);
        let o = outcome(&events);
        assert!(o.decrypted);
        assert_eq!(o.finished_verified, Some(true));
    }
}

#[test]
fn a_truncated_protected_record() {
    let x = converse(TLS12, CipherSuite(0x009c), false);
    let at = big_flight(&x);
    // The first record cut to 3 bytes (shorter than GCM's nonce and tag),
    // its header saying so: it cannot open, the next ones still do.
    let events = observe(
        &to_pcap(&x.flights, &|i, b| {
            if i == at {
                let len = u16::from_be_bytes([b[3], b[4]]) as usize;
                b.drain(5 + 3..5 + len);
                b[3..5].copy_from_slice(&3u16.to_be_bytes());
            }
        }),
        keylog_secrets(&x.keylog),
    );
    let n = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Message(m) => m
                .notes
                .iter()
                .find(|n| n.code == NoteCode::BadRecordMac)
                .cloned(),
            _ => None,
        })
        .expect("a bad_record_mac note");
    assert!(format!("{n:?}").contains("too short"), "{n:?}");
    assert_eq!(server_data(&events).len(), 2);
    // The stream cut inside a protected record: noted, the rest decoded.
    let events = observe(
        &to_pcap(&x.flights[..=at], &|i, b| {
            if i == at {
                b.truncate(b.len() - 100);
            }
        }),
        keylog_secrets(&x.keylog),
    );
    assert!(notes_of(&events).contains(&NoteCode::TruncatedRecord));
    assert_eq!(server_data(&events).len(), 2);
    assert!(outcome(&events).decrypted);
}

#[test]
fn the_binary_decodes_an_engine_capture_with_key_and_key_log() {
    let x = converse(TLS10, CipherSuite(0x0009), false);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("des.pcap");
    let keylog = dir.path().join("des.keylog");
    std::fs::write(&pcap, to_pcap(&x.flights, &|_, _| {})).unwrap();
    std::fs::write(&keylog, &x.keylog).unwrap();
    let p = pcap.display().to_string();
    let (k, sk) = (keylog.display().to_string(), server_key());
    for (option, value) in [("--keylog", &k), ("--key", &sk)] {
        let (out, conns) = decode(&[option, value, &p]);
        assert_eq!(out.code, Some(0), "{option}: {}", out.describe());
        let c = &conns[&1];
        assert_eq!(c.outcome["decrypted"], true, "{option}");
        assert_eq!(c.outcome["finished_verified"], true, "{option}");
        assert_eq!(text(&c.data[0]), "ping from the client\n");
        assert_eq!(c.data[1].len(), 40_000);
    }
}
