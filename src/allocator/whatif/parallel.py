"""Run independent tasks in order: in this process, on local processes, or on a Dask cluster.

Every sweep of :mod:`allocator.whatif` (scenarios, sensitivity, bootstrap) is a
list of independent tasks, each a plain picklable value handed to a function
defined at module level. :func:`map_ordered` returns their results in the
tasks' order wherever they ran, so a sweep gives the same table, number for
number, in-process, on local processes or on a ``dask.distributed`` cluster.

>>> map_ordered(abs, [-2, 3, -5], processes=1)
[2, 3, 5]
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["map_ordered", "workers"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def workers(processes: int | None, n_tasks: int) -> int:
    """Local worker processes for ``n_tasks`` tasks: ``processes``, default the CPU count, at most one per task.

    >>> workers(4, 2), workers(1, 10), workers(None, 0)
    (2, 1, 1)
    """
    if processes is not None and processes < 1:
        from allocator.errors import ArgumentError

        raise ArgumentError("processes", processes, "must be 1 or more")
    wanted = processes if processes is not None else (os.cpu_count() or 1)
    return max(1, min(wanted, n_tasks))


def map_ordered(fn: Callable[..., R], tasks: Sequence[T], client: Any = None, processes: int | None = None,
                shared: Any = None) -> list[R]:
    """``[fn(t) for t in tasks]`` (``fn(shared, t)`` with ``shared``), run in parallel, in the tasks' order.

    Parameters
    ----------
    fn
        A function defined at module level (it is pickled by reference).
    tasks
        Picklable arguments, one per task.
    client
        A ``dask.distributed.Client``: the tasks run on its cluster
        (``client.map`` with ``pure=False``, then ``client.gather``).
        ``shared`` is scattered to the workers once, not sent with each task.
    processes
        Without a client: local worker processes (default the CPU count;
        1 runs every task here, in order). Workers start the platform's
        way (``fork`` on Linux; ``spawn`` on macOS and Windows, where a
        script must guard its work with ``if __name__ == "__main__":``).
    """
    tasks = list(tasks)
    if client is not None:
        log.info("running %d tasks on the Dask cluster", len(tasks))
        if shared is None:
            futures = client.map(fn, tasks, pure=False)
        else:
            scattered = client.scatter(shared, broadcast=True, hash=False)
            futures = client.map(fn, [scattered] * len(tasks), tasks, pure=False)
        return list(client.gather(futures))
    n = workers(processes, len(tasks))
    if n == 1:
        return [fn(t) if shared is None else fn(shared, t) for t in tasks]
    log.info("running %d tasks on %d local processes", len(tasks), n)
    chunk = max(1, len(tasks) // (4 * n))
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context()) as pool:
        if shared is None:
            return list(pool.map(fn, tasks, chunksize=chunk))
        return list(pool.map(fn, [shared] * len(tasks), tasks, chunksize=chunk))
