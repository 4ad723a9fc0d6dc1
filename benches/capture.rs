//! Throughput of capture reading and TCP reassembly: a synthetic ~50 MB
//! pcap held in memory (8 interleaved connections, 1448-byte segments from
//! server to client, a bare ACK every second segment) goes through
//! `run_capture` into a sink that only counts bytes.
//!
//! Run with `cargo bench --bench capture`; criterion prints the
//! throughput in MiB/s (or GiB/s).

use std::hint::black_box;
use std::ops::ControlFlow;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sslwalk::capture::writer::{PcapWriter, TcpConversation};
use sslwalk::capture::{run_capture, CaptureOptions, StreamEvent};
use sslwalk::event::Direction;

const CONNECTIONS: usize = 8;
const TARGET_BYTES: usize = 50 << 20;
const SEGMENT: usize = 1448;
/// Segments sent on one connection before the next takes over.
const BURST: usize = 16;

fn synthetic_capture() -> Vec<u8> {
    let mut writer = PcapWriter::ethernet(Vec::with_capacity(TARGET_BYTES + (1 << 20)))
        .expect("writing to memory");
    let mut conversations: Vec<TcpConversation> = (0..CONNECTIONS)
        .map(|i| {
            TcpConversation::new(
                format!("10.0.0.{}:{}", i + 2, 50_000 + i).parse().unwrap(),
                "10.0.1.1:443".parse().unwrap(),
            )
            .with_step(10_000)
        })
        .collect();
    for conv in &mut conversations {
        writer.write_segments(&conv.handshake()).unwrap();
    }
    let record: Vec<u8> = (0..SEGMENT).map(|i| (i * 7) as u8).collect();
    let mut written = 0;
    'outer: loop {
        for conv in &mut conversations {
            for n in 0..BURST {
                let segments = conv.send(Direction::ServerToClient, &record);
                writer.write_segments(&segments).unwrap();
                if n % 2 == 1 {
                    writer
                        .write_segment(&conv.ack(Direction::ClientToServer))
                        .unwrap();
                }
                written += SEGMENT + 66;
                if written >= TARGET_BYTES {
                    break 'outer;
                }
            }
        }
    }
    for conv in &mut conversations {
        writer.write_segments(&conv.close()).unwrap();
    }
    writer.into_inner()
}

fn capture_throughput(c: &mut Criterion) {
    let capture = synthetic_capture();
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Bytes(capture.len() as u64));
    group.sample_size(20);
    group.bench_function("read_and_reassemble_50MB", |b| {
        b.iter(|| {
            let mut delivered = 0u64;
            let mut sink = |event: StreamEvent<'_>| {
                if let StreamEvent::Data { bytes, .. } = event {
                    delivered += bytes.len() as u64;
                }
                ControlFlow::Continue(())
            };
            let stats = run_capture(
                black_box(&capture[..]),
                &CaptureOptions::default(),
                &mut sink,
            )
            .expect("a valid capture");
            assert_eq!(stats.reassembly.gaps, 0);
            black_box(delivered)
        })
    });
    group.finish();
}

criterion_group!(benches, capture_throughput);
criterion_main!(benches);
