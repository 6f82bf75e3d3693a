"""The posting closest to the current one, and the cell ranges a move limit leaves.

At a monthly reallocation the current posting is the natural starting point:
:func:`closest_posting` builds, in closed form and vectorised, a posting that
meets every rule of a role (cell bounds, area bounds, the establishment) with
the fewest moves, ``sum |x - current| == RoleProblem.min_l1(lo, hi)``. It is
the solver's hint when a current posting is given, and so the posting kept if
the solver runs out of time (it meets the move limit whenever any posting does).

The construction follows the proof that :meth:`~allocator.model.problem.RoleProblem.min_l1`
is exact:

1. clip the current posting into the cell bounds (each post clipped is a move
   no posting can avoid);
2. clip each area's total into its range and, within the area, move posts
   into (or out of) cells that still have room, one move per post;
3. clip the role's total into the establishment the same way, over areas
   with room.

Every post moved in steps 2-3 goes away from the current posting in a cell
that step 1 left at its current value (or pushes a clipped cell no further),
so each costs exactly one. Where several cells or areas could take the moves,
the ones furthest from ``prefer`` (the demand-proportional targets) go first,
ties to the lowest index, so the answer is deterministic and leaves the later
stages less to do.

>>> import numpy as np
>>> from allocator.model.problem import RoleProblem
>>> rp = RoleProblem("PC", np.ones(4), np.ones(4), np.array([0, 0, 3, 0]), np.full(4, 9), 2, 2,
...                  np.zeros(2, int), np.array([9, 9]), 10, True, np.zeros(4, bool),
...                  current=np.array([5, 4, 0, 0]))
>>> x = closest_posting(rp, rp.lo)
>>> x.tolist(), int(np.abs(x - rp.current).sum()), rp.min_l1(rp.lo, rp.hi)
([3, 4, 3, 0], 5, 5)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from allocator.model.problem import RoleProblem

__all__ = ["closest_posting", "move_ranges"]

logger = logging.getLogger(__name__)


def _spread(need: np.ndarray, room: np.ndarray, group: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Give each group ``need[g]`` units over its items' ``room``, items taken in ``order``.

    ``order`` lists the items sorted by group, then by preference; returns the
    units per item (int64), never more than its room.
    """
    r = room[order]
    g = group[order]
    before = np.cumsum(r) - r  # room before each item, over all groups
    first = np.minimum(np.searchsorted(g, np.arange(need.size)), max(g.size - 1, 0))
    offset = before[first] if g.size else np.zeros(need.size, dtype=np.int64)
    take = np.clip(need[g] - (before - offset[g]), 0, r)
    out = np.zeros(room.size, dtype=np.int64)
    out[order] = take
    return out


def _order(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Items sorted by group, then by ``key`` descending, then by index (stable)."""
    return np.lexsort((np.arange(group.size), -key, group))


def closest_posting(
    rp: RoleProblem,
    lo: np.ndarray,
    hi: np.ndarray | None = None,
    prefer: np.ndarray | None = None,
) -> np.ndarray:
    """A posting meeting every rule of ``rp`` with the fewest moves from its current posting.

    Parameters
    ----------
    rp
        The role problem; its ``current`` posting must be given.
    lo, hi
        Per-cell bounds (``lo`` typically the stage-1 floors; ``hi`` defaults
        to ``rp.hi``). They must admit a posting (:meth:`RoleProblem.check`
        with ``moves=False``).
    prefer
        Where several cells or areas could take a move, those whose posts are
        furthest from ``prefer`` in the direction of the move go first
        (float (C,); default: the lowest index first).

    Returns
    -------
    numpy.ndarray
        int64 (C,) with ``sum |x - current| == rp.min_l1(lo, hi)``.

    Raises
    ------
    ValueError
        If there is no current posting or the bounds admit no posting.
    """
    if rp.current is None:
        raise ValueError(f"{rp.name}: the closest posting needs a current posting")
    hi = rp.hi if hi is None else hi
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    if not rp.check(lo, hi, moves=False):
        raise ValueError(f"{rp.name}: the bounds admit no posting")
    A, S = rp.n_areas, rp.n_shifts
    area = rp.area_of
    pref = np.zeros(lo.size) if prefer is None else np.asarray(prefer, dtype=float)
    cur = np.asarray(rp.current, dtype=np.int64)

    # 1. cells into their bounds
    x = np.clip(cur, lo, hi)
    t0 = x.reshape(A, S).sum(axis=1)
    alo, ahi = rp._area_range(lo, hi, True)
    # 2. area totals into their ranges; 3. the role's total into the establishment
    t = np.clip(t0, alo, ahi)
    s = int(t.sum())
    area_pref = np.bincount(area, weights=x - pref, minlength=A)
    if s > rp.total or (rp.exact_total and s < rp.total):
        down = s > rp.total
        room = (t - alo) if down else (ahi - t)
        key = area_pref if down else -area_pref
        one = np.zeros(A, dtype=np.int64)
        units = _spread(np.array([abs(s - rp.total)]), room, one, _order(one, key))
        t = t - units if down else t + units
    delta = t - t0
    up = np.maximum(delta, 0)
    dn = np.maximum(-delta, 0)
    if up.any():
        x = x + _spread(up, hi - x, area, _order(area, pref - x))
    if dn.any():
        x = x - _spread(dn, x - lo, area, _order(area, x - pref))
    return x


def move_ranges(
    lo: np.ndarray, hi: np.ndarray, current: np.ndarray, total: int, exact_total: bool, max_l1: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cell bounds narrowed to what ``sum |x - current| <= max_l1`` allows.

    With ``D = total - sum(current)`` the posts added ``P`` and removed ``N``
    satisfy ``P + N <= max_l1`` and ``P - N = D`` (``<= D`` without an exact
    total), so no cell gains more than ``(max_l1 + D) // 2`` posts or loses
    more than ``(max_l1 - D) // 2`` (``max_l1`` without an exact total). Every
    posting within the limit stays within the narrowed bounds.

    >>> lo, hi = move_ranges(np.zeros(3, int), np.full(3, 20), np.array([4, 5, 6]), 15, True, 4)
    >>> lo.tolist(), hi.tolist()
    ([2, 3, 4], [6, 7, 8])
    """
    cur = np.asarray(current, dtype=np.int64)
    d = int(total) - int(cur.sum())
    gain = max((max_l1 + d) // 2, 0)
    lose = max((max_l1 - d) // 2, 0) if exact_total else max_l1
    new_lo = np.maximum(lo, cur - lose)
    new_hi = np.minimum(hi, cur + gain)
    return new_lo.astype(np.int64), new_hi.astype(np.int64)
