//! Handshake cost without sockets: the server's RSA-2048 private-key
//! operation alone (the `rsa` crate's PKCS#1 v1.5 decryption with
//! blinding, as `crypto::rsa_kx::decrypt_pre_master` does once per full
//! handshake), and whole TLS 1.2 handshakes (TLS_RSA_WITH_AES_128_GCM_SHA256,
//! extended master secret, RSA-2048 test certificate) between two
//! in-memory engines.
//!
//! Run with `cargo bench --bench handshake`; criterion prints the time per
//! operation and, as "thrpt", operations (handshakes) per second. The
//! benchmarks:
//!
//! - `rsa2048/decrypt pkcs1v15 blinded`: the raw private-key operation
//!   (the ceiling of full handshakes per second per core);
//! - `rsa2048/decrypt pkcs1v15 unblinded`: the same without blinding, to
//!   show what blinding costs;
//! - `engine/full pair` and `engine/resumed pair`: client and server
//!   engines, bytes moved between them in memory, events dropped;
//! - `engine/full server` and `engine/resumed server`: the server's side
//!   only. Both engines draw from seeded RNGs with a fixed clock, so a
//!   server with the same seed answers the same client flights in the same
//!   way: the client's flights are recorded once and replayed to a fresh
//!   server engine each iteration. `full server` minus the blinded decrypt
//!   is what the engine adds to the RSA operation.

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use sslwalk::engine::{Credentials, Engine, EngineConfig, Role, Session, SessionCache};
use sslwalk::event::{Event, EventSink, Timestamp};
use sslwalk::wire::{CipherSuite, ProtocolVersion};

const SERVER_CERT: &[u8] = include_bytes!("../fixtures/peers/keys/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/peers/keys/server.key");

/// TLS_RSA_WITH_AES_128_GCM_SHA256 (AES128-GCM-SHA256).
const SUITE: CipherSuite = CipherSuite(0x009C);

/// Drops every event: the benchmarks time the engine, not a renderer.
struct NullSink;

impl EventSink for NullSink {
    fn emit(&mut self, _: &Event) -> std::io::Result<()> {
        Ok(())
    }
}

fn credentials() -> Arc<Credentials> {
    Arc::new(Credentials {
        chain: sslwalk::pki::load_certificates(SERVER_CERT).expect("test certificate"),
        key: sslwalk::pki::load_rsa_private_key(SERVER_KEY).expect("test key"),
    })
}

fn config(role: Role, seed: u64) -> EngineConfig {
    let mut c = EngineConfig::new(role);
    c.rng = Box::new(StdRng::seed_from_u64(seed));
    c.clock = Box::new(|| Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    });
    c.min_version = ProtocolVersion::TLSv1_2;
    c.max_version = ProtocolVersion::TLSv1_2;
    c.cipher_suites = vec![SUITE];
    c
}

fn client_config(seed: u64, resume: Option<&Session>) -> EngineConfig {
    let mut c = config(Role::Client, seed);
    c.server_name = Some("localhost".into());
    c.resume = resume.cloned();
    c
}

fn server_config(
    seed: u64,
    creds: &Arc<Credentials>,
    cache: &Arc<Mutex<SessionCache>>,
) -> EngineConfig {
    let mut c = config(Role::Server, seed);
    c.credentials = Some(creds.clone());
    c.session_cache = Some(cache.clone());
    c
}

/// Runs a handshake between two fresh engines; returns the client's
/// flights (for replay) and the client engine.
fn pair(client: EngineConfig, server: EngineConfig) -> (Vec<Vec<u8>>, Engine) {
    let mut client = Engine::new(client);
    let mut server = Engine::new(server);
    let mut sink = NullSink;
    let mut flights = Vec::new();
    client.start(&mut sink).expect("client start");
    loop {
        let out = client.take_output();
        if out.is_empty() {
            break;
        }
        server.feed(&out, &mut sink).expect("server feed");
        flights.push(out);
        let back = server.take_output();
        if back.is_empty() {
            break;
        }
        client.feed(&back, &mut sink).expect("client feed");
    }
    assert!(client.is_established() && server.is_established());
    (flights, client)
}

/// Replays the client's flights to a fresh server engine.
fn serve(server: EngineConfig, flights: &[Vec<u8>]) -> Engine {
    let mut server = Engine::new(server);
    let mut sink = NullSink;
    for f in flights {
        server.feed(f, &mut sink).expect("server feed");
        black_box(server.take_output());
    }
    server
}

fn bench_rsa(c: &mut Criterion) {
    let key = credentials().key.clone();
    assert_eq!(key.size(), 256, "an RSA-2048 key");
    let public = RsaPublicKey::from(&key);
    let mut rng = StdRng::seed_from_u64(1);
    let pre_master = [0x03u8; 48];
    let ciphertext = public
        .encrypt(&mut rng, Pkcs1v15Encrypt, &pre_master)
        .expect("encrypt");
    let mut group = c.benchmark_group("rsa2048");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decrypt pkcs1v15 blinded", |b| {
        b.iter(|| {
            let m = key
                .decrypt_blinded(&mut rng, Pkcs1v15Encrypt, black_box(&ciphertext))
                .expect("decrypt");
            assert_eq!(m.len(), 48);
            m
        })
    });
    group.bench_function("decrypt pkcs1v15 unblinded", |b| {
        b.iter(|| {
            key.decrypt(Pkcs1v15Encrypt, black_box(&ciphertext))
                .expect("decrypt")
        })
    });
    group.finish();
}

fn bench_engine(c: &mut Criterion) {
    let creds = credentials();
    let cache = Arc::new(Mutex::new(SessionCache::default()));
    // The recordings: a full handshake, then one resuming its session.
    let (full_flights, client) = pair(client_config(1, None), server_config(2, &creds, &cache));
    let session = client.session().expect("a session").clone();
    let (resumed_flights, client) = pair(
        client_config(3, Some(&session)),
        server_config(4, &creds, &cache),
    );
    assert!(client.resumed(), "the second handshake resumes");
    // The replays reach the same end.
    let s = serve(server_config(2, &creds, &cache), &full_flights);
    assert!(s.is_established() && !s.resumed());
    let s = serve(server_config(4, &creds, &cache), &resumed_flights);
    assert!(s.is_established() && s.resumed());

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("full pair", |b| {
        b.iter(|| pair(client_config(1, None), server_config(2, &creds, &cache)))
    });
    group.bench_function("full server", |b| {
        b.iter(|| serve(server_config(2, &creds, &cache), &full_flights))
    });
    group.bench_function("resumed pair", |b| {
        b.iter(|| {
            pair(
                client_config(3, Some(&session)),
                server_config(4, &creds, &cache),
            )
        })
    });
    group.bench_function("resumed server", |b| {
        b.iter(|| serve(server_config(4, &creds, &cache), &resumed_flights))
    });
    group.finish();
}

criterion_group!(benches, bench_rsa, bench_engine);
criterion_main!(benches);
