"""Providers claim kinds: the resource set keeps their objects for them, ``to_ir`` receives them."""

from __future__ import annotations

from typing import Any

from ing2gw.convert import ConvertOptions, convert
from ing2gw.ir import IR
from ing2gw.plugins import discover
from ing2gw.provider import API_VERSION, AnnotationTable, Claimed, ProviderContext
from ing2gw.resources import APIKind, build_resource_set
from ing2gw.yamlio import parse_documents

TOY = APIKind("example.com", "v1", "ToyRoute")

DOCS = """\
apiVersion: example.com/v1
kind: ToyRoute
metadata: {name: b, namespace: apps, labels: {team: b}}
---
apiVersion: example.com/v1
kind: ToyRoute
metadata: {name: a, namespace: apps, labels: {team: a}}
---
apiVersion: example.com/v2
kind: ToyRoute
metadata: {name: future, namespace: apps}
---
apiVersion: example.com/v1
kind: ToyRoute
metadata: {name: a, namespace: apps}
spec: {second: true}
---
apiVersion: other.example/v1
kind: Widget
metadata: {name: w}
"""


def _rs(**kw: Any):  # noqa: ANN202
    return build_resource_set(parse_documents(DOCS, "in.yaml"), kinds=[TOY], **kw)


def test_claimed_objects_are_kept_in_identity_order() -> None:
    rs = _rs()
    # A duplicate keeps one copy chosen by origin, as Ingresses do, whatever the file order.
    assert [(o.ref, o.origin) for o in rs.objects[TOY]] == [("apps/a", "in.yaml:5"), ("apps/b", "in.yaml:1")]
    assert rs.objects[TOY][0].labels == {"team": "a"}
    assert rs.skipped == {"ToyRoute": 1, "Widget": 1}
    codes = sorted(n.code for n in rs.notes)
    assert codes == ["INPUT-DUPLICATE-OBJECT", "INPUT-KIND-VERSION-UNSUPPORTED"]
    (version,) = [n for n in rs.notes if n.code == "INPUT-KIND-VERSION-UNSUPPORTED"]
    assert version.subject == "ToyRoute apps/future" and "example.com/v2 ToyRoute is not read" in version.message


def test_unclaimed_kinds_are_counted_and_skipped() -> None:
    rs = build_resource_set(parse_documents(DOCS, "in.yaml"))
    assert rs.objects == {} and rs.skipped == {"ToyRoute": 4, "Widget": 1}


def test_namespace_and_selector_filter_claimed_objects() -> None:
    assert [o.name for o in _rs(namespace="elsewhere").objects.get(TOY, [])] == []
    from ing2gw.resources import LabelSelector

    assert [o.name for o in _rs(selector=LabelSelector.parse("team=b")).objects[TOY]] == ["b"]


class _Recorder:
    name = "toys"
    api_version = API_VERSION
    controllers = ()
    class_names = ()
    annotations = AnnotationTable("toy.example.com", "TOY", [])
    kinds = (TOY,)
    description = "records what it receives"

    def __init__(self) -> None:
        self.received: list[Claimed] = []

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        self.received.append(claimed)
        return IR()


class _EP:
    name = "toys"
    dist = None

    def __init__(self, target: Any) -> None:
        self.target = target

    def load(self) -> Any:
        return self.target


def test_to_ir_receives_the_claimed_objects_without_any_ingress() -> None:
    recorder = _Recorder()
    registry = discover(entry_points=[_EP(recorder)])
    rs = build_resource_set(parse_documents(DOCS, "in.yaml"), kinds=list(registry.claims()))
    convert(rs, ConvertOptions(), registry)
    (claimed,) = recorder.received
    assert claimed.ingresses == () and [o.ref for o in claimed.of("ToyRoute")] == ["apps/a", "apps/b"]
    assert claimed.of("ToyRoute", group="other.example") == []
