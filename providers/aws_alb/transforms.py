"""``transforms.<name>`` as a URLRewrite where the ALB's regex replacement and the Gateway
rewrite give the same result for every request the rule matches; a note where they do not.

* ``host-header-rewrite``: the rule's hostnames are known, so the replacement is computed for
  each; one and the same Host for all of them is a URLRewrite ``hostname`` (exact).
* ``url-rewrite``: an Exact path's replacement is a ReplaceFullPath (exact). For a PathPrefix
  ``/p`` the replacement of ``/p/<rest>`` must keep ``<rest>``; the new prefix is then a
  ReplacePrefixMatch, exact when ``/p`` itself and ``/p/`` come out as the Gateway writes them.

Replacements apply once (the first match), ``$1``/``${1}`` naming the regex's groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ing2gw.ir import PathMatch, PathModifier
from ing2gw.router.filters import modify_path
from ing2gw.router.model import PathModifier as RouterPathModifier

from .actions import Transform

__all__ = ["Rewrite", "apply", "host_rewrite", "path_rewrite"]

_REST = "/ing2gw-rest/x"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What one transform becomes: a hostname or path modifier (None: nothing to carry or
    no Gateway form) and how exact it is (``exact``, ``approximate``, ``unsupported``)."""

    hostname: str | None = None
    path: PathModifier | None = None
    fidelity: str = "exact"
    why: str = ""


def _replacement(text: str) -> str:
    """``$1`` / ``${1}`` references as Python's ``\\g<1>``."""
    return re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", text.replace("\\", "\\\\"))


def apply(t: Transform, text: str) -> str:
    """The ALB's replacement of ``text`` (unchanged when the regex does not match or is invalid)."""
    try:
        return re.sub(t.regex, _replacement(t.replace), text, count=1)
    except (re.error, IndexError):
        return text


def host_rewrite(t: Transform, hostnames: Sequence[str]) -> Rewrite:
    if not hostnames or any("*" in h for h in hostnames):
        return Rewrite(fidelity="unsupported", why="the rule's hosts are not all known names")
    results = {apply(t, h) for h in hostnames}
    if len(results) != 1:
        return Rewrite(fidelity="unsupported", why=f"it gives different hosts ({', '.join(sorted(results))})")
    (host,) = results
    if host in hostnames and len(hostnames) == 1:
        return Rewrite()  # nothing changes
    return Rewrite(hostname=host)


def _replace_prefix(path: str, prefix: str, new: str) -> str:
    """What a Gateway sends for ``path`` under ReplacePrefixMatch (the reference router's rule)."""
    return modify_path(path, RouterPathModifier("ReplacePrefixMatch", new), prefix.rstrip("/"))


def path_rewrite(t: Transform, matches: Sequence[PathMatch]) -> Rewrite:
    kinds = {m.type for m in matches}
    if kinds == {"Exact"}:
        results = {apply(t, m.value) for m in matches}
        if len(results) != 1:
            return Rewrite(fidelity="unsupported", why="it gives different paths for the rule's paths")
        (path,) = results
        return Rewrite(path=PathModifier("ReplaceFullPath", path))
    if kinds != {"PathPrefix"} or len(matches) != 1:
        return Rewrite(fidelity="unsupported", why="a Gateway rewrites a prefix only for a rule with one PathPrefix "
                                                   "match")
    prefix = matches[0].value.rstrip("/") or "/"
    probe = (prefix.rstrip("/") + _REST)
    out = apply(t, probe)
    if not out.endswith(_REST):
        return Rewrite(fidelity="unsupported", why="the replacement does not keep the rest of the path")
    new = out[: -len(_REST)] or "/"
    samples = [prefix.rstrip("/") + s for s in ("", "/", "/a", "/a/b/")] if prefix != "/" else ["/", "/a", "/a/b/"]
    wrong = [s for s in samples if apply(t, s) != _replace_prefix(s, prefix, new)]
    modifier = PathModifier("ReplacePrefixMatch", new)
    if wrong:
        return Rewrite(path=modifier, fidelity="approximate",
                       why=f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} rewritten differently")
    return Rewrite(path=modifier)
