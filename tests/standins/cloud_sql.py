"""A local stand-in for Cloud SQL as the Cloud SQL Python Connector reaches it.

- The Cloud SQL Admin API (v1beta4): `GET .../instances/{i}/connectSettings` answers the
  instance's region, version, IP addresses and server CA; `POST .../instances/{i}:
  generateEphemeralCert` signs the connector's public key (with IAM authentication the
  request carries the caller's access token, which the stand-in records).
- The server side on port 3307 (fixed in the connector) of a loopback address of its own
  (127.x.y.z, bound until one is free, so runs side by side do not collide; the Admin API
  names it as the instance's IP): TLS 1.3 with a server certificate from that CA, a
  client certificate from it required, then the bytes go to a real PostgreSQL, as Cloud
  SQL's own proxy forwards them.
- A token endpoint for Application Default Credentials of a service account, so the
  connector's real google-auth refreshes (and down-scopes) against it.
"""
from __future__ import annotations

import datetime
import http.server
import json
import secrets
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from standins.base import reply_json

PROXY_PORT = 3307
ACCESS_TOKEN = "ya29.stand-in-access-token"


def _bind_loopback(port: int) -> socket.socket:
    """A listening socket on `port` of the first free loopback address tried (all of
    127.0.0.0/8 reaches this machine)."""
    for _ in range(100):
        address = f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(254) + 1}.{secrets.randbelow(254) + 1}"
        try:
            return socket.create_server((address, port), reuse_port=False)
        except OSError:
            continue
    raise OSError(f"no loopback address has port {port} free")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class CloudSqlStandIn:
    def __init__(self, directory: Path, region: str, database: tuple[str, int] | str) -> None:
        """`database`: (host, port) of the PostgreSQL to forward to, or a unix socket path."""
        self.region = region
        self.database = database
        self.tokens_seen: list[str] = []
        self.connections = 0
        now = datetime.datetime.now(datetime.UTC)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (
            x509.CertificateBuilder().subject_name(_name("stand-in Cloud SQL CA")).issuer_name(_name("stand-in Cloud SQL CA"))
            .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(self._ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = self._sign(server_key.public_key(), "stand-in-instance", days=1)
        (directory / "server.pem").write_text(_pem(server_cert) + _pem(self.ca))
        (directory / "server.key").write_bytes(server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (directory / "ca.pem").write_text(_pem(self.ca))
        self.directory = directory
        self.ca_pem = _pem(self.ca)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_3
        self._tls.load_cert_chain(directory / "server.pem", directory / "server.key")
        self._tls.verify_mode = ssl.CERT_REQUIRED
        self._tls.load_verify_locations(directory / "ca.pem")

        stand_in = self

        class Api(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stand_in._api(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                stand_in._api(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.api_url = f"http://127.0.0.1:{self._http.server_port}"
        self._proxy = _bind_loopback(PROXY_PORT)
        self.ip = self._proxy.getsockname()[0]
        for target in (self._http.serve_forever, self._accept_forever):
            threading.Thread(target=target, daemon=True).start()

    def credentials_file(self, directory: Path, email: str) -> Path:
        """Application Default Credentials of a service account whose tokens this stand-in
        issues (google-auth posts its signed assertion to the key file's token_uri)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = directory / "adc.json"
        path.write_text(json.dumps({
            "type": "service_account", "project_id": email.split("@")[1].split(".")[0],
            "private_key_id": "stand-in", "client_email": email, "client_id": "1",
            "private_key": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
            "token_uri": f"{self.api_url}/token",
        }))
        return path

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._proxy.close()

    def _sign(self, public_key: Any, common: str, days: int) -> x509.Certificate:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder().subject_name(_name(common)).issuer_name(self.ca.subject)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .sign(self._ca_key, hashes.SHA256())
        )

    # --- the Admin API and the token endpoint

    def _api(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        path = request.path.split("?", 1)[0]
        if method == "POST" and path == "/token":
            return reply_json(request, 200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return reply_json(request, 401, {"error": {"code": 401, "message": "Request had invalid credentials.",
                                                   "status": "UNAUTHENTICATED"}})
        if method == "GET" and path.endswith("/connectSettings"):
            return reply_json(request, 200, {
                "kind": "sql#connectSettings", "region": self.region, "databaseVersion": "POSTGRES_15",
                "backendType": "SECOND_GEN", "serverCaMode": "GOOGLE_MANAGED_INTERNAL_CA",
                "ipAddresses": [{"type": "PRIMARY", "ipAddress": self.ip}],
                "serverCaCert": {"kind": "sql#sslCert", "cert": _pem(self.ca)},
            })
        if method == "POST" and path.endswith(":generateEphemeralCert"):
            doc = json.loads(body)
            if "access_token" in doc:
                self.tokens_seen.append(doc["access_token"])
            key = serialization.load_pem_public_key(doc["public_key"].encode())
            return reply_json(request, 200, {"ephemeralCert": {"kind": "sql#sslCert",
                                                           "cert": _pem(self._sign(key, "ephemeral", days=1))}})
        reply_json(request, 404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

    # --- the instance's side of the connection

    def _accept_forever(self) -> None:
        while True:
            try:
                client, _ = self._proxy.accept()
            except OSError:
                return
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        try:
            tls = self._tls.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()
            return
        self.connections += 1
        if isinstance(self.database, str):
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.database)
        else:
            upstream = socket.create_connection(self.database)
        threading.Thread(target=_pipe, args=(upstream, tls), daemon=True).start()
        _pipe(tls, upstream)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.close()
            except OSError:
                pass



class PrivateIpStandIn:
    """The instance's private address as a function reaches it directly: PostgreSQL's
    own TLS negotiation (SSLRequest, then a server certificate from the instance's CA),
    then the IAM login: the password must be the caller's access token, which the
    stand-in checks as Cloud SQL does before the session goes on to PostgreSQL."""

    def __init__(self, cloud_sql: CloudSqlStandIn) -> None:
        self.cloud_sql = cloud_sql
        directory = cloud_sql.directory
        self.logins: list[tuple[str, bool]] = []  # user, and whether the token was right
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(directory / "server.pem", directory / "server.key")
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept_forever, daemon=True).start()

    def close(self) -> None:
        self._server.close()

    def _accept_forever(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client: socket.socket) -> None:
        try:
            if _read_message(client, typed=False)[4:8] != SSL_REQUEST:
                client.close()  # Cloud SQL refuses unencrypted sessions
                return
            client.sendall(b"S")
            tls = self._tls.wrap_socket(client, server_side=True)
            startup = _read_message(tls, typed=False)
            fields = startup[8:].split(b"\0")
            user = dict(zip(fields[::2], fields[1::2])).get(b"user", b"").decode()
            tls.sendall(b"R" + (8).to_bytes(4, "big") + (3).to_bytes(4, "big"))  # cleartext password, please
            password = _read_message(tls, typed=True)[5:].rstrip(b"\0").decode()
            ok = password == ACCESS_TOKEN
            self.logins.append((user, ok))
            if not ok:
                body = b"SFATAL\0C28P01\0Mstand-in: the token was refused\0\0"
                tls.sendall(b"E" + (len(body) + 4).to_bytes(4, "big") + body)
                tls.close()
                return
            database = self.cloud_sql.database
            if isinstance(database, str):
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(database)
            else:
                upstream = socket.create_connection(database)
            upstream.sendall(startup)
        except (OSError, ssl.SSLError):
            client.close()
            return
        threading.Thread(target=_pipe, args=(upstream, tls), daemon=True).start()
        _pipe(tls, upstream)


class MetadataStandIn:
    """The metadata server's token endpoint, as `GCE_METADATA_HOST` names it."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.headers.get("Metadata-Flavor") != "Google":
                    return reply_json(self, 403, {"error": "Missing Metadata-Flavor:Google header."})
                if self.path != "/computeMetadata/v1/instance/service-accounts/default/token":
                    return reply_json(self, 404, {"error": "not found"})
                reply_json(self, 200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

            def log_message(self, *args: object) -> None:
                pass

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._http.server_port}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


SSL_REQUEST = (80877103).to_bytes(4, "big")


def _read_message(sock: socket.socket, *, typed: bool) -> bytes:
    """One protocol message, whole: a type byte (if typed), a length, the rest."""
    head = _read_exactly(sock, 5 if typed else 4)
    length = int.from_bytes(head[-4:], "big")
    return head + _read_exactly(sock, length - 4)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
