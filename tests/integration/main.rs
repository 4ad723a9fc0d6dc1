//! Integration tests: the built `sslwalk` binary against fixtures and real
//! peers on 127.0.0.1.

mod decode;
mod decrypt;
mod demo;
mod interop;
mod man;
mod record_peers;
mod tshark;
mod util;
