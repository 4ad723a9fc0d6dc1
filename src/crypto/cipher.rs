//! The bulk record ciphers of the classic suites, one state per direction.
//!
//! - NULL (RFC 5246 §6.2.3.1): no encryption.
//! - RC4 (stream, RFC 5246 §6.2.3.1): RC4_128 and export RC4_40. Key
//!   derivation hands over the 16-byte key, already expanded for export
//!   suites ("Expanded Key Material", RFC 2246 §6.3 and Appendix C).
//! - CBC block ciphers (RFC 5246 §6.2.3.2): RC2_CBC_40 (export), DES40_CBC
//!   (export) and DES_CBC, 3DES_EDE_CBC, AES_128_CBC and AES_256_CBC.
//! - AES-GCM (RFC 5288 §3, NIST SP 800-38D): AES_128_GCM and AES_256_GCM.
//!
//! Facts about the export ciphers, which RFC 2246 leaves implicit:
//!
//! - RC2_CBC_40 runs RC2 (RFC 2268) with the 16-byte expanded key and an
//!   *effective key length of 128 bits*. RFC 2246 Appendix C's "Effective
//!   Key Bits: 40" counts the secret bits, not the RFC 2268 parameter T1.
//!   OpenSSL, which defined the suite's interoperable behaviour, maps it to
//!   `EVP_rc2_cbc` (`ssl/ssl_ciph.c`: `ssl_cipher_methods[SSL_ENC_RC2_IDX] =
//!   EVP_get_cipherbyname(SN_rc2_cbc)`), whose key length is 16 and whose
//!   `EVP_CTRL_INIT` sets the effective bits to key length × 8
//!   (`crypto/evp/e_rc2.c`, `rc2_ctrl`).
//! - DES40_CBC is plain DES with the 8-byte expanded key; DES ignores the
//!   low (parity) bit of each key byte, so derived keys need no parity
//!   fixing. The same holds for 3DES.
//!
//! The CBC functions take the IV as an argument: where it comes from
//! (chained from the previous record in SSL 3.0 and TLS 1.0, explicit in
//! TLS 1.1 and later), padding and MACs are `record::protection`'s business.
//! The GCM functions take the whole 12-byte nonce for the same reason.
//!
//! What this module does not do: IDEA, SEED, Camellia, ARIA, CCM, ChaCha20,
//! FORTEZZA and the GOST ciphers ([`CipherSetupError::Unsupported`]), and
//! TLS 1.3 record protection.

use std::fmt;

use aes::{Aes128, Aes256};
use cipher::generic_array::GenericArray;
use cipher::inout::InOutBuf;
use cipher::{BlockDecrypt, BlockEncrypt, BlockSizeUser, KeyInit};
use rc2::Rc2;

use crate::crypto::aes_vaes;
use crate::crypto::des::DesCipher;
use crate::wire::suites::{BulkCipher, CipherKind};

/// RFC 2268 effective key bits for the TLS RC2 suites (see the module
/// comment for the source).
pub const RC2_EFFECTIVE_KEY_BITS: usize = 128;

/// Bytes of GCM nonce (RFC 5288 §3: 4 implicit + 8 explicit).
pub const GCM_NONCE_LEN: usize = 12;
/// Bytes of GCM authentication tag (RFC 5288 §3).
pub const GCM_TAG_LEN: usize = 16;

/// Why a record cipher could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipherSetupError {
    /// sslwalk does not implement this bulk cipher.
    Unsupported(BulkCipher),
    /// The key is not the cipher's (expanded) key length.
    KeyLength {
        cipher: BulkCipher,
        expected: usize,
        got: usize,
    },
}

impl fmt::Display for CipherSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(cipher) => {
                write!(f, "the {} cipher is not implemented", cipher.name())
            }
            Self::KeyLength {
                cipher,
                expected,
                got,
            } => write!(
                f,
                "{} key of {got} bytes, expected {expected}",
                cipher.name()
            ),
        }
    }
}

impl std::error::Error for CipherSetupError {}

/// The AEAD tag did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AeadTagMismatch;

/// The cipher state of one direction.
#[derive(Clone)]
pub enum RecordCipher {
    Null,
    Stream(Rc4Cipher),
    Block(CbcCipher),
    Aead(GcmCipher),
}

impl fmt::Debug for RecordCipher {
    // Key schedules are secrets: only the algorithm is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordCipher({})", self.bulk().name())
    }
}

impl RecordCipher {
    /// The cipher `cipher` keyed with `key`, which must be
    /// [`BulkCipher::expanded_key_len`] bytes long (export keys already
    /// expanded by key derivation).
    pub fn new(cipher: BulkCipher, key: &[u8]) -> Result<Self, CipherSetupError> {
        let expected = cipher.expanded_key_len();
        let supported = matches!(
            cipher,
            BulkCipher::Null
                | BulkCipher::Rc4_40
                | BulkCipher::Rc4_128
                | BulkCipher::Rc2Cbc40
                | BulkCipher::Des40Cbc
                | BulkCipher::DesCbc
                | BulkCipher::TripleDesEdeCbc
                | BulkCipher::Aes128Cbc
                | BulkCipher::Aes256Cbc
                | BulkCipher::Aes128Gcm
                | BulkCipher::Aes256Gcm
        );
        if !supported {
            return Err(CipherSetupError::Unsupported(cipher));
        }
        if key.len() != expected {
            return Err(CipherSetupError::KeyLength {
                cipher,
                expected,
                got: key.len(),
            });
        }
        let bad_key = CipherSetupError::KeyLength {
            cipher,
            expected,
            got: key.len(),
        };
        let key_err = |_| bad_key;
        Ok(match cipher.kind() {
            CipherKind::Null => Self::Null,
            CipherKind::Stream => {
                if key.is_empty() || key.len() > 256 {
                    return Err(bad_key);
                }
                Self::Stream(Rc4Cipher::new(cipher, key))
            }
            CipherKind::Block => {
                let imp = match cipher {
                    BulkCipher::Rc2Cbc40 => BlockImpl::Rc2(Box::new(Rc2::new_with_eff_key_len(
                        key,
                        RC2_EFFECTIVE_KEY_BITS,
                    ))),
                    BulkCipher::Des40Cbc | BulkCipher::DesCbc => BlockImpl::Des(Box::new(
                        DesCipher::des(key.try_into().map_err(|_| bad_key)?),
                    )),
                    BulkCipher::TripleDesEdeCbc => BlockImpl::Des(Box::new(DesCipher::triple_des(
                        key.try_into().map_err(|_| bad_key)?,
                    ))),
                    BulkCipher::Aes128Cbc => {
                        BlockImpl::Aes128(Box::new(Aes128::new_from_slice(key).map_err(key_err)?))
                    }
                    _ => BlockImpl::Aes256(Box::new(Aes256::new_from_slice(key).map_err(key_err)?)),
                };
                // Decryption four blocks per instruction where the
                // processor can (`aes_vaes`); the `aes` crate otherwise,
                // and for encryption, which is a chain.
                let vaes = match imp {
                    BlockImpl::Aes128(_) | BlockImpl::Aes256(_) if aes_vaes::available() => {
                        aes_vaes::DecryptKeys::new(key).map(Box::new)
                    }
                    _ => None,
                };
                Self::Block(CbcCipher { cipher, imp, vaes })
            }
            CipherKind::Aead => {
                let algorithm = if cipher == BulkCipher::Aes128Gcm {
                    &ring::aead::AES_128_GCM
                } else {
                    &ring::aead::AES_256_GCM
                };
                let unbound = ring::aead::UnboundKey::new(algorithm, key).map_err(|_| bad_key)?;
                Self::Aead(GcmCipher {
                    cipher,
                    key: Box::new(ring::aead::LessSafeKey::new(unbound)),
                })
            }
        })
    }

    /// Which bulk cipher this is.
    pub fn bulk(&self) -> BulkCipher {
        match self {
            Self::Null => BulkCipher::Null,
            Self::Stream(c) => c.cipher,
            Self::Block(c) => c.cipher,
            Self::Aead(c) => c.cipher,
        }
    }
}

// -- RC4 --

/// RC4 (the keystream generator of Rivest's cipher as documented in RFC
/// 6229 §1 and Schneier's Applied Cryptography); the TLS suites use a
/// 16-byte key (export RC4-40 too, after key expansion). Its keystream runs
/// on across the records of a direction (RFC 5246 §6.2.3.1: the stream
/// cipher state is not reset). Written here because the `rc4` crate's
/// generic byte-at-a-time wrapper ran at a third of OpenSSL's speed; the
/// state lives in one 256-byte array indexed by `u8`, so the compiler
/// drops every bounds check. Two copies are equal when their keystreams
/// go on alike.
#[derive(Clone, PartialEq, Eq)]
pub struct Rc4Cipher {
    cipher: BulkCipher,
    s: Box<[u8; 256]>,
    i: u8,
    j: u8,
}

impl Rc4Cipher {
    /// Key scheduling: the identity permutation, stirred by the key.
    fn new(cipher: BulkCipher, key: &[u8]) -> Self {
        let mut s = Box::new([0u8; 256]);
        for (k, v) in s.iter_mut().enumerate() {
            *v = k as u8;
        }
        let mut j = 0u8;
        for k in 0..256 {
            j = j.wrapping_add(s[k]).wrapping_add(key[k % key.len()]);
            s.swap(k, j as usize);
        }
        Self {
            cipher,
            s,
            i: 0,
            j: 0,
        }
    }

    /// XORs the next `data.len()` keystream bytes into `data` (encryption
    /// and decryption alike). Eight keystream bytes are gathered into one
    /// word and XORed at once: one load and one store per eight bytes
    /// instead of eight, which is what brings this loop to OpenSSL's speed.
    pub fn apply(&mut self, data: &mut [u8]) {
        let s = &mut *self.s;
        let (mut i, mut j) = (self.i, self.j);
        let mut next = || {
            i = i.wrapping_add(1);
            let si = s[i as usize];
            j = j.wrapping_add(si);
            let sj = s[j as usize];
            s[i as usize] = sj;
            s[j as usize] = si;
            s[si.wrapping_add(sj) as usize]
        };
        let mut words = data.chunks_exact_mut(8);
        for word in &mut words {
            let mut keystream = [0u8; 8];
            for k in keystream.iter_mut() {
                *k = next();
            }
            let x =
                u64::from_ne_bytes(keystream) ^ u64::from_ne_bytes((&*word).try_into().unwrap());
            word.copy_from_slice(&x.to_ne_bytes());
        }
        for b in words.into_remainder() {
            *b ^= next();
        }
        self.i = i;
        self.j = j;
    }
}

// -- CBC --

#[derive(Clone)]
enum BlockImpl {
    Rc2(Box<Rc2>),
    /// DES and 3DES, written here (`crypto::des`), with CBC of their own.
    Des(Box<DesCipher>),
    Aes128(Box<Aes128>),
    Aes256(Box<Aes256>),
}

macro_rules! with_block {
    ($imp:expr, $c:ident => $body:expr, des $d:ident => $des:expr) => {
        match $imp {
            BlockImpl::Rc2($c) => $body,
            BlockImpl::Des($d) => $des,
            BlockImpl::Aes128($c) => $body,
            BlockImpl::Aes256($c) => $body,
        }
    };
}

/// A block cipher in CBC mode. It keeps no IV: each call is given one.
#[derive(Clone)]
pub struct CbcCipher {
    cipher: BulkCipher,
    imp: BlockImpl,
    /// AES decryption's round keys for VAES, where available.
    vaes: Option<Box<aes_vaes::DecryptKeys>>,
}

impl CbcCipher {
    /// 8 for RC2 and DES, 16 for AES.
    pub fn block_size(&self) -> usize {
        self.cipher.block_size()
    }

    /// Encrypts `data` in place in CBC mode starting from `iv`.
    ///
    /// Panics unless `iv` is one block and `data` a whole number of blocks
    /// (the record layer pads first).
    pub fn encrypt(&self, iv: &[u8], data: &mut [u8]) {
        with_block!(&self.imp, c => cbc_encrypt(&**c, iv, data),
            des d => d.cbc_encrypt(iv.try_into().expect("CBC IV must be one block"), data))
    }

    /// Decrypts `ciphertext` in CBC mode starting from `iv`, into `out`
    /// (same length).
    ///
    /// Panics unless `iv` is one block and `ciphertext` and `out` are the
    /// same whole number of blocks.
    pub fn decrypt(&self, iv: &[u8], ciphertext: &[u8], out: &mut [u8]) {
        let done = match &self.vaes {
            Some(keys) => aes_vaes::cbc_decrypt(
                keys,
                iv.try_into().expect("CBC IV must be one block"),
                ciphertext,
                out,
            ),
            None => 0,
        };
        // The blocks left (fewer than four after VAES), chained from the
        // last ciphertext block done.
        let iv = if done == 0 {
            iv
        } else {
            &ciphertext[done - 16..done]
        };
        let (ciphertext, out) = (&ciphertext[done..], &mut out[done..]);
        with_block!(&self.imp, c => cbc_decrypt(&**c, iv, ciphertext, out),
            des d => d.cbc_decrypt(iv.try_into().expect("CBC IV must be one block"), ciphertext, out))
    }
}

/// CBC encryption (NIST SP 800-38A §6.2): `C_i = E(P_i ^ C_{i-1})`, with
/// `C_0 = IV`. Inherently serial.
fn cbc_encrypt<C: BlockEncrypt>(cipher: &C, iv: &[u8], data: &mut [u8]) {
    let bs = C::block_size();
    assert_eq!(iv.len(), bs, "CBC IV must be one block");
    assert_eq!(data.len() % bs, 0, "CBC data must be whole blocks");
    let mut chain = GenericArray::<u8, C::BlockSize>::clone_from_slice(iv);
    for block in data.chunks_exact_mut(bs) {
        let block = GenericArray::<u8, C::BlockSize>::from_mut_slice(block);
        for (b, c) in block.iter_mut().zip(chain.iter()) {
            *b ^= c;
        }
        cipher.encrypt_block(block);
        chain.copy_from_slice(block);
    }
}

/// CBC decryption: `P_i = D(C_i) ^ C_{i-1}`. The block decryptions are
/// independent, so they run as one batch (pipelined AES-NI where present).
fn cbc_decrypt<C: BlockDecrypt>(cipher: &C, iv: &[u8], ciphertext: &[u8], out: &mut [u8]) {
    let bs = C::block_size();
    assert_eq!(iv.len(), bs, "CBC IV must be one block");
    assert_eq!(ciphertext.len() % bs, 0, "CBC data must be whole blocks");
    let buf = InOutBuf::new(ciphertext, out).expect("CBC output buffer length");
    let (blocks, tail) = buf.into_chunks::<<C as BlockSizeUser>::BlockSize>();
    debug_assert!(tail.is_empty());
    cipher.decrypt_blocks_inout(blocks);
    for (i, block) in out.chunks_exact_mut(bs).enumerate() {
        let prev = if i == 0 {
            iv
        } else {
            &ciphertext[(i - 1) * bs..i * bs]
        };
        for (b, p) in block.iter_mut().zip(prev) {
            *b ^= p;
        }
    }
}

// -- GCM --

/// AES-GCM with a 16-byte tag; the nonce is supplied per record. Backed by
/// `ring::aead` (hardware AES and carry-less multiplication where the CPU
/// has them).
#[derive(Clone)]
pub struct GcmCipher {
    cipher: BulkCipher,
    /// Boxed: ring's expanded key schedule is large.
    key: Box<ring::aead::LessSafeKey>,
}

impl GcmCipher {
    /// Encrypts `data` in place and returns the tag.
    pub fn seal(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> [u8; GCM_TAG_LEN] {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), data)
            // ring refuses only inputs over GCM's 2^36-byte limit; records
            // are at most 2^14.
            .expect("GCM input within limits");
        let mut out = [0u8; GCM_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Checks `tag` and decrypts `data` in place. On a mismatch the
    /// contents of `data` are unspecified and must not be used.
    pub fn open(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), AeadTagMismatch> {
        self.open_within(nonce, aad, data, 0, tag)
    }

    /// Checks `tag` and decrypts the ciphertext `data[start..]`, leaving
    /// the plaintext at the start of `data` (the bytes before `start`, an
    /// explicit nonce say, are overwritten: no copy to drop them).
    pub fn open_within(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        start: usize,
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<(), AeadTagMismatch> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.key
            .open_in_place_separate_tag(
                nonce,
                ring::aead::Aad::from(aad),
                ring::aead::Tag::from(*tag),
                data,
                start..,
            )
            .map(|_| ())
            .map_err(|_| AeadTagMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::crypto::prf::unhex;

    fn cbc(cipher: BulkCipher, key: &str) -> CbcCipher {
        match RecordCipher::new(cipher, &unhex(key)).unwrap() {
            RecordCipher::Block(c) => c,
            other => panic!("{other:?} is not CBC"),
        }
    }

    fn check_cbc(c: &CbcCipher, iv: &str, plain: &str, expected: &str) {
        let (iv, plain, expected) = (unhex(iv), unhex(plain), unhex(expected));
        let mut data = plain.clone();
        c.encrypt(&iv, &mut data);
        assert_eq!(data, expected, "{:?} encrypt", c.cipher);
        let mut out = vec![0; data.len()];
        c.decrypt(&iv, &data, &mut out);
        assert_eq!(out, plain, "{:?} decrypt", c.cipher);
    }

    /// Against the `rc4` crate (an independent implementation) over a long
    /// keystream that crosses many wraps of the counters.
    #[test]
    fn rc4_matches_an_independent_implementation() {
        use rc4::{KeyInit as _, StreamCipher as _};
        let key: Vec<u8> = (0..16u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(5))
            .collect();
        let mut ours = Rc4Cipher::new(BulkCipher::Rc4_128, &key);
        let mut theirs = rc4::Rc4::<rc4::consts::U16>::new_from_slice(&key).unwrap();
        let mut a = vec![0u8; 70_000];
        let mut b = a.clone();
        for chunk in a.chunks_mut(1000) {
            ours.apply(chunk);
        }
        theirs.apply_keystream(&mut b);
        assert_eq!(a, b);
    }

    /// RFC 6229 §2: RC4 keystream at offset 0 for the 40-bit key
    /// 0x0102030405 and the 128-bit key 0x0102...10. The 40-bit vector
    /// checks RC4 itself; TLS always hands RC4 16 bytes.
    #[test]
    fn rc4_rfc6229() {
        let mut rc4 = Rc4Cipher::new(BulkCipher::Rc4_40, &unhex("0102030405"));
        let mut ks = [0u8; 16];
        rc4.apply(&mut ks);
        assert_eq!(ks.to_vec(), unhex("b2396305f03dc027ccc3524a0a1118a8"));

        let key = unhex("0102030405060708090a0b0c0d0e0f10");
        for cipher in [BulkCipher::Rc4_128, BulkCipher::Rc4_40] {
            let RecordCipher::Stream(mut rc4) = RecordCipher::new(cipher, &key).unwrap() else {
                panic!("not a stream cipher");
            };
            let mut ks = [0u8; 16];
            rc4.apply(&mut ks[..7]);
            rc4.apply(&mut ks[7..]); // the keystream runs on across calls
            assert_eq!(ks.to_vec(), unhex("9ac7cc9a609d1ef7b2932899cde41b97"));
        }
    }

    /// NIST SP 800-38A Appendix F.2.1 (CBC-AES128.Encrypt) and F.2.5
    /// (CBC-AES256.Encrypt).
    #[test]
    fn aes_cbc_sp800_38a() {
        let plain = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                     30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
        let iv = "000102030405060708090a0b0c0d0e0f";
        check_cbc(
            &cbc(BulkCipher::Aes128Cbc, "2b7e151628aed2a6abf7158809cf4f3c"),
            iv,
            plain,
            "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
             73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7",
        );
        check_cbc(
            &cbc(
                BulkCipher::Aes256Cbc,
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            ),
            iv,
            plain,
            "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
             39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b",
        );
    }

    /// Decryption takes whole groups of four blocks through VAES where the
    /// processor has it and the rest through the `aes` crate, chained from
    /// the last block of the groups: every count of blocks up to 40 comes
    /// back to what was encrypted (one block at a time, a chain).
    #[test]
    fn aes_cbc_decrypts_any_length() {
        let iv = unhex("0f0e0d0c0b0a09080706050403020100");
        for (cipher, key) in [
            (BulkCipher::Aes128Cbc, "2b7e151628aed2a6abf7158809cf4f3c"),
            (
                BulkCipher::Aes256Cbc,
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            ),
        ] {
            let c = cbc(cipher, key);
            assert_eq!(c.vaes.is_some(), aes_vaes::available());
            for blocks in 0..=40 {
                let plain: Vec<u8> = (0..blocks * 16).map(|i| (i * 7 % 256) as u8).collect();
                let mut data = plain.clone();
                c.encrypt(&iv, &mut data);
                let mut out = vec![0; data.len()];
                c.decrypt(&iv, &data, &mut out);
                assert_eq!(out, plain, "{cipher:?}, {blocks} blocks");
            }
        }
    }

    /// FIPS 81 Appendix C (CBC example): "Now is the time for all " under
    /// key 0123456789abcdef and IV 1234567890abcdef. DES40_CBC runs the
    /// same DES.
    #[test]
    fn des_cbc_fips81() {
        for cipher in [BulkCipher::DesCbc, BulkCipher::Des40Cbc] {
            check_cbc(
                &cbc(cipher, "0123456789abcdef"),
                "1234567890abcdef",
                &b"Now is the time for all "
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6",
            );
        }
        // Parity bits are ignored: flipping the low bit of every key byte
        // gives the same cipher.
        check_cbc(
            &cbc(BulkCipher::DesCbc, "0022446688aaccee"),
            "1234567890abcdef",
            "4e6f77206973207468652074696d6520666f7220616c6c20",
            "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6",
        );
    }

    /// 3DES-EDE-CBC: no short published CBC vector, so the expected value
    /// comes from an independent implementation, OpenSSL 3.0
    /// (`openssl enc -des-ede3-cbc -nopad -K 0123456789abcdef23456789abcdef01456789abcdef0123
    /// -iv f69f2445df4f9b17`, plaintext the SP 800-38A F.2 blocks).
    #[test]
    fn tdes_cbc_against_openssl() {
        check_cbc(
            &cbc(
                BulkCipher::TripleDesEdeCbc,
                "0123456789abcdef23456789abcdef01456789abcdef0123",
            ),
            "f69f2445df4f9b17",
            "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
             30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
            "2079c3d53aa763e193b79e2569ab5262 516570481f25b50f73c0bda85c8e0da7
             9bd86425fae429fdbd65a7a21b6e5d20 925d8b0ef919a428154b96ed90f2bc1e",
        );
    }

    /// RFC 2268 §5: key 88bca90e90875a7f0f79c384627bafb2 with 128
    /// effective bits encrypts the zero block to 2269552ab0f85ca6 — the
    /// key shape of the TLS RC2 suites. One block of CBC with a zero IV is
    /// one block of ECB.
    #[test]
    fn rc2_rfc2268_128_effective_bits() {
        check_cbc(
            &cbc(BulkCipher::Rc2Cbc40, "88bca90e90875a7f0f79c384627bafb2"),
            "0000000000000000",
            "0000000000000000",
            "2269552ab0f85ca6",
        );
    }

    /// "The Galois/Counter Mode of Operation (GCM)", McGrew and Viega,
    /// test cases 4 (AES-128) and 16 (AES-256): 60 bytes of plaintext, 20
    /// of AAD, 96-bit IV.
    #[test]
    fn aes_gcm_mcgrew_viega() {
        let plain = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888").try_into().unwrap();
        let cases = [
            (
                BulkCipher::Aes128Gcm,
                "feffe9928665731c6d6a8f9467308308",
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                "5bc94fbc3221a5db94fae95ae7121a47",
            ),
            (
                BulkCipher::Aes256Gcm,
                "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                "76fc6ece0f4e1768cddf8853bb2d551b",
            ),
        ];
        for (cipher, key, ct, tag) in cases {
            let RecordCipher::Aead(gcm) = RecordCipher::new(cipher, &unhex(key)).unwrap() else {
                panic!("not AEAD");
            };
            let mut data = plain.clone();
            let got_tag = gcm.seal(&nonce, &aad, &mut data);
            assert_eq!(data, unhex(ct), "{cipher:?}");
            assert_eq!(got_tag.to_vec(), unhex(tag), "{cipher:?}");
            gcm.open(&nonce, &aad, &mut data, &got_tag).unwrap();
            assert_eq!(data, plain);
            let mut bad = got_tag;
            bad[15] ^= 1;
            let mut data = unhex(ct);
            assert_eq!(
                gcm.open(&nonce, &aad, &mut data, &bad),
                Err(AeadTagMismatch)
            );
            // ring wipes the buffer on a bad tag: no plaintext escapes.
            assert_ne!(data, plain, "nothing released on a bad tag");
        }
    }

    #[test]
    fn setup_errors() {
        assert_eq!(
            RecordCipher::new(BulkCipher::Camellia128Cbc, &[0; 16]).unwrap_err(),
            CipherSetupError::Unsupported(BulkCipher::Camellia128Cbc)
        );
        // Export keys must arrive expanded.
        assert_eq!(
            RecordCipher::new(BulkCipher::Rc4_40, &[0; 5]).unwrap_err(),
            CipherSetupError::KeyLength {
                cipher: BulkCipher::Rc4_40,
                expected: 16,
                got: 5
            }
        );
        assert!(RecordCipher::new(BulkCipher::Rc2Cbc40, &[0; 16]).is_ok());
        assert!(RecordCipher::new(BulkCipher::Des40Cbc, &[0; 8]).is_ok());
        assert!(RecordCipher::new(BulkCipher::Aes256Gcm, &[0; 16]).is_err());
        let null = RecordCipher::new(BulkCipher::Null, &[]).unwrap();
        assert_eq!(null.bulk(), BulkCipher::Null);
        let c = RecordCipher::new(BulkCipher::Aes128Cbc, &[0xab; 16]).unwrap();
        assert_eq!(format!("{c:?}"), "RecordCipher(AES_128_CBC)");
    }
}
