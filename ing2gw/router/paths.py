"""Request path normalisation: what a data plane does to the path before it matches routes.

Gateway API leaves normalisation to the implementation, and routing on the raw path is
unsafe: ``/public/../admin``, ``/public/%2e%2e/admin``, ``/public%2F..%2Fadmin`` or
``//admin`` would take the ``/public`` rule (and its filters) while a backend that
normalises serves ``/admin``. So the router normalises first, by a declared
:class:`PathPolicy`, and the backend receives the normalised path.

:data:`STANDARD` is the router's default; it follows the defaults of Envoy-based gateways
(Envoy Gateway's ClientTrafficPolicy ``path``): percent-encoded unreserved characters are
decoded (RFC 3986 §6.2.2.2), remaining escapes get upper-case hex (§6.2.2.1), a backslash
is a slash, dot segments are resolved (§5.2.4; ``..`` never climbs above the root), then
runs of slashes merge, and a path holding ``%2F`` or ``%5C`` is unescaped and the client is
redirected to the result (307, ``UnescapeAndRedirect``). Invalid percent-encoding (``%zz``,
a lone ``%``) and an encoded NUL (``%00``) are refused with 400 by every policy.

Implementations that normalise otherwise declare their own policy (a frozen value) and
register it under their emitter's name with :func:`register_path_policy`;
:func:`target_path_policy` gives the policy of an emitter's target (``verify`` routes the
converted objects with it, so each target shows its own path differences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = ["STANDARD", "BadPath", "Normalised", "PathPolicy", "Verdict", "may_change", "path_policy",
           "path_policies", "register_path_policy", "target_path_policy", "verdict", "verdicts"]

EscapedSlashes = Literal["keep", "decode", "reject", "redirect"]

_HEX = frozenset("0123456789abcdefABCDEF")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# a path holding none of "%", "//", "/." and "\\" is left exactly as it is by every policy


def may_change(path: str) -> bool:
    """Whether some policy could normalise ``path`` to something else (cheap check)."""
    return "%" in path or "//" in path or "/." in path or "\\" in path


class BadPath(ValueError):
    """A request path every policy refuses (answered 400)."""


@dataclass(frozen=True, slots=True)
class Normalised:
    path: str  # the path that routes match and the backend receives
    redirect: bool = False  # the policy sends the client to ``path`` instead (307)


@dataclass(frozen=True, slots=True)
class PathPolicy:
    """How one data plane normalises a request path (without its query) before matching.

    ``escaped_slashes`` says what ``%2F`` and ``%5C`` (either case) do: ``keep`` leaves them
    encoded (not a separator), ``decode`` turns them into ``/`` and ``\\``, ``reject``
    answers 400, ``redirect`` decodes them and sends the client there with 307.
    """

    name: str = "standard"
    decode_unreserved: bool = True  # %41 -> A, %2E -> . (before dot segments are resolved)
    uppercase_escapes: bool = True  # %2f -> %2F for the escapes that stay
    backslash_is_slash: bool = True  # "\" separates segments like "/"
    merge_slashes: bool = True  # "//" -> "/"
    dot_segments: bool = True  # "/a/./b/../c" -> "/a/c"
    escaped_slashes: EscapedSlashes = "redirect"

    def describe(self) -> str:
        """One line for notes and docs."""
        parts = []
        if self.decode_unreserved:
            parts.append("decodes escaped unreserved characters")
        if self.backslash_is_slash:
            parts.append("treats \\ as /")
        if self.merge_slashes:
            parts.append("merges //")
        if self.dot_segments:
            parts.append("resolves dot segments")
        parts.append({"keep": "keeps %2F and %5C encoded", "decode": "decodes %2F and %5C",
                      "reject": "refuses %2F and %5C with 400",
                      "redirect": "redirects %2F and %5C to their decoded path (307)"}
                     [self.escaped_slashes])
        return f"path normalisation {self.name!r}: " + ", ".join(parts)

    def normalise(self, path: str) -> Normalised:
        """The normalised form of ``path`` (which starts with ``/``); raises
        :class:`BadPath` for invalid or forbidden percent-encoding."""
        if not may_change(path):
            return Normalised(path)
        text, redirect = self._decode(path) if "%" in path else (path, False)
        if self.backslash_is_slash and "\\" in text:
            text = text.replace("\\", "/")
        if self.dot_segments:  # before merging, as Envoy does: "/a//../b" -> "/a/b"
            text = remove_dot_segments(text)
        if self.merge_slashes:
            while "//" in text:
                text = text.replace("//", "/")
        return Normalised(text, redirect)

    def _decode(self, path: str) -> tuple[str, bool]:
        out: list[str] = []
        redirect = False
        i, n = 0, len(path)
        while i < n:
            j = path.find("%", i)
            if j < 0:
                out.append(path[i:])
                break
            out.append(path[i:j])
            pair = path[j + 1:j + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise BadPath(f"invalid percent-encoding {path[j:j + 3]!r} in the path")
            char = chr(int(pair, 16))
            if char == "\0":
                raise BadPath("an encoded NUL (%00) in the path")
            if char in "/\\":
                action = self.escaped_slashes
                if action == "reject":
                    raise BadPath(f"an encoded slash (%{pair}) in the path")
                if action == "keep":
                    out.append("%" + pair.upper() if self.uppercase_escapes else "%" + pair)
                else:
                    out.append(char)
                    redirect = redirect or action == "redirect"
            elif self.decode_unreserved and char in _UNRESERVED:
                out.append(char)
            else:
                out.append("%" + pair.upper() if self.uppercase_escapes else "%" + pair)
            i = j + 3
        return "".join(out), redirect


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path: ``.`` segments go, ``..`` removes the segment
    before it (never above the root); a trailing ``.`` or ``..`` leaves a trailing slash."""
    if "." not in path:
        return path
    segments = path.split("/")[1:]
    out: list[str] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg == ".":
            if i == last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if i == last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


STANDARD = PathPolicy()

# What the router does with a path under one policy: None (routed as it is), the path to
# route instead with whether the client is redirected there and the note saying so, or the
# text of the 400 refusal.
Verdict: TypeAlias = "tuple[str, bool, str] | str | None"

_VERDICTS: dict[int, tuple[PathPolicy, dict[str, Verdict]]] = {}  # id(policy) -> (policy, path -> verdict)
_VERDICTS_KEPT = 100_000  # paths remembered per policy (a client may send any number)


def verdicts(policy: PathPolicy) -> dict[str, Verdict]:
    """The verdicts :func:`verdict` remembered for ``policy`` (look a path up here first)."""
    found = _VERDICTS.get(id(policy))
    if found is None or found[0] is not policy:
        found = _VERDICTS[id(policy)] = (policy, {})
    return found[1]


def verdict(policy: PathPolicy, path: str) -> Verdict:
    """What the router does with ``path`` under ``policy`` (see :data:`Verdict`), worked out
    by :meth:`PathPolicy.normalise` and remembered (requests repeat a few paths)."""
    out: Verdict = None
    if may_change(path):
        try:
            norm = policy.normalise(path)
        except BadPath as exc:
            out = str(exc)
        else:
            if norm.path != path:
                out = (norm.path, norm.redirect, f"path {path} normalised to {norm.path} ({policy.name} policy)")
    memo = verdicts(policy)
    if len(memo) >= _VERDICTS_KEPT:
        memo.clear()
    memo[path] = out
    return out

_POLICIES: dict[str, PathPolicy] = {STANDARD.name: STANDARD}


def register_path_policy(policy: PathPolicy) -> None:
    """Declare the normalisation of an implementation (by ``policy.name``)."""
    _POLICIES[policy.name] = policy


def path_policy(name: str) -> PathPolicy | None:
    return _POLICIES.get(name)


def path_policies() -> tuple[str, ...]:
    return tuple(sorted(_POLICIES))


def target_path_policy(emitter: str) -> PathPolicy:
    """The normalisation of the data plane an emitter targets: the policy registered under
    the emitter's name, else :data:`STANDARD` (what ``verify`` routes the converted
    objects with, so path differences show per target)."""
    return _POLICIES.get(emitter, STANDARD)
