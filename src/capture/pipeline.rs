//! [`run_capture`](super::run_capture) on two threads: one reads the
//! capture, decodes packets and reassembles TCP; the caller's thread gets
//! the stream events, in the same order, and does the TLS work (records,
//! decryption, rendering). The two halves cost about the same on a big
//! capture, so the wall time nearly halves on a machine with two cores.
//!
//! The events cross in batches: stream bytes copied into one buffer per
//! batch, events naming ranges of it. At most [`BATCHES_IN_FLIGHT`] batches
//! exist, and used ones go back to the reader to be filled again, so memory
//! stays flat whatever the capture's size.

use std::io::Read;
use std::ops::{ControlFlow, Range};
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::reassembly::{StreamEvent, StreamEventOf, StreamSink};
use super::{run_capture, CaptureError, CaptureOptions, CaptureStats};

/// Stream bytes gathered before a batch is handed over: big enough that
/// the hand-over costs nothing next to the work, small enough to stay in
/// cache.
const BATCH_BYTES: usize = 256 * 1024;
/// Events gathered before a batch is handed over (many tiny segments).
const BATCH_EVENTS: usize = 4096;
/// Batches in existence at once: one being filled, the rest queued or
/// being consumed.
const BATCHES_IN_FLIGHT: usize = 4;

/// A [`StreamEvent`] whose bytes live in its batch's buffer.
type BatchedEvent = StreamEventOf<Range<usize>>;

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    events: Vec<BatchedEvent>,
}

impl Batch {
    fn push(&mut self, event: StreamEvent<'_>) {
        let bytes = &mut self.bytes;
        let batched = event.map_bytes(|b| {
            let start = bytes.len();
            bytes.extend_from_slice(b);
            start..bytes.len()
        });
        self.events.push(batched);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.events.len() >= BATCH_EVENTS
    }

    /// Gives every event to `sink`, in order; stops where the sink does.
    fn replay<S: StreamSink + ?Sized>(&self, sink: &mut S) -> ControlFlow<()> {
        for e in &self.events {
            sink.on_event(e.clone().map_bytes(|r| &self.bytes[r]))?;
        }
        ControlFlow::Continue(())
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.events.clear();
    }
}

/// The reader thread's sink: fills batches and sends them on.
struct Batcher {
    current: Batch,
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    made: usize,
}

impl Batcher {
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
}

impl StreamSink for Batcher {
    fn on_event(&mut self, event: StreamEvent<'_>) -> ControlFlow<()> {
        self.current.push(event);
        if self.current.is_full() {
            self.send()
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Like [`run_capture`], with the reading, packet decoding and reassembly
/// on a thread of its own; `sink` gets the same events in the same order
/// on the caller's thread.
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
                let mut batcher = Batcher {
                    current: Batch::default(),
                    full: full_tx,
                    empty: empty_rx,
                    made: 1,
                };
                let mut result = run_capture(input, options, &mut batcher);
                let last = std::mem::take(&mut batcher.current);
                if !last.events.is_empty() && batcher.full.send(last).is_err() {
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
            batch.clear();
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

    #[test]
    fn the_same_events_in_the_same_order() {
        let capture = big_capture();
        let (plain, _) = events(false, &capture, None);
        let (threaded, stopped) = events(true, &capture, None);
        assert!(
            capture.len() > 2 * BATCH_BYTES,
            "{} bytes: not several batches",
            capture.len()
        );
        assert!(!stopped);
        assert_eq!(plain, threaded);
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
