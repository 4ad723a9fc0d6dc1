//! Session-ID resumption (RFC 5246 §7.3, §F.1.4): what a session is, the
//! server's cache and the client's saved session.

use std::collections::{HashMap, VecDeque};

use crate::crypto::secret::Secret;
use crate::wire::{CipherSuite, ProtocolVersion};

/// What both sides keep to resume a session: its ID, the master secret and
/// the parameters it was negotiated with.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: Vec<u8>,
    pub master_secret: Secret<[u8; 48]>,
    pub version: ProtocolVersion,
    pub cipher_suite: CipherSuite,
    /// Negotiated with extended master secret (RFC 7627 §5.3: a session
    /// without it must not be resumed by a handshake with it, and back).
    pub extended_master_secret: bool,
}

/// The server's session cache: bounded, oldest evicted first.
#[derive(Debug)]
pub struct SessionCache {
    sessions: HashMap<Vec<u8>, Session>,
    order: VecDeque<Vec<u8>>,
    capacity: usize,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl SessionCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            sessions: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, id: &[u8]) -> Option<&Session> {
        if id.is_empty() {
            return None;
        }
        self.sessions.get(id)
    }

    pub fn insert(&mut self, s: Session) {
        if s.id.is_empty() {
            return;
        }
        if !self.sessions.contains_key(&s.id) {
            self.order.push_back(s.id.clone());
        }
        self.sessions.insert(s.id.clone(), s);
        while self.sessions.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.sessions.remove(&old);
            }
        }
    }

    /// A fatal alert invalidates the session (RFC 5246 §7.2.2).
    pub fn remove(&mut self, id: &[u8]) {
        self.sessions.remove(id);
        self.order.retain(|x| x != id);
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: u8) -> Session {
        Session {
            id: vec![id; 32],
            master_secret: Secret::new([id; 48]),
            version: ProtocolVersion::TLSv1_0,
            cipher_suite: CipherSuite(0x000a),
            extended_master_secret: false,
        }
    }

    #[test]
    fn bounded_and_removable() {
        let mut c = SessionCache::new(2);
        c.insert(s(1));
        c.insert(s(2));
        c.insert(s(3));
        assert!(c.get(&[1; 32]).is_none());
        assert!(c.get(&[3; 32]).is_some());
        c.remove(&[3; 32]);
        assert_eq!(c.len(), 1);
        assert!(c.get(&[]).is_none());
    }
}
