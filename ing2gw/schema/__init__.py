"""Offline validation of Gateway API objects against the vendored CRD schemas and CEL rules.

Every manifest ing2gw emits must be accepted by the API server. :func:`validate` checks one
object the way the API server would on *create*, without a cluster:

* the OpenAPI v3 structural-schema subset Kubernetes uses (``type``, ``properties``,
  ``additionalProperties``, ``required``, ``items``, ``enum``, ``pattern`` (Go RE2 syntax,
  compiled with google-re2), ``minLength``/``maxLength`` (unicode characters),
  ``minimum``/``maximum``, ``minItems``/``maxItems``, ``min``/``maxProperties``, ``format``
  (``int32``, ``int64``, ``date-time``, ``ipv4``, ``ipv6``), ``nullable``, ``default``,
  ``oneOf``/``anyOf``/``allOf``/``not``, ``x-kubernetes-int-or-string``,
  ``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-list-type`` ``set``/``map``).
  Unknown fields are reported: the API server would silently prune them, but emitting one is
  a bug in ing2gw.
* ``metadata`` against the ObjectMeta basics the CRD schema leaves out (name, namespace,
  labels, annotations).
* the ``x-kubernetes-validations`` (CEL) rules, each translated by hand into Python
  (:data:`CEL_RULES` lists every rule message of the CRDs, implemented or skipped and why).

Defaults are applied first, as the API server does, so CEL rules see defaulted values (a
``backendRef`` without ``kind`` is a ``Service`` and needs a ``port``).

The schemas come from ``ing2gw/data/crds/<channel>.json`` (regenerate with
``tools/vendor_crds.py``). Schemas are compiled lazily into closures, once per
(channel, apiVersion, kind).

Tests call :func:`assert_valid` on every manifest they expect to be accepted::

    from ing2gw.schema import assert_valid
    assert_valid(objects, channel="standard")   # AssertionError listing every problem

Layout (one job per module): :mod:`.bundle` (the vendored CRDs), :mod:`.common` (error type
and helpers), :mod:`.structural` (the fast path's schema compiler), :mod:`.meta`
(ObjectMeta), :mod:`.celfast` and :mod:`.celtable` (the hand-translated CEL rules),
:mod:`.builtin` (validate/defaulted/assert_valid for the built-in kinds),
:mod:`.channels` (experimental-only fields); the reference validator that checks the CRDs'
own rules, :mod:`.reference` (jsonschema) with :mod:`.celenv` (cel-python and the Kubernetes
CEL library); :mod:`.crds` (CRDs given with ``--crd`` and the choice of validator for
``ing2gw validate``). ``tests/schema/test_schema_differential.py`` proves the fast path equal to the
reference; x-k8s.io kinds whose rules have no hand translation are checked by the reference.
"""

from __future__ import annotations

from .builtin import assert_valid, defaulted, describe, validate, validate_value
from .bundle import CHANNELS, GATEWAY_API_GROUPS, KindInfo, bundle_version, kind_info, known_kinds
from .celfast import parse_duration
from .celtable import CEL_RULES, CEL_RULES_SHA256, CelRule
from .channels import experimental_only_fields, requires_experimental
from .common import SchemaError

__all__ = [
    "CEL_RULES",
    "CEL_RULES_SHA256",
    "CHANNELS",
    "GATEWAY_API_GROUPS",
    "CelRule",
    "KindInfo",
    "SchemaError",
    "assert_valid",
    "bundle_version",
    "defaulted",
    "describe",
    "experimental_only_fields",
    "kind_info",
    "known_kinds",
    "parse_duration",
    "requires_experimental",
    "validate",
    "validate_value",
]
