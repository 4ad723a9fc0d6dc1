//! The engine as an in-memory client/server pair: every suite and version,
//! resumption, client authentication, renegotiation, and faults injected
//! in flight (in the spirit of rustls-test's `transfer_altered`), each
//! giving the right alert on the right side.

use super::*;
use rand::SeedableRng;

const SERVER_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../../fixtures/peers/keys/server.key");
const CLIENT_CERT: &[u8] = include_bytes!("../../fixtures/peers/keys/client.crt");
const CLIENT_KEY: &[u8] = include_bytes!("../../fixtures/peers/keys/client.key");

fn creds(cert: &[u8], key: &[u8]) -> Arc<Credentials> {
    Arc::new(Credentials {
        chain: crate::pki::load_certificates(cert).unwrap(),
        key: crate::pki::load_rsa_private_key(key).unwrap(),
    })
}

fn config(role: Role, seed: u64) -> EngineConfig {
    let mut c = EngineConfig::new(role);
    c.rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    c.clock = Box::new(|| Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    });
    c.cipher_suites = keys::implemented_suites().to_vec();
    if role == Role::Server {
        c.credentials = Some(creds(SERVER_CERT, SERVER_KEY));
    } else {
        c.server_name = Some("localhost".into());
    }
    c
}

fn pin(c: &mut EngineConfig, v: ProtocolVersion, suite: Option<CipherSuite>) {
    c.min_version = v;
    c.max_version = v;
    if let Some(s) = suite {
        c.cipher_suites = vec![s];
    }
}

/// Moves bytes both ways until nothing moves. `alter(dir, n, bytes)` may
/// change the n-th flight in direction `dir` before delivery.
fn run_pair(
    client: &mut Engine,
    server: &mut Engine,
    cs: &mut VecSink,
    ss: &mut VecSink,
    alter: &mut dyn FnMut(Direction, usize, &mut Vec<u8>),
) {
    let mut flights = [0usize; 2];
    for _ in 0..50 {
        let mut moved = false;
        let mut out = client.take_output();
        if !out.is_empty() {
            alter(Direction::ClientToServer, flights[0], &mut out);
            flights[0] += 1;
            moved = true;
            let _ = server.feed(&out, ss);
        }
        let mut out = server.take_output();
        if !out.is_empty() {
            alter(Direction::ServerToClient, flights[1], &mut out);
            flights[1] += 1;
            moved = true;
            let _ = client.feed(&out, cs);
        }
        if !moved {
            break;
        }
    }
}

struct Pair {
    client: Engine,
    server: Engine,
    cs: VecSink,
    ss: VecSink,
}

fn handshake_with(
    c: EngineConfig,
    s: EngineConfig,
    alter: &mut dyn FnMut(Direction, usize, &mut Vec<u8>),
) -> Pair {
    let mut p = Pair {
        client: Engine::new(c),
        server: Engine::new(s),
        cs: VecSink::default(),
        ss: VecSink::default(),
    };
    let _ = p.client.start(&mut p.cs);
    run_pair(&mut p.client, &mut p.server, &mut p.cs, &mut p.ss, alter);
    p
}

fn handshake(c: EngineConfig, s: EngineConfig) -> Pair {
    handshake_with(c, s, &mut |_, _, _| {})
}

fn exchange_data(p: &mut Pair) {
    p.client
        .send_application_data(b"ping from the client", &mut p.cs)
        .unwrap();
    run_pair(
        &mut p.client,
        &mut p.server,
        &mut p.cs,
        &mut p.ss,
        &mut |_, _, _| {},
    );
    assert_eq!(p.server.take_application_data(), b"ping from the client");
    let big = vec![0x5a; 40_000];
    p.server.send_application_data(&big, &mut p.ss).unwrap();
    run_pair(
        &mut p.client,
        &mut p.server,
        &mut p.cs,
        &mut p.ss,
        &mut |_, _, _| {},
    );
    assert_eq!(p.client.take_application_data(), big);
}

fn sent_alerts(sink: &VecSink) -> Vec<AlertDescription> {
    sink.0
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message(m) if e.origin == Origin::Sent => match &m.message {
                Message::Alert(Ok(a)) => Some(a.description),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn names(sink: &VecSink, origin: Origin) -> Vec<(&'static str, Option<u8>)> {
    sink.0
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message(m) if e.origin == origin => Some((m.message.name(), m.step)),
            _ => None,
        })
        .collect()
}

const VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::SSLv3,
    ProtocolVersion::TLSv1_0,
    ProtocolVersion::TLSv1_1,
    ProtocolVersion::TLSv1_2,
];

#[test]
fn every_suite_in_every_version() {
    let mut cells = 0;
    for v in VERSIONS {
        for &suite in keys::implemented_suites() {
            if !keys::suite_usable(suite, v, v) {
                continue;
            }
            let mut c = config(Role::Client, 1);
            let mut s = config(Role::Server, 2);
            pin(&mut c, v, Some(suite));
            pin(&mut s, v, Some(suite));
            let mut p = handshake(c, s);
            assert!(
                p.client.is_established() && p.server.is_established(),
                "{v:?} {suite:?}: client {:?} server {:?}",
                p.client.error(),
                p.server.error()
            );
            assert_eq!(p.client.version(), Some(v));
            assert_eq!(p.client.cipher_suite(), Some(suite));
            exchange_data(&mut p);
            cells += 1;
        }
    }
    // 4 versions; export suites only up to TLS 1.0, SHA-256/GCM only in 1.2.
    assert!(cells >= 40, "{cells} cells");
}

#[test]
fn full_handshake_follows_the_numbered_steps() {
    let mut c = config(Role::Client, 3);
    let mut s = config(Role::Server, 4);
    pin(&mut c, ProtocolVersion::TLSv1_0, Some(CipherSuite(0x000a)));
    pin(&mut s, ProtocolVersion::TLSv1_0, None);
    let p = handshake(c, s);
    assert_eq!(
        names(&p.cs, Origin::Sent),
        [
            ("client_hello", Some(1)),
            ("client_key_exchange", Some(4)),
            ("change_cipher_spec", Some(8)),
            ("finished", Some(8)),
        ]
    );
    assert_eq!(
        names(&p.cs, Origin::Received),
        [
            ("server_hello", Some(2)),
            ("certificate", Some(2)),
            ("server_hello_done", Some(2)),
            ("change_cipher_spec", Some(9)),
            ("finished", Some(9)),
        ]
    );
}

#[test]
fn resumption_skips_certificate_and_key_exchange() {
    let cache = Arc::new(Mutex::new(SessionCache::default()));
    let mut s = config(Role::Server, 6);
    s.session_cache = Some(cache.clone());
    let p = handshake(config(Role::Client, 5), s);
    let session = p.client.session().unwrap().clone();
    assert_eq!(cache.lock().unwrap().len(), 1);
    let mut c = config(Role::Client, 7);
    c.resume = Some(session.clone());
    let mut s = config(Role::Server, 8);
    s.session_cache = Some(cache);
    let mut p = handshake(c, s);
    assert!(p.client.resumed() && p.server.resumed());
    assert!(p.client.is_established() && p.server.is_established());
    assert_eq!(
        names(&p.ss, Origin::Sent),
        [
            ("server_hello", Some(2)),
            ("change_cipher_spec", Some(9)),
            ("finished", Some(9)),
        ]
    );
    exchange_data(&mut p);
}

#[test]
fn client_authentication_with_and_without_a_certificate() {
    for v in VERSIONS {
        // With a certificate: Certificate and CertificateVerify are sent.
        let mut c = config(Role::Client, 9);
        c.credentials = Some(creds(CLIENT_CERT, CLIENT_KEY));
        let mut s = config(Role::Server, 10);
        s.client_auth = ClientAuth::Require;
        pin(&mut c, v, None);
        pin(&mut s, v, None);
        let p = handshake(c, s);
        assert!(
            p.server.is_established(),
            "{v:?}: {:?} {:?}",
            p.server.error(),
            p.client.error()
        );
        let sent: Vec<_> = names(&p.cs, Origin::Sent)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(
            sent[1..4],
            ["certificate", "client_key_exchange", "certificate_verify"]
        );

        // Without one, when only requested: empty Certificate, or SSL 3.0's
        // no_certificate alert; no CertificateVerify.
        let mut c = config(Role::Client, 11);
        let mut s = config(Role::Server, 12);
        s.client_auth = ClientAuth::Request;
        pin(&mut c, v, None);
        pin(&mut s, v, None);
        let p = handshake(c, s);
        assert!(p.server.is_established(), "{v:?}: {:?}", p.server.error());
        let sent: Vec<_> = names(&p.cs, Origin::Sent)
            .into_iter()
            .map(|x| x.0)
            .collect();
        let expect = if v == ProtocolVersion::SSLv3 {
            "alert"
        } else {
            "certificate"
        };
        assert_eq!(sent[1], expect, "{v:?}");
        assert!(!sent.contains(&"certificate_verify"));

        // Required and missing: the server refuses.
        let mut c = config(Role::Client, 13);
        let mut s = config(Role::Server, 14);
        s.client_auth = ClientAuth::Require;
        pin(&mut c, v, None);
        pin(&mut s, v, None);
        let p = handshake(c, s);
        assert!(p.server.error().is_some());
        assert_eq!(
            sent_alerts(&p.ss),
            [AlertDescription::HandshakeFailure],
            "{v:?}"
        );
    }
}

#[test]
fn no_common_suite_is_handshake_failure() {
    let mut c = config(Role::Client, 15);
    c.cipher_suites = vec![CipherSuite(0x0004)];
    let mut s = config(Role::Server, 16);
    s.cipher_suites = vec![CipherSuite(0x002f)];
    let p = handshake(c, s);
    assert_eq!(sent_alerts(&p.ss), [AlertDescription::HandshakeFailure]);
    assert_eq!(
        p.client.error(),
        Some(&EngineError::PeerAlert(AlertDescription::HandshakeFailure))
    );
}

#[test]
fn version_below_the_servers_minimum_is_protocol_version() {
    let mut c = config(Role::Client, 17);
    pin(&mut c, ProtocolVersion::TLSv1_0, None);
    let mut s = config(Role::Server, 18);
    s.min_version = ProtocolVersion::TLSv1_2;
    let p = handshake(c, s);
    assert_eq!(sent_alerts(&p.ss), [AlertDescription::ProtocolVersion]);
}

#[test]
fn fallback_scsv_below_the_servers_best_is_refused() {
    let mut c = config(Role::Client, 19);
    c.max_version = ProtocolVersion::TLSv1_1;
    c.fallback_scsv = true;
    let p = handshake(c, config(Role::Server, 20));
    assert_eq!(
        sent_alerts(&p.ss),
        [AlertDescription::InappropriateFallback]
    );
}

#[test]
fn renegotiation_by_either_side() {
    for role in [Role::Client, Role::Server] {
        let mut p = handshake(config(Role::Client, 21), config(Role::Server, 22));
        assert!(p.client.is_established());
        match role {
            Role::Client => p.client.renegotiate(&mut p.cs).unwrap(),
            Role::Server => p.server.renegotiate(&mut p.ss).unwrap(),
        }
        run_pair(
            &mut p.client,
            &mut p.server,
            &mut p.cs,
            &mut p.ss,
            &mut |_, _, _| {},
        );
        assert!(
            p.client.is_established() && p.server.is_established(),
            "{role:?}: {:?}",
            p.server.error()
        );
        let hellos = names(&p.cs, Origin::Sent)
            .iter()
            .filter(|x| x.0 == "client_hello")
            .count();
        assert_eq!(hellos, 2, "{role:?}");
        exchange_data(&mut p);
    }
}

#[test]
fn renegotiation_without_rfc5746_is_refused() {
    let mut c = config(Role::Client, 23);
    c.secure_renegotiation = false;
    let mut p = handshake(c, config(Role::Server, 24));
    assert!(p.client.is_established());
    p.client.renegotiate(&mut p.cs).unwrap();
    run_pair(
        &mut p.client,
        &mut p.server,
        &mut p.cs,
        &mut p.ss,
        &mut |_, _, _| {},
    );
    assert!(sent_alerts(&p.ss).contains(&AlertDescription::NoRenegotiation));
    // The first session goes on.
    exchange_data(&mut p);
}

// -- faults in flight --

/// Offset of the first record of type `ct` in a flight, and its length.
fn find_record(flight: &[u8], ct: u8, nth: usize) -> Option<(usize, usize)> {
    let mut at = 0;
    let mut seen = 0;
    while at + 5 <= flight.len() {
        let len = u16::from_be_bytes([flight[at + 3], flight[at + 4]]) as usize;
        if flight[at] == ct {
            if seen == nth {
                return Some((at, len));
            }
            seen += 1;
        }
        at += 5 + len;
    }
    None
}

fn tls10() -> (EngineConfig, EngineConfig) {
    let mut c = config(Role::Client, 31);
    let mut s = config(Role::Server, 32);
    pin(&mut c, ProtocolVersion::TLSv1_0, Some(CipherSuite(0x002f)));
    pin(&mut s, ProtocolVersion::TLSv1_0, None);
    (c, s)
}

#[test]
fn flipped_mac_byte_is_bad_record_mac_at_the_server() {
    let (c, s) = tls10();
    let p = handshake_with(c, s, &mut |dir, _, flight| {
        // The client's Finished is the protected handshake record.
        if dir == Direction::ClientToServer {
            if let Some((at, len)) = find_record(flight, 22, 1) {
                flight[at + 5 + len - 1] ^= 0x01;
            }
        }
    });
    assert_eq!(sent_alerts(&p.ss), [AlertDescription::BadRecordMac]);
    assert_eq!(
        p.client.error(),
        Some(&EngineError::PeerAlert(AlertDescription::BadRecordMac))
    );
}

#[test]
fn bad_padding_is_bad_record_mac_too() {
    let (c, s) = tls10();
    let p = handshake_with(c, s, &mut |dir, _, flight| {
        if dir == Direction::ServerToClient {
            if let Some((at, len)) =
                find_record(flight, 22, 0).filter(|_| find_record(flight, 20, 0).is_some())
            {
                let _ = (at, len);
                // The server's Finished: corrupt the last ciphertext block's
                // second-to-last block so the decrypted padding changes.
                if let Some((at, len)) = find_record(flight, 22, 0) {
                    flight[at + 5 + len - 17] ^= 0x80;
                }
            }
        }
    });
    assert_eq!(sent_alerts(&p.cs), [AlertDescription::BadRecordMac]);
}

#[test]
fn bad_pre_master_fails_at_the_first_protected_record() {
    // The server decrypts a corrupted pre-master: it goes on with a random
    // one (RFC 5246 §7.4.7.1), so its keys differ and the client's first
    // protected record (Finished) fails its MAC. Nothing earlier differs.
    for v in VERSIONS {
        let mut c = config(Role::Client, 33);
        let mut s = config(Role::Server, 34);
        pin(&mut c, v, Some(CipherSuite(0x000a)));
        pin(&mut s, v, None);
        let p = handshake_with(c, s, &mut |dir, n, flight| {
            if dir == Direction::ClientToServer && n == 1 {
                let (at, _) = find_record(flight, 22, 0).unwrap();
                flight[at + 5 + 4 + 20] ^= 0xff;
            }
        });
        assert_eq!(
            sent_alerts(&p.ss),
            [AlertDescription::BadRecordMac],
            "{v:?}"
        );
        let server_sent = names(&p.ss, Origin::Sent);
        assert_eq!(server_sent.last().unwrap().0, "alert");
    }
}

#[test]
fn wrong_finished_is_decrypt_error() {
    for (v, alert) in [
        (ProtocolVersion::SSLv3, AlertDescription::HandshakeFailure),
        (ProtocolVersion::TLSv1_0, AlertDescription::DecryptError),
        (ProtocolVersion::TLSv1_2, AlertDescription::DecryptError),
    ] {
        let mut c = config(Role::Client, 35);
        c.misbehave = vec![Misbehavior::WrongFinished];
        let mut s = config(Role::Server, 36);
        pin(&mut c, v, None);
        pin(&mut s, v, None);
        let p = handshake(c, s);
        assert_eq!(sent_alerts(&p.ss), [alert], "{v:?}");
        assert_eq!(p.server.error(), Some(&EngineError::BadFinished));
    }
}

#[test]
fn reordered_message_is_unexpected_message() {
    let (c, s) = tls10();
    let p = handshake_with(c, s, &mut |dir, n, flight| {
        // The server's flight is ServerHello, Certificate, ServerHelloDone,
        // one record each: deliver ServerHelloDone before Certificate.
        if dir == Direction::ServerToClient && n == 0 {
            let (c_at, c_len) = find_record(flight, 22, 1).unwrap();
            let (d_at, d_len) = find_record(flight, 22, 2).unwrap();
            let cert = flight[c_at..c_at + 5 + c_len].to_vec();
            let done = flight[d_at..d_at + 5 + d_len].to_vec();
            flight.truncate(c_at);
            flight.extend_from_slice(&done);
            flight.extend_from_slice(&cert);
        }
    });
    assert_eq!(sent_alerts(&p.cs), [AlertDescription::UnexpectedMessage]);
}

#[test]
fn truncated_record_does_not_complete_and_does_not_panic() {
    let (c, s) = tls10();
    let mut p = handshake_with(c, s, &mut |dir, n, flight| {
        if dir == Direction::ClientToServer && n == 1 {
            flight.truncate(flight.len() - 3);
        }
    });
    assert!(!p.server.is_established());
    p.server.peer_closed(&mut p.ss);
    assert_eq!(p.server.error(), Some(&EngineError::PeerClosed));
}

#[test]
fn garbage_is_unexpected_message_and_oversize_is_record_overflow() {
    let mut s = Engine::new(config(Role::Server, 40));
    let mut sink = VecSink::default();
    let _ = s.feed(b"GET / HTTP/1.1\r\n\r\n", &mut sink);
    assert_eq!(sent_alerts(&sink), [AlertDescription::UnexpectedMessage]);
    let mut s = Engine::new(config(Role::Server, 41));
    let mut sink = VecSink::default();
    let mut rec = vec![22, 3, 1, 0x40, 0x01];
    rec.extend(vec![0; 0x4001]);
    let _ = s.feed(&rec, &mut sink);
    assert_eq!(sent_alerts(&sink), [AlertDescription::RecordOverflow]);
}

#[test]
fn every_event_stream_ends_with_one_outcome() {
    let (c, s) = tls10();
    let mut p = handshake(c, s);
    p.client.close(&mut p.cs).unwrap();
    run_pair(
        &mut p.client,
        &mut p.server,
        &mut p.cs,
        &mut p.ss,
        &mut |_, _, _| {},
    );
    p.client.finish(&mut p.cs).unwrap();
    p.server.finish(&mut p.ss).unwrap();
    for sink in [&p.cs, &p.ss] {
        let outcomes: Vec<_> = sink
            .0
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Outcome(o) => Some(o.result),
                _ => None,
            })
            .collect();
        assert_eq!(outcomes, [OutcomeResult::Ok]);
    }
}

#[test]
fn secrets_are_emitted_once_per_handshake_and_match_the_key_log() {
    let p = handshake(config(Role::Client, 50), config(Role::Server, 51));
    for (sink, engine) in [(&p.cs, &p.client), (&p.ss, &p.server)] {
        let secrets: Vec<&SessionSecrets> = sink
            .0
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Crypto(c) => match &**c {
                    CryptoEvent::Secrets(s) => Some(&**s),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(secrets.len(), 1);
        let s = secrets[0];
        assert_eq!(s.source, SecretSource::Negotiated);
        assert!(s.pre_master.is_some() && s.keys.is_some());
        let ms = crate::wire::codec::to_hex(s.master_secret.as_ref().unwrap().expose());
        assert!(engine.keylog_line().unwrap().ends_with(&ms));
    }
}
