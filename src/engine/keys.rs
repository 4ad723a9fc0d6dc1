//! The engine's bridge to `crypto` and the suite registry: which suites
//! the engine implements, how a suite maps onto the codec and the flow,
//! and thin calls into the key schedule, RSA and record protection.

use rand::RngCore;

use super::flow::{FlowMsg, Writer};
use super::EngineError;
use crate::crypto::secret::MasterSecret;
use crate::event::Timestamp;
use crate::record::protection::RecordProtection;
use crate::wire::handshake::{DigitallySigned, KeyExchangeKind};
use crate::wire::suites;
use crate::wire::{CipherSuite, HandshakeType, ProtocolVersion, SignatureScheme};

/// The RSA key exchange suites the engine speaks, in its default order of
/// preference (strongest first). NULL and export suites are implemented
/// but must be asked for by name.
const DEFAULT_SUITES: &[CipherSuite] = &[
    CipherSuite(0x009c), // TLS_RSA_WITH_AES_128_GCM_SHA256
    CipherSuite(0x009d), // TLS_RSA_WITH_AES_256_GCM_SHA384
    CipherSuite(0x003c), // TLS_RSA_WITH_AES_128_CBC_SHA256
    CipherSuite(0x003d), // TLS_RSA_WITH_AES_256_CBC_SHA256
    CipherSuite(0x002f), // TLS_RSA_WITH_AES_128_CBC_SHA
    CipherSuite(0x0035), // TLS_RSA_WITH_AES_256_CBC_SHA
    CipherSuite(0x000a), // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    CipherSuite(0x0005), // TLS_RSA_WITH_RC4_128_SHA
    CipherSuite(0x0004), // TLS_RSA_WITH_RC4_128_MD5
    CipherSuite(0x0009), // TLS_RSA_WITH_DES_CBC_SHA
];

/// Everything implemented: the defaults plus export and NULL suites.
const ALL_SUITES: &[CipherSuite] = &[
    CipherSuite(0x009c),
    CipherSuite(0x009d),
    CipherSuite(0x003c),
    CipherSuite(0x003d),
    CipherSuite(0x002f),
    CipherSuite(0x0035),
    CipherSuite(0x000a),
    CipherSuite(0x0005),
    CipherSuite(0x0004),
    CipherSuite(0x0009),
    CipherSuite(0x0008), // TLS_RSA_EXPORT_WITH_DES40_CBC_SHA
    CipherSuite(0x0006), // TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5
    CipherSuite(0x0003), // TLS_RSA_EXPORT_WITH_RC4_40_MD5
    CipherSuite(0x0002), // TLS_RSA_WITH_NULL_SHA
    CipherSuite(0x0001), // TLS_RSA_WITH_NULL_MD5
    CipherSuite(0x003b), // TLS_RSA_WITH_NULL_SHA256
];

pub fn supported_suites() -> &'static [CipherSuite] {
    DEFAULT_SUITES
}

pub fn implemented_suites() -> &'static [CipherSuite] {
    ALL_SUITES
}

/// Signature schemes offered in TLS 1.2 (RSA PKCS#1 only: the engine's
/// keys are RSA).
pub const SIGNATURE_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
    SignatureScheme::RsaPkcs1Sha1,
];

/// Whether `suite` is implemented and belongs to some version in
/// `min..=max`.
pub fn suite_usable(suite: CipherSuite, min: ProtocolVersion, max: ProtocolVersion) -> bool {
    ALL_SUITES.contains(&suite)
        && suites::lookup(suite.0).is_some_and(|s| s.min_version.0 <= max.0 && s.max_version.0 >= min.0)
}

pub fn is_export(suite: CipherSuite) -> bool {
    suites::lookup(suite.0).is_some_and(|s| s.export)
}

/// RFC 5246 Appendix E.1: clients commonly put {3,1} in the record
/// carrying the first ClientHello; an SSL 3.0-only client puts {3,0}.
pub fn initial_record_version(max: ProtocolVersion) -> ProtocolVersion {
    if max == ProtocolVersion::SSLv3 {
        ProtocolVersion::SSLv3
    } else {
        ProtocolVersion::TLSv1_0
    }
}

pub fn wire_key_exchange(suite: Option<CipherSuite>) -> KeyExchangeKind {
    suite.map_or(KeyExchangeKind::Unknown, suites::key_exchange_kind)
}

/// The flow's name for a handshake message type (None: not part of any
/// handshake table).
pub fn flow_msg(t: HandshakeType) -> Option<FlowMsg> {
    FlowMsg::from_handshake_type(t)
}

/// RFC 5246 §7.4.1.2: gmt_unix_time then 28 random bytes.
pub fn new_random(rng: &mut dyn RngCore, now: Timestamp) -> [u8; 32] {
    let mut r = [0u8; 32];
    rng.fill_bytes(&mut r[4..]);
    r[..4].copy_from_slice(&(now.secs as u32).to_be_bytes());
    r
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    crate::crypto::secret::constant_time_eq(a, b)
}

pub fn rsa_bits(key: &rsa::RsaPrivateKey) -> usize {
    use rsa::traits::PublicKeyParts;
    key.n().bits()
}

pub fn rsa_public_parts(key: &rsa::RsaPrivateKey) -> (Vec<u8>, Vec<u8>) {
    use rsa::traits::PublicKeyParts;
    (key.n().to_bytes_be(), key.e().to_bytes_be())
}

pub fn rsa_public_from_parts(modulus: &[u8], exponent: &[u8]) -> Result<rsa::RsaPublicKey, EngineError> {
    rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from_bytes_be(exponent),
    )
    .map_err(|_| EngineError::IllegalParameter("ServerKeyExchange RSA parameters"))
}

// ---- crypto calls (filled in as the crypto layer lands) ----

pub fn master_secret(
    _version: ProtocolVersion,
    _suite: CipherSuite,
    _pre_master: &[u8],
    _client_random: &[u8; 32],
    _server_random: &[u8; 32],
    _session_hash: Option<&[u8]>,
) -> MasterSecret {
    unimplemented!()
}

pub fn session_hash(_version: ProtocolVersion, _suite: CipherSuite, _transcript: &[u8]) -> Vec<u8> {
    unimplemented!()
}

pub fn finished(
    _version: ProtocolVersion,
    _suite: CipherSuite,
    _ms: &MasterSecret,
    _sender: Writer,
    _transcript: &[u8],
) -> Vec<u8> {
    unimplemented!()
}

pub fn protections(
    _version: ProtocolVersion,
    _suite: CipherSuite,
    _ms: &MasterSecret,
    _client_random: &[u8; 32],
    _server_random: &[u8; 32],
) -> Result<(RecordProtection, RecordProtection), EngineError> {
    unimplemented!()
}

pub fn _unused(_: DigitallySigned) {}
