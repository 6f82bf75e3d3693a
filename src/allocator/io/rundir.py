"""The run directory: every output of one allocation run, written atomically, with a manifest.

A run directory holds the tables of one run (``allocation.csv``,
``workload.csv``, ...), its report, and ``run.json``: the manifest naming the
inputs (path, SHA-256, row counts), the force and judgement used, the
parameters, the library and solver versions, the solver report, and the
SHA-256 of every output file. ``allocator explain`` and ``allocator compare``
work from the directory alone.

Every file is written to a temporary file beside it and renamed into place
(:func:`allocator.io.atomic.atomic_path`), so an interrupted run leaves either the
old file or the complete new one. ``run.json`` is written last: a directory
whose manifest lists a file with a matching hash holds that file complete.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> writer = RunWriter(out)
>>> writer.write_csv("allocation.csv", pd.DataFrame({"area": ["North"], "posts": [3]}))
>>> path = writer.finish({"command": "allocate"})
>>> run = read_run(out)
>>> run.manifest["command"], list(run.manifest["outputs"])
('allocate', ['allocation.csv'])
>>> run.table("allocation.csv")["posts"].tolist()
[3]
>>> run.verify()
[]
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text, sha256_file

__all__ = [
    "MANIFEST",
    "OutputError",
    "Run",
    "RunWriter",
    "check_output_dir",
    "describe_input",
    "environment",
    "read_run",
]

logger = logging.getLogger(__name__)

MANIFEST = "run.json"
#: Version of the manifest layout; bumped when a field changes meaning.
MANIFEST_VERSION = 1


class OutputError(Exception):
    """An output cannot be written where asked (it would overwrite an input, or the directory is in use)."""


def check_output_dir(
    out: str | Path, inputs: Iterable[str | Path], outputs: Iterable[str], *, force: bool = False
) -> Path:
    """Check that ``out`` may receive a run, and return it resolved.

    Refuses (:class:`OutputError`) when ``out`` is an existing file, when it is
    an existing non-empty directory and ``force`` is false, and, always, when
    one of the ``outputs`` written there would replace one of the ``inputs``.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "allocation.csv").write_text("x")
    >>> check_output_dir(d, [d / "allocation.csv"], ["allocation.csv"], force=True)
    Traceback (most recent call last):
    ...
    allocator.io.rundir.OutputError: refusing to write allocation.csv over the input ...
    """
    out = Path(out).resolve()
    resolved_inputs = {Path(p).resolve(): Path(p) for p in inputs}
    if out in resolved_inputs:
        raise OutputError(f"refusing to use the input {resolved_inputs[out]} as the output directory")
    for name in outputs:
        target = (out / name).resolve()
        if target in resolved_inputs:
            raise OutputError(
                f"refusing to write {name} over the input {resolved_inputs[target]}; "
                "choose another --out directory"
            )
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{out} exists and is not empty; use --force to write over its files")
    return out


def describe_input(path: str | Path, rows: int | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest entry for an input file: path, name, SHA-256, size, rows."""
    p = Path(path)
    entry: dict[str, Any] = {
        "path": str(p.resolve()),
        "name": p.name,
        "sha256": sha256_file(p),
        "bytes": p.stat().st_size,
    }
    if rows is not None:
        entry["rows"] = int(rows)
    entry.update(extra)
    return entry


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def environment() -> dict[str, str | None]:
    """Versions of Python and the libraries that shape a run's result."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("allocator", "numpy", "pandas", "pyarrow", "ortools", "pulp", "highspy", "matplotlib"):
        out[pkg] = _version(pkg)
    return out


def _frame_csv(frame: pd.DataFrame) -> str:
    """A frame as CSV text: no index, ``\\n`` line ends, floats with full precision."""
    return frame.to_csv(index=False, lineterminator="\n")


class RunWriter:
    """Write the files of one run into ``out``, atomically, recording each one's SHA-256.

    Call :meth:`finish` last: it writes ``run.json`` with the manifest given
    and the hashes of the outputs written through this writer.

    Parameters
    ----------
    out
        The run directory; created if missing.
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.outputs: dict[str, dict[str, Any]] = {}

    def _record(self, name: str, **extra: Any) -> None:
        path = self.out / name
        self.outputs[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size, **extra}
        logger.debug("wrote %s", path)

    @contextmanager
    def path(self, name: str, **extra: Any) -> Iterator[Path]:
        """Yield a temporary path for a writer that wants one; renamed to ``name`` on success."""
        with atomic_path(self.out / name) as tmp:
            yield tmp
        self._record(name, **extra)

    def write_text(self, name: str, text: str, **extra: Any) -> None:
        """Write UTF-8 text to ``name``."""
        self.write_bytes(name, text.encode("utf-8"), **extra)

    def write_bytes(self, name: str, data: bytes, **extra: Any) -> None:
        """Write ``data`` to ``name`` (which may name a sub-folder: ``figures/coverage.png``)."""
        atomic_write_bytes(self.out / name, data)
        self._record(name, **extra)

    def write_csv(self, name: str, frame: pd.DataFrame) -> None:
        """Write a frame as CSV (no index), recording its row count."""
        self.write_text(name, _frame_csv(frame), rows=len(frame))

    def write_parquet(self, name: str, frame: pd.DataFrame) -> None:
        """Write a frame as Parquet (no index)."""
        with self.path(name, rows=len(frame)) as tmp:
            frame.to_parquet(tmp, index=False)

    def write_with(self, name: str, writer: Callable[[Path], None]) -> None:
        """Write ``name`` with ``writer(tmp_path)``, atomically."""
        with self.path(name) as tmp:
            writer(tmp)

    def finish(self, manifest: Mapping[str, Any]) -> Path:
        """Write ``run.json``: ``manifest`` plus the layout version and the outputs' hashes."""
        data = {"manifest_version": MANIFEST_VERSION, **manifest, "outputs": dict(sorted(self.outputs.items()))}
        text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=_json_default) + "\n"
        target = self.out / MANIFEST
        atomic_write_text(target, text)
        return target


def _json_default(value: Any) -> Any:
    """JSON for numpy scalars, paths and timestamps."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to run.json")


@dataclass
class Run:
    """A run directory read back: its manifest and its tables.

    Attributes
    ----------
    path
        The directory.
    manifest
        ``run.json`` as a dict.
    """

    path: Path
    manifest: dict[str, Any]
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        """Whether the run wrote ``name``."""
        return name in self.manifest.get("outputs", {}) and (self.path / name).exists()

    def table(self, name: str) -> pd.DataFrame:
        """A CSV output of the run as a frame (cached)."""
        if name not in self._tables:
            if not self.has(name):
                raise FileNotFoundError(f"{self.path / name}: this run has no {name}")
            self._tables[name] = pd.read_csv(self.path / name, keep_default_na=True)
        return self._tables[name].copy()

    def verify(self) -> list[str]:
        """Outputs whose bytes no longer match the manifest (missing or changed), by name."""
        bad = []
        for name, entry in self.manifest.get("outputs", {}).items():
            p = self.path / name
            if not p.exists():
                bad.append(f"{name}: missing")
            elif sha256_file(p) != entry.get("sha256"):
                bad.append(f"{name}: changed since the run")
        return bad

    def input_unchanged(self, key: str) -> Path | None:
        """The path of input ``key`` if it is still there with the recorded SHA-256, else None."""
        entry = self.manifest.get("inputs", {}).get(key)
        if not entry:
            return None
        p = Path(entry["path"])
        if p.is_file() and sha256_file(p) == entry.get("sha256"):
            return p
        return None


def read_run(path: str | Path) -> Run:
    """Read a run directory written by ``allocator allocate``.

    Raises ``FileNotFoundError`` when ``path`` holds no ``run.json`` and
    ``ValueError`` when the manifest is not valid JSON.
    """
    p = Path(path)
    manifest_path = p / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{p}: not a run directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{manifest_path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ValueError(f"{manifest_path}: expected a JSON object")
    return Run(p, manifest)
