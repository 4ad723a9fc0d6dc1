//! Protocol numbers of SSL 3.0 to TLS 1.3, as open sets (see `wire_enum!`).
//!
//! Values and names come from the IANA "Transport Layer Security (TLS)
//! Parameters" and "TLS ExtensionType Values" registries and the RFCs cited
//! on each type. Human descriptions live in `report::describe`, not here.

use crate::wire_enum;

wire_enum! {
    /// RFC 5246 §6.2.1 `ContentType`; heartbeat from RFC 6520, tls12_cid
    /// from RFC 9146, ack from RFC 9147.
    pub struct ContentType(u8) {
        ChangeCipherSpec = 20 => "change_cipher_spec",
        Alert = 21 => "alert",
        Handshake = 22 => "handshake",
        ApplicationData = 23 => "application_data",
        Heartbeat = 24 => "heartbeat",
        Tls12Cid = 25 => "tls12_cid",
        Ack = 26 => "ack",
    }
}

wire_enum! {
    /// `ProtocolVersion` {major, minor}: SSL 3.0 is {3,0} (RFC 6101), TLS 1.0
    /// {3,1} (RFC 2246) ... TLS 1.3 {3,4} (RFC 8446, only inside
    /// supported_versions). {0,2} is the SSL 2.0 version an SSLv2-compatible
    /// ClientHello can carry.
    pub struct ProtocolVersion(u16) {
        SSLv2 = 0x0002 => "SSLv2",
        SSLv3 = 0x0300 => "SSLv3",
        TLSv1_0 = 0x0301 => "TLSv1.0",
        TLSv1_1 = 0x0302 => "TLSv1.1",
        TLSv1_2 = 0x0303 => "TLSv1.2",
        TLSv1_3 = 0x0304 => "TLSv1.3",
    }
}

impl ProtocolVersion {
    pub fn major(self) -> u8 {
        (self.0 >> 8) as u8
    }
    pub fn minor(self) -> u8 {
        self.0 as u8
    }
    /// TLS 1.3 drafts were advertised as 0x7fNN (draft NN).
    pub fn tls13_draft(self) -> Option<u8> {
        (self.0 >> 8 == 0x7f).then_some(self.0 as u8)
    }
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a ... 0xfafa, used in cipher
/// suites, extensions, groups, versions and signature algorithms so that
/// peers keep tolerating unknown values.
pub fn is_grease_u16(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

wire_enum! {
    /// RFC 5246 §7.4 `HandshakeType`, with the TLS 1.3 additions (RFC 8446
    /// §4) and later IANA assignments.
    pub struct HandshakeType(u8) {
        HelloRequest = 0 => "hello_request",
        ClientHello = 1 => "client_hello",
        ServerHello = 2 => "server_hello",
        HelloVerifyRequest = 3 => "hello_verify_request",
        NewSessionTicket = 4 => "new_session_ticket",
        EndOfEarlyData = 5 => "end_of_early_data",
        HelloRetryRequest = 6 => "hello_retry_request",
        EncryptedExtensions = 8 => "encrypted_extensions",
        RequestConnectionId = 9 => "request_connection_id",
        NewConnectionId = 10 => "new_connection_id",
        Certificate = 11 => "certificate",
        ServerKeyExchange = 12 => "server_key_exchange",
        CertificateRequest = 13 => "certificate_request",
        ServerHelloDone = 14 => "server_hello_done",
        CertificateVerify = 15 => "certificate_verify",
        ClientKeyExchange = 16 => "client_key_exchange",
        ClientCertificateRequest = 17 => "client_certificate_request",
        Finished = 20 => "finished",
        CertificateUrl = 21 => "certificate_url",
        CertificateStatus = 22 => "certificate_status",
        SupplementalData = 23 => "supplemental_data",
        KeyUpdate = 24 => "key_update",
        CompressedCertificate = 25 => "compressed_certificate",
        EktKey = 26 => "ekt_key",
        MessageHash = 254 => "message_hash",
    }
}

wire_enum! {
    /// RFC 5246 §7.2 `AlertLevel`.
    pub struct AlertLevel(u8) {
        Warning = 1 => "warning",
        Fatal = 2 => "fatal",
    }
}

wire_enum! {
    /// RFC 5246 §7.2 `AlertDescription`, plus no_certificate (SSL 3.0, RFC
    /// 6101 §5.4.2), export_restriction (TLS 1.0), inappropriate_fallback
    /// (RFC 7507), the RFC 6066 / RFC 8446 additions and RFC 7301.
    pub struct AlertDescription(u8) {
        CloseNotify = 0 => "close_notify",
        UnexpectedMessage = 10 => "unexpected_message",
        BadRecordMac = 20 => "bad_record_mac",
        DecryptionFailed = 21 => "decryption_failed",
        RecordOverflow = 22 => "record_overflow",
        DecompressionFailure = 30 => "decompression_failure",
        HandshakeFailure = 40 => "handshake_failure",
        NoCertificate = 41 => "no_certificate",
        BadCertificate = 42 => "bad_certificate",
        UnsupportedCertificate = 43 => "unsupported_certificate",
        CertificateRevoked = 44 => "certificate_revoked",
        CertificateExpired = 45 => "certificate_expired",
        CertificateUnknown = 46 => "certificate_unknown",
        IllegalParameter = 47 => "illegal_parameter",
        UnknownCa = 48 => "unknown_ca",
        AccessDenied = 49 => "access_denied",
        DecodeError = 50 => "decode_error",
        DecryptError = 51 => "decrypt_error",
        ExportRestriction = 60 => "export_restriction",
        ProtocolVersion = 70 => "protocol_version",
        InsufficientSecurity = 71 => "insufficient_security",
        InternalError = 80 => "internal_error",
        InappropriateFallback = 86 => "inappropriate_fallback",
        UserCanceled = 90 => "user_canceled",
        NoRenegotiation = 100 => "no_renegotiation",
        MissingExtension = 109 => "missing_extension",
        UnsupportedExtension = 110 => "unsupported_extension",
        CertificateUnobtainable = 111 => "certificate_unobtainable",
        UnrecognizedName = 112 => "unrecognized_name",
        BadCertificateStatusResponse = 113 => "bad_certificate_status_response",
        BadCertificateHashValue = 114 => "bad_certificate_hash_value",
        UnknownPskIdentity = 115 => "unknown_psk_identity",
        CertificateRequired = 116 => "certificate_required",
        NoApplicationProtocol = 120 => "no_application_protocol",
    }
}

impl AlertDescription {
    /// Alerts that are fatal whatever level they are sent with (HANDSHAKE.md
    /// "Alerts"; RFC 5246 §7.2.2).
    pub fn always_fatal(self) -> bool {
        !matches!(
            self,
            Self::CloseNotify
                | Self::NoCertificate
                | Self::BadCertificate
                | Self::UnsupportedCertificate
                | Self::CertificateRevoked
                | Self::CertificateExpired
                | Self::CertificateUnknown
                | Self::UserCanceled
                | Self::NoRenegotiation
        ) && self.is_known()
    }
}

wire_enum! {
    /// RFC 5246 §7.4.1.2 `CompressionMethod`; DEFLATE from RFC 3749, LZS from
    /// RFC 3943.
    pub struct CompressionMethod(u8) {
        Null = 0 => "null",
        Deflate = 1 => "deflate",
        Lzs = 64 => "lzs",
    }
}

wire_enum! {
    /// IANA "TLS ExtensionType Values".
    pub struct ExtensionType(u16) {
        ServerName = 0 => "server_name",
        MaxFragmentLength = 1 => "max_fragment_length",
        ClientCertificateUrl = 2 => "client_certificate_url",
        TrustedCaKeys = 3 => "trusted_ca_keys",
        TruncatedHmac = 4 => "truncated_hmac",
        StatusRequest = 5 => "status_request",
        UserMapping = 6 => "user_mapping",
        ClientAuthz = 7 => "client_authz",
        ServerAuthz = 8 => "server_authz",
        CertType = 9 => "cert_type",
        SupportedGroups = 10 => "supported_groups",
        EcPointFormats = 11 => "ec_point_formats",
        Srp = 12 => "srp",
        SignatureAlgorithms = 13 => "signature_algorithms",
        UseSrtp = 14 => "use_srtp",
        Heartbeat = 15 => "heartbeat",
        ApplicationLayerProtocolNegotiation = 16 => "application_layer_protocol_negotiation",
        StatusRequestV2 = 17 => "status_request_v2",
        SignedCertificateTimestamp = 18 => "signed_certificate_timestamp",
        ClientCertificateType = 19 => "client_certificate_type",
        ServerCertificateType = 20 => "server_certificate_type",
        Padding = 21 => "padding",
        EncryptThenMac = 22 => "encrypt_then_mac",
        ExtendedMasterSecret = 23 => "extended_master_secret",
        TokenBinding = 24 => "token_binding",
        CachedInfo = 25 => "cached_info",
        TlsLts = 26 => "tls_lts",
        CompressCertificate = 27 => "compress_certificate",
        RecordSizeLimit = 28 => "record_size_limit",
        PwdProtect = 29 => "pwd_protect",
        PwdClear = 30 => "pwd_clear",
        PasswordSalt = 31 => "password_salt",
        TicketPinning = 32 => "ticket_pinning",
        TlsCertWithExternPsk = 33 => "tls_cert_with_extern_psk",
        DelegatedCredential = 34 => "delegated_credential",
        SessionTicket = 35 => "session_ticket",
        Tlmsp = 36 => "TLMSP",
        SupportedEktCiphers = 39 => "supported_ekt_ciphers",
        PreSharedKey = 41 => "pre_shared_key",
        EarlyData = 42 => "early_data",
        SupportedVersions = 43 => "supported_versions",
        Cookie = 44 => "cookie",
        PskKeyExchangeModes = 45 => "psk_key_exchange_modes",
        CertificateAuthorities = 47 => "certificate_authorities",
        OidFilters = 48 => "oid_filters",
        PostHandshakeAuth = 49 => "post_handshake_auth",
        SignatureAlgorithmsCert = 50 => "signature_algorithms_cert",
        KeyShare = 51 => "key_share",
        TransparencyInfo = 52 => "transparency_info",
        ConnectionId = 54 => "connection_id",
        ExternalIdHash = 55 => "external_id_hash",
        ExternalSessionId = 56 => "external_session_id",
        QuicTransportParameters = 57 => "quic_transport_parameters",
        TicketRequest = 58 => "ticket_request",
        DnssecChain = 59 => "dnssec_chain",
        SequenceNumberEncryptionAlgorithms = 60 => "sequence_number_encryption_algorithms",
        RrcExtension = 61 => "rrc",
        NextProtocolNegotiation = 13172 => "next_protocol_negotiation",
        ApplicationSettings = 17513 => "application_settings",
        EncryptedClientHello = 0xfe0d => "encrypted_client_hello",
        RenegotiationInfo = 0xff01 => "renegotiation_info",
    }
}

wire_enum! {
    /// IANA "TLS Supported Groups" (RFC 8422, RFC 7919, RFC 8446, and the
    /// hybrid ML-KEM groups).
    pub struct NamedGroup(u16) {
        Sect163k1 = 1 => "sect163k1",
        Sect163r1 = 2 => "sect163r1",
        Sect163r2 = 3 => "sect163r2",
        Sect193r1 = 4 => "sect193r1",
        Sect193r2 = 5 => "sect193r2",
        Sect233k1 = 6 => "sect233k1",
        Sect233r1 = 7 => "sect233r1",
        Sect239k1 = 8 => "sect239k1",
        Sect283k1 = 9 => "sect283k1",
        Sect283r1 = 10 => "sect283r1",
        Sect409k1 = 11 => "sect409k1",
        Sect409r1 = 12 => "sect409r1",
        Sect571k1 = 13 => "sect571k1",
        Sect571r1 = 14 => "sect571r1",
        Secp160k1 = 15 => "secp160k1",
        Secp160r1 = 16 => "secp160r1",
        Secp160r2 = 17 => "secp160r2",
        Secp192k1 = 18 => "secp192k1",
        Secp192r1 = 19 => "secp192r1",
        Secp224k1 = 20 => "secp224k1",
        Secp224r1 = 21 => "secp224r1",
        Secp256k1 = 22 => "secp256k1",
        Secp256r1 = 23 => "secp256r1",
        Secp384r1 = 24 => "secp384r1",
        Secp521r1 = 25 => "secp521r1",
        BrainpoolP256r1 = 26 => "brainpoolP256r1",
        BrainpoolP384r1 = 27 => "brainpoolP384r1",
        BrainpoolP512r1 = 28 => "brainpoolP512r1",
        X25519 = 29 => "x25519",
        X448 = 30 => "x448",
        BrainpoolP256r1Tls13 = 31 => "brainpoolP256r1tls13",
        BrainpoolP384r1Tls13 = 32 => "brainpoolP384r1tls13",
        BrainpoolP512r1Tls13 = 33 => "brainpoolP512r1tls13",
        Ffdhe2048 = 256 => "ffdhe2048",
        Ffdhe3072 = 257 => "ffdhe3072",
        Ffdhe4096 = 258 => "ffdhe4096",
        Ffdhe6144 = 259 => "ffdhe6144",
        Ffdhe8192 = 260 => "ffdhe8192",
        MlKem512 = 512 => "MLKEM512",
        MlKem768 = 513 => "MLKEM768",
        MlKem1024 = 514 => "MLKEM1024",
        SecP256r1MlKem768 = 4587 => "SecP256r1MLKEM768",
        X25519MlKem768 = 4588 => "X25519MLKEM768",
        SecP384r1MlKem1024 = 4589 => "SecP384r1MLKEM1024",
        X25519Kyber768Draft00 = 25497 => "X25519Kyber768Draft00",
        ArbitraryExplicitPrimeCurves = 0xff01 => "arbitrary_explicit_prime_curves",
        ArbitraryExplicitChar2Curves = 0xff02 => "arbitrary_explicit_char2_curves",
    }
}

wire_enum! {
    /// TLS 1.3 `SignatureScheme` (RFC 8446 §4.2.3); the low values are the
    /// TLS 1.2 {HashAlgorithm, SignatureAlgorithm} pairs of RFC 5246
    /// §7.4.1.4.1, which share the same two bytes.
    pub struct SignatureScheme(u16) {
        RsaPkcs1Md5 = 0x0101 => "rsa_pkcs1_md5",
        DsaMd5 = 0x0102 => "dsa_md5",
        EcdsaMd5 = 0x0103 => "ecdsa_md5",
        RsaPkcs1Sha1 = 0x0201 => "rsa_pkcs1_sha1",
        DsaSha1 = 0x0202 => "dsa_sha1",
        EcdsaSha1 = 0x0203 => "ecdsa_sha1",
        RsaPkcs1Sha224 = 0x0301 => "rsa_pkcs1_sha224",
        DsaSha224 = 0x0302 => "dsa_sha224",
        EcdsaSha224 = 0x0303 => "ecdsa_sha224",
        RsaPkcs1Sha256 = 0x0401 => "rsa_pkcs1_sha256",
        DsaSha256 = 0x0402 => "dsa_sha256",
        EcdsaSecp256r1Sha256 = 0x0403 => "ecdsa_secp256r1_sha256",
        RsaPkcs1Sha384 = 0x0501 => "rsa_pkcs1_sha384",
        DsaSha384 = 0x0502 => "dsa_sha384",
        EcdsaSecp384r1Sha384 = 0x0503 => "ecdsa_secp384r1_sha384",
        RsaPkcs1Sha512 = 0x0601 => "rsa_pkcs1_sha512",
        DsaSha512 = 0x0602 => "dsa_sha512",
        EcdsaSecp521r1Sha512 = 0x0603 => "ecdsa_secp521r1_sha512",
        RsaPssRsaeSha256 = 0x0804 => "rsa_pss_rsae_sha256",
        RsaPssRsaeSha384 = 0x0805 => "rsa_pss_rsae_sha384",
        RsaPssRsaeSha512 = 0x0806 => "rsa_pss_rsae_sha512",
        Ed25519 = 0x0807 => "ed25519",
        Ed448 = 0x0808 => "ed448",
        RsaPssPssSha256 = 0x0809 => "rsa_pss_pss_sha256",
        RsaPssPssSha384 = 0x080a => "rsa_pss_pss_sha384",
        RsaPssPssSha512 = 0x080b => "rsa_pss_pss_sha512",
        EcdsaBrainpoolP256r1Tls13Sha256 = 0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        EcdsaBrainpoolP384r1Tls13Sha384 = 0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        EcdsaBrainpoolP512r1Tls13Sha512 = 0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        MlDsa44 = 0x0904 => "mldsa44",
        MlDsa65 = 0x0905 => "mldsa65",
        MlDsa87 = 0x0906 => "mldsa87",
    }
}

wire_enum! {
    /// RFC 8422 §5.1.2 `ECPointFormat`.
    pub struct EcPointFormat(u8) {
        Uncompressed = 0 => "uncompressed",
        AnsiX962CompressedPrime = 1 => "ansiX962_compressed_prime",
        AnsiX962CompressedChar2 = 2 => "ansiX962_compressed_char2",
    }
}

wire_enum! {
    /// RFC 8422 §5.4 `ECCurveType`.
    pub struct EcCurveType(u8) {
        ExplicitPrime = 1 => "explicit_prime",
        ExplicitChar2 = 2 => "explicit_char2",
        NamedCurve = 3 => "named_curve",
    }
}

wire_enum! {
    /// RFC 5246 §7.4.4 `ClientCertificateType` (fortezza_dms from SSL 3.0,
    /// the ECDSA types from RFC 8422).
    pub struct ClientCertificateType(u8) {
        RsaSign = 1 => "rsa_sign",
        DssSign = 2 => "dss_sign",
        RsaFixedDh = 3 => "rsa_fixed_dh",
        DssFixedDh = 4 => "dss_fixed_dh",
        RsaEphemeralDh = 5 => "rsa_ephemeral_dh",
        DssEphemeralDh = 6 => "dss_ephemeral_dh",
        FortezzaDms = 20 => "fortezza_dms",
        EcdsaSign = 64 => "ecdsa_sign",
        RsaFixedEcdh = 65 => "rsa_fixed_ecdh",
        EcdsaFixedEcdh = 66 => "ecdsa_fixed_ecdh",
    }
}

wire_enum! {
    /// RFC 6520 §3 `HeartbeatMessageType`.
    pub struct HeartbeatMessageType(u8) {
        Request = 1 => "heartbeat_request",
        Response = 2 => "heartbeat_response",
    }
}

wire_enum! {
    /// RFC 6520 §2 `HeartbeatMode`.
    pub struct HeartbeatMode(u8) {
        PeerAllowedToSend = 1 => "peer_allowed_to_send",
        PeerNotAllowedToSend = 2 => "peer_not_allowed_to_send",
    }
}

wire_enum! {
    /// RFC 8446 §4.2.9 `PskKeyExchangeMode`.
    pub struct PskKeyExchangeMode(u8) {
        PskKe = 0 => "psk_ke",
        PskDheKe = 1 => "psk_dhe_ke",
    }
}

wire_enum! {
    /// RFC 6066 §8 `CertificateStatusType`; ocsp_multi from RFC 6961.
    pub struct CertificateStatusType(u8) {
        Ocsp = 1 => "ocsp",
        OcspMulti = 2 => "ocsp_multi",
    }
}

wire_enum! {
    /// RFC 6066 §3 `NameType`.
    pub struct ServerNameType(u8) {
        HostName = 0 => "host_name",
    }
}

wire_enum! {
    /// RFC 6066 §4 `MaxFragmentLength`.
    pub struct MaxFragmentLength(u8) {
        Pow9 = 1 => "2^9",
        Pow10 = 2 => "2^10",
        Pow11 = 3 => "2^11",
        Pow12 = 4 => "2^12",
    }
}

wire_enum! {
    /// RFC 8446 §4.6.3 `KeyUpdateRequest`.
    pub struct KeyUpdateRequest(u8) {
        UpdateNotRequested = 0 => "update_not_requested",
        UpdateRequested = 1 => "update_requested",
    }
}

/// A cipher suite code. The names and properties of every IANA-assigned
/// suite are in [`super::suites`]; this type only carries the number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// RFC 5746 §3.3: signalling suite value standing for an empty
    /// renegotiation_info extension.
    pub const TLS_EMPTY_RENEGOTIATION_INFO_SCSV: Self = Self(0x00ff);
    /// RFC 7507 §2: the client is retrying with a lower version than it
    /// supports.
    pub const TLS_FALLBACK_SCSV: Self = Self(0x5600);
    pub const TLS_NULL_WITH_NULL_NULL: Self = Self(0x0000);

    /// The IANA name, or `None` for an unassigned value.
    pub fn name(self) -> Option<&'static str> {
        super::suites::lookup(self.0).map(|s| s.iana)
    }
    pub fn is_grease(self) -> bool {
        is_grease_u16(self.0)
    }
}

impl std::fmt::Debug for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown ({:#06x})", self.0),
        }
    }
}

impl super::codec::Codec for CipherSuite {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }
    fn decode(r: &mut super::codec::Reader<'_>) -> Result<Self, super::codec::DecodeError> {
        r.u16("CipherSuite").map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::codec::Codec;

    #[test]
    fn unknown_values_round_trip_and_print_as_hex() {
        let v = ExtensionType::from_bytes(&[0x1a, 0x2b], "ext").unwrap();
        assert_eq!(v, ExtensionType(0x1a2b));
        assert!(!v.is_known());
        assert_eq!(format!("{v:?}"), "unknown (0x1a2b)");
        assert_eq!(v.to_bytes(), [0x1a, 0x2b]);
        assert_eq!(format!("{:?}", AlertDescription(7)), "unknown (0x07)");
    }

    #[test]
    fn every_named_value_round_trips() {
        for v in AlertDescription::ALL {
            assert_eq!(
                AlertDescription::from_bytes(&v.to_bytes(), "a").unwrap(),
                *v
            );
        }
        for v in ExtensionType::ALL {
            assert_eq!(ExtensionType::from_bytes(&v.to_bytes(), "e").unwrap(), *v);
        }
        assert_eq!(HandshakeType::Finished.name(), Some("finished"));
    }

    #[test]
    fn fatal_table_matches_handshake_md() {
        assert!(AlertDescription::UnexpectedMessage.always_fatal());
        assert!(AlertDescription::ExportRestriction.always_fatal());
        assert!(!AlertDescription::CloseNotify.always_fatal());
        assert!(!AlertDescription::NoRenegotiation.always_fatal());
        assert!(!AlertDescription::CertificateExpired.always_fatal());
    }

    #[test]
    fn grease() {
        assert!(is_grease_u16(0x0a0a));
        assert!(is_grease_u16(0xfafa));
        assert!(!is_grease_u16(0x0a1a));
    }
}
