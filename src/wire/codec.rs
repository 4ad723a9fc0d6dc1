//! The byte-level codec every wire structure is built on: a strict
//! [`Reader`] that knows its absolute offset, length-prefixed sub-readers,
//! a matching set of writer helpers, and [`DecodeError`], which always names
//! the structure that failed and the offset where it failed.
//!
//! Nothing here knows about TLS; it only knows about the length-prefixed,
//! big-endian encoding that RFC 5246 section 4 ("Presentation Language")
//! describes.

use std::fmt;

/// Why a structure could not be decoded, with the structure's name and the
/// absolute offset (from the start of the buffer the outermost reader was
/// made for) where the problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the structure did.
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// Bytes were left over after a structure that must fill its container.
    TrailingBytes {
        what: &'static str,
        offset: usize,
        count: usize,
    },
    /// A length field holds a value the structure does not allow.
    BadLength {
        what: &'static str,
        offset: usize,
        length: usize,
    },
    /// A field holds a value the structure does not allow.
    IllegalValue {
        what: &'static str,
        offset: usize,
        value: u64,
    },
}

impl DecodeError {
    /// The name of the structure that failed.
    pub fn what(&self) -> &'static str {
        match *self {
            Self::Truncated { what, .. }
            | Self::TrailingBytes { what, .. }
            | Self::BadLength { what, .. }
            | Self::IllegalValue { what, .. } => what,
        }
    }

    /// The absolute offset at which the failure was detected.
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::TrailingBytes { offset, .. }
            | Self::BadLength { offset, .. }
            | Self::IllegalValue { offset, .. } => offset,
        }
    }

    /// The same error, moved by `base` bytes: used when a structure was
    /// decoded from a slice that starts `base` bytes into a larger one.
    pub fn shifted(self, base: usize) -> Self {
        match self {
            Self::Truncated {
                what,
                offset,
                needed,
                available,
            } => Self::Truncated {
                what,
                offset: offset + base,
                needed,
                available,
            },
            Self::TrailingBytes {
                what,
                offset,
                count,
            } => Self::TrailingBytes {
                what,
                offset: offset + base,
                count,
            },
            Self::BadLength {
                what,
                offset,
                length,
            } => Self::BadLength {
                what,
                offset: offset + base,
                length,
            },
            Self::IllegalValue {
                what,
                offset,
                value,
            } => Self::IllegalValue {
                what,
                offset: offset + base,
                value,
            },
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated {
                what,
                offset,
                needed,
                available,
            } => write!(
                f,
                "{what}: truncated at offset {offset} (needs {needed} bytes, {available} left)"
            ),
            Self::TrailingBytes {
                what,
                offset,
                count,
            } => write!(
                f,
                "{what}: {count} unexpected trailing bytes at offset {offset}"
            ),
            Self::BadLength {
                what,
                offset,
                length,
            } => write!(f, "{what}: invalid length {length} at offset {offset}"),
            Self::IllegalValue {
                what,
                offset,
                value,
            } => write!(f, "{what}: illegal value {value:#x} at offset {offset}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over a byte slice that refuses to read past its end.
///
/// `base` is the absolute offset of `buf[0]`, so that errors from nested
/// readers report offsets relative to the outermost buffer.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte is at offset 0.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::at(buf, 0)
    }

    /// A reader over `buf`, whose first byte is at absolute offset `base`.
    pub fn at(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte to be read.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes exactly `n` bytes, or fails naming `what`.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                what,
                offset: self.offset(),
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes all unread bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let b = self.array::<8>(what)?;
        Ok(u64::from_be_bytes(b))
    }

    /// A sub-reader over exactly `len` bytes, positioned after them.
    pub fn sub(&mut self, len: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let bytes = self.take(len, what)?;
        Ok(Reader::at(bytes, base))
    }

    /// Reads a one-byte length, then a sub-reader over that many bytes.
    pub fn sub_u8(&mut self, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let len = self.u8(what)? as usize;
        self.sub(len, what)
    }

    /// Reads a two-byte length, then a sub-reader over that many bytes.
    pub fn sub_u16(&mut self, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let len = self.u16(what)? as usize;
        self.sub(len, what)
    }

    /// Reads a three-byte length, then a sub-reader over that many bytes.
    pub fn sub_u24(&mut self, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let len = self.u24(what)? as usize;
        self.sub(len, what)
    }

    /// `opaque x<0..2^8-1>` as owned bytes.
    pub fn vec_u8(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        Ok(self.sub_u8(what)?.rest().to_vec())
    }

    /// `opaque x<0..2^16-1>` as owned bytes.
    pub fn vec_u16(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        Ok(self.sub_u16(what)?.rest().to_vec())
    }

    /// `opaque x<0..2^24-1>` as owned bytes.
    pub fn vec_u24(&mut self, what: &'static str) -> Result<Vec<u8>, DecodeError> {
        Ok(self.sub_u24(what)?.rest().to_vec())
    }

    /// Fails unless every byte was consumed: a structure that must fill its
    /// container calls this last.
    pub fn expect_end(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what,
                offset: self.offset(),
                count: self.remaining(),
            })
        }
    }

    /// A `BadLength` error at the current offset.
    pub fn bad_length(&self, what: &'static str, length: usize) -> DecodeError {
        DecodeError::BadLength {
            what,
            offset: self.offset(),
            length,
        }
    }

    /// An `IllegalValue` error at the current offset.
    pub fn illegal(&self, what: &'static str, value: u64) -> DecodeError {
        DecodeError::IllegalValue {
            what,
            offset: self.offset(),
            value,
        }
    }
}

/// Writer helpers over `Vec<u8>`. Length-prefixed fields are written with a
/// closure that fills the body; the prefix is patched afterwards, so callers
/// never compute lengths by hand.
pub trait WireWrite {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u24(&mut self, v: u32);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put(&mut self, bytes: &[u8]);
    fn with_u8_len(&mut self, body: impl FnOnce(&mut Vec<u8>));
    fn with_u16_len(&mut self, body: impl FnOnce(&mut Vec<u8>));
    fn with_u24_len(&mut self, body: impl FnOnce(&mut Vec<u8>));
}

impl WireWrite for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u24(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes()[1..]);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn with_u8_len(&mut self, body: impl FnOnce(&mut Vec<u8>)) {
        patch_len(self, 1, body);
    }
    fn with_u16_len(&mut self, body: impl FnOnce(&mut Vec<u8>)) {
        patch_len(self, 2, body);
    }
    fn with_u24_len(&mut self, body: impl FnOnce(&mut Vec<u8>)) {
        patch_len(self, 3, body);
    }
}

/// Writes a `width`-byte placeholder, lets `body` append, then patches the
/// placeholder with the length `body` wrote. The encoder owns its values, so
/// an oversize body is a programming error: it panics rather than emit a
/// length field that silently wrapped.
fn patch_len(out: &mut Vec<u8>, width: usize, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend(std::iter::repeat_n(0, width));
    body(out);
    let len = out.len() - at - width;
    assert!(
        len < 1usize << (8 * width),
        "length {len} does not fit a {width}-byte prefix"
    );
    let be = (len as u32).to_be_bytes();
    out[at..at + width].copy_from_slice(&be[4 - width..]);
}

/// Lowercase hex, no separators: how bytes are shown everywhere (JSON,
/// fingerprints, randoms). A table lookup, because JSON output hex-encodes
/// every message's raw bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    s
}

/// Encoding and decoding of one context-free wire structure, side by side.
pub trait Codec: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Encodes into a fresh vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a structure that must fill `bytes` exactly.
    fn from_bytes(bytes: &[u8], what: &'static str) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.expect_end(what)?;
        Ok(v)
    }
}

/// Decodes a list of `T` that fills `r` entirely.
pub fn decode_list<T: Codec>(r: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(T::decode(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_offsets_are_absolute() {
        let buf = [0u8, 0, 3, 1, 2];
        let mut r = Reader::new(&buf);
        r.u16("pad").unwrap();
        let mut sub = r.sub_u8("inner").unwrap_err();
        // length 3 but only 2 bytes left
        assert_eq!(
            sub,
            DecodeError::Truncated {
                what: "inner",
                offset: 3,
                needed: 3,
                available: 2
            }
        );
        sub = sub.shifted(10);
        assert_eq!(sub.offset(), 13);
    }

    #[test]
    fn length_prefixes_are_patched() {
        let mut out = Vec::new();
        out.with_u16_len(|w| {
            w.put_u8(7);
            w.with_u24_len(|w| w.put(&[1, 2]));
        });
        assert_eq!(out, [0, 6, 7, 0, 0, 2, 1, 2]);
    }

    #[test]
    fn hex_is_lowercase_and_complete() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn expect_end_reports_trailing() {
        let mut r = Reader::at(&[1, 2, 3], 100);
        r.u8("x").unwrap();
        assert_eq!(
            r.expect_end("thing"),
            Err(DecodeError::TrailingBytes {
                what: "thing",
                offset: 101,
                count: 2
            })
        );
    }

    #[test]
    fn error_messages_name_structure_and_offset() {
        let e = Reader::at(&[1], 40).u16("ClientHello.version").unwrap_err();
        assert_eq!(
            e.to_string(),
            "ClientHello.version: truncated at offset 40 (needs 2 bytes, 1 left)"
        );
    }
}
