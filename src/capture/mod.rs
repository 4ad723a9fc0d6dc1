//! Captures: reading pcap and pcapng, decoding link layer, IP and TCP, and
//! reassembling each TCP connection into two ordered byte streams.
//!
//! The pipeline, driven by [`run_capture`]:
//!
//! ```text
//!  Read ─▶ pcap::PacketSource ─▶ net::decode_tcp ─▶ reassembly::Reassembler ─▶ StreamSink
//!          (pcap, pcapng,         (Ethernet, VLAN,    (per flow and direction:   (the TLS
//!           key-log blocks)        SLL, IPv4/IPv6)     order, dedupe, gaps)       observer)
//! ```
//!
//! [`run_capture_threaded`] (what `decode` uses) runs everything up to the
//! sink on a thread of its own and hands the events over in batches
//! ([`pipeline`]); that thread also opens protected records ahead, with
//! keys the observer hands it, when the observer is the busier
//! ([`ahead`]).
//!
//! Formats and RFCs are listed in each submodule. [`writer`] produces
//! captures for tests, fixtures and benchmarks.
//!
//! What this module does not do: anything TLS but cutting records and
//! opening them with the observer's protections (the observer consumes
//! [`StreamEvent`]s and whole records), IP fragment reassembly, checksum verification, or any
//! printing: counts and typed errors go back to the caller, which decides
//! what to tell the user. Memory stays flat: one read buffer, out-of-order
//! data bounded per direction and in total, a bounded number of open
//! connections.
//!
//! Dependencies: `event` (Direction, Timestamp) and the pcap-parser crate.

pub mod ahead;
pub mod net;
pub mod observer;
pub mod pcap;
pub mod pipeline;
pub mod reassembly;
pub mod writer;

use std::fmt;
use std::io::{self, Read};
use std::ops::ControlFlow;

pub use net::{decode_tcp, LinkType, PacketSkip, TcpFlags, TcpSegment};
pub use pcap::{CaptureFormat, CaptureItem, Packet, PacketSource};
pub use pipeline::run_capture_threaded;
pub use reassembly::{
    CloseReason, FlowId, Reassembler, ReassemblyConfig, ReassemblyStats, StreamEvent,
    StreamEventOf, StreamSink, WholeRecord,
};

/// Why a capture could not be read (further).
#[derive(Debug)]
pub enum CaptureError {
    /// Reading the input failed.
    Io(io::Error),
    /// The input is empty.
    Empty,
    /// The input does not start with a pcap or pcapng magic number.
    NotACapture { first_bytes: [u8; 4], len: usize },
    /// The input ends inside the header or block starting at `offset`, of
    /// which `available` bytes are present (for the file header, at offset
    /// 0, the count may be unknown and is then 0).
    Truncated { offset: u64, available: usize },
    /// The block at `offset` is malformed.
    Corrupt { offset: u64, what: &'static str },
    /// The block at `offset` declares `size` bytes, past the reader's
    /// limit: corruption, most likely.
    BlockTooLarge {
        offset: u64,
        size: u64,
        limit: usize,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "cannot read the capture: {error}"),
            Self::Empty => f.write_str("the input is empty, not a pcap or pcapng capture"),
            Self::NotACapture { first_bytes, len } => {
                f.write_str("not a pcap or pcapng capture (it starts with")?;
                for byte in &first_bytes[..*len] {
                    write!(f, " {byte:02x}")?;
                }
                f.write_str(")")
            }
            Self::Truncated { offset: 0, .. } => {
                f.write_str("the capture is truncated: its file header is cut off")
            }
            Self::Truncated { offset, available } => write!(
                f,
                "the capture is truncated: the block at byte {offset} is cut off after {available} bytes"
            ),
            Self::Corrupt { offset, what } => {
                write!(f, "the capture is corrupt at byte {offset}: {what}")
            }
            Self::BlockTooLarge {
                offset,
                size,
                limit,
            } => write!(
                f,
                "the capture is corrupt at byte {offset}: a block claims {size} bytes, more than the {limit}-byte limit"
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) => Some(error),
            _ => None,
        }
    }
}

/// Settings for [`run_capture`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Size of the read buffer.
    pub buffer_size: usize,
    /// Largest single block accepted (the buffer grows up to this).
    pub max_block_size: usize,
    pub reassembly: ReassemblyConfig,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            buffer_size: pcap::DEFAULT_BUFFER_SIZE,
            max_block_size: pcap::DEFAULT_MAX_BLOCK_SIZE,
            reassembly: ReassemblyConfig::default(),
        }
    }
}

/// What [`run_capture`] saw.
#[derive(Debug)]
pub struct CaptureStats {
    pub format: CaptureFormat,
    /// Packets read, whatever they carried.
    pub packets: u64,
    /// Captured bytes in those packets (link-layer headers included).
    pub captured_bytes: u64,
    /// Packets that decoded to a TCP segment.
    pub tcp_packets: u64,
    /// Valid packets that were not TCP over IPv4/IPv6 (ARP, UDP, ICMP...).
    pub non_tcp_packets: u64,
    /// Packets on a link type this reader does not decode.
    pub unsupported_link_packets: u64,
    /// IP fragments, skipped (their TCP bytes show up as gaps).
    pub ip_fragments: u64,
    /// Packets whose headers were broken or cut short, or that named an
    /// undeclared interface.
    pub malformed_packets: u64,
    /// TCP packets whose payload the snapshot length cut.
    pub snaplen_cut_packets: u64,
    /// Every TLS key log found in Decryption Secrets Blocks, concatenated
    /// (each also went to the sink as [`StreamEvent::KeyLog`] when read).
    pub key_log: Vec<u8>,
    pub reassembly: ReassemblyStats,
    /// Set when the capture could not be read to its end (truncated,
    /// corrupt, or a read error). Everything before that point was
    /// delivered and every flow was closed.
    pub incomplete: Option<CaptureError>,
    /// The sink asked to stop; flows were left unclosed.
    pub stopped: bool,
    /// Records the reading thread opened ahead itself
    /// ([`pipeline::run_capture_threaded`]; 0 on one thread).
    pub opened_by_reader: u64,
    /// Record buffers the sink gave back to be filled again
    /// ([`StreamSink::give_back`]; 0 on one thread).
    pub buffers_given_back: u64,
}

impl CaptureStats {
    fn new(format: CaptureFormat) -> Self {
        Self {
            format,
            packets: 0,
            captured_bytes: 0,
            tcp_packets: 0,
            non_tcp_packets: 0,
            unsupported_link_packets: 0,
            ip_fragments: 0,
            malformed_packets: 0,
            snaplen_cut_packets: 0,
            key_log: Vec::new(),
            reassembly: ReassemblyStats::default(),
            incomplete: None,
            stopped: false,
            opened_by_reader: 0,
            buffers_given_back: 0,
        }
    }
}

/// Reads a whole capture from `input` and pushes its TCP streams (and any
/// embedded key log) into `sink`, in capture order.
///
/// Returns `Err` only when the input is not a readable capture at all
/// (empty, not pcap/pcapng, header cut off, or unreadable from the start).
/// Problems later on (a truncated last packet, a corrupt block, a read
/// error) end the capture early: all flows are closed with their gaps
/// reported, and the error is in [`CaptureStats::incomplete`].
pub fn run_capture<R: Read, S: StreamSink + ?Sized>(
    input: R,
    options: &CaptureOptions,
    sink: &mut S,
) -> Result<CaptureStats, CaptureError> {
    let mut source = PacketSource::with_limits(input, options.buffer_size, options.max_block_size)?;
    let mut reassembler = Reassembler::new(options.reassembly);
    let mut stats = CaptureStats::new(source.format());
    let flow = loop {
        let item = match source.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break ControlFlow::Continue(()),
            Err(error) => {
                stats.incomplete = Some(error);
                break ControlFlow::Continue(());
            }
        };
        match item {
            CaptureItem::Packet(packet) => {
                stats.packets += 1;
                stats.captured_bytes += packet.data.len() as u64;
                match decode_tcp(packet.link_type, packet.data) {
                    Ok(segment) => {
                        stats.tcp_packets += 1;
                        if segment.payload_missing > 0 {
                            stats.snaplen_cut_packets += 1;
                        }
                        if reassembler.push(packet.ts, &segment, sink).is_break() {
                            break ControlFlow::Break(());
                        }
                    }
                    Err(PacketSkip::Malformed { .. }) => stats.malformed_packets += 1,
                    Err(PacketSkip::IpFragment) => stats.ip_fragments += 1,
                    Err(PacketSkip::UnsupportedLinkType(_)) => stats.unsupported_link_packets += 1,
                    Err(PacketSkip::NotIp { .. } | PacketSkip::NotTcp { .. }) => {
                        stats.non_tcp_packets += 1
                    }
                }
            }
            CaptureItem::KeyLog(text) => {
                stats.key_log.extend_from_slice(text);
                if !text.ends_with(b"\n") {
                    stats.key_log.push(b'\n');
                }
                if sink.on_event(StreamEvent::KeyLog { text }).is_break() {
                    break ControlFlow::Break(());
                }
            }
            CaptureItem::BadPacket { .. } => {
                stats.packets += 1;
                stats.malformed_packets += 1;
            }
        }
    };
    stats.stopped = flow.is_break() || reassembler.finish(sink).is_break();
    stats.reassembly = *reassembler.stats();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    use super::writer::{
        sample_client_hello, sample_server_flight, Framing, LinkLayer, PcapOptions, PcapWriter,
        TcpConversation,
    };
    use super::*;
    use crate::event::{Direction, Timestamp};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    /// Everything a capture produced, owned.
    #[derive(Default, Debug)]
    struct Collected {
        opened: Vec<(FlowId, SocketAddr, SocketAddr, bool, Timestamp)>,
        /// Per flow and direction: the stream, each gap written as `?`s.
        streams: BTreeMap<(FlowId, u8), Vec<u8>>,
        gaps: Vec<(FlowId, Direction, u64)>,
        closed: Vec<(FlowId, CloseReason)>,
        key_logs: Vec<Vec<u8>>,
        data_times: Vec<Timestamp>,
    }

    impl Collected {
        fn stream(&self, flow: FlowId, dir: Direction) -> &[u8] {
            let key = (flow, u8::from(dir == S2C));
            self.streams.get(&key).map_or(&[], Vec::as_slice)
        }
    }

    fn collect(bytes: &[u8]) -> (Collected, CaptureStats) {
        let mut out = Collected::default();
        let mut sink = |event: StreamEvent<'_>| {
            match event {
                StreamEvent::Opened {
                    flow,
                    client,
                    server,
                    ts,
                    handshake_seen,
                } => out.opened.push((flow, client, server, handshake_seen, ts)),
                StreamEvent::Data {
                    flow,
                    dir,
                    ts,
                    bytes,
                } => {
                    out.streams
                        .entry((flow, u8::from(dir == S2C)))
                        .or_default()
                        .extend_from_slice(bytes);
                    out.data_times.push(ts);
                }
                StreamEvent::Gap {
                    flow, dir, missing, ..
                } => {
                    out.gaps.push((flow, dir, missing));
                    out.streams
                        .entry((flow, u8::from(dir == S2C)))
                        .or_default()
                        .extend(std::iter::repeat_n(b'?', missing as usize));
                }
                StreamEvent::Closed { flow, reason, .. } => out.closed.push((flow, reason)),
                StreamEvent::KeyLog { text } => out.key_logs.push(text.to_vec()),
            }
            ControlFlow::Continue(())
        };
        let stats = run_capture(bytes, &CaptureOptions::default(), &mut sink).expect("a capture");
        (out, stats)
    }

    fn fixtures_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
    }

    fn edge(name: &str) -> (Collected, CaptureStats) {
        let path = fixtures_dir().join("edge").join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `cargo run --example make_edge_fixtures`)",
                path.display()
            )
        });
        collect(&bytes)
    }

    /// One flow carrying the sample flight untouched, closed by FIN.
    fn assert_plain(name: &str) -> (Collected, CaptureStats) {
        let (got, stats) = edge(name);
        assert_eq!(got.opened.len(), 1, "{name}");
        assert!(got.opened[0].3, "{name}: handshake seen");
        assert_eq!(got.stream(1, C2S), sample_client_hello(), "{name}");
        assert_eq!(got.stream(1, S2C), sample_server_flight(), "{name}");
        assert_eq!(got.gaps, vec![], "{name}");
        assert_eq!(got.closed, vec![(1, CloseReason::Fin)], "{name}");
        assert_eq!(
            (stats.malformed_packets, stats.non_tcp_packets),
            (0, 0),
            "{name}"
        );
        assert!(stats.incomplete.is_none(), "{name}: {:?}", stats.incomplete);
        (got, stats)
    }

    #[test]
    fn edge_fixtures_with_intact_streams() {
        for name in [
            "out-of-order.pcap",
            "retransmission.pcap",
            "overlap.pcap",
            "wraparound.pcap",
            "ipv6.pcap",
            "vlan.pcap",
            "sll.pcap",
            "sll2.pcap",
            "raw-ip.pcap",
            "null-loopback.pcap",
            "big-endian.pcap",
            "nanosecond.pcap",
            "syn-ack-first.pcap",
        ] {
            assert_plain(name);
        }
        let (_, stats) = assert_plain("retransmission.pcap");
        let first_flight_segment = sample_server_flight().len().div_ceil(2) as u64;
        assert_eq!(
            stats.reassembly.retransmitted_bytes,
            30 + 50 + first_flight_segment
        );
        let (_, stats) = assert_plain("overlap.pcap");
        assert_eq!(stats.reassembly.overlap_conflicts, 1);
        let (got, stats) = assert_plain("nanosecond.pcap");
        assert_eq!(
            stats.format,
            CaptureFormat::Pcap {
                big_endian: false,
                nanosecond: true
            }
        );
        assert_eq!(
            got.data_times[0],
            Timestamp {
                secs: 1_704_067_200,
                nanos: 3_000_369
            }
        );
        let (_, stats) = assert_plain("big-endian.pcap");
        assert_eq!(
            stats.format,
            CaptureFormat::Pcap {
                big_endian: true,
                nanosecond: false
            }
        );
    }

    #[test]
    fn edge_gap() {
        let (got, _) = edge("gap.pcap");
        let mut expected = sample_client_hello();
        expected[30..60].fill(b'?');
        assert_eq!(got.stream(1, C2S), expected);
        assert_eq!(got.gaps, vec![(1, C2S, 30)]);
        assert_eq!(got.stream(1, S2C), sample_server_flight());
    }

    #[test]
    fn edge_rst_midstream_and_start() {
        let (got, _) = edge("rst.pcap");
        let flight = sample_server_flight();
        let first = flight.len().div_ceil(2);
        assert_eq!(got.gaps, vec![(1, S2C, first as u64)]);
        assert_eq!(&got.stream(1, S2C)[first..], &flight[first..]);
        assert_eq!(got.closed, vec![(1, CloseReason::Rst)]);

        let (got, _) = edge("midstream.pcap");
        let client: SocketAddr = "192.0.2.10:49152".parse().unwrap();
        assert_eq!(got.opened[0].1, client);
        assert!(!got.opened[0].3, "no handshake seen");
        assert_eq!(got.stream(1, S2C), flight);
        assert_eq!(got.closed, vec![(1, CloseReason::Fin)]);
    }

    #[test]
    fn edge_port_reuse() {
        let (got, _) = edge("port-reuse.pcap");
        assert_eq!(
            got.closed,
            vec![(1, CloseReason::Fin), (2, CloseReason::Fin)]
        );
        for flow in [1, 2] {
            assert_eq!(got.stream(flow, C2S), sample_client_hello());
        }
    }

    #[test]
    fn edge_snaplen() {
        let (got, stats) = edge("snaplen.pcap");
        assert_eq!(stats.snaplen_cut_packets, 2);
        assert_eq!(got.gaps.len(), 2);
        let stream = got.stream(1, C2S);
        assert_eq!(stream.len(), sample_client_hello().len());
        assert!(stream.ends_with(b"??"));
    }

    #[test]
    fn edge_two_interfaces() {
        let (got, stats) = edge("two-interfaces.pcapng");
        assert_eq!(stats.format, CaptureFormat::PcapNg);
        assert_eq!(got.opened.len(), 2);
        assert!(got.opened[0].1.is_ipv4() && got.opened[1].1.is_ipv6());
        // Interface 1 counts nanoseconds.
        assert_eq!(
            got.opened[0].4,
            Timestamp {
                secs: 1_704_067_200,
                nanos: 0
            }
        );
        assert_eq!(
            got.data_times[0],
            Timestamp {
                secs: 1_704_067_200,
                nanos: 3_000_963
            }
        );
        for flow in [1, 2] {
            assert_eq!(got.stream(flow, C2S), sample_client_hello());
            assert_eq!(got.stream(flow, S2C), sample_server_flight());
        }
        assert_eq!(got.key_logs.len(), 1);
        assert!(got.key_logs[0].starts_with(b"CLIENT_RANDOM 0108"));
        assert_eq!(stats.key_log, got.key_logs[0]);
    }

    #[test]
    fn edge_truncated() {
        let (got, stats) = edge("truncated.pcap");
        assert_eq!(stats.packets, 10);
        assert!(
            matches!(stats.incomplete, Some(CaptureError::Truncated { .. })),
            "{:?}",
            stats.incomplete
        );
        assert_eq!(got.stream(1, C2S), sample_client_hello());
        assert_eq!(got.closed, vec![(1, CloseReason::Fin)]);
        let message = stats.incomplete.unwrap().to_string();
        assert!(
            message.starts_with("the capture is truncated: the block at byte "),
            "{message}"
        );
    }

    /// The real captures of fixtures/peers (made by another script):
    /// every one reads to its end with whole streams that start with a TLS
    /// (or SSL 3.0) handshake record.
    #[test]
    fn peer_captures_read_cleanly() {
        let dir = fixtures_dir().join("peers");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut seen = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                continue;
            }
            seen += 1;
            let (got, stats) = collect(&std::fs::read(&path).unwrap());
            assert!(stats.incomplete.is_none(), "{name}: {:?}", stats.incomplete);
            assert_eq!(stats.malformed_packets, 0, "{name}");
            assert_eq!(got.gaps, vec![], "{name}");
            assert!(!got.opened.is_empty(), "{name}");
            for (flow, _, _, handshake_seen, _) in &got.opened {
                assert!(handshake_seen, "{name}");
                assert_eq!(
                    got.stream(*flow, C2S).first(),
                    Some(&0x16),
                    "{name} flow {flow}"
                );
            }
            assert_eq!(got.closed.len(), got.opened.len(), "{name}");
            if name.ends_with("-dsb.pcapng") {
                let keylog = std::fs::read(path.with_extension("keylog")).unwrap();
                assert_eq!(stats.key_log, keylog, "{name}");
            }
        }
        assert!(seen > 0 || !dir.exists());
    }

    #[test]
    fn non_tcp_fragments_and_broken_packets_are_counted() {
        let mut conv = TcpConversation::new(
            "192.0.2.1:40000".parse().unwrap(),
            "192.0.2.2:443".parse().unwrap(),
        );
        let framing = Framing::new(LinkLayer::Ethernet);
        let mut writer = PcapWriter::ethernet(Vec::new()).unwrap();
        let segs = conv.handshake();
        writer.write_segments(&segs).unwrap();
        let data = conv.send(C2S, b"payload");
        let frame = data[0].to_frame(&framing);
        let mut udp = frame.clone();
        udp[14 + 9] = 17;
        let mut fragment = frame.clone();
        fragment[14 + 6] = 0x20;
        let mut arp = frame.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let broken = frame[..30].to_vec();
        for f in [&udp, &fragment, &arp, &broken, &frame] {
            writer.write_frame(0, data[0].ts, f).unwrap();
        }
        let bytes = writer.into_inner();
        let (got, stats) = collect(&bytes);
        assert_eq!(stats.packets, 8);
        assert_eq!(stats.tcp_packets, 4);
        assert_eq!(stats.non_tcp_packets, 2);
        assert_eq!(stats.ip_fragments, 1);
        assert_eq!(stats.malformed_packets, 1);
        assert_eq!(got.stream(1, C2S), b"payload");
        assert_eq!(got.closed, vec![(1, CloseReason::EndOfCapture)]);

        let options = PcapOptions {
            framing: Framing::new(LinkLayer::Ethernet),
            ..PcapOptions::default()
        };
        let mut writer = PcapWriter::pcap(Vec::new(), options).unwrap();
        writer.write_frame(0, data[0].ts, &frame).unwrap();
        let mut bytes = writer.into_inner();
        bytes[20] = 147; // a user link type
        let (_, stats) = collect(&bytes);
        assert_eq!(stats.unsupported_link_packets, 1);
    }

    #[test]
    fn a_stopping_sink_ends_the_run() {
        let (_, _) = edge("gap.pcap");
        let bytes = std::fs::read(fixtures_dir().join("edge/port-reuse.pcap")).unwrap();
        let mut events = 0;
        let mut sink = |event: StreamEvent<'_>| {
            events += 1;
            if matches!(event, StreamEvent::Closed { .. }) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let stats = run_capture(&bytes[..], &CaptureOptions::default(), &mut sink).unwrap();
        assert!(stats.stopped);
        assert_eq!(stats.reassembly.flows, 1);
    }

    #[test]
    fn unreadable_inputs_are_errors() {
        let mut sink = |_: StreamEvent<'_>| ControlFlow::Continue(());
        let error = run_capture(
            &b"\x16\x03\x01\x00"[..],
            &CaptureOptions::default(),
            &mut sink,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a pcap or pcapng capture (it starts with 16 03 01 00)"
        );
        let error = run_capture(&b""[..], &CaptureOptions::default(), &mut sink).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the input is empty, not a pcap or pcapng capture"
        );
        let error = run_capture(
            &[0xd4u8, 0xc3, 0xb2, 0xa1, 2][..],
            &CaptureOptions::default(),
            &mut sink,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the capture is truncated: its file header is cut off"
        );
    }
}
