"""Build docs/example.ipynb from docs/example.py (percent format), deterministically.

    python scripts/build_notebook.py          # write the notebook
    python scripts/build_notebook.py --check  # exit 1 if it is out of date

The notebook carries no outputs, so it diffs cleanly; the test suite runs its cells.
"""

from __future__ import annotations

import json
from pathlib import Path

from _generated import write_or_check

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "example.py"
TARGET = ROOT / "docs" / "example.ipynb"


def cells(text: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    kind, lines = None, []  # type: ignore[var-annotated]

    def flush() -> None:
        if kind is None:
            return
        while lines and not lines[-1].strip():
            lines.pop()
        src = [line + "\n" for line in lines]
        if src:
            src[-1] = src[-1].rstrip("\n")
        cell: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": src}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind == "code":
            lines.append(line)
    flush()
    return out


def notebook() -> str:
    nb = {
        "cells": cells(SOURCE.read_text(encoding="utf-8")),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    return write_or_check(TARGET, notebook(), "build_notebook.py")


if __name__ == "__main__":
    raise SystemExit(main())
