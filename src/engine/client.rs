//! The client's handlers, in RFC 5246 §7.3 order: build_* for the steps it
//! writes, on_* for the server's messages it checks.

use super::flow::{FlowMsg, Step};
use super::keys;
use super::*;
use crate::wire::extensions::{Extension, ExtensionBody, ServerName};
use crate::wire::handshake::{
    CertificateRequest, ClientKeyExchange, DigitallySigned, ServerKeyExchange,
};

impl Engine {
    pub(super) fn write_client_step(
        &mut self,
        _index: usize,
        step: Step,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        match step.msg {
            FlowMsg::ClientHello => self.send_client_hello(sink),
            FlowMsg::Certificate => self.send_client_certificate(sink),
            FlowMsg::ClientKeyExchange => self.send_client_key_exchange(sink),
            FlowMsg::CertificateVerify => self.send_certificate_verify(sink),
            FlowMsg::ChangeCipherSpec => self.send_change_cipher_spec(sink),
            FlowMsg::Finished => self.send_finished(sink),
            _ => Err(EngineError::Internal(
                "a client step the client does not write",
            )),
        }
    }

    // -- Step 1: ClientHello --

    fn send_client_hello(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.cfg.max_version;
        let renegotiation = self.handshakes > 1;
        let random = keys::new_random(&mut *self.cfg.rng, (self.cfg.clock)());
        self.hs.client_random = random;
        self.hs.offered_version = Some(version);
        let session_id = match (&self.cfg.resume, renegotiation) {
            (Some(s), false)
                if s.version.0 >= self.cfg.min_version.0 && s.version.0 <= version.0 =>
            {
                s.id.clone()
            }
            _ => Vec::new(),
        };
        self.hs.offered_session_id = session_id.clone();
        let mut suites: Vec<CipherSuite> = self
            .cfg
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| keys::suite_usable(*s, self.cfg.min_version, version))
            .collect();
        if suites.is_empty() {
            return Err(EngineError::Config(
                "no chosen cipher suite works with the chosen versions".into(),
            ));
        }
        let extensions_allowed = version != ProtocolVersion::SSLv3;
        // RFC 5746 §3.3: the SCSV stands for the empty extension, and is
        // what an SSL 3.0 hello (which has no extensions) can carry.
        if self.cfg.secure_renegotiation && !renegotiation && !extensions_allowed {
            suites.push(CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        }
        if self.cfg.fallback_scsv {
            suites.push(CipherSuite::TLS_FALLBACK_SCSV);
        }
        self.hs.offered_suites = suites.clone();
        let mut exts = Vec::new();
        if extensions_allowed {
            if let Some(name) = &self.cfg.server_name {
                exts.push(Extension::from_body(&ExtensionBody::ServerName(vec![
                    ServerName {
                        name_type: ServerNameType::HostName,
                        name: name.as_bytes().to_vec(),
                    },
                ])));
            }
            if self.cfg.secure_renegotiation {
                let previous = if renegotiation {
                    self.client_verify_data.clone()
                } else {
                    Vec::new()
                };
                exts.push(Extension::from_body(&ExtensionBody::RenegotiationInfo(
                    previous,
                )));
            }
            if self.cfg.extended_master_secret {
                exts.push(Extension::from_body(&ExtensionBody::ExtendedMasterSecret));
            }
            if version.0 >= ProtocolVersion::TLSv1_2.0 {
                exts.push(Extension::from_body(&ExtensionBody::SignatureAlgorithms(
                    keys::SIGNATURE_SCHEMES.to_vec(),
                )));
            }
        }
        let hello = ClientHello {
            client_version: version,
            random: Random(random),
            session_id,
            cipher_suites: suites,
            compression_methods: vec![CompressionMethod::Null],
            extensions: (!exts.is_empty()).then_some(exts),
        };
        self.send_handshake(
            HandshakeMessage::ClientHello(hello),
            Some(FlowMsg::ClientHello),
            sink,
        )
    }

    // -- Step 2: the server's flight --

    pub(super) fn on_server_hello(
        &mut self,
        sh: &ServerHello,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let offered = self
            .hs
            .offered_version
            .ok_or(EngineError::Internal("no ClientHello sent"))?;
        let version = sh.server_version;
        if version.0 > offered.0
            || version.0 < self.cfg.min_version.0
            || version.0 < ProtocolVersion::SSLv3.0
        {
            return Err(EngineError::UnsupportedVersion { offered });
        }
        if self.handshakes > 1 && Some(version) != self.hs.version {
            // RFC 5246 §7.4.1.1 / E.1: a renegotiation keeps the version.
            return Err(EngineError::IllegalParameter(
                "ServerHello.server_version changed on renegotiation",
            ));
        }
        let suite = sh.cipher_suite;
        if !self.hs.offered_suites.contains(&suite)
            || suite == CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV
            || suite == CipherSuite::TLS_FALLBACK_SCSV
            || !keys::suite_usable(suite, version, version)
        {
            return Err(EngineError::IllegalParameter(
                "ServerHello.cipher_suite was not offered",
            ));
        }
        if sh.compression_method != CompressionMethod::Null {
            return Err(EngineError::IllegalParameter(
                "ServerHello.compression_method was not offered",
            ));
        }
        // Every extension in the ServerHello must answer one we sent
        // (RFC 5246 §7.4.1.4).
        let sent: Vec<ExtensionType> = self.sent_extension_types();
        for e in sh.extensions() {
            if !sent.contains(&e.typ) {
                return Err(EngineError::UnsupportedExtension(e.typ));
            }
        }
        // RFC 5746 §3.4 / §3.5.
        match sh.parsed_extension(ExtensionType::RenegotiationInfo) {
            Some(ExtensionBody::RenegotiationInfo(v)) => {
                let expected = self.renegotiation_binding();
                if !keys::constant_time_eq(&v, &expected) {
                    return Err(EngineError::InsecureRenegotiation);
                }
                self.hs.peer_offered_secure_renegotiation = true;
            }
            _ => {
                if self.handshakes > 1 && self.hs.peer_offered_secure_renegotiation {
                    return Err(EngineError::InsecureRenegotiation);
                }
                if self.handshakes == 1 {
                    self.hs.peer_offered_secure_renegotiation = false;
                    if self.cfg.secure_renegotiation {
                        self.emit_note(sink, None, Note::new(NoteCode::NoSecureRenegotiation))?;
                    }
                }
            }
        }
        self.hs.ems = self.cfg.extended_master_secret
            && sh.extension(ExtensionType::ExtendedMasterSecret).is_some();
        self.hs.version = Some(version);
        self.hs.suite = Some(suite);
        self.hs.server_random = sh.random.0;
        self.hs.session_id = sh.session_id.clone();
        self.record_version = version;
        // Resumption: the server echoed the session we offered.
        if !sh.session_id.is_empty() && sh.session_id == self.hs.offered_session_id {
            let session = self
                .cfg
                .resume
                .clone()
                .ok_or(EngineError::Internal("resumed without a saved session"))?;
            if session.version != version || session.cipher_suite != suite {
                return Err(EngineError::IllegalParameter(
                    "resumed session with other parameters",
                ));
            }
            if session.extended_master_secret != self.hs.ems {
                // RFC 7627 §5.3.
                return Err(EngineError::NoCommonSuite);
            }
            self.hs.resumed = true;
            self.hs.master_secret = Some(session.master_secret.clone());
            self.cursor.mark_resumed();
            self.establish_keys(None)?;
            self.emit(
                sink,
                None,
                Origin::Received,
                EventKind::Flow(FlowEvent::Kind(self.cursor.kind)),
            )?;
        }
        Ok(())
    }

    fn sent_extension_types(&self) -> Vec<ExtensionType> {
        let mut v = Vec::new();
        // RFC 5746 §3.6: a server that sees the SCSV answers with
        // renegotiation_info, even to an SSL 3.0 hello without extensions.
        if self
            .hs
            .offered_suites
            .contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
        {
            v.push(ExtensionType::RenegotiationInfo);
        }
        if self.cfg.max_version == ProtocolVersion::SSLv3 {
            return v;
        }
        if self.cfg.server_name.is_some() {
            v.push(ExtensionType::ServerName);
        }
        if self.cfg.secure_renegotiation {
            v.push(ExtensionType::RenegotiationInfo);
        }
        if self.cfg.extended_master_secret {
            v.push(ExtensionType::ExtendedMasterSecret);
        }
        v
    }

    pub(super) fn on_certificate(
        &mut self,
        c: &handshake::Certificate,
        sink: &mut dyn EventSink,
    ) -> Result<(), EngineError> {
        let chain: Vec<Vec<u8>> = c.chain().map(|d| d.to_vec()).collect();
        match self.cfg.role {
            Role::Client => {
                let leaf = chain.first().ok_or(EngineError::BadCertificate {
                    alert: AlertDescription::BadCertificate,
                    reason: "the server sent no certificate".into(),
                })?;
                let key =
                    crate::pki::rsa_public_key(leaf).map_err(|e| EngineError::BadCertificate {
                        alert: AlertDescription::UnsupportedCertificate,
                        reason: format!("the server's key is not usable for RSA key exchange: {e}"),
                    })?;
                self.hs.kx_public = Some(key);
                self.hs.peer_chain = chain;
                // Step 3: the client judges the server's certificate.
                self.judge_peer_chain(sink)
            }
            Role::Server => {
                if chain.is_empty() {
                    self.cursor.kind.no_client_cert = true;
                    if self.cfg.client_auth == ClientAuth::Require {
                        return Err(EngineError::NoClientCertificate);
                    }
                    return Ok(());
                }
                crate::pki::rsa_public_key(&chain[0]).map_err(|e| EngineError::BadCertificate {
                    alert: AlertDescription::UnsupportedCertificate,
                    reason: format!("the client's key is not an RSA key: {e}"),
                })?;
                self.hs.client_cert = Some(chain[0].clone());
                self.hs.peer_chain = chain;
                self.cursor.mark_client_cert_sent();
                // Step 6: the server judges the client's certificate.
                self.judge_peer_chain(sink)
            }
        }
    }

    /// Steps 3 and 6: the verifier's verdict on the peer's chain, as a note;
    /// refused chains end the handshake unless `insecure`.
    fn judge_peer_chain(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let dir = Some(self.cfg.role.sending().reverse());
        let Some(verifier) = self.cfg.verifier.clone() else {
            return self
                .emit_note(sink, dir, Note::new(NoteCode::CertificateNotVerified))
                .map_err(io_internal);
        };
        let name = match self.cfg.role {
            Role::Client => self
                .cfg
                .verify_name
                .clone()
                .or_else(|| self.cfg.server_name.clone()),
            Role::Server => None,
        };
        let now = (self.cfg.clock)().secs;
        match verifier.verify(&self.hs.peer_chain, name.as_deref(), now) {
            Ok(()) => self
                .emit_note(sink, dir, Note::new(NoteCode::CertificateVerified))
                .map_err(io_internal),
            Err((alert, reason)) => {
                self.emit_note(
                    sink,
                    dir,
                    Note::new(NoteCode::CertificateRejected)
                        .with("reason", reason.clone())
                        .with("alert", u64::from(alert.0))
                        .with("insecure", u64::from(self.cfg.insecure)),
                )
                .map_err(io_internal)?;
                if self.cfg.insecure {
                    Ok(())
                } else {
                    Err(EngineError::BadCertificate { alert, reason })
                }
            }
        }
    }

    pub(super) fn on_server_key_exchange(
        &mut self,
        ske: &ServerKeyExchange,
    ) -> Result<(), EngineError> {
        let suite = self.hs.suite.ok_or(EngineError::Internal("no suite"))?;
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let ServerKeyExchange::Rsa {
            modulus,
            exponent,
            signature,
        } = ske
        else {
            return Err(EngineError::UnexpectedMessage {
                expected: "server_hello_done".into(),
                got: "server_key_exchange".into(),
            });
        };
        if !keys::is_export(suite) {
            // RFC 5246 §7.4.3: not sent with plain RSA key exchange.
            return Err(EngineError::UnexpectedMessage {
                expected: "server_hello_done".into(),
                got: "server_key_exchange".into(),
            });
        }
        let cert_key = self
            .hs
            .kx_public
            .clone()
            .ok_or(EngineError::Internal("no server key"))?;
        keys::verify_server_rsa_params(
            version,
            &cert_key,
            &self.hs.client_random,
            &self.hs.server_random,
            modulus,
            exponent,
            signature,
        )?;
        self.hs.kx_public = Some(keys::rsa_public_from_parts(modulus, exponent)?);
        Ok(())
    }

    pub(super) fn on_certificate_request(
        &mut self,
        _cr: &CertificateRequest,
    ) -> Result<(), EngineError> {
        self.hs.cert_requested = true;
        Ok(())
    }

    // -- Steps 4 and 5: the client's answer --

    fn send_client_certificate(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        match self.cfg.credentials.clone() {
            Some(creds) => {
                self.cursor.mark_client_cert_sent();
                self.send_handshake(
                    HandshakeMessage::Certificate(handshake::Certificate::from_chain(
                        creds.chain.clone(),
                    )),
                    Some(FlowMsg::Certificate),
                    sink,
                )
            }
            None if version == ProtocolVersion::SSLv3 => {
                // RFC 6101 §5.6.6: SSL 3.0 says "no certificate" with an alert.
                self.check_flow(Writer::Client, FlowMsg::NoCertificateAlert)?;
                let a = Alert::warning(AlertDescription::NoCertificate);
                let body = a.to_bytes();
                self.write_record(ContentType::Alert, &body)?;
                self.cursor.kind.no_client_cert = true;
                self.emit_message(
                    sink,
                    Origin::Sent,
                    Direction::ClientToServer,
                    Message::Alert(Ok(a)),
                    body,
                    Some(5),
                    Vec::new(),
                )
                .map_err(io_internal)
            }
            None => {
                self.cursor.kind.no_client_cert = true;
                self.send_handshake(
                    HandshakeMessage::Certificate(handshake::Certificate::from_chain(Vec::new())),
                    Some(FlowMsg::Certificate),
                    sink,
                )
            }
        }
    }

    fn send_client_key_exchange(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let offered = self
            .hs
            .offered_version
            .ok_or(EngineError::Internal("no offered version"))?;
        let key = self
            .hs
            .kx_public
            .clone()
            .ok_or(EngineError::Internal("no server key"))?;
        // Step 4: the pre-master secret carries the version offered in step 1.
        let pre_master = keys::new_pre_master(offered, &mut *self.cfg.rng);
        let encrypted = keys::encrypt_pre_master(&key, &pre_master, &mut *self.cfg.rng)?;
        self.send_handshake(
            HandshakeMessage::ClientKeyExchange(ClientKeyExchange::rsa(encrypted, version)),
            Some(FlowMsg::ClientKeyExchange),
            sink,
        )?;
        self.establish_keys(Some(&pre_master))
    }

    fn send_certificate_verify(&mut self, sink: &mut dyn EventSink) -> Result<(), EngineError> {
        let version = self.hs.version.ok_or(EngineError::Internal("no version"))?;
        let creds = self.cfg.credentials.clone().ok_or(EngineError::Internal(
            "CertificateVerify without credentials",
        ))?;
        let ms = self
            .hs
            .master_secret
            .clone()
            .ok_or(EngineError::Internal("no master secret"))?;
        let signed: DigitallySigned = keys::sign_certificate_verify(
            version,
            &ms,
            &self.hs.transcript,
            &creds.key,
            &mut *self.cfg.rng,
        )?;
        self.send_handshake(
            HandshakeMessage::CertificateVerify(signed),
            Some(FlowMsg::CertificateVerify),
            sink,
        )
    }
}

pub(super) fn io_internal(_e: std::io::Error) -> EngineError {
    EngineError::Internal("the event sink failed")
}
