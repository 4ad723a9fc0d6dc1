#!/usr/bin/env python3
"""A tlslite-ng peer for tests/integration/interop.rs.

    tlslite-interop.py server PORT CERT KEY VERSION CIPHER MAC
    tlslite-interop.py client PORT VERSION CIPHER MAC TEXT

VERSION is ssl3, tls1.0, tls1.1 or tls1.2; CIPHER and MAC are tlslite names
(rc4, 3des, aes128, aes256, aes128gcm / md5, sha, sha256, aead). The key
exchange is pinned to RSA. Both roles print what they negotiated as

    NEGOTIATED <version> <IANA suite>

with the version spelled as sslwalk does (SSLv3, TLSv1.0, ...).

The server listens on 127.0.0.1, prints READY, serves exactly one
connection and echoes every byte back until the client closes. The client
sends TEXT plus a newline, prints the answer's first line as
`ECHO <line>`, and closes with close_notify. Any failure ends the process
with a traceback and a non-zero status.
"""

import socket
import sys

from tlslite.api import (
    HandshakeSettings,
    TLSConnection,
    X509CertChain,
    parsePEMKey,
)
from tlslite.constants import CipherSuite

VERSIONS = {
    "ssl3": (3, 0),
    "tls1.0": (3, 1),
    "tls1.1": (3, 2),
    "tls1.2": (3, 3),
}

NAMES = {(3, 0): "SSLv3", (3, 1): "TLSv1.0", (3, 2): "TLSv1.1", (3, 3): "TLSv1.2"}

TIMEOUT = 20


def settings(version, cipher, mac):
    s = HandshakeSettings()
    s.minVersion = VERSIONS[version]
    s.maxVersion = VERSIONS[version]
    s.cipherNames = [cipher]
    s.macNames = [mac]
    s.keyExchangeNames = ["rsa"]
    return s


def negotiated(conn):
    suite = conn.session.cipherSuite
    name = CipherSuite.ietfNames.get(suite, "0x%04X" % suite)
    print("NEGOTIATED %s %s" % (NAMES.get(conn.version, conn.version), name), flush=True)


def server(port, cert, key, version, cipher, mac):
    with open(cert) as f:
        chain = X509CertChain()
        chain.parsePemList(f.read())
    with open(key) as f:
        priv = parsePEMKey(f.read(), private=True)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", int(port)))
    lsock.listen(1)
    lsock.settimeout(TIMEOUT)
    print("READY", flush=True)
    sock, _ = lsock.accept()
    lsock.close()
    sock.settimeout(TIMEOUT)
    conn = TLSConnection(sock)
    conn.handshakeServer(
        certChain=chain, privateKey=priv, settings=settings(version, cipher, mac)
    )
    negotiated(conn)
    # Echo until close_notify (read() returns nothing) or a closed socket.
    while True:
        data = conn.read()
        if not data:
            break
        conn.write(bytes(data))
    try:
        conn.close()
    except Exception:
        pass


def client(port, version, cipher, mac, text):
    sock = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    conn = TLSConnection(sock)
    conn.handshakeClientCert(settings=settings(version, cipher, mac))
    negotiated(conn)
    conn.write(text.encode() + b"\n")
    # A CBC peer may split one write into several records: read to the
    # newline.
    line = b""
    while not line.endswith(b"\n"):
        data = conn.read()
        if not data:
            break
        line += bytes(data)
    print("ECHO %s" % line.decode(errors="replace").rstrip("\n"), flush=True)
    conn.close()


def main(argv):
    if len(argv) == 8 and argv[1] == "server":
        server(*argv[2:8])
    elif len(argv) == 7 and argv[1] == "client":
        client(*argv[2:7])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
