//! The record header (RFC 5246 §6.2.1) and how to recognise the start of a
//! TLS conversation by content: a plausible record header, or an SSL
//! 2.0-compatible ClientHello (RFC 5246 Appendix E.2).
//!
//! Splitting a byte stream into records and records into handshake
//! messages is `record::deframer`'s job; protection is `record`'s.

use super::codec::{Codec, DecodeError, Reader, WireWrite};
use super::enums::*;

/// RFC 5246 §6.2.1: at most 2^14 bytes of plaintext per record.
pub const MAX_PLAINTEXT: usize = 1 << 14;
/// RFC 5246 §6.2.3: at most 2^14 + 2048 bytes of ciphertext per record;
/// anything longer is answered with record_overflow.
pub const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;

/// RFC 5246 §6.2.1:
/// `struct { ContentType type; ProtocolVersion version; uint16 length; ... } TLSPlaintext;`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: ContentType,
    pub version: ProtocolVersion,
    pub length: u16,
}

impl RecordHeader {
    pub const LEN: usize = 5;

    /// Decodes a header from its five bytes.
    pub fn parse(b: &[u8; 5]) -> Self {
        Self {
            content_type: ContentType(b[0]),
            version: ProtocolVersion(u16::from_be_bytes([b[1], b[2]])),
            length: u16::from_be_bytes([b[3], b[4]]),
        }
    }

    /// Whether this looks like a record of SSL 3.0 to TLS 1.3: a known
    /// content type, major version 3, and a length within the ciphertext
    /// limit. Used to find TLS on any port and to notice when a stream has
    /// lost record synchronisation.
    pub fn is_plausible(&self) -> bool {
        (20..=24).contains(&self.content_type.0)
            && self.version.major() == 3
            && self.version.minor() <= 4
            && (self.length as usize) <= MAX_CIPHERTEXT
    }
}

impl Codec for RecordHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.content_type.encode(out);
        self.version.encode(out);
        out.put_u16(self.length);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            content_type: ContentType::decode(r)?,
            version: ProtocolVersion::decode(r)?,
            length: r.u16("TLSPlaintext.length")?,
        })
    }
}

/// How the first bytes of a stream direction look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStart {
    /// A TLS/SSL 3.0 record header.
    Record,
    /// An SSL 2.0 two-byte header carrying a CLIENT-HELLO (msg_type 1) with
    /// an SSL 3.0 or TLS version.
    SslV2ClientHello,
    /// Not enough bytes to tell.
    NeedMore,
    NotTls,
}

/// Classifies the first bytes of a stream direction.
pub fn classify_stream_start(b: &[u8]) -> StreamStart {
    if b.is_empty() {
        return StreamStart::NeedMore;
    }
    if b[0] & 0x80 != 0 {
        // SSL 2.0 record: 2-byte header, length in the low 15 bits, then
        // msg_type 1 and a version {3,x} (RFC 5246 E.2).
        if b.len() < 5 {
            return StreamStart::NeedMore;
        }
        let len = (((b[0] & 0x7f) as usize) << 8) | b[1] as usize;
        if b[2] == 1 && b[3] == 3 && b[4] <= 3 && len >= 9 {
            return StreamStart::SslV2ClientHello;
        }
        return StreamStart::NotTls;
    }
    if b.len() < RecordHeader::LEN {
        return StreamStart::NeedMore;
    }
    let h = RecordHeader::parse(b[..5].try_into().expect("5 bytes"));
    if h.is_plausible() && h.length > 0 {
        StreamStart::Record
    } else {
        StreamStart::NotTls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = RecordHeader {
            content_type: ContentType::Handshake,
            version: ProtocolVersion::TLSv1_0,
            length: 512,
        };
        let b = h.to_bytes();
        assert_eq!(b, [22, 3, 1, 2, 0]);
        assert_eq!(RecordHeader::parse(&b.clone().try_into().unwrap()), h);
        assert_eq!(RecordHeader::from_bytes(&b, "hdr").unwrap(), h);
    }

    #[test]
    fn stream_start() {
        assert_eq!(
            classify_stream_start(&[22, 3, 1, 0, 50]),
            StreamStart::Record
        );
        assert_eq!(classify_stream_start(&[22, 3, 1]), StreamStart::NeedMore);
        assert_eq!(
            classify_stream_start(b"GET / HTTP/1.1"),
            StreamStart::NotTls
        );
        assert_eq!(
            classify_stream_start(&[22, 3, 1, 0xff, 0xff]),
            StreamStart::NotTls
        );
        assert_eq!(
            classify_stream_start(&[0x80, 0x2e, 1, 3, 1, 0, 9]),
            StreamStart::SslV2ClientHello
        );
        assert_eq!(
            classify_stream_start(&[0x80, 0x2e, 1, 2, 0]),
            StreamStart::NotTls
        );
    }
}
