//! DES and triple DES (FIPS 46-3; TDEA keying option 1, NIST SP 800-67),
//! for the DES_CBC, DES40_CBC and 3DES_EDE_CBC suites.
//!
//! Written here because the `des` crate computes each round bit by bit and
//! ran at 11 MB/s for 3DES on our machine, a third of OpenSSL, which made
//! 3DES the slowest suite both in the engine and in `decode`. This one is
//! table-driven:
//!
//! - each S-box is merged with the P permutation that follows it into a
//!   64-entry table of 32-bit words (`SP`), so a round is eight lookups
//!   and XORs;
//! - the E expansion is two rotations of R (the eight 6-bit groups of
//!   E(R) are R's bits 4i..4i+5, bit 32 wrapping round to the front), and
//!   the round keys are stored to match;
//! - the initial and final permutations are table lookups, by nibble;
//! - in triple DES, the FP of one stage and the IP of the next cancel out,
//!   so the 48 rounds run back to back;
//! - CBC decryption runs eight blocks at a time: their rounds are
//!   independent, so the processor overlaps them, where one block's
//!   rounds must wait for each other (encryption in CBC mode cannot do
//!   this: each block needs the previous ciphertext).
//!
//! On processors with AVX-512, CBC decryption of long records is
//! bitsliced instead, 512 blocks at a time (`sliced`).
//!
//! Every table is computed at compile time from the standard's tables,
//! which are copied below as printed in FIPS 46-3 (bits numbered from 1,
//! most significant first). Checked against the FIPS 46-3 worked example,
//! a triple-DES example and the `des` crate on random keys and data.

/// The initial permutation (FIPS 46-3, "IP").
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, //
    62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8, //
    57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, //
    61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// The permutation P applied to the S-boxes' output.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, //
    2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/// Permuted choice 1: the 56 key bits, as C then D.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, //
    10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, //
    63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, //
    14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: the 48 bits of a round key from C and D.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, //
    23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, //
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, //
    44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D before each round.
const SHIFTS: [u8; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The S-boxes S1..S8, each four rows of sixteen.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, //
        0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, //
        4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, //
        15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, //
        3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, //
        0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, //
        13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, //
        13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, //
        13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, //
        1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, //
        13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, //
        10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, //
        3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, //
        14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, //
        4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, //
        11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, //
        10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, //
        9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, //
        4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, //
        13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, //
        1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, //
        6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, //
        1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, //
        7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, //
        2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// `SP[i][g]`: S-box i+1 applied to the 6-bit group `g` (row from its
/// outer bits, column from its inner four), placed at its place in the
/// 32-bit S output and put through P.
static SP: [[u32; 64]; 8] = sp_tables();

const fn sp_tables() -> [[u32; 64]; 8] {
    let mut t = [[0u32; 64]; 8];
    let mut i = 0;
    while i < 8 {
        let mut g = 0;
        while g < 64 {
            let s = (s_box(i, g) as u32) << (28 - 4 * i);
            t[i][g] = permute32(s, &P);
            g += 1;
        }
        i += 1;
    }
    t
}

/// S-box `i + 1` on the 6-bit group `g`: the row from its outer bits, the
/// column from its inner four.
const fn s_box(i: usize, g: usize) -> u8 {
    let row = ((g >> 4) & 2) | (g & 1);
    let col = (g >> 1) & 15;
    S[i][row * 16 + col]
}

/// Output bit j (from 1, most significant first) is input bit `table[j-1]`.
const fn permute32(x: u32, table: &[u8; 32]) -> u32 {
    let mut out = 0;
    let mut j = 0;
    while j < 32 {
        out |= ((x >> (32 - table[j] as u32)) & 1) << (31 - j);
        j += 1;
    }
    out
}

/// A 64-bit permutation as sixteen tables, one per input nibble: the
/// permuted word is the OR of one entry of each.
type NibbleTables = [[u64; 16]; 16];

static IP_TABLES: NibbleTables = nibble_tables(&IP);
static FP_TABLES: NibbleTables = nibble_tables(&inverse(&IP));

const fn inverse(table: &[u8; 64]) -> [u8; 64] {
    let mut inv = [0u8; 64];
    let mut j = 0;
    while j < 64 {
        inv[table[j] as usize - 1] = j as u8 + 1;
        j += 1;
    }
    inv
}

const fn nibble_tables(table: &[u8; 64]) -> NibbleTables {
    let mut t = [[0u64; 16]; 16];
    let mut j = 0;
    while j < 64 {
        // Output bit j+1 comes from input bit `src` (from 1).
        let src = table[j] as usize - 1;
        let (nibble, bit) = (src / 4, 3 - src % 4);
        let mut v = 0;
        while v < 16 {
            if (v >> bit) & 1 == 1 {
                t[nibble][v] |= 1 << (63 - j);
            }
            v += 1;
        }
        j += 1;
    }
    t
}

#[inline(always)]
fn permute64(x: u64, tables: &NibbleTables) -> u64 {
    let mut out = 0;
    for (n, table) in tables.iter().enumerate() {
        out |= table[((x >> (60 - 4 * n)) & 15) as usize];
    }
    out
}

/// One round key, its eight 6-bit groups laid out as the rotations of R
/// in [`f`] need them: groups 1, 3, 5, 7 (from 1) in the bytes of
/// `even`, groups 2, 4, 6, 8 in the bytes of `odd`.
#[derive(Clone, Copy, Default)]
struct RoundKey {
    even: u32,
    odd: u32,
}

impl RoundKey {
    /// Group `i` (from 0) of the 48-bit key: the six bits XORed into
    /// S-box `i + 1`'s input, the first the most significant.
    #[cfg(target_arch = "x86_64")]
    fn group(&self, i: usize) -> u32 {
        let word = if i.is_multiple_of(2) {
            self.even
        } else {
            self.odd
        };
        (word >> (24 - 8 * (i / 2))) & 63
    }
}

/// The cipher function f(R, K) of FIPS 46-3.
#[inline(always)]
fn f(r: u32, k: RoundKey) -> u32 {
    // E(R)'s group i (from 0) is R's bits 4i..4i+5 (bit 0 being bit 32):
    // rotated right by 3, groups 0, 2, 4, 6 sit at bits 24, 16, 8, 0;
    // rotated left by 1, groups 1, 3, 5, 7 do.
    let t0 = r.rotate_right(3) ^ k.even;
    let t1 = r.rotate_left(1) ^ k.odd;
    SP[0][(t0 >> 24) as usize & 63]
        ^ SP[2][(t0 >> 16) as usize & 63]
        ^ SP[4][(t0 >> 8) as usize & 63]
        ^ SP[6][t0 as usize & 63]
        ^ SP[1][(t1 >> 24) as usize & 63]
        ^ SP[3][(t1 >> 16) as usize & 63]
        ^ SP[5][(t1 >> 8) as usize & 63]
        ^ SP[7][t1 as usize & 63]
}

/// The sixteen round keys of an 8-byte key, in encryption order (the key
/// schedule of FIPS 46-3; the parity bits are ignored).
fn key_schedule(key: &[u8; 8]) -> [RoundKey; 16] {
    let k = u64::from_be_bytes(*key);
    let mut cd = 0u64;
    for (j, &src) in PC1.iter().enumerate() {
        cd |= ((k >> (64 - src as u32)) & 1) << (55 - j);
    }
    let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0fff_ffff) as u32);
    let rotate28 = |x: u32, n: u8| ((x << n) | (x >> (28 - n))) & 0x0fff_ffff;
    let mut keys = [RoundKey::default(); 16];
    for (key, &shift) in keys.iter_mut().zip(&SHIFTS) {
        c = rotate28(c, shift);
        d = rotate28(d, shift);
        let cd = (u64::from(c) << 28) | u64::from(d);
        let mut k48 = 0u64;
        for (j, &src) in PC2.iter().enumerate() {
            k48 |= ((cd >> (56 - src as u32)) & 1) << (47 - j);
        }
        let group = |i: u32| ((k48 >> (42 - 6 * i)) & 63) as u32;
        key.even = (group(0) << 24) | (group(2) << 16) | (group(4) << 8) | group(6);
        key.odd = (group(1) << 24) | (group(3) << 16) | (group(5) << 8) | group(7);
    }
    keys
}

/// Sixteen rounds on (L, R); the halves come out swapped, as the
/// pre-output R16 L16, which is also the next stage's input in triple DES.
#[inline(always)]
fn rounds<const N: usize>(l: &mut [u32; N], r: &mut [u32; N], keys: &[RoundKey; 16]) {
    for pair in keys.chunks_exact(2) {
        for b in 0..N {
            l[b] ^= f(r[b], pair[0]);
        }
        for b in 0..N {
            r[b] ^= f(l[b], pair[1]);
        }
    }
    std::mem::swap(l, r);
}

/// `N` blocks through IP, the stages' rounds, and FP.
#[inline(always)]
fn crypt<const N: usize>(blocks: &mut [u64; N], stages: &[[RoundKey; 16]]) {
    let mut l = [0u32; N];
    let mut r = [0u32; N];
    for b in 0..N {
        let x = permute64(blocks[b], &IP_TABLES);
        l[b] = (x >> 32) as u32;
        r[b] = x as u32;
    }
    for keys in stages {
        rounds(&mut l, &mut r, keys);
    }
    for b in 0..N {
        blocks[b] = permute64((u64::from(l[b]) << 32) | u64::from(r[b]), &FP_TABLES);
    }
}

/// A DES key (one stage) or a triple-DES key (three), expanded for both
/// directions.
#[derive(Clone)]
pub struct DesCipher {
    /// Round keys per stage, in the order encryption runs them.
    encrypt: Vec<[RoundKey; 16]>,
    decrypt: Vec<[RoundKey; 16]>,
    /// The decryption keys for the bitsliced code, when the processor
    /// can run it.
    #[cfg(target_arch = "x86_64")]
    sliced: Option<sliced::SlicedKeys>,
}

impl DesCipher {
    /// Single DES from an 8-byte key.
    pub fn des(key: &[u8; 8]) -> Self {
        let k = key_schedule(key);
        Self::from_stages(vec![k], vec![reversed(k)])
    }

    /// Triple DES, encrypt-decrypt-encrypt with K1, K2, K3 (the 24-byte key
    /// in that order; SP 800-67 keying option 1).
    pub fn triple_des(key: &[u8; 24]) -> Self {
        let part = |i: usize| -> [u8; 8] { key[8 * i..8 * i + 8].try_into().expect("8 bytes") };
        let (k1, k2, k3) = (
            key_schedule(&part(0)),
            key_schedule(&part(1)),
            key_schedule(&part(2)),
        );
        Self::from_stages(
            vec![k1, reversed(k2), k3],
            vec![reversed(k3), k2, reversed(k1)],
        )
    }

    fn from_stages(encrypt: Vec<[RoundKey; 16]>, decrypt: Vec<[RoundKey; 16]>) -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            sliced: sliced::available().then(|| sliced::SlicedKeys::new(&decrypt)),
            encrypt,
            decrypt,
        }
    }

    pub fn encrypt_block(&self, block: &mut [u8; 8]) {
        let mut x = [u64::from_be_bytes(*block)];
        crypt(&mut x, &self.encrypt);
        *block = x[0].to_be_bytes();
    }

    pub fn decrypt_block(&self, block: &mut [u8; 8]) {
        let mut x = [u64::from_be_bytes(*block)];
        crypt(&mut x, &self.decrypt);
        *block = x[0].to_be_bytes();
    }

    /// CBC encryption in place from `iv` (NIST SP 800-38A §6.2).
    ///
    /// Panics unless `data` is whole blocks.
    pub fn cbc_encrypt(&self, iv: &[u8; 8], data: &mut [u8]) {
        assert_eq!(data.len() % 8, 0, "CBC data must be whole blocks");
        let mut chain = u64::from_be_bytes(*iv);
        for block in data.chunks_exact_mut(8) {
            let mut x = [u64::from_be_bytes(block.try_into().expect("8 bytes")) ^ chain];
            crypt(&mut x, &self.encrypt);
            chain = x[0];
            block.copy_from_slice(&chain.to_be_bytes());
        }
    }

    /// CBC decryption of `ciphertext` into `out` from `iv`: bitsliced, 512
    /// blocks at a time, where the processor can (`sliced`), and by the
    /// tables for what is left.
    ///
    /// Panics unless both are the same whole number of blocks.
    pub fn cbc_decrypt(&self, iv: &[u8; 8], ciphertext: &[u8], out: &mut [u8]) {
        assert_eq!(ciphertext.len() % 8, 0, "CBC data must be whole blocks");
        assert_eq!(ciphertext.len(), out.len(), "CBC output buffer length");
        #[cfg(target_arch = "x86_64")]
        if let Some(keys) = &self.sliced {
            const CHUNK: usize = 8 * sliced::BLOCKS;
            let mut chain = *iv;
            let mut input = ciphertext.chunks_exact(CHUNK);
            let mut output = out.chunks_exact_mut(CHUNK);
            for (c, p) in (&mut input).zip(&mut output) {
                let c: &[u8; CHUNK] = c.try_into().expect("whole chunk");
                // SAFETY: `sliced` is only set when the processor has
                // what the bitsliced code needs.
                #[allow(unsafe_code)]
                unsafe {
                    sliced::cbc_decrypt(keys, chain, c, p.try_into().expect("whole chunk"))
                };
                chain = c[CHUNK - 8..].try_into().expect("8 bytes");
            }
            let rest = input.remainder();
            return self.cbc_decrypt_by_tables(&chain, rest, output.into_remainder());
        }
        self.cbc_decrypt_by_tables(iv, ciphertext, out)
    }

    /// CBC decryption by the tables, [`LANES`] blocks at a time.
    fn cbc_decrypt_by_tables(&self, iv: &[u8; 8], ciphertext: &[u8], out: &mut [u8]) {
        let word = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8 bytes"));
        let mut chain = u64::from_be_bytes(*iv);
        let mut input = ciphertext.chunks_exact(8 * LANES);
        let mut output = out.chunks_exact_mut(8 * LANES);
        for (c, p) in (&mut input).zip(&mut output) {
            let c: [u64; LANES] = std::array::from_fn(|b| word(&c[8 * b..8 * b + 8]));
            let mut x = c;
            crypt(&mut x, &self.decrypt);
            for b in 0..LANES {
                let prev = if b == 0 { chain } else { c[b - 1] };
                p[8 * b..8 * b + 8].copy_from_slice(&(x[b] ^ prev).to_be_bytes());
            }
            chain = c[LANES - 1];
        }
        for (c, p) in input
            .remainder()
            .chunks_exact(8)
            .zip(output.into_remainder().chunks_exact_mut(8))
        {
            let c = word(c);
            let mut x = [c];
            crypt(&mut x, &self.decrypt);
            p.copy_from_slice(&(x[0] ^ chain).to_be_bytes());
            chain = c;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sliced;

/// Blocks decrypted together in CBC mode by the tables.
const LANES: usize = 8;

/// Decryption runs the round keys backwards.
fn reversed(mut keys: [RoundKey; 16]) -> [RoundKey; 16] {
    keys.reverse();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::prf::unhex as hex;
    use cipher::{BlockDecrypt, BlockEncrypt, KeyInit};

    #[test]
    fn every_s_box_row_is_a_permutation() {
        for (i, sbox) in S.iter().enumerate() {
            for row in sbox.chunks(16) {
                let mut seen = [false; 16];
                for &v in row {
                    seen[v as usize] = true;
                }
                assert!(seen.iter().all(|&s| s), "S{}", i + 1);
            }
        }
    }

    /// The worked example of J. Orlin Grabbe's "The DES Algorithm
    /// Illustrated" (key 133457799BBCDFF1, M = 0123456789ABCDEF).
    #[test]
    fn des_worked_example() {
        let des = DesCipher::des(&hex("133457799bbcdff1").try_into().unwrap());
        let mut block: [u8; 8] = hex("0123456789abcdef").try_into().unwrap();
        des.encrypt_block(&mut block);
        assert_eq!(block.to_vec(), hex("85e813540f0ab405"));
        des.decrypt_block(&mut block);
        assert_eq!(block.to_vec(), hex("0123456789abcdef"));
    }

    /// The TDEA example of NIST SP 800-67 (three keys, "The quick brown
    /// fox jump" in ECB); the ciphertext is the one OpenSSL 3 computes
    /// (`openssl enc -des-ede3 -nopad`), whose second and third blocks
    /// match the document.
    #[test]
    fn triple_des_example() {
        let key: [u8; 24] = hex("0123456789abcdef23456789abcdef01456789abcdef0123")
            .try_into()
            .unwrap();
        let tdes = DesCipher::triple_des(&key);
        let mut data = b"The quick brown fox jump".to_vec();
        for block in data.chunks_exact_mut(8) {
            let block: &mut [u8; 8] = block.try_into().unwrap();
            tdes.encrypt_block(block);
        }
        assert_eq!(
            data,
            hex("1ccf23869d09333ecce21c8112256fe668d5c05dd9b6b900")
        );
    }

    /// The bitsliced CBC decryption gives what the tables give, for DES
    /// and 3DES, on lengths around its 512-block chunks (what is left
    /// over goes by the tables), and undoes CBC encryption.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sliced_agrees_with_the_tables() {
        use rand::{RngCore, SeedableRng};
        if !sliced::available() {
            eprintln!("SKIPPED sliced_agrees_with_the_tables: this processor has no AVX-512F");
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(512);
        for round in 0..6 {
            let mut key = [0u8; 24];
            rng.fill_bytes(&mut key);
            let cipher = if round % 2 == 0 {
                DesCipher::triple_des(&key)
            } else {
                DesCipher::des(&key[..8].try_into().unwrap())
            };
            assert!(cipher.sliced.is_some());
            let mut iv = [0u8; 8];
            rng.fill_bytes(&mut iv);
            for blocks in [511, 512, 513, 1031, 2051] {
                let mut ciphertext = vec![0u8; 8 * blocks];
                rng.fill_bytes(&mut ciphertext);
                let mut sliced = vec![0u8; ciphertext.len()];
                cipher.cbc_decrypt(&iv, &ciphertext, &mut sliced);
                let mut tables = vec![0u8; ciphertext.len()];
                cipher.cbc_decrypt_by_tables(&iv, &ciphertext, &mut tables);
                assert!(sliced == tables, "round {round}, {blocks} blocks");
                let mut again = sliced.clone();
                cipher.cbc_encrypt(&iv, &mut again);
                assert!(again == ciphertext, "round {round}, {blocks} blocks");
            }
        }
    }

    /// The same results as the `des` crate, for random keys and blocks,
    /// and CBC both ways on every length up to a few blocks past the
    /// eight-block batches.
    #[test]
    fn agrees_with_the_des_crate() {
        use rand::{RngCore, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(46);
        for _ in 0..200 {
            let mut key = [0u8; 24];
            rng.fill_bytes(&mut key);
            let mut block = [0u8; 8];
            rng.fill_bytes(&mut block);
            let ours = DesCipher::des(&key[..8].try_into().unwrap());
            let theirs = des::Des::new_from_slice(&key[..8]).unwrap();
            let mut a = block;
            ours.encrypt_block(&mut a);
            let mut b = block.into();
            theirs.encrypt_block(&mut b);
            assert_eq!(a, <[u8; 8]>::from(b));
            let ours = DesCipher::triple_des(&key);
            let theirs = des::TdesEde3::new_from_slice(&key).unwrap();
            let mut a = block;
            ours.encrypt_block(&mut a);
            let mut b = block.into();
            theirs.encrypt_block(&mut b);
            assert_eq!(a, <[u8; 8]>::from(b));
            ours.decrypt_block(&mut a);
            theirs.decrypt_block(&mut b);
            assert_eq!(a, block);
            assert_eq!(<[u8; 8]>::from(b), block);
        }
        let tdes = DesCipher::triple_des(&[7; 24].map(|b: u8| b.wrapping_mul(31)));
        let reference =
            des::TdesEde3::new_from_slice(&[7; 24].map(|b: u8| b.wrapping_mul(31))).unwrap();
        let iv = [9u8; 8];
        for blocks in 0..19 {
            let mut plain = vec![0u8; 8 * blocks];
            rng.fill_bytes(&mut plain);
            let mut ours = plain.clone();
            tdes.cbc_encrypt(&iv, &mut ours);
            // CBC by hand over the reference block cipher.
            let mut chain = iv;
            for (p, c) in plain.chunks_exact(8).zip(ours.chunks_exact(8)) {
                let mut x: [u8; 8] = std::array::from_fn(|i| p[i] ^ chain[i]);
                let mut b = x.into();
                reference.encrypt_block(&mut b);
                x = b.into();
                assert_eq!(&x[..], c, "{blocks} blocks");
                chain = x;
            }
            let mut back = vec![0u8; ours.len()];
            tdes.cbc_decrypt(&iv, &ours, &mut back);
            assert_eq!(back, plain, "{blocks} blocks");
        }
    }
}
