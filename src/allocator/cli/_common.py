"""What the subcommands share: exit codes, progress on stderr, input loading, the current posting."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd
import yaml

from allocator.errors import InputError
from allocator.model.force import Force
from allocator.model.forcefile import load_force

if TYPE_CHECKING:
    from allocator.data.demand import DemandLoad

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

class Progress:
    """Progress lines on stderr, each with the time since the command started.

    While active it also shows the library's own INFO log lines (the solver
    stages, for instance) in the same format. ``quiet`` silences both.
    """

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self._handler: logging.Handler | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def library_logs(self) -> Iterator[None]:
        """Show ``allocator.*`` INFO logs as progress lines while inside."""
        if self.quiet:
            yield
            return
        progress = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                progress(record.getMessage())

        handler = _Handler(level=logging.INFO)
        root = logging.getLogger("allocator")
        old_level = root.level
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes."""
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")


def print_json(data: Any) -> None:
    """A summary as JSON on stdout (sorted keys, so the same run prints the same text)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path | pd.Timestamp):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def jsonable(value: Any) -> Any:
    """``value`` with dataclasses as dicts, numpy scalars as Python ones and NaN/inf as None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="index"))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path | pd.Timestamp):
        return str(value)
    return value


def error(message: str) -> None:
    """An error line on stderr."""
    print(f"allocator: error: {message}", file=sys.stderr, flush=True)


def report_input_error(exc: InputError) -> None:
    """Every problem of an input error on stderr, one per line."""
    n = len(exc.problems)
    error(f"{exc.source}: {n} problem{'s' if n != 1 else ''}")
    for p in exc.problems:
        print(f"  - {p}", file=sys.stderr)
    sys.stderr.flush()


def read_force(path: str | Path, progress: Progress) -> Force:
    """Load and validate the force file (``ForceError`` lists every problem)."""
    force = load_force(path)
    progress(
        f"force {Path(path).name}: {len(force.areas)} areas, {len(force.shifts)} shifts, "
        f"{len(force.roles)} roles, {len(force.demand_types)} demand types"
    )
    return force


def judgement_file(force_path: str | Path) -> Path | None:
    """The judgement table a force file refers to (``judgement: file.csv``), if any."""
    path = Path(force_path)
    if path.suffix.lower() not in {".yaml", ".yml"}:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    ref = data.get("judgement") if isinstance(data, dict) else None
    if isinstance(ref, dict):
        ref = ref.get("file")
    if isinstance(ref, str) and (path.parent / ref).is_file():
        return path.parent / ref
    return None


def read_demand(
    path: str | Path, force: Force, progress: Progress, mapping: str | Path | None = None,
    as_of: str | None = None,
) -> DemandLoad:
    """Load a demand extract with :func:`allocator.load_demand` and report its counts."""
    from allocator.data.demand import load_demand

    progress(f"reading {Path(path).name}")
    loaded = load_demand(path, force, mapping, as_of=as_of)
    accepted, rejected = len(loaded.records), len(loaded.rejects)
    progress(f"read {accepted + rejected:,} records: {accepted:,} accepted, {rejected:,} rejected")
    return loaded


def example_help(description: str, examples: Sequence[str]) -> dict[str, Any]:
    """``add_parser`` keywords for a description with a worked example in ``--help``."""
    from allocator import sample_path

    try:
        sample = str(sample_path())
    except FileNotFoundError:  # pragma: no cover - sample not installed
        sample = "data/samples"
    text = "\n".join(f"  {e.format(sample=sample)}" for e in examples)
    return {
        "description": description,
        "epilog": f"example (on the bundled sample force):\n{text}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def frame_to_text(frame: pd.DataFrame, floatfmt: str = "{:,.2f}") -> str:
    """A small frame as aligned plain text for the terminal."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = [("-" if pd.isna(v) else floatfmt.format(v)) for v in shown[col]]
    return shown.to_string(index=False)
