"""Checking the arguments of :func:`allocator.allocate` before any work is done.

One function, :func:`check_allocate_arguments`, refuses every unusable
argument with an :class:`~allocator.errors.ArgumentError` naming the argument
and the value, and returns the values in their normal form. The CLI uses it
too, so that ``--backend``, ``--time-limit`` and ``--max-moves`` are checked
before any data are read.

Examples
--------
>>> args = check_allocate_arguments(backend="cpsat", time_limit=30, max_moves=12, has_current=True)
>>> args.backend, args.time_limit, args.max_moves, args.fairness, args.seed
('cpsat', 30.0, 12, 'maximin', 0)
>>> check_allocate_arguments(max_moves=-5, has_current=True)
Traceback (most recent call last):
...
allocator.errors.ArgumentError: max_moves: must be a whole number, 0 or more (got -5)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from allocator.errors import ArgumentError, did_you_mean

__all__ = ["FAIRNESS", "MAX_MOVES_LIMIT", "MAX_TIME_LIMIT", "AllocateArguments", "check_allocate_arguments"]

#: the fairness rules :func:`allocator.allocate` knows
FAIRNESS = ("maximin",)
#: the largest move limit accepted (far above any force's headcount; keeps solvers in 64-bit integers)
MAX_MOVES_LIMIT = 10**9
#: the longest time limit accepted, in seconds (one week)
MAX_TIME_LIMIT = 7 * 24 * 3600.0
_SEED_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class AllocateArguments:
    """The checked, normalised arguments of :func:`allocator.allocate`."""

    backend: str
    time_limit: float
    max_moves: int | None
    fairness: Literal["maximin"]
    seed: int


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) \
                and float(value).is_integer():
            value = int(float(value))  # 12.0 is a whole number
        else:
            raise ArgumentError(name, value, f"must be a whole number from {low:,} to {high:,}")
    value = int(value)
    if value < low:
        raise ArgumentError(name, value, f"must be a whole number, {low} or more")
    if value > high:
        raise ArgumentError(name, value, f"must be at most {high:,}")
    return value


def check_allocate_arguments(
    backend: Any = "cpsat",
    time_limit: Any = 60,
    max_moves: Any = None,
    fairness: Any = "maximin",
    seed: Any = 0,
    *,
    has_current: bool = False,
) -> AllocateArguments:
    """Check the arguments of :func:`allocator.allocate` and return them normalised.

    Parameters
    ----------
    backend
        A name :func:`allocator.solve.milp.available_backends` lists (``"cpsat"``,
        ``"pulp"``, ``"pulp:cbc"``, ``"pulp:highs"``) whose solver is installed.
    time_limit
        Seconds, a finite number from 0 (exact stages only, no solver time) to one
        week; a bool is refused.
    max_moves
        None, or a whole number from 0 to 1,000,000,000 (a bool is refused;
        ``12.0`` is taken as 12); only with a current posting.
    fairness
        ``"maximin"`` (``"leximin"`` was removed and is refused by name).
    seed
        A whole number from 0 to 2**31 - 1 (a bool is refused).
    has_current
        Whether a current posting was given (``max_moves`` needs one).

    Returns
    -------
    AllocateArguments

    Raises
    ------
    allocator.errors.ArgumentError
        For the first unusable argument, naming it and its value.

    Examples
    --------
    >>> check_allocate_arguments(max_moves=10, has_current=False)
    Traceback (most recent call last):
    ...
    allocator.errors.ArgumentError: max_moves: a move limit needs a current posting (current=...) (got 10)
    >>> check_allocate_arguments(fairness="maximn")
    Traceback (most recent call last):
    ...
    allocator.errors.ArgumentError: fairness: unknown fairness 'maximn'; did you mean 'maximin'? (got 'maximn')
    """
    from allocator.solve.milp import available_backends

    if not isinstance(backend, str):
        raise ArgumentError("backend", backend, "must be a backend name such as 'cpsat'")
    name = backend.strip().lower()
    available = available_backends()
    if name not in available:
        raise ArgumentError("backend", backend, did_you_mean("backend", backend, available)
                            + " (a backend must be known and its solver installed)")

    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real):
        raise ArgumentError("time_limit", time_limit, "must be a number of seconds, 0 or more")
    limit = float(time_limit)
    if not math.isfinite(limit) or limit < 0:
        raise ArgumentError("time_limit", time_limit, "must be a finite number of seconds, 0 or more")
    if limit > MAX_TIME_LIMIT:
        raise ArgumentError("time_limit", time_limit, f"must be at most {MAX_TIME_LIMIT:,.0f} seconds (one week)")

    moves = None
    if max_moves is not None:
        moves = _whole("max_moves", max_moves, 0, MAX_MOVES_LIMIT)
        if not has_current:
            raise ArgumentError("max_moves", max_moves, "a move limit needs a current posting (current=...)")

    if fairness == "leximin":
        raise ArgumentError("fairness", fairness, "the leximin option was removed: under area bounds and move "
                            "limits it was not exact; use 'maximin'")
    if not isinstance(fairness, str) or fairness not in FAIRNESS:
        raise ArgumentError("fairness", fairness, did_you_mean("fairness", str(fairness), list(FAIRNESS)))

    seed_value = _whole("seed", seed, 0, _SEED_LIMIT)
    return AllocateArguments(backend=name, time_limit=limit, max_moves=moves, fairness="maximin", seed=seed_value)
