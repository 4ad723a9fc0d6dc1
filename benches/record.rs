//! Record protection throughput: `RecordProtection::seal` and `open` on
//! 16 KiB (2^14-byte) application data records, per cipher suite, at the
//! newest version each suite allows (TLS 1.0 for the export suites, so
//! the implicit-IV CBC path is measured there; TLS 1.2 otherwise).
//!
//! Run with `cargo bench --bench record`; criterion prints the throughput
//! of plaintext bytes in MiB/s (or GiB/s). Sealing and opening advance
//! the sequence number, so each `open` gets a fresh receiver state (made
//! outside the timing) and the record sealed at sequence number 0.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use sslwalk::record::protection::RecordProtection;
use sslwalk::wire::record::MAX_PLAINTEXT;
use sslwalk::wire::suites::{self, CipherKind, SuiteInfo};
use sslwalk::wire::{ContentType, ProtocolVersion, RecordHeader};

/// (suite code, label).
const SUITES: [(u16, &str); 12] = [
    (0x0002, "NULL-SHA"),
    (0x0004, "RC4-MD5"),
    (0x0005, "RC4-SHA"),
    (0x0003, "EXP-RC4-MD5 (TLS 1.0)"),
    (0x0006, "EXP-RC2-CBC-MD5 (TLS 1.0)"),
    (0x0009, "DES-CBC-SHA"),
    (0x000A, "DES-CBC3-SHA"),
    (0x002F, "AES128-SHA"),
    (0x0035, "AES256-SHA"),
    (0x003C, "AES128-SHA256"),
    (0x009C, "AES128-GCM-SHA256"),
    (0x009D, "AES256-GCM-SHA384"),
];

fn protection(suite: &SuiteInfo, version: ProtocolVersion) -> RecordProtection {
    let cipher = suite.cipher;
    let iv_len = match cipher.kind() {
        CipherKind::Block if version >= ProtocolVersion::TLSv1_1 => 0,
        _ => cipher.iv_len(),
    };
    RecordProtection::new(
        version,
        suite,
        &vec![0x11; suite.mac.key_len()],
        &vec![0x22; cipher.expanded_key_len()],
        &vec![0x33; iv_len],
        false,
    )
    .expect("classic suite")
}

fn bench_records(c: &mut Criterion) {
    let plaintext: Vec<u8> = (0..MAX_PLAINTEXT).map(|i| (i * 7) as u8).collect();
    let mut group = c.benchmark_group("record 16KiB");
    group.throughput(Throughput::Bytes(MAX_PLAINTEXT as u64));
    for (code, label) in SUITES {
        let suite = suites::lookup(code).expect("known suite");
        let version = suite.max_version.min(ProtocolVersion::TLSv1_2);
        let mut rng = StdRng::seed_from_u64(1);

        let mut tx = protection(suite, version);
        group.bench_function(format!("seal {label}"), |b| {
            b.iter(|| {
                tx.set_sequence_number(0);
                black_box(
                    tx.seal(ContentType::ApplicationData, version, &plaintext, &mut rng)
                        .unwrap(),
                )
            })
        });

        let record = protection(suite, version)
            .seal(ContentType::ApplicationData, version, &plaintext, &mut rng)
            .unwrap();
        let header = RecordHeader::parse(record[..5].try_into().unwrap());
        group.bench_function(format!("open {label}"), |b| {
            b.iter_batched_ref(
                || protection(suite, version),
                // The plaintext is dropped inside the timing, as `seal`'s
                // record is: otherwise every iteration's 16 KiB stays
                // alive until the batch ends and fresh pages are timed.
                |rx| drop(black_box(rx.open(&header, &record[5..]).unwrap())),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// The primitives under the suites, on 16 KiB: the RC4 keystream, the
/// hashes of the MACs, and a DES block cipher pass, to see which part of a
/// suite's cost is which (compare with `openssl speed -evp rc4|sha1|md5`).
fn bench_primitives(c: &mut Criterion) {
    use sha1::Digest as _;
    use sslwalk::crypto::cipher::RecordCipher;
    use sslwalk::wire::suites::BulkCipher;
    let mut data: Vec<u8> = (0..MAX_PLAINTEXT).map(|i| (i * 7) as u8).collect();
    let mut group = c.benchmark_group("primitive 16KiB");
    group.throughput(Throughput::Bytes(MAX_PLAINTEXT as u64));
    let RecordCipher::Stream(mut rc4) = RecordCipher::new(BulkCipher::Rc4_128, &[7; 16]).unwrap()
    else {
        unreachable!("RC4 is a stream cipher")
    };
    group.bench_function("rc4", |b| b.iter(|| rc4.apply(black_box(&mut data))));
    group.bench_function("sha1", |b| b.iter(|| black_box(sha1::Sha1::digest(&data))));
    group.bench_function("md5 (md-5 crate)", |b| {
        b.iter(|| black_box(md5::Md5::digest(&data)))
    });
    group.bench_function("md5 (sslwalk, record MAC)", |b| {
        b.iter(|| black_box(sslwalk::crypto::md5::Md5::digest(&data)))
    });
    group.bench_function("sha256", |b| {
        b.iter(|| black_box(sha2::Sha256::digest(&data)))
    });
    group.bench_function("ring sha1", |b| {
        b.iter(|| {
            black_box(ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &data,
            ))
        })
    });
    group.bench_function("ring sha256", |b| {
        b.iter(|| black_box(ring::digest::digest(&ring::digest::SHA256, &data)))
    });
    // 3DES: ours (tables, eight blocks at a time) against the `des` crate,
    // both decrypting in CBC mode (what decode does), and ours encrypting.
    let key: Vec<u8> = (0..24u8).map(|i| i.wrapping_mul(37)).collect();
    let mut out = vec![0u8; data.len()];
    let RecordCipher::Block(tdes) = RecordCipher::new(BulkCipher::TripleDesEdeCbc, &key).unwrap()
    else {
        unreachable!("3DES is a block cipher")
    };
    group.bench_function("3des cbc decrypt (sslwalk)", |b| {
        b.iter(|| tdes.decrypt(&[1; 8], black_box(&data), &mut out))
    });
    group.bench_function("3des cbc encrypt (sslwalk)", |b| {
        b.iter(|| tdes.encrypt(&[1; 8], black_box(&mut data)))
    });
    group.bench_function("3des cbc decrypt (des crate)", |b| {
        use cbc::cipher::{BlockDecryptMut, KeyIvInit};
        b.iter(|| {
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &[1; 8])
                .unwrap()
                .decrypt_padded_b2b_mut::<cbc::cipher::block_padding::NoPadding>(
                    black_box(&data),
                    &mut out,
                )
                .unwrap();
        })
    });
    // AES-128-CBC decryption: ours (VAES four blocks per instruction,
    // where the processor has it) against the `aes` crate (AES-NI).
    let RecordCipher::Block(aes) = RecordCipher::new(BulkCipher::Aes128Cbc, &[7; 16]).unwrap()
    else {
        unreachable!("AES-CBC is a block cipher")
    };
    group.bench_function("aes-cbc decrypt (sslwalk)", |b| {
        b.iter(|| aes.decrypt(&[1; 16], black_box(&data), &mut out))
    });
    group.bench_function("aes-cbc decrypt (aes crate)", |b| {
        use cbc::cipher::{BlockDecryptMut, KeyIvInit};
        b.iter(|| {
            cbc::Decryptor::<aes::Aes128>::new_from_slices(&[7; 16], &[1; 16])
                .unwrap()
                .decrypt_padded_b2b_mut::<cbc::cipher::block_padding::NoPadding>(
                    black_box(&data),
                    &mut out,
                )
                .unwrap();
        })
    });
    group.finish();
}

/// Record MACs of 32 full records on 4 keys, one by one and all at once
/// (`compute_many`, which runs them side by side where the processor has
/// the SHA extensions): what the decoder does with a batch of records.
fn bench_hmac_lanes(c: &mut Criterion) {
    use sslwalk::crypto::mac::{compute_many, MacAlgorithm, MacJob, RecordMac};
    let data: Vec<u8> = (0..MAX_PLAINTEXT).map(|i| (i * 7) as u8).collect();
    let mut group = c.benchmark_group("hmac lanes");
    group.throughput(Throughput::Bytes(32 * MAX_PLAINTEXT as u64));
    for (algorithm, name) in [
        (MacAlgorithm::Sha1, "sha1"),
        (MacAlgorithm::Sha256, "sha256"),
    ] {
        let keys: Vec<RecordMac> = (0..4u8)
            .map(|k| {
                let key = vec![k; algorithm.output_len()];
                RecordMac::new(ProtocolVersion::TLSv1_2, algorithm, &key).unwrap()
            })
            .collect();
        let jobs: Vec<MacJob<'_>> = (0..32)
            .map(|i| MacJob {
                mac: &keys[i % 4],
                seq: i as u64,
                content_type: ContentType::ApplicationData,
                version: ProtocolVersion::TLSv1_2,
                content: &data,
            })
            .collect();
        group.bench_function(format!("32 records {name}, one by one"), |b| {
            b.iter(|| {
                for j in &jobs {
                    black_box(
                        j.mac
                            .compute(j.seq, j.content_type, j.version, &[j.content]),
                    );
                }
            })
        });
        group.bench_function(format!("32 records {name}, together"), |b| {
            b.iter(|| black_box(compute_many(&jobs)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_records, bench_primitives, bench_hmac_lanes);
criterion_main!(benches);
