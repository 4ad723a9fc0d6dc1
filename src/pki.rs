//! Certificate summaries: the facts of an X.509 certificate (RFC 5280) that
//! an inspector shows for each entry of a Certificate message, and the
//! leaf's RSA key that RSA key exchange encrypts the premaster secret to
//! (RFC 5246 §7.4.7.1).
//!
//! [`summarize`] parses one DER certificate with `x509-parser` and returns
//! plain owned values: names as RFC 4514 strings, serial and fingerprints in
//! hex, validity as Unix seconds and as UTC text, SANs, key type and size,
//! signature algorithm, basic constraints and key usages. It never panics on
//! malformed input; a failure says what did not parse.
//!
//! What this module does not do (yet): verify signatures, build or check
//! chains against a trust store, match host names, or check revocation.
//! `self_signed` compares names only.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::der_parser::asn1_rs::{Any, Oid, Tag, ToDer};
use x509_parser::der_parser::der::parse_der_integer;
use x509_parser::extensions::GeneralName;
use x509_parser::nom;
use x509_parser::prelude::{FromDer, X509Certificate, X509Error, X509Name};
use x509_parser::public_key::RSAPublicKey;
use x509_parser::time::ASN1Time;

/// Summary of one X.509 certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// 1, 2 or 3.
    pub version: u32,
    /// RFC 4514 string, most specific attribute first
    /// (`CN=www.example.com,O=Example\, Inc.,C=US`).
    pub subject: String,
    /// The subject's most specific (last) commonName, if it has one.
    pub subject_cn: Option<String>,
    pub issuer: String,
    /// The serial number's bytes in lowercase hex, without leading zero
    /// bytes.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity (inclusive), Unix seconds.
    pub not_after: i64,
    /// `not_before` as `2026-11-22 10:27:19 UTC`.
    pub not_before_utc: String,
    pub not_after_utc: String,
    /// Subject alternative names, in certificate order.
    pub subject_alt_names: Vec<AltName>,
    pub key_type: KeyType,
    /// Size of the public key in bits (the modulus for RSA, the curve for
    /// EC, the prime p for DSA, the raw key for Ed25519 and friends); 0 when
    /// unknown.
    pub key_bits: u32,
    /// OpenSSL's name of the signature algorithm
    /// (`sha256WithRSAEncryption`), or its OID when it has none here.
    pub signature_algorithm: String,
    /// The signature algorithm's OID, dotted.
    pub signature_algorithm_oid: String,
    /// SHA-256 of the DER, lowercase hex (see [`colon_hex`]).
    pub sha256_fingerprint: String,
    /// SHA-1 of the DER, lowercase hex.
    pub sha1_fingerprint: String,
    /// Subject and issuer names are the same bytes. The signature is not
    /// checked.
    pub self_signed: bool,
    /// basicConstraints says CA:TRUE.
    pub is_ca: bool,
    /// keyUsage bits by their RFC 5280 §4.2.1.3 names; `None` when the
    /// extension is absent.
    pub key_usage: Option<Vec<String>>,
    /// extKeyUsage purposes by their RFC 5280 §4.2.1.12 names (dotted OID
    /// for others); `None` when the extension is absent.
    pub extended_key_usage: Option<Vec<String>>,
}

/// One subjectAltName entry (RFC 5280 §4.2.1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltName {
    pub kind: AltNameKind,
    /// The name as text: the DNS name, the address (`192.0.2.1`,
    /// `2001:db8::1`), the RFC 4514 form of a directory name, or `#` and hex
    /// for values that are not text.
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AltNameKind {
    Dns,
    Ip,
    Email,
    Uri,
    DirectoryName,
    RegisteredId,
    /// otherName, x400Address, ediPartyName.
    Other,
}

/// The algorithm of the subject public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    /// An RSA key restricted to RSASSA-PSS signatures (RFC 4055): it may not
    /// encrypt, so RSA key exchange cannot use it.
    RsaPss,
    /// An elliptic-curve key; `curve` is the curve's name (`P-256`) or, for
    /// curves not listed here, its dotted OID.
    Ec {
        curve: String,
    },
    Ed25519,
    Ed448,
    X25519,
    X448,
    Dsa,
    /// Any other algorithm, by dotted OID.
    Unknown {
        oid: String,
    },
}

/// Where a moment falls relative to a certificate's validity period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    NotYetValid,
    Valid,
    Expired,
}

/// Why a certificate could not be summarized or its key not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PkiError {
    /// No bytes at all.
    Empty,
    /// The DER ends early; `needed` is how many more bytes the parser asked
    /// for, when it knows.
    Truncated { needed: Option<usize> },
    /// The DER does not parse as a certificate; the text names the part.
    Malformed(String),
    /// Bytes follow the end of the certificate.
    TrailingData { extra: usize },
    /// The key is not an rsaEncryption key; `key` says what it is.
    NotRsa { key: String },
    /// The RSA key's structure or values are unusable.
    BadRsaKey(String),
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("certificate is empty"),
            Self::Truncated { needed: Some(n) } => {
                write!(f, "certificate is truncated ({n} more bytes needed)")
            }
            Self::Truncated { needed: None } => f.write_str("certificate is truncated"),
            Self::Malformed(what) => write!(f, "certificate does not parse: {what}"),
            Self::TrailingData { extra } => {
                write!(f, "{extra} bytes follow the end of the certificate")
            }
            Self::NotRsa { key } => write!(f, "the certificate key is {key}, not RSA"),
            Self::BadRsaKey(why) => write!(f, "the certificate's RSA key is unusable: {why}"),
        }
    }
}

impl std::error::Error for PkiError {}

/// The largest RSA modulus [`rsa_public_key`] accepts. The `rsa` crate's
/// default limit is 4096 bits, but peers do send 8192-bit keys and an
/// inspector should still be able to use them.
const MAX_RSA_BITS: usize = 16384;

/// Summarizes one DER-encoded certificate.
pub fn summarize(der: &[u8]) -> Result<CertSummary, PkiError> {
    let cert = parse(der)?;
    let tbs = &cert.tbs_certificate;
    let validity = tbs.validity();
    let (key_type, key_bits) = describe_key(&cert);
    let signature_oid = cert.signature_algorithm.algorithm.to_id_string();

    Ok(CertSummary {
        version: tbs.version().0.saturating_add(1),
        subject: rfc4514(tbs.subject()),
        subject_cn: tbs.subject().iter_common_name().last().map(|cn| {
            attribute_string(cn.attr_value()).unwrap_or_else(|| hex_der(cn.attr_value()))
        }),
        issuer: rfc4514(tbs.issuer()),
        serial: serial_hex(tbs.raw_serial()),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        not_before_utc: format_utc(validity.not_before.timestamp()),
        not_after_utc: format_utc(validity.not_after.timestamp()),
        subject_alt_names: alt_names(&cert),
        key_type,
        key_bits,
        signature_algorithm: signature_algorithm_name(&signature_oid)
            .map_or_else(|| signature_oid.clone(), str::to_owned),
        signature_algorithm_oid: signature_oid,
        sha256_fingerprint: hex(&Sha256::digest(der)),
        sha1_fingerprint: hex(&Sha1::digest(der)),
        self_signed: tbs.subject().as_raw() == tbs.issuer().as_raw(),
        // A malformed or duplicated extension counts as absent: the summary
        // reports what the certificate validly says.
        is_ca: tbs
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca),
        key_usage: tbs.key_usage().ok().flatten().map(|ku| {
            let ku = ku.value;
            [
                (ku.digital_signature(), "digitalSignature"),
                (ku.non_repudiation(), "nonRepudiation"),
                (ku.key_encipherment(), "keyEncipherment"),
                (ku.data_encipherment(), "dataEncipherment"),
                (ku.key_agreement(), "keyAgreement"),
                (ku.key_cert_sign(), "keyCertSign"),
                (ku.crl_sign(), "cRLSign"),
                (ku.encipher_only(), "encipherOnly"),
                (ku.decipher_only(), "decipherOnly"),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_owned())
            .collect()
        }),
        extended_key_usage: tbs.extended_key_usage().ok().flatten().map(|eku| {
            let eku = eku.value;
            let mut names: Vec<String> = [
                (eku.any, "anyExtendedKeyUsage"),
                (eku.server_auth, "serverAuth"),
                (eku.client_auth, "clientAuth"),
                (eku.code_signing, "codeSigning"),
                (eku.email_protection, "emailProtection"),
                (eku.time_stamping, "timeStamping"),
                (eku.ocsp_signing, "OCSPSigning"),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_owned())
            .collect();
            names.extend(eku.other.iter().map(Oid::to_id_string));
            names
        }),
    })
}

/// The RSA public key of a certificate (the leaf, for RSA key exchange).
/// Only rsaEncryption keys qualify: an RSASSA-PSS key may not encrypt
/// (RFC 4055 §1.2).
pub fn rsa_public_key(der: &[u8]) -> Result<rsa::RsaPublicKey, PkiError> {
    let cert = parse(der)?;
    let spki = cert.public_key();
    if spki.algorithm.algorithm.to_id_string() != OID_RSA_ENCRYPTION {
        let (key_type, _) = describe_key(&cert);
        return Err(PkiError::NotRsa {
            key: key_type_text(&key_type),
        });
    }
    let (_, key) = RSAPublicKey::from_der(&spki.subject_public_key.data)
        .map_err(|_| PkiError::BadRsaKey("RSAPublicKey does not parse".into()))?;
    let n = rsa::BigUint::from_bytes_be(key.modulus);
    let e = rsa::BigUint::from_bytes_be(key.exponent);
    rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
        .map_err(|err| PkiError::BadRsaKey(err.to_string()))
}

/// Whether `now_unix` falls before, inside or after the validity period.
/// Both ends are inclusive (RFC 5280 §4.1.2.5).
pub fn validity_status(summary: &CertSummary, now_unix: i64) -> Validity {
    if now_unix < summary.not_before {
        Validity::NotYetValid
    } else if now_unix > summary.not_after {
        Validity::Expired
    } else {
        Validity::Valid
    }
}

/// Lowercase hex (a fingerprint, a serial) as colon-separated uppercase
/// pairs, the way `openssl x509 -fingerprint` prints it: `AB:CD:01`.
pub fn colon_hex(hex: &str) -> String {
    let upper = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = upper
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap_or("??"))
        .collect();
    pairs.join(":")
}

/// Unix seconds as `2026-11-22 10:27:19 UTC`.
pub fn format_utc(unix: i64) -> String {
    match ASN1Time::from_timestamp(unix) {
        Ok(time) => {
            let t = time.to_datetime();
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        // Outside the years 1-9999 that the time type represents.
        Err(_) => format!("{unix} seconds since 1970 UTC"),
    }
}

// -- Parsing --

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    if der.is_empty() {
        return Err(PkiError::Empty);
    }
    // The parser reports a cut-off certificate as a generic end-of-input
    // error from deep inside; the outer header says it plainly.
    if let Some(missing) = outer_shortfall(der) {
        return Err(PkiError::Truncated {
            needed: Some(missing),
        });
    }
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(PkiError::TrailingData { extra: rest.len() }),
        Err(nom::Err::Incomplete(needed)) => Err(truncated(needed)),
        Err(nom::Err::Error(err) | nom::Err::Failure(err)) => Err(from_x509_error(err)),
    }
}

/// How many bytes are missing from the certificate's outer SEQUENCE, if its
/// header is whole and announces more bytes than there are (X.690 §8.1.3).
fn outer_shortfall(der: &[u8]) -> Option<usize> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (header_len, content_len) = match first {
        0x00..=0x7f => (2, usize::from(first)),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let bytes = rest.get(..count)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (2 + count, len)
        }
        _ => return None,
    };
    header_len
        .checked_add(content_len)?
        .checked_sub(der.len())
        .filter(|&missing| missing > 0)
}

fn truncated(needed: nom::Needed) -> PkiError {
    PkiError::Truncated {
        needed: match needed {
            nom::Needed::Size(n) => Some(n.get()),
            nom::Needed::Unknown => None,
        },
    }
}

fn from_x509_error(err: X509Error) -> PkiError {
    use x509_parser::der_parser::error::BerError;
    match err {
        // The parser reports a short outer SEQUENCE as a BER error rather
        // than as nom's Incomplete; both mean the same to the user.
        X509Error::Der(BerError::Incomplete(needed)) => truncated(needed),
        X509Error::NomError(nom::error::ErrorKind::Eof) => {
            PkiError::Malformed("an inner DER element runs past the end of its parent".into())
        }
        other => PkiError::Malformed(other.to_string()),
    }
}

// -- Names --

/// A distinguished name as an RFC 4514 string: RDNs from the most specific
/// (last in the certificate) to the least, joined by `,`; the attributes of
/// a multi-valued RDN joined by `+`. Attribute types use the RFC 4514 §3
/// short names plus OpenSSL's usual ones; other types are dotted OIDs with
/// the value as `#` and the hex of its DER (§2.4).
fn rfc4514(name: &X509Name) -> String {
    let mut rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            let parts: Vec<String> = rdn
                .iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let value = attr.attr_value();
                    match (attribute_type_name(&oid), attribute_string(value)) {
                        (Some(short), Some(text)) => format!("{short}={}", escape_rfc4514(&text)),
                        (Some(short), None) => format!("{short}={}", hex_der(value)),
                        (None, _) => format!("{oid}={}", hex_der(value)),
                    }
                })
                .collect();
            parts.join("+")
        })
        .collect();
    rdns.reverse();
    rdns.join(",")
}

fn attribute_type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// The text of a directory string. TeletexString is read as Latin-1 (as
/// OpenSSL does), BMPString as UTF-16 and UniversalString as UTF-32; `None`
/// for a value that is no string or not valid in its encoding.
fn attribute_string(value: &Any) -> Option<String> {
    let data = value.data;
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::T61String => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString if data.len().is_multiple_of(2) => char::decode_utf16(
            data.chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        Tag::UniversalString if data.len().is_multiple_of(4) => data
            .chunks(4)
            .map(|quad| char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]])))
            .collect::<Option<String>>(),
        _ => None,
    }
}

/// RFC 4514 §2.4: backslash before `"+,;<>\`, a leading `#` or space and a
/// trailing space; NUL as `\00`.
fn escape_rfc4514(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

// -- Subject alternative names --

fn alt_names(cert: &X509Certificate) -> Vec<AltName> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => alt(AltNameKind::Dns, dns.to_string()),
            GeneralName::RFC822Name(email) => alt(AltNameKind::Email, email.to_string()),
            GeneralName::URI(uri) => alt(AltNameKind::Uri, uri.to_string()),
            GeneralName::IPAddress(bytes) => alt(AltNameKind::Ip, ip_text(bytes)),
            GeneralName::DirectoryName(dn) => alt(AltNameKind::DirectoryName, rfc4514(dn)),
            GeneralName::RegisteredID(oid) => alt(AltNameKind::RegisteredId, oid.to_id_string()),
            GeneralName::OtherName(oid, value) => alt(
                AltNameKind::Other,
                format!("{}:#{}", oid.to_id_string(), hex(value)),
            ),
            GeneralName::X400Address(value) | GeneralName::EDIPartyName(value) => {
                alt(AltNameKind::Other, hex_der(value))
            }
        })
        .collect()
}

fn alt(kind: AltNameKind, value: String) -> AltName {
    AltName { kind, value }
}

fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ipv6Addr::from(v6).to_string()
    } else {
        format!("#{}", hex(bytes))
    }
}

// -- Keys and algorithms --

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

fn describe_key(cert: &X509Certificate) -> (KeyType, u32) {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let key = &spki.subject_public_key.data;
    let raw_bits = (key.len() * 8) as u32;
    match oid.as_str() {
        OID_RSA_ENCRYPTION | "1.2.840.113549.1.1.10" => {
            let bits = RSAPublicKey::from_der(key)
                .map(|(_, rsa)| unsigned_bits(rsa.modulus))
                .unwrap_or(0);
            let kind = if oid == OID_RSA_ENCRYPTION {
                KeyType::Rsa
            } else {
                KeyType::RsaPss
            };
            (kind, bits)
        }
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|params| params.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve_oid.as_deref().and_then(named_curve) {
                Some((name, bits)) => (KeyType::Ec { curve: name.into() }, bits),
                None => {
                    // An uncompressed point is 04 || x || y.
                    let bits = (key.len().saturating_sub(1) / 2 * 8) as u32;
                    let curve = curve_oid.unwrap_or_else(|| "explicit parameters".into());
                    (KeyType::Ec { curve }, bits)
                }
            }
        }
        "1.3.101.110" => (KeyType::X25519, raw_bits),
        "1.3.101.111" => (KeyType::X448, raw_bits),
        "1.3.101.112" => (KeyType::Ed25519, raw_bits),
        "1.3.101.113" => (KeyType::Ed448, raw_bits),
        "1.2.840.10040.4.1" => {
            // The size of a DSA key is that of its prime p, the first
            // INTEGER of the Dss-Parms (RFC 3279 §2.3.2).
            let p_bits = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|params| parse_der_integer(params.data).ok())
                .and_then(|(_, p)| p.as_slice().ok().map(unsigned_bits));
            (KeyType::Dsa, p_bits.unwrap_or(0))
        }
        _ => (KeyType::Unknown { oid }, 0),
    }
}

fn key_type_text(key: &KeyType) -> String {
    match key {
        KeyType::Rsa => "RSA".into(),
        KeyType::RsaPss => "RSASSA-PSS (signing only)".into(),
        KeyType::Ec { curve } => format!("EC {curve}"),
        KeyType::Ed25519 => "Ed25519".into(),
        KeyType::Ed448 => "Ed448".into(),
        KeyType::X25519 => "X25519".into(),
        KeyType::X448 => "X448".into(),
        KeyType::Dsa => "DSA".into(),
        KeyType::Unknown { oid } => format!("algorithm {oid}"),
    }
}

/// Named curves by OID: RFC 5480 §2.1.1.1 (NIST), SEC 2 (secp256k1),
/// RFC 5639 (Brainpool), GB/T 32918 (SM2).
fn named_curve(oid: &str) -> Option<(&'static str, u32)> {
    Some(match oid {
        "1.2.840.10045.3.1.1" => ("P-192", 192),
        "1.3.132.0.33" => ("P-224", 224),
        "1.2.840.10045.3.1.7" => ("P-256", 256),
        "1.3.132.0.34" => ("P-384", 384),
        "1.3.132.0.35" => ("P-521", 521),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
        "1.2.156.10197.1.301" => ("SM2", 256),
        _ => return None,
    })
}

/// OpenSSL's names for the signature algorithms certificates use (RFC 4055,
/// 5758, 8410 and PKCS #1).
fn signature_algorithm_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa_with_SHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.156.10197.1.501" => "SM2-with-SM3",
        _ => return None,
    })
}

/// Bits of a big-endian unsigned integer, ignoring leading zero bytes (DER
/// adds one when the top bit is set).
fn unsigned_bits(bytes: &[u8]) -> u32 {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first - 1) as u32 * 8 + (8 - bytes[first].leading_zeros()),
        None => 0,
    }
}

// -- Hex --

fn serial_hex(raw: &[u8]) -> String {
    let first = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex(&raw[first..])
}

fn hex(bytes: &[u8]) -> String {
    crate::wire::codec::to_hex(bytes)
}

/// `#` and the hex of a value's whole DER (RFC 4514 §2.4).
fn hex_der(value: &Any) -> String {
    match value.to_der_vec() {
        Ok(der) => format!("#{}", hex(&der)),
        Err(_) => format!("#{}", hex(value.data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    const CA: &[u8] = include_bytes!("../fixtures/certs/ca-rsa2048.der");
    const RSA: &[u8] = include_bytes!("../fixtures/certs/rsa2048.der");
    const EC: &[u8] = include_bytes!("../fixtures/certs/ec-p256.der");
    const ED25519: &[u8] = include_bytes!("../fixtures/certs/ed25519.der");
    const SAN_LEAF: &[u8] = include_bytes!("../fixtures/certs/san-leaf.der");
    const ALL: [&[u8]; 5] = [CA, RSA, EC, ED25519, SAN_LEAF];

    // Every fixture was made on 2026-11-22 10:43:40 UTC for 36500 days
    // (`openssl x509 -noout -dates`).
    const NOT_BEFORE: i64 = 1_795_344_220;
    const NOT_AFTER: i64 = 4_948_944_220;

    // Expected values below are from
    // `openssl x509 -noout -text -fingerprint -sha256 -nameopt RFC2253`.

    #[test]
    fn rsa_2048_self_signed() {
        let s = summarize(RSA).unwrap();
        assert_eq!(s.version, 3);
        assert_eq!(s.subject, "CN=rsa.sslwalk.test");
        assert_eq!(s.issuer, s.subject);
        assert_eq!(s.subject_cn.as_deref(), Some("rsa.sslwalk.test"));
        assert_eq!(s.serial, "5383d90a9bcc586ba311992a7cb51496ccd9c16a");
        assert_eq!((s.key_type.clone(), s.key_bits), (KeyType::Rsa, 2048));
        assert_eq!(s.signature_algorithm, "sha256WithRSAEncryption");
        assert_eq!(s.signature_algorithm_oid, "1.2.840.113549.1.1.11");
        assert_eq!(
            colon_hex(&s.sha256_fingerprint),
            "DB:70:9D:31:8B:B6:F9:38:6E:BE:48:7F:EB:5A:D5:DF:\
             84:66:93:96:27:2D:8E:67:28:E8:27:5B:C8:B3:FE:85"
        );
        assert_eq!(
            colon_hex(&s.sha1_fingerprint),
            "8A:85:57:08:A5:15:77:31:44:AA:68:48:68:DA:7D:75:86:EB:9F:06"
        );
        assert!(s.self_signed);
        assert!(!s.is_ca);
        assert_eq!(s.key_usage, None);
        assert_eq!(s.extended_key_usage, None);
        assert_eq!(
            s.subject_alt_names,
            vec![alt(AltNameKind::Dns, "rsa.sslwalk.test".into())]
        );
        assert_eq!((s.not_before, s.not_after), (NOT_BEFORE, NOT_AFTER));
        assert_eq!(s.not_before_utc, "2026-11-22 10:43:40 UTC");
        // After 2049 the certificate switches to GeneralizedTime.
        assert_eq!(s.not_after_utc, "2126-10-29 10:43:40 UTC");
    }

    #[test]
    fn self_signed_ca() {
        let s = summarize(CA).unwrap();
        assert_eq!(s.subject, "CN=sslwalk test CA,O=sslwalk test,C=US");
        assert!(s.self_signed);
        assert!(s.is_ca);
        assert_eq!(
            s.key_usage,
            Some(vec!["keyCertSign".to_owned(), "cRLSign".to_owned()])
        );
        assert_eq!(s.serial, "58cbbc85f3e17f33785d7d7ea820fb18ed11e2d6");
        assert_eq!(
            colon_hex(&s.sha256_fingerprint),
            "D1:5A:FA:86:31:BD:5E:33:2A:CD:CF:C1:03:DA:6F:9A:\
             44:4C:DC:7A:2B:C9:A1:96:8D:1C:53:62:7F:DF:5C:41"
        );
    }

    #[test]
    fn ec_p256() {
        let s = summarize(EC).unwrap();
        assert_eq!(s.subject, "CN=ec.sslwalk.test");
        assert_eq!(
            s.key_type,
            KeyType::Ec {
                curve: "P-256".into()
            }
        );
        assert_eq!(s.key_bits, 256);
        assert_eq!(s.signature_algorithm, "ecdsa-with-SHA256");
        assert_eq!(s.serial, "096db9906aed87f3331787a10575858d74adbac9");
        assert_eq!(
            colon_hex(&s.sha256_fingerprint),
            "00:23:88:68:2D:5C:BC:8E:3E:DC:81:BD:C6:87:95:4C:\
             51:25:68:FF:05:CC:B0:89:9B:EA:E8:57:09:19:E5:5F"
        );
        assert_eq!(
            colon_hex(&s.sha1_fingerprint),
            "BC:2A:65:6A:D1:5F:0A:1A:90:3B:C0:10:F6:16:1B:AD:79:E6:EA:C6"
        );
        assert!(matches!(
            rsa_public_key(EC),
            Err(PkiError::NotRsa { ref key }) if key == "EC P-256"
        ));
    }

    #[test]
    fn ed25519() {
        let s = summarize(ED25519).unwrap();
        assert_eq!((s.key_type.clone(), s.key_bits), (KeyType::Ed25519, 256));
        assert_eq!(s.signature_algorithm, "ED25519");
        assert_eq!(
            colon_hex(&s.sha256_fingerprint),
            "62:B0:97:BC:71:A3:AC:10:F0:1B:C7:C9:AB:8B:88:B5:\
             1D:7B:C5:CA:CC:F1:E8:DB:73:22:33:DA:FE:C2:54:B1"
        );
    }

    #[test]
    fn leaf_with_every_kind_of_san() {
        let s = summarize(SAN_LEAF).unwrap();
        assert_eq!(
            s.subject,
            "emailAddress=admin@sslwalk.test,CN=www.sslwalk.test,OU=Testing,\
             O=Example\\, Inc.,L=Berlin,ST=Berlin,C=DE"
        );
        assert_eq!(s.subject_cn.as_deref(), Some("www.sslwalk.test"));
        assert_eq!(s.issuer, "CN=sslwalk test CA,O=sslwalk test,C=US");
        assert!(!s.self_signed);
        assert!(!s.is_ca);
        assert_eq!(s.serial, "59b3d1b43b716d17e885d0c3de48138cd4486853");
        use AltNameKind::*;
        let expected = [
            (Dns, "www.sslwalk.test"),
            (Dns, "*.sslwalk.test"),
            (Ip, "192.0.2.10"),
            (Ip, "2001:db8::1"),
            (Email, "admin@sslwalk.test"),
            (Uri, "https://sslwalk.test/"),
        ];
        let expected: Vec<AltName> = expected
            .iter()
            .map(|(kind, value)| alt(*kind, (*value).into()))
            .collect();
        assert_eq!(s.subject_alt_names, expected);
        assert_eq!(
            s.key_usage,
            Some(vec!["digitalSignature".into(), "keyEncipherment".into()])
        );
        assert_eq!(
            s.extended_key_usage,
            Some(vec!["serverAuth".into(), "clientAuth".into()])
        );
        assert_eq!(
            colon_hex(&s.sha256_fingerprint),
            "00:06:60:7A:A0:11:52:69:DB:80:39:4B:BD:31:10:B4:\
             FE:E5:26:0E:9F:5B:EB:0F:1D:8C:B7:A2:E1:0B:A1:CE"
        );
        assert_eq!(
            colon_hex(&s.sha1_fingerprint),
            "21:2B:E5:89:88:F9:3D:B7:D3:5F:78:42:C4:27:8D:0A:35:92:D1:21"
        );
    }

    #[test]
    fn pem_and_der_fixtures_agree() {
        let pems = [
            include_str!("../fixtures/certs/ca-rsa2048.pem"),
            include_str!("../fixtures/certs/rsa2048.pem"),
            include_str!("../fixtures/certs/ec-p256.pem"),
            include_str!("../fixtures/certs/ed25519.pem"),
            include_str!("../fixtures/certs/san-leaf.pem"),
        ];
        for (pem, der) in pems.iter().zip(ALL) {
            let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
            assert_eq!(parsed.contents, der);
        }
    }

    #[test]
    fn rsa_key_of_the_leaf() {
        let key = rsa_public_key(RSA).unwrap();
        assert_eq!(key.size(), 256);
        assert_eq!(key.e(), &rsa::BigUint::from(65_537u32));
        // rsa2048.modulus is `openssl x509 -noout -modulus` of the fixture.
        let modulus = hex(&key.n().to_bytes_be());
        assert_eq!(modulus.len(), 512);
        let from_openssl = include_str!("../fixtures/certs/rsa2048.modulus").trim();
        assert_eq!(modulus.to_ascii_uppercase(), from_openssl);
    }

    #[test]
    fn validity_is_inclusive_at_both_ends() {
        let s = summarize(RSA).unwrap();
        assert_eq!(validity_status(&s, NOT_BEFORE - 1), Validity::NotYetValid);
        assert_eq!(validity_status(&s, NOT_BEFORE), Validity::Valid);
        assert_eq!(validity_status(&s, NOT_AFTER), Validity::Valid);
        assert_eq!(validity_status(&s, NOT_AFTER + 1), Validity::Expired);
    }

    #[test]
    fn helpers() {
        assert_eq!(colon_hex("0a1b2c"), "0A:1B:2C");
        assert_eq!(colon_hex(""), "");
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(unsigned_bits(&[0x01, 0xff]), 9);
        assert_eq!(unsigned_bits(&[0, 0]), 0);
        assert_eq!(serial_hex(&[0x00, 0x9a, 0x01]), "9a01");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(escape_rfc4514(" a+b, "), "\\ a\\+b\\,\\ ");
        assert_eq!(escape_rfc4514("#1"), "\\#1");
        assert_eq!(ip_text(&[192, 0, 2, 1]), "192.0.2.1");
        assert_eq!(ip_text(&[1, 2, 3]), "#010203");
    }

    #[test]
    fn empty_and_trailing_bytes_are_errors() {
        assert_eq!(summarize(&[]), Err(PkiError::Empty));
        let mut extra = RSA.to_vec();
        extra.extend_from_slice(&[0, 0, 0]);
        assert_eq!(summarize(&extra), Err(PkiError::TrailingData { extra: 3 }));
        assert_eq!(
            PkiError::TrailingData { extra: 3 }.to_string(),
            "3 bytes follow the end of the certificate"
        );
    }

    #[test]
    fn every_truncation_is_an_error_that_says_so() {
        for der in ALL {
            for len in 1..der.len() {
                let err = summarize(&der[..len]).unwrap_err();
                let text = err.to_string();
                assert!(
                    text.contains("truncated") || text.contains("does not parse"),
                    "{len}: {text}"
                );
                assert!(rsa_public_key(&der[..len]).is_err());
            }
        }
        // Cut inside the outer SEQUENCE, whose header gives the full length.
        assert_eq!(
            summarize(&RSA[..100]),
            Err(PkiError::Truncated {
                needed: Some(RSA.len() - 100)
            })
        );
        assert_eq!(
            summarize(&RSA[..100]).unwrap_err().to_string(),
            "certificate is truncated (723 more bytes needed)"
        );
    }

    /// A small deterministic generator (xorshift64), so failures reproduce.
    struct Xorshift(u64);
    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Xorshift(0x5eed_1234_abcd_0001);
        for _ in 0..2000 {
            let len = (rng.next() % 700) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Half of them start like a certificate, to get past the first
            // tag check.
            if rng.next().is_multiple_of(2) && len > 4 {
                bytes[..4].copy_from_slice(&[0x30, 0x82, 0x02, 0xb0]);
            }
            let _ = summarize(&bytes);
            let _ = rsa_public_key(&bytes);
        }
        for der in ALL {
            for _ in 0..1500 {
                let mut bytes = der.to_vec();
                for _ in 0..1 + rng.next() % 4 {
                    let at = (rng.next() as usize) % bytes.len();
                    bytes[at] = rng.next() as u8;
                }
                if let Ok(s) = summarize(&bytes) {
                    // Whatever parsed still has sane fingerprints.
                    assert_eq!(s.sha256_fingerprint.len(), 64);
                }
                let _ = rsa_public_key(&bytes);
            }
        }
    }
}

/// Certificates from a file's contents: every `CERTIFICATE` block of a PEM
/// file (a chain, leaf first), or one DER certificate.
pub fn load_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    if bytes.starts_with(b"-----") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut out = Vec::new();
        for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|_| PkiError::Malformed("PEM block".into()))?;
            if pem.label == "CERTIFICATE" {
                out.push(pem.contents);
            }
        }
        if out.is_empty() {
            return Err(PkiError::Malformed(
                "no CERTIFICATE block in the PEM file".into(),
            ));
        }
        return Ok(out);
    }
    summarize(bytes)?;
    Ok(vec![bytes.to_vec()])
}

/// An RSA private key from PEM or DER, PKCS#1 (`RSA PRIVATE KEY`) or
/// PKCS#8 (`PRIVATE KEY`).
pub fn load_rsa_private_key(bytes: &[u8]) -> Result<rsa::RsaPrivateKey, PkiError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains("-----BEGIN") {
            return rsa::RsaPrivateKey::from_pkcs8_pem(text)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(text))
                .map_err(|_| {
                    PkiError::Malformed("not an RSA private key (PEM, PKCS#1 or PKCS#8)".into())
                });
        }
    }
    rsa::RsaPrivateKey::from_pkcs8_der(bytes)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(bytes))
        .map_err(|_| PkiError::Malformed("not an RSA private key (DER, PKCS#1 or PKCS#8)".into()))
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn loads_pem_der_and_keys() {
        let pem = include_bytes!("../fixtures/certs/rsa2048.pem");
        let der = include_bytes!("../fixtures/certs/rsa2048.der");
        assert_eq!(load_certificates(pem).unwrap(), vec![der.to_vec()]);
        assert_eq!(load_certificates(der).unwrap(), vec![der.to_vec()]);
        let key = load_rsa_private_key(include_bytes!("../fixtures/certs/rsa2048.key")).unwrap();
        let public = rsa_public_key(der).unwrap();
        assert_eq!(rsa::RsaPublicKey::from(&key), public);
        assert!(load_certificates(b"garbage").is_err());
        assert!(load_rsa_private_key(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
        assert!(load_rsa_private_key(include_bytes!("../fixtures/certs/ec-p256.key")).is_err());
    }
}
