"""What the subcommands share: exit codes, progress on stderr, input loading, the current posting."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd
import yaml

from allocator.errors import InputError
from allocator.io.atomic import atomic_write_text
from allocator.model.force import Force
from allocator.model.forcefile import load_force

if TYPE_CHECKING:
    from allocator.data.demand import DemandLoad
    from allocator.io.rundir import Run

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

#: The backends the command line accepts (checked before any data are read).
BACKENDS = ("cpsat", "pulp", "pulp:cbc", "pulp:highs")
#: The largest ``--max-moves`` accepted: more officers than any force has.
MAX_MOVES = 1_000_000
#: The name of the log an internal error writes (with its traceback).
CRASH_LOG = "allocator-error.log"

_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)

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


def iso_date(text: str) -> str:
    """``--as-of``: an ISO 8601 date or time (``2026-10-01``, ``2026-10-01T06:00``, ``...+01:00``).

    Anything else (``01/10/2026`` could be 1 October or 10 January) is refused
    by name, before any data are read.

    >>> iso_date("2026-10-01")
    '2026-10-01'
    >>> iso_date("01/10/2026")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an ISO 8601 date, YYYY-MM-DD[THH:MM[:SS][+HH:MM]] ...
    """
    value = text.strip()
    problem = None
    if not _ISO_DATE.fullmatch(value):
        problem = "not in ISO 8601 form (day and month could be read either way)"
    else:
        try:
            ts = pd.Timestamp(value)
        except (ValueError, OverflowError) as exc:
            problem = f"not a real date or time ({exc})"
        else:
            offset = ts.utcoffset()
            if offset is not None and abs(offset.total_seconds()) > 14 * 3600:
                problem = "a UTC offset beyond 14 hours"
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date, YYYY-MM-DD[THH:MM[:SS][+HH:MM]] (e.g. 2026-10-01), "
            f"got {text!r}: {problem}"
        )
    return value


def backend_name(text: str) -> str:
    """``--backend``: one of :data:`BACKENDS`, checked (installed too) before any data are read."""
    if text not in BACKENDS:
        raise argparse.ArgumentTypeError(f"unknown backend {text!r}; choose one of {', '.join(BACKENDS)}")
    from allocator.solve.milp import available_backends

    if text not in available_backends():
        raise argparse.ArgumentTypeError(
            f"backend {text!r} is not installed here; installed: {', '.join(available_backends()) or 'none'}"
        )
    return text


def seconds(text: str) -> float:
    """``--time-limit``: a finite number of seconds above 0."""
    try:
        s = float(text)
    except ValueError:
        s = -1.0
    if not s > 0 or s == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return s


def count(text: str) -> int:
    """``--max-moves``: a whole number from 0 to :data:`MAX_MOVES`."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_MOVES:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_MOVES:,}, got {text!r}")
    return n


def workers(text: str) -> int:
    """``--workers`` / ``--processes``: a whole number of local workers from 1 to 1024."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError(f"expected a whole number of workers from 1 to 1024, got {text!r}")
    return n


#: How to install Dask, the optional extra partitioned demand and ``--dask`` need.
DASK_EXTRA = "pip install 'allocator[distributed]'"


def have_dask(what: str) -> bool:
    """Whether Dask is installed; when not, an error line saying ``what`` needs it and how to install it."""
    try:
        import dask  # noqa: F401
    except ImportError:
        error(f"{what} needs Dask, an optional extra: {DASK_EXTRA}")
        return False
    return True


def dask_client(address: str, progress: Progress) -> Any:
    """A ``dask.distributed.Client`` on ``address`` (``--dask``), or None (the reason on stderr).

    Without dask.distributed installed the error names the extra that
    installs it; a scheduler that cannot be reached is named with the reason.
    """
    try:
        from distributed import Client
    except ImportError:
        error(f"--dask needs dask.distributed: {DASK_EXTRA}")
        return None
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        error(f"--dask {address}: cannot connect to the scheduler ({exc})")
        return None
    progress(f"Dask scheduler {address}: {len(client.nthreads())} workers")
    return client


def os_error_text(exc: OSError) -> str:
    """An operating-system error as one line naming the file and the reason."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return str(exc) or reason


def write_crash_log(args: argparse.Namespace | None) -> Path:
    """Write the current exception's traceback to a log; return its path.

    The log goes into the run directory when there is one (``--out DIR`` that
    exists), else into a new temporary file. Written atomically.
    """
    text = traceback.format_exc()
    out = getattr(args, "out", None) if args is not None else None
    if isinstance(out, Path) and out.is_dir():
        target = out / CRASH_LOG
        try:
            atomic_write_text(target, text)
            return target
        except OSError:
            pass
    fd, name = tempfile.mkstemp(prefix="allocator-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(name)


def demand_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords the command line passes to :func:`allocator.load_demand` beyond the force.

    ``accept_rejects`` carries ``--accept-rejects``: accept an extract even when
    more of its rows are rejected than the force's limit allows.
    """
    keywords: dict[str, Any] = {"mapping": getattr(args, "mapping", None)}
    if getattr(args, "as_of", None) is not None:
        keywords["as_of"] = args.as_of
    if getattr(args, "accept_rejects", False):
        keywords["accept_rejects"] = True
    return keywords


def add_accept_rejects(parser: argparse.ArgumentParser) -> None:
    """``--accept-rejects``: go on when the share of rejected rows passes the force's limit."""
    parser.add_argument("--accept-rejects", action="store_true",
                        help="go on even when more rows are rejected than the limit allows "
                             "(the rejects are still listed and written)")


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress lines on stderr (the final summary and the output path stay)")
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
    time = (f"{len(force.windows)} duty windows, {len(force.patterns)} patterns" if getattr(force, "patterns", None)
            else f"{len(force.shifts)} shifts")
    progress(
        f"force {Path(path).name}: {len(force.areas)} areas, {time}, "
        f"{len(force.roles)} roles, {len(force.demand_types)} demand types"
    )
    return force


def _yaml_reference(path: Path, key: str) -> Path | None:
    """The file a YAML file names under ``key`` (``key: file`` or ``key: {file: ...}``), if it exists.

    Relative references are relative to the YAML file. Unreadable files give
    None here: their loader reports them by name.
    """
    if path.suffix.lower() not in {".yaml", ".yml"}:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
    ref = data.get(key) if isinstance(data, dict) else None
    if isinstance(ref, dict):
        ref = ref.get("file")
    if isinstance(ref, str) and ref.strip():
        target = path.parent / ref
        if target.is_file():
            return target
    return None


def judgement_file(force_path: str | Path) -> Path | None:
    """The judgement table a force file refers to (``judgement: file.csv``), if any."""
    return _yaml_reference(Path(force_path), "judgement")


def codes_file(mapping_path: str | Path | None) -> Path | None:
    """The code lookup a mapping file refers to (``codes: codes.csv``), if any."""
    return _yaml_reference(Path(mapping_path), "codes") if mapping_path is not None else None


def input_map(
    force_path: str | Path, extract_path: str | Path | Mapping[str, Path], mapping_path: str | Path | None = None,
    current_path: str | Path | None = None,
) -> dict[str, Path]:
    """Every file a run reads, by role: force, judgement, demand, mapping, codes, current.

    Files referenced from other files are included: the force file's
    ``judgement:`` table and the mapping's ``codes:`` lookup. ``extract_path``
    may be the demand's files by key (``demand[part.0.parquet]``, one per
    partition of a dataset), which take the place of ``demand``.
    """
    found: dict[str, Path] = {"force": Path(force_path)}
    judgement = judgement_file(force_path)
    if judgement is not None:
        found["judgement"] = judgement
    if isinstance(extract_path, Mapping):
        found.update({key: Path(p) for key, p in extract_path.items()})
    else:
        found["demand"] = Path(extract_path)
    if mapping_path is not None:
        found["mapping"] = Path(mapping_path)
        codes = codes_file(mapping_path)
        if codes is not None:
            found["codes"] = codes
    if current_path is not None:
        found["current"] = Path(current_path)
    return found


def input_files(
    force_path: str | Path, extract_path: str | Path, mapping_path: str | Path | None = None
) -> list[Path]:
    """Every file reading the force and the extract reads (see :func:`input_map`), in that order.

    >>> from allocator import sample_path
    >>> [p.name for p in input_files(sample_path("force.yaml"), sample_path("cad_extract.csv"),
    ...                              sample_path("cad_mapping.yaml"))]
    ['force.yaml', 'judgement.csv', 'cad_extract.csv', 'cad_mapping.yaml', 'codes.csv']
    """
    return list(input_map(force_path, extract_path, mapping_path).values())


def read_demand(path: str | Path, force: Force, progress: Progress, keywords: dict[str, Any]) -> DemandLoad:
    """Load a demand extract with :func:`allocator.load_demand` (``keywords`` from
    :func:`demand_keywords`) and report its counts."""
    from allocator.data.demand import load_demand

    progress(f"reading {Path(path).name}")
    loaded = load_demand(path, force, **keywords)
    accepted, rejected = len(loaded.records), len(loaded.rejects)
    progress(f"read {accepted + rejected:,} records: {accepted:,} accepted, {rejected:,} rejected")
    return loaded


def open_run(path: str | Path, progress: Progress) -> tuple[Run, Force]:
    """A run directory for ``explain``/``compare``: its manifest checked, its files matching it, its force.

    Raises :class:`~allocator.io.rundir.RunError` (exit code 2) naming the
    fault. Inputs that changed since the run are reported as progress lines
    ("mapping.yaml (mapping) changed since the run").
    """
    import pydantic

    from allocator.io.rundir import MANIFEST, RunError, read_run

    run = read_run(path)
    run.check()
    if "force" not in run.manifest:
        raise RunError(f"{Path(path) / MANIFEST}: not a usable manifest: missing key 'force'")
    try:
        force = Force.model_validate(run.manifest["force"])
    except (pydantic.ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunError(f"{Path(path) / MANIFEST}: its 'force' is not a valid force ({first})") from None
    for line in run.changed_inputs():
        progress(f"note: {line}")
    return run, force


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
