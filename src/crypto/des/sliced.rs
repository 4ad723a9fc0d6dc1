//! Bitsliced DES for CBC decryption, 512 blocks at a time, on processors
//! with AVX-512 (Biham, "A Fast New DES Implementation in Software",
//! FSE 1997).
//!
//! Why: table DES does one round of one block at a time (eight lookups
//! and their XORs), which held 3DES CBC decryption at about 57 MiB/s and
//! made it by far the slowest suite to decode; this code does 666 MiB/s
//! on our machine (`cargo bench --bench record -- "primitive 16KiB/3des"`).
//! Records shorter than 512 blocks (4 KiB) still go by the tables, as
//! does the tail of a longer one. CBC decryption has no chain between blocks
//! (each plaintext needs only its own ciphertext and the one before), so
//! many blocks can go through the cipher together. Bitslicing turns the
//! cipher sideways: vector `i` holds bit `i` of 512 blocks, one per bit
//! lane, and every step of DES becomes a handful of whole-vector logic
//! operations done for all 512 at once:
//!
//! - the permutations IP, E, P and FP cost nothing: they only say which
//!   vector to use;
//! - the round key is the same for every block, so XORing a key bit is
//!   XORing a vector of all zeros or all ones;
//! - each S-box output bit is a function of six input bits, computed by
//!   Shannon expansion: eight functions of three of the inputs (one
//!   `vpternlogq` each, whose 8-bit immediate is the function's truth
//!   table), then a tree of seven multiplexers on the other three (one
//!   `vpternlogq` each). The truth tables come at compile time from the
//!   standard's S-boxes.
//!
//! Blocks go in and out through a 64x64 bit-matrix transposition in each
//! of the eight 64-bit lanes (lane `g` of vector `k` is block `8k + g`).

use super::{s_box, RoundKey, IP, P};
use std::arch::x86_64::*;

/// Blocks that go through the cipher together: one per bit of a vector.
pub(super) const BLOCKS: usize = 512;

/// Whether this processor can run the bitsliced code.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The decryption round keys, bit by bit, as words of all zeros or all
/// ones ready to broadcast: `[stage][round][bit]`, bit `6i + j` being
/// input `j` of S-box `i`.
#[derive(Clone)]
pub(super) struct SlicedKeys(Vec<[[i64; 48]; 16]>);

impl SlicedKeys {
    pub(super) fn new(stages: &[[RoundKey; 16]]) -> Self {
        Self(
            stages
                .iter()
                .map(|keys| {
                    let mut out = [[0i64; 48]; 16];
                    for (round, key) in out.iter_mut().zip(keys) {
                        for (bit, slot) in round.iter_mut().enumerate() {
                            *slot = -i64::from((key.group(bit / 6) >> (5 - bit % 6)) & 1);
                        }
                    }
                    out
                })
                .collect(),
        )
    }
}

/// The vector holding bit `n` of the blocks (FIPS numbering: 1 is the
/// most significant bit of the big-endian block). Blocks are loaded as
/// little-endian words, so byte `b` of the block is byte `7 - b` of the
/// word.
const fn vector_of_bit(n: usize) -> usize {
    let big_endian_bit = 64 - n; // from the least significant
    (7 - big_endian_bit / 8) * 8 + big_endian_bit % 8
}

/// For S-box `i`, input `j`: which bit of R (from 0) E takes there.
/// E(R)'s group `i` is R's bits 4i..4i+5 counting from 1, bit 0 being
/// bit 32 (FIPS 46-3, the E bit-selection table).
const fn e_source(i: usize, j: usize) -> usize {
    (4 * i + j + 31) % 32
}

/// For S-box `i`, output bit `o` (0 the most significant): which bit of
/// f(R, K) (from 0) it becomes after P.
const fn p_destination(i: usize, o: usize) -> usize {
    let s_bit = (4 * i + o + 1) as u8;
    let mut p = 0;
    while P[p] != s_bit {
        p += 1;
    }
    p
}

/// Where each S-box input bit sits in the Shannon expansion, per S-box:
/// the first three are the arguments of the eight leaf functions, the
/// last three select among them (inputs numbered 0..5, 0 the most
/// significant, as in FIPS 46-3: the row is inputs 0 and 5, the column 1
/// to 4). Each order is the cheapest of the 720 (see the test
/// `each_split_is_the_cheapest`): the fewest distinct leaves that are
/// neither constant nor one input, plus multiplexers whose inputs differ,
/// over the four outputs. That is 410 operations for the eight S-boxes,
/// where the same order for all (1, 2, 3, 4, 0, 5) needed 436.
const SPLIT: [[usize; 6]; 8] = [
    [1, 2, 4, 0, 3, 5],
    [0, 2, 3, 1, 4, 5],
    [1, 2, 5, 3, 0, 4],
    [1, 2, 4, 0, 3, 5],
    [0, 1, 2, 3, 4, 5],
    [1, 2, 4, 5, 0, 3],
    [2, 3, 4, 0, 1, 5],
    [1, 2, 3, 0, 4, 5],
];

/// `LEAF[i][o][s]`: the truth table, as a `vpternlogq` immediate, of
/// output bit `o` of S-box `i` as a function of the three leaf inputs,
/// when the three selector inputs have the values of the bits of `s`
/// (bit 0 for `SPLIT[i][3]`).
const LEAF: [[[i32; 8]; 4]; 8] = leaves(&SPLIT);

const fn leaves(split: &[[usize; 6]; 8]) -> [[[i32; 8]; 4]; 8] {
    let mut t = [[[0i32; 8]; 4]; 8];
    let mut i = 0;
    while i < 8 {
        let mut o = 0;
        while o < 4 {
            let mut s = 0;
            while s < 8 {
                let mut imm = 0;
                let mut abc = 0;
                while abc < 8 {
                    // vpternlogq indexes its immediate by a*4 + b*2 + c.
                    let values = [
                        (abc >> 2) & 1,
                        (abc >> 1) & 1,
                        abc & 1,
                        s & 1,
                        (s >> 1) & 1,
                        (s >> 2) & 1,
                    ];
                    let mut input = 0;
                    let mut k = 0;
                    while k < 6 {
                        input |= values[k] << (5 - split[i][k]);
                        k += 1;
                    }
                    let bit = (s_box(i, input) >> (3 - o)) & 1;
                    imm |= (bit as i32) << abc;
                    abc += 1;
                }
                t[i][o][s] = imm;
                s += 1;
            }
            o += 1;
        }
        i += 1;
    }
    t
}

/// `vpternlogq` immediate for "a ? b : c".
const MUX: i32 = 0xca;

/// One S-box output bit, XORed into its place in L.
macro_rules! s_box_output {
    ($i:literal, $o:literal, $x:ident, $l:ident) => {{
        const SP: [usize; 6] = SPLIT[$i];
        let (a, b, c) = ($x[SP[0]], $x[SP[1]], $x[SP[2]]);
        let g0 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][0] }>(a, b, c);
        let g1 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][1] }>(a, b, c);
        let g2 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][2] }>(a, b, c);
        let g3 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][3] }>(a, b, c);
        let g4 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][4] }>(a, b, c);
        let g5 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][5] }>(a, b, c);
        let g6 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][6] }>(a, b, c);
        let g7 = _mm512_ternarylogic_epi64::<{ LEAF[$i][$o][7] }>(a, b, c);
        let (s0, s1, s2) = ($x[SP[3]], $x[SP[4]], $x[SP[5]]);
        let m0 = _mm512_ternarylogic_epi64::<MUX>(s0, g1, g0);
        let m1 = _mm512_ternarylogic_epi64::<MUX>(s0, g3, g2);
        let m2 = _mm512_ternarylogic_epi64::<MUX>(s0, g5, g4);
        let m3 = _mm512_ternarylogic_epi64::<MUX>(s0, g7, g6);
        let n0 = _mm512_ternarylogic_epi64::<MUX>(s1, m1, m0);
        let n1 = _mm512_ternarylogic_epi64::<MUX>(s1, m3, m2);
        let out = _mm512_ternarylogic_epi64::<MUX>(s2, n1, n0);
        const DESTINATION: usize = p_destination($i, $o);
        $l[DESTINATION] = _mm512_xor_si512($l[DESTINATION], out);
    }};
}

/// S-box `i` on R and the round key, its four outputs XORed into L.
macro_rules! s_box {
    ($i:literal, $r:ident, $key:ident, $l:ident) => {{
        let x = [
            _mm512_xor_si512($r[e_source($i, 0)], _mm512_set1_epi64($key[6 * $i])),
            _mm512_xor_si512($r[e_source($i, 1)], _mm512_set1_epi64($key[6 * $i + 1])),
            _mm512_xor_si512($r[e_source($i, 2)], _mm512_set1_epi64($key[6 * $i + 2])),
            _mm512_xor_si512($r[e_source($i, 3)], _mm512_set1_epi64($key[6 * $i + 3])),
            _mm512_xor_si512($r[e_source($i, 4)], _mm512_set1_epi64($key[6 * $i + 4])),
            _mm512_xor_si512($r[e_source($i, 5)], _mm512_set1_epi64($key[6 * $i + 5])),
        ];
        s_box_output!($i, 0, x, $l);
        s_box_output!($i, 1, x, $l);
        s_box_output!($i, 2, x, $l);
        s_box_output!($i, 3, x, $l);
    }};
}

/// L ^= f(R, K) for all 512 blocks.
#[target_feature(enable = "avx512f")]
fn half_round(l: &mut [__m512i; 32], r: &[__m512i; 32], key: &[i64; 48]) {
    s_box!(0, r, key, l);
    s_box!(1, r, key, l);
    s_box!(2, r, key, l);
    s_box!(3, r, key, l);
    s_box!(4, r, key, l);
    s_box!(5, r, key, l);
    s_box!(6, r, key, l);
    s_box!(7, r, key, l);
}

/// One stage of swapping `s`-bit blocks in the transposition.
macro_rules! transpose_stage {
    ($a:ident, $s:literal, $mask:expr) => {{
        let mask = _mm512_set1_epi64($mask);
        let mut k = 0;
        while k < 64 {
            if k & $s == 0 {
                // t = ((a[k] >> s) ^ a[k + s]) & mask
                let t = _mm512_ternarylogic_epi64::<0x28>(
                    _mm512_srli_epi64::<$s>($a[k]),
                    $a[k + $s],
                    mask,
                );
                $a[k + $s] = _mm512_xor_si512($a[k + $s], t);
                $a[k] = _mm512_xor_si512($a[k], _mm512_slli_epi64::<$s>(t));
            }
            k += 1;
        }
    }};
}

/// In each 64-bit lane, the 64x64 bit matrix whose row `k` is lane word
/// `a[k]` is transposed: bit `j` of `a[i]` becomes bit `i` of `a[j]`
/// (bits counted from the least significant). It is its own inverse.
#[target_feature(enable = "avx512f")]
fn transpose(a: &mut [__m512i; 64]) {
    transpose_stage!(a, 32, 0x0000_0000_ffff_ffff);
    transpose_stage!(a, 16, 0x0000_ffff_0000_ffff);
    transpose_stage!(a, 8, 0x00ff_00ff_00ff_00ff);
    transpose_stage!(a, 4, 0x0f0f_0f0f_0f0f_0f0f);
    transpose_stage!(a, 2, 0x3333_3333_3333_3333);
    transpose_stage!(a, 1, 0x5555_5555_5555_5555);
}

/// CBC-decrypts exactly [`BLOCKS`] blocks of `ciphertext` into `out`,
/// `previous` being the ciphertext block before them (or the IV).
///
/// # Safety
/// The processor must have AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn cbc_decrypt(
    keys: &SlicedKeys,
    previous: [u8; 8],
    ciphertext: &[u8; 8 * BLOCKS],
    out: &mut [u8; 8 * BLOCKS],
) {
    let mut bits = [_mm512_setzero_si512(); 64];
    for (k, v) in bits.iter_mut().enumerate() {
        // SAFETY: 64 bytes from 64k, inside the 4096-byte array.
        *v = unsafe { _mm512_loadu_si512(ciphertext.as_ptr().add(64 * k).cast()) };
    }
    transpose(&mut bits);
    let mut l = [_mm512_setzero_si512(); 32];
    let mut r = [_mm512_setzero_si512(); 32];
    for t in 0..32 {
        l[t] = bits[vector_of_bit(IP[t] as usize)];
        r[t] = bits[vector_of_bit(IP[32 + t] as usize)];
    }
    for stage in &keys.0 {
        for pair in stage.chunks_exact(2) {
            half_round(&mut l, &r, &pair[0]);
            half_round(&mut r, &l, &pair[1]);
        }
        // The halves come out swapped (R16 L16), which is also the next
        // stage's input: its IP undoes this stage's FP.
        std::mem::swap(&mut l, &mut r);
    }
    for t in 0..32 {
        bits[vector_of_bit(IP[t] as usize)] = l[t];
        bits[vector_of_bit(IP[32 + t] as usize)] = r[t];
    }
    transpose(&mut bits);
    let mut first = [0u8; 64];
    first[..8].copy_from_slice(&previous);
    first[8..].copy_from_slice(&ciphertext[..56]);
    for (k, v) in bits.iter().enumerate() {
        // SAFETY: every load and store is 64 bytes inside the 4096-byte
        // arrays (or `first`): the chain of vector k is the 64 bytes
        // from 64k - 8.
        unsafe {
            let chain = if k == 0 {
                _mm512_loadu_si512(first.as_ptr().cast())
            } else {
                _mm512_loadu_si512(ciphertext.as_ptr().add(64 * k - 8).cast())
            };
            _mm512_storeu_si512(
                out.as_mut_ptr().add(64 * k).cast(),
                _mm512_xor_si512(*v, chain),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operations the Shannon expansion of S-box `i` costs with
    /// `split` (the measure `SPLIT` is chosen by).
    fn cost(i: usize, split: &[usize; 6]) -> usize {
        let mut table = SPLIT;
        table[i] = *split;
        let leaves = leaves(&table)[i];
        // Constant, or one of the three inputs as it is.
        let free = [0x00, 0xff, 0xf0, 0xcc, 0xaa];
        let mut distinct = Vec::new();
        let mut muxes = 0;
        for outputs in leaves {
            for leaf in outputs {
                if !free.contains(&leaf) && !distinct.contains(&leaf) {
                    distinct.push(leaf);
                }
            }
            // A multiplexer of two equal inputs is no operation.
            let mut level: Vec<Vec<i32>> = outputs.iter().map(|&l| vec![l]).collect();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| {
                        if pair[0] == pair[1] {
                            pair[0].clone()
                        } else {
                            muxes += 1;
                            [pair[0].clone(), vec![-1], pair[1].clone()].concat()
                        }
                    })
                    .collect();
            }
        }
        distinct.len() + muxes
    }

    #[test]
    fn each_split_is_the_cheapest() {
        let mut orders = vec![[0usize; 6]];
        for n in 1..6 {
            orders = orders
                .into_iter()
                .flat_map(|order| {
                    (0..=n).map(move |at| {
                        let mut next = order;
                        next.copy_within(at..n, at + 1);
                        next[at] = n;
                        next
                    })
                })
                .collect();
        }
        assert_eq!(orders.len(), 720);
        let mut total = 0;
        for (i, split) in SPLIT.iter().enumerate() {
            let chosen = cost(i, split);
            let best = orders.iter().map(|order| cost(i, order)).min().unwrap();
            assert_eq!(chosen, best, "S{}", i + 1);
            total += chosen;
        }
        assert_eq!(total, 410);
        assert_eq!(
            (0..8).map(|i| cost(i, &[1, 2, 3, 4, 0, 5])).sum::<usize>(),
            436
        );
    }
}
