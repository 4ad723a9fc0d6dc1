//! The engine's bridge to `crypto` and the suite registry: which suites
//! the engine implements, how a suite maps onto the codec and the flow,
//! and thin calls into the key schedule, RSA and record protection.

use rand::RngCore;

use super::flow::{FlowMsg, Writer};
use super::EngineError;
use crate::crypto::secret::{MasterSecret, PreMasterSecret};
use crate::crypto::transcript::{self, Sender, Transcript};
use crate::crypto::{prf, rsa_kx};
use crate::event::Timestamp;
use crate::record::protection::{self, RecordError, RecordProtection};
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
        && suites::lookup(suite.0)
            .is_some_and(|s| s.min_version.0 <= max.0 && s.max_version.0 >= min.0)
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
pub fn new_random<R: RngCore + ?Sized>(rng: &mut R, now: Timestamp) -> [u8; 32] {
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

pub fn rsa_public_from_parts(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<rsa::RsaPublicKey, EngineError> {
    rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from_bytes_be(exponent),
    )
    .map_err(|_| EngineError::IllegalParameter("ServerKeyExchange RSA parameters"))
}

// ---- calls into the key schedule, RSA and record protection ----

/// The randomness the engine takes: cryptographically strong (RSA blinding
/// and padding need it), injected so tests are deterministic.
pub type Rng = dyn rsa::rand_core::CryptoRngCore + Send;

fn suite_info(suite: CipherSuite) -> Result<&'static suites::SuiteInfo, EngineError> {
    suites::lookup(suite.0).ok_or(EngineError::Internal("suite not in the registry"))
}

fn transcript_of(bytes: &[u8]) -> Transcript {
    let mut t = Transcript::new();
    t.add(bytes);
    t
}

fn prf_error(_: crate::crypto::prf::PrfError) -> EngineError {
    EngineError::Internal("the key schedule refused this version and suite")
}

/// RFC 5246 §8.1, or RFC 7627 §4 when a session hash is given.
pub fn master_secret(
    version: ProtocolVersion,
    suite: CipherSuite,
    pre_master: &PreMasterSecret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    session_hash: Option<&[u8]>,
) -> Result<MasterSecret, EngineError> {
    let info = suite_info(suite)?;
    match session_hash {
        Some(h) => prf::extended_master_secret(version, info, pre_master, h),
        None => prf::master_secret(version, info, pre_master, client_random, server_random),
    }
    .map_err(prf_error)
}

/// RFC 7627 §3: the hash of the handshake up to ClientKeyExchange.
pub fn session_hash(
    version: ProtocolVersion,
    suite: CipherSuite,
    transcript: &[u8],
) -> Result<Vec<u8>, EngineError> {
    transcript::session_hash(version, suite_info(suite)?, &transcript_of(transcript))
        .map_err(prf_error)
}

/// Finished.verify_data of `sender` over `transcript` (RFC 5246 §7.4.9,
/// RFC 6101 §5.6.9).
pub fn finished(
    version: ProtocolVersion,
    suite: CipherSuite,
    ms: &MasterSecret,
    sender: Writer,
    transcript: &[u8],
) -> Result<Vec<u8>, EngineError> {
    let sender = match sender {
        Writer::Client => Sender::Client,
        Writer::Server => Sender::Server,
    };
    transcript::finished_verify_data(
        version,
        suite_info(suite)?,
        ms,
        sender,
        &transcript_of(transcript),
    )
    .map_err(prf_error)
}

/// Both directions' record protection from the master secret (RFC 5246
/// §6.3), as (client write, server write): `record::protection::protections`,
/// shared with the passive observer.
pub fn protections(
    version: ProtocolVersion,
    suite: CipherSuite,
    ms: &MasterSecret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    encrypt_then_mac: bool,
) -> Result<(RecordProtection, RecordProtection), EngineError> {
    let info = suite_info(suite)?;
    protection::protections(
        version,
        info,
        ms,
        client_random,
        server_random,
        encrypt_then_mac,
    )
    .map_err(|e| match e {
        protection::ProtectionSetupError::KeySchedule(e) => prf_error(e),
        _ => EngineError::Internal("record protection could not be set up"),
    })
}

/// RFC 5246 §7.4.7.1: first two bytes the offered version, 46 random.
pub fn new_pre_master(offered: ProtocolVersion, rng: &mut Rng) -> PreMasterSecret {
    rsa_kx::new_pre_master(offered, rng)
}

pub fn encrypt_pre_master(
    key: &rsa::RsaPublicKey,
    pre_master: &PreMasterSecret,
    rng: &mut Rng,
) -> Result<Vec<u8>, EngineError> {
    rsa_kx::encrypt_pre_master(key, pre_master, rng)
        .map_err(|_| EngineError::Internal("RSA encryption failed"))
}

/// Never fails: see `crypto::rsa_kx::decrypt_pre_master`.
pub fn decrypt_pre_master(
    key: &rsa::RsaPrivateKey,
    ciphertext: &[u8],
    offered: ProtocolVersion,
    rng: &mut Rng,
) -> PreMasterSecret {
    rsa_kx::decrypt_pre_master(key, ciphertext, offered, rng)
}

/// The scheme this engine signs with in TLS 1.2 (RSA PKCS#1 with SHA-256;
/// None before TLS 1.2).
fn signing_scheme(version: ProtocolVersion) -> Option<SignatureScheme> {
    (version.0 >= ProtocolVersion::TLSv1_2.0).then_some(SignatureScheme::RsaPkcs1Sha256)
}

/// RFC 5246 §7.4.8 (RFC 6101 §5.6.8 in SSL 3.0).
pub fn sign_certificate_verify(
    version: ProtocolVersion,
    ms: &MasterSecret,
    transcript: &[u8],
    key: &rsa::RsaPrivateKey,
    rng: &mut Rng,
) -> Result<DigitallySigned, EngineError> {
    let scheme = signing_scheme(version);
    let input =
        transcript::certificate_verify_input(version, ms, &transcript_of(transcript), scheme)
            .map_err(|_| EngineError::Internal("no CertificateVerify input"))?;
    let signature = rsa_kx::rsa_sign(key, scheme, &input, rng)
        .map_err(|_| EngineError::Internal("RSA signing failed"))?;
    Ok(DigitallySigned {
        algorithm: scheme,
        signature,
    })
}

pub fn verify_certificate_verify(
    version: ProtocolVersion,
    ms: &MasterSecret,
    transcript: &[u8],
    key: &rsa::RsaPublicKey,
    cv: &DigitallySigned,
) -> Result<(), EngineError> {
    let input =
        transcript::certificate_verify_input(version, ms, &transcript_of(transcript), cv.algorithm)
            .map_err(|_| EngineError::BadSignature)?;
    rsa_kx::rsa_verify(key, cv.algorithm, &input, &cv.signature)
        .map_err(|_| EngineError::BadSignature)
}

/// RFC 2246 §7.4.3: the temporary export key, signed with the certificate key.
pub fn sign_server_rsa_params(
    version: ProtocolVersion,
    key: &rsa::RsaPrivateKey,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    modulus: &[u8],
    exponent: &[u8],
    rng: &mut Rng,
) -> Result<DigitallySigned, EngineError> {
    let scheme = signing_scheme(version);
    let signature = rsa_kx::sign_server_rsa_params(
        version,
        key,
        client_random,
        server_random,
        modulus,
        exponent,
        scheme,
        rng,
    )
    .map_err(|_| EngineError::Internal("signing the export key failed"))?;
    Ok(DigitallySigned {
        algorithm: scheme,
        signature,
    })
}

pub fn verify_server_rsa_params(
    version: ProtocolVersion,
    cert_key: &rsa::RsaPublicKey,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    modulus: &[u8],
    exponent: &[u8],
    signature: &DigitallySigned,
) -> Result<(), EngineError> {
    let params = rsa_kx::encode_server_rsa_params(modulus, exponent);
    rsa_kx::verify_server_params(
        version,
        cert_key,
        signature.algorithm,
        client_random,
        server_random,
        &params,
        &signature.signature,
    )
    .map_err(|_| EngineError::BadSignature)
}

pub fn generate_export_key(rng: &mut Rng) -> Result<rsa::RsaPrivateKey, EngineError> {
    rsa_kx::generate_export_key(rng)
        .map_err(|_| EngineError::Internal("export key generation failed"))
}

/// The one mapping from record-layer failures to engine errors.
pub fn record_error(e: RecordError) -> EngineError {
    match e {
        RecordError::BadRecordMac => EngineError::BadRecordMac,
        RecordError::RecordOverflow => EngineError::RecordOverflow,
        _ => EngineError::BadRecordMac,
    }
}
