"""The run directory: every output of one allocation run, written atomically, with a manifest.

A run directory holds the tables of one run (``allocation.csv``,
``workload.csv``, ...), its report, and ``run.json``: the manifest naming the
inputs (path, SHA-256, row counts), the force and judgement used, the
parameters, the library and solver versions, the solver report, and the
SHA-256 of every output file. ``allocator explain`` and ``allocator compare``
work from the directory alone.

A run directory is replaced whole. :class:`RunWriter` writes the new run into
a fresh hidden sibling directory (``.NAME.new-PID-XXXX``); :meth:`RunWriter.finish`
writes ``run.json`` last, carries over the files of the old directory that are
not a run's outputs (your notes stay), then renames the old directory aside
(``.NAME.old-PID-XXXX``), renames the new one in and removes the old one. A
run killed at any moment therefore leaves the old run or the new one, never a
mix; the temporaries of a killed run are cleaned by the next one
(:func:`clean_stale`), which puts an old run back if it was caught between the
two renames.

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
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.io.atomic import atomic_write_text, sha256_file
from allocator.io.cells import restore_frame, spreadsheet_frame

__all__ = [
    "MANIFEST",
    "OutputError",
    "Run",
    "RunError",
    "RunWriter",
    "check_output_dir",
    "clean_stale",
    "describe_input",
    "environment",
    "read_run",
]

logger = logging.getLogger(__name__)

MANIFEST = "run.json"
#: Version of the manifest layout; bumped when a field changes meaning.
MANIFEST_VERSION = 1


class OutputError(Exception):
    """An output cannot be written where asked (it would overwrite an input, the place is not writable, ...)."""


class RunError(Exception):
    """A run directory cannot be used: no or a corrupt ``run.json``, or files that differ from it."""


def _temporaries(out: Path) -> list[tuple[Path, str, int]]:
    """Hidden siblings of ``out`` left by a run: (path, ``new`` or ``old``, process id)."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(new|old)-(\d+)-[^/]+")
    found = []
    if out.parent.is_dir():
        for p in sorted(out.parent.iterdir()):
            m = pattern.fullmatch(p.name)
            if m and p.is_dir():
                found.append((p, m.group(1), int(m.group(2))))
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def clean_stale(out: str | Path) -> list[Path]:
    """Remove the temporaries of killed runs into ``out``; return what was removed or restored.

    A new run's directory left by a killed process is removed. An old run
    renamed aside is put back when ``out`` is missing (the kill came between
    the two renames), else removed. Temporaries of live processes are left alone.
    """
    out = Path(out)
    done = []
    for path, kind, pid in _temporaries(out):
        if _alive(pid):
            continue
        if kind == "old" and not out.exists():
            os.rename(path, out)
            logger.warning("restored the previous run %s from %s", out, path.name)
        else:
            shutil.rmtree(path, ignore_errors=True)
        done.append(path)
    return done


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(
    out: str | Path, inputs: Iterable[str | Path], outputs: Iterable[str], *, force: bool = False,
    whole: bool = True,
) -> Path:
    """Check that ``out`` may receive a run, and return it resolved.

    Refuses (:class:`OutputError`) when ``out`` is an existing file, when it is
    an existing non-empty directory and ``force`` is false, when it is (or
    holds) the current directory and ``whole`` is true (a run replaces its
    directory whole; ``whole=False`` for a command that only adds files), when it lies
    under a file or cannot be written (:func:`check_writable`), and, always,
    when one of the ``outputs`` written there would replace one of the ``inputs``.

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
    cwd = Path.cwd().resolve()
    if whole and (out == cwd or out in cwd.parents):
        raise OutputError(f"refusing to replace {out}: it holds the current directory; give --out a folder "
                          "of its own (runs/2026-11)")
    base = _first_existing(out.parent)
    if not base.is_dir():
        raise OutputError(f"cannot write the run to {out}: {base} is a file, not a directory")
    clean_stale(out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{out} exists and is not empty; use --force to write over its files")
    check_writable(out, whole=whole)
    return out


def check_writable(out: Path, *, whole: bool = True) -> None:
    """Refuse (:class:`OutputError`) a run directory this process cannot write or replace.

    For a run (``whole``) it creates and removes a trial directory beside
    ``out``: the same operation a run starts with, so a read-only or missing
    place fails before any work. Otherwise ``out`` (or the nearest folder that
    exists above it) must be writable.
    """
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the run to {out}: the directory is read-only")
    if not whole:
        base = _first_existing(out)
        if not os.access(base, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to {out}: {base} is read-only")
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        trial = tempfile.mkdtemp(prefix=f".{out.name}.new-{os.getpid()}-", dir=out.parent)
        os.rmdir(trial)
    except OSError as exc:
        raise OutputError(f"cannot write the run to {out}: {exc.strerror or exc}") from None


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


def frame_csv(frame: pd.DataFrame) -> str:
    """A frame as CSV text for spreadsheets: no index, ``\\n`` line ends, floats rounded to
    :data:`allocator.io.cells.DECIMALS` places, formula-like text quoted (:mod:`allocator.io.cells`)."""
    return spreadsheet_frame(frame).to_csv(index=False, lineterminator="\n")


class RunWriter:
    """Write the files of one run, recording each one's SHA-256, and swap the run in whole.

    Files go into a fresh hidden sibling of ``out``; :meth:`finish` writes
    ``run.json`` and replaces ``out`` with it (see the module notes). Until
    then ``out`` is untouched; :meth:`abort` (or leaving a ``with`` block by
    an exception) removes the new files.

    Parameters
    ----------
    out
        The run directory; its parent is created if missing.
    """

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(self.out)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.new-{os.getpid()}-", dir=self.out.parent))
        os.chmod(self.stage, 0o777 & ~_umask())
        self.outputs: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            self.abort()

    def abort(self) -> None:
        """Remove the files written so far; ``out`` stays as it was."""
        shutil.rmtree(self.stage, ignore_errors=True)

    def _target(self, name: str) -> Path:
        path = self.stage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _record(self, name: str, **extra: Any) -> None:
        path = self.stage / name
        self.outputs[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size, **extra}
        logger.debug("wrote %s", name)

    @contextmanager
    def path(self, name: str, **extra: Any) -> Iterator[Path]:
        """Yield the path for a writer that wants one (Parquet, Excel); recorded on success."""
        target = self._target(name)
        try:
            yield target
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        self._record(name, **extra)

    def write_text(self, name: str, text: str, **extra: Any) -> None:
        """Write UTF-8 text to ``name``."""
        self.write_bytes(name, text.encode("utf-8"), **extra)

    def write_bytes(self, name: str, data: bytes, **extra: Any) -> None:
        """Write ``data`` to ``name`` (which may name a sub-folder: ``figures/coverage.png``)."""
        with self.path(name, **extra) as target:
            target.write_bytes(data)

    def write_csv(self, name: str, frame: pd.DataFrame) -> None:
        """Write a frame as CSV for spreadsheets (:func:`frame_csv`), recording its row count."""
        self.write_text(name, frame_csv(frame), rows=len(frame))

    def write_parquet(self, name: str, frame: pd.DataFrame) -> None:
        """Write a frame as Parquet (no index, full precision)."""
        with self.path(name, rows=len(frame)) as tmp:
            frame.to_parquet(tmp, index=False)

    def write_with(self, name: str, writer: Callable[[Path], None]) -> None:
        """Write ``name`` with ``writer(path)``."""
        with self.path(name) as tmp:
            writer(tmp)

    def finish(self, manifest: Mapping[str, Any]) -> Path:
        """Write ``run.json`` (``manifest`` plus the layout version and the outputs' hashes) and swap the run in.

        Returns the path of ``run.json`` in ``out``.
        """
        try:
            data = {"manifest_version": MANIFEST_VERSION, **manifest, "outputs": dict(sorted(self.outputs.items()))}
            text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=_json_default) + "\n"
            (self.stage / MANIFEST).write_bytes(text.encode("utf-8"))
            self._keep_other_files()
            _fsync_tree(self.stage)
            self._swap()
        except BaseException:
            self.abort()
            raise
        return self.out / MANIFEST

    def _keep_other_files(self) -> None:
        """Copy into the new run the files of ``out`` that are no run's outputs."""
        if not self.out.is_dir():
            return
        old_outputs: set[str] = set()
        try:
            old = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
            if isinstance(old, dict) and isinstance(old.get("outputs"), dict):
                old_outputs = set(old["outputs"])
        except (OSError, ValueError):
            pass
        skip = old_outputs | set(self.outputs) | {MANIFEST}
        for path in sorted(self.out.rglob("*")):
            rel = path.relative_to(self.out).as_posix()
            if path.is_file() and rel not in skip and not (self.stage / rel).exists():
                target = self._target(rel)
                shutil.copy2(path, target)

    def _swap(self) -> None:
        if not self.out.exists():
            os.rename(self.stage, self.out)
            return
        aside = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-{os.getpid()}-", dir=self.out.parent))
        os.rename(self.out, aside)  # replaces the empty placeholder directory
        try:
            os.rename(self.stage, self.out)
        except BaseException:
            os.rename(aside, self.out)
            raise
        shutil.rmtree(aside, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    """Flush every file under ``root`` to disk before the run is swapped in."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(path: str | Path, frame: pd.DataFrame) -> None:
    """Write one table outside a run directory, atomically: CSV for spreadsheets, or Parquet by suffix."""
    from allocator.io.atomic import atomic_path

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
    else:
        atomic_write_text(path, frame_csv(frame))


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
        ``run.json`` as a dict (checked by :func:`read_run`).
    """

    path: Path
    manifest: dict[str, Any]
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        """Whether the run wrote ``name``."""
        return name in self.manifest.get("outputs", {}) and (self.path / name).exists()

    def table(self, name: str) -> pd.DataFrame:
        """A CSV output of the run as a frame, its text as the run had it (cached)."""
        if name not in self._tables:
            if not self.has(name):
                raise RunError(f"{self.path / name}: this run has no {name}")
            try:
                frame = pd.read_csv(self.path / name, keep_default_na=True)
            except (ValueError, UnicodeDecodeError) as exc:
                raise RunError(f"{self.path / name}: not a readable CSV table ({exc})") from None
            self._tables[name] = restore_frame(frame)
        return self._tables[name].copy()

    def require(self, name: str, columns: Iterable[str]) -> pd.DataFrame:
        """:meth:`table`, refusing (:class:`RunError`) a table that lacks one of ``columns``."""
        frame = self.table(name)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise RunError(f"{self.path / name}: lacks the column{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(missing)}")
        return frame

    def verify(self) -> list[str]:
        """Outputs whose bytes no longer match the manifest (missing or changed), by name."""
        bad = []
        for name, entry in self.manifest.get("outputs", {}).items():
            p = self.path / name
            if not p.is_file():
                bad.append(f"{name}: missing")
            elif sha256_file(p) != entry.get("sha256"):
                bad.append(f"{name}: changed since the run")
        return bad

    def check(self) -> None:
        """Refuse (:class:`RunError`) a run whose files do not match its manifest, naming each one."""
        bad = self.verify()
        if bad:
            raise RunError(f"{self.path}: files do not match its {MANIFEST}: " + "; ".join(bad)
                           + " (re-run allocate to write the run again)")

    def input_unchanged(self, key: str) -> Path | None:
        """The path of input ``key`` if it is still there with the recorded SHA-256, else None."""
        entry = self.manifest.get("inputs", {}).get(key)
        if not entry:
            return None
        p = Path(entry["path"])
        if p.is_file() and sha256_file(p) == entry.get("sha256"):
            return p
        return None

    def changed_inputs(self) -> list[str]:
        """Inputs recorded in the manifest that are missing or changed since the run, as sentences."""
        out = []
        for key, entry in self.manifest.get("inputs", {}).items():
            p = Path(entry["path"])
            if not p.is_file():
                out.append(f"{entry.get('name', p.name)} ({key}) is missing since the run")
            elif sha256_file(p) != entry.get("sha256"):
                out.append(f"{entry.get('name', p.name)} ({key}) changed since the run")
        return out


#: Keys a manifest must hold, with the JSON type of each.
_REQUIRED: dict[str, type] = {"outputs": dict}
#: Keys a manifest may hold, with the JSON type of each.
_OPTIONAL: dict[str, type] = {"force": dict, "inputs": dict, "data": dict, "parameters": dict, "command": str}


def _check_manifest(manifest: Any, source: str) -> list[str]:
    """What is wrong with a manifest's shape (keys, types), every fault at once."""
    if not isinstance(manifest, dict):
        return [f"expected a JSON object, got {type(manifest).__name__}"]
    faults = []
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if key not in manifest:
            if key in _REQUIRED:
                faults.append(f"missing key {key!r}")
        elif not isinstance(manifest[key], kind):
            faults.append(f"{key!r} should be a JSON {'object' if kind is dict else 'string'}, "
                          f"got {type(manifest[key]).__name__}")
    for section, fields in (("outputs", ("sha256",)), ("inputs", ("path", "sha256"))):
        entries = manifest.get(section)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) for f in fields):
                faults.append(f"{section}[{name!r}] should be an object with {' and '.join(fields)} (text)")
            elif section == "outputs" and (Path(name).is_absolute() or ".." in Path(name).parts):
                faults.append(f"outputs[{name!r}] is not a file inside the run directory")
    return faults


def read_run(path: str | Path) -> Run:
    """Read a run directory written by ``allocator allocate``.

    Raises :class:`RunError` naming the fault when ``path`` holds no
    ``run.json`` or one that is truncated, not JSON, or lacks keys or has
    the wrong types. (Check the files against it with :meth:`Run.check`.)
    """
    p = Path(path)
    manifest_path = p / MANIFEST
    if not p.is_dir():
        raise RunError(f"{p}: no such run directory")
    if not manifest_path.is_file():
        raise RunError(f"{p}: not a run directory (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise RunError(f"{manifest_path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{manifest_path}: not valid JSON (truncated or edited?): "
                       f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise RunError(f"{manifest_path}: nested too deeply to be a manifest") from None
    faults = _check_manifest(manifest, str(manifest_path))
    if faults:
        raise RunError(f"{manifest_path}: not a usable manifest: " + "; ".join(faults))
    return Run(p, manifest)
