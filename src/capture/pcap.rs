//! Reading pcap and pcapng captures from any `io::Read` (a file, stdin) as
//! a stream of packets, in constant memory.
//!
//! Formats followed:
//! - legacy pcap (draft-ietf-opsawg-pcap): both byte orders, microsecond
//!   and nanosecond timestamps, and the "modified" variant pcap-parser
//!   also reads;
//! - pcapng (draft-ietf-opsawg-pcapng): several sections, several
//!   interfaces per section, each with its own link type, snapshot length,
//!   timestamp resolution (`if_tsresol`, §4.2) and offset (`if_tsoffset`);
//!   Enhanced (§4.3) and Simple (§4.4) Packet Blocks; Decryption Secrets
//!   Blocks (§4.7) of type TLS key log (`0x544c534b`), surfaced as raw
//!   text. Every other block is skipped.
//!
//! Parsing is pcap-parser's streaming reader: `next`, then `consume` once
//! the block is used, `refill` when a block is incomplete, over a fixed
//! buffer that grows only when a single block is larger than it. Its errors
//! are mapped to [`CaptureError`] here, at the boundary.
//!
//! What this does not do: decode link layers ([`super::net`] does), seek,
//! read interface statistics, name resolution or comments, or keep more
//! than one buffer of the capture in memory. A Simple Packet Block carries
//! no timestamp; it gets the previous packet's, so times never go back.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pcap_parser::pcapng::{Block, InterfaceDescriptionBlock, OptionCode, SecretsType};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapBlock, LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::net::LinkType;
use super::CaptureError;
use crate::event::Timestamp;

/// Default size of the read buffer.
pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;
/// Default limit on one block's size: a larger one is taken as corruption
/// rather than read into memory.
pub const DEFAULT_MAX_BLOCK_SIZE: usize = 64 << 20;

/// Which kind of file the capture is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap { big_endian: bool, nanosecond: bool },
    PcapNg,
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// The pcapng interface it was captured on (0 in a legacy pcap).
    pub interface: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
    /// The packet's length on the wire (more than `data` when the
    /// snapshot length cut it).
    pub orig_len: u32,
}

/// What the capture holds next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureItem<'a> {
    Packet(Packet<'a>),
    /// NSS key log text from a pcapng Decryption Secrets Block.
    KeyLog(&'a [u8]),
    /// A packet block that cannot be used: it names an interface the
    /// section did not declare.
    BadPacket {
        what: &'static str,
    },
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// A streaming reader of packets from a pcap or pcapng capture.
///
/// ```no_run
/// # use sslwalk::capture::pcap::{PacketSource, CaptureItem};
/// let file = std::fs::File::open("capture.pcap")?;
/// let mut source = PacketSource::new(file)?;
/// while let Some(item) = source.next_item()? {
///     if let CaptureItem::Packet(packet) = item {
///         let _ = (packet.ts, packet.data.len());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PacketSource<R: Read> {
    reader: FormatReader<R>,
    format: CaptureFormat,
    /// The legacy header's single interface, or the current pcapng
    /// section's interfaces in declaration order.
    interfaces: Vec<Interface>,
    /// Byte order of the current pcapng section (for peeking at lengths).
    section_big_endian: bool,
    /// Bytes of the block last returned, consumed on the next call (the
    /// returned item borrows them until then).
    pending_consume: usize,
    last_ts: Timestamp,
    max_block_size: usize,
    /// The buffer's current size.
    capacity: usize,
    read_error: SharedError,
}

type SharedError = Arc<Mutex<Option<io::Error>>>;

enum FormatReader<R: Read> {
    Legacy(LegacyPcapReader<InputReader<R>>),
    Ng(PcapNGReader<InputReader<R>>),
}

impl<R: Read> FormatReader<R> {
    fn get(&mut self) -> &mut dyn PcapReaderIterator {
        match self {
            Self::Legacy(reader) => reader,
            Self::Ng(reader) => reader,
        }
    }

    fn get_ref(&self) -> &dyn PcapReaderIterator {
        match self {
            Self::Legacy(reader) => reader,
            Self::Ng(reader) => reader,
        }
    }
}

/// What the first phase of [`PacketSource::next_item`] decided, as owned
/// data so no borrow of the buffer outlives it.
enum Step {
    Deliver,
    Skip(usize),
    Refill,
    Grow,
    End,
    Truncated,
    Corrupt(&'static str),
    ReadFailed,
}

impl<R: Read> PacketSource<R> {
    /// Opens a capture with the default buffer size and block limit.
    pub fn new(input: R) -> Result<Self, CaptureError> {
        Self::with_limits(input, DEFAULT_BUFFER_SIZE, DEFAULT_MAX_BLOCK_SIZE)
    }

    /// Opens a capture, reading through a buffer of `buffer_size` bytes
    /// (at least 64 KiB) that may grow up to `max_block_size` for one
    /// oversized block.
    pub fn with_limits(
        input: R,
        buffer_size: usize,
        max_block_size: usize,
    ) -> Result<Self, CaptureError> {
        let read_error = SharedError::default();
        let mut input = InputReader {
            prefix: [0; 4],
            prefix_len: 0,
            prefix_pos: 0,
            inner: input,
            fill_next_read: true,
            failed: false,
            error: Arc::clone(&read_error),
        };
        let magic = input.read_prefix().map_err(CaptureError::Io)?;
        let format = detect_format(magic)?;
        // Big enough for any file header; pcap-parser checks it with one
        // read.
        let buffer_size = buffer_size.max(64 << 10);
        let reader = match format {
            CaptureFormat::PcapNg => PcapNGReader::new(buffer_size, input).map(FormatReader::Ng),
            CaptureFormat::Pcap { .. } => {
                LegacyPcapReader::new(buffer_size, input).map(FormatReader::Legacy)
            }
        };
        let reader = reader.map_err(|error| match error {
            PcapError::ReadError => CaptureError::Io(take_error(&read_error)),
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                CaptureError::Truncated {
                    offset: 0,
                    available: 0,
                }
            }
            _ => CaptureError::Corrupt {
                offset: 0,
                what: "the file header is malformed",
            },
        })?;
        Ok(Self {
            reader,
            format,
            interfaces: Vec::new(),
            section_big_endian: false,
            pending_consume: 0,
            last_ts: Timestamp::default(),
            max_block_size: max_block_size.max(buffer_size),
            capacity: buffer_size,
            read_error,
        })
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Bytes of the capture consumed so far.
    pub fn offset(&self) -> u64 {
        self.reader.get_ref().consumed() as u64
    }

    /// The next packet or key log, `None` at the end of the capture.
    ///
    /// A capture cut off inside a block gives every complete item first,
    /// then [`CaptureError::Truncated`].
    pub fn next_item(&mut self) -> Result<Option<CaptureItem<'_>>, CaptureError> {
        if self.pending_consume > 0 {
            self.reader.get().consume_noshift(self.pending_consume);
            self.pending_consume = 0;
        }
        // The common case first, parsed once rather than in both phases
        // below: a legacy packet record whole in the buffer (room for the
        // longer record header of the "modified" format, so the parse
        // cannot fail).
        if let Some(interface) = self.whole_legacy_record() {
            let FormatReader::Legacy(reader) = &mut self.reader else {
                unreachable!("checked by whole_legacy_record");
            };
            let offset = reader.consumed() as u64;
            let Ok((len, PcapBlockOwned::Legacy(record))) = reader.next() else {
                // Not expected: the whole record is in the buffer.
                return Err(CaptureError::Corrupt {
                    offset,
                    what: "a whole packet record did not parse",
                });
            };
            self.pending_consume = len;
            let packet = legacy_packet(&record, &interface);
            self.last_ts = packet.ts;
            return Ok(Some(CaptureItem::Packet(packet)));
        }
        // Phase 1: step over blocks that carry no item (headers, interface
        // descriptions, statistics...) and fetch data until an item's block
        // is whole in the buffer. Nothing borrowed survives an iteration,
        // which is what lets the buffer be refilled and grown here.
        loop {
            let step = match self.reader.get().next() {
                Ok((len, block)) => match block {
                    PcapBlockOwned::Legacy(_) => Step::Deliver,
                    PcapBlockOwned::LegacyHeader(header) => {
                        self.interfaces.clear();
                        self.interfaces.push(Interface {
                            link_type: link_type_from_field(header.network.0 as u32),
                            snaplen: header.snaplen,
                            units_per_sec: if header.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            },
                            offset_secs: 0,
                        });
                        Step::Skip(len)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(_) | Block::SimplePacket(_)) => {
                        Step::Deliver
                    }
                    PcapBlockOwned::NG(Block::DecryptionSecrets(dsb))
                        if dsb.secrets_type == SecretsType::TlsKeyLog =>
                    {
                        Step::Deliver
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        self.interfaces.clear();
                        self.section_big_endian = shb.big_endian();
                        Step::Skip(len)
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        match interface_from_idb(&idb, self.section_big_endian) {
                            Some(interface) => {
                                self.interfaces.push(interface);
                                Step::Skip(len)
                            }
                            None => Step::Corrupt(
                                "an interface declares an invalid timestamp resolution",
                            ),
                        }
                    }
                    PcapBlockOwned::NG(_) => Step::Skip(len),
                },
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_)) => Step::Refill,
                Err(PcapError::BufferTooSmall) => Step::Grow,
                Err(PcapError::UnexpectedEof) => Step::Truncated,
                Err(PcapError::ReadError) => Step::ReadFailed,
                Err(PcapError::HeaderNotRecognized) => {
                    Step::Corrupt("a section does not start with a valid header")
                }
                Err(PcapError::NomError(..) | PcapError::OwnedNomError(..)) => {
                    Step::Corrupt(match self.format {
                        CaptureFormat::PcapNg => {
                            "malformed block (inconsistent lengths or an overflowing field)"
                        }
                        CaptureFormat::Pcap { .. } => "malformed packet record",
                    })
                }
            };
            match step {
                Step::Deliver => break,
                Step::Skip(len) => self.reader.get().consume_noshift(len),
                Step::Refill => {
                    let before = self.reader.get_ref().data().len();
                    if self.reader.get().refill().is_err() {
                        return Err(CaptureError::Io(take_error(&self.read_error)));
                    }
                    // A full buffer cannot be refilled; without this, a parser
                    // asking for an unknown amount more would loop forever.
                    let reader = self.reader.get_ref();
                    if reader.data().len() == before && !reader.reader_exhausted() {
                        self.grow()?;
                    }
                }
                Step::Grow => self.grow()?,
                Step::End => return Ok(None),
                Step::Truncated => {
                    return Err(CaptureError::Truncated {
                        offset: self.offset(),
                        available: self.reader.get_ref().data().len(),
                    })
                }
                Step::Corrupt(what) => {
                    return Err(CaptureError::Corrupt {
                        offset: self.offset(),
                        what,
                    })
                }
                Step::ReadFailed => return Err(CaptureError::Io(take_error(&self.read_error))),
            }
        }
        // Phase 2: the block is whole in the buffer; parse it again (cheap:
        // fixed headers) and return the item borrowing the buffer.
        let offset = self.offset();
        let Ok((len, block)) = self.reader.get().next() else {
            return Err(CaptureError::Corrupt {
                offset,
                what: "a block changed between two reads",
            });
        };
        self.pending_consume = len;
        let item = match block {
            PcapBlockOwned::Legacy(record) => match self.interfaces.first() {
                Some(interface) => {
                    let packet = legacy_packet(&record, interface);
                    self.last_ts = packet.ts;
                    CaptureItem::Packet(packet)
                }
                None => CaptureItem::BadPacket {
                    what: "a packet record comes before the file header",
                },
            },
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                match self.interfaces.get(epb.if_id as usize) {
                    Some(interface) => {
                        let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let ts = ng_timestamp(raw, interface.units_per_sec, interface.offset_secs);
                        self.last_ts = ts;
                        CaptureItem::Packet(Packet {
                            ts,
                            link_type: interface.link_type,
                            interface: epb.if_id,
                            // The block's data is padded to 4 bytes.
                            data: &epb.data[..(epb.caplen as usize).min(epb.data.len())],
                            orig_len: epb.origlen,
                        })
                    }
                    None => CaptureItem::BadPacket {
                        what: "an Enhanced Packet Block names an undeclared interface",
                    },
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => match self.interfaces.first() {
                Some(interface) => {
                    // The block holds min(original length, snapshot length)
                    // bytes, then padding (pcapng §4.4).
                    let mut captured = spb.origlen as usize;
                    if interface.snaplen > 0 {
                        captured = captured.min(interface.snaplen as usize);
                    }
                    let captured = captured.min(spb.data.len());
                    CaptureItem::Packet(Packet {
                        ts: self.last_ts,
                        link_type: interface.link_type,
                        interface: 0,
                        data: &spb.data[..captured],
                        orig_len: spb.origlen,
                    })
                }
                None => CaptureItem::BadPacket {
                    what: "a Simple Packet Block comes before any interface",
                },
            },
            PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                let len = (dsb.secrets_len as usize).min(dsb.data.len());
                CaptureItem::KeyLog(&dsb.data[..len])
            }
            _ => {
                return Err(CaptureError::Corrupt {
                    offset,
                    what: "a block changed between two reads",
                })
            }
        };
        Ok(Some(item))
    }

    /// The file's interface, when a legacy pcap's next record is whole in
    /// the buffer.
    fn whole_legacy_record(&self) -> Option<Interface> {
        let (FormatReader::Legacy(reader), CaptureFormat::Pcap { big_endian, .. }) =
            (&self.reader, self.format)
        else {
            return None;
        };
        let data = reader.data();
        let caplen = read_u32(data, 8, big_endian)? as usize;
        if data.len() < 24 + caplen {
            return None;
        }
        self.interfaces.first().copied()
    }

    /// Grows the buffer to hold the block at the front, whose declared
    /// length is read from its header.
    fn grow(&mut self) -> Result<(), CaptureError> {
        let data = self.reader.get_ref().data();
        let declared = match self.format {
            CaptureFormat::Pcap { big_endian, .. } => {
                read_u32(data, 8, big_endian).map(|caplen| u64::from(caplen) + 16)
            }
            CaptureFormat::PcapNg => read_u32(data, 4, self.section_big_endian).map(u64::from),
        };
        let offset = self.offset();
        let declared = declared.unwrap_or(2 * self.capacity as u64);
        let too_large = CaptureError::BlockTooLarge {
            offset,
            size: declared,
            limit: self.max_block_size,
        };
        if declared > self.max_block_size as u64 {
            return Err(too_large);
        }
        // pcap-parser wants strictly more room than the block needs.
        let wanted = (declared as usize + 1)
            .max(2 * self.capacity)
            .min(self.max_block_size + 1);
        if !self.reader.get().grow(wanted) {
            return Err(too_large);
        }
        self.capacity = wanted;
        Ok(())
    }
}

/// An Interface Description Block's link type, snapshot length and time
/// base. The options are read here rather than with pcap-parser's helpers,
/// which reject every power-of-two `if_tsresol` and read `if_tsoffset` as
/// little-endian whatever the section's byte order.
fn interface_from_idb(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Option<Interface> {
    let mut tsresol = 6; // microseconds when the option is absent (pcapng §4.2)
    let mut offset_secs = 0;
    for option in &idb.options {
        let Ok(value) = option.as_bytes() else {
            continue;
        };
        match option.code {
            OptionCode::IfTsresol => tsresol = *value.first()?,
            OptionCode::IfTsoffset => {
                let bytes: [u8; 8] = value.try_into().ok()?;
                offset_secs = if big_endian {
                    i64::from_be_bytes(bytes)
                } else {
                    i64::from_le_bytes(bytes)
                };
            }
            _ => {}
        }
    }
    Some(Interface {
        link_type: LinkType(idb.linktype.0 as u16),
        snaplen: idb.snaplen,
        units_per_sec: units_per_second(tsresol)?,
        offset_secs,
    })
}

/// `if_tsresol`: with the top bit clear, the resolution is 10^-n seconds;
/// with it set, 2^-n (pcapng §4.2).
fn units_per_second(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        1u64.checked_shl(exponent).filter(|_| exponent < 64)
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// The link type in a legacy header's `LinkType` field: the low 16 bits;
/// the upper bits say whether frames carry an FCS (draft-ietf-opsawg-pcap
/// §4, "LinkType and additional information").
fn link_type_from_field(field: u32) -> LinkType {
    LinkType((field & 0xffff) as u16)
}

/// Recognises the file from its first four bytes.
fn detect_format(magic: &[u8]) -> Result<CaptureFormat, CaptureError> {
    let pcap = |big_endian, nanosecond| CaptureFormat::Pcap {
        big_endian,
        nanosecond,
    };
    let known: [(&[u8; 4], CaptureFormat); 7] = [
        (&[0x0a, 0x0d, 0x0d, 0x0a], CaptureFormat::PcapNg),
        (&[0xd4, 0xc3, 0xb2, 0xa1], pcap(false, false)),
        (&[0xa1, 0xb2, 0xc3, 0xd4], pcap(true, false)),
        (&[0x4d, 0x3c, 0xb2, 0xa1], pcap(false, true)),
        (&[0xa1, 0xb2, 0x3c, 0x4d], pcap(true, true)),
        // The "modified" pcap of old Red Hat patches; microseconds.
        (&[0x34, 0xcd, 0xb2, 0xa1], pcap(false, false)),
        (&[0xa1, 0xb2, 0xcd, 0x34], pcap(true, false)),
    ];
    if magic.is_empty() {
        return Err(CaptureError::Empty);
    }
    for (bytes, format) in known {
        if magic == bytes.as_slice() {
            return Ok(format);
        }
        if magic.len() < 4 && bytes.starts_with(magic) {
            return Err(CaptureError::Truncated {
                offset: 0,
                available: magic.len(),
            });
        }
    }
    let mut first_bytes = [0u8; 4];
    first_bytes[..magic.len()].copy_from_slice(magic);
    Err(CaptureError::NotACapture {
        first_bytes,
        len: magic.len(),
    })
}

/// A legacy pcap record as the packet it carries (the file's single
/// interface).
fn legacy_packet<'a>(record: &LegacyPcapBlock<'a>, interface: &Interface) -> Packet<'a> {
    Packet {
        ts: legacy_timestamp(record.ts_sec, record.ts_usec, interface.units_per_sec),
        link_type: interface.link_type,
        interface: 0,
        data: record.data,
        orig_len: record.origlen,
    }
}

/// Legacy timestamps: seconds, then micro- or nanoseconds. A fraction at or
/// past one second (seen in broken writers) carries into the seconds.
fn legacy_timestamp(secs: u32, fraction: u32, units_per_sec: u64) -> Timestamp {
    let fraction = u64::from(fraction);
    let carry = fraction / units_per_sec;
    let fraction = fraction % units_per_sec;
    let nanos = if units_per_sec == 1_000_000 {
        fraction * 1_000
    } else {
        fraction
    };
    Timestamp {
        secs: i64::from(secs) + carry as i64,
        nanos: nanos as u32,
    }
}

/// pcapng timestamps: a 64-bit count of `units_per_sec` units since the
/// epoch, plus `if_tsoffset` seconds.
fn ng_timestamp(raw: u64, units_per_sec: u64, offset_secs: i64) -> Timestamp {
    let secs = raw / units_per_sec;
    let fraction = raw % units_per_sec;
    let nanos = match units_per_sec {
        1_000_000 => fraction * 1_000,
        1_000_000_000 => fraction,
        _ => (u128::from(fraction) * 1_000_000_000 / u128::from(units_per_sec)) as u64,
    };
    Timestamp {
        secs: i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_add(offset_secs),
        nanos: nanos as u32,
    }
}

fn take_error(shared: &SharedError) -> io::Error {
    shared
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .unwrap_or_else(|| io::Error::other("read failed"))
}

/// The input as pcap-parser sees it: the magic bytes already read to
/// recognise the format, then the rest. Its first read fills the whole
/// buffer (pcap-parser checks the file header with a single read, which a
/// pipe may otherwise answer with a few bytes); later reads pass through
/// so a live pipe is decoded as it arrives. A failed read's error is kept
/// for [`CaptureError::Io`], since pcap-parser only reports that one
/// happened.
struct InputReader<R> {
    prefix: [u8; 4],
    prefix_len: usize,
    prefix_pos: usize,
    inner: R,
    fill_next_read: bool,
    /// A read failed after some bytes were handed over; the next read
    /// reports it.
    failed: bool,
    error: SharedError,
}

impl<R: Read> InputReader<R> {
    /// Reads up to four bytes (fewer only at the end of the input).
    fn read_prefix(&mut self) -> io::Result<&[u8]> {
        while self.prefix_len < 4 {
            match self.inner.read(&mut self.prefix[self.prefix_len..]) {
                Ok(0) => break,
                Ok(n) => self.prefix_len += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(&self.prefix[..self.prefix_len])
    }
}

impl<R: Read> Read for InputReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("read failed"));
        }
        let mut filled = 0;
        while filled < buf.len() {
            let n = if self.prefix_pos < self.prefix_len {
                let from = &self.prefix[self.prefix_pos..self.prefix_len];
                let n = from.len().min(buf.len() - filled);
                buf[filled..filled + n].copy_from_slice(&from[..n]);
                self.prefix_pos += n;
                n
            } else {
                match self.inner.read(&mut buf[filled..]) {
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        if let Ok(mut slot) = self.error.lock() {
                            *slot = Some(error);
                        }
                        // Hand over what was read; the error comes next.
                        if filled > 0 {
                            self.failed = true;
                            break;
                        }
                        return Err(io::Error::other("read failed"));
                    }
                }
            };
            if n == 0 {
                break;
            }
            filled += n;
            if !self.fill_next_read && self.prefix_pos >= self.prefix_len {
                break;
            }
        }
        self.fill_next_read = false;
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{Framing, LinkLayer, PcapNgInterface, PcapOptions, PcapWriter};

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// Packets as (time, link type, interface, bytes), key logs, and the
    /// error that ended the read, if any.
    type ReadAll = (
        Vec<(Timestamp, LinkType, u32, Vec<u8>)>,
        Vec<Vec<u8>>,
        Option<CaptureError>,
    );

    fn read_all(bytes: &[u8]) -> ReadAll {
        let mut source = PacketSource::with_limits(bytes, 4096, 1 << 20).unwrap();
        let mut packets = Vec::new();
        let mut key_logs = Vec::new();
        loop {
            match source.next_item() {
                Ok(Some(CaptureItem::Packet(p))) => {
                    packets.push((p.ts, p.link_type, p.interface, p.data.to_vec()))
                }
                Ok(Some(CaptureItem::KeyLog(text))) => key_logs.push(text.to_vec()),
                Ok(Some(CaptureItem::BadPacket { what })) => panic!("{what}"),
                Ok(None) => return (packets, key_logs, None),
                Err(error) => return (packets, key_logs, Some(error)),
            }
        }
    }

    fn frames() -> Vec<Vec<u8>> {
        (0..50u8)
            .map(|i| vec![i; 60 + usize::from(i) * 37])
            .collect()
    }

    #[test]
    fn legacy_pcap_in_every_byte_order_and_resolution() {
        for big_endian in [false, true] {
            for nanosecond in [false, true] {
                let options = PcapOptions {
                    framing: Framing::new(LinkLayer::LinuxSll),
                    nanosecond,
                    big_endian,
                    snaplen: 65535,
                };
                let mut writer = PcapWriter::pcap(Vec::new(), options).unwrap();
                for (i, frame) in frames().iter().enumerate() {
                    writer
                        .write_frame(0, ts(1_700_000_000 + i as i64, 123_456_789), frame)
                        .unwrap();
                }
                let bytes = writer.into_inner();
                let source = PacketSource::new(&bytes[..]).unwrap();
                assert_eq!(
                    source.format(),
                    CaptureFormat::Pcap {
                        big_endian,
                        nanosecond
                    }
                );
                let (packets, _, error) = read_all(&bytes);
                assert!(error.is_none(), "{error:?}");
                assert_eq!(packets.len(), 50);
                for (i, (got_ts, link, _, data)) in packets.iter().enumerate() {
                    let nanos = if nanosecond { 123_456_789 } else { 123_456_000 };
                    assert_eq!(*got_ts, ts(1_700_000_000 + i as i64, nanos));
                    assert_eq!(*link, LinkType::LINUX_SLL);
                    assert_eq!(data, &frames()[i]);
                }
            }
        }
    }

    #[test]
    fn pcapng_interfaces_resolutions_simple_packets_and_key_logs() {
        let interfaces = vec![
            PcapNgInterface {
                framing: Framing::new(LinkLayer::Ethernet),
                tsresol: 6,
                snaplen: 0,
            },
            PcapNgInterface {
                framing: Framing::new(LinkLayer::Raw),
                tsresol: 9,
                snaplen: 0,
            },
        ];
        let mut writer = PcapWriter::pcapng(Vec::new(), interfaces).unwrap();
        writer.write_key_log(b"CLIENT_RANDOM 00 11\n").unwrap();
        writer
            .write_frame(1, ts(10, 987_654_321), b"raw-ip")
            .unwrap();
        writer.write_frame(0, ts(11, 5_000), b"ether").unwrap();
        writer.write_simple_frame(b"simple!").unwrap();
        let bytes = writer.into_inner();
        let (packets, key_logs, error) = read_all(&bytes);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(key_logs, vec![b"CLIENT_RANDOM 00 11\n".to_vec()]);
        assert_eq!(
            packets,
            vec![
                (ts(10, 987_654_321), LinkType::RAW, 1, b"raw-ip".to_vec()),
                (ts(11, 5_000), LinkType::ETHERNET, 0, b"ether".to_vec()),
                // No timestamp in a Simple Packet Block: the previous one's.
                (ts(11, 5_000), LinkType::ETHERNET, 0, b"simple!".to_vec()),
            ]
        );
    }

    #[test]
    fn blocks_larger_than_the_buffer_grow_it() {
        let options = PcapOptions::default();
        let mut writer = PcapWriter::pcap(Vec::new(), options).unwrap();
        let big = vec![7u8; 200_000];
        writer.write_frame(0, ts(1, 0), &big).unwrap();
        writer.write_frame(0, ts(2, 0), b"small").unwrap();
        let bytes = writer.into_inner();
        let (packets, _, error) = read_all(&bytes);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].3, big);

        let mut source = PacketSource::with_limits(&bytes[..], 4096, 100_000).unwrap();
        let error = source.next_item().unwrap_err();
        assert!(
            matches!(
                error,
                CaptureError::BlockTooLarge {
                    offset: 24,
                    size: 200_016,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn truncation_comes_after_every_complete_packet() {
        for ng in [false, true] {
            let mut writer = if ng {
                PcapWriter::pcapng(Vec::new(), vec![PcapNgInterface::new(LinkLayer::Ethernet)])
                    .unwrap()
            } else {
                PcapWriter::pcap(Vec::new(), PcapOptions::default()).unwrap()
            };
            for frame in frames() {
                writer.write_frame(0, ts(1, 0), &frame).unwrap();
            }
            let mut bytes = writer.into_inner();
            bytes.truncate(bytes.len() - 10);
            let (packets, _, error) = read_all(&bytes);
            assert_eq!(packets.len(), 49);
            match error {
                Some(CaptureError::Truncated { offset, available }) => {
                    assert_eq!(offset as usize + available, bytes.len());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_truncation_point_is_an_error_not_a_panic() {
        let mut writer =
            PcapWriter::pcapng(Vec::new(), vec![PcapNgInterface::new(LinkLayer::Ethernet)])
                .unwrap();
        writer.write_key_log(b"CLIENT_RANDOM a b\n").unwrap();
        writer.write_frame(0, ts(1, 0), b"first frame").unwrap();
        writer.write_simple_frame(b"second").unwrap();
        let ng = writer.into_inner();
        let mut writer = PcapWriter::pcap(Vec::new(), PcapOptions::default()).unwrap();
        writer.write_frame(0, ts(1, 0), b"first frame").unwrap();
        writer.write_frame(0, ts(1, 0), b"second").unwrap();
        let legacy = writer.into_inner();
        // Offsets where a block ends, for each file.
        let ng_boundaries = vec![28, 28 + 32, 28 + 32 + 40, 28 + 32 + 40 + 44];
        let legacy_boundaries = vec![24, 24 + 16 + 11];
        for (bytes, boundaries) in [(ng, ng_boundaries), (legacy, legacy_boundaries)] {
            for cut in 0..bytes.len() {
                let result = PacketSource::new(&bytes[..cut]);
                let Ok(mut source) = result else {
                    continue;
                };
                loop {
                    match source.next_item() {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            // Only a cut between two blocks reads as complete.
                            assert!(boundaries.contains(&cut), "cut at {cut} read as complete");
                            break;
                        }
                        Err(error) => {
                            assert!(matches!(error, CaptureError::Truncated { .. }), "{error}");
                            break;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn not_a_capture() {
        let error = PacketSource::new(&b"CLIENT_RANDOM 0011"[..]).err().unwrap();
        assert_eq!(
            error.to_string(),
            "not a pcap or pcapng capture (it starts with 43 4c 49 45)"
        );
        assert!(matches!(
            PacketSource::new(&b""[..]).err().unwrap(),
            CaptureError::Empty
        ));
        assert!(matches!(
            PacketSource::new(&[0xd4u8, 0xc3][..]).err().unwrap(),
            CaptureError::Truncated { offset: 0, .. }
        ));
        assert!(matches!(
            PacketSource::new(&[0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0][..])
                .err()
                .unwrap(),
            CaptureError::Truncated { offset: 0, .. }
        ));
    }

    #[test]
    fn corrupt_pcapng_block_is_reported_with_its_offset() {
        let mut writer =
            PcapWriter::pcapng(Vec::new(), vec![PcapNgInterface::new(LinkLayer::Ethernet)])
                .unwrap();
        writer.write_frame(0, ts(1, 0), b"frame one").unwrap();
        writer.write_frame(0, ts(1, 0), b"frame two").unwrap();
        let mut bytes = writer.into_inner();
        let second_block = bytes.len() - 44;
        // The trailing length of the last block no longer matches.
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let (packets, _, error) = read_all(&bytes);
        assert_eq!(packets.len(), 1);
        match error {
            Some(CaptureError::Corrupt { offset, .. }) => assert_eq!(offset as usize, second_block),
            other => panic!("{other:?}"),
        }
    }

    struct FailingReader {
        data: Vec<u8>,
        pos: usize,
    }

    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos >= self.data.len() {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "disk on fire",
                ));
            }
            // Short reads, as a pipe gives.
            let n = buf.len().min(7).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn short_reads_work_and_read_errors_keep_their_message() {
        let mut writer = PcapWriter::pcap(Vec::new(), PcapOptions::default()).unwrap();
        for frame in frames() {
            writer.write_frame(0, ts(1, 0), &frame).unwrap();
        }
        let data = writer.into_inner();
        let mut source =
            PacketSource::with_limits(FailingReader { data, pos: 0 }, 1024, 1 << 20).unwrap();
        let mut count = 0;
        let error = loop {
            match source.next_item() {
                Ok(Some(_)) => count += 1,
                Ok(None) => panic!("the reader fails at its end"),
                Err(error) => break error,
            }
        };
        assert_eq!(count, 50);
        assert_eq!(error.to_string(), "cannot read the capture: disk on fire");
    }

    #[test]
    fn timestamps() {
        assert_eq!(units_per_second(6), Some(1_000_000));
        assert_eq!(units_per_second(0x80 | 20), Some(1 << 20));
        assert_eq!(units_per_second(20), None);
        assert_eq!(units_per_second(0x80 | 64), None);
        assert_eq!(
            legacy_timestamp(5, 2_500_000, 1_000_000),
            ts(7, 500_000_000)
        );
        assert_eq!(ng_timestamp(1_500, 1_000, 0), ts(1, 500_000_000));
        assert_eq!(ng_timestamp(3 << 19, 1 << 20, 10), ts(11, 500_000_000));
        assert_eq!(
            ng_timestamp(12_345_678_901, 1_000_000_000, -1),
            ts(11, 345_678_901)
        );
    }
}
