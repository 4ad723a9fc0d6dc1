//! [`run_capture`](super::run_capture) on two threads: one reads the
//! capture, decodes packets, reassembles TCP and cuts each stream into TLS
//! records; the caller's thread gets the stream events, in the same order,
//! and does the TLS work (decryption, rendering). The two halves cost about
//! the same on a big capture, so the wall time nearly halves on a machine
//! with two cores.
//!
//! The events cross in batches: stream bytes copied into one buffer per
//! batch, events naming ranges of it. At most [`BATCHES_IN_FLIGHT`] batches
//! exist, and used ones go back to the reader to be filled again, so memory
//! stays flat whatever the capture's size.
//!
//! A record that TCP carried in several segments would have to be gathered
//! on the consumer's side, one segment event at a time. The reader gathers
//! it instead, while the bytes are in its hands anyway, and hands over the
//! record whole ([`StreamSink::on_record`]): one event per record, and a
//! body the consumer owns and can decrypt in place. What the consumer sees
//! of each stream is the same bytes in the same order; only where they
//! are cut differs, and no event of the consumer's (a record, a note)
//! comes at another point, because its records end where they ended:
//! - a stream's first record goes through as it came, so a consumer that
//!   looks at a stream's first bytes to decide what it is sees them when
//!   the capture did;
//! - bytes that do not frame as records go through as they came, from
//!   there on;
//! - before a gap or the end of a connection, a record begun and not
//!   finished goes through as the bytes it had.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::Read;
use std::ops::{ControlFlow, Range};
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::reassembly::{FlowId, FxHasher, StreamEvent, StreamEventOf, StreamSink};
use super::{run_capture, CaptureError, CaptureOptions, CaptureStats};
use crate::event::{Direction, Timestamp};
use crate::wire::RecordHeader;

/// Stream bytes gathered before a batch is handed over: big enough that
/// the hand-over costs nothing next to the work, small enough to stay in
/// cache.
const BATCH_BYTES: usize = 256 * 1024;
/// Events gathered before a batch is handed over (many tiny segments).
const BATCH_EVENTS: usize = 4096;
/// Batches in existence at once: one being filled, the rest queued or
/// being consumed.
const BATCHES_IN_FLIGHT: usize = 4;

/// What a batch carries, in order.
enum Batched {
    /// A [`StreamEvent`] whose bytes live in the batch's buffer.
    Event(StreamEventOf<Range<usize>>),
    /// A whole record, for [`StreamSink::on_record`].
    Record {
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        header: [u8; 5],
        body: Vec<u8>,
    },
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Bytes of the records' bodies, which count towards the batch's size.
    record_bytes: usize,
    events: Vec<Batched>,
}

impl Batch {
    fn push(&mut self, event: StreamEvent<'_>) {
        let bytes = &mut self.bytes;
        let batched = event.map_bytes(|b| {
            let start = bytes.len();
            bytes.extend_from_slice(b);
            start..bytes.len()
        });
        self.events.push(Batched::Event(batched));
    }

    fn push_data(&mut self, flow: FlowId, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.push(StreamEvent::Data {
                flow,
                dir,
                ts,
                bytes,
            });
        }
    }

    fn is_full(&self) -> bool {
        self.bytes.len() + self.record_bytes >= BATCH_BYTES || self.events.len() >= BATCH_EVENTS
    }

    /// Gives every event to `sink`, in order, and empties the batch for
    /// reuse; stops where the sink does.
    fn replay<S: StreamSink + ?Sized>(&mut self, sink: &mut S) -> ControlFlow<()> {
        let bytes = &self.bytes;
        let mut flow = ControlFlow::Continue(());
        for e in self.events.drain(..) {
            flow = match e {
                Batched::Event(e) => sink.on_event(e.map_bytes(|r| &bytes[r])),
                Batched::Record {
                    flow,
                    dir,
                    ts,
                    header,
                    body,
                } => sink.on_record(flow, dir, ts, header, body),
            };
            if flow.is_break() {
                break;
            }
        }
        self.bytes.clear();
        self.record_bytes = 0;
        flow
    }
}

/// How far the reader has cut one direction's stream into records.
#[derive(Default)]
struct Cutter {
    mode: CutMode,
    /// The current record's header, `header_len` bytes of it so far.
    header: [u8; 5],
    header_len: usize,
    /// Body bytes of the current record still to come (once its header is
    /// whole).
    remaining: usize,
    /// The current record's body so far (when gathering).
    body: Vec<u8>,
    /// When the last of `body` arrived.
    ts: Timestamp,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
enum CutMode {
    /// The first record: its bytes go through, only its end is looked for.
    #[default]
    First,
    /// Records are gathered and handed over whole.
    Records,
    /// The bytes go through as they came (not records, or after a gap).
    Through,
}

impl Cutter {
    /// Takes in the next `data` of this direction, pushing what is ready
    /// to `batch`.
    fn take(
        &mut self,
        batch: &mut Batch,
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        mut data: &[u8],
    ) {
        while !data.is_empty() {
            match self.mode {
                CutMode::Through => {
                    batch.push_data(flow, dir, ts, data);
                    return;
                }
                CutMode::First => {
                    let n = self.follow_first(data);
                    batch.push_data(flow, dir, ts, &data[..n]);
                    data = &data[n..];
                }
                CutMode::Records => {
                    if self.header_len < 5 {
                        data = &data[self.fill_header(data)..];
                        self.ts = ts;
                        let Some(header) = self.whole_header() else {
                            return;
                        };
                        if !header.is_plausible() {
                            // The consumer finds out for itself from the
                            // same bytes.
                            self.mode = CutMode::Through;
                            let h = self.header;
                            batch.push_data(flow, dir, ts, &h);
                            continue;
                        }
                        self.remaining = header.length as usize;
                        self.body = Vec::with_capacity(self.remaining);
                    }
                    let n = self.remaining.min(data.len());
                    self.body.extend_from_slice(&data[..n]);
                    self.remaining -= n;
                    data = &data[n..];
                    self.ts = ts;
                    if self.remaining == 0 {
                        self.header_len = 0;
                        let body = std::mem::take(&mut self.body);
                        batch.record_bytes += body.len();
                        batch.events.push(Batched::Record {
                            flow,
                            dir,
                            ts,
                            header: self.header,
                            body,
                        });
                    }
                }
            }
        }
    }

    /// Follows the first record through `data`: how many bytes of `data`
    /// belong to it. Switches mode at its end, or on a first header that
    /// is no record's.
    fn follow_first(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        if self.header_len < 5 {
            used = self.fill_header(data);
            let Some(header) = self.whole_header() else {
                return used;
            };
            if !header.is_plausible() {
                // Not records (or an SSL 2.0 ClientHello, whose header is
                // of another shape): no cutting on this stream.
                self.mode = CutMode::Through;
                return data.len();
            }
            self.remaining = header.length as usize;
        }
        let n = self.remaining.min(data.len() - used);
        self.remaining -= n;
        used += n;
        if self.remaining == 0 {
            self.header_len = 0;
            self.mode = CutMode::Records;
        }
        used
    }

    /// Takes the start of `data` into the current header, as much as it
    /// lacks; how many bytes were taken.
    fn fill_header(&mut self, data: &[u8]) -> usize {
        let n = (5 - self.header_len).min(data.len());
        self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
        self.header_len += n;
        n
    }

    /// The current header, once all five bytes are in.
    fn whole_header(&self) -> Option<RecordHeader> {
        (self.header_len == 5).then(|| RecordHeader::parse(&self.header))
    }

    /// Gives up the record begun, as the bytes it had: before a gap or the
    /// end of the stream.
    fn flush(&mut self, batch: &mut Batch, flow: FlowId, dir: Direction) {
        if self.mode == CutMode::Records && self.header_len > 0 {
            let (h, len, ts) = (self.header, self.header_len, self.ts);
            batch.push_data(flow, dir, ts, &h[..len]);
            let body = std::mem::take(&mut self.body);
            batch.push_data(flow, dir, ts, &body);
            self.header_len = 0;
        }
    }
}

/// The reader thread's sink: cuts streams into records, fills batches and
/// sends them on.
struct Batcher {
    current: Batch,
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    made: usize,
    /// Each open connection's two directions, client to server first.
    cutters: HashMap<FlowId, [Cutter; 2], BuildHasherDefault<FxHasher>>,
}

fn index_of(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

impl Batcher {
    fn new(full: SyncSender<Batch>, empty: Receiver<Batch>) -> Self {
        Self {
            current: Batch::default(),
            full,
            empty,
            made: 1,
            cutters: HashMap::default(),
        }
    }

    /// Sends the current batch on and takes an empty one: one given back,
    /// a new one while fewer than `BATCHES_IN_FLIGHT` exist, or else the
    /// next one given back. `Break` once the consumer is gone.
    fn send(&mut self) -> ControlFlow<()> {
        let next = match self.empty.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < BATCHES_IN_FLIGHT => {
                self.made += 1;
                Batch::default()
            }
            Err(_) => match self.empty.recv() {
                Ok(b) => b,
                Err(_) => return ControlFlow::Break(()),
            },
        };
        let full = std::mem::replace(&mut self.current, next);
        match self.full.send(full) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// Gives up the records begun on `flow` (both directions, or `dir`).
    fn flush(&mut self, flow: FlowId, dir: Option<Direction>) {
        if let Some(cutters) = self.cutters.get_mut(&flow) {
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                if dir.is_none_or(|x| x == d) {
                    cutters[index_of(d)].flush(&mut self.current, flow, d);
                }
            }
        }
    }

    /// The end of the capture: records begun on connections never closed
    /// go through as their bytes, in connection order; then the last batch.
    fn finish(mut self) -> ControlFlow<()> {
        let mut open: Vec<FlowId> = self.cutters.keys().copied().collect();
        open.sort_unstable();
        for flow in open {
            self.flush(flow, None);
        }
        if self.current.events.is_empty() {
            ControlFlow::Continue(())
        } else {
            let last = std::mem::take(&mut self.current);
            match self.full.send(last) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        }
    }
}

impl StreamSink for Batcher {
    fn on_event(&mut self, event: StreamEvent<'_>) -> ControlFlow<()> {
        match event {
            StreamEvent::Data {
                flow,
                dir,
                ts,
                bytes,
            } => {
                let cutter = &mut self.cutters.entry(flow).or_default()[index_of(dir)];
                cutter.take(&mut self.current, flow, dir, ts, bytes);
            }
            StreamEvent::Gap { flow, dir, .. } => {
                self.flush(flow, Some(dir));
                // Where records begin after the hole is not known.
                self.cutters.entry(flow).or_default()[index_of(dir)].mode = CutMode::Through;
                self.current.push(event);
            }
            StreamEvent::Closed { flow, .. } => {
                self.flush(flow, None);
                self.cutters.remove(&flow);
                self.current.push(event);
            }
            StreamEvent::Opened { flow, .. } => {
                // A flow ID may be used again once its connection closed.
                self.cutters.insert(flow, Default::default());
                self.current.push(event);
            }
            StreamEvent::KeyLog { .. } => self.current.push(event),
        }
        if self.current.is_full() {
            self.send()
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Like [`run_capture`], with the reading, packet decoding and reassembly
/// on a thread of its own; `sink` gets the same stream bytes in the same
/// order on the caller's thread, whole records through
/// [`StreamSink::on_record`].
pub fn run_capture_threaded<R: Read + Send, S: StreamSink + ?Sized>(
    input: R,
    options: &CaptureOptions,
    sink: &mut S,
) -> Result<CaptureStats, CaptureError> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT - 1);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("capture-reader".into())
            .spawn_scoped(scope, move || {
                let mut batcher = Batcher::new(full_tx, empty_rx);
                let mut result = run_capture(input, options, &mut batcher);
                if batcher.finish().is_break() {
                    if let Ok(stats) = &mut result {
                        stats.stopped = true;
                    }
                }
                result
            });
        let reader = match spawned {
            Ok(r) => r,
            Err(e) => return Err(CaptureError::Io(e)),
        };
        let mut stopped = false;
        for mut batch in full_rx.iter() {
            if batch.replay(sink).is_break() {
                stopped = true;
                break;
            }
            // The reader may be done and gone: nothing to return it to.
            let _ = empty_tx.send(batch);
        }
        // Dropping the receivers ends the reader's sends (when the sink
        // stopped early).
        drop(full_rx);
        drop(empty_tx);
        let mut result = match reader.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Ok(stats) = &mut result {
            stats.stopped |= stopped;
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{
        sample_client_hello, sample_server_flight, PcapWriter, TcpConversation,
    };
    use crate::event::Direction;

    /// Every event, as text with its bytes, in order.
    fn events(threaded: bool, capture: &[u8], stop_after: Option<usize>) -> (Vec<String>, bool) {
        let mut seen = Vec::new();
        let mut sink = |e: StreamEvent<'_>| {
            seen.push(format!("{e:?}"));
            match stop_after {
                Some(n) if seen.len() >= n => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        };
        let options = CaptureOptions::default();
        let stats = if threaded {
            run_capture_threaded(capture, &options, &mut sink)
        } else {
            run_capture(capture, &options, &mut sink)
        }
        .expect("a capture");
        (seen, stats.stopped)
    }

    /// Many connections with many segments each: more than a batch.
    fn big_capture() -> Vec<u8> {
        let mut w = PcapWriter::ethernet(Vec::new()).unwrap();
        for i in 0..60u16 {
            let mut c = TcpConversation::new(
                format!("10.0.0.1:{}", 40000 + i).parse().unwrap(),
                "10.0.0.2:443".parse().unwrap(),
            )
            .with_mss(97);
            w.write_segments(&c.handshake()).unwrap();
            w.write_segments(&c.send(Direction::ClientToServer, &sample_client_hello()))
                .unwrap();
            for _ in 0..60 {
                w.write_segments(&c.send(Direction::ServerToClient, &sample_server_flight()))
                    .unwrap();
            }
            w.write_segments(&c.close()).unwrap();
        }
        w.into_inner()
    }

    /// What a sink saw: the events other than data, and each direction's
    /// bytes; and how many whole records were handed over.
    #[derive(Default, Debug, PartialEq)]
    struct Seen {
        events: Vec<String>,
        streams: std::collections::BTreeMap<(FlowId, u8), Vec<u8>>,
        records: usize,
    }

    impl StreamSink for Seen {
        fn on_event(&mut self, event: StreamEvent<'_>) -> ControlFlow<()> {
            match event {
                StreamEvent::Data {
                    flow, dir, bytes, ..
                } => self
                    .streams
                    .entry((flow, index_of(dir) as u8))
                    .or_default()
                    .extend_from_slice(bytes),
                e => self.events.push(format!("{e:?}")),
            }
            ControlFlow::Continue(())
        }

        fn on_record(
            &mut self,
            flow: FlowId,
            dir: Direction,
            _: Timestamp,
            header: [u8; 5],
            body: Vec<u8>,
        ) -> ControlFlow<()> {
            assert_eq!(
                RecordHeader::parse(&header).length as usize,
                body.len(),
                "a record handed over whole"
            );
            self.records += 1;
            let stream = self.streams.entry((flow, index_of(dir) as u8)).or_default();
            stream.extend_from_slice(&header);
            stream.extend_from_slice(&body);
            ControlFlow::Continue(())
        }
    }

    #[test]
    fn the_same_bytes_and_events_in_the_same_order() {
        let capture = big_capture();
        assert!(
            capture.len() > 2 * BATCH_BYTES,
            "{} bytes: not several batches",
            capture.len()
        );
        let options = CaptureOptions::default();
        let mut plain = Seen::default();
        run_capture(&capture[..], &options, &mut plain).unwrap();
        let mut threaded = Seen::default();
        let stats = run_capture_threaded(&capture[..], &options, &mut threaded).unwrap();
        assert!(!stats.stopped);
        assert_eq!(plain.records, 0);
        // 60 connections, each with 60 one-record server flights, the
        // first of which goes through as it came.
        assert_eq!(threaded.records, 60 * 59);
        threaded.records = 0;
        assert_eq!(plain, threaded);
    }

    /// A record cut short by the end of the capture, and one by a hole,
    /// still reach the consumer as the bytes they had; bytes that are not
    /// records go through as they came.
    #[test]
    fn records_begun_and_not_finished_go_through() {
        let (full_tx, _full_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT - 1);
        let (_empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let mut b = Batcher::new(full_tx, empty_rx);
        let ts = Timestamp::default();
        let c2s = Direction::ClientToServer;
        let data = |b: &mut Batcher, bytes: &[u8]| {
            let _ = b.on_event(StreamEvent::Data {
                flow: 7,
                dir: c2s,
                ts,
                bytes,
            });
        };
        let mut stream = vec![22, 3, 1, 0, 2, 1, 2];
        stream.extend([23, 3, 1, 0, 4, 9, 9, 9, 9]);
        stream.extend([23, 3, 1, 0, 4, 8, 8]);
        data(&mut b, &stream[..3]);
        data(&mut b, &stream[3..9]);
        data(&mut b, &stream[9..]);
        let _ = b.on_event(StreamEvent::Gap {
            flow: 7,
            dir: c2s,
            ts,
            missing: 10,
        });
        data(&mut b, b"after the hole");
        let mut seen = Seen::default();
        let _ = b.current.replay(&mut seen);
        assert_eq!(seen.records, 1);
        let mut expect = stream.clone();
        expect.extend_from_slice(b"after the hole");
        assert_eq!(seen.streams[&(7, 0)], expect);
        assert_eq!(seen.events.len(), 1, "{:?}", seen.events);
        // Not records from the start: nothing is cut.
        data(&mut b, b"GET / HTTP/1.1\r\n");
        let mut seen = Seen::default();
        let _ = b.current.replay(&mut seen);
        assert_eq!(seen.records, 0);
    }

    #[test]
    fn a_sink_that_stops_stops_the_reader() {
        let capture = big_capture();
        let (threaded, stopped) = events(true, &capture, Some(10));
        assert_eq!(threaded.len(), 10);
        assert!(stopped);
    }

    #[test]
    fn errors_come_back() {
        let options = CaptureOptions::default();
        let mut sink = |_: StreamEvent<'_>| ControlFlow::Continue(());
        let r = run_capture_threaded(&b"not a capture at all"[..], &options, &mut sink);
        assert!(matches!(r, Err(CaptureError::NotACapture { .. })), "{r:?}");
        let capture = big_capture();
        let cut = &capture[..capture.len() - 5];
        let stats = run_capture_threaded(cut, &options, &mut sink).unwrap();
        assert!(stats.incomplete.is_some());
    }
}
