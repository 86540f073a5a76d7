"""Exceptions and exit codes: the one vocabulary for failures.

Library code raises these; only :mod:`ing2gw.cli` turns them into exit codes.

    Ing2gwError               base; ``exit_code`` says how the CLI ends
    ├── UsageError            bad flags or flag combinations         -> 2
    ├── InputError            unreadable or malformed input          -> 3
    ├── ClusterError          the cluster could not be read/written  -> 4
    ├── PluginError           a provider plugin is broken/missing    -> 5
    └── InternalError         a bug in ing2gw                        -> 70
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "ClusterError",
    "ExitCode",
    "Ing2gwError",
    "InputError",
    "InternalError",
    "PluginError",
    "UsageError",
]


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in the README and in ``ing2gw --help``."""

    OK = 0  # everything converted (or findings below --fail-on)
    FINDINGS = 1  # notes at or above --fail-on; route/verify cases failed; diff differences
    USAGE = 2  # bad command line
    INPUT = 3  # malformed input file (nothing is written)
    CLUSTER = 4  # cluster unreachable, forbidden, credentials expired
    PLUGIN = 5  # a requested provider plugin failed to load
    INTERNAL = 70  # a bug in ing2gw (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class Ing2gwError(Exception):
    """Base class of every error ing2gw reports to the user."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(Ing2gwError):
    exit_code = ExitCode.USAGE


class InputError(Ing2gwError):
    """Input that cannot be read: the message starts with ``file:line:``."""

    exit_code = ExitCode.INPUT


class ClusterError(Ing2gwError):
    exit_code = ExitCode.CLUSTER


class PluginError(Ing2gwError):
    exit_code = ExitCode.PLUGIN


class InternalError(Ing2gwError):
    exit_code = ExitCode.INTERNAL
