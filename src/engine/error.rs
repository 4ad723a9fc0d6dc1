//! What can go wrong in a handshake, and the one place that decides which
//! alert each failure sends (RFC 5246 §7.2.2; RFC 6101 §5.4.2 for SSL 3.0).

use std::fmt;

use crate::wire::{AlertDescription, DecodeError, ExtensionType, ProtocolVersion};

/// A handshake or record failure, from the protocol's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// A message arrived that the flow does not allow here.
    UnexpectedMessage { expected: String, got: String },
    /// A message did not decode.
    Decode(DecodeError),
    /// A field has a value the protocol forbids here (`what`).
    IllegalParameter(&'static str),
    /// No version both sides accept (`offered` by the client).
    UnsupportedVersion { offered: ProtocolVersion },
    /// No cipher suite (or compression method) in common.
    NoCommonSuite,
    /// The client retried with a lower version than the server supports
    /// (RFC 7507).
    InappropriateFallback,
    /// A record failed its MAC or padding check.
    BadRecordMac,
    /// A record was longer than the protocol allows.
    RecordOverflow,
    /// The peer's Finished did not match.
    BadFinished,
    /// A signature (ServerKeyExchange, CertificateVerify) did not verify.
    BadSignature,
    /// The peer answered with an extension we did not offer (RFC 5246
    /// §7.4.1.4).
    UnsupportedExtension(ExtensionType),
    /// The peer's certificate was refused (`reason` says why), with the
    /// alert it deserves.
    BadCertificate {
        alert: AlertDescription,
        reason: String,
    },
    /// The server required a certificate and the client sent none.
    NoClientCertificate,
    /// Renegotiation without RFC 5746, or a wrong renegotiation_info.
    InsecureRenegotiation,
    /// The peer refused to renegotiate.
    RenegotiationRefused,
    /// The peer sent a fatal alert.
    PeerAlert(AlertDescription),
    /// The peer closed the connection (TCP) in the middle of a handshake.
    PeerClosed,
    /// The user's choice of configuration cannot work (no suites left for
    /// the versions chosen...).
    Config(String),
    /// A bug or an impossible state.
    Internal(&'static str),
}

impl EngineError {
    /// The alert we send for this failure, if any: the one mapping from
    /// errors to alerts. `version` decides the SSL 3.0 spellings (SSL 3.0
    /// has no decode_error, protocol_version... and uses handshake_failure
    /// or illegal_parameter instead).
    pub fn alert(&self, version: ProtocolVersion) -> Option<AlertDescription> {
        use AlertDescription as A;
        let ssl3 = version == ProtocolVersion::SSLv3;
        let a = match self {
            Self::UnexpectedMessage { .. } => A::UnexpectedMessage,
            // RFC 5246 §7.2.2: decode_error for a message that cannot be
            // parsed; SSL 3.0 has only illegal_parameter.
            Self::Decode(_) if ssl3 => A::IllegalParameter,
            Self::Decode(_) => A::DecodeError,
            Self::IllegalParameter(_) => A::IllegalParameter,
            Self::UnsupportedVersion { .. } if ssl3 => A::HandshakeFailure,
            Self::UnsupportedVersion { .. } => A::ProtocolVersion,
            Self::NoCommonSuite => A::HandshakeFailure,
            Self::InappropriateFallback => A::InappropriateFallback,
            Self::BadRecordMac => A::BadRecordMac,
            Self::RecordOverflow => A::RecordOverflow,
            // A wrong Finished: decrypt_error in TLS (RFC 5246 §7.4.9),
            // handshake_failure in SSL 3.0.
            Self::BadFinished | Self::BadSignature if ssl3 => A::HandshakeFailure,
            Self::BadFinished | Self::BadSignature => A::DecryptError,
            Self::BadCertificate { alert, .. } => *alert,
            Self::UnsupportedExtension(_) => A::UnsupportedExtension,
            Self::NoClientCertificate if ssl3 => A::HandshakeFailure,
            Self::NoClientCertificate if version == ProtocolVersion::TLSv1_3 => {
                A::CertificateRequired
            }
            Self::NoClientCertificate => A::HandshakeFailure,
            Self::InsecureRenegotiation => A::HandshakeFailure,
            Self::RenegotiationRefused => return None,
            Self::PeerAlert(_) | Self::PeerClosed => return None,
            Self::Config(_) | Self::Internal(_) => A::InternalError,
        };
        Some(a)
    }

    /// A stable snake_case id for JSON and notes.
    pub fn id(&self) -> &'static str {
        match self {
            Self::UnexpectedMessage { .. } => "unexpected_message",
            Self::Decode(_) => "decode_error",
            Self::IllegalParameter(_) => "illegal_parameter",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::NoCommonSuite => "no_common_suite",
            Self::InappropriateFallback => "inappropriate_fallback",
            Self::BadRecordMac => "bad_record_mac",
            Self::RecordOverflow => "record_overflow",
            Self::BadFinished => "bad_finished",
            Self::BadSignature => "bad_signature",
            Self::BadCertificate { .. } => "bad_certificate",
            Self::UnsupportedExtension(_) => "unsupported_extension",
            Self::NoClientCertificate => "no_client_certificate",
            Self::InsecureRenegotiation => "insecure_renegotiation",
            Self::RenegotiationRefused => "renegotiation_refused",
            Self::PeerAlert(_) => "peer_alert",
            Self::PeerClosed => "peer_closed",
            Self::Config(_) => "config",
            Self::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedMessage { expected, got } => {
                write!(f, "unexpected {got} (expected {expected})")
            }
            Self::Decode(e) => write!(f, "malformed message: {e}"),
            Self::IllegalParameter(what) => write!(f, "illegal parameter: {what}"),
            Self::UnsupportedVersion { offered } => {
                write!(f, "no common protocol version (offered {offered:?})")
            }
            Self::NoCommonSuite => f.write_str("no cipher suite in common"),
            Self::InappropriateFallback => {
                f.write_str("inappropriate fallback (TLS_FALLBACK_SCSV)")
            }
            Self::BadRecordMac => f.write_str("a record failed its MAC or padding check"),
            Self::RecordOverflow => f.write_str("a record exceeded the maximum length"),
            Self::BadFinished => f.write_str("the peer's Finished does not match the handshake"),
            Self::BadSignature => f.write_str("a signature did not verify"),
            Self::BadCertificate { reason, .. } => write!(f, "certificate refused: {reason}"),
            Self::UnsupportedExtension(t) => write!(
                f,
                "the peer answered with an extension that was not offered: {t:?}"
            ),
            Self::NoClientCertificate => {
                f.write_str("a client certificate was required and none was sent")
            }
            Self::InsecureRenegotiation => {
                f.write_str("renegotiation without RFC 5746 protection refused")
            }
            Self::RenegotiationRefused => f.write_str("the peer refused to renegotiate"),
            Self::PeerAlert(a) => write!(f, "the peer sent a fatal alert: {a:?}"),
            Self::PeerClosed => f.write_str("the peer closed the connection during the handshake"),
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// The event sink failed (an output error): nothing protocol-related.
impl From<std::io::Error> for EngineError {
    fn from(_: std::io::Error) -> Self {
        Self::Internal("the event sink failed")
    }
}

impl From<DecodeError> for EngineError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_follow_the_version() {
        let tls = ProtocolVersion::TLSv1_0;
        let ssl3 = ProtocolVersion::SSLv3;
        assert_eq!(
            EngineError::BadFinished.alert(tls),
            Some(AlertDescription::DecryptError)
        );
        assert_eq!(
            EngineError::BadFinished.alert(ssl3),
            Some(AlertDescription::HandshakeFailure)
        );
        assert_eq!(
            EngineError::NoCommonSuite.alert(tls),
            Some(AlertDescription::HandshakeFailure)
        );
        assert_eq!(
            EngineError::UnsupportedVersion { offered: ssl3 }.alert(tls),
            Some(AlertDescription::ProtocolVersion)
        );
        assert_eq!(
            EngineError::PeerAlert(AlertDescription::CloseNotify).alert(tls),
            None
        );
        assert_eq!(
            EngineError::BadRecordMac.alert(ssl3),
            Some(AlertDescription::BadRecordMac)
        );
    }
}
