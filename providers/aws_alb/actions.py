"""``actions.<name>``, ``conditions.<name>`` and ``transforms.<name>``: the controller's JSON
annotations as typed values.

Field names are matched ignoring case, as Go's JSON decoder does (``TargetGroupArn`` and
``targetGroupARN`` are one field). Port numbers may be strings or numbers. A value of the
wrong shape raises :class:`ValueError` with the controller's own wording where it has one;
the caller turns that into a note and the path answers what the controller answers for a
broken action (its rule is not built).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Action",
    "Condition",
    "FixedResponse",
    "Redirect",
    "TargetGroup",
    "Transform",
    "parse_action",
    "parse_conditions",
    "parse_transforms",
]

CONDITION_FIELDS = ("host-header", "path-pattern", "http-header", "http-request-method", "query-string",
                    "source-ip")


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """One target group of a forward action: a Service port, or an AWS target group (ARN or name)."""

    service: str | None = None
    port: int | str | None = None  # number, or a Service port name
    arn: str | None = None
    name: str | None = None
    weight: int | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    """``redirectConfig``: fields left unset keep the request's own (``#{host}`` ...)."""

    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"
    status: int = 301


@dataclass(frozen=True, slots=True)
class FixedResponse:
    status: int
    content_type: str = ""
    body: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    type: Literal["forward", "redirect", "fixed-response"]
    targets: tuple[TargetGroup, ...] = ()
    stickiness_seconds: int | None = None  # targetGroupStickinessConfig enabled
    redirect: Redirect | None = None
    fixed: FixedResponse | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """One rule condition. ``values`` are ALB patterns (``*`` and ``?``; for query-string
    ``key=value`` pairs as (key or None, value)); ``regex_values`` ALB regular expressions."""

    field: str
    values: tuple[str, ...] = ()
    regex_values: tuple[str, ...] = ()
    header: str = ""  # http-header name
    query: tuple[tuple[str | None, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Transform:
    type: Literal["url-rewrite", "host-header-rewrite"]
    regex: str
    replace: str


def _fold(value: Any) -> Any:
    """JSON objects with lower-cased keys (Go matches struct fields ignoring case)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): _fold(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold(v) for v in value]
    return value


def _str(obj: Mapping[str, Any], key: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str | int) or isinstance(v, bool):
        raise ValueError(f"{key} must be a string")
    return str(v)


def _port(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("servicePort must be a number or a port name")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    raise ValueError("servicePort must be a number or a port name")


def _status(text: str | None, prefix: str, default: int) -> int:
    if text is None:
        return default
    body = text[len(prefix):] if text.startswith(prefix) else text
    if not body.isdigit():
        raise ValueError(f"invalid status code {text!r}")
    return int(body)


def parse_action(raw: Any) -> Action:
    """An ``actions.<name>`` value (already JSON-decoded)."""
    obj = _fold(raw)
    if not isinstance(obj, Mapping):
        raise ValueError("an action must be a JSON object")
    kind = obj.get("type")
    if kind == "forward":
        cfg = obj.get("forwardconfig")
        if cfg is None:
            if obj.get("targetgrouparn"):
                return Action("forward", (TargetGroup(arn=str(obj["targetgrouparn"])),))
            if obj.get("targetgroupname"):
                return Action("forward", (TargetGroup(name=str(obj["targetgroupname"])),))
            raise ValueError("forward action needs forwardConfig, targetGroupARN or targetGroupName")
        if not isinstance(cfg, Mapping) or not isinstance(cfg.get("targetgroups"), list) or not cfg["targetgroups"]:
            raise ValueError("forwardConfig.targetGroups must be a non-empty list")
        targets: list[TargetGroup] = []
        for tg in cfg["targetgroups"]:
            if not isinstance(tg, Mapping):
                raise ValueError("a target group must be an object")
            weight = tg.get("weight")
            if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int) or weight < 0):
                raise ValueError("weight must be a non-negative integer")
            targets.append(TargetGroup(service=_str(tg, "servicename"), port=_port(tg.get("serviceport")),
                                       arn=_str(tg, "targetgrouparn"), name=_str(tg, "targetgroupname"),
                                       weight=weight))
            if targets[-1].service is None and targets[-1].arn is None and targets[-1].name is None:
                raise ValueError("a target group needs serviceName, targetGroupARN or targetGroupName")
        sticky = cfg.get("targetgroupstickinessconfig")
        seconds = None
        if isinstance(sticky, Mapping) and sticky.get("enabled") is True:
            seconds = int(sticky.get("durationseconds") or 3600)
        return Action("forward", tuple(targets), stickiness_seconds=seconds)
    if kind == "redirect":
        cfg = obj.get("redirectconfig")
        if not isinstance(cfg, Mapping):
            raise ValueError("redirect action needs redirectConfig")
        d = Redirect()
        status = _status(_str(cfg, "statuscode"), "HTTP_", 0)
        if status not in (301, 302):
            raise ValueError("redirect statusCode must be HTTP_301 or HTTP_302")
        return Action("redirect", redirect=Redirect(
            protocol=_str(cfg, "protocol") or d.protocol, host=_str(cfg, "host") or d.host,
            port=_str(cfg, "port") or d.port, path=_str(cfg, "path") or d.path,
            query=_str(cfg, "query") or d.query if cfg.get("query") is None else str(cfg["query"]), status=status))
    if kind == "fixed-response":
        cfg = obj.get("fixedresponseconfig")
        if not isinstance(cfg, Mapping):
            raise ValueError("fixed-response action needs fixedResponseConfig")
        status = _status(_str(cfg, "statuscode"), "", 0)
        if not 200 <= status <= 599:
            raise ValueError("fixed-response statusCode must be 2XX, 4XX or 5XX")
        return Action("fixed-response", fixed=FixedResponse(status, _str(cfg, "contenttype") or "",
                                                            _str(cfg, "messagebody") or ""))
    raise ValueError(f"unknown action type {kind!r}")


def _strings(cfg: Mapping[str, Any], key: str) -> tuple[str, ...]:
    v = cfg.get(key)
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(v)


def parse_conditions(raw: Any) -> tuple[Condition, ...]:
    """A ``conditions.<name>`` value (already JSON-decoded): a list of conditions."""
    items = _fold(raw)
    if not isinstance(items, list):
        raise ValueError("conditions must be a JSON list")
    out: list[Condition] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError("a condition must be an object")
        fld = item.get("field")
        if fld not in CONDITION_FIELDS:
            raise ValueError(f"unknown condition field {fld!r}")
        key = {"host-header": "hostHeaderConfig", "path-pattern": "pathPatternConfig",
               "http-header": "httpHeaderConfig", "http-request-method": "httpRequestMethodConfig",
               "query-string": "queryStringConfig", "source-ip": "sourceIpConfig"}[fld]
        cfg = item.get(key.lower())
        if not isinstance(cfg, Mapping):
            raise ValueError(f"missing {key[0].upper()}{key[1:]}")
        values = _strings(cfg, "values") if fld != "query-string" else ()
        regex = _strings(cfg, "regexvalues")
        if values and regex:
            raise ValueError(f"invalid {key}: precisely one of values and regexValues can be specified")
        if fld == "query-string":
            pairs = cfg.get("values")
            if not isinstance(pairs, list) or not pairs:
                raise ValueError("query-string needs values")
            query = []
            for p in pairs:
                if not isinstance(p, Mapping) or not isinstance(p.get("value"), str):
                    raise ValueError("query-string values are {key, value} objects")
                k = p.get("key")
                query.append((str(k) if k is not None else None, str(p["value"])))
            out.append(Condition(fld, query=tuple(query)))
            continue
        if not values and not regex:
            raise ValueError(f"invalid {key}: values or regexValues must be specified")
        if fld == "source-ip":
            for v in values:
                try:
                    ipaddress.ip_network(v, strict=False)
                except ValueError:
                    raise ValueError(f"{v!r} is not a CIDR") from None
        header = ""
        if fld == "http-header":
            header = str(cfg.get("httpheadername") or "")
            if not header:
                raise ValueError("http-header condition needs httpHeaderName")
        out.append(Condition(fld, values, regex, header))
    return tuple(out)


def parse_transforms(raw: Any) -> tuple[Transform, ...]:
    """A ``transforms.<name>`` value (already JSON-decoded): url-rewrite / host-header-rewrite."""
    items = _fold(raw)
    if not isinstance(items, list):
        raise ValueError("transforms must be a JSON list")
    out: list[Transform] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError("a transform must be an object")
        kind = item.get("type")
        key = {"url-rewrite": "urlRewriteConfig", "host-header-rewrite": "hostHeaderRewriteConfig"}.get(str(kind))
        if key is None:
            raise ValueError(f"unknown transform type: {kind}")
        cfg = item.get(key.lower())
        if cfg is None:
            raise ValueError(f"missing {key}")
        rewrites = cfg.get("rewrites") if isinstance(cfg, Mapping) else None
        if not isinstance(rewrites, list) or len(rewrites) != 1 or not isinstance(rewrites[0], Mapping):
            raise ValueError(f"{kind} needs exactly one rewrite")
        rw = rewrites[0]
        out.append(Transform(kind, str(rw.get("regex") or ""), str(rw.get("replace") or "")))  # type: ignore[arg-type]
    return tuple(out)
