//! Session keys: cutting the key block into MAC keys, write keys and IVs,
//! and the export derivations of SSL 3.0 and TLS 1.0.
//!
//! RFC 5246 §6.3 (and RFC 6101 §6.2.2, RFC 2246 §6.3): the key block is
//! partitioned, in this order, into
//!
//! ```text
//! client_write_MAC_key[SecurityParameters.mac_key_length]
//! server_write_MAC_key[SecurityParameters.mac_key_length]
//! client_write_key[SecurityParameters.enc_key_length]
//! server_write_key[SecurityParameters.enc_key_length]
//! client_write_IV[SecurityParameters.fixed_iv_length]
//! server_write_IV[SecurityParameters.fixed_iv_length]
//! ```
//!
//! with the lengths from the suite registry: the MAC's key length (none for
//! AEAD suites), the cipher's key length, and its IV length (a whole block
//! for CBC, the 4-byte implicit "salt" for GCM, none for stream ciphers).
//! TLS 1.1 and 1.2 CBC records carry their own IV, so the key-block IVs go
//! unused there; they are still cut, as OpenSSL and Go do, which changes
//! nothing before them.
//!
//! Export suites (RSA_EXPORT, 40-bit keys) take only 5 secret bytes per
//! write key from the key block, and no IVs; the final keys and IVs are
//! derived from them and the randoms, differently in SSL 3.0 (RFC 6101
//! §6.2.2.1, [`ssl30_export_keys`]) and TLS 1.0 (RFC 2246 §6.3,
//! [`tls10_export_keys`]).
//!
//! What this module does not do: TLS 1.3 traffic keys (HKDF-Expand-Label),
//! FORTEZZA (the card makes its keys), or use the keys (`mac`, `cipher`
//! and `record` do).

use md5::{Digest, Md5};

use super::prf::{concat_randoms, key_block, prf10, PrfError};
use super::secret::{MasterSecret, SecretBytes};
use super::transcript::Sender;
use crate::event::Direction;
use crate::wire::suites::SuiteInfo;
use crate::wire::ProtocolVersion;

/// The six values cut from the key block (after the export derivation,
/// for export suites). Lengths follow the suite; empty where the suite has
/// no such value. `Debug` shows every field as `<redacted>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMaterial {
    pub client_write_mac_key: SecretBytes,
    pub server_write_mac_key: SecretBytes,
    pub client_write_key: SecretBytes,
    pub server_write_key: SecretBytes,
    pub client_write_iv: SecretBytes,
    pub server_write_iv: SecretBytes,
}

/// The keys that protect one direction of traffic.
#[derive(Clone, Copy, Debug)]
pub struct WriteKeys<'a> {
    pub mac_key: &'a SecretBytes,
    pub key: &'a SecretBytes,
    pub iv: &'a SecretBytes,
}

impl KeyMaterial {
    /// The keys that protect records flowing in direction `dir`: the
    /// client's for client-to-server records.
    pub fn for_direction(&self, dir: Direction) -> WriteKeys<'_> {
        self.for_sender(match dir {
            Direction::ClientToServer => Sender::Client,
            Direction::ServerToClient => Sender::Server,
        })
    }

    /// The keys `writer` protects its records with.
    pub fn for_sender(&self, writer: Sender) -> WriteKeys<'_> {
        match writer {
            Sender::Client => WriteKeys {
                mac_key: &self.client_write_mac_key,
                key: &self.client_write_key,
                iv: &self.client_write_iv,
            },
            Sender::Server => WriteKeys {
                mac_key: &self.server_write_mac_key,
                key: &self.server_write_key,
                iv: &self.server_write_iv,
            },
        }
    }
}

/// Bytes of key block `suite` needs: two MAC keys, two write keys and two
/// IVs (no IVs for export suites: RFC 2246 §6.3.1 takes 42 bytes for
/// RC2_CBC_40_MD5).
pub fn key_block_len(suite: &SuiteInfo) -> usize {
    let iv_len = if suite.export {
        0
    } else {
        suite.cipher.iv_len()
    };
    2 * (suite.mac.key_len() + suite.cipher.key_len() + iv_len)
}

/// Derives the key block from the master secret and cuts it into
/// [`KeyMaterial`], applying the export derivation of `version` when the
/// suite is an export suite. Go calls this `keysFromMasterSecret`.
pub fn key_material(
    version: ProtocolVersion,
    suite: &SuiteInfo,
    master: &MasterSecret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<KeyMaterial, PrfError> {
    let block = key_block(
        version,
        suite,
        master,
        client_random,
        server_random,
        key_block_len(suite),
    )?;
    let raw = partition(suite, block.expose());
    if !suite.export {
        return Ok(raw);
    }
    match version {
        ProtocolVersion::SSLv3 => Ok(ssl30_export_keys(suite, &raw, client_random, server_random)),
        ProtocolVersion::TLSv1_0 => {
            Ok(tls10_export_keys(suite, &raw, client_random, server_random))
        }
        other => Err(PrfError::ExportSuite(other)),
    }
}

/// Cuts a key block of at least [`key_block_len`] bytes, in RFC order.
fn partition(suite: &SuiteInfo, block: &[u8]) -> KeyMaterial {
    let mac_len = suite.mac.key_len();
    let key_len = suite.cipher.key_len();
    let iv_len = if suite.export {
        0
    } else {
        suite.cipher.iv_len()
    };
    let mut rest = block;
    let mut take = |len: usize| {
        let (part, tail) = rest.split_at(len);
        rest = tail;
        SecretBytes::from_slice(part)
    };
    KeyMaterial {
        client_write_mac_key: take(mac_len),
        server_write_mac_key: take(mac_len),
        client_write_key: take(key_len),
        server_write_key: take(key_len),
        client_write_iv: take(iv_len),
        server_write_iv: take(iv_len),
    }
}

/// RFC 6101 §6.2.2.1, SSL 3.0 export keys: MD5 salted with the randoms,
/// truncated to the cipher's expanded key and IV lengths.
///
/// ```text
/// final_client_write_key = MD5(client_write_key +
///                              ClientHello.random + ServerHello.random);
/// final_server_write_key = MD5(server_write_key +
///                              ServerHello.random + ClientHello.random);
/// client_write_IV = MD5(ClientHello.random + ServerHello.random);
/// server_write_IV = MD5(ServerHello.random + ClientHello.random);
/// ```
///
/// `raw` is the partitioned key block (5-byte write keys, no IVs); the MAC
/// keys pass through.
pub fn ssl30_export_keys(
    suite: &SuiteInfo,
    raw: &KeyMaterial,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> KeyMaterial {
    let key_len = suite.cipher.expanded_key_len();
    let iv_len = suite.cipher.iv_len();
    let md5 = |parts: &[&[u8]], len: usize| {
        let mut hash = Md5::new();
        for part in parts {
            hash.update(part);
        }
        SecretBytes::from_slice(&hash.finalize()[..len])
    };
    KeyMaterial {
        client_write_mac_key: raw.client_write_mac_key.clone(),
        server_write_mac_key: raw.server_write_mac_key.clone(),
        client_write_key: md5(
            &[raw.client_write_key.expose(), client_random, server_random],
            key_len,
        ),
        server_write_key: md5(
            &[raw.server_write_key.expose(), server_random, client_random],
            key_len,
        ),
        client_write_iv: md5(&[client_random, server_random], iv_len),
        server_write_iv: md5(&[server_random, client_random], iv_len),
    }
}

/// RFC 2246 §6.3, TLS 1.0 export keys: the PRF again, keyed with each
/// 5-byte write key, and with an empty secret for the IVs.
///
/// ```text
/// final_client_write_key = PRF(SecurityParameters.client_write_key,
///                              "client write key",
///                              SecurityParameters.client_random +
///                              SecurityParameters.server_random);
/// final_server_write_key = PRF(SecurityParameters.server_write_key,
///                              "server write key", [same seed]);
/// iv_block = PRF("", "IV block", SecurityParameters.client_random +
///                                SecurityParameters.server_random);
/// client_write_IV[IV_size] + server_write_IV[IV_size] = iv_block;
/// ```
///
/// Both seeds put the client random first, unlike the key block.
pub fn tls10_export_keys(
    suite: &SuiteInfo,
    raw: &KeyMaterial,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> KeyMaterial {
    let key_len = suite.cipher.expanded_key_len();
    let iv_len = suite.cipher.iv_len();
    let seed = concat_randoms(client_random, server_random);
    let derive = |secret: &[u8], label: &[u8], len: usize| {
        let mut out = SecretBytes::new(vec![0u8; len]);
        prf10(secret, label, &seed, out.expose_mut());
        out
    };
    let iv_block = derive(b"", b"IV block", 2 * iv_len);
    let (client_iv, server_iv) = iv_block.expose().split_at(iv_len);
    KeyMaterial {
        client_write_mac_key: raw.client_write_mac_key.clone(),
        server_write_mac_key: raw.server_write_mac_key.clone(),
        client_write_key: derive(raw.client_write_key.expose(), b"client write key", key_len),
        server_write_key: derive(raw.server_write_key.expose(), b"server write key", key_len),
        client_write_iv: SecretBytes::from_slice(client_iv),
        server_write_iv: SecretBytes::from_slice(server_iv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::prf::{master_secret, unhex};
    use crate::crypto::secret::{PreMasterSecret, Secret};
    use crate::wire::suites::lookup;

    fn random(byte: u8) -> [u8; 32] {
        std::array::from_fn(|i| byte.wrapping_add(i as u8))
    }

    fn lengths(keys: &KeyMaterial) -> [usize; 6] {
        [
            keys.client_write_mac_key.len(),
            keys.server_write_mac_key.len(),
            keys.client_write_key.len(),
            keys.server_write_key.len(),
            keys.client_write_iv.len(),
            keys.server_write_iv.len(),
        ]
    }

    #[test]
    fn lengths_follow_the_suite() {
        let master: MasterSecret = Secret::new([0x33; 48]);
        let (cr, sr) = (random(1), random(100));
        let cases = [
            // (suite, version, key block length, six lengths)
            (0x0002, ProtocolVersion::TLSv1_2, 40, [20, 20, 0, 0, 0, 0]),
            (0x0004, ProtocolVersion::SSLv3, 64, [16, 16, 16, 16, 0, 0]),
            (
                0x000a,
                ProtocolVersion::TLSv1_0,
                104,
                [20, 20, 24, 24, 8, 8],
            ),
            (
                0x0035,
                ProtocolVersion::TLSv1_1,
                136,
                [20, 20, 32, 32, 16, 16],
            ),
            (
                0x003d,
                ProtocolVersion::TLSv1_2,
                160,
                [32, 32, 32, 32, 16, 16],
            ),
            (0x009c, ProtocolVersion::TLSv1_2, 40, [0, 0, 16, 16, 4, 4]),
            (0x009d, ProtocolVersion::TLSv1_2, 72, [0, 0, 32, 32, 4, 4]),
            // Export: 5 secret bytes each, no IVs from the block; the final
            // keys are expanded, the IVs derived.
            (0x0003, ProtocolVersion::SSLv3, 42, [16, 16, 16, 16, 0, 0]),
            (0x0006, ProtocolVersion::TLSv1_0, 42, [16, 16, 16, 16, 8, 8]),
            (0x0008, ProtocolVersion::TLSv1_0, 50, [20, 20, 8, 8, 8, 8]),
        ];
        for (code, version, block_len, expected) in cases {
            let suite = lookup(code).unwrap();
            assert_eq!(key_block_len(suite), block_len, "{}", suite.iana);
            let keys = key_material(version, suite, &master, &cr, &sr).unwrap();
            assert_eq!(lengths(&keys), expected, "{}", suite.iana);
        }
        // The RFC 2246 §6.3.1 example: 42 bytes for RC2_CBC_40_MD5.
        assert_eq!(key_block_len(lookup(0x0006).unwrap()), 42);
    }

    #[test]
    fn non_export_keys_are_the_key_block_in_order() {
        let suite = lookup(0x000a).unwrap();
        let master: MasterSecret = Secret::new([0x55; 48]);
        let (cr, sr) = (random(7), random(77));
        let version = ProtocolVersion::TLSv1_0;
        let block = key_block(version, suite, &master, &cr, &sr, 104).unwrap();
        let keys = key_material(version, suite, &master, &cr, &sr).unwrap();
        let joined: Vec<u8> = [
            &keys.client_write_mac_key,
            &keys.server_write_mac_key,
            &keys.client_write_key,
            &keys.server_write_key,
            &keys.client_write_iv,
            &keys.server_write_iv,
        ]
        .iter()
        .flat_map(|part| part.expose().clone())
        .collect();
        assert_eq!(&joined, block.expose());
        let c2s = keys.for_direction(Direction::ClientToServer);
        let s2c = keys.for_sender(Sender::Server);
        assert_eq!(c2s.key, &keys.client_write_key);
        assert_eq!(s2c.iv, &keys.server_write_iv);
        assert_eq!(format!("{:?}", c2s.mac_key), "<redacted>");
        assert!(!format!("{keys:?}").contains("0x"));
    }

    #[test]
    fn export_needs_an_export_version() {
        let suite = lookup(0x0003).unwrap();
        let master: MasterSecret = Secret::new([0; 48]);
        assert_eq!(
            key_material(ProtocolVersion::TLSv1_1, suite, &master, &[0; 32], &[0; 32]),
            Err(PrfError::ExportSuite(ProtocolVersion::TLSv1_1))
        );
    }

    // No peer at hand speaks export suites any more (OpenSSL 3, GnuTLS and
    // tlslite-ng dropped them), and no published vector covers them, so the
    // expected values come from an independent transcription of RFC 6101
    // §6.1/§6.2.2/§6.2.2.1 and RFC 2246 §5/§6.3 into Python (hashlib and
    // hmac only), run on pre-master 0300 + 46 x 0x11, client random 00..1f,
    // server random 80..9f:
    //
    //   ms = ssl3(pms, cr + sr, 48)        # MD5(s + SHA1(salt + s + seed))
    //   kb = ssl3(ms, sr + cr, 42)         # EXP-RC4-MD5: 16+16+5+5
    //   ck = md5(kb[32:37] + cr + sr)      # SSL 3.0 export
    //   ms = tls10_prf(pms, b"master secret", cr + sr, 48)
    //   kb = tls10_prf(ms, b"key expansion", sr + cr, 42) # EXP-RC2-CBC-MD5
    //   ck = tls10_prf(kb[32:37], b"client write key", cr + sr, 16)
    //   iv = tls10_prf(b"", b"IV block", cr + sr, 16)
    fn export_inputs() -> (PreMasterSecret, [u8; 32], [u8; 32]) {
        let mut pms = vec![0x11; 48];
        pms[..2].copy_from_slice(&[3, 0]);
        let cr = std::array::from_fn(|i| i as u8);
        let sr = std::array::from_fn(|i| 0x80 + i as u8);
        (PreMasterSecret::new(pms), cr, sr)
    }

    #[test]
    fn ssl30_export_rc4_40() {
        let (pms, cr, sr) = export_inputs();
        let suite = lookup(0x0003).unwrap(); // EXP-RC4-MD5
        let version = ProtocolVersion::SSLv3;
        let master = master_secret(version, suite, &pms, &cr, &sr).unwrap();
        let keys = key_material(version, suite, &master, &cr, &sr).unwrap();
        assert_eq!(
            keys.client_write_mac_key.expose(),
            &unhex("9945a15152be98dfdec5e852e791b694")
        );
        assert_eq!(
            keys.server_write_mac_key.expose(),
            &unhex("c0013b4e57e755f43b6b5ed0e663991a")
        );
        assert_eq!(
            keys.client_write_key.expose(),
            &unhex("3d5d6c32228cc5679cdb3a2b6f41e20e")
        );
        assert_eq!(
            keys.server_write_key.expose(),
            &unhex("be3042531dbdedc5724829d08c857159")
        );
        assert!(keys.client_write_iv.is_empty() && keys.server_write_iv.is_empty());
    }

    #[test]
    fn ssl30_export_des40_ivs() {
        let (pms, cr, sr) = export_inputs();
        let suite = lookup(0x0008).unwrap(); // EXP-DES-CBC-SHA
        let version = ProtocolVersion::SSLv3;
        let master = master_secret(version, suite, &pms, &cr, &sr).unwrap();
        let keys = key_material(version, suite, &master, &cr, &sr).unwrap();
        assert_eq!(keys.client_write_key.expose(), &unhex("0ee640389c90ef6f"));
        assert_eq!(keys.server_write_key.expose(), &unhex("5a28b3ddbe211bd7"));
        assert_eq!(keys.client_write_iv.expose(), &unhex("42e140d4b3a6b42d"));
        assert_eq!(keys.server_write_iv.expose(), &unhex("0f48b23fe865cb2c"));
    }

    #[test]
    fn tls10_export_rc2_40() {
        let (pms, cr, sr) = export_inputs();
        let suite = lookup(0x0006).unwrap(); // EXP-RC2-CBC-MD5
        let version = ProtocolVersion::TLSv1_0;
        let master = master_secret(version, suite, &pms, &cr, &sr).unwrap();
        let keys = key_material(version, suite, &master, &cr, &sr).unwrap();
        assert_eq!(
            keys.client_write_mac_key.expose(),
            &unhex("a0947e39a44e7f625b1345c58b18849f")
        );
        assert_eq!(
            keys.server_write_mac_key.expose(),
            &unhex("047e842e89ee64fa8cf656524b1879d6")
        );
        assert_eq!(
            keys.client_write_key.expose(),
            &unhex("234f6547d44050249371ded8940bebde")
        );
        assert_eq!(
            keys.server_write_key.expose(),
            &unhex("bfca0b11f8f80436dbac2558d16db704")
        );
        assert_eq!(keys.client_write_iv.expose(), &unhex("b1e47b3a6f4364d5"));
        assert_eq!(keys.server_write_iv.expose(), &unhex("a06c69a7bc1935d3"));
    }
}

/// Cross-checks against real peers: the captures under `fixtures/peers/`
/// (openssl, gnutls and tlslite-ng talking to each other, see
/// fixtures/README.md), read with the crate's own capture, record and wire
/// code. For every TLS 1.2-or-older connection:
///
/// - RSA key exchange: the ClientKeyExchange is decrypted with
///   `peers/keys/server.key`, the master secret derived (extended when the
///   ServerHello has extended_master_secret, over the session hash up to
///   ClientKeyExchange) and compared with the client's key log; OpenSSL's
///   `RSA` key log lines must match the decrypted pre-master.
/// - Every connection: with the key log's master secret, the key block is
///   cut into keys, the first protected record of each direction (the
///   Finished) is decrypted and its MAC or tag checked with them, and its
///   `verify_data` compared with `finished_verify_data` over the transcript.
/// - The ServerKeyExchange signatures of the ECDHE peers and the client's
///   CertificateVerify are verified with the fixture keys.
#[cfg(test)]
mod peer_tests {
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::ops::ControlFlow;

    use aes::{Aes128, Aes256};
    use aes_gcm::aead::{Aead, Payload};
    use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
    use cipher::block_padding::NoPadding;
    use cipher::{BlockDecryptMut, KeyIvInit, StreamCipher};
    use hmac::Hmac;
    use md5::Md5;
    use sha1::Sha1;
    use sha2::{Sha256, Sha384};

    use super::*;
    use crate::capture::{run_capture, CaptureOptions, FlowId, StreamEvent};
    use crate::crypto::keylog::KeyLog;
    use crate::crypto::prf::{extended_master_secret, master_secret};
    use crate::crypto::rsa_kx::tests::fixture_key;
    use crate::crypto::rsa_kx::{
        decrypt_pre_master_checked, rsa_verify, verify_server_params, RsaKxOutcome,
    };
    use crate::crypto::secret::constant_time_eq;
    use crate::crypto::transcript::{
        certificate_verify_input, finished_verify_data, session_hash, Transcript,
    };
    use crate::event::Direction;
    use crate::record::deframer::{HandshakeJoiner, RecordDeframer, RecordItem};
    use crate::wire::handshake::{ClientKeyExchange, ServerKeyExchange};
    use crate::wire::suites::{lookup, BulkCipher, CipherKind, KeyExchange, Mac};
    use crate::wire::{
        ClientHello, ContentType, ExtensionType, HandshakeMessage, HandshakeType, KeyExchangeKind,
        ServerHello, WireContext,
    };

    enum Item {
        Handshake(Vec<u8>),
        ChangeCipherSpec,
        Protected {
            typ: ContentType,
            version: ProtocolVersion,
            body: Vec<u8>,
        },
    }

    /// One connection's records, both directions in capture order.
    #[derive(Default)]
    struct FlowReader {
        deframers: [RecordDeframer; 2],
        joiners: [HandshakeJoiner; 2],
        protected: [bool; 2],
        items: Vec<(Direction, Item)>,
    }

    fn index(dir: Direction) -> usize {
        match dir {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    impl FlowReader {
        fn feed(&mut self, dir: Direction, bytes: &[u8]) {
            let i = index(dir);
            let mut records = Vec::new();
            self.deframers[i].feed(bytes, &mut |_| true, &mut |item| {
                if let RecordItem::Record {
                    header,
                    body: Some(body),
                    ..
                } = item
                {
                    records.push((header, body.into_owned()));
                }
            });
            for (header, body) in records {
                match header.content_type {
                    ContentType::ChangeCipherSpec => {
                        self.protected[i] = true;
                        self.items.push((dir, Item::ChangeCipherSpec));
                    }
                    typ if self.protected[i] => self.items.push((
                        dir,
                        Item::Protected {
                            typ,
                            version: header.version,
                            body,
                        },
                    )),
                    ContentType::Handshake => {
                        let mut messages = Vec::new();
                        self.joiners[i]
                            .push_record(&body, &mut |m| messages.push(m.raw.to_vec()))
                            .unwrap();
                        for message in messages {
                            self.items.push((dir, Item::Handshake(message)));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn fixture(name: &str) -> String {
        format!("{}/fixtures/peers/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    /// Every connection of a capture, in flow order.
    fn read_capture(name: &str) -> Vec<Vec<(Direction, Item)>> {
        let mut flows: BTreeMap<FlowId, FlowReader> = BTreeMap::new();
        let mut sink = |event: StreamEvent<'_>| {
            if let StreamEvent::Data {
                flow, dir, bytes, ..
            } = event
            {
                flows.entry(flow).or_default().feed(dir, bytes);
            }
            ControlFlow::Continue(())
        };
        let file = File::open(fixture(name)).unwrap();
        let stats = run_capture(file, &CaptureOptions::default(), &mut sink).unwrap();
        assert!(stats.incomplete.is_none(), "{name}");
        flows.into_values().map(|flow| flow.items).collect()
    }

    fn hmac(mac: Mac, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: hmac::Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key).unwrap();
            for part in parts {
                m.update(part);
            }
            m.finalize().into_bytes().to_vec()
        }
        match mac {
            Mac::Md5 => run::<Hmac<Md5>>(key, parts),
            Mac::Sha1 => run::<Hmac<Sha1>>(key, parts),
            Mac::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Mac::Sha384 => run::<Hmac<Sha384>>(key, parts),
            other => panic!("no MAC {other:?}"),
        }
    }

    /// RFC 6101 §5.2.3.1: hash(secret + pad_2 + hash(secret + pad_1 +
    /// seq_num + type + length + content)).
    fn ssl30_mac(mac: Mac, key: &[u8], typ: u8, content: &[u8]) -> Vec<u8> {
        fn run<D: Digest>(key: &[u8], pad: usize, header: &[u8], content: &[u8]) -> Vec<u8> {
            let inner = D::new()
                .chain_update(key)
                .chain_update(vec![0x36; pad])
                .chain_update(header)
                .chain_update(content)
                .finalize();
            D::new()
                .chain_update(key)
                .chain_update(vec![0x5c; pad])
                .chain_update(inner)
                .finalize()
                .to_vec()
        }
        let mut header = vec![0u8; 8];
        header.push(typ);
        header.extend_from_slice(&(content.len() as u16).to_be_bytes());
        match mac {
            Mac::Md5 => run::<Md5>(key, 48, &header, content),
            Mac::Sha1 => run::<Sha1>(key, 40, &header, content),
            other => panic!("no SSL 3.0 MAC {other:?}"),
        }
    }

    /// The record MAC of sequence number 0 over `content`.
    fn record_mac(
        version: ProtocolVersion,
        suite: &SuiteInfo,
        key: &[u8],
        typ: u8,
        rec_version: ProtocolVersion,
        content: &[u8],
    ) -> Vec<u8> {
        if version == ProtocolVersion::SSLv3 {
            return ssl30_mac(suite.mac, key, typ, content);
        }
        let mut header = vec![0u8; 8];
        header.push(typ);
        header.extend_from_slice(&rec_version.0.to_be_bytes());
        header.extend_from_slice(&(content.len() as u16).to_be_bytes());
        hmac(suite.mac, key, &[&header, content])
    }

    fn cbc_decrypt(cipher: BulkCipher, key: &[u8], iv: &[u8], data: &mut [u8]) {
        match cipher {
            BulkCipher::Aes128Cbc => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
                .unwrap()
                .decrypt_padded_mut::<NoPadding>(data)
                .map(|_| ()),
            BulkCipher::Aes256Cbc => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
                .unwrap()
                .decrypt_padded_mut::<NoPadding>(data)
                .map(|_| ()),
            BulkCipher::TripleDesEdeCbc => {
                cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, iv)
                    .unwrap()
                    .decrypt_padded_mut::<NoPadding>(data)
                    .map(|_| ())
            }
            other => panic!("no CBC cipher {other:?}"),
        }
        .unwrap();
    }

    /// Opens the first protected record of one direction (sequence number
    /// 0) with `keys`, checking its MAC, padding or tag; returns the
    /// plaintext.
    fn open_first_record(
        version: ProtocolVersion,
        suite: &SuiteInfo,
        encrypt_then_mac: bool,
        keys: WriteKeys<'_>,
        typ: ContentType,
        rec_version: ProtocolVersion,
        body: &[u8],
    ) -> Vec<u8> {
        let (mac_key, key, iv) = (keys.mac_key.expose(), keys.key.expose(), keys.iv.expose());
        let mac_len = suite.mac.len();
        let check_mac = |content: &[u8], mac: &[u8]| {
            let expected = record_mac(version, suite, mac_key, typ.0, rec_version, content);
            assert!(constant_time_eq(&expected, mac), "record MAC");
        };
        match suite.cipher.kind() {
            CipherKind::Null | CipherKind::Stream => {
                let mut plain = body.to_vec();
                if suite.cipher == BulkCipher::Rc4_128 {
                    rc4::Rc4::<rc4::consts::U16>::new_from_slice(key)
                        .unwrap()
                        .apply_keystream(&mut plain);
                }
                let (content, mac) = plain.split_at(plain.len() - mac_len);
                check_mac(content, mac);
                content.to_vec()
            }
            CipherKind::Block => {
                let block = suite.cipher.block_size();
                let mut rest = body;
                if encrypt_then_mac {
                    // RFC 7366 §3: the MAC covers the IV and ciphertext.
                    let (sealed, mac) = rest.split_at(rest.len() - mac_len);
                    check_mac(sealed, mac);
                    rest = sealed;
                }
                let iv = if version >= ProtocolVersion::TLSv1_1 {
                    let (explicit, tail) = rest.split_at(block);
                    rest = tail;
                    explicit
                } else {
                    iv
                };
                let mut plain = rest.to_vec();
                cbc_decrypt(suite.cipher, key, iv, &mut plain);
                let pad = *plain.last().unwrap() as usize;
                let unpadded = &plain[..plain.len() - pad - 1];
                if version != ProtocolVersion::SSLv3 {
                    assert!(plain[plain.len() - pad - 1..]
                        .iter()
                        .all(|&b| b as usize == pad));
                }
                if encrypt_then_mac {
                    return unpadded.to_vec();
                }
                let (content, mac) = unpadded.split_at(unpadded.len() - mac_len);
                check_mac(content, mac);
                content.to_vec()
            }
            CipherKind::Aead => {
                let (explicit, sealed) = body.split_at(8);
                let nonce = [iv, explicit].concat();
                let mut aad = vec![0u8; 8];
                aad.push(typ.0);
                aad.extend_from_slice(&rec_version.0.to_be_bytes());
                aad.extend_from_slice(&((sealed.len() - 16) as u16).to_be_bytes());
                let payload = Payload {
                    msg: sealed,
                    aad: &aad,
                };
                match suite.cipher {
                    BulkCipher::Aes128Gcm => Aes128Gcm::new_from_slice(key)
                        .unwrap()
                        .decrypt(nonce.as_slice().into(), payload),
                    BulkCipher::Aes256Gcm => Aes256Gcm::new_from_slice(key)
                        .unwrap()
                        .decrypt(nonce.as_slice().into(), payload),
                    other => panic!("no AEAD {other:?}"),
                }
                .expect("GCM tag")
            }
        }
    }

    /// Checks one connection; returns a one-line summary, or `None` for
    /// TLS 1.3 connections.
    fn check_flow(items: &[(Direction, Item)], log: &KeyLog) -> Option<String> {
        let server_key = fixture_key("server.key");
        let client_key = fixture_key("client.key");
        let mut transcript = Transcript::new();
        let mut client_hello: Option<ClientHello> = None;
        let mut server_hello: Option<ServerHello> = None;
        let mut computed_master: Option<MasterSecret> = None;
        let mut notes: Vec<&str> = Vec::new();
        let mut finished = [false; 2];

        for (dir, item) in items {
            match item {
                Item::ChangeCipherSpec => {}
                Item::Handshake(raw) => {
                    let typ = HandshakeType(raw[0]);
                    let cr = client_hello.as_ref().map(|ch| ch.random.0);
                    let context = server_hello.as_ref().map(|sh| {
                        let suite = lookup(sh.cipher_suite.0).unwrap();
                        let kx = match suite.kx {
                            KeyExchange::Rsa => KeyExchangeKind::Rsa,
                            KeyExchange::Ecdhe => KeyExchangeKind::Ecdhe,
                            other => panic!("no test for {other:?}"),
                        };
                        (sh.negotiated_version(), suite, sh.random.0, kx)
                    });
                    match typ {
                        HandshakeType::ClientHello => {
                            let HandshakeMessage::ClientHello(ch) =
                                HandshakeMessage::decode_message(raw, &WireContext::default())
                                    .unwrap()
                            else {
                                unreachable!()
                            };
                            client_hello = Some(ch);
                        }
                        HandshakeType::ServerHello => {
                            let HandshakeMessage::ServerHello(sh) =
                                HandshakeMessage::decode_message(raw, &WireContext::default())
                                    .unwrap()
                            else {
                                unreachable!()
                            };
                            if sh.negotiated_version() == ProtocolVersion::TLSv1_3 {
                                return None;
                            }
                            if sh.extension(ExtensionType::ExtendedMasterSecret).is_some() {
                                notes.push("ems");
                            }
                            let resumed = !sh.session_id.is_empty()
                                && client_hello.as_ref().unwrap().session_id == sh.session_id;
                            if resumed {
                                notes.push("resumed");
                            }
                            server_hello = Some(sh);
                        }
                        HandshakeType::ServerKeyExchange => {
                            let (version, _, sr, kx) = context.unwrap();
                            let cx = WireContext::new(version, kx);
                            let HandshakeMessage::ServerKeyExchange(ServerKeyExchange::Ecdh {
                                signature: Some(signature),
                                ..
                            }) = HandshakeMessage::decode_message(raw, &cx).unwrap()
                            else {
                                panic!("not a signed ECDHE ServerKeyExchange")
                            };
                            let signed_len = 4 + signature.signature.len();
                            let params = &raw[4..raw.len() - signed_len];
                            verify_server_params(
                                version,
                                &server_key.to_public_key(),
                                signature.algorithm,
                                &cr.unwrap(),
                                &sr,
                                params,
                                &signature.signature,
                            )
                            .unwrap();
                            notes.push("ske-sig");
                        }
                        HandshakeType::CertificateVerify => {
                            let (version, _, _, kx) = context.unwrap();
                            let HandshakeMessage::CertificateVerify(signed) =
                                HandshakeMessage::decode_message(
                                    raw,
                                    &WireContext::new(version, kx),
                                )
                                .unwrap()
                            else {
                                unreachable!()
                            };
                            let master = computed_master.as_ref().unwrap();
                            let input = certificate_verify_input(
                                version,
                                master,
                                &transcript,
                                signed.algorithm,
                            )
                            .unwrap();
                            rsa_verify(
                                &client_key.to_public_key(),
                                signed.algorithm,
                                &input,
                                &signed.signature,
                            )
                            .unwrap();
                            notes.push("cv-sig");
                        }
                        _ => {}
                    }
                    transcript.add(raw);
                    if typ == HandshakeType::ClientKeyExchange {
                        let (version, suite, sr, kx) = context.unwrap();
                        if kx != KeyExchangeKind::Rsa {
                            continue;
                        }
                        let ch = client_hello.as_ref().unwrap();
                        let HandshakeMessage::ClientKeyExchange(ClientKeyExchange::Rsa {
                            encrypted_pre_master,
                            ..
                        }) = HandshakeMessage::decode_message(raw, &WireContext::new(version, kx))
                            .unwrap()
                        else {
                            unreachable!()
                        };
                        let RsaKxOutcome::Valid(pre_master) = decrypt_pre_master_checked(
                            &server_key,
                            &encrypted_pre_master,
                            ch.client_version,
                        ) else {
                            panic!("the pre-master does not decrypt")
                        };
                        if let Some(logged) = log.pre_master_for(&encrypted_pre_master) {
                            assert_eq!(logged, &pre_master);
                            notes.push("rsa-log");
                        }
                        let cr = ch.random.0;
                        let master = if notes.contains(&"ems") {
                            let hash = session_hash(version, suite, &transcript).unwrap();
                            extended_master_secret(version, suite, &pre_master, &hash).unwrap()
                        } else {
                            master_secret(version, suite, &pre_master, &cr, &sr).unwrap()
                        };
                        let logged = log.master_secret_for(&cr).expect("key log entry");
                        assert_eq!(&master, logged, "master secret");
                        notes.push("master");
                        computed_master = Some(master);
                    }
                }
                Item::Protected {
                    typ,
                    version: rec_version,
                    body,
                } => {
                    let i = index(*dir);
                    if finished[i] {
                        continue;
                    }
                    let ch = client_hello.as_ref().unwrap();
                    let sh = server_hello.as_ref().unwrap();
                    let version = sh.negotiated_version();
                    let suite = lookup(sh.cipher_suite.0).unwrap();
                    let etm = sh.extension(ExtensionType::EncryptThenMac).is_some()
                        && suite.cipher.kind() == CipherKind::Block;
                    let master = log.master_secret_for(&ch.random.0).expect("key log entry");
                    let keys =
                        key_material(version, suite, master, &ch.random.0, &sh.random.0).unwrap();
                    let sender = match dir {
                        Direction::ClientToServer => Sender::Client,
                        Direction::ServerToClient => Sender::Server,
                    };
                    let plain = open_first_record(
                        version,
                        suite,
                        etm,
                        keys.for_sender(sender),
                        *typ,
                        *rec_version,
                        body,
                    );
                    assert_eq!(*typ, ContentType::Handshake);
                    assert_eq!(plain[0], HandshakeType::Finished.0);
                    let expected =
                        finished_verify_data(version, suite, master, sender, &transcript).unwrap();
                    assert_eq!(plain[4..], expected[..], "{sender:?} Finished");
                    transcript.add(&plain);
                    finished[i] = true;
                    if finished == [true; 2] {
                        break;
                    }
                }
            }
        }
        assert_eq!(finished, [true; 2], "both Finished messages seen");
        if etm_negotiated(server_hello.as_ref().unwrap()) {
            notes.push("etm");
        }
        let sh = server_hello.unwrap();
        let mut summary = format!(
            "{} {:04x}",
            sh.negotiated_version().name().unwrap(),
            sh.cipher_suite.0
        );
        for note in notes {
            summary.push(' ');
            summary.push_str(note);
        }
        Some(summary)
    }

    fn etm_negotiated(sh: &ServerHello) -> bool {
        let suite = lookup(sh.cipher_suite.0).unwrap();
        sh.extension(ExtensionType::EncryptThenMac).is_some()
            && suite.cipher.kind() == CipherKind::Block
    }

    fn check_capture(name: &str) -> Vec<String> {
        let keylog = std::path::Path::new(&fixture(name)).with_extension("keylog");
        let (log, errors) = KeyLog::parse(&std::fs::read(keylog).unwrap());
        assert_eq!(errors, []);
        read_capture(name)
            .iter()
            .filter_map(|flow| check_flow(flow, &log))
            .collect()
    }

    // Each line: the version and suite of a connection, then what was
    // checked beyond both Finished messages: "master" = master secret
    // derived from the decrypted pre-master equals the key log's, "ems" =
    // through the extended master secret, "rsa-log" = OpenSSL's RSA key log
    // line matches, "ske-sig" / "cv-sig" = signatures verified, "etm" =
    // encrypt-then-MAC records opened.
    #[test]
    fn rsa_key_exchange_with_openssl() {
        let cases: [(&str, &[&str]); 8] = [
            (
                "openssl-tls10-rsa-aes128-sha.pcap",
                &["TLSv1.0 002f ems rsa-log master etm"],
            ),
            (
                "openssl-tls12-rsa-aes128-gcm-sha256.pcap",
                &["TLSv1.2 009c ems rsa-log master"],
            ),
            (
                "openssl-tls12-rsa-aes256-sha256.pcap",
                &["TLSv1.2 003d ems rsa-log master etm"],
            ),
            (
                "openssl-tls12-null-sha.pcap",
                &["TLSv1.2 0002 ems rsa-log master"],
            ),
            (
                "openssl-tls12-rsa-client-auth.pcap",
                &["TLSv1.2 009c ems rsa-log master cv-sig"],
            ),
            (
                "openssl-tls12-rsa-resumed.pcap",
                &[
                    "TLSv1.2 003c ems rsa-log master etm",
                    "TLSv1.2 003c ems resumed etm",
                ],
            ),
            (
                "openssl-tls12-rsa-cert-split.pcap",
                &["TLSv1.2 009c ems rsa-log master"],
            ),
            (
                "openssl-tls12-renegotiation.pcap",
                &["TLSv1.2 009c ems rsa-log master"],
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(check_capture(name), expected, "{name}");
        }
        assert_eq!(
            check_capture("openssl-multi.pcap"),
            [
                "TLSv1.0 002f ems rsa-log master etm",
                "TLSv1.1 0035 ems rsa-log master etm",
                "TLSv1.2 c02f ems ske-sig",
            ]
        );
        assert_eq!(
            check_capture("dumpcap-openssl-tls12-rsa-aes128-sha.pcapng"),
            ["TLSv1.2 002f ems rsa-log master etm"]
        );
    }

    #[test]
    fn rsa_key_exchange_with_gnutls() {
        assert_eq!(
            check_capture("gnutls-tls10-rsa-3des-sha.pcap"),
            ["TLSv1.0 000a ems master etm"]
        );
        assert_eq!(
            check_capture("gnutls-tls11-rsa-rc4-sha.pcap"),
            ["TLSv1.1 0005 ems master"]
        );
        assert_eq!(
            check_capture("gnutls-tls12-rsa-rc4-md5.pcap"),
            ["TLSv1.2 0004 ems master"]
        );
    }

    #[test]
    fn ssl30_with_tlslite() {
        assert_eq!(
            check_capture("tlslite-ssl3-rsa-rc4-sha.pcap"),
            ["SSLv3 0005 master"]
        );
        assert_eq!(
            check_capture("tlslite-ssl3-rsa-3des-sha.pcap"),
            ["SSLv3 000a master"]
        );
    }

    #[test]
    fn ecdhe_finished_and_signatures() {
        assert_eq!(
            check_capture("openssl-tls12-ecdhe-rsa-aes128-gcm-sha256.pcap"),
            ["TLSv1.2 c02f ems ske-sig"]
        );
        assert_eq!(
            check_capture("openssl-tls12-ecdhe-rsa-aes128-gcm-sha256-dsb.pcapng"),
            ["TLSv1.2 c02f ems ske-sig"]
        );
        assert_eq!(
            check_capture("gnutls-tls12-default.pcap"),
            ["TLSv1.2 c030 ems ske-sig"]
        );
        assert_eq!(
            check_capture("gnutls-tls12-ecdhe-cbc-etm.pcap"),
            ["TLSv1.2 c013 ems ske-sig etm"]
        );
        assert_eq!(
            check_capture("gnutls-tls12-rehandshake.pcap"),
            ["TLSv1.2 c030 ems ske-sig"]
        );
        // TLS 1.3 connections are skipped, not failed.
        assert_eq!(
            check_capture("openssl-tls13-aes128-gcm-sha256.pcap"),
            Vec::<String>::new()
        );
    }
}
