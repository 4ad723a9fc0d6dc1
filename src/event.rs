//! The event stream: what producers (the engine, the capture observer) push
//! and what renderers consume. Events carry facts only; prose lives in
//! `report`.

/// Which way bytes flow on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Self {
        match self {
            Self::ClientToServer => Self::ServerToClient,
            Self::ServerToClient => Self::ClientToServer,
        }
    }
    /// Stable snake_case id, as in the JSON contract.
    pub fn id(self) -> &'static str {
        match self {
            Self::ClientToServer => "client_to_server",
            Self::ServerToClient => "server_to_client",
        }
    }
}

/// A point in time, seconds and nanoseconds since the Unix epoch (capture
/// timestamps, or the injected clock of the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}
