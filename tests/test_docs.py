"""Generated documents (API reference, example notebook) are kept up to date."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["build_api_docs.py", "build_notebook.py"])
def test_generated_document_is_up_to_date(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_readme_gives_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make sample" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# ------------------------------------------------------------------ the docs' shell blocks run as written
#: Pages whose ```sh blocks are run; a block fenced ```sh norun (installation, make) is shown, not run.
RUN_DOCS = ["docs/quickstart.md", "README.md", "docs/cli.md"]
_BLOCK = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PROGRAMS = {"allocator", ".venv/bin/allocator"}


def shell_commands(text: str) -> list[list[str]]:
    """The commands of a page's runnable ``sh`` blocks, in order, as argument lists.

    >>> shell_commands("```sh\\nallocator a b \\\\\\n  --c 'd e'  # note\\n```\\n```sh norun\\nmake\\n```\\n")
    [['allocator', 'a', 'b', '--c', 'd e']]
    """
    commands = []
    for lang, rest, body in _BLOCK.findall(text):
        if lang != "sh" or "norun" in rest:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                commands.append(argv)
    return commands


@pytest.mark.parametrize("page", RUN_DOCS)
def test_every_shell_block_of_the_docs_runs_as_written(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allocator.cli import main

    commands = shell_commands((ROOT / page).read_text(encoding="utf-8"))
    assert commands, f"{page} has no runnable sh block"
    monkeypatch.chdir(tmp_path)  # a fresh directory: the page's own `allocator sample` comes first
    for argv in commands:
        assert argv[0] in _PROGRAMS, f"{page}: {argv[0]!r} in a runnable sh block (fence it ```sh norun)"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv[1:])
        assert code == 0, f"{page}: {shlex.join(argv)} exited {code}:\n{err.getvalue()}"


def test_the_quickstart_names_only_files_allocator_sample_writes(tmp_path: Path) -> None:
    from allocator.cli.sample import sample_files

    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    named = set(re.findall(r"my-force/([\w.-]+\.(?:csv|yaml))", text))
    assert named and named <= set(sample_files()), sorted(named - set(sample_files()))


# ------------------------------------------------------------------ the docs' python blocks name the API as it is
#: Pages whose ```python blocks are checked: each parses, every ``allocator...`` name it uses exists, and
#: every call of a library function fits its signature (a block of ``>>>`` lines runs as a doctest).
PYTHON_DOCS = sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("docs/*.md"), ROOT / "README.md"])


def _resolve(dotted: str) -> object:
    """``allocator.x.y`` -> the object, importing submodules on the way."""
    import importlib

    parts = dotted.split(".")
    obj: object = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        obj = getattr(obj, part) if hasattr(obj, part) else importlib.import_module(".".join(parts[: i + 1]))
    return obj


def api_problems(code: str, where: str) -> list[str]:
    """What a block gets wrong about the library: names that do not exist, calls that do not fit.

    A positional argument written as a bare name that is another parameter of
    the function (``allocate(force, workload)`` where ``workload`` comes first)
    is reported too.

    >>> api_problems("import allocator\\nallocator.allocate(force, result.workload)", "x.md")
    ['x.md: allocator.allocate: positional argument 1 is `force` but that place is `workload`']
    >>> api_problems("from allocator import no_such_thing", "x.md")[0].startswith("x.md: allocator.no_such_thing")
    True
    """
    import ast
    import inspect

    tree = ast.parse(code)
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "allocator":
                    names[a.asname or "allocator"] = a.name if a.asname else "allocator"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "allocator":
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(n: ast.AST) -> str | None:
        if isinstance(n, ast.Name):
            return names.get(n.id)
        if isinstance(n, ast.Attribute):
            base = dotted(n.value)
            return None if base is None else f"{base}.{n.attr}"
        return None

    problems: list[str] = []
    for name, target in names.items():
        try:
            _resolve(target)
        except (ImportError, AttributeError):
            problems.append(f"{where}: {target} does not exist (imported as {name})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and (d := dotted(node)):
            try:
                _resolve(d)
            except (ImportError, AttributeError):
                problems.append(f"{where}: {d} does not exist")
        if not (isinstance(node, ast.Call) and (d := dotted(node.func))):
            continue
        try:
            sig = inspect.signature(_resolve(d))  # type: ignore[arg-type]
        except (ImportError, AttributeError, TypeError, ValueError):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue
        try:
            sig.bind(*node.args, **{str(k.arg): None for k in node.keywords})
        except TypeError as exc:
            problems.append(f"{where}: {d}(...) does not fit {d.rsplit('.', 1)[1]}{sig}: {exc}")
            continue
        params = list(sig.parameters.values())
        for i, a in enumerate(node.args):
            if (isinstance(a, ast.Name) and i < len(params) and a.id != params[i].name
                    and a.id in sig.parameters and params[i].kind is not inspect.Parameter.VAR_POSITIONAL):
                problems.append(f"{where}: {d}: positional argument {i + 1} is `{a.id}` but that place is "
                                f"`{params[i].name}`")
    return problems


@pytest.mark.parametrize("page", PYTHON_DOCS)
def test_every_python_block_of_the_docs_names_the_api_as_it_is(page: str) -> None:
    import doctest

    text = (ROOT / page).read_text(encoding="utf-8")
    problems: list[str] = []
    for match in _BLOCK.finditer(text):
        lang, _, body = match.groups()
        if lang != "python":
            continue
        where = f"{page}:{text[: match.start()].count(chr(10)) + 1}"
        if body.lstrip().startswith(">>>"):  # a doctest: it runs
            test = doctest.DocTestParser().get_doctest(body, {}, where, page, 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            out = io.StringIO()
            runner.run(test, out=out.write)
            if runner.failures:
                problems.append(out.getvalue())
            continue
        problems += api_problems(body, where)
    assert not problems, "\n".join(problems)
