//! `sslwalk decode` end to end: every fixture against the JSON contract,
//! standard input, filters, and bad input (each with a one-line error, the
//! documented exit code, and no panic).

use crate::util::{repo_path, run_sslwalk, run_with_limit, sslwalk_bin};
use serde_json::Value;
use sslwalk::capture::writer::{sample_client_hello, PcapWriter, TcpConversation};
use sslwalk::event::Direction;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn peer_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo_path("fixtures/peers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "peer fixtures missing: {v:?}");
    v
}

/// A capture with one synthetic TCP conversation.
fn write_capture(
    dir: &Path,
    name: &str,
    exchanges: &[(Direction, Vec<u8>)],
    close: bool,
) -> PathBuf {
    let path = dir.join(name);
    let mut w = PcapWriter::ethernet(std::fs::File::create(&path).unwrap()).unwrap();
    let mut conv = TcpConversation::new(
        "10.0.0.1:50000".parse().unwrap(),
        "10.0.0.2:443".parse().unwrap(),
    );
    w.write_segments(&conv.handshake()).unwrap();
    for (d, bytes) in exchanges {
        w.write_segments(&conv.send(*d, bytes)).unwrap();
    }
    if close {
        w.write_segments(&conv.close()).unwrap();
    }
    w.flush().unwrap();
    path
}

fn assert_no_panic(out: &crate::util::Output) {
    assert!(
        !out.stderr.contains("panicked"),
        "panic: {}",
        out.describe()
    );
    assert!(out.code.is_some(), "{}", out.describe());
}

/// The first stderr line, which must be the whole message.
fn one_line_error(out: &crate::util::Output) -> &str {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one stderr line: {}",
        out.describe()
    );
    assert!(lines[0].starts_with("sslwalk: "), "{}", lines[0]);
    lines[0]
}

#[test]
fn every_peer_fixture_follows_the_json_contract() {
    for f in peer_fixtures() {
        let out = run_sslwalk(&["decode", "--json", f.to_str().unwrap()]);
        assert_eq!(out.code, Some(0), "{}: {}", f.display(), out.describe());
        let lines = json_lines(&out.stdout);
        assert_eq!(lines[0]["type"], "begin");
        assert_eq!(lines[0]["data"]["schema"], 1);
        assert_eq!(lines.last().unwrap()["type"], "end");
        let mut conns = 0;
        for l in &lines {
            let d = &l["data"];
            match l["type"].as_str().unwrap() {
                "connection" => conns += 1,
                "message" => {
                    assert!(d["conn"].as_u64().unwrap() >= 1);
                    let dir = d["dir"].as_str().unwrap();
                    assert!(dir == "client_to_server" || dir == "server_to_client");
                    let raw = d["raw"].as_str().unwrap();
                    assert!(raw
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                    assert!(!d["name"].as_str().unwrap().is_empty());
                }
                "outcome" => {
                    assert_eq!(d["result"], "ok", "{}: {l}", f.display());
                    assert!(d["version"].is_string());
                    assert!(d["cipher_suite"].is_string());
                    assert!(d["resumed"].is_boolean());
                }
                _ => {}
            }
        }
        let outcomes = lines.iter().filter(|l| l["type"] == "outcome").count();
        assert_eq!(outcomes, conns, "{}", f.display());
    }
}

#[test]
fn text_output_narrates_the_steps() {
    let f = repo_path("fixtures/peers/openssl-tls10-rsa-aes128-sha.pcap");
    let out = run_sslwalk(&["decode", "--color", "never", f.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    for needle in [
        "Step 1",
        "ClientHello",
        "{3,1} TLS 1.0",
        "0x002F TLS_RSA_WITH_AES_128_CBC_SHA (AES128-SHA)",
        "Step 4",
        "ClientKeyExchange",
        "Step 8",
        "ChangeCipherSpec",
        "Step 9",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains('\u{1b}'), "colour with --color never");
    let colored = run_sslwalk(&["decode", "--color", "always", f.to_str().unwrap()]);
    assert!(colored.stdout.contains('\u{1b}'));
}

#[test]
fn resumed_and_client_auth_are_classified() {
    let out = run_sslwalk(&[
        "decode",
        "--json",
        repo_path("fixtures/peers/openssl-tls12-rsa-resumed.pcap")
            .to_str()
            .unwrap(),
    ]);
    let resumed: Vec<bool> = json_lines(&out.stdout)
        .iter()
        .filter(|l| l["type"] == "outcome")
        .map(|l| l["data"]["resumed"].as_bool().unwrap())
        .collect();
    assert_eq!(resumed, [false, true]);

    let out = run_sslwalk(&[
        "decode",
        "--json",
        repo_path("fixtures/peers/openssl-tls12-rsa-client-auth.pcap")
            .to_str()
            .unwrap(),
    ]);
    let names: Vec<(String, String)> = json_lines(&out.stdout)
        .iter()
        .filter(|l| l["type"] == "message")
        .map(|l| {
            (
                l["data"]["dir"].as_str().unwrap().into(),
                l["data"]["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let client: Vec<&str> = names
        .iter()
        .filter(|(d, _)| d == "client_to_server")
        .map(|(_, n)| n.as_str())
        .take(6)
        .collect();
    assert_eq!(
        client,
        [
            "client_hello",
            "certificate",
            "client_key_exchange",
            "certificate_verify",
            "change_cipher_spec",
            "encrypted_handshake"
        ]
    );
}

#[test]
fn stdin_and_filters() {
    let f = repo_path("fixtures/peers/openssl-multi.pcap");
    let out = run_with_limit(
        Command::new("sh").arg("-c").arg(format!(
            "{} decode --json -c 2 - < {}",
            sslwalk_bin().display(),
            f.display()
        )),
        Duration::from_secs(60),
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let lines = json_lines(&out.stdout);
    let conns: Vec<u64> = lines
        .iter()
        .filter(|l| l["type"] == "message")
        .map(|l| l["data"]["conn"].as_u64().unwrap())
        .collect();
    assert!(!conns.is_empty());
    assert!(conns.iter().all(|c| *c == 2), "{conns:?}");
    // A port no connection uses: nothing shown, and "no TLS" is not claimed
    // for a filtered-out capture... but the result is still reported.
    let out = run_sslwalk(&["decode", "--json", "-p", "1", f.to_str().unwrap()]);
    assert!(json_lines(&out.stdout)
        .iter()
        .all(|l| l["type"] != "message"));
}

#[test]
fn not_a_capture_empty_and_missing_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(
        &garbage,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    for (path, needle) in [
        (garbage, "not a pcap or pcapng capture"),
        (empty.clone(), "empty"),
        (dir.path().join("missing.pcap"), "No such file"),
    ] {
        let out = run_sslwalk(&["decode", path.to_str().unwrap()]);
        assert_no_panic(&out);
        assert_eq!(out.code, Some(2), "{}", out.describe());
        assert!(one_line_error(&out).contains(needle), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    }
    let usage = run_sslwalk(&["decode", "--no-such-flag", "x"]);
    assert_eq!(usage.code, Some(2));
}

#[test]
fn truncated_capture_decodes_what_it_has_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(repo_path(
        "fixtures/peers/openssl-tls12-rsa-aes128-gcm-sha256.pcap",
    ))
    .unwrap();
    for cut in [30, full.len() / 3, full.len() - 7] {
        let p = dir.path().join("cut.pcap");
        std::fs::write(&p, &full[..cut]).unwrap();
        let out = run_sslwalk(&["decode", "--json", p.to_str().unwrap()]);
        assert_no_panic(&out);
        assert!(matches!(out.code, Some(1) | Some(2)), "{}", out.describe());
        assert!(out.stderr.contains("truncated"), "{}", out.describe());
        if out.code == Some(1) {
            assert!(json_lines(&out.stdout).last().unwrap()["type"] == "end");
        }
    }
}

#[test]
fn capture_without_tls_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_capture(
        dir.path(),
        "http.pcap",
        &[
            (C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            (
                S2C,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            ),
        ],
        true,
    );
    let out = run_sslwalk(&["decode", p.to_str().unwrap()]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        one_line_error(&out).contains("no TLS found"),
        "{}",
        out.stderr
    );
}

#[test]
fn tls_stream_cut_mid_record_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let hello = sample_client_hello();
    let p = write_capture(
        dir.path(),
        "cut.pcap",
        &[(C2S, hello[..hello.len() - 20].to_vec())],
        true,
    );
    let out = run_sslwalk(&["decode", "--json", p.to_str().unwrap()]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let lines = json_lines(&out.stdout);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "note" && l["data"]["code"] == "truncated_record"));
    let outcome = lines.iter().find(|l| l["type"] == "outcome").unwrap();
    assert_eq!(outcome["data"]["result"], "incomplete");
}

#[test]
fn random_bytes_inside_a_tls_stream_fail_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let mut stream = sample_client_hello();
    stream.extend((0..3000u32).map(|i| (i.wrapping_mul(2246822519) >> 7) as u8 | 0x80));
    let p = write_capture(dir.path(), "garbage.pcap", &[(C2S, stream)], true);
    let out = run_sslwalk(&["decode", "--json", p.to_str().unwrap()]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let lines = json_lines(&out.stdout);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "message" && l["data"]["name"] == "client_hello"));
    assert!(lines
        .iter()
        .any(|l| l["type"] == "note" && l["data"]["code"] == "record_desync"));
    let outcome = lines.iter().find(|l| l["type"] == "outcome").unwrap();
    assert_eq!(outcome["data"]["result"], "failed");
}

#[test]
fn edge_fixtures_decode_without_panic() {
    let dir = repo_path("fixtures/edge");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("fixtures/edge missing");
    };
    for e in entries {
        let p = e.unwrap().path();
        if !p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            continue;
        }
        for args in [vec!["decode"], vec!["decode", "--json", "-vv"]] {
            let mut a = args.clone();
            a.push(p.to_str().unwrap());
            let out = run_sslwalk(&a);
            assert_no_panic(&out);
            assert!(
                matches!(out.code, Some(0) | Some(1)),
                "{}: {}",
                p.display(),
                out.describe()
            );
        }
    }
}

#[test]
fn broken_pipe_is_not_an_error() {
    let f = repo_path("fixtures/peers/openssl-multi.pcap");
    let mut child = Command::new(sslwalk_bin())
        .args(["decode", "-vv", f.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing, close our end: the writes fail with EPIPE.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
