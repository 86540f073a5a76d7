"""The nginx ``server`` blocks the F5 NGINX Ingress Controller's VirtualServer template would
write, for a stock nginx (the oracle's), from the VirtualServer, VirtualServerRoute and Policy
objects themselves -- not from the model (:mod:`.vsmodel`), so that real nginx checks it.

Following the controller's template (``nginx.virtualserver.tmpl``) and its generator's facts:

* one server per VirtualServer host no Ingress took first (the oldest VirtualServer by
  namespace/name keeps a host); ``tls.secret`` adds the HTTPS listener; ``tls.redirect``
  returns ``code https://$host$request_uri`` when ``$scheme`` (or ``$http_x_forwarded_proto``
  for ``basedOn: x-forwarded-proto``) is ``http``;
* the Policies of ``spec.policies`` at server level, a route's (or subroute's) replacing them
  type by type at location level: ``accessControl`` -> ``allow``/``deny`` with ``deny all`` /
  ``allow all``; ``basicAuth`` -> ``auth_basic`` (the oracle's htpasswd file); a reference to a
  Policy missing from the input, or holding no single known type, -> ``return 500``;
* a route path is the location as written (``/p``, ``=/p``, ``~ re``, ``~* re``, ``^~ /p``);
  ``action.pass`` and ``action.proxy`` proxy to the upstream (``rewritePath``: the proxied URI
  with the location's prefix replaced; request headers set, response headers added) with the
  upstream's ``client-max-body-size``, else the ConfigMap's, else 1m; ``redirect`` and
  ``return`` answer after the access checks, as the controller's 418 detour does (a proxy to a
  server answering 418, turned by ``error_page`` into the redirect or the named location's
  text) with no ``client_max_body_size`` of their own;
* ``splits`` -> ``split_clients`` on ``$request_id`` and ``matches`` -> ``map`` chains (header,
  argument, cookie, variable conditions; ``!`` negates), each rewriting to an internal location
  per action that proxies ``$request_uri``;
* with ``rate_limits``, the ``rateLimit`` policies' ``limit_req`` (a zone per Policy and the
  resource referencing it; the first Policy's ``rejectCode``, default 503, and ``dryRun``).

Each proxying location names itself and its Service in request headers as :mod:`.nginxconf`'s
do. Not written: error pages, snippets, other policy types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.kinds import KubeObject

__all__ = ["VSConf", "vs_conf"]

_SIZE = re.compile(r"[0-9]+[kKmMgG]?")
_TYPES = ("accessControl", "rateLimit", "apiKey", "basicAuth", "jwt", "ingressMTLS", "egressMTLS", "oidc",
          "oidcNative", "cache", "cors", "waf", "externalAuth", "hsts")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class VSConf:
    """What the VirtualServers add to the oracle's nginx.conf: http-level blocks, servers, and
    what each proxying location is (the model's JSON form)."""

    http: list[str] = field(default_factory=list)  # maps, split_clients
    servers: list[tuple[str, bool, list[str]]] = field(default_factory=list)  # (host, tls, lines)
    locations: dict[str, dict[str, str | None]] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Writer:
    conf: VSConf
    policies: Mapping[tuple[str, str], KubeObject]
    body: str  # the ConfigMap's client-max-body-size (else 1m)
    rate_limits: bool = False  # write the rateLimit policies' limit_req (an oracle replaying once: no)
    counter: int = 0

    def new(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # --- policies ------------------------------------------------------------------------

    def _resolved(self, obj: KubeObject, refs: Any) -> tuple[dict[str, list[tuple[str, Mapping[str, Any]]]], bool]:
        """The policy sections ``refs`` name, by type, each with the name of its zone (a Policy
        referenced from ``obj``); and whether one is missing or invalid."""
        found: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        broken = False
        for ref in refs if isinstance(refs, list) else []:
            if not isinstance(ref, Mapping) or not ref.get("name"):
                broken = True
                continue
            key = (str(ref.get("namespace") or obj.namespace), str(ref["name"]))
            policy = self.policies.get(key)
            kinds = [t for t in _TYPES if policy is not None and isinstance(policy.spec.get(t), Mapping)]
            if policy is None or len(kinds) != 1:
                broken = True
                continue
            zone = re.sub(r"[^A-Za-z0-9_]", "_", f"pol_rl_{key[0]}_{key[1]}_{obj.namespace}_{obj.name}")
            found.setdefault(kinds[0], []).append((zone, policy.spec[kinds[0]]))
        return found, broken

    def _policy_lines(self, found: Mapping[str, list[tuple[str, Mapping[str, Any]]]], broken: bool) -> list[str]:
        lines = ["return 500;"] if broken else []
        access = [spec for _, spec in found.get("accessControl") or []]
        allow = [str(a) for spec in access for a in spec.get("allow") or []]
        deny = [str(d) for spec in access for d in spec.get("deny") or []]
        if allow:
            lines += [*(f"allow {a};" for a in allow), "deny all;"]
        elif deny:
            lines += [*(f"deny {d};" for d in deny), "allow all;"]
        limits = found.get("rateLimit") or []
        if self.rate_limits and limits:
            first = limits[0][1]
            lines.append(f"limit_req_status {int(first.get('rejectCode') or 503)};")
            if first.get("dryRun"):
                lines.append("limit_req_dry_run on;")
            for zone, spec in limits:
                zone_line = f"limit_req_zone {spec.get('key')} zone={zone}:1m rate={spec.get('rate')};"
                if zone_line not in self.conf.http:
                    self.conf.http.append(zone_line)
                burst = f" burst={int(spec['burst'])}" if spec.get("burst") else ""
                lines.append(f"limit_req zone={zone}{burst}{' nodelay' if spec.get('noDelay') else ''};")
        for _, spec in (found.get("basicAuth") or [])[:1]:
            lines += [f"auth_basic {_quote(str(spec.get('realm') or ''))};", "auth_basic_user_file @PREFIX@/htpasswd;"]
        return lines

    # --- actions -------------------------------------------------------------------------

    def _proxy(self, obj: KubeObject, route_path: str, path: str, modifier: str, action: Mapping[str, Any],
               upstreams: Mapping[str, Mapping[str, Any]], internal: bool) -> list[str] | None:
        proxy = _map(action.get("proxy"))
        up = upstreams.get(str(action.get("pass") or proxy.get("upstream")))
        if up is None or not isinstance(up.get("service"), str):
            return None
        backend = f"{obj.namespace}/{up['service']}:{up.get('port')}"
        loc_id = self.new("vs")
        self.conf.locations[loc_id] = {"ingress": obj.ref, "path": route_path}
        given = str(up.get("client-max-body-size") or "").strip()
        lines = [f"client_max_body_size {given if _SIZE.fullmatch(given) else self.body};"]
        for header in (proxy.get("requestHeaders") or {}).get("set") or []:
            lines.append(f"proxy_set_header {header.get('name')} {_quote(str(header.get('value')))};")
        for header in (proxy.get("responseHeaders") or {}).get("add") or []:
            lines.append(f"add_header {header.get('name')} {_quote(str(header.get('value')))};")
        lines += ["proxy_set_header Host $host;", f'proxy_set_header X-Ing2gw-Backend "{backend}";',
                  f"proxy_set_header X-Ing2gw-Location {loc_id};"]
        rewrite = proxy.get("rewritePath")
        if internal:
            lines.append("proxy_pass http://@UPSTREAM@$request_uri;")
        elif isinstance(rewrite, str) and modifier in ("", "=", "^~"):
            lines.append(f"proxy_pass http://@UPSTREAM@{rewrite};")
        else:
            lines.append("proxy_pass http://@UPSTREAM@;")
        return lines

    def _answer(self, action: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """A redirect or return action: the location's lines and a named location, if any."""
        lines = ["proxy_intercept_errors on;", "proxy_pass http://unix:@PREFIX@/vs-418.sock;"]
        if "redirect" in action:
            red = _map(action["redirect"])
            url = str(red.get("url", "")).replace("${request_uri}", "$request_uri").replace(
                "${host}", "$host").replace("${scheme}", "$scheme")
            return [f"error_page 418 ={int(red.get('code') or 301)} {_quote(url)};", *lines], []
        ret = _map(action["return"])
        name = self.new("@vs_return_")
        named = [f"location {name} {{", f"    default_type {_quote(str(ret.get('type') or 'text/plain'))};",
                 f"    return 200 {_quote(str(ret.get('body') or ''))};", "}"]
        return [f"error_page 418 ={int(ret.get('code') or 200)} {name};", *lines], named

    def _target(self, obj: KubeObject, route_path: str, path: str, modifier: str, item: Mapping[str, Any],
                upstreams: Mapping[str, Mapping[str, Any]], internal: bool) -> tuple[list[str], list[str]] | None:
        action = _map(item.get("action"))
        if "redirect" in action or "return" in action:
            return self._answer(action)
        lines = self._proxy(obj, route_path, path, modifier, action, upstreams, internal)
        return (lines, []) if lines is not None else None

    # --- routes --------------------------------------------------------------------------

    def route(self, obj: KubeObject, route: Mapping[str, Any], upstreams: Mapping[str, Mapping[str, Any]],
              policy_lines: list[str]) -> list[str]:
        """The location(s) of one route of ``obj``."""
        text = str(route.get("path", "")).strip()
        modifier, path = "", text
        for prefix in ("=", "~*", "~", "^~"):
            if text.startswith(prefix):
                modifier, path = prefix, text[len(prefix):].strip()
                break
        directive = {"=": f"= {path}", "~": f"~ {_quote(path)}", "~*": f"~* {_quote(path)}",
                     "^~": f"^~ {path}"}.get(modifier, path)
        choices: list[tuple[str, Mapping[str, Any]]] = []  # (internal location, item)
        matches = [m for m in route.get("matches") or [] if isinstance(m, Mapping)]
        out: list[str] = []
        if matches or "splits" in route:
            variable = self.new("$vs_choice_")
            if matches:
                flags = []
                for m in matches:
                    conds = []
                    for cond in m.get("conditions") or []:
                        source = next((self._source(k, str(cond[k])) for k in ("header", "argument", "cookie",
                                                                                "variable") if k in cond), None)
                        if source is None:
                            continue
                        value = str(cond.get("value", ""))
                        flag = self.new("$vs_cond_")
                        hit, miss = ("0", "1") if value.startswith("!") else ("1", "0")
                        wanted = value[1:] if value.startswith("!") else value.removeprefix("\\")
                        self.conf.http += [f"map {source} {flag} {{", f"    {_quote(wanted)} {hit};",
                                           f"    default {miss};", "}"]
                        conds.append(flag)
                    flags.append("".join(conds) or "1")
                    choices.append((self.new("/vs_internal_"), m))
                choices.append((self.new("/vs_internal_"), route))
                all_flags = "".join(f"${{{f[1:]}}}" if f.startswith("$") else f for f in
                                    (self._all(f) for f in flags))
                entries = [f"    ~^{'0' * n}1 {choices[n][0]};" for n in range(len(flags))]
                self.conf.http += [f"map {_quote(all_flags)} {variable} {{", *entries,
                                   f"    default {choices[-1][0]};", "}"]
                items = choices
            else:
                items = [(self.new("/vs_internal_"), split) for split in route["splits"] if isinstance(split, Mapping)]
                weighted = [(loc, int(split.get("weight", 0))) for loc, split in items if int(split.get("weight", 0))]
                total = sum(w for _, w in weighted) or 1
                shares = [f"    {round(w * 100 / total, 2):g}% {loc};" for loc, w in weighted[:-1]]
                shares += [f"    * {loc};" for loc, _ in weighted[-1:]]
                self.conf.http += [f'split_clients "$request_id" {variable} {{', *shares, "}"]
            out += [f"location {directive} {{", f"    rewrite ^ {variable} last;", "}"]
            for loc, item in items:
                if "splits" in item:  # a match (or the route's default) with splits: its first split
                    item = next((sp for sp in item["splits"] if isinstance(sp, Mapping)), {})
                done = self._target(obj, text, path, modifier, item, upstreams, True)
                if done is None:
                    continue
                lines, named = done
                out += [f"location {loc} {{", "    internal;", *("    " + p for p in policy_lines),
                        *("    " + line for line in lines), "}", *named]
            return out
        done = self._target(obj, text, path, modifier, route, upstreams, False)
        if done is None:
            return []
        lines, named = done
        return [f"location {directive} {{", *("    " + p for p in policy_lines), *("    " + line for line in lines),
                "}", *named]

    def _all(self, conds: str) -> str:
        """One flag set to 1 when every condition flag of a match is 1."""
        if conds == "1":
            return "1"
        flag = self.new("$vs_match_")
        parts = conds.split("$")[1:]
        joined = "".join(f"${{{p}}}" for p in parts)
        self.conf.http += [f"map {_quote(joined)} {flag} {{", f"    {_quote('1' * len(parts))} 1;", "    default 0;",
                           "}"]
        return flag

    @staticmethod
    def _source(kind: str, name: str) -> str:
        if kind == "header":
            return "$http_" + name.lower().replace("-", "_")
        if kind == "argument":
            return "$arg_" + name
        if kind == "cookie":
            return "$cookie_" + name
        return name if name.startswith("$") else "$" + name


def vs_conf(objects: Sequence[KubeObject], taken: set[str], config: Mapping[str, str] | None = None,
            rate_limits: bool = False) -> VSConf:
    """The servers of the VirtualServers whose host no Ingress (``taken``) has (``rate_limits``:
    with the ``limit_req`` of their rateLimit policies)."""
    conf = VSConf()
    body = str((config or {}).get("client-max-body-size", "")).strip()
    policies = {(o.namespace, o.name): o for o in objects if o.kind.kind == "Policy"}
    vsrs = {(o.namespace, o.name): o for o in objects if o.kind.kind == "VirtualServerRoute"}
    writer = _Writer(conf, policies, body if _SIZE.fullmatch(body) else "1m", rate_limits)
    for vs in sorted((o for o in objects if o.kind.kind == "VirtualServer"), key=lambda o: (o.namespace, o.name)):
        host = str(vs.spec.get("host") or "")
        if not host or host in taken or host in conf.hosts:
            continue
        conf.hosts.add(host)
        tls = _map(vs.spec.get("tls"))
        lines: list[str] = [f"server_name {host};"]
        redirect = _map(tls.get("redirect"))
        if tls.get("secret") and redirect.get("enable"):
            test = "$http_x_forwarded_proto" if redirect.get("basedOn") == "x-forwarded-proto" else "$scheme"
            lines += [f"if ({test} = 'http') {{", f"    return {int(redirect.get('code') or 301)} "
                      "https://$host$request_uri;", "}"]
        spec_found, spec_broken = writer._resolved(vs, vs.spec.get("policies"))
        lines += writer._policy_lines(spec_found, spec_broken)
        ups = {str(u.get("name")): u for u in vs.spec.get("upstreams") or [] if isinstance(u, Mapping)}
        for route in vs.spec.get("routes") or []:
            if not isinstance(route, Mapping):
                continue
            own, broken = writer._resolved(vs, route.get("policies"))
            if route.get("route"):
                ref = str(route["route"])
                ns, _, name = ref.rpartition("/")
                vsr = vsrs.get((ns or vs.namespace, name))
                if vsr is None or str(vsr.spec.get("host") or "") != host:
                    continue
                sub_ups = {str(u.get("name")): u for u in vsr.spec.get("upstreams") or [] if isinstance(u, Mapping)}
                for sub in vsr.spec.get("subroutes") or []:
                    if isinstance(sub, Mapping):
                        mine, sub_broken = writer._resolved(vsr, sub.get("policies"))
                        found = {**own, **mine}
                        lines += writer.route(vsr, sub, sub_ups, _only_changed(
                            spec_found, spec_broken, found, broken or sub_broken, writer))
                continue
            lines += writer.route(vs, route, ups, _only_changed(spec_found, spec_broken, own, broken, writer))
        conf.servers.append((host, bool(tls.get("secret")), lines))
    return conf


Found = Mapping[str, list[tuple[str, Mapping[str, Any]]]]


def _only_changed(spec: Found, spec_broken: bool, own: Found, broken: bool, writer: _Writer) -> list[str]:
    """A location's policy lines: the server's apply where the location has none of a directive's
    own (nginx inheritance), so a location writes the merged set when it has any of its own."""
    if not own and not broken:
        return []
    return writer._policy_lines({**spec, **own}, spec_broken or broken)
