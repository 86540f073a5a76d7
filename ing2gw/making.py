"""Building a frozen slots dataclass's instances at a fraction of its ``__init__``'s cost.

A frozen dataclass's ``__init__`` writes each field through ``object.__setattr__`` (its own
``__setattr__`` refuses); hot paths build hundreds of thousands of such objects (requests,
probes, compiled rules and entries, the ingress-nginx model's locations). :func:`maker` gives
a function that takes the arguments ``cls(...)`` takes (the same names, order and defaults)
and builds the same object: it writes the fields plainly into an instance of a private
subclass that adds no slots and lets its attributes be set (Python code storing into a slot
of such a class runs in the interpreter, no call per field), then makes that object an
instance of ``cls`` (CPython lets an object change class between classes of one layout). The
object is then ``cls(...)`` in every respect: its type, its fields, frozen, equal, copied and
pickled alike. The fields may be spread over ``cls`` and its bases (each class of a slots
dataclass hierarchy has the slots of the fields it adds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

__all__ = ["maker"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_MISSING = object()  # a default_factory field's argument, not given


def maker(cls: Callable[_P, _T]) -> Callable[_P, _T]:
    """A function equal to ``cls`` for a slots dataclass ``cls`` (frozen or not) whose
    ``__init__`` only stores its fields: every field an argument of ``__init__``, none
    keyword-only, no ``__post_init__``, every slot of ``cls`` and of its bases a field (a
    ``__weakref__`` slot aside). Raises TypeError for any other class."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r}: not a dataclass")
    klass: type[Any] = cls
    fields = dataclasses.fields(klass)
    names = [f.name for f in fields]
    bases = klass.__mro__[:-1]  # (object aside)
    slots = {s for base in bases for s in base.__dict__.get("__slots__", ())} - {"__weakref__"}
    if (klass.__dictoffset__ or slots != set(names) or hasattr(klass, "__post_init__")
            or any("__new__" in base.__dict__ for base in bases) or any(not f.init or f.kw_only for f in fields)):
        raise TypeError(f"{klass.__name__}: not a slots dataclass whose slots are its fields, all given to an __init__ "
                        "that checks nothing")
    if any(name.startswith("__") for name in names):  # (the made function's own names start so)
        raise TypeError(f"{klass.__name__}: a field named __...")
    # a subclass adding no slot has cls's layout; object.__setattr__ (and __delattr__: they share one
    # type slot) lets the interpreter store into its slots directly
    plain = type(klass.__name__, (klass,), {"__slots__": (), "__setattr__": object.__setattr__,
                                            "__delattr__": object.__delattr__, "__module__": __name__})
    tried: Any = object.__new__(plain)
    tried.__class__ = klass  # (raises TypeError here, not at the first call, if CPython refuses)
    scope: dict[str, Any] = {"__new": object.__new__, "__plain": plain, "__cls": klass, "__missing": _MISSING}
    params, body = [], []
    for i, f in enumerate(fields):
        if f.default is not dataclasses.MISSING:
            scope[f"__default{i}"] = f.default
            params.append(f"{f.name}=__default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"__factory{i}"] = f.default_factory
            params.append(f"{f.name}=__missing")
            body.append(f"    if {f.name} is __missing:\n        {f.name} = __factory{i}()\n")
        else:
            params.append(f.name)
    body += [f"    __obj.{name} = {name}\n" for name in names]
    # written out for the class's fields: a loop over them would cost as much again as the stores
    source = (f"def make({', '.join(params)}):\n    __obj = __new(__plain)\n{''.join(body)}"
              "    __obj.__class__ = __cls\n    return __obj\n")
    exec(compile(source, f"<maker of {klass.__module__}.{klass.__qualname__}>", "exec"), scope)  # noqa: S102
    make = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{klass.__name__}"
    make.__doc__ = f"``{klass.__name__}(...)``, built without its __init__ (see ing2gw.making)."
    make.__module__ = klass.__module__
    return cast(Callable[_P, _T], make)
