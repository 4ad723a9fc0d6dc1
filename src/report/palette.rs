//! The colours of the text report, as a struct of owo-colors `Style`s.
//!
//! The renderer styles every piece of text through a `Palette` and never
//! decides for itself whether colour is wanted: the CLI picks
//! [`Palette::ansi`] or [`Palette::plain`] (from `--color`, `NO_COLOR`,
//! whether stdout is a terminal). With `plain()` every style is empty and
//! owo-colors writes no escape codes at all, which is what the golden tests
//! compare against.

use owo_colors::{OwoColorize, Style};

/// One style per role a piece of text plays in the report.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    /// Run and connection headings.
    pub heading: Style,
    /// "Step N" and its meaning.
    pub step: Style,
    /// Arrows and names of client-to-server messages.
    pub client: Style,
    /// Arrows and names of server-to-client messages.
    pub server: Style,
    /// Field labels ("version", "cipher suites").
    pub label: Style,
    /// Secondary detail: sizes, offsets, times, records, hex dumps.
    pub dim: Style,
    /// Handshake kind and flow lines.
    pub flow: Style,
    pub info: Style,
    pub warning: Style,
    pub error: Style,
    /// A successful outcome.
    pub ok: Style,
    /// A failed or incomplete outcome.
    pub failed: Style,
}

impl Palette {
    /// No styling at all: byte-for-byte plain text.
    pub fn plain() -> Self {
        let none = Style::new();
        Self {
            heading: none,
            step: none,
            client: none,
            server: none,
            label: none,
            dim: none,
            flow: none,
            info: none,
            warning: none,
            error: none,
            ok: none,
            failed: none,
        }
    }

    /// ANSI colours for a terminal: client in cyan, server in magenta,
    /// findings coloured by severity.
    pub fn ansi() -> Self {
        Self {
            heading: Style::new().bold(),
            step: Style::new().bold().yellow(),
            client: Style::new().cyan(),
            server: Style::new().magenta(),
            label: Style::new().blue(),
            dim: Style::new().dimmed(),
            flow: Style::new().bold().green(),
            info: Style::new().bright_blue(),
            warning: Style::new().bold().yellow(),
            error: Style::new().bold().red(),
            ok: Style::new().bold().green(),
            failed: Style::new().bold().red(),
        }
    }

    /// `text` wrapped in the escape codes of `style` (nothing for a plain
    /// style).
    pub fn paint(style: Style, text: &str) -> String {
        text.style(style).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_adds_nothing_ansi_adds_escapes() {
        assert_eq!(Palette::paint(Palette::plain().error, "x"), "x");
        assert!(Palette::paint(Palette::ansi().error, "x").contains('\u{1b}'));
    }
}
