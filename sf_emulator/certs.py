"""Credentials the emulator generates on first start: a CA, its server certificate and the
Connected App's key pair (whose certificate is registered with the emulated Connected App)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
SERVER_CERT_FILE = "server_cert.pem"
SERVER_KEY_FILE = "server_key.pem"
APP_KEY_FILE = "app_private_key.pem"
APP_CERT_FILE = "app_cert.pem"
CONSUMER_KEY_FILE = "consumer_key.txt"
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Credentials:
    """Paths of the generated files and the Connected App's consumer key."""

    ca_path: Path
    server_cert_path: Path
    server_key_path: Path
    app_private_key_path: Path
    app_cert_path: Path
    consumer_key: str

    def app_public_key_pem(self) -> bytes:
        cert = x509.load_pem_x509_certificate(self.app_cert_path.read_bytes())
        return cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def ensure_credentials(*, state_dir: Path) -> Credentials:
    """Load the credentials from ``state_dir``, generating whatever is missing."""
    state_dir.mkdir(parents=True, exist_ok=True)
    creds = Credentials(
        ca_path=state_dir / CA_FILE,
        server_cert_path=state_dir / SERVER_CERT_FILE,
        server_key_path=state_dir / SERVER_KEY_FILE,
        app_private_key_path=state_dir / APP_KEY_FILE,
        app_cert_path=state_dir / APP_CERT_FILE,
        consumer_key=_consumer_key(state_dir / CONSUMER_KEY_FILE),
    )
    if not (creds.ca_path.exists() and creds.server_cert_path.exists()):
        _write_ca_and_server(creds)
    if not (creds.app_private_key_path.exists() and creds.app_cert_path.exists()):
        _write_app_key_pair(creds)
    return creds


def _consumer_key(path: Path) -> str:
    if not path.exists():
        path.write_text("3MVG9" + secrets.token_urlsafe(60).replace("-", "A").replace("_", "B"))
    return path.read_text().strip()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sf_emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(subject: x509.Name, issuer: x509.Name, public_key: object) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
    )


def _write_ca_and_server(creds: Credentials) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("sf_emulator local CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder(_name("127.0.0.1"), ca_name, server_key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(creds.server_key_path, server_key)
    creds.server_cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    creds.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))


def _write_app_key_pair(creds: Credentials) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name("Flywheel Connected App")
    cert = _builder(name, name, key.public_key()).sign(key, hashes.SHA256())
    _write_key(creds.app_private_key_path, key)
    creds.app_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: CertificateIssuerPrivateKeyTypes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
