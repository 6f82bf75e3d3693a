"""The example notebook on the sample force runs from top to bottom, so it cannot rot.

(That it is built from docs/example.py is checked in test_docs.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
