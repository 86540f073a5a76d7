"""ing2gw.making.maker: the object it builds is the one the dataclass's constructor builds, for
every class the product builds through it, for fields spread over a class and its bases, with
the constructor's defaults and keywords; and it refuses a class whose constructor does more
than store its fields."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from ing2gw.http import Headers, Request
from ing2gw.making import maker
from ing2gw.probes import Probe
from ing2gw.providers.ingress_nginx.model.locations import Location, PathEntry
from ing2gw.providers.ingress_nginx.model.pipeline import LocationMatch
from ing2gw.providers.ingress_nginx.model.servers import Server
from ing2gw.providers.ingress_nginx.model.settings import Policy
from ing2gw.router.model import Entry, Rule
from ing2gw.router.outcome import Matched, RedirectTo, RuleInfo


@dataclass(frozen=True, slots=True)
class _Top:
    a: str
    b: str = "b"


@dataclass(frozen=True, slots=True)
class _Middle(_Top):
    c: str = "c"


@dataclass(frozen=True, slots=True)
class _Bottom(_Middle):  # fields over three classes, each with the slots of its own
    d: tuple[str, ...] = ()
    e: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class _Open:  # not frozen: built as its constructor builds it, settable after
    a: str
    b: list[str] = field(default_factory=list)


# every class the product builds through maker, and the test's own
CLASSES: list[type[Any]] = [Request, Probe, Rule, Entry, RedirectTo, Matched, RuleInfo, LocationMatch, PathEntry,
                            Location, Server, Policy, _Top, _Middle, _Bottom, _Open]


def _values(cls: type[Any]) -> tuple[str, ...]:
    """A value per field, each another (the constructors check nothing)."""
    return tuple(f"{cls.__name__}.{f.name}" for f in dataclasses.fields(cls))


def _slots(obj: Any) -> list[Any]:
    """The values of every slot of ``obj``, its bases' included, read from the slots themselves."""
    return [base.__dict__[name].__get__(obj) for base in type(obj).__mro__[:-1] for name in base.__slots__]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_made_objects_are_the_constructors_in_every_respect(cls: type[Any]) -> None:
    values = _values(cls)
    made, built = maker(cls)(*values), cls(*values)
    assert type(made) is cls and made == built and repr(made) == repr(built)
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == list(values)
    assert _slots(made) == _slots(built) and sorted(_slots(made)) == sorted(values)
    for again in (copy.copy(made), copy.deepcopy(made), pickle.loads(pickle.dumps(made))):
        assert type(again) is cls and again == built and _slots(again) == _slots(built)
    name = dataclasses.fields(cls)[0].name
    if cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        assert hash(made) == hash(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, name, "other")
    else:
        setattr(made, name, "other")
        assert getattr(made, name) == "other"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_made_functions_take_what_the_constructors_take(cls: type[Any]) -> None:
    make, fields = maker(cls), dataclasses.fields(cls)
    assert [(p.name, p.kind) for p in inspect.signature(make).parameters.values()] == [
        (p.name, p.kind) for p in inspect.signature(cls).parameters.values()]
    required = [f for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    values = _values(cls)[:len(required)]
    assert _slots(make(*values)) == _slots(cls(*values))  # every other field its default
    keywords = {f.name: f"{f.name}!" for f in fields[::2]} | {f.name: f.name for f in required}
    assert _slots(make(**keywords)) == _slots(cls(**keywords))
    with pytest.raises(TypeError):
        make(*_values(cls), "one too many")


def test_a_default_factory_makes_a_value_per_object() -> None:
    make = maker(Request)
    one, two = make("GET", "http", "a.test", 80, "/"), make("GET", "http", "a.test", 80, "/")
    assert one == two == Request("GET", "http", "a.test", 80, "/")
    assert type(one.headers) is Headers and one.query_params == {} and one.query_params is not two.query_params
    shared = Headers([("a", "1")])
    assert make("GET", "http", "a.test", 80, "/", headers=shared).headers is shared


def test_base_class_fields() -> None:
    """The fields a class inherits are written as its own (LocationMatch: eight of its eleven
    are Matched's)."""
    made = maker(_Bottom)("A", "B", "C", ("D",), frozenset("E"))
    assert made == _Bottom("A", "B", "C", ("D",), frozenset("E")) and type(made) is _Bottom
    assert (made.a, made.b, made.c, made.d, made.e) == ("A", "B", "C", ("D",), frozenset("E"))
    assert maker(_Bottom)("A") == _Bottom("A") and maker(_Middle)("A", c="C") == _Middle("A", "b", "C")
    match = maker(LocationMatch)("gw", "l", "Ingress", "ns/a", 0, "/p", None, None, "ns/a", "/p", "loc")
    assert match == LocationMatch("gw", "l", "Ingress", "ns/a", 0, "/p", None, None, "ns/a", "/p", "loc")
    assert isinstance(match, Matched) and match.to_dict() == {"ingress": "ns/a", "path": "/p", "location": "loc"}


class _NotADataclass:
    __slots__ = ("a",)


@dataclass(frozen=True)
class _NoSlots:
    a: str


@dataclass(frozen=True, slots=True)
class _Checked:
    a: str

    def __post_init__(self) -> None:
        if not self.a:
            raise ValueError("a")


@dataclass(frozen=True, slots=True)
class _KeywordOnly:
    a: str = field(default="", kw_only=True)


@dataclass(frozen=True, slots=True)
class _NotInInit:
    a: str
    b: str = field(default="", init=False)


@dataclass(frozen=True)
class _ExtraSlot:
    __slots__ = ("a", "cache")
    a: str


@dataclass(frozen=True)
class _OpenBase:
    a: str


@dataclass(frozen=True, slots=True)
class _OnOpenBase(_OpenBase):
    b: str = ""


@dataclass(frozen=True, slots=True)
class _OwnNew:
    a: str

    def __new__(cls, *args: Any, **kwargs: Any) -> _OwnNew:
        return object.__new__(cls)


@pytest.mark.parametrize("cls", [_NotADataclass, _NoSlots, _Checked, _KeywordOnly, _NotInInit, _ExtraSlot,
                                 _OnOpenBase, _OwnNew], ids=lambda cls: cls.__name__)
def test_refuses_what_its_constructor_does_more_for(cls: type[Any]) -> None:
    with pytest.raises(TypeError):
        maker(cls)
