//! The JSON Lines report: one JSON object per line on the writer, the
//! machine-readable contract of ARCHITECTURE.md ("JSON output contract").
//!
//! Every line is an envelope `{"type": T, "data": {...}}`. The types, in
//! the order they can appear:
//!
//! | type | when | data |
//! |---|---|---|
//! | `begin` | first line | `schema` (integer, now 1), `version` (tool), `command`, `target` |
//! | `connection` | a connection or capture flow starts | `seq`, `conn`, `time`, `client`, `server` (`"ip:port"` or null), `tcp_handshake_seen` |
//! | `record` | a record header was read | `seq`, `conn`, `dir`, `time`, `content_type` {code,name}, `version` {code,name}, `length`, `protected`, `stream_offset`, `sslv2` |
//! | `message` | a protocol message | `seq`, `conn`, `dir`, `origin`, `time`, `name`, `step`, `raw`, `records`, `protected`, `notes`, `fields`, and `error` when it did not decode |
//! | `flow` | the handshake's shape became known | `seq`, `conn`, `time`, `event` (`kind` or `renegotiation`), `kind` {flags} or `number` |
//! | `note` | a finding not inside a message | `seq`, `conn`, `dir`, `time`, `code`, `severity`, `params` |
//! | `secrets` | a decoder learnt a handshake's secrets | `seq`, `conn`, `time`, `source`, `client_random`, ..., `redacted`, and (with `--show-secrets`) `pre_master`, `master_secret`, `keys` |
//! | `record_crypto` | with `-v`: a decoder opened a protected record | `seq`, `conn`, `dir`, `time`, `stream_offset`, `sequence_number`, `cipher`, `mac`, `iv`, `padding`, `encrypt_then_mac`, `plaintext_length`, `error` |
//! | `outcome` | a connection is over (its last line) | `conn`, `result`, `version`, `cipher_suite`, `resumed`, `alert`, ... |
//! | `end` | last line | `connections`, `ok`, `failed`, `incomplete` |
//!
//! Conventions:
//!
//! - bytes are lowercase hex strings (`raw`, `random`, `session_id`...);
//! - protocol numbers are integers in `code` beside their registry `name`
//!   (null when unknown); versions use the registry names `SSLv3`,
//!   `TLSv1.0` ... `TLSv1.3`; cipher suites carry `code`, `iana`, `openssl`;
//! - `dir` is `client_to_server` or `server_to_client`; `time` is seconds
//!   since the Unix epoch as a float, or null;
//! - a message's parsed content is in one object, `fields`, whose members
//!   depend on `name` (kept apart from the envelope members so that, say, a
//!   hello's `version` never collides with anything else). `fields` is null
//!   when the message did not decode; `error` {what, offset, message} then
//!   says why, `offset` counting into `raw`;
//! - policy and protocol findings are notes: `{code, severity, params}`;
//!   `code` is the stable snake_case id, the prose is the text report's.
//!
//! Example lines (abridged where marked `…`):
//!
//! ```text
//! {"type":"begin","data":{"schema":1,"version":"0.1.0","command":"decode","target":"tls10.pcap"}}
//! {"type":"connection","data":{"seq":1,"conn":1,"time":1600000000.0,"client":"192.0.2.10:49152","server":"192.0.2.1:443","tcp_handshake_seen":true}}
//! {"type":"message","data":{"seq":2,"conn":1,"dir":"client_to_server","origin":"observed","time":1600000000.0,"name":"client_hello","step":1,"raw":"0100…","records":1,"protected":false,"notes":[],"fields":{"version":{"code":769,"name":"TLSv1.0"},"random":"5f5e1000…","gmt_unix_time":1600000000,"session_id":"","cipher_suites":[{"code":10,"iana":"TLS_RSA_WITH_3DES_EDE_CBC_SHA","openssl":"DES-CBC3-SHA"}],"compression_methods":[{"code":0,"name":"null"}],"extensions":[{"type":0,"name":"server_name","length":16,"data":"…","parsed":{"host_names":["example.com"]}}],"server_name":"example.com"}}}
//! {"type":"note","data":{"seq":3,"conn":1,"dir":"server_to_client","time":null,"code":"weak_version","severity":"warning","params":{"version":"TLS 1.0"}}}
//! {"type":"outcome","data":{"seq":14,"conn":1,"time":null,"result":"ok","version":"TLSv1.0","version_code":769,"cipher_suite":"TLS_RSA_WITH_3DES_EDE_CBC_SHA","cipher_suite_code":10,"resumed":false,…}}
//! {"type":"end","data":{"connections":1,"ok":1,"failed":0,"incomplete":0}}
//! ```
//!
//! The members of every `fields` shape are listed in `docs/json-schema.md`.
//! Adding a member keeps [`schema::SCHEMA`]; renaming or removing one bumps
//! it. Everything is written through the view types of [`schema`]: the
//! event and wire types do not implement `Serialize`.

pub mod schema;

use std::io::{self, Write};

use serde::Serialize;

use super::{RunInfo, RunSummary};
use crate::event::{CryptoEvent, Event, EventKind, EventSink, RecordDetail};
use schema::Envelope;

/// Writes events as JSON Lines to `out`, one line per event, as they come.
pub struct JsonRenderer<W: Write> {
    out: W,
    verbosity: u8,
    show_secrets: bool,
}

impl<W: Write> JsonRenderer<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            verbosity: 0,
            show_secrets: false,
        }
    }

    /// `record_crypto` lines are written from verbosity 1 (`-v`) on.
    pub fn with_verbosity(mut self, verbosity: u8) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Write session secrets in `secrets` lines (`--show-secrets`);
    /// otherwise their members are null.
    pub fn with_secrets(mut self, show: bool) -> Self {
        self.show_secrets = show;
        self
    }

    /// Gives the writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line<T: Serialize>(&mut self, typ: &'static str, data: T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &Envelope { typ, data })?;
        self.out.write_all(b"\n")
    }

    /// The `begin` line.
    pub fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.line("begin", schema::begin(run))
    }

    /// The `end` line.
    pub fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        self.line("end", schema::end(summary))?;
        self.out.flush()
    }
}

impl<W: Write> EventSink for JsonRenderer<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn emit(&mut self, ev: &Event) -> io::Result<()> {
        match &ev.kind {
            EventKind::Connection(c) => self.line("connection", schema::connection(ev, c)),
            EventKind::Record(r) => self.line("record", schema::record(ev, r)),
            EventKind::Message(m) => self.line("message", schema::message(ev, m)),
            EventKind::Flow(f) => self.line("flow", schema::flow(ev, f)),
            EventKind::Note(n) => self.line("note", schema::note_event(ev, n)),
            EventKind::Outcome(o) => self.line("outcome", schema::outcome(ev, o)),
            EventKind::Crypto(c) => match &**c {
                CryptoEvent::Record(rc) if self.verbosity >= 1 => {
                    self.line("record_crypto", schema::record_crypto(ev, rc))
                }
                CryptoEvent::Record(_) => Ok(()),
                CryptoEvent::Secrets(s) => {
                    let show = self.show_secrets;
                    self.line("secrets", schema::secrets(ev, s, show))
                }
            },
        }
    }
    fn wants(&self, detail: RecordDetail) -> bool {
        match detail {
            RecordDetail::Headers => true,
            RecordDetail::Crypto => self.verbosity >= 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Analyzer;
    use crate::event::{EventKind, Message};
    use crate::report::describe::hex;
    use crate::report::sample;
    use serde_json::Value;

    fn render(events: &[Event]) -> Vec<Value> {
        let mut summary = RunSummary::default();
        let mut r = Analyzer::new(JsonRenderer::new(Vec::new()), None);
        r.inner_mut()
            .begin(&RunInfo::new("decode", "tls10.pcap"))
            .unwrap();
        for ev in events {
            r.emit(ev).unwrap();
            summary.emit(ev).unwrap();
        }
        let mut j = r.into_inner();
        j.finish(&summary).unwrap();
        let out = String::from_utf8(j.into_inner()).unwrap();
        assert!(out.ends_with('\n'));
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn of_type<'a>(lines: &'a [Value], typ: &str) -> Vec<&'a Value> {
        lines
            .iter()
            .filter(|l| l["type"] == typ)
            .map(|l| &l["data"])
            .collect()
    }

    #[test]
    fn envelope_begin_and_end() {
        let lines = render(&sample::tls10_rsa_handshake());
        for l in &lines {
            let obj = l.as_object().unwrap();
            assert_eq!(obj.len(), 2, "{l}");
            assert!(l["type"].is_string() && l["data"].is_object(), "{l}");
        }
        let first = &lines[0];
        assert_eq!(first["type"], "begin");
        assert_eq!(first["data"]["schema"], 1);
        assert_eq!(first["data"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(first["data"]["command"], "decode");
        assert_eq!(first["data"]["target"], "tls10.pcap");
        let last = lines.last().unwrap();
        assert_eq!(last["type"], "end");
        assert_eq!(last["data"]["connections"], 1);
        assert_eq!(last["data"]["ok"], 1);
        assert_eq!(last["data"]["failed"], 0);
        let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(types[1], "connection");
        assert_eq!(types[types.len() - 2], "outcome");
    }

    #[test]
    fn connection_line() {
        let lines = render(&sample::tls10_rsa_handshake());
        let c = of_type(&lines, "connection")[0];
        assert_eq!(c["conn"], 1);
        assert_eq!(c["client"], "192.0.2.10:49152");
        assert_eq!(c["server"], "192.0.2.1:443");
        assert_eq!(c["tcp_handshake_seen"], true);
        assert_eq!(c["time"], sample::T0 as f64 + 0.0015);
    }

    #[test]
    fn messages_field_by_field() {
        let events = sample::tls10_rsa_handshake();
        let lines = render(&events);
        let msgs = of_type(&lines, "message");
        let names: Vec<&str> = msgs.iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "client_hello",
                "server_hello",
                "certificate",
                "server_hello_done",
                "client_key_exchange",
                "change_cipher_spec",
                "encrypted_handshake",
                "change_cipher_spec",
                "encrypted_handshake",
                "application_data",
                "application_data",
                "application_data",
                "application_data",
                "encrypted_alert",
            ]
        );
        // raw is the exact bytes of the event, lowercase hex.
        let raw_of = |i: usize| {
            let m = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Message(m) => Some(m),
                    _ => None,
                })
                .nth(i)
                .unwrap();
            hex(&m.raw)
        };
        let ch = msgs[0];
        assert_eq!(ch["dir"], "client_to_server");
        assert_eq!(ch["origin"], "observed");
        assert_eq!(ch["step"], 1);
        assert_eq!(ch["raw"], raw_of(0));
        assert!(ch["raw"].as_str().unwrap().starts_with("01000054"));
        assert_eq!(ch["records"], 1);
        assert_eq!(ch["protected"], false);
        assert_eq!(ch["notes"], Value::Array(vec![]));
        assert!(ch.get("error").is_none());
        let f = &ch["fields"];
        assert_eq!(f["version"]["code"], 0x0301);
        assert_eq!(f["version"]["name"], "TLSv1.0");
        assert_eq!(f["random"].as_str().unwrap().len(), 64);
        assert_eq!(f["gmt_unix_time"], sample::T0 - 5);
        assert_eq!(f["session_id"], "");
        assert_eq!(f["cipher_suites"][0]["code"], 0x0a0a);
        assert_eq!(f["cipher_suites"][0]["grease"], true);
        assert_eq!(f["cipher_suites"][0]["iana"], Value::Null);
        assert_eq!(f["cipher_suites"][2]["code"], 10);
        assert_eq!(
            f["cipher_suites"][2]["iana"],
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        );
        assert_eq!(f["cipher_suites"][2]["openssl"], "DES-CBC3-SHA");
        assert!(f["cipher_suites"][2].get("grease").is_none());
        assert_eq!(f["compression_methods"][0]["name"], "null");
        assert_eq!(f["server_name"], "example.com");
        let exts = f["extensions"].as_array().unwrap();
        assert_eq!(exts[0]["type"], 0);
        assert_eq!(exts[0]["name"], "server_name");
        assert_eq!(exts[0]["parsed"]["host_names"][0], "example.com");
        assert_eq!(exts[1]["name"], "supported_groups");
        assert_eq!(exts[1]["parsed"], Value::Null);
        assert_eq!(exts[1]["data"], "0003001d00");
        assert_eq!(exts[1]["error"]["what"], "supported_groups");
        assert_eq!(exts[1]["error"]["offset"], 79);
        assert_eq!(exts[2]["type"], 0x4242);
        assert_eq!(exts[2]["name"], Value::Null);
        assert_eq!(exts[2]["length"], 2);
        assert_eq!(exts[2]["data"], "0102");

        let sh = msgs[1];
        assert_eq!(sh["dir"], "server_to_client");
        assert_eq!(sh["step"], 2);
        assert_eq!(sh["raw"], raw_of(1));
        assert_eq!(
            sh["fields"]["cipher_suite"]["iana"],
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        );
        assert_eq!(sh["fields"]["session_id"], "ab".repeat(32));
        assert_eq!(sh["fields"]["negotiated_version"]["name"], "TLSv1.0");
        assert_eq!(sh["fields"]["hello_retry_request"], false);
        assert_eq!(
            sh["fields"]["extensions"][0]["parsed"]["renegotiated_connection"],
            ""
        );

        let cert = &msgs[2]["fields"]["chain"][0];
        assert_eq!(cert["der_length"], 500);
        assert_eq!(cert["subject"], "CN=example.com");
        assert_eq!(cert["issuer"], "CN=Example CA,O=Example");
        assert_eq!(cert["key_type"], "rsa");
        assert_eq!(cert["key_bits"], 1024);
        assert_eq!(cert["subject_alt_names"][0]["kind"], "dns");
        assert_eq!(cert["sha256_fingerprint"], "5e".repeat(32));

        assert_eq!(msgs[3]["fields"], serde_json::json!({}));
        let ckx = &msgs[4]["fields"];
        assert_eq!(ckx["kind"], "rsa");
        assert_eq!(ckx["length"], 128);
        assert_eq!(ckx["length_prefixed"], true);
        assert_eq!(msgs[5]["raw"], "01");
        let fin = msgs[6];
        assert_eq!(fin["protected"], true);
        assert_eq!(fin["raw"], "");
        assert_eq!(fin["fields"]["content_type"]["name"], "handshake");
        assert_eq!(fin["fields"]["length"], 40);
        assert_eq!(msgs[9]["fields"]["content_type"]["code"], 23);
        assert_eq!(msgs[13]["step"], Value::Null);
    }

    #[test]
    fn policy_notes_follow_the_message_that_shows_them() {
        let lines = render(&sample::tls10_rsa_handshake());
        let pos = |pred: &dyn Fn(&Value) -> bool| lines.iter().position(pred).unwrap();
        let sh = pos(&|l| l["type"] == "message" && l["data"]["name"] == "server_hello");
        assert_eq!(lines[sh + 1]["type"], "note");
        let n = &lines[sh + 1]["data"];
        assert_eq!(n["code"], "weak_version");
        assert_eq!(n["severity"], "warning");
        assert_eq!(n["params"]["version"], "TLSv1.0");
        assert_eq!(n["seq"], lines[sh]["data"]["seq"]);
        assert_eq!(n["dir"], "server_to_client");
        assert_eq!(lines[sh + 2]["data"]["code"], "triple_des_cipher");
        assert_eq!(
            lines[sh + 2]["data"]["params"]["suite"],
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        );
        let flow = of_type(&lines, "flow")[0];
        assert_eq!(flow["event"], "kind");
        assert_eq!(flow["kind"]["resumed"], false);
        let short = of_type(&lines, "note")
            .into_iter()
            .find(|n| n["code"] == "short_rsa_key")
            .unwrap();
        assert_eq!(short["params"]["bits"], 1024);
    }

    #[test]
    fn outcome_lines() {
        let lines = render(&sample::tls10_rsa_handshake());
        let o = of_type(&lines, "outcome")[0];
        assert_eq!(o["conn"], 1);
        assert_eq!(o["result"], "ok");
        assert_eq!(o["version"], "TLSv1.0");
        assert_eq!(o["version_code"], 0x0301);
        assert_eq!(o["cipher_suite"], "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        assert_eq!(o["cipher_suite_code"], 10);
        assert_eq!(o["resumed"], false);
        assert_eq!(o["alert"], Value::Null);
        assert_eq!(o["decrypted"], false);
        assert_eq!(o["finished_verified"], Value::Null);
        assert_eq!(o["handshakes"], 1);
        assert_eq!(o["client_to_server"]["records"], 1);
        assert_eq!(o["server_to_client"]["bytes"], 2456);
        assert_eq!(o["server_name"], "example.com");

        let lines = render(&sample::refused_handshake(7));
        let o = of_type(&lines, "outcome")[0];
        assert_eq!(o["conn"], 7);
        assert_eq!(o["result"], "failed");
        assert_eq!(o["version"], Value::Null);
        assert_eq!(o["cipher_suite"], Value::Null);
        assert_eq!(o["alert"]["level"], "fatal");
        assert_eq!(o["alert"]["description"], "handshake_failure");
        assert_eq!(o["alert"]["code"], 40);
        assert_eq!(o["alert"]["from"], "server");
        assert_eq!(o["reason"]["code"], "fatal_alert");
        let alert = of_type(&lines, "message")
            .into_iter()
            .find(|m| m["name"] == "alert")
            .unwrap();
        assert_eq!(alert["raw"], "0228");
        assert_eq!(alert["fields"]["level"], "fatal");
        assert_eq!(alert["fields"]["description"], "handshake_failure");
        assert_eq!(alert["fields"]["code"], 40);
        assert_eq!(alert["fields"]["fatal"], true);
        assert_eq!(of_type(&lines, "end")[0]["failed"], 1);
    }

    #[test]
    fn decode_errors_and_records() {
        use crate::wire::{DecodeError, HandshakeType};
        let mut b = sample::Builder::new(1);
        b.record(
            Some(crate::event::Direction::ClientToServer),
            crate::wire::ContentType::Handshake,
            5,
            0,
        );
        b.message(
            Some(crate::event::Direction::ClientToServer),
            Some(1),
            Message::Handshake {
                typ: HandshakeType::ClientHello,
                parsed: Err(DecodeError::Truncated {
                    what: "ClientHello",
                    offset: 4,
                    needed: 2,
                    available: 1,
                }),
            },
            vec![1, 0, 0, 1, 3],
        );
        let lines = render(&b.events);
        let r = of_type(&lines, "record")[0];
        assert_eq!(r["content_type"]["code"], 22);
        assert_eq!(r["version"]["name"], "TLSv1.0");
        assert_eq!(r["length"], 5);
        assert_eq!(r["stream_offset"], 0);
        let m = of_type(&lines, "message")[0];
        assert_eq!(m["fields"], Value::Null);
        assert_eq!(m["raw"], "0100000103");
        assert_eq!(m["error"]["what"], "ClientHello");
        assert_eq!(m["error"]["offset"], 4);
        assert!(m["error"]["message"]
            .as_str()
            .unwrap()
            .contains("truncated"));
    }
}
