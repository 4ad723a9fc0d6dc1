//! The message codec: every wire structure of SSL 3.0 to TLS 1.3 that
//! travels in the clear, encoded and decoded side by side.
//!
//! No crypto, no IO, no printing. Decoding is strict about lengths and every
//! error names the structure and the offset where it failed
//! ([`DecodeError`]); protocol numbers are open sets (`wire_enum!`), so
//! unknown values decode and re-encode unchanged.

pub mod codec;
pub mod enums;
#[macro_use]
pub mod macros;
pub mod suites;

pub use codec::{Codec, DecodeError, Reader, WireWrite};
pub use enums::*;
pub mod alert;
pub mod extensions;
pub mod handshake;
pub mod hello;
pub mod record;

pub use alert::{Alert, ChangeCipherSpec, Heartbeat};
pub use extensions::{Extension, ExtensionBody, ExtensionContext};
pub use handshake::{HandshakeHeader, HandshakeMessage, KeyExchangeKind, WireContext};
pub use hello::{ClientHello, Random, ServerHello, SslV2ClientHello};
pub use record::RecordHeader;
