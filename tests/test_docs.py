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
