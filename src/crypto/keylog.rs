//! The NSS key log format (`SSLKEYLOGFILE`): reading the secrets that
//! let a capture be decrypted, and writing them so that Wireshark can.
//!
//! The format is NSS's "NSS Key Log Format" page, written up as
//! draft-ietf-tls-keylogfile (RFC 9850). One secret per line, three fields
//! separated by spaces:
//!
//! ```text
//! CLIENT_RANDOM <client random, 64 hex> <master secret, 96 hex>
//! RSA <first 8 bytes of the encrypted pre-master, 16 hex> <pre-master, 96 hex>
//! CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>   (TLS 1.3; also
//!   SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
//!   SERVER_TRAFFIC_SECRET_0, CLIENT_EARLY_TRAFFIC_SECRET,
//!   EARLY_EXPORTER_SECRET, EXPORTER_SECRET)
//! # a comment
//! ```
//!
//! Reading is forgiving: blank lines and comments are skipped, CRLF line
//! ends and runs of spaces or tabs are accepted, hex may be in either case,
//! and lines with labels sslwalk does not know (ECH_SECRET, later
//! additions) are counted and skipped. A malformed line is reported with
//! its line number and the rest of the file still loads. The last entry for
//! a key wins.
//!
//! What this module does not do: read files or watch them grow (the CLI
//! reads, a pcapng Decryption Secrets Block is just more text), or
//! decrypt anything.

use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;

use super::secret::{MasterSecret, PreMasterSecret, Secret, SecretBytes, MASTER_SECRET_LEN};

/// The label of a TLS 1.2-and-earlier master secret line.
pub const CLIENT_RANDOM_LABEL: &str = "CLIENT_RANDOM";
/// The label of an RSA pre-master secret line.
pub const RSA_LABEL: &str = "RSA";

/// The TLS 1.3 secrets of the key log (RFC 8446 §7.1 names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tls13Label {
    ClientEarlyTrafficSecret,
    ClientHandshakeTrafficSecret,
    ServerHandshakeTrafficSecret,
    ClientTrafficSecret0,
    ServerTrafficSecret0,
    EarlyExporterSecret,
    ExporterSecret,
}

impl Tls13Label {
    pub const ALL: [Self; 7] = [
        Self::ClientEarlyTrafficSecret,
        Self::ClientHandshakeTrafficSecret,
        Self::ServerHandshakeTrafficSecret,
        Self::ClientTrafficSecret0,
        Self::ServerTrafficSecret0,
        Self::EarlyExporterSecret,
        Self::ExporterSecret,
    ];

    /// The label as the file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientEarlyTrafficSecret => "CLIENT_EARLY_TRAFFIC_SECRET",
            Self::ClientHandshakeTrafficSecret => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Self::ServerHandshakeTrafficSecret => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Self::ClientTrafficSecret0 => "CLIENT_TRAFFIC_SECRET_0",
            Self::ServerTrafficSecret0 => "SERVER_TRAFFIC_SECRET_0",
            Self::EarlyExporterSecret => "EARLY_EXPORTER_SECRET",
            Self::ExporterSecret => "EXPORTER_SECRET",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|label| label.name() == name)
    }
}

/// One secret from a key log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyLogEntry {
    /// `CLIENT_RANDOM`: the master secret of the connection whose
    /// ClientHello carried `client_random`.
    ClientRandom {
        client_random: [u8; 32],
        master: MasterSecret,
    },
    /// `RSA`: the pre-master secret whose RSA encryption starts with
    /// `encrypted_prefix`.
    Rsa {
        encrypted_prefix: [u8; 8],
        pre_master: PreMasterSecret,
    },
    /// A TLS 1.3 secret of the connection with `client_random`.
    Tls13 {
        label: Tls13Label,
        client_random: [u8; 32],
        secret: SecretBytes,
    },
}

impl KeyLogEntry {
    /// The entry as one key log line, without the line end.
    pub fn to_line(&self) -> String {
        match self {
            Self::ClientRandom {
                client_random,
                master,
            } => format_client_random(client_random, master),
            Self::Rsa {
                encrypted_prefix,
                pre_master,
            } => format_rsa(encrypted_prefix, pre_master),
            Self::Tls13 {
                label,
                client_random,
                secret,
            } => format_tls13(*label, client_random, secret),
        }
    }
}

/// What is wrong with a key log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLogErrorKind {
    /// The line is not UTF-8 text.
    NotText,
    /// Fewer than three fields.
    MissingField,
    /// More than three fields.
    ExtraField,
    /// A field is not hexadecimal (or has an odd number of digits).
    BadHex { field: &'static str },
    /// A field decodes to the wrong number of bytes.
    BadLength {
        field: &'static str,
        expected: &'static str,
        got: usize,
    },
}

/// A malformed line: not fatal, the rest of the log still loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLogError {
    /// 1-based, in the text given to [`KeyLog::add_text`].
    pub line: usize,
    pub kind: KeyLogErrorKind,
}

impl fmt::Display for KeyLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key log line {}: ", self.line)?;
        match self.kind {
            KeyLogErrorKind::NotText => f.write_str("not text"),
            KeyLogErrorKind::MissingField => {
                f.write_str("expected LABEL, a hex value and a hex secret")
            }
            KeyLogErrorKind::ExtraField => f.write_str("more than three fields"),
            KeyLogErrorKind::BadHex { field } => write!(f, "the {field} is not hexadecimal"),
            KeyLogErrorKind::BadLength {
                field,
                expected,
                got,
            } => write!(f, "the {field} is {got} bytes, expected {expected}"),
        }
    }
}

impl std::error::Error for KeyLogError {}

/// Parses one line. `Ok(None)` for blank lines, comments and unknown
/// labels (see [`is_unknown_label_line`]).
pub fn parse_line(line: &str) -> Result<Option<KeyLogEntry>, KeyLogErrorKind> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut fields = line.split_ascii_whitespace();
    let label = fields.next().ok_or(KeyLogErrorKind::MissingField)?;
    let (Some(first), Some(second)) = (fields.next(), fields.next()) else {
        return Err(KeyLogErrorKind::MissingField);
    };
    if fields.next().is_some() {
        return Err(KeyLogErrorKind::ExtraField);
    }
    let entry = match label {
        CLIENT_RANDOM_LABEL => KeyLogEntry::ClientRandom {
            client_random: fixed(first, "client random", "32")?,
            master: Secret::new(fixed::<MASTER_SECRET_LEN>(second, "master secret", "48")?),
        },
        RSA_LABEL => KeyLogEntry::Rsa {
            encrypted_prefix: fixed(first, "encrypted pre-master prefix", "8")?,
            pre_master: Secret::new(fixed::<48>(second, "pre-master secret", "48")?.to_vec()),
        },
        other => match Tls13Label::from_name(other) {
            Some(label) => {
                let secret = Secret::new(decode_hex(second, "secret")?);
                if !matches!(secret.len(), 32 | 48) {
                    return Err(KeyLogErrorKind::BadLength {
                        field: "secret",
                        expected: "32 or 48",
                        got: secret.len(),
                    });
                }
                KeyLogEntry::Tls13 {
                    label,
                    client_random: fixed(first, "client random", "32")?,
                    secret,
                }
            }
            None => return Ok(None),
        },
    };
    Ok(Some(entry))
}

/// Whether `line` is a well-formed-looking line whose label sslwalk does
/// not know (counted by [`KeyLog::unknown_labels`]).
pub fn is_unknown_label_line(line: &str) -> bool {
    let line = line.trim();
    let Some(label) = line.split_ascii_whitespace().next() else {
        return false;
    };
    !line.starts_with('#')
        && label != CLIENT_RANDOM_LABEL
        && label != RSA_LABEL
        && Tls13Label::from_name(label).is_none()
}

fn fixed<const N: usize>(
    text: &str,
    field: &'static str,
    expected: &'static str,
) -> Result<[u8; N], KeyLogErrorKind> {
    let bytes = Secret::new(decode_hex(text, field)?);
    bytes
        .expose()
        .as_slice()
        .try_into()
        .map_err(|_| KeyLogErrorKind::BadLength {
            field,
            expected,
            got: bytes.len(),
        })
}

fn decode_hex(text: &str, field: &'static str) -> Result<Vec<u8>, KeyLogErrorKind> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(KeyLogErrorKind::BadHex { field });
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    digits
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or(KeyLogErrorKind::BadHex { field })
}

/// The secrets of one or more key logs, by the value that finds them.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    master_secrets: HashMap<[u8; 32], MasterSecret>,
    pre_masters: HashMap<[u8; 8], PreMasterSecret>,
    tls13: HashMap<(Tls13Label, [u8; 32]), SecretBytes>,
    unknown_labels: usize,
}

impl KeyLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// A key log from `text`, with the lines that could not be read.
    pub fn parse(text: &[u8]) -> (Self, Vec<KeyLogError>) {
        let mut log = Self::new();
        let errors = log.add_text(text);
        (log, errors)
    }

    /// Adds the entries of `text` (a file, or a pcapng Decryption Secrets
    /// Block); returns the malformed lines, numbered within `text`.
    pub fn add_text(&mut self, text: &[u8]) -> Vec<KeyLogError> {
        let mut errors = Vec::new();
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            let error = |kind| KeyLogError {
                line: index + 1,
                kind,
            };
            let Ok(line) = std::str::from_utf8(line) else {
                errors.push(error(KeyLogErrorKind::NotText));
                continue;
            };
            match parse_line(line) {
                Ok(Some(entry)) => self.insert(entry),
                Ok(None) if is_unknown_label_line(line) => self.unknown_labels += 1,
                Ok(None) => {}
                Err(kind) => errors.push(error(kind)),
            }
        }
        errors
    }

    /// Adds one entry, replacing any earlier one for the same key.
    pub fn insert(&mut self, entry: KeyLogEntry) {
        match entry {
            KeyLogEntry::ClientRandom {
                client_random,
                master,
            } => {
                self.master_secrets.insert(client_random, master);
            }
            KeyLogEntry::Rsa {
                encrypted_prefix,
                pre_master,
            } => {
                self.pre_masters.insert(encrypted_prefix, pre_master);
            }
            KeyLogEntry::Tls13 {
                label,
                client_random,
                secret,
            } => {
                self.tls13.insert((label, client_random), secret);
            }
        }
    }

    /// The master secret logged for the connection with this ClientHello
    /// random.
    pub fn master_secret_for(&self, client_random: &[u8; 32]) -> Option<&MasterSecret> {
        self.master_secrets.get(client_random)
    }

    /// The pre-master secret logged for this RSA-encrypted pre-master
    /// (the whole ciphertext; the log keys on its first 8 bytes).
    pub fn pre_master_for(&self, encrypted_pre_master: &[u8]) -> Option<&PreMasterSecret> {
        let prefix: [u8; 8] = encrypted_pre_master.get(..8)?.try_into().ok()?;
        self.pre_masters.get(&prefix)
    }

    /// A TLS 1.3 secret of the connection with this ClientHello random.
    pub fn tls13_secret(
        &self,
        label: Tls13Label,
        client_random: &[u8; 32],
    ) -> Option<&SecretBytes> {
        self.tls13.get(&(label, *client_random))
    }

    /// How many secrets the log holds.
    pub fn len(&self) -> usize {
        self.master_secrets.len() + self.pre_masters.len() + self.tls13.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines skipped because their label is not one sslwalk knows.
    pub fn unknown_labels(&self) -> usize {
        self.unknown_labels
    }
}

/// `CLIENT_RANDOM <client random> <master secret>`, lowercase hex, no
/// line end.
pub fn format_client_random(client_random: &[u8; 32], master: &MasterSecret) -> String {
    line(CLIENT_RANDOM_LABEL, client_random, master.expose())
}

/// `RSA <first 8 bytes of the encrypted pre-master> <pre-master>`. Takes
/// the whole ciphertext (at least 8 bytes, as any RSA ciphertext is).
pub fn format_rsa(encrypted_pre_master: &[u8], pre_master: &PreMasterSecret) -> String {
    let prefix = &encrypted_pre_master[..encrypted_pre_master.len().min(8)];
    line(RSA_LABEL, prefix, pre_master.expose())
}

/// `<LABEL> <client random> <secret>` for a TLS 1.3 secret.
pub fn format_tls13(label: Tls13Label, client_random: &[u8; 32], secret: &SecretBytes) -> String {
    line(label.name(), client_random, secret.expose())
}

fn line(label: &str, first: &[u8], secret: &[u8]) -> String {
    let mut out = String::with_capacity(label.len() + 2 + 2 * (first.len() + secret.len()));
    out.push_str(label);
    for field in [first, secret] {
        out.push(' ');
        for byte in field {
            let _ = write!(out, "{byte:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::prf::unhex;

    const CR: &str = "abd78c81566a5a589c1d206a9119b5eff93c06f17a20d7edb1e04e1f3d558c98";
    const MS: &str = "dcb547210f3b4e38b3ce0593e4d357411294a213c94ba4767254973ac36b8780af65a3561b80422ad632108b2f5a9cb0";

    fn cr() -> [u8; 32] {
        unhex(CR).try_into().unwrap()
    }

    #[test]
    fn reads_every_label_comments_and_crlf() {
        let text = format!(
            "# SSL/TLS secrets log file, generated by OpenSSL\r\n\
             RSA 035522c3e8c262f4 03038ef7d23904985c8475bbe3e97c58774c1b78f5052c683e0d6e9f3500280a2543cb22f9285956184c3d1170dff5f5\r\n\
             \r\n\
             CLIENT_RANDOM {CR} {MS}\r\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {}\n\
             EXPORTER_SECRET   {}\t{}\n\
             ECH_SECRET {CR} 00\n",
            "11".repeat(48),
            CR.to_uppercase(),
            "22".repeat(32),
        );
        let (log, errors) = KeyLog::parse(text.as_bytes());
        assert_eq!(errors, []);
        assert_eq!(log.len(), 4);
        assert_eq!(log.unknown_labels(), 1);
        assert_eq!(
            log.master_secret_for(&cr()).unwrap().expose()[..],
            unhex(MS)[..]
        );
        let mut ciphertext = unhex("035522c3e8c262f4");
        ciphertext.extend_from_slice(&[0xee; 248]);
        let pre_master = log.pre_master_for(&ciphertext).unwrap();
        assert_eq!(pre_master.expose()[..4], [0x03, 0x03, 0x8e, 0xf7]);
        assert_eq!(log.pre_master_for(&ciphertext[..7]), None);
        assert_eq!(
            log.tls13_secret(Tls13Label::ServerHandshakeTrafficSecret, &cr())
                .unwrap()
                .expose(),
            &vec![0x11; 48]
        );
        assert_eq!(
            log.tls13_secret(Tls13Label::ExporterSecret, &cr())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            log.tls13_secret(Tls13Label::ClientTrafficSecret0, &cr()),
            None
        );
        assert_eq!(log.master_secret_for(&[0; 32]), None);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = format!(
            "CLIENT_RANDOM {CR}\n\
             CLIENT_RANDOM {CR} {MS} extra\n\
             CLIENT_RANDOM {} {MS}\n\
             CLIENT_RANDOM {CR} {}\n\
             CLIENT_RANDOM zz{} {MS}\n\
             RSA 0011 {MS}\n\
             CLIENT_TRAFFIC_SECRET_0 {CR} {}\n\
             CLIENT_RANDOM {CR} {MS}\n\
             \t \n",
            &CR[..62],
            &MS[..94],
            &CR[2..],
            "ab".repeat(20),
        );
        let mut bytes = text.into_bytes();
        // Line 10: not UTF-8.
        bytes.extend_from_slice(b"CLIENT_RANDOM \xff\n");
        let (log, errors) = KeyLog::parse(&bytes);
        use KeyLogErrorKind as K;
        let kinds: Vec<(usize, KeyLogErrorKind)> =
            errors.iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (1, K::MissingField),
                (2, K::ExtraField),
                (
                    3,
                    K::BadLength {
                        field: "client random",
                        expected: "32",
                        got: 31
                    }
                ),
                (
                    4,
                    K::BadLength {
                        field: "master secret",
                        expected: "48",
                        got: 47
                    }
                ),
                (
                    5,
                    K::BadHex {
                        field: "client random"
                    }
                ),
                (
                    6,
                    K::BadLength {
                        field: "encrypted pre-master prefix",
                        expected: "8",
                        got: 2
                    }
                ),
                (
                    7,
                    K::BadLength {
                        field: "secret",
                        expected: "32 or 48",
                        got: 20
                    }
                ),
                (10, K::NotText),
            ]
        );
        // Line 8 loaded; line 9 is blank.
        assert!(log.master_secret_for(&cr()).is_some());
        assert_eq!((log.len(), log.unknown_labels()), (1, 0));
        assert_eq!(
            errors[0].to_string(),
            "key log line 1: expected LABEL, a hex value and a hex secret"
        );
    }

    #[test]
    fn written_lines_read_back() {
        let entries = [
            KeyLogEntry::ClientRandom {
                client_random: cr(),
                master: Secret::new(unhex(MS).try_into().unwrap()),
            },
            KeyLogEntry::Rsa {
                encrypted_prefix: [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3],
                pre_master: PreMasterSecret::new(vec![3; 48]),
            },
            KeyLogEntry::Tls13 {
                label: Tls13Label::ClientEarlyTrafficSecret,
                client_random: [0xa0; 32],
                secret: SecretBytes::new(vec![0x5a; 48]),
            },
        ];
        assert_eq!(entries[0].to_line(), format!("CLIENT_RANDOM {CR} {MS}"));
        assert_eq!(
            format_rsa(
                &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5],
                &PreMasterSecret::new(vec![3; 48])
            ),
            entries[1].to_line()
        );
        for entry in &entries {
            assert_eq!(parse_line(&entry.to_line()), Ok(Some(entry.clone())));
        }
        for label in Tls13Label::ALL {
            assert_eq!(Tls13Label::from_name(label.name()), Some(label));
        }
        // Secrets stay redacted in Debug.
        assert!(!format!("{:?}", entries[0]).contains("dcb5"));
    }

    #[test]
    fn fixture_key_logs_load_cleanly() {
        let dir = format!("{}/fixtures/peers", env!("CARGO_MANIFEST_DIR"));
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "keylog") {
                let (log, errors) = KeyLog::parse(&std::fs::read(&path).unwrap());
                assert_eq!(errors, [], "{}", path.display());
                assert!(!log.is_empty(), "{}", path.display());
                assert_eq!(log.unknown_labels(), 0, "{}", path.display());
                files += 1;
            }
        }
        assert!(files >= 20, "{files} key logs");
    }
}
