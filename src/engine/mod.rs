//! The handshake engine. Its message-flow tables ([`flow`]) are already
//! used by the capture observer; the sans-IO client and server (`core`,
//! `client`, `server`, `keys`) are being wired to the crypto layer.

pub mod error;
pub mod flow;
pub mod session;

pub use error::EngineError;
pub use session::{Session, SessionCache};
