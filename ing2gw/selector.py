"""kubectl-style label selectors (``-l``): parsing ``a=b,c!=d,e in (x,y),!f,g`` and matching
an object's labels, as ``kubectl get -l`` does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import UsageError

__all__ = ["LabelSelector"]

_SEL_TOKEN = re.compile(
    r"\s*(?:(?P<neg>!)\s*(?P<nkey>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|!=|=)\s*(?P<val>[\w.-]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<set>[^)]*)\))?)\s*(?:,|$)"
)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed kubectl-style label selector: ``a=b,c!=d,e in (x,y),!f,g``."""

    requirements: tuple[tuple[str, str, frozenset[str]], ...]

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        reqs: list[tuple[str, str, frozenset[str]]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _SEL_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise UsageError(f"invalid label selector {text!r} near {text[pos:]!r}")
            pos = m.end()
            if m.group("neg"):
                reqs.append((m.group("nkey"), "!", frozenset()))
            elif m.group("op"):
                op = "!=" if m.group("op") == "!=" else "="
                reqs.append((m.group("key"), op, frozenset([m.group("val")])))
            elif m.group("setop"):
                values = frozenset(v.strip() for v in m.group("set").split(",") if v.strip())
                reqs.append((m.group("key"), m.group("setop"), values))
            else:
                reqs.append((m.group("key"), "exists", frozenset()))
        return cls(tuple(reqs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, op, values in self.requirements:
            present = key in labels
            value = labels.get(key)
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
            if op in ("=", "in") and (not present or value not in values):
                return False
            if op in ("!=", "notin") and present and value in values:
                return False
        return True
