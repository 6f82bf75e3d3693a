"""The current posting of a force on patterns: every bad row named at once, totals checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import allocator
from allocator.errors import InputError
from allocator.model.build import build_formulation

FORCE = allocator.load_force(allocator.sample_path("force.yaml"))
W = np.ones((6, 168, 3))


def _read(current: object) -> np.ndarray:
    f = build_formulation(W, FORCE, current=current, days=182)
    assert f.current is not None
    return f.current


def _sample() -> pd.DataFrame:
    return pd.read_csv(allocator.sample_path("current.csv"), dtype=str, keep_default_na=False)


def _problems(current: object) -> list[str]:
    with pytest.raises(InputError) as err:
        _read(current)
    return [str(p) for p in err.value.problems]


def test_the_sample_posting_reads_whole_and_keeps_every_establishment() -> None:
    x = _read(allocator.sample_path("current.csv"))
    f = build_formulation(W, FORCE, days=182)
    assert np.bincount(f.col_role, weights=x).tolist() == [400, 120, 60]


def test_a_pattern_given_without_teams_is_spread_first_teams_one_more() -> None:
    df = _sample()
    pcs = df[(df["role"] == "PC") & (df["area"] == "Swindon North")]
    total = int(pcs["posts"].astype(int).sum())
    rest = df.drop(pcs.index)
    whole = pd.concat([rest, pd.DataFrame([{"area": "Swindon North", "role": "PC", "pattern": "Response",
                                            "team": "", "posts": str(total)}])])
    x = _read(whole)
    f = build_formulation(W, FORCE, days=182)
    mine = np.flatnonzero((f.col_area == 0) & (f.col_role == 0))
    assert x[mine].tolist() == [total // 5 + (1 if i < total % 5 else 0) for i in range(5)]


def test_every_bad_row_is_named_at_once(tmp_path: Path) -> None:
    df = _sample()
    df.loc[0, "area"] = "Swindon Nrth"
    df.loc[1, "pattern"] = "Respnse"
    df.loc[2, "team"] = "9"
    df.loc[3, "posts"] = "3.5"
    df.loc[4, "pattern"] = "Neighbourhood"  # a PC row on the PCSOs' pattern
    path = tmp_path / "current.csv"
    df.to_csv(path, index=False)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    problems = _problems(path)
    assert any("row 1, column area" in p and "did you mean 'Swindon North'" in p for p in problems)
    assert any("row 2, column pattern" in p and "did you mean 'Response'" in p for p in problems)
    assert any("row 3, column team" in p and "'9'" in p for p in problems)
    assert any("row 4, column posts" in p and "'3.5'" in p for p in problems)
    assert any("row 5, column pattern" in p and "PC does not work pattern 'Neighbourhood'" in p for p in problems)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_totals_that_differ_from_the_establishment_are_refused() -> None:
    df = _sample()
    df.loc[0, "posts"] = str(int(df.loc[0, "posts"]) + 10_000)
    problems = _problems(df)
    assert any("current posting has 10,400 PCs; the establishment is 400" in p for p in problems)


def test_a_missing_team_and_a_missing_pattern_are_named() -> None:
    df = _sample()
    no_team = df.drop(index=0)
    assert any("no row for team 1" in p for p in _problems(no_team))
    lci = df[(df["role"] == "LCI") & (df["area"] == "Wiltshire South")].index
    problems = _problems(df.drop(index=lci))
    assert any("no row for 1 area and pattern: Wiltshire South / Investigation" in p for p in problems)


def test_a_cell_given_twice_and_a_header_only_file(tmp_path: Path) -> None:
    df = _sample()
    twice = pd.concat([df, df.iloc[[0]]])
    assert any("cell given twice (first in row 1)" in p for p in _problems(twice))
    path = tmp_path / "empty.csv"
    path.write_text("area,role,pattern,team,posts\n", encoding="utf-8")
    assert any("no rows" in p for p in _problems(path))
