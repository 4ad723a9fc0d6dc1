//! sslwalk: an SSL/TLS handshake inspector and tester.
//!
//! `connect`, `serve` and `decode` are three producers of one typed event
//! stream ([`event`]); the text and JSON renderers ([`report`]) are its only
//! consumers. See shared/design/ARCHITECTURE.md for the whole picture.
//!
//! Dependencies point one way: `wire` (codec) ← `pki` ← `event` ←
//! `capture` (pcap, TCP, observer) ← `report` ← `cli`.
// No unsafe code, with three audited exceptions, all runtime-dispatched
// vector code, each the only place that says `allow(unsafe_code)` in its
// module: the AVX-512 DES of `crypto::des::sliced`, the SHA-extension
// lanes of `crypto::sha_lanes` and the VAES CBC decryption of
// `crypto::aes_vaes`.
#![deny(unsafe_code)]

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod crypto;
pub mod engine;
pub mod event;
pub mod pki;
pub mod record;
pub mod report;
pub mod verify;
pub mod wire;
