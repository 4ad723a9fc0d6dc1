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
//!
//! With an [`AheadLink`], the reader also opens some of the records it
//! cuts, with protections the consumer published, while the consumer is
//! [`ahead::BEHIND`] batches behind; and the consumer's thread opens the
//! rest of each batch together before replaying it, so that their MACs are
//! checked side by side (see [`super::ahead`]), sharing those checks with
//! the reader when it waits for an empty batch ([`ShareFinish`]).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::Read;
use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::ahead::{self, AheadLink, Lag, OpenedAhead, Opener, PendingAhead, RecordAt, TAIL};
use super::reassembly::{FlowId, FxHasher, StreamEvent, StreamEventOf, StreamSink, WholeRecord};
use super::{run_capture, CaptureError, CaptureOptions, CaptureStats};
use crate::crypto::sha_lanes::LANES;
use crate::event::{Direction, Timestamp};
use crate::record::protection::RecordProtection;
use crate::wire::{ContentType, RecordHeader};

type Hasher = BuildHasherDefault<FxHasher>;

/// Stream bytes gathered before a batch is handed over: big enough that
/// the hand-over costs nothing next to the work.
const BATCH_BYTES: usize = 512 * 1024;
/// Events gathered before a batch is handed over (many tiny segments).
const BATCH_EVENTS: usize = 4096;
/// Batches in existence at once: one being filled, the rest queued or
/// being consumed. Enough that a run of costly batches on one side does
/// not stall the other at once (measured: 4 to 8 took a tenth off the
/// decryption of a 66 MB capture).
const BATCHES_IN_FLIGHT: usize = 8;

/// What a batch carries, in order.
enum Batched {
    /// A [`StreamEvent`] whose bytes live in the batch's buffer.
    Event(StreamEventOf<Range<usize>>),
    /// A whole record, for [`StreamSink::on_record`].
    Record {
        flow: FlowId,
        dir: Direction,
        ts: Timestamp,
        record: WholeRecord,
    },
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Bytes of the records' bodies, which count towards the batch's size.
    record_bytes: usize,
    events: Vec<Batched>,
    /// Buffers for record bodies of at least [`SPARE_MIN`] bytes: given
    /// back by the consumer once used, or made by its thread.
    spare: Vec<Vec<u8>>,
    /// Buffers for shorter bodies, given back by the consumer once used.
    spare_small: Vec<Vec<u8>>,
    /// Bodies of at least [`SPARE_MIN`] bytes the batch holds: as many
    /// spare buffers to make for it.
    spare_wanted: usize,
    /// The longest of those bodies: the size to make spare buffers, so
    /// that small records do not each hold a buffer for the largest.
    spare_size: usize,
    /// Where the sink gives buffers back, kept for its capacity.
    spare_spent: Vec<Vec<u8>>,
    /// Records opened ahead but for their MAC checks, by index in
    /// `events`: finished together before the batch goes.
    pending: Vec<(usize, PendingAhead)>,
    /// The protections the reader found from the hellos, by the index in
    /// `events` of the ChangeCipherSpec they follow ([`Opener::take_keyed`]):
    /// the consumer's thread opens the records after it with them, which
    /// its own keys, made from the same handshake later in this batch,
    /// could not.
    keyed: Vec<(usize, RecordProtection)>,
    /// Records the reader opened ahead and finished at once (nothing left
    /// to check), not yet counted.
    opened: u64,
}

/// Record bodies of at least this size go into buffers the consumer's
/// thread made, when not enough came back ([`Batch::restock`]).
const SPARE_MIN: usize = 1024;
/// The largest spare buffer: room for the largest record body.
const SPARE_CAPACITY: usize = crate::wire::record::MAX_CIPHERTEXT;
/// New spare buffers made for a batch at most.
const SPARE_MAX: usize = 64;
/// Room in the large spare buffers a batch carries at most: its bodies,
/// and about as much plaintext opened ahead.
const SPARE_BYTES: usize = 2 * BATCH_BYTES;
/// Small spare buffers a batch carries at most (each under [`SPARE_MIN`]).
const SPARE_SMALL_MAX: usize = BATCH_EVENTS;

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

    /// An empty buffer for a record body of `len` bytes, from the spares
    /// when there is one of its kind. Why spares: the consumer frees every
    /// body, and memory freed on one thread that another allocated goes
    /// back to the other's heap under a lock, and is given back to the
    /// system and faulted in again; that cost the reader a tenth of its
    /// time on big captures.
    fn body_buffer(&mut self, len: usize) -> Vec<u8> {
        let spare = if len >= SPARE_MIN {
            self.spare_wanted += 1;
            self.spare_size = self.spare_size.max(len);
            self.spare.pop()
        } else {
            self.spare_small.pop()
        };
        match spare {
            Some(mut b) => {
                // Made for shorter bodies: grown here, once.
                b.reserve(len);
                b
            }
            None => Vec::with_capacity(len),
        }
    }

    /// On the consumer's thread, once replayed: the buffers the sink is
    /// done with, to be filled again ([`StreamSink::give_back`]), and new
    /// ones for the large bodies the batch had that did not come back.
    /// Given back, the buffers make the round trip instead of being freed
    /// on the other thread (where mimalloc queues them for their own
    /// thread to collect, and gives emptied pages back to the system to
    /// be faulted in again: a fifth of the time on 256-byte records,
    /// perf). How many the sink gave back.
    fn restock<S: StreamSink + ?Sized>(&mut self, sink: &mut S) -> u64 {
        let mut spent = std::mem::take(&mut self.spare_spent);
        sink.give_back(&mut spent);
        let given_back = spent.len() as u64;
        let mut large_bytes: usize = self.spare.iter().map(Vec::capacity).sum();
        for mut b in spent.drain(..) {
            b.clear();
            let capacity = b.capacity();
            if capacity < SPARE_MIN {
                if self.spare_small.len() < SPARE_SMALL_MAX {
                    self.spare_small.push(b);
                }
            } else if large_bytes + capacity <= SPARE_BYTES {
                large_bytes += capacity;
                self.spare.push(b);
            }
        }
        self.spare_spent = spent;
        // As many as the batch had large bodies, with those that came back.
        let n = self
            .spare_wanted
            .saturating_sub(self.spare.len())
            .min(SPARE_MAX);
        let size = self.spare_size.min(SPARE_CAPACITY);
        self.spare.extend((0..n).map(|_| Vec::with_capacity(size)));
        self.spare_wanted = 0;
        self.spare_size = 0;
        given_back
    }

    /// Finishes the records opened ahead (their MACs side by side) and
    /// puts each that opened with its record; how many did, those
    /// finished at once included.
    fn finish_pending(&mut self) -> u64 {
        let settled = std::mem::take(&mut self.opened);
        if self.pending.is_empty() {
            return settled;
        }
        let pending = std::mem::take(&mut self.pending);
        settled + self.put_opened(finish_chunk(pending))
    }

    /// [`finish_pending`](Self::finish_pending), the work shared with the
    /// reader through `share` while it waits.
    fn finish_pending_shared(&mut self, share: &ShareFinish) {
        let pending = std::mem::take(&mut self.pending);
        self.put_opened(share.finish(pending));
    }

    /// Puts each record opened ahead with its record (by index); how many
    /// opened.
    fn put_opened(&mut self, opened: Vec<(usize, Option<Box<OpenedAhead>>)>) -> u64 {
        let mut count = 0;
        for (i, opened) in opened {
            count += u64::from(opened.is_some());
            if let Batched::Record { record, .. } = &mut self.events[i] {
                record.ahead = opened;
            }
        }
        count
    }

    /// On the consumer's thread, before the batch is replayed: opens the
    /// records the reader did not, with the protection each direction has
    /// in force now ([`StreamSink::protection_now`]), their MACs side by
    /// side. A direction's records are opened in order from the first,
    /// stepping over those the reader opened (its progress taken over),
    /// up to a ChangeCipherSpec (new keys) or anything but whole records.
    /// The consumer takes each result as it takes the reader's: only
    /// where its own protection stands at the same progress.
    fn open_here<S: StreamSink + ?Sized>(&mut self, sink: &S, share: &ShareFinish) {
        let mut dirs: HashMap<(FlowId, Direction), Option<RecordProtection>, Hasher> =
            HashMap::default();
        for (i, e) in self.events.iter().enumerate() {
            let (flow, dir, record) = match e {
                Batched::Record {
                    flow, dir, record, ..
                } => (*flow, *dir, record),
                Batched::Event(
                    StreamEventOf::Data { flow, dir, .. } | StreamEventOf::Gap { flow, dir, .. },
                ) => {
                    dirs.insert((*flow, *dir), None);
                    continue;
                }
                Batched::Event(
                    StreamEventOf::Opened { flow, .. } | StreamEventOf::Closed { flow, .. },
                ) => {
                    for d in [Direction::ClientToServer, Direction::ServerToClient] {
                        dirs.insert((*flow, d), None);
                    }
                    continue;
                }
                Batched::Event(_) => continue,
            };
            let slot = dirs
                .entry((flow, dir))
                .or_insert_with(|| sink.protection_now(flow, dir));
            let header = RecordHeader::parse(&record.header);
            if header.content_type == ContentType::ChangeCipherSpec {
                *slot = self
                    .keyed
                    .iter()
                    .position(|(at, _)| *at == i)
                    .map(|k| self.keyed.swap_remove(k).1);
                continue;
            }
            let Some(p) = slot else {
                continue;
            };
            if let Some(a) = &record.ahead {
                if !p.resume_from(&a.before, &a.after) {
                    *slot = None;
                }
                continue;
            }
            let before = p.progress();
            match p.open_pending(&header, &record.body[..]) {
                Ok(pending) => self.pending.push((
                    i,
                    PendingAhead {
                        before,
                        after: p.progress(),
                        pending,
                    },
                )),
                Err(_) => *slot = None,
            }
        }
        self.finish_pending_shared(share);
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
                    record,
                } => sink.on_record(flow, dir, ts, record),
            };
            if flow.is_break() {
                break;
            }
        }
        self.bytes.clear();
        self.keyed.clear();
        self.record_bytes = 0;
        flow
    }
}

/// Records opened on the consumer's thread whose MAC checks the reader
/// may take while it waits for an empty batch to fill, which it does when
/// the consumer is the busier thread. What the reader cuts and opens is
/// limited by what keys the consumer has published, and on short
/// connections most records are cut before their keys are known, so the
/// consumer would otherwise be left with most of the work while the
/// reader waits.
#[derive(Default)]
struct ShareFinish {
    state: Mutex<ShareState>,
    /// Work was added or finished, or an empty batch went back.
    changed: Condvar,
}

#[derive(Default)]
struct ShareState {
    /// Records to finish, in chunks, by their index in the batch.
    todo: Vec<Vec<(usize, PendingAhead)>>,
    /// Chunks the reader is finishing.
    taken: usize,
    /// What the reader finished.
    done: Vec<(usize, Option<Box<OpenedAhead>>)>,
}

/// Records in a chunk: two passes of the SHA lanes.
const SHARE_CHUNK: usize = 2 * LANES;

/// How long the waiting reader sleeps before it looks for an empty batch
/// again, should a wake-up be missed.
const SHARE_WAIT: Duration = Duration::from_millis(1);

fn finish_chunk(chunk: Vec<(usize, PendingAhead)>) -> Vec<(usize, Option<Box<OpenedAhead>>)> {
    let (at, pending): (Vec<usize>, Vec<PendingAhead>) = chunk.into_iter().unzip();
    at.into_iter().zip(ahead::finish_all(pending)).collect()
}

impl ShareFinish {
    fn lock(&self) -> MutexGuard<'_, ShareState> {
        // A panic while finishing comes back when the threads are joined.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The consumer: finishes `pending`, chunks of it taken by the reader
    /// if it is waiting; each result by the record's index.
    fn finish(
        &self,
        mut pending: Vec<(usize, PendingAhead)>,
    ) -> Vec<(usize, Option<Box<OpenedAhead>>)> {
        if pending.len() <= SHARE_CHUNK {
            return finish_chunk(pending);
        }
        let mut out = Vec::with_capacity(pending.len());
        {
            let mut st = self.lock();
            while !pending.is_empty() {
                let rest = pending.split_off(pending.len().saturating_sub(SHARE_CHUNK));
                st.todo.push(rest);
            }
        }
        self.changed.notify_all();
        loop {
            let chunk = self.lock().todo.pop();
            match chunk {
                Some(c) => out.extend(finish_chunk(c)),
                None => break,
            }
        }
        let mut st = self.lock();
        while st.taken > 0 {
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        out.append(&mut st.done);
        out
    }

    /// The reader, waiting for an empty batch: finishes chunks while
    /// there are any, and sleeps otherwise, until `poll` has the batch
    /// (`Some`). `poll` runs under the lock that [`ShareFinish::wake`]
    /// takes, so a batch given back is never missed.
    fn help_until<T>(&self, mut poll: impl FnMut() -> Option<T>) -> T {
        let mut st = self.lock();
        loop {
            if let Some(t) = poll() {
                return t;
            }
            if let Some(chunk) = st.todo.pop() {
                st.taken += 1;
                drop(st);
                let finished = finish_chunk(chunk);
                st = self.lock();
                st.done.extend(finished);
                st.taken -= 1;
                self.changed.notify_all();
            } else {
                st = match self.changed.wait_timeout(st, SHARE_WAIT) {
                    Ok((st, _)) => st,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
        }
    }

    /// The consumer gave a batch back: the reader may be waiting for it.
    fn wake(&self) {
        drop(self.lock());
        self.changed.notify_all();
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
    /// Bytes of the stream taken in so far.
    taken: u64,
    /// Whole records handed over so far.
    records: u64,
    /// The last [`TAIL`] bytes of the last whole record (whence the CBC
    /// chain of SSL 3.0 and TLS 1.0, for [`Opener::open`]).
    tail: Vec<u8>,
    /// The first record so far, header included, while an opener reads
    /// the hellos ([`Opener::first_record`]).
    first: Vec<u8>,
}

/// What the reader may do with a whole record besides handing it over.
struct OpenAhead<'a> {
    opener: &'a mut Opener,
    lag: Lag,
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
        mut ahead: Option<OpenAhead<'_>>,
    ) {
        let chunk_start = self.taken;
        let chunk_len = data.len();
        self.taken += chunk_len as u64;
        while !data.is_empty() {
            match self.mode {
                CutMode::Through => {
                    batch.push_data(flow, dir, ts, data);
                    return;
                }
                CutMode::First => {
                    let n = self.follow_first(data);
                    if let Some(a) = ahead.as_mut().filter(|a| a.opener.reads_hellos()) {
                        self.first.extend_from_slice(&data[..n]);
                        if self.mode == CutMode::Records {
                            a.opener.first_record(flow, dir, &self.first);
                        }
                        if self.mode != CutMode::First {
                            self.first = Vec::new();
                        }
                    }
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
                        self.body = batch.body_buffer(self.remaining);
                    }
                    let n = self.remaining.min(data.len());
                    self.body.extend_from_slice(&data[..n]);
                    self.remaining -= n;
                    data = &data[n..];
                    self.ts = ts;
                    if self.remaining == 0 {
                        self.header_len = 0;
                        let body = std::mem::take(&mut self.body);
                        let end = chunk_start + (chunk_len - data.len()) as u64;
                        let at = RecordAt {
                            index: self.records,
                            offset: end - 5 - body.len() as u64,
                        };
                        let pending = ahead.as_mut().and_then(|a| {
                            // The plaintext too in a buffer the consumer made.
                            let room = || batch.body_buffer(body.len());
                            let (h, tail) = (&self.header, &self.tail);
                            let pending = a.opener.open(flow, dir, at, h, &body, tail, a.lag, room);
                            if let Some(p) = a.opener.take_keyed() {
                                // This record, a ChangeCipherSpec, goes next.
                                batch.keyed.push((batch.events.len(), p));
                            }
                            pending
                        });
                        self.records += 1;
                        if ahead.is_some() {
                            self.tail.clear();
                            self.tail
                                .extend_from_slice(&body[body.len().saturating_sub(TAIL)..]);
                        }
                        batch.record_bytes += body.len();
                        let mut opened = None;
                        if let Some(p) = pending {
                            // Its plaintext, about as long.
                            batch.record_bytes += body.len();
                            if p.is_settled() {
                                opened = p.finish();
                                batch.opened += u64::from(opened.is_some());
                            } else {
                                batch.pending.push((batch.events.len(), p));
                            }
                        }
                        batch.events.push(Batched::Record {
                            flow,
                            dir,
                            ts,
                            record: WholeRecord {
                                header: self.header,
                                body,
                                index: at.index,
                                offset: at.offset,
                                ahead: opened,
                            },
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
    /// Opens records ahead, when the consumer publishes seeds.
    opener: Option<Opener>,
    /// Batches sent and not yet taken by the consumer.
    queued: Arc<AtomicUsize>,
    /// Work the reader takes while it waits for an empty batch.
    share: Option<Arc<ShareFinish>>,
    /// Records it opened ahead.
    opened: u64,
}

fn index_of(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

impl Batcher {
    fn new(
        full: SyncSender<Batch>,
        empty: Receiver<Batch>,
        opener: Option<Opener>,
        queued: Arc<AtomicUsize>,
        share: Option<Arc<ShareFinish>>,
    ) -> Self {
        Self {
            current: Batch::default(),
            full,
            empty,
            made: 1,
            cutters: HashMap::default(),
            opener,
            queued,
            share,
            opened: 0,
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
            Err(_) => match self.wait_for_empty() {
                Some(b) => b,
                None => return ControlFlow::Break(()),
            },
        };
        self.opened += self.current.finish_pending();
        let full = std::mem::replace(&mut self.current, next);
        self.queued.fetch_add(1, Ordering::Relaxed);
        match self.full.send(full) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }

    /// The next batch given back, helping the consumer meanwhile where it
    /// can; `None` once the consumer is gone.
    fn wait_for_empty(&mut self) -> Option<Batch> {
        let Some(share) = &self.share else {
            return self.empty.recv().ok();
        };
        share.help_until(|| match self.empty.try_recv() {
            Ok(b) => Some(Some(b)),
            Err(TryRecvError::Disconnected) => Some(None),
            Err(TryRecvError::Empty) => None,
        })
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
    fn finish(&mut self) -> ControlFlow<()> {
        let mut open: Vec<FlowId> = self.cutters.keys().copied().collect();
        open.sort_unstable();
        for flow in open {
            self.flush(flow, None);
        }
        if self.current.events.is_empty() {
            ControlFlow::Continue(())
        } else {
            self.opened += self.current.finish_pending();
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
                let queued = self.queued.load(Ordering::Relaxed);
                let ahead = self.opener.as_mut().map(|opener| OpenAhead {
                    lag: if opener.is_eager() {
                        Lag::Behind
                    } else {
                        Lag::of(queued)
                    },
                    opener,
                });
                let cutter = &mut self.cutters.entry(flow).or_default()[index_of(dir)];
                cutter.take(&mut self.current, flow, dir, ts, bytes, ahead);
            }
            StreamEvent::Gap { flow, dir, .. } => {
                self.flush(flow, Some(dir));
                // Where records begin after the hole is not known.
                self.cutters.entry(flow).or_default()[index_of(dir)].mode = CutMode::Through;
                if let Some(o) = &mut self.opener {
                    o.forget_dir(flow, dir);
                }
                self.current.push(event);
            }
            StreamEvent::Closed { flow, .. } => {
                self.flush(flow, None);
                self.cutters.remove(&flow);
                if let Some(o) = &mut self.opener {
                    o.forget(flow);
                }
                self.current.push(event);
            }
            StreamEvent::Opened { flow, .. } => {
                // A flow ID may be used again once its connection closed.
                self.cutters.insert(flow, Default::default());
                if let Some(o) = &mut self.opener {
                    o.forget(flow);
                }
                self.current.push(event);
            }
            StreamEvent::KeyLog { text } => {
                if let Some(o) = &mut self.opener {
                    o.add_key_log(text);
                }
                self.current.push(event);
            }
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
    ahead: Option<AheadLink>,
) -> Result<CaptureStats, CaptureError> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT - 1);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let queued = Arc::new(AtomicUsize::new(0));
    let queued_here = Arc::clone(&queued);
    // Records are opened ahead, here too, where the consumer links keys.
    let opening = ahead.as_ref().is_some_and(AheadLink::consumer_opens);
    let share = Arc::new(ShareFinish::default());
    let share_there = opening.then(|| Arc::clone(&share));
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("capture-reader".into())
            .spawn_scoped(scope, move || {
                let opener = ahead.map(Opener::new);
                let mut batcher = Batcher::new(full_tx, empty_rx, opener, queued, share_there);
                let mut result = run_capture(input, options, &mut batcher);
                let flow = batcher.finish();
                if let Ok(stats) = &mut result {
                    stats.stopped |= flow.is_break();
                    stats.opened_by_reader = batcher.opened;
                }
                result
            });
        let reader = match spawned {
            Ok(r) => r,
            Err(e) => return Err(CaptureError::Io(e)),
        };
        let mut stopped = false;
        let mut given_back = 0;
        for mut batch in full_rx.iter() {
            queued_here.fetch_sub(1, Ordering::Relaxed);
            if opening {
                batch.open_here(sink, &share);
            }
            if batch.replay(sink).is_break() {
                stopped = true;
                break;
            }
            // The reader may be done and gone: nothing to return it to.
            given_back += batch.restock(sink);
            let _ = empty_tx.send(batch);
            share.wake();
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
            stats.buffers_given_back = given_back;
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

    /// The consumer's MAC checks shared with a waiting reader: every
    /// record finished once, as it opens alone, whoever took its chunk;
    /// and the waiting reader returns as soon as its batch is back.
    #[test]
    fn shared_finishing_finishes_every_record_once() {
        use crate::wire::ProtocolVersion;
        use rand::SeedableRng;
        let suite = crate::wire::suites::lookup(0x002f).unwrap();
        let v = ProtocolVersion::TLSv1_2;
        let make = || RecordProtection::new(v, suite, &[1; 20], &[2; 16], &[], false).unwrap();
        let (mut tx, mut rx) = (make(), make());
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let share = ShareFinish::default();
        let back = AtomicUsize::new(0);
        for round in 0..20 {
            let mut pending = Vec::new();
            for i in 0..37 {
                let data = vec![(round * 37 + i) as u8; 1000 + i];
                let r = tx
                    .seal(ContentType::ApplicationData, v, &data, &mut rng)
                    .unwrap();
                let header = RecordHeader::parse(r[..5].try_into().unwrap());
                let before = rx.progress();
                let p = rx.open_pending(&header, &r[5..]).unwrap();
                let after = rx.progress();
                pending.push((
                    i,
                    PendingAhead {
                        before,
                        after,
                        pending: p,
                    },
                ));
            }
            let (mut done, helped) = std::thread::scope(|scope| {
                let reader = scope.spawn(|| {
                    share.help_until(|| (back.load(Ordering::Acquire) > round).then_some(()))
                });
                let done = share.finish(pending);
                back.fetch_add(1, Ordering::Release);
                share.wake();
                (done, reader.join())
            });
            assert!(helped.is_ok());
            done.sort_by_key(|(i, _)| *i);
            assert_eq!(done.len(), 37);
            for (k, (i, opened)) in done.into_iter().enumerate() {
                assert_eq!(i, k);
                let opened = opened.expect("opened").opened.plaintext;
                assert_eq!(opened, vec![(round * 37 + i) as u8; 1000 + i]);
            }
            let st = share.lock();
            assert!(st.todo.is_empty() && st.done.is_empty() && st.taken == 0);
        }
        // Chunks the reader finished come back with the consumer's next
        // results (done here on one thread, so that it surely happens).
        let mut pending = Vec::new();
        for i in 0..3 * SHARE_CHUNK + 20 {
            let r = tx
                .seal(ContentType::ApplicationData, v, &[i as u8; 300], &mut rng)
                .unwrap();
            let header = RecordHeader::parse(r[..5].try_into().unwrap());
            let before = rx.progress();
            let p = rx.open_pending(&header, &r[5..]).unwrap();
            pending.push((
                i,
                PendingAhead {
                    before,
                    after: rx.progress(),
                    pending: p,
                },
            ));
        }
        let consumers = pending.split_off(3 * SHARE_CHUNK);
        while !pending.is_empty() {
            let chunk = pending.split_off(pending.len() - SHARE_CHUNK);
            share.lock().todo.push(chunk);
        }
        let mut polls = 0;
        share.help_until(|| {
            polls += 1;
            (polls > 3).then_some(())
        });
        assert_eq!(share.lock().done.len(), 3 * SHARE_CHUNK);
        let mut done = share.finish(consumers);
        done.sort_by_key(|(i, _)| *i);
        let plaintexts: Vec<u8> = done
            .into_iter()
            .map(|(_, o)| o.expect("opened").opened.plaintext[0])
            .collect();
        assert_eq!(
            plaintexts,
            (0..3 * SHARE_CHUNK as u8 + 20).collect::<Vec<u8>>()
        );
    }

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
            run_capture_threaded(capture, &options, &mut sink, None)
        } else {
            run_capture(capture, &options, &mut sink)
        }
        .expect("a capture");
        (seen, stats.stopped)
    }

    /// Connections in [`big_capture`].
    const BIG_CONNECTIONS: u16 = 150;

    /// Many connections with many segments each: several batches.
    fn big_capture() -> Vec<u8> {
        let mut w = PcapWriter::ethernet(Vec::new()).unwrap();
        for i in 0..BIG_CONNECTIONS {
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
            record: WholeRecord,
        ) -> ControlFlow<()> {
            let WholeRecord { header, body, .. } = record;
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
        let stats = run_capture_threaded(&capture[..], &options, &mut threaded, None).unwrap();
        assert!(!stats.stopped);
        assert_eq!(plain.records, 0);
        // BIG_CONNECTIONS connections, each with 60 one-record server flights, the
        // first of which goes through as it came.
        assert_eq!(threaded.records, usize::from(BIG_CONNECTIONS) * 59);
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
        let mut b = Batcher::new(full_tx, empty_rx, None, Arc::default(), None);
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

    /// The buffers a sink gives back hold the bodies of later records:
    /// short bodies in short buffers and long ones in long, as many as
    /// the batches carry.
    #[test]
    fn bodies_go_into_the_buffers_given_back() {
        // Capacities no body gets otherwise (bodies get their length).
        const SHORT: usize = 1000;
        const LONG: usize = 1500;
        const RECORDS: u32 = 24_000;
        #[derive(Default)]
        struct Giver {
            records: u64,
            /// Bodies by length class (short, long), and of those, how
            /// many came in a buffer given back.
            bodies: [u64; 2],
            in_given: [u64; 2],
            spent: Vec<Vec<u8>>,
        }
        impl StreamSink for Giver {
            fn on_event(&mut self, _: StreamEvent<'_>) -> ControlFlow<()> {
                ControlFlow::Continue(())
            }
            fn on_record(
                &mut self,
                _: FlowId,
                _: Direction,
                _: Timestamp,
                record: WholeRecord,
            ) -> ControlFlow<()> {
                self.records += 1;
                let class = usize::from(record.body.len() >= SPARE_MIN);
                self.bodies[class] += 1;
                let given = [SHORT, LONG][class];
                self.in_given[class] += u64::from(record.body.capacity() == given);
                self.spent.push(Vec::with_capacity(given));
                ControlFlow::Continue(())
            }
            fn give_back(&mut self, spent: &mut Vec<Vec<u8>>) {
                spent.append(&mut self.spent);
            }
        }
        let mut w = PcapWriter::ethernet(Vec::new()).unwrap();
        let mut c = TcpConversation::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:443".parse().unwrap(),
        );
        w.write_segments(&c.handshake()).unwrap();
        w.write_segments(&c.send(Direction::ClientToServer, &sample_client_hello()))
            .unwrap();
        // Records of 300 and of 1100 bytes, in turns: 36 batches, of
        // which the first 8 (BATCHES_IN_FLIGHT) are filled before any
        // buffer comes back.
        for i in 0..RECORDS {
            let len: u16 = if i % 2 == 0 { 300 } else { 1100 };
            let mut record = vec![23, 3, 3];
            record.extend(len.to_be_bytes());
            record.resize(5 + usize::from(len), i as u8);
            w.write_segments(&c.send(Direction::ServerToClient, &record))
                .unwrap();
        }
        w.write_segments(&c.close()).unwrap();
        let capture = w.into_inner();
        let mut giver = Giver::default();
        let stats =
            run_capture_threaded(&capture[..], &CaptureOptions::default(), &mut giver, None)
                .unwrap();
        // The stream's first record goes through as it came.
        let records = u64::from(RECORDS) - 1;
        assert_eq!(giver.records, records);
        assert_eq!(stats.buffers_given_back, records);
        assert_eq!(giver.bodies, [records / 2, records / 2 + 1]);
        // Two thirds of each class (three quarters came in them here).
        for class in 0..2 {
            assert!(
                giver.in_given[class] > records / 3,
                "{:?} of {:?} in buffers given back",
                giver.in_given,
                giver.bodies
            );
        }
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
        let r = run_capture_threaded(&b"not a capture at all"[..], &options, &mut sink, None);
        assert!(matches!(r, Err(CaptureError::NotACapture { .. })), "{r:?}");
        let capture = big_capture();
        let cut = &capture[..capture.len() - 5];
        let stats = run_capture_threaded(cut, &options, &mut sink, None).unwrap();
        assert!(stats.incomplete.is_some());
    }
}
