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
//! Verbosity: 0 shows messages (consecutive application data records in one
//! direction are folded into one line, unless their plaintext is shown); 1 (`-v`) adds every record with its
//! header and stream offset, times and origins, and stops folding; 2
//! (`-vv`) adds a hex dump of each message's bytes.
//!
//! When more than one connection is open at once, every line starts with
//! `[N] `, the connection number, so interleaved conversations stay apart.
//!
//! All wording comes from [`describe`]; this module only lays it out. It
//! does not read the clock (the reference time for judging a hello's
//! gmt_unix_time is the event's timestamp or [`TextOptions::now`]), does not
//! decide colour (the [`Palette`] is given), and holds no policy (the
//! analyzer's notes arrive as events like any other).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use owo_colors::Style;

use super::describe::{self, hex};
use super::hexdump;
use super::palette::Palette;
use super::{bit_length, extension_data_offsets, RunInfo, RunSummary};
use crate::event::{
    ConnId, ConnectionInfo, CryptoEvent, DataCount, Direction, Event, EventKind, EventSink,
    FlowEvent, Message, MessageEvent, Note, Origin, Outcome, OutcomeResult, RecordInfo, Severity,
    Timestamp,
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
/// Indentation of the fields under a message.
const FIELD_INDENT: &str = "      ";
/// Width of the label column of the fields.
const LABEL_WIDTH: usize = 15;
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
    /// Record lines waiting for the message they carry (`-v`).
    pending_records: Vec<(Option<Direction>, String)>,
}

/// Consecutive application data records folded into one line at
/// verbosity 0.
struct Fold {
    conn: ConnId,
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
    fold: Option<Fold>,
}

/// Label/value lines under a message; an empty label continues the value
/// of the line above.
#[derive(Default)]
struct Fields(Vec<(String, String, Style)>);

impl Fields {
    fn kv(&mut self, label: &str, value: impl Into<String>) {
        self.0.push((label.to_string(), value.into(), Style::new()));
    }
    fn more(&mut self, value: impl Into<String>) {
        self.0.push((String::new(), value.into(), Style::new()));
    }
    fn styled(&mut self, label: &str, value: impl Into<String>, style: Style) {
        self.0.push((label.to_string(), value.into(), style));
    }
}

fn dir_index(d: Option<Direction>) -> usize {
    match d {
        Some(Direction::ServerToClient) => 1,
        _ => 0,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Splits `text` into lines of at most `width` columns (words longer than
/// that stay whole), the first starting with `first`, the others indented
/// to the same column.
fn wrap(text: &str, first: &str, width: usize) -> Vec<String> {
    let indent_width = first.chars().count();
    let indent = " ".repeat(indent_width);
    let mut lines = Vec::new();
    let mut line = first.to_string();
    // The line's width in characters, kept as it grows.
    let mut line_width = indent_width;
    let mut empty = true;
    for word in text.split_whitespace() {
        let word_width = word.chars().count();
        if !empty && line_width + 1 + word_width > width {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            line_width = indent_width;
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_width += 1;
        }
        line.push_str(word);
        line_width += word_width;
        empty = false;
    }
    lines.push(line);
    lines
}

fn bytes(n: usize) -> String {
    plural(n as u64, "byte", "bytes")
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
fn quoted(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

impl<W: Write> TextRenderer<W> {
    pub fn new(out: W, opts: TextOptions) -> Self {
        Self {
            out,
            opts,
            conns: BTreeMap::new(),
            open: BTreeSet::new(),
            fold: None,
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

    fn paint(&self, style: Style, text: &str) -> String {
        Palette::paint(style, text)
    }

    /// The first lines: the tool, the command and its target.
    pub fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        let line = format!("sslwalk {} · {} {}", run.version, run.command, run.target);
        let line = self.paint(self.opts.palette.heading, &line);
        writeln!(self.out, "{line}")
    }

    /// The last lines: how many connections ended how.
    pub fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        self.flush_fold()?;
        let pending: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in pending {
            self.flush_records(c)?;
        }
        let n = summary.connections();
        let line = format!(
            "Summary: {}: {} ok, {} failed, {} incomplete",
            plural(n.into(), "connection", "connections"),
            summary.ok,
            summary.failed,
            summary.incomplete
        );
        let style = if summary.all_ok() {
            self.opts.palette.ok
        } else {
            self.opts.palette.failed
        };
        let line = self.paint(style, &line);
        writeln!(self.out)?;
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    // -- Output plumbing --

    /// Writes lines for connection `conn`, each prefixed with `[conn] `
    /// while several connections are open.
    fn put(&mut self, conn: ConnId, lines: &[String]) -> io::Result<()> {
        let prefix = if self.open.len() > 1 {
            format!("[{conn}] ")
        } else {
            String::new()
        };
        for l in lines {
            if l.is_empty() {
                writeln!(self.out)?;
            } else {
                writeln!(self.out, "{prefix}{l}")?;
            }
        }
        Ok(())
    }

    fn state(&mut self, conn: ConnId) -> &mut ConnState {
        self.conns.entry(conn).or_default()
    }

    fn flush_fold(&mut self) -> io::Result<()> {
        if let Some(f) = self.fold.take() {
            if f.records > 0 {
                let noun = if f.records == 1 { "record" } else { "records" };
                let text = format!(
                    "{FIELD_INDENT}… and {} more application data {noun}, {} (folded; -v shows each)",
                    f.records,
                    bytes(f.bytes as usize)
                );
                let line = self.paint(self.style_for(f.dir), &text);
                self.put(f.conn, &[line])?;
            }
        }
        Ok(())
    }

    fn flush_records(&mut self, conn: ConnId) -> io::Result<()> {
        let pending = std::mem::take(&mut self.state(conn).pending_records);
        let lines: Vec<String> = pending.into_iter().map(|(_, l)| l).collect();
        self.put(conn, &lines)
    }

    fn style_for(&self, dir: Option<Direction>) -> Style {
        match dir {
            Some(Direction::ServerToClient) => self.opts.palette.server,
            _ => self.opts.palette.client,
        }
    }

    fn field_lines(&self, fields: &Fields) -> Vec<String> {
        let pal = &self.opts.palette;
        fields
            .0
            .iter()
            .map(|(label, value, style)| {
                let value = self.paint(*style, value);
                if label.is_empty() {
                    format!("{FIELD_INDENT}{:LABEL_WIDTH$}{value}", "")
                } else if label.chars().count() < LABEL_WIDTH {
                    let l = format!("{label:LABEL_WIDTH$}");
                    format!("{FIELD_INDENT}{}{value}", self.paint(pal.label, &l))
                } else {
                    format!("{FIELD_INDENT}{} {value}", self.paint(pal.label, label))
                }
            })
            .collect()
    }

    fn note_line(&self, indent: &str, n: &Note) -> String {
        let pal = &self.opts.palette;
        let style = match n.severity {
            Severity::Info => pal.info,
            Severity::Warning => pal.warning,
            Severity::Error => pal.error,
        };
        let sev = self.paint(style, &format!("{}:", describe::severity(n.severity)));
        let code = self.paint(pal.dim, &format!("[{}]", n.code.id()));
        format!("{indent}{sev} {} {code}", describe::note(n))
    }

    // -- Events --

    fn on_connection(&mut self, ev: &Event, c: &ConnectionInfo) -> io::Result<()> {
        self.open.insert(ev.conn);
        self.conns.insert(ev.conn, ConnState::default());
        let mut head = format!("Connection {}", ev.conn);
        match (c.client, c.server) {
            (Some(cl), Some(sv)) => head.push_str(&format!(": client {cl} → server {sv}")),
            (Some(cl), None) => head.push_str(&format!(": client {cl}")),
            (None, Some(sv)) => head.push_str(&format!(": server {sv}")),
            (None, None) => {}
        }
        let mut lines = vec![String::new(), self.paint(self.opts.palette.heading, &head)];
        let mut detail = Vec::new();
        if ev.origin == Origin::Observed && !c.tcp_handshake_seen {
            detail.push("the capture joined it mid-stream: roles were inferred".to_string());
        }
        if self.opts.verbosity >= 1 {
            if let Some(t) = ev.time {
                detail.push(format!("started {}", describe::utc(t.secs)));
            }
        }
        if !detail.is_empty() {
            lines.push(self.paint(self.opts.palette.dim, &format!("  ({})", detail.join("; "))));
        }
        self.put(ev.conn, &lines)
    }

    fn on_record(&mut self, ev: &Event, r: &RecordInfo) -> io::Result<()> {
        if self.opts.verbosity == 0 {
            return Ok(());
        }
        let arrow = match ev.dir {
            Some(Direction::ServerToClient) => "←",
            _ => "→",
        };
        let mut text = format!(
            "{FIELD_INDENT}record {arrow} {}, {}, {}, stream offset {}",
            describe::named_u8(r.header.content_type.name(), r.header.content_type.0),
            describe::version(r.header.version),
            bytes(r.header.length.into()),
            r.stream_offset
        );
        if r.protected {
            text.push_str(", protected");
        }
        if r.sslv2 {
            text.push_str(", SSL 2.0 record format");
        }
        let line = self.paint(self.opts.palette.dim, &text);
        self.state(ev.conn).pending_records.push((ev.dir, line));
        Ok(())
    }

    fn on_flow(&mut self, ev: &Event, f: &FlowEvent) -> io::Result<()> {
        let pal = self.opts.palette;
        let mut lines = vec![self.paint(pal.flow, &format!("  » {}", describe::flow(f)))];
        match f {
            FlowEvent::Kind(k) => {
                if k.tls13 {
                    self.state(ev.conn).tls13 = true;
                }
                for l in wrap(describe::handshake_kind_explanation(k), "    ", WRAP_WIDTH) {
                    lines.push(self.paint(pal.dim, &l));
                }
            }
            FlowEvent::Renegotiation { .. } => {}
        }
        self.put(ev.conn, &lines)
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
                    let line = self.paint(
                        style,
                        &format!("{FIELD_INDENT}  crypto: {}", describe::record_crypto(rc)),
                    );
                    self.state(ev.conn).pending_records.push((ev.dir, line));
                }
                Ok(())
            }
            CryptoEvent::Secrets(s) => {
                self.flush_fold()?;
                let mut text = format!("  » keys: {}", describe::secret_source(s.source));
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
                let mut lines = vec![self.paint(pal.flow, &text)];
                let mut f = Fields::default();
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
                lines.extend(self.field_lines(&f));
                self.put(ev.conn, &lines)
            }
        }
    }

    fn on_note(&mut self, ev: &Event, n: &Note) -> io::Result<()> {
        let line = self.note_line(FIELD_INDENT, n);
        self.put(ev.conn, &[line])
    }

    fn on_outcome(&mut self, ev: &Event, o: &Outcome) -> io::Result<()> {
        let pal = self.opts.palette;
        let (word, style) = match o.result {
            OutcomeResult::Ok => ("ok, the handshake completed", pal.ok),
            OutcomeResult::Failed => ("failed", pal.failed),
            OutcomeResult::Incomplete => ("incomplete, the handshake did not finish", pal.failed),
        };
        let head = format!(
            "  Outcome of connection {}: {}",
            ev.conn,
            self.paint(style, word)
        );
        let mut f = Fields::default();
        f.kv(
            "version",
            o.version
                .map(describe::version)
                .unwrap_or_else(|| "not negotiated".into()),
        );
        f.kv(
            "cipher suite",
            o.cipher_suite
                .map(describe::suite)
                .unwrap_or_else(|| "not negotiated".into()),
        );
        if let Some(k) = &o.kind {
            f.kv("handshake", describe::handshake_kind_name(k));
        }
        f.kv("resumed", if o.resumed { "yes" } else { "no" });
        f.kv("handshakes", o.handshakes.to_string());
        if let Some((a, from)) = &o.alert {
            let who = match from {
                Direction::ClientToServer => "the client",
                Direction::ServerToClient => "the server",
            };
            let style = if a.is_fatal() { pal.error } else { pal.warning };
            f.styled(
                "alert",
                format!("{}, sent by {who}", describe::alert(a)),
                style,
            );
        }
        let data = |d: &DataCount| {
            format!(
                "{}, {}",
                plural(d.records, "record", "records"),
                bytes(d.bytes as usize)
            )
        };
        f.kv(
            "app data",
            format!("client → server: {}", data(&o.client_to_server)),
        );
        f.more(format!("server → client: {}", data(&o.server_to_client)));
        let decrypted = match (o.decrypted, o.finished_verified) {
            (false, _) => "no".to_string(),
            (true, Some(true)) => "yes; both Finished messages verified".to_string(),
            (true, Some(false)) => "yes; a Finished message did NOT verify".to_string(),
            (true, None) => "yes".to_string(),
        };
        if o.finished_verified == Some(false) {
            f.styled("decrypted", decrypted, pal.error);
        } else {
            f.kv("decrypted", decrypted);
        }
        if let Some(name) = &o.server_name {
            f.kv("server name", name.clone());
        }
        let mut lines = vec![String::new(), self.paint(pal.heading, &head)];
        lines.extend(self.field_lines(&f));
        if let Some(reason) = &o.reason {
            lines.push(self.note_line(FIELD_INDENT, reason));
        }
        self.put(ev.conn, &lines)?;
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

    fn arrow_line(&self, ev: &Event, m: &MessageEvent, title: &str) -> String {
        let pal = self.opts.palette;
        let len = title.chars().count();
        let fill = "─".repeat(LADDER.saturating_sub(len + 5).max(1));
        let arrow = match ev.dir {
            Some(Direction::ServerToClient) => format!("client ◀{fill} {title} ── server"),
            Some(Direction::ClientToServer) => format!("client ── {title} {fill}▶ server"),
            None => format!("client ── {title} {fill}─ server"),
        };
        let mut detail = vec![bytes(Self::message_size(m))];
        if m.records > 1 {
            detail.push(format!("{} records", m.records));
        }
        if m.protected {
            detail.push("protected".into());
        }
        if self.opts.verbosity >= 1 {
            if let Some(t) = ev.time {
                detail.push(describe::time_of_day(t));
            }
            detail.push(
                match ev.origin {
                    Origin::Sent => "sent",
                    Origin::Received => "received",
                    Origin::Observed => "observed",
                }
                .into(),
            );
        }
        format!(
            "  {}  {}",
            self.paint(self.style_for(ev.dir), &arrow),
            self.paint(pal.dim, &detail.join(", "))
        )
    }

    fn on_message(&mut self, ev: &Event, m: &MessageEvent) -> io::Result<()> {
        let app_data = self.is_app_data(ev, m);
        let size = Self::message_size(m) as u64;
        if app_data {
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
            if self.opts.verbosity == 0 && m.notes.is_empty() && !shown {
                if let Some(f) = &mut self.fold {
                    if f.conn == ev.conn && f.dir == ev.dir {
                        f.records += 1;
                        f.bytes += size;
                        return Ok(());
                    }
                }
            }
        }
        self.flush_fold()?;

        let pal = self.opts.palette;
        let mut lines = Vec::new();
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
                lines.push(String::new());
                let head = format!("  Step {step}");
                match describe::step_meaning(step) {
                    Some(meaning) => {
                        for l in wrap(meaning, &format!("{head} · "), WRAP_WIDTH) {
                            lines.push(self.paint(pal.step, &l));
                        }
                    }
                    None => lines.push(self.paint(pal.step, &head)),
                }
            }
        }
        let title = self.title(ev, m);
        lines.push(self.arrow_line(ev, m, &title));
        // Records that carried this message (`-v`), right under its arrow.
        let st = self.state(ev.conn);
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut st.pending_records)
            .into_iter()
            .partition(|(d, _)| *d == ev.dir);
        st.pending_records = others;
        lines.extend(mine.into_iter().map(|(_, l)| l));

        let mut f = Fields::default();
        self.message_fields(ev, m, &mut f);
        lines.extend(self.field_lines(&f));
        for n in &m.notes {
            lines.push(self.note_line(FIELD_INDENT, n));
        }
        if self.opts.verbosity >= 2 {
            self.dump(&mut lines, "hex dump", &m.raw);
            if let Message::ApplicationData {
                plaintext: Some(p), ..
            } = &m.message
            {
                if p != &m.raw {
                    self.dump(&mut lines, "plaintext hex dump", p);
                }
            }
        }
        self.put(ev.conn, &lines)?;
        if app_data && self.opts.verbosity == 0 {
            self.fold = Some(Fold {
                conn: ev.conn,
                dir: ev.dir,
                records: 0,
                bytes: 0,
            });
        }
        Ok(())
    }

    fn dump(&self, lines: &mut Vec<String>, what: &str, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        let pal = self.opts.palette;
        lines.push(self.paint(
            pal.dim,
            &format!("{FIELD_INDENT}{what}, {}:", bytes(b.len())),
        ));
        for l in hexdump::lines(b, 0) {
            lines.push(self.paint(pal.dim, &format!("{FIELD_INDENT}  {l}")));
        }
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
            f.styled("not decoded", e.to_string(), pal.error);
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
                    format!(
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
                        f.kv("plaintext", format!("{}{more}", quoted(shown)));
                    } else {
                        f.kv("plaintext", format!("hex {}{more}", hex(shown)));
                    }
                }
            }
            Message::Encrypted {
                content_type,
                length,
            } => {
                let st = self.state(ev.conn);
                let text = match *content_type {
                    ContentType::Handshake if st.tls13 => {
                        format!("encrypted handshake message, {}", bytes(*length))
                    }
                    ContentType::Handshake if st.after_ccs[di] && !st.handshake_after_ccs[di] => {
                        st.handshake_after_ccs[di] = true;
                        format!(
                            "encrypted handshake message, presumably Finished (the first message under the new keys), {}",
                            bytes(*length)
                        )
                    }
                    ContentType::Handshake => format!(
                        "encrypted handshake message (a renegotiation or a post-handshake message), {}",
                        bytes(*length)
                    ),
                    ContentType::Alert => format!(
                        "encrypted alert, {}: level and description are hidden (often close_notify)",
                        bytes(*length)
                    ),
                    ContentType::ApplicationData if st.tls13 => format!(
                        "TLS 1.3 record, {}: handshake messages or application data, the outer type is always application_data",
                        bytes(*length)
                    ),
                    ContentType::ApplicationData => format!("encrypted application data, {}", bytes(*length)),
                    other => format!(
                        "encrypted record of type {}, {}",
                        describe::named_u8(other.name(), other.0),
                        bytes(*length)
                    ),
                };
                f.kv("content", text);
            }
            Message::UnknownRecord {
                content_type,
                length,
            } => {
                f.kv(
                    "content type",
                    format!(
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
                let client_sid = st.client_session_id.clone();
                server_hello_fields(sh, client_sid.as_deref(), m.raw.len(), reference, f);
            }
            HandshakeMessage::NewSessionTicket(t) => match t {
                NewSessionTicket::Tls12 {
                    lifetime_hint,
                    ticket,
                } => {
                    f.kv("lifetime hint", format!("{lifetime_hint} s"));
                    f.kv("ticket", bytes(ticket.len()));
                }
                NewSessionTicket::Tls13 {
                    lifetime,
                    age_add,
                    nonce,
                    ticket,
                    extensions,
                } => {
                    f.kv("lifetime", format!("{lifetime} s"));
                    f.kv("age add", age_add.to_string());
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
                    let types: Vec<String> = certificate_types
                        .iter()
                        .map(|t| describe::named_u8(t.name(), t.0))
                        .collect();
                    f.kv("cert types", types.join(", "));
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
                    f.kv(
                        "context",
                        if context.is_empty() {
                            "empty".into()
                        } else {
                            hex(context)
                        },
                    );
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
                    let mut text = format!(
                        "encrypted pre-master secret, {} (as long as the server's RSA modulus: {} bits)",
                        bytes(encrypted_pre_master.len()),
                        encrypted_pre_master.len() * 8
                    );
                    if !length_prefixed {
                        text.push_str("; no length prefix, the SSL 3.0 form");
                    }
                    f.kv("key exchange", text);
                }
                ClientKeyExchange::Dh { public } => f.kv("client DH public", bytes(public.len())),
                ClientKeyExchange::Ecdh { public } => f.kv("client EC point", bytes(public.len())),
                ClientKeyExchange::Psk { identity } => f.kv("PSK identity", quoted(identity)),
                ClientKeyExchange::Opaque(b) => f.kv(
                    "key exchange",
                    format!(
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
                    format!(
                        "{} ({why}): {}",
                        bytes(fin.verify_data.len()),
                        hex(&fin.verify_data)
                    ),
                );
            }
            HandshakeMessage::CertificateStatus(cs) => {
                f.kv(
                    "status",
                    format!(
                        "{} response, {}",
                        describe::named_u8(cs.status_type.name(), cs.status_type.0),
                        bytes(cs.response.len())
                    ),
                );
            }
            HandshakeMessage::KeyUpdate(k) => f.kv("request", describe::named_u8(k.name(), k.0)),
            HandshakeMessage::Unknown { body, .. } => {
                f.kv("body", format!("{}, not decoded", bytes(body.len())));
            }
        }
    }
}

fn list_or_none(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn signature(sig: &DigitallySigned) -> String {
    match sig.algorithm {
        Some(a) => format!(
            "{}, {}",
            describe::named_u16(a.name(), a.0),
            bytes(sig.signature.len())
        ),
        None => format!(
            "{} (algorithm implied by the key)",
            bytes(sig.signature.len())
        ),
    }
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
            f.more(format!("gmt_unix_time {}", describe::utc(gmt.into())));
        }
        Some(_) => f.more("first 4 bytes random too (not a plausible gmt_unix_time)"),
        None => f.more(format!(
            "gmt_unix_time {} if it is a time",
            describe::utc(gmt.into())
        )),
    }
}

/// A session ID: what it means, its length, and its bytes on a second
/// line.
fn session_id_fields(sid: &[u8], meaning: &str, f: &mut Fields) {
    if sid.is_empty() {
        f.kv("session ID", format!("empty: {meaning}"));
    } else {
        f.kv("session ID", format!("{meaning}, {}", bytes(sid.len())));
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
        format!("{} offered, in order of preference", ch.cipher_suites.len()),
    );
    for s in &ch.cipher_suites {
        f.more(describe::suite(*s));
    }
    let comps: Vec<String> = ch
        .compression_methods
        .iter()
        .map(|c| describe::compression(*c))
        .collect();
    f.kv("compression", comps.join(", "));
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
            format!(
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
        format!("{} offered, {tls} of them TLS suites", h.cipher_specs.len()),
    );
    for s in &h.cipher_specs {
        if s >> 16 == 0 {
            f.more(describe::suite(crate::wire::CipherSuite(*s as u16)));
        } else {
            f.more(format!("0x{s:06X} SSL 2.0 cipher"));
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
        format!(
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
    f.kv("extensions", exts.len().to_string());
    for (e, offset) in exts.iter().zip(extension_data_offsets(exts, raw_len)) {
        let name = describe::extension_type(e.typ);
        let text = match e.parse(cx, offset.unwrap_or(0)) {
            Ok(ExtensionBody::Unparsed(_)) => {
                if e.data.is_empty() {
                    "empty".to_string()
                } else if e.data.len() <= 32 {
                    format!("{}: {}", bytes(e.data.len()), hex(&e.data))
                } else {
                    format!("{}, not decoded", bytes(e.data.len()))
                }
            }
            Ok(body) => extension_text(&body),
            Err(err) => format!("malformed ({}): {err}", bytes(e.data.len())),
        };
        f.more(format!("{name}: {text}"));
    }
}

fn extension_text(body: &ExtensionBody) -> String {
    use ExtensionBody as B;
    let u16s = |v: &mut dyn Iterator<Item = String>| -> String {
        let v: Vec<String> = v.collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    match body {
        B::ServerName(names) if names.is_empty() => {
            "empty: the server acknowledges the name".into()
        }
        B::ServerName(names) => u16s(&mut names.iter().map(|n| {
            if n.name_type == crate::wire::ServerNameType::HostName {
                format!("host_name {}", quoted(&n.name))
            } else {
                format!("name type {}: {}", n.name_type.0, hex(&n.name))
            }
        })),
        B::MaxFragmentLength(m) => describe::named_u8(m.name(), m.0),
        B::StatusRequest {
            status_type: None, ..
        } => "empty: the server will staple a status".into(),
        B::StatusRequest {
            status_type: Some(t),
            responder_id_list,
            request_extensions,
        } => format!(
            "{} (responder IDs {}, request extensions {})",
            describe::named_u8(t.name(), t.0),
            bytes(responder_id_list.len()),
            bytes(request_extensions.len())
        ),
        B::SupportedGroups(g) => u16s(&mut g.iter().map(|g| describe::named_u16(g.name(), g.0))),
        B::EcPointFormats(p) => u16s(&mut p.iter().map(|p| describe::named_u8(p.name(), p.0))),
        B::SignatureAlgorithms(s) | B::SignatureAlgorithmsCert(s) => {
            u16s(&mut s.iter().map(|s| describe::named_u16(s.name(), s.0)))
        }
        B::Heartbeat(m) => describe::named_u8(m.name(), m.0),
        B::Alpn(names) => u16s(&mut names.iter().map(|n| quoted(n))),
        B::Padding { length, all_zero } => {
            if *all_zero {
                format!("{} of zeros", bytes(*length))
            } else {
                format!("{}, not all zero", bytes(*length))
            }
        }
        B::EncryptThenMac | B::ExtendedMasterSecret | B::PostHandshakeAuth => "empty".into(),
        B::RecordSizeLimit(n) => format!("{n} bytes"),
        B::SessionTicket(t) if t.is_empty() => "empty: ready for a new ticket".into(),
        B::SessionTicket(t) => format!("a ticket of {} to resume with", bytes(t.len())),
        B::PreSharedKeyOffer {
            identities,
            binders,
        } => format!(
            "{}, {}",
            plural(identities.len() as u64, "identity", "identities"),
            plural(binders.len() as u64, "binder", "binders")
        ),
        B::PreSharedKeySelected(i) => format!("identity #{i} accepted"),
        B::EarlyData(None) => "empty".into(),
        B::EarlyData(Some(max)) => format!("max_early_data_size {max}"),
        B::SupportedVersionsOffer(v) => u16s(&mut v.iter().map(|v| describe::version(*v))),
        B::SupportedVersionsSelected(v) => describe::version(*v),
        B::Cookie(c) => bytes(c.len()),
        B::PskKeyExchangeModes(m) => u16s(&mut m.iter().map(|m| describe::named_u8(m.name(), m.0))),
        B::KeyShareOffer(entries) => u16s(&mut entries.iter().map(|e| {
            format!(
                "{} ({})",
                describe::named_u16(e.group.name(), e.group.0),
                bytes(e.key_exchange.len())
            )
        })),
        B::KeyShareSelected(e) => format!(
            "{} ({})",
            describe::named_u16(e.group.name(), e.group.0),
            bytes(e.key_exchange.len())
        ),
        B::KeyShareRetry(g) => format!("retry with {}", describe::named_u16(g.name(), g.0)),
        B::RenegotiationInfo(v) if v.is_empty() => {
            "empty: a first handshake, secure renegotiation supported".into()
        }
        B::RenegotiationInfo(v) => {
            format!("{} of previous verify_data: {}", bytes(v.len()), hex(v))
        }
        B::Unparsed(_) => "not decoded".into(),
    }
}

fn certificate_fields(
    c: &Certificate,
    summaries: &[Result<CertSummary, String>],
    f: &mut Fields,
    pal: Palette,
) {
    if let Some(ctx) = &c.context {
        f.kv(
            "context",
            if ctx.is_empty() {
                "empty".into()
            } else {
                hex(ctx)
            },
        );
    }
    if c.entries.is_empty() {
        f.kv("chain", "empty: no certificate to send");
        return;
    }
    f.kv(
        "chain",
        format!(
            "{}, leaf first",
            plural(c.entries.len() as u64, "certificate", "certificates")
        ),
    );
    for (i, entry) in c.entries.iter().enumerate() {
        match summaries.get(i) {
            Some(Ok(s)) => cert_summary_fields(i, s, f),
            Some(Err(reason)) => {
                f.0.push((
                    String::new(),
                    format!(
                        "[{i}] {} of DER that did not parse: {reason}",
                        bytes(entry.der.len())
                    ),
                    pal.error,
                ));
            }
            None => f.more(format!("[{i}] {} of DER", bytes(entry.der.len()))),
        }
    }
}

/// A DER distinguished name as text, or its size when it does not parse.
fn distinguished_name(der: &[u8]) -> String {
    format!("{} of DER", bytes(der.len()))
}

fn cert_summary_fields(i: usize, s: &CertSummary, f: &mut Fields) {
    let pad = " ".repeat(format!("[{i}] ").len());
    f.more(format!("[{i}] subject    {}", s.subject));
    f.more(format!("{pad}issuer     {}", s.issuer));
    f.more(format!(
        "{pad}valid      {} to {}",
        s.not_before_utc, s.not_after_utc
    ));
    f.more(format!(
        "{pad}key        {}",
        describe::key(&s.key_type, s.key_bits)
    ));
    f.more(format!("{pad}signature  {}", s.signature_algorithm));
    if !s.subject_alt_names.is_empty() {
        let sans: Vec<String> = s.subject_alt_names.iter().map(describe::alt_name).collect();
        f.more(format!("{pad}SANs       {}", sans.join(", ")));
    }
    f.more(format!("{pad}SHA-256    {}", s.sha256_fingerprint));
    let mut traits = Vec::new();
    if s.self_signed {
        traits.push("self-signed");
    }
    if s.is_ca {
        traits.push("a CA certificate");
    }
    if !traits.is_empty() {
        f.more(format!("{pad}{}", traits.join(", ")));
    }
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
                format!(
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
                format!(
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
        ServerKeyExchange::Psk { identity_hint } => f.kv("identity hint", quoted(identity_hint)),
        ServerKeyExchange::Opaque(b) => f.kv(
            "parameters",
            format!(
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
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        match &ev.kind {
            EventKind::Record(r) => self.on_record(ev, r),
            EventKind::Message(m) => self.on_message(ev, m),
            EventKind::Crypto(c) => self.on_crypto(ev, c),
            other => {
                self.flush_fold()?;
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
        assert_eq!(
            wrap("aaa bbb ccc", "> ", 9),
            vec!["> aaa bbb".to_string(), "  ccc".to_string()]
        );
    }
}
