"""What one Ingress backend means to the controller (its "enhanced backend"): the action, the
extra conditions and transforms named after the backend's service, and the authentication.

* A backend whose port name is ``use-annotation`` takes ``actions.<service>``; a missing one
  answers ``fixed-response 503`` ("Backend action does not exist"), as the controller does with
  its default ``tolerate-non-existent-backend-action``; any other backend forwards to the
  Service port, or answers 503 ("Backend service does not exist") when the input has Services
  and not this one (``tolerate-non-existent-backend-service``, also on by default).
* ``conditions.<service>`` and ``transforms.<service>`` apply to the paths of that backend.
* ``auth-*`` and ``jwt-validation`` are read from the Service, else from the Ingress.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ing2gw.notes import Fidelity, Level, Note, Notes, Scope
from ing2gw.resources import Ingress, IngressBackend, ResourceSet

from .actions import (
    Action,
    Condition,
    FixedResponse,
    TargetGroup,
    Transform,
    parse_action,
    parse_conditions,
    parse_transforms,
)
from .annotations import PREFIX

__all__ = ["AuthConfig", "EnhancedBackend", "enhanced_backend", "missing_backend_action"]

_AUTH_KEYS = ("auth-type", "auth-idp-cognito", "auth-idp-oidc", "auth-on-unauthenticated-request", "auth-scope",
              "auth-session-cookie", "auth-session-timeout")


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """ALB authentication of a rule: ``type`` none, oidc or cognito; ``jwt`` a JWT validation."""

    type: str = "none"
    on_unauthenticated: str = "authenticate"
    idp: Mapping[str, Any] | None = None
    scope: str = "openid"
    session_cookie: str = "AWSELBAuthSessionCookie"
    session_timeout: int = 604800
    jwt: Mapping[str, Any] | None = None
    source: str = "Ingress"  # where it was read: "Ingress" or "Service ns/name"

    @property
    def active(self) -> bool:
        return self.type != "none" or self.jwt is not None


@dataclass(frozen=True, slots=True)
class EnhancedBackend:
    action: Action
    conditions: tuple[Condition, ...] = ()
    transforms: tuple[Transform, ...] = ()
    auth: AuthConfig = AuthConfig()
    missing: str = ""  # why the action is the controller's 503 ("" when it is not)


def missing_backend_action(message: str) -> Action:
    return Action("fixed-response", fixed=FixedResponse(503, "text/plain", message))


def _note(notes: Notes, ing: Ingress, code: str, level: Level, message: str, fld: str, instead: str,
          scope: Scope) -> None:
    notes.add(Note(code=f"ALB-{code}", level=level, message=message, subject=ing.subject, field=fld,
                   instead=instead, origin=ing.origin, aspects=frozenset({"status", "backend"}), scope=scope,
                   fidelity=Fidelity.EXACT if level is Level.WARNING else None))


def _jwt(raw: str) -> Mapping[str, Any]:
    """A ``jwt-validation`` value, checked as the controller checks it (``ValueError``)."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"failed to parse json annotation, {PREFIX}/jwt-validation: {raw}: {exc.msg}") from None
    if not isinstance(parsed, Mapping):
        raise ValueError("jwt-validation must be a JSON object")
    for key in ("jwksEndpoint", "issuer"):
        if not parsed.get(key):
            raise ValueError(f"{key} is a required field for jwt validation")
    for claim in parsed.get("additionalClaims") or []:
        for key in ("format", "name", "values"):
            if not isinstance(claim, Mapping) or not claim.get(key):
                raise ValueError(f"{key} is a required field for additional claims for jwt validation")
    return parsed


def _auth(ing: Ingress, backend: IngressBackend, resources: ResourceSet, notes: Notes) -> AuthConfig:
    svc = resources.services.get((ing.namespace, backend.service or ""))
    svc_ann: Mapping[str, str] = svc.annotations if svc is not None else {}

    def get(key: str) -> tuple[str | None, str]:
        full = f"{PREFIX}/{key}"
        if full in svc_ann:
            return svc_ann[full], f"Service {ing.namespace}/{backend.service}"
        return ing.annotations.get(full), "Ingress"

    kind, source = get("auth-type")
    jwt_raw, jwt_source = get("jwt-validation")
    if (kind in (None, "none")) and jwt_raw is None:
        return AuthConfig()
    idp: Mapping[str, Any] | None = None
    if kind in ("oidc", "cognito"):
        raw, _ = get(f"auth-idp-{kind}")
        try:
            parsed = json.loads(raw) if raw else None
            idp = parsed if isinstance(parsed, Mapping) else None
        except json.JSONDecodeError:
            idp = None
    jwt = _jwt(jwt_raw) if jwt_raw is not None else None
    timeout_raw, _ = get("auth-session-timeout")
    try:
        timeout = int(timeout_raw) if timeout_raw else 604800
    except ValueError:
        timeout = 604800
    return AuthConfig(type=kind or "none", on_unauthenticated=get("auth-on-unauthenticated-request")[0] or
                      "authenticate", idp=idp, scope=get("auth-scope")[0] or "openid",
                      session_cookie=get("auth-session-cookie")[0] or "AWSELBAuthSessionCookie",
                      session_timeout=timeout, jwt=jwt, source=source if kind not in (None, "none") else jwt_source)


def enhanced_backend(ing: Ingress, backend: IngressBackend, resources: ResourceSet, notes: Notes, fld: str,
                     scope: Scope) -> EnhancedBackend | None:
    """The controller's reading of one backend; None (with an error note) where it fails."""
    if backend.service is None:
        _note(notes, ing, "BACKEND-RESOURCE", Level.ERROR, "missing required \"service\" field", fld,
              "path skipped (the controller fails the whole group)", scope)
        return None
    name = backend.service
    conditions: tuple[Condition, ...] = ()
    transforms: tuple[Transform, ...] = ()
    for family in ("conditions", "transforms"):
        key = f"{PREFIX}/{family}.{name}"
        raw = ing.annotations.get(key)
        if raw is None:
            continue
        try:
            if family == "conditions":
                conditions = parse_conditions(json.loads(raw))
            else:
                transforms = parse_transforms(json.loads(raw))
        except (ValueError, TypeError) as exc:
            _note(notes, ing, f"{family.upper()}-INVALID", Level.ERROR, f"invalid {family}: {exc}", key,
                  "path skipped (the controller fails the whole group)", scope)
            return None
    try:
        auth = _auth(ing, backend, resources, notes)
    except ValueError as exc:
        _note(notes, ing, "AUTH-INVALID", Level.ERROR, str(exc), f"{PREFIX}/jwt-validation",
              "path skipped (the controller fails the whole group)", scope)
        return None
    if backend.port_name == "use-annotation":
        key = f"{PREFIX}/actions.{name}"
        raw = ing.annotations.get(key)
        if raw is None:
            _note(notes, ing, "ACTION-MISSING", Level.WARNING, f"missing actions.{name} configuration", key,
                  "the controller answers 503 (Backend action does not exist); so does the conversion", scope)
            return EnhancedBackend(missing_backend_action("Backend action does not exist"), conditions, transforms,
                                   auth, missing="action")
        try:
            action = parse_action(json.loads(raw))
        except (ValueError, TypeError) as exc:
            _note(notes, ing, "ACTION-INVALID", Level.ERROR, f"invalid action: {exc}", key,
                  "path skipped (the controller fails the whole group)", scope)
            return None
        return EnhancedBackend(action, conditions, transforms, auth)
    if resources.has_services and (ing.namespace, name) not in resources.services:
        _note(notes, ing, "BACKEND-SERVICE-MISSING", Level.WARNING,
              f"Service {ing.namespace}/{name} is not in the input", fld,
              "the controller answers 503 (Backend service does not exist); so does the conversion", scope)
        return EnhancedBackend(missing_backend_action("Backend service does not exist"), conditions, transforms,
                               auth, missing="service")
    port: int | str | None = backend.port_number if backend.port_number is not None else backend.port_name
    return EnhancedBackend(Action("forward", (TargetGroup(service=name, port=port),)), conditions, transforms, auth)
