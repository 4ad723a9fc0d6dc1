//! Secrets that do not print: the pre-master secret, the master secret,
//! key-block slices and key-log secrets.
//!
//! [`Secret<T>`] wraps the bytes so that `Debug` (and therefore every
//! `{:?}`, `assert_eq!` failure and `dbg!`) shows `<redacted>`; code that
//! needs the bytes says so with [`Secret::expose`]. Renderers show secrets
//! only when the user asks (`--show-secrets`), through `expose`.
//!
//! On drop the bytes are overwritten with zeros. This is best effort, not
//! a guarantee: without `unsafe` volatile writes the compiler may in
//! principle drop the overwrite, and copies made earlier (a `Vec` that grew,
//! a value moved out of a register) are not reached. It shortens the life
//! of secrets in memory; it does not make sslwalk a secret store.
//!
//! Also here: [`constant_time_eq`], the comparison to use on MACs,
//! `verify_data` and other values an attacker must not learn byte by byte.
//!
//! What this module does not do: lock memory, encrypt at rest, or decide
//! who may see a secret (that is the CLI's `--show-secrets`).

use std::fmt;

/// A container whose bytes can be overwritten in place.
pub trait Wipe {
    /// Overwrites every byte with zero.
    fn wipe(&mut self);
}

impl<const N: usize> Wipe for [u8; N] {
    fn wipe(&mut self) {
        self.fill(0);
        // Keep the stores: the optimiser may not drop writes whose result
        // is (as far as it knows) read.
        std::hint::black_box(&*self);
    }
}

impl Wipe for Vec<u8> {
    fn wipe(&mut self) {
        self.fill(0);
        std::hint::black_box(&*self);
    }
}

/// A secret value: `Debug` prints `<redacted>`, the bytes are zeroed on
/// drop, and equality is constant-time.
pub struct Secret<T: Wipe>(T);

/// The pre-master secret: 48 bytes for RSA key exchange (RFC 5246
/// §7.4.7.1), the length of the shared value for (EC)DH (RFC 5246 §8.1.2,
/// RFC 8422 §5.10).
pub type PreMasterSecret = Secret<Vec<u8>>;

/// RFC 5246 §8.1: `master_secret[48]`, the same length in every version
/// from SSL 3.0 to TLS 1.2.
pub type MasterSecret = Secret<[u8; MASTER_SECRET_LEN]>;

/// Any other secret byte string: key-block slices, write keys, IVs, TLS 1.3
/// traffic secrets from a key log.
pub type SecretBytes = Secret<Vec<u8>>;

/// Bytes in a master secret.
pub const MASTER_SECRET_LEN: usize = 48;

impl<T: Wipe> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Call sites name the reason they need it; the
    /// name makes them easy to find.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The secret itself, writable (for filling a buffer in place).
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Wipe> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl Secret<Vec<u8>> {
    /// A secret copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Wipe> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}

impl<T: Wipe + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Wipe> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Wipe + AsRef<[u8]>> PartialEq for Secret<T> {
    /// Constant-time in the contents (the lengths are not secret).
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_ref(), other.0.as_ref())
    }
}

impl<T: Wipe + AsRef<[u8]>> Eq for Secret<T> {}

/// Whether `a == b`, taking the same time wherever they differ.
///
/// Why: a comparison that stops at the first difference tells a peer who
/// can time it how many leading bytes of a forged MAC or `verify_data` were
/// right, and lets it guess the value byte by byte. The lengths are public
/// (they come from the suite), so a length mismatch returns at once.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let master: MasterSecret = Secret::new([0x42; 48]);
        assert_eq!(format!("{master:?}"), "<redacted>");
        let pre_master = PreMasterSecret::from_slice(b"\x03\x03hunter2");
        assert_eq!(format!("{pre_master:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&pre_master)), "Some(<redacted>)");
        assert_eq!(pre_master.expose()[..2], [3, 3]);
        assert_eq!(pre_master.len(), 9);
    }

    #[test]
    fn equality_compares_contents() {
        let a = SecretBytes::from_slice(&[1, 2, 3]);
        assert_eq!(a, a.clone());
        assert_ne!(a, SecretBytes::from_slice(&[1, 2, 4]));
        assert_ne!(a, SecretBytes::from_slice(&[1, 2]));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"\x00", b"\x80"));
    }

    #[test]
    fn wipe_zeroes_in_place() {
        let mut bytes = vec![0xffu8; 20];
        bytes.wipe();
        assert!(bytes.iter().all(|&b| b == 0));
        let mut array = [7u8; 48];
        array.wipe();
        assert_eq!(array, [0; 48]);
    }
}
