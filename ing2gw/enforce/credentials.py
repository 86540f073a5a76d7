"""htpasswd files and Basic credentials checked against them, as nginx checks them.

``--htpasswd NS/NAME=FILE`` gives the content of a basic-auth Secret (ing2gw never reads
Secrets from a cluster): one ``user:hash`` per line, ``#`` comments and blank lines
ignored. The hash formats are those nginx's ``auth_basic_user_file`` accepts, named as
:func:`ing2gw.policy.hash_scheme` names them:

* ``apr1`` (``$apr1$``, Apache MD5) and ``md5-crypt`` (``$1$``): computed here;
* ``sha`` (``{SHA}``, base64 SHA-1), ``ssha`` (``{SSHA}``, salted) and ``plain`` (``{PLAIN}``);
* ``bcrypt`` (``$2a$``/``$2b$``/``$2y$``): with the ``bcrypt`` library;
* ``sha256-crypt``/``sha512-crypt`` (``$5$``/``$6$``) and DES ``crypt``: with the C library's
  crypt(3) through Python's ``crypt`` module where this Python still has it (3.11, 3.12);
  elsewhere such an entry is reported as unsupported and never matches.

A target that accepts fewer formats (``AttachedPolicy.hash_schemes``) locks out the users
whose entry has another format, even with the right password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..errors import InputError, UsageError
from ..policy import hash_scheme

__all__ = ["Check", "Credentials", "Htpasswd", "basic_credentials", "parse_htpasswd", "read_htpasswd",
           "verify_password"]

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_system_crypt: Callable[[str, str], str | None] | None
try:  # deprecated since 3.11 and gone in 3.13: used while it exists, for the formats only libc knows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as _crypt_module
    _system_crypt = _crypt_module.crypt
except ImportError:  # pragma: no cover - Python 3.13+
    _system_crypt = None


def _to64(value: int, count: int) -> str:
    out = []
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def md5_crypt(password: bytes, salt: bytes, magic: bytes) -> str:
    """The FreeBSD MD5 crypt that ``$1$`` and Apache's ``$apr1$`` (same algorithm, other
    magic) store: ``magic + salt + "$" + 22 characters``. ``salt`` is at most 8 bytes."""
    salt = salt[:8]
    mixed = hashlib.md5(password + salt + password).digest()
    ctx = hashlib.md5(password + magic + salt)
    remaining = len(password)
    while remaining > 0:
        ctx.update(mixed[: min(remaining, 16)])
        remaining -= 16
    bits = len(password)
    while bits:
        ctx.update(b"\0" if bits & 1 else password[:1])
        bits >>= 1
    digest = ctx.digest()
    for i in range(1000):  # the deliberate slow-down rounds
        step = hashlib.md5()
        step.update(password if i & 1 else digest)
        if i % 3:
            step.update(salt)
        if i % 7:
            step.update(password)
        step.update(digest if i & 1 else password)
        digest = step.digest()
    encoded = "".join(_to64((digest[a] << 16) | (digest[b] << 8) | digest[c], 4)
                      for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)))
    encoded += _to64(digest[11], 2)
    return f"{magic.decode()}{salt.decode('latin-1')}${encoded}"


def verify_password(password: str, stored: str) -> bool | None:
    """Whether ``password`` matches the htpasswd entry ``stored``; ``None`` when this
    installation cannot compute that format."""
    pw = password.encode()
    scheme = hash_scheme(stored)
    if scheme in ("apr1", "md5-crypt"):
        magic = b"$apr1$" if scheme == "apr1" else b"$1$"
        salt = stored[len(magic):].split("$", 1)[0].encode("latin-1")
        return hmac.compare_digest(md5_crypt(pw, salt, magic), stored)
    if scheme == "sha":
        return hmac.compare_digest(base64.b64encode(hashlib.sha1(pw).digest()).decode(), stored[5:])
    if scheme == "ssha":
        try:
            raw = base64.b64decode(stored[6:], validate=True)
        except (binascii.Error, ValueError):
            return False
        digest, salt = raw[:20], raw[20:]
        return len(digest) == 20 and hmac.compare_digest(hashlib.sha1(pw + salt).digest(), digest)
    if scheme == "plain":
        return hmac.compare_digest(stored[7:].encode(), pw)
    if scheme == "bcrypt":
        import bcrypt

        try:
            return bool(bcrypt.checkpw(pw, stored.encode()))
        except ValueError:
            return False
    if _system_crypt is None:
        return None
    try:
        computed = _system_crypt(password, stored)
    except OSError:
        return None
    if not computed:
        return None
    return hmac.compare_digest(computed, stored)


@dataclass(frozen=True, slots=True)
class Htpasswd:
    """The users of one htpasswd file (user -> stored hash), and where it came from."""

    users: Mapping[str, str]
    origin: str


def parse_htpasswd(text: str, origin: str) -> Htpasswd:
    """Users of an htpasswd text; a malformed line is an :class:`InputError` naming it."""
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not stored:
            raise InputError(f"{origin}:{number}: expected user:hash, got {line[:40]!r}")
        if user in users:
            raise InputError(f"{origin}:{number}: user {user!r} appears twice")
        users[user] = stored
    return Htpasswd(MappingProxyType(users), origin)


def read_htpasswd(path: str) -> Htpasswd:
    try:
        data = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_htpasswd(data, path)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic ...`` value; None when absent or not Basic."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


@dataclass(frozen=True, slots=True)
class Check:
    """The result of checking a request's credentials: ``ok``, and why (for notes)."""

    ok: bool
    why: str


class Credentials:
    """htpasswd files by Secret (``ns/name``)."""

    __slots__ = ("files", "_memo")

    def __init__(self, files: Mapping[str, Htpasswd] | None = None) -> None:
        self.files: Mapping[str, Htpasswd] = MappingProxyType(dict(files or {}))
        self._memo: dict[tuple[str, str, str], bool | None] = {}

    @classmethod
    def from_options(cls, values: Iterable[str]) -> Credentials:
        """From ``--htpasswd NS/NAME=FILE`` values."""
        files: dict[str, Htpasswd] = {}
        for value in values:
            secret, eq, path = value.partition("=")
            ns, slash, name = secret.partition("/")
            if not eq or not path or not slash or not ns or not name or "/" in name:
                raise UsageError(f"--htpasswd {value!r}: expected NAMESPACE/NAME=FILE")
            if secret in files:
                raise UsageError(f"--htpasswd {value!r}: Secret {secret} given twice")
            files[secret] = read_htpasswd(path)
        return cls(files)

    def __bool__(self) -> bool:
        return bool(self.files)

    def check(self, secret: str | None, authorization: str | None,
              accepted: frozenset[str] = frozenset()) -> Check:
        """Check Basic credentials for the Secret ``secret``; ``accepted`` are the hash
        schemes the data plane accepts (empty: all). Without a file for the Secret only the
        presence of Basic credentials can be checked (``why`` says so)."""
        given = basic_credentials(authorization)
        if given is None:
            return Check(False, "no Basic credentials")
        user, password = given
        file = self.files.get(secret or "")
        if file is None:
            return Check(True, f"Basic credentials present; not checked (no --htpasswd for Secret {secret})")
        stored = file.users.get(user)
        if stored is None:
            return Check(False, f"user {user!r} is not in {file.origin}")
        scheme = hash_scheme(stored)
        if accepted and scheme not in accepted:
            return Check(False, f"user {user!r} is stored as {scheme}, a format this data plane does not accept "
                                f"(only {', '.join(sorted(accepted))}): locked out")
        key = (secret or "", user, password)
        if key in self._memo:
            matched = self._memo[key]
        else:
            matched = verify_password(password, stored)
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[key] = matched
        if matched is None:
            return Check(False, f"user {user!r} is stored as {scheme}, a format ing2gw cannot compute here")
        if not matched:
            return Check(False, f"wrong password for user {user!r}")
        return Check(True, f"user {user!r} authenticated ({scheme})")
