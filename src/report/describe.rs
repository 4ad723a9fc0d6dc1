//! The one table of prose: what each step of the handshake means, what each
//! alert says, what each finding (`NoteCode`) means with its parameters
//! filled in, the names of handshake kinds, and how versions, suites and
//! dates are written for people.
//!
//! Events carry facts and stable codes only (ARCHITECTURE.md, amendment A1
//! of STYLE-ANCHORS.md); every sentence a user reads comes from here, so
//! the text renderer never invents wording of its own and the JSON renderer
//! never needs any. The facts come from the RFCs listed in HANDSHAKE.md;
//! the wording is ours.
//!
//! This module does not print, colour or lay anything out: it returns
//! strings.

use crate::crypto::mac::MacConstruction;
use crate::event::{
    FlowEvent, HandshakeKind, Message, Note, NoteCode, NoteValue, RecordCrypto, SecretSource,
    Severity, Timestamp,
};
use crate::pki::{AltName, AltNameKind, KeyType};
use crate::record::protection::{Integrity, IvUse, PaddingCheck};
use crate::wire::{
    is_grease_u16, suites, Alert, AlertDescription, CipherSuite, CompressionMethod, ContentType,
    ExtensionType, HandshakeMessage, HandshakeType, ProtocolVersion,
};

// -- Versions ---------------------------------------------------------------

/// The everyday name of a version: `TLS 1.0`, `SSL 3.0`, `TLS 1.3 draft 23`,
/// `GREASE`, or `unknown`.
pub fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::SSLv2 => "SSL 2.0".into(),
        ProtocolVersion::SSLv3 => "SSL 3.0".into(),
        ProtocolVersion::TLSv1_0 => "TLS 1.0".into(),
        ProtocolVersion::TLSv1_1 => "TLS 1.1".into(),
        ProtocolVersion::TLSv1_2 => "TLS 1.2".into(),
        ProtocolVersion::TLSv1_3 => "TLS 1.3".into(),
        _ if is_grease_u16(v.0) => "GREASE".into(),
        _ => match v.tls13_draft() {
            Some(n) => format!("TLS 1.3 draft {n}"),
            None => "unknown".into(),
        },
    }
}

/// A version as the wire carries it and as people say it: `{3,1} TLS 1.0`.
pub fn version(v: ProtocolVersion) -> String {
    format!("{{{},{}}} {}", v.major(), v.minor(), version_name(v))
}

// -- Cipher suites, compression, extensions ---------------------------------

/// `0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA (DES-CBC3-SHA)`; GREASE values as
/// `0x0A0A GREASE`, unassigned ones as `0x1A2B unknown`.
pub fn suite(s: CipherSuite) -> String {
    if s.is_grease() {
        return format!("0x{:04X} GREASE", s.0);
    }
    match suites::lookup(s.0) {
        Some(info) => match info.openssl {
            Some(o) => format!("0x{:04X} {} ({o})", s.0, info.iana),
            None => format!("0x{:04X} {}", s.0, info.iana),
        },
        None => format!("0x{:04X} unknown", s.0),
    }
}

/// `null (0)`, `deflate (1)`, `unknown (7)`.
pub fn compression(c: CompressionMethod) -> String {
    format!("{} ({})", c.name().unwrap_or("unknown"), c.0)
}

/// An extension type by name (`server_name`), `GREASE (0x0a0a)` or
/// `unknown (0x1a2b)`.
pub fn extension_type(t: ExtensionType) -> String {
    match t.name() {
        Some(n) => n.to_string(),
        None if is_grease_u16(t.0) => format!("GREASE (0x{:04x})", t.0),
        None => format!("unknown (0x{:04x})", t.0),
    }
}

/// Any protocol number with an optional name: `x25519`, `GREASE (0x0a0a)`,
/// `unknown (0x1a2b)`.
pub fn named_u16(name: Option<&str>, value: u16) -> String {
    match name {
        Some(n) => n.to_string(),
        None if is_grease_u16(value) => format!("GREASE (0x{value:04x})"),
        None => format!("unknown (0x{value:04x})"),
    }
}

/// The same for one-byte numbers: `rsa_sign`, `unknown (0x07)`.
pub fn named_u8(name: Option<&str>, value: u8) -> String {
    match name {
        Some(n) => n.to_string(),
        None => format!("unknown (0x{value:02x})"),
    }
}

// -- Messages ---------------------------------------------------------------

/// A handshake type as the RFCs title it: `ClientHello`, `ServerHelloDone`.
pub fn handshake_type_title(t: HandshakeType) -> String {
    match t {
        HandshakeType::CertificateUrl => "CertificateURL".into(),
        HandshakeType::EktKey => "EKTKey".into(),
        _ => match t.name() {
            Some(n) => n
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                        None => String::new(),
                    }
                })
                .collect(),
            None => format!("Handshake type {}", t.0),
        },
    }
}

/// The title of a message on the ladder: `ClientHello`, `HelloRetryRequest`,
/// `ChangeCipherSpec`, `Alert`, `Encrypted handshake`...
pub fn message_title(m: &Message) -> String {
    match m {
        Message::Handshake {
            parsed: Ok(HandshakeMessage::ServerHello(sh)),
            ..
        } if sh.is_hello_retry_request() => "HelloRetryRequest".into(),
        Message::Handshake { typ, .. } => handshake_type_title(*typ),
        Message::SslV2ClientHello(_) => "ClientHello (SSL 2.0 format)".into(),
        Message::ChangeCipherSpec(_) => "ChangeCipherSpec".into(),
        Message::Alert(_) => "Alert".into(),
        Message::Heartbeat(_) => "Heartbeat".into(),
        Message::ApplicationData { .. } => "ApplicationData".into(),
        Message::Encrypted { content_type, .. } => match *content_type {
            ContentType::Handshake => "Encrypted handshake".into(),
            ContentType::Alert => "Encrypted alert".into(),
            ContentType::ApplicationData => "ApplicationData".into(),
            _ => "Encrypted record".into(),
        },
        Message::UnknownRecord { .. } => "Unknown record".into(),
    }
}

// -- The numbered steps of HANDSHAKE.md -------------------------------------

/// One line on what happens at a step of the classic handshake.
pub fn step_meaning(step: u8) -> Option<&'static str> {
    Some(match step {
        1 => "The client opens: its best version, a fresh random, a session to resume if it has one, \
              and the cipher suites, compression methods and extensions it accepts.",
        2 => "The server answers: the version, suite and compression it picked, its own random and \
              session ID, its certificate chain, optionally a temporary key or a request for the \
              client's certificate, then ServerHelloDone.",
        3 => "The client checks the server's certificate: a chain to a trusted root, the validity \
              dates, and the host name it asked for.",
        4 => "The client makes the 48-byte pre-master secret and sends it encrypted with the \
              server's public key.",
        5 => "Asked for a certificate, the client sends its own and signs a hash of the handshake \
              so far.",
        6 => "The server checks the client's certificate and signature and decrypts the pre-master \
              secret with its private key.",
        7 => "Both sides derive the master secret, then the MAC keys, encryption keys and IVs.",
        8 => "The client switches to the new keys (ChangeCipherSpec) and sends Finished, a hash of \
              the whole conversation: its first protected message.",
        9 => "The server switches to the new keys in its direction and sends its own Finished.",
        10 => "Handshake complete: application data flows, encrypted and integrity-checked.",
        11 => "A new handshake on the established connection (renegotiation): the steps start \
               again, this time under protection.",
        _ => return None,
    })
}

// -- Handshake kinds and flow -----------------------------------------------

/// The name of a handshake's shape: `Full handshake with client
/// authentication`, `Resumed session`, `TLS 1.3 handshake`...
pub fn handshake_kind_name(k: &HandshakeKind) -> String {
    let mut name = if k.tls13 {
        if k.resumed {
            "TLS 1.3 handshake resuming a session (pre-shared key)".to_string()
        } else {
            "TLS 1.3 handshake".to_string()
        }
    } else if k.resumed {
        "Resumed session (abbreviated handshake)".to_string()
    } else {
        "Full handshake".to_string()
    };
    if k.hello_retry {
        name.push_str(", after a HelloRetryRequest");
    }
    if k.client_auth {
        name.push_str(" with client authentication");
        if k.no_client_cert {
            name.push_str(" (the client had no certificate)");
        }
    }
    if k.server_key_exchange && !k.tls13 {
        name.push_str(", with a ServerKeyExchange");
    }
    if k.renegotiation {
        name = format!("Renegotiation: {}", lower_first(&name));
    }
    name
}

/// What a handshake's shape means for the steps, in one sentence.
pub fn handshake_kind_explanation(k: &HandshakeKind) -> &'static str {
    if k.tls13 {
        "TLS 1.3: the key exchange rides in the hellos (key_share) and everything after \
         ServerHello is encrypted; ServerHelloDone, ClientKeyExchange and the real \
         ChangeCipherSpec no longer exist."
    } else if k.resumed {
        "Resumed session: step 2's certificate and steps 3-6 are skipped; the server sends \
         ChangeCipherSpec and Finished first, then the client."
    } else if k.client_auth && k.no_client_cert {
        "The server asked for a client certificate and the client had none: step 5 carries \
         no certificate and no CertificateVerify."
    } else if k.client_auth {
        "The server asked for the client's certificate: steps 5 and 6 take place."
    } else {
        "The server proves its identity with its certificate; the client stays anonymous \
         (steps 5 and 6 do not occur)."
    }
}

/// One line for a `Flow` event.
pub fn flow(f: &FlowEvent) -> String {
    match f {
        FlowEvent::Kind(k) => handshake_kind_name(k),
        FlowEvent::Renegotiation { number } => {
            format!("Renegotiation #{number}: a new handshake inside the protected connection")
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

// -- Alerts -----------------------------------------------------------------

/// What an alert says, in plain words; `None` for codes we do not know.
pub fn alert_meaning(d: AlertDescription) -> Option<&'static str> {
    use AlertDescription as A;
    Some(match d {
        A::CloseNotify => "the sender is closing the connection cleanly and will send nothing more",
        A::UnexpectedMessage => "a message arrived that the protocol does not allow at this point",
        A::BadRecordMac => {
            "a record failed its integrity check (wrong MAC, or it did not decrypt properly)"
        }
        A::DecryptionFailed => {
            "a record could not be decrypted (bad length or padding); never sent from TLS 1.1 on, \
             which answers bad_record_mac instead"
        }
        A::RecordOverflow => "a record was longer than the protocol allows",
        A::DecompressionFailure => "the receiver could not decompress a record",
        A::HandshakeFailure => {
            "the sender found no acceptable set of security parameters (often: no cipher suite \
             or version in common)"
        }
        A::NoCertificate => "SSL 3.0: the client has no certificate to answer the server's request",
        A::BadCertificate => "a certificate was damaged or its signature did not verify",
        A::UnsupportedCertificate => "a certificate is of a type the sender does not handle",
        A::CertificateRevoked => "a certificate was revoked by its issuer",
        A::CertificateExpired => "a certificate has expired or is not yet valid",
        A::CertificateUnknown => {
            "a certificate was refused for a reason not covered by the other alerts"
        }
        A::IllegalParameter => "a handshake field was out of range or contradicted another field",
        A::UnknownCa => {
            "the certificate chain does not lead to a certificate authority the sender trusts"
        }
        A::AccessDenied => "the peer was identified, but the sender's access policy refuses it",
        A::DecodeError => "a message could not be decoded: a field out of range or a wrong length",
        A::DecryptError => {
            "a cryptographic check of the handshake failed: a signature, the key exchange, or the \
             Finished hash"
        }
        A::ExportRestriction => {
            "TLS 1.0: the negotiation broke the export rules (for example an RSA key too long)"
        }
        A::ProtocolVersion => "the sender recognises the version offered but will not use it",
        A::InsufficientSecurity => {
            "the server wants stronger cipher suites than any the client offered"
        }
        A::InternalError => "the sender failed for a reason of its own, not caused by the peer",
        A::InappropriateFallback => {
            "the client retried with a lower version although the server supports a higher one: \
             a possible downgrade attack (TLS_FALLBACK_SCSV)"
        }
        A::UserCanceled => {
            "the sender is abandoning the handshake for a reason unrelated to the protocol"
        }
        A::NoRenegotiation => {
            "the sender refuses to renegotiate; the connection goes on with its current keys"
        }
        A::MissingExtension => "a message lacked an extension that is required here",
        A::UnsupportedExtension => {
            "an extension appeared in a message that may not carry it, or was never offered"
        }
        A::CertificateUnobtainable => {
            "the server could not fetch a certificate from the URL the client gave"
        }
        A::UnrecognizedName => "the server does not serve the name asked for in server_name",
        A::BadCertificateStatusResponse => {
            "the certificate status (OCSP) response was invalid or unacceptable"
        }
        A::BadCertificateHashValue => {
            "a fetched certificate did not match the hash the client gave"
        }
        A::UnknownPskIdentity => {
            "the server does not know the pre-shared key identity the client offered"
        }
        A::CertificateRequired => "TLS 1.3: the server requires a client certificate and got none",
        A::NoApplicationProtocol => {
            "the server supports none of the protocols the client offered in ALPN"
        }
        _ => return None,
    })
}

/// `fatal handshake_failure (40)`; unknown values as `level 7
/// unknown (201)`.
pub fn alert(a: &Alert) -> String {
    let level = match a.level.name() {
        Some(n) => n.to_string(),
        None => format!("level {}", a.level.0),
    };
    format!(
        "{level} {} ({})",
        a.description.name().unwrap_or("unknown"),
        a.description.0
    )
}

// -- Findings ---------------------------------------------------------------

/// `info`, `warning`, `error`.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The sentence template of each finding. `{key}` is replaced by the
/// note's parameter of that name; a `[...]` segment is kept only when every
/// parameter it names is present. Parameters the template does not use are
/// appended in parentheses, so nothing a producer says is lost.
fn note_template(code: NoteCode) -> &'static str {
    use NoteCode as N;
    match code {
        N::TcpGap => {
            "TCP data missing from the capture[ ({missing} bytes)]; parsing resumes where it can"
        }
        N::CaptureEndedMidConnection => "the capture ends while the connection is still open",
        N::TcpReset => "the TCP connection was reset",
        N::MidStreamStart => {
            "the capture starts after the TCP handshake: client and server roles were inferred"
        }
        N::RecordDesync => {
            "these bytes are not a valid record: record boundaries are lost and the rest of this \
             direction is not parsed"
        }
        N::RecordOverflow => "a record[ of {length} bytes] is longer than the protocol allows",
        N::TruncatedRecord => "the stream ends inside a record[ ({missing} bytes missing)]",
        N::RecordVersionMismatch => {
            "the record layer version[ {record}] differs from the negotiated one[ {negotiated}]"
        }
        N::EmptyRecord => "an empty record of a type that must carry data",
        N::DecodeFailed => "the message could not be decoded[: {error}]",
        N::UnexpectedMessage => "this message is out of order[: expected {expected}][, got {got}]",
        N::InterleavedHandshake => {
            "another content type arrived in the middle of a fragmented handshake message"
        }
        N::IncompleteHandshakeMessage => "a handshake message is cut off at the end of the stream",
        N::SessionResumed => {
            "the server resumed the session the client offered: no certificate and no key \
             exchange this time"
        }
        N::DowngradeSentinel => {
            "the server random ends with the TLS 1.3 downgrade marker: a TLS 1.3 server chose a \
             lower version"
        }
        N::FallbackScsv => {
            "the client sent TLS_FALLBACK_SCSV: it is retrying with a lower version than its best"
        }
        N::NoSecureRenegotiation => {
            "neither renegotiation_info nor TLS_EMPTY_RENEGOTIATION_INFO_SCSV: secure \
             renegotiation (RFC 5746) is not in use"
        }
        N::HeartbleedProbe => {
            "a heartbeat claims more payload[ ({payload_length} bytes)] than it carries[ \
             ({actual} bytes)]: a Heartbleed (CVE-2014-0160) probe"
        }
        N::Tls13Encrypted => "TLS 1.3: everything after ServerHello is encrypted",
        N::NotDecrypted => {
            "protected records are shown by type and size only: no keys for this session[ \
             ({reason})]"
        }
        N::KeyMismatch => {
            "no --key matches the server's certificate[ ({subject})]: its records stay encrypted"
        }
        N::NoSecretForSession => {
            "no secret for this session[: {reason}][ (client random {client_random})]: its \
             records stay encrypted"
        }
        N::PreMasterInvalid => {
            "the server key did not recover a valid pre-master secret from ClientKeyExchange[: \
             {reason}]"
        }
        N::FinishedVerified => "verify_data recomputed from the transcript: it matches",
        N::FinishedMismatch => {
            "verify_data does NOT match the transcript[: expected {expected}][, got {got}]"
        }
        N::BadRecordMac => {
            "this record did not open[ (sequence number {seq})][: {error}]: a wrong key, or \
             bytes altered in flight"
        }
        N::CertificateVerified => "the peer's certificate chain was verified",
        N::CertificateRejected => "the peer's certificate was refused[: {reason}]",
        N::CertificateNotVerified => {
            "the peer's certificate was not verified (no trust store given)"
        }
        N::HandshakeFailed => "the handshake failed[: {detail}]",
        N::Ssl3Negotiated => {
            "SSL 3.0 negotiated: broken by POODLE (CVE-2014-3566), prohibited by RFC 7568"
        }
        N::WeakVersion => "[{version} ]negotiated: a version deprecated by RFC 8996",
        N::ExportCipher => {
            "export cipher suite[ {suite}]: keys cut to 40 or 56 bits and 512-bit RSA, breakable \
             in hours (FREAK)"
        }
        N::Rc4Cipher => "RC4 cipher suite[ {suite}]: RC4 output is biased; prohibited by RFC 7465",
        N::NullCipher => {
            "NULL cipher suite[ {suite}]: nothing is encrypted, the data travels in clear"
        }
        N::DesCipher => {
            "single-DES cipher suite[ {suite}]: a 56-bit key, within reach of brute force"
        }
        N::TripleDesCipher => {
            "3DES cipher suite[ {suite}]: a 64-bit block cipher, open to birthday attacks on long \
             connections (Sweet32)"
        }
        N::AnonymousKeyExchange => {
            "anonymous key exchange[ in {suite}]: the server is not authenticated, anyone in the \
             middle can impersonate it"
        }
        N::DeflateCompression => {
            "DEFLATE compression chosen: compressed sizes leak secrets (CRIME)"
        }
        N::ShortRsaKey => "[{what}: ]RSA key of[ {bits}] bits, shorter than 2048[ ({subject})]",
        N::CertificateExpired => "certificate[ {subject}] expired[ on {not_after}]",
        N::CertificateNotYetValid => {
            "certificate[ {subject}] is not valid yet[ (from {not_before})]"
        }
        N::SelfSignedCertificate => {
            "certificate[ {subject}] is self-signed: only a local trust decision can accept it"
        }
        N::FatalAlert => "the handshake ended with a fatal alert[: {alert}]",
        N::HandshakeIncomplete => "the conversation ended before the handshake completed",
    }
}

/// A note's parameter as text: numbers in decimal, strings as they are,
/// bytes in lowercase hex.
pub fn note_value(v: &NoteValue) -> String {
    match v {
        NoteValue::U64(n) => n.to_string(),
        NoteValue::Str(s) => s.clone(),
        NoteValue::Bytes(b) => hex(b),
    }
}

/// The sentence for a finding, its parameters filled in.
pub fn note(n: &Note) -> String {
    let template = note_template(n.code);
    let mut used: Vec<&str> = Vec::new();
    let mut out = fill(template, n, &mut used);
    let extra: Vec<String> = n
        .params
        .iter()
        .filter(|(k, _)| !used.contains(k))
        .map(|(k, v)| format!("{k}: {}", note_value(v)))
        .collect();
    if !extra.is_empty() {
        out.push_str(&format!(" ({})", extra.join(", ")));
    }
    out
}

/// Expands `{key}` and `[optional {key}]` in `template` (see
/// [`note_template`]); records in `used` the keys that were consumed.
fn fill<'a>(template: &str, n: &'a Note, used: &mut Vec<&'a str>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('[') {
        out.push_str(&expand(&rest[..open], n, used).unwrap_or_default());
        let close = rest[open..]
            .find(']')
            .map(|c| open + c)
            .unwrap_or(rest.len());
        if let Some(seg) = expand(&rest[open + 1..close], n, used) {
            out.push_str(&seg);
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    if let Some(seg) = expand(rest, n, used) {
        out.push_str(&seg);
    }
    out
}

/// Replaces every `{key}` in `seg`; `None` when one of them is missing.
fn expand<'a>(seg: &str, n: &'a Note, used: &mut Vec<&'a str>) -> Option<String> {
    let mut out = String::new();
    let mut rest = seg;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let key = &rest[open + 1..close];
        let (k, v) = n.params.iter().find(|(k, _)| *k == key)?;
        used.push(k);
        out.push_str(&note_value(v));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

// -- Decryption -------------------------------------------------------------

/// Where a decoder found a session's secrets, as a phrase.
pub fn secret_source(s: SecretSource) -> String {
    match s {
        SecretSource::KeyLogMasterSecret => {
            "the master secret from the key log (CLIENT_RANDOM)".into()
        }
        SecretSource::KeyLogPreMaster => "the pre-master secret from the key log (RSA line)".into(),
        SecretSource::ServerKey => {
            "the pre-master secret, decrypted from ClientKeyExchange with the server's key".into()
        }
        SecretSource::EarlierSession { conn } => {
            format!("the master secret learnt on connection {conn} (a resumed session)")
        }
        SecretSource::KeyLogTls13 => "the TLS 1.3 traffic secrets from the key log".into(),
        SecretSource::Negotiated => "this endpoint's own key exchange".into(),
    }
}

/// How a CBC record's padding was checked.
pub fn padding_check(c: PaddingCheck) -> &'static str {
    match c {
        PaddingCheck::LengthOnly => "only its length checked (SSL 3.0, the POODLE weakness)",
        PaddingCheck::EveryByte => "every byte checked",
    }
}

/// The crypto of one protected record, for `-v`: sequence number, cipher,
/// MAC and verdict, IV, padding.
pub fn record_crypto(rc: &RecordCrypto) -> String {
    let f = match &rc.result {
        Err(e) => return format!("did not open: {e}"),
        Ok(f) => f,
    };
    let mut parts = vec![format!("seq {}", f.seq), f.cipher.name().to_string()];
    match &f.integrity {
        Integrity::None => parts.push("no MAC".into()),
        Integrity::Mac {
            algorithm,
            construction,
            verified,
            ..
        } => parts.push(format!(
            "{} {} {}",
            match construction {
                MacConstruction::Ssl3 => "SSL 3.0 MAC",
                MacConstruction::Hmac => "HMAC",
            },
            algorithm.name(),
            if *verified { "verified" } else { "computed" }
        )),
        Integrity::AeadTag { verified, .. } => parts.push(format!(
            "AEAD tag {}",
            if *verified { "verified" } else { "computed" }
        )),
    }
    match &f.iv {
        IvUse::None => {}
        IvUse::CbcImplicit { iv, from_key_block } => parts.push(format!(
            "implicit IV {} ({})",
            hex(iv),
            if *from_key_block {
                "from the key block"
            } else {
                "the last ciphertext block of the record before"
            }
        )),
        IvUse::CbcExplicit { iv } => parts.push(format!("explicit IV {}", hex(iv))),
        IvUse::GcmNonce { salt, explicit } => {
            parts.push(format!("nonce {} + {}", hex(salt), hex(explicit)))
        }
        IvUse::Tls13Nonce { nonce } => {
            parts.push(format!("nonce {} (IV XOR sequence number)", hex(nonce)))
        }
    }
    if let Some(p) = &f.padding {
        parts.push(format!(
            "padding {} + 1 bytes, {}",
            p.length,
            padding_check(p.check)
        ));
    }
    if f.encrypt_then_mac {
        parts.push("encrypt-then-MAC".into());
    }
    if let Some(n) = rc.plaintext_length {
        parts.push(format!("{n} bytes of plaintext"));
    }
    parts.join(", ")
}

// -- Certificates -----------------------------------------------------------

/// A certificate's public key: `RSA 2048 bits`, `EC P-256 (256 bits)`,
/// `Ed25519`.
pub fn key(k: &KeyType, bits: u32) -> String {
    let size = |name: &str| {
        if bits == 0 {
            format!("{name}, size unknown")
        } else {
            format!("{name} {bits} bits")
        }
    };
    match k {
        KeyType::Rsa => size("RSA"),
        KeyType::RsaPss => size("RSA-PSS (signing only)"),
        KeyType::Ec { curve } => format!("EC {curve} ({bits} bits)"),
        KeyType::Ed25519 => "Ed25519".into(),
        KeyType::Ed448 => "Ed448".into(),
        KeyType::X25519 => "X25519".into(),
        KeyType::X448 => "X448".into(),
        KeyType::Dsa => size("DSA"),
        KeyType::Unknown { oid } => format!("algorithm {oid}"),
    }
}

/// The stable id of a key type, as in JSON: `rsa`, `rsa_pss`, `ec`...
pub fn key_type_id(k: &KeyType) -> &'static str {
    match k {
        KeyType::Rsa => "rsa",
        KeyType::RsaPss => "rsa_pss",
        KeyType::Ec { .. } => "ec",
        KeyType::Ed25519 => "ed25519",
        KeyType::Ed448 => "ed448",
        KeyType::X25519 => "x25519",
        KeyType::X448 => "x448",
        KeyType::Dsa => "dsa",
        KeyType::Unknown { .. } => "unknown",
    }
}

/// The stable id of a subjectAltName kind: `dns`, `ip`, `email`...
pub fn alt_name_kind_id(k: AltNameKind) -> &'static str {
    match k {
        AltNameKind::Dns => "dns",
        AltNameKind::Ip => "ip",
        AltNameKind::Email => "email",
        AltNameKind::Uri => "uri",
        AltNameKind::DirectoryName => "directory_name",
        AltNameKind::RegisteredId => "registered_id",
        AltNameKind::Other => "other",
    }
}

/// A subjectAltName as OpenSSL writes it: `DNS:example.com`,
/// `IP:192.0.2.1`.
pub fn alt_name(a: &AltName) -> String {
    let prefix = match a.kind {
        AltNameKind::Dns => "DNS",
        AltNameKind::Ip => "IP",
        AltNameKind::Email => "email",
        AltNameKind::Uri => "URI",
        AltNameKind::DirectoryName => "DirName",
        AltNameKind::RegisteredId => "RID",
        AltNameKind::Other => "othername",
    };
    format!("{prefix}:{}", a.value)
}

// -- Bytes and time ---------------------------------------------------------

/// Lowercase hex, no separators.
pub fn hex(b: &[u8]) -> String {
    crate::wire::codec::to_hex(b)
}

/// Seconds since the Unix epoch as a civil UTC date and time.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Days since 1970-01-01 to a proleptic Gregorian date, counting in
    // 400-year eras that start on 0000-03-01 so leap days fall at the end.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (sod / 3600) as u32,
        (sod % 3600 / 60) as u32,
        (sod % 60) as u32,
    )
}

/// `2020-09-13 12:26:40 UTC`.
pub fn utc(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// `12:26:40.123456` (time of day, UTC, microseconds).
pub fn time_of_day(t: Timestamp) -> String {
    let (_, _, _, h, mi, s) = civil(t.secs);
    format!("{h:02}:{mi:02}:{s:02}.{:06}", t.nanos / 1000)
}

/// How far a gmt_unix_time may be from the reference time and still be
/// taken for a clock reading. Clients with a wrong clock exist; a random
/// value lands in a ±3-year window only about 4% of the time.
pub const PLAUSIBLE_CLOCK_SKEW_SECS: i64 = 3 * 366 * 86_400;

/// Whether the first four bytes of a hello random read as a time near
/// `reference` (the capture time or the injected "now").
pub fn plausible_gmt_unix_time(gmt: u32, reference: Timestamp) -> bool {
    (i64::from(gmt) - reference.secs).abs() <= PLAUSIBLE_CLOCK_SKEW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_note_code_is_described() {
        for code in NoteCode::ALL {
            let bare = note(&Note::new(*code));
            assert!(bare.len() > 10, "{code:?}: {bare}");
            assert!(
                !bare.contains('{') && !bare.contains('['),
                "{code:?}: {bare}"
            );
        }
    }

    #[test]
    fn every_alert_is_described() {
        for d in AlertDescription::ALL {
            assert!(alert_meaning(*d).is_some(), "{d:?}");
        }
        assert_eq!(alert_meaning(AlertDescription(201)), None);
    }

    #[test]
    fn every_classic_step_has_a_meaning() {
        for s in 1..=11 {
            assert!(step_meaning(s).is_some());
        }
        assert!(step_meaning(12).is_none());
    }

    #[test]
    fn note_parameters_fill_the_template() {
        let n = Note::new(NoteCode::UnexpectedMessage)
            .with("expected", "server_hello_done")
            .with("got", "finished");
        assert_eq!(
            note(&n),
            "this message is out of order: expected server_hello_done, got finished"
        );
        let n = Note::new(NoteCode::TcpGap)
            .with("missing", 1200u32)
            .with("at", 77u32);
        assert_eq!(
            note(&n),
            "TCP data missing from the capture (1200 bytes); parsing resumes where it can (at: 77)"
        );
        let n = Note::new(NoteCode::ShortRsaKey).with("bits", 1024u32);
        assert_eq!(note(&n), "RSA key of 1024 bits, shorter than 2048");
    }

    #[test]
    fn versions() {
        assert_eq!(version(ProtocolVersion::TLSv1_0), "{3,1} TLS 1.0");
        assert_eq!(version(ProtocolVersion::SSLv3), "{3,0} SSL 3.0");
        assert_eq!(
            version(ProtocolVersion(0x7f17)),
            "{127,23} TLS 1.3 draft 23"
        );
        assert_eq!(version(ProtocolVersion(0x3a3a)), "{58,58} GREASE");
        assert_eq!(version(ProtocolVersion(0x0309)), "{3,9} unknown");
    }

    #[test]
    fn alerts_and_titles() {
        let a = Alert::fatal(AlertDescription::HandshakeFailure);
        assert_eq!(alert(&a), "fatal handshake_failure (40)");
        assert_eq!(
            handshake_type_title(HandshakeType::ServerHelloDone),
            "ServerHelloDone"
        );
        assert_eq!(handshake_type_title(HandshakeType(99)), "Handshake type 99");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_600_000_000), "2020-09-13 12:26:40 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(
            time_of_day(Timestamp {
                secs: 1_600_000_000,
                nanos: 123_456_789
            }),
            "12:26:40.123456"
        );
    }

    #[test]
    fn suites_grease_and_unknown() {
        assert_eq!(suite(CipherSuite(0x0a0a)), "0x0A0A GREASE");
        assert_eq!(suite(CipherSuite(0x4242)), "0x4242 unknown");
    }
}
