//! Records opened ahead: the reading thread of [`super::pipeline`] opens
//! some protected records itself, so that decryption and MAC checks are
//! shared by both threads when the consumer's is the busier one.
//!
//! The consumer (the observer) is the only one that knows keys: it learns
//! them from the handshake it follows. When it has opened a record with a
//! [`RecordProtection`], it may [publish](AheadLink::publish) a clone of it
//! as a [`Seed`]: the protection, and the index and stream offset of the
//! direction's next record. The reader, which is ahead of the consumer by
//! a few batches, takes the seed, brings the clone forward over the records
//! it cut since (the sequence number counts them; the CBC chain of SSL 3.0
//! and TLS 1.0 is the last block of the record before; RC4 skips as many
//! keystream bytes as went by) and opens later records with it while the
//! consumer is behind. Each record it opens goes over with an
//! [`OpenedAhead`]: the clone's [`Progress`] before and after, and what it
//! opened.
//!
//! Why the consumer can take this over unchecked: opening is a function
//! of the protection's progress (keys included) and the record alone. The
//! consumer takes an [`OpenedAhead`] only for the record it came with
//! (same stream offset and header) and only when its own protection
//! [is at](RecordProtection::is_at) the `before` progress; it then
//! [resumes](RecordProtection::resume) at `after`, exactly where opening
//! the record itself would have left it. Anything else (a guess of the
//! reader's that was wrong, a renegotiation, a record that does not open)
//! is opened by the consumer as if nothing had been done ahead.
//!
//! How much the reader does: a record is opened ahead only while at least
//! [`BEHIND`] batches wait for the consumer, so the work settles where both
//! threads are busy. An RC4 direction cannot be shared record by record
//! (each record's keystream follows the one before), so the reader takes
//! it over whole from the first record it opens.
//!
//! MACs a batch at a time: the reader opens records [pending their MAC
//! check](RecordProtection::open_pending) and checks the MACs of a whole
//! batch side by side ([`finish_all`], four records per SHA unit pass)
//! before it sends the batch. The consumer's thread does the same for the
//! records the reader left (the pipeline's pre-pass, with the protections
//! the consumer has in force when the batch comes, see
//! `StreamSink::protection_now`): what it opens goes through the same
//! [`OpenedAhead`] and the same check. The reader's share is limited by
//! its seeds: on short connections, most records are cut before the
//! consumer has even seen the handshake that keys them.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::reassembly::{FlowId, FxHasher};
use crate::event::Direction;
use crate::record::protection::{self, Opened, PendingOpen, Progress, RecordProtection};
use crate::wire::{ContentType, RecordHeader};

/// Bytes of the end of each record the reader keeps for the next: the CBC
/// chain of SSL 3.0 and TLS 1.0 is a block of up to 16 bytes, followed
/// under encrypt-then-MAC by a MAC of up to 48.
pub const TAIL: usize = 64;

/// Batches waiting for the consumer from which the reader opens records
/// ahead (of at most seven that can wait).
pub const BEHIND: usize = 3;

/// A protection the consumer has in force on one direction, for the
/// reader to open that direction's later records with.
pub struct Seed {
    pub flow: FlowId,
    pub dir: Direction,
    /// The direction's next whole record ([`super::WholeRecord::index`])
    /// and its stream offset: where `protection` stands.
    pub next: RecordAt,
    pub protection: RecordProtection,
}

/// A record the reader opened: what it found, and the progress of its
/// protection before and after.
#[derive(Debug)]
pub struct OpenedAhead {
    pub before: Progress,
    pub after: Progress,
    pub opened: Opened,
}

/// A record the reader opened but for its MAC check, which it does for a
/// batch of records at once ([`finish_all`]).
pub struct PendingAhead {
    pub before: Progress,
    pub after: Progress,
    pub pending: PendingOpen,
}

/// Finishes records opened ahead, their MACs computed side by side
/// ([`protection::finish_all`]): each one that opened, in order. One that
/// did not is left to the consumer, which opens it and says why; the
/// reader's clone moved on over it as the consumer's protection will, so
/// the records after it still go over.
pub fn finish_all(pending: Vec<PendingAhead>) -> Vec<Option<Box<OpenedAhead>>> {
    let mut progress = Vec::with_capacity(pending.len());
    let records = pending
        .into_iter()
        .map(|p| {
            progress.push((p.before, p.after));
            p.pending
        })
        .collect();
    protection::finish_all(records)
        .into_iter()
        .zip(progress)
        .map(|(result, (before, after))| {
            result.ok().map(|opened| {
                Box::new(OpenedAhead {
                    before,
                    after,
                    opened,
                })
            })
        })
        .collect()
}

#[derive(Default)]
struct Shared {
    seeds: Mutex<Vec<Seed>>,
    /// Seeds are waiting: the reader looks at the lock only then.
    waiting: AtomicBool,
    /// Open ahead whenever a seed allows, however busy the consumer.
    eager: bool,
    /// Which thread opens records ahead.
    who: WhoOpens,
}

/// Which of the pipeline's threads open records before the consumer's
/// observer reaches them: both, as decode runs; or one alone, for tests
/// that check one way without the other taking its records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhoOpens {
    #[default]
    Both,
    /// Only the reader, as it cuts records.
    Reader,
    /// Only the consumer's thread, a batch at a time.
    Consumer,
}

/// The way seeds go from the consumer to the reader; cloned for each side.
#[derive(Clone, Default)]
pub struct AheadLink {
    shared: Arc<Shared>,
}

impl AheadLink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A link whose reader opens every record it can, whatever the
    /// consumer's load: for tests, where the record-by-record sharing
    /// would otherwise depend on timing.
    pub fn eager() -> Self {
        Self::eager_by(WhoOpens::Both)
    }

    /// [`eager`](Self::eager), records opened ahead by `who` alone.
    pub fn eager_by(who: WhoOpens) -> Self {
        Self {
            shared: Arc::new(Shared {
                eager: true,
                who,
                ..Shared::default()
            }),
        }
    }

    /// Whether the consumer's thread opens records a batch at a time.
    pub fn consumer_opens(&self) -> bool {
        self.shared.who != WhoOpens::Reader
    }

    /// Hands `seed` to the reader (which may not use it).
    pub fn publish(&self, seed: Seed) {
        // A poisoned lock means the reader panicked; the panic comes back
        // to the caller when the thread is joined.
        if let Ok(mut seeds) = self.shared.seeds.lock() {
            seeds.push(seed);
            self.shared.waiting.store(true, Ordering::Release);
        }
    }

    fn take(&self) -> Vec<Seed> {
        // A load first: this runs for every record, seeds come seldom.
        if !self.shared.waiting.load(Ordering::Relaxed)
            || !self.shared.waiting.swap(false, Ordering::Acquire)
        {
            return Vec::new();
        }
        match self.shared.seeds.lock() {
            Ok(mut seeds) => std::mem::take(&mut *seeds),
            Err(_) => Vec::new(),
        }
    }
}

/// Where a record is in its direction, for [`Opener::open`].
#[derive(Clone, Copy, Debug)]
pub struct RecordAt {
    pub index: u64,
    pub offset: u64,
}

/// A direction the reader has a protection for.
struct Joined {
    protection: RecordProtection,
    /// The record the protection stands ready for.
    next: RecordAt,
    /// RC4: the reader opens every record of this direction from here on.
    taken_over: bool,
}

/// The reader's side: the seeds it took, one per direction.
pub struct Opener {
    link: AheadLink,
    dirs: HashMap<(FlowId, bool), Joined, BuildHasherDefault<FxHasher>>,
}

impl Opener {
    pub fn new(link: AheadLink) -> Self {
        Self {
            link,
            dirs: HashMap::default(),
        }
    }

    /// Whether to open every record it can ([`AheadLink::eager`]).
    pub fn is_eager(&self) -> bool {
        self.link.shared.eager
    }

    /// Forgets what it had for `flow` (closed, or its ID to be used again).
    pub fn forget(&mut self, flow: FlowId) {
        self.dirs.remove(&(flow, true));
        self.dirs.remove(&(flow, false));
    }

    /// Stops opening `dir` of `flow` (its records are no longer cut).
    pub fn forget_dir(&mut self, flow: FlowId, dir: Direction) {
        self.dirs.remove(&key(flow, dir));
    }

    /// A whole record cut at `at` on `dir` of `flow`; `last_tail`, the
    /// last bytes of the record cut before it on that direction (at least
    /// [`TAIL`] of them, where it had so many). Opens it, but for its MAC
    /// check ([`finish_all`]), when a seed allows and `behind` (the
    /// consumer is the busier thread), or when the direction was taken
    /// over. `room` gives the buffer for the plaintext when it does.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        flow: FlowId,
        dir: Direction,
        at: RecordAt,
        header: &[u8; 5],
        body: &[u8],
        last_tail: &[u8],
        behind: bool,
        room: impl FnOnce() -> Vec<u8>,
    ) -> Option<PendingAhead> {
        if self.link.shared.who == WhoOpens::Consumer {
            return None;
        }
        for seed in self.link.take() {
            self.dirs.insert(
                key(seed.flow, seed.dir),
                Joined {
                    protection: seed.protection,
                    next: seed.next,
                    taken_over: false,
                },
            );
        }
        let k = key(flow, dir);
        let j = self.dirs.get_mut(&k)?;
        let header = RecordHeader::parse(header);
        if header.content_type == ContentType::ChangeCipherSpec || at.index < j.next.index {
            // New keys from here on (or a seed of an earlier connection
            // with this flow ID).
            self.dirs.remove(&k);
            return None;
        }
        let stream = j.protection.is_stream();
        if !behind && !j.taken_over {
            if stream {
                // Catching up later would cost the keystream of all the
                // records between; the consumer seeds again.
                self.dirs.remove(&k);
            }
            return None;
        }
        let skipped = at.index - j.next.index;
        if skipped > 0 {
            if j.taken_over {
                // A record went by unopened: the keystream is lost.
                self.dirs.remove(&k);
                return None;
            }
            let p = &mut j.protection;
            if let Some(seq) = p.sequence_number() {
                p.set_sequence_number(seq.saturating_add(skipped));
            }
            if p.chain_tail_len().is_some() && !p.set_chain(last_tail) {
                self.dirs.remove(&k);
                return None;
            }
            // Each record between: a header and its fragment.
            let fragments = (at.offset - j.next.offset).saturating_sub(5 * skipped);
            p.skip_keystream(fragments);
        }
        j.taken_over = stream;
        let before = j.protection.progress();
        match j.protection.open_pending_in(&header, body, room()) {
            Ok(pending) => {
                j.next = RecordAt {
                    index: at.index + 1,
                    offset: at.offset + 5 + body.len() as u64,
                };
                Some(PendingAhead {
                    before,
                    after: j.protection.progress(),
                    pending,
                })
            }
            Err(_) => {
                // Not opened at all (the state untouched): the consumer
                // opens it and says why.
                self.dirs.remove(&k);
                None
            }
        }
    }
}

fn key(flow: FlowId, dir: Direction) -> (FlowId, bool) {
    (flow, dir == Direction::ClientToServer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ProtocolVersion;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const TLS12: ProtocolVersion = ProtocolVersion::TLSv1_2;
    const S2C: Direction = Direction::ServerToClient;

    /// A sender's and a receiver's protection of one direction.
    fn pair(code: u16) -> (RecordProtection, RecordProtection) {
        let suite = crate::wire::suites::lookup(code).unwrap();
        let make = || {
            RecordProtection::new(
                TLS12,
                suite,
                &vec![1; suite.mac.key_len()],
                &vec![2; suite.cipher.expanded_key_len()],
                &[],
                false,
            )
            .unwrap()
        };
        (make(), make())
    }

    /// Five sealed application-data records and where each starts.
    fn records(tx: &mut RecordProtection) -> Vec<(RecordAt, Vec<u8>)> {
        let mut rng = StdRng::seed_from_u64(3);
        let mut offset = 0;
        (0..5u64)
            .map(|index| {
                let r = tx
                    .seal(
                        ContentType::ApplicationData,
                        TLS12,
                        &[index as u8; 100],
                        &mut rng,
                    )
                    .unwrap();
                let at = RecordAt { index, offset };
                offset += r.len() as u64;
                (at, r)
            })
            .collect()
    }

    fn open(
        o: &mut Opener,
        (at, r): &(RecordAt, Vec<u8>),
        behind: bool,
    ) -> Option<Box<OpenedAhead>> {
        let header: [u8; 5] = r[..5].try_into().unwrap();
        let pending = o.open(1, S2C, *at, &header, &r[5..], &[], behind, Vec::new)?;
        finish_all(vec![pending]).pop().unwrap()
    }

    fn seed(link: &AheadLink, rx: &RecordProtection) {
        link.publish(Seed {
            flow: 1,
            dir: S2C,
            next: RecordAt {
                index: 0,
                offset: 0,
            },
            protection: rx.clone(),
        });
    }

    /// A block cipher's records are shared one by one: none while the
    /// consumer keeps up, a later one (the sequence number brought
    /// forward) when it is behind, and nothing after a ChangeCipherSpec.
    #[test]
    fn records_are_opened_ahead_only_when_the_consumer_is_behind() {
        let (mut tx, mut rx) = pair(0x002f);
        let rs = records(&mut tx);
        let link = AheadLink::new();
        let mut o = Opener::new(link.clone());
        seed(&link, &rx);
        assert!(open(&mut o, &rs[0], false).is_none());
        let a = open(&mut o, &rs[2], true).expect("opened ahead");
        assert_eq!(a.opened.plaintext, [2; 100]);
        assert_eq!(a.opened.facts.seq, 2);
        for (_, r) in &rs[..2] {
            let h = RecordHeader::parse(r[..5].try_into().unwrap());
            rx.open(&h, &r[5..]).unwrap();
        }
        assert!(rx.is_at(&a.before));
        assert!(rx.resume(a.after));
        let ccs = (rs[3].0, vec![20, 3, 3, 0, 1, 1]);
        assert!(open(&mut o, &ccs, true).is_none());
        assert!(open(&mut o, &rs[4], true).is_none(), "the seed is gone");
    }

    /// An RC4 direction is taken over whole from the first record the
    /// reader opens (its keystream skipped over the records before), or
    /// its seed dropped when the consumer keeps up.
    #[test]
    fn an_rc4_direction_is_taken_over_whole() {
        let (mut tx, rx) = pair(0x0005);
        let rs = records(&mut tx);
        let link = AheadLink::new();
        let mut o = Opener::new(link.clone());
        seed(&link, &rx);
        assert!(open(&mut o, &rs[1], false).is_none());
        assert!(open(&mut o, &rs[2], true).is_none(), "the seed was dropped");
        seed(&link, &rx);
        let a = open(&mut o, &rs[2], true).expect("taken over");
        assert_eq!(a.opened.plaintext, [2; 100]);
        let b = open(&mut o, &rs[3], false).expect("still taken over");
        assert_eq!(b.opened.plaintext, [3; 100]);
        assert_eq!(a.after, b.before);
        // A record that went by unopened loses the keystream.
        assert!(open(&mut o, &rs[4], true).is_some());
        seed(&link, &rx);
        assert!(open(&mut o, &rs[1], true).is_some());
        assert!(open(&mut o, &rs[3], true).is_none());
    }
}
