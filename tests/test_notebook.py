"""The example notebook on the sample force runs from top to bottom, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_notebook_is_built_from_its_script() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_notebook.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_notebook_cell_runs() -> None:
    nb = json.loads((ROOT / "docs" / "example.ipynb").read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code_cells) >= 6
    for n, cell in enumerate(code_cells):
        source = "".join(cell["source"])
        exec(compile(source, f"<notebook cell {n}>", "exec"), namespace)
    allocation = namespace["allocation"]
    force = namespace["force"]
    # the notebook's allocation shares out every role's establishment
    table = allocation.table  # type: ignore[attr-defined]
    for role in force.roles:  # type: ignore[attr-defined]
        assert table.loc[table["role"] == role.name, "posts"].sum() == role.establishment
