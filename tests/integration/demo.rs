//! `sslwalk demo`: the README's first command. Each variant runs sslwalk's
//! own client and server over loopback and must complete, with the
//! negotiated parameters visible in the JSON output.

use crate::util::run_sslwalk;
use serde_json::Value;

fn outcomes(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|v| v["type"] == "outcome")
        .map(|v| v["data"].clone())
        .collect()
}

fn demo(args: &[&str]) -> (Vec<Value>, String) {
    let mut a = vec!["demo", "--json"];
    a.extend_from_slice(args);
    let out = run_sslwalk(&a);
    assert_eq!(out.code, Some(0), "demo {args:?}: {}", out.describe());
    (outcomes(&out.stdout), out.stdout)
}

#[test]
fn default_demo_is_tls12_aes_gcm_with_verified_certificate() {
    let (o, stdout) = demo(&[]);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0]["result"], "ok");
    assert_eq!(o[0]["version"], "TLSv1.2");
    assert_eq!(o[0]["cipher_suite"], "TLS_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(o[0]["finished_verified"], true);
    assert!(
        stdout.contains("certificate_verified"),
        "step 3 verdict missing"
    );
    let text = run_sslwalk(&["demo", "--color", "never"]);
    assert_eq!(text.code, Some(0));
    for step in ["Step 1", "Step 2", "Step 4", "Step 8", "Step 9", "Step 10"] {
        assert!(
            text.stdout.contains(step),
            "{step} missing:\n{}",
            text.stdout
        );
    }
}

#[test]
fn demo_variants() {
    for (args, version, suite) in [
        (
            vec!["--protocol", "ssl3", "--cipher", "RC4-MD5"],
            "SSLv3",
            "TLS_RSA_WITH_RC4_128_MD5",
        ),
        (
            vec!["--protocol", "tls1", "--cipher", "DES-CBC-SHA"],
            "TLSv1.0",
            "TLS_RSA_WITH_DES_CBC_SHA",
        ),
        (
            vec!["--protocol", "tls1", "--cipher", "EXP-RC2-CBC-MD5"],
            "TLSv1.0",
            "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
        ),
        (
            vec![
                "--protocol",
                "ssl3",
                "--cipher",
                "EXP-DES-CBC-SHA",
                "--client-auth",
            ],
            "SSLv3",
            "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
        ),
        (
            vec!["--protocol", "tls1_1", "--cipher", "DES-CBC3-SHA"],
            "TLSv1.1",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        ),
    ] {
        let (o, _) = demo(&args);
        assert_eq!(o[0]["version"], version, "{args:?}");
        assert_eq!(o[0]["cipher_suite"], suite, "{args:?}");
    }
}

#[test]
fn demo_resume_and_renegotiate() {
    let (o, _) = demo(&["--resume"]);
    let resumed: Vec<bool> = o.iter().map(|x| x["resumed"].as_bool().unwrap()).collect();
    assert_eq!(resumed, [false, true]);
    let (o, _) = demo(&["--renegotiate"]);
    assert_eq!(o[0]["handshakes"], 2);
}

#[test]
fn demo_refuses_impossible_choices_with_exit_2() {
    let out = run_sslwalk(&[
        "demo",
        "--protocol",
        "ssl3",
        "--cipher",
        "AES128-GCM-SHA256",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.starts_with("sslwalk: "), "{}", out.stderr);
    let out = run_sslwalk(&["demo", "--cipher", "NO-SUCH-SUITE"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("unknown cipher suite"),
        "{}",
        out.stderr
    );
}
