//! SHA-1 and SHA-256 compression of [`LANES`] independent messages at
//! once, with the x86 SHA extensions.
//!
//! Why: one message's hash is a chain, each 64-byte block starting from
//! the state the block before left, and each `sha1rnds4` (four rounds)
//! waiting for the one before. On the AMD Zen 4 we measure on, a single
//! chain keeps the SHA unit a fraction busy: the `sha1` crate and OpenSSL
//! both hash about 1.8 GB/s with these same instructions. Interleaving the
//! rounds of four messages, which share nothing, fills the gaps: HMACs of
//! 32 full records run at 3.7 GiB/s with SHA-1 and 2.9 GiB/s with SHA-256,
//! against 1.7 and 1.6 one record at a time
//! (`cargo bench --bench record -- "hmac lanes"`). The decoder has many
//! records to check at once (every record of a batch, on every
//! connection), and record MACs were where most of the time of a
//! MAC-then-encrypt suite went; [`super::mac::compute_many`] feeds this.
//!
//! The algorithms are FIPS 180-4's (§6.1.2, §6.2.2); how the rounds map
//! onto the instructions is Intel's "Intel SHA Extensions" paper (Gulley
//! et al., 2013): for SHA-1, `sha1rnds4` does four rounds from the state
//! `ABCD` (A in the highest lane) and `E` plus the four message words,
//! and `sha1nexte` derives the next `E` from the `A` of four rounds before;
//! for SHA-256, the state lives as `ABEF` and `CDGH`, and each
//! `sha256rnds2` does two rounds. `sha1msg1`/`sha1msg2` and
//! `sha256msg1`/`sha256msg2` compute the message schedule four words at a
//! time.

/// Messages hashed together.
pub const LANES: usize = 4;

/// FIPS 180-4 §5.3.1: SHA-1's initial hash value.
pub const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

/// FIPS 180-4 §5.3.3: SHA-256's initial hash value.
#[rustfmt::skip]
pub const SHA256_INIT: [u32; 8] = [
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
    0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
];

/// Whether this processor has the instructions the lanes need. Without
/// them, callers hash one message at a time (the `sha1`/`sha2` crates).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("ssse3")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `blocks` SHA-1 compressions on each lane: `states[i]` absorbs the
/// first `blocks` 64-byte blocks of `data[i]`.
///
/// Panics when [`available`] is false, or when a lane has fewer than
/// `blocks` blocks of data.
pub fn sha1(states: &mut [[u32; 5]; LANES], data: [&[u8]; LANES], blocks: usize) {
    check(&data, blocks);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `check` made sure the processor has the instructions and
    // that every lane has `blocks` blocks to read.
    #[allow(unsafe_code)]
    unsafe {
        x86::sha1(states, data, blocks)
    }
}

/// Runs `blocks` SHA-256 compressions on each lane, as [`sha1`] does.
pub fn sha256(states: &mut [[u32; 8]; LANES], data: [&[u8]; LANES], blocks: usize) {
    check(&data, blocks);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `sha1`.
    #[allow(unsafe_code)]
    unsafe {
        x86::sha256(states, data, blocks)
    }
}

fn check(data: &[&[u8]; LANES], blocks: usize) {
    assert!(available(), "the SHA lanes need the SHA extensions");
    for lane in data {
        assert!(lane.len() / 64 >= blocks, "a lane is short of blocks");
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
// Lane `l` of several arrays at once reads better by index.
#[allow(clippy::needless_range_loop)]
mod x86 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// FIPS 180-4 §4.2.2: the SHA-256 round constants.
    #[rustfmt::skip]
    const K256: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    type Lanes = [__m128i; LANES];

    /// Four SHA-1 rounds with function `F` on every lane, for a group
    /// after the first: `E` from the `A` four rounds back (`prev`) and the
    /// group's message words `w`.
    #[inline(always)]
    unsafe fn sha1_group<const F: i32>(abcd: &mut Lanes, prev: &mut Lanes, w: &Lanes) {
        for l in 0..LANES {
            let e = _mm_sha1nexte_epu32(prev[l], w[l]);
            prev[l] = abcd[l];
            abcd[l] = _mm_sha1rnds4_epu32::<F>(abcd[l], e);
        }
    }

    /// The message words of group `g` (4 to 19) from the four groups
    /// before, which `w` holds at `g % 4` (the oldest) onwards:
    /// `W[t] = rotl1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16])`.
    #[inline(always)]
    unsafe fn sha1_schedule(w: &mut [Lanes; 4], g: usize) {
        for l in 0..LANES {
            let x = _mm_sha1msg1_epu32(w[g % 4][l], w[(g + 1) % 4][l]);
            let x = _mm_xor_si128(x, w[(g + 2) % 4][l]);
            w[g % 4][l] = _mm_sha1msg2_epu32(x, w[(g + 3) % 4][l]);
        }
    }

    /// Safety: the processor has SHA, SSE4.1 and SSSE3, and every lane has
    /// `blocks` blocks of data.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn sha1(states: &mut [[u32; 5]; LANES], data: [&[u8]; LANES], blocks: usize) {
        // Reverses the 16 bytes: big-endian words, the first in the
        // highest lane.
        let swap = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let mut abcd = [_mm_setzero_si128(); LANES];
        let mut e = [_mm_setzero_si128(); LANES];
        for l in 0..LANES {
            abcd[l] = _mm_shuffle_epi32(_mm_loadu_si128(states[l].as_ptr().cast()), 0x1b);
            e[l] = _mm_set_epi32(states[l][4] as i32, 0, 0, 0);
        }
        for b in 0..blocks {
            let (abcd_before, e_before) = (abcd, e);
            let mut w = [[_mm_setzero_si128(); LANES]; 4];
            for (i, group) in w.iter_mut().enumerate() {
                for l in 0..LANES {
                    let at = data[l].as_ptr().add(64 * b + 16 * i);
                    group[l] = _mm_shuffle_epi8(_mm_loadu_si128(at.cast()), swap);
                }
            }
            // Rounds 0-3 take E from the state itself.
            let mut prev = abcd;
            for l in 0..LANES {
                let e0 = _mm_add_epi32(e_before[l], w[0][l]);
                abcd[l] = _mm_sha1rnds4_epu32::<0>(abcd[l], e0);
            }
            sha1_group::<0>(&mut abcd, &mut prev, &w[1]);
            sha1_group::<0>(&mut abcd, &mut prev, &w[2]);
            sha1_group::<0>(&mut abcd, &mut prev, &w[3]);
            macro_rules! group {
                ($f:literal: $($g:literal)*) => {$(
                    sha1_schedule(&mut w, $g);
                    sha1_group::<$f>(&mut abcd, &mut prev, &w[$g % 4]);
                )*};
            }
            group!(0: 4);
            group!(1: 5 6 7 8 9);
            group!(2: 10 11 12 13 14);
            group!(3: 15 16 17 18 19);
            for l in 0..LANES {
                e[l] = _mm_sha1nexte_epu32(prev[l], e_before[l]);
                abcd[l] = _mm_add_epi32(abcd[l], abcd_before[l]);
            }
        }
        for l in 0..LANES {
            let out = _mm_shuffle_epi32(abcd[l], 0x1b);
            _mm_storeu_si128(states[l].as_mut_ptr().cast(), out);
            states[l][4] = _mm_extract_epi32(e[l], 3) as u32;
        }
    }

    /// Four SHA-256 rounds (two `sha256rnds2`) of group `g` on every lane.
    #[inline(always)]
    unsafe fn sha256_group(abef: &mut Lanes, cdgh: &mut Lanes, w: &Lanes, g: usize) {
        let k = _mm_loadu_si128(K256.as_ptr().add(4 * g).cast());
        for l in 0..LANES {
            let wk = _mm_add_epi32(w[l], k);
            cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
            let wk_high = _mm_shuffle_epi32(wk, 0x0e);
            abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], wk_high);
        }
    }

    /// The message words of group `g` (4 to 15), as for SHA-1:
    /// `W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]`.
    #[inline(always)]
    unsafe fn sha256_schedule(w: &mut [Lanes; 4], g: usize) {
        for l in 0..LANES {
            let x = _mm_sha256msg1_epu32(w[g % 4][l], w[(g + 1) % 4][l]);
            let t7 = _mm_alignr_epi8(w[(g + 3) % 4][l], w[(g + 2) % 4][l], 4);
            w[g % 4][l] = _mm_sha256msg2_epu32(_mm_add_epi32(x, t7), w[(g + 3) % 4][l]);
        }
    }

    /// Safety: as for [`sha1`].
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn sha256(
        states: &mut [[u32; 8]; LANES],
        data: [&[u8]; LANES],
        blocks: usize,
    ) {
        // Big-endian words, in their order.
        let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let mut abef = [_mm_setzero_si128(); LANES];
        let mut cdgh = [_mm_setzero_si128(); LANES];
        for l in 0..LANES {
            let dcba = _mm_loadu_si128(states[l].as_ptr().cast());
            let hgfe = _mm_loadu_si128(states[l].as_ptr().add(4).cast());
            let cdab = _mm_shuffle_epi32(dcba, 0xb1);
            let efgh = _mm_shuffle_epi32(hgfe, 0x1b);
            abef[l] = _mm_alignr_epi8(cdab, efgh, 8);
            cdgh[l] = _mm_blend_epi16(efgh, cdab, 0xf0);
        }
        for b in 0..blocks {
            let (abef_before, cdgh_before) = (abef, cdgh);
            let mut w = [[_mm_setzero_si128(); LANES]; 4];
            for (i, group) in w.iter_mut().enumerate() {
                for l in 0..LANES {
                    let at = data[l].as_ptr().add(64 * b + 16 * i);
                    group[l] = _mm_shuffle_epi8(_mm_loadu_si128(at.cast()), swap);
                }
            }
            macro_rules! group {
                ($($g:literal)*) => {$(
                    if $g >= 4 {
                        sha256_schedule(&mut w, $g);
                    }
                    sha256_group(&mut abef, &mut cdgh, &w[$g % 4], $g);
                )*};
            }
            group!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            for l in 0..LANES {
                abef[l] = _mm_add_epi32(abef[l], abef_before[l]);
                cdgh[l] = _mm_add_epi32(cdgh[l], cdgh_before[l]);
            }
        }
        for l in 0..LANES {
            let feba = _mm_shuffle_epi32(abef[l], 0x1b);
            let dchg = _mm_shuffle_epi32(cdgh[l], 0xb1);
            let dcba = _mm_blend_epi16(feba, dchg, 0xf0);
            let hgfe = _mm_alignr_epi8(dchg, feba, 8);
            _mm_storeu_si128(states[l].as_mut_ptr().cast(), dcba);
            _mm_storeu_si128(states[l].as_mut_ptr().add(4).cast(), hgfe);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::digest::generic_array::GenericArray;

    fn blocks(data: &[u8]) -> Vec<GenericArray<u8, sha2::digest::consts::U64>> {
        data.chunks_exact(64)
            .map(|c| *GenericArray::from_slice(c))
            .collect()
    }

    /// Four different messages of 0 to 9 blocks, each lane compared with
    /// the `sha1`/`sha2` crates' one-message compression.
    #[test]
    fn every_lane_compresses_as_one_message_alone() {
        if !available() {
            eprintln!("SKIPPED: no SHA extensions on this processor");
            return;
        }
        for n in [0, 1, 2, 9] {
            let data: Vec<Vec<u8>> = (0..LANES)
                .map(|l| (0..64 * n).map(|i| (i * 31 + l * 7 + n) as u8).collect())
                .collect();
            let lanes: [&[u8]; LANES] = std::array::from_fn(|l| &data[l][..]);

            let mut s1: [[u32; 5]; LANES] = std::array::from_fn(|l| {
                let mut s = SHA1_INIT;
                s[l % 5] ^= l as u32;
                s
            });
            let want1: Vec<[u32; 5]> = (0..LANES)
                .map(|l| {
                    let mut s = s1[l];
                    sha1::compress(&mut s, &blocks(&data[l]));
                    s
                })
                .collect();
            sha1(&mut s1, lanes, n);
            assert_eq!(s1.to_vec(), want1, "SHA-1, {n} blocks");

            let mut s256: [[u32; 8]; LANES] = std::array::from_fn(|l| {
                let mut s = SHA256_INIT;
                s[l] ^= 0x0101_0101 * l as u32;
                s
            });
            let want256: Vec<[u32; 8]> = (0..LANES)
                .map(|l| {
                    let mut s = s256[l];
                    sha2::compress256(&mut s, &blocks(&data[l]));
                    s
                })
                .collect();
            sha256(&mut s256, lanes, n);
            assert_eq!(s256.to_vec(), want256, "SHA-256, {n} blocks");
        }
    }

    /// FIPS 180-2 appendix A.1 and B.1: "abc" as one padded block.
    #[test]
    fn the_fips_abc_vectors() {
        if !available() {
            eprintln!("SKIPPED: no SHA extensions on this processor");
            return;
        }
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        let lanes = [&block[..]; LANES];
        let mut s1 = [SHA1_INIT; LANES];
        sha1(&mut s1, lanes, 1);
        assert_eq!(
            s1[3],
            [
                0xa999_3e36,
                0x4706_816a,
                0xba3e_2571,
                0x7850_c26c,
                0x9cd0_d89d
            ]
        );
        let mut s256 = [SHA256_INIT; LANES];
        sha256(&mut s256, lanes, 1);
        assert_eq!(
            s256[2],
            [
                0xba78_16bf,
                0x8f01_cfea,
                0x4141_40de,
                0x5dae_2223,
                0xb003_61a3,
                0x9617_7a9c,
                0xb410_ff61,
                0xf200_15ad
            ]
        );
    }
}
