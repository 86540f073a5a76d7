"""CustomResourceDefinitions given by the user (``--crd FILE|DIR``) and the choice of the
validator for each object: such a CRD, else the built-in Gateway API bundle, else none.

Built-in Gateway API kinds are checked on the fast path (:mod:`.builtin`, proven equal to
the CRDs' own rules by the differential test) unless ``reference`` asks for the CRDs' rules
themselves (:mod:`.reference`: jsonschema and cel-python, about 100 times slower). Kinds of a
given CRD always go through the reference validator, CEL rules included. A CRD given with
``--crd`` wins over the built-in bundle for the same apiVersion and kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..yamlio import Document
from .builtin import describe
from .builtin import validate as validate_builtin
from .bundle import GATEWAY_API_GROUPS, _data, _kind_info, _schema
from .common import SchemaError
from .reference import reference_validator


@dataclass(frozen=True)
class CrdVersion:
    """One served version of a CRD: what validates ``apiVersion``/``kind`` objects."""

    api_version: str
    kind: str
    scope: str
    status_subresource: bool
    schema: Mapping[str, Any]
    origin: str  # file:line of the CRD


def crd_versions(docs: Iterable[Document]) -> dict[tuple[str, str], CrdVersion]:
    """The served versions of every CustomResourceDefinition in ``docs`` (other kinds are
    ignored). Raises InputError (file:line) for a CRD without group, kind or schema."""
    found: dict[tuple[str, str], CrdVersion] = {}
    for doc in docs:
        obj = doc.obj
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec")
        if not isinstance(spec, Mapping):
            raise InputError(f"{doc.origin}: CustomResourceDefinition without spec")
        group = spec.get("group")
        names = spec.get("names")
        kind = names.get("kind") if isinstance(names, Mapping) else None
        if not isinstance(group, str) or not isinstance(kind, str):
            raise InputError(f"{doc.where('spec.names')}: CustomResourceDefinition without "
                             "spec.group or spec.names.kind")
        scope = str(spec.get("scope") or "Namespaced")
        for index, version in enumerate(spec.get("versions") or ()):
            if not isinstance(version, Mapping) or not version.get("served", True):
                continue
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if not isinstance(schema, Mapping):
                raise InputError(f"{doc.where(f'spec.versions[{index}]')}: {kind} "
                                 f"{version.get('name')}: no schema.openAPIV3Schema")
            status = "status" in ((version.get("subresources") or {}) or {})
            api_version = f"{group}/{version.get('name')}"
            found[(api_version, kind)] = CrdVersion(api_version, kind, scope, status, schema,
                                                     doc.origin)
    return found


class Schemas:
    """The validators ``ing2gw validate`` chooses from."""

    def __init__(self, crds: Mapping[tuple[str, str], CrdVersion], channel: str = "standard",
                 reference: bool = False) -> None:
        self.crds = crds
        self.channel = channel
        self.reference = reference
        _data(channel)  # refuses an unknown channel

    def validate(self, obj: Mapping[str, Any]) -> list[SchemaError] | None:
        """The problems of ``obj``; None when no schema knows its apiVersion and kind."""
        key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        crd = self.crds.get(key)
        if crd is not None:
            return reference_validator(crd.schema, crd.kind, crd.scope,
                                       crd.status_subresource).validate(obj)
        if not self.builtin_kind(obj):
            return None
        if self.reference:
            schema = _schema(self.channel, *key)
            if schema is not None:
                info = _kind_info(self.channel, key[1])
                return reference_validator(schema, info.kind, info.scope,
                                           info.status_subresource).validate(obj)
        return validate_builtin(obj, self.channel)

    def builtin_kind(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` claims a Gateway API group (its version may still be unknown)."""
        return str(obj.get("apiVersion", "")).rpartition("/")[0] in GATEWAY_API_GROUPS


@dataclass(frozen=True)
class Finding:
    """One line of ``ing2gw validate``: an object's problem, or that no schema knows it."""

    where: str  # file:line
    subject: str  # Kind namespace/name
    path: str  # field path ("" for the object)
    message: str
    index: int  # of the document in the input
    no_schema: bool = False

    def __str__(self) -> str:
        at = f"{self.path}: " if self.path else ""
        return f"{self.where}: {self.subject}: {at}{self.message}"


def check_documents(docs: Iterable[Document], schemas: Schemas) -> list[Finding]:
    """Every problem of every document, in input order (one bad object never hides others)."""
    findings: list[Finding] = []
    for index, doc in enumerate(docs):
        subject = describe(doc.obj)
        errors = schemas.validate(doc.obj)
        if errors is None:
            findings.append(Finding(doc.origin, subject, "", "no schema: not a Gateway API kind "
                                    "and no --crd defines it", index, no_schema=True))
            continue
        findings.extend(Finding(doc.where(e.path), subject, e.path, e.message, index)
                        for e in errors)
    return findings


def validate_output(manifests: Iterable[Mapping[str, Any]], channel: str,
                    crds: Mapping[tuple[str, str], CrdVersion] | None = None) -> list[str]:
    """``<output>: Kind namespace/name: path: message`` for every problem in converted
    manifests (``convert --validate``); empty when the API server would accept them all.
    ``crds`` validates the kinds of an implementation emitter too (its vendored CRDs)."""
    schemas = Schemas(crds or {}, channel)
    problems: list[str] = []
    for obj in manifests:
        errors = schemas.validate(obj)
        if errors is None:
            continue  # not a Gateway API kind (e.g. a provider's own policy without its CRD)
        problems.extend(f"<output>: {describe(obj)}: invalid: {error}" for error in errors)
    return problems
