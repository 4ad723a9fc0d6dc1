//! Records from a byte stream, and handshake messages from records.
//!
//! RFC 5246 §6.2.1: records carry at most 2^14 bytes (2^14 + 2048 once
//! protected); a handshake message may span several records and one record
//! may carry several messages. SSL 2.0-compatible ClientHellos (RFC 5246
//! Appendix E.2) come in a two-byte-header record of their own.
//!
//! The deframer never copies a record body it was not asked to keep
//! (bulk application data is only counted), hands out bodies borrowed
//! from the input whenever a record lies whole inside one input chunk, and
//! otherwise gives away the buffer it gathered the record in.

use std::borrow::Cow;

use crate::wire::record::{classify_stream_start, StreamStart};
use crate::wire::{ContentType, HandshakeHeader, HandshakeType, ProtocolVersion, RecordHeader};

/// What the deframer found.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordItem<'a> {
    /// A whole record. `body` is `None` when the caller chose not to keep
    /// it (its length is in the header); borrowed from the input when the
    /// record lay whole in one chunk, else the buffer it was gathered in,
    /// handed over (so that it can be decrypted in place).
    Record {
        header: RecordHeader,
        offset: u64,
        body: Option<Cow<'a, [u8]>>,
    },
    /// An SSL 2.0 record carrying a CLIENT-HELLO; `body` starts at msg_type.
    SslV2ClientHello { offset: u64, body: &'a [u8] },
    /// Bytes at `offset` are not a record header: synchronisation is lost
    /// and the rest of the stream is ignored.
    Desync { offset: u64, bytes: [u8; 5] },
}

#[derive(Debug)]
enum State {
    /// Collecting a 5-byte header (or the SSL 2.0 two-byte header).
    Header,
    /// Inside a record body.
    Body {
        header: RecordHeader,
        offset: u64,
        remaining: usize,
        keep: bool,
    },
    /// Inside an SSL 2.0 record body.
    V2Body { offset: u64, remaining: usize },
    /// Lost synchronisation: swallow everything.
    Desync,
}

/// Cuts one direction's byte stream into records.
#[derive(Debug)]
pub struct RecordDeframer {
    state: State,
    header: [u8; 5],
    header_len: usize,
    body: Vec<u8>,
    /// Stream offset of the next byte to be fed.
    offset: u64,
    /// Whether the next header is the first of the stream (where an SSL 2.0
    /// ClientHello may appear).
    at_start: bool,
}

impl Default for RecordDeframer {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordDeframer {
    pub fn new() -> Self {
        Self {
            state: State::Header,
            header: [0; 5],
            header_len: 0,
            body: Vec::new(),
            offset: 0,
            at_start: true,
        }
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn is_desynced(&self) -> bool {
        matches!(self.state, State::Desync)
    }

    /// Bytes still missing to finish the current record, if one is open
    /// (for the "stream ended mid-record" note).
    pub fn pending(&self) -> Option<(u64, usize)> {
        match &self.state {
            State::Header if self.header_len > 0 => {
                Some((self.offset - self.header_len as u64, 5 - self.header_len))
            }
            State::Body {
                offset, remaining, ..
            }
            | State::V2Body { offset, remaining } => Some((*offset, *remaining)),
            _ => None,
        }
    }

    /// Marks the stream as unusable from here on (after a TCP gap).
    pub fn lose_sync(&mut self) {
        self.state = State::Desync;
    }

    /// Feeds `data`; calls `out` for every record completed. `keep(header)`
    /// says whether the body of a record is wanted.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        keep: &mut dyn FnMut(&RecordHeader) -> bool,
        out: &mut dyn FnMut(RecordItem<'_>),
    ) {
        while !data.is_empty() {
            match &mut self.state {
                State::Desync => {
                    self.offset += data.len() as u64;
                    return;
                }
                State::Header => {
                    // Fast path: a whole header in the input, nothing pending.
                    let need = 5 - self.header_len;
                    let n = need.min(data.len());
                    self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                    self.header_len += n;
                    data = &data[n..];
                    self.offset += n as u64;
                    if self.header_len < 5 {
                        continue;
                    }
                    self.header_len = 0;
                    let start = self.offset - 5;
                    if self.at_start {
                        self.at_start = false;
                        if classify_stream_start(&self.header) == StreamStart::SslV2ClientHello {
                            let len =
                                (((self.header[0] & 0x7f) as usize) << 8) | self.header[1] as usize;
                            // The two-byte header is followed by `len` bytes,
                            // three of which are already in `self.header`.
                            self.body.clear();
                            self.body.extend_from_slice(&self.header[2..]);
                            self.state = State::V2Body {
                                offset: start,
                                remaining: len - 3,
                            };
                            continue;
                        }
                    }
                    let header = RecordHeader::parse(&self.header);
                    if !header.is_plausible() {
                        out(RecordItem::Desync {
                            offset: start,
                            bytes: self.header,
                        });
                        self.state = State::Desync;
                        continue;
                    }
                    let len = header.length as usize;
                    let wanted = keep(&header);
                    if wanted && data.len() >= len {
                        // Zero-copy: the whole body is in this chunk.
                        let (body, rest) = data.split_at(len);
                        data = rest;
                        self.offset += len as u64;
                        out(RecordItem::Record {
                            header,
                            offset: start,
                            body: Some(Cow::Borrowed(body)),
                        });
                        continue;
                    }
                    self.body.clear();
                    if wanted {
                        self.body.reserve_exact(len);
                    }
                    self.state = State::Body {
                        header,
                        offset: start,
                        remaining: len,
                        keep: wanted,
                    };
                    if len == 0 {
                        self.finish_body(out);
                    }
                }
                State::Body {
                    remaining, keep, ..
                } => {
                    let n = (*remaining).min(data.len());
                    if *keep {
                        self.body.extend_from_slice(&data[..n]);
                    }
                    *remaining -= n;
                    data = &data[n..];
                    self.offset += n as u64;
                    if *remaining == 0 {
                        self.finish_body(out);
                    }
                }
                State::V2Body { offset, remaining } => {
                    let n = (*remaining).min(data.len());
                    self.body.extend_from_slice(&data[..n]);
                    *remaining -= n;
                    data = &data[n..];
                    self.offset += n as u64;
                    if *remaining == 0 {
                        let offset = *offset;
                        self.state = State::Header;
                        out(RecordItem::SslV2ClientHello {
                            offset,
                            body: &self.body,
                        });
                    }
                }
            }
        }
    }

    /// Feeds one whole record, its header and its body, as
    /// [`feed`](Self::feed) would with their bytes, but handing `body`
    /// itself on (no copy) when the stream is at a record boundary, as it
    /// is when the producer cut the stream at the same boundaries. Any
    /// other state, or a header that is not a record of `body`'s length,
    /// takes the ordinary path.
    pub fn feed_record(
        &mut self,
        header_bytes: [u8; 5],
        body: Vec<u8>,
        keep: &mut dyn FnMut(&RecordHeader) -> bool,
        out: &mut dyn FnMut(RecordItem<'_>),
    ) {
        let header = RecordHeader::parse(&header_bytes);
        let at_boundary = matches!(self.state, State::Header) && self.header_len == 0;
        if !at_boundary
            || self.at_start
            || !header.is_plausible()
            || header.length as usize != body.len()
        {
            self.feed(&header_bytes, keep, out);
            self.feed(&body, keep, out);
            return;
        }
        let start = self.offset;
        self.offset += 5 + body.len() as u64;
        let wanted = keep(&header);
        out(RecordItem::Record {
            header,
            offset: start,
            body: wanted.then_some(Cow::Owned(body)),
        });
    }

    fn finish_body(&mut self, out: &mut dyn FnMut(RecordItem<'_>)) {
        if let State::Body {
            header,
            offset,
            keep,
            ..
        } = std::mem::replace(&mut self.state, State::Header)
        {
            out(RecordItem::Record {
                header,
                offset,
                body: keep.then(|| Cow::Owned(std::mem::take(&mut self.body))),
            });
        }
    }
}

/// A handshake message joined from one or more records.
#[derive(Debug, PartialEq, Eq)]
pub struct JoinedMessage<'a> {
    pub typ: HandshakeType,
    /// Header and body, exactly as sent.
    pub raw: &'a [u8],
    /// How many records contributed to it.
    pub records: u32,
}

/// Joins handshake-record fragments into messages (RFC 5246 §6.2.1).
#[derive(Debug, Default)]
pub struct HandshakeJoiner {
    buf: Vec<u8>,
    /// Records that contributed to the bytes in `buf`.
    records: u32,
}

/// No real handshake message comes near this; it bounds memory when a
/// peer or a corrupted stream announces a huge length.
pub const MAX_HANDSHAKE_MESSAGE: usize = 1 << 20;

/// A handshake message announced a length over [`MAX_HANDSHAKE_MESSAGE`].
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct OversizeMessage {
    pub typ: HandshakeType,
    pub length: usize,
}

impl HandshakeJoiner {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a message is partly received.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Bytes of a partial message, if any.
    pub fn partial_len(&self) -> usize {
        self.buf.len()
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.records = 0;
    }

    /// Adds one handshake record's plaintext; calls `out` for every message
    /// it completes.
    pub fn push_record(
        &mut self,
        fragment: &[u8],
        out: &mut dyn FnMut(JoinedMessage<'_>),
    ) -> Result<(), OversizeMessage> {
        let mut data = fragment;
        let mut records_in_buf = self.records + 1;
        if self.buf.is_empty() {
            // Fast path: whole messages straight from the fragment.
            while data.len() >= 4 {
                let h = HandshakeHeader::parse(data[..4].try_into().expect("4 bytes"));
                let total = 4 + h.length as usize;
                if h.length as usize > MAX_HANDSHAKE_MESSAGE {
                    return Err(OversizeMessage {
                        typ: h.typ,
                        length: h.length as usize,
                    });
                }
                if data.len() < total {
                    break;
                }
                out(JoinedMessage {
                    typ: h.typ,
                    raw: &data[..total],
                    records: 1,
                });
                data = &data[total..];
            }
            records_in_buf = 1;
        }
        self.buf.extend_from_slice(data);
        self.records = records_in_buf;
        loop {
            if self.buf.len() < 4 {
                break;
            }
            let h = HandshakeHeader::parse(self.buf[..4].try_into().expect("4 bytes"));
            if h.length as usize > MAX_HANDSHAKE_MESSAGE {
                let e = OversizeMessage {
                    typ: h.typ,
                    length: h.length as usize,
                };
                self.clear();
                return Err(e);
            }
            let total = 4 + h.length as usize;
            if self.buf.len() < total {
                break;
            }
            out(JoinedMessage {
                typ: h.typ,
                raw: &self.buf[..total],
                records: self.records,
            });
            self.buf.drain(..total);
            // What is left started in the current record.
            self.records = 1;
        }
        if self.buf.is_empty() {
            self.records = 0;
        }
        Ok(())
    }
}

/// The version a record layer speaks at the very start, for records built
/// before anything is negotiated (RFC 5246 Appendix E.1: {3,1} is the
/// common choice for the first ClientHello).
pub const INITIAL_RECORD_VERSION: ProtocolVersion = ProtocolVersion::TLSv1_0;

/// Whether a record of this type carries handshake-layer content that the
/// observer or engine always wants to see in full.
pub fn is_control(ct: ContentType) -> bool {
    matches!(
        ct,
        ContentType::Handshake
            | ContentType::Alert
            | ContentType::ChangeCipherSpec
            | ContentType::Heartbeat
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ct: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ct, 3, 1, (body.len() >> 8) as u8, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    fn deframe_in_chunks(stream: &[u8], chunk: usize) -> Vec<(u8, u64, Option<Vec<u8>>)> {
        let mut d = RecordDeframer::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed(
                c,
                &mut |h| h.content_type != ContentType::ApplicationData,
                &mut |item| {
                    if let RecordItem::Record {
                        header,
                        offset,
                        body,
                    } = item
                    {
                        got.push((header.content_type.0, offset, body.map(|b| b.to_vec())));
                    }
                },
            );
        }
        got
    }

    #[test]
    fn records_survive_any_chunking() {
        let mut stream = record(22, &[1, 0, 0, 2, 9, 9]);
        stream.extend(record(20, &[1]));
        stream.extend(record(23, &[0xaa; 300]));
        stream.extend(record(21, &[1, 0]));
        let expect = vec![
            (22, 0, Some(vec![1, 0, 0, 2, 9, 9])),
            (20, 11, Some(vec![1])),
            (23, 17, None),
            (21, 322, Some(vec![1, 0])),
        ];
        for chunk in [1, 2, 3, 5, 7, 100, 1000] {
            assert_eq!(deframe_in_chunks(&stream, chunk), expect, "chunk {chunk}");
        }
    }

    /// Records handed over whole give what their bytes give, and the
    /// body itself (owned) when kept; out of step, the ordinary path.
    #[test]
    fn whole_records_handed_over() {
        fn items(
            d: &mut RecordDeframer,
            feed: impl FnOnce(&mut RecordDeframer, &mut dyn FnMut(RecordItem<'_>)),
        ) -> Vec<String> {
            let mut got = Vec::new();
            feed(d, &mut |item| {
                let owned = matches!(
                    &item,
                    RecordItem::Record {
                        body: Some(Cow::Owned(_)),
                        ..
                    }
                );
                got.push(format!("{item:?} owned={owned}"));
            });
            got
        }
        let first = record(22, &[1, 0, 0, 2, 9, 9]);
        let second = record(23, &[0xaa; 300]);
        let header = |r: &[u8]| <[u8; 5]>::try_from(&r[..5]).unwrap();
        let mut d = RecordDeframer::new();
        items(&mut d, |d, out| d.feed(&first, &mut |_| true, out));
        let got = items(&mut d, |d, out| {
            d.feed_record(header(&second), second[5..].to_vec(), &mut |_| true, out)
        });
        assert_eq!(got.len(), 1);
        assert!(
            got[0].contains("offset: 11") && got[0].ends_with("owned=true"),
            "{got:?}"
        );
        assert_eq!(d.offset(), 11 + 305);
        // Not kept: only counted.
        let got = items(&mut d, |d, out| {
            d.feed_record(header(&second), second[5..].to_vec(), &mut |_| false, out)
        });
        assert!(got[0].contains("body: None"), "{got:?}");
        // Mid-record, or a header that does not match the body: the same
        // as feeding the bytes.
        let mut plain = RecordDeframer::new();
        let mut handed = RecordDeframer::new();
        for d in [&mut plain, &mut handed] {
            items(d, |d, out| d.feed(&first[..3], &mut |_| true, out));
        }
        let a = items(&mut plain, |d, out| {
            d.feed(&first[3..8], &mut |_| true, out);
            d.feed(&first[8..], &mut |_| true, out);
        });
        let b = items(&mut handed, |d, out| {
            d.feed_record(header(&first[3..]), first[8..].to_vec(), &mut |_| true, out)
        });
        assert_eq!(a.len(), 1);
        assert_eq!(a, b);
        let mut d = RecordDeframer::new();
        items(&mut d, |d, out| d.feed(&first, &mut |_| true, out));
        let got = items(&mut d, |d, out| {
            d.feed_record(header(&second), second[5..100].to_vec(), &mut |_| true, out)
        });
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(d.pending(), Some((11, 300 - 95)));
    }

    #[test]
    fn garbage_desyncs_once() {
        let mut d = RecordDeframer::new();
        let mut items = Vec::new();
        let mut stream = record(22, &[0; 4]);
        stream.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        d.feed(&stream, &mut |_| true, &mut |i| {
            items.push(format!("{i:?}"))
        });
        assert_eq!(items.len(), 2);
        assert!(items[1].starts_with("Desync { offset: 9"));
        assert!(d.is_desynced());
        d.feed(&[22, 3, 1, 0, 0], &mut |_| true, &mut |_| {
            panic!("no more items")
        });
    }

    #[test]
    fn oversize_length_is_desync() {
        let mut d = RecordDeframer::new();
        let mut n = 0;
        d.feed(&[23, 3, 3, 0xff, 0xff], &mut |_| true, &mut |i| {
            assert!(matches!(i, RecordItem::Desync { .. }));
            n += 1;
        });
        assert_eq!(n, 1);
    }

    #[test]
    fn sslv2_client_hello_at_start() {
        let body = [1u8, 3, 1, 0, 3, 0, 0, 0, 16, 0, 0, 0x2f]
            .into_iter()
            .chain([0xab; 16])
            .collect::<Vec<_>>();
        let mut stream = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
        stream.extend_from_slice(&body);
        stream.extend(record(22, &[2, 0, 0, 0]));
        for chunk in [1, 4, 100] {
            let mut d = RecordDeframer::new();
            let mut items = Vec::new();
            for c in stream.chunks(chunk) {
                d.feed(c, &mut |_| true, &mut |i| match i {
                    RecordItem::SslV2ClientHello { offset, body } => {
                        items.push((0u8, offset, body.to_vec()))
                    }
                    RecordItem::Record {
                        header,
                        offset,
                        body,
                    } => items.push((header.content_type.0, offset, body.unwrap().to_vec())),
                    RecordItem::Desync { .. } => panic!("desync"),
                });
            }
            assert_eq!(items[0], (0, 0, body.clone()));
            assert_eq!(items[1], (22, 2 + body.len() as u64, vec![2, 0, 0, 0]));
        }
    }

    #[test]
    fn pending_reports_cut_record() {
        let mut d = RecordDeframer::new();
        d.feed(&[22, 3, 1, 0, 10, 1, 2], &mut |_| true, &mut |_| {});
        assert_eq!(d.pending(), Some((0, 8)));
    }

    fn join(records: &[&[u8]]) -> Vec<(u8, Vec<u8>, u32)> {
        let mut j = HandshakeJoiner::new();
        let mut got = Vec::new();
        for r in records {
            j.push_record(r, &mut |m| got.push((m.typ.0, m.raw.to_vec(), m.records)))
                .unwrap();
        }
        assert!(!j.has_partial());
        got
    }

    #[test]
    fn joiner_splits_and_joins() {
        let a = [2u8, 0, 0, 3, 1, 2, 3];
        let b = [14u8, 0, 0, 0];
        // two messages in one record
        let both: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        assert_eq!(
            join(&[&both]),
            vec![(2, a.to_vec(), 1), (14, b.to_vec(), 1)]
        );
        // one message over three records, then one more in the last
        let got = join(&[&both[..2], &both[2..5], &both[5..]]);
        assert_eq!(got, vec![(2, a.to_vec(), 3), (14, b.to_vec(), 1)]);
    }

    #[test]
    fn joiner_refuses_absurd_length() {
        let mut j = HandshakeJoiner::new();
        let err = j
            .push_record(&[11, 0xff, 0xff, 0xff], &mut |_| {})
            .unwrap_err();
        assert_eq!(err.typ, HandshakeType::Certificate);
    }
}
