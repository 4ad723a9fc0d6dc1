//! The record layer shared by the engine and the capture observer.
//!
//! This part is framing only: cutting one direction's byte stream into
//! records ([`deframer::RecordDeframer`]) and joining handshake fragments
//! into messages ([`deframer::HandshakeJoiner`]). Record protection (MACs,
//! ciphers, sequence numbers) joins it with the engine.

pub mod deframer;
pub mod protection;
