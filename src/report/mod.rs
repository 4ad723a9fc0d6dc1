//! The renderers: the only consumers of the event stream and the only code
//! that formats anything for people or programs.
//!
//! - [`text::TextRenderer`]: the annotated ladder between client and
//!   server, message by message under the numbered steps of HANDSHAKE.md,
//!   with colours from a [`Palette`], records and times at `-v`, hex dumps
//!   at `-vv`.
//! - [`json::JsonRenderer`]: JSON Lines, the versioned contract of
//!   ARCHITECTURE.md, written through the view types of [`json::schema`].
//! - [`describe`]: the one table of prose both draw from (the JSON carries
//!   codes, the text carries sentences).
//!
//! Both renderers are [`EventSink`]s generic over an `io::Write`, stream
//! as events arrive (nothing is buffered until the end), and are framed by
//! [`begin`](text::TextRenderer::begin) with a [`RunInfo`] and
//! [`finish`](text::TextRenderer::finish) with a [`RunSummary`]. They do not
//! decide colour, read the clock, open files or check terminals: the CLI
//! does and passes the answers in.

pub mod describe;
pub mod hexdump;
pub mod json;
pub mod palette;
#[cfg(test)]
pub(crate) mod sample;
pub mod text;

pub use json::JsonRenderer;
pub use palette::Palette;
pub use text::{TextOptions, TextRenderer};

use crate::event::{Event, EventKind, EventSink, OutcomeResult, RecordDetail};

/// What this run is, for the first lines of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// The subcommand: `connect`, `serve` or `decode`.
    pub command: String,
    /// What it runs against: `example.com:443`, `0.0.0.0:4433`,
    /// `capture.pcap`.
    pub target: String,
    /// The tool version (`CARGO_PKG_VERSION`).
    pub version: String,
}

impl RunInfo {
    /// A run of `command` against `target`, by this build of the tool.
    pub fn new(command: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            target: target.into(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// How the connections of a run ended, for the last lines of a report and
/// the exit code. It is itself an [`EventSink`] that counts `Outcome`
/// events, so the CLI can tee it beside a renderer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub ok: u32,
    pub failed: u32,
    pub incomplete: u32,
}

impl RunSummary {
    /// Counts one connection that ended with `result`.
    pub fn count(&mut self, result: OutcomeResult) {
        match result {
            OutcomeResult::Ok => self.ok += 1,
            OutcomeResult::Failed => self.failed += 1,
            OutcomeResult::Incomplete => self.incomplete += 1,
        }
    }

    pub fn connections(&self) -> u32 {
        self.ok + self.failed + self.incomplete
    }

    /// Every connection completed its handshake (exit code 0).
    pub fn all_ok(&self) -> bool {
        self.failed == 0 && self.incomplete == 0
    }
}

impl EventSink for RunSummary {
    fn emit(&mut self, ev: &Event) -> std::io::Result<()> {
        if let EventKind::Outcome(o) = &ev.kind {
            self.count(o.result);
        }
        Ok(())
    }
    fn wants(&self, _: RecordDetail) -> bool {
        false
    }
}

/// Number of significant bits of a big-endian unsigned integer (an RSA
/// modulus, a DH prime).
pub(crate) fn bit_length(b: &[u8]) -> usize {
    match b.iter().position(|&x| x != 0) {
        Some(i) => (b.len() - i) * 8 - b[i].leading_zeros() as usize,
        None => 0,
    }
}

/// Where each extension's data starts inside the message bytes, so that
/// decode errors point into `raw` (and the hex dump): the extensions block
/// ends a hello, so count back from the end. `None` when the bytes are
/// shorter than the parsed view says (hand-built events).
pub(crate) fn extension_data_offsets(
    exts: &[crate::wire::Extension],
    raw_len: usize,
) -> Vec<Option<usize>> {
    let total: usize = exts.iter().map(|e| 4 + e.data.len()).sum();
    let mut at = raw_len.checked_sub(total);
    exts.iter()
        .map(|e| {
            let here = at.map(|a| a + 4);
            at = at.map(|a| a + 4 + e.data.len());
            here
        })
        .collect()
}
