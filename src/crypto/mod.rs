//! Cryptography of SSL 3.0 to TLS 1.2, as pure functions checked against
//! published vectors and real peers: the PRFs and key derivation
//! (`prf`, `keys`), the handshake transcript with Finished and
//! CertificateVerify digests (`transcript`), record MACs (`mac`, many at
//! once with `sha_lanes`) and bulk ciphers (`cipher`, with AES-CBC
//! decryption in `aes_vaes` where the processor has VAES), RSA key
//! exchange (`rsa_kx`), the NSS key log (`keylog`) and redacted secrets
//! (`secret`);
//! for a decoder holding TLS 1.3 traffic secrets, HKDF-Expand-Label and
//! traffic keys (`tls13`). No IO, no printing.

pub mod aes_vaes;
pub mod cipher;
pub mod des;
pub mod keylog;
pub mod keys;
pub mod mac;
pub mod md5;
pub mod prf;
pub mod rsa_kx;
pub mod secret;
pub mod sha_lanes;
pub mod tls13;
pub mod transcript;
