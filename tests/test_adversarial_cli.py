"""Misuse of the command line, its output directories and its run directories, as a new user or an attacker would.

Every case runs ``allocator`` in-process through :func:`allocator.cli.main`
and checks the exit code, the named message on stderr, that no traceback is
printed, and that no input file (nor the run directory ``explain`` and
``compare`` read) changed. Two run through the console entry in a fresh
interpreter.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from allocator.cli import main
from allocator.io import rundir
from allocator.io.atomic import sha256_file


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


def _hashes(*folders: Path) -> dict[str, str]:
    return {str(p): sha256_file(p) for d in folders for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("adv") / "force"
    assert run("sample", d, "-q").returncode == 0
    return d


@pytest.fixture(scope="module")
def good_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("advrun") / "run"
    r = run("allocate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--current",
            sample_dir / "current_shifts.csv", "--out", out, "-q")
    assert r.returncode == 0, r.stderr
    return out


@dataclass
class Ctx:
    sample: Path
    run: Path
    tmp: Path
    mp: pytest.MonkeyPatch

    def allocate(self, *more: str | Path) -> list[str | Path]:
        return ["allocate", self.sample / "force_shifts.yaml", self.sample / "demand.csv", *more]

    def run_copy(self, edit: Callable[[Path], None]) -> Path:
        copy = self.tmp / "copy"
        shutil.copytree(self.run, copy)
        edit(copy)
        return copy

    def manifest(self, change: Callable[[dict], object]) -> Path:  # type: ignore[type-arg]
        def edit(d: Path) -> None:
            m = json.loads((d / "run.json").read_text(encoding="utf-8"))
            new = change(m)
            m = new if isinstance(new, list) else m  # a change returns a replacement, or edits in place
            (d / "run.json").write_text(json.dumps(m), encoding="utf-8")

        return self.run_copy(edit)

    def explain(self, d: Path) -> list[str | Path]:
        return ["explain", d, "--area", "Swindon North", "--shift", "Night", "--role", "PC"]


def _raise(exc: BaseException) -> Callable[..., None]:
    def f(*args: object, **kwargs: object) -> None:
        raise exc

    return f


def _file(c: Ctx) -> Path:
    f = c.tmp / "a-file"
    f.write_text("x", encoding="utf-8")
    return f


def _full_disk(c: Ctx) -> list[str | Path]:
    c.mp.setattr(rundir.RunWriter, "write_bytes", _raise(OSError(errno.ENOSPC, "No space left on device")))
    return c.allocate("--out", c.run_copy(lambda d: None), "--force")


def _read_only(c: Ctx) -> list[str | Path]:
    real = rundir.os.access
    out = c.tmp / "ro"
    out.mkdir()
    c.mp.setattr(rundir.os, "access", lambda p, mode: False if Path(p) == out.resolve() else real(p, mode))
    return c.allocate("--out", out)


def _no_place(c: Ctx) -> list[str | Path]:
    c.mp.setattr(rundir.tempfile, "mkdtemp", _raise(PermissionError(errno.EACCES, "Permission denied")))
    return c.allocate("--out", c.tmp / "new")


def _interrupt_reading(c: Ctx) -> list[str | Path]:
    import allocator.data.demand as demand

    c.mp.setattr(demand, "load_demand", _raise(KeyboardInterrupt()))
    return c.allocate("--out", c.tmp / "out")


def _interrupt_solving(c: Ctx) -> list[str | Path]:
    import allocator.solve.planner as planner

    c.mp.setattr(planner, "allocate", _raise(KeyboardInterrupt()))
    return c.allocate("--out", c.tmp / "out")


def _interrupt_importing_backend(c: Ctx) -> list[str | Path]:
    import allocator.solve.milp as milp

    c.mp.setattr(milp, "available_backends", _raise(KeyboardInterrupt()))
    return c.allocate("--backend", "pulp", "--out", c.tmp / "out")


def _input_named_like_an_output(c: Ctx) -> list[str | Path]:
    busy = c.tmp / "busy"
    busy.mkdir()
    shutil.copy(c.sample / "demand.csv", busy / "rejects.csv")
    return ["validate", c.sample / "force_shifts.yaml", busy / "rejects.csv", "--out", busy, "--force"]


def _force_is_dir(c: Ctx) -> list[str | Path]:
    return ["validate", c.sample, c.sample / "demand.csv"]


# (kind, argv builder, exit code, text on stderr)
CASES: list[tuple[str, Callable[[Ctx], list[str | Path]], int, str]] = [
    ("unknown backend", lambda c: c.allocate("--backend", "gurobi"), 2, "unknown backend 'gurobi'"),
    ("unknown backend option", lambda c: c.allocate("--backend", "pulp:xpress"), 2, "unknown backend"),
    ("US-order --as-of", lambda c: c.allocate("--as-of", "01/10/2026"), 2, "expected an ISO 8601 date"),
    ("impossible --as-of", lambda c: c.allocate("--as-of", "2026-02-30"), 2, "not a real date"),
    ("--as-of offset +99:00", lambda c: c.allocate("--as-of", "2026-10-01T00:00+99:00"), 2, "'2026-10-01T00:00+99:00'"),
    ("--as-of in words", lambda c: c.allocate("--as-of", "yesterday"), 2, "got 'yesterday'"),
    ("--as-of on workload", lambda c: ["workload", c.sample / "force_shifts.yaml", c.sample / "demand.csv",
                                       "--as-of", "10/01/2026"], 2, "ISO 8601"),
    ("negative --time-limit", lambda c: c.allocate("--time-limit", "-1"), 2, "seconds above 0, got '-1'"),
    ("NaN --time-limit", lambda c: c.allocate("--time-limit", "nan"), 2, "seconds above 0, got 'nan'"),
    ("infinite --time-limit", lambda c: c.allocate("--time-limit", "inf"), 2, "seconds above 0, got 'inf'"),
    ("huge --max-moves", lambda c: c.allocate("--max-moves", str(10**30)), 2, "from 0 to 1,000,000"),
    ("negative --max-moves", lambda c: c.allocate("--max-moves", "-5"), 2, "got '-5'"),
    ("fractional --max-moves", lambda c: c.allocate("--max-moves", "2.5"), 2, "got '2.5'"),
    ("--max-moves without --current", lambda c: c.allocate("--max-moves", "3", "--out", c.tmp / "o"), 2,
     "give --current"),
    ("unknown option", lambda c: c.allocate("--frobnicate"), 2, "unrecognized arguments: --frobnicate"),
    ("--out under a file", lambda c: c.allocate("--out", _file(c) / "run"), 2, "is a file, not a directory"),
    ("--out is a file", lambda c: c.allocate("--out", _file(c)), 2, "exists and is not a directory"),
    ("--out is an input", lambda c: c.allocate("--out", c.sample / "demand.csv"), 2, "as the output directory"),
    ("--out the current directory", lambda c: (c.mp.chdir(c.sample), c.allocate("--out", ".", "--force"))[1], 2,
     "holds the current directory"),
    ("--out not empty", lambda c: c.allocate("--out", c.sample), 2, "use --force"),
    ("--out read-only", _read_only, 2, "the directory is read-only"),
    ("--out in a place not writable", _no_place, 2, "Permission denied"),
    ("disk full while writing", _full_disk, 2, "No space left on device; the previous run there"),
    ("an input under an output's name", _input_named_like_an_output, 2, "refusing to write rejects.csv over"),
    ("missing force file", lambda c: ["validate", c.tmp / "nope.yaml", c.sample / "demand.csv"], 2, "nope.yaml"),
    ("force file is a directory", _force_is_dir, 2, "force is a folder, not a file"),
    ("workload --out under a file", lambda c: ["workload", c.sample / "force_shifts.yaml", c.sample / "demand.csv",
                                               "--out", _file(c) / "w.csv"], 2, "is a file, not a directory"),
    ("workload --out a directory", lambda c: ["workload", c.sample / "force_shifts.yaml", c.sample / "demand.csv",
                                              "--out", c.tmp], 2, "is a directory; give a file name"),
    ("validate --out under a file", lambda c: ["validate", c.sample / "force_shifts.yaml", c.sample / "demand.csv",
                                               "--out", _file(c) / "x"], 2, "is a file, not a directory"),
    ("sample into a file", lambda c: ["sample", _file(c)], 2, "a-file: File exists"),
    ("Ctrl-C while reading", _interrupt_reading, 130, "interrupted"),
    ("Ctrl-C while solving", _interrupt_solving, 130, "interrupted"),
    ("Ctrl-C while checking the backend", _interrupt_importing_backend, 130, "interrupted"),
    ("explain: no such directory", lambda c: c.explain(c.tmp / "nothing"), 2, "no such run directory"),
    ("explain: no run.json", lambda c: c.explain(c.sample), 2, "not a run directory (no run.json)"),
    ("explain: run.json truncated", lambda c: c.explain(c.run_copy(
        lambda d: (d / "run.json").write_bytes((d / "run.json").read_bytes()[:200]))), 2, "not valid JSON"),
    ("explain: run.json binary", lambda c: c.explain(c.run_copy(
        lambda d: (d / "run.json").write_bytes(b"\xff\xfe\x00garbage"))), 2, "run.json: not UTF-8"),
    ("explain: run.json a list", lambda c: c.explain(c.manifest(lambda m: [m])), 2, "expected a JSON object"),
    ("explain: run.json without outputs", lambda c: c.explain(c.manifest(lambda m: m.pop("outputs"))), 2,
     "missing key 'outputs'"),
    ("explain: run.json without force", lambda c: c.explain(c.manifest(lambda m: m.pop("force"))), 2,
     "missing key 'force'"),
    ("explain: outputs of the wrong type", lambda c: c.explain(c.manifest(
        lambda m: m.update(outputs=["allocation.csv"]))), 2, "'outputs' should be a JSON object"),
    ("explain: an output hash not text", lambda c: c.explain(c.manifest(
        lambda m: m["outputs"].update({"allocation.csv": {"sha256": 7}}))), 2,
     "outputs['allocation.csv'] should be an object with sha256"),
    ("explain: an output outside the run", lambda c: c.explain(c.manifest(
        lambda m: m["outputs"].update({"../x": {"sha256": "0"}}))), 2, "not a file inside the run directory"),
    ("explain: force of the wrong shape", lambda c: c.explain(c.manifest(
        lambda m: m.update(force={"name": 3}))), 2, "its 'force' is not a valid force"),
    ("explain: an output edited", lambda c: c.explain(c.run_copy(
        lambda d: (d / "allocation.csv").write_text("area\n", encoding="utf-8"))), 2,
     "allocation.csv: changed since the run"),
    ("explain: an output deleted", lambda c: c.explain(c.run_copy(lambda d: (d / "moves.csv").unlink())), 2,
     "moves.csv: missing"),
    ("explain: unknown area", lambda c: ["explain", c.run, "--area", "Atlantis", "--shift", "Night", "--role",
                                        "PC"], 2, "unknown area; known: Swindon North"),
    ("compare: one run corrupt", lambda c: ["compare", c.run, c.run_copy(
        lambda d: (d / "run.json").write_text("{", encoding="utf-8"))], 2, "not valid JSON"),
    ("compare: one run edited", lambda c: ["compare", c.run_copy(
        lambda d: (d / "workload_by_type.csv").write_text("x\n", encoding="utf-8")), c.run], 2,
     "workload_by_type.csv: changed since the run"),
]


@pytest.mark.parametrize(("kind", "argv", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_misuse_is_refused_by_name_and_changes_no_input(
    kind: str, argv: Callable[[Ctx], list[str | Path]], code: int, message: str,
    sample_dir: Path, good_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = Ctx(sample_dir, good_run, tmp_path, monkeypatch)
    args = argv(ctx)
    watched = [sample_dir, good_run] + ([tmp_path / "copy"] if (tmp_path / "copy").exists() else [])
    before = _hashes(*watched)
    r = run(*args)
    monkeypatch.undo()
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "not installed" not in r.stderr
    assert _hashes(*watched) == before
    if code == 2 and "--out" in [str(a) for a in args] and kind != "disk full while writing":
        assert "reading" not in r.stderr  # refused before any data were read


def test_kinds_of_misuse_are_many_and_distinct() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


def test_a_full_disk_leaves_the_old_run_whole_and_no_temporaries(
    sample_dir: Path, good_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Ctx(sample_dir, good_run, tmp_path, monkeypatch)
    args = _full_disk(ctx)
    before = _hashes(tmp_path / "copy")
    assert run(*args).returncode == 2
    assert _hashes(tmp_path / "copy") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


def test_an_internal_error_exits_3_pointing_at_a_log_with_the_traceback(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import allocator.workload.engine as engine

    monkeypatch.setattr(engine, "compute_workload", _raise(RuntimeError("a bug")))
    out = tmp_path / "run"
    r = run("allocate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--out", out, "-q")
    assert r.returncode == 3
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    log = Path(r.stderr.strip().rsplit(" ", 1)[-1])
    assert log.is_file() and "RuntimeError: a bug" in log.read_text(encoding="utf-8")
    # the run directory did not exist yet, so the log went to a temporary file, not into it
    assert not out.exists()
    log.unlink()
    # into the run directory when there is one
    out.mkdir()
    r = run("allocate", sample_dir / "force_shifts.yaml", sample_dir / "demand.csv", "--out", out, "-q", "--force")
    assert r.returncode == 3 and str(out / "allocator-error.log") in r.stderr
    assert "Traceback (most recent call last)" in (out / "allocator-error.log").read_text(encoding="utf-8")


def test_a_closed_stdout_ends_quietly(good_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    err = io.StringIO()
    with contextlib.redirect_stdout(Closed()), contextlib.redirect_stderr(err):
        code = main(["explain", str(good_run), "--area", "Swindon North", "--shift", "Night", "--role", "PC",
                     "-q"])
    assert code == 0 and err.getvalue() == ""


def test_console_entry_refuses_a_backend_before_reading_and_survives_head(good_run: Path, sample_dir: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "allocator", "allocate", str(sample_dir / "force_shifts.yaml"),
                        str(sample_dir / "demand.csv"), "--backend", "gurobi"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown backend 'gurobi'" in r.stderr and "Traceback" not in r.stderr
    cmd = (f"{sys.executable} -m allocator explain {good_run} --area 'Swindon North' --shift Night --role PC"
           " | head -1")
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert p.stdout.startswith("Swindon North / Night / PC")
    assert "Traceback" not in p.stderr and "Broken pipe" not in p.stderr
