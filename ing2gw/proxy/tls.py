"""TLS termination for HTTPS listeners: a local certificate authority and certificates for
listener hostnames (generated with ``cryptography``), and a server :class:`ssl.SSLContext`
whose SNI callback picks the certificate for the name the client asked for.

Certificates given by the user (``--tls-cert HOST=CERT,KEY``) win over generated ones.
A client naming a host that no certificate covers fails the handshake, which is what the
router predicts for an SNI that no HTTPS listener matches.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import weakref
from asyncio.sslproto import SSLProtocol
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ing2gw.errors import UsageError
from ing2gw.router.hostnames import HostIndex

__all__ = ["CertFiles", "LocalCA", "SniContext", "tls_protocol"]


@dataclass(frozen=True, slots=True)
class CertFiles:
    cert: Path
    key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LocalCA:
    """A throw-away certificate authority whose files live in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ing2gw serve local CA")])
        self._name = name
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_file = directory / "ca.pem"
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._count = 0

    def issue(self, hostname: str | None, also: Iterable[str] = ()) -> CertFiles:
        """A server certificate for ``hostname`` (a wildcard is fine) and the names in
        ``also``; ``None`` adds ``localhost`` and ``127.0.0.1``."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = []
        if hostname is None:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        else:
            names = [x509.DNSName(hostname)]
        names.extend(x509.DNSName(n) for n in also if n != hostname)
        cn = hostname or "localhost"
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn[:64])]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self._count += 1
        stem = self.directory / f"cert-{self._count}"
        cert_file, key_file = stem.with_suffix(".pem"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                              + self._cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_key_pem(key))
        key_file.chmod(0o600)
        return CertFiles(cert_file, key_file)


def _context(files: CertFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        ctx.load_cert_chain(str(files.cert), str(files.key))
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--tls-cert {files.cert},{files.key}: cannot load: {exc}") from None
    return ctx


class SniContext:
    """The server context of one HTTPS port: ``certs`` maps hostname patterns (``None``:
    any name, also used when the client sends no SNI) to certificate files."""

    def __init__(self, certs: Iterable[tuple[str | None, CertFiles]]) -> None:
        self._index: HostIndex[ssl.SSLContext] = HostIndex()
        default: tuple[ssl.SSLContext, CertFiles] | None = None
        for pattern, files in certs:
            ctx = _context(files)
            self._index.put(pattern.lower() if pattern else None, ctx)
            if default is None or pattern is None:
                default = (ctx, files)
        if default is None:
            raise UsageError("an HTTPS listener needs at least one certificate")
        self._default = default[0]
        self.names: weakref.WeakKeyDictionary[ssl.SSLObject, str] = weakref.WeakKeyDictionary()
        # the outer context holds the default certificate (clients without SNI) and the callback
        self.context = _context(default[1])
        self.context.sni_callback = self._pick

    def _pick(self, obj: ssl.SSLObject | ssl.SSLSocket, name: str | None,
              _ctx: ssl.SSLContext) -> int | None:
        if name is None:
            return None
        name = name.lower().rstrip(".")
        ctx = self._index.best(name)
        if ctx is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        obj.context = ctx
        if isinstance(obj, ssl.SSLObject):
            self.names[obj] = name
        return None

    def server_name(self, obj: object) -> str | None:
        """The SNI the client sent on the connection of ``obj`` (an SSL object)."""
        if isinstance(obj, ssl.SSLObject):
            return self.names.get(obj)
        return None


class _LeanTLS(SSLProtocol):
    """asyncio's TLS protocol with a 16 KiB read buffer (one TLS record) instead of the
    256 KiB it allocates for every connection: idle TLS connections stay cheap."""

    max_size = 16 * 1024


def tls_protocol(factory: Callable[[], asyncio.BaseProtocol], context: ssl.SSLContext,
                 handshake_timeout: float) -> Callable[[], asyncio.BaseProtocol]:
    """A server protocol factory that terminates TLS around ``factory``'s protocols."""
    loop = asyncio.get_running_loop()

    def settled(done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()  # a failed handshake is the client's problem: nothing to log

    def make() -> asyncio.BaseProtocol:
        waiter: asyncio.Future[Any] = loop.create_future()
        waiter.add_done_callback(settled)
        # asyncio takes the timeout in seconds as any number; typeshed says int
        return _LeanTLS(loop, factory(), context, waiter, server_side=True,
                        ssl_handshake_timeout=cast(int, handshake_timeout))

    return make
