"""htpasswd files and Basic credentials (ing2gw.enforce.credentials): every hash format nginx
accepts, checked against hashes made by other tools (openssl passwd, the bcrypt library)."""

from __future__ import annotations

import base64
from pathlib import Path

import bcrypt
import pytest

from ing2gw.enforce.credentials import Credentials, basic_credentials, parse_htpasswd, verify_password
from ing2gw.errors import InputError, UsageError

# made with `openssl passwd -apr1|-1|-5|-6 -salt abcdefgh secret`
OPENSSL = {
    "apr1": "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/",
    "md5-crypt": "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1",
    "sha256-crypt": "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.",
    "sha512-crypt": "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/"
                    "O6IND4WQhG.",
}


@pytest.mark.parametrize("scheme", sorted(OPENSSL))
def test_crypt_formats_match_openssl(scheme: str) -> None:
    stored = OPENSSL[scheme]
    got = verify_password("secret", stored)
    if got is None:  # sha-crypt needs the C library's crypt(3) (Python < 3.13)
        assert scheme.startswith("sha")
        return
    assert got is True and verify_password("Secret", stored) is False


def test_sha_ssha_plain_and_bcrypt() -> None:
    sha = "{SHA}" + base64.b64encode(bytes.fromhex("e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4")).decode()
    assert verify_password("secret", sha) and not verify_password("secret2", sha)
    import hashlib

    salt = b"NaCl"
    ssha = "{SSHA}" + base64.b64encode(hashlib.sha1(b"secret" + salt).digest() + salt).decode()
    assert verify_password("secret", ssha) and not verify_password("other", ssha)
    assert verify_password("secret", "{SSHA}not-base64!") is False
    assert verify_password("secret", "{PLAIN}secret") and not verify_password("x", "{PLAIN}secret")
    hashed = bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")  # as htpasswd -B writes
    assert verify_password("secret", hashed) and not verify_password("secreT", hashed)


def test_htpasswd_errors_name_file_and_line(tmp_path: Path) -> None:
    good = parse_htpasswd("# users\n\nalice:{PLAIN}a\nbob:{PLAIN}b\n", "users")
    assert sorted(good.users) == ["alice", "bob"]
    with pytest.raises(InputError, match=r"^users:2: expected user:hash"):
        parse_htpasswd("alice:{PLAIN}a\nbroken line\n", "users")
    with pytest.raises(InputError, match=r"^users:2: user 'alice' appears twice"):
        parse_htpasswd("alice:{PLAIN}a\nalice:{PLAIN}b\n", "users")
    with pytest.raises(UsageError, match="expected NAMESPACE/NAME=FILE"):
        Credentials.from_options(["users=file"])
    with pytest.raises(InputError, match="cannot read"):
        Credentials.from_options([f"shop/users={tmp_path / 'missing'}"])


def _auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_check_credentials(tmp_path: Path) -> None:
    file = tmp_path / "users"
    file.write_text(f"alice:{OPENSSL['apr1']}\nbob:{{PLAIN}}pw\n")
    creds = Credentials.from_options([f"shop/users={file}"])
    assert creds.check("shop/users", _auth("alice", "secret")).ok
    assert not creds.check("shop/users", _auth("alice", "wrong")).ok
    assert "not in" in creds.check("shop/users", _auth("carol", "secret")).why
    assert creds.check("shop/users", None).why == "no Basic credentials"
    locked = creds.check("shop/users", _auth("alice", "secret"), frozenset({"sha"}))
    assert not locked.ok and "locked out" in locked.why
    unknown = creds.check("shop/other", _auth("anyone", "anything"))
    assert unknown.ok and "not checked" in unknown.why  # no file: only presence can be checked
    assert basic_credentials("Bearer x") is None and basic_credentials("Basic !!!") is None
