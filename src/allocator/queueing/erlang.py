"""Erlang B and Erlang C (the M/M/c queue): probability of waiting, service level, servers needed.

Notation: offered load ``a`` in Erlangs (arrival rate x mean service time),
``c`` servers, mean service time ``s``, target ``t`` (same unit as ``s``).

* **Erlang B**, by the recursion ``B(0) = 1``,
  ``B(k) = a B(k-1) / (k + a B(k-1))``. Every step stays in ``[0, 1]``: no
  factorial, no power of ``a``, stable at loads of thousands of Erlangs.
* **Erlang C**, the probability that a call waits:
  ``C(a, c) = c B(a, c) / (c - a (1 - B(a, c)))`` when ``c > a``; 1 when
  ``0 < a`` and ``c <= a`` (the queue never empties); 0 when ``a = 0``
  (there are no calls to wait).
* **Service level**, the probability that a call waits at most ``t``:
  ``SL = 1 - C(a, c) exp(-(c - a) t / s)`` when ``c > a``, 0 when
  ``0 < a`` and ``c <= a``, 1 when ``a = 0``.
* **Mean wait**: ``C(a, c) s / (c - a)``; infinite when ``0 < a`` and
  ``c <= a``, 0 when ``a = 0``.
* **Servers needed**: the least whole ``c > a`` with ``SL(a, c, t, s) >= level``
  (0 when ``a = 0``). It exists for every ``level < 1`` because ``C`` falls
  to 0 as ``c`` grows; a level of 1 can never be met and is refused.

Every function takes scalars or numpy arrays (broadcast together) and returns
a Python number for scalar input, else an array.

Examples
--------
The textbook call centre: 10 Erlangs, 14 agents, 3-minute calls, 20-second target.

>>> round(erlang_c(10, 14), 4)
0.1741
>>> round(service_level(10, 14, target=20, mean_service=180), 4)
0.8884
>>> round(service_level(10, 13, target=20, mean_service=180), 4)
0.7956
>>> servers_for(10, target=20, service_level=0.8, mean_service=180)
14
>>> servers_for(np.array([0.0, 10.0, 1000.0]), 20, 0.8, 180).tolist()
[0, 14, 1011]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocator.errors import ArgumentError

__all__ = [
    "MAX_LOAD",
    "erlang_b",
    "erlang_c",
    "mean_wait",
    "servers_for",
    "service_level",
    "wait_measures",
]

#: the largest offered load accepted, in Erlangs (the recursions take about ``a`` steps)
MAX_LOAD = 100_000.0


def _scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _numbers(name: str, value: Any, *, positive: bool = False, upper: float | None = None) -> np.ndarray:
    """``value`` as float64, refused by name unless finite and 0 or more (above 0 if ``positive``)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(name, value, "must be a number or an array of numbers") from None
    if isinstance(value, bool | np.bool_) or np.asarray(value).dtype == bool:
        raise ArgumentError(name, value, "must be a number, not true/false")
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0)
    if upper is not None:
        bad |= arr > upper
    if np.any(bad):
        first = arr.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
        need = "above 0" if positive else "0 or more"
        if upper is not None:
            need += f" and at most {upper:,.0f}"
        where = "" if arr.ndim == 0 else f" ({int(bad.sum())} bad values, the first {first!r})"
        raise ArgumentError(name, value if arr.ndim == 0 else first, f"must be finite and {need}{where}")
    return arr


def _servers(value: Any) -> np.ndarray:
    """Whole numbers of servers, 0 or more, as int64."""
    arr = _numbers("servers", value)
    if np.any(arr != np.floor(arr)):
        first = arr.reshape(-1)[int(np.flatnonzero((arr != np.floor(arr)).reshape(-1))[0])]
        raise ArgumentError("servers", value if arr.ndim == 0 else first, "must be whole numbers")
    if np.any(arr > 10 * MAX_LOAD):
        raise ArgumentError("servers", float(arr.max()), f"must be at most {10 * MAX_LOAD:,.0f}")
    return arr.astype(np.int64)


def _erlang_b(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Erlang B by the recursion, vectorised: B is taken when ``k`` reaches each cell's ``c``."""
    b = np.ones_like(a)
    out = np.ones_like(a)
    top = int(c.max()) if c.size else 0
    for k in range(1, top + 1):
        ab = a * b
        b = ab / (k + ab)
        at = c == k
        if at.any():
            out[at] = b[at]
    return out


def _c_from_b(a: np.ndarray, c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Erlang C from Erlang B (the rule for ``c <= a`` and ``a = 0`` applied)."""
    above = c > a
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(above, c * b / (c - a * (1.0 - b)), 1.0)
    return np.where(a > 0, p, 0.0)


def _sl(a: np.ndarray, c: np.ndarray, p: np.ndarray, t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Service level from Erlang C ``p`` (the rules for ``c <= a`` and ``a = 0`` applied)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sl = np.where(c > a, 1.0 - p * np.exp(-(c - a) * t / s), 0.0)
    return np.where(a > 0, sl, 1.0)


def _out(x: np.ndarray, scalar: bool) -> Any:
    return x.item() if scalar else x


def erlang_b(load: Any, servers: Any) -> Any:
    """Erlang B: the probability that a call finds every one of ``servers`` busy (M/M/c/c).

    ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``; no factorials.

    Parameters
    ----------
    load
        Offered load ``a`` in Erlangs, finite, 0 or more (scalar or array).
    servers
        Whole numbers of servers ``c``, 0 or more.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(erlang_b(10, 14), 4)
    0.0568
    >>> round(erlang_b(1000, 1000), 4)
    0.0248
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    c = _servers(servers)
    a, c = np.broadcast_arrays(a, c)
    return _out(_erlang_b(a.reshape(-1), c.reshape(-1)).reshape(a.shape), _scalar(load, servers))


def erlang_c(load: Any, servers: Any) -> Any:
    """Erlang C: the probability that a call waits (M/M/c), ``P(wait > 0)``.

    ``C = c B / (c - a (1 - B))`` with ``B`` the Erlang B probability, when
    ``c > a``. With ``c <= a`` (and ``a > 0``) the queue never empties and
    every call waits: 1. With ``a = 0`` there is no call to wait: 0.

    Parameters
    ----------
    load
        Offered load ``a`` in Erlangs (arrival rate x mean service time).
    servers
        Whole numbers of servers ``c``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> round(erlang_c(10, 14), 4), round(10 / 14, 4)     # P(wait), occupancy
    (0.1741, 0.7143)
    >>> erlang_c(10, 10), erlang_c(0, 3)
    (1.0, 0.0)
    >>> round(erlang_c(1000.0, 1100), 5)                    # stable at 1,000 Erlangs
    0.00104
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    c = _servers(servers)
    a, c = np.broadcast_arrays(a, c)
    flat_a, flat_c = a.reshape(-1), c.reshape(-1)
    p = _c_from_b(flat_a, flat_c.astype(np.float64), _erlang_b(flat_a, flat_c))
    return _out(p.reshape(a.shape), _scalar(load, servers))


def service_level(load: Any, servers: Any, target: Any, mean_service: Any) -> Any:
    """Probability that a call waits at most ``target``: ``1 - C exp(-(c - a) t / s)``.

    Parameters
    ----------
    load
        Offered load ``a`` in Erlangs.
    servers
        Whole numbers of servers ``c``.
    target
        Longest acceptable wait ``t``, 0 or more, in the unit of ``mean_service``.
    mean_service
        Mean service time ``s``, above 0 (may be 0 only where the load is 0).

    Returns
    -------
    float or numpy.ndarray
        0 where ``c <= a`` and ``a > 0`` (the queue never empties); 1 where ``a = 0``.

    Examples
    --------
    >>> round(service_level(10, 14, 20, 180), 4)
    0.8884
    >>> service_level(2.5, 2, 60, 90)
    0.0
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    c = _servers(servers)
    t = _numbers("target", target)
    s = _mean_service(mean_service, a)
    a, c, t, s = (x.reshape(-1) for x in _broadcast(a, c, t, s))
    shape = np.broadcast_shapes(*(np.shape(v) for v in (load, servers, target, mean_service)))
    cf = c.astype(np.float64)
    p = _c_from_b(a, cf, _erlang_b(a, c))
    return _out(_sl(a, cf, p, t, s).reshape(shape), _scalar(load, servers, target, mean_service))


def mean_wait(load: Any, servers: Any, mean_service: Any) -> Any:
    """Mean wait of a call, ``C s / (c - a)``, in the unit of ``mean_service``.

    Infinite where ``c <= a`` and ``a > 0`` (the queue never empties), 0 where ``a = 0``.

    Examples
    --------
    >>> round(mean_wait(10, 14, 180), 2)      # seconds
    7.84
    >>> mean_wait(3, 3, 60)
    inf
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    c = _servers(servers)
    s = _mean_service(mean_service, a)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (load, servers, mean_service)))
    a, c, s = (x.reshape(-1) for x in _broadcast(a, c, s))
    cf = c.astype(np.float64)
    p = _c_from_b(a, cf, _erlang_b(a, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(cf > a, p * s / (cf - a), np.inf)
    w = np.where(a > 0, w, 0.0)
    return _out(w.reshape(shape), _scalar(load, servers, mean_service))


def _broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(x) for x in np.broadcast_arrays(*arrays)]


def _mean_service(value: Any, a: np.ndarray) -> np.ndarray:
    """Mean service times: finite, above 0 wherever the load is above 0."""
    s = _numbers("mean_service", value)
    zero = np.broadcast_to(s, np.broadcast_shapes(s.shape, a.shape)) == 0
    if np.any(zero & (np.broadcast_to(a, zero.shape) > 0)):
        raise ArgumentError("mean_service", 0.0, "must be above 0 where the load is above 0")
    return s


def servers_for(load: Any, target: Any, service_level: Any, mean_service: Any) -> Any:
    """The least number of servers ``c`` whose service level reaches ``service_level``.

    The least whole ``c > a`` with ``1 - C(a, c) exp(-(c - a) t / s) >= level``,
    found by running the Erlang B recursion upward from ``c = 1`` (each cell
    stops at its own answer); 0 where the load is 0. The answer is always above
    the load, and is the same number :func:`service_level` would confirm.

    Parameters
    ----------
    load
        Offered load ``a`` in Erlangs, at most :data:`MAX_LOAD`.
    target
        Longest acceptable wait ``t``, 0 or more (unit of ``mean_service``).
    service_level
        Share of calls to answer within ``t``: 0 or more and below 1 (a level of
        1 cannot be met by any number of servers).
    mean_service
        Mean service time ``s``, above 0 where the load is above 0.

    Returns
    -------
    int or numpy.ndarray of int64

    Examples
    --------
    >>> servers_for(10, 20, 0.8, 180)
    14
    >>> servers_for(2.0, target=15, service_level=0.9, mean_service=90)   # minutes
    5
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    t = _numbers("target", target)
    level = _numbers("service_level", service_level)
    if np.any(level >= 1):
        raise ArgumentError(
            "service_level", float(level.max()),
            "must be below 1: no number of servers answers every call within a target")
    s = _mean_service(mean_service, a)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (load, target, service_level, mean_service)))
    a, t, level, s = (x.reshape(-1) for x in _broadcast(a, t, level, s))
    out = np.zeros(a.shape, dtype=np.int64)
    idx = np.flatnonzero(a > 0)
    aa, tt, ll, ss = a[idx], t[idx], level[idx], s[idx]
    b = np.ones_like(aa)
    k = 0
    while idx.size:
        k += 1
        ab = aa * b
        b = ab / (k + ab)
        kk = np.full(aa.shape, float(k))
        sl = _sl(aa, kk, _c_from_b(aa, kk, b), tt, ss)
        hit = (kk > aa) & (sl >= ll)
        if hit.any():
            out[idx[hit]] = k
            keep = ~hit
            idx, aa, tt, ll, ss, b = idx[keep], aa[keep], tt[keep], ll[keep], ss[keep], b[keep]
    result = out.reshape(shape)
    return int(result) if _scalar(load, target, service_level, mean_service) else result


def wait_measures(
    load: Any, servers: Any, mean_service: Any, targets: list[Any]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """P(wait), mean wait and the service level for each target, from one Erlang B recursion.

    The same numbers as :func:`erlang_c`, :func:`mean_wait` and
    :func:`service_level` (arrays, broadcast together), for measuring many
    cells against several targets at once.

    >>> p, w, (sl,) = wait_measures(10.0, 14, 180.0, [20.0])
    >>> round(float(p), 4), round(float(w), 2), round(float(sl), 4)
    (0.1741, 7.84, 0.8884)
    """
    a = _numbers("load", load, upper=MAX_LOAD)
    c = _servers(servers)
    s = _mean_service(mean_service, a)
    ts = [_numbers("target", t) for t in targets]
    shape = np.broadcast_shapes(a.shape, c.shape, s.shape, *(t.shape for t in ts))
    a, c, s = (np.broadcast_to(x, shape).reshape(-1) for x in (a, c, s))
    cf = c.astype(np.float64)
    p = _c_from_b(a, cf, _erlang_b(a, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(cf > a, p * s / (cf - a), np.inf)
    w = np.where(a > 0, w, 0.0)
    levels = [_sl(a, cf, p, np.broadcast_to(t, shape).reshape(-1), s).reshape(shape) for t in ts]
    return p.reshape(shape), w.reshape(shape), levels
