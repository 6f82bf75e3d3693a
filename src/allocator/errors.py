"""Errors that name where a problem is: file, row or field, column, value.

Every loader collects *all* the problems it finds and raises one error that
carries them, so a user fixes a file in one pass rather than one fault per run.

Examples
--------
>>> p = Problem("force.yaml", "roles[0].abstraction", "must be below 1", 1.2, line=14)
>>> print(p)
force.yaml, line 14, roles[0].abstraction: must be below 1 (got 1.2)
>>> err = ForceError("force.yaml", [p])
>>> print(err)
force.yaml: 1 problem
  - force.yaml, line 14, roles[0].abstraction: must be below 1 (got 1.2)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "AllocatorError",
    "ArgumentError",
    "DemandError",
    "ForceError",
    "InputError",
    "Problem",
    "WorkloadError",
    "did_you_mean",
]

_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One fault in one input, located as precisely as the input allows.

    Parameters
    ----------
    source
        The file (or ``"<DataFrame>"``, ``"<Force>"``) the fault is in.
    where
        The field path (``roles[0].abstraction``) or ``row 14, column duration``.
    message
        What is wrong and what was expected.
    value
        The offending value, when there is one.
    line
        The line in the file, when known (YAML, CSV).
    """

    source: str
    where: str
    message: str
    value: Any = _MISSING
    line: int | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.where:
            parts.append(self.where)
        text = ", ".join(parts) + f": {self.message}"
        if self.value is not _MISSING:
            text += f" (got {self.value!r})"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The problem as a flat record (for tables and JSON)."""
        return {
            "source": self.source,
            "line": self.line,
            "where": self.where,
            "message": self.message,
            "value": None if self.value is _MISSING else self.value,
        }


class AllocatorError(Exception):
    """Base class of every error the library raises on purpose."""


class ArgumentError(AllocatorError, ValueError):
    """An argument of a library function (or a CLI option) is not usable.

    Raised before any work is done. ``argument`` is its name and ``value`` the
    value given.

    >>> err = ArgumentError("max_moves", -5, "must be a whole number, 0 or more")
    >>> print(err)
    max_moves: must be a whole number, 0 or more (got -5)
    >>> err.argument, err.value
    ('max_moves', -5)
    """

    def __init__(self, argument: str, value: Any, message: str):
        self.argument = argument
        self.value = value
        self.message = message
        super().__init__(f"{argument}: {message} (got {value!r})")


class InputError(AllocatorError, ValueError):
    """An input (force file, judgement table, demand extract) is not usable.

    ``problems`` holds every fault found, not only the first.
    """

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        lines = [f"{source}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def table(self) -> pd.DataFrame:
        """Every problem as one row: source, line, where, message, value."""
        return pd.DataFrame(
            [p.as_dict() for p in self.problems],
            columns=["source", "line", "where", "message", "value"],
        )


class ForceError(InputError):
    """The force configuration or its judgement table is invalid."""


class DemandError(InputError):
    """A demand extract cannot be read at all (for example, required columns are missing).

    Row-level faults are not errors: they go to ``DemandLoad.rejects``.
    """


class WorkloadError(InputError):
    """Records and force do not fit together (unknown codes, missing judgement)."""


def did_you_mean(kind: str, name: str, valid: list[str]) -> str:
    """``unknown area 'Swindon Nrth'; did you mean 'Swindon North'?`` (or the valid names).

    >>> did_you_mean("shift", "Erly", ["Early", "Late"])
    "unknown shift 'Erly'; did you mean 'Early'?"
    """
    msg = f"unknown {kind} {name!r}"
    close = difflib.get_close_matches(str(name), valid, n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    elif valid:
        shown = ", ".join(repr(v) for v in valid[:8])
        msg += f"; known: {shown}" + (", ..." if len(valid) > 8 else "")
    return msg
