#!/usr/bin/env python3
"""Generate src/wire/suites/table.rs, sslwalk's cipher-suite table.

Inputs, all under tools/data/:

  tls-parameters-4.csv      the IANA "TLS Cipher Suites" registry, as the CSV
                            export IANA publishes (Value, Description,
                            DTLS-OK, Recommended, Reference)
  registry-updates.csv      registry changes made after that snapshot
  unofficial-suites.csv     suites outside the registry that old peers sent
  openssl-ciphers-V.txt     `openssl ciphers -V` of an OpenSSL 3.0 build:
                            code and OpenSSL name of every suite it knows
  openssl-legacy-names.csv  OpenSSL names of suites that build no longer has

The properties of a suite (key exchange, authentication, bulk cipher, MAC,
PRF hash, protocol versions, export) are derived from the structure of its
name, TLS_<KX>_WITH_<CIPHER>_<MAC> or, for TLS 1.3, TLS_<AEAD>_<HASH>, with
the few exceptions listed below. The derived key exchange, authentication,
cipher, MAC and minimum version are cross-checked against the columns that
`openssl ciphers -V` prints for the suites it knows; a disagreement stops the
generator.

Usage:
  python3 tools/gen_suites.py          rewrite src/wire/suites/table.rs
  python3 tools/gen_suites.py --check  exit 1 if the file is out of date
"""

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tools" / "data"
OUTPUT = ROOT / "src" / "wire" / "suites" / "table.rs"

# The registry snapshot: IANA's CSV carries no date, so it is recorded here.
# Its newest entries are RFC 9189/9367 (GOST) and the draft AEGIS suites,
# which places it in 2023.
REGISTRY_SNAPSHOT = "the IANA \"TLS Cipher Suites\" registry, CSV export of 2023"

# --------------------------------------------------------------------------
# Name grammar
# --------------------------------------------------------------------------

# <KX> token (export suffix removed) -> (KeyExchange, Authentication)
KEY_EXCHANGES = {
    "NULL": ("Null", "None"),
    "RSA": ("Rsa", "Rsa"),
    "RSA_FIPS": ("Rsa", "Rsa"),
    "DH_DSS": ("Dh", "Dss"),
    "DH_RSA": ("Dh", "Rsa"),
    "DHE_DSS": ("Dhe", "Dss"),
    "DHE_RSA": ("Dhe", "Rsa"),
    "DH_anon": ("DhAnon", "Anonymous"),
    "KRB5": ("Krb5", "Krb5"),
    "PSK": ("Psk", "Psk"),
    "DHE_PSK": ("DhePsk", "Psk"),
    # RFC 6655 wrote two of its DHE-PSK suites the other way round.
    "PSK_DHE": ("DhePsk", "Psk"),
    # RFC 4279 §4: the server authenticates with its RSA certificate.
    "RSA_PSK": ("RsaPsk", "Rsa"),
    "ECDHE_PSK": ("EcdhePsk", "Psk"),
    "ECDH_ECDSA": ("Ecdh", "Ecdsa"),
    "ECDH_RSA": ("Ecdh", "Rsa"),
    "ECDHE_ECDSA": ("Ecdhe", "Ecdsa"),
    "ECDHE_RSA": ("Ecdhe", "Rsa"),
    "ECDH_anon": ("EcdhAnon", "Anonymous"),
    "SRP_SHA": ("Srp", "Srp"),
    "SRP_SHA_RSA": ("Srp", "Rsa"),
    "SRP_SHA_DSS": ("Srp", "Dss"),
    "ECCPWD": ("Eccpwd", "Eccpwd"),
    "GOSTR341112_256": ("Gost", "Gost"),
    "FORTEZZA_KEA": ("Fortezza", "Fortezza"),
}

# <CIPHER> token -> BulkCipher variant
CIPHERS = {
    "NULL": "Null",
    "RC4_40": "Rc4_40",
    "RC4_56": "Rc4_56",
    "RC4_128": "Rc4_128",
    "RC2_CBC_40": "Rc2Cbc40",
    "RC2_CBC_56": "Rc2Cbc56",
    "DES40_CBC": "Des40Cbc",
    # RFC 2712 spells the same export DES the other way round.
    "DES_CBC_40": "Des40Cbc",
    "DES_CBC": "DesCbc",
    "3DES_EDE_CBC": "TripleDesEdeCbc",
    "IDEA_CBC": "IdeaCbc",
    "FORTEZZA_CBC": "FortezzaCbc",
    "SEED_CBC": "SeedCbc",
    "AES_128_CBC": "Aes128Cbc",
    "AES_256_CBC": "Aes256Cbc",
    "AES_128_GCM": "Aes128Gcm",
    "AES_256_GCM": "Aes256Gcm",
    "AES_128_CCM": "Aes128Ccm",
    "AES_256_CCM": "Aes256Ccm",
    "AES_128_CCM_8": "Aes128Ccm8",
    "AES_256_CCM_8": "Aes256Ccm8",
    "CAMELLIA_128_CBC": "Camellia128Cbc",
    "CAMELLIA_256_CBC": "Camellia256Cbc",
    "CAMELLIA_128_GCM": "Camellia128Gcm",
    "CAMELLIA_256_GCM": "Camellia256Gcm",
    "ARIA_128_CBC": "Aria128Cbc",
    "ARIA_256_CBC": "Aria256Cbc",
    "ARIA_128_GCM": "Aria128Gcm",
    "ARIA_256_GCM": "Aria256Gcm",
    "CHACHA20_POLY1305": "Chacha20Poly1305",
    "SM4_GCM": "Sm4Gcm",
    "SM4_CCM": "Sm4Ccm",
    "KUZNYECHIK_CTR": "KuznyechikCtr",
    "MAGMA_CTR": "MagmaCtr",
    "28147_CNT": "Gost28147Cnt",
    "KUZNYECHIK_MGM_L": "KuznyechikMgmL",
    "KUZNYECHIK_MGM_S": "KuznyechikMgmS",
    "MAGMA_MGM_L": "MagmaMgmL",
    "MAGMA_MGM_S": "MagmaMgmS",
    "AEGIS_256": "Aegis256",
    "AEGIS_128L": "Aegis128L",
}

AEAD_CIPHERS = {
    "Aes128Gcm", "Aes256Gcm", "Aes128Ccm", "Aes256Ccm", "Aes128Ccm8",
    "Aes256Ccm8", "Camellia128Gcm", "Camellia256Gcm", "Aria128Gcm",
    "Aria256Gcm", "Chacha20Poly1305", "Sm4Gcm", "Sm4Ccm", "KuznyechikMgmL",
    "KuznyechikMgmS", "MagmaMgmL", "MagmaMgmS", "Aegis256", "Aegis128L",
}

# Trailing <MAC> (or, after an AEAD cipher, PRF hash) tokens.
HMACS = {"MD5": "Md5", "SHA": "Sha1", "SHA256": "Sha256", "SHA384": "Sha384"}
PRF_HASHES = {"SHA256": "Sha256", "SHA384": "Sha384", "SHA512": "Sha512", "SM3": "Sm3"}
# "NULL" only ends TLS_NULL_WITH_NULL_NULL, the state before any handshake.
TRAILERS = ("SHA256", "SHA384", "SHA512", "SHA", "MD5", "SM3", "OMAC", "IMIT", "NULL")

# RFC 9367: TLS 1.3 suites although their names have the TLS 1.2 shape.
TLS13_WITH_NAMES = {0xC103, 0xC104, 0xC105, 0xC106}

# RFC 5487 §3.2, RFC 5489 §3.2 and RFC 6367 §2.2 allow their PSK suites with
# an HMAC-SHA256/384 also in TLS 1.0 and 1.1 (OpenSSL agrees); every other
# SHA-256/384 or AEAD suite needs TLS 1.2.
PSK_BEFORE_TLS12_RFCS = {"RFC5487", "RFC5489", "RFC6367"}

# Key exchanges whose SHA-1/MD5 suites SSL 3.0 peers negotiate (OpenSSL
# marks them SSLv3). The ECC suites need the supported_groups and
# ec_point_formats extensions (RFC 8422 §4), which SSL 3.0 peers do not send,
# so they start at TLS 1.0.
SSL3_KEY_EXCHANGES = {
    "Null", "Rsa", "Dh", "Dhe", "DhAnon", "Fortezza", "Krb5", "Psk", "DhePsk", "RsaPsk", "Srp",
}


class Suite:
    """One row of the generated table."""

    def __init__(self, code, name, dtls_ok, recommended, references, iana):
        self.code = code
        self.name = name
        self.dtls_ok = dtls_ok
        self.recommended = recommended
        self.references = references
        self.iana = iana
        self.openssl = None
        self.kx = self.auth = self.cipher = self.mac = self.prf = None
        self.min_version = self.max_version = None
        self.export = False


def fail(message):
    sys.exit(f"gen_suites: {message}")


def derive(suite):
    """Fill in the properties of `suite` from its name."""
    name = suite.name
    body = re.sub(r"^(TLS|SSL)_", "", name)

    if body.endswith("_SCSV"):
        suite.kx, suite.auth, suite.cipher, suite.mac = "Scsv", "None", "Null", "Null"
        suite.prf, suite.min_version, suite.max_version = "Sha256", "SSLv3", "TLSv1_3"
        return

    if "_WITH_" in body and suite.code not in TLS13_WITH_NAMES:
        kx_token, rest = body.split("_WITH_", 1)
        tls13 = False
    elif "_WITH_" in body:
        kx_token, rest = None, body.split("_WITH_", 1)[1]
        tls13 = True
    else:
        kx_token, rest = None, body
        tls13 = True

    if tls13:
        suite.kx, suite.auth = "Tls13", "Negotiated"
    else:
        export_match = re.fullmatch(r"(.*)_EXPORT(1024)?", kx_token)
        if export_match:
            suite.export = True
            kx_token = export_match.group(1)
        if kx_token not in KEY_EXCHANGES:
            fail(f"{name}: unknown key exchange {kx_token!r}")
        suite.kx, suite.auth = KEY_EXCHANGES[kx_token]

    # Split off the trailing MAC / hash token, if any (CCM and MGM suites
    # have none).
    cipher_token, trailer = rest, None
    for token in TRAILERS:
        if rest.endswith("_" + token):
            cipher_token, trailer = rest[: -len(token) - 1], token
            break

    # RFC 9150 integrity-only TLS 1.3 suites: TLS_SHA256_SHA256.
    if tls13 and cipher_token in ("SHA256", "SHA384"):
        suite.cipher = "Null"
        suite.mac = HMACS[trailer]
        suite.prf = PRF_HASHES[trailer]
    else:
        if cipher_token not in CIPHERS:
            fail(f"{name}: unknown cipher {cipher_token!r}")
        suite.cipher = CIPHERS[cipher_token]
        if suite.cipher in AEAD_CIPHERS:
            suite.mac = "Aead"
            suite.prf = PRF_HASHES.get(trailer, "Sha256")
        elif trailer == "OMAC":
            suite.mac = "KuznyechikOmac" if suite.cipher == "KuznyechikCtr" else "MagmaOmac"
        elif trailer == "IMIT":
            suite.mac = "Gost28147Imit"
        elif trailer in HMACS:
            suite.mac = HMACS[trailer]
        elif trailer == "NULL":
            suite.mac = "Null"
        else:
            fail(f"{name}: no MAC for non-AEAD cipher {cipher_token!r}")
        if suite.prf is None:
            # RFC 5246 §5: the PRF is SHA-256 unless the suite says otherwise;
            # HMAC-SHA384 suites name SHA-384.
            suite.prf = "Sha384" if suite.mac == "Sha384" else "Sha256"
    if suite.kx == "Gost" or suite.cipher in (
        "KuznyechikMgmL", "KuznyechikMgmS", "MagmaMgmL", "MagmaMgmS"
    ):
        # RFC 9189 §4 and RFC 9367 §4: GOST suites hash with Streebog-256.
        suite.prf = "Streebog256"

    # Protocol versions.
    if tls13:
        suite.min_version = suite.max_version = "TLSv1_3"
        return
    needs_tls12 = suite.mac in ("Sha256", "Sha384", "Aead") or suite.kx in ("Eccpwd", "Gost")
    if needs_tls12 and suite.mac != "Aead" and suite.kx in (
        "Psk", "DhePsk", "RsaPsk", "EcdhePsk"
    ) and suite.references & PSK_BEFORE_TLS12_RFCS:
        needs_tls12 = False
        suite.min_version = "TLSv1_0"
    if needs_tls12:
        suite.min_version = "TLSv1_2"
    elif suite.min_version is None:
        ssl3 = suite.kx in SSL3_KEY_EXCHANGES and suite.mac in ("Null", "Md5", "Sha1")
        suite.min_version = "SSLv3" if ssl3 else "TLSv1_0"
    if suite.kx == "Fortezza":
        # RFC 2246 §1 (TLS 1.0) dropped FORTEZZA: it exists only in SSL 3.0.
        suite.max_version = "SSLv3"
    elif suite.export:
        # RFC 4346 §A.5: export suites must not be negotiated from TLS 1.1 on.
        suite.max_version = "TLSv1_0"
    else:
        suite.max_version = "TLSv1_2"


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def data_rows(path):
    """CSV rows of a tools/data file, without its `#` comment lines."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def read_registry():
    suites = {}
    with (DATA / "tls-parameters-4.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            value = re.fullmatch(r"0x([0-9A-F]{2}),0x([0-9A-F]{2})", row["Value"])
            name = row["Description"]
            # Ranges, "Unassigned", "Reserved" (GREASE, RFC 8701) and private
            # use rows name no suite.
            if not value or not name.startswith("TLS_"):
                continue
            code = int(value.group(1) + value.group(2), 16)
            references = set(re.findall(r"\[([^\]]+)\]", row["Reference"]))
            suites[code] = Suite(
                code, name, row["DTLS-OK"] == "Y", row["Recommended"] == "Y", references, True
            )
    for row in data_rows(DATA / "registry-updates.csv"):
        code = int(row["code"], 16)
        if row["field"] != "name" or suites[code].name != row["old"]:
            fail(f"registry-updates.csv: {row['code']} no longer reads {row['old']}")
        suites[code].name = row["new"]
    return suites


def read_unofficial(suites):
    for row in data_rows(DATA / "unofficial-suites.csv"):
        code = int(row["code"], 16)
        if code in suites:
            fail(f"unofficial-suites.csv: {row['code']} is assigned by IANA")
        suites[code] = Suite(code, row["name"], False, False, set(), False)


def read_openssl(suites):
    """Attach OpenSSL names; return the `openssl ciphers -V` columns by code."""
    columns = {}
    for line in (DATA / "openssl-ciphers-V.txt").read_text().splitlines():
        if line.startswith("#"):
            continue
        m = re.match(
            r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)"
            r"\s+Enc=(\S+)\s+Mac=(\S+)",
            line,
        )
        if not m:
            fail(f"openssl-ciphers-V.txt: cannot read {line!r}")
        code = int(m.group(1) + m.group(2), 16)
        if code not in suites:
            fail(f"OpenSSL knows {line.split()[2]} at {code:#06x}, the registry does not")
        suites[code].openssl = m.group(3)
        columns[code] = dict(zip(("version", "kx", "au", "enc", "mac"), m.groups()[3:]))
    for row in data_rows(DATA / "openssl-legacy-names.csv"):
        code = int(row["code"], 16)
        if code not in suites:
            fail(f"openssl-legacy-names.csv: {row['code']} is no known suite")
        if suites[code].openssl not in (None, row["openssl"]):
            fail(f"{row['code']}: OpenSSL build says {suites[code].openssl}, legacy list says {row['openssl']}")
        suites[code].openssl = row["openssl"]
    return columns


# --------------------------------------------------------------------------
# Cross-check against OpenSSL's own description of the suites it knows
# --------------------------------------------------------------------------

OPENSSL_KX = {
    "Rsa": "RSA", "Dh": "DH", "Dhe": "DH", "DhAnon": "DH", "Ecdh": "ECDH",
    "Ecdhe": "ECDH", "EcdhAnon": "ECDH", "Psk": "PSK", "DhePsk": "DHEPSK",
    "RsaPsk": "RSAPSK", "EcdhePsk": "ECDHEPSK", "Srp": "SRP", "Tls13": "any",
}
OPENSSL_AU = {
    "Rsa": "RSA", "Dss": "DSS", "Ecdsa": "ECDSA", "Anonymous": "None",
    "Psk": "PSK", "Srp": "SRP", "Negotiated": "any",
}
OPENSSL_ENC = {
    "Null": "None", "SeedCbc": "SEED(128)", "Aes128Cbc": "AES(128)",
    "Aes256Cbc": "AES(256)", "Aes128Gcm": "AESGCM(128)", "Aes256Gcm": "AESGCM(256)",
    "Aes128Ccm": "AESCCM(128)", "Aes256Ccm": "AESCCM(256)",
    "Aes128Ccm8": "AESCCM8(128)", "Aes256Ccm8": "AESCCM8(256)",
    "Camellia128Cbc": "Camellia(128)", "Camellia256Cbc": "Camellia(256)",
    "Aria128Gcm": "ARIAGCM(128)", "Aria256Gcm": "ARIAGCM(256)",
    "Chacha20Poly1305": "CHACHA20/POLY1305(256)",
}
OPENSSL_MAC = {"Md5": "MD5", "Sha1": "SHA1", "Sha256": "SHA256", "Sha384": "SHA384", "Aead": "AEAD"}
OPENSSL_VERSION = {"SSLv3": "SSLv3", "TLSv1_0": "TLSv1", "TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}


def cross_check(suites, columns):
    for code, seen in sorted(columns.items()):
        s = suites[code]
        ours = {
            "kx": OPENSSL_KX.get(s.kx),
            "au": OPENSSL_AU.get(s.auth),
            "enc": OPENSSL_ENC.get(s.cipher),
            "mac": OPENSSL_MAC.get(s.mac),
            "version": OPENSSL_VERSION.get(s.min_version),
        }
        for column, value in ours.items():
            if value != seen[column]:
                fail(f"{code:#06x} {s.name}: derived {column} {value}, OpenSSL says {seen[column]}")


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def rust_str(value):
    return f'Some("{value}")' if value else "None"


def render(suites):
    out = []
    out.append("//! The cipher-suite table: every suite of the IANA \"TLS Cipher Suites\"")
    out.append("//! registry, plus a few pre-standard suites that old peers sent.")
    out.append("//!")
    out.append("//! @generated by tools/gen_suites.py: do not edit; change the data under")
    out.append("//! tools/data/ or the generator's rules and run it again.")
    out.append("//!")
    out.append(f"//! Source: {REGISTRY_SNAPSHOT}")
    out.append("//! (tools/data/tls-parameters-4.csv), with tools/data/registry-updates.csv")
    out.append("//! applied. OpenSSL names: `openssl ciphers -V` of OpenSSL 3.0.19, then the")
    out.append("//! headers of older OpenSSL releases for suites it removed.")
    out.append(f"//! {len(suites)} suites, {sum(s.iana for s in suites)} of them IANA-assigned.")
    out.append("")
    out.append("use super::{")
    out.append("    Authentication as Au, BulkCipher as C, KeyExchange as Kx, Mac, PrfHash as Prf, SuiteInfo,")
    out.append("};")
    out.append("use crate::wire::ProtocolVersion as V;")
    out.append("")
    out.append("/// Every suite, sorted by code (lookups binary-search it). One line per")
    out.append("/// suite, so the file is exempt from rustfmt (`#[rustfmt::skip] mod table`).")
    out.append("pub(super) const SUITES: &[SuiteInfo] = &[")
    for s in suites:
        out.append(
            f"    SuiteInfo {{ code: {s.code:#06x}, iana: \"{s.name}\", openssl: {rust_str(s.openssl)}, "
            f"kx: Kx::{s.kx}, auth: Au::{s.auth}, cipher: C::{s.cipher}, mac: Mac::{s.mac}, prf: Prf::{s.prf}, "
            f"min_version: V::{s.min_version}, max_version: V::{s.max_version}, export: {str(s.export).lower()}, "
            f"recommended: {str(s.recommended).lower()}, dtls_ok: {str(s.dtls_ok).lower()}, "
            f"iana_assigned: {str(s.iana).lower()} }},"
        )
    out.append("];")
    out.append("")
    return "\n".join(out)


def main():
    suites = read_registry()
    read_unofficial(suites)
    for suite in suites.values():
        derive(suite)
    columns = read_openssl(suites)
    cross_check(suites, columns)

    names = [s.openssl for s in suites.values() if s.openssl]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        fail(f"OpenSSL names used twice: {sorted(duplicates)}")

    text = render([suites[code] for code in sorted(suites)])
    if sys.argv[1:] == ["--check"]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            sys.exit(f"gen_suites: {OUTPUT.relative_to(ROOT)} is out of date; run tools/gen_suites.py")
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(suites)} suites", file=sys.stderr)


if __name__ == "__main__":
    main()
