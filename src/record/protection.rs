//! Record protection for one direction, shared by the engine and the
//! passive observer: sequence numbers, MAC, padding, IVs, encryption.
//!
//! RFC sections, by cipher kind:
//!
//! - null and stream ciphers (RFC 5246 §6.2.3.1, RFC 6101 §5.2.3.1):
//!   `fragment = ENC(content + MAC)`;
//! - CBC block ciphers (RFC 5246 §6.2.3.2, RFC 4346 §6.2.3.2, RFC 2246
//!   §6.2.3.2, RFC 6101 §5.2.3.2): `[IV +] ENC(content + MAC + padding +
//!   padding_length)`, the IV implicit in SSL 3.0 and TLS 1.0 and explicit
//!   from TLS 1.1 on; or, when encrypt-then-MAC was negotiated (RFC 7366
//!   §3), `[IV +] ENC(content + padding + padding_length) + MAC`;
//! - AES-GCM (RFC 5288 §3, RFC 5246 §6.2.3.3): `nonce_explicit +
//!   AEAD(content)`, nonce = 4-byte salt from the key block + 8 explicit
//!   bytes, additional data = `seq_num + type + version + length`.
//!
//! Each direction numbers its records from 0 after ChangeCipherSpec with a
//! 64-bit sequence number that must not wrap (RFC 5246 §6.1): a
//! [`RecordProtection`] is made fresh at each ChangeCipherSpec and refuses
//! to run past 2^64 − 1 records.
//!
//! [`RecordProtection::open`] returns the per-record crypto facts the `-v`
//! narration prints ([`RecordFacts`]); failures are [`RecordError`]s whose
//! [`RecordError::alert`] is the alert to send.
//!
//! What this module does not do: cut records out of a stream (that is
//! [`super::deframer`]), derive keys (`crypto::keys`), compression (only
//! null exists in practice), TLS 1.3 record protection, or split outgoing
//! data into records (the caller does; [`fragments`] helps).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use rand::RngCore;

use crate::crypto::cipher::{
    CipherSetupError, Rc4Cipher, RecordCipher, GCM_NONCE_LEN, GCM_TAG_LEN,
};
use crate::crypto::keys::{self, KeyMaterial};
use crate::crypto::mac::{
    self, MacAlgorithm, MacConstruction, MacJob, MacOutput, MacSetupError, RecordMac,
};
use crate::crypto::prf::PrfError;
use crate::crypto::secret::MasterSecret;
use crate::crypto::transcript::Sender;
use crate::wire::record::{MAX_CIPHERTEXT, MAX_PLAINTEXT};
use crate::wire::suites::{self, BulkCipher, CipherKind, Mac, SuiteInfo};
use crate::wire::{AlertDescription, Codec, ContentType, ProtocolVersion, RecordHeader};

/// Bytes of GCM explicit nonce per record (RFC 5288 §3).
const GCM_EXPLICIT_LEN: usize = 8;
/// Bytes of GCM salt from the key block (RFC 5288 §3).
const GCM_SALT_LEN: usize = 4;

/// Why a record did not open (or could not be sealed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The MAC or AEAD tag is wrong, or the CBC padding is, or the CBC
    /// ciphertext is not a whole number of blocks. These are deliberately
    /// one error: telling padding failures apart from MAC failures (TLS
    /// 1.0's decryption_failed) is the padding oracle of Vaudenay (2002).
    BadRecordMac,
    /// A fragment longer than 2^14 + 2048 bytes, or a plaintext longer than
    /// 2^14 once decrypted (RFC 5246 §6.2.1, §6.2.3); on sealing, a
    /// plaintext longer than 2^14.
    RecordOverflow,
    /// A fragment shorter than the suite's minimum (explicit IV or nonce,
    /// MAC or tag, one block), or a header length that disagrees with the
    /// fragment.
    DecodeError,
    /// 2^64 records went this way: the sequence number would wrap (RFC
    /// 5246 §6.1: renegotiate instead).
    SequenceExhausted,
}

impl RecordError {
    /// The alert for this error (RFC 5246 §7.2.2). Every decryption failure
    /// is `bad_record_mac`, in SSL 3.0 and TLS 1.0 too, for the reason
    /// given on [`Self::BadRecordMac`].
    pub fn alert(self) -> AlertDescription {
        match self {
            Self::BadRecordMac => AlertDescription::BadRecordMac,
            Self::RecordOverflow => AlertDescription::RecordOverflow,
            Self::DecodeError => AlertDescription::DecodeError,
            Self::SequenceExhausted => AlertDescription::InternalError,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadRecordMac => "bad record MAC (or padding)",
            Self::RecordOverflow => "record too long",
            Self::DecodeError => "record too short for its cipher suite",
            Self::SequenceExhausted => "sequence number exhausted",
        })
    }
}

impl std::error::Error for RecordError {}

/// Why a [`RecordProtection`] could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectionSetupError {
    UnknownSuite(u16),
    /// Only SSL 3.0 to TLS 1.2 records are protected here.
    UnsupportedVersion(ProtocolVersion),
    /// The suite's MAC is not one sslwalk implements (the GOST MACs).
    UnsupportedMac(Mac),
    Mac(MacSetupError),
    Cipher(CipherSetupError),
    /// A key or IV of the wrong length.
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// RFC 7366 encrypt-then-MAC is a TLS extension: there is no SSL 3.0
    /// form of it.
    EncryptThenMacWithSsl3,
    /// The key schedule has no derivation for this version and suite
    /// ([`protections`]).
    KeySchedule(PrfError),
}

impl fmt::Display for ProtectionSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSuite(code) => write!(f, "unknown cipher suite 0x{code:04x}"),
            Self::UnsupportedVersion(v) => write!(f, "no record protection for {v:?}"),
            Self::UnsupportedMac(m) => write!(f, "the {} MAC is not implemented", m.name()),
            Self::Mac(e) => e.fmt(f),
            Self::Cipher(e) => e.fmt(f),
            Self::Length {
                what,
                expected,
                got,
            } => write!(f, "{what} of {got} bytes, expected {expected}"),
            Self::EncryptThenMacWithSsl3 => {
                f.write_str("encrypt-then-MAC does not exist in SSL 3.0")
            }
            Self::KeySchedule(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ProtectionSetupError {}

impl From<MacSetupError> for ProtectionSetupError {
    fn from(e: MacSetupError) -> Self {
        Self::Mac(e)
    }
}

impl From<CipherSetupError> for ProtectionSetupError {
    fn from(e: CipherSetupError) -> Self {
        Self::Cipher(e)
    }
}

// -- Facts for narration --

/// How a record's integrity was protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// No MAC: the initial TLS_NULL_WITH_NULL_NULL state.
    None,
    /// A MAC. `verified` is true for an opened record (every record that
    /// opens passed its check) and false for a sealed one (computed).
    Mac {
        algorithm: MacAlgorithm,
        construction: MacConstruction,
        value: Vec<u8>,
        verified: bool,
    },
    /// The AEAD tag, with the same meaning of `verified`.
    AeadTag {
        tag: [u8; GCM_TAG_LEN],
        verified: bool,
    },
}

/// The IV or nonce a record used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IvUse {
    /// Null and stream ciphers have none.
    None,
    /// SSL 3.0 and TLS 1.0 CBC: not sent. The first record of a direction
    /// uses the IV from the key block (`from_key_block`), each later one
    /// the last ciphertext block of the record before it.
    CbcImplicit { iv: Vec<u8>, from_key_block: bool },
    /// TLS 1.1+ CBC: a fresh IV sent in front of the record.
    CbcExplicit { iv: Vec<u8> },
    /// GCM: the 4-byte salt from the key block and the 8 bytes sent.
    GcmNonce {
        salt: [u8; GCM_SALT_LEN],
        explicit: [u8; GCM_EXPLICIT_LEN],
    },
    /// TLS 1.3 (RFC 8446 §5.3): the write IV XOR the sequence number,
    /// nothing sent.
    Tls13Nonce { nonce: [u8; GCM_NONCE_LEN] },
}

/// Which CBC padding bytes a version checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddingCheck {
    /// SSL 3.0 (RFC 6101 §5.2.3.2): only `padding_length < block size`;
    /// the padding bytes themselves are arbitrary and unchecked, which is
    /// what POODLE (CVE-2014-3566) exploits.
    LengthOnly,
    /// TLS (RFC 5246 §6.2.3.2): every padding byte equals the length.
    EveryByte,
}

impl PaddingCheck {
    /// The one dispatcher by version.
    pub fn for_version(version: ProtocolVersion) -> Self {
        if version == ProtocolVersion::SSLv3 {
            Self::LengthOnly
        } else {
            Self::EveryByte
        }
    }

    /// Whether records are open to the POODLE padding oracle.
    pub fn poodle_exposed(self) -> bool {
        self == Self::LengthOnly
    }
}

/// The CBC padding of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaddingFacts {
    /// The `padding_length` byte: padding bytes before it.
    pub length: u8,
    pub check: PaddingCheck,
}

/// The crypto of one record, for narration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFacts {
    pub seq: u64,
    pub cipher: BulkCipher,
    pub integrity: Integrity,
    pub iv: IvUse,
    /// CBC only.
    pub padding: Option<PaddingFacts>,
    /// RFC 7366 applied to this record (CBC suites only).
    pub encrypt_then_mac: bool,
}

/// A record that opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub plaintext: Vec<u8>,
    pub facts: RecordFacts,
}

/// A record that was sealed: header and fragment, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub record: Vec<u8>,
    pub facts: RecordFacts,
}

/// Splits outgoing data into record-sized pieces of at most 2^14 bytes
/// (RFC 5246 §6.2.1). Empty data gives no piece: a caller that means to
/// send an empty record seals one itself.
pub fn fragments(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.chunks(MAX_PLAINTEXT)
}

/// Both directions' record protection from the master secret (RFC 5246
/// §6.3: the key block, cut into MAC keys, write keys and IVs, with the
/// export derivation where the suite asks for it), as (client write,
/// server write). The one place the engine and the passive observer turn
/// a master secret into record protection.
pub fn protections(
    version: ProtocolVersion,
    suite: &SuiteInfo,
    master: &MasterSecret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    encrypt_then_mac: bool,
) -> Result<(RecordProtection, RecordProtection), ProtectionSetupError> {
    let km = keys::key_material(version, suite, master, client_random, server_random)
        .map_err(ProtectionSetupError::KeySchedule)?;
    protections_from_keys(version, suite, &km, encrypt_then_mac)
}

/// [`protections`] from key material already derived (an observer that
/// also shows the keys derives them once).
pub fn protections_from_keys(
    version: ProtocolVersion,
    suite: &SuiteInfo,
    km: &KeyMaterial,
    encrypt_then_mac: bool,
) -> Result<(RecordProtection, RecordProtection), ProtectionSetupError> {
    let make = |sender| {
        let k = km.for_sender(sender);
        RecordProtection::new(
            version,
            suite,
            k.mac_key.expose(),
            k.key.expose(),
            k.iv.expose(),
            encrypt_then_mac,
        )
    };
    Ok((make(Sender::Client)?, make(Sender::Server)?))
}

// -- TLS 1.3 --

/// A TLS 1.3 record that opened: its real content type, found at the end
/// of the inner plaintext, and the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened13 {
    pub content_type: ContentType,
    pub plaintext: Vec<u8>,
    pub facts: RecordFacts,
}

/// The protection of one direction of TLS 1.3 traffic under one traffic
/// secret (RFC 8446 §5.2, §5.3), for a decoder: AES-GCM only.
///
/// `TLSCiphertext.encrypted_record = AEAD(TLSInnerPlaintext)` with the
/// record header as additional data and the nonce `iv XOR seq` (the 64-bit
/// sequence number left-padded to the IV length); `TLSInnerPlaintext =
/// content + ContentType type + zeros`. Sequence numbers restart at 0 with
/// each new key.
pub struct Tls13Protection {
    cipher: BulkCipher,
    gcm: crate::crypto::cipher::GcmCipher,
    iv: [u8; GCM_NONCE_LEN],
    next_seq: u64,
}

impl fmt::Debug for Tls13Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls13Protection")
            .field("cipher", &self.cipher)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Tls13Protection {
    /// Protection with `suite`'s AEAD, keyed with a traffic secret's key and
    /// IV (`crypto::tls13::traffic_keys`).
    pub fn new(suite: &SuiteInfo, key: &[u8], iv: &[u8]) -> Result<Self, ProtectionSetupError> {
        let RecordCipher::Aead(gcm) = RecordCipher::new(suite.cipher, key)? else {
            return Err(ProtectionSetupError::Cipher(CipherSetupError::Unsupported(
                suite.cipher,
            )));
        };
        expect_len("IV", GCM_NONCE_LEN, iv.len())?;
        Ok(Self {
            cipher: suite.cipher,
            gcm,
            iv: iv.try_into().expect("12 bytes"),
            next_seq: 0,
        })
    }

    /// Opens one record (its header is the additional data). On failure
    /// the sequence number still moves on, as for [`RecordProtection::open`].
    pub fn open(
        &mut self,
        header: &RecordHeader,
        fragment: &[u8],
    ) -> Result<Opened13, RecordError> {
        if fragment.len() > MAX_CIPHERTEXT {
            return Err(RecordError::RecordOverflow);
        }
        let seq = self.next_seq;
        self.next_seq = seq.checked_add(1).ok_or(RecordError::SequenceExhausted)?;
        if header.length as usize != fragment.len() || fragment.len() < GCM_TAG_LEN + 1 {
            return Err(RecordError::DecodeError);
        }
        let mut nonce = self.iv;
        for (n, s) in nonce[GCM_NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        let (ciphertext, tag) = fragment.split_at(fragment.len() - GCM_TAG_LEN);
        let tag: [u8; GCM_TAG_LEN] = tag.try_into().expect("16");
        let mut data = ciphertext.to_vec();
        self.gcm
            .open(&nonce, &header.to_bytes(), &mut data, &tag)
            .map_err(|_| RecordError::BadRecordMac)?;
        // RFC 8446 §5.4: the content type is the last non-zero byte.
        let Some(end) = data.iter().rposition(|&b| b != 0) else {
            return Err(RecordError::DecodeError);
        };
        let content_type = ContentType(data[end]);
        data.truncate(end);
        if data.len() > MAX_PLAINTEXT {
            return Err(RecordError::RecordOverflow);
        }
        Ok(Opened13 {
            content_type,
            plaintext: data,
            facts: RecordFacts {
                seq,
                cipher: self.cipher,
                integrity: Integrity::AeadTag {
                    tag,
                    verified: true,
                },
                iv: IvUse::Tls13Nonce { nonce },
                padding: None,
                encrypt_then_mac: false,
            },
        })
    }
}

// -- The protection state --

#[derive(Clone, PartialEq, Eq)]
enum IvState {
    None,
    /// SSL 3.0 / TLS 1.0: the next record's IV, and whether it is still
    /// the one from the key block.
    Implicit {
        next: Vec<u8>,
        from_key_block: bool,
    },
    Explicit,
    GcmSalt([u8; GCM_SALT_LEN]),
}

/// Which keys a [`RecordProtection`] was made with, so that a clone's work
/// is taken over only by a protection with the same keys: a fingerprint
/// of everything [`RecordProtection::new`] was given (64 bits of SHA-256),
/// the same for two protections made apart from the same keys (the
/// observer's, and the one the capture reader derives for itself from
/// the hellos and a key log, see `capture::ahead`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyingId(u64);

impl KeyingId {
    fn of(
        version: ProtocolVersion,
        suite: &SuiteInfo,
        keys: [&[u8]; 3],
        encrypt_then_mac: bool,
    ) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(version.0.to_be_bytes());
        h.update(suite.code.to_be_bytes());
        h.update([u8::from(encrypt_then_mac)]);
        for key in keys {
            // Length-prefixed, so that no two key triples hash alike.
            h.update((key.len() as u32).to_be_bytes());
            h.update(key);
        }
        let digest = h.finalize();
        Self(u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")))
    }
}

/// Where a direction's protection stands between two records: its keys,
/// and all that a record moves on (the sequence number, the CBC chain of
/// SSL 3.0 and TLS 1.0, the RC4 keystream). Opening a record is a function
/// of the progress and the record alone, so a clone that opened records
/// on another thread hands its progress back with what it opened, and
/// the original, found at the progress the clone started from, takes
/// both over ([`RecordProtection::is_at`], [`RecordProtection::resume`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Progress {
    keying: KeyingId,
    next_seq: Option<u64>,
    iv: IvState,
    keystream: Option<Rc4Cipher>,
}

impl fmt::Debug for Progress {
    // The chaining IV and the keystream state are secrets: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("keying", &self.keying)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// The protection of one direction after ChangeCipherSpec. A clone has the
/// same keys and progress, and goes on independently.
#[derive(Clone)]
pub struct RecordProtection {
    keying: KeyingId,
    version: ProtocolVersion,
    cipher_id: BulkCipher,
    /// Shared with the records it has yet to check ([`PendingOpen`]).
    mac: Option<Arc<RecordMac>>,
    cipher: RecordCipher,
    iv: IvState,
    encrypt_then_mac: bool,
    /// `None` once 2^64 records have gone this way.
    next_seq: Option<u64>,
}

impl fmt::Debug for RecordProtection {
    // Keys, IVs and cipher states are secrets: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordProtection")
            .field("version", &self.version)
            .field("cipher", &self.cipher_id)
            .field("mac", &self.mac.as_deref().map(|m| m.algorithm()))
            .field("encrypt_then_mac", &self.encrypt_then_mac)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl RecordProtection {
    /// Protection for `version` with `suite`'s cipher and MAC, keyed with
    /// one direction's write keys from the key block (RFC 5246 §6.3):
    ///
    /// - `mac_key`: the MAC write key (empty for AEAD and NULL-MAC suites);
    /// - `enc_key`: the write key, expanded for export suites;
    /// - `iv`: the write IV: one block for CBC in SSL 3.0 and TLS 1.0 (in
    ///   TLS 1.1+ CBC ignores it, and it may be empty), the 4-byte salt for
    ///   GCM, empty otherwise.
    ///
    /// `encrypt_then_mac` is RFC 7366 as negotiated; it applies to CBC
    /// suites only (RFC 7366 §3 has no form for stream or AEAD ciphers, so
    /// the flag is ignored for them). The version decides the MAC
    /// construction, the IV handling and the padding check; it need not be
    /// one the suite is defined for (a tester may deviate on purpose), as
    /// long as the combination means something.
    pub fn new(
        version: ProtocolVersion,
        suite: &SuiteInfo,
        mac_key: &[u8],
        enc_key: &[u8],
        iv: &[u8],
        encrypt_then_mac: bool,
    ) -> Result<Self, ProtectionSetupError> {
        if !(ProtocolVersion::SSLv3..=ProtocolVersion::TLSv1_2).contains(&version) {
            return Err(ProtectionSetupError::UnsupportedVersion(version));
        }
        // The flag as it applies (below), so that it counts only where it
        // changes anything.
        let etm_applies = encrypt_then_mac && suite.cipher.kind() == CipherKind::Block;
        let keying = KeyingId::of(version, suite, [mac_key, enc_key, iv], etm_applies);
        let cipher = RecordCipher::new(suite.cipher, enc_key)?;
        let mac = match suite.mac {
            Mac::Null | Mac::Aead => {
                expect_len("MAC key", 0, mac_key.len())?;
                None
            }
            other => {
                let algorithm = MacAlgorithm::from_suite(other)
                    .ok_or(ProtectionSetupError::UnsupportedMac(other))?;
                Some(Arc::new(RecordMac::new(version, algorithm, mac_key)?))
            }
        };
        let kind = suite.cipher.kind();
        let explicit_iv = version >= ProtocolVersion::TLSv1_1;
        let iv = match kind {
            CipherKind::Null | CipherKind::Stream => {
                expect_len("IV", 0, iv.len())?;
                IvState::None
            }
            CipherKind::Block if explicit_iv => {
                if !iv.is_empty() {
                    expect_len("IV", suite.cipher.block_size(), iv.len())?;
                }
                IvState::Explicit
            }
            CipherKind::Block => {
                expect_len("IV", suite.cipher.block_size(), iv.len())?;
                IvState::Implicit {
                    next: iv.to_vec(),
                    from_key_block: true,
                }
            }
            CipherKind::Aead => {
                expect_len("GCM salt", GCM_SALT_LEN, iv.len())?;
                IvState::GcmSalt(iv.try_into().expect("4 bytes"))
            }
        };
        let encrypt_then_mac = etm_applies;
        if encrypt_then_mac && version == ProtocolVersion::SSLv3 {
            return Err(ProtectionSetupError::EncryptThenMacWithSsl3);
        }
        Ok(Self {
            keying,
            version,
            cipher_id: suite.cipher,
            mac,
            cipher,
            iv,
            encrypt_then_mac,
            next_seq: Some(0),
        })
    }

    /// [`Self::new`] with the suite given by its code.
    pub fn for_suite_code(
        version: ProtocolVersion,
        code: u16,
        mac_key: &[u8],
        enc_key: &[u8],
        iv: &[u8],
        encrypt_then_mac: bool,
    ) -> Result<Self, ProtectionSetupError> {
        let suite = suites::lookup(code).ok_or(ProtectionSetupError::UnknownSuite(code))?;
        Self::new(version, suite, mac_key, enc_key, iv, encrypt_then_mac)
    }

    /// The sequence number of the next record, or `None` when exhausted.
    pub fn sequence_number(&self) -> Option<u64> {
        self.next_seq
    }

    /// Sets the next sequence number: for testers that skip or replay on
    /// purpose, and for observers that join a direction late.
    pub fn set_sequence_number(&mut self, seq: u64) {
        self.next_seq = Some(seq);
    }

    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The keys this protection (or the one it was cloned from) was made
    /// with.
    pub fn keying(&self) -> KeyingId {
        self.keying
    }

    /// Where this protection stands: see [`Progress`].
    pub fn progress(&self) -> Progress {
        Progress {
            keying: self.keying,
            next_seq: self.next_seq,
            iv: self.iv.clone(),
            keystream: match &self.cipher {
                RecordCipher::Stream(rc4) => Some(rc4.clone()),
                _ => None,
            },
        }
    }

    /// Whether this protection stands at `progress` (without copying its
    /// own).
    pub fn is_at(&self, progress: &Progress) -> bool {
        self.keying == progress.keying
            && self.next_seq == progress.next_seq
            && self.iv == progress.iv
            && match (&self.cipher, &progress.keystream) {
                (RecordCipher::Stream(rc4), Some(k)) => rc4 == k,
                (RecordCipher::Stream(_), None) | (_, Some(_)) => false,
                (_, None) => true,
            }
    }

    /// Moves on to `progress`, which a clone of this protection reached;
    /// `false`, and nothing changed, for another keying's.
    pub fn resume(&mut self, progress: Progress) -> bool {
        if progress.keying != self.keying {
            return false;
        }
        self.next_seq = progress.next_seq;
        self.iv = progress.iv;
        if let (RecordCipher::Stream(rc4), Some(k)) = (&mut self.cipher, progress.keystream) {
            *rc4 = k;
        }
        true
    }

    /// Moves on to `after` when at `before`: a clone of this protection
    /// opened the record between. Whether it was at `before`.
    pub fn resume_from(&mut self, before: &Progress, after: &Progress) -> bool {
        self.is_at(before) && self.resume(after.clone())
    }

    /// How many bytes from the end of a record's fragment the next
    /// record's IV comes from, where records chain (SSL 3.0 and TLS 1.0
    /// CBC: the last ciphertext block, followed by the MAC under
    /// encrypt-then-MAC); `None` where they do not.
    pub fn chain_tail_len(&self) -> Option<usize> {
        match &self.iv {
            IvState::Implicit { next, .. } => {
                let mac = if self.encrypt_then_mac {
                    self.mac.as_deref().map_or(0, RecordMac::len)
                } else {
                    0
                };
                Some(next.len() + mac)
            }
            _ => None,
        }
    }

    /// Sets the CBC chain from `tail`, the last [`Self::chain_tail_len`]
    /// bytes (or more) of the fragment of the record before: for a clone
    /// that joins a direction where records went by without it. `false`,
    /// and nothing changed, where records do not chain or `tail` is short.
    pub fn set_chain(&mut self, tail: &[u8]) -> bool {
        let Some(need) = self.chain_tail_len() else {
            return false;
        };
        if tail.len() < need {
            return false;
        }
        let IvState::Implicit {
            next,
            from_key_block,
        } = &mut self.iv
        else {
            return false;
        };
        let start = tail.len() - need;
        let bs = next.len();
        next.copy_from_slice(&tail[start..start + bs]);
        *from_key_block = false;
        true
    }

    /// Whether a keystream runs on from record to record (RC4).
    pub fn is_stream(&self) -> bool {
        matches!(self.cipher, RecordCipher::Stream(_))
    }

    /// Moves the keystream on by `bytes` without decrypting anything: for
    /// a clone that joins a direction where that many fragment bytes went
    /// by without it. Costs what decrypting them would.
    pub fn skip_keystream(&mut self, mut bytes: u64) {
        if let RecordCipher::Stream(rc4) = &mut self.cipher {
            let mut scratch = [0u8; 4096];
            while bytes > 0 {
                let n = bytes.min(scratch.len() as u64) as usize;
                rc4.apply(&mut scratch[..n]);
                bytes -= n as u64;
            }
        }
    }

    pub fn cipher(&self) -> BulkCipher {
        self.cipher_id
    }

    /// Whether many records are opened faster together
    /// ([`open_pending`](Self::open_pending), [`finish_all`]) than one by
    /// one: a MAC-then-encrypt MAC that runs in lanes.
    pub fn finishes_faster_together(&self) -> bool {
        !self.encrypt_then_mac && self.mac.as_deref().is_some_and(RecordMac::runs_in_lanes)
    }

    pub fn encrypt_then_mac(&self) -> bool {
        self.encrypt_then_mac
    }

    fn padding_check(&self) -> PaddingCheck {
        PaddingCheck::for_version(self.version)
    }

    fn take_seq(&self) -> Result<u64, RecordError> {
        self.next_seq.ok_or(RecordError::SequenceExhausted)
    }

    /// Counts a record as consumed; past 2^64 − 1 the direction is spent.
    fn advance(&mut self, seq: u64) {
        self.next_seq = seq.checked_add(1);
    }

    fn integrity_of(&self, value: &[u8], verified: bool) -> Integrity {
        integrity_of(self.mac.as_deref(), value, verified)
    }

    // -- Sealing --

    /// Seals `plaintext` (at most 2^14 bytes) into a whole record, header
    /// included. `rng` supplies the explicit CBC IVs of TLS 1.1+.
    pub fn seal<R: RngCore + ?Sized>(
        &mut self,
        content_type: ContentType,
        record_version: ProtocolVersion,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, RecordError> {
        Ok(self
            .seal_record(content_type, record_version, plaintext, rng)?
            .record)
    }

    /// [`Self::seal`], with the record's crypto facts.
    pub fn seal_record<R: RngCore + ?Sized>(
        &mut self,
        content_type: ContentType,
        record_version: ProtocolVersion,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Sealed, RecordError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(RecordError::RecordOverflow);
        }
        let seq = self.take_seq()?;
        let mut record = Vec::with_capacity(RecordHeader::LEN + plaintext.len() + 128);
        record.extend_from_slice(&[0; RecordHeader::LEN]);
        let mut facts = RecordFacts {
            seq,
            cipher: self.cipher_id,
            integrity: Integrity::None,
            iv: IvUse::None,
            padding: None,
            encrypt_then_mac: self.encrypt_then_mac,
        };
        let padding_check = self.padding_check();
        let encrypt_then_mac = self.encrypt_then_mac;
        let Self {
            mac, cipher, iv, ..
        } = self;
        let mac = mac.as_deref();
        match cipher {
            RecordCipher::Null | RecordCipher::Stream(_) => {
                let start = record.len();
                record.extend_from_slice(plaintext);
                if let Some(m) = mac {
                    let tag = m.compute(seq, content_type, record_version, &[plaintext]);
                    record.extend_from_slice(tag.as_ref());
                    facts.integrity = integrity_of(mac, tag.as_ref(), false);
                }
                if let RecordCipher::Stream(rc4) = cipher {
                    rc4.apply(&mut record[start..]);
                }
            }
            RecordCipher::Block(cbc) => {
                let bs = cbc.block_size();
                let m = mac.expect("CBC suites have a MAC");
                let iv_bytes = match &*iv {
                    IvState::Implicit {
                        next,
                        from_key_block,
                    } => {
                        facts.iv = IvUse::CbcImplicit {
                            iv: next.clone(),
                            from_key_block: *from_key_block,
                        };
                        next.clone()
                    }
                    _ => {
                        // TLS 1.1+ (RFC 4346 §6.2.3.2): a fresh
                        // unpredictable IV per record. Why: with the
                        // chained IV of TLS 1.0 an attacker knows the IV
                        // of the next record before choosing its
                        // plaintext (BEAST).
                        let mut iv = vec![0u8; bs];
                        rng.fill_bytes(&mut iv);
                        record.extend_from_slice(&iv);
                        facts.iv = IvUse::CbcExplicit { iv: iv.clone() };
                        iv
                    }
                };
                let start = record.len();
                record.extend_from_slice(plaintext);
                let mut tag = None;
                if !encrypt_then_mac {
                    let t = m.compute(seq, content_type, record_version, &[plaintext]);
                    record.extend_from_slice(t.as_ref());
                    tag = Some(t);
                }
                // Send the minimum padding (RFC 5246 allows up to 255
                // bytes to hide lengths; sslwalk does not).
                let unpadded = record.len() - start + 1;
                let pad = (bs - unpadded % bs) % bs;
                record.extend(std::iter::repeat_n(pad as u8, pad + 1));
                cbc.encrypt(&iv_bytes, &mut record[start..]);
                if let IvState::Implicit {
                    next,
                    from_key_block,
                } = iv
                {
                    next.copy_from_slice(&record[record.len() - bs..]);
                    *from_key_block = false;
                }
                if encrypt_then_mac {
                    // RFC 7366 §3: the MAC covers IV + ciphertext, and
                    // the length field is theirs.
                    let covered = &record[RecordHeader::LEN..];
                    let t = m.compute(seq, content_type, record_version, &[covered]);
                    record.extend_from_slice(t.as_ref());
                    tag = Some(t);
                }
                let tag = tag.expect("MAC computed");
                facts.integrity = integrity_of(mac, tag.as_ref(), false);
                facts.padding = Some(PaddingFacts {
                    length: pad as u8,
                    check: padding_check,
                });
            }
            RecordCipher::Aead(gcm) => {
                let IvState::GcmSalt(salt) = *iv else {
                    unreachable!("GCM keeps a salt")
                };
                // RFC 5288 §3 lets the sender choose the explicit nonce as
                // long as it never repeats under a key; the sequence
                // number is the usual choice and cannot repeat.
                let explicit = seq.to_be_bytes();
                let nonce = gcm_nonce(&salt, &explicit);
                let aad = aead_aad(seq, content_type, record_version, plaintext.len());
                record.extend_from_slice(&explicit);
                let start = record.len();
                record.extend_from_slice(plaintext);
                let tag = gcm.seal(&nonce, &aad, &mut record[start..]);
                record.extend_from_slice(&tag);
                facts.iv = IvUse::GcmNonce { salt, explicit };
                facts.integrity = Integrity::AeadTag {
                    tag,
                    verified: false,
                };
            }
        }
        let length = record.len() - RecordHeader::LEN;
        debug_assert!(length <= MAX_CIPHERTEXT);
        let header = RecordHeader {
            content_type,
            version: record_version,
            length: length as u16,
        };
        record[..RecordHeader::LEN].copy_from_slice(&header.to_bytes());
        self.advance(seq);
        Ok(Sealed { record, facts })
    }

    // -- Opening --

    /// Opens one record: checks and strips the protection and returns the
    /// plaintext with the record's crypto facts.
    ///
    /// Invariants:
    /// - a record that returns `Ok` had a valid MAC (or tag) and padding,
    ///   and a plaintext of at most 2^14 bytes;
    /// - `RecordOverflow` for a fragment over 2^14 + 2048 bytes and
    ///   `DecodeError` for one shorter than the suite's minimum (or not the
    ///   header's length) are found before any decryption, and leave the
    ///   state untouched;
    /// - any other error comes after the record was consumed: the
    ///   sequence number, the RC4 keystream and the CBC chaining IV have
    ///   moved on as if it had opened, so an observer may try the next
    ///   record (a peer would have sent a fatal alert).
    ///
    /// `fragment` may be borrowed or owned; an owned one is decrypted in
    /// place (RC4, GCM), saving a copy of the record.
    pub fn open<'f>(
        &mut self,
        header: &RecordHeader,
        fragment: impl Into<Cow<'f, [u8]>>,
    ) -> Result<Opened, RecordError> {
        self.open_pending(header, fragment)?.finish()
    }

    /// [`open`](Self::open) but for the MAC check of a MAC-then-encrypt
    /// record, which [`PendingOpen::finish`] (one record) or
    /// [`finish_all`] (many, side by side) completes. The state moves on
    /// here, as `open` would move it; an `Err` here is one that `open`
    /// finds before any decryption (the state untouched), and any other
    /// comes from the finish.
    pub fn open_pending<'f>(
        &mut self,
        header: &RecordHeader,
        fragment: impl Into<Cow<'f, [u8]>>,
    ) -> Result<PendingOpen, RecordError> {
        self.open_pending_in(header, fragment, Vec::new())
    }

    /// [`open_pending`](Self::open_pending), the plaintext written into
    /// `room` (when it has the room) rather than a new buffer: for a
    /// decoder that opens records on one thread and frees them on another,
    /// which is costly when the buffers were made on the first (see
    /// `capture::pipeline`).
    pub fn open_pending_in<'f>(
        &mut self,
        header: &RecordHeader,
        fragment: impl Into<Cow<'f, [u8]>>,
        mut room: Vec<u8>,
    ) -> Result<PendingOpen, RecordError> {
        let mut fragment = fragment.into();
        let block = matches!(self.cipher, RecordCipher::Block(_));
        if let (Cow::Borrowed(b), false) = (&fragment, block) {
            // Stream and AEAD ciphers decrypt in place.
            if room.capacity() >= b.len() {
                room.clear();
                room.extend_from_slice(b);
                fragment = Cow::Owned(std::mem::take(&mut room));
            }
        }
        if fragment.len() > MAX_CIPHERTEXT {
            return Err(RecordError::RecordOverflow);
        }
        if header.length as usize != fragment.len() {
            return Err(RecordError::DecodeError);
        }
        let seq = self.take_seq()?;
        let result = match &self.cipher {
            RecordCipher::Null | RecordCipher::Stream(_) => self.open_stream(seq, header, fragment),
            RecordCipher::Block(_) if self.encrypt_then_mac => self
                .open_cbc_encrypt_then_mac(seq, header, &fragment, room)
                .map(Pending::Done),
            RecordCipher::Block(_) => self.open_cbc(seq, header, &fragment, room),
            RecordCipher::Aead(_) => self.open_gcm(seq, header, fragment).map(Pending::Done),
        };
        match result {
            Err(Early(e)) => Err(e),
            Ok(pending) => {
                self.advance(seq);
                Ok(PendingOpen(pending))
            }
            Err(Consumed(e)) => {
                self.advance(seq);
                Ok(PendingOpen(Pending::Failed(e)))
            }
        }
    }

    fn facts(&self, seq: u64) -> RecordFacts {
        RecordFacts {
            seq,
            cipher: self.cipher_id,
            integrity: Integrity::None,
            iv: IvUse::None,
            padding: None,
            encrypt_then_mac: self.encrypt_then_mac,
        }
    }

    /// Null and stream ciphers: `ENC(content + MAC)`.
    fn open_stream(
        &mut self,
        seq: u64,
        header: &RecordHeader,
        fragment: Cow<[u8]>,
    ) -> Result<Pending, OpenFailure> {
        let mac_len = self.mac.as_deref().map_or(0, RecordMac::len);
        if fragment.len() < mac_len {
            return Err(Early(RecordError::DecodeError));
        }
        let mut data = fragment.into_owned();
        if let RecordCipher::Stream(rc4) = &mut self.cipher {
            rc4.apply(&mut data);
        }
        let facts = self.facts(seq);
        let Some(mac) = &self.mac else {
            return Ok(Pending::Done(Opened {
                plaintext: data,
                facts,
            }));
        };
        let content_len = data.len() - mac_len;
        let mut received = [0u8; 48];
        received[..mac_len].copy_from_slice(&data[content_len..]);
        Ok(Pending::Mac(Box::new(MacToCheck {
            mac: Arc::clone(mac),
            header: *header,
            content_len,
            unmacked: data.len(),
            received,
            pad_good: 0xff,
            data,
            facts,
        })))
    }

    /// The IV for the next CBC record and where it comes from; for the
    /// implicit IV, moves the chain on to `last_block` of this record.
    fn take_cbc_iv(&mut self, fragment: &[u8], bs: usize, body: &[u8]) -> (Vec<u8>, IvUse) {
        match &mut self.iv {
            IvState::Implicit {
                next,
                from_key_block,
            } => {
                let iv = next.clone();
                let used = IvUse::CbcImplicit {
                    iv: iv.clone(),
                    from_key_block: *from_key_block,
                };
                next.copy_from_slice(&body[body.len() - bs..]);
                *from_key_block = false;
                (iv, used)
            }
            _ => {
                let iv = fragment[..bs].to_vec();
                (iv.clone(), IvUse::CbcExplicit { iv })
            }
        }
    }

    /// CBC, MAC-then-encrypt:
    /// `[IV +] ENC(content + MAC + padding + padding_length)`.
    ///
    /// Why so careful: a receiver that answers bad padding sooner (or
    /// differently) than a bad MAC is a padding oracle that decrypts
    /// records (Vaudenay 2002; POODLE for SSL 3.0), and one whose MAC
    /// check takes time that depends on the padding length leaks the same
    /// way, more faintly (Lucky 13, AlFardan and Paterson 2013). So:
    /// - padding and MAC failures are one error, decided after both checks;
    /// - the padding bytes are checked in constant time (a fixed scan of
    ///   the last 256 bytes, masks instead of branches);
    /// - the MAC is always computed; with bad padding it is computed as if
    ///   the padding were empty (RFC 5246 §6.2.3.2 implementation note);
    /// - the received MAC is copied out of its padding-dependent position
    ///   by a fixed scan and a constant-time rotation;
    /// - the bytes the MAC did not cover go through a throw-away hash, so
    ///   the hashing work barely depends on the padding length. This is
    ///   not byte-exact (the two hashes can differ by a compression block
    ///   from the real and dummy halves' alignment); sslwalk is an
    ///   inspector, not a server to harden against a local timing attacker.
    fn open_cbc(
        &mut self,
        seq: u64,
        header: &RecordHeader,
        fragment: &[u8],
        room: Vec<u8>,
    ) -> Result<Pending, OpenFailure> {
        let RecordCipher::Block(cbc) = &self.cipher else {
            unreachable!()
        };
        let bs = cbc.block_size();
        let mac_len = self.mac.as_deref().expect("CBC suites have a MAC").len();
        let iv_len = self.explicit_iv_len(bs);
        // At least one block, holding the MAC and the padding length byte.
        let min = iv_len + (mac_len + 1).div_ceil(bs) * bs;
        if fragment.len() < min {
            return Err(Early(RecordError::DecodeError));
        }
        let body = &fragment[iv_len..];
        if !body.len().is_multiple_of(bs) {
            // RFC 5246 §7.2.2: "either it wasn't an even multiple of the
            // block length" → bad_record_mac. The length is public, so
            // answering at once leaks nothing.
            return Err(Early(RecordError::BadRecordMac));
        }
        let (iv, iv_use) = self.take_cbc_iv(fragment, bs, body);
        let RecordCipher::Block(cbc) = &self.cipher else {
            unreachable!()
        };
        let mut data = room;
        data.clear();
        data.resize(body.len(), 0);
        cbc.decrypt(&iv, body, &mut data);

        let check = self.padding_check();
        let (pad, pad_good) = match check {
            PaddingCheck::LengthOnly => ssl3_padding_ok(&data, mac_len, bs),
            PaddingCheck::EveryByte => tls_padding_ok(&data, mac_len),
        };
        // With bad padding, MAC as if padding_length were 0.
        let stripped = ct_select(pad_good, pad + 1, 1);
        let content_len = data.len() - mac_len - stripped;
        let mut received = [0u8; 48];
        copy_mac_ct(&data, content_len, mac_len, &mut received);
        let mut facts = self.facts(seq);
        facts.iv = iv_use;
        facts.padding = Some(PaddingFacts {
            length: pad as u8,
            check,
        });
        Ok(Pending::Mac(Box::new(MacToCheck {
            mac: Arc::clone(self.mac.as_ref().expect("CBC suites have a MAC")),
            header: *header,
            content_len,
            unmacked: data.len() - stripped,
            received,
            pad_good,
            data,
            facts,
        })))
    }

    /// CBC, encrypt-then-MAC (RFC 7366 §3):
    /// `[IV +] ENC(content + padding + padding_length) + MAC(IV + ciphertext)`.
    /// The MAC is checked before anything is decrypted, which is the point
    /// of RFC 7366: no padding oracle, so no constant-time care is needed
    /// after it.
    fn open_cbc_encrypt_then_mac(
        &mut self,
        seq: u64,
        header: &RecordHeader,
        fragment: &[u8],
        room: Vec<u8>,
    ) -> OpenResult {
        let RecordCipher::Block(cbc) = &self.cipher else {
            unreachable!()
        };
        let bs = cbc.block_size();
        let mac_len = self.mac.as_deref().expect("CBC suites have a MAC").len();
        let iv_len = self.explicit_iv_len(bs);
        if fragment.len() < iv_len + bs + mac_len {
            return Err(Early(RecordError::DecodeError));
        }
        let (covered, tag) = fragment.split_at(fragment.len() - mac_len);
        let body = &covered[iv_len..];
        let whole_blocks = body.len() % bs == 0;
        let m = self.mac.as_deref().expect("CBC suites have a MAC");
        let mac_good = m.verify(seq, header.content_type, header.version, &[covered], tag);
        if !whole_blocks {
            // Not even the chain can move on: this record was not CBC.
            return Err(Consumed(RecordError::BadRecordMac));
        }
        let (iv, iv_use) = self.take_cbc_iv(fragment, bs, body);
        if !mac_good {
            return Err(Consumed(RecordError::BadRecordMac));
        }
        let RecordCipher::Block(cbc) = &self.cipher else {
            unreachable!()
        };
        let mut data = room;
        data.clear();
        data.resize(body.len(), 0);
        cbc.decrypt(&iv, body, &mut data);
        let (pad, pad_good) = tls_padding_ok(&data, 0);
        if pad_good != 0xff {
            return Err(Consumed(RecordError::BadRecordMac));
        }
        data.truncate(data.len() - pad - 1);
        let mut facts = self.facts(seq);
        facts.integrity = self.integrity_of(tag, true);
        facts.iv = iv_use;
        facts.padding = Some(PaddingFacts {
            length: pad as u8,
            check: PaddingCheck::EveryByte,
        });
        Ok(Opened {
            plaintext: data,
            facts,
        })
    }

    /// AES-GCM (RFC 5288 §3): `nonce_explicit + ciphertext + tag`.
    fn open_gcm(&mut self, seq: u64, header: &RecordHeader, fragment: Cow<[u8]>) -> OpenResult {
        let (RecordCipher::Aead(gcm), IvState::GcmSalt(salt)) = (&self.cipher, &self.iv) else {
            unreachable!()
        };
        if fragment.len() < GCM_EXPLICIT_LEN + GCM_TAG_LEN {
            return Err(Early(RecordError::DecodeError));
        }
        let explicit: [u8; GCM_EXPLICIT_LEN] = fragment[..GCM_EXPLICIT_LEN].try_into().expect("8");
        let (ciphertext, tag) =
            fragment[GCM_EXPLICIT_LEN..].split_at(fragment.len() - GCM_EXPLICIT_LEN - GCM_TAG_LEN);
        let tag: [u8; GCM_TAG_LEN] = tag.try_into().expect("16");
        let nonce = gcm_nonce(salt, &explicit);
        let aad = aead_aad(seq, header.content_type, header.version, ciphertext.len());
        let plaintext_len = ciphertext.len();
        // The record without its tag; the plaintext ends up at its start.
        let mut data = fragment.into_owned();
        data.truncate(GCM_EXPLICIT_LEN + plaintext_len);
        if gcm
            .open_within(&nonce, &aad, &mut data, GCM_EXPLICIT_LEN, &tag)
            .is_err()
        {
            return Err(Consumed(RecordError::BadRecordMac));
        }
        data.truncate(plaintext_len);
        let mut facts = self.facts(seq);
        facts.iv = IvUse::GcmNonce {
            salt: *salt,
            explicit,
        };
        facts.integrity = Integrity::AeadTag {
            tag,
            verified: true,
        };
        Ok(Opened {
            plaintext: data,
            facts,
        })
    }

    fn explicit_iv_len(&self, bs: usize) -> usize {
        match self.iv {
            IvState::Explicit => bs,
            _ => 0,
        }
    }
}

/// Whether an open failed before touching the state or after.
enum OpenFailure {
    Early(RecordError),
    Consumed(RecordError),
}
use OpenFailure::{Consumed, Early};

type OpenResult = Result<Opened, OpenFailure>;

/// A record [opened](RecordProtection::open_pending) but for its MAC
/// check.
pub struct PendingOpen(Pending);

enum Pending {
    /// Nothing left to check (no MAC, AEAD, encrypt-then-MAC).
    Done(Opened),
    /// Failed after the state moved on.
    Failed(RecordError),
    /// MAC-then-encrypt: the MAC to compute and compare.
    Mac(Box<MacToCheck>),
}

/// What the MAC check of a MAC-then-encrypt record needs, decided before
/// it (padding and where the MAC lies found in constant time, see
/// `open_cbc`).
struct MacToCheck {
    mac: Arc<RecordMac>,
    header: RecordHeader,
    /// The decrypted fragment: content, MAC, padding.
    data: Vec<u8>,
    /// Bytes of content: what the MAC covers.
    content_len: usize,
    /// Where the bytes the MAC did not cover start (Lucky 13 hashing).
    unmacked: usize,
    received: [u8; 48],
    /// 0xff when the padding was good (always, without padding).
    pad_good: u8,
    facts: RecordFacts,
}

impl MacToCheck {
    fn job(&self) -> MacJob<'_> {
        MacJob {
            mac: &self.mac,
            seq: self.facts.seq,
            content_type: self.header.content_type,
            version: self.header.version,
            content: &self.data[..self.content_len],
        }
    }

    /// Compares `computed` with the received MAC; padding and MAC
    /// failures are one error, decided after both (see `open_cbc`).
    fn conclude(self, computed: &MacOutput) -> Result<Opened, RecordError> {
        let MacToCheck {
            mac,
            mut data,
            content_len,
            received,
            pad_good,
            mut facts,
            ..
        } = self;
        let received = &received[..mac.len()];
        let mac_good = if mac::ct_eq(computed.as_ref(), received) {
            0xff
        } else {
            0
        };
        if pad_good & mac_good != 0xff {
            return Err(RecordError::BadRecordMac);
        }
        facts.integrity = integrity_of(Some(&mac), received, true);
        data.truncate(content_len);
        Ok(Opened {
            plaintext: data,
            facts,
        })
    }
}

impl PendingOpen {
    /// Whether nothing is left to check (AEAD, no MAC, encrypt-then-MAC,
    /// or failed already): [`finish`](Self::finish) alone costs nothing
    /// that [`finish_all`] would share.
    pub fn is_settled(&self) -> bool {
        !matches!(self.0, Pending::Mac(_))
    }

    /// Checks the MAC, alone: the result [`RecordProtection::open`] gives.
    pub fn finish(self) -> Result<Opened, RecordError> {
        let result = match self.0 {
            Pending::Done(opened) => Ok(opened),
            Pending::Failed(e) => Err(e),
            Pending::Mac(m) => {
                let computed = m.job().compute();
                m.mac.absorb_dummy(&m.data[m.unmacked..]);
                (*m).conclude(&computed)
            }
        };
        within_limit(result)
    }
}

/// Finishes many records at once: their MACs computed side by side
/// ([`mac::compute_many`]), each result what [`PendingOpen::finish`]
/// would give. The decoder's way: it has a batch of records in hand.
/// The bytes the MACs did not cover are not hashed for show, as one
/// record alone does against Lucky 13: a capture has no one timing it.
pub fn finish_all(pending: Vec<PendingOpen>) -> Vec<Result<Opened, RecordError>> {
    let jobs: Vec<MacJob<'_>> = pending
        .iter()
        .filter_map(|p| match &p.0 {
            Pending::Mac(m) => Some(m.job()),
            _ => None,
        })
        .collect();
    let mut computed = mac::compute_many(&jobs).into_iter();
    drop(jobs);
    pending
        .into_iter()
        .map(|p| {
            within_limit(match p.0 {
                Pending::Done(opened) => Ok(opened),
                Pending::Failed(e) => Err(e),
                Pending::Mac(m) => (*m).conclude(&computed.next().expect("one MAC per job")),
            })
        })
        .collect()
}

/// RFC 5246 §6.2.3: a plaintext over 2^14 bytes is a `record_overflow`
/// (the state has moved on: the record was consumed).
fn within_limit(result: Result<Opened, RecordError>) -> Result<Opened, RecordError> {
    match result {
        Ok(opened) if opened.plaintext.len() > MAX_PLAINTEXT => Err(RecordError::RecordOverflow),
        other => other,
    }
}

fn integrity_of(mac: Option<&RecordMac>, value: &[u8], verified: bool) -> Integrity {
    match mac {
        Some(m) => Integrity::Mac {
            algorithm: m.algorithm(),
            construction: m.construction(),
            value: value.to_vec(),
            verified,
        },
        None => Integrity::None,
    }
}

fn expect_len(what: &'static str, expected: usize, got: usize) -> Result<(), ProtectionSetupError> {
    if expected == got {
        Ok(())
    } else {
        Err(ProtectionSetupError::Length {
            what,
            expected,
            got,
        })
    }
}

/// RFC 5288 §3: `salt (4, from the key block) + nonce_explicit (8)`.
fn gcm_nonce(salt: &[u8; GCM_SALT_LEN], explicit: &[u8; GCM_EXPLICIT_LEN]) -> [u8; GCM_NONCE_LEN] {
    let mut nonce = [0u8; GCM_NONCE_LEN];
    nonce[..GCM_SALT_LEN].copy_from_slice(salt);
    nonce[GCM_SALT_LEN..].copy_from_slice(explicit);
    nonce
}

/// RFC 5246 §6.2.3.3: `additional_data = seq_num + TLSCompressed.type +
/// TLSCompressed.version + TLSCompressed.length` (the plaintext length).
fn aead_aad(seq: u64, content_type: ContentType, version: ProtocolVersion, len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8] = content_type.0;
    aad[9..11].copy_from_slice(&version.0.to_be_bytes());
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

// -- Constant-time helpers --
//
// Masks are 0xff (true) or 0x00 (false). Values compared are record
// offsets, far below 2^63, so the sign bit of a wrapping difference is the
// comparison. Safe Rust gives no hard guarantee that the optimiser keeps
// these branch-free; they are written so that it has no reason not to.

/// 0xff if `a < b`.
fn ct_lt(a: usize, b: usize) -> u8 {
    let diff = (a as u64).wrapping_sub(b as u64);
    0u8.wrapping_sub((diff >> 63) as u8)
}

/// 0xff if `a == b`.
fn ct_eq_usize(a: usize, b: usize) -> u8 {
    let x = (a ^ b) as u64;
    let nonzero = ((x | x.wrapping_neg()) >> 63) as u8;
    0u8.wrapping_sub(nonzero ^ 1)
}

/// `a` if the mask is 0xff, else `b`.
fn ct_select(mask: u8, a: usize, b: usize) -> usize {
    let m = mask as i8 as isize as usize;
    (a & m) | (b & !m)
}

/// TLS padding (RFC 5246 §6.2.3.2): the last byte is `padding_length` and
/// the `padding_length` bytes before it all equal it; `mac_len` more bytes
/// must fit before them. Returns the length and a mask, after the same
/// work whatever the padding.
fn tls_padding_ok(data: &[u8], mac_len: usize) -> (usize, u8) {
    let len = data.len();
    let pad = data[len - 1];
    let good = !ct_lt(len, pad as usize + 1 + mac_len);
    // A fixed scan of the last 256 bytes (or all of a shorter record),
    // written as a branch-free reduction so that it runs in vector lanes:
    // the byte `i` from the end is padding when `i <= pad`.
    let scan = len.min(256);
    let mut bad = 0u8;
    for (k, &b) in data[len - scan..].iter().enumerate() {
        let i = (scan - 1 - k) as u16;
        let in_padding = 0u8.wrapping_sub((u16::from(pad).wrapping_sub(i) >> 15) as u8 ^ 1);
        bad |= in_padding & (b ^ pad);
    }
    (pad as usize, good & ct_eq_usize(bad as usize, 0))
}

/// SSL 3.0 padding (RFC 6101 §5.2.3.2): only `padding_length < block
/// size` is checked; the padding bytes may be anything, so nothing checks
/// them. That is the POODLE weakness, kept because it is the protocol.
fn ssl3_padding_ok(data: &[u8], mac_len: usize, bs: usize) -> (usize, u8) {
    let len = data.len();
    let pad = data[len - 1] as usize;
    let good = ct_lt(pad, bs) & !ct_lt(len, pad + 1 + mac_len);
    (pad, good)
}

/// Copies `data[mac_start..mac_start + mac_len]` into `out` without an
/// access pattern that depends on `mac_start` (which depends on the
/// padding): every byte where the MAC could be is read, the MAC lands
/// rotated in a MAC-sized buffer, and the rotation is undone a power of
/// two at a time, each step taken or not by a mask.
fn copy_mac_ct(data: &[u8], mac_start: usize, mac_len: usize, out: &mut [u8; 48]) {
    // The length known at compile time lets the loops run in vector lanes.
    match mac_len {
        16 => copy_mac_ct_n::<16>(data, mac_start, out),
        20 => copy_mac_ct_n::<20>(data, mac_start, out),
        32 => copy_mac_ct_n::<32>(data, mac_start, out),
        48 => copy_mac_ct_n::<48>(data, mac_start, out),
        _ => unreachable!("record MACs (MacAlgorithm) are 16, 20, 32 or 48 bytes"),
    }
}

fn copy_mac_ct_n<const N: usize>(data: &[u8], mac_start: usize, out: &mut [u8; 48]) {
    let len = data.len();
    // The MAC ends before `padding_length`, with at most 255 padding bytes
    // before that; `open_cbc` ensured `len >= N + 1`.
    let max_pad = 255.min(len - N - 1);
    let scan_start = len - 1 - N - max_pad;
    // Where the MAC starts in the scanned window (secret); at most 255,
    // so every offset below fits an i32.
    let at = (mac_start - scan_start) as i32;
    let mut rotated = [0u8; N];
    let mut rotation = 0i32;
    // Window byte `t` lands in `rotated[t % N]`: taken N bytes at a time,
    // `t % N` is the index in the piece.
    for (piece, bytes) in data[scan_start..len - 1].chunks(N).enumerate() {
        let base = (piece * N) as i32;
        // The MAC's bytes in this piece are `lo..lo + N` (maybe none).
        let lo = at - base;
        // The piece that holds its first byte says how far it is rotated.
        let holds_first = !(lo >> 31) & ((lo - N as i32) >> 31);
        rotation |= lo & holds_first;
        for (r, (&b, slot)) in bytes.iter().zip(&mut rotated).enumerate() {
            let r = r as i32;
            // -1 when lo <= r < lo + N: two sign bits, no branch.
            let in_mac = !((r - lo) >> 31) & ((r - lo - N as i32) >> 31);
            *slot |= b & in_mac as u8;
        }
    }
    // `rotated[(rotation + k) % N]` is MAC byte k: rotate left by
    // `rotation` (< N < 64) one bit of it at a time.
    for bit in 0..6 {
        let shift = 1 << bit;
        if shift >= N {
            break;
        }
        let take = 0u8.wrapping_sub(((rotation >> bit) & 1) as u8);
        let before = rotated;
        for (k, slot) in rotated.iter_mut().enumerate() {
            *slot = (before[(k + shift) % N] & take) | (before[k] & !take);
        }
    }
    out[..N].copy_from_slice(&rotated);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const VERSIONS: [ProtocolVersion; 4] = [
        ProtocolVersion::SSLv3,
        ProtocolVersion::TLSv1_0,
        ProtocolVersion::TLSv1_1,
        ProtocolVersion::TLSv1_2,
    ];

    /// The classic suites of HANDSHAKE.md.
    const CLASSIC: [u16; 14] = [
        0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0008, 0x0009, 0x000A, 0x002F, 0x0035,
        0x003C, 0x009C, 0x009D,
    ];

    /// Every (suite, version, encrypt-then-MAC) combination to test: each
    /// classic suite at each version it belongs to, and CBC suites in TLS
    /// once more with RFC 7366.
    fn cases() -> Vec<(&'static SuiteInfo, ProtocolVersion, bool)> {
        let mut out = Vec::new();
        for code in CLASSIC {
            let suite = suites::lookup(code).unwrap();
            for v in VERSIONS {
                if !suite.allows(v) {
                    continue;
                }
                out.push((suite, v, false));
                if suite.cipher.kind() == CipherKind::Block && v != ProtocolVersion::SSLv3 {
                    out.push((suite, v, true));
                }
            }
        }
        out
    }

    fn key_bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| {
                seed.wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(7))
            })
            .collect()
    }

    /// A sender and a receiver sharing one direction's keys.
    fn pair(
        suite: &SuiteInfo,
        v: ProtocolVersion,
        etm: bool,
    ) -> (RecordProtection, RecordProtection) {
        pair_keyed(suite, v, etm, 1)
    }

    /// [`pair`] with keys made from `seed`.
    fn pair_keyed(
        suite: &SuiteInfo,
        v: ProtocolVersion,
        etm: bool,
        seed: u8,
    ) -> (RecordProtection, RecordProtection) {
        let c = suite.cipher;
        let iv_len = match c.kind() {
            CipherKind::Block if v >= ProtocolVersion::TLSv1_1 => 0,
            _ => c.iv_len(),
        };
        let mac_key = key_bytes(suite.mac.key_len(), seed);
        let enc_key = key_bytes(c.expanded_key_len(), seed + 1);
        let iv = key_bytes(iv_len, seed + 2);
        let make = || RecordProtection::new(v, suite, &mac_key, &enc_key, &iv, etm).unwrap();
        (make(), make())
    }

    fn header_of(record: &[u8]) -> RecordHeader {
        RecordHeader::parse(record[..5].try_into().unwrap())
    }

    fn open_record(rx: &mut RecordProtection, record: &[u8]) -> Result<Opened, RecordError> {
        rx.open(&header_of(record), &record[5..])
    }

    /// Re-frames a fragment with a header that matches its length.
    fn reframe(record: &[u8], fragment: &[u8]) -> Vec<u8> {
        let mut h = header_of(record);
        h.length = fragment.len() as u16;
        let mut out = h.to_bytes();
        out.extend_from_slice(fragment);
        out
    }

    fn name(suite: &SuiteInfo, v: ProtocolVersion, etm: bool) -> String {
        format!("{} {v:?}{}", suite.iana, if etm { " EtM" } else { "" })
    }

    fn payloads() -> Vec<(ContentType, Vec<u8>)> {
        let mut out = vec![
            (
                ContentType::Handshake,
                b"\x14\x00\x00\x0c0123456789ab".to_vec(),
            ),
            (ContentType::ApplicationData, Vec::new()),
            (ContentType::ApplicationData, b"x".to_vec()),
            (ContentType::Alert, vec![1, 0]),
        ];
        for len in [15usize, 16, 17, 31, 63, 64, 255, 1000] {
            out.push((ContentType::ApplicationData, key_bytes(len, len as u8)));
        }
        out.push((ContentType::ApplicationData, key_bytes(MAX_PLAINTEXT, 9)));
        out.push((ContentType::ApplicationData, b"last".to_vec()));
        out
    }

    /// Records opened pending and finished together (their MACs side by
    /// side) give exactly what opening each alone gives, in every suite
    /// and version, whatever room is given for the plaintext: the
    /// plaintexts and facts, and the errors of records with a flipped MAC,
    /// content or padding byte, among good ones.
    #[test]
    fn records_finished_together_are_records_opened_alone() {
        let mut rng = StdRng::seed_from_u64(8);
        for (suite, v, etm) in cases() {
            let what = name(suite, v, etm);
            let (mut tx, mut alone) = pair(suite, v, etm);
            let mut together = alone.clone();
            let mut records: Vec<Vec<u8>> = payloads()
                .into_iter()
                .map(|(ct, data)| tx.seal(ct, v, &data, &mut rng).unwrap())
                .collect();
            // The first content byte, the last MAC (or padding) byte,
            // the byte before it.
            for (i, at) in [(4, 5), (6, 1), (9, 2)] {
                let r = &mut records[i];
                let n = if at == 5 { 5 } else { r.len() - at };
                r[n] ^= 0x40;
            }
            let want: Vec<_> = records.iter().map(|r| open_record(&mut alone, r)).collect();
            assert!(want.iter().any(Result::is_err), "{what}");
            // Plaintext into room given (or not, or too little).
            let rooms = [0, 10, MAX_CIPHERTEXT];
            let pending = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let room = Vec::with_capacity(rooms[i % 3]);
                    together
                        .open_pending_in(&header_of(r), &r[5..], room)
                        .unwrap()
                })
                .collect();
            assert_eq!(finish_all(pending), want, "{what}");
            assert_eq!(together.progress(), alone.progress(), "{what}");
        }
    }

    /// Two protections made apart from the same keys are one keying (so
    /// that one takes over what the other opened); another key, version,
    /// suite or encrypt-then-MAC flag that applies makes another keying,
    /// and the flag counts only for CBC suites, the only ones it changes.
    #[test]
    fn the_keying_is_the_keys() {
        let mut seen = std::collections::HashMap::new();
        for (suite, v, etm) in cases() {
            let what = name(suite, v, etm);
            let (a, b) = pair(suite, v, etm);
            assert_eq!(a.keying(), b.keying(), "{what}");
            if suite.cipher != BulkCipher::Null || suite.mac != Mac::Null {
                assert_ne!(
                    pair_keyed(suite, v, etm, 4).0.keying(),
                    a.keying(),
                    "{what}"
                );
            }
            if let Some(earlier) = seen.insert(a.keying(), what.clone()) {
                panic!("{what} and {earlier} share a keying");
            }
            if suite.cipher.kind() != CipherKind::Block && v != ProtocolVersion::SSLv3 {
                assert_eq!(pair(suite, v, true).0.keying(), a.keying(), "{what}");
            }
        }
    }

    /// A clone that joins a direction some records late, brought forward
    /// the way `capture::ahead` does (sequence number, CBC chain, RC4
    /// keystream), opens the rest exactly as the original does; the
    /// original, found at the clone's progress before each record, takes
    /// over its progress after and opens on from there. Another keying's
    /// progress, or one a record behind, is refused.
    #[test]
    fn a_clone_brought_forward_opens_alike_and_hands_its_progress_back() {
        let mut rng = StdRng::seed_from_u64(7);
        for (suite, v, etm) in cases() {
            let what = name(suite, v, etm);
            let (mut tx, mut rx) = pair(suite, v, etm);
            let (_, other) = pair_keyed(suite, v, etm, 4);
            let records: Vec<Vec<u8>> = payloads()
                .into_iter()
                .map(|(ct, data)| tx.seal(ct, v, &data, &mut rng).unwrap())
                .collect();
            // The seed: the receiver's state before record 0; the clone
            // joins at record 3, which the original opens first.
            let mut ahead = rx.clone();
            assert_eq!(ahead.keying(), rx.keying(), "{what}");
            assert_ne!(other.keying(), rx.keying(), "{what}");
            for r in &records[..3] {
                open_record(&mut rx, r).unwrap();
            }
            let skipped = &records[..3];
            ahead.set_sequence_number(3);
            if let Some(n) = ahead.chain_tail_len() {
                let last = &skipped[2];
                assert!(!ahead.set_chain(&last[last.len() - n + 1..]), "{what}");
                assert!(ahead.set_chain(&last[last.len() - n..]), "{what}");
            } else {
                assert!(!ahead.set_chain(&[0; 64]), "{what}");
            }
            ahead.skip_keystream(skipped.iter().map(|r| r.len() as u64 - 5).sum());
            for (i, r) in records.iter().enumerate().skip(3) {
                let before = ahead.progress();
                let opened = open_record(&mut ahead, r)
                    .unwrap_or_else(|e| panic!("{what}: record {i}: {e:?}"));
                let after = ahead.progress();
                assert!(rx.is_at(&before), "{what}: record {i}");
                assert!(!rx.is_at(&after), "{what}: record {i}");
                assert!(!other.is_at(&before), "{what}: another keying");
                if i % 2 == 0 {
                    // Taken over.
                    assert!(!other.clone().resume(after.clone()), "{what}");
                    assert!(rx.resume(after), "{what}");
                } else {
                    // Opened here: the same as the clone's.
                    assert_eq!(
                        open_record(&mut rx, r).unwrap(),
                        opened,
                        "{what}: record {i}"
                    );
                    assert!(rx.is_at(&after), "{what}: record {i}");
                }
            }
            let last = tx
                .seal(ContentType::ApplicationData, v, b"on", &mut rng)
                .unwrap();
            assert_eq!(
                open_record(&mut rx, &last).unwrap().plaintext,
                b"on",
                "{what}"
            );
        }
    }

    #[test]
    fn every_suite_and_version_round_trips() {
        let mut rng = StdRng::seed_from_u64(1);
        let cases = cases();
        assert_eq!(cases.len(), 56, "the suite x version matrix changed");
        for (suite, v, etm) in cases {
            let what = name(suite, v, etm);
            let (mut tx, mut rx) = pair(suite, v, etm);
            assert_eq!(tx.encrypt_then_mac(), etm, "{what}");
            let payloads = payloads();
            let mut records = Vec::new();
            for (i, (ct, data)) in payloads.iter().enumerate() {
                let sealed = tx.seal_record(*ct, v, data, &mut rng).unwrap();
                assert_eq!(sealed.facts.seq, i as u64, "{what}");
                let h = header_of(&sealed.record);
                assert_eq!((h.content_type, h.version), (*ct, v), "{what}");
                assert_eq!(h.length as usize, sealed.record.len() - 5, "{what}");
                assert!(h.length as usize <= MAX_CIPHERTEXT, "{what}");
                records.push(sealed);
            }
            for (i, (sealed, (_, data))) in records.iter().zip(&payloads).enumerate() {
                // Borrowed and owned fragments in turn: the owned ones are
                // decrypted in place.
                let opened = if i % 2 == 0 {
                    open_record(&mut rx, &sealed.record)
                } else {
                    rx.open(&header_of(&sealed.record), sealed.record[5..].to_vec())
                }
                .unwrap_or_else(|e| panic!("{what} record {i}: {e}"));
                assert_eq!(&opened.plaintext, data, "{what} record {i}");
                let facts = &opened.facts;
                assert_eq!(facts.seq, i as u64, "{what}");
                assert_eq!(facts.cipher, suite.cipher, "{what}");
                // The facts of both ends agree, except for "verified".
                assert_eq!(facts.iv, sealed.facts.iv, "{what}");
                assert_eq!(facts.padding, sealed.facts.padding, "{what}");
                match (&facts.integrity, &sealed.facts.integrity) {
                    (
                        Integrity::Mac {
                            value: a,
                            verified: true,
                            construction,
                            ..
                        },
                        Integrity::Mac {
                            value: b,
                            verified: false,
                            ..
                        },
                    ) => {
                        assert_eq!(a, b, "{what}");
                        assert_eq!(*construction, MacConstruction::for_version(v), "{what}");
                    }
                    (
                        Integrity::AeadTag {
                            tag: a,
                            verified: true,
                        },
                        Integrity::AeadTag {
                            tag: b,
                            verified: false,
                        },
                    ) => {
                        assert_eq!(a, b, "{what}")
                    }
                    other => panic!("{what}: {other:?}"),
                }
                match suite.cipher.kind() {
                    CipherKind::Block => {
                        let p = facts.padding.unwrap();
                        assert_eq!(
                            p.check.poodle_exposed(),
                            v == ProtocolVersion::SSLv3,
                            "{what}"
                        );
                        assert!(
                            (p.length as usize) < suite.cipher.block_size(),
                            "minimum padding: {what}"
                        );
                    }
                    _ => assert_eq!(facts.padding, None, "{what}"),
                }
            }
            assert_eq!(rx.sequence_number(), Some(payloads.len() as u64));
        }
    }

    /// The shortest fragment the suite accepts.
    fn minimum_fragment(suite: &SuiteInfo, v: ProtocolVersion, etm: bool) -> usize {
        let c = suite.cipher;
        let mac = suite.mac.len();
        let iv = if v >= ProtocolVersion::TLSv1_1 {
            c.record_iv_len()
        } else {
            0
        };
        match c.kind() {
            CipherKind::Null | CipherKind::Stream => mac,
            CipherKind::Block if etm => iv + c.block_size() + mac,
            CipherKind::Block => iv + (mac + 1).div_ceil(c.block_size()) * c.block_size(),
            CipherKind::Aead => 8 + 16,
        }
    }

    #[test]
    fn tampering_gives_the_right_error_and_never_panics() {
        let mut rng = StdRng::seed_from_u64(2);
        for (suite, v, etm) in cases() {
            let what = name(suite, v, etm);
            let fresh = || pair(suite, v, etm);
            let (mut tx, _) = fresh();
            let record = tx
                .seal(ContentType::ApplicationData, v, &[0x61; 100], &mut rng)
                .unwrap();
            let fragment = &record[5..];
            let expect = |bytes: &[u8], want: RecordError, case: &str| {
                let (_, mut rx) = fresh();
                assert_eq!(
                    open_record(&mut rx, bytes).unwrap_err(),
                    want,
                    "{what}: {case}"
                );
            };
            // Sanity: untouched, it opens.
            assert!(open_record(&mut fresh().1, &record).is_ok(), "{what}");

            // The last byte: the MAC (null, stream, EtM), the tag (GCM) or
            // the last CBC block (MAC and padding).
            let mut bad = record.clone();
            *bad.last_mut().unwrap() ^= 0x01;
            expect(&bad, RecordError::BadRecordMac, "flipped last byte");
            // A content byte.
            let mut bad = record.clone();
            bad[5 + fragment.len() / 2] ^= 0x80;
            expect(&bad, RecordError::BadRecordMac, "flipped middle byte");
            // One byte short: a wrong MAC, or not whole CBC blocks.
            expect(
                &reframe(&record, &fragment[..fragment.len() - 1]),
                RecordError::BadRecordMac,
                "one byte short",
            );
            // Shorter than any record of the suite.
            let min = minimum_fragment(suite, v, etm);
            if min > 0 {
                expect(
                    &reframe(&record, &fragment[..min - 1]),
                    RecordError::DecodeError,
                    "under the minimum",
                );
            }
            if suite.cipher.kind() == CipherKind::Block && !etm {
                // Exactly the minimum: opens or fails on MAC, never panics.
                let _ = open_record(&mut fresh().1, &reframe(&record, &fragment[..min]));
            }
            // A header length that is not the fragment's.
            let (_, mut rx) = fresh();
            let mut h = header_of(&record);
            h.length += 1;
            assert_eq!(
                rx.open(&h, fragment).unwrap_err(),
                RecordError::DecodeError,
                "{what}: bad length"
            );
            // Oversize ciphertext.
            let huge = vec![0u8; MAX_CIPHERTEXT + 1];
            expect(
                &reframe(&record, &huge),
                RecordError::RecordOverflow,
                "2^14 + 2049 bytes",
            );
            // Every truncation and a junk record: errors, no panic.
            for cut in 0..fragment.len() {
                let _ = open_record(&mut fresh().1, &reframe(&record, &fragment[..cut]));
            }
        }
    }

    #[test]
    fn replayed_and_reordered_records_fail() {
        let mut rng = StdRng::seed_from_u64(3);
        for (suite, v, etm) in cases() {
            let what = name(suite, v, etm);
            let (mut tx, mut rx) = pair(suite, v, etm);
            let r: Vec<Vec<u8>> = (0..3)
                .map(|i| {
                    tx.seal(
                        ContentType::ApplicationData,
                        v,
                        format!("record {i}").as_bytes(),
                        &mut rng,
                    )
                    .unwrap()
                })
                .collect();
            // Reordered: record 1 where 0 is expected.
            let (_, mut rx2) = pair(suite, v, etm);
            assert_eq!(
                open_record(&mut rx2, &r[1]).unwrap_err(),
                RecordError::BadRecordMac,
                "{what}: reordered"
            );
            // Replayed: record 0 twice.
            assert!(open_record(&mut rx, &r[0]).is_ok());
            assert_eq!(
                open_record(&mut rx, &r[0]).unwrap_err(),
                RecordError::BadRecordMac,
                "{what}: replayed"
            );
        }
    }

    /// Seals `content` by hand as a MAC-then-encrypt or encrypt-then-MAC
    /// CBC record at sequence number 0, with the given padding bytes (the
    /// `padding_length` byte is added), under the keys of `pair`.
    fn seal_cbc_by_hand(
        suite: &SuiteInfo,
        v: ProtocolVersion,
        etm: bool,
        content: &[u8],
        padding: &[u8],
    ) -> Vec<u8> {
        let ct = ContentType::ApplicationData;
        let bs = suite.cipher.block_size();
        let algorithm = MacAlgorithm::from_suite(suite.mac).unwrap();
        let mac = RecordMac::new(v, algorithm, &key_bytes(suite.mac.key_len(), 1)).unwrap();
        let RecordCipher::Block(cbc) =
            RecordCipher::new(suite.cipher, &key_bytes(suite.cipher.expanded_key_len(), 2))
                .unwrap()
        else {
            unreachable!()
        };
        let mut plain = content.to_vec();
        if !etm {
            plain.extend_from_slice(mac.compute(0, ct, v, &[content]).as_ref());
        }
        plain.extend_from_slice(padding);
        plain.push(padding.len() as u8);
        assert_eq!(plain.len() % bs, 0, "padding must fill the block");
        let (iv, mut fragment) = if v >= ProtocolVersion::TLSv1_1 {
            (vec![0x33; bs], vec![0x33; bs])
        } else {
            (key_bytes(bs, 3), Vec::new())
        };
        cbc.encrypt(&iv, &mut plain);
        fragment.extend_from_slice(&plain);
        if etm {
            let tag = mac.compute(0, ct, v, &[&fragment]);
            fragment.extend_from_slice(tag.as_ref());
        }
        let mut record = RecordHeader {
            content_type: ct,
            version: v,
            length: fragment.len() as u16,
        }
        .to_bytes();
        record.extend_from_slice(&fragment);
        record
    }

    /// CBC padding: TLS checks every byte, SSL 3.0 only the length
    /// (POODLE).
    #[test]
    fn padding_bytes_checked_in_tls_not_in_ssl3() {
        for (suite, v, etm) in cases() {
            if suite.cipher.kind() != CipherKind::Block {
                continue;
            }
            let what = name(suite, v, etm);
            let bs = suite.cipher.block_size();
            let mac = if etm { 0 } else { suite.mac.len() };
            // Content long enough to leave 3 padding bytes plus the length.
            let content = vec![0x61u8; 2 * bs + (bs - (mac + 4) % bs) % bs];
            let good = seal_cbc_by_hand(suite, v, etm, &content, &[3, 3, 3]);
            let opened = open_record(&mut pair(suite, v, etm).1, &good).unwrap();
            assert_eq!(opened.plaintext, content, "{what}");
            assert_eq!(opened.facts.padding.unwrap().length, 3, "{what}");
            for bad_padding in [[3u8, 3, 0xee], [0xee, 3, 3], [0, 0, 0]] {
                let bad = seal_cbc_by_hand(suite, v, etm, &content, &bad_padding);
                let result = open_record(&mut pair(suite, v, etm).1, &bad);
                if v == ProtocolVersion::SSLv3 {
                    // POODLE: nothing checks SSL 3.0 padding bytes.
                    let opened = result.unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(opened.plaintext, content);
                    assert!(opened.facts.padding.unwrap().check.poodle_exposed());
                } else {
                    assert_eq!(
                        result.unwrap_err(),
                        RecordError::BadRecordMac,
                        "{what}: {bad_padding:?}"
                    );
                }
            }
            // Longer padding than needed (TLS allows up to 255 bytes; SSL
            // 3.0 wants less than a block).
            let long = vec![bs as u8 + 3; bs + 3];
            let record = seal_cbc_by_hand(suite, v, etm, &content, &long);
            let result = open_record(&mut pair(suite, v, etm).1, &record);
            if v == ProtocolVersion::SSLv3 {
                assert_eq!(result.unwrap_err(), RecordError::BadRecordMac, "{what}");
            } else {
                assert_eq!(result.unwrap().plaintext, content, "{what}");
            }
        }
    }

    #[test]
    fn ssl3_padding_length_must_be_under_the_block_size() {
        // A padding_length of a whole block or more is rejected in SSL 3.0
        // even when the MAC would match: build such a record by hand.
        let suite = suites::lookup(0x000A).unwrap();
        let v = ProtocolVersion::SSLv3;
        let (_, mut rx) = pair(suite, v, false);
        let mac = RecordMac::new(v, MacAlgorithm::Sha1, &key_bytes(20, 1)).unwrap();
        let content = b"abc";
        let mut plain = content.to_vec();
        plain.extend_from_slice(
            mac.compute(0, ContentType::ApplicationData, v, &[content])
                .as_ref(),
        );
        // 23 bytes + 9 padding bytes (8 + length byte) = 32: padding_length 8.
        plain.extend(std::iter::repeat_n(8u8, 9));
        let RecordCipher::Block(cbc) = RecordCipher::new(suite.cipher, &key_bytes(24, 2)).unwrap()
        else {
            unreachable!()
        };
        cbc.encrypt(&key_bytes(8, 3), &mut plain);
        let h = RecordHeader {
            content_type: ContentType::ApplicationData,
            version: v,
            length: plain.len() as u16,
        };
        assert_eq!(rx.open(&h, &plain).unwrap_err(), RecordError::BadRecordMac);
        // The same record under TLS 1.0's rule would be fine; the TLS
        // check is not the SSL 3.0 one.
        assert_eq!(
            tls_padding_ok(&[9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9], 2),
            (9, 0xff)
        );
    }

    #[test]
    fn explicit_iv_hides_repeats_and_implicit_iv_chains() {
        let mut rng = StdRng::seed_from_u64(6);
        let suite = suites::lookup(0x002F).unwrap();
        for v in [ProtocolVersion::TLSv1_1, ProtocolVersion::TLSv1_2] {
            let (mut tx, _) = pair(suite, v, false);
            let a = tx
                .seal_record(ContentType::ApplicationData, v, b"same", &mut rng)
                .unwrap();
            let b = tx
                .seal_record(ContentType::ApplicationData, v, b"same", &mut rng)
                .unwrap();
            assert_ne!(a.record[5..21], b.record[5..21], "fresh IVs");
            assert_ne!(a.record, b.record);
            let IvUse::CbcExplicit { iv } = &a.facts.iv else {
                panic!("{:?}", a.facts.iv)
            };
            assert_eq!(iv[..], a.record[5..21], "the IV leads the record");
        }
        // TLS 1.0: the first IV is the key block's, each next one the last
        // ciphertext block of the record before (predictable: BEAST).
        let v = ProtocolVersion::TLSv1_0;
        let (mut tx, mut rx) = pair(suite, v, false);
        let a = tx
            .seal_record(ContentType::ApplicationData, v, b"same", &mut rng)
            .unwrap();
        let b = tx
            .seal_record(ContentType::ApplicationData, v, b"same", &mut rng)
            .unwrap();
        assert_eq!(
            a.facts.iv,
            IvUse::CbcImplicit {
                iv: key_bytes(16, 3),
                from_key_block: true
            }
        );
        assert_eq!(
            b.facts.iv,
            IvUse::CbcImplicit {
                iv: a.record[a.record.len() - 16..].to_vec(),
                from_key_block: false
            }
        );
        assert_eq!(a.record.len(), 5 + 32, "no IV on the wire");
        assert_eq!(
            open_record(&mut rx, &a.record).unwrap().facts.iv,
            a.facts.iv
        );
        assert_eq!(
            open_record(&mut rx, &b.record).unwrap().facts.iv,
            b.facts.iv
        );
        // GCM: the explicit nonce is the sequence number.
        let gcm = suites::lookup(0x009C).unwrap();
        let v = ProtocolVersion::TLSv1_2;
        let (mut tx, _) = pair(gcm, v, false);
        for seq in 0..3u64 {
            let s = tx
                .seal_record(ContentType::ApplicationData, v, b"same", &mut rng)
                .unwrap();
            assert_eq!(s.record[5..13], seq.to_be_bytes());
            assert_eq!(s.record.len(), 5 + 8 + 4 + 16);
            assert_eq!(
                s.facts.iv,
                IvUse::GcmNonce {
                    salt: key_bytes(4, 3).try_into().unwrap(),
                    explicit: seq.to_be_bytes()
                }
            );
        }
    }

    #[test]
    fn encrypt_then_mac_layout() {
        let mut rng = StdRng::seed_from_u64(7);
        let suite = suites::lookup(0x002F).unwrap();
        let v = ProtocolVersion::TLSv1_2;
        let (mut tx, mut rx) = pair(suite, v, true);
        let record = tx
            .seal(ContentType::ApplicationData, v, &[7; 20], &mut rng)
            .unwrap();
        // IV, two blocks (20 bytes + 12 of padding), then the MAC in clear.
        assert_eq!(record.len(), 5 + 16 + 32 + 20);
        let mac = RecordMac::new(v, MacAlgorithm::Sha1, &key_bytes(20, 1)).unwrap();
        let expected = mac.compute(0, ContentType::ApplicationData, v, &[&record[5..5 + 48]]);
        assert_eq!(&record[5 + 48..], expected.as_ref());
        assert_eq!(
            open_record(&mut rx, &record).unwrap().plaintext,
            vec![7; 20]
        );
        // The flag means nothing for RC4 and GCM, and SSL 3.0 has no EtM.
        let rc4 = suites::lookup(0x0005).unwrap();
        assert!(!pair(rc4, v, true).0.encrypt_then_mac());
        let err = RecordProtection::new(
            ProtocolVersion::SSLv3,
            suite,
            &[0; 20],
            &[0; 16],
            &[0; 16],
            true,
        );
        assert_eq!(
            err.unwrap_err(),
            ProtectionSetupError::EncryptThenMacWithSsl3
        );
    }

    #[test]
    fn plaintext_limits() {
        let mut rng = StdRng::seed_from_u64(8);
        // Sealing more than 2^14 is refused.
        let null_sha = suites::lookup(0x0002).unwrap();
        let v = ProtocolVersion::TLSv1_2;
        let (mut tx, mut rx) = pair(null_sha, v, false);
        let big = vec![0u8; MAX_PLAINTEXT + 1];
        assert_eq!(
            tx.seal(ContentType::ApplicationData, v, &big, &mut rng)
                .unwrap_err(),
            RecordError::RecordOverflow
        );
        assert_eq!(
            tx.sequence_number(),
            Some(0),
            "a refused record uses no number"
        );
        // A record whose MAC is right but whose plaintext is over 2^14.
        let mac = RecordMac::new(v, MacAlgorithm::Sha1, &key_bytes(20, 1)).unwrap();
        let mut fragment = big.clone();
        fragment.extend_from_slice(
            mac.compute(0, ContentType::ApplicationData, v, &[&big])
                .as_ref(),
        );
        let h = RecordHeader {
            content_type: ContentType::ApplicationData,
            version: v,
            length: fragment.len() as u16,
        };
        assert_eq!(
            rx.open(&h, &fragment).unwrap_err(),
            RecordError::RecordOverflow
        );
        // The same for GCM.
        let gcm_suite = suites::lookup(0x009C).unwrap();
        let (_, mut rx) = pair(gcm_suite, v, false);
        let RecordCipher::Aead(gcm) =
            RecordCipher::new(gcm_suite.cipher, &key_bytes(16, 2)).unwrap()
        else {
            unreachable!()
        };
        let salt: [u8; 4] = key_bytes(4, 3).try_into().unwrap();
        let mut data = big.clone();
        let aad = aead_aad(0, ContentType::ApplicationData, v, data.len());
        let tag = gcm.seal(&gcm_nonce(&salt, &[0; 8]), &aad, &mut data);
        let mut fragment = vec![0u8; 8];
        fragment.extend_from_slice(&data);
        fragment.extend_from_slice(&tag);
        let h = RecordHeader {
            content_type: ContentType::ApplicationData,
            version: v,
            length: fragment.len() as u16,
        };
        assert_eq!(
            rx.open(&h, &fragment).unwrap_err(),
            RecordError::RecordOverflow
        );
    }

    #[test]
    fn sequence_numbers_do_not_wrap() {
        let mut rng = StdRng::seed_from_u64(9);
        let suite = suites::lookup(0x0005).unwrap();
        let v = ProtocolVersion::TLSv1_0;
        let (mut tx, mut rx) = pair(suite, v, false);
        tx.set_sequence_number(u64::MAX);
        rx.set_sequence_number(u64::MAX);
        let last = tx
            .seal(ContentType::ApplicationData, v, b"last", &mut rng)
            .unwrap();
        assert_eq!(tx.sequence_number(), None);
        assert_eq!(
            tx.seal(ContentType::ApplicationData, v, b"one more", &mut rng)
                .unwrap_err(),
            RecordError::SequenceExhausted
        );
        assert_eq!(open_record(&mut rx, &last).unwrap().facts.seq, u64::MAX);
        assert_eq!(
            open_record(&mut rx, &last).unwrap_err(),
            RecordError::SequenceExhausted
        );
        assert_eq!(
            RecordError::SequenceExhausted.alert(),
            AlertDescription::InternalError
        );
        assert_eq!(
            RecordError::BadRecordMac.alert(),
            AlertDescription::BadRecordMac
        );
    }

    #[test]
    fn null_protection_passes_records_through() {
        let mut rng = StdRng::seed_from_u64(10);
        let (mut tx, mut rx) = (
            RecordProtection::for_suite_code(
                ProtocolVersion::TLSv1_2,
                0x0000,
                &[],
                &[],
                &[],
                false,
            )
            .unwrap(),
            RecordProtection::for_suite_code(
                ProtocolVersion::TLSv1_2,
                0x0000,
                &[],
                &[],
                &[],
                false,
            )
            .unwrap(),
        );
        let record = tx
            .seal(
                ContentType::Handshake,
                ProtocolVersion::TLSv1_0,
                b"hello",
                &mut rng,
            )
            .unwrap();
        assert_eq!(record, b"\x16\x03\x01\x00\x05hello");
        let opened = open_record(&mut rx, &record).unwrap();
        assert_eq!(opened.plaintext, b"hello");
        assert_eq!(opened.facts.integrity, Integrity::None);
    }

    #[test]
    fn setup_errors() {
        let aes = suites::lookup(0x002F).unwrap();
        let v = ProtocolVersion::TLSv1_0;
        let err = |r: Result<RecordProtection, ProtectionSetupError>| r.unwrap_err();
        assert_eq!(
            err(RecordProtection::new(
                v, aes, &[0; 20], &[0; 16], &[0; 8], false
            )),
            ProtectionSetupError::Length {
                what: "IV",
                expected: 16,
                got: 8
            }
        );
        assert_eq!(
            err(RecordProtection::new(
                v, aes, &[0; 16], &[0; 16], &[0; 16], false
            )),
            ProtectionSetupError::Mac(MacSetupError::KeyLength {
                expected: 20,
                got: 16
            })
        );
        assert!(matches!(
            err(RecordProtection::new(
                v, aes, &[0; 20], &[0; 24], &[0; 16], false
            )),
            ProtectionSetupError::Cipher(CipherSetupError::KeyLength { .. })
        ));
        assert_eq!(
            err(RecordProtection::new(
                ProtocolVersion::TLSv1_3,
                aes,
                &[0; 20],
                &[0; 16],
                &[],
                false
            )),
            ProtectionSetupError::UnsupportedVersion(ProtocolVersion::TLSv1_3)
        );
        assert_eq!(
            err(RecordProtection::for_suite_code(
                v,
                0x0A0A,
                &[],
                &[],
                &[],
                false
            )),
            ProtectionSetupError::UnknownSuite(0x0A0A)
        );
        // SSL 3.0 has no SHA-256 MAC.
        let sha256 = suites::lookup(0x003C).unwrap();
        assert_eq!(
            err(RecordProtection::new(
                ProtocolVersion::SSLv3,
                sha256,
                &[0; 32],
                &[0; 16],
                &[0; 16],
                false
            )),
            ProtectionSetupError::Mac(MacSetupError::NoSsl3Mac(MacAlgorithm::Sha256))
        );
        // TLS 1.1+ CBC takes no IV from the key block, but tolerates one.
        assert!(RecordProtection::new(
            ProtocolVersion::TLSv1_1,
            aes,
            &[0; 20],
            &[0; 16],
            &[0; 16],
            false
        )
        .is_ok());
        // Debug shows no key material.
        let p =
            RecordProtection::new(v, aes, &[0x5a; 20], &[0x5a; 16], &[0x5a; 16], false).unwrap();
        let debug = format!("{p:?}");
        assert!(
            debug.contains("Aes128Cbc") && !debug.contains("90"),
            "{debug}"
        );
    }

    #[test]
    fn fragments_of_outgoing_data() {
        let data = vec![0u8; 2 * MAX_PLAINTEXT + 5];
        let sizes: Vec<usize> = fragments(&data).map(<[u8]>::len).collect();
        assert_eq!(sizes, [MAX_PLAINTEXT, MAX_PLAINTEXT, 5]);
        assert_eq!(fragments(&[]).count(), 0);
        assert_eq!(fragments(&data[..MAX_PLAINTEXT]).count(), 1);
    }

    // -- constant-time helpers against their obvious forms --

    #[test]
    fn ct_helpers() {
        for a in 0..300usize {
            for b in [0usize, 1, 2, 15, 16, 255, 256, 299, 300, 1 << 20] {
                assert_eq!(ct_lt(a, b) == 0xff, a < b);
                assert_eq!(ct_eq_usize(a, b) == 0xff, a == b);
                assert_eq!(
                    ct_select(ct_lt(a, b), a, b),
                    a.min(b).max(if a < b { a } else { b })
                );
            }
        }
    }

    #[test]
    fn tls_padding_check_matches_the_rule() {
        let naive = |data: &[u8], mac_len: usize| {
            let pad = *data.last().unwrap() as usize;
            pad + 1 + mac_len <= data.len()
                && data[data.len() - 1 - pad..]
                    .iter()
                    .all(|&b| b as usize == pad)
        };
        let mut rng = StdRng::seed_from_u64(11);
        for len in [1usize, 2, 16, 21, 32, 64, 300] {
            for pad in [0usize, 1, 2, 7, 15, 20, 255] {
                for corrupt in [None, Some(0usize), Some(1), Some(pad)] {
                    let mut data = vec![0u8; len];
                    rng.fill_bytes(&mut data);
                    let n = (pad + 1).min(len);
                    for b in &mut data[len - n..] {
                        *b = pad as u8;
                    }
                    if let Some(c) = corrupt {
                        if c < n {
                            data[len - 1 - c] ^= 0x10;
                        }
                    }
                    for mac_len in [0usize, 16, 20] {
                        let (got_pad, mask) = tls_padding_ok(&data, mac_len);
                        assert_eq!(got_pad, *data.last().unwrap() as usize);
                        assert_eq!(
                            mask == 0xff,
                            naive(&data, mac_len),
                            "len {len} pad {pad} {corrupt:?} mac {mac_len}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn constant_time_mac_copy_matches_slicing() {
        let data: Vec<u8> = (0..400u32).map(|i| (i * 13 + 5) as u8).collect();
        for len in [21usize, 40, 64, 300, 400] {
            for mac_len in [16usize, 20, 32, 48] {
                if len < mac_len + 1 {
                    continue;
                }
                let data = &data[..len];
                let max_pad = 255.min(len - mac_len - 1);
                for stripped in 1..=max_pad + 1 {
                    let start = len - mac_len - stripped;
                    let mut out = [0u8; 48];
                    copy_mac_ct(data, start, mac_len, &mut out);
                    assert_eq!(
                        &out[..mac_len],
                        &data[start..start + mac_len],
                        "len {len} mac {mac_len} start {start}"
                    );
                }
            }
        }
    }
}
