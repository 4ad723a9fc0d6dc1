//! RSA in the handshake: the encrypted pre-master secret of RSA key
//! exchange, the signatures over ServerKeyExchange parameters (export RSA
//! keys, and the (EC)DHE parameters of TLS 1.2 peers), and the signatures
//! that `transcript` prepares (CertificateVerify).
//!
//! - RFC 5246 §7.4.7.1 (RFC 2246 §7.4.7.1, RFC 6101 §5.6.7.1): the client
//!   makes a 48-byte `PreMasterSecret` that starts with the version it
//!   offered and encrypts it with PKCS #1 v1.5 ([`new_pre_master`],
//!   [`encrypt_pre_master`]). The server decrypts it without ever letting a
//!   bad ciphertext look different from a good one ([`decrypt_pre_master`]).
//! - RFC 2246 §7.4.3, RFC 6101 §5.6.4, RFC 5246 §7.4.3: ServerKeyExchange
//!   signs `client_random + server_random + params`: MD5 + SHA-1 with
//!   PKCS #1 block type 1 and no DigestInfo before TLS 1.2, the hash of the
//!   SignatureScheme in TLS 1.2 ([`sign_server_params`],
//!   [`verify_server_params`]). Export suites use it to sign a temporary
//!   512-bit key ([`generate_export_key`], [`sign_server_rsa_params`]).
//!
//! The wire framing (the u16 length prefix that SSL 3.0 leaves out) is
//! `wire::handshake`'s; this module sees the bare RSA ciphertext.
//!
//! What this module does not do: DSA or ECDSA signatures, (EC)DH key
//! agreement, or choose a signature scheme.
//!
//! # Timing
//!
//! The `rsa` crate's private-key operation is not constant-time
//! (RUSTSEC-2023-0071, the "Marvin" attack: timing of the modular
//! exponentiation can leak enough for a Bleichenbacher-style key recovery
//! when many decryptions can be timed over a network). No fixed release
//! exists for the 0.9 series. sslwalk decrypts with blinding and keeps its
//! own code free of branches on the secret, but a server key used with
//! `sslwalk serve` on a network an attacker can time should be a test key.

use std::fmt;

use rsa::rand_core::CryptoRngCore;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Sha256, Sha384, Sha512};

use super::secret::PreMasterSecret;
use super::transcript::{signed_data_input, Hash, SignatureInput, SignatureInputError};
use crate::wire::{ProtocolVersion, SignatureScheme};

/// RFC 5246 §7.4.7.1: the RSA `PreMasterSecret` is 48 bytes.
pub const PRE_MASTER_LEN: usize = 48;

/// Bits in the temporary RSA key of export suites (RFC 2246 §7.4.3: "RSA
/// keys longer than 512 bits" may not be used for export key exchange).
pub const EXPORT_RSA_BITS: usize = 512;

/// An RSA operation of the handshake failed.
#[derive(Debug, PartialEq, Eq)]
pub enum RsaKxError {
    /// The digest could not be formed (version, scheme).
    Input(SignatureInputError),
    /// The signature scheme is not an RSA scheme.
    NotRsa(SignatureScheme),
    /// The signature does not verify.
    BadSignature,
    /// The `rsa` crate refused (key too small for the message, bad key).
    Rsa(rsa::Error),
}

impl fmt::Display for RsaKxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(e) => e.fmt(f),
            Self::NotRsa(s) => write!(f, "{s:?} is not an RSA signature scheme"),
            Self::BadSignature => f.write_str("the RSA signature does not verify"),
            Self::Rsa(e) => write!(f, "RSA: {e}"),
        }
    }
}

impl std::error::Error for RsaKxError {}

impl From<SignatureInputError> for RsaKxError {
    fn from(e: SignatureInputError) -> Self {
        Self::Input(e)
    }
}

impl From<rsa::Error> for RsaKxError {
    fn from(e: rsa::Error) -> Self {
        Self::Rsa(e)
    }
}

// -- The pre-master secret ---------------------------------------------

/// RFC 5246 §7.4.7.1:
///
/// ```text
/// struct {
///     ProtocolVersion client_version;
///     opaque random[46];
/// } PreMasterSecret;
/// ```
///
/// `client_version` is the version the ClientHello offered, not the one
/// negotiated: the server checks it to detect a version rollback.
pub fn new_pre_master(
    client_version: ProtocolVersion,
    rng: &mut dyn CryptoRngCore,
) -> PreMasterSecret {
    let mut pre_master = PreMasterSecret::new(vec![0u8; PRE_MASTER_LEN]);
    let bytes = pre_master.expose_mut();
    bytes[..2].copy_from_slice(&client_version.0.to_be_bytes());
    rng.fill_bytes(&mut bytes[2..]);
    pre_master
}

/// RFC 5246 §7.4.7.1 `public-key-encrypted PreMasterSecret
/// pre_master_secret;`: RSAES-PKCS1-v1_5 (RFC 8017 §7.2) with the server's
/// key (or the temporary export key).
pub fn encrypt_pre_master(
    key: &RsaPublicKey,
    pre_master: &PreMasterSecret,
    rng: &mut dyn CryptoRngCore,
) -> Result<Vec<u8>, RsaKxError> {
    let mut rng = rng;
    Ok(key.encrypt(&mut rng, Pkcs1v15Encrypt, pre_master.expose())?)
}

/// The server's side of RSA key exchange, as RFC 5246 §7.4.7.1 requires:
/// it never fails, and a bad ClientKeyExchange is not told apart from a
/// good one until Finished fails.
///
/// Invariants:
///
/// - The result is always 48 bytes starting with `client_hello_version`.
/// - If the PKCS #1 padding is wrong, the message is not 48 bytes, or its
///   first two bytes are not `client_hello_version`, the result is the
///   random pre-master drawn *before* the decryption: the client and
///   server then derive different keys and the handshake ends at Finished
///   with bad_record_mac or decrypt_error, exactly as it would for any
///   other wrong key.
/// - Which of the two values is returned is chosen with masks, not
///   branches, over the decrypted bytes.
///
/// Why: a server that answers a malformed pre-master differently (another
/// alert, an earlier alert, a measurably different time) is a padding
/// oracle; Bleichenbacher (CRYPTO '98) and its successors (ROBOT 2017)
/// decrypt or sign with the server's key through such an oracle. Drawing
/// the random value first keeps the RNG call out of the secret-dependent
/// path. Checking the version here rather than separately also keeps the
/// rollback check (RFC 5246 §7.4.7.1, Appendix E.1) from being an oracle of
/// its own. Some very old clients put the negotiated version in the
/// pre-master; they fail the handshake here (RFC 5246 requires the check
/// when the client offered TLS 1.1 or later and recommends it before).
///
/// Residual leaks, beyond sslwalk's control (see the top of this module):
/// the `rsa` crate reports bad padding as an `Err`, so the `match` on it is
/// a branch on secret data; it copies the unpadded message out, so the
/// message length shows in the timing; and its exponentiation is not
/// constant-time (RUSTSEC-2023-0071).
pub fn decrypt_pre_master(
    key: &RsaPrivateKey,
    ciphertext: &[u8],
    client_hello_version: ProtocolVersion,
    rng: &mut dyn CryptoRngCore,
) -> PreMasterSecret {
    let mut fallback = new_pre_master(client_hello_version, rng);
    let mut rng = rng;
    let decrypted = key.decrypt_blinded(&mut rng, Pkcs1v15Encrypt, ciphertext);
    let (message, padding_bad) = match decrypted {
        Ok(message) => (PreMasterSecret::new(message), 0u64),
        Err(_) => (PreMasterSecret::new(Vec::new()), 1u64),
    };
    let message = message.expose();

    // The candidate, copied into a fixed-size buffer whatever its length.
    let mut candidate = PreMasterSecret::new(vec![0u8; PRE_MASTER_LEN]);
    for (dst, src) in candidate.expose_mut().iter_mut().zip(message) {
        *dst = *src;
    }
    let candidate = candidate.expose();
    let version = client_hello_version.0.to_be_bytes();
    let version_diff = u64::from((candidate[0] ^ version[0]) | (candidate[1] ^ version[1]));
    let length_diff = (message.len() ^ PRE_MASTER_LEN) as u64;
    let ok = zero_mask(padding_bad) & zero_mask(length_diff) & zero_mask(version_diff);
    let ok = std::hint::black_box(ok);

    for (out, good) in fallback.expose_mut().iter_mut().zip(candidate) {
        *out = (good & ok) | (*out & !ok);
    }
    fallback
}

/// 0xff if `x == 0`, else 0x00, without a branch.
fn zero_mask(x: u64) -> u8 {
    let nonzero = (x | x.wrapping_neg()) >> 63; // 1 iff x != 0
    (nonzero as u8).wrapping_sub(1)
}

/// What [`decrypt_pre_master_checked`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum RsaKxOutcome {
    /// A 48-byte pre-master carrying the ClientHello version.
    Valid(PreMasterSecret),
    /// Well padded and 48 bytes long, but another version inside (a
    /// rollback, or an old client that put the negotiated version there).
    VersionMismatch {
        found: ProtocolVersion,
        pre_master: PreMasterSecret,
    },
    /// The PKCS #1 v1.5 padding (or the RSA operation) failed.
    BadPadding,
    /// Well padded, but not 48 bytes.
    BadLength { len: usize },
}

/// Decrypts and *reports* what is wrong with a ClientKeyExchange.
///
/// For the passive decoder only, which holds the server's key and wants to
/// tell the user why a capture does not decrypt. A server must use
/// [`decrypt_pre_master`]: answering a peer according to this outcome is a
/// padding oracle.
pub fn decrypt_pre_master_checked(
    key: &RsaPrivateKey,
    ciphertext: &[u8],
    client_hello_version: ProtocolVersion,
) -> RsaKxOutcome {
    let message = match key.decrypt(Pkcs1v15Encrypt, ciphertext) {
        Ok(message) => PreMasterSecret::new(message),
        Err(_) => return RsaKxOutcome::BadPadding,
    };
    if message.len() != PRE_MASTER_LEN {
        return RsaKxOutcome::BadLength { len: message.len() };
    }
    let bytes = message.expose();
    let found = ProtocolVersion(u16::from_be_bytes([bytes[0], bytes[1]]));
    if found == client_hello_version {
        RsaKxOutcome::Valid(message)
    } else {
        RsaKxOutcome::VersionMismatch {
            found,
            pre_master: message,
        }
    }
}

// -- Signatures ---------------------------------------------------------

/// Signs `input` with RSA: PKCS #1 v1.5 without DigestInfo for the
/// pre-TLS 1.2 MD5 + SHA-1 concatenation (`scheme` is `None` there),
/// otherwise as `scheme` says (rsa_pkcs1_*: PKCS #1 v1.5 with DigestInfo,
/// RFC 5246 §4.7; rsa_pss_*: PSS with MGF1 and a salt as long as the hash,
/// RFC 8446 §4.2.3).
pub fn rsa_sign(
    key: &RsaPrivateKey,
    scheme: Option<SignatureScheme>,
    input: &SignatureInput,
    rng: &mut dyn CryptoRngCore,
) -> Result<Vec<u8>, RsaKxError> {
    let mut rng = rng;
    let signature = match padding_for(scheme, input)? {
        Padding::Pkcs1(padding) => key.sign_with_rng(&mut rng, padding, &input.digest)?,
        Padding::Pss(padding) => key.sign_with_rng(&mut rng, padding, &input.digest)?,
    };
    Ok(signature)
}

/// Verifies an RSA signature over `input`; see [`rsa_sign`] for the
/// padding chosen.
pub fn rsa_verify(
    key: &RsaPublicKey,
    scheme: Option<SignatureScheme>,
    input: &SignatureInput,
    signature: &[u8],
) -> Result<(), RsaKxError> {
    let verified = match padding_for(scheme, input)? {
        Padding::Pkcs1(padding) => key.verify(padding, &input.digest, signature),
        Padding::Pss(padding) => key.verify(padding, &input.digest, signature),
    };
    verified.map_err(|_| RsaKxError::BadSignature)
}

enum Padding {
    Pkcs1(Pkcs1v15Sign),
    Pss(Pss),
}

fn padding_for(
    scheme: Option<SignatureScheme>,
    input: &SignatureInput,
) -> Result<Padding, RsaKxError> {
    let Some(hash) = input.hash else {
        // RFC 2246 §7.4.3: "the 36-byte structure of two hashes (one SHA
        // and one MD5) is signed"; no DigestInfo.
        return Ok(Padding::Pkcs1(Pkcs1v15Sign::new_unprefixed()));
    };
    use SignatureScheme as S;
    match scheme {
        Some(
            S::RsaPssRsaeSha256
            | S::RsaPssRsaeSha384
            | S::RsaPssRsaeSha512
            | S::RsaPssPssSha256
            | S::RsaPssPssSha384
            | S::RsaPssPssSha512,
        ) => Ok(Padding::Pss(match hash {
            Hash::Sha256 => Pss::new::<Sha256>(),
            Hash::Sha384 => Pss::new::<Sha384>(),
            _ => Pss::new::<Sha512>(),
        })),
        Some(
            S::RsaPkcs1Md5
            | S::RsaPkcs1Sha1
            | S::RsaPkcs1Sha224
            | S::RsaPkcs1Sha256
            | S::RsaPkcs1Sha384
            | S::RsaPkcs1Sha512,
        ) => Ok(Padding::Pkcs1(Pkcs1v15Sign {
            hash_len: Some(hash.output_len()),
            prefix: digest_info_prefix(hash).into(),
        })),
        Some(other) => Err(RsaKxError::NotRsa(other)),
        None => Err(RsaKxError::Input(SignatureInputError::MissingScheme)),
    }
}

/// RFC 8017 §9.2, note 1: the DER `DigestInfo` header before each hash in
/// an RSASSA-PKCS1-v1_5 signature.
fn digest_info_prefix(hash: Hash) -> &'static [u8] {
    match hash {
        Hash::Md5 => &[
            0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05,
            0x05, 0x00, 0x04, 0x10,
        ],
        Hash::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        Hash::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        Hash::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Hash::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Hash::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

// -- ServerKeyExchange ----------------------------------------------------

/// The digest a ServerKeyExchange signature covers (RFC 5246 §7.4.3,
/// RFC 2246 §7.4.3, RFC 6101 §5.6.4):
///
/// ```text
/// digitally-signed struct {
///     opaque client_random[32];
///     opaque server_random[32];
///     ServerDHParams params;   /* or ServerRSAParams, ServerECDHParams */
/// } signed_params;
/// ```
///
/// `params` is the encoded parameter structure exactly as sent.
pub fn server_params_input(
    version: ProtocolVersion,
    scheme: Option<SignatureScheme>,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    params: &[u8],
) -> Result<SignatureInput, SignatureInputError> {
    let mut data = Vec::with_capacity(64 + params.len());
    data.extend_from_slice(client_random);
    data.extend_from_slice(server_random);
    data.extend_from_slice(params);
    signed_data_input(version, scheme, &data)
}

/// Signs ServerKeyExchange parameters with the certificate's RSA key.
/// `scheme` is required from TLS 1.2 on and ignored before.
pub fn sign_server_params(
    version: ProtocolVersion,
    key: &RsaPrivateKey,
    scheme: Option<SignatureScheme>,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    params: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Result<Vec<u8>, RsaKxError> {
    let scheme = scheme_for(version, scheme);
    let input = server_params_input(version, scheme, client_random, server_random, params)?;
    rsa_sign(key, scheme, &input, rng)
}

/// Verifies a ServerKeyExchange signature made with an RSA certificate key.
pub fn verify_server_params(
    version: ProtocolVersion,
    key: &RsaPublicKey,
    scheme: Option<SignatureScheme>,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    params: &[u8],
    signature: &[u8],
) -> Result<(), RsaKxError> {
    let scheme = scheme_for(version, scheme);
    let input = server_params_input(version, scheme, client_random, server_random, params)?;
    rsa_verify(key, scheme, &input, signature)
}

/// Before TLS 1.2 signatures name no algorithm: drop any given.
fn scheme_for(
    version: ProtocolVersion,
    scheme: Option<SignatureScheme>,
) -> Option<SignatureScheme> {
    if version == ProtocolVersion::TLSv1_2 {
        scheme
    } else {
        None
    }
}

/// RFC 2246 §7.4.3:
///
/// ```text
/// struct {
///     opaque rsa_modulus<1..2^16-1>;
///     opaque rsa_exponent<1..2^16-1>;
/// } ServerRSAParams;
/// ```
pub fn encode_server_rsa_params(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + modulus.len() + exponent.len());
    for field in [modulus, exponent] {
        out.extend_from_slice(&(field.len() as u16).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// The export server's ServerKeyExchange signature over its temporary key
/// (`modulus`, `exponent`: big-endian, as they go on the wire).
#[allow(clippy::too_many_arguments)] // the RFC's own list of inputs
pub fn sign_server_rsa_params(
    version: ProtocolVersion,
    signing_key: &RsaPrivateKey,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    modulus: &[u8],
    exponent: &[u8],
    scheme: Option<SignatureScheme>,
    rng: &mut dyn CryptoRngCore,
) -> Result<Vec<u8>, RsaKxError> {
    let params = encode_server_rsa_params(modulus, exponent);
    sign_server_params(
        version,
        signing_key,
        scheme,
        client_random,
        server_random,
        &params,
        rng,
    )
}

/// A fresh temporary key for export key exchange: 512 bits, e = 65537.
pub fn generate_export_key(rng: &mut dyn CryptoRngCore) -> Result<RsaPrivateKey, RsaKxError> {
    let mut rng = rng;
    Ok(RsaPrivateKey::new(&mut rng, EXPORT_RSA_BITS)?)
}

/// A public key's modulus and exponent as ServerRSAParams carries them:
/// big-endian, no leading zeros.
pub fn rsa_params_of(key: &RsaPublicKey) -> (Vec<u8>, Vec<u8>) {
    (key.n().to_bytes_be(), key.e().to_bytes_be())
}

/// The public key of a received ServerRSAParams.
pub fn public_key_from_params(modulus: &[u8], exponent: &[u8]) -> Result<RsaPublicKey, RsaKxError> {
    Ok(RsaPublicKey::new(
        BigUint::from_bytes_be(modulus),
        BigUint::from_bytes_be(exponent),
    )?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::prf::unhex;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;

    /// A private key from `fixtures/peers/keys/NAME` (PKCS #1 or #8 PEM).
    pub(crate) fn fixture_key(name: &str) -> RsaPrivateKey {
        let path = format!("{}/fixtures/peers/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read_to_string(&path).unwrap();
        RsaPrivateKey::from_pkcs1_pem(&pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(&pem))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(0x55_77_a1_c0)
    }

    #[test]
    fn pre_master_starts_with_the_offered_version() {
        let pms = new_pre_master(ProtocolVersion::TLSv1_2, &mut rng());
        assert_eq!(pms.len(), 48);
        assert_eq!(pms.expose()[..2], [3, 3]);
        let mut expected = [0u8; 46];
        rng().fill_bytes(&mut expected);
        assert_eq!(pms.expose()[2..], expected);
    }

    #[test]
    fn round_trip_with_the_fixture_key() {
        let key = fixture_key("server.key");
        let mut rng = rng();
        for version in [ProtocolVersion::SSLv3, ProtocolVersion::TLSv1_2] {
            let pms = new_pre_master(version, &mut rng);
            let ct = encrypt_pre_master(&key.to_public_key(), &pms, &mut rng).unwrap();
            assert_eq!(ct.len(), 256);
            assert_eq!(decrypt_pre_master(&key, &ct, version, &mut rng), pms);
            assert_eq!(
                decrypt_pre_master_checked(&key, &ct, version),
                RsaKxOutcome::Valid(pms)
            );
        }
    }

    /// The value `decrypt_pre_master` falls back to with `rng()`: the
    /// version, then the first 46 bytes the RNG gives.
    fn expected_fallback(version: ProtocolVersion) -> Vec<u8> {
        let mut fallback = version.0.to_be_bytes().to_vec();
        let mut random = [0u8; 46];
        rng().fill_bytes(&mut random);
        fallback.extend_from_slice(&random);
        fallback
    }

    #[test]
    fn bad_ciphertexts_give_the_random_drawn_first() {
        let key = fixture_key("server.key");
        let public = key.to_public_key();
        let v12 = ProtocolVersion::TLSv1_2;
        let mut setup_rng = StdRng::seed_from_u64(1);

        // Wrong padding: random bytes below the modulus.
        let mut garbage = vec![0u8; 256];
        setup_rng.fill_bytes(&mut garbage);
        garbage[0] = 0x00;
        // Wrong length: a well-padded 47-byte message.
        let short = public
            .encrypt(&mut setup_rng, Pkcs1v15Encrypt, &[3u8; 47])
            .unwrap();
        // Wrong version: TLS 1.0 inside, TLS 1.2 offered (a rollback).
        let mut rolled_back = vec![0x42u8; 48];
        rolled_back[..2].copy_from_slice(&[3, 1]);
        let rollback = public
            .encrypt(&mut setup_rng, Pkcs1v15Encrypt, &rolled_back)
            .unwrap();

        for (ciphertext, outcome) in [
            (&garbage[..], RsaKxOutcome::BadPadding),
            (&garbage[..17], RsaKxOutcome::BadPadding),
            (&[][..], RsaKxOutcome::BadPadding),
            (&short[..], RsaKxOutcome::BadLength { len: 47 }),
            (
                &rollback[..],
                RsaKxOutcome::VersionMismatch {
                    found: ProtocolVersion::TLSv1_0,
                    pre_master: PreMasterSecret::new(rolled_back.clone()),
                },
            ),
        ] {
            let pms = decrypt_pre_master(&key, ciphertext, v12, &mut rng());
            assert_eq!(pms.expose(), &expected_fallback(v12), "{outcome:?}");
            assert_eq!(decrypt_pre_master_checked(&key, ciphertext, v12), outcome);
        }
    }

    #[test]
    fn masks() {
        assert_eq!(zero_mask(0), 0xff);
        for x in [1, 2, 47, 1 << 40, u64::MAX] {
            assert_eq!(zero_mask(x), 0, "{x}");
        }
    }

    /// ServerRSAParams of a made-up key, and the randoms, for the
    /// signature tests.
    fn params_fixture() -> ([u8; 32], [u8; 32], Vec<u8>) {
        let params = encode_server_rsa_params(&[0xc1; 64], &[1, 0, 1]);
        assert_eq!(params[..2], [0, 64]);
        assert_eq!(params[66..], [0, 3, 1, 0, 1]);
        ([0x01; 32], [0x02; 32], params)
    }

    // Expected signatures from OpenSSL 3.0 with fixtures/peers/keys/
    // server.key (PKCS #1 v1.5 signatures are deterministic), over
    // data = 32 x 01 + 32 x 02 + params:
    //   TLS 1.0: printf md5(data)+sha1(data) | openssl pkeyutl -sign
    //            -inkey server.key -pkeyopt rsa_padding_mode:pkcs1
    //   TLS 1.2: openssl dgst -sha256 -sign server.key data
    const SIG_MD5_SHA1: &str = "0f1493833b29b8a7b6c559a411d7d7d689bf0a59825560f2629d47f858a4f9a8
                 c610c612c959847b248246be8301e7c5835a744f1638fe9107300ba4d44f19fe
                 3063293c6e6f630800a10719c520b2b253ab6c73d39ba25a4246eca66169f7f6
                 7b12863095a750c28f0feca61251db5965bc400949eb9f9b639ed592fed820e1
                 6aeae21158fb9a28cac977d12dc3a5026d3df167d3081d876ae3ccbb9676d16e
                 8a36509aedd4df55f1c6a5a12bd20e37e4f43abad5c23d34933f812eed6faa5a
                 daa69e988e3da53070f364278e6b6df5091796e3981a55640a472dae13e01c08
                 090bc570a012150f2487856c4dd448421105d9edbd4192ba63fe3ef1cfb57866";
    const SIG_SHA256: &str = "cbbf31667b69cd36747d20538f3b4a9e579b223f3f812a8ef2347667951da4c4
                 1778644c3e1bd7884bf0f0f934dc4dff4033386fe15a81185ca047067d7aa918
                 845c76ba9735b2c0577407e6df2ab90262f5d28c26a2aa7cd4034685ef819aef
                 510a7a5f02a9300a57a298d554bba377a5cd837c4250fb774f9fb388ce9dd8e4
                 fde97cffa0d476685ab6190f3f46d80c402be18b4ccfdd191161c14d843a611e
                 3214cd39142ca405728bfb2d7b98a6a78cec21b92b9a0cfeefb7dd6d50ad1eeb
                 b53e93d9d0d0908063f41bc117171ed9a4ea8524343fd4bcedcb31bdd604f66f
                 ef9f3ac1098adb087522a21b23bad9d6cdf9c99a1dc6d30d18878881eb04e77a";

    #[test]
    fn server_params_signatures_match_openssl() {
        let key = fixture_key("server.key");
        let public = key.to_public_key();
        let (cr, sr, params) = params_fixture();
        let mut rng = rng();
        let cases = [
            (ProtocolVersion::TLSv1_0, None, SIG_MD5_SHA1),
            (ProtocolVersion::SSLv3, None, SIG_MD5_SHA1),
            (
                ProtocolVersion::TLSv1_2,
                Some(SignatureScheme::RsaPkcs1Sha256),
                SIG_SHA256,
            ),
        ];
        for (version, scheme, expected) in cases {
            let signature =
                sign_server_params(version, &key, scheme, &cr, &sr, &params, &mut rng).unwrap();
            assert_eq!(signature, unhex(expected), "{version:?}");
            verify_server_params(version, &public, scheme, &cr, &sr, &params, &signature).unwrap();
            let mut forged = signature.clone();
            forged[100] ^= 1;
            assert_eq!(
                verify_server_params(version, &public, scheme, &cr, &sr, &params, &forged),
                Err(RsaKxError::BadSignature)
            );
        }
    }

    #[test]
    fn pss_and_scheme_errors() {
        let key = fixture_key("server.key");
        let public = key.to_public_key();
        let (cr, sr, params) = params_fixture();
        let mut rng = rng();
        let v12 = ProtocolVersion::TLSv1_2;
        for scheme in [
            SignatureScheme::RsaPssRsaeSha256,
            SignatureScheme::RsaPssRsaeSha384,
            SignatureScheme::RsaPssRsaeSha512,
            SignatureScheme::RsaPkcs1Sha1,
            SignatureScheme::RsaPkcs1Sha512,
        ] {
            let signature =
                sign_server_params(v12, &key, Some(scheme), &cr, &sr, &params, &mut rng).unwrap();
            verify_server_params(v12, &public, Some(scheme), &cr, &sr, &params, &signature)
                .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
            // The same bytes do not verify as another scheme.
            assert_eq!(
                verify_server_params(
                    v12,
                    &public,
                    Some(SignatureScheme::RsaPkcs1Sha384),
                    &cr,
                    &sr,
                    &params,
                    &signature
                ),
                Err(RsaKxError::BadSignature)
            );
        }
        let mut sign = |scheme| sign_server_params(v12, &key, scheme, &cr, &sr, &params, &mut rng);
        assert_eq!(
            sign(Some(SignatureScheme::EcdsaSecp256r1Sha256)),
            Err(RsaKxError::NotRsa(SignatureScheme::EcdsaSecp256r1Sha256))
        );
        assert_eq!(
            sign(None),
            Err(RsaKxError::Input(SignatureInputError::MissingScheme))
        );
        assert_eq!(
            sign(Some(SignatureScheme::Ed25519)),
            Err(RsaKxError::Input(SignatureInputError::UnsupportedScheme(
                SignatureScheme::Ed25519
            )))
        );
    }

    #[test]
    fn export_key_exchange_end_to_end() {
        let mut rng = rng();
        let certificate_key = fixture_key("server.key");
        let export_key = generate_export_key(&mut rng).unwrap();
        assert_eq!(export_key.size(), 64);
        let (modulus, exponent) = rsa_params_of(&export_key.to_public_key());
        assert_eq!((modulus.len(), exponent.as_slice()), (64, &[1, 0, 1][..]));
        let (cr, sr) = ([7u8; 32], [9u8; 32]);
        let v = ProtocolVersion::TLSv1_0;
        let signature = sign_server_rsa_params(
            v,
            &certificate_key,
            &cr,
            &sr,
            &modulus,
            &exponent,
            None,
            &mut rng,
        )
        .unwrap();
        // The client checks the signature, then encrypts to the
        // temporary key.
        let params = encode_server_rsa_params(&modulus, &exponent);
        verify_server_params(
            v,
            &certificate_key.to_public_key(),
            None,
            &cr,
            &sr,
            &params,
            &signature,
        )
        .unwrap();
        let temporary = public_key_from_params(&modulus, &exponent).unwrap();
        let pms = new_pre_master(v, &mut rng);
        let ct = encrypt_pre_master(&temporary, &pms, &mut rng).unwrap();
        assert_eq!(ct.len(), 64);
        assert_eq!(decrypt_pre_master(&export_key, &ct, v, &mut rng), pms);
    }
}
