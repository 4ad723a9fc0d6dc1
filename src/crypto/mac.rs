//! The record MAC of SSL 3.0 to TLS 1.2, one dispatcher by version.
//!
//! - SSL 3.0 (RFC 6101 §5.2.3.1):
//!   `hash(MAC_write_secret + pad_2 + hash(MAC_write_secret + pad_1 +
//!   seq_num + type + length + content))`, where `pad_1` is 0x36 and
//!   `pad_2` 0x5c, repeated 48 times for MD5 and 40 times for SHA-1. There
//!   is no version field.
//! - TLS 1.0 to 1.2 (RFC 2246 §6.2.3.1, RFC 4346 §6.2.3.1, RFC 5246
//!   §6.2.3.1): `HMAC_hash(MAC_write_key, seq_num + type + version + length
//!   + content)`, HMAC as in RFC 2104, with MD5, SHA-1, SHA-256 or SHA-384.
//!
//! Both constructions are an inner hash wrapped in an outer hash, each
//! started from a keyed prefix: `secret + pad_1` / `secret + pad_2` for
//! SSL 3.0, `K ^ ipad` / `K ^ opad` (padded to the hash block) for HMAC.
//! [`RecordMac`] keeps the two prefix states and clones them for each
//! record, so the key is absorbed once per direction, not once per record.
//!
//! What this module does not do: decide what the MAC covers beyond the
//! pseudo-header (encrypt-then-MAC, padding and the Lucky 13 handling are
//! `record::protection`'s), or the AEAD tag (that is `crypto::cipher`'s).

use std::fmt;

mod many;
pub use many::{compute_many, MacJob};

use super::md5::Md5;
use sha1::Sha1;
use sha2::digest::core_api::BlockSizeUser;
use sha2::digest::Digest;
use sha2::{Sha256, Sha384};

use crate::wire::suites::Mac;
use crate::wire::{ContentType, ProtocolVersion};

/// The hash under a record MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl MacAlgorithm {
    /// The hash of a suite's MAC; `None` for the NULL MAC, AEAD suites and
    /// the GOST MACs (which sslwalk does not implement).
    pub fn from_suite(mac: Mac) -> Option<Self> {
        match mac {
            Mac::Md5 => Some(Self::Md5),
            Mac::Sha1 => Some(Self::Sha1),
            Mac::Sha256 => Some(Self::Sha256),
            Mac::Sha384 => Some(Self::Sha384),
            _ => None,
        }
    }

    /// Bytes of MAC output (and of HMAC key from the key block).
    pub fn output_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The name as suite names write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha384 => "SHA384",
        }
    }

    /// RFC 6101 §5.2.3.1: the pad length of the SSL 3.0 MAC, 48 for MD5 and
    /// 40 for SHA-1. SSL 3.0 defines no other MAC hash.
    fn ssl3_pad_len(self) -> Option<usize> {
        match self {
            Self::Md5 => Some(48),
            Self::Sha1 => Some(40),
            Self::Sha256 | Self::Sha384 => None,
        }
    }
}

/// Which MAC construction a version uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacConstruction {
    /// RFC 6101 §5.2.3.1 (pads, no version in the pseudo-header).
    Ssl3,
    /// RFC 2104 HMAC over the RFC 5246 §6.2.3.1 pseudo-header.
    Hmac,
}

impl MacConstruction {
    /// The one place that picks the construction by version: SSL 3.0 has
    /// its own, every TLS version uses HMAC.
    pub fn for_version(version: ProtocolVersion) -> Self {
        if version == ProtocolVersion::SSLv3 {
            Self::Ssl3
        } else {
            Self::Hmac
        }
    }
}

/// Why a [`RecordMac`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacSetupError {
    /// SSL 3.0 defines its MAC for MD5 and SHA-1 only.
    NoSsl3Mac(MacAlgorithm),
    /// The key is not as long as the hash output, as the key block makes
    /// it (RFC 5246 §6.3, RFC 6101 §6.2.2).
    KeyLength { expected: usize, got: usize },
}

impl fmt::Display for MacSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSsl3Mac(algorithm) => {
                write!(f, "SSL 3.0 has no MAC with {}", algorithm.name())
            }
            Self::KeyLength { expected, got } => {
                write!(f, "MAC key of {got} bytes, expected {expected}")
            }
        }
    }
}

impl std::error::Error for MacSetupError {}

/// A MAC value, up to 48 bytes, without a heap allocation.
#[derive(Clone, Copy)]
pub struct MacOutput {
    bytes: [u8; 48],
    len: usize,
}

impl MacOutput {
    fn from_slice(b: &[u8]) -> Self {
        let mut bytes = [0; 48];
        bytes[..b.len()].copy_from_slice(b);
        Self {
            bytes,
            len: b.len(),
        }
    }
}

impl AsRef<[u8]> for MacOutput {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for MacOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_ref() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The inner and outer hash states after absorbing their keyed prefix.
#[derive(Clone)]
struct Prefixed<D> {
    inner: D,
    outer: D,
}

impl<D: Digest + Clone + BlockSizeUser> Prefixed<D> {
    /// RFC 2104 §2: `H(K ^ opad, H(K ^ ipad, text))`, the key hashed first
    /// when it is longer than the hash block (never the case for record
    /// MAC keys, which are one hash output long, but the RFC vectors
    /// exercise it).
    fn hmac(key: &[u8]) -> Self {
        let block = D::block_size();
        let mut k = vec![0u8; block];
        if key.len() > block {
            let digest = D::digest(key);
            k[..digest.len()].copy_from_slice(&digest);
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        Self {
            inner: D::new_with_prefix(&ipad),
            outer: D::new_with_prefix(&opad),
        }
    }

    /// RFC 6101 §5.2.3.1: `secret + pad_1` and `secret + pad_2`.
    fn ssl3(secret: &[u8], pad_len: usize) -> Self {
        let mut inner = D::new_with_prefix(secret);
        inner.update(vec![0x36; pad_len]);
        let mut outer = D::new_with_prefix(secret);
        outer.update(vec![0x5c; pad_len]);
        Self { inner, outer }
    }

    fn compute(&self, parts: &[&[u8]]) -> MacOutput {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        MacOutput::from_slice(&outer.finalize())
    }

    fn absorb_dummy(&self, data: &[u8]) {
        let mut inner = self.inner.clone();
        inner.update(data);
        std::hint::black_box(inner.finalize());
    }
}

#[derive(Clone)]
enum State {
    Md5(Box<Prefixed<Md5>>),
    Sha1(Box<Prefixed<Sha1>>),
    Sha256(Box<Prefixed<Sha256>>),
    Sha384(Box<Prefixed<Sha384>>),
}

macro_rules! with_state {
    ($state:expr, $p:ident => $body:expr) => {
        match $state {
            State::Md5($p) => $body,
            State::Sha1($p) => $body,
            State::Sha256($p) => $body,
            State::Sha384($p) => $body,
        }
    };
}

impl State {
    fn new(algorithm: MacAlgorithm, build: Build<'_>) -> Self {
        match algorithm {
            MacAlgorithm::Md5 => Self::Md5(Box::new(build.run())),
            MacAlgorithm::Sha1 => Self::Sha1(Box::new(build.run())),
            MacAlgorithm::Sha256 => Self::Sha256(Box::new(build.run())),
            MacAlgorithm::Sha384 => Self::Sha384(Box::new(build.run())),
        }
    }
}

enum Build<'a> {
    Hmac(&'a [u8]),
    Ssl3(&'a [u8], usize),
}

impl Build<'_> {
    fn run<D: Digest + Clone + BlockSizeUser>(&self) -> Prefixed<D> {
        match *self {
            Self::Hmac(key) => Prefixed::hmac(key),
            Self::Ssl3(secret, pad_len) => Prefixed::ssl3(secret, pad_len),
        }
    }
}

/// The record MAC of one direction: the construction chosen by version,
/// keyed once.
#[derive(Clone)]
pub struct RecordMac {
    algorithm: MacAlgorithm,
    construction: MacConstruction,
    state: State,
    /// The same key's states for [`compute_many`], where it can use them.
    lanes: Option<many::LanePrefix>,
}

impl fmt::Debug for RecordMac {
    // The prefix states are key material: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordMac")
            .field("algorithm", &self.algorithm)
            .field("construction", &self.construction)
            .finish_non_exhaustive()
    }
}

impl RecordMac {
    /// The MAC for records of `version` with this hash and write key. The
    /// key must be one hash output long, as the key block makes it.
    pub fn new(
        version: ProtocolVersion,
        algorithm: MacAlgorithm,
        key: &[u8],
    ) -> Result<Self, MacSetupError> {
        if key.len() != algorithm.output_len() {
            return Err(MacSetupError::KeyLength {
                expected: algorithm.output_len(),
                got: key.len(),
            });
        }
        let construction = MacConstruction::for_version(version);
        let build = match construction {
            MacConstruction::Ssl3 => {
                let pad_len = algorithm
                    .ssl3_pad_len()
                    .ok_or(MacSetupError::NoSsl3Mac(algorithm))?;
                Build::Ssl3(key, pad_len)
            }
            MacConstruction::Hmac => Build::Hmac(key),
        };
        Ok(Self {
            algorithm,
            construction,
            state: State::new(algorithm, build),
            lanes: many::LanePrefix::new(construction, algorithm, key),
        })
    }

    pub fn algorithm(&self) -> MacAlgorithm {
        self.algorithm
    }

    pub fn construction(&self) -> MacConstruction {
        self.construction
    }

    /// Whether [`compute_many`] runs this MAC side by side with others
    /// (HMAC-SHA-1 and HMAC-SHA-256, on a processor with the SHA
    /// extensions).
    pub fn runs_in_lanes(&self) -> bool {
        self.lanes.is_some()
    }

    /// Bytes of MAC on each record.
    pub fn len(&self) -> usize {
        self.algorithm.output_len()
    }

    /// Never true: every MAC algorithm here has output. (For clippy's
    /// `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The MAC of one record: the pseudo-header `seq_num + type + version
    /// + length` (no version in SSL 3.0), then `content`, given in pieces
    /// whose lengths add up to the `length` field.
    pub fn compute(
        &self,
        seq: u64,
        content_type: ContentType,
        version: ProtocolVersion,
        content: &[&[u8]],
    ) -> MacOutput {
        let length: usize = content.iter().map(|part| part.len()).sum();
        let length = u16::try_from(length).expect("record content over 64 KiB");
        let seq = seq.to_be_bytes();
        let ct = [content_type.0];
        let version = version.0.to_be_bytes();
        let length = length.to_be_bytes();
        let mut parts: Vec<&[u8]> = Vec::with_capacity(4 + content.len());
        parts.push(&seq);
        parts.push(&ct);
        if self.construction == MacConstruction::Hmac {
            parts.push(&version);
        }
        parts.push(&length);
        parts.extend_from_slice(content);
        with_state!(&self.state, p => p.compute(&parts))
    }

    /// Whether `received` is the MAC of the record, compared in constant
    /// time.
    pub fn verify(
        &self,
        seq: u64,
        content_type: ContentType,
        version: ProtocolVersion,
        content: &[&[u8]],
        received: &[u8],
    ) -> bool {
        ct_eq(
            self.compute(seq, content_type, version, content).as_ref(),
            received,
        )
    }

    /// Runs the inner hash over `data` and throws the result away. CBC
    /// record opening uses it to hash the padding bytes it did not MAC, so
    /// that the hashing work depends less on the padding length (Lucky 13,
    /// see `record::protection`).
    pub fn absorb_dummy(&self, data: &[u8]) {
        with_state!(&self.state, p => p.absorb_dummy(data))
    }
}

/// RFC 2104 HMAC of `data` with `key`: the construction [`RecordMac`] uses
/// from TLS 1.0 on, exposed for vector tests and other callers.
pub fn hmac(algorithm: MacAlgorithm, key: &[u8], data: &[u8]) -> MacOutput {
    with_state!(&State::new(algorithm, Build::Hmac(key)), p => p.compute(&[data]))
}

/// Byte strings equal, in time that depends only on their lengths.
///
/// Why: a comparison that stops at the first differing byte tells an
/// attacker how many leading bytes of a forged MAC were right, which lets
/// them forge it byte by byte.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::crypto::prf::unhex;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 2202 §2 (HMAC-MD5) and §3 (HMAC-SHA-1), test cases 1 to 7.
    /// Test case 5 is truncated to 96 bits in the RFC; the full value is
    /// its untruncated form (both listed there as "digest" /
    /// "digest-96").
    #[test]
    fn rfc2202_hmac_md5_and_sha1() {
        let key_aa80 = vec![0xaa; 80];
        let cases: &[(MacAlgorithm, Vec<u8>, Vec<u8>, &str)] = &[
            (
                MacAlgorithm::Md5,
                vec![0x0b; 16],
                b"Hi There".to_vec(),
                "9294727a3638bb1c13f48ef8158bfc9d",
            ),
            (
                MacAlgorithm::Md5,
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "750c783e6ab0b503eaa86e310a5db738",
            ),
            (
                MacAlgorithm::Md5,
                vec![0xaa; 16],
                vec![0xdd; 50],
                "56be34521d144c88dbb8c733f0e8b3f6",
            ),
            (
                MacAlgorithm::Md5,
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "697eaf0aca3a3aea3a75164746ffaa79",
            ),
            (
                MacAlgorithm::Md5,
                vec![0x0c; 16],
                b"Test With Truncation".to_vec(),
                "56461ef2342edc00f9bab995690efd4c",
            ),
            (
                MacAlgorithm::Md5,
                key_aa80.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
            ),
            (
                MacAlgorithm::Md5,
                key_aa80.clone(),
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
                    .to_vec(),
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ),
            (
                MacAlgorithm::Sha1,
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                MacAlgorithm::Sha1,
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                MacAlgorithm::Sha1,
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                MacAlgorithm::Sha1,
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                MacAlgorithm::Sha1,
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                MacAlgorithm::Sha1,
                key_aa80.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                MacAlgorithm::Sha1,
                key_aa80,
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
                    .to_vec(),
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (i, (algorithm, key, data, expected)) in cases.iter().enumerate() {
            let got = hmac(*algorithm, key, data);
            assert_eq!(hex(got.as_ref()), *expected, "case {i}");
        }
    }

    /// RFC 4231 §4.2 to §4.8: test cases 1 to 7 for HMAC-SHA-256 and
    /// HMAC-SHA-384. Case 5 is truncated to 128 bits in the RFC, so only
    /// the first 16 bytes are compared.
    #[test]
    fn rfc4231_hmac_sha256_and_sha384() {
        let key_aa131 = vec![0xaa; 131];
        let cases: &[(Vec<u8>, Vec<u8>, &str, &str)] = &[
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                 faea9ea9076ede7f4af152e8b2fa9cb6",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
                "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b\
                 2a5ab39dc13814b94e3ab6e101a34f27",
            ),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e\
                 6801dd23c4a7d679ccf8a386c674cffb",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "a3b6167473100ee06e0c796c2955552b",
                "3abf34c3503b2a23a46efc619baef897",
            ),
            (
                key_aa131.clone(),
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                 0c2ef6ab4030fe8296248df163f44952",
            ),
            (
                key_aa131,
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm."
                    .to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                 a678cc31e799176d3860e6110c46523e",
            ),
        ];
        for (i, (key, data, sha256, sha384)) in cases.iter().enumerate() {
            let got256 = hex(hmac(MacAlgorithm::Sha256, key, data).as_ref());
            let got384 = hex(hmac(MacAlgorithm::Sha384, key, data).as_ref());
            let want384: String = sha384.split_whitespace().collect();
            assert_eq!(&got256[..sha256.len()], *sha256, "case {}", i + 1);
            assert_eq!(&got384[..want384.len()], want384, "case {}", i + 1);
        }
    }

    /// The HMAC here agrees with the `hmac` crate, an independent
    /// implementation, on record-shaped inputs.
    #[test]
    fn record_hmac_agrees_with_hmac_crate() {
        use hmac::{Hmac, Mac as _};
        let key = [0x42u8; 48];
        let body = b"GET / HTTP/1.0\r\n\r\n";
        let seq = 0x0102_0304_0506_0708u64;
        let mut pseudo = seq.to_be_bytes().to_vec();
        pseudo.extend_from_slice(&[23, 3, 3, 0, body.len() as u8]);
        pseudo.extend_from_slice(body);

        macro_rules! check {
            ($alg:expr, $d:ty) => {{
                let len = $alg.output_len();
                let mac = RecordMac::new(ProtocolVersion::TLSv1_2, $alg, &key[..len]).unwrap();
                let ours = mac.compute(
                    seq,
                    ContentType::ApplicationData,
                    ProtocolVersion::TLSv1_2,
                    &[&body[..5], &body[5..]],
                );
                let mut theirs = <Hmac<$d>>::new_from_slice(&key[..len]).unwrap();
                theirs.update(&pseudo);
                assert_eq!(ours.as_ref(), &theirs.finalize().into_bytes()[..]);
                assert!(mac.verify(
                    seq,
                    ContentType::ApplicationData,
                    ProtocolVersion::TLSv1_2,
                    &[body],
                    ours.as_ref()
                ));
            }};
        }
        check!(MacAlgorithm::Md5, Md5);
        check!(MacAlgorithm::Sha1, Sha1);
        check!(MacAlgorithm::Sha256, Sha256);
        check!(MacAlgorithm::Sha384, Sha384);
    }

    /// The SSL 3.0 MAC against a direct transcription of RFC 6101
    /// §5.2.3.1, written with one-shot hashes over concatenated bytes
    /// (independent of the prefix-state code above).
    #[test]
    fn ssl3_mac_matches_rfc6101_formula() {
        fn reference<D: Digest>(
            secret: &[u8],
            pad: usize,
            seq: u64,
            ct: u8,
            data: &[u8],
        ) -> Vec<u8> {
            let mut inner = Vec::new();
            inner.extend_from_slice(secret);
            inner.extend(std::iter::repeat_n(0x36, pad));
            inner.extend_from_slice(&seq.to_be_bytes());
            inner.push(ct);
            inner.extend_from_slice(&(data.len() as u16).to_be_bytes());
            inner.extend_from_slice(data);
            let inner_hash = D::digest(&inner);
            let mut outer = Vec::new();
            outer.extend_from_slice(secret);
            outer.extend(std::iter::repeat_n(0x5c, pad));
            outer.extend_from_slice(&inner_hash);
            D::digest(&outer).to_vec()
        }
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for (seq, len) in [(0u64, 0usize), (1, 1), (7, 55), (u64::MAX, 300)] {
            let md5_key: Vec<u8> = (0..16).collect();
            let mac = RecordMac::new(ProtocolVersion::SSLv3, MacAlgorithm::Md5, &md5_key).unwrap();
            assert_eq!(mac.construction(), MacConstruction::Ssl3);
            let got = mac.compute(
                seq,
                ContentType::Handshake,
                ProtocolVersion::SSLv3,
                &[&data[..len]],
            );
            assert_eq!(
                got.as_ref(),
                reference::<Md5>(&md5_key, 48, seq, 22, &data[..len])
            );

            let sha_key: Vec<u8> = (100..120).collect();
            let mac = RecordMac::new(ProtocolVersion::SSLv3, MacAlgorithm::Sha1, &sha_key).unwrap();
            // The version argument is ignored: SSL 3.0 MACs no version.
            let got = mac.compute(
                seq,
                ContentType::ApplicationData,
                ProtocolVersion(0x1234),
                &[&data[..len]],
            );
            assert_eq!(
                got.as_ref(),
                reference::<Sha1>(&sha_key, 40, seq, 23, &data[..len])
            );
        }
    }

    #[test]
    fn dispatch_and_setup_errors() {
        assert_eq!(
            MacConstruction::for_version(ProtocolVersion::SSLv3),
            MacConstruction::Ssl3
        );
        for v in [
            ProtocolVersion::TLSv1_0,
            ProtocolVersion::TLSv1_1,
            ProtocolVersion::TLSv1_2,
        ] {
            assert_eq!(MacConstruction::for_version(v), MacConstruction::Hmac);
        }
        assert_eq!(
            RecordMac::new(ProtocolVersion::SSLv3, MacAlgorithm::Sha256, &[0; 32]).unwrap_err(),
            MacSetupError::NoSsl3Mac(MacAlgorithm::Sha256)
        );
        assert_eq!(
            RecordMac::new(ProtocolVersion::TLSv1_0, MacAlgorithm::Sha1, &[0; 16]).unwrap_err(),
            MacSetupError::KeyLength {
                expected: 20,
                got: 16
            }
        );
        assert_eq!(
            MacAlgorithm::from_suite(Mac::Sha384),
            Some(MacAlgorithm::Sha384)
        );
        assert_eq!(MacAlgorithm::from_suite(Mac::Aead), None);
        // Debug never shows key material.
        let mac =
            RecordMac::new(ProtocolVersion::TLSv1_2, MacAlgorithm::Sha1, &[0x77; 20]).unwrap();
        assert!(!format!("{mac:?}").contains("77"));
    }

    #[test]
    fn tls_mac_covers_the_version_and_ssl3_does_not() {
        let key = [9u8; 20];
        let tls = RecordMac::new(ProtocolVersion::TLSv1_0, MacAlgorithm::Sha1, &key).unwrap();
        let a = tls.compute(3, ContentType::Alert, ProtocolVersion::TLSv1_0, &[b"x"]);
        let b = tls.compute(3, ContentType::Alert, ProtocolVersion::TLSv1_1, &[b"x"]);
        assert_ne!(a.as_ref(), b.as_ref());
        let ssl3 = RecordMac::new(ProtocolVersion::SSLv3, MacAlgorithm::Sha1, &key).unwrap();
        let a = ssl3.compute(3, ContentType::Alert, ProtocolVersion::SSLv3, &[b"x"]);
        let b = ssl3.compute(3, ContentType::Alert, ProtocolVersion::TLSv1_1, &[b"x"]);
        assert_eq!(a.as_ref(), b.as_ref());
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(&[0x80], &[0x00]));
    }
}
