//! ClientHello and ServerHello (RFC 5246 §7.4.1, RFC 8446 §4.1), the
//! HelloRetryRequest form of ServerHello, and the SSL 2.0-compatible
//! ClientHello (RFC 6101 Appendix E.1, RFC 5246 Appendix E.2).

use super::codec::{Codec, DecodeError, Reader, WireWrite};
use super::enums::*;
use super::extensions::{
    decode_extensions, encode_extensions, Extension, ExtensionBody, ExtensionContext,
};

/// RFC 8446 §4.1.3: a ServerHello whose random is SHA-256("HelloRetryRequest")
/// is a HelloRetryRequest.
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it
/// negotiates TLS 1.2 ("DOWNGRD\x01") or TLS 1.1 and below ("DOWNGRD\x00").
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// RFC 5246 §7.4.1.2 `Random { uint32 gmt_unix_time; opaque random_bytes[28]; }`
/// (TLS 1.3 treats all 32 bytes as random).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Random(pub [u8; 32]);

impl Random {
    /// The first four bytes read as gmt_unix_time.
    pub fn gmt_unix_time(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl std::fmt::Debug for Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Codec for Random {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(&self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array("Random").map(Self)
    }
}

/// `opaque SessionID<0..32>`.
fn decode_session_id(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let len = r.u8(what)? as usize;
    if len > 32 {
        return Err(DecodeError::BadLength {
            what,
            offset: r.offset() - 1,
            length: len,
        });
    }
    Ok(r.take(len, what)?.to_vec())
}

/// Reads the optional trailing extensions block of a hello: absent when
/// the message ends (SSL 3.0 and early TLS), otherwise it must fill the rest.
fn decode_optional_extensions(r: &mut Reader<'_>) -> Result<Option<Vec<Extension>>, DecodeError> {
    if r.is_empty() {
        Ok(None)
    } else {
        decode_extensions(r).map(Some)
    }
}

/// RFC 5246 §7.4.1.2 / RFC 8446 §4.1.2:
/// ```text
/// struct {
///     ProtocolVersion client_version;
///     Random random;
///     SessionID session_id;
///     CipherSuite cipher_suites<2..2^16-2>;
///     CompressionMethod compression_methods<1..2^8-1>;
///     select (extensions_present) { case false: struct {};
///         case true: Extension extensions<0..2^16-1>; };
/// } ClientHello;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    pub client_version: ProtocolVersion,
    pub random: Random,
    pub session_id: Vec<u8>,
    pub cipher_suites: Vec<CipherSuite>,
    pub compression_methods: Vec<CompressionMethod>,
    /// `None` when the hello ends before the extensions block (as SSL 3.0
    /// hellos do); `Some(vec![])` for an empty block.
    pub extensions: Option<Vec<Extension>>,
}

impl Codec for ClientHello {
    fn encode(&self, out: &mut Vec<u8>) {
        self.client_version.encode(out);
        self.random.encode(out);
        out.with_u8_len(|w| w.put(&self.session_id));
        out.with_u16_len(|w| self.cipher_suites.iter().for_each(|s| s.encode(w)));
        out.with_u8_len(|w| self.compression_methods.iter().for_each(|c| c.encode(w)));
        if let Some(exts) = &self.extensions {
            encode_extensions(exts, out);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let client_version = ProtocolVersion::decode(r)?;
        let random = Random::decode(r)?;
        let session_id = decode_session_id(r, "ClientHello.session_id")?;
        let mut suites = r.sub_u16("ClientHello.cipher_suites")?;
        if suites.remaining() < 2 || suites.remaining() % 2 != 0 {
            return Err(DecodeError::BadLength {
                what: "ClientHello.cipher_suites",
                offset: suites.offset() - 2,
                length: suites.remaining(),
            });
        }
        let mut cipher_suites = Vec::with_capacity(suites.remaining() / 2);
        while !suites.is_empty() {
            cipher_suites.push(CipherSuite::decode(&mut suites)?);
        }
        let mut comp = r.sub_u8("ClientHello.compression_methods")?;
        if comp.is_empty() {
            return Err(DecodeError::BadLength {
                what: "ClientHello.compression_methods",
                offset: comp.offset() - 1,
                length: 0,
            });
        }
        let compression_methods = super::codec::decode_list(&mut comp)?;
        let extensions = decode_optional_extensions(r)?;
        Ok(Self {
            client_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }
}

impl ClientHello {
    pub fn extensions(&self) -> &[Extension] {
        self.extensions.as_deref().unwrap_or(&[])
    }

    /// The first extension of type `t`.
    pub fn extension(&self, t: ExtensionType) -> Option<&Extension> {
        self.extensions().iter().find(|e| e.typ == t)
    }

    /// The parsed view of the first extension of type `t`, if present and
    /// well-formed.
    pub fn parsed_extension(&self, t: ExtensionType) -> Option<ExtensionBody> {
        self.extension(t)?
            .parse(ExtensionContext::ClientHello, 0)
            .ok()
    }

    /// The host_name from server_name, if any (RFC 6066 §3).
    pub fn server_name(&self) -> Option<String> {
        match self.parsed_extension(ExtensionType::ServerName)? {
            ExtensionBody::ServerName(names) => names
                .iter()
                .find(|n| n.name_type == ServerNameType::HostName)
                .map(|n| String::from_utf8_lossy(&n.name).into_owned()),
            _ => None,
        }
    }

    /// The versions offered through supported_versions (RFC 8446 §4.2.1).
    pub fn supported_versions(&self) -> Option<Vec<ProtocolVersion>> {
        match self.parsed_extension(ExtensionType::SupportedVersions)? {
            ExtensionBody::SupportedVersionsOffer(v) => Some(v),
            _ => None,
        }
    }

    /// The highest version the client offers: the best non-GREASE entry of
    /// supported_versions when present, client_version otherwise.
    pub fn highest_version(&self) -> ProtocolVersion {
        self.supported_versions()
            .and_then(|v| v.into_iter().filter(|v| !is_grease_u16(v.0)).max())
            .unwrap_or(self.client_version)
    }

    pub fn offers_suite(&self, s: CipherSuite) -> bool {
        self.cipher_suites.contains(&s)
    }
}

/// RFC 5246 §7.4.1.3 / RFC 8446 §4.1.3:
/// ```text
/// struct {
///     ProtocolVersion server_version;
///     Random random;
///     SessionID session_id;
///     CipherSuite cipher_suite;
///     CompressionMethod compression_method;
///     select (extensions_present) { ... Extension extensions<0..2^16-1>; };
/// } ServerHello;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    pub server_version: ProtocolVersion,
    pub random: Random,
    pub session_id: Vec<u8>,
    pub cipher_suite: CipherSuite,
    pub compression_method: CompressionMethod,
    pub extensions: Option<Vec<Extension>>,
}

impl Codec for ServerHello {
    fn encode(&self, out: &mut Vec<u8>) {
        self.server_version.encode(out);
        self.random.encode(out);
        out.with_u8_len(|w| w.put(&self.session_id));
        self.cipher_suite.encode(out);
        self.compression_method.encode(out);
        if let Some(exts) = &self.extensions {
            encode_extensions(exts, out);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let server_version = ProtocolVersion::decode(r)?;
        let random = Random::decode(r)?;
        let session_id = decode_session_id(r, "ServerHello.session_id")?;
        let cipher_suite = CipherSuite::decode(r)?;
        let compression_method = CompressionMethod::decode(r)?;
        let extensions = decode_optional_extensions(r)?;
        Ok(Self {
            server_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }
}

impl ServerHello {
    pub fn extensions(&self) -> &[Extension] {
        self.extensions.as_deref().unwrap_or(&[])
    }

    pub fn extension(&self, t: ExtensionType) -> Option<&Extension> {
        self.extensions().iter().find(|e| e.typ == t)
    }

    /// RFC 8446 §4.1.3: a HelloRetryRequest travels as a ServerHello with a
    /// fixed random.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random.0 == HELLO_RETRY_REQUEST_RANDOM
    }

    fn context(&self) -> ExtensionContext {
        if self.is_hello_retry_request() {
            ExtensionContext::HelloRetryRequest
        } else {
            ExtensionContext::ServerHello
        }
    }

    pub fn parsed_extension(&self, t: ExtensionType) -> Option<ExtensionBody> {
        self.extension(t)?.parse(self.context(), 0).ok()
    }

    /// Whether encrypt-then-MAC is in force (RFC 7366 §2), the client
    /// having offered it or not: both hellos carry the extension, which
    /// SSL 3.0 has no place for.
    pub fn encrypt_then_mac_agreed(&self, client_offered: bool) -> bool {
        client_offered
            && self.negotiated_version() != ProtocolVersion::SSLv3
            && self.extension(ExtensionType::EncryptThenMac).is_some()
    }

    /// The version actually negotiated: supported_versions when present
    /// (TLS 1.3), server_version otherwise.
    pub fn negotiated_version(&self) -> ProtocolVersion {
        match self.parsed_extension(ExtensionType::SupportedVersions) {
            Some(ExtensionBody::SupportedVersionsSelected(v)) => v,
            _ => self.server_version,
        }
    }
}

/// RFC 5246 Appendix E.2: the SSL 2.0 CLIENT-HELLO that SSL 3.0/TLS clients
/// may send for compatibility. It travels in a two-byte-header SSL 2.0
/// record, so it has no handshake header of its own:
/// ```text
/// uint8 msg_type (= 1);  Version version;
/// uint16 cipher_spec_length;  uint16 session_id_length;  uint16 challenge_length;
/// V2CipherSpec cipher_specs[cipher_spec_length];  (3 bytes each)
/// opaque session_id[session_id_length];  opaque challenge[challenge_length];
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SslV2ClientHello {
    pub version: ProtocolVersion,
    /// Three-byte cipher specs; TLS suites appear as 0x00XXXX.
    pub cipher_specs: Vec<u32>,
    pub session_id: Vec<u8>,
    pub challenge: Vec<u8>,
}

impl Codec for SslV2ClientHello {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(1);
        self.version.encode(out);
        out.put_u16((self.cipher_specs.len() * 3) as u16);
        out.put_u16(self.session_id.len() as u16);
        out.put_u16(self.challenge.len() as u16);
        for s in &self.cipher_specs {
            out.put_u24(*s);
        }
        out.put(&self.session_id);
        out.put(&self.challenge);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let msg_type = r.u8("SSLv2 CLIENT-HELLO.msg_type")?;
        if msg_type != 1 {
            return Err(DecodeError::IllegalValue {
                what: "SSLv2 CLIENT-HELLO.msg_type",
                offset: r.offset() - 1,
                value: msg_type.into(),
            });
        }
        let version = ProtocolVersion::decode(r)?;
        let spec_len = r.u16("SSLv2 CLIENT-HELLO.cipher_spec_length")? as usize;
        if spec_len == 0 || !spec_len.is_multiple_of(3) {
            return Err(DecodeError::BadLength {
                what: "SSLv2 CLIENT-HELLO.cipher_spec_length",
                offset: r.offset() - 2,
                length: spec_len,
            });
        }
        let sid_len = r.u16("SSLv2 CLIENT-HELLO.session_id_length")? as usize;
        let chal_len = r.u16("SSLv2 CLIENT-HELLO.challenge_length")? as usize;
        // RFC 5246 E.2: the challenge is 16 to 32 bytes; the session id 0 or 16.
        if !(16..=32).contains(&chal_len) {
            return Err(DecodeError::BadLength {
                what: "SSLv2 CLIENT-HELLO.challenge_length",
                offset: r.offset() - 2,
                length: chal_len,
            });
        }
        let mut specs = r.sub(spec_len, "SSLv2 CLIENT-HELLO.cipher_specs")?;
        let mut cipher_specs = Vec::with_capacity(spec_len / 3);
        while !specs.is_empty() {
            cipher_specs.push(specs.u24("V2CipherSpec")?);
        }
        let session_id = r.take(sid_len, "SSLv2 CLIENT-HELLO.session_id")?.to_vec();
        let challenge = r.take(chal_len, "SSLv2 CLIENT-HELLO.challenge")?.to_vec();
        Ok(Self {
            version,
            cipher_specs,
            session_id,
            challenge,
        })
    }
}

impl SslV2ClientHello {
    /// The TLS cipher suites among the cipher specs (those of the form
    /// 0x00XXXX); the others are SSL 2.0 ciphers.
    pub fn tls_cipher_suites(&self) -> impl Iterator<Item = CipherSuite> + '_ {
        self.cipher_specs
            .iter()
            .filter(|s| **s >> 16 == 0)
            .map(|s| CipherSuite(*s as u16))
    }

    /// RFC 5246 E.2: the 32-byte client random is the challenge, right
    /// aligned and left padded with zeros.
    pub fn client_random(&self) -> Random {
        let mut r = [0u8; 32];
        r[32 - self.challenge.len()..].copy_from_slice(&self.challenge);
        Random(r)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_client_hello() -> ClientHello {
        ClientHello {
            client_version: ProtocolVersion::TLSv1_2,
            random: Random([7; 32]),
            session_id: vec![1; 32],
            cipher_suites: vec![
                CipherSuite(0x002f),
                CipherSuite(0x000a),
                CipherSuite(0x00ff),
            ],
            compression_methods: vec![CompressionMethod::Null],
            extensions: Some(vec![
                Extension::from_body(&ExtensionBody::ServerName(vec![
                    super::super::extensions::ServerName {
                        name_type: ServerNameType::HostName,
                        name: b"localhost".to_vec(),
                    },
                ])),
                Extension {
                    typ: ExtensionType(0xabcd),
                    data: vec![1, 2, 3],
                },
            ]),
        }
    }

    #[test]
    fn client_hello_round_trips_and_rejects_every_truncation() {
        let ch = sample_client_hello();
        let bytes = ch.to_bytes();
        assert_eq!(ClientHello::from_bytes(&bytes, "ClientHello").unwrap(), ch);
        assert_eq!(ch.server_name().as_deref(), Some("localhost"));
        for cut in 0..bytes.len() {
            // A cut exactly before the extensions block is a valid
            // extension-less hello; every other cut is an error.
            let res = ClientHello::from_bytes(&bytes[..cut], "ClientHello");
            let ext_start = bytes.len()
                - ch.extensions()
                    .iter()
                    .map(|e| 4 + e.data.len())
                    .sum::<usize>()
                - 2;
            assert_eq!(res.is_ok(), cut == ext_start, "cut at {cut}");
        }
    }

    #[test]
    fn client_hello_without_extensions_ssl3() {
        let mut ch = sample_client_hello();
        ch.client_version = ProtocolVersion::SSLv3;
        ch.extensions = None;
        let bytes = ch.to_bytes();
        assert_eq!(ClientHello::from_bytes(&bytes, "ClientHello").unwrap(), ch);
    }

    #[test]
    fn odd_cipher_suites_length_rejected_at_its_offset() {
        let mut bytes = sample_client_hello().to_bytes();
        // cipher_suites length sits after version(2) random(32) sid(1+32)
        let at = 2 + 32 + 33;
        bytes[at + 1] = 5;
        let err = ClientHello::from_bytes(&bytes, "ClientHello").unwrap_err();
        assert_eq!(err.what(), "ClientHello.cipher_suites");
        assert_eq!(err.offset(), at);
    }

    #[test]
    fn session_id_over_32_rejected() {
        let mut bytes = sample_client_hello().to_bytes();
        bytes[34] = 33;
        let err = ClientHello::from_bytes(&bytes, "ClientHello").unwrap_err();
        assert_eq!(
            err,
            DecodeError::BadLength {
                what: "ClientHello.session_id",
                offset: 34,
                length: 33
            }
        );
    }

    #[test]
    fn server_hello_round_trip_and_hrr() {
        let mut sh = ServerHello {
            server_version: ProtocolVersion::TLSv1_2,
            random: Random([3; 32]),
            session_id: vec![],
            cipher_suite: CipherSuite(0x1301),
            compression_method: CompressionMethod::Null,
            extensions: Some(vec![Extension::from_body(
                &ExtensionBody::SupportedVersionsSelected(ProtocolVersion::TLSv1_3),
            )]),
        };
        let bytes = sh.to_bytes();
        assert_eq!(ServerHello::from_bytes(&bytes, "ServerHello").unwrap(), sh);
        assert_eq!(sh.negotiated_version(), ProtocolVersion::TLSv1_3);
        assert!(!sh.is_hello_retry_request());
        sh.random = Random(HELLO_RETRY_REQUEST_RANDOM);
        assert!(sh.is_hello_retry_request());
    }

    #[test]
    fn sslv2_client_hello() {
        let v2 = SslV2ClientHello {
            version: ProtocolVersion::TLSv1_0,
            cipher_specs: vec![0x00000a, 0x010080, 0x00002f],
            session_id: vec![],
            challenge: vec![0xaa; 16],
        };
        let bytes = v2.to_bytes();
        assert_eq!(SslV2ClientHello::from_bytes(&bytes, "v2").unwrap(), v2);
        assert_eq!(
            v2.tls_cipher_suites().collect::<Vec<_>>(),
            [CipherSuite(0x000a), CipherSuite(0x002f)]
        );
        assert_eq!(v2.client_random().0[16..], [0xaa; 16]);
        assert_eq!(v2.client_random().0[..16], [0; 16]);
    }
}
