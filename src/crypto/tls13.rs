//! The TLS 1.3 key schedule pieces a passive decoder needs when a key log
//! gives it the traffic secrets (RFC 8446 §7): HKDF-Expand-Label, the
//! traffic keys and IVs of a secret (§7.3), the next secret of a KeyUpdate
//! (§7.2), and Finished `verify_data` (§4.4.4).
//!
//! What this module does not do: HKDF-Extract and the secrets above the
//! traffic secrets (early, handshake and master secrets need the (EC)DHE
//! shared secret, which a decoder never has), PSK binders, or record
//! protection itself (`record::protection::Tls13Protection`).

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

/// The hash of a TLS 1.3 cipher suite (RFC 8446 §B.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls13Hash {
    Sha256,
    Sha384,
}

impl Tls13Hash {
    /// The suite's hash: SHA-384 for TLS_AES_256_GCM_SHA384, SHA-256 for
    /// the others (RFC 8446 §B.4).
    pub fn of_suite(code: u16) -> Self {
        if code == 0x1302 {
            Self::Sha384
        } else {
            Self::Sha256
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }
            Self::Sha384 => {
                let mut m = <Hmac<Sha384> as Mac>::new_from_slice(key).expect("any key length");
                for p in parts {
                    m.update(p);
                }
                m.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// RFC 5869 §2.3, HKDF-Expand: `T(i) = HMAC(PRK, T(i-1) | info | i)`,
/// `len` bytes (at most 255 hash lengths).
pub fn hkdf_expand(hash: Tls13Hash, prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    assert!(
        len <= 255 * hash.output_len(),
        "HKDF-Expand output too long"
    );
    let mut out = Vec::with_capacity(len);
    let mut t: Vec<u8> = Vec::new();
    let mut i = 1u8;
    while out.len() < len {
        t = hash.hmac(prk, &[&t, info, &[i]]);
        out.extend_from_slice(&t);
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// RFC 8446 §7.1:
///
/// ```text
/// HKDF-Expand-Label(Secret, Label, Context, Length) =
///     HKDF-Expand(Secret, HkdfLabel, Length)
/// struct { uint16 length = Length; opaque label<7..255> = "tls13 " + Label;
///          opaque context<0..255> = Context; } HkdfLabel;
/// ```
pub fn hkdf_expand_label(
    hash: Tls13Hash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + 6 + label.len() + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    hkdf_expand(hash, secret, &info, len)
}

/// RFC 8446 §7.3: the write key and IV of a traffic secret.
pub fn traffic_keys(
    hash: Tls13Hash,
    secret: &[u8],
    key_len: usize,
    iv_len: usize,
) -> (Vec<u8>, Vec<u8>) {
    (
        hkdf_expand_label(hash, secret, b"key", b"", key_len),
        hkdf_expand_label(hash, secret, b"iv", b"", iv_len),
    )
}

/// RFC 8446 §7.2: the traffic secret after a KeyUpdate.
pub fn next_traffic_secret(hash: Tls13Hash, secret: &[u8]) -> Vec<u8> {
    hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.output_len())
}

/// RFC 8446 §4.4.4: `verify_data = HMAC(finished_key,
/// Transcript-Hash(Handshake Context, Certificate*, CertificateVerify*))`
/// with `finished_key = HKDF-Expand-Label(BaseKey, "finished", "",
/// Hash.length)`; `base_key` is the sender's handshake traffic secret and
/// `transcript_hash` the hash of the messages before the Finished.
pub fn finished_verify_data(hash: Tls13Hash, base_key: &[u8], transcript_hash: &[u8]) -> Vec<u8> {
    let finished_key = hkdf_expand_label(hash, base_key, b"finished", b"", hash.output_len());
    hash.hmac(&finished_key, &[transcript_hash])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::crypto::prf::unhex;

    /// RFC 5869 Appendix A.1 (SHA-256), the Expand step.
    #[test]
    fn hkdf_expand_rfc5869_case_1() {
        let prk = unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
        let info = unhex("f0f1f2f3f4f5f6f7f8f9");
        assert_eq!(
            hkdf_expand(Tls13Hash::Sha256, &prk, &info, 42),
            unhex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
    }

    #[test]
    fn labels_are_framed_as_rfc_8446_says() {
        // HKDF-Expand-Label(s, "key", "", 16) is HKDF-Expand with the info
        // 00 10 | 09 "tls13 key" | 00.
        let s = [7u8; 32];
        let mut info = vec![0, 16, 9];
        info.extend_from_slice(b"tls13 key");
        info.push(0);
        assert_eq!(
            hkdf_expand_label(Tls13Hash::Sha256, &s, b"key", b"", 16),
            hkdf_expand(Tls13Hash::Sha256, &s, &info, 16)
        );
        let (k, iv) = traffic_keys(Tls13Hash::Sha384, &[1; 48], 32, 12);
        assert_eq!((k.len(), iv.len()), (32, 12));
        assert_eq!(next_traffic_secret(Tls13Hash::Sha384, &[1; 48]).len(), 48);
        assert_eq!(
            finished_verify_data(Tls13Hash::Sha256, &[2; 32], &[3; 32]).len(),
            32
        );
    }
}
