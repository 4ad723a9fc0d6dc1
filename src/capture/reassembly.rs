//! TCP reassembly: turns TCP segments into ordered byte streams, one per
//! connection and direction, and reports every hole as a gap.
//!
//! Follows RFC 9293 as seen by a passive observer: the sequence space and
//! its modulo-2^32 comparisons (§3.4), the SYN and SYN-ACK that fix the
//! initial sequence numbers (§3.5), FIN and RST (§3.6, §3.5.2).
//!
//! Policy, in short:
//! - Bytes are delivered in sequence order, each byte once. Where copies of
//!   a byte disagree (overlapping segments with different content) the
//!   first copy seen wins, and later conflicting copies are counted.
//! - Data that arrives ahead of a hole is buffered (copied) per direction.
//!   When a direction's buffer passes [`ReassemblyConfig::max_buffered_per_direction`]
//!   (or all buffers together pass `max_buffered_total`), and when a
//!   connection closes or the capture ends, the hole is reported as
//!   [`StreamEvent::Gap`] with its size and the buffered data after it is
//!   delivered. Nothing is skipped silently.
//! - Roles: the sender of a SYN without ACK is the client; the sender of a
//!   SYN-ACK is the server; with no handshake seen, the endpoint with the
//!   lower port is the server (equal ports: the first sender is the
//!   client).
//! - A connection closes when both directions' data up to their FIN has
//!   been delivered, at a RST, when a new SYN reuses its endpoints, when it
//!   is evicted to bound memory, or at the end of the capture. Closed
//!   connections are dropped from memory.
//!
//! The in-order fast path copies nothing: [`StreamEvent::Data`] borrows the
//! captured packet's bytes. Only out-of-order data is copied.
//!
//! What this does not do: check checksums, track windows or
//! acknowledgments (a byte counts once it is seen, whether or not the peer
//! acknowledged it), time connections out by idleness (only
//! `max_flows` bounds their number), or anything above TCP.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::ops::ControlFlow;

use crate::capture::ahead::OpenedAhead;
use crate::capture::net::{TcpFlags, TcpSegment};
use crate::event::{Direction, Timestamp};
use crate::record::protection::RecordProtection;

/// A TCP connection's number within one capture: 1, 2, ... in order of
/// first appearance.
pub type FlowId = u32;

/// Why a connection's streams ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Both directions sent FIN.
    Fin,
    /// Either endpoint sent RST.
    Rst,
    /// The capture ended first.
    EndOfCapture,
    /// Dropped to keep the number of open connections bounded.
    Evicted,
    /// A new SYN reused the same endpoints: the old connection is over and
    /// a new flow begins.
    Reused,
}

/// What the capture pipeline reports, in capture order.
///
/// For one flow: `Opened` first, then `Data` and `Gap` per direction in
/// stream order, then `Closed` last.
pub type StreamEvent<'a> = StreamEventOf<&'a [u8]>;

/// [`StreamEvent`] with its bytes given as `B`: borrowed, or as a range of
/// a buffer elsewhere (`pipeline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEventOf<B> {
    /// A new TCP connection. `handshake_seen` says whether its SYN or
    /// SYN-ACK was captured, i.e. whether the streams start at their
    /// beginning and the roles are certain.
    Opened {
        flow: FlowId,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        handshake_seen: bool,
    },
    /// The next bytes of one direction's stream.
    Data {
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        bytes: B,
    },
    /// `missing` bytes of one direction's stream were not captured; the
    /// next `Data` of that direction follows the hole.
    Gap {
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        missing: u64,
    },
    /// The connection is over; no more events for `flow`.
    Closed {
        flow: FlowId,
        ts: Timestamp,
        reason: CloseReason,
    },
    /// A TLS key log (NSS format) carried inside the capture, in a pcapng
    /// Decryption Secrets Block; it comes before the packets it decrypts.
    KeyLog { text: B },
}

impl<B> StreamEventOf<B> {
    /// The same event with its bytes turned into `C` by `f`.
    pub fn map_bytes<C>(self, f: impl FnOnce(B) -> C) -> StreamEventOf<C> {
        match self {
            Self::Opened {
                flow,
                client,
                server,
                ts,
                handshake_seen,
            } => StreamEventOf::Opened {
                flow,
                client,
                server,
                ts,
                handshake_seen,
            },
            Self::Data {
                flow,
                dir,
                ts,
                bytes,
            } => StreamEventOf::Data {
                flow,
                dir,
                ts,
                bytes: f(bytes),
            },
            Self::Gap {
                flow,
                dir,
                ts,
                missing,
            } => StreamEventOf::Gap {
                flow,
                dir,
                ts,
                missing,
            },
            Self::Closed { flow, ts, reason } => StreamEventOf::Closed { flow, ts, reason },
            Self::KeyLog { text } => StreamEventOf::KeyLog { text: f(text) },
        }
    }
}

/// Where stream events go. Returning `ControlFlow::Break` stops the
/// capture (for example, when the output pipe closed).
pub trait StreamSink {
    fn on_event(&mut self, event: StreamEvent<'_>) -> ControlFlow<()>;

    /// The next bytes of one direction's stream, known to be exactly one
    /// TLS record (`record.header`, then `record.body`, whose length the
    /// header gives), gathered by the producer from however many segments
    /// carried it. The body is handed over so that it can be decrypted
    /// where it lies. By default, the same bytes as two `Data` events.
    fn on_record(
        &mut self,
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        record: WholeRecord,
    ) -> ControlFlow<()> {
        self.on_event(StreamEvent::Data {
            flow,
            dir,
            ts,
            bytes: &record.header,
        })?;
        self.on_event(StreamEvent::Data {
            flow,
            dir,
            ts,
            bytes: &record.body,
        })
    }

    /// A copy of the protection that `dir` of `flow` opens its records
    /// with now, where the sink has one whose records are worth opening
    /// a batch at a time: the producer opens the batch's records with it
    /// before handing them over ([`crate::capture::ahead`]). None by
    /// default.
    fn protection_now(&self, _flow: FlowId, _dir: Direction) -> Option<RecordProtection> {
        None
    }

    /// Moves into `spent` the buffers handed over in records (bodies,
    /// plaintexts opened ahead) that the sink is done with, for the
    /// producer to fill again: a buffer made on the producer's thread and
    /// freed on the consumer's costs both threads (see
    /// `capture::pipeline`). None by default.
    fn give_back(&mut self, _spent: &mut Vec<Vec<u8>>) {}
}

/// One whole record of a direction's stream, for [`StreamSink::on_record`].
#[derive(Debug)]
pub struct WholeRecord {
    pub header: [u8; 5],
    pub body: Vec<u8>,
    /// Which of the direction's whole records this is, from 0.
    pub index: u64,
    /// Where its header starts in the direction's stream.
    pub offset: u64,
    /// The record as the producer opened it, if it did
    /// ([`crate::capture::ahead`]).
    pub ahead: Option<Box<OpenedAhead>>,
}

impl<F> StreamSink for F
where
    F: FnMut(StreamEvent<'_>) -> ControlFlow<()>,
{
    fn on_event(&mut self, event: StreamEvent<'_>) -> ControlFlow<()> {
        self(event)
    }
}

/// Memory bounds for reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Out-of-order bytes buffered for one direction before the first hole
    /// is given up as a gap.
    pub max_buffered_per_direction: usize,
    /// Out-of-order bytes buffered for all flows together.
    pub max_buffered_total: usize,
    /// Open connections kept; past this, the least recently active eighth
    /// is evicted.
    pub max_flows: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        Self {
            max_buffered_per_direction: 4 << 20,
            max_buffered_total: 256 << 20,
            max_flows: 100_000,
        }
    }
}

/// Counters kept while reassembling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// TCP segments pushed.
    pub segments: u64,
    /// Connections opened.
    pub flows: u64,
    /// Stream bytes delivered as `Data`.
    pub delivered_bytes: u64,
    /// Holes reported, and their total size.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes seen again after their first copy (retransmissions and
    /// overlaps); they were dropped.
    pub retransmitted_bytes: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order_segments: u64,
    /// Segments whose overlap with buffered data had different content
    /// (the first copy was kept).
    pub overlap_conflicts: u64,
    /// Segments with no connection to belong to and nothing to open one
    /// (a bare ACK, FIN or RST after the connection closed, for example).
    pub stray_segments: u64,
    /// Connections evicted to bound memory.
    pub evicted_flows: u64,
    /// The most out-of-order bytes buffered at one time.
    pub peak_buffered_bytes: usize,
}

/// Per-connection, per-direction TCP reassembly. Feed it segments in
/// capture order with [`push`](Self::push); call [`finish`](Self::finish)
/// at the end of the capture.
pub struct Reassembler {
    config: ReassemblyConfig,
    /// Open flows by slot; closed slots are `None` and listed in `free_slots`.
    flows: Vec<Option<Flow>>,
    free_slots: Vec<u32>,
    index: HashMap<FlowKey, u32, BuildHasherDefault<FxHasher>>,
    /// The slot the previous segment belonged to: bulk transfers hit it
    /// nearly every time, which saves hashing the endpoints.
    last_slot: Option<u32>,
    next_id: FlowId,
    live_flows: usize,
    total_buffered: usize,
    /// Counts segments; a flow's `last_active` is this clock's value.
    clock: u64,
    last_ts: Timestamp,
    recently_closed: RecentlyClosed,
    stats: ReassemblyStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(ReassemblyConfig::default())
    }
}

impl Reassembler {
    pub fn new(config: ReassemblyConfig) -> Self {
        Self {
            config,
            flows: Vec::new(),
            free_slots: Vec::new(),
            index: HashMap::default(),
            last_slot: None,
            next_id: 1,
            live_flows: 0,
            total_buffered: 0,
            clock: 0,
            last_ts: Timestamp::default(),
            recently_closed: RecentlyClosed::default(),
            stats: ReassemblyStats::default(),
        }
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Open connections right now.
    pub fn open_flows(&self) -> usize {
        self.live_flows
    }

    /// Out-of-order bytes buffered right now, over all flows.
    pub fn buffered_bytes(&self) -> usize {
        self.total_buffered
    }

    /// Takes one segment, captured at `ts`, and pushes the events it causes
    /// into `sink`. Returns `Break` as soon as the sink does.
    pub fn push<S: StreamSink + ?Sized>(
        &mut self,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        sink: &mut S,
    ) -> ControlFlow<()> {
        self.stats.segments += 1;
        self.clock += 1;
        self.last_ts = ts;
        let syn = seg.flags.contains(TcpFlags::SYN);
        let opening_syn = syn && !seg.flags.contains(TcpFlags::ACK);
        let (slot, dir) = match self.find(seg) {
            Some((slot, dir)) if opening_syn && self.is_new_connection(slot, dir, seg) => {
                self.close(slot, CloseReason::Reused, ts, sink)?;
                self.open(ts, seg, sink)?
            }
            Some(found) => found,
            None => {
                let carries_data = !seg.payload.is_empty() || seg.payload_missing > 0;
                if !syn && !carries_data {
                    self.stats.stray_segments += 1;
                    return ControlFlow::Continue(());
                }
                if !syn && self.recently_closed.already_delivered(seg) {
                    self.stats.retransmitted_bytes += seg.payload.len() as u64;
                    return ControlFlow::Continue(());
                }
                self.open(ts, seg, sink)?
            }
        };
        self.process(slot, dir, ts, seg, sink)
    }

    /// Ends the capture: every open flow reports its remaining holes,
    /// delivers what it buffered, and closes, in flow order.
    pub fn finish<S: StreamSink + ?Sized>(&mut self, sink: &mut S) -> ControlFlow<()> {
        let mut open: Vec<(FlowId, u32, bool)> = self
            .flows
            .iter()
            .enumerate()
            .filter_map(|(slot, flow)| {
                let flow = flow.as_ref()?;
                let both_fins = flow.halves.iter().all(|h| h.fin_offset.is_some());
                Some((flow.id, slot as u32, both_fins))
            })
            .collect();
        open.sort_unstable();
        let ts = self.last_ts;
        for (_, slot, both_fins) in open {
            let reason = if both_fins {
                CloseReason::Fin
            } else {
                CloseReason::EndOfCapture
            };
            self.close(slot, reason, ts, sink)?;
        }
        ControlFlow::Continue(())
    }

    /// The open flow `seg` belongs to, and its direction in that flow.
    fn find(&mut self, seg: &TcpSegment<'_>) -> Option<(u32, Direction)> {
        if let Some(slot) = self.last_slot {
            if let Some(Some(flow)) = self.flows.get(slot as usize) {
                if let Some(dir) = flow.direction_of(seg) {
                    return Some((slot, dir));
                }
            }
        }
        let slot = *self.index.get(&FlowKey::new(seg.src, seg.dst))?;
        let dir = self.flows.get(slot as usize)?.as_ref()?.direction_of(seg)?;
        self.last_slot = Some(slot);
        Some((slot, dir))
    }

    /// Whether a SYN (without ACK) on an open flow starts a new connection
    /// rather than repeating or belatedly showing the flow's own SYN.
    fn is_new_connection(&self, slot: u32, dir: Direction, seg: &TcpSegment<'_>) -> bool {
        let Some(Some(flow)) = self.flows.get(slot as usize) else {
            return true;
        };
        if dir != Direction::ClientToServer {
            return true;
        }
        let client = &flow.halves[0];
        match client.syn_seq {
            Some(isn) => isn != seg.seq,
            // The flow was opened by a SYN-ACK or by data: this SYN is its
            // own if it leads exactly to where the client stream started.
            None => !(client.started && client.initial_seq == seg.seq.wrapping_add(1)),
        }
    }

    fn open<S: StreamSink + ?Sized>(
        &mut self,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        sink: &mut S,
    ) -> ControlFlow<(), (u32, Direction)> {
        if self.live_flows >= self.config.max_flows {
            self.evict_least_recent(sink)?;
        }
        let syn = seg.flags.contains(TcpFlags::SYN);
        let ack = seg.flags.contains(TcpFlags::ACK);
        let sender_is_client = if syn {
            !ack
        } else if seg.src.port() != seg.dst.port() {
            seg.src.port() > seg.dst.port()
        } else {
            true
        };
        let (client, server) = if sender_is_client {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let flow = Flow {
            id,
            client,
            server,
            handshake_seen: syn,
            halves: [HalfStream::default(), HalfStream::default()],
            last_active: self.clock,
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.flows[slot as usize] = Some(flow);
                slot
            }
            None => {
                self.flows.push(Some(flow));
                (self.flows.len() - 1) as u32
            }
        };
        self.index.insert(FlowKey::new(client, server), slot);
        self.last_slot = Some(slot);
        self.live_flows += 1;
        self.stats.flows += 1;
        sink.on_event(StreamEvent::Opened {
            flow: id,
            client,
            server,
            ts,
            handshake_seen: syn,
        })?;
        let dir = if sender_is_client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        ControlFlow::Continue((slot, dir))
    }

    fn process<S: StreamSink + ?Sized>(
        &mut self,
        slot: u32,
        dir: Direction,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        sink: &mut S,
    ) -> ControlFlow<()> {
        let Some(Some(flow)) = self.flows.get_mut(slot as usize) else {
            return ControlFlow::Continue(());
        };
        flow.last_active = self.clock;
        let own = dir_index(dir);
        let mut data_seq = seg.seq;
        if seg.flags.contains(TcpFlags::SYN) {
            // The SYN occupies one sequence number; data (TCP Fast Open)
            // starts after it.
            data_seq = seg.seq.wrapping_add(1);
            let half = &mut flow.halves[own];
            if !half.started {
                half.start(data_seq);
                half.syn_seq = Some(seg.seq);
            } else if half.syn_seq.is_none() && half.initial_seq == data_seq {
                half.syn_seq = Some(seg.seq);
            }
        }
        if seg.flags.contains(TcpFlags::ACK) && flow.handshake_seen {
            // With the handshake seen, the peer's stream starts where this
            // side acknowledges it, even if the peer's SYN was missed.
            let peer = &mut flow.halves[1 - own];
            if !peer.started {
                peer.start(seg.ack);
            }
        }
        let flow_id = flow.id;
        let half = &mut flow.halves[own];
        if !half.started {
            half.start(data_seq);
        }
        let mut cx = Cx {
            sink: &mut *sink,
            flow: flow_id,
            ts,
            stats: &mut self.stats,
            total_buffered: &mut self.total_buffered,
            config: &self.config,
        };
        half.accept(dir, data_seq, seg.payload, seg.payload_missing, &mut cx)?;
        if seg.flags.contains(TcpFlags::FIN) {
            let len = seg.payload.len() as u64 + u64::from(seg.payload_missing);
            half.note_fin(data_seq, len);
        }
        if seg.flags.contains(TcpFlags::RST) {
            return self.close(slot, CloseReason::Rst, ts, sink);
        }
        if flow.halves.iter().all(HalfStream::fin_reached) {
            return self.close(slot, CloseReason::Fin, ts, sink);
        }
        ControlFlow::Continue(())
    }

    /// Reports the flow's holes, delivers what it buffered, emits `Closed`
    /// and forgets the flow.
    fn close<S: StreamSink + ?Sized>(
        &mut self,
        slot: u32,
        reason: CloseReason,
        ts: Timestamp,
        sink: &mut S,
    ) -> ControlFlow<()> {
        let Some(mut flow) = self.flows.get_mut(slot as usize).and_then(Option::take) else {
            return ControlFlow::Continue(());
        };
        self.index.remove(&FlowKey::new(flow.client, flow.server));
        self.free_slots.push(slot);
        self.live_flows -= 1;
        if self.last_slot == Some(slot) {
            self.last_slot = None;
        }
        if reason == CloseReason::Evicted {
            self.stats.evicted_flows += 1;
        }
        let mut cx = Cx {
            sink,
            flow: flow.id,
            ts,
            stats: &mut self.stats,
            total_buffered: &mut self.total_buffered,
            config: &self.config,
        };
        let result = (|| {
            flow.halves[0].flush(Direction::ClientToServer, &mut cx)?;
            flow.halves[1].flush(Direction::ServerToClient, &mut cx)?;
            cx.sink.on_event(StreamEvent::Closed {
                flow: flow.id,
                ts,
                reason,
            })
        })();
        // Buffers left by a sink that stopped early leave with the flow.
        for half in &flow.halves {
            self.total_buffered -= half.pending_bytes;
        }
        self.recently_closed.remember(&flow);
        result
    }

    /// Closes the least recently active eighth of the open flows.
    fn evict_least_recent<S: StreamSink + ?Sized>(&mut self, sink: &mut S) -> ControlFlow<()> {
        let mut by_activity: Vec<(u64, FlowId, u32)> = self
            .flows
            .iter()
            .enumerate()
            .filter_map(|(slot, flow)| {
                let flow = flow.as_ref()?;
                Some((flow.last_active, flow.id, slot as u32))
            })
            .collect();
        let count = (self.config.max_flows / 8).clamp(1, by_activity.len().max(1));
        if by_activity.len() > count {
            by_activity.select_nth_unstable(count - 1);
            by_activity.truncate(count);
        }
        by_activity.sort_unstable_by_key(|&(_, id, _)| id);
        let ts = self.last_ts;
        for (_, _, slot) in by_activity {
            self.close(slot, CloseReason::Evicted, ts, sink)?;
        }
        ControlFlow::Continue(())
    }
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

struct Flow {
    id: FlowId,
    client: SocketAddr,
    server: SocketAddr,
    handshake_seen: bool,
    /// Indexed by [`dir_index`]: client to server, then server to client.
    halves: [HalfStream; 2],
    last_active: u64,
}

impl Flow {
    fn direction_of(&self, seg: &TcpSegment<'_>) -> Option<Direction> {
        if seg.src == self.client && seg.dst == self.server {
            Some(Direction::ClientToServer)
        } else if seg.src == self.server && seg.dst == self.client {
            Some(Direction::ServerToClient)
        } else {
            None
        }
    }
}

/// The endpoints of a flow, in a fixed order so both directions hash alike.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    low: SocketAddr,
    high: SocketAddr,
}

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b {
            Self { low: a, high: b }
        } else {
            Self { low: b, high: a }
        }
    }
}

/// What a stream operation needs besides the half-stream itself.
struct Cx<'c, S: ?Sized> {
    sink: &'c mut S,
    flow: FlowId,
    ts: Timestamp,
    stats: &'c mut ReassemblyStats,
    total_buffered: &'c mut usize,
    config: &'c ReassemblyConfig,
}

/// One direction of a connection.
///
/// Invariants: `next_seq` is the sequence number of stream byte `offset`;
/// everything before `offset` was delivered or reported as a gap; `pending`
/// holds non-overlapping chunks, all starting after `offset`, keyed by
/// stream offset; `pending_bytes` is their total length.
#[derive(Default)]
struct HalfStream {
    started: bool,
    initial_seq: u32,
    next_seq: u32,
    offset: u64,
    syn_seq: Option<u32>,
    fin_offset: Option<u64>,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
}

impl HalfStream {
    fn start(&mut self, seq: u32) {
        self.started = true;
        self.initial_seq = seq;
        self.next_seq = seq;
    }

    /// The stream offset of sequence number `seq`, if it is not before the
    /// start of the stream. Sequence numbers are compared modulo 2^32 as
    /// signed distances from `next_seq` (RFC 9293 §3.4), so wraparound is
    /// transparent.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let distance = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        u64::try_from(self.offset as i64 + distance).ok()
    }

    fn note_fin(&mut self, seq: u32, payload_len: u64) {
        if self.fin_offset.is_none() {
            self.fin_offset = self.offset_of(seq).map(|at| at + payload_len);
        }
    }

    fn fin_reached(&self) -> bool {
        self.fin_offset.is_some_and(|fin| self.offset >= fin)
    }

    /// Takes the payload of one segment starting at sequence number `seq`,
    /// followed by `missing` bytes the capture did not keep.
    ///
    /// - Nothing buffered and the segment starts at or before `next_seq`:
    ///   its new bytes are delivered straight from the packet (the fast
    ///   path), then the snapshot-length cut, if any, as a gap.
    /// - Otherwise its bytes not seen before are copied into `pending`,
    ///   whatever became contiguous is delivered, and holes are given up
    ///   while the buffers are over their bounds. A snapshot-length cut
    ///   here simply stays a hole, reported when it is given up.
    fn accept<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        seq: u32,
        payload: &[u8],
        missing: u32,
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        if payload.is_empty() && missing == 0 {
            return ControlFlow::Continue(());
        }
        let distance = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        if self.pending.is_empty() && distance <= 0 {
            let seen = distance.unsigned_abs();
            let len = payload.len() as u64;
            if seen >= len {
                cx.stats.retransmitted_bytes += len;
                return ControlFlow::Continue(());
            }
            cx.stats.retransmitted_bytes += seen;
            self.deliver(dir, &payload[seen as usize..], cx)?;
            if missing > 0 {
                self.skip(dir, u64::from(missing), cx)?;
            }
            return ControlFlow::Continue(());
        }
        if distance > 0 {
            cx.stats.out_of_order_segments += 1;
        }
        let start = self.offset as i64 + distance;
        let seen = (self.offset as i64 - start).max(0) as u64;
        if seen >= payload.len() as u64 {
            cx.stats.retransmitted_bytes += payload.len() as u64;
            return ControlFlow::Continue(());
        }
        cx.stats.retransmitted_bytes += seen;
        self.buffer((start + seen as i64) as u64, &payload[seen as usize..], cx);
        self.deliver_contiguous(dir, cx)?;
        while !self.pending.is_empty()
            && (self.pending_bytes > cx.config.max_buffered_per_direction
                || *cx.total_buffered > cx.config.max_buffered_total)
        {
            self.skip_to_pending(dir, cx)?;
            self.deliver_contiguous(dir, cx)?;
        }
        ControlFlow::Continue(())
    }

    /// Copies the parts of `data` (which starts at stream offset `start`,
    /// not before `offset`) that no pending chunk covers yet: the first
    /// copy of a byte wins.
    fn buffer<S: StreamSink + ?Sized>(&mut self, start: u64, data: &[u8], cx: &mut Cx<'_, S>) {
        let end = start + data.len() as u64;
        let mut cur = start;
        let mut conflict = false;
        // A chunk that starts before `start` may cover its beginning.
        if let Some((&at, chunk)) = self.pending.range(..cur).next_back() {
            let chunk_end = at + chunk.len() as u64;
            if chunk_end > cur {
                let overlap_end = chunk_end.min(end);
                conflict |= chunk[(cur - at) as usize..(overlap_end - at) as usize]
                    != data[..(overlap_end - start) as usize];
                cx.stats.retransmitted_bytes += overlap_end - cur;
                cur = overlap_end;
            }
        }
        while cur < end {
            let next_chunk = self
                .pending
                .range(cur..end)
                .next()
                .map(|(&at, chunk)| (at, at + chunk.len() as u64));
            let hole_end = next_chunk.map_or(end, |(at, _)| at);
            if hole_end > cur {
                let piece = data[(cur - start) as usize..(hole_end - start) as usize].to_vec();
                self.pending_bytes += piece.len();
                *cx.total_buffered += piece.len();
                self.pending.insert(cur, piece);
            }
            match next_chunk {
                Some((at, chunk_end)) => {
                    let overlap_end = chunk_end.min(end);
                    if let Some(chunk) = self.pending.get(&at) {
                        conflict |= chunk[..(overlap_end - at) as usize]
                            != data[(at - start) as usize..(overlap_end - start) as usize];
                    }
                    cx.stats.retransmitted_bytes += overlap_end - at;
                    cur = overlap_end;
                }
                None => cur = end,
            }
        }
        if conflict {
            cx.stats.overlap_conflicts += 1;
        }
        cx.stats.peak_buffered_bytes = cx.stats.peak_buffered_bytes.max(*cx.total_buffered);
    }

    /// Delivers the pending chunks that now start at `offset`.
    fn deliver_contiguous<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        while let Some(entry) = self.pending.first_entry() {
            let at = *entry.key();
            if at > self.offset {
                break;
            }
            let chunk = entry.remove();
            self.pending_bytes -= chunk.len();
            *cx.total_buffered -= chunk.len();
            let chunk_end = at + chunk.len() as u64;
            if chunk_end > self.offset {
                let already = (self.offset - at) as usize;
                self.deliver(dir, &chunk[already..], cx)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Gives up the hole before the first pending chunk.
    fn skip_to_pending<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        match self.pending.keys().next() {
            Some(&at) if at > self.offset => self.skip(dir, at - self.offset, cx),
            _ => ControlFlow::Continue(()),
        }
    }

    /// At close: reports every remaining hole (including one just before
    /// the FIN) and delivers everything buffered.
    fn flush<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        while !self.pending.is_empty() {
            self.skip_to_pending(dir, cx)?;
            self.deliver_contiguous(dir, cx)?;
        }
        if let Some(fin) = self.fin_offset {
            if fin > self.offset {
                self.skip(dir, fin - self.offset, cx)?;
            }
        }
        ControlFlow::Continue(())
    }

    fn deliver<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        if bytes.is_empty() {
            return ControlFlow::Continue(());
        }
        self.offset += bytes.len() as u64;
        self.next_seq = self.next_seq.wrapping_add(bytes.len() as u32);
        cx.stats.delivered_bytes += bytes.len() as u64;
        cx.sink.on_event(StreamEvent::Data {
            flow: cx.flow,
            dir,
            ts: cx.ts,
            bytes,
        })
    }

    fn skip<S: StreamSink + ?Sized>(
        &mut self,
        dir: Direction,
        missing: u64,
        cx: &mut Cx<'_, S>,
    ) -> ControlFlow<()> {
        self.offset += missing;
        // Truncation is the point: sequence numbers are modulo 2^32.
        self.next_seq = self.next_seq.wrapping_add(missing as u32);
        cx.stats.gaps += 1;
        cx.stats.gap_bytes += missing;
        cx.sink.on_event(StreamEvent::Gap {
            flow: cx.flow,
            dir,
            ts: cx.ts,
            missing,
        })
    }
}

/// The last few closed flows and where their streams ended, so that a
/// retransmission arriving after the close (after a RST, or a late copy
/// after the FINs) is recognised instead of opening a phantom flow.
#[derive(Default)]
struct RecentlyClosed {
    entries: Vec<ClosedFlow>,
    next: usize,
}

struct ClosedFlow {
    client: SocketAddr,
    server: SocketAddr,
    /// Per direction, the sequence number after the last byte accounted
    /// for, if the direction started.
    end_seq: [Option<u32>; 2],
}

impl RecentlyClosed {
    const CAPACITY: usize = 64;

    fn remember(&mut self, flow: &Flow) {
        let entry = ClosedFlow {
            client: flow.client,
            server: flow.server,
            end_seq: [0, 1].map(|i| {
                let half = &flow.halves[i];
                half.started.then_some(half.next_seq)
            }),
        };
        if self.entries.len() < Self::CAPACITY {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % Self::CAPACITY;
        }
    }

    /// Whether `seg` only repeats bytes of a recently closed flow.
    fn already_delivered(&self, seg: &TcpSegment<'_>) -> bool {
        self.entries.iter().any(|closed| {
            let dir = if seg.src == closed.client && seg.dst == closed.server {
                0
            } else if seg.src == closed.server && seg.dst == closed.client {
                1
            } else {
                return false;
            };
            closed.end_seq[dir].is_some_and(|end| {
                let seg_end = seg.seq.wrapping_add(seg.payload.len() as u32);
                seg_end.wrapping_sub(end) as i32 <= 0
            })
        })
    }
}

/// The FxHash mixing step (as in Firefox and rustc): one rotate, xor and
/// multiply per word. Flow keys are not attacker-chosen in a way that
/// matters for an offline tool, and SipHash per packet would cost more than
/// the whole in-order path.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{Segment, TcpConversation};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    /// An owned copy of a [`StreamEvent`], without timestamps.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Opened {
            flow: FlowId,
            client: SocketAddr,
            server: SocketAddr,
            handshake_seen: bool,
        },
        Data {
            flow: FlowId,
            dir: Direction,
            bytes: Vec<u8>,
        },
        Gap {
            flow: FlowId,
            dir: Direction,
            missing: u64,
        },
        Closed {
            flow: FlowId,
            reason: CloseReason,
        },
    }

    fn owned(event: StreamEvent<'_>) -> Ev {
        match event {
            StreamEvent::Opened {
                flow,
                client,
                server,
                handshake_seen,
                ..
            } => Ev::Opened {
                flow,
                client,
                server,
                handshake_seen,
            },
            StreamEvent::Data {
                flow, dir, bytes, ..
            } => Ev::Data {
                flow,
                dir,
                bytes: bytes.to_vec(),
            },
            StreamEvent::Gap {
                flow, dir, missing, ..
            } => Ev::Gap { flow, dir, missing },
            StreamEvent::Closed { flow, reason, .. } => Ev::Closed { flow, reason },
            StreamEvent::KeyLog { .. } => unreachable!("the reassembler emits no key logs"),
        }
    }

    fn tcp(seg: &Segment) -> TcpSegment<'_> {
        TcpSegment {
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: 65535,
            options: &[],
            payload: &seg.payload,
            payload_missing: 0,
        }
    }

    struct Harness {
        reassembler: Reassembler,
        events: Vec<Ev>,
    }

    impl Harness {
        fn new(config: ReassemblyConfig) -> Self {
            Self {
                reassembler: Reassembler::new(config),
                events: Vec::new(),
            }
        }

        fn push(&mut self, seg: &Segment) {
            let events = &mut self.events;
            let flow = self
                .reassembler
                .push(seg.ts, &tcp(seg), &mut |event: StreamEvent<'_>| {
                    events.push(owned(event));
                    ControlFlow::Continue(())
                });
            assert!(flow.is_continue());
        }

        fn push_all(&mut self, segments: &[Segment]) {
            segments.iter().for_each(|seg| self.push(seg));
        }

        fn finish(mut self) -> (Vec<Ev>, ReassemblyStats) {
            let events = &mut self.events;
            let _ = self.reassembler.finish(&mut |event: StreamEvent<'_>| {
                events.push(owned(event));
                ControlFlow::Continue(())
            });
            assert_eq!(self.reassembler.buffered_bytes(), 0);
            assert_eq!(self.reassembler.open_flows(), 0);
            (self.events, *self.reassembler.stats())
        }
    }

    fn run(segments: &[Segment]) -> (Vec<Ev>, ReassemblyStats) {
        run_with(ReassemblyConfig::default(), segments)
    }

    fn run_with(config: ReassemblyConfig, segments: &[Segment]) -> (Vec<Ev>, ReassemblyStats) {
        let mut harness = Harness::new(config);
        harness.push_all(segments);
        harness.finish()
    }

    /// One direction's stream: its bytes, with each gap as that many `?`s
    /// so positions stay visible.
    fn stream(events: &[Ev], want_flow: FlowId, want_dir: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for event in events {
            match event {
                Ev::Data { flow, dir, bytes } if *flow == want_flow && *dir == want_dir => {
                    out.extend_from_slice(bytes)
                }
                Ev::Gap { flow, dir, missing } if *flow == want_flow && *dir == want_dir => {
                    out.extend(std::iter::repeat_n(b'?', *missing as usize))
                }
                _ => {}
            }
        }
        out
    }

    fn gaps(events: &[Ev]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                Ev::Gap { missing, .. } => Some(*missing),
                _ => None,
            })
            .collect()
    }

    fn closes(events: &[Ev]) -> Vec<(FlowId, CloseReason)> {
        events
            .iter()
            .filter_map(|e| match e {
                Ev::Closed { flow, reason } => Some((*flow, *reason)),
                _ => None,
            })
            .collect()
    }

    fn conversation() -> TcpConversation {
        TcpConversation::new(
            "192.0.2.10:49152".parse().unwrap(),
            "198.51.100.20:443".parse().unwrap(),
        )
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Cuts `payload` into `pieces` segments sent by `dir`.
    fn pieces(
        conv: &mut TcpConversation,
        dir: Direction,
        payload: &[u8],
        pieces: usize,
    ) -> Vec<Segment> {
        let size = payload.len().div_ceil(pieces);
        payload
            .chunks(size)
            .map(|chunk| conv.segment(dir, TcpFlags::ACK, chunk))
            .collect()
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for perm in permutations(n - 1) {
            for at in 0..=perm.len() {
                let mut p = perm.clone();
                p.insert(at, n - 1);
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn in_order_conversation() {
        let mut conv = conversation();
        let request = pattern(3000, 1);
        let response = pattern(5000, 2);
        let mut segs = conv.handshake();
        segs.extend(conv.send(C2S, &request));
        segs.extend(conv.send(S2C, &response));
        segs.extend(conv.close());
        let (events, stats) = run(&segs);
        assert_eq!(
            events[0],
            Ev::Opened {
                flow: 1,
                client: conv.client(),
                server: conv.server(),
                handshake_seen: true
            }
        );
        assert_eq!(stream(&events, 1, C2S), request);
        assert_eq!(stream(&events, 1, S2C), response);
        assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
        assert_eq!(
            events.last(),
            Some(&Ev::Closed {
                flow: 1,
                reason: CloseReason::Fin
            })
        );
        assert_eq!(
            (
                stats.gaps,
                stats.retransmitted_bytes,
                stats.out_of_order_segments
            ),
            (0, 0, 0)
        );
        assert_eq!(stats.delivered_bytes, 8000);
        assert_eq!(stats.peak_buffered_bytes, 0);
    }

    #[test]
    fn every_order_of_five_segments_gives_the_same_stream() {
        for order in permutations(5) {
            let mut conv = conversation();
            let payload = pattern(500, 9);
            let mut segs = conv.handshake();
            let data = pieces(&mut conv, C2S, &payload, 5);
            segs.extend(order.iter().map(|&i| data[i].clone()));
            segs.extend(conv.close());
            let (events, stats) = run(&segs);
            assert_eq!(stream(&events, 1, C2S), payload, "{order:?}");
            assert_eq!(stats.gaps, 0);
            assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
        }
    }

    #[test]
    fn retransmissions_exact_and_partial_are_dropped() {
        let mut conv = conversation();
        let payload = pattern(300, 3);
        let mut segs = conv.handshake();
        let data = pieces(&mut conv, C2S, &payload, 3);
        segs.extend(data.iter().cloned());
        segs.push(data[1].clone()); // exact retransmission
                                    // A partial one: the end of the second segment and all the third.
        let (_, tail) = data[1].split_at(40);
        let mut joined = tail.clone();
        joined.payload.extend_from_slice(&data[2].payload);
        segs.push(joined);
        segs.extend(conv.close());
        let (events, stats) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), payload);
        assert_eq!(stats.retransmitted_bytes, 100 + 60 + 100);
        assert_eq!(stats.gaps, 0);
    }

    #[test]
    fn retransmission_extending_past_delivered_data_delivers_only_the_new_part() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let first = conv.segment(C2S, TcpFlags::ACK, b"0123456789");
        let mut longer = first.clone();
        longer.payload = b"0123456789abcdef".to_vec();
        segs.push(first);
        segs.push(longer);
        let (events, _) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"0123456789abcdef");
    }

    #[test]
    fn overlapping_segments_first_received_wins() {
        // Delivered data first: a later overlapping copy cannot change it.
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let a = conv.segment(C2S, TcpFlags::ACK, b"AAAAAAAAAA");
        let mut b = a.clone();
        b.seq = a.seq + 5;
        b.payload = b"BBBBBBBBBB".to_vec();
        segs.extend([a, b]);
        let (events, _) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"AAAAAAAAAABBBBB");

        // Buffered data first: the in-order copy fills only the hole.
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let y = conv.segment(C2S, TcpFlags::ACK, b"YYYYYYYYYY");
        let mut x = y.clone();
        x.seq = y.seq + 5;
        x.payload = b"XXXXXXXXXX".to_vec();
        segs.extend([x, y]);
        let (events, stats) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"YYYYYXXXXXXXXXX");
        assert_eq!(stats.overlap_conflicts, 1);
        assert_eq!(stats.retransmitted_bytes, 5);

        // Three buffered copies over one another, then the hole.
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let base = conv.segment(C2S, TcpFlags::ACK, b"0000");
        let at = |offset: u32, bytes: &[u8]| {
            let mut seg = base.clone();
            seg.seq = base.seq + offset;
            seg.payload = bytes.to_vec();
            seg
        };
        segs.extend([
            at(6, b"66"),
            at(2, b"2222222"),
            at(8, b"8888"),
            at(0, b"0000"),
        ]);
        let (events, stats) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"002222662888");
        assert_eq!(stats.overlap_conflicts, 3);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        for order in permutations(4) {
            let mut conv = conversation().with_isns(u32::MAX - 150, u32::MAX - 1);
            let payload = pattern(400, 5);
            let response = pattern(70, 6);
            let mut segs = conv.handshake();
            let data = pieces(&mut conv, C2S, &payload, 4);
            segs.extend(order.iter().map(|&i| data[i].clone()));
            segs.extend(conv.send(S2C, &response));
            segs.extend(conv.close());
            let (events, stats) = run(&segs);
            assert_eq!(stream(&events, 1, C2S), payload, "{order:?}");
            assert_eq!(stream(&events, 1, S2C), response);
            assert_eq!(stats.gaps, 0);
            assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
        }
    }

    #[test]
    fn a_missing_segment_is_a_gap_at_close() {
        let mut conv = conversation();
        let payload = pattern(300, 4);
        let mut segs = conv.handshake();
        let data = pieces(&mut conv, C2S, &payload, 3);
        segs.push(data[0].clone());
        segs.push(data[2].clone());
        segs.extend(conv.close());
        let (events, stats) = run(&segs);
        let mut expected = payload.clone();
        expected[100..200].fill(b'?');
        assert_eq!(stream(&events, 1, C2S), expected);
        assert_eq!(gaps(&events), vec![100]);
        assert_eq!((stats.gaps, stats.gap_bytes), (1, 100));
        assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
    }

    #[test]
    fn a_lost_tail_before_fin_is_a_gap() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        segs.extend(conv.send(C2S, b"kept"));
        let _lost = conv.send(C2S, b"lost!");
        segs.extend(conv.close());
        let (events, _) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"kept?????");
    }

    #[test]
    fn fin_waits_for_a_late_retransmission() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let data = pieces(&mut conv, C2S, &pattern(200, 1), 2);
        let close = conv.close();
        segs.push(data[1].clone());
        segs.extend(close.iter().cloned());
        segs.push(data[0].clone());
        let mut harness = Harness::new(ReassemblyConfig::default());
        harness.push_all(&segs);
        // Closed as soon as the hole before both FINs was filled.
        assert_eq!(harness.reassembler.open_flows(), 0);
        let (events, stats) = harness.finish();
        assert_eq!(stream(&events, 1, C2S), pattern(200, 1));
        assert_eq!(stats.gaps, 0);
        assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
    }

    #[test]
    fn buffers_are_bounded_and_the_hole_reported_when_they_fill() {
        let config = ReassemblyConfig {
            max_buffered_per_direction: 4000,
            ..ReassemblyConfig::default()
        };
        let mut conv = conversation();
        let payload = pattern(10_000, 8);
        let mut segs = conv.handshake();
        let data = pieces(&mut conv, C2S, &payload, 10);
        segs.extend(data[1..].iter().cloned());
        let mut harness = Harness::new(config);
        harness.push_all(&segs);
        // Before the end of the capture: the bound forced the gap out.
        assert_eq!(gaps(&harness.events), vec![1000]);
        assert!(harness.reassembler.buffered_bytes() <= 4000);
        let (events, stats) = harness.finish();
        let mut expected = payload.clone();
        expected[..1000].fill(b'?');
        assert_eq!(stream(&events, 1, C2S), expected);
        assert!(
            stats.peak_buffered_bytes <= 5000,
            "{}",
            stats.peak_buffered_bytes
        );
    }

    #[test]
    fn total_buffer_bound_spans_flows() {
        let config = ReassemblyConfig {
            max_buffered_total: 2500,
            ..ReassemblyConfig::default()
        };
        let mut harness = Harness::new(config);
        for port in [1000u16, 1001] {
            let mut conv = TcpConversation::new(
                format!("192.0.2.1:{port}").parse().unwrap(),
                "192.0.2.2:443".parse().unwrap(),
            );
            harness.push_all(&conv.handshake());
            let data = pieces(&mut conv, C2S, &pattern(3000, 1), 3);
            harness.push_all(&data[1..]);
        }
        assert!(harness.reassembler.buffered_bytes() <= 2500);
        let (events, stats) = harness.finish();
        assert_eq!(gaps(&events), vec![1000, 1000]);
        assert!(stats.peak_buffered_bytes <= 3500);
    }

    #[test]
    fn rst_mid_stream_flushes_and_closes() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        let data = pieces(&mut conv, S2C, &pattern(300, 2), 3);
        segs.push(data[0].clone());
        segs.push(data[2].clone());
        segs.push(conv.rst(C2S));
        // A late retransmission after the RST opens nothing.
        segs.push(data[0].clone());
        let (events, stats) = run(&segs);
        assert_eq!(gaps(&events), vec![100]);
        assert_eq!(stream(&events, 1, S2C).len(), 300);
        assert_eq!(closes(&events), vec![(1, CloseReason::Rst)]);
        assert_eq!(stats.flows, 1);
        assert_eq!(stats.retransmitted_bytes, 100);
    }

    #[test]
    fn late_acks_after_close_are_stray() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        segs.extend(conv.send(C2S, b"hello"));
        segs.extend(conv.close());
        segs.push(conv.ack(S2C));
        let (events, stats) = run(&segs);
        assert_eq!(closes(&events), vec![(1, CloseReason::Fin)]);
        assert_eq!(stats.flows, 1);
        assert!(stats.stray_segments >= 1);
    }

    #[test]
    fn without_a_handshake_the_lower_port_is_the_server() {
        let mut conv = conversation();
        let _ = conv.handshake();
        // The capture starts with the server's data.
        let mut segs = conv.send(S2C, b"from server");
        segs.extend(conv.send(C2S, b"from client"));
        let (events, _) = run(&segs);
        assert_eq!(
            events[0],
            Ev::Opened {
                flow: 1,
                client: conv.client(),
                server: conv.server(),
                handshake_seen: false
            }
        );
        assert_eq!(stream(&events, 1, S2C), b"from server");
        assert_eq!(stream(&events, 1, C2S), b"from client");
        assert_eq!(closes(&events), vec![(1, CloseReason::EndOfCapture)]);

        // Equal ports: the first sender is the client.
        let mut conv = TcpConversation::new(
            "192.0.2.2:7000".parse().unwrap(),
            "192.0.2.1:7000".parse().unwrap(),
        );
        let _ = conv.handshake();
        let segs = conv.send(S2C, b"x");
        let (events, _) = run(&segs);
        assert_eq!(
            events[0],
            Ev::Opened {
                flow: 1,
                client: conv.server(),
                server: conv.client(),
                handshake_seen: false
            }
        );
    }

    #[test]
    fn syn_ack_without_syn_fixes_roles_and_the_client_start() {
        let mut conv = conversation();
        let hs = conv.handshake();
        let request = conv.send(C2S, b"request");
        // The client's data arrives before anything else from it, out of
        // order: the SYN-ACK's ack still says where its stream starts.
        let mut early = request[0].split_at(3).1;
        early.ts = hs[1].ts;
        let segs = vec![
            hs[1].clone(),
            early,
            request[0].split_at(3).0,
            hs[0].clone(),
        ];
        let (events, stats) = run(&segs);
        assert_eq!(
            events[0],
            Ev::Opened {
                flow: 1,
                client: conv.client(),
                server: conv.server(),
                handshake_seen: true
            }
        );
        assert_eq!(stream(&events, 1, C2S), b"request");
        // The belated SYN is the flow's own, not a new connection.
        assert_eq!(stats.flows, 1);
    }

    #[test]
    fn a_new_syn_on_the_same_endpoints_is_a_new_connection() {
        // After a clean close.
        let mut first = conversation();
        let mut segs = first.handshake();
        segs.extend(first.send(C2S, b"one"));
        segs.extend(first.close());
        let mut second = conversation().with_isns(0x5000_0000, 0x6000_0000);
        segs.extend(second.handshake());
        segs.extend(second.send(C2S, b"two"));
        segs.extend(second.close());
        let (events, _) = run(&segs);
        assert_eq!(stream(&events, 1, C2S), b"one");
        assert_eq!(stream(&events, 2, C2S), b"two");
        assert_eq!(
            closes(&events),
            vec![(1, CloseReason::Fin), (2, CloseReason::Fin)]
        );

        // While the old one was still open, and with a retransmitted SYN.
        let mut first = conversation();
        let mut segs = first.handshake();
        segs.insert(1, segs[0].clone());
        segs.extend(first.send(C2S, b"one"));
        let mut second = conversation().with_isns(0x5000_0000, 0x6000_0000);
        segs.extend(second.handshake());
        segs.extend(second.send(C2S, b"two"));
        let (events, stats) = run(&segs);
        assert_eq!(stats.flows, 2);
        assert_eq!(
            closes(&events),
            vec![(1, CloseReason::Reused), (2, CloseReason::EndOfCapture)]
        );
        assert_eq!(stream(&events, 2, C2S), b"two");
    }

    #[test]
    fn many_interleaved_connections() {
        let mut convs: Vec<TcpConversation> = (0..50u16)
            .map(|i| {
                TcpConversation::new(
                    format!("10.0.{}.{}:{}", i / 10, i % 10 + 1, 40000 + i)
                        .parse()
                        .unwrap(),
                    "10.1.0.1:443".parse().unwrap(),
                )
            })
            .collect();
        let mut per_conv: Vec<Vec<Segment>> = convs
            .iter_mut()
            .enumerate()
            .map(|(i, conv)| {
                let mut segs = conv.handshake();
                segs.extend(conv.send(C2S, &pattern(3000, i as u8)));
                segs.extend(conv.send(S2C, &pattern(2000, i as u8 + 100)));
                segs.extend(conv.close());
                segs
            })
            .collect();
        // Round-robin: one segment of each connection in turn.
        let mut all = Vec::new();
        while per_conv.iter().any(|s| !s.is_empty()) {
            for segs in per_conv.iter_mut() {
                if !segs.is_empty() {
                    all.push(segs.remove(0));
                }
            }
        }
        let (events, stats) = run(&all);
        assert_eq!(stats.flows, 50);
        for i in 0..50u32 {
            assert_eq!(stream(&events, i + 1, C2S), pattern(3000, i as u8));
            assert_eq!(stream(&events, i + 1, S2C), pattern(2000, i as u8 + 100));
        }
        let opened: Vec<FlowId> = events
            .iter()
            .filter_map(|e| match e {
                Ev::Opened { flow, .. } => Some(*flow),
                _ => None,
            })
            .collect();
        assert_eq!(opened, (1..=50).collect::<Vec<_>>());
        assert_eq!(closes(&events).len(), 50);
    }

    #[test]
    fn flows_past_the_limit_are_evicted() {
        let config = ReassemblyConfig {
            max_flows: 8,
            ..ReassemblyConfig::default()
        };
        let mut harness = Harness::new(config);
        for i in 0..20u16 {
            let mut conv = TcpConversation::new(
                format!("192.0.2.1:{}", 2000 + i).parse().unwrap(),
                "192.0.2.2:443".parse().unwrap(),
            );
            harness.push_all(&conv.handshake());
            harness.push_all(&conv.send(C2S, b"data"));
            assert!(harness.reassembler.open_flows() <= 8);
        }
        let (events, stats) = harness.finish();
        assert_eq!(stats.evicted_flows, 12);
        let evicted: Vec<FlowId> = closes(&events)
            .into_iter()
            .filter(|(_, reason)| *reason == CloseReason::Evicted)
            .map(|(flow, _)| flow)
            .collect();
        // The least recently active go first.
        assert_eq!(evicted, (1..=12).collect::<Vec<_>>());
        for flow in 1..=20 {
            assert_eq!(stream(&events, flow, C2S), b"data");
        }
    }

    #[test]
    fn snaplen_cut_payload_becomes_an_immediate_gap() {
        let mut conv = conversation();
        let hs = conv.handshake();
        let data = conv.send(C2S, b"0123456789");
        let more = conv.send(C2S, b"after");
        let mut harness = Harness::new(ReassemblyConfig::default());
        harness.push_all(&hs);
        let mut cut = tcp(&data[0]);
        cut.payload = &data[0].payload[..4];
        cut.payload_missing = 6;
        let events = &mut harness.events;
        let _ = harness
            .reassembler
            .push(data[0].ts, &cut, &mut |event: StreamEvent<'_>| {
                events.push(owned(event));
                ControlFlow::Continue(())
            });
        harness.push_all(&more);
        let (events, stats) = harness.finish();
        assert_eq!(stream(&events, 1, C2S), b"0123??????after");
        assert_eq!(stats.out_of_order_segments, 0);
    }

    #[test]
    fn a_stopping_sink_stops_at_once() {
        let mut conv = conversation();
        let mut segs = conv.handshake();
        segs.extend(conv.send(C2S, &pattern(5000, 1)));
        let mut reassembler = Reassembler::default();
        let mut seen = 0;
        let mut sink = |event: StreamEvent<'_>| {
            seen += 1;
            if matches!(event, StreamEvent::Data { .. }) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let results: Vec<bool> = segs
            .iter()
            .map(|s| reassembler.push(s.ts, &tcp(s), &mut sink).is_break())
            .collect();
        assert_eq!(results.iter().filter(|b| **b).count(), 4);
        assert!(results[3]);
    }

    /// Random cuts, reorderings, duplicates and drops (a fixed-seed
    /// generator): every byte delivered sits at its right place, holes are
    /// exactly the dropped bytes, and with nothing dropped there is no gap.
    #[test]
    fn random_delivery_orders_keep_every_byte_in_place() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for trial in 0..300 {
            let payload = pattern(1 + next(3000), trial as u8);
            let mut conv = conversation().with_isns(next(usize::MAX) as u32, 1);
            let mut segs = conv.handshake();
            let start = conv.next_seq(C2S);
            let mut data = Vec::new();
            let mut at = 0;
            while at < payload.len() {
                let len = (1 + next(400)).min(payload.len() - at);
                let mut seg = conv.segment(C2S, TcpFlags::ACK, &[]);
                seg.seq = start.wrapping_add(at as u32);
                seg.payload = payload[at..at + len].to_vec();
                data.push(seg);
                at += len;
            }
            let drop_some = trial % 3 == 0;
            let mut kept = vec![true; payload.len()];
            let mut sent = Vec::new();
            for seg in &data {
                if drop_some && next(5) == 0 {
                    let from = seg.seq.wrapping_sub(start) as usize;
                    kept[from..from + seg.payload.len()].fill(false);
                    continue;
                }
                sent.push(seg.clone());
                if next(4) == 0 {
                    sent.push(seg.clone());
                }
            }
            // Local shuffles: swap neighbours up to three places apart.
            for _ in 0..sent.len() {
                let i = next(sent.len().max(1));
                let j = (i + next(4)).min(sent.len().saturating_sub(1));
                sent.swap(i, j);
            }
            segs.extend(sent);
            let mut close = conv.segment(C2S, TcpFlags::FIN | TcpFlags::ACK, &[]);
            close.seq = start.wrapping_add(payload.len() as u32);
            segs.push(close);
            let (events, stats) = run(&segs);
            let got = stream(&events, 1, C2S);
            assert_eq!(got.len(), payload.len(), "trial {trial}");
            for (i, (&g, &p)) in got.iter().zip(&payload).enumerate() {
                if kept[i] {
                    assert_eq!(g, p, "trial {trial} byte {i}");
                } else {
                    assert_eq!(g, b'?', "trial {trial} byte {i}");
                }
            }
            if !drop_some {
                assert_eq!(stats.gaps, 0, "trial {trial}");
            }
        }
    }

    #[test]
    fn fx_hasher_spreads_keys() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<FxHasher>::default();
        let a: SocketAddr = "192.0.2.1:1000".parse().unwrap();
        let b: SocketAddr = "192.0.2.1:1001".parse().unwrap();
        assert_ne!(
            build.hash_one(FlowKey::new(a, b)),
            build.hash_one(FlowKey::new(a, a))
        );
        assert_eq!(
            build.hash_one(FlowKey::new(a, b)),
            build.hash_one(FlowKey::new(b, a))
        );
    }
}
