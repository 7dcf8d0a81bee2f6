"""The production path of a delivery: HTTPS to the address that was checked, with the
certificate verified for the host name, against a real TLS receiver on this machine.

The receiver listens on 127.0.0.1, which the address check refuses (rightly); the check is
pointed at it by replacing the DNS answer, which is what the pinning is about: the connection
goes to the checked address while TLS speaks to the host name.
"""

import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import delivery

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


@pytest.fixture
def tls_receiver(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers.get("Host"), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, received
    server.shutdown()
    server.server_close()


@pytest.fixture
def localhost_resolves_as_if_public(monkeypatch):
    monkeypatch.setattr(delivery, "resolve_public", lambda host, port: "127.0.0.1")


def test_https_delivery_reaches_the_checked_address_and_verifies_the_hosts_certificate(
    tls_receiver, localhost_resolves_as_if_public, monkeypatch
):
    port, cert, received = tls_receiver
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust this receiver's certificate only
    outcome = delivery.post(f"https://localhost:{port}/hook?x=1", body='{"a":1}', headers={"X-Test": "1"})
    assert outcome.status_code == 200, outcome.error
    assert received == [(f"localhost:{port}", b'{"a":1}')]


def test_an_untrusted_certificate_is_a_failed_attempt(tls_receiver, localhost_resolves_as_if_public):
    port, _, received = tls_receiver
    outcome = delivery.post(f"https://localhost:{port}/hook", body="{}", headers={})
    assert outcome.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert received == []
