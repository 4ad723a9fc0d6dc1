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
//! before it sends the batch; a record with no MAC left to check (AEAD,
//! encrypt-then-MAC) is finished at once instead
//! ([`PendingAhead::is_settled`]). The consumer's thread does the same for the
//! records the reader left (the pipeline's pre-pass, with the protections
//! the consumer has in force when the batch comes, see
//! `StreamSink::protection_now`): what it opens goes through the same
//! [`OpenedAhead`] and the same check.
//!
//! Keys the reader finds itself: seeds alone would leave the reader little
//! to do on short connections, whose records are mostly cut before the
//! consumer has even seen the handshake that keys them; and an RC4
//! direction taken over late costs the keystream of every record before.
//! So, given the key log (the one the consumer decrypts with), the reader
//! reads each connection's hellos from its first records and derives the
//! keys of its first ChangeCipherSpec exactly as the observer does
//! ([`keys::key_material`], [`protection::protections_from_keys`]), for
//! the records from there on. The consumer takes those records only where
//! its own protection has the same [keying](RecordProtection::keying)
//! (a fingerprint of the keys) and stands at the same progress, so a key
//! the reader got wrong costs only the work. Later handshakes (encrypted,
//! a renegotiation) and sessions resumed from a master secret the key log
//! lacks are left to the consumer's seeds.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::reassembly::{FlowId, FxHasher};
use crate::crypto::keylog::KeyLog;
use crate::crypto::keys;
use crate::event::Direction;
use crate::record::protection::{self, Opened, PendingOpen, Progress, RecordProtection};
use crate::wire::{
    suites, ClientHello, Codec, ContentType, ExtensionType, HandshakeHeader, HandshakeType,
    ProtocolVersion, RecordHeader, ServerHello,
};

/// Bytes of the end of each record the reader keeps for the next: the CBC
/// chain of SSL 3.0 and TLS 1.0 is a block of up to 16 bytes, followed
/// under encrypt-then-MAC by a MAC of up to 48.
pub const TAIL: usize = 64;

/// Batches waiting for the consumer from which the reader opens records
/// ahead (of at most seven that can wait).
pub const BEHIND: usize = 3;

/// An RC4 direction is taken over late (its keystream run over the
/// records the consumer opens meanwhile) only when that keystream is at
/// most this fraction of the direction so far: the work done twice, set
/// against what the direction may still bring.
const LATE_RC4: u64 = 4;

/// How far behind the reader the consumer is, for [`Opener::open`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lag {
    /// At least [`BEHIND`] batches wait: the consumer is the busier
    /// thread.
    Behind,
    /// Some batches wait, fewer.
    Close,
    /// None wait: the consumer waits for the reader.
    Idle,
}

impl Lag {
    /// The lag with `queued` batches waiting.
    pub fn of(queued: usize) -> Self {
        match queued {
            0 => Self::Idle,
            n if n < BEHIND => Self::Close,
            _ => Self::Behind,
        }
    }
}

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
        .map(|(result, (before, after))| opened_ahead(before, after, result))
        .collect()
}

impl PendingAhead {
    /// Whether nothing is left to check ([`PendingOpen::is_settled`]):
    /// then it is [finished](Self::finish) at once, rather than queued
    /// for [`finish_all`], which would only move it about (at 256-byte
    /// GCM records, those moves took about a twentieth of the reader's
    /// time).
    pub fn is_settled(&self) -> bool {
        self.pending.is_settled()
    }

    /// Finishes this record alone: what [`finish_all`] gives for it.
    pub fn finish(self) -> Option<Box<OpenedAhead>> {
        opened_ahead(self.before, self.after, self.pending.finish())
    }
}

fn opened_ahead(
    before: Progress,
    after: Progress,
    result: Result<Opened, protection::RecordError>,
) -> Option<Box<OpenedAhead>> {
    result.ok().map(|opened| {
        Box::new(OpenedAhead {
            before,
            after,
            opened,
        })
    })
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
    /// The key log the consumer decrypts with, for the reader to key
    /// connections from their hellos.
    keylog: Mutex<Option<KeyLog>>,
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
    /// Only the consumer's thread, a batch at a time (with the keys the
    /// reader found from the hellos, where its own are not made yet).
    Consumer,
    /// Only the reader, with the keys it finds from the hellos alone (no
    /// seeds taken).
    ReaderFromHellos,
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
        matches!(self.shared.who, WhoOpens::Both | WhoOpens::Consumer)
    }

    /// The key log the consumer decrypts with (before the reader starts):
    /// the reader keys connections from their hellos with it too.
    pub fn share_keylog(&self, keylog: &KeyLog) {
        if let Ok(mut k) = self.shared.keylog.lock() {
            *k = (!keylog.is_empty()).then(|| keylog.clone());
        }
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

/// What the reader learnt of a connection's first handshake from its
/// hellos ([`Opener::first_record`]).
#[derive(Default)]
struct Hellos {
    /// The ClientHello's random, and whether it offered encrypt-then-MAC.
    client: Option<([u8; 32], bool)>,
    /// Each direction's protection from its first ChangeCipherSpec on,
    /// client to server first; taken at that ChangeCipherSpec.
    keys: [Option<RecordProtection>; 2],
}

/// The reader's side: the seeds it took, one per direction, and the keys
/// it found itself.
pub struct Opener {
    link: AheadLink,
    dirs: HashMap<(FlowId, bool), Joined, BuildHasherDefault<FxHasher>>,
    /// The consumer's key log, when it has one.
    keylog: Option<KeyLog>,
    hellos: HashMap<FlowId, Hellos, BuildHasherDefault<FxHasher>>,
    /// The protection found from the hellos that the last record (a
    /// ChangeCipherSpec) put in force, for the consumer's thread to open
    /// with too ([`Opener::take_keyed`]).
    keyed: Option<RecordProtection>,
}

impl Opener {
    pub fn new(link: AheadLink) -> Self {
        let keylog = match link.shared.keylog.lock() {
            Ok(k) => k.clone(),
            Err(_) => None,
        };
        Self {
            link,
            dirs: HashMap::default(),
            keylog,
            hellos: HashMap::default(),
            keyed: None,
        }
    }

    /// Whether it keys connections from their hellos: it has a key log.
    pub fn reads_hellos(&self) -> bool {
        self.keylog.is_some()
    }

    /// Key log text found in the capture (a pcapng Decryption Secrets
    /// Block), which the consumer adds to its own.
    pub fn add_key_log(&mut self, text: &[u8]) {
        self.keylog.get_or_insert_with(KeyLog::new).add_text(text);
    }

    /// The first record of `dir` of `flow`, header included. When it
    /// begins with a whole ClientHello, or a whole ServerHello that
    /// completes one, the keys of the connection's first ChangeCipherSpec
    /// are derived from them and the key log's master secret, as the
    /// observer derives them (`observer::derive_keys`); anything else is
    /// left to the consumer's seeds.
    pub fn first_record(&mut self, flow: FlowId, dir: Direction, record: &[u8]) {
        let Some(keylog) = &self.keylog else {
            return;
        };
        let Some(message) = first_handshake_message(record) else {
            return;
        };
        match (dir, message.0) {
            (Direction::ClientToServer, HandshakeType::ClientHello) => {
                let Ok(ch) = ClientHello::from_bytes(message.1, "ClientHello") else {
                    return;
                };
                let etm = ch.extension(ExtensionType::EncryptThenMac).is_some();
                self.hellos.insert(
                    flow,
                    Hellos {
                        client: Some((ch.random.0, etm)),
                        keys: [None, None],
                    },
                );
            }
            (Direction::ServerToClient, HandshakeType::ServerHello) => {
                let Some(hellos) = self.hellos.get_mut(&flow) else {
                    return;
                };
                let Some((client_random, client_etm)) = hellos.client else {
                    return;
                };
                let Ok(sh) = ServerHello::from_bytes(message.1, "ServerHello") else {
                    return;
                };
                if let Some((client, server)) =
                    keys_from_hellos(keylog, &client_random, client_etm, &sh)
                {
                    hellos.keys = [Some(client), Some(server)];
                }
            }
            _ => {}
        }
    }

    /// Whether to open every record it can ([`AheadLink::eager`]).
    pub fn is_eager(&self) -> bool {
        self.link.shared.eager
    }

    /// The protection the record just opened (a connection's first
    /// ChangeCipherSpec) put in force, from the hellos, when one did and
    /// the consumer's thread opens such records a batch at a time.
    pub fn take_keyed(&mut self) -> Option<RecordProtection> {
        self.keyed.take()
    }

    /// Forgets what it had for `flow` (closed, or its ID to be used again).
    pub fn forget(&mut self, flow: FlowId) {
        self.dirs.remove(&(flow, true));
        self.dirs.remove(&(flow, false));
        self.hellos.remove(&flow);
    }

    /// Stops opening `dir` of `flow` (its records are no longer cut).
    pub fn forget_dir(&mut self, flow: FlowId, dir: Direction) {
        self.dirs.remove(&key(flow, dir));
        if let Some(h) = self.hellos.get_mut(&flow) {
            h.keys[side(dir)] = None;
        }
    }

    /// A whole record cut at `at` on `dir` of `flow`; `last_tail`, the
    /// last bytes of the record cut before it on that direction (at least
    /// [`TAIL`] of them, where it had so many). Opens it, but for its MAC
    /// check ([`finish_all`]), when a seed allows and the consumer is
    /// [behind](Lag::Behind), or when the direction was taken over and
    /// the consumer is not [idle](Lag::Idle). `room` gives the buffer for
    /// the plaintext when it does.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &mut self,
        flow: FlowId,
        dir: Direction,
        at: RecordAt,
        header: &[u8; 5],
        body: &[u8],
        last_tail: &[u8],
        lag: Lag,
        room: impl FnOnce() -> Vec<u8>,
    ) -> Option<PendingAhead> {
        let seeds = match self.link.shared.who {
            WhoOpens::ReaderFromHellos | WhoOpens::Consumer => Vec::new(),
            _ => self.link.take(),
        };
        for seed in seeds {
            let k = key(seed.flow, seed.dir);
            if self.dirs.get(&k).is_some_and(|j| {
                j.protection.keying() == seed.protection.keying() && j.next.index >= seed.next.index
            }) {
                // Already this far or further with the same keys (found
                // from the hellos, or an RC4 direction taken over).
                continue;
            }
            self.dirs.insert(
                k,
                Joined {
                    protection: seed.protection,
                    next: seed.next,
                    taken_over: false,
                },
            );
        }
        let k = key(flow, dir);
        let header = RecordHeader::parse(header);
        if header.content_type == ContentType::ChangeCipherSpec {
            // New keys from here on: those found from the hellos, at the
            // first; the consumer's seeds after any later one.
            self.dirs.remove(&k);
            let found = self
                .hellos
                .get_mut(&flow)
                .and_then(|h| h.keys[side(dir)].take());
            if let Some(protection) = found {
                if protection.finishes_faster_together() {
                    self.keyed = Some(protection.clone());
                }
                let next = RecordAt {
                    index: at.index + 1,
                    offset: at.offset + 5 + body.len() as u64,
                };
                if self.link.shared.who != WhoOpens::Consumer {
                    let joined = Joined {
                        protection,
                        next,
                        taken_over: false,
                    };
                    self.dirs.insert(k, joined);
                }
            }
            return None;
        }
        let j = self.dirs.get_mut(&k)?;
        if at.index < j.next.index {
            // A seed of an earlier connection with this flow ID.
            self.dirs.remove(&k);
            return None;
        }
        let stream = j.protection.is_stream();
        let give_back = if j.taken_over {
            // Handed back (the consumer follows on from the last record
            // opened here, whose progress it takes over) once the
            // consumer waits for the reader.
            lag == Lag::Idle
        } else {
            // Catching an RC4 direction up later would cost the
            // keystream of all the records between: the consumer seeds
            // again, and the reader takes it over if the direction has
            // gone on long enough to be worth it.
            lag != Lag::Behind
        };
        if give_back {
            if stream {
                self.dirs.remove(&k);
            }
            return None;
        }
        let skipped = at.index - j.next.index;
        if skipped > 0 {
            // Each record between: a header and its fragment.
            let fragments = (at.offset - j.next.offset).saturating_sub(5 * skipped);
            if j.taken_over || (stream && fragments.saturating_mul(LATE_RC4) > at.offset) {
                // A record went by unopened (the keystream is lost), or
                // too much keystream to make up for what the direction
                // has shown so far.
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

/// `dir`'s place in [`Hellos::keys`]: client to server first.
fn side(dir: Direction) -> usize {
    usize::from(dir == Direction::ServerToClient)
}

/// The type and body of the handshake message that begins `record`
/// (header included), when the record is a handshake record holding it
/// whole.
fn first_handshake_message(record: &[u8]) -> Option<(HandshakeType, &[u8])> {
    let header = RecordHeader::parse(record.get(..5)?.try_into().ok()?);
    let body = record.get(5..5 + usize::from(header.length))?;
    if header.content_type != ContentType::Handshake {
        return None;
    }
    let hh = HandshakeHeader::parse(body.get(..HandshakeHeader::LEN)?.try_into().ok()?);
    let message = body.get(HandshakeHeader::LEN..HandshakeHeader::LEN + hh.length as usize)?;
    Some((hh.typ, message))
}

/// Both directions' protection (client to server first) of a full or
/// resumed handshake of SSL 3.0 to TLS 1.2 whose master secret the key
/// log has, made as the observer makes them from the same facts.
fn keys_from_hellos(
    keylog: &KeyLog,
    client_random: &[u8; 32],
    client_etm: bool,
    sh: &ServerHello,
) -> Option<(RecordProtection, RecordProtection)> {
    let version = sh.negotiated_version();
    if !(ProtocolVersion::SSLv3..=ProtocolVersion::TLSv1_2).contains(&version) {
        return None;
    }
    let suite = suites::lookup(sh.cipher_suite.0)?;
    let master = keylog.master_secret_for(client_random)?;
    let km = keys::key_material(version, suite, master, client_random, &sh.random.0).ok()?;
    let etm = sh.encrypt_then_mac_agreed(client_etm);
    protection::protections_from_keys(version, suite, &km, etm).ok()
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

    /// Ten sealed application-data records and where each starts.
    fn records(tx: &mut RecordProtection) -> Vec<(RecordAt, Vec<u8>)> {
        let mut rng = StdRng::seed_from_u64(3);
        let mut offset = 0;
        (0..10u64)
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

    fn open(o: &mut Opener, (at, r): &(RecordAt, Vec<u8>), lag: Lag) -> Option<Box<OpenedAhead>> {
        let header: [u8; 5] = r[..5].try_into().unwrap();
        let pending = o.open(1, S2C, *at, &header, &r[5..], &[], lag, Vec::new)?;
        finish_all(vec![pending]).pop().unwrap()
    }

    /// Publishes `rx`, which stands ready for record `next`.
    fn seed_at(link: &AheadLink, rx: &RecordProtection, next: RecordAt) {
        link.publish(Seed {
            flow: 1,
            dir: S2C,
            next,
            protection: rx.clone(),
        });
    }

    fn seed(link: &AheadLink, rx: &RecordProtection) {
        seed_at(
            link,
            rx,
            RecordAt {
                index: 0,
                offset: 0,
            },
        );
    }

    fn open_here(rx: &mut RecordProtection, r: &[u8]) -> Opened {
        let h = RecordHeader::parse(r[..5].try_into().unwrap());
        rx.open(&h, &r[5..]).unwrap()
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
        assert!(open(&mut o, &rs[0], Lag::Close).is_none());
        assert!(open(&mut o, &rs[1], Lag::Idle).is_none());
        let a = open(&mut o, &rs[2], Lag::Behind).expect("opened ahead");
        assert_eq!(a.opened.plaintext, [2; 100]);
        assert_eq!(a.opened.facts.seq, 2);
        for (_, r) in &rs[..2] {
            open_here(&mut rx, r);
        }
        assert!(rx.is_at(&a.before));
        assert!(rx.resume(a.after));
        let ccs = (rs[3].0, vec![20, 3, 3, 0, 1, 1]);
        assert!(open(&mut o, &ccs, Lag::Behind).is_none());
        assert!(
            open(&mut o, &rs[4], Lag::Behind).is_none(),
            "the seed is gone"
        );
    }

    /// An RC4 direction is taken over whole from the first record the
    /// reader opens, while the consumer is behind, and handed back once
    /// the consumer waits; its seed is dropped when the consumer keeps up.
    /// Taken over later, the keystream of the records between is run
    /// over, which is done only when the direction has gone on for at
    /// least `LATE_RC4` times as long.
    #[test]
    fn an_rc4_direction_is_taken_over_whole() {
        let (mut tx, mut rx) = pair(0x0005);
        let rs = records(&mut tx);
        let link = AheadLink::new();
        let mut o = Opener::new(link.clone());
        seed(&link, &rx);
        assert!(open(&mut o, &rs[0], Lag::Close).is_none());
        assert!(
            open(&mut o, &rs[1], Lag::Behind).is_none(),
            "the seed was dropped"
        );
        seed(&link, &rx);
        let a = open(&mut o, &rs[0], Lag::Behind).expect("taken over");
        assert_eq!(a.opened.plaintext, [0; 100]);
        let b = open(&mut o, &rs[1], Lag::Close).expect("still taken over");
        assert_eq!(b.opened.plaintext, [1; 100]);
        assert_eq!(a.after, b.before);
        assert!(open(&mut o, &rs[2], Lag::Idle).is_none(), "handed back");
        assert!(open(&mut o, &rs[3], Lag::Behind).is_none());
        // One record to run over, 125 bytes in: too late.
        seed(&link, &rx);
        assert!(open(&mut o, &rs[1], Lag::Behind).is_none());
        // The consumer five records on: one record to run over (120
        // bytes of keystream), 750 bytes in.
        for (_, r) in &rs[..5] {
            open_here(&mut rx, r);
        }
        seed_at(&link, &rx, rs[5].0);
        let c = open(&mut o, &rs[6], Lag::Behind).expect("taken over late");
        assert_eq!(c.opened.plaintext, [6; 100]);
        open_here(&mut rx, &rs[5].1);
        assert!(rx.is_at(&c.before));
        // A record that went by unopened loses the keystream.
        assert!(open(&mut o, &rs[8], Lag::Behind).is_none());
        assert!(open(&mut o, &rs[9], Lag::Behind).is_none());
    }

    /// A record of `ct` carrying `body`.
    fn record(ct: ContentType, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        RecordHeader {
            content_type: ct,
            version: TLS12,
            length: body.len() as u16,
        }
        .encode(&mut out);
        out.extend_from_slice(body);
        out
    }

    /// The keys of a connection's first ChangeCipherSpec come from its
    /// hellos and the key log, before any seed: the reader opens the
    /// records after it, the consumer's protection (made from the same
    /// facts) stands where each began and has the same keying;
    /// encrypt-then-MAC counts only when both hellos carry it; nothing is
    /// keyed without the master secret, or after a later ChangeCipherSpec.
    #[test]
    fn a_connection_is_keyed_from_its_hellos() {
        use crate::crypto::keylog::format_client_random;
        use crate::crypto::secret::MasterSecret;
        use crate::wire::{
            CipherSuite, CompressionMethod, Extension, HandshakeMessage, Random, WireContext,
        };
        const C2S: Direction = Direction::ClientToServer;
        let (client_random, server_random) = ([1; 32], [2; 32]);
        let master = MasterSecret::new([3; 48]);
        let keylog = KeyLog::parse(format_client_random(&client_random, &master).as_bytes()).0;
        let etm = || {
            Some(vec![Extension {
                typ: ExtensionType::EncryptThenMac,
                data: vec![],
            }])
        };
        for (code, client_etm, server_etm, logged) in [
            (0x0005, false, false, true),
            (0x002f, true, true, true),
            (0x002f, true, false, true),
            (0x009c, false, false, true),
            (0x002f, false, false, false),
        ] {
            let what = format!("0x{code:04x} EtM {client_etm}/{server_etm} logged {logged}");
            let suite = suites::lookup(code).unwrap();
            let ch = HandshakeMessage::ClientHello(ClientHello {
                client_version: TLS12,
                random: Random(client_random),
                session_id: vec![],
                cipher_suites: vec![CipherSuite(code)],
                compression_methods: vec![CompressionMethod::Null],
                extensions: if client_etm { etm() } else { None },
            });
            let sh = HandshakeMessage::ServerHello(ServerHello {
                server_version: TLS12,
                random: Random(server_random),
                session_id: vec![],
                cipher_suite: CipherSuite(code),
                compression_method: CompressionMethod::Null,
                extensions: if server_etm { etm() } else { None },
            });
            let cx = WireContext::default();
            // What the consumer derives, and the server seals with.
            let km = keys::key_material(TLS12, suite, &master, &client_random, &server_random);
            let agreed = client_etm && server_etm;
            let (_, server) =
                protection::protections_from_keys(TLS12, suite, &km.unwrap(), agreed).unwrap();
            let (mut tx, mut rx) = (server.clone(), server);
            let link = AheadLink::new();
            if logged {
                link.share_keylog(&keylog);
            }
            let mut o = Opener::new(link);
            let ch = record(ContentType::Handshake, &ch.to_bytes(&cx));
            o.first_record(1, C2S, &ch);
            // The ServerHello whole at the start of a longer first record.
            let mut flight = sh.to_bytes(&cx);
            flight.extend_from_slice(&[14, 0, 0, 0]);
            o.first_record(1, S2C, &record(ContentType::Handshake, &flight));
            let ccs = (
                RecordAt {
                    index: 3,
                    offset: 900,
                },
                record(ContentType::ChangeCipherSpec, &[1]),
            );
            assert!(open(&mut o, &ccs, Lag::Behind).is_none(), "{what}");
            let mut rng = StdRng::seed_from_u64(5);
            let mut at = RecordAt {
                index: 4,
                offset: 906,
            };
            for n in 0..3u8 {
                let r = tx
                    .seal(ContentType::ApplicationData, TLS12, &[n; 50], &mut rng)
                    .unwrap();
                let opened = open(&mut o, &(at, r.clone()), Lag::Behind);
                if !logged {
                    assert!(opened.is_none(), "{what}");
                    continue;
                }
                let a = opened.unwrap_or_else(|| panic!("{what}: record {n} not opened"));
                assert_eq!(a.opened.plaintext, [n; 50], "{what}");
                assert!(rx.is_at(&a.before), "{what}: record {n}");
                open_here(&mut rx, &r);
                assert!(rx.is_at(&a.after), "{what}: record {n}");
                at = RecordAt {
                    index: at.index + 1,
                    offset: at.offset + r.len() as u64,
                };
            }
            // A renegotiation's keys are not from the hellos.
            let ccs = (at, record(ContentType::ChangeCipherSpec, &[1]));
            assert!(open(&mut o, &ccs, Lag::Behind).is_none(), "{what}");
            let r = tx
                .seal(ContentType::ApplicationData, TLS12, &[9; 50], &mut rng)
                .unwrap();
            let next = RecordAt {
                index: at.index + 1,
                offset: at.offset + 6,
            };
            assert!(open(&mut o, &(next, r), Lag::Behind).is_none(), "{what}");
        }
    }
}
