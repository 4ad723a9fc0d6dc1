//! AES-CBC decryption four blocks per instruction, with the x86 VAES
//! extension (AVX-512).
//!
//! Why: CBC decryption has no chain (`P_i = D(C_i) ^ C_{i-1}`, NIST SP
//! 800-38A §6.2), so every block of a record can be decrypted at once.
//! The `aes` crate does that with AES-NI, one 16-byte block per
//! instruction: 6.5 GB/s on the AMD Zen 4 we measure on. `vaesdec` works
//! on four blocks in one 512-bit register, and four registers in flight
//! keep the AES unit busy: 22 GB/s
//! (`cargo bench --bench record -- "aes-cbc decrypt"`). Opening the
//! records of an AES-CBC suite is what a decoder does most; the encrypting
//! side (the engine's) is a chain and gains nothing.
//!
//! The key schedule is FIPS-197's (§5.2), in plain code: it runs once per
//! key. `aesdec` implements a round of the equivalent inverse cipher
//! (FIPS-197 §5.3.5), whose middle round keys are the encryption round
//! keys, in reverse order, through InvMixColumns (§5.3.3).

/// Whether this processor has the instructions: VAES and AVX-512F.
/// Without them, CBC decryption stays with the `aes` crate.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Bytes decrypted per 512-bit register: four AES blocks.
pub const GROUP: usize = 64;

/// The round keys of AES-128 or AES-256 decryption, in the order
/// `aesdec` takes them.
#[derive(Clone)]
pub struct DecryptKeys {
    /// 10 for AES-128, 14 for AES-256.
    rounds: usize,
    keys: [[u8; 16]; 15],
}

impl DecryptKeys {
    /// For a 16-byte (AES-128) or 32-byte (AES-256) key; `None` for any
    /// other length.
    pub fn new(key: &[u8]) -> Option<Self> {
        let enc = expand_key(key)?;
        let rounds = enc.len() - 1;
        let mut keys = [[0; 16]; 15];
        keys[0] = enc[rounds];
        for r in 1..rounds {
            keys[r] = inv_mix_columns(enc[rounds - r]);
        }
        keys[rounds] = enc[0];
        Some(Self { rounds, keys })
    }
}

/// FIPS-197 §5.2 KeyExpansion: the `Nr + 1` round keys of a 16- or
/// 32-byte key (`Nk` = 4 or 8 words).
fn expand_key(key: &[u8]) -> Option<Vec<[u8; 16]>> {
    let nk = match key.len() {
        16 => 4,
        32 => 8,
        _ => return None,
    };
    let nr = nk + 6;
    let mut w: Vec<[u8; 4]> = key
        .chunks_exact(4)
        .map(|c| c.try_into().expect("4 bytes"))
        .collect();
    for i in nk..4 * (nr + 1) {
        let mut temp = w[i - 1];
        if i % nk == 0 {
            temp.rotate_left(1); // RotWord
            temp = temp.map(|b| SBOX[usize::from(b)]); // SubWord
            temp[0] ^= RCON[i / nk - 1];
        } else if nk > 6 && i % nk == 4 {
            temp = temp.map(|b| SBOX[usize::from(b)]);
        }
        let before = w[i - nk];
        w.push(std::array::from_fn(|j| before[j] ^ temp[j]));
    }
    Some(
        w.chunks_exact(4)
            .map(|words| std::array::from_fn(|j| words[j / 4][j % 4]))
            .collect(),
    )
}

/// FIPS-197 §5.2: the round constants `x^(i-1)` in GF(2^8), as many as
/// AES-128 needs (AES-256 needs seven).
const RCON: [u8; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/// FIPS-197 §5.1.1 S-box: the multiplicative inverse in GF(2^8) (0 for
/// 0), then the affine transformation. Computed rather than copied; the
/// key expansion vectors of FIPS-197 Appendix A check it.
const SBOX: [u8; 256] = {
    let mut sbox = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        let mut inv = 0u8;
        let mut y = 1;
        while y < 256 {
            if gf_mul(x as u8, y as u8) == 1 {
                inv = y as u8;
            }
            y += 1;
        }
        sbox[x] = inv
            ^ inv.rotate_left(1)
            ^ inv.rotate_left(2)
            ^ inv.rotate_left(3)
            ^ inv.rotate_left(4)
            ^ 0x63;
        x += 1;
    }
    sbox
};

/// Multiplication in GF(2^8) modulo `x^8 + x^4 + x^3 + x + 1` (FIPS-197
/// §4.2).
const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

/// FIPS-197 §5.3.3 InvMixColumns on a round key's four columns.
fn inv_mix_columns(k: [u8; 16]) -> [u8; 16] {
    let mut out = [0; 16];
    for (col, o) in k.chunks_exact(4).zip(out.chunks_exact_mut(4)) {
        for (row, byte) in o.iter_mut().enumerate() {
            // Row `row` of the matrix: 0e 0b 0d 09, rotated right.
            *byte = [0x0e, 0x0b, 0x0d, 0x09]
                .iter()
                .enumerate()
                .fold(0, |acc, (i, &m)| acc ^ gf_mul(col[(i + row) % 4], m));
        }
    }
    out
}

/// Decrypts the whole [`GROUP`]s at the start of `ciphertext` in CBC mode
/// from `iv` into the same bytes of `out`; returns how many bytes that
/// was. The caller decrypts the rest (fewer than four blocks), chaining
/// from the last ciphertext block done.
///
/// Panics when [`available`] is false, or when `ciphertext` and `out`
/// differ in length.
pub fn cbc_decrypt(keys: &DecryptKeys, iv: &[u8; 16], ciphertext: &[u8], out: &mut [u8]) -> usize {
    assert!(available(), "VAES is not available");
    assert_eq!(ciphertext.len(), out.len(), "CBC output buffer length");
    let done = ciphertext.len() / GROUP * GROUP;
    if done == 0 {
        return 0;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has the instructions (checked above), and
    // `x86::cbc_decrypt` reads and writes only within the first `done`
    // bytes of `ciphertext` and `out`, which both have.
    #[allow(unsafe_code)]
    unsafe {
        x86::cbc_decrypt(keys, iv, &ciphertext[..done], &mut out[..done]);
    }
    done
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{DecryptKeys, GROUP};
    use std::arch::x86_64::*;

    /// Groups decrypted together: four registers in flight.
    const WIDE: usize = 4;

    /// `ciphertext` and `out` are the same whole number of groups.
    #[target_feature(enable = "avx512f,vaes")]
    pub(super) unsafe fn cbc_decrypt(
        keys: &DecryptKeys,
        iv: &[u8; 16],
        ciphertext: &[u8],
        out: &mut [u8],
    ) {
        let rounds = keys.rounds;
        let mut k = [_mm512_setzero_si512(); 15];
        for (r, key) in k.iter_mut().zip(&keys.keys).take(rounds + 1) {
            *r = _mm512_broadcast_i32x4(_mm_loadu_si128(key.as_ptr().cast()));
        }
        let groups = ciphertext.len() / GROUP;
        let ct = ciphertext.as_ptr();
        let dst = out.as_mut_ptr();
        // SAFETY (all the pointer reads and writes below): group `g`
        // spans bytes `g * GROUP..(g + 1) * GROUP` of both buffers, with
        // `g < groups`; the blocks it is chained to are read from 16 bytes
        // before it, which for `g > 0` is within the group before.
        let load = |g: usize| _mm512_loadu_si512(ct.add(g * GROUP).cast());
        let chain = |g: usize| _mm512_loadu_si512(ct.add(g * GROUP - 16).cast());
        let decrypt = |c: __m512i| {
            let mut s = _mm512_xor_si512(c, k[0]);
            for key in &k[1..rounds] {
                s = _mm512_aesdec_epi128(s, *key);
            }
            _mm512_aesdeclast_epi128(s, k[rounds])
        };
        // The first group alone: it is chained to the IV.
        let mut first = [0u8; GROUP];
        first[..16].copy_from_slice(iv);
        first[16..].copy_from_slice(&ciphertext[..GROUP - 16]);
        let p = decrypt(load(0));
        let p = _mm512_xor_si512(p, _mm512_loadu_si512(first.as_ptr().cast()));
        _mm512_storeu_si512(dst.cast(), p);
        let mut g = 1;
        // Then four at a time, the rounds of the four interleaved so that
        // each `vaesdec` does not wait for the one before.
        while g + WIDE <= groups {
            let (mut s0, mut s1, mut s2, mut s3) = (load(g), load(g + 1), load(g + 2), load(g + 3));
            s0 = _mm512_xor_si512(s0, k[0]);
            s1 = _mm512_xor_si512(s1, k[0]);
            s2 = _mm512_xor_si512(s2, k[0]);
            s3 = _mm512_xor_si512(s3, k[0]);
            for key in &k[1..rounds] {
                s0 = _mm512_aesdec_epi128(s0, *key);
                s1 = _mm512_aesdec_epi128(s1, *key);
                s2 = _mm512_aesdec_epi128(s2, *key);
                s3 = _mm512_aesdec_epi128(s3, *key);
            }
            let last = k[rounds];
            for (i, s) in [s0, s1, s2, s3].into_iter().enumerate() {
                let p = _mm512_xor_si512(_mm512_aesdeclast_epi128(s, last), chain(g + i));
                _mm512_storeu_si512(dst.add((g + i) * GROUP).cast(), p);
            }
            g += WIDE;
        }
        while g < groups {
            let p = _mm512_xor_si512(decrypt(load(g)), chain(g));
            _mm512_storeu_si512(dst.add(g * GROUP).cast(), p);
            g += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::prf::unhex;
    use aes::cipher::block_padding::NoPadding;
    use aes::cipher::{BlockDecryptMut, KeyIvInit};
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};

    /// FIPS-197 Appendix A.1 and A.3: the first and last round keys.
    #[test]
    fn key_expansion_matches_fips_197() {
        let k128 = expand_key(&unhex("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        assert_eq!(k128.len(), 11);
        assert_eq!(k128[1].to_vec(), unhex("a0fafe1788542cb123a339392a6c7605"));
        assert_eq!(k128[10].to_vec(), unhex("d014f9a8c9ee2589e13f0cc8b6630ca6"));
        let k256 = expand_key(&unhex(
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        ))
        .unwrap();
        assert_eq!(k256.len(), 15);
        assert_eq!(k256[2].to_vec(), unhex("9ba354118e6925afa51a8b5f2067fcde"));
        assert_eq!(k256[14].to_vec(), unhex("fe4890d1e6188d0b046df344706c631e"));
        assert!(expand_key(&[0; 24]).is_none(), "AES-192 is no TLS suite's");
    }

    /// FIPS-197 §5.3.3's matrix undoes §5.1.3's MixColumns (01 02 03
    /// rows): the column of FIPS-197 Appendix B's first round.
    #[test]
    fn inv_mix_columns_undoes_mix_columns() {
        let mixed = unhex("046681e5e0cb199a48f8d37a2806264c");
        let column = unhex("d4bf5d30e0b452aeb84111f11e2798e5");
        assert_eq!(inv_mix_columns(mixed.try_into().unwrap()).to_vec(), column);
    }

    fn skip_without_vaes() -> bool {
        if !available() {
            eprintln!("skipped: this processor has no VAES/AVX-512F");
            return true;
        }
        false
    }

    /// NIST SP 800-38A F.2.2 (CBC-AES128.Decrypt) and F.2.6
    /// (CBC-AES256.Decrypt): four blocks, one group.
    #[test]
    fn sp800_38a_cbc_vectors() {
        if skip_without_vaes() {
            return;
        }
        let iv: [u8; 16] = unhex("000102030405060708090a0b0c0d0e0f")
            .try_into()
            .unwrap();
        let plain = unhex(concat!(
            "6bc1bee22e409f96e93d7e117393172a",
            "ae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52ef",
            "f69f2445df4f9b17ad2b417be66c3710"
        ));
        for (key, cipher) in [
            (
                "2b7e151628aed2a6abf7158809cf4f3c",
                concat!(
                    "7649abac8119b246cee98e9b12e9197d",
                    "5086cb9b507219ee95db113a917678b2",
                    "73bed6b8e3c1743b7116e69e22229516",
                    "3ff1caa1681fac09120eca307586e1a7"
                ),
            ),
            (
                "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
                concat!(
                    "f58c4c04d6e5f1ba779eabfb5f7bfbd6",
                    "9cfc4e967edb808d679f777bc6702c7d",
                    "39f23369a9d9bacfa530e26304231461",
                    "b2eb05e2c39be9fcda6c19078c6a9d1b"
                ),
            ),
        ] {
            let keys = DecryptKeys::new(&unhex(key)).unwrap();
            let mut out = vec![0; 64];
            assert_eq!(cbc_decrypt(&keys, &iv, &unhex(cipher), &mut out), 64);
            assert_eq!(out, plain, "key {key}");
        }
    }

    /// Random keys, IVs and lengths (every count of blocks up to 70, so
    /// every split between the four-register loop, the last registers and
    /// the blocks left over), against the `cbc` and `aes` crates.
    #[test]
    fn matches_the_aes_crate() {
        if skip_without_vaes() {
            return;
        }
        let mut rng = StdRng::seed_from_u64(11);
        for key_len in [16, 32] {
            for blocks in 0..=70 {
                let mut key = vec![0; key_len];
                let mut iv = [0; 16];
                let mut ct = vec![0; blocks * 16];
                rng.fill_bytes(&mut key);
                rng.fill_bytes(&mut iv);
                rng.fill_bytes(&mut ct);
                let mut want = ct.clone();
                if key_len == 16 {
                    cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
                        .unwrap()
                        .decrypt_padded_mut::<NoPadding>(&mut want)
                        .unwrap();
                } else {
                    cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
                        .unwrap()
                        .decrypt_padded_mut::<NoPadding>(&mut want)
                        .unwrap();
                }
                let mut out = vec![0xaa; ct.len()];
                let done = cbc_decrypt(&DecryptKeys::new(&key).unwrap(), &iv, &ct, &mut out);
                assert_eq!(done, blocks / 4 * 64, "{key_len} {blocks}");
                assert_eq!(
                    out[..done],
                    want[..done],
                    "{key_len}-byte key, {blocks} blocks"
                );
                assert!(out[done..].iter().all(|&b| b == 0xaa), "wrote past {done}");
            }
        }
    }
}
