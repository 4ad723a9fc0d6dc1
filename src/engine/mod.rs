//! The handshake engine. So far only its message-flow tables, which the
//! capture observer already validates against; the sans-IO client and
//! server join them.

pub mod flow;
