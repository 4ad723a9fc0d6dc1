//! Many record MACs at once: HMAC-SHA-1 and HMAC-SHA-256 over
//! [`sha_lanes::LANES`] records side by side (see [`sha_lanes`] for why
//! that is faster than one after another).
//!
//! Each MAC is an inner hash `H(K ^ ipad, pseudo-header + content)` and an
//! outer hash `H(K ^ opad, inner)` (RFC 2104 §2). The keyed first blocks
//! are absorbed once per key ([`LanePrefix`]), so a record's inner hash is
//! the blocks of its message after them:
//! - a *head* block: the 13-byte pseudo-header and the first 51 bytes of
//!   content, copied together;
//! - the *middle*: the content's next whole blocks, read where they lie;
//! - a *tail* of one or two blocks: the content's last bytes with the
//!   FIPS 180-4 §5.1.1 padding (0x80, zeros, the message's length in
//!   bits, counting the keyed block).
//!
//! Lanes run the blocks of whichever records they hold, as many at a time
//! as the shortest segment among them allows, and take the next record
//! as one finishes; the outer hashes (one block each) go the same way
//! afterwards. A lane left alone at the end finishes with the one-message
//! compression, which is faster than four lanes with three idle.

use super::{MacAlgorithm, MacConstruction, MacOutput, RecordMac};
use crate::crypto::sha_lanes::{self, LANES};
use crate::wire::{ContentType, ProtocolVersion};
use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

/// Bytes in a SHA-1 or SHA-256 block.
const BLOCK: usize = 64;

/// One record's MAC to compute among others, with [`compute_many`].
#[derive(Clone, Copy)]
pub struct MacJob<'a> {
    pub mac: &'a RecordMac,
    pub seq: u64,
    pub content_type: ContentType,
    pub version: ProtocolVersion,
    pub content: &'a [u8],
}

impl MacJob<'_> {
    /// This one MAC, alone.
    pub fn compute(&self) -> MacOutput {
        self.mac
            .compute(self.seq, self.content_type, self.version, &[self.content])
    }
}

/// The MACs of `jobs`, in order: what [`RecordMac::compute`] gives for each,
/// the HMAC-SHA-1 and HMAC-SHA-256 ones computed side by side where the
/// processor can ([`sha_lanes::available`]), the others one by one.
pub fn compute_many(jobs: &[MacJob<'_>]) -> Vec<MacOutput> {
    let mut out: Vec<Option<MacOutput>> = vec![None; jobs.len()];
    let mut sha1 = Vec::new();
    let mut sha256 = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match &job.mac.lanes {
            Some(LanePrefix::Sha1(p)) => sha1.push((i, p, *job)),
            Some(LanePrefix::Sha256(p)) => sha256.push((i, p, *job)),
            None => out[i] = Some(job.compute()),
        }
    }
    for (i, mac) in hmac_lanes::<Sha1Lanes>(&record_messages(&sha1)) {
        out[i] = Some(mac);
    }
    for (i, mac) in hmac_lanes::<Sha256Lanes>(&record_messages(&sha256)) {
        out[i] = Some(mac);
    }
    out.into_iter()
        .map(|m| m.expect("every job has its MAC"))
        .collect()
}

/// The keyed inner and outer states of an HMAC key, for the lanes.
#[derive(Clone, Copy)]
pub(super) enum LanePrefix {
    Sha1(Prefix<[u32; 5]>),
    Sha256(Prefix<[u32; 8]>),
}

#[derive(Clone, Copy)]
pub(super) struct Prefix<S> {
    inner: S,
    outer: S,
}

impl LanePrefix {
    /// The prefix states of an HMAC with `key` (at most a block long, as
    /// record MAC keys are), when the lanes can compute it.
    pub(super) fn new(
        construction: MacConstruction,
        algorithm: MacAlgorithm,
        key: &[u8],
    ) -> Option<Self> {
        if construction != MacConstruction::Hmac || key.len() > BLOCK || !sha_lanes::available() {
            return None;
        }
        match algorithm {
            MacAlgorithm::Sha1 => Some(Self::Sha1(prefix::<Sha1Lanes>(key))),
            MacAlgorithm::Sha256 => Some(Self::Sha256(prefix::<Sha256Lanes>(key))),
            MacAlgorithm::Md5 | MacAlgorithm::Sha384 => None,
        }
    }
}

/// RFC 2104 §2: the states after `K ^ ipad` and `K ^ opad`, `K` padded
/// with zeros to a block.
fn prefix<H: LaneHash>(key: &[u8]) -> Prefix<H::State> {
    let keyed = |pad: u8| {
        let mut block = [pad; BLOCK];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        let mut state = H::INIT;
        H::compress_one(&mut state, &block);
        state
    };
    Prefix {
        inner: keyed(0x36),
        outer: keyed(0x5c),
    }
}

/// A hash the lanes can run.
trait LaneHash {
    type State: Copy;
    /// The initial hash value.
    const INIT: Self::State;
    fn compress_lanes(states: &mut [Self::State; LANES], data: [&[u8]; LANES], blocks: usize);
    /// One message alone (for a lane left on its own, and the keys).
    fn compress_one(state: &mut Self::State, blocks: &[u8]);
    fn output(state: &Self::State) -> MacOutput;
}

struct Sha1Lanes;
struct Sha256Lanes;

/// `data` as the blocks the `sha1`/`sha2` crates take, one at a time (no
/// copy).
fn each_block(data: &[u8]) -> impl Iterator<Item = &[GenericArray<u8, U64>]> {
    data.chunks_exact(BLOCK)
        .map(|c| std::slice::from_ref(GenericArray::from_slice(c)))
}

fn words_out(words: &[u32]) -> MacOutput {
    let mut bytes = [0u8; 32];
    for (chunk, w) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    MacOutput::from_slice(&bytes[..4 * words.len()])
}

impl LaneHash for Sha1Lanes {
    type State = [u32; 5];
    const INIT: [u32; 5] = sha_lanes::SHA1_INIT;
    fn compress_lanes(states: &mut [[u32; 5]; LANES], data: [&[u8]; LANES], blocks: usize) {
        sha_lanes::sha1(states, data, blocks);
    }
    fn compress_one(state: &mut [u32; 5], blocks: &[u8]) {
        for b in each_block(blocks) {
            sha1::compress(state, b);
        }
    }
    fn output(state: &[u32; 5]) -> MacOutput {
        words_out(state)
    }
}

impl LaneHash for Sha256Lanes {
    type State = [u32; 8];
    const INIT: [u32; 8] = sha_lanes::SHA256_INIT;
    fn compress_lanes(states: &mut [[u32; 8]; LANES], data: [&[u8]; LANES], blocks: usize) {
        sha_lanes::sha256(states, data, blocks);
    }
    fn compress_one(state: &mut [u32; 8], blocks: &[u8]) {
        for b in each_block(blocks) {
            sha2::compress256(state, b);
        }
    }
    fn output(state: &[u32; 8]) -> MacOutput {
        words_out(state)
    }
}

/// A message after its keyed block, cut into the blocks the lanes read:
/// `head` (0 or 1 block), `middle` (in place), `tail` (1 or 2 blocks).
struct Message<'a, S> {
    start: S,
    head: [u8; BLOCK],
    head_len: usize,
    middle: &'a [u8],
    tail: [u8; 2 * BLOCK],
    tail_len: usize,
}

impl<'a, S: Copy> Message<'a, S> {
    /// `lead` (shorter than a block) then `content`, hashed on from
    /// `start` (the state after one keyed block).
    fn new(start: S, lead: &[u8], content: &'a [u8]) -> Self {
        debug_assert!(lead.len() < BLOCK);
        let mut m = Self {
            start,
            head: [0; BLOCK],
            head_len: 0,
            middle: &[],
            tail: [0; 2 * BLOCK],
            tail_len: 0,
        };
        let bits = 8 * (BLOCK + lead.len() + content.len()) as u64;
        let fill = (BLOCK - lead.len()) % BLOCK;
        let rest = if lead.is_empty() || content.len() >= fill {
            m.head[..lead.len()].copy_from_slice(lead);
            m.head[lead.len()..lead.len() + fill].copy_from_slice(&content[..fill]);
            m.head_len = if lead.is_empty() { 0 } else { BLOCK };
            let rest = &content[fill..];
            let whole = rest.len() - rest.len() % BLOCK;
            m.middle = &rest[..whole];
            &rest[whole..]
        } else {
            // Lead and content together are less than a block.
            m.tail[..lead.len()].copy_from_slice(lead);
            m.tail_len = lead.len();
            content
        };
        m.tail[m.tail_len..m.tail_len + rest.len()].copy_from_slice(rest);
        let used = m.tail_len + rest.len();
        m.tail[used] = 0x80;
        // FIPS 180-4 §5.1.1: room for the 0x80 and the 64-bit length.
        m.tail_len = if used + 9 <= BLOCK { BLOCK } else { 2 * BLOCK };
        m.tail[m.tail_len - 8..m.tail_len].copy_from_slice(&bits.to_be_bytes());
        m
    }

    fn segments(&self) -> [&[u8]; 3] {
        [
            &self.head[..self.head_len],
            self.middle,
            &self.tail[..self.tail_len],
        ]
    }
}

/// A message to MAC: the job it belongs to, the state its outer hash
/// starts from, and its inner message.
struct Keyed<'a, S> {
    job: usize,
    outer: S,
    message: Message<'a, S>,
}

/// Each job's record message: the RFC 5246 §6.2.3.1 pseudo-header
/// (`seq_num + type + version + length`) and its content.
fn record_messages<'a, S: Copy>(jobs: &[(usize, &Prefix<S>, MacJob<'a>)]) -> Vec<Keyed<'a, S>> {
    jobs.iter()
        .map(|&(i, prefix, job)| {
            let length = u16::try_from(job.content.len()).expect("record content over 64 KiB");
            let mut lead = [0u8; 13];
            lead[..8].copy_from_slice(&job.seq.to_be_bytes());
            lead[8] = job.content_type.0;
            lead[9..11].copy_from_slice(&job.version.0.to_be_bytes());
            lead[11..].copy_from_slice(&length.to_be_bytes());
            Keyed {
                job: i,
                outer: prefix.outer,
                message: Message::new(prefix.inner, &lead, job.content),
            }
        })
        .collect()
}

/// The HMACs of `messages` (each with its outer start state), by job
/// index.
fn hmac_lanes<H: LaneHash>(messages: &[Keyed<'_, H::State>]) -> Vec<(usize, MacOutput)> {
    if messages.is_empty() {
        return Vec::new();
    }
    let inner = hash_lanes::<H>(messages.iter().map(|k| &k.message));
    let outer: Vec<Message<'_, H::State>> = messages
        .iter()
        .zip(&inner)
        .map(|(k, digest)| Message::new(k.outer, digest.as_ref(), &[]))
        .collect();
    let outer = hash_lanes::<H>(outer.iter());
    messages.iter().map(|k| k.job).zip(outer).collect()
}

/// Where a lane is in the message it holds.
struct Cursor {
    message: usize,
    segment: usize,
    /// Bytes of the segment done.
    done: usize,
}

/// The hashes of `messages`, in order, [`LANES`] at a time.
fn hash_lanes<'m, H: LaneHash + 'm>(
    messages: impl ExactSizeIterator<Item = &'m Message<'m, H::State>>,
) -> Vec<MacOutput> {
    let messages: Vec<&Message<'_, H::State>> = messages.collect();
    let segments: Vec<[&[u8]; 3]> = messages.iter().map(|m| m.segments()).collect();
    let mut out = vec![H::output(&H::INIT); messages.len()];
    let mut states = [H::INIT; LANES];
    let mut lanes: [Option<Cursor>; LANES] = Default::default();
    let mut next = 0;
    loop {
        for (lane, state) in lanes.iter_mut().zip(states.iter_mut()) {
            if lane.is_none() && next < messages.len() {
                *state = messages[next].start;
                *lane = Some(Cursor {
                    message: next,
                    segment: 0,
                    done: 0,
                });
                next += 1;
            }
        }
        // Past empty segments; a message with nothing left is done.
        for (lane, state) in lanes.iter_mut().zip(&states) {
            while let Some(c) = lane {
                if c.segment == 3 {
                    out[c.message] = H::output(state);
                    *lane = None;
                } else if c.done == segments[c.message][c.segment].len() {
                    c.segment += 1;
                    c.done = 0;
                } else {
                    break;
                }
            }
        }
        let busy = lanes.iter().filter(|l| l.is_some()).count();
        if busy == 0 && next == messages.len() {
            return out;
        }
        if busy < LANES && next < messages.len() {
            // Lanes freed above take the next messages first.
            continue;
        }
        let left = |c: &Cursor| &segments[c.message][c.segment][c.done..];
        if busy == 1 {
            let l = lanes.iter().position(Option::is_some).expect("one lane");
            let c = lanes[l].as_mut().expect("busy");
            H::compress_one(&mut states[l], left(c));
            c.done += left(c).len();
            continue;
        }
        let blocks = lanes
            .iter()
            .flatten()
            .map(|c| left(c).len() / BLOCK)
            .min()
            .expect("a busy lane");
        // An idle lane hashes a busy one's bytes into a state thrown away.
        let any = left(lanes.iter().flatten().next().expect("a busy lane"));
        let data: [&[u8]; LANES] =
            std::array::from_fn(|l| lanes[l].as_ref().map_or(any, |c| left(c)));
        H::compress_lanes(&mut states, data, blocks);
        for c in lanes.iter_mut().flatten() {
            c.done += blocks * BLOCK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Record MACs of every length from 0 to 300 bytes and some full
    /// records, on keys of both hashes and of MD5 mixed in, computed
    /// together and one by one.
    #[test]
    fn many_macs_are_the_macs_one_by_one() {
        if !sha_lanes::available() {
            eprintln!("SKIPPED many_macs_are_the_macs_one_by_one: no SHA extensions");
            return;
        }
        let tls12 = ProtocolVersion::TLSv1_2;
        let keys: Vec<RecordMac> = [
            (MacAlgorithm::Sha1, 20),
            (MacAlgorithm::Sha256, 32),
            (MacAlgorithm::Md5, 16),
            (MacAlgorithm::Sha1, 20),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(a, len))| RecordMac::new(tls12, a, &vec![i as u8 + 1; len]).unwrap())
        .collect();
        assert!(keys[0].lanes.is_some() && keys[2].lanes.is_none());
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let mut lengths: Vec<usize> = (0..=300).collect();
        lengths.extend([1 << 14, (1 << 14) - 1, 4000, 16000]);
        let contents: Vec<Vec<u8>> = lengths
            .iter()
            .map(|&n| (0..n).map(|_| rng.gen()).collect())
            .collect();
        let jobs: Vec<MacJob<'_>> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| MacJob {
                mac: &keys[rng.gen_range(0..keys.len())],
                seq: i as u64 * 0x0101_0101,
                content_type: ContentType::ApplicationData,
                version: tls12,
                content: c,
            })
            .collect();
        let many = compute_many(&jobs);
        for (job, got) in jobs.iter().zip(&many) {
            let want = job
                .mac
                .compute(job.seq, job.content_type, job.version, &[job.content]);
            assert_eq!(
                got.as_ref(),
                want.as_ref(),
                "{:?}, {} bytes",
                job.mac.algorithm(),
                job.content.len()
            );
        }
        for n in 0..3 {
            assert_eq!(compute_many(&jobs[..n]).len(), n);
        }
    }

    /// RFC 2202 §3 case 3 and RFC 4231 §4.4 (case 3): HMAC of 50 bytes of
    /// 0xdd under 20 bytes of 0xaa, through the lanes (no lead).
    #[test]
    fn the_rfc_vectors_through_the_lanes() {
        if !sha_lanes::available() {
            eprintln!("SKIPPED the_rfc_vectors_through_the_lanes: no SHA extensions");
            return;
        }
        let key = [0xaa; 20];
        let data = [0xdd; 50];
        let p1 = prefix::<Sha1Lanes>(&key);
        let m1 = [Keyed {
            job: 0,
            outer: p1.outer,
            message: Message::new(p1.inner, &[], &data),
        }];
        let got = hmac_lanes::<Sha1Lanes>(&m1);
        assert_eq!(
            format!("{:?}", got[0].1),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3"
        );
        let p256 = prefix::<Sha256Lanes>(&key);
        let m256 = [Keyed {
            job: 0,
            outer: p256.outer,
            message: Message::new(p256.inner, &[], &data),
        }];
        let got = hmac_lanes::<Sha256Lanes>(&m256);
        assert_eq!(
            format!("{:?}", got[0].1),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        );
    }
}
