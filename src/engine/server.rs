//! The server's handlers, in RFC 5246 §7.3 order.

use super::flow::{FlowMsg, Step};
use super::keys;
use super::*;
use crate::wire::extensions::{Extension, ExtensionBody};
use crate::wire::handshake::{
    CertificateRequest, ClientKeyExchange, DigitallySigned, ServerKeyExchange,
};

impl Engine {
    pub(super) fn write_server_step(
        &mut self,
        index: usize,
        step: Step,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        match step.msg {
            FlowMsg::ServerHello => self.send_server_hello(sink),
            FlowMsg::Certificate => match self.cfg.credentials.clone() {
                Some(c) => self.send_handshake(
                    HandshakeMessage::Certificate(handshake::Certificate::from_chain(
                        c.chain.clone(),
                    )),
                    Some(FlowMsg::Certificate),
                    sink,
                ),
                None => Err(EngineError::Config("the server has no certificate".into())),
            },
            FlowMsg::ServerKeyExchange if self.needs_export_key()? => {
                self.send_server_key_exchange(sink)
            }
            FlowMsg::CertificateRequest if self.cfg.client_auth != ClientAuth::None => {
                self.send_certificate_request(sink)
            }
            FlowMsg::ServerHelloDone => self.send_handshake(
                HandshakeMessage::ServerHelloDone,
                Some(FlowMsg::ServerHelloDone),
                sink,
            ),
            FlowMsg::ChangeCipherSpec => self.send_change_cipher_spec(sink),
            FlowMsg::Finished => self.send_finished(sink),
            // Optional steps this server does not take: CertificateStatus,
            // ServerKeyExchange for plain RSA, CertificateRequest when not
            // asked to, NewSessionTicket (session IDs only).
            FlowMsg::CertificateStatus
            | FlowMsg::ServerKeyExchange
            | FlowMsg::CertificateRequest
            | FlowMsg::NewSessionTicket => {
                self.cursor.skip(index);
                Ok(())
            }
            _ => Err(EngineError::Internal(
                "a server step the server does not write",
            )),
        }
    }

    // -- Step 1 as the server sees it: the ClientHello --

    pub(super) fn on_client_hello(
        &mut self,
        ch: &ClientHello,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let renegotiation = self.handshakes > 1;
        self.hs.client_random = ch.random.0;
        self.hs.offered_version = Some(ch.client_version);
        self.hs.offered_suites = ch.cipher_suites.clone();
        self.hs.offered_session_id = ch.session_id.clone();

        // RFC 5746 §3.6 / §3.7: secure renegotiation signalling.
        let ri = match ch.parsed_extension(ExtensionType::RenegotiationInfo) {
            Some(ExtensionBody::RenegotiationInfo(v)) => Some(v),
            _ => None,
        };
        let scsv = ch.offers_suite(CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        if renegotiation {
            if scsv {
                return Err(EngineError::InsecureRenegotiation);
            }
            match ri {
                Some(v) if keys::constant_time_eq(&v, &self.client_verify_data) => {}
                _ => return Err(EngineError::InsecureRenegotiation),
            }
        } else {
            if ri.as_ref().is_some_and(|v| !v.is_empty()) {
                return Err(EngineError::InsecureRenegotiation);
            }
            self.hs.peer_offered_secure_renegotiation = ri.is_some() || scsv;
            if !self.hs.peer_offered_secure_renegotiation {
                self.emit_note(
                    sink,
                    Some(Direction::ClientToServer),
                    Note::new(NoteCode::NoSecureRenegotiation),
                )?;
            }
        }

        // The version: the lower of the client's and ours (RFC 5246 E.1).
        let client_version = ch.client_version;
        if client_version.major() != 3 {
            return Err(EngineError::UnsupportedVersion {
                offered: client_version,
            });
        }
        let version = if client_version.0 > self.cfg.max_version.0 {
            self.cfg.max_version
        } else {
            client_version
        };
        if version.0 < self.cfg.min_version.0 {
            return Err(EngineError::UnsupportedVersion {
                offered: client_version,
            });
        }
        if renegotiation && Some(version) != self.hs.version {
            return Err(EngineError::IllegalParameter(
                "the version changed on renegotiation",
            ));
        }
        // RFC 7507 §3: a fallback to less than we support is an attack.
        if ch.offers_suite(CipherSuite::TLS_FALLBACK_SCSV)
            && client_version.0 < self.cfg.max_version.0
        {
            return Err(EngineError::InappropriateFallback);
        }
        if !ch.compression_methods.contains(&CompressionMethod::Null) {
            return Err(EngineError::NoCommonSuite);
        }
        self.hs.ems = self.cfg.extended_master_secret
            && version != ProtocolVersion::SSLv3
            && ch.extension(ExtensionType::ExtendedMasterSecret).is_some();
        self.hs.version = Some(version);
        self.record_version = version;

        // Resumption: a cached session the client still accepts.
        let cached = if renegotiation {
            None
        } else {
            self.cfg
                .session_cache
                .as_ref()
                .and_then(|c| c.lock().ok().and_then(|c| c.get(&ch.session_id).cloned()))
        };
        if let Some(s) = cached.filter(|s| {
            s.version == version
                && ch.offers_suite(s.cipher_suite)
                && s.extended_master_secret == self.hs.ems
        }) {
            self.hs.resumed = true;
            self.hs.suite = Some(s.cipher_suite);
            self.hs.session_id = s.id.clone();
            self.hs.master_secret = Some(s.master_secret.clone());
        } else {
            // Our preference among what the client offers (RFC 5246 §7.4.1.3).
            let suite = self
                .cfg
                .cipher_suites
                .iter()
                .copied()
                .find(|s| ch.offers_suite(*s) && keys::suite_usable(*s, version, version))
                .ok_or(EngineError::NoCommonSuite)?;
            self.hs.suite = Some(suite);
            self.hs.session_id = if self.cfg.session_cache.is_some() {
                let mut id = vec![0u8; 32];
                self.cfg.rng.fill_bytes(&mut id);
                id
            } else {
                Vec::new()
            };
        }
        self.hs.server_random = keys::new_random(&mut *self.cfg.rng, (self.cfg.clock)());
        self.client_sent_extensions = ch.extensions.is_some();
        Ok(())
    }

    // -- Step 2: the server's flight --

    fn send_server_hello(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        let mut exts = Vec::new();
        if self.hs.peer_offered_secure_renegotiation {
            exts.push(Extension::from_body(&ExtensionBody::RenegotiationInfo(
                self.renegotiation_binding(),
            )));
        }
        if self.hs.ems {
            exts.push(Extension::from_body(&ExtensionBody::ExtendedMasterSecret));
        }
        // Extensions answer the client's; the one exception is
        // renegotiation_info, which answers the SCSV even in an SSL 3.0
        // hello that had no extensions (RFC 5746 §3.6).
        let extensions = if exts.is_empty()
            || !(self.client_sent_extensions || self.hs.peer_offered_secure_renegotiation)
        {
            None
        } else {
            Some(exts)
        };
        let sh = ServerHello {
            server_version: version,
            random: Random(self.hs.server_random),
            session_id: self.hs.session_id.clone(),
            cipher_suite: suite,
            compression_method: CompressionMethod::Null,
            extensions,
        };
        self.send_handshake(
            HandshakeMessage::ServerHello(sh),
            Some(FlowMsg::ServerHello),
            sink,
        )?;
        if self.hs.resumed {
            self.cursor.mark_resumed();
            self.establish_keys(None)?;
            self.emit(
                sink,
                None,
                Origin::Sent,
                EventKind::Flow(FlowEvent::Kind(self.cursor.kind)),
            )?;
        }
        Ok(())
    }

    /// RFC 2246 §7.4.3: an export suite with a certificate key over 512
    /// bits needs a temporary 512-bit key in ServerKeyExchange.
    fn needs_export_key(&self) -> Result<bool, EngineError> {
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        Ok(keys::is_export(suite)
            && self
                .cfg
                .credentials
                .as_ref()
                .is_some_and(|c| keys::rsa_bits(&c.key) > 512))
    }

    fn send_server_key_exchange(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let creds = self
            .cfg
            .credentials
            .clone()
            .ok_or(EngineError::Internal("no credentials"))?;
        let temp = keys::generate_export_key(&mut *self.cfg.rng)?;
        let (modulus, exponent) = keys::rsa_public_parts(&temp);
        let signature: DigitallySigned = keys::sign_server_rsa_params(
            version,
            &creds.key,
            &self.hs.client_random,
            &self.hs.server_random,
            &modulus,
            &exponent,
            &mut *self.cfg.rng,
        )?;
        self.hs.kx_private = Some(temp);
        self.send_handshake(
            HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Rsa {
                modulus,
                exponent,
                signature,
            }),
            Some(FlowMsg::ServerKeyExchange),
            sink,
        )
    }

    fn send_certificate_request(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let cr = CertificateRequest::Legacy {
            certificate_types: vec![ClientCertificateType::RsaSign],
            signature_algorithms: (version.0 >= ProtocolVersion::TLSv1_2.0)
                .then(|| keys::SIGNATURE_SCHEMES.to_vec()),
            certificate_authorities: Vec::new(),
        };
        self.send_handshake(
            HandshakeMessage::CertificateRequest(cr),
            Some(FlowMsg::CertificateRequest),
            sink,
        )
    }

    // -- Steps 4 to 6 as the server sees them --

    pub(super) fn on_client_key_exchange(
        &mut self,
        cke: &ClientKeyExchange,
    ) -> Result<(), EngineError> {
        let ClientKeyExchange::Rsa {
            encrypted_pre_master,
            ..
        } = cke
        else {
            return Err(EngineError::IllegalParameter(
                "ClientKeyExchange is not RSA",
            ));
        };
        let offered = self
            .hs
            .offered_version
            .ok_or(EngineError::Internal("no ClientHello"))?;
        let key = match &self.hs.kx_private {
            Some(k) => k.clone(),
            None => self
                .cfg
                .credentials
                .as_ref()
                .ok_or(EngineError::Internal("no credentials"))?
                .key
                .clone(),
        };
        // RFC 5246 §7.4.7.1: never reveal whether decryption or the version
        // check failed; a bad pre-master makes Finished fail instead.
        let pre_master =
            keys::decrypt_pre_master(&key, encrypted_pre_master, offered, &mut *self.cfg.rng);
        self.establish_keys(Some(&pre_master))
    }

    pub(super) fn on_certificate_verify(
        &mut self,
        cv: &DigitallySigned,
    ) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let cert = self.hs.client_cert.clone().ok_or(EngineError::Internal(
            "CertificateVerify without a client certificate",
        ))?;
        let key = crate::pki::rsa_public_key(&cert).map_err(|_| EngineError::BadSignature)?;
        let ms = self
            .hs
            .master_secret
            .clone()
            .ok_or(EngineError::Internal("no master secret"))?;
        keys::verify_certificate_verify(version, &ms, &self.hs.transcript, &key, cv)
    }
}
