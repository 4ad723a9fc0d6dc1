//! Hello extensions: the generic `Extension { extension_type, extension_data }`
//! (RFC 5246 §7.4.1.4), kept raw so that unknown and malformed extensions
//! survive a round trip, plus a parsed view of the ones sslwalk explains.
//!
//! An extension's layout can depend on the message it travels in
//! (supported_versions and key_share differ between ClientHello,
//! ServerHello and HelloRetryRequest), hence [`ExtensionContext`].

use super::codec::{decode_list, Codec, DecodeError, Reader, WireWrite};
use super::enums::*;

/// RFC 5246 §7.4.1.4: `struct { ExtensionType extension_type;
/// opaque extension_data<0..2^16-1>; } Extension;`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub typ: ExtensionType,
    pub data: Vec<u8>,
}

impl Codec for Extension {
    fn encode(&self, out: &mut Vec<u8>) {
        self.typ.encode(out);
        out.with_u16_len(|w| w.put(&self.data));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let typ = ExtensionType::decode(r)?;
        let data = r.vec_u16("Extension.extension_data")?;
        Ok(Self { typ, data })
    }
}

impl Extension {
    /// An extension whose data is the encoding of `body`.
    pub fn from_body(body: &ExtensionBody) -> Self {
        let mut data = Vec::new();
        let typ = body.encode(&mut data);
        Self { typ, data }
    }

    /// The parsed view of this extension, as sent in `cx`. Unknown types
    /// give `ExtensionBody::Unparsed`; a malformed known one gives the
    /// decode error, with offsets relative to `data_offset` (where
    /// `extension_data` started in the enclosing message).
    pub fn parse(
        &self,
        cx: ExtensionContext,
        data_offset: usize,
    ) -> Result<ExtensionBody, DecodeError> {
        ExtensionBody::decode(self.typ, &self.data, cx, data_offset)
    }
}

/// `Extension extensions<0..2^16-1>`, strict: the list must fill its length.
pub fn decode_extensions(r: &mut Reader<'_>) -> Result<Vec<Extension>, DecodeError> {
    let mut list = r.sub_u16("extensions")?;
    decode_list(&mut list)
}

pub fn encode_extensions(exts: &[Extension], out: &mut Vec<u8>) {
    out.with_u16_len(|w| exts.iter().for_each(|e| e.encode(w)));
}

/// Which message an extension travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionContext {
    ClientHello,
    ServerHello,
    HelloRetryRequest,
    EncryptedExtensions,
    CertificateRequest,
    Certificate,
    NewSessionTicket,
}

/// RFC 8446 §4.2.8 `KeyShareEntry { NamedGroup group; opaque key_exchange<1..2^16-1>; }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShareEntry {
    pub group: NamedGroup,
    pub key_exchange: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.group.encode(out);
        out.with_u16_len(|w| w.put(&self.key_exchange));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let group = NamedGroup::decode(r)?;
        let key_exchange = r.vec_u16("KeyShareEntry.key_exchange")?;
        Ok(Self {
            group,
            key_exchange,
        })
    }
}

/// RFC 6066 §3 `ServerName { NameType name_type; opaque HostName<1..2^16-1>; }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerName {
    pub name_type: ServerNameType,
    pub name: Vec<u8>,
}

/// RFC 8446 §4.2.11 `PskIdentity { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskIdentity {
    pub identity: Vec<u8>,
    pub obfuscated_ticket_age: u32,
}

/// The parsed view of the extensions sslwalk explains; every other type is
/// `Unparsed` and shown by number and length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionBody {
    /// RFC 6066 §3. Empty in a ServerHello (the server acknowledges SNI).
    ServerName(Vec<ServerName>),
    /// RFC 6066 §4.
    MaxFragmentLength(MaxFragmentLength),
    /// RFC 6066 §8 (request, in ClientHello) or empty (ServerHello ack).
    StatusRequest {
        status_type: Option<CertificateStatusType>,
        responder_id_list: Vec<u8>,
        request_extensions: Vec<u8>,
    },
    /// RFC 8422 §5.1.1 / RFC 8446 §4.2.7.
    SupportedGroups(Vec<NamedGroup>),
    /// RFC 8422 §5.1.2.
    EcPointFormats(Vec<EcPointFormat>),
    /// RFC 5246 §7.4.1.4.1 / RFC 8446 §4.2.3 (also signature_algorithms_cert).
    SignatureAlgorithms(Vec<SignatureScheme>),
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// RFC 6520.
    Heartbeat(HeartbeatMode),
    /// RFC 7301: protocol names.
    Alpn(Vec<Vec<u8>>),
    /// RFC 7685: the number of padding bytes (their value should be zero).
    Padding {
        length: usize,
        all_zero: bool,
    },
    /// RFC 7366.
    EncryptThenMac,
    /// RFC 7627.
    ExtendedMasterSecret,
    /// RFC 8449.
    RecordSizeLimit(u16),
    /// RFC 5077: empty (request a new ticket / ack) or a ticket to resume.
    SessionTicket(Vec<u8>),
    /// RFC 8446 §4.2.11, ClientHello form: identities and binders.
    PreSharedKeyOffer {
        identities: Vec<PskIdentity>,
        binders: Vec<Vec<u8>>,
    },
    /// RFC 8446 §4.2.11, ServerHello form.
    PreSharedKeySelected(u16),
    /// RFC 8446 §4.2.10: empty, or max_early_data_size in NewSessionTicket.
    EarlyData(Option<u32>),
    /// RFC 8446 §4.2.1, ClientHello form.
    SupportedVersionsOffer(Vec<ProtocolVersion>),
    /// RFC 8446 §4.2.1, ServerHello / HelloRetryRequest form.
    SupportedVersionsSelected(ProtocolVersion),
    /// RFC 8446 §4.2.2.
    Cookie(Vec<u8>),
    /// RFC 8446 §4.2.9.
    PskKeyExchangeModes(Vec<PskKeyExchangeMode>),
    /// RFC 8446 §4.2.8, ClientHello form.
    KeyShareOffer(Vec<KeyShareEntry>),
    /// RFC 8446 §4.2.8, ServerHello form.
    KeyShareSelected(KeyShareEntry),
    /// RFC 8446 §4.2.8, HelloRetryRequest form.
    KeyShareRetry(NamedGroup),
    /// RFC 8446 §4.2.6.
    PostHandshakeAuth,
    /// RFC 5746 §3.2: empty on an initial handshake, the previous
    /// verify_data on a renegotiation.
    RenegotiationInfo(Vec<u8>),
    /// Any type not parsed here (or not parsed in this context).
    Unparsed(ExtensionType),
}

impl ExtensionBody {
    /// Parses `data` as an extension of type `typ` sent in `cx`.
    pub fn decode(
        typ: ExtensionType,
        data: &[u8],
        cx: ExtensionContext,
        data_offset: usize,
    ) -> Result<Self, DecodeError> {
        use ExtensionContext as C;
        let r = &mut Reader::at(data, data_offset);
        let body = match typ {
            ExtensionType::ServerName => {
                if data.is_empty() {
                    Self::ServerName(Vec::new())
                } else {
                    let mut list = r.sub_u16("server_name.server_name_list")?;
                    let mut names = Vec::new();
                    while !list.is_empty() {
                        let name_type = ServerNameType::decode(&mut list)?;
                        let name = list.vec_u16("server_name.HostName")?;
                        names.push(ServerName { name_type, name });
                    }
                    Self::ServerName(names)
                }
            }
            ExtensionType::MaxFragmentLength => {
                Self::MaxFragmentLength(MaxFragmentLength::decode(r)?)
            }
            ExtensionType::StatusRequest => {
                if data.is_empty() {
                    Self::StatusRequest {
                        status_type: None,
                        responder_id_list: Vec::new(),
                        request_extensions: Vec::new(),
                    }
                } else {
                    let status_type = Some(CertificateStatusType::decode(r)?);
                    let responder_id_list = r.vec_u16("status_request.responder_id_list")?;
                    let request_extensions = r.vec_u16("status_request.request_extensions")?;
                    Self::StatusRequest {
                        status_type,
                        responder_id_list,
                        request_extensions,
                    }
                }
            }
            ExtensionType::SupportedGroups => {
                let mut l = r.sub_u16("supported_groups.named_group_list")?;
                Self::SupportedGroups(decode_u16_list(&mut l, "supported_groups")?)
            }
            ExtensionType::EcPointFormats => {
                let mut l = r.sub_u8("ec_point_formats.ec_point_format_list")?;
                Self::EcPointFormats(decode_list(&mut l)?)
            }
            ExtensionType::SignatureAlgorithms | ExtensionType::SignatureAlgorithmsCert => {
                let mut l = r.sub_u16("signature_algorithms.supported_signature_algorithms")?;
                let list = decode_u16_list(&mut l, "signature_algorithms")?;
                if typ == ExtensionType::SignatureAlgorithms {
                    Self::SignatureAlgorithms(list)
                } else {
                    Self::SignatureAlgorithmsCert(list)
                }
            }
            ExtensionType::Heartbeat => Self::Heartbeat(HeartbeatMode::decode(r)?),
            ExtensionType::ApplicationLayerProtocolNegotiation => {
                let mut l =
                    r.sub_u16("application_layer_protocol_negotiation.protocol_name_list")?;
                let mut names = Vec::new();
                while !l.is_empty() {
                    let name = l.vec_u8("application_layer_protocol_negotiation.ProtocolName")?;
                    if name.is_empty() {
                        return Err(
                            l.bad_length("application_layer_protocol_negotiation.ProtocolName", 0)
                        );
                    }
                    names.push(name);
                }
                Self::Alpn(names)
            }
            ExtensionType::Padding => Self::Padding {
                length: data.len(),
                all_zero: r.rest().iter().all(|&b| b == 0),
            },
            ExtensionType::EncryptThenMac => Self::EncryptThenMac,
            ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
            ExtensionType::PostHandshakeAuth => Self::PostHandshakeAuth,
            ExtensionType::RecordSizeLimit => Self::RecordSizeLimit(r.u16("record_size_limit")?),
            ExtensionType::SessionTicket => Self::SessionTicket(r.rest().to_vec()),
            ExtensionType::PreSharedKey if cx == C::ClientHello => {
                let mut ids = r.sub_u16("pre_shared_key.identities")?;
                let mut identities = Vec::new();
                while !ids.is_empty() {
                    let identity = ids.vec_u16("pre_shared_key.PskIdentity.identity")?;
                    let obfuscated_ticket_age =
                        ids.u32("pre_shared_key.PskIdentity.obfuscated_ticket_age")?;
                    identities.push(PskIdentity {
                        identity,
                        obfuscated_ticket_age,
                    });
                }
                let mut bl = r.sub_u16("pre_shared_key.binders")?;
                let mut binders = Vec::new();
                while !bl.is_empty() {
                    binders.push(bl.vec_u8("pre_shared_key.PskBinderEntry")?);
                }
                Self::PreSharedKeyOffer {
                    identities,
                    binders,
                }
            }
            ExtensionType::PreSharedKey => {
                Self::PreSharedKeySelected(r.u16("pre_shared_key.selected_identity")?)
            }
            ExtensionType::EarlyData => {
                if cx == C::NewSessionTicket {
                    Self::EarlyData(Some(r.u32("early_data.max_early_data_size")?))
                } else {
                    Self::EarlyData(None)
                }
            }
            ExtensionType::SupportedVersions if cx == C::ClientHello => {
                let mut l = r.sub_u8("supported_versions.versions")?;
                Self::SupportedVersionsOffer(decode_u16_list(&mut l, "supported_versions")?)
            }
            ExtensionType::SupportedVersions => {
                Self::SupportedVersionsSelected(ProtocolVersion::decode(r)?)
            }
            ExtensionType::Cookie => Self::Cookie(r.vec_u16("cookie.cookie")?),
            ExtensionType::PskKeyExchangeModes => {
                let mut l = r.sub_u8("psk_key_exchange_modes.ke_modes")?;
                Self::PskKeyExchangeModes(decode_list(&mut l)?)
            }
            ExtensionType::KeyShare => match cx {
                C::ClientHello => {
                    let mut l = r.sub_u16("key_share.client_shares")?;
                    Self::KeyShareOffer(decode_list(&mut l)?)
                }
                C::HelloRetryRequest => Self::KeyShareRetry(NamedGroup::decode(r)?),
                _ => Self::KeyShareSelected(KeyShareEntry::decode(r)?),
            },
            ExtensionType::RenegotiationInfo => {
                Self::RenegotiationInfo(r.vec_u8("renegotiation_info.renegotiated_connection")?)
            }
            other => {
                r.rest();
                Self::Unparsed(other)
            }
        };
        r.expect_end(extension_name(typ))?;
        Ok(body)
    }

    /// Appends the extension_data of this body; returns its type.
    pub fn encode(&self, out: &mut Vec<u8>) -> ExtensionType {
        match self {
            Self::ServerName(names) => {
                if !names.is_empty() {
                    out.with_u16_len(|w| {
                        for n in names {
                            n.name_type.encode(w);
                            w.with_u16_len(|w| w.put(&n.name));
                        }
                    });
                }
                ExtensionType::ServerName
            }
            Self::MaxFragmentLength(v) => {
                v.encode(out);
                ExtensionType::MaxFragmentLength
            }
            Self::StatusRequest {
                status_type,
                responder_id_list,
                request_extensions,
            } => {
                if let Some(t) = status_type {
                    t.encode(out);
                    out.with_u16_len(|w| w.put(responder_id_list));
                    out.with_u16_len(|w| w.put(request_extensions));
                }
                ExtensionType::StatusRequest
            }
            Self::SupportedGroups(l) => {
                out.with_u16_len(|w| l.iter().for_each(|g| g.encode(w)));
                ExtensionType::SupportedGroups
            }
            Self::EcPointFormats(l) => {
                out.with_u8_len(|w| l.iter().for_each(|f| f.encode(w)));
                ExtensionType::EcPointFormats
            }
            Self::SignatureAlgorithms(l) | Self::SignatureAlgorithmsCert(l) => {
                out.with_u16_len(|w| l.iter().for_each(|s| s.encode(w)));
                if matches!(self, Self::SignatureAlgorithms(_)) {
                    ExtensionType::SignatureAlgorithms
                } else {
                    ExtensionType::SignatureAlgorithmsCert
                }
            }
            Self::Heartbeat(m) => {
                m.encode(out);
                ExtensionType::Heartbeat
            }
            Self::Alpn(names) => {
                out.with_u16_len(|w| {
                    for n in names {
                        w.with_u8_len(|w| w.put(n));
                    }
                });
                ExtensionType::ApplicationLayerProtocolNegotiation
            }
            Self::Padding { length, .. } => {
                out.extend(std::iter::repeat_n(0, *length));
                ExtensionType::Padding
            }
            Self::EncryptThenMac => ExtensionType::EncryptThenMac,
            Self::ExtendedMasterSecret => ExtensionType::ExtendedMasterSecret,
            Self::PostHandshakeAuth => ExtensionType::PostHandshakeAuth,
            Self::RecordSizeLimit(v) => {
                out.put_u16(*v);
                ExtensionType::RecordSizeLimit
            }
            Self::SessionTicket(t) => {
                out.put(t);
                ExtensionType::SessionTicket
            }
            Self::PreSharedKeyOffer {
                identities,
                binders,
            } => {
                out.with_u16_len(|w| {
                    for id in identities {
                        w.with_u16_len(|w| w.put(&id.identity));
                        w.put_u32(id.obfuscated_ticket_age);
                    }
                });
                out.with_u16_len(|w| {
                    for b in binders {
                        w.with_u8_len(|w| w.put(b));
                    }
                });
                ExtensionType::PreSharedKey
            }
            Self::PreSharedKeySelected(i) => {
                out.put_u16(*i);
                ExtensionType::PreSharedKey
            }
            Self::EarlyData(max) => {
                if let Some(m) = max {
                    out.put_u32(*m);
                }
                ExtensionType::EarlyData
            }
            Self::SupportedVersionsOffer(l) => {
                out.with_u8_len(|w| l.iter().for_each(|v| v.encode(w)));
                ExtensionType::SupportedVersions
            }
            Self::SupportedVersionsSelected(v) => {
                v.encode(out);
                ExtensionType::SupportedVersions
            }
            Self::Cookie(c) => {
                out.with_u16_len(|w| w.put(c));
                ExtensionType::Cookie
            }
            Self::PskKeyExchangeModes(l) => {
                out.with_u8_len(|w| l.iter().for_each(|m| m.encode(w)));
                ExtensionType::PskKeyExchangeModes
            }
            Self::KeyShareOffer(l) => {
                out.with_u16_len(|w| l.iter().for_each(|e| e.encode(w)));
                ExtensionType::KeyShare
            }
            Self::KeyShareSelected(e) => {
                e.encode(out);
                ExtensionType::KeyShare
            }
            Self::KeyShareRetry(g) => {
                g.encode(out);
                ExtensionType::KeyShare
            }
            Self::RenegotiationInfo(v) => {
                out.with_u8_len(|w| w.put(v));
                ExtensionType::RenegotiationInfo
            }
            Self::Unparsed(t) => *t,
        }
    }
}

/// A static name for error messages ("server_name", or "extension" for
/// unknown types).
fn extension_name(t: ExtensionType) -> &'static str {
    t.name().unwrap_or("extension")
}

/// A list of two-byte values that must fill `r`, with an odd length rejected.
fn decode_u16_list<T: Codec>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<T>, DecodeError> {
    if !r.remaining().is_multiple_of(2) {
        return Err(r.bad_length(what, r.remaining()));
    }
    decode_list(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(body: ExtensionBody, cx: ExtensionContext) {
        let ext = Extension::from_body(&body);
        let bytes = ext.to_bytes();
        let back = Extension::from_bytes(&bytes, "Extension").unwrap();
        assert_eq!(back, ext);
        assert_eq!(back.parse(cx, 4).unwrap(), body, "{:?}", ext.typ);
    }

    #[test]
    fn known_extensions_round_trip() {
        use ExtensionContext as C;
        round_trip(
            ExtensionBody::ServerName(vec![ServerName {
                name_type: ServerNameType::HostName,
                name: b"example.com".to_vec(),
            }]),
            C::ClientHello,
        );
        round_trip(ExtensionBody::ServerName(vec![]), C::ServerHello);
        round_trip(
            ExtensionBody::SupportedGroups(vec![NamedGroup::X25519, NamedGroup(0x1a1a)]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::EcPointFormats(vec![EcPointFormat::Uncompressed]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::SignatureAlgorithms(vec![SignatureScheme::RsaPssRsaeSha256]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::Alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()]),
            C::ClientHello,
        );
        round_trip(ExtensionBody::SessionTicket(vec![]), C::ClientHello);
        round_trip(ExtensionBody::ExtendedMasterSecret, C::ServerHello);
        round_trip(ExtensionBody::EncryptThenMac, C::ServerHello);
        round_trip(ExtensionBody::RenegotiationInfo(vec![]), C::ClientHello);
        round_trip(
            ExtensionBody::SupportedVersionsOffer(vec![
                ProtocolVersion::TLSv1_3,
                ProtocolVersion::TLSv1_2,
            ]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::SupportedVersionsSelected(ProtocolVersion::TLSv1_3),
            C::ServerHello,
        );
        round_trip(
            ExtensionBody::KeyShareOffer(vec![KeyShareEntry {
                group: NamedGroup::X25519,
                key_exchange: vec![9; 32],
            }]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::KeyShareSelected(KeyShareEntry {
                group: NamedGroup::X25519,
                key_exchange: vec![7; 32],
            }),
            C::ServerHello,
        );
        round_trip(
            ExtensionBody::KeyShareRetry(NamedGroup::Secp256r1),
            C::HelloRetryRequest,
        );
        round_trip(
            ExtensionBody::PskKeyExchangeModes(vec![PskKeyExchangeMode::PskDheKe]),
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::StatusRequest {
                status_type: Some(CertificateStatusType::Ocsp),
                responder_id_list: vec![],
                request_extensions: vec![],
            },
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::Padding {
                length: 5,
                all_zero: true,
            },
            C::ClientHello,
        );
        round_trip(
            ExtensionBody::PreSharedKeyOffer {
                identities: vec![PskIdentity {
                    identity: vec![1, 2, 3],
                    obfuscated_ticket_age: 77,
                }],
                binders: vec![vec![5; 32]],
            },
            C::ClientHello,
        );
        round_trip(ExtensionBody::RecordSizeLimit(16385), C::ClientHello);
    }

    #[test]
    fn malformed_known_extension_is_an_error_but_raw_survives() {
        // supported_groups with an odd inner length
        let ext = Extension {
            typ: ExtensionType::SupportedGroups,
            data: vec![0, 3, 0, 29, 0],
        };
        let err = ext.parse(ExtensionContext::ClientHello, 100).unwrap_err();
        assert_eq!(err.offset(), 102);
        assert_eq!(err.what(), "supported_groups");
        assert_eq!(Extension::from_bytes(&ext.to_bytes(), "x").unwrap(), ext);
    }

    #[test]
    fn unknown_extension_is_unparsed() {
        let ext = Extension {
            typ: ExtensionType(0x7777),
            data: vec![1, 2, 3],
        };
        assert_eq!(
            ext.parse(ExtensionContext::ClientHello, 0).unwrap(),
            ExtensionBody::Unparsed(ExtensionType(0x7777))
        );
    }

    #[test]
    fn trailing_bytes_in_known_extension_rejected() {
        let ext = Extension {
            typ: ExtensionType::RenegotiationInfo,
            data: vec![0, 9],
        };
        let err = ext.parse(ExtensionContext::ServerHello, 0).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::TrailingBytes {
                what: "renegotiation_info",
                ..
            }
        ));
    }
}
