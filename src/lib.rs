//! sslwalk: an SSL/TLS handshake inspector and tester.
//!
//! `connect`, `serve` and `decode` are three producers of one typed event
//! stream ([`event`]); the text and JSON renderers ([`report`]) are its only
//! consumers. See shared/design/ARCHITECTURE.md for the whole picture.
//!
//! Dependencies point one way: `wire` (codec) ← `pki` ← `event` ←
//! `capture` (pcap, TCP, observer) ← `report` ← `cli`.
// No unsafe code, with one audited exception: the AVX-512 DES of
// `crypto::des::sliced`, whose runtime-dispatched call and vector loads
// cannot be written without it (it alone says `allow(unsafe_code)`).
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
