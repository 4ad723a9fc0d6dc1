//! Certificate chain verification: step 3 of the handshake (the client
//! authenticates the server) and step 6 (a server judges a client
//! certificate).
//!
//! A [`TrustStore`] holds the trusted roots, read from a PEM bundle (the
//! system's, or one the user names). [`ChainVerifier::verify`] takes the
//! certificates of a Certificate message (DER, leaf first, as sent) and
//! answers with the path it trusted or with the first reason it found not
//! to:
//!
//! - path building (RFC 5280 §6.1, simplified): from the leaf, follow issuer
//!   name → subject name (compared after RFC 5280 §7.1-style folding of case
//!   and spaces) and, when both are present, authorityKeyIdentifier →
//!   subjectKeyIdentifier, through the certificates the peer sent, in any
//!   order, extras ignored, until a certificate is issued by a trusted root
//!   or is itself trusted. The search backtracks over alternatives, never
//!   uses one certificate twice, and stops at a depth and a budget of
//!   signature checks;
//! - every signature is checked with the issuer's key (`ring`): RSA PKCS#1
//!   v1.5 with SHA-1, SHA-256, SHA-384 or SHA-512 (RFC 8017), RSASSA-PSS
//!   with SHA-256/384/512, MGF1 with the same hash and a salt as long as the
//!   hash (RFC 4055), ECDSA on P-256 or P-384 with SHA-256 or SHA-384
//!   (RFC 5758), and Ed25519 (RFC 8410);
//! - every certificate on the path, the root included, must be valid at the
//!   given time (RFC 5280 §4.1.2.5, both ends inclusive);
//! - every issuer taken from the peer must say CA:TRUE in basicConstraints
//!   and respect its pathLenConstraint; a trust anchor is refused only when
//!   it says CA:FALSE (so v1 roots work); any issuer with a keyUsage
//!   extension must have keyCertSign (RFC 5280 §4.2.1.3, §4.2.1.9);
//! - the host name (RFC 6125 §6.4, RFC 2818 §3.1): dNSName SANs, ASCII
//!   case-insensitive, a trailing dot ignored, `*` only as the whole
//!   leftmost label and then matching exactly one label, never over fewer
//!   than two labels (`*.com`); an IP address only against iPAddress SANs;
//!   the subject's commonName only when there is no dNSName SAN.
//!
//! Failures map to the TLS alert a verifier would send (RFC 5246 §7.2.2),
//! see [`VerifyError::alert`].
//!
//! What it does not do: revocation (CRL, OCSP, stapling), name constraints,
//! certificate policies, extendedKeyUsage, rejection of unknown critical
//! extensions, public-suffix checks on wildcards, IDNA mapping of host
//! names, DSA or MD5 signatures, and RSA keys over 8192 bits. It reads no
//! environment variable: a caller that honours `SSL_CERT_FILE` passes the
//! path to [`TrustStore::system`].

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ring::signature as ring_sig;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use crate::pki::{self, CertSummary};
use crate::wire::AlertDescription;

/// Where [`TrustStore::system`] looks, in order: Debian/Ubuntu, then
/// Fedora/RHEL, then the BSDs, macOS (Homebrew) and Alpine.
pub const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// How many certificates sent by the peer a path may hold, leaf included.
pub const DEFAULT_MAX_DEPTH: usize = 10;

/// How many signatures one verification may check while it searches.
pub const DEFAULT_MAX_SIGNATURE_CHECKS: usize = 100;

// -- Trust store --

/// A set of trusted root certificates (trust anchors).
#[derive(Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Anchor>,
    /// Folded subject name → indices into `anchors`.
    by_subject: HashMap<String, Vec<usize>>,
    skipped: usize,
    source: Option<PathBuf>,
}

#[derive(Clone)]
struct Anchor {
    der: Vec<u8>,
    /// RFC 4514 form, for messages.
    subject: String,
    /// The whole SubjectPublicKeyInfo, DER.
    spki: Vec<u8>,
    ski: Option<Vec<u8>>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("roots", &self.anchors.len())
            .field("skipped", &self.skipped)
            .field("source", &self.source)
            .finish()
    }
}

impl TrustStore {
    /// An empty store: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// The certificates of a PEM bundle. `CERTIFICATE` blocks and OpenSSL's
    /// `TRUSTED CERTIFICATE` blocks (whose trust settings are ignored) are
    /// read; other blocks and text between blocks are ignored. A block that
    /// does not decode or parse is skipped and counted in [`skipped`].
    ///
    /// [`skipped`]: TrustStore::skipped
    pub fn from_pem(pem: &[u8]) -> Self {
        let mut store = Self::new();
        // Every step of the iterator consumes at least one line; the bound
        // only guards against a reader that would not.
        let max_blocks = pem.len() / 2 + 1;
        for block in Pem::iter_from_buffer(pem).take(max_blocks) {
            let Ok(block) = block else {
                store.skipped += 1;
                continue;
            };
            let der = match block.label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => block.contents,
                // A certificate followed by OpenSSL's X509_CERT_AUX.
                "TRUSTED CERTIFICATE" => match first_der_element(&block.contents) {
                    Some(cert) => cert.to_vec(),
                    None => {
                        store.skipped += 1;
                        continue;
                    }
                },
                _ => continue,
            };
            if store.add_der(der).is_err() {
                store.skipped += 1;
            }
        }
        store
    }

    /// [`from_pem`](TrustStore::from_pem) on a file's content.
    pub fn from_pem_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))?;
        let mut store = Self::from_pem(&bytes);
        store.source = Some(path.to_path_buf());
        Ok(store)
    }

    /// DER certificates; those that do not parse are skipped and counted.
    pub fn from_der_certs(certs: Vec<Vec<u8>>) -> Self {
        let mut store = Self::new();
        for der in certs {
            if store.add_der(der).is_err() {
                store.skipped += 1;
            }
        }
        store
    }

    /// The operating system's bundle: `override_path` alone when given (the
    /// caller's `SSL_CERT_FILE`, say), else the first of [`SYSTEM_BUNDLES`]
    /// that exists.
    pub fn system(override_path: Option<PathBuf>) -> io::Result<Self> {
        if let Some(path) = override_path {
            return Self::from_pem_file(path);
        }
        for path in SYSTEM_BUNDLES {
            match Self::from_pem_file(path) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                other => return other,
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no system trust bundle found (looked for {})",
                SYSTEM_BUNDLES.join(", ")
            ),
        ))
    }

    /// Trusts one more DER certificate. The same DER twice is kept once.
    pub fn add_der(&mut self, der: Vec<u8>) -> Result<(), pki::PkiError> {
        let summary = pki::summarize(&der)?;
        let (key, spki, ski) = {
            let (_, cert) = X509Certificate::from_der(&der)
                .map_err(|err| pki::PkiError::Malformed(err.to_string()))?;
            (
                name_key(cert.subject()),
                cert.public_key().raw.to_vec(),
                subject_key_id(&cert),
            )
        };
        let slot = self.by_subject.entry(key).or_default();
        if slot.iter().any(|&i| self.anchors[i].der == der) {
            return Ok(());
        }
        slot.push(self.anchors.len());
        self.anchors.push(Anchor {
            der,
            subject: summary.subject,
            spki,
            ski,
        });
        Ok(())
    }

    /// How many roots the store holds.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many certificates or PEM blocks were skipped because they did not
    /// decode or parse.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The file the store was read from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The roots' subjects (RFC 4514), in load order.
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.anchors.iter().map(|a| a.subject.as_str())
    }

    fn named(&self, key: &str) -> &[usize] {
        self.by_subject.get(key).map_or(&[], Vec::as_slice)
    }
}

/// The first DER element of `bytes` (tag, length, content), if whole.
fn first_der_element(bytes: &[u8]) -> Option<&[u8]> {
    let first = *bytes.get(1)?;
    let (header, len) = match first {
        0x00..=0x7f => (2, usize::from(first)),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let len = bytes
                .get(2..2 + count)?
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (2 + count, len)
        }
        _ => return None,
    };
    bytes.get(..header.checked_add(len)?)
}

// -- Results and errors --

/// A chain that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The subjects (RFC 4514) of the path, leaf first, trusted root last.
    pub path: Vec<String>,
    /// The subject of the trusted root the path ends at.
    pub root_subject: String,
    /// Which of the certificates sent make up the path, leaf (0) first; a
    /// root that the peer sent too is not listed, the store's copy is used.
    pub chain_indices: Vec<usize>,
}

/// Why no trusted issuer was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnknownIssuerReason {
    /// The issuer is neither in the trust store nor among the certificates
    /// sent.
    NotFound,
    /// The chain ends at a self-signed certificate that is not trusted.
    SelfSigned,
    /// The search hit its depth or signature-check limit.
    SearchLimit,
}

/// Why a chain was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The peer sent no certificate.
    Empty,
    /// A certificate does not parse, or an extension the check needs is
    /// malformed; the text says which.
    Malformed(String),
    /// A certificate on the path expired; `not_after` in Unix seconds.
    Expired { subject: String, not_after: i64 },
    /// A certificate on the path is not valid yet; Unix seconds.
    NotYetValid { subject: String, not_before: i64 },
    /// No path to a trusted root from `subject`, whose issuer is `issuer`.
    UnknownIssuer {
        subject: String,
        issuer: String,
        reason: UnknownIssuerReason,
    },
    /// The signature on `subject` does not verify with `issuer`'s key.
    BadSignature { subject: String, issuer: String },
    /// `subject` is signed with an algorithm this module cannot check.
    UnsupportedAlgorithm { subject: String, algorithm: String },
    /// `subject` issued a certificate on the path but may not.
    NotACa { subject: String, reason: String },
    /// The leaf is not valid for `expected`; `names` are the names it does
    /// carry (SANs, or its commonName when it has no DNS SAN).
    NameMismatch {
        expected: String,
        names: Vec<String>,
    },
}

impl VerifyError {
    /// The alert a TLS peer sends for this failure. RFC 5246 §7.2.2:
    /// certificate_expired covers "expired or not currently valid";
    /// unknown_ca a chain whose CA "could not be located or couldn't be
    /// matched with a known, trusted CA"; unsupported_certificate a
    /// certificate of a type the peer does not support; bad_certificate a
    /// corrupt certificate, one whose signatures do not verify, and the
    /// rest here (a wrong name, an issuer that is no CA, no certificate).
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::Expired { .. } | Self::NotYetValid { .. } => AlertDescription::CertificateExpired,
            Self::UnknownIssuer { .. } => AlertDescription::UnknownCa,
            Self::UnsupportedAlgorithm { .. } => AlertDescription::UnsupportedCertificate,
            Self::BadSignature { .. }
            | Self::NameMismatch { .. }
            | Self::NotACa { .. }
            | Self::Malformed(_)
            | Self::Empty => AlertDescription::BadCertificate,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the peer sent no certificate"),
            Self::Malformed(what) => write!(f, "the certificate chain is malformed: {what}"),
            Self::Expired { subject, not_after } => write!(
                f,
                "the certificate \"{subject}\" expired on {}",
                pki::format_utc(*not_after)
            ),
            Self::NotYetValid {
                subject,
                not_before,
            } => write!(
                f,
                "the certificate \"{subject}\" is not valid before {}",
                pki::format_utc(*not_before)
            ),
            Self::UnknownIssuer {
                subject,
                issuer,
                reason,
            } => match reason {
                UnknownIssuerReason::NotFound => write!(
                    f,
                    "the issuer \"{issuer}\" of \"{subject}\" is neither trusted nor among the \
                     certificates sent"
                ),
                UnknownIssuerReason::SelfSigned => write!(
                    f,
                    "the certificate \"{subject}\" is self-signed and not in the trust store"
                ),
                UnknownIssuerReason::SearchLimit => write!(
                    f,
                    "no path from \"{subject}\" to a trusted root was found within the search \
                     limits (issuer \"{issuer}\")"
                ),
            },
            Self::BadSignature { subject, issuer } => write!(
                f,
                "the signature on \"{subject}\" does not verify with the key of its issuer \
                 \"{issuer}\""
            ),
            Self::UnsupportedAlgorithm { subject, algorithm } => write!(
                f,
                "the certificate \"{subject}\" is signed with {algorithm}, which this verifier \
                 does not support"
            ),
            Self::NotACa { subject, reason } => write!(
                f,
                "\"{subject}\" issued a certificate but may not act as a CA: {reason}"
            ),
            Self::NameMismatch { expected, names } if names.is_empty() => write!(
                f,
                "the certificate is not valid for \"{expected}\": it names no host"
            ),
            Self::NameMismatch { expected, names } => write!(
                f,
                "the certificate is not valid for \"{expected}\": it names {}",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

// -- The verifier --

/// Verifies certificate chains against a trust store.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    pub roots: TrustStore,
    /// Most certificates from the peer on one path, leaf included.
    pub max_depth: usize,
    /// Most signature checks one verification may spend searching.
    pub max_signature_checks: usize,
}

/// One certificate of the chain, parsed once.
struct Node<'a> {
    cert: X509Certificate<'a>,
    summary: CertSummary,
    subject_key: String,
    issuer_key: String,
    aki: Option<Vec<u8>>,
}

/// How a successful path ends.
enum End {
    /// The last certificate of the path is issued by this anchor.
    IssuedBy(usize),
    /// The last certificate of the path is itself this anchor.
    Is(usize),
}

impl ChainVerifier {
    pub fn new(roots: TrustStore) -> Self {
        Self {
            roots,
            max_depth: DEFAULT_MAX_DEPTH,
            max_signature_checks: DEFAULT_MAX_SIGNATURE_CHECKS,
        }
    }

    /// Verifies `chain` (DER, leaf first, then whatever the peer sent, in
    /// any order) at `now_unix` (Unix seconds). `server_name` is the name
    /// the client connected to (a DNS name or an IP address); `None` skips
    /// the name check, as a server judging a client certificate does.
    pub fn verify(
        &self,
        chain: &[Vec<u8>],
        server_name: Option<&str>,
        now_unix: i64,
    ) -> Result<Verified, VerifyError> {
        if chain.is_empty() {
            return Err(VerifyError::Empty);
        }
        let nodes = chain
            .iter()
            .enumerate()
            .map(|(i, der)| parse_node(der, i, chain.len()))
            .collect::<Result<Vec<_>, _>>()?;

        let mut search = Search {
            verifier: self,
            nodes: &nodes,
            now: now_unix,
            checks_left: self.max_signature_checks,
            best: None,
        };
        let mut path = vec![0];
        let Some(end) = search.extend(&mut path) else {
            return Err(search.best.map(|(_, err)| err).unwrap_or_else(|| {
                VerifyError::UnknownIssuer {
                    subject: nodes[0].summary.subject.clone(),
                    issuer: nodes[0].summary.issuer.clone(),
                    reason: UnknownIssuerReason::NotFound,
                }
            }));
        };

        if let Some(name) = server_name {
            check_name(&nodes[0], name)?;
        }

        let mut subjects: Vec<String> = path
            .iter()
            .map(|&i| nodes[i].summary.subject.clone())
            .collect();
        let root_subject = match end {
            End::IssuedBy(a) => {
                let subject = self.roots.anchors[a].subject.clone();
                subjects.push(subject.clone());
                subject
            }
            End::Is(a) => self.roots.anchors[a].subject.clone(),
        };
        Ok(Verified {
            path: subjects,
            root_subject,
            chain_indices: path,
        })
    }
}

fn parse_node(der: &[u8], index: usize, count: usize) -> Result<Node<'_>, VerifyError> {
    let which = || {
        if index == 0 {
            format!("certificate 1 of {count} (the leaf)")
        } else {
            format!("certificate {} of {count}", index + 1)
        }
    };
    let summary =
        pki::summarize(der).map_err(|err| VerifyError::Malformed(format!("{}: {err}", which())))?;
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|err| VerifyError::Malformed(format!("{}: {err}", which())))?;
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(VerifyError::Malformed(format!(
            "{}: its two signature algorithm fields differ",
            which()
        )));
    }
    Ok(Node {
        subject_key: name_key(cert.subject()),
        issuer_key: name_key(cert.issuer()),
        aki: authority_key_id(&cert),
        cert,
        summary,
    })
}

/// The depth-first path search with backtracking. Failures are kept with a
/// score that grows with how far along the path they happened; the deepest
/// (first among equals) is reported when no path is found.
struct Search<'v, 'a> {
    verifier: &'v ChainVerifier,
    nodes: &'v [Node<'a>],
    now: i64,
    checks_left: usize,
    best: Option<(usize, VerifyError)>,
}

impl Search<'_, '_> {
    fn note(&mut self, score: usize, err: VerifyError) {
        if self.best.as_ref().is_none_or(|(best, _)| score > *best) {
            self.best = Some((score, err));
        }
    }

    fn spend_check(&mut self) -> bool {
        if self.checks_left == 0 {
            return false;
        }
        self.checks_left -= 1;
        true
    }

    /// Tries to finish `path` (indices into the nodes, leaf first) at a
    /// trust anchor, extending it with certificates from the chain.
    fn extend(&mut self, path: &mut Vec<usize>) -> Option<End> {
        let nodes = self.nodes;
        let roots = &self.verifier.roots;
        let depth = path.len() - 1;
        let node = &nodes[path[depth]];
        let own = 2 * depth;
        let issuer_side = own + 1;

        if let Err(err) = check_validity(&node.cert, &node.summary.subject, self.now) {
            self.note(own, err);
            return None;
        }
        let spki = node.cert.public_key().raw;
        if let Some(&a) = roots
            .named(&node.subject_key)
            .iter()
            .find(|&&a| roots.anchors[a].spki == spki)
        {
            return Some(End::Is(a));
        }

        let self_issued = node.subject_key == node.issuer_key;
        let search_limit = |node: &Node| VerifyError::UnknownIssuer {
            subject: node.summary.subject.clone(),
            issuer: node.summary.issuer.clone(),
            reason: UnknownIssuerReason::SearchLimit,
        };
        let mut candidates = 0usize;

        for &a in roots.named(&node.issuer_key) {
            let anchor = &roots.anchors[a];
            if !key_ids_compatible(node.aki.as_deref(), anchor.ski.as_deref()) {
                continue;
            }
            let Ok((_, issuer)) = X509Certificate::from_der(&anchor.der) else {
                continue;
            };
            if !self.spend_check() {
                self.note(issuer_side, search_limit(node));
                return None;
            }
            match check_signature(node, &issuer, &anchor.subject) {
                // Another self-signed certificate that happens to share the
                // name: not this one's issuer.
                Err(VerifyError::BadSignature { .. }) if self_issued => continue,
                Err(err) => {
                    candidates += 1;
                    self.note(issuer_side, err);
                    continue;
                }
                Ok(()) => candidates += 1,
            }
            let checked = check_validity(&issuer, &anchor.subject, self.now)
                .and_then(|()| check_issuer(&issuer, &anchor.subject, depth, true));
            match checked {
                Ok(()) => return Some(End::IssuedBy(a)),
                Err(err) => self.note(issuer_side, err),
            }
        }

        if path.len() >= self.verifier.max_depth {
            self.note(own, search_limit(node));
            return None;
        }

        for (i, candidate) in nodes.iter().enumerate() {
            if path.contains(&i)
                || candidate.subject_key != node.issuer_key
                || !key_ids_compatible(
                    node.aki.as_deref(),
                    subject_key_id(&candidate.cert).as_deref(),
                )
            {
                continue;
            }
            if !self.spend_check() {
                self.note(issuer_side, search_limit(node));
                return None;
            }
            let issuer_subject = &candidate.summary.subject;
            match check_signature(node, &candidate.cert, issuer_subject) {
                Err(VerifyError::BadSignature { .. }) if self_issued => continue,
                Err(err) => {
                    candidates += 1;
                    self.note(issuer_side, err);
                    continue;
                }
                Ok(()) => candidates += 1,
            }
            if let Err(err) = check_issuer(&candidate.cert, issuer_subject, depth, false) {
                self.note(issuer_side, err);
                continue;
            }
            path.push(i);
            if let Some(end) = self.extend(path) {
                return Some(end);
            }
            path.pop();
        }

        if candidates == 0 {
            self.note(
                own,
                VerifyError::UnknownIssuer {
                    subject: node.summary.subject.clone(),
                    issuer: node.summary.issuer.clone(),
                    reason: if self_issued {
                        UnknownIssuerReason::SelfSigned
                    } else {
                        UnknownIssuerReason::NotFound
                    },
                },
            );
        }
        None
    }
}

// -- Checks --

fn check_validity(cert: &X509Certificate, subject: &str, now: i64) -> Result<(), VerifyError> {
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    if now < not_before {
        Err(VerifyError::NotYetValid {
            subject: subject.to_owned(),
            not_before,
        })
    } else if now > not_after {
        Err(VerifyError::Expired {
            subject: subject.to_owned(),
            not_after,
        })
    } else {
        Ok(())
    }
}

/// May `cert` issue a certificate that has `below` intermediate CA
/// certificates under it on the path (leaf not counted)?
fn check_issuer(
    cert: &X509Certificate,
    subject: &str,
    below: usize,
    anchor: bool,
) -> Result<(), VerifyError> {
    let refuse = |reason: String| VerifyError::NotACa {
        subject: subject.to_owned(),
        reason,
    };
    match cert.basic_constraints() {
        Err(_) => {
            return Err(refuse(
                "its basicConstraints extension is malformed or repeated".into(),
            ))
        }
        // A trust anchor without basicConstraints (a v1 root) is trusted
        // for what it is.
        Ok(None) if anchor => {}
        Ok(None) => return Err(refuse("it has no basicConstraints extension".into())),
        Ok(Some(bc)) if !bc.value.ca => {
            return Err(refuse("its basicConstraints say CA:FALSE".into()))
        }
        Ok(Some(bc)) => {
            if let Some(limit) = bc.value.path_len_constraint {
                if u64::try_from(below).unwrap_or(u64::MAX) > u64::from(limit) {
                    return Err(refuse(format!(
                        "its pathLenConstraint is {limit} but {below} CA certificate(s) follow \
                         it on the path"
                    )));
                }
            }
        }
    }
    match cert.key_usage() {
        Err(_) => Err(refuse(
            "its keyUsage extension is malformed or repeated".into(),
        )),
        Ok(Some(ku)) if !ku.value.key_cert_sign() => {
            Err(refuse("its keyUsage lacks keyCertSign".into()))
        }
        Ok(_) => Ok(()),
    }
}

/// Checks the signature on `child` with `issuer`'s public key.
fn check_signature(
    child: &Node,
    issuer: &X509Certificate,
    issuer_subject: &str,
) -> Result<(), VerifyError> {
    let bad = || VerifyError::BadSignature {
        subject: child.summary.subject.clone(),
        issuer: issuer_subject.to_owned(),
    };
    let algorithm =
        match verification_algorithm(&child.cert.signature_algorithm, issuer.public_key()) {
            Ok(algorithm) => algorithm,
            Err(AlgorithmProblem::KeyMismatch) => return Err(bad()),
            Err(AlgorithmProblem::Unsupported(detail)) => {
                return Err(VerifyError::UnsupportedAlgorithm {
                    subject: child.summary.subject.clone(),
                    algorithm: match detail {
                        Some(detail) => format!("{} ({detail})", child.summary.signature_algorithm),
                        None => child.summary.signature_algorithm.clone(),
                    },
                })
            }
        };
    let key = ring_sig::UnparsedPublicKey::new(
        algorithm,
        issuer.public_key().subject_public_key.data.as_ref(),
    );
    key.verify(
        child.cert.tbs_certificate.as_ref(),
        child.cert.signature_value.data.as_ref(),
    )
    .map_err(|_| bad())
}

enum AlgorithmProblem {
    /// The issuer's key cannot have made this kind of signature.
    KeyMismatch,
    /// Not supported here, with what is unsupported when it is a detail.
    Unsupported(Option<String>),
}

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// The ring algorithm for a certificate's signature algorithm and its
/// issuer's key. RSA PKCS#1 accepts moduli from 1024 bits (ring has no
/// 1024-bit variant for SHA-384, so that one needs 2048), PSS from 2048.
fn verification_algorithm(
    signature: &AlgorithmIdentifier,
    key: &SubjectPublicKeyInfo,
) -> Result<&'static dyn ring_sig::VerificationAlgorithm, AlgorithmProblem> {
    let key_oid = key.algorithm.algorithm.to_id_string();
    let rsa_key = key_oid == OID_RSA_ENCRYPTION || key_oid == OID_RSASSA_PSS;
    let pkcs1 = |alg: &'static dyn ring_sig::VerificationAlgorithm| {
        // An RSASSA-PSS key may only make PSS signatures (RFC 4055 §1.2).
        if key_oid == OID_RSA_ENCRYPTION {
            Ok(alg)
        } else {
            Err(AlgorithmProblem::KeyMismatch)
        }
    };
    match signature.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => {
            pkcs1(&ring_sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
        }
        "1.2.840.113549.1.1.11" => pkcs1(&ring_sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY),
        "1.2.840.113549.1.1.12" => pkcs1(&ring_sig::RSA_PKCS1_2048_8192_SHA384),
        "1.2.840.113549.1.1.13" => pkcs1(&ring_sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY),
        OID_RSASSA_PSS => {
            if !rsa_key {
                return Err(AlgorithmProblem::KeyMismatch);
            }
            pss_algorithm(signature)
        }
        sig_oid @ ("1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3") => {
            if key_oid != OID_EC_PUBLIC_KEY {
                return Err(AlgorithmProblem::KeyMismatch);
            }
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|params| params.as_oid().ok())
                .map(|oid| oid.to_id_string());
            let sha256 = sig_oid.ends_with(".2");
            match (curve.as_deref(), sha256) {
                (Some(OID_P256), true) => Ok(&ring_sig::ECDSA_P256_SHA256_ASN1),
                (Some(OID_P256), false) => Ok(&ring_sig::ECDSA_P256_SHA384_ASN1),
                (Some(OID_P384), true) => Ok(&ring_sig::ECDSA_P384_SHA256_ASN1),
                (Some(OID_P384), false) => Ok(&ring_sig::ECDSA_P384_SHA384_ASN1),
                (other, _) => Err(AlgorithmProblem::Unsupported(Some(format!(
                    "issuer key on curve {}",
                    other.unwrap_or("(unnamed)")
                )))),
            }
        }
        OID_ED25519 if key_oid == OID_ED25519 => Ok(&ring_sig::ED25519),
        OID_ED25519 => Err(AlgorithmProblem::KeyMismatch),
        _ => Err(AlgorithmProblem::Unsupported(None)),
    }
}

/// RSASSA-PSS as ring verifies it: SHA-256/384/512, MGF1 with the same
/// hash, a salt as long as the hash, trailer field 1.
fn pss_algorithm(
    signature: &AlgorithmIdentifier,
) -> Result<&'static dyn ring_sig::VerificationAlgorithm, AlgorithmProblem> {
    let unsupported = |what: &str| Err(AlgorithmProblem::Unsupported(Some(what.to_owned())));
    let Some(params) = signature.parameters.as_ref() else {
        return unsupported("no parameters");
    };
    let Ok(params) = RsaSsaPssParams::try_from(params) else {
        return unsupported("parameters do not parse");
    };
    let hash = params.hash_algorithm_oid().to_id_string();
    let (algorithm, hash_len): (&'static dyn ring_sig::VerificationAlgorithm, u32) =
        match hash.as_str() {
            OID_SHA256 => (&ring_sig::RSA_PSS_2048_8192_SHA256, 32),
            OID_SHA384 => (&ring_sig::RSA_PSS_2048_8192_SHA384, 48),
            OID_SHA512 => (&ring_sig::RSA_PSS_2048_8192_SHA512, 64),
            _ => return unsupported(&format!("hash {hash}")),
        };
    match params.mask_gen_algorithm() {
        Ok(mgf) if mgf.mgf.to_id_string() == OID_MGF1 && mgf.hash.to_id_string() == hash => {}
        _ => return unsupported("a mask generation function other than MGF1 with the same hash"),
    }
    if params.salt_length() != hash_len {
        return unsupported(&format!("salt length {}", params.salt_length()));
    }
    if params.trailer_field() != 1 {
        return unsupported("trailer field other than 1");
    }
    Ok(algorithm)
}

// -- Names and key identifiers --

/// A distinguished name folded for comparison (after RFC 5280 §7.1):
/// attribute values that are strings compare with ASCII case folded and
/// runs of spaces collapsed, whatever their string type; other values by
/// their bytes.
fn name_key(name: &X509Name) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            let mut attrs: Vec<String> = rdn
                .iter()
                .map(|attr| {
                    let value = match attr.as_str() {
                        Ok(text) => text
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                            .to_ascii_lowercase(),
                        Err(_) => format!("#{}", hex(attr.attr_value().data)),
                    };
                    format!("{}={value}", attr.attr_type().to_id_string())
                })
                .collect();
            // A multi-valued RDN is a set: its order does not matter.
            attrs.sort();
            attrs.join("+")
        })
        .collect();
    // `,` and `+` in values cannot fake a boundary: every part is framed by
    // its length.
    rdns.iter()
        .map(|rdn| format!("{}:{rdn}", rdn.len()))
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn subject_key_id(cert: &X509Certificate) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

fn authority_key_id(cert: &X509Certificate) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0.to_vec())
            }
            _ => None,
        })
}

/// A certificate's authorityKeyIdentifier and a candidate issuer's
/// subjectKeyIdentifier rule the candidate out only when both are present
/// and differ.
fn key_ids_compatible(aki: Option<&[u8]>, ski: Option<&[u8]>) -> bool {
    match (aki, ski) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

// -- Host names --

/// Checks that the leaf is valid for `expected` (RFC 6125 §6.4).
fn check_name(leaf: &Node, expected: &str) -> Result<(), VerifyError> {
    let sans = match leaf.cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.clone(),
        Ok(None) => Vec::new(),
        Err(_) => {
            return Err(VerifyError::Malformed(
                "the leaf's subjectAltName extension is malformed or repeated".into(),
            ))
        }
    };
    let dns: Vec<&str> = sans
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(*dns),
            _ => None,
        })
        .collect();
    let ips: Vec<IpAddr> = sans
        .iter()
        .filter_map(|name| match name {
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes),
            _ => None,
        })
        .collect();
    // The commonName stands in only when there is no DNS SAN.
    let common_names: Vec<String> = if dns.is_empty() {
        leaf.cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
            .collect()
    } else {
        Vec::new()
    };

    let matched = match reference_ip(expected) {
        Some(ip) => ips.contains(&ip),
        None => {
            let reference = expected.strip_suffix('.').unwrap_or(expected);
            let reference = reference.to_ascii_lowercase();
            dns.iter()
                .copied()
                .chain(common_names.iter().map(String::as_str))
                .any(|presented| dns_name_matches(presented, &reference))
        }
    };
    if matched {
        return Ok(());
    }
    let mut names: Vec<String> = dns.iter().map(|dns| (*dns).to_owned()).collect();
    names.extend(common_names);
    names.extend(ips.iter().map(IpAddr::to_string));
    Err(VerifyError::NameMismatch {
        expected: expected.to_owned(),
        names,
    })
}

/// `expected` as an IP address, bracketed IPv6 (`[::1]`) included.
fn reference_ip(expected: &str) -> Option<IpAddr> {
    let bare = expected
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(expected);
    bare.parse().ok()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

/// Does a presented DNS name (from a SAN or the CN) match `reference`,
/// which is lowercase and has no trailing dot? A wildcard is `*` as the
/// whole leftmost label over at least two more labels, and stands for
/// exactly one non-empty label; a `*` anywhere else matches nothing.
fn dns_name_matches(presented: &str, reference: &str) -> bool {
    let labels_ok = |name: &str| !name.is_empty() && name.split('.').all(|l| !l.is_empty());
    if !labels_ok(reference) || reference.contains('*') {
        return false;
    }
    let presented = presented.strip_suffix('.').unwrap_or(presented);
    let presented = presented.to_ascii_lowercase();
    match presented.strip_prefix("*.") {
        Some(base) => {
            labels_ok(base)
                && !base.contains('*')
                && base.contains('.')
                && reference
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == base)
        }
        None => !presented.contains('*') && presented == reference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-12-28: inside the fixtures' 100-year validity.
    const NOW: i64 = 1_830_000_000;

    fn fixture_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/pki")
            .join(name)
    }

    fn der(name: &str) -> Vec<u8> {
        let path = fixture_path(&format!("{name}.der"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    fn chain(names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|name| der(name)).collect()
    }

    fn verifier() -> ChainVerifier {
        let roots = TrustStore::from_pem_file(fixture_path("roots.pem")).expect("roots.pem");
        assert_eq!(roots.len(), 1);
        ChainVerifier::new(roots)
    }

    fn verify(names: &[&str], host: Option<&str>) -> Result<Verified, VerifyError> {
        verifier().verify(&chain(names), host, NOW)
    }

    #[test]
    fn good_chain_leaf_and_intermediate() {
        let ok = verify(&["leaf", "inter-ca"], Some("localhost")).expect("verifies");
        assert_eq!(ok.chain_indices, vec![0, 1]);
        assert_eq!(ok.path.len(), 3);
        assert!(ok.path[0].contains("CN=localhost"), "{:?}", ok.path);
        assert!(ok.path[1].contains("Intermediate CA"), "{:?}", ok.path);
        assert!(ok.root_subject.contains("Test Root CA"));
        assert_eq!(ok.path[2], ok.root_subject);
    }

    #[test]
    fn good_chain_at_the_real_time() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let now = i64::try_from(now).expect("fits");
        verifier()
            .verify(&chain(&["leaf", "inter-ca"]), Some("localhost"), now)
            .expect("verifies now");
    }

    #[test]
    fn good_chain_out_of_order_with_extras_and_root() {
        let ok = verify(
            &["leaf", "untrusted-ca", "self-signed", "root-ca", "inter-ca"],
            Some("localhost"),
        )
        .expect("verifies");
        // The store's root ends the path; the root that was sent is unused.
        assert_eq!(ok.chain_indices, vec![0, 4]);
        assert_eq!(ok.path.len(), 3);
    }

    #[test]
    fn rsa_pss_signature_by_the_root() {
        let ok = verify(&["leaf-pss"], Some("pss.example.test")).expect("verifies");
        assert_eq!(ok.path.len(), 2);
    }

    #[test]
    fn missing_intermediate_is_unknown_issuer() {
        let err = verify(&["leaf"], Some("localhost")).unwrap_err();
        match &err {
            VerifyError::UnknownIssuer {
                subject,
                issuer,
                reason,
            } => {
                assert!(subject.contains("CN=localhost"));
                assert!(issuer.contains("Intermediate CA"));
                assert_eq!(*reason, UnknownIssuerReason::NotFound);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.alert(), AlertDescription::UnknownCa);
    }

    #[test]
    fn expired_leaf() {
        let err = verify(&["leaf-expired", "inter-ca"], Some("localhost")).unwrap_err();
        assert_eq!(
            err,
            VerifyError::Expired {
                subject: "CN=expired.example.test,O=sslwalk test PKI".into(),
                not_after: 978_307_200,
            }
        );
        assert_eq!(err.alert(), AlertDescription::CertificateExpired);
        assert!(err.to_string().contains("2001-01-01 00:00:00 UTC"), "{err}");
    }

    #[test]
    fn not_yet_valid_leaf() {
        let err = verify(&["leaf-not-yet-valid", "inter-ca"], Some("localhost")).unwrap_err();
        assert!(
            matches!(&err, VerifyError::NotYetValid { subject, not_before: 4_102_444_800 }
                if subject.contains("future.example.test")),
            "{err:?}"
        );
        assert_eq!(err.alert(), AlertDescription::CertificateExpired);
    }

    #[test]
    fn self_signed_leaf_is_unknown_issuer() {
        let err = verify(&["self-signed"], Some("localhost")).unwrap_err();
        assert!(
            matches!(&err, VerifyError::UnknownIssuer { reason: UnknownIssuerReason::SelfSigned, subject, .. }
                if subject.contains("self-signed")),
            "{err:?}"
        );
        assert_eq!(err.alert(), AlertDescription::UnknownCa);
        assert!(err.to_string().contains("self-signed"), "{err}");
    }

    #[test]
    fn self_signed_leaf_in_the_store_is_trusted() {
        let roots = TrustStore::from_der_certs(vec![der("self-signed")]);
        let ok = ChainVerifier::new(roots)
            .verify(&chain(&["self-signed"]), Some("localhost"), NOW)
            .expect("pinned");
        assert_eq!(ok.path.len(), 1);
        assert_eq!(ok.chain_indices, vec![0]);
        assert_eq!(ok.root_subject, ok.path[0]);
    }

    #[test]
    fn leaf_from_an_untrusted_ca() {
        let err = verify(&["leaf-untrusted", "untrusted-ca"], Some("localhost")).unwrap_err();
        assert!(
            matches!(&err, VerifyError::UnknownIssuer { reason: UnknownIssuerReason::SelfSigned, subject, .. }
                if subject.contains("Untrusted CA")),
            "{err:?}"
        );
        let err = verify(&["leaf-untrusted"], Some("localhost")).unwrap_err();
        assert!(
            matches!(&err, VerifyError::UnknownIssuer { reason: UnknownIssuerReason::NotFound, issuer, .. }
                if issuer.contains("Untrusted CA")),
            "{err:?}"
        );
        assert_eq!(err.alert(), AlertDescription::UnknownCa);
    }

    #[test]
    fn intermediate_that_is_not_a_ca() {
        let err = verify(&["leaf-under-not-a-ca", "not-a-ca"], Some("localhost")).unwrap_err();
        assert!(
            matches!(&err, VerifyError::NotACa { subject, reason }
                if subject.contains("Not A CA") && reason.contains("CA:FALSE")),
            "{err:?}"
        );
        assert_eq!(err.alert(), AlertDescription::BadCertificate);
    }

    #[test]
    fn intermediate_without_key_cert_sign() {
        let err = verify(
            &["leaf-under-no-cert-sign", "no-cert-sign-ca"],
            Some("localhost"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, VerifyError::NotACa { reason, .. } if reason.contains("keyCertSign")),
            "{err:?}"
        );
    }

    #[test]
    fn path_length_constraint() {
        let err = verify(
            &["leaf-under-sub-ca", "sub-ca", "inter-ca"],
            Some("localhost"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, VerifyError::NotACa { subject, reason }
                if subject.contains("Intermediate CA") && reason.contains("pathLenConstraint")),
            "{err:?}"
        );
    }

    #[test]
    fn bad_signatures() {
        // The last byte of the DER is inside the signature value.
        for (leaf, issuer) in [("leaf", "inter-ca"), ("leaf-pss", "root-ca")] {
            let mut sent = chain(&[leaf, issuer]);
            *sent[0].last_mut().expect("not empty") ^= 0x01;
            let err = verifier().verify(&sent, None, NOW).unwrap_err();
            assert!(
                matches!(&err, VerifyError::BadSignature { .. }),
                "{leaf}: {err:?}"
            );
            assert_eq!(err.alert(), AlertDescription::BadCertificate);
        }
        // A flipped bit in the signed part (the serial) fails the same way.
        let mut sent = chain(&["leaf", "inter-ca"]);
        let serial_at = 15; // SEQ hdr 4, SEQ hdr 4, [0] 5, INTEGER hdr 2
        sent[0][serial_at] ^= 0x01;
        let err = verifier().verify(&sent, None, NOW).unwrap_err();
        assert!(matches!(err, VerifyError::BadSignature { .. }), "{err:?}");
    }

    #[test]
    fn search_limits() {
        let mut short = verifier();
        short.max_depth = 1;
        let err = short
            .verify(&chain(&["leaf", "inter-ca"]), None, NOW)
            .unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::UnknownIssuer {
                    reason: UnknownIssuerReason::SearchLimit,
                    ..
                }
            ),
            "{err:?}"
        );
        let mut poor = verifier();
        poor.max_signature_checks = 1;
        let err = poor
            .verify(&chain(&["leaf", "inter-ca"]), None, NOW)
            .unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::UnknownIssuer {
                    reason: UnknownIssuerReason::SearchLimit,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn empty_and_malformed_chains() {
        let err = verifier().verify(&[], Some("localhost"), NOW).unwrap_err();
        assert_eq!(err, VerifyError::Empty);
        assert_eq!(err.alert(), AlertDescription::BadCertificate);

        let mut cut = der("inter-ca");
        cut.truncate(cut.len() / 2);
        let err = verifier()
            .verify(&[der("leaf"), cut], Some("localhost"), NOW)
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Malformed(what) if what.starts_with("certificate 2 of 2")),
            "{err:?}"
        );
        assert_eq!(err.alert(), AlertDescription::BadCertificate);
    }

    #[test]
    fn host_names_and_wildcards() {
        for good in [
            "localhost",
            "LocalHost",
            "localhost.",
            "a.example.test",
            "WWW.Example.Test",
            "127.0.0.1",
            "::1",
            "[::1]",
        ] {
            verify(&["leaf", "inter-ca"], Some(good)).unwrap_or_else(|err| panic!("{good}: {err}"));
        }
        for bad in [
            "a.b.example.test",
            "example.test",
            ".example.test",
            "*.example.test",
            "127.0.0.2",
            "::2",
            "localhost.localdomain",
            "",
        ] {
            let err = verify(&["leaf", "inter-ca"], Some(bad)).unwrap_err();
            match &err {
                VerifyError::NameMismatch { expected, names } => {
                    assert_eq!(expected, bad);
                    assert_eq!(
                        names,
                        &["localhost", "*.example.test", "127.0.0.1", "::1"],
                        "{bad}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
            assert_eq!(err.alert(), AlertDescription::BadCertificate);
        }
    }

    #[test]
    fn common_name_fallback() {
        verify(&["leaf-cn-only", "inter-ca"], Some("CN-only.example.test"))
            .expect("CN used when there is no DNS SAN");
        let err = verify(&["leaf-cn-only", "inter-ca"], Some("other.example.test")).unwrap_err();
        assert_eq!(
            err,
            VerifyError::NameMismatch {
                expected: "other.example.test".into(),
                names: vec!["cn-only.example.test".into()],
            }
        );
        // The CN is not consulted when there is a DNS SAN: this leaf's CN
        // is expired.example.test, its only SAN localhost.
        let expired = der("leaf-expired");
        let node = parse_node(&expired, 0, 1).expect("parses");
        assert_eq!(
            check_name(&node, "expired.example.test"),
            Err(VerifyError::NameMismatch {
                expected: "expired.example.test".into(),
                names: vec!["localhost".into()],
            })
        );
        // An IP address is never matched against the CN.
        assert!(verify(&["leaf-cn-only", "inter-ca"], Some("127.0.0.1")).is_err());
    }

    #[test]
    fn no_name_check_without_a_server_name() {
        verify(&["leaf-cn-only", "inter-ca"], None).expect("client certificate check");
        verify(&["leaf", "inter-ca"], None).expect("client certificate check");
    }

    #[test]
    fn wildcard_rules() {
        assert!(dns_name_matches("*.example.test", "a.example.test"));
        assert!(dns_name_matches("*.Example.Test.", "a.example.test"));
        assert!(!dns_name_matches("*.example.test", "a.b.example.test"));
        assert!(!dns_name_matches("*.example.test", "example.test"));
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(!dns_name_matches("*", "example"));
        assert!(!dns_name_matches("f*o.example.test", "foo.example.test"));
        assert!(!dns_name_matches("*o.example.test", "foo.example.test"));
        assert!(!dns_name_matches("a.*.example.test", "a.b.example.test"));
        assert!(!dns_name_matches("*.*.test", "a.b.test"));
        assert!(!dns_name_matches("*.example..test", "a.example..test"));
        assert!(!dns_name_matches("*.example.test", "*.example.test"));
        assert!(dns_name_matches("host.example.test", "host.example.test"));
        assert!(!dns_name_matches("", ""));
    }

    #[test]
    fn name_folding() {
        let a = der("leaf");
        let (_, cert) = X509Certificate::from_der(&a).expect("parses");
        let key = name_key(cert.subject());
        assert_eq!(
            key, "25:2.5.4.10=sslwalk test pki,17:2.5.4.3=localhost",
            "{key}"
        );
    }

    #[test]
    fn trust_store_from_pem_counts_skips() {
        let root = std::fs::read(fixture_path("root-ca.pem")).expect("root pem");
        let inter = std::fs::read(fixture_path("inter-ca.pem")).expect("inter pem");
        let mut bundle = b"# a comment\n".to_vec();
        bundle.extend_from_slice(&root);
        bundle.extend_from_slice(&root); // a duplicate is kept once
        bundle.extend_from_slice(
            b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
        );
        bundle.extend_from_slice(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        bundle.extend_from_slice(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        bundle.extend_from_slice(&inter);
        let store = TrustStore::from_pem(&bundle);
        assert_eq!(store.len(), 2, "{store:?}");
        assert_eq!(store.skipped(), 2, "{store:?}");
        assert!(store.subjects().any(|s| s.contains("Intermediate CA")));
        assert_eq!(store.source(), None);

        let store = TrustStore::from_der_certs(vec![der("root-ca"), vec![0x30, 0x03, 1, 2, 3]]);
        assert_eq!((store.len(), store.skipped()), (1, 1));

        let err = TrustStore::from_pem_file(fixture_path("no-such.pem")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("no-such.pem"), "{err}");
    }

    #[test]
    fn trusted_intermediate_ends_the_path() {
        let roots = TrustStore::from_der_certs(vec![der("inter-ca")]);
        let ok = ChainVerifier::new(roots)
            .verify(&chain(&["leaf"]), Some("localhost"), NOW)
            .expect("partial chain to a trusted intermediate");
        assert_eq!(ok.path.len(), 2);
        assert!(ok.root_subject.contains("Intermediate CA"));
    }

    #[test]
    fn system_trust_store() {
        let store = TrustStore::system(Some(fixture_path("roots.pem"))).expect("override");
        assert_eq!(store.len(), 1);
        assert_eq!(store.source(), Some(fixture_path("roots.pem").as_path()));

        let debian = Path::new(SYSTEM_BUNDLES[0]);
        if !debian.exists() {
            eprintln!(
                "\n!!! verify::tests::system_trust_store: {} is missing (install \
                 ca-certificates); the system store was NOT checked !!!\n",
                debian.display()
            );
            return;
        }
        let store = TrustStore::system(None).expect("system bundle");
        assert_eq!(store.source(), Some(debian));
        assert!(store.len() > 100, "{store:?}");

        // Every root's self-signature checks out: real RSA (2048-4096 bit,
        // SHA-1/256/384/512) and ECDSA (P-256/P-384) signatures.
        let mut failures = Vec::new();
        for anchor in &store.anchors {
            let node = parse_node(&anchor.der, 0, 1).expect("parsed when loaded");
            if let Err(err) = check_signature(&node, &node.cert, &anchor.subject) {
                failures.push(err.to_string());
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
