"""Building instances of the model's frozen slots dataclasses in bulk, at a fraction of their __init__'s cost.

A frozen dataclass's ``__init__`` writes each field through ``object.__setattr__``; the model
builds tens of thousands of locations, path entries and matches per model (and ``verify``
builds the model in two processes). :func:`maker` gives a function that writes the fields
plainly into an object of a class with the very same slot layout, then makes that object an
instance of the dataclass (CPython lets an object change class between classes of one
layout): the same object in every respect, ``Location(...)`` with every field given in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["maker"]

_T = TypeVar("_T")


def maker(cls: type[_T]) -> Callable[..., _T]:
    """``cls(*values)`` for a frozen slots dataclass ``cls`` (no ``__post_init__``, no base
    with fields), every field given in order, positionally."""
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    if names != tuple(getattr(cls, "__slots__", ())) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: not a slots dataclass whose slots are its fields, in order, that "
                        "checks nothing when built")
    values = ", ".join(f"v{i}" for i in range(len(names)))
    body = "".join(f"        self.{name} = v{i}\n" for i, name in enumerate(names))
    scope: dict[str, Any] = {"cls": cls}
    exec(  # noqa: S102 -- the code is written out for the class's fields (a loop over them costs as much again)
        f"class Plain:\n    __slots__ = {names!r}\n\n    def __init__(self, {values}):\n{body}\n\n"
        f"def make({values}):\n    obj = Plain({values})\n    obj.__class__ = cls\n    return obj\n",
        scope,
    )
    return cast(Callable[..., _T], scope["make"])
