//! MD5 (RFC 1321) for the record MAC of the `*-MD5` suites, behind the
//! `digest` crate's traits so that it drops into [`super::mac`].
//!
//! Why not the `md-5` crate here: on 16 KiB records it hashed at about 0.85
//! of OpenSSL's MD5 (its assembly backend too), which made RC4-MD5 records
//! the slowest of the RC4 suites. The rounds below are written so that each
//! step's dependency on the previous result is as short as the algebra
//! allows: `F = d ^ (b & (c ^ d))`, and `G` as the sum of two disjoint
//! terms, `(b & d) + (c & !d)`, of which only the first waits for `b`
//! (the usual reformulations, e.g. in RFC 1321's own remark that F acts as
//! a conditional). Handshake-time hashing (PRF, transcripts, SSL 3.0 keys)
//! keeps the `md-5` crate; tests check the two agree.
//!
//! MD5 is broken for collisions; as the HMAC/SSL 3.0 MAC of legacy suites
//! it is what the protocol prescribes.

use sha2::digest::block_buffer::Eager;
use sha2::digest::core_api::{
    AlgorithmName, Block, BlockSizeUser, Buffer, BufferKindUser, CoreWrapper, FixedOutputCore,
    OutputSizeUser, UpdateCore,
};
use sha2::digest::typenum::{U16, U64};
use sha2::digest::{HashMarker, Output, Reset};

/// RFC 1321 §3.3: the initial state, words A, B, C, D.
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i + 1))), the table of the
/// RFC's Appendix A.3 (MD5Transform).
const T: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// RFC 1321 §3.4: the per-round rotation amounts.
const S: [[u32; 4]; 4] = [
    [7, 12, 17, 22],
    [5, 9, 14, 20],
    [4, 11, 16, 23],
    [6, 10, 15, 21],
];

/// One 64-byte block into `state` (RFC 1321 §3.4).
fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut x = [0u32; 16];
    for (w, b) in x.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
    let [mut a, mut b, mut c, mut d] = *state;
    // T is read through an opaque reference, from memory: given as
    // immediates, the compiler folds the constants into each step's
    // dependency chain, and the whole runs at about 0.8 of this speed
    // (measured with `cargo bench --bench record -- primitive`).
    let t: &[u32; 64] = std::hint::black_box(&T);
    // One step: a = b + ((a + f + X[k] + T[i]) <<< s).
    macro_rules! step {
        ($f:expr, $a:ident, $b:ident, $k:expr, $s:expr, $i:expr) => {
            $a = $a
                .wrapping_add(x[$k])
                .wrapping_add(t[$i])
                .wrapping_add($f)
                .rotate_left($s)
                .wrapping_add($b);
        };
    }
    // Round 1: F(b, c, d) = (b & c) | (!b & d); X[i].
    for r in 0..4 {
        let i = 4 * r;
        step!(d ^ (b & (c ^ d)), a, b, i, S[0][0], i);
        step!(c ^ (a & (b ^ c)), d, a, i + 1, S[0][1], i + 1);
        step!(b ^ (d & (a ^ b)), c, d, i + 2, S[0][2], i + 2);
        step!(a ^ (c & (d ^ a)), b, c, i + 3, S[0][3], i + 3);
    }
    // Round 2: G(b, c, d) = (b & d) | (c & !d); X[(5i + 1) mod 16].
    for r in 0..4 {
        let i = 16 + 4 * r;
        step!(
            (b & d).wrapping_add(c & !d),
            a,
            b,
            (5 * i + 1) % 16,
            S[1][0],
            i
        );
        step!(
            (a & c).wrapping_add(b & !c),
            d,
            a,
            (5 * i + 6) % 16,
            S[1][1],
            i + 1
        );
        step!(
            (d & b).wrapping_add(a & !b),
            c,
            d,
            (5 * i + 11) % 16,
            S[1][2],
            i + 2
        );
        step!(
            (c & a).wrapping_add(d & !a),
            b,
            c,
            (5 * i + 16) % 16,
            S[1][3],
            i + 3
        );
    }
    // Round 3: H(b, c, d) = b ^ c ^ d; X[(3i + 5) mod 16].
    for r in 0..4 {
        let i = 32 + 4 * r;
        step!(b ^ c ^ d, a, b, (3 * i + 5) % 16, S[2][0], i);
        step!(a ^ b ^ c, d, a, (3 * i + 8) % 16, S[2][1], i + 1);
        step!(d ^ a ^ b, c, d, (3 * i + 11) % 16, S[2][2], i + 2);
        step!(c ^ d ^ a, b, c, (3 * i + 14) % 16, S[2][3], i + 3);
    }
    // Round 4: I(b, c, d) = c ^ (b | !d); X[7i mod 16].
    for r in 0..4 {
        let i = 48 + 4 * r;
        step!(c ^ (b | !d), a, b, (7 * i) % 16, S[3][0], i);
        step!(b ^ (a | !c), d, a, (7 * i + 7) % 16, S[3][1], i + 1);
        step!(a ^ (d | !b), c, d, (7 * i + 14) % 16, S[3][2], i + 2);
        step!(d ^ (c | !a), b, c, (7 * i + 21) % 16, S[3][3], i + 3);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// The block function and length count; [`Md5`] adds the buffer.
#[derive(Clone)]
pub struct Md5Core {
    state: [u32; 4],
    blocks: u64,
}

/// MD5 with the `digest` crate's interface (`Digest`, `Clone`, ...).
pub type Md5 = CoreWrapper<Md5Core>;

impl Default for Md5Core {
    fn default() -> Self {
        Self {
            state: INIT,
            blocks: 0,
        }
    }
}

impl HashMarker for Md5Core {}

impl BlockSizeUser for Md5Core {
    type BlockSize = U64;
}

impl BufferKindUser for Md5Core {
    type BufferKind = Eager;
}

impl OutputSizeUser for Md5Core {
    type OutputSize = U16;
}

impl UpdateCore for Md5Core {
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.blocks = self.blocks.wrapping_add(blocks.len() as u64);
        for block in blocks {
            compress(&mut self.state, block.as_ref());
        }
    }
}

impl FixedOutputCore for Md5Core {
    /// RFC 1321 §3.1-3.2: a 1 bit, zeros to 56 mod 64 bytes, and the
    /// message length in bits, little-endian.
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        let bits = (self
            .blocks
            .wrapping_mul(64)
            .wrapping_add(buffer.get_pos() as u64))
        .wrapping_mul(8);
        let state = &mut self.state;
        buffer.len64_padding_le(bits, |block| compress(state, block.as_ref()));
        for (o, s) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&s.to_le_bytes());
        }
    }
}

impl Reset for Md5Core {
    fn reset(&mut self) {
        *self = Self::default();
    }
}

impl AlgorithmName for Md5Core {
    fn write_alg_name(f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::digest::Digest;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// RFC 1321 Appendix A.5, the test suite.
    #[test]
    fn rfc1321_test_suite() {
        let cases: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hex(&Md5::digest(input.as_bytes())), want, "MD5({input:?})");
        }
    }

    /// Against the `md-5` crate for every length around the padding
    /// boundaries and a long input fed in uneven pieces.
    #[test]
    fn matches_the_md5_crate() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in (0..200).chain([1000, 4095, 4096, 4097, 5000]) {
            assert_eq!(
                Md5::digest(&data[..len])[..],
                md5::Md5::digest(&data[..len])[..],
                "length {len}"
            );
        }
        let mut ours = Md5::new();
        for piece in data.chunks(37) {
            ours.update(piece);
        }
        assert_eq!(ours.finalize()[..], md5::Md5::digest(&data)[..]);
    }
}
