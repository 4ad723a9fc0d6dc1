//! Record protection against real peers: the captures of
//! `fixtures/peers/` (fixtures/README.md) are read with the crate's own
//! capture pipeline and record deframer, the keys are derived from each
//! capture's key log (and, for SSL 3.0, also from the RSA-decrypted
//! pre-master secret with the server key), and every record after each
//! ChangeCipherSpec must open: first the Finished message (handshake type
//! 20, 12 bytes of verify_data, 36 in SSL 3.0), then application data and
//! the closing alert, with valid MACs, padding and tags.
//!
//! This cross-checks `crypto::mac`, `crypto::cipher`, `record::protection`
//! and the key derivation of `crypto::prf` / `crypto::keys` against
//! OpenSSL 3.0, GnuTLS 3.7 and tlslite-ng 0.8.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::Path;

use sslwalk::capture::{run_capture, CaptureOptions, StreamEvent};
use sslwalk::crypto::keys::key_material;
use sslwalk::crypto::secret::{MasterSecret, Secret};
use sslwalk::event::Direction;
use sslwalk::record::deframer::{RecordDeframer, RecordItem};
use sslwalk::record::protection::{Integrity, RecordError, RecordProtection};
use sslwalk::wire::suites::{self, CipherKind, SuiteInfo};
use sslwalk::wire::{ContentType, ProtocolVersion, RecordHeader};

use crate::util::repo_path;

type Records = Vec<(RecordHeader, Vec<u8>)>;

/// One TCP connection's records, per direction.
#[derive(Default)]
struct Connection {
    client: Records,
    server: Records,
}

/// Every connection of a capture, in the order they opened.
fn connections(path: &Path) -> Vec<Connection> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut order = Vec::new();
    let mut flows: HashMap<u32, (Connection, RecordDeframer, RecordDeframer)> = HashMap::new();
    let mut sink = |event: StreamEvent<'_>| {
        match event {
            StreamEvent::Opened { flow, .. } => {
                order.push(flow);
                flows.insert(
                    flow,
                    (
                        Connection::default(),
                        RecordDeframer::new(),
                        RecordDeframer::new(),
                    ),
                );
            }
            StreamEvent::Data {
                flow, dir, bytes, ..
            } => {
                let (conn, c2s, s2c) = flows.get_mut(&flow).expect("opened flow");
                let (deframer, out) = match dir {
                    Direction::ClientToServer => (c2s, &mut conn.client),
                    Direction::ServerToClient => (s2c, &mut conn.server),
                };
                deframer.feed(bytes, &mut |_| true, &mut |item| match item {
                    RecordItem::Record {
                        header,
                        body: Some(body),
                        ..
                    } => out.push((header, body.to_vec())),
                    RecordItem::Record { body: None, .. } => unreachable!("all bodies kept"),
                    RecordItem::SslV2ClientHello { .. } => {}
                    RecordItem::Desync { offset, .. } => panic!("desync at {offset}"),
                });
            }
            StreamEvent::Gap { missing, .. } => panic!("{missing} bytes missing"),
            _ => {}
        }
        ControlFlow::Continue(())
    };
    run_capture(BufReader::new(file), &CaptureOptions::default(), &mut sink)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    order
        .into_iter()
        .map(|flow| flows.remove(&flow).unwrap().0)
        .collect()
}

/// What the hellos said.
struct Hellos {
    client_version: ProtocolVersion,
    client_random: [u8; 32],
    version: ProtocolVersion,
    server_random: [u8; 32],
    suite: &'static SuiteInfo,
    encrypt_then_mac: bool,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// The ClientHello and ServerHello fields needed here, read from the first
/// handshake record of each side (each starts with its hello).
fn hellos(conn: &Connection) -> Hellos {
    let first = |records: &Records, typ: u8| {
        let (h, body) = records
            .iter()
            .find(|(h, _)| h.content_type == ContentType::Handshake)
            .expect("a handshake record");
        assert_eq!(h.content_type, ContentType::Handshake);
        assert_eq!(body[0], typ, "first handshake message");
        body.clone()
    };
    let ch = first(&conn.client, 1);
    let sh = first(&conn.server, 2);
    // ServerHello: type(1) length(3) version(2) random(32) session_id<0..32>
    // cipher_suite(2) compression(1) [extensions<0..2^16-1>]
    let sid = sh[38] as usize;
    let suite_at = 39 + sid;
    let code = be16(&sh[suite_at..]);
    let msg_end = 4 + ((sh[1] as usize) << 16 | be16(&sh[2..]) as usize);
    let mut encrypt_then_mac = false;
    let mut at = suite_at + 3;
    if at + 2 <= msg_end {
        let ext_end = at + 2 + be16(&sh[at..]) as usize;
        at += 2;
        while at + 4 <= ext_end {
            let (typ, len) = (be16(&sh[at..]), be16(&sh[at + 2..]) as usize);
            // RFC 7366 §2: encrypt_then_mac is extension 22.
            encrypt_then_mac |= typ == 22;
            at += 4 + len;
        }
    }
    Hellos {
        client_version: ProtocolVersion(be16(&ch[4..])),
        client_random: ch[6..38].try_into().unwrap(),
        version: ProtocolVersion(be16(&sh[4..])),
        server_random: sh[6..38].try_into().unwrap(),
        suite: suites::lookup(code).expect("known suite"),
        encrypt_then_mac,
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The master secret a `CLIENT_RANDOM` line of the NSS key log gives for
/// this client random.
fn keylog_master(keylog: &Path, client_random: &[u8; 32]) -> Option<[u8; 48]> {
    let text = std::fs::read_to_string(keylog).ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "CLIENT_RANDOM" && unhex(words.next()?) == client_random)
            .then(|| unhex(words.next().unwrap()).try_into().unwrap())
    })
}

/// SSL 3.0 and RSA key exchange: the master secret from the pre-master
/// secret in ClientKeyExchange (no length prefix in SSL 3.0, RFC 6101
/// §5.6.7.1), decrypted with the server key.
fn ssl3_master_from_rsa(conn: &Connection, h: &Hellos) -> [u8; 48] {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let pem = std::fs::read_to_string(repo_path("fixtures/peers/keys/server.key")).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(&pem).unwrap();
    // The client's flight before its CCS, joined, then cut into messages.
    let mut flight = Vec::new();
    for (header, body) in &conn.client {
        match header.content_type {
            ContentType::Handshake => flight.extend_from_slice(body),
            ContentType::ChangeCipherSpec => break,
            _ => {}
        }
    }
    let mut at = 0;
    let cke = loop {
        let len = (flight[at + 1] as usize) << 16 | be16(&flight[at + 2..]) as usize;
        if flight[at] == 16 {
            break &flight[at + 4..at + 4 + len];
        }
        at += 4 + len;
    };
    let pre_master = sslwalk::crypto::rsa_kx::decrypt_pre_master(
        &key,
        cke,
        h.client_version,
        &mut rand::rngs::OsRng,
    );
    let master = sslwalk::crypto::prf::master_secret(
        h.version,
        h.suite,
        &pre_master,
        &h.client_random,
        &h.server_random,
    )
    .unwrap();
    *master.expose()
}

/// Opens every record after the ChangeCipherSpec of one direction; returns
/// the application data and the number of records opened.
fn open_direction(
    records: &Records,
    mut protection: RecordProtection,
    version: ProtocolVersion,
    what: &str,
) -> (Vec<u8>, usize) {
    let ccs = records
        .iter()
        .position(|(h, _)| h.content_type == ContentType::ChangeCipherSpec)
        .unwrap_or_else(|| panic!("{what}: no ChangeCipherSpec"));
    let mut data = Vec::new();
    let protected = &records[ccs + 1..];
    assert!(!protected.is_empty(), "{what}: nothing after CCS");
    for (i, (header, body)) in protected.iter().enumerate() {
        let opened = protection
            .open(header, body)
            .unwrap_or_else(|e| panic!("{what}: record {i} after CCS ({header:?}): {e}"));
        assert_eq!(opened.facts.seq, i as u64);
        assert!(
            matches!(
                opened.facts.integrity,
                Integrity::Mac { verified: true, .. } | Integrity::AeadTag { verified: true, .. }
            ),
            "{what}: {:?}",
            opened.facts.integrity
        );
        let p = &opened.plaintext;
        if i == 0 {
            // RFC 5246 §7.4.9 / RFC 6101 §5.6.9: Finished.
            let verify_len = if version == ProtocolVersion::SSLv3 {
                36
            } else {
                12
            };
            assert_eq!(header.content_type, ContentType::Handshake, "{what}");
            assert_eq!(p[0], 20, "{what}: Finished");
            assert_eq!(p[1..4], [0, 0, verify_len as u8], "{what}");
            assert_eq!(p.len(), 4 + verify_len, "{what}");
        }
        match header.content_type {
            ContentType::ApplicationData => data.extend_from_slice(p),
            ContentType::Alert => assert_eq!(p.len(), 2, "{what}: alert"),
            _ => {}
        }
    }
    (data, protected.len())
}

/// Checks one capture; returns a line for the summary.
fn check_capture(name: &str) -> Vec<String> {
    let pcap = repo_path(format!("fixtures/peers/{name}"));
    let keylog = pcap.with_extension("keylog");
    let mut lines = Vec::new();
    for (n, conn) in connections(&pcap).iter().enumerate() {
        let h = hellos(conn);
        if h.suite.is_tls13() || h.version == ProtocolVersion::TLSv1_3 {
            continue; // TLS 1.3 records are not this layer's
        }
        let what = format!("{name} #{n} {} {:?}", h.suite.iana, h.version);
        let from_log = keylog_master(&keylog, &h.client_random);
        let master = if h.version == ProtocolVersion::SSLv3 {
            let from_rsa = ssl3_master_from_rsa(conn, &h);
            if let Some(logged) = from_log {
                assert_eq!(from_rsa, logged, "{what}: RSA-derived vs key log");
            }
            from_rsa
        } else {
            from_log.unwrap_or_else(|| panic!("{what}: not in the key log"))
        };
        let master: MasterSecret = Secret::new(master);
        let keys = key_material(
            h.version,
            h.suite,
            &master,
            &h.client_random,
            &h.server_random,
        )
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let mut texts = Vec::new();
        let mut counts = Vec::new();
        for (dir, records) in [
            (Direction::ClientToServer, &conn.client),
            (Direction::ServerToClient, &conn.server),
        ] {
            let k = keys.for_direction(dir);
            let protection = RecordProtection::new(
                h.version,
                h.suite,
                k.mac_key.expose(),
                k.key.expose(),
                k.iv.expose(),
                h.encrypt_then_mac,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            if h.encrypt_then_mac && h.suite.cipher.kind() == CipherKind::Block {
                // Not vacuous: the same record read as MAC-then-encrypt
                // fails.
                let mut wrong = RecordProtection::new(
                    h.version,
                    h.suite,
                    k.mac_key.expose(),
                    k.key.expose(),
                    k.iv.expose(),
                    false,
                )
                .unwrap();
                let ccs = records
                    .iter()
                    .position(|(h, _)| h.content_type == ContentType::ChangeCipherSpec)
                    .unwrap();
                let (header, body) = &records[ccs + 1];
                assert_eq!(
                    wrong.open(header, body).unwrap_err(),
                    RecordError::BadRecordMac,
                    "{what}: read without encrypt-then-MAC"
                );
            }
            let (data, count) = open_direction(records, protection, h.version, &what);
            texts.push(String::from_utf8_lossy(&data).into_owned());
            counts.push(count);
        }
        // The peers exchange short text lines ("hello from client 1",
        // "client message 1", echoes...): decrypted, they read as text.
        assert!(texts[0].contains("client"), "{what}: {:?}", texts[0]);
        for text in &texts {
            assert!(
                !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b)),
                "{what}: {text:?}"
            );
        }
        lines.push(format!(
            "{what}{}: {} + {} records opened",
            match (h.suite.cipher.kind(), h.encrypt_then_mac) {
                (CipherKind::Block, true) => " (CBC, encrypt-then-MAC)",
                (CipherKind::Block, false) => " (CBC, MAC-then-encrypt)",
                _ => "",
            },
            counts[0],
            counts[1]
        ));
    }
    assert!(!lines.is_empty(), "{name}: no TLS 1.2-or-older connection");
    lines
}

macro_rules! peer_tests {
    ($($test:ident: $file:literal,)*) => {$(
        #[test]
        fn $test() {
            for line in check_capture($file) {
                eprintln!("{line}");
            }
        }
    )*};
}

peer_tests! {
    gnutls_tls10_3des_sha: "gnutls-tls10-rsa-3des-sha.pcap",
    gnutls_tls11_rc4_sha: "gnutls-tls11-rsa-rc4-sha.pcap",
    gnutls_tls12_rc4_md5: "gnutls-tls12-rsa-rc4-md5.pcap",
    gnutls_tls12_ecdhe_aes256_gcm_sha384: "gnutls-tls12-default.pcap",
    gnutls_tls12_ecdhe_cbc_encrypt_then_mac: "gnutls-tls12-ecdhe-cbc-etm.pcap",
    openssl_tls10_aes128_sha_empty_fragments: "openssl-tls10-rsa-aes128-sha.pcap",
    openssl_tls12_aes128_gcm: "openssl-tls12-rsa-aes128-gcm-sha256.pcap",
    openssl_tls12_aes256_sha256: "openssl-tls12-rsa-aes256-sha256.pcap",
    openssl_tls12_null_sha: "openssl-tls12-null-sha.pcap",
    openssl_tls10_tls11_tls12_multi: "openssl-multi.pcap",
    dumpcap_pcapng_tls12_aes128_sha: "dumpcap-openssl-tls12-rsa-aes128-sha.pcapng",
    tlslite_ssl3_3des_sha: "tlslite-ssl3-rsa-3des-sha.pcap",
    tlslite_ssl3_rc4_sha: "tlslite-ssl3-rsa-rc4-sha.pcap",
}
