"""A real SMTP server (aiosmtpd) on a free port: STARTTLS with a self-signed
certificate, AUTH required after TLS, and every accepted message kept."""
from __future__ import annotations

import asyncio
import datetime
import email
import email.message
import email.policy
import ipaddress
import logging
import ssl
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from live import free_port

USER = "mailer"

# aiosmtpd says each connection's coming and going at INFO; the tests need none of it.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Mailbox:
    def __init__(self, directory: Path, password: str) -> None:
        self.password = password
        self.messages: list[email.message.EmailMessage] = []
        self.rcpt_reply: str | None = None  # e.g. "550 5.1.1 no such user"
        self.data_delay = 0.0
        self.logins = 0
        self._lock = threading.Lock()
        self.ca_file, self._context = _tls(directory)
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> Mailbox:
        """Start (or start again, on the same port) with a new server loop."""
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=self._context, require_starttls=True,
            authenticator=self._authenticate, auth_require_tls=True,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def env(self) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_USER": USER,
                "SMTP_CA_FILE": str(self.ca_file), "MAIL_FROM": "Pilot Feedback <feedback@example.com>"}

    def wait_for(self, count: int, timeout: float = 15) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)

    # aiosmtpd's hooks

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = auth_data.login == USER.encode() and auth_data.password == self.password.encode()
        self.logins += ok
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ANN001, N802
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        if self.data_delay:
            await asyncio.sleep(self.data_delay)  # a slow relay: deliveries overlap
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


def _tls(directory: Path) -> tuple[Path, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context
