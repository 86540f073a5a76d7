"""The router's compile-time fast paths give the tables the plain paths give: listeners looked
up by name for a parentRef's sectionName, ReferenceGrants read once, and the typed accessors'
shortcut for plain dicts and lists -- compared by routing many requests through routers
compiled both ways from generated Gateway API objects."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pytest

from ing2gw.errors import InputError
from ing2gw.http import Request
from ing2gw.router import Router, inventory, table
from ing2gw.router.inventory import Obj

NAMESPACES = ["a", "b", "infra"]
EVERY_NAMESPACE = {"namespaces": {"from": "All"}}
HOSTS = ["shop.example.com", "api.example.com", "x.wild.example.com", "other.example.com"]


def _plain_map_of(o: Obj, value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise o.fail(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _plain_maps_of(o: Obj, value: Any, where: str) -> list[Mapping[str, Any]]:
    return [_plain_map_of(o, item, f"{where}[{i}]") for i, item in enumerate(inventory.seq_of(o, value, where))]


def _plain_named(own: list[Any], parent: Any, section: str, index: Any) -> list[Any]:
    return [ls for ls in own if ls.name == section]


def _uncached(entries: Any) -> Any:
    """``Inventory._entries`` reading the grant again on every use."""
    def read(self: inventory.Inventory, grant: Obj) -> Any:
        self._grant_entries.clear()
        return entries(self, grant)
    return read


def _objects(seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for ns in NAMESPACES[:2]:
        for name in ("web", "api"):
            out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                        "spec": {"ports": [{"port": 80}, {"port": 8080}]}})
        out += [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}
                for name in ("cert", "other")]
        for g in range(rnd.randint(1, 2)):
            grants_to = [{"group": "", "kind": "Secret", **({"name": "cert"} if rnd.random() < 0.5 else {})}]
            if rnd.random() < 0.7:
                grants_to.append({"group": "", "kind": "Service"})
            out.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                        "metadata": {"name": f"grant-{g}", "namespace": ns},
                        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": k, "namespace": f}
                                          for k, f in rnd.sample([("Gateway", "infra"), ("HTTPRoute", "a"),
                                                                  ("HTTPRoute", "b")], 2)],
                                 "to": grants_to}})
    names: dict[str, list[str]] = {}
    for g in range(rnd.randint(1, 3)):
        listeners = [{"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": EVERY_NAMESPACE}]
        for i in range(rnd.randint(1, 12)):
            host = rnd.choice([*HOSTS, "*.wild.example.com", None])
            https = rnd.random() < 0.5
            listener: dict[str, Any] = {"name": f"l{i}" if rnd.random() < 0.9 else "l0",
                                        "port": 443 if https else rnd.choice([80, 8080]),
                                        "protocol": "HTTPS" if https else "HTTP",
                                        "allowedRoutes": EVERY_NAMESPACE}
            if host:
                listener["hostname"] = host
            if https:
                ref = {"name": rnd.choice(["cert", "other"]), "namespace": rnd.choice(NAMESPACES[:2])}
                listener["tls"] = {"certificateRefs": [ref]}
            listeners.append(listener)
        names[f"gw{g}"] = [lst["name"] for lst in listeners]
        out.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                    "metadata": {"name": f"gw{g}", "namespace": "infra"},
                    "spec": {"gatewayClassName": "x", "listeners": listeners}})
    for r in range(rnd.randint(3, 20)):
        ns = rnd.choice(NAMESPACES[:2])
        parents = []
        for _ in range(rnd.randint(1, 2)):
            gw = rnd.choice(sorted(names))
            pref: dict[str, Any] = {"name": gw, "namespace": "infra"}
            if rnd.random() < 0.7:
                pref["sectionName"] = rnd.choice([*names[gw], "missing"])
            if rnd.random() < 0.2:
                pref["port"] = rnd.choice([80, 443, 8080])
            parents.append(pref)
        rules = [{"matches": [{"path": {"type": "PathPrefix", "value": rnd.choice(["/", "/api", "/shop"])}}],
                  "backendRefs": [{"name": rnd.choice(["web", "api"]), "namespace": rnd.choice(NAMESPACES[:2]),
                                   "port": rnd.choice([80, 8080])}]}
                 for _ in range(rnd.randint(1, 3))]
        out.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                    "metadata": {"name": f"r{r}", "namespace": ns,
                                 "creationTimestamp": f"2024-01-{r % 28 + 1:02}T00:00:00Z"},
                    "spec": {"parentRefs": parents, "hostnames": rnd.sample(HOSTS, rnd.randint(0, 2)),
                             "rules": rules}})
    return out


def _decisions(router: Router) -> list[Any]:
    out: list[Any] = [list(router.notes)]
    for host in [*HOSTS, "nothing.example.com"]:
        for path in ("/", "/api/x", "/shop"):
            for scheme, port in (("http", 80), ("https", 443), ("http", 8080)):
                out.append(router.route(Request.build(host=host, path=path, scheme=scheme, port=port)).to_dict())
    return out


def test_compiled_tables_route_as_the_plain_compilation(monkeypatch: pytest.MonkeyPatch) -> None:
    sections = 0
    for seed in range(40):
        objects = _objects(seed)
        sections += sum(1 for o in objects for p in o.get("spec", {}).get("parentRefs", ()) if "sectionName" in p)
        fast = _decisions(Router.from_manifests(objects))
        with monkeypatch.context() as m:
            m.setattr(table, "_named", _plain_named)
            m.setattr(inventory.Inventory, "_entries", _uncached(inventory.Inventory._entries))
            for module in ("inventory", "table", "rules", "listeners", "mesh", "streams"):
                mod = __import__(f"ing2gw.router.{module}", fromlist=["x"])
                for name, plain in (("map_of", _plain_map_of), ("maps_of", _plain_maps_of)):
                    if hasattr(mod, name):
                        m.setattr(mod, name, plain)
            plain = _decisions(Router.from_manifests(objects))
        assert fast == plain, seed
    assert sections > 100


@pytest.mark.parametrize("value", [None, {}, {"a": 1}, [], [{}, {"b": 2}], [{}, OrderedDict(a=1)], [{}, 3],
                                   [None], "text", 5, OrderedDict(x=1), [[{}]]])
def test_accessors_answer_as_the_plain_ones(value: Any) -> None:
    o = Obj("g", "Kind", "ns", "name", {}, "f.yaml:1")
    for fast, plain in ((inventory.map_of, _plain_map_of), (inventory.maps_of, _plain_maps_of)):
        got: Any
        want: Any
        try:
            got = fast(o, value, "spec.x")
        except InputError as exc:
            got = str(exc)
        try:
            want = plain(o, value, "spec.x")
        except InputError as exc:
            want = str(exc)
        assert got == want


def test_compiled_objects_equal_their_dataclass_constructions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Rule, Entry and RuleInfo (with its Matched) of compiled tables, built by writing
    their slots (model.new_rule, new_entry, new_matched, new_rule_info), equals the one the frozen dataclass
    constructors make, field by field."""
    from ing2gw.router import model, rules
    from ing2gw.router.outcome import Matched, RuleInfo

    def plain_parts(rule: Any) -> Any:
        return (None if rule.chosen is None else rule.chosen.key, rule.weights, rule.timeouts, rule.retry,
                rule.session_persistence)

    def entries(router: Router) -> list[Any]:
        return [e for gw in router.table.gateways.values() for index in gw.ports.values()
                for listener in index.values() for group in listener.routes.values() for e in group.http]

    compared = 0
    for seed in range(20):
        fast = entries(Router.from_manifests(_objects(seed)))
        with monkeypatch.context() as m:
            m.setattr(rules, "new_rule", lambda *fields: model.Rule(*fields))
            m.setattr(table, "new_entry", lambda *fields: model.Entry(*fields))
            m.setattr(table, "new_matched", lambda *fields: Matched(*fields))
            m.setattr(table, "new_rule_info", lambda *fields: RuleInfo(*fields))
            m.setattr(table, "info_parts", plain_parts)
            plain = entries(Router.from_manifests(_objects(seed)))
        assert all(type(e) is model.Entry and type(e.rule) is model.Rule for e in plain)
        assert fast == plain, seed
        for got, want in zip(fast, plain, strict=True):
            for a, b in ((got, want), (got.rule, want.rule), (got.info, want.info),
                         (got.info.matched, want.info.matched)):
                assert [getattr(a, name) for name in a.__slots__] == [getattr(b, name) for name in b.__slots__]
        compared += len(fast)
    assert compared > 400


def _plain_granted(inv: inventory.Inventory, from_kind: str, from_ns: str, to_group: str, to_kind: str, to_ns: str,
                   to_name: str) -> bool:
    """A ReferenceGrant read afresh: one in the target's namespace whose ``from`` lists the
    referring kind and namespace and whose ``to`` lists the target by name, or its kind without a name."""
    for grant in inv.grants.get(to_ns, ()):
        spec = grant.body["spec"]
        if not any((f.get("group") or "", f.get("kind"), f.get("namespace"))
                   == (inventory.GATEWAY_GROUP, from_kind, from_ns) for f in spec["from"]):
            continue
        if any((t.get("group") or "") == to_group and t.get("kind") == to_kind
               and (not t.get("name") or t.get("name") == to_name) for t in spec["to"]):
            return True
    return False


def test_grants_looked_up_in_sets_answer_as_read_one_by_one() -> None:
    """ReferenceGrants' to entries, indexed as sets (named, and every object of a kind), answer
    as reading each entry does; grants with a value a set cannot hold (a malformed list or
    mapping) are read entry by entry."""
    rnd = random.Random(7)
    answers = set()
    for case in range(300):
        grants = []
        for g in range(rnd.randint(1, 3)):
            tos = [{"group": rnd.choice(["", "", "x.io", None]),
                    "kind": rnd.choice(["Secret", "Service", "Secret", ["Secret"] if case % 5 == 0 else "Secret"]),
                    **({"name": rnd.choice(["cert", "web", "", None, 7, ["cert"] if case % 3 == 0 else "web"])}
                       if rnd.random() < 0.7 else {})}
                   for _ in range(rnd.randint(0, 4))]
            grants.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                           "metadata": {"name": f"g{g}", "namespace": "b"},
                           "spec": {"from": [{"group": inventory.GATEWAY_GROUP, "kind": rnd.choice(["HTTPRoute",
                                                                                                     "Gateway"]),
                                              "namespace": rnd.choice(["a", "infra"])}],
                                    "to": tos}})
        inv = inventory.Inventory(inventory.to_objects([(o, f"<input>:{i}") for i, o in enumerate(grants)]), False)
        for from_kind, from_ns in (("HTTPRoute", "a"), ("Gateway", "infra"), ("HTTPRoute", "infra")):
            for to_group in ("", "x.io"):
                for to_kind in ("Secret", "Service"):
                    for to_name in ("cert", "web", "other"):
                        expected = _plain_granted(inv, from_kind, from_ns, to_group, to_kind, "b", to_name)
                        got = inv.granted(inventory.GATEWAY_GROUP, from_kind, from_ns, to_group, to_kind, "b", to_name)
                        assert got == expected, (case, from_kind, from_ns, to_group, to_kind, to_name)
                        answers.add(expected)
    assert answers == {True, False}
