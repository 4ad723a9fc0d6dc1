//! Handshake messages (RFC 5246 §7.4, RFC 6101 §5.6, RFC 8446 §4): the
//! four-byte handshake header, [`HandshakeMessage`] with the one dispatch on
//! `HandshakeType`, and every message body not in `hello`.
//!
//! Several bodies depend on what was negotiated earlier (the version, the
//! key exchange): [`WireContext`] carries that. Where the context is
//! unknown, a body is kept opaque rather than guessed.

use super::codec::{decode_list, Codec, DecodeError, Reader, WireWrite};
use super::enums::*;
use super::extensions::{decode_extensions, encode_extensions, Extension};
use super::hello::{ClientHello, ServerHello};

/// RFC 5246 §7.4: `struct { HandshakeType msg_type; uint24 length; ... } Handshake;`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeHeader {
    pub typ: HandshakeType,
    pub length: u32,
}

impl HandshakeHeader {
    pub const LEN: usize = 4;
    pub fn parse(b: &[u8; 4]) -> Self {
        Self {
            typ: HandshakeType(b[0]),
            length: u32::from_be_bytes([0, b[1], b[2], b[3]]),
        }
    }
}

impl Codec for HandshakeHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        self.typ.encode(out);
        out.put_u24(self.length);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            typ: HandshakeType::decode(r)?,
            length: r.u24("Handshake.length")?,
        })
    }
}

/// The key exchange family of the negotiated suite, as far as the codec
/// needs it: it decides the layout of ServerKeyExchange and
/// ClientKeyExchange (RFC 5246 §7.4.3, §7.4.7; RFC 8422 §5.4, §5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyExchangeKind {
    /// Not known (yet): bodies that depend on it stay opaque.
    #[default]
    Unknown,
    /// RSA key transport; ServerKeyExchange only with export suites.
    Rsa,
    /// Ephemeral or anonymous finite-field Diffie-Hellman.
    Dhe,
    DhAnon,
    /// Ephemeral or anonymous elliptic-curve Diffie-Hellman.
    Ecdhe,
    EcdhAnon,
    /// Pure PSK (RFC 4279 §2).
    Psk,
    /// TLS 1.3: key exchange is in the hellos' key_share.
    Tls13,
}

/// What the codec must know from earlier messages to decode a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireContext {
    /// The negotiated version (before ServerHello: the record version).
    pub version: ProtocolVersion,
    pub key_exchange: KeyExchangeKind,
}

impl Default for WireContext {
    fn default() -> Self {
        Self {
            version: ProtocolVersion::TLSv1_2,
            key_exchange: KeyExchangeKind::Unknown,
        }
    }
}

impl WireContext {
    pub fn new(version: ProtocolVersion, key_exchange: KeyExchangeKind) -> Self {
        Self {
            version,
            key_exchange,
        }
    }
    /// TLS 1.2 and later carry a signature algorithm with each signature.
    fn signs_with_algorithm(&self) -> bool {
        self.version.0 >= ProtocolVersion::TLSv1_2.0
    }
    fn is_tls13(&self) -> bool {
        self.version == ProtocolVersion::TLSv1_3
    }
}

/// A handshake message, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeMessage {
    HelloRequest,
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    NewSessionTicket(NewSessionTicket),
    EndOfEarlyData,
    EncryptedExtensions(Vec<Extension>),
    Certificate(Certificate),
    ServerKeyExchange(ServerKeyExchange),
    CertificateRequest(CertificateRequest),
    ServerHelloDone,
    CertificateVerify(DigitallySigned),
    ClientKeyExchange(ClientKeyExchange),
    Finished(Finished),
    CertificateStatus(CertificateStatus),
    KeyUpdate(KeyUpdateRequest),
    /// A type this codec does not parse; the body is kept as it came.
    Unknown {
        typ: HandshakeType,
        body: Vec<u8>,
    },
}

impl HandshakeMessage {
    pub fn typ(&self) -> HandshakeType {
        match self {
            Self::HelloRequest => HandshakeType::HelloRequest,
            Self::ClientHello(_) => HandshakeType::ClientHello,
            Self::ServerHello(_) => HandshakeType::ServerHello,
            Self::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            Self::EndOfEarlyData => HandshakeType::EndOfEarlyData,
            Self::EncryptedExtensions(_) => HandshakeType::EncryptedExtensions,
            Self::Certificate(_) => HandshakeType::Certificate,
            Self::ServerKeyExchange(_) => HandshakeType::ServerKeyExchange,
            Self::CertificateRequest(_) => HandshakeType::CertificateRequest,
            Self::ServerHelloDone => HandshakeType::ServerHelloDone,
            Self::CertificateVerify(_) => HandshakeType::CertificateVerify,
            Self::ClientKeyExchange(_) => HandshakeType::ClientKeyExchange,
            Self::Finished(_) => HandshakeType::Finished,
            Self::CertificateStatus(_) => HandshakeType::CertificateStatus,
            Self::KeyUpdate(_) => HandshakeType::KeyUpdate,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// Decodes the body of a message of type `typ`. `body_offset` is where
    /// the body starts in the caller's buffer, so errors point into it.
    pub fn decode_body(
        typ: HandshakeType,
        body: &[u8],
        cx: &WireContext,
        body_offset: usize,
    ) -> Result<Self, DecodeError> {
        let r = &mut Reader::at(body, body_offset);
        let what = typ.name().unwrap_or("Handshake");
        let msg = match typ {
            HandshakeType::HelloRequest => Self::HelloRequest,
            HandshakeType::ClientHello => Self::ClientHello(ClientHello::decode(r)?),
            HandshakeType::ServerHello => Self::ServerHello(ServerHello::decode(r)?),
            HandshakeType::NewSessionTicket => {
                Self::NewSessionTicket(NewSessionTicket::decode(r, cx)?)
            }
            HandshakeType::EndOfEarlyData => Self::EndOfEarlyData,
            HandshakeType::EncryptedExtensions => Self::EncryptedExtensions(decode_extensions(r)?),
            HandshakeType::Certificate => Self::Certificate(Certificate::decode(r, cx)?),
            HandshakeType::ServerKeyExchange => {
                Self::ServerKeyExchange(ServerKeyExchange::decode(r, cx)?)
            }
            HandshakeType::CertificateRequest => {
                Self::CertificateRequest(CertificateRequest::decode(r, cx)?)
            }
            HandshakeType::ServerHelloDone => Self::ServerHelloDone,
            HandshakeType::CertificateVerify => {
                Self::CertificateVerify(DigitallySigned::decode(r, cx)?)
            }
            HandshakeType::ClientKeyExchange => {
                Self::ClientKeyExchange(ClientKeyExchange::decode(r, cx)?)
            }
            HandshakeType::Finished => Self::Finished(Finished {
                verify_data: r.rest().to_vec(),
            }),
            HandshakeType::CertificateStatus => {
                Self::CertificateStatus(CertificateStatus::decode(r)?)
            }
            HandshakeType::KeyUpdate => Self::KeyUpdate(KeyUpdateRequest::decode(r)?),
            _ => Self::Unknown {
                typ,
                body: r.rest().to_vec(),
            },
        };
        r.expect_end(what)?;
        Ok(msg)
    }

    /// Decodes one whole message, header included, that must fill `bytes`.
    pub fn decode_message(bytes: &[u8], cx: &WireContext) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let header = HandshakeHeader::decode(&mut r)?;
        let body = r.take(header.length as usize, "Handshake.body")?;
        r.expect_end("Handshake")?;
        Self::decode_body(header.typ, body, cx, HandshakeHeader::LEN)
    }

    /// Appends the body only.
    pub fn encode_body(&self, cx: &WireContext, out: &mut Vec<u8>) {
        match self {
            Self::HelloRequest | Self::ServerHelloDone | Self::EndOfEarlyData => {}
            Self::ClientHello(m) => m.encode(out),
            Self::ServerHello(m) => m.encode(out),
            Self::NewSessionTicket(m) => m.encode(out),
            Self::EncryptedExtensions(e) => encode_extensions(e, out),
            Self::Certificate(m) => m.encode(out),
            Self::ServerKeyExchange(m) => m.encode(out),
            Self::CertificateRequest(m) => m.encode(out),
            Self::CertificateVerify(m) => m.encode(out),
            Self::ClientKeyExchange(m) => m.encode(cx, out),
            Self::Finished(m) => out.put(&m.verify_data),
            Self::CertificateStatus(m) => m.encode(out),
            Self::KeyUpdate(m) => m.encode(out),
            Self::Unknown { body, .. } => out.put(body),
        }
    }

    /// Appends the whole message: header and body.
    pub fn encode(&self, cx: &WireContext, out: &mut Vec<u8>) {
        self.typ().encode(out);
        out.with_u24_len(|w| self.encode_body(cx, w));
    }

    pub fn to_bytes(&self, cx: &WireContext) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(cx, &mut out);
        out
    }
}

/// RFC 5246 §7.4.2 `opaque ASN.1Cert<1..2^24-1>; struct { ASN.1Cert
/// certificate_list<0..2^24-1>; } Certificate;`, and RFC 8446 §4.4.2 with a
/// request context and per-entry extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// TLS 1.3 only: `opaque certificate_request_context<0..2^8-1>`.
    pub context: Option<Vec<u8>>,
    pub entries: Vec<CertificateEntry>,
}

/// One certificate (DER) and, in TLS 1.3, its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    pub der: Vec<u8>,
    pub extensions: Option<Vec<Extension>>,
}

impl Certificate {
    /// A TLS 1.2-style chain from DER certificates, leaf first.
    pub fn from_chain(chain: Vec<Vec<u8>>) -> Self {
        Self {
            context: None,
            entries: chain
                .into_iter()
                .map(|der| CertificateEntry {
                    der,
                    extensions: None,
                })
                .collect(),
        }
    }

    pub fn chain(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.iter().map(|e| e.der.as_slice())
    }

    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        let tls13 = cx.is_tls13();
        let context = if tls13 {
            Some(r.vec_u8("Certificate.certificate_request_context")?)
        } else {
            None
        };
        let mut list = r.sub_u24("Certificate.certificate_list")?;
        let mut entries = Vec::new();
        while !list.is_empty() {
            let der = list.vec_u24("ASN.1Cert")?;
            if der.is_empty() {
                return Err(DecodeError::BadLength {
                    what: "ASN.1Cert",
                    offset: list.offset() - 3,
                    length: 0,
                });
            }
            let extensions = if tls13 {
                Some(decode_extensions(&mut list)?)
            } else {
                None
            };
            entries.push(CertificateEntry { der, extensions });
        }
        Ok(Self { context, entries })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        if let Some(c) = &self.context {
            out.with_u8_len(|w| w.put(c));
        }
        out.with_u24_len(|w| {
            for e in &self.entries {
                w.with_u24_len(|w| w.put(&e.der));
                if let Some(exts) = &e.extensions {
                    encode_extensions(exts, w);
                }
            }
        });
    }
}

/// `digitally-signed` (RFC 5246 §4.7): TLS 1.2 prefixes the signature with
/// its SignatureAndHashAlgorithm; SSL 3.0 to TLS 1.1 send only the
/// length-prefixed signature. Used by ServerKeyExchange and
/// CertificateVerify (RFC 5246 §7.4.8, RFC 8446 §4.4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitallySigned {
    pub algorithm: Option<SignatureScheme>,
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        let algorithm = if cx.signs_with_algorithm() {
            Some(SignatureScheme::decode(r)?)
        } else {
            None
        };
        let signature = r.vec_u16("digitally-signed.signature")?;
        Ok(Self {
            algorithm,
            signature,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        if let Some(a) = self.algorithm {
            a.encode(out);
        }
        out.with_u16_len(|w| w.put(&self.signature));
    }
}

/// RFC 5246 §7.4.3 `ServerKeyExchange`, by key exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKeyExchange {
    /// Export RSA: a temporary key `ServerRSAParams { opaque rsa_modulus<1..2^16-1>;
    /// opaque rsa_exponent<1..2^16-1>; }`, signed (RFC 2246 §7.4.3).
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
        signature: DigitallySigned,
    },
    /// `ServerDHParams { opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>;
    /// opaque dh_Ys<1..2^16-1>; }`, signed unless anonymous.
    Dh {
        p: Vec<u8>,
        g: Vec<u8>,
        public: Vec<u8>,
        signature: Option<DigitallySigned>,
    },
    /// RFC 8422 §5.4 `ServerECDHParams { ECParameters curve_params; ECPoint
    /// public; }` with a named curve, signed unless anonymous.
    Ecdh {
        named_curve: NamedGroup,
        public: Vec<u8>,
        signature: Option<DigitallySigned>,
    },
    /// RFC 4279 §2: `opaque psk_identity_hint<0..2^16-1>`.
    Psk { identity_hint: Vec<u8> },
    /// A layout not parsed here (unknown key exchange, explicit curves).
    Opaque(Vec<u8>),
}

impl ServerKeyExchange {
    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        Ok(match cx.key_exchange {
            KeyExchangeKind::Rsa => Self::Rsa {
                modulus: r.vec_u16("ServerRSAParams.rsa_modulus")?,
                exponent: r.vec_u16("ServerRSAParams.rsa_exponent")?,
                signature: DigitallySigned::decode(r, cx)?,
            },
            KeyExchangeKind::Dhe | KeyExchangeKind::DhAnon => {
                let p = r.vec_u16("ServerDHParams.dh_p")?;
                let g = r.vec_u16("ServerDHParams.dh_g")?;
                let public = r.vec_u16("ServerDHParams.dh_Ys")?;
                let signature = if cx.key_exchange == KeyExchangeKind::Dhe {
                    Some(DigitallySigned::decode(r, cx)?)
                } else {
                    None
                };
                Self::Dh {
                    p,
                    g,
                    public,
                    signature,
                }
            }
            KeyExchangeKind::Ecdhe | KeyExchangeKind::EcdhAnon => {
                let curve_type = EcCurveType::decode(r)?;
                if curve_type != EcCurveType::NamedCurve {
                    // Explicit curves (deprecated by RFC 8422): kept opaque.
                    let mut all = vec![curve_type.0];
                    all.extend_from_slice(r.rest());
                    return Ok(Self::Opaque(all));
                }
                let named_curve = NamedGroup::decode(r)?;
                let public = r.vec_u8("ServerECDHParams.public")?;
                let signature = if cx.key_exchange == KeyExchangeKind::Ecdhe {
                    Some(DigitallySigned::decode(r, cx)?)
                } else {
                    None
                };
                Self::Ecdh {
                    named_curve,
                    public,
                    signature,
                }
            }
            KeyExchangeKind::Psk => Self::Psk {
                identity_hint: r.vec_u16("ServerKeyExchange.psk_identity_hint")?,
            },
            KeyExchangeKind::Unknown | KeyExchangeKind::Tls13 => Self::Opaque(r.rest().to_vec()),
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Rsa {
                modulus,
                exponent,
                signature,
            } => {
                out.with_u16_len(|w| w.put(modulus));
                out.with_u16_len(|w| w.put(exponent));
                signature.encode(out);
            }
            Self::Dh {
                p,
                g,
                public,
                signature,
            } => {
                out.with_u16_len(|w| w.put(p));
                out.with_u16_len(|w| w.put(g));
                out.with_u16_len(|w| w.put(public));
                if let Some(s) = signature {
                    s.encode(out);
                }
            }
            Self::Ecdh {
                named_curve,
                public,
                signature,
            } => {
                EcCurveType::NamedCurve.encode(out);
                named_curve.encode(out);
                out.with_u8_len(|w| w.put(public));
                if let Some(s) = signature {
                    s.encode(out);
                }
            }
            Self::Psk { identity_hint } => out.with_u16_len(|w| w.put(identity_hint)),
            Self::Opaque(b) => out.put(b),
        }
    }

    pub fn signature(&self) -> Option<&DigitallySigned> {
        match self {
            Self::Rsa { signature, .. } => Some(signature),
            Self::Dh { signature, .. } | Self::Ecdh { signature, .. } => signature.as_ref(),
            Self::Psk { .. } | Self::Opaque(_) => None,
        }
    }
}

/// RFC 5246 §7.4.4 (with TLS 1.2's supported_signature_algorithms; RFC
/// 6101 §5.6.4 and RFC 2246 §7.4.4 lack it) and RFC 8446 §4.3.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateRequest {
    Legacy {
        certificate_types: Vec<ClientCertificateType>,
        /// TLS 1.2 only.
        signature_algorithms: Option<Vec<SignatureScheme>>,
        /// DER-encoded DistinguishedNames.
        certificate_authorities: Vec<Vec<u8>>,
    },
    Tls13 {
        context: Vec<u8>,
        extensions: Vec<Extension>,
    },
}

impl CertificateRequest {
    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        if cx.is_tls13() {
            return Ok(Self::Tls13 {
                context: r.vec_u8("CertificateRequest.certificate_request_context")?,
                extensions: decode_extensions(r)?,
            });
        }
        let mut types = r.sub_u8("CertificateRequest.certificate_types")?;
        let certificate_types = decode_list(&mut types)?;
        let signature_algorithms = if cx.signs_with_algorithm() {
            let mut l = r.sub_u16("CertificateRequest.supported_signature_algorithms")?;
            if l.remaining() % 2 != 0 {
                return Err(l.bad_length(
                    "CertificateRequest.supported_signature_algorithms",
                    l.remaining(),
                ));
            }
            Some(decode_list(&mut l)?)
        } else {
            None
        };
        let mut cas = r.sub_u16("CertificateRequest.certificate_authorities")?;
        let mut certificate_authorities = Vec::new();
        while !cas.is_empty() {
            certificate_authorities.push(cas.vec_u16("DistinguishedName")?);
        }
        Ok(Self::Legacy {
            certificate_types,
            signature_algorithms,
            certificate_authorities,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Legacy {
                certificate_types,
                signature_algorithms,
                certificate_authorities,
            } => {
                out.with_u8_len(|w| certificate_types.iter().for_each(|t| t.encode(w)));
                if let Some(algs) = signature_algorithms {
                    out.with_u16_len(|w| algs.iter().for_each(|a| a.encode(w)));
                }
                out.with_u16_len(|w| {
                    for dn in certificate_authorities {
                        w.with_u16_len(|w| w.put(dn));
                    }
                });
            }
            Self::Tls13 {
                context,
                extensions,
            } => {
                out.with_u8_len(|w| w.put(context));
                encode_extensions(extensions, out);
            }
        }
    }
}

/// RFC 5246 §7.4.7 `ClientKeyExchange`, by key exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKeyExchange {
    /// `EncryptedPreMasterSecret`: in TLS a `public-key-encrypted` value,
    /// i.e. u16-length-prefixed; SSL 3.0 sends the bare RSA ciphertext
    /// (RFC 6101 §5.6.7.1). `length_prefixed` records which was seen so a
    /// received message re-encodes as it came.
    Rsa {
        encrypted_pre_master: Vec<u8>,
        length_prefixed: bool,
    },
    /// `ClientDiffieHellmanPublic { opaque dh_Yc<1..2^16-1>; }`.
    Dh {
        public: Vec<u8>,
    },
    /// RFC 8422 §5.7 `ClientECDiffieHellmanPublic { ECPoint ecdh_Yc; }`
    /// (`opaque point<1..2^8-1>`).
    Ecdh {
        public: Vec<u8>,
    },
    /// RFC 4279 §2: `opaque psk_identity<0..2^16-1>`.
    Psk {
        identity: Vec<u8>,
    },
    Opaque(Vec<u8>),
}

impl ClientKeyExchange {
    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        Ok(match cx.key_exchange {
            KeyExchangeKind::Rsa if cx.version == ProtocolVersion::SSLv3 => Self::Rsa {
                encrypted_pre_master: r.rest().to_vec(),
                length_prefixed: false,
            },
            KeyExchangeKind::Rsa => Self::Rsa {
                encrypted_pre_master: r.vec_u16("EncryptedPreMasterSecret")?,
                length_prefixed: true,
            },
            KeyExchangeKind::Dhe | KeyExchangeKind::DhAnon => Self::Dh {
                public: r.vec_u16("ClientDiffieHellmanPublic.dh_Yc")?,
            },
            KeyExchangeKind::Ecdhe | KeyExchangeKind::EcdhAnon => Self::Ecdh {
                public: r.vec_u8("ClientECDiffieHellmanPublic.ecdh_Yc")?,
            },
            KeyExchangeKind::Psk => Self::Psk {
                identity: r.vec_u16("ClientKeyExchange.psk_identity")?,
            },
            KeyExchangeKind::Unknown | KeyExchangeKind::Tls13 => Self::Opaque(r.rest().to_vec()),
        })
    }

    /// The RSA form is the one recorded in the value (see [`Self::rsa`]), so
    /// a received message re-encodes exactly as it came.
    fn encode(&self, _cx: &WireContext, out: &mut Vec<u8>) {
        match self {
            Self::Rsa {
                encrypted_pre_master,
                length_prefixed,
            } => {
                if *length_prefixed {
                    out.with_u16_len(|w| w.put(encrypted_pre_master));
                } else {
                    out.put(encrypted_pre_master);
                }
            }
            Self::Dh { public } => out.with_u16_len(|w| w.put(public)),
            Self::Ecdh { public } => out.with_u8_len(|w| w.put(public)),
            Self::Psk { identity } => out.with_u16_len(|w| w.put(identity)),
            Self::Opaque(b) => out.put(b),
        }
    }

    /// An RSA ClientKeyExchange in the form `version` uses.
    pub fn rsa(encrypted_pre_master: Vec<u8>, version: ProtocolVersion) -> Self {
        Self::Rsa {
            encrypted_pre_master,
            length_prefixed: version != ProtocolVersion::SSLv3,
        }
    }
}

/// RFC 5246 §7.4.9 `struct { opaque verify_data[verify_data_length]; } Finished;`
/// 12 bytes in TLS 1.0-1.2, 36 in SSL 3.0 (MD5 + SHA-1 hashes), the hash
/// length in TLS 1.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub verify_data: Vec<u8>,
}

/// RFC 5077 §3.3 (TLS 1.2) and RFC 8446 §4.6.1 (TLS 1.3) `NewSessionTicket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewSessionTicket {
    Tls12 {
        lifetime_hint: u32,
        ticket: Vec<u8>,
    },
    Tls13 {
        lifetime: u32,
        age_add: u32,
        nonce: Vec<u8>,
        ticket: Vec<u8>,
        extensions: Vec<Extension>,
    },
}

impl NewSessionTicket {
    fn decode(r: &mut Reader<'_>, cx: &WireContext) -> Result<Self, DecodeError> {
        if cx.is_tls13() {
            Ok(Self::Tls13 {
                lifetime: r.u32("NewSessionTicket.ticket_lifetime")?,
                age_add: r.u32("NewSessionTicket.ticket_age_add")?,
                nonce: r.vec_u8("NewSessionTicket.ticket_nonce")?,
                ticket: r.vec_u16("NewSessionTicket.ticket")?,
                extensions: decode_extensions(r)?,
            })
        } else {
            Ok(Self::Tls12 {
                lifetime_hint: r.u32("NewSessionTicket.ticket_lifetime_hint")?,
                ticket: r.vec_u16("NewSessionTicket.ticket")?,
            })
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Tls12 {
                lifetime_hint,
                ticket,
            } => {
                out.put_u32(*lifetime_hint);
                out.with_u16_len(|w| w.put(ticket));
            }
            Self::Tls13 {
                lifetime,
                age_add,
                nonce,
                ticket,
                extensions,
            } => {
                out.put_u32(*lifetime);
                out.put_u32(*age_add);
                out.with_u8_len(|w| w.put(nonce));
                out.with_u16_len(|w| w.put(ticket));
                encode_extensions(extensions, out);
            }
        }
    }
}

/// RFC 6066 §8 `struct { CertificateStatusType status_type; select
/// (status_type) { case ocsp: OCSPResponse; } response; } CertificateStatus;`
/// with `opaque OCSPResponse<1..2^24-1>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateStatus {
    pub status_type: CertificateStatusType,
    pub response: Vec<u8>,
}

impl Codec for CertificateStatus {
    fn encode(&self, out: &mut Vec<u8>) {
        self.status_type.encode(out);
        if self.status_type == CertificateStatusType::Ocsp {
            out.with_u24_len(|w| w.put(&self.response));
        } else {
            out.put(&self.response);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let status_type = CertificateStatusType::decode(r)?;
        let response = if status_type == CertificateStatusType::Ocsp {
            r.vec_u24("CertificateStatus.OCSPResponse")?
        } else {
            r.rest().to_vec()
        };
        Ok(Self {
            status_type,
            response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::extensions::ExtensionBody;
    use crate::wire::hello::Random;

    fn cx(v: ProtocolVersion, kx: KeyExchangeKind) -> WireContext {
        WireContext::new(v, kx)
    }

    /// Every message in every context it can appear in: encode, decode back
    /// equal, and every strict prefix rejected.
    fn check(msg: HandshakeMessage, cx: WireContext) {
        let bytes = msg.to_bytes(&cx);
        let back = HandshakeMessage::decode_message(&bytes, &cx)
            .unwrap_or_else(|e| panic!("{msg:?}: {e}"));
        assert_eq!(back, msg);
        assert_eq!(back.to_bytes(&cx), bytes);
        for cut in 0..bytes.len() {
            assert!(
                HandshakeMessage::decode_message(&bytes[..cut], &cx).is_err(),
                "{:?} accepted a prefix of {cut} bytes",
                msg.typ()
            );
        }
        // One byte too many inside the body is rejected, naming the message.
        let mut longer = bytes.clone();
        longer.push(0);
        let len = (bytes.len() - 3) as u32;
        longer[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
        if !matches!(
            msg,
            HandshakeMessage::Finished(_)
                | HandshakeMessage::Unknown { .. }
                | HandshakeMessage::ClientKeyExchange(ClientKeyExchange::Opaque(_))
                | HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Opaque(_))
                | HandshakeMessage::ClientKeyExchange(ClientKeyExchange::Rsa {
                    length_prefixed: false,
                    ..
                })
        ) {
            // (ClientHello/ServerHello treat a trailing byte as a truncated
            // extensions block: also an error.)
            assert!(
                HandshakeMessage::decode_message(&longer, &cx).is_err(),
                "{:?}",
                msg.typ()
            );
        }
    }

    fn sig(alg: Option<SignatureScheme>) -> DigitallySigned {
        DigitallySigned {
            algorithm: alg,
            signature: vec![0x5a; 64],
        }
    }

    #[test]
    fn every_message_round_trips_in_every_version() {
        use KeyExchangeKind as K;
        for v in [
            ProtocolVersion::SSLv3,
            ProtocolVersion::TLSv1_0,
            ProtocolVersion::TLSv1_1,
            ProtocolVersion::TLSv1_2,
        ] {
            let alg = (v == ProtocolVersion::TLSv1_2).then_some(SignatureScheme::RsaPkcs1Sha256);
            check(HandshakeMessage::HelloRequest, cx(v, K::Rsa));
            check(HandshakeMessage::ServerHelloDone, cx(v, K::Rsa));
            check(
                HandshakeMessage::ClientHello(crate::wire::hello::tests::sample_client_hello()),
                cx(v, K::Unknown),
            );
            check(
                HandshakeMessage::ServerHello(ServerHello {
                    server_version: v,
                    random: Random([1; 32]),
                    session_id: vec![9; 32],
                    cipher_suite: CipherSuite(0x000a),
                    compression_method: CompressionMethod::Null,
                    extensions: Some(vec![Extension::from_body(
                        &ExtensionBody::RenegotiationInfo(vec![]),
                    )]),
                }),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::Certificate(Certificate::from_chain(vec![
                    vec![0x30; 300],
                    vec![0x30; 10],
                ])),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::Certificate(Certificate::from_chain(vec![])),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Rsa {
                    modulus: vec![0xc1; 64],
                    exponent: vec![1, 0, 1],
                    signature: sig(alg),
                }),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Ecdh {
                    named_curve: NamedGroup::Secp256r1,
                    public: vec![4; 65],
                    signature: Some(sig(alg)),
                }),
                cx(v, K::Ecdhe),
            );
            check(
                HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Dh {
                    p: vec![0xff; 128],
                    g: vec![2],
                    public: vec![0x11; 128],
                    signature: Some(sig(alg)),
                }),
                cx(v, K::Dhe),
            );
            check(
                HandshakeMessage::CertificateRequest(CertificateRequest::Legacy {
                    certificate_types: vec![
                        ClientCertificateType::RsaSign,
                        ClientCertificateType(99),
                    ],
                    signature_algorithms: alg.map(|a| vec![a, SignatureScheme::RsaPkcs1Sha1]),
                    certificate_authorities: vec![vec![0x30, 0x00]],
                }),
                cx(v, K::Rsa),
            );
            check(HandshakeMessage::CertificateVerify(sig(alg)), cx(v, K::Rsa));
            check(
                HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(vec![0xee; 256], v)),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::ClientKeyExchange(ClientKeyExchange::Ecdh {
                    public: vec![4; 65],
                }),
                cx(v, K::Ecdhe),
            );
            let vd_len = if v == ProtocolVersion::SSLv3 { 36 } else { 12 };
            check(
                HandshakeMessage::Finished(Finished {
                    verify_data: vec![0xf1; vd_len],
                }),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::NewSessionTicket(NewSessionTicket::Tls12 {
                    lifetime_hint: 7200,
                    ticket: vec![1; 100],
                }),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::CertificateStatus(CertificateStatus {
                    status_type: CertificateStatusType::Ocsp,
                    response: vec![0x30; 20],
                }),
                cx(v, K::Rsa),
            );
            check(
                HandshakeMessage::Unknown {
                    typ: HandshakeType(77),
                    body: vec![1, 2, 3],
                },
                cx(v, K::Rsa),
            );
        }
    }

    #[test]
    fn tls13_messages_round_trip() {
        let c = cx(ProtocolVersion::TLSv1_3, KeyExchangeKind::Tls13);
        check(
            HandshakeMessage::EncryptedExtensions(vec![Extension::from_body(
                &ExtensionBody::ServerName(vec![]),
            )]),
            c,
        );
        check(
            HandshakeMessage::Certificate(Certificate {
                context: Some(vec![]),
                entries: vec![CertificateEntry {
                    der: vec![0x30; 50],
                    extensions: Some(vec![]),
                }],
            }),
            c,
        );
        check(
            HandshakeMessage::CertificateRequest(CertificateRequest::Tls13 {
                context: vec![1, 2],
                extensions: vec![Extension::from_body(&ExtensionBody::SignatureAlgorithms(
                    vec![SignatureScheme::Ed25519],
                ))],
            }),
            c,
        );
        check(
            HandshakeMessage::CertificateVerify(sig(Some(SignatureScheme::RsaPssRsaeSha256))),
            c,
        );
        check(
            HandshakeMessage::NewSessionTicket(NewSessionTicket::Tls13 {
                lifetime: 300,
                age_add: 12345,
                nonce: vec![0],
                ticket: vec![5; 40],
                extensions: vec![],
            }),
            c,
        );
        check(
            HandshakeMessage::KeyUpdate(KeyUpdateRequest::UpdateRequested),
            c,
        );
        check(HandshakeMessage::EndOfEarlyData, c);
    }

    #[test]
    fn ssl3_client_key_exchange_has_no_length_prefix() {
        let c = cx(ProtocolVersion::SSLv3, KeyExchangeKind::Rsa);
        let msg = HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(
            vec![0xab; 64],
            ProtocolVersion::SSLv3,
        ));
        let bytes = msg.to_bytes(&c);
        assert_eq!(bytes.len(), 4 + 64);
        let tls = cx(ProtocolVersion::TLSv1_0, KeyExchangeKind::Rsa);
        let msg = HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(
            vec![0xab; 64],
            ProtocolVersion::TLSv1_0,
        ));
        assert_eq!(msg.to_bytes(&tls).len(), 4 + 2 + 64);
    }

    #[test]
    fn error_names_inner_structure_with_absolute_offset() {
        // Certificate whose inner ASN.1Cert length overruns its list.
        let c = cx(ProtocolVersion::TLSv1_2, KeyExchangeKind::Rsa);
        let mut bytes =
            HandshakeMessage::Certificate(Certificate::from_chain(vec![vec![0x30; 10]]))
                .to_bytes(&c);
        bytes[9] = 11; // ASN.1Cert length low byte (4 hdr + 3 list len + 2)
        let err = HandshakeMessage::decode_message(&bytes, &c).unwrap_err();
        assert_eq!(err.what(), "ASN.1Cert");
        assert_eq!(err.offset(), 10);
    }

    #[test]
    fn non_empty_server_hello_done_rejected() {
        let c = WireContext::default();
        let err = HandshakeMessage::decode_message(&[14, 0, 0, 1, 0], &c).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TrailingBytes {
                what: "server_hello_done",
                offset: 4,
                count: 1
            }
        );
    }
}
