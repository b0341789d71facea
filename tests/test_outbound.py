"""The outbound guard over TLS: the socket goes to the checked address while SNI, the
certificate check and the Host header stay with the URL's name."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import need_service
from services import outbound
from serving import serving

NAME = "hooks.shop.example"


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.hosts.append(self.headers["Host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_receiver(app, tmp_path, monkeypatch):
    """An HTTPS receiver on loopback with a certificate for NAME, trusted through
    SSL_CERT_FILE, and NAME resolving to loopback; private targets allowed."""
    openssl = shutil.which("openssl")
    need_service("openssl", openssl is not None)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={NAME}",
            "-addext",
            f"subjectAltName=DNS:{NAME}",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.hosts, server.sni = [], []
    context.sni_callback = lambda _sock, name, _context: server.sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)

    real_getaddrinfo = socket.getaddrinfo

    def shop_dns(host, port, *args, **kwargs):
        if host == NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", shop_dns)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    server.port = server.server_address[1]
    with serving(server):
        yield server


def test_https_goes_to_the_checked_address_with_the_names_sni_and_host(tls_receiver):
    url = f"https://{NAME}:{tls_receiver.port}/hooks"
    response = outbound.send("POST", url, body=b"{}", headers={"Content-Type": "application/json"})
    assert response.status == 204
    assert tls_receiver.sni == [NAME]
    assert tls_receiver.hosts == [f"{NAME}:{tls_receiver.port}"]


def test_https_to_the_bare_address_fails_the_certificate_check(tls_receiver):
    with pytest.raises(ssl.SSLCertVerificationError):
        outbound.send("POST", f"https://127.0.0.1:{tls_receiver.port}/hooks", body=b"{}")
    assert tls_receiver.hosts == []
