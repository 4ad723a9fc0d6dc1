//! The human report: a ladder between client and server, one message per
//! arrow, grouped under the numbered steps of HANDSHAKE.md, each message's
//! fields explained underneath, findings highlighted by severity, and an
//! outcome block per connection.
//!
//! ```text
//!   Step 1 · The client opens: ...
//!   client ── ClientHello ─────────────────────▶ server  58 bytes
//!       version        {3,1} TLS 1.0
//! ```
//!
//! Verbosity: 0 shows messages (a connection's consecutive application data
//! records in one direction are folded into one line, unless their
//! plaintext is shown, even when other connections' lines come between);
//! 1 (`-v`) adds every record with its header and stream offset, times and
//! origins, and stops folding; 2 (`-vv`) adds a hex dump of each message's
//! bytes.
//!
//! When more than one connection is open at once, every line starts with
//! `[N] `, the connection number, so interleaved conversations stay apart.
//!
//! All wording comes from [`describe`]; this module only lays it out. It
//! does not read the clock (the reference time for judging a hello's
//! gmt_unix_time is the event's timestamp or [`TextOptions::now`]), does not
//! decide colour (the [`Palette`] is given), and holds no policy (the
//! analyzer's notes arrive as events like any other).
//!
//! Each block of lines (a message with its fields, an outcome, a fold) is
//! laid out in one buffer the renderer keeps and reuses, then written with
//! one call: the report is produced for every event of a capture, so its
//! layout avoids a `String` per line and per field.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display, Write as _};
use std::io::{self, Write};

use owo_colors::Style;

use super::describe::{self, hex};
use super::hexdump;
use super::palette::Palette;
use super::{bit_length, extension_data_offsets, RunInfo, RunSummary};
use crate::event::{
    ConnId, ConnectionInfo, CryptoEvent, DataCount, Direction, Event, EventKind, EventSink,
    FlowEvent, Message, MessageEvent, Note, Origin, Outcome, OutcomeResult, RecordDetail,
    RecordInfo, Severity, Timestamp,
};
use crate::pki::CertSummary;
use crate::wire::handshake::{
    Certificate, CertificateRequest, ClientKeyExchange, DigitallySigned, NewSessionTicket,
    ServerKeyExchange,
};
use crate::wire::{
    ClientHello, ContentType, Extension, ExtensionBody, ExtensionContext, HandshakeMessage,
    ProtocolVersion, ServerHello, SslV2ClientHello,
};

/// How the text report is drawn.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// 0: messages; 1: also records, times and origins; 2: also hex dumps.
    pub verbosity: u8,
    pub palette: Palette,
    /// The reference time for judging whether a hello's first four random
    /// bytes are a clock reading, used when an event carries no timestamp.
    /// `None`: such randoms are shown without a verdict.
    pub now: Option<Timestamp>,
    /// Show session secrets (pre-master, master secret, keys) learnt by a
    /// decoder (`--show-secrets`); otherwise they are redacted.
    pub show_secrets: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            verbosity: 0,
            palette: Palette::plain(),
            now: None,
            show_secrets: false,
        }
    }
}

/// Width of the ladder between the words `client` and `server`.
const LADDER: usize = 40;
/// The ladder's line, as long as the ladder: arrows take a part of it.
const LADDER_LINE: &str = "────────────────────────────────────────";
const _: () = assert!(LADDER_LINE.len() == LADDER * '─'.len_utf8());
/// Indentation of the fields under a message.
const FIELD_INDENT: &str = "      ";
/// Width of the label column of the fields.
const LABEL_WIDTH: usize = 15;
/// The label column left blank (a value continued from the line above),
/// and where shorter labels take their padding from.
const BLANK_LABEL: &str = "               ";
const _: () = assert!(BLANK_LABEL.len() == LABEL_WIDTH);
/// Column at which step meanings and explanations are wrapped.
const WRAP_WIDTH: usize = 100;
/// How many bytes of decrypted application data the default view previews.
const PLAINTEXT_PREVIEW: usize = 64;

/// What the renderer remembers about one connection.
#[derive(Default)]
struct ConnState {
    /// Steps whose meaning was already printed in the current handshake.
    steps_seen: BTreeSet<u8>,
    /// The session ID of the last ClientHello, to tell a resumed session
    /// from a new one in the ServerHello.
    client_session_id: Option<Vec<u8>>,
    /// TLS 1.3 was negotiated: protected records are not what they were in
    /// TLS 1.2.
    tls13: bool,
    /// Per direction (client to server, server to client): whether a
    /// ChangeCipherSpec was seen, and whether an encrypted handshake message
    /// followed it already (the first one is presumably Finished).
    after_ccs: [bool; 2],
    handshake_after_ccs: [bool; 2],
    /// Application data seen so far, per direction.
    app_data: [DataCount; 2],
    /// Record lines waiting for the message they carry (`-v`), painted,
    /// without the connection prefix.
    pending_records: Vec<(Option<Direction>, String)>,
    /// Application data records after the last one shown (verbosity 0),
    /// written as one line when the connection does something else.
    fold: Option<Fold>,
}

/// A connection's consecutive application data records in one direction,
/// folded into one line at verbosity 0. Kept per connection: in a capture
/// of parallel transfers, whose packets interleave, one fold for the whole
/// run would be broken by every other connection's record and the report
/// would be two lines per burst.
struct Fold {
    dir: Option<Direction>,
    records: u64,
    bytes: u64,
}

/// Renders events as annotated text, streaming to `out`.
pub struct TextRenderer<W: Write> {
    out: W,
    opts: TextOptions,
    conns: BTreeMap<ConnId, ConnState>,
    /// Connections that started and have no outcome yet.
    open: BTreeSet<ConnId>,
    /// The buffers of the last block written, kept for the next one.
    spare: Block,
    /// Each step's heading as laid out the first time (painted, a line
    /// break after each line, no connection prefix): every connection
    /// shows the same ones, and wrapping them is not free.
    step_headings: BTreeMap<u8, String>,
}

/// The lines of one block of output, laid out in place and written at
/// once.
#[derive(Default)]
struct Block {
    text: String,
    /// What starts every non-empty line: `[N] ` while several connections
    /// are open (so interleaved conversations stay apart), else nothing.
    prefix: String,
}

/// Writes `value` at the end of `out` (writing to a `String` cannot fail).
fn push_display(out: &mut String, value: impl Display) {
    let _ = write!(out, "{value}");
}

/// Opens `style` in `out`: the escape codes [`Palette::paint`] writes
/// before its text (none for a plain style).
fn paint_on(out: &mut String, style: Style) {
    if !style.is_plain() {
        push_display(out, style.prefix_formatter());
    }
}

/// Closes `style` in `out`: what [`Palette::paint`] writes after its text.
fn paint_off(out: &mut String, style: Style) {
    if !style.is_plain() {
        push_display(out, style.suffix_formatter());
    }
}

/// How many columns `s` takes as the formatting machinery counts them
/// (one per `char`); plain ASCII, nearly all text here, needs no decoding.
fn text_width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

impl Block {
    fn blank_line(&mut self) {
        self.text.push('\n');
    }

    /// Starts a line with the connection prefix; the caller writes the
    /// rest, then [`Block::end_line`].
    fn start_line(&mut self) {
        self.text.push_str(&self.prefix);
    }

    fn end_line(&mut self) {
        self.text.push('\n');
    }

    /// A whole line of text in one style.
    fn line(&mut self, style: Style, text: impl Display) {
        self.start_line();
        paint_on(&mut self.text, style);
        push_display(&mut self.text, text);
        paint_off(&mut self.text, style);
        self.end_line();
    }

    /// A line laid out earlier (a record line waiting for its message).
    fn laid_out_line(&mut self, line: &str) {
        if line.is_empty() {
            self.blank_line();
        } else {
            self.start_line();
            self.text.push_str(line);
            self.end_line();
        }
    }

    /// Lines laid out earlier, each ended by a line break.
    fn laid_out_lines(&mut self, lines: &str) {
        if self.prefix.is_empty() {
            self.text.push_str(lines);
        } else {
            for line in lines.split_terminator('\n') {
                self.laid_out_line(line);
            }
        }
    }

    /// `text` in lines of at most `width` columns (words longer than that
    /// stay whole), each in `style`: the first starts with `first`, the
    /// others are indented to the same column.
    fn wrapped(&mut self, style: Style, first: fmt::Arguments, text: &str, width: usize) {
        self.start_line();
        paint_on(&mut self.text, style);
        let first_start = self.text.len();
        push_display(&mut self.text, first);
        let indent_width = text_width(&self.text[first_start..]);
        // The line's width in characters, kept as it grows.
        let mut line_width = indent_width;
        let mut empty = true;
        for word in text.split_whitespace() {
            let word_width = text_width(word);
            if !empty && line_width + 1 + word_width > width {
                paint_off(&mut self.text, style);
                self.end_line();
                self.start_line();
                paint_on(&mut self.text, style);
                self.text.extend(std::iter::repeat_n(' ', indent_width));
                line_width = indent_width;
                empty = true;
            }
            if !empty {
                self.text.push(' ');
                line_width += 1;
            }
            self.text.push_str(word);
            line_width += word_width;
            empty = false;
        }
        paint_off(&mut self.text, style);
        self.end_line();
    }

    /// A finding: `warning: what it says [its_code]`.
    fn note_line(&mut self, pal: &Palette, indent: &str, n: &Note) {
        let style = match n.severity {
            Severity::Info => pal.info,
            Severity::Warning => pal.warning,
            Severity::Error => pal.error,
        };
        self.start_line();
        let text = &mut self.text;
        text.push_str(indent);
        paint_on(text, style);
        text.push_str(describe::severity(n.severity));
        text.push(':');
        paint_off(text, style);
        text.push(' ');
        text.push_str(&describe::note(n));
        text.push(' ');
        paint_on(text, pal.dim);
        text.push('[');
        text.push_str(n.code.id());
        text.push(']');
        paint_off(text, pal.dim);
        self.end_line();
    }

    /// A hex dump of `b` under its title (`-vv`).
    fn dump(&mut self, pal: &Palette, what: &str, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        self.line(
            pal.dim,
            format_args!("{FIELD_INDENT}{what}, {}:", bytes(b.len())),
        );
        for l in hexdump::lines(b, 0) {
            self.line(pal.dim, format_args!("{FIELD_INDENT}  {l}"));
        }
    }
}

/// Label/value lines under a message, written into a block as they come;
/// an empty label continues the value of the line above.
struct Fields<'a> {
    block: &'a mut Block,
    label_style: Style,
}

impl Fields<'_> {
    fn kv(&mut self, label: &str, value: impl Display) {
        self.styled(label, value, Style::new());
    }
    fn more(&mut self, value: impl Display) {
        self.styled("", value, Style::new());
    }
    fn styled(&mut self, label: &str, value: impl Display, style: Style) {
        self.block.start_line();
        let text = &mut self.block.text;
        text.push_str(FIELD_INDENT);
        if label.is_empty() {
            text.push_str(BLANK_LABEL);
        } else {
            let width = text_width(label);
            paint_on(text, self.label_style);
            text.push_str(label);
            if width < LABEL_WIDTH {
                text.push_str(&BLANK_LABEL[width..]);
            }
            paint_off(text, self.label_style);
            if width >= LABEL_WIDTH {
                text.push(' ');
            }
        }
        paint_on(text, style);
        push_display(text, value);
        paint_off(text, style);
        self.block.end_line();
    }
}

/// A count and its noun: `1 byte`, `3 records`.
struct Count {
    n: u64,
    one: &'static str,
    many: &'static str,
}

impl Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.n == 1 { self.one } else { self.many };
        write!(f, "{} {noun}", self.n)
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> Count {
    Count { n, one, many }
}

fn bytes(n: usize) -> Count {
    plural(n as u64, "byte", "bytes")
}

/// Items separated by `, `, or `none` when there are none.
struct List<I> {
    items: I,
    none: &'static str,
}

impl<I, T> Display for List<I>
where
    I: Iterator<Item = T> + Clone,
    T: Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = self.items.clone();
        let Some(first) = items.next() else {
            return f.write_str(self.none);
        };
        write!(f, "{first}")?;
        for item in items {
            write!(f, ", {item}")?;
        }
        Ok(())
    }
}

fn list_or_none<I: Iterator + Clone>(items: I) -> List<I> {
    List {
        items,
        none: "none",
    }
}

/// Text written by a closure: a value put together from parts, written
/// where it is used rather than into a `String` of its own.
struct WriteWith<F>(F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> Display for WriteWith<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

fn write_with<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result>(write: F) -> WriteWith<F> {
    WriteWith(write)
}

fn dir_index(d: Option<Direction>) -> usize {
    match d {
        Some(Direction::ServerToClient) => 1,
        _ => 0,
    }
}

/// A small big-endian integer in decimal, a large one in hex.
fn small_integer(b: &[u8]) -> String {
    if bit_length(b) <= 64 {
        let v = b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        v.to_string()
    } else {
        format!("0x{}", hex(b))
    }
}

/// Bytes as a quoted string with escapes, for previews of plaintext.
struct Quoted<'a>(&'a [u8]);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for &c in self.0 {
            match c {
                b'\r' => f.write_str("\\r")?,
                b'\n' => f.write_str("\\n")?,
                b'\t' => f.write_str("\\t")?,
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => f.write_char(c as char)?,
                _ => write!(f, "\\x{c:02x}")?,
            }
        }
        f.write_char('"')
    }
}

impl<W: Write> TextRenderer<W> {
    pub fn new(out: W, opts: TextOptions) -> Self {
        Self {
            out,
            opts,
            conns: BTreeMap::new(),
            open: BTreeSet::new(),
            spare: Block::default(),
            step_headings: BTreeMap::new(),
        }
    }

    /// Gives the writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Show session secrets (`--show-secrets`).
    pub fn set_show_secrets(&mut self, show: bool) {
        self.opts.show_secrets = show;
    }

    /// The first lines: the tool, the command and its target.
    pub fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        let mut block = self.start_block(None);
        block.line(
            self.opts.palette.heading,
            format_args!("sslwalk {} · {} {}", run.version, run.command, run.target),
        );
        self.write_block(block)
    }

    /// The last lines: how many connections ended how.
    pub fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        let pending: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in pending {
            self.flush_fold(c)?;
            self.flush_records(c)?;
        }
        let n = summary.connections();
        let style = if summary.all_ok() {
            self.opts.palette.ok
        } else {
            self.opts.palette.failed
        };
        let mut block = self.start_block(None);
        block.blank_line();
        block.line(
            style,
            format_args!(
                "Summary: {}: {} ok, {} failed, {} incomplete",
                plural(n.into(), "connection", "connections"),
                summary.ok,
                summary.failed,
                summary.incomplete
            ),
        );
        self.write_block(block)?;
        self.out.flush()
    }

    // -- Output plumbing --

    /// An empty block for lines of connection `conn` (`None`: lines of the
    /// whole run, never prefixed), in the buffers of the last one.
    fn start_block(&mut self, conn: Option<ConnId>) -> Block {
        let mut block = std::mem::take(&mut self.spare);
        block.text.clear();
        block.prefix.clear();
        if let Some(conn) = conn {
            if self.open.len() > 1 {
                push_display(&mut block.prefix, format_args!("[{conn}] "));
            }
        }
        block
    }

    /// Writes `block` out and keeps its buffers for the next one.
    fn write_block(&mut self, block: Block) -> io::Result<()> {
        let written = self.out.write_all(block.text.as_bytes());
        self.spare = block;
        written
    }

    fn state(&mut self, conn: ConnId) -> &mut ConnState {
        self.conns.entry(conn).or_default()
    }

    /// Writes out connection `conn`'s folded application data, if any.
    fn flush_fold(&mut self, conn: ConnId) -> io::Result<()> {
        let Some(f) = self.conns.get_mut(&conn).and_then(|st| st.fold.take()) else {
            return Ok(());
        };
        if f.records == 0 {
            return Ok(());
        }
        let noun = if f.records == 1 { "record" } else { "records" };
        let style = self.style_for(f.dir);
        let mut block = self.start_block(Some(conn));
        block.line(
            style,
            format_args!(
                "{FIELD_INDENT}… and {} more application data {noun}, {} (folded; -v shows each)",
                f.records,
                bytes(f.bytes as usize)
            ),
        );
        self.write_block(block)
    }

    fn flush_records(&mut self, conn: ConnId) -> io::Result<()> {
        // A connection without pending records (always at verbosity 0) has
        // nothing to write.
        let pending = match self.conns.get_mut(&conn) {
            Some(st) if !st.pending_records.is_empty() => std::mem::take(&mut st.pending_records),
            _ => return Ok(()),
        };
        let mut block = self.start_block(Some(conn));
        for (_, line) in &pending {
            block.laid_out_line(line);
        }
        self.write_block(block)
    }

    fn style_for(&self, dir: Option<Direction>) -> Style {
        match dir {
            Some(Direction::ServerToClient) => self.opts.palette.server,
            _ => self.opts.palette.client,
        }
    }

    /// Field lines written into `block`, their labels in the palette's
    /// label style.
    fn fields<'b>(&self, block: &'b mut Block) -> Fields<'b> {
        Fields {
            block,
            label_style: self.opts.palette.label,
        }
    }

    // -- Events --

    fn on_connection(&mut self, ev: &Event, c: &ConnectionInfo) -> io::Result<()> {
        self.open.insert(ev.conn);
        self.conns.insert(ev.conn, ConnState::default());
        let pal = self.opts.palette;
        let mut block = self.start_block(Some(ev.conn));
        block.blank_line();
        let conn = ev.conn;
        block.line(
            pal.heading,
            write_with(|f| match (c.client, c.server) {
                (Some(cl), Some(sv)) => write!(f, "Connection {conn}: client {cl} → server {sv}"),
                (Some(cl), None) => write!(f, "Connection {conn}: client {cl}"),
                (None, Some(sv)) => write!(f, "Connection {conn}: server {sv}"),
                (None, None) => write!(f, "Connection {conn}"),
            }),
        );
        let joined_midstream = ev.origin == Origin::Observed && !c.tcp_handshake_seen;
        let started = ev.time.filter(|_| self.opts.verbosity >= 1);
        if joined_midstream || started.is_some() {
            block.line(
                pal.dim,
                write_with(|f| {
                    f.write_str("  (")?;
                    if joined_midstream {
                        f.write_str("the capture joined it mid-stream: roles were inferred")?;
                        if started.is_some() {
                            f.write_str("; ")?;
                        }
                    }
                    if let Some(t) = started {
                        write!(f, "started {}", describe::utc(t.secs))?;
                    }
                    f.write_str(")")
                }),
            );
        }
        self.write_block(block)
    }

    fn on_record(&mut self, ev: &Event, r: &RecordInfo) -> io::Result<()> {
        if self.opts.verbosity == 0 {
            return Ok(());
        }
        let arrow = match ev.dir {
            Some(Direction::ServerToClient) => "←",
            _ => "→",
        };
        let dim = self.opts.palette.dim;
        let mut line = String::new();
        paint_on(&mut line, dim);
        push_display(
            &mut line,
            format_args!(
                "{FIELD_INDENT}record {arrow} {}, {}, {}, stream offset {}",
                describe::named_u8(r.header.content_type.name(), r.header.content_type.0),
                describe::version(r.header.version),
                bytes(r.header.length.into()),
                r.stream_offset
            ),
        );
        if r.protected {
            line.push_str(", protected");
        }
        if r.sslv2 {
            line.push_str(", SSL 2.0 record format");
        }
        paint_off(&mut line, dim);
        self.state(ev.conn).pending_records.push((ev.dir, line));
        Ok(())
    }

    fn on_flow(&mut self, ev: &Event, f: &FlowEvent) -> io::Result<()> {
        let pal = self.opts.palette;
        if let FlowEvent::Kind(k) = f {
            if k.tls13 {
                self.state(ev.conn).tls13 = true;
            }
        }
        let mut block = self.start_block(Some(ev.conn));
        block.line(pal.flow, format_args!("  » {}", describe::flow(f)));
        match f {
            FlowEvent::Kind(k) => block.wrapped(
                pal.dim,
                format_args!("    "),
                describe::handshake_kind_explanation(k),
                WRAP_WIDTH,
            ),
            FlowEvent::Renegotiation { .. } => {}
        }
        self.write_block(block)
    }

    /// A decoder's crypto: each record's (`-v`, under its record line),
    /// and the secrets of a session once known.
    fn on_crypto(&mut self, ev: &Event, c: &CryptoEvent) -> io::Result<()> {
        let pal = self.opts.palette;
        match c {
            CryptoEvent::Record(rc) => {
                if self.opts.verbosity >= 1 {
                    let style = if rc.result.is_err() {
                        pal.error
                    } else {
                        pal.dim
                    };
                    let mut line = String::new();
                    paint_on(&mut line, style);
                    line.push_str(FIELD_INDENT);
                    line.push_str("  crypto: ");
                    line.push_str(&describe::record_crypto(rc));
                    paint_off(&mut line, style);
                    self.state(ev.conn).pending_records.push((ev.dir, line));
                }
                Ok(())
            }
            CryptoEvent::Secrets(s) => {
                self.flush_fold(ev.conn)?;
                let mut block = self.start_block(Some(ev.conn));
                block.start_line();
                let text = &mut block.text;
                paint_on(text, pal.flow);
                text.push_str("  » keys: ");
                text.push_str(&describe::secret_source(s.source));
                if s.extended_master_secret {
                    text.push_str("; extended master secret");
                }
                if s.encrypt_then_mac {
                    text.push_str("; encrypt-then-MAC");
                }
                text.push_str(if s.version == ProtocolVersion::TLSv1_3 {
                    ": records are decrypted from here on, the application keys after each Finished"
                } else {
                    ": records are decrypted from each ChangeCipherSpec on"
                });
                paint_off(text, pal.flow);
                block.end_line();
                let mut f = self.fields(&mut block);
                if self.opts.show_secrets {
                    if let Some(p) = &s.pre_master {
                        f.kv("pre-master", hex(p.expose()));
                    }
                    if let Some(ms) = &s.master_secret {
                        f.kv("master secret", hex(ms.expose()));
                    }
                    for (label, secret) in &s.tls13_secrets {
                        f.kv(label.name(), hex(secret.expose()));
                    }
                    if let Some(k) = &s.keys {
                        for (label, v) in [
                            ("client MAC key", &k.client_write_mac_key),
                            ("server MAC key", &k.server_write_mac_key),
                            ("client key", &k.client_write_key),
                            ("server key", &k.server_write_key),
                            ("client IV", &k.client_write_iv),
                            ("server IV", &k.server_write_iv),
                        ] {
                            if !v.is_empty() {
                                f.kv(label, hex(v.expose()));
                            }
                        }
                    }
                } else if self.opts.verbosity >= 1 {
                    f.kv("secrets", "redacted (--show-secrets shows them)");
                }
                self.write_block(block)
            }
        }
    }

    fn on_note(&mut self, ev: &Event, n: &Note) -> io::Result<()> {
        let pal = self.opts.palette;
        let mut block = self.start_block(Some(ev.conn));
        block.note_line(&pal, FIELD_INDENT, n);
        self.write_block(block)
    }

    fn on_outcome(&mut self, ev: &Event, o: &Outcome) -> io::Result<()> {
        let pal = self.opts.palette;
        let (word, style) = match o.result {
            OutcomeResult::Ok => ("ok, the handshake completed", pal.ok),
            OutcomeResult::Failed => ("failed", pal.failed),
            OutcomeResult::Incomplete => ("incomplete, the handshake did not finish", pal.failed),
        };
        let mut block = self.start_block(Some(ev.conn));
        block.blank_line();
        block.start_line();
        let text = &mut block.text;
        paint_on(text, pal.heading);
        push_display(text, format_args!("  Outcome of connection {}: ", ev.conn));
        paint_on(text, style);
        text.push_str(word);
        paint_off(text, style);
        paint_off(text, pal.heading);
        block.end_line();

        let mut f = self.fields(&mut block);
        match o.version {
            Some(v) => f.kv("version", describe::version(v)),
            None => f.kv("version", "not negotiated"),
        }
        match o.cipher_suite {
            Some(s) => f.kv("cipher suite", describe::suite(s)),
            None => f.kv("cipher suite", "not negotiated"),
        }
        if let Some(k) = &o.kind {
            f.kv("handshake", describe::handshake_kind_name(k));
        }
        f.kv("resumed", if o.resumed { "yes" } else { "no" });
        f.kv("handshakes", o.handshakes);
        if let Some((a, from)) = &o.alert {
            let who = match from {
                Direction::ClientToServer => "the client",
                Direction::ServerToClient => "the server",
            };
            let style = if a.is_fatal() { pal.error } else { pal.warning };
            f.styled(
                "alert",
                format_args!("{}, sent by {who}", describe::alert(a)),
                style,
            );
        }
        let data = |d: &DataCount| {
            let (records, bytes_count) = (d.records, d.bytes);
            write_with(move |f| {
                write!(
                    f,
                    "{}, {}",
                    plural(records, "record", "records"),
                    bytes(bytes_count as usize)
                )
            })
        };
        f.kv(
            "app data",
            format_args!("client → server: {}", data(&o.client_to_server)),
        );
        f.more(format_args!(
            "server → client: {}",
            data(&o.server_to_client)
        ));
        let decrypted = match (o.decrypted, o.finished_verified) {
            (false, _) => "no",
            (true, Some(true)) => "yes; both Finished messages verified",
            (true, Some(false)) => "yes; a Finished message did NOT verify",
            (true, None) => "yes",
        };
        if o.finished_verified == Some(false) {
            f.styled("decrypted", decrypted, pal.error);
        } else {
            f.kv("decrypted", decrypted);
        }
        if let Some(name) = &o.server_name {
            f.kv("server name", name);
        }
        if let Some(reason) = &o.reason {
            block.note_line(&pal, FIELD_INDENT, reason);
        }
        self.write_block(block)?;
        self.open.remove(&ev.conn);
        self.conns.remove(&ev.conn);
        Ok(())
    }

    // -- Messages --

    /// Size shown on the arrow: the message bytes, or the record length
    /// for records kept by size only.
    fn message_size(m: &MessageEvent) -> usize {
        match &m.message {
            Message::ApplicationData { length, .. }
            | Message::Encrypted { length, .. }
            | Message::UnknownRecord { length, .. } => *length,
            _ => m.raw.len(),
        }
    }

    fn is_app_data(&mut self, ev: &Event, m: &MessageEvent) -> bool {
        match &m.message {
            Message::ApplicationData { .. } => true,
            Message::Encrypted {
                content_type: ContentType::ApplicationData,
                ..
            } => !self.state(ev.conn).tls13,
            _ => false,
        }
    }

    /// `  client ── ClientHello ───▶ server  88 bytes`: the message on the
    /// ladder, then its size and details.
    fn arrow_line(&self, block: &mut Block, ev: &Event, m: &MessageEvent, title: &str) {
        let pal = self.opts.palette;
        // At most LADDER - 5 characters of line, so it fits LADDER_LINE.
        let fill = LADDER.saturating_sub(text_width(title) + 5).max(1);
        let style = self.style_for(ev.dir);
        block.start_line();
        let text = &mut block.text;
        text.push_str("  ");
        paint_on(text, style);
        match ev.dir {
            Some(Direction::ServerToClient) => {
                text.push_str("client ◀");
                text.push_str(&LADDER_LINE[..fill * '─'.len_utf8()]);
                text.push(' ');
                text.push_str(title);
                text.push_str(" ── server");
            }
            Some(Direction::ClientToServer) => {
                text.push_str("client ── ");
                text.push_str(title);
                text.push(' ');
                text.push_str(&LADDER_LINE[..fill * '─'.len_utf8()]);
                text.push_str("▶ server");
            }
            None => {
                text.push_str("client ── ");
                text.push_str(title);
                text.push(' ');
                text.push_str(&LADDER_LINE[..fill * '─'.len_utf8()]);
                text.push_str("─ server");
            }
        }
        paint_off(text, style);
        text.push_str("  ");
        paint_on(text, pal.dim);
        push_display(text, bytes(Self::message_size(m)));
        if m.records > 1 {
            push_display(text, format_args!(", {} records", m.records));
        }
        if m.protected {
            text.push_str(", protected");
        }
        if self.opts.verbosity >= 1 {
            if let Some(t) = ev.time {
                text.push_str(", ");
                text.push_str(&describe::time_of_day(t));
            }
            text.push_str(match ev.origin {
                Origin::Sent => ", sent",
                Origin::Received => ", received",
                Origin::Observed => ", observed",
            });
        }
        paint_off(text, pal.dim);
        block.end_line();
    }

    fn on_message(&mut self, ev: &Event, m: &MessageEvent) -> io::Result<()> {
        let app_data = self.is_app_data(ev, m);
        let size = Self::message_size(m) as u64;
        if app_data {
            let folding = self.opts.verbosity == 0;
            let st = self.state(ev.conn);
            let d = &mut st.app_data[dir_index(ev.dir)];
            d.records += 1;
            d.bytes += size;
            // Records whose plaintext is shown are never folded away.
            let shown = matches!(
                &m.message,
                Message::ApplicationData {
                    plaintext: Some(_),
                    ..
                }
            );
            if folding && m.notes.is_empty() && !shown {
                if let Some(f) = &mut st.fold {
                    if f.dir == ev.dir {
                        f.records += 1;
                        f.bytes += size;
                        return Ok(());
                    }
                }
            }
        }
        self.flush_fold(ev.conn)?;

        let pal = self.opts.palette;
        let mut block = self.start_block(Some(ev.conn));
        let starts_handshake = matches!(
            &m.message,
            Message::SslV2ClientHello(_)
                | Message::Handshake {
                    typ: crate::wire::HandshakeType::ClientHello
                        | crate::wire::HandshakeType::HelloRequest,
                    ..
                }
        );
        if let Some(step) = m.step {
            let st = self.state(ev.conn);
            if starts_handshake && st.steps_seen.iter().any(|&s| s >= step) {
                st.steps_seen.clear();
            }
            if st.steps_seen.insert(step) {
                block.blank_line();
                let heading = self.step_headings.entry(step).or_insert_with(|| {
                    let mut heading = Block::default();
                    match describe::step_meaning(step) {
                        Some(meaning) => heading.wrapped(
                            pal.step,
                            format_args!("  Step {step} · "),
                            meaning,
                            WRAP_WIDTH,
                        ),
                        None => heading.line(pal.step, format_args!("  Step {step}")),
                    }
                    heading.text
                });
                block.laid_out_lines(heading);
            }
        }
        let title = self.title(ev, m);
        self.arrow_line(&mut block, ev, m, &title);
        // Records that carried this message (`-v`), right under its arrow;
        // those of the other direction wait for their own message.
        self.state(ev.conn).pending_records.retain(|(dir, line)| {
            let mine = *dir == ev.dir;
            if mine {
                block.laid_out_line(line);
            }
            !mine
        });

        let mut f = self.fields(&mut block);
        self.message_fields(ev, m, &mut f);
        for n in &m.notes {
            block.note_line(&pal, FIELD_INDENT, n);
        }
        if self.opts.verbosity >= 2 {
            block.dump(&pal, "hex dump", &m.raw);
            if let Message::ApplicationData {
                plaintext: Some(p), ..
            } = &m.message
            {
                if p != &m.raw {
                    block.dump(&pal, "plaintext hex dump", p);
                }
            }
        }
        self.write_block(block)?;
        if app_data && self.opts.verbosity == 0 {
            self.state(ev.conn).fold = Some(Fold {
                dir: ev.dir,
                records: 0,
                bytes: 0,
            });
        }
        Ok(())
    }

    fn title(&mut self, ev: &Event, m: &MessageEvent) -> String {
        let st = self.state(ev.conn);
        match &m.message {
            Message::Encrypted {
                content_type: ContentType::ApplicationData,
                ..
            } if st.tls13 => "Encrypted record".into(),
            other => describe::message_title(other),
        }
    }

    fn message_fields(&mut self, ev: &Event, m: &MessageEvent, f: &mut Fields) {
        let pal = self.opts.palette;
        if let Some(e) = m.message.decode_error() {
            f.styled("not decoded", e, pal.error);
            return;
        }
        let reference = ev.time.or(self.opts.now);
        let di = dir_index(ev.dir);
        match &m.message {
            Message::Handshake { parsed: Ok(h), .. } => {
                self.handshake_fields(ev, m, h, reference, f)
            }
            Message::Handshake { parsed: Err(_), .. } => {}
            Message::SslV2ClientHello(Ok(h)) => {
                self.state(ev.conn).client_session_id = Some(h.session_id.clone());
                sslv2_hello_fields(h, f);
            }
            Message::SslV2ClientHello(Err(_)) => {}
            Message::ChangeCipherSpec(_) => {
                let st = self.state(ev.conn);
                st.after_ccs[di] = true;
                st.handshake_after_ccs[di] = false;
                if st.tls13 {
                    f.kv(
                        "meaning",
                        "compatibility ChangeCipherSpec: TLS 1.3 ignores it, it only soothes middleboxes",
                    );
                } else {
                    f.kv(
                        "meaning",
                        "from here on this direction is protected with the newly negotiated keys",
                    );
                }
            }
            Message::Alert(Ok(a)) => {
                let style = if a.is_fatal() { pal.error } else { pal.warning };
                f.styled("alert", describe::alert(a), style);
                f.kv(
                    "meaning",
                    describe::alert_meaning(a.description)
                        .unwrap_or("an alert code this tool does not know"),
                );
            }
            Message::Alert(Err(_)) => {}
            Message::Heartbeat(Ok(h)) => {
                f.kv("type", describe::named_u8(h.typ.name(), h.typ.0));
                f.kv(
                    "payload",
                    format_args!(
                        "{} declared, {} present",
                        bytes(h.payload_length.into()),
                        bytes(h.payload.len())
                    ),
                );
                f.kv("padding", bytes(h.padding.len()));
            }
            Message::Heartbeat(Err(_)) => {}
            Message::ApplicationData { plaintext, .. } => {
                if let Some(p) = plaintext {
                    let shown = &p[..p.len().min(PLAINTEXT_PREVIEW)];
                    let more = if p.len() > shown.len() { " …" } else { "" };
                    // Text as a quoted string; anything else as hex.
                    let text = shown
                        .iter()
                        .all(|&c| matches!(c, 0x20..=0x7e | b'\r' | b'\n' | b'\t'));
                    if text {
                        f.kv("plaintext", format_args!("{}{more}", Quoted(shown)));
                    } else {
                        f.kv("plaintext", format_args!("hex {}{more}", hex(shown)));
                    }
                }
            }
            Message::Encrypted {
                content_type,
                length,
            } => {
                let st = self.state(ev.conn);
                let length = bytes(*length);
                match *content_type {
                    ContentType::Handshake if st.tls13 => f.kv(
                        "content",
                        format_args!("encrypted handshake message, {length}"),
                    ),
                    ContentType::Handshake if st.after_ccs[di] && !st.handshake_after_ccs[di] => {
                        st.handshake_after_ccs[di] = true;
                        f.kv(
                            "content",
                            format_args!(
                                "encrypted handshake message, presumably Finished (the first message under the new keys), {length}"
                            ),
                        );
                    }
                    ContentType::Handshake => f.kv(
                        "content",
                        format_args!(
                            "encrypted handshake message (a renegotiation or a post-handshake message), {length}"
                        ),
                    ),
                    ContentType::Alert => f.kv(
                        "content",
                        format_args!(
                            "encrypted alert, {length}: level and description are hidden (often close_notify)"
                        ),
                    ),
                    ContentType::ApplicationData if st.tls13 => f.kv(
                        "content",
                        format_args!(
                            "TLS 1.3 record, {length}: handshake messages or application data, the outer type is always application_data"
                        ),
                    ),
                    ContentType::ApplicationData => f.kv(
                        "content",
                        format_args!("encrypted application data, {length}"),
                    ),
                    other => f.kv(
                        "content",
                        format_args!(
                            "encrypted record of type {}, {length}",
                            describe::named_u8(other.name(), other.0)
                        ),
                    ),
                }
            }
            Message::UnknownRecord {
                content_type,
                length,
            } => {
                f.kv(
                    "content type",
                    format_args!(
                        "{} ({}), {}, not interpreted",
                        describe::named_u8(content_type.name(), content_type.0),
                        content_type.0,
                        bytes(*length)
                    ),
                );
            }
        }
    }

    fn handshake_fields(
        &mut self,
        ev: &Event,
        m: &MessageEvent,
        h: &HandshakeMessage,
        reference: Option<Timestamp>,
        f: &mut Fields,
    ) {
        let pal = self.opts.palette;
        match h {
            HandshakeMessage::HelloRequest => {
                f.kv(
                    "meaning",
                    "the server asks the client to start a new handshake",
                );
            }
            HandshakeMessage::ClientHello(ch) => {
                self.state(ev.conn).client_session_id = Some(ch.session_id.clone());
                client_hello_fields(ch, m.raw.len(), reference, f);
            }
            HandshakeMessage::ServerHello(sh) => {
                let st = self.state(ev.conn);
                if sh.negotiated_version() == ProtocolVersion::TLSv1_3 {
                    st.tls13 = true;
                }
                server_hello_fields(
                    sh,
                    st.client_session_id.as_deref(),
                    m.raw.len(),
                    reference,
                    f,
                );
            }
            HandshakeMessage::NewSessionTicket(t) => match t {
                NewSessionTicket::Tls12 {
                    lifetime_hint,
                    ticket,
                } => {
                    f.kv("lifetime hint", format_args!("{lifetime_hint} s"));
                    f.kv("ticket", bytes(ticket.len()));
                }
                NewSessionTicket::Tls13 {
                    lifetime,
                    age_add,
                    nonce,
                    ticket,
                    extensions,
                } => {
                    f.kv("lifetime", format_args!("{lifetime} s"));
                    f.kv("age add", age_add);
                    f.kv("nonce", hex(nonce));
                    f.kv("ticket", bytes(ticket.len()));
                    extension_fields(
                        Some(extensions),
                        ExtensionContext::NewSessionTicket,
                        m.raw.len(),
                        f,
                    );
                }
            },
            HandshakeMessage::EndOfEarlyData => {}
            HandshakeMessage::EncryptedExtensions(exts) => {
                extension_fields(
                    Some(exts),
                    ExtensionContext::EncryptedExtensions,
                    m.raw.len(),
                    f,
                );
            }
            HandshakeMessage::Certificate(c) => certificate_fields(c, &m.certificates, f, pal),
            HandshakeMessage::ServerKeyExchange(skx) => server_key_exchange_fields(skx, f),
            HandshakeMessage::CertificateRequest(cr) => match cr {
                CertificateRequest::Legacy {
                    certificate_types,
                    signature_algorithms,
                    certificate_authorities,
                } => {
                    f.kv(
                        "cert types",
                        List {
                            items: certificate_types
                                .iter()
                                .map(|t| describe::named_u8(t.name(), t.0)),
                            none: "",
                        },
                    );
                    if let Some(algs) = signature_algorithms {
                        f.kv(
                            "signature algs",
                            list_or_none(algs.iter().map(|a| describe::named_u16(a.name(), a.0))),
                        );
                    }
                    if certificate_authorities.is_empty() {
                        f.kv("CAs", "none named: any certificate authority will do");
                    } else {
                        f.kv(
                            "CAs",
                            plural(
                                certificate_authorities.len() as u64,
                                "distinguished name",
                                "distinguished names",
                            ),
                        );
                        for dn in certificate_authorities {
                            f.more(distinguished_name(dn));
                        }
                    }
                }
                CertificateRequest::Tls13 {
                    context,
                    extensions,
                } => {
                    if context.is_empty() {
                        f.kv("context", "empty");
                    } else {
                        f.kv("context", hex(context));
                    }
                    extension_fields(
                        Some(extensions),
                        ExtensionContext::CertificateRequest,
                        m.raw.len(),
                        f,
                    );
                }
            },
            HandshakeMessage::ServerHelloDone => {
                f.kv(
                    "meaning",
                    "the server has said all it had to say in this round",
                );
            }
            HandshakeMessage::CertificateVerify(sig) => {
                f.kv("signature", signature(sig));
            }
            HandshakeMessage::ClientKeyExchange(ckx) => match ckx {
                ClientKeyExchange::Rsa {
                    encrypted_pre_master,
                    length_prefixed,
                } => {
                    f.kv(
                        "key exchange",
                        format_args!(
                            "encrypted pre-master secret, {} (as long as the server's RSA modulus: {} bits){}",
                            bytes(encrypted_pre_master.len()),
                            encrypted_pre_master.len() * 8,
                            if *length_prefixed {
                                ""
                            } else {
                                "; no length prefix, the SSL 3.0 form"
                            }
                        ),
                    );
                }
                ClientKeyExchange::Dh { public } => f.kv("client DH public", bytes(public.len())),
                ClientKeyExchange::Ecdh { public } => f.kv("client EC point", bytes(public.len())),
                ClientKeyExchange::Psk { identity } => f.kv("PSK identity", Quoted(identity)),
                ClientKeyExchange::Opaque(b) => f.kv(
                    "key exchange",
                    format_args!(
                        "{}, layout unknown without the negotiated key exchange",
                        bytes(b.len())
                    ),
                ),
            },
            HandshakeMessage::Finished(fin) => {
                let tls13 = self.state(ev.conn).tls13;
                let why = match fin.verify_data.len() {
                    12 if !tls13 => "the TLS PRF over the hash of every handshake message",
                    36 => "SSL 3.0: MD5 and SHA-1 hashes of the handshake with the master secret",
                    _ if tls13 => "TLS 1.3: an HMAC of the transcript hash",
                    _ => "an unexpected length",
                };
                f.kv(
                    "verify_data",
                    format_args!(
                        "{} ({why}): {}",
                        bytes(fin.verify_data.len()),
                        hex(&fin.verify_data)
                    ),
                );
            }
            HandshakeMessage::CertificateStatus(cs) => {
                f.kv(
                    "status",
                    format_args!(
                        "{} response, {}",
                        describe::named_u8(cs.status_type.name(), cs.status_type.0),
                        bytes(cs.response.len())
                    ),
                );
            }
            HandshakeMessage::KeyUpdate(k) => f.kv("request", describe::named_u8(k.name(), k.0)),
            HandshakeMessage::Unknown { body, .. } => {
                f.kv("body", format_args!("{}, not decoded", bytes(body.len())));
            }
        }
    }
}

fn signature(sig: &DigitallySigned) -> impl Display + '_ {
    write_with(move |f| match sig.algorithm {
        Some(a) => write!(
            f,
            "{}, {}",
            describe::named_u16(a.name(), a.0),
            bytes(sig.signature.len())
        ),
        None => write!(
            f,
            "{} (algorithm implied by the key)",
            bytes(sig.signature.len())
        ),
    })
}

/// The random and what its first four bytes are.
fn random_fields(random: &[u8; 32], tls13: bool, reference: Option<Timestamp>, f: &mut Fields) {
    f.kv("random", hex(random));
    let gmt = u32::from_be_bytes([random[0], random[1], random[2], random[3]]);
    if tls13 {
        f.more("all 32 bytes random (TLS 1.3 has no gmt_unix_time)");
        return;
    }
    match reference {
        Some(r) if describe::plausible_gmt_unix_time(gmt, r) => {
            f.more(format_args!("gmt_unix_time {}", describe::utc(gmt.into())));
        }
        Some(_) => f.more("first 4 bytes random too (not a plausible gmt_unix_time)"),
        None => f.more(format_args!(
            "gmt_unix_time {} if it is a time",
            describe::utc(gmt.into())
        )),
    }
}

/// A session ID: what it means, its length, and its bytes on a second
/// line.
fn session_id_fields(sid: &[u8], meaning: &str, f: &mut Fields) {
    if sid.is_empty() {
        f.kv("session ID", format_args!("empty: {meaning}"));
    } else {
        f.kv(
            "session ID",
            format_args!("{meaning}, {}", bytes(sid.len())),
        );
        f.more(hex(sid));
    }
}

fn client_hello_fields(
    ch: &ClientHello,
    raw_len: usize,
    reference: Option<Timestamp>,
    f: &mut Fields,
) {
    f.kv("version", describe::version(ch.client_version));
    random_fields(&ch.random.0, false, reference, f);
    let meaning = if ch.session_id.is_empty() {
        "the client asks for a new session"
    } else {
        "offered for resumption"
    };
    session_id_fields(&ch.session_id, meaning, f);
    f.kv(
        "cipher suites",
        format_args!("{} offered, in order of preference", ch.cipher_suites.len()),
    );
    for s in &ch.cipher_suites {
        f.more(describe::suite(*s));
    }
    f.kv(
        "compression",
        List {
            items: ch
                .compression_methods
                .iter()
                .map(|c| describe::compression(*c)),
            none: "",
        },
    );
    extension_fields(
        ch.extensions.as_deref(),
        ExtensionContext::ClientHello,
        raw_len,
        f,
    );
}

fn server_hello_fields(
    sh: &ServerHello,
    client_session_id: Option<&[u8]>,
    raw_len: usize,
    reference: Option<Timestamp>,
    f: &mut Fields,
) {
    let negotiated = sh.negotiated_version();
    if negotiated != sh.server_version {
        f.kv(
            "version",
            format_args!(
                "{}, negotiated {} through supported_versions",
                describe::version(sh.server_version),
                describe::version_name(negotiated)
            ),
        );
    } else {
        f.kv("version", describe::version(sh.server_version));
    }
    if sh.is_hello_retry_request() {
        f.kv(
            "random",
            "the fixed HelloRetryRequest value: the client must try again",
        );
    } else {
        random_fields(
            &sh.random.0,
            negotiated == ProtocolVersion::TLSv1_3,
            reference,
            f,
        );
    }
    let sid = &sh.session_id;
    let meaning = if negotiated == ProtocolVersion::TLSv1_3 {
        "TLS 1.3 echoes the client's and does not use it"
    } else if sid.is_empty() {
        "this session will not be resumable"
    } else if client_session_id == Some(sid.as_slice()) {
        "the client's: the session is resumed"
    } else {
        "a new session"
    };
    session_id_fields(sid, meaning, f);
    f.kv("cipher suite", describe::suite(sh.cipher_suite));
    f.kv("compression", describe::compression(sh.compression_method));
    let cx = if sh.is_hello_retry_request() {
        ExtensionContext::HelloRetryRequest
    } else {
        ExtensionContext::ServerHello
    };
    extension_fields(sh.extensions.as_deref(), cx, raw_len, f);
}

fn sslv2_hello_fields(h: &SslV2ClientHello, f: &mut Fields) {
    f.kv("version", describe::version(h.version));
    let tls = h.tls_cipher_suites().count();
    f.kv(
        "cipher specs",
        format_args!("{} offered, {tls} of them TLS suites", h.cipher_specs.len()),
    );
    for s in &h.cipher_specs {
        if s >> 16 == 0 {
            f.more(describe::suite(crate::wire::CipherSuite(*s as u16)));
        } else {
            f.more(format_args!("0x{s:06X} SSL 2.0 cipher"));
        }
    }
    let meaning = if h.session_id.is_empty() {
        "the client asks for a new session"
    } else {
        "offered for resumption"
    };
    session_id_fields(&h.session_id, meaning, f);
    f.kv(
        "challenge",
        format_args!(
            "{}, becomes the client random: {}",
            bytes(h.challenge.len()),
            hex(&h.challenge)
        ),
    );
}

/// One line per extension: its name and what it says.
fn extension_fields(
    exts: Option<&[Extension]>,
    cx: ExtensionContext,
    raw_len: usize,
    f: &mut Fields,
) {
    let Some(exts) = exts else {
        f.kv("extensions", "none (no extensions block)");
        return;
    };
    if exts.is_empty() {
        f.kv("extensions", "none (an empty block)");
        return;
    }
    f.kv("extensions", exts.len());
    for (e, offset) in exts.iter().zip(extension_data_offsets(exts, raw_len)) {
        let name = describe::extension_type(e.typ);
        match e.parse(cx, offset.unwrap_or(0)) {
            Ok(ExtensionBody::Unparsed(_)) => {
                if e.data.is_empty() {
                    f.more(format_args!("{name}: empty"));
                } else if e.data.len() <= 32 {
                    f.more(format_args!(
                        "{name}: {}: {}",
                        bytes(e.data.len()),
                        hex(&e.data)
                    ));
                } else {
                    f.more(format_args!("{name}: {}, not decoded", bytes(e.data.len())));
                }
            }
            Ok(body) => f.more(format_args!("{name}: {}", ExtensionText(&body))),
            Err(err) => f.more(format_args!(
                "{name}: malformed ({}): {err}",
                bytes(e.data.len())
            )),
        }
    }
}

/// What a parsed extension says.
struct ExtensionText<'a>(&'a ExtensionBody);

impl Display for ExtensionText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExtensionBody as B;
        match self.0 {
            B::ServerName(names) if names.is_empty() => {
                f.write_str("empty: the server acknowledges the name")
            }
            B::ServerName(names) => write!(
                f,
                "{}",
                list_or_none(names.iter().map(|n| {
                    write_with(move |f| {
                        if n.name_type == crate::wire::ServerNameType::HostName {
                            write!(f, "host_name {}", Quoted(&n.name))
                        } else {
                            write!(f, "name type {}: {}", n.name_type.0, hex(&n.name))
                        }
                    })
                }))
            ),
            B::MaxFragmentLength(m) => f.write_str(&describe::named_u8(m.name(), m.0)),
            B::StatusRequest {
                status_type: None, ..
            } => f.write_str("empty: the server will staple a status"),
            B::StatusRequest {
                status_type: Some(t),
                responder_id_list,
                request_extensions,
            } => write!(
                f,
                "{} (responder IDs {}, request extensions {})",
                describe::named_u8(t.name(), t.0),
                bytes(responder_id_list.len()),
                bytes(request_extensions.len())
            ),
            B::SupportedGroups(g) => write!(
                f,
                "{}",
                list_or_none(g.iter().map(|g| describe::named_u16(g.name(), g.0)))
            ),
            B::EcPointFormats(p) => write!(
                f,
                "{}",
                list_or_none(p.iter().map(|p| describe::named_u8(p.name(), p.0)))
            ),
            B::SignatureAlgorithms(s) | B::SignatureAlgorithmsCert(s) => write!(
                f,
                "{}",
                list_or_none(s.iter().map(|s| describe::named_u16(s.name(), s.0)))
            ),
            B::Heartbeat(m) => f.write_str(&describe::named_u8(m.name(), m.0)),
            B::Alpn(names) => write!(f, "{}", list_or_none(names.iter().map(|n| Quoted(n)))),
            B::Padding { length, all_zero } => {
                if *all_zero {
                    write!(f, "{} of zeros", bytes(*length))
                } else {
                    write!(f, "{}, not all zero", bytes(*length))
                }
            }
            B::EncryptThenMac | B::ExtendedMasterSecret | B::PostHandshakeAuth => {
                f.write_str("empty")
            }
            B::RecordSizeLimit(n) => write!(f, "{n} bytes"),
            B::SessionTicket(t) if t.is_empty() => f.write_str("empty: ready for a new ticket"),
            B::SessionTicket(t) => write!(f, "a ticket of {} to resume with", bytes(t.len())),
            B::PreSharedKeyOffer {
                identities,
                binders,
            } => write!(
                f,
                "{}, {}",
                plural(identities.len() as u64, "identity", "identities"),
                plural(binders.len() as u64, "binder", "binders")
            ),
            B::PreSharedKeySelected(i) => write!(f, "identity #{i} accepted"),
            B::EarlyData(None) => f.write_str("empty"),
            B::EarlyData(Some(max)) => write!(f, "max_early_data_size {max}"),
            B::SupportedVersionsOffer(v) => write!(
                f,
                "{}",
                list_or_none(v.iter().map(|v| describe::version(*v)))
            ),
            B::SupportedVersionsSelected(v) => f.write_str(&describe::version(*v)),
            B::Cookie(c) => write!(f, "{}", bytes(c.len())),
            B::PskKeyExchangeModes(m) => write!(
                f,
                "{}",
                list_or_none(m.iter().map(|m| describe::named_u8(m.name(), m.0)))
            ),
            B::KeyShareOffer(entries) => write!(
                f,
                "{}",
                list_or_none(entries.iter().map(|e| {
                    write_with(move |f| {
                        write!(
                            f,
                            "{} ({})",
                            describe::named_u16(e.group.name(), e.group.0),
                            bytes(e.key_exchange.len())
                        )
                    })
                }))
            ),
            B::KeyShareSelected(e) => write!(
                f,
                "{} ({})",
                describe::named_u16(e.group.name(), e.group.0),
                bytes(e.key_exchange.len())
            ),
            B::KeyShareRetry(g) => {
                write!(f, "retry with {}", describe::named_u16(g.name(), g.0))
            }
            B::RenegotiationInfo(v) if v.is_empty() => {
                f.write_str("empty: a first handshake, secure renegotiation supported")
            }
            B::RenegotiationInfo(v) => {
                write!(f, "{} of previous verify_data: {}", bytes(v.len()), hex(v))
            }
            B::Unparsed(_) => f.write_str("not decoded"),
        }
    }
}

fn certificate_fields(
    c: &Certificate,
    summaries: &[Result<CertSummary, String>],
    f: &mut Fields,
    pal: Palette,
) {
    if let Some(ctx) = &c.context {
        if ctx.is_empty() {
            f.kv("context", "empty");
        } else {
            f.kv("context", hex(ctx));
        }
    }
    if c.entries.is_empty() {
        f.kv("chain", "empty: no certificate to send");
        return;
    }
    f.kv(
        "chain",
        format_args!(
            "{}, leaf first",
            plural(c.entries.len() as u64, "certificate", "certificates")
        ),
    );
    for (i, entry) in c.entries.iter().enumerate() {
        match summaries.get(i) {
            Some(Ok(s)) => cert_summary_fields(i, s, f),
            Some(Err(reason)) => f.styled(
                "",
                format_args!(
                    "[{i}] {} of DER that did not parse: {reason}",
                    bytes(entry.der.len())
                ),
                pal.error,
            ),
            None => f.more(format_args!("[{i}] {} of DER", bytes(entry.der.len()))),
        }
    }
}

/// A DER distinguished name as text, or its size when it does not parse.
fn distinguished_name(der: &[u8]) -> impl Display {
    let size = bytes(der.len());
    write_with(move |f| write!(f, "{size} of DER"))
}

fn cert_summary_fields(i: usize, s: &CertSummary, f: &mut Fields) {
    // The lines after the first are indented past `[i] `.
    let pad = i.checked_ilog10().unwrap_or(0) as usize + 1 + "[] ".len();
    f.more(format_args!("[{i}] subject    {}", s.subject));
    f.more(format_args!("{:pad$}issuer     {}", "", s.issuer));
    f.more(format_args!(
        "{:pad$}valid      {} to {}",
        "", s.not_before_utc, s.not_after_utc
    ));
    f.more(format_args!(
        "{:pad$}key        {}",
        "",
        describe::key(&s.key_type, s.key_bits)
    ));
    f.more(format_args!(
        "{:pad$}signature  {}",
        "", s.signature_algorithm
    ));
    if !s.subject_alt_names.is_empty() {
        f.more(format_args!(
            "{:pad$}SANs       {}",
            "",
            list_or_none(s.subject_alt_names.iter().map(describe::alt_name))
        ));
    }
    f.more(format_args!(
        "{:pad$}SHA-256    {}",
        "", s.sha256_fingerprint
    ));
    let traits = match (s.self_signed, s.is_ca) {
        (true, true) => "self-signed, a CA certificate",
        (true, false) => "self-signed",
        (false, true) => "a CA certificate",
        (false, false) => return,
    };
    f.more(format_args!("{:pad$}{traits}", ""));
}

fn server_key_exchange_fields(skx: &ServerKeyExchange, f: &mut Fields) {
    match skx {
        ServerKeyExchange::Rsa {
            modulus,
            exponent,
            signature: sig,
        } => {
            f.kv(
                "temporary key",
                format_args!(
                    "RSA, {}-bit modulus, exponent {}",
                    bit_length(modulus),
                    small_integer(exponent)
                ),
            );
            f.kv("signature", signature(sig));
        }
        ServerKeyExchange::Dh {
            p,
            g,
            public,
            signature: sig,
        } => {
            f.kv(
                "DH group",
                format_args!(
                    "{}-bit prime p, generator g = {}",
                    bit_length(p),
                    small_integer(g)
                ),
            );
            f.kv("server public", bytes(public.len()));
            match sig {
                Some(s) => f.kv("signature", signature(s)),
                None => f.kv("signature", "none: anonymous Diffie-Hellman"),
            }
        }
        ServerKeyExchange::Ecdh {
            named_curve,
            public,
            signature: sig,
        } => {
            f.kv(
                "curve",
                describe::named_u16(named_curve.name(), named_curve.0),
            );
            f.kv("server public", bytes(public.len()));
            match sig {
                Some(s) => f.kv("signature", signature(s)),
                None => f.kv("signature", "none: anonymous ECDH"),
            }
        }
        ServerKeyExchange::Psk { identity_hint } => f.kv("identity hint", Quoted(identity_hint)),
        ServerKeyExchange::Opaque(b) => f.kv(
            "parameters",
            format_args!(
                "{}, layout unknown without the negotiated key exchange",
                bytes(b.len())
            ),
        ),
    }
}

impl<W: Write> EventSink for TextRenderer<W> {
    /// Writes out what is buffered; a pending fold of application data
    /// lines stays open (a transfer that spans many reads is one line).
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    /// Record headers and record crypto are shown from `-v` on.
    fn wants(&self, _: RecordDetail) -> bool {
        self.opts.verbosity >= 1
    }
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        match &ev.kind {
            EventKind::Record(r) => self.on_record(ev, r),
            EventKind::Message(m) => self.on_message(ev, m),
            EventKind::Crypto(c) => self.on_crypto(ev, c),
            other => {
                self.flush_fold(ev.conn)?;
                if !matches!(other, EventKind::Connection(_)) {
                    self.flush_records(ev.conn)?;
                }
                match other {
                    EventKind::Connection(c) => self.on_connection(ev, c),
                    EventKind::Flow(fl) => self.on_flow(ev, fl),
                    EventKind::Note(n) => self.on_note(ev, n),
                    EventKind::Outcome(o) => self.on_outcome(ev, o),
                    EventKind::Crypto(_) => Ok(()),
                    EventKind::Record(_) | EventKind::Message(_) => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Analyzer;
    use crate::report::sample;

    /// Renders `events` through the analyzer, as the CLI does.
    fn render(events: &[Event], verbosity: u8, palette: Palette) -> String {
        let opts = TextOptions {
            verbosity,
            palette,
            now: None,
            show_secrets: false,
        };
        let mut summary = RunSummary::default();
        let mut r = Analyzer::new(TextRenderer::new(Vec::new(), opts), None);
        r.inner_mut()
            .begin(&RunInfo::new("decode", "tls10.pcap"))
            .unwrap();
        for ev in events {
            r.emit(ev).unwrap();
            summary.emit(ev).unwrap();
        }
        let mut t = r.into_inner();
        t.finish(&summary).unwrap();
        String::from_utf8(t.into_inner()).unwrap()
    }

    /// The whole report of a TLS 1.0 RSA handshake, as a passive observer
    /// without keys sees it, at the default verbosity.
    #[test]
    fn tls10_rsa_handshake_golden() {
        let got = render(&sample::tls10_rsa_handshake(), 0, Palette::plain());
        assert_eq!(got, TLS10_GOLDEN.trim_start_matches('\n'), "\n{got}");
    }

    const TLS10_GOLDEN: &str = r#"
sslwalk 0.1.0 · decode tls10.pcap

Connection 1: client 192.0.2.10:49152 → server 192.0.2.1:443

  Step 1 · The client opens: its best version, a fresh random, a session to resume if it has one,
           and the cipher suites, compression methods and extensions it accepts.
  client ── ClientHello ────────────────────────▶ server  88 bytes
      version        {3,1} TLS 1.0
      random         5f5e0ffb11111111111111111111111111111111111111111111111111111111
                     gmt_unix_time 2020-09-13 12:26:35 UTC
      session ID     empty: the client asks for a new session
      cipher suites  4 offered, in order of preference
                     0x0A0A GREASE
                     0x002F TLS_RSA_WITH_AES_128_CBC_SHA (AES128-SHA)
                     0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA (DES-CBC3-SHA)
                     0x00FF TLS_EMPTY_RENEGOTIATION_INFO_SCSV
      compression    null (0)
      extensions     3
                     server_name: host_name "example.com"
                     supported_groups: malformed (5 bytes): supported_groups: invalid length 3 at offset 79
                     unknown (0x4242): 2 bytes: 0102

  Step 2 · The server answers: the version, suite and compression it picked, its own random and
           session ID, its certificate chain, optionally a temporary key or a request for the
           client's certificate, then ServerHelloDone.
  client ◀──────────────────────── ServerHello ── server  81 bytes
      version        {3,1} TLS 1.0
      random         7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
                     first 4 bytes random too (not a plausible gmt_unix_time)
      session ID     a new session, 32 bytes
                     abababababababababababababababababababababababababababababababab
      cipher suite   0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA (DES-CBC3-SHA)
      compression    null (0)
      extensions     1
                     renegotiation_info: empty: a first handshake, secure renegotiation supported
      warning: TLSv1.0 negotiated: a version deprecated by RFC 8996 [weak_version]
      info: 3DES cipher suite TLS_RSA_WITH_3DES_EDE_CBC_SHA: a 64-bit block cipher, open to birthday attacks on long connections (Sweet32) [triple_des_cipher]
  » Full handshake
    The server proves its identity with its certificate; the client stays anonymous (steps 5 and 6
    do not occur).
  client ◀──────────────────────── Certificate ── server  510 bytes
      chain          1 certificate, leaf first
                     [0] subject    CN=example.com
                         issuer     CN=Example CA,O=Example
                         valid      2020-08-14 12:26:40 UTC to 2021-08-14 12:26:40 UTC
                         key        RSA 1024 bits
                         signature  sha256WithRSAEncryption
                         SANs       DNS:example.com
                         SHA-256    5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e
      warning: server certificate: RSA key of 1024 bits, shorter than 2048 (CN=example.com) [short_rsa_key]
  client ◀──────────────────── ServerHelloDone ── server  4 bytes
      meaning        the server has said all it had to say in this round

  Step 4 · The client makes the 48-byte pre-master secret and sends it encrypted with the server's
           public key.
  client ── ClientKeyExchange ──────────────────▶ server  134 bytes
      key exchange   encrypted pre-master secret, 128 bytes (as long as the server's RSA modulus: 1024 bits)

  Step 8 · The client switches to the new keys (ChangeCipherSpec) and sends Finished, a hash of the
           whole conversation: its first protected message.
  client ── ChangeCipherSpec ───────────────────▶ server  1 byte
      meaning        from here on this direction is protected with the newly negotiated keys
  client ── Encrypted handshake ────────────────▶ server  40 bytes, protected
      content        encrypted handshake message, presumably Finished (the first message under the new keys), 40 bytes

  Step 9 · The server switches to the new keys in its direction and sends its own Finished.
  client ◀─────────────────── ChangeCipherSpec ── server  1 byte
      meaning        from here on this direction is protected with the newly negotiated keys
  client ◀──────────────── Encrypted handshake ── server  40 bytes, protected
      content        encrypted handshake message, presumably Finished (the first message under the new keys), 40 bytes

  Step 10 · Handshake complete: application data flows, encrypted and integrity-checked.
  client ── ApplicationData ────────────────────▶ server  56 bytes, protected
      content        encrypted application data, 56 bytes
  client ◀──────────────────── ApplicationData ── server  1056 bytes, protected
      content        encrypted application data, 1056 bytes
      … and 2 more application data records, 1400 bytes (folded; -v shows each)
  client ── Encrypted alert ────────────────────▶ server  24 bytes, protected
      content        encrypted alert, 24 bytes: level and description are hidden (often close_notify)

  Outcome of connection 1: ok, the handshake completed
      version        {3,1} TLS 1.0
      cipher suite   0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA (DES-CBC3-SHA)
      handshake      Full handshake
      resumed        no
      handshakes     1
      app data       client → server: 1 record, 56 bytes
                     server → client: 3 records, 2456 bytes
      decrypted      no
      server name    example.com

Summary: 1 connection: 1 ok, 0 failed, 0 incomplete
"#;

    #[test]
    fn ansi_palette_colours_the_output() {
        let got = render(&sample::tls10_rsa_handshake(), 0, Palette::ansi());
        assert!(got.contains("\u{1b}["));
        assert!(got.contains("ClientHello"));
        let plain = render(&sample::tls10_rsa_handshake(), 0, Palette::plain());
        assert!(!plain.contains('\u{1b}'));
    }

    #[test]
    fn verbose_adds_records_times_and_hex_dumps() {
        let events = sample::tls10_rsa_handshake();
        let v1 = render(&events, 1, Palette::plain());
        assert!(v1.contains("      record → handshake, {3,1} TLS 1.0, 90 bytes, stream offset 0\n"));
        assert!(v1.contains("88 bytes, 12:26:40.004500, observed\n"));
        assert!(!v1.contains("folded"), "-v shows every record");
        assert!(!v1.contains("00000000  "));
        let v2 = render(&events, 2, Palette::plain());
        assert!(v2.contains("      hex dump, 88 bytes:\n        00000000  01 00 00 54 03 01 5f 5e  0f fb 11 11 11 11 11 11  |...T.._^........|\n"));
        assert!(v2.contains("      hex dump, 1 byte:\n        00000000  01  "));
    }

    #[test]
    fn interleaved_connections_are_prefixed() {
        let a = sample::refused_handshake(1);
        let b = sample::refused_handshake(2);
        // conn 1 opens, conn 2 opens, both speak, both end.
        let events = vec![
            a[0].clone(),
            b[0].clone(),
            a[1].clone(),
            b[1].clone(),
            a[2].clone(),
            a[3].clone(),
            b[2].clone(),
            b[3].clone(),
        ];
        let got = render(&events, 0, Palette::plain());
        assert!(got.contains("\nConnection 1: client"), "{got}");
        assert!(got.contains("\n[2] Connection 2: client"), "{got}");
        assert!(got.contains("\n[1]   client ── ClientHello "), "{got}");
        assert!(got.contains("\n[2]   client ── ClientHello "), "{got}");
        assert!(
            got.contains("\n  client ◀────────────────────────────── Alert ── server"),
            "{got}"
        );
        assert!(
            got.contains("\n[1]   Outcome of connection 1: failed"),
            "{got}"
        );
        // Once connection 1 is over, connection 2 is alone again.
        assert!(got.contains("\n  Outcome of connection 2: failed"), "{got}");
        assert!(got.ends_with("Summary: 2 connections: 0 ok, 2 failed, 0 incomplete\n"));
    }

    #[test]
    fn each_connection_folds_its_own_application_data() {
        let a = sample::tls10_rsa_handshake();
        let b: Vec<Event> = a
            .iter()
            .cloned()
            .map(|mut e| {
                e.conn = 2;
                e
            })
            .collect();
        let server_data = |e: &Event| {
            e.dir == Some(Direction::ServerToClient)
                && matches!(&e.kind, EventKind::Message(m) if matches!(
                    m.message,
                    Message::Encrypted { content_type: ContentType::ApplicationData, .. }
                ))
        };
        let first = a.iter().position(server_data).unwrap();
        let last = a.iter().rposition(server_data).unwrap();
        // Both handshakes, then the server records of the two connections
        // taking turns, as parallel transfers do in a capture.
        let mut events = a[..first].to_vec();
        events.extend_from_slice(&b[..first]);
        for i in first..=last {
            events.push(a[i].clone());
            events.push(b[i].clone());
        }
        events.extend_from_slice(&a[last + 1..]);
        events.extend_from_slice(&b[last + 1..]);
        let got = render(&events, 0, Palette::plain());
        for conn in ["[1]", "[2]"] {
            let arrows =
                format!("\n{conn}   client ◀──────────────────── ApplicationData ── server");
            assert_eq!(got.matches(&arrows).count(), 1, "{got}");
        }
        // Connection 2's fold comes after connection 1's outcome, when it
        // is the only one open and its lines lose their prefix.
        let fold =
            "      … and 2 more application data records, 1400 bytes (folded; -v shows each)\n";
        assert_eq!(got.matches(fold).count(), 2, "{got}");
        // A fold is written when its connection does something else: here
        // connection 1's encrypted alert, which comes after connection 2's
        // last record.
        let fold1 = got.find("[1]       … and 2 more").unwrap();
        let last2 = got.rfind("[2]   client ◀").unwrap();
        let alert1 = got.find("[1]   client ── Encrypted alert").unwrap();
        assert!(last2 < fold1 && fold1 < alert1, "{got}");
    }

    #[test]
    fn refused_handshake_shows_the_alert_and_who_sent_it() {
        let got = render(&sample::refused_handshake(1), 0, Palette::plain());
        assert!(
            got.contains("      alert          fatal handshake_failure (40)\n"),
            "{got}"
        );
        assert!(
            got.contains("      meaning        the sender found no acceptable set"),
            "{got}"
        );
        assert!(
            got.contains("      alert          fatal handshake_failure (40), sent by the server\n")
        );
        assert!(got.contains(
            "      error: the handshake ended with a fatal alert: handshake_failure [fatal_alert]\n"
        ));
    }

    #[test]
    fn tls13_records_are_named_for_what_they_are() {
        use crate::wire::{ContentType, ExtensionBody, HandshakeMessage};
        let c2s = Some(Direction::ClientToServer);
        let s2c = Some(Direction::ServerToClient);
        let mut sh = sample::server_hello();
        sh.server_version = ProtocolVersion::TLSv1_2;
        sh.cipher_suite = crate::wire::CipherSuite(0x1301);
        sh.extensions = Some(vec![Extension::from_body(
            &ExtensionBody::SupportedVersionsSelected(ProtocolVersion::TLSv1_3),
        )]);
        let mut b = sample::Builder::new(1);
        b.connection();
        b.handshake(
            c2s,
            1,
            HandshakeMessage::ClientHello(sample::client_hello()),
        );
        b.handshake(s2c, 2, HandshakeMessage::ServerHello(sh));
        b.message(
            s2c,
            None,
            Message::ChangeCipherSpec(Ok(crate::wire::ChangeCipherSpec)),
            vec![1],
        );
        b.message(
            s2c,
            None,
            Message::Encrypted {
                content_type: ContentType::ApplicationData,
                length: 2100,
            },
            vec![],
        );
        let got = render(&b.events, 0, Palette::plain());
        assert!(
            got.contains("{3,3} TLS 1.2, negotiated TLS 1.3 through supported_versions"),
            "{got}"
        );
        assert!(
            got.contains("all 32 bytes random (TLS 1.3 has no gmt_unix_time)"),
            "{got}"
        );
        assert!(got.contains("TLS 1.3 ignores it"), "{got}");
        assert!(
            got.contains("── Encrypted record ── server  2100 bytes, protected"),
            "{got}"
        );
        assert!(
            got.contains("TLS 1.3 record, 2100 bytes: handshake messages or application data"),
            "{got}"
        );
    }

    #[test]
    fn decrypted_application_data_is_previewed() {
        let mut b = sample::Builder::new(1);
        b.message(
            Some(Direction::ClientToServer),
            Some(10),
            Message::ApplicationData {
                length: 18,
                plaintext: Some(b"GET / HTTP/1.0\r\n\r\n".to_vec()),
            },
            vec![],
        );
        let got = render(&b.events, 0, Palette::plain());
        assert!(
            got.contains("      plaintext      \"GET / HTTP/1.0\\r\\n\\r\\n\"\n"),
            "{got}"
        );
        let got = render(&b.events, 2, Palette::plain());
        assert!(got.contains("plaintext hex dump, 18 bytes:"), "{got}");
        let mut b = sample::Builder::new(1);
        b.message(
            Some(Direction::ServerToClient),
            Some(10),
            Message::ApplicationData {
                length: 4,
                plaintext: Some(vec![0, 1, 0xfe, b'a']),
            },
            vec![],
        );
        let got = render(&b.events, 0, Palette::plain());
        assert!(got.contains("      plaintext      hex 0001fe61\n"), "{got}");
    }

    #[test]
    fn wrap_keeps_words_whole() {
        let mut block = Block::default();
        block.wrapped(Style::new(), format_args!("> "), "aaa bbb ccc", 9);
        assert_eq!(block.text, "> aaa bbb\n  ccc\n");
    }

    /// Text painted in place is what `Palette::paint` makes of it.
    #[test]
    fn painting_in_place_matches_palette_paint() {
        let pal = Palette::ansi();
        for style in [
            pal.heading,
            pal.step,
            pal.server,
            pal.dim,
            pal.ok,
            Style::new(),
        ] {
            let mut text = String::new();
            paint_on(&mut text, style);
            text.push_str("a · b");
            paint_off(&mut text, style);
            assert_eq!(text, Palette::paint(style, "a · b"));
        }
    }
}
