//! The small non-handshake protocols: Alert (RFC 5246 §7.2),
//! ChangeCipherSpec (RFC 5246 §7.1) and Heartbeat (RFC 6520).

use super::codec::{Codec, DecodeError, Reader, WireWrite};
use super::enums::*;

/// RFC 5246 §7.2: `struct { AlertLevel level; AlertDescription description; } Alert;`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    pub level: AlertLevel,
    pub description: AlertDescription,
}

impl Alert {
    pub fn fatal(description: AlertDescription) -> Self {
        Self {
            level: AlertLevel::Fatal,
            description,
        }
    }
    pub fn warning(description: AlertDescription) -> Self {
        Self {
            level: AlertLevel::Warning,
            description,
        }
    }
    /// Ends the connection: sent as fatal, or fatal by its nature.
    pub fn is_fatal(&self) -> bool {
        self.level == AlertLevel::Fatal || self.description.always_fatal()
    }
}

impl Codec for Alert {
    fn encode(&self, out: &mut Vec<u8>) {
        self.level.encode(out);
        self.description.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            level: AlertLevel::decode(r)?,
            description: AlertDescription::decode(r)?,
        })
    }
}

/// RFC 5246 §7.1: `struct { enum { change_cipher_spec(1), (255) } type; } ChangeCipherSpec;`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeCipherSpec;

impl Codec for ChangeCipherSpec {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(1);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = r.u8("ChangeCipherSpec.type")?;
        if v != 1 {
            return Err(DecodeError::IllegalValue {
                what: "ChangeCipherSpec.type",
                offset: r.offset() - 1,
                value: v.into(),
            });
        }
        Ok(Self)
    }
}

/// RFC 6520 §4:
/// `struct { HeartbeatMessageType type; uint16 payload_length;
/// opaque payload[payload_length]; opaque padding[padding_length]; }`
/// The padding is at least 16 bytes; a payload_length larger than what was
/// sent is the Heartbleed probe, kept as a fact (`payload_length` vs
/// `payload.len()`), not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub typ: HeartbeatMessageType,
    pub payload_length: u16,
    pub payload: Vec<u8>,
    pub padding: Vec<u8>,
}

impl Codec for Heartbeat {
    fn encode(&self, out: &mut Vec<u8>) {
        self.typ.encode(out);
        out.put_u16(self.payload_length);
        out.put(&self.payload);
        out.put(&self.padding);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let typ = HeartbeatMessageType::decode(r)?;
        let payload_length = r.u16("Heartbeat.payload_length")?;
        let take = (payload_length as usize).min(r.remaining());
        let payload = r.take(take, "Heartbeat.payload")?.to_vec();
        let padding = r.rest().to_vec();
        Ok(Self {
            typ,
            payload_length,
            payload,
            padding,
        })
    }
}

impl Heartbeat {
    /// The declared payload is longer than what the record carries (the
    /// CVE-2014-0160 over-read probe).
    pub fn claims_more_than_sent(&self) -> bool {
        self.payload_length as usize > self.payload.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trip_and_unknown() {
        let a = Alert::fatal(AlertDescription::HandshakeFailure);
        assert_eq!(a.to_bytes(), [2, 40]);
        assert_eq!(Alert::from_bytes(&[2, 40], "Alert").unwrap(), a);
        let u = Alert::from_bytes(&[7, 201], "Alert").unwrap();
        assert_eq!(u.to_bytes(), [7, 201]);
        assert!(Alert::from_bytes(&[2], "Alert").is_err());
        assert!(Alert::from_bytes(&[2, 40, 0], "Alert").is_err());
        assert!(Alert::warning(AlertDescription::BadRecordMac).is_fatal());
        assert!(!Alert::warning(AlertDescription::CloseNotify).is_fatal());
    }

    #[test]
    fn ccs_strict() {
        assert_eq!(
            ChangeCipherSpec::from_bytes(&[1], "CCS").unwrap(),
            ChangeCipherSpec
        );
        assert!(ChangeCipherSpec::from_bytes(&[2], "CCS").is_err());
        assert!(ChangeCipherSpec::from_bytes(&[1, 1], "CCS").is_err());
    }

    #[test]
    fn heartbleed_probe_is_a_fact() {
        let hb = Heartbeat::from_bytes(&[1, 0x40, 0x00, 0xaa], "hb").unwrap();
        assert!(hb.claims_more_than_sent());
        assert_eq!(hb.to_bytes(), [1, 0x40, 0x00, 0xaa]);
    }
}
