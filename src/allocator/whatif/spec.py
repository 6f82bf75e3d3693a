"""The scenario file: a base (force, demand, current posting) and named variations of it.

A scenario file is YAML, read safely (:func:`allocator.model.yamlsafe.load_yaml`)
with the line of every key kept, so that every fault names the scenario and
its line. Paths are relative to the scenario file::

    base:
      force: force.yaml          # required
      demand: demand.csv         # required: one extract, a folder of Parquet partitions, or a list of files
      current: current.csv       # optional: moves are counted against it
      mapping: cad_mapping.yaml  # optional: column and code mapping of the extract
      as_of: "2026-10-01"        # end of the demand window: optional for one extract, required otherwise
    options:                     # optional
      backend: cpsat
      time_limit: 60
    scenarios:
      - name: Abstraction 60%
        roles: {PC: {abstraction: 0.6}}
      - name: Lose 20 PCs
        roles: {PC: {establishment_change: -20}}
      - name: Domestic abuse +15%
        demand: [{type: DA, multiplier: 1.15}]
      - name: Domestic abuse weighs more
        judgement: [{type: DA, role: PC, impact: 1.5}]
      - name: Five on nights, at most 30 moves
        roles: {PC: {min_on_duty: {Night: 5}}}
        max_moves: 30
    sensitivity: {change: 0.2, fields: [minutes, impact]}   # optional
    bootstrap: {resamples: 200, seed: 7}                      # optional

Per scenario: ``roles`` (per role ``abstraction``, ``establishment``,
``establishment_change``, ``proactive_share``, ``min_on_duty`` (merged into the
role's), ``patterns``); ``areas`` (per area ``max_posts``/``min_posts`` per
role, merged); ``demand`` (growth: a list of ``{type, area, multiplier}``, type
or area left out for all of them; entries that meet multiply); ``judgement``
(a list of ``{type, role, share, minutes, impact}``, absolute values);
``max_moves`` (moves per role from the current posting).

``base.demand`` may name a folder of Parquet files (one partition a file, as
Dask, Spark or pyarrow write them) or give a list of files (Parquet or CSV):
the base is then read partition by partition on Dask
(:func:`allocator.load_partitioned_workload`) and ``base.as_of`` is required.

Examples
--------
>>> text = '''
... base: {force: force.yaml, demand: demand.csv}
... scenarios:
...   - name: Lose 20 PCs
...     roles: {PC: {establishment_change: -20}}
... '''
>>> spec = parse_scenarios(text, "scenarios.yaml", base_dir=".")
>>> [s.name for s in spec.scenarios], spec.scenarios[0].line
(['Lose 20 PCs'], 4)
>>> parse_scenarios("base: {force: f.yaml}\\nscenarios: []\\n", "s.yaml", base_dir=".")
Traceback (most recent call last):
...
allocator.whatif.spec.ScenarioError: s.yaml: 1 problem
  - s.yaml, line 1, base.demand: missing; name the demand extract (a path relative to the scenario file)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.errors import InputError, Problem, did_you_mean
from allocator.model.yamlsafe import load_yaml

__all__ = [
    "BASE_NAME",
    "JUDGEMENT_FIELDS",
    "Growth",
    "JudgementChange",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "load_scenarios",
    "parse_scenarios",
]

#: the name of the unvaried base in every comparison
BASE_NAME = "base"
#: the judgement values a scenario or a sensitivity may change
JUDGEMENT_FIELDS = ("share", "minutes", "impact")
_ROLE_KEYS = ("abstraction", "establishment", "establishment_change", "proactive_share", "min_on_duty",
              "patterns")
_AREA_KEYS = ("max_posts", "min_posts")
_SCENARIO_KEYS = ("name", "roles", "areas", "demand", "judgement", "max_moves", "note")
_TOP_KEYS = ("base", "options", "scenarios", "sensitivity", "bootstrap")
_BASE_KEYS = ("force", "demand", "current", "mapping", "as_of")
_OPTION_KEYS = ("backend", "time_limit", "processes")
_SENSITIVITY_KEYS = ("change", "fields", "types", "roles")
_BOOTSTRAP_KEYS = ("resamples", "seed")


class ScenarioError(InputError):
    """A scenario file (or a scenario given as data) is not usable; every problem listed."""


@dataclass(frozen=True)
class Growth:
    """Demand growth: records of ``demand_type`` in ``area`` count ``multiplier`` times (None: all)."""

    multiplier: float
    demand_type: str | None = None
    area: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class JudgementChange:
    """New judgement values for one (demand type, role) pair (None: unchanged)."""

    demand_type: str
    role: str
    share: float | None = None
    minutes: float | None = None
    impact: float | None = None
    line: int | None = None


@dataclass(frozen=True)
class Scenario:
    """One named variation of the base."""

    name: str
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    areas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    demand: tuple[Growth, ...] = ()
    judgement: tuple[JudgementChange, ...] = ()
    max_moves: int | None = None
    note: str = ""
    line: int | None = None
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_base(self) -> bool:
        """True when the scenario changes nothing."""
        return not (self.roles or self.areas or self.demand or self.judgement or self.max_moves is not None)


@dataclass(frozen=True)
class ScenarioSpec:
    """A parsed scenario file: the base inputs, the scenarios and the sweeps to run."""

    force: Path
    demand: Path | tuple[Path, ...]
    current: Path | None = None
    mapping: Path | None = None
    as_of: str | None = None
    scenarios: tuple[Scenario, ...] = ()
    backend: str = "cpsat"
    time_limit: float = 60.0
    processes: int | None = None
    sensitivity: Mapping[str, Any] | None = None
    bootstrap: Mapping[str, Any] | None = None
    source: str = "<scenarios>"
    path: Path | None = None

    @property
    def partitioned(self) -> bool:
        """Whether the base demand is a partitioned dataset: a list of files, or a folder."""
        return isinstance(self.demand, tuple) or self.demand.is_dir()

    @property
    def demand_source(self) -> Path | list[Path]:
        """The base demand as :func:`allocator.load_partitioned_workload` takes it (a folder, a file or a list)."""
        return list(self.demand) if isinstance(self.demand, tuple) else self.demand

    def demand_files(self) -> dict[str, Path]:
        """The demand's files by key: ``{"demand": file}``, or ``{"demand[NAME]": file}`` per partition.

        NAME is the file's name in messages (its path in the folder, or as
        given). A missing file or folder is a :class:`~allocator.errors.DemandError`.
        """
        if not self.partitioned:
            assert isinstance(self.demand, Path)
            return {"demand": self.demand}
        from allocator.workload.partitioned import partition_files

        return {f"demand[{name}]": path for name, path in partition_files(self.demand_source, quiet=True)}

    def inputs(self) -> dict[str, Path]:
        """The files the spec names, by role (the scenario file first; a partitioned demand file by file)."""
        out: dict[str, Path] = {}
        if self.path is not None:
            out["scenarios"] = self.path
        out["force"] = self.force
        out.update(self.demand_files())
        for key in ("current", "mapping"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


# ------------------------------------------------------------------ parsing
class _Reader:
    """Collects every problem of one file with its line."""

    def __init__(self, source: str, lines: Mapping[tuple[Any, ...], int]):
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, path: tuple[Any, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def add(self, path: tuple[Any, ...], message: str, *value: Any, scenario: str | None = None) -> None:
        where = _fmt(path)
        if scenario is not None:
            where = f"scenario {scenario!r}, {where}"
        line = self.line(path)
        if value:
            self.problems.append(Problem(self.source, where, message, value[0], line=line))
        else:
            self.problems.append(Problem(self.source, where, message, line=line))

    def mapping(self, value: Any, path: tuple[Any, ...], keys: tuple[str, ...], scenario: str | None = None
                ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping of {', '.join(keys)}", value, scenario=scenario)
            return {}
        for k in value:
            if k not in keys:
                self.add((*path, k), did_you_mean("key", str(k), list(keys)), scenario=scenario)
        return {k: v for k, v in value.items() if k in keys}

    def number(self, value: Any, path: tuple[Any, ...], scenario: str | None, *, lo: float = -math.inf,
               hi: float = math.inf, lo_open: bool = False, hi_open: bool = False, what: str = "a number"
               ) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.add(path, f"expected {what}", value, scenario=scenario)
            return None
        v = float(value)
        if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
            self.add(path, f"expected {what}", value, scenario=scenario)
            return None
        return v

    def integer(self, value: Any, path: tuple[Any, ...], scenario: str | None, *, lo: int | None = None,
                what: str = "a whole number") -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or (lo is not None and value < lo):
            self.add(path, f"expected {what}", value, scenario=scenario)
            return None
        return int(value)


def _fmt(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _path(value: Any, base_dir: Path, key: tuple[Any, ...], r: _Reader, required: bool) -> Path | None:
    if value is None:
        if required:
            what = "the force file" if key[-1] == "force" else "the demand extract"
            r.add(key, f"missing; name {what} (a path relative to the scenario file)")
        return None
    if not isinstance(value, str) or not value.strip():
        r.add(key, "expected a file name", value)
        return None
    return base_dir / value.strip()


def _demand(value: Any, base_dir: Path, r: _Reader) -> Path | tuple[Path, ...] | None:
    """``base.demand``: one path (a file or a folder of partitions), or a list of files."""
    key = ("base", "demand")
    if not isinstance(value, list):
        return _path(value, base_dir, key, r, required=True)
    if not value:
        r.add(key, "expected a file name, a folder or a list of files; the list is empty", value)
        return None
    paths = [_path(v, base_dir, (*key, i), r, required=True) for i, v in enumerate(value)]
    if any(p is None for p in paths):
        return None
    return tuple(p for p in paths if p is not None)


def _check_as_of(as_of: Any, demand: Path | tuple[Path, ...] | None, r: _Reader) -> str | None:
    """``base.as_of`` as text; required (before any file is read) when the demand is partitioned."""
    if as_of is None:
        if demand is not None and (isinstance(demand, tuple) or demand.is_dir()):
            what = "a list of files" if isinstance(demand, tuple) else "a folder of partitions"
            r.add(("base", "as_of"), f"missing; required when base.demand is {what}: give the end of the demand "
                  "window (as_of: \"2026-10-01\"), from which every partition measures recency and the window")
        return None
    text = as_of if isinstance(as_of, str) else str(as_of)  # YAML reads 2026-10-01 as a date
    try:
        ok = pd.Timestamp(text) is not pd.NaT
    except (ValueError, TypeError, OverflowError):
        ok = False
    if not ok:
        r.add(("base", "as_of"), "expected a date or time (as_of: \"2026-10-01\")", as_of)
        return None
    return text


def _growth(items: Any, path: tuple[Any, ...], r: _Reader, name: str) -> tuple[Growth, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        r.add(path, "expected a list of {type, area, multiplier}", items, scenario=name)
        return ()
    out = []
    for i, item in enumerate(items):
        here = (*path, i)
        entry = r.mapping(item, here, ("type", "area", "multiplier"), name)
        if not isinstance(item, dict):
            continue
        if "multiplier" not in entry:
            r.add(here, "missing multiplier (1.15 for 15% more demand)", scenario=name)
            continue
        m = r.number(entry["multiplier"], (*here, "multiplier"), name, lo=0.0,
                     what="a multiplier of 0 or more (1.15 for 15% more demand)")
        t, a = entry.get("type"), entry.get("area")
        for key, v in (("type", t), ("area", a)):
            if v is not None and not isinstance(v, str):
                r.add((*here, key), f"expected a {'demand type code' if key == 'type' else 'area name'}", v,
                      scenario=name)
        if m is not None:
            out.append(Growth(m, t if isinstance(t, str) else None, a if isinstance(a, str) else None,
                              r.line(here)))
    return tuple(out)


def _judgement(items: Any, path: tuple[Any, ...], r: _Reader, name: str) -> tuple[JudgementChange, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        r.add(path, "expected a list of {type, role, share, minutes, impact}", items, scenario=name)
        return ()
    out = []
    for i, item in enumerate(items):
        here = (*path, i)
        entry = r.mapping(item, here, ("type", "role", *JUDGEMENT_FIELDS), name)
        if not isinstance(item, dict):
            continue
        ok = True
        for key in ("type", "role"):
            if not isinstance(entry.get(key), str):
                r.add((*here, key), f"missing or not a name: give the {'demand type' if key == 'type' else key}",
                      entry.get(key), scenario=name)
                ok = False
        values: dict[str, float | None] = {}
        for f in JUDGEMENT_FIELDS:
            if f in entry:
                values[f] = r.number(entry[f], (*here, f), name, lo=0.0, hi=1.0 if f == "share" else math.inf,
                                     what="a share from 0 to 1" if f == "share" else "a number, 0 or more")
                ok = ok and values[f] is not None
        if not values:
            r.add(here, f"changes nothing: give one of {', '.join(JUDGEMENT_FIELDS)}", scenario=name)
            ok = False
        if ok:
            out.append(JudgementChange(entry["type"], entry["role"], values.get("share"), values.get("minutes"),
                                       values.get("impact"), r.line(here)))
    return tuple(out)


def _roles(value: Any, path: tuple[Any, ...], r: _Reader, name: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        r.add(path, "expected a mapping of role name -> changes", value, scenario=name)
        return out
    for role, changes in value.items():
        here = (*path, role)
        entry = r.mapping(changes, here, _ROLE_KEYS, name)
        if not isinstance(changes, dict) or not changes:
            if not isinstance(changes, dict) or not changes:
                r.add(here, f"changes nothing: give one of {', '.join(_ROLE_KEYS)}", changes, scenario=name)
            continue
        clean: dict[str, Any] = {}
        if "abstraction" in entry:
            clean["abstraction"] = r.number(entry["abstraction"], (*here, "abstraction"), name, lo=0.0, hi=1.0,
                                            hi_open=True, what="a share of duties lost, 0 or more and below 1")
        if "proactive_share" in entry:
            clean["proactive_share"] = r.number(entry["proactive_share"], (*here, "proactive_share"), name,
                                                lo=0.0, hi=1.0, hi_open=True, what="a share, 0 or more and below 1")
        if "establishment" in entry and "establishment_change" in entry:
            r.add((*here, "establishment_change"), "give establishment or establishment_change, not both",
                  scenario=name)
        if "establishment" in entry:
            clean["establishment"] = r.integer(entry["establishment"], (*here, "establishment"), name, lo=0,
                                               what="a headcount, 0 or more")
        if "establishment_change" in entry:
            clean["establishment_change"] = r.integer(entry["establishment_change"], (*here, "establishment_change"),
                                                      name, what="a whole number of posts (-20 to lose 20)")
        if "min_on_duty" in entry:
            mins = entry["min_on_duty"]
            if not isinstance(mins, dict):
                r.add((*here, "min_on_duty"), "expected a mapping of window or bucket -> officers", mins,
                      scenario=name)
            else:
                clean["min_on_duty"] = {
                    str(k): r.number(v, (*here, "min_on_duty", k), name, lo=0.0, what="officers, 0 or more")
                    for k, v in mins.items()}
        if "patterns" in entry:
            pats = entry["patterns"]
            if not (isinstance(pats, list) and pats and all(isinstance(p, str) for p in pats)):
                r.add((*here, "patterns"), "expected a list of pattern names", pats, scenario=name)
            else:
                clean["patterns"] = list(pats)
        out[str(role)] = clean
    return out


def _areas(value: Any, path: tuple[Any, ...], r: _Reader, name: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        r.add(path, "expected a mapping of area name -> {max_posts, min_posts}", value, scenario=name)
        return out
    for area, changes in value.items():
        here = (*path, area)
        entry = r.mapping(changes, here, _AREA_KEYS, name)
        clean: dict[str, Any] = {}
        for key, bounds in entry.items():
            if not isinstance(bounds, dict):
                r.add((*here, key), "expected a mapping of role -> posts", bounds, scenario=name)
                continue
            clean[key] = {str(k): r.integer(v, (*here, key, k), name, lo=0, what="posts, 0 or more")
                          for k, v in bounds.items()}
        out[str(area)] = clean
    return out


def parse_scenarios(text: str, source: str, base_dir: str | Path) -> ScenarioSpec:
    """Parse the text of a scenario file (see the module docstring); paths relative to ``base_dir``.

    Names are not checked against the force here (:func:`load_scenarios` does).

    Raises
    ------
    ScenarioError
        Every fault at once, each naming the scenario, its line and the field.
    """
    spec, problems = _parse(text, source, base_dir)
    if problems or spec is None:
        raise ScenarioError(source, problems)
    return spec


def _parse(text: str, source: str, base_dir: str | Path) -> tuple[ScenarioSpec | None, list[Problem]]:
    """The spec (its valid parts; None without the base's paths) and every problem found."""
    from allocator.errors import ForceError

    try:
        data, lines = load_yaml(text, source)
    except ForceError as exc:
        return None, list(exc.problems)
    r = _Reader(source, lines)
    if not isinstance(data, dict):
        r.add((), "expected a mapping with base and scenarios", data)
        return None, r.problems
    top = r.mapping(data, (), _TOP_KEYS)
    base_dir = Path(base_dir)
    base = r.mapping(top.get("base"), ("base",), _BASE_KEYS)
    if "base" not in top:
        r.add(("base",), "missing; give base: {force: ..., demand: ...}")
    force = _path(base.get("force"), base_dir, ("base", "force"), r, required=True)
    demand = _demand(base.get("demand"), base_dir, r)
    current = _path(base.get("current"), base_dir, ("base", "current"), r, required=False)
    mapping = _path(base.get("mapping"), base_dir, ("base", "mapping"), r, required=False)
    as_of = _check_as_of(base.get("as_of"), demand, r)

    options = r.mapping(top.get("options"), ("options",), _OPTION_KEYS)
    backend = options.get("backend", "cpsat")
    if not isinstance(backend, str):
        r.add(("options", "backend"), "expected a backend name (cpsat, pulp, pulp:cbc, pulp:highs)", backend)
        backend = "cpsat"
    time_limit = 60.0
    if "time_limit" in options:
        time_limit = r.number(options["time_limit"], ("options", "time_limit"), None, lo=0.0, lo_open=True,
                              what="seconds above 0") or 60.0
    processes = None
    if "processes" in options:
        processes = r.integer(options["processes"], ("options", "processes"), None, lo=1, what="1 or more")

    scenarios: list[Scenario] = []
    items = top.get("scenarios")
    if items is None:
        items = []
    if not isinstance(items, list):
        r.add(("scenarios",), "expected a list of scenarios, each with a name", items)
        items = []
    seen: dict[str, int | None] = {BASE_NAME: None}
    for i, item in enumerate(items):
        here = ("scenarios", i)
        entry = r.mapping(item, here, _SCENARIO_KEYS)
        if not isinstance(item, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            r.add((*here, "name"), "every scenario needs a name", name)
            name = f"#{i + 1}"
        name = name.strip()
        if name in seen:
            where = "the unvaried base" if seen[name] is None else f"line {seen[name]}"
            r.add((*here, "name"), f"scenario name {name!r} is taken ({where}); give each a name of its own",
                  name)
        line = r.line(here)
        seen[name] = line
        max_moves = None
        if "max_moves" in entry:
            max_moves = r.integer(entry["max_moves"], (*here, "max_moves"), name, lo=0, what="moves, 0 or more")
            if max_moves is not None and current is None:
                r.add((*here, "max_moves"), "counts moves from the current posting: give base.current too",
                      scenario=name)
        note = entry.get("note", "")
        scenarios.append(Scenario(
            name=name,
            roles=_roles(entry.get("roles"), (*here, "roles"), r, name),
            areas=_areas(entry.get("areas"), (*here, "areas"), r, name),
            demand=_growth(entry.get("demand"), (*here, "demand"), r, name),
            judgement=_judgement(entry.get("judgement"), (*here, "judgement"), r, name),
            max_moves=max_moves,
            note=str(note) if note is not None else "",
            line=line,
            lines={k[2:]: v for k, v in lines.items() if k[:2] == here},
        ))

    sensitivity = r.mapping(top.get("sensitivity"), ("sensitivity",), _SENSITIVITY_KEYS) \
        if "sensitivity" in top else None
    if sensitivity is not None:
        if "change" in sensitivity:
            r.number(sensitivity["change"], ("sensitivity", "change"), None, lo=0.0, hi=1.0,
                     hi_open=True, what="a relative change from 0 to below 1 (0.2 for +-20%)")
        fields = sensitivity.get("fields")
        if fields is not None and not (isinstance(fields, list) and fields
                                       and all(f in JUDGEMENT_FIELDS for f in fields)):
            r.add(("sensitivity", "fields"), f"expected a list of {', '.join(JUDGEMENT_FIELDS)}", fields)
        for key in ("types", "roles"):
            v = sensitivity.get(key)
            if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                r.add(("sensitivity", key), "expected a list of names", v)
    bootstrap = r.mapping(top.get("bootstrap"), ("bootstrap",), _BOOTSTRAP_KEYS) if "bootstrap" in top else None
    if bootstrap is not None:
        if "resamples" in bootstrap:
            r.integer(bootstrap["resamples"], ("bootstrap", "resamples"), None, lo=1, what="resamples, 1 or more")
        if "seed" in bootstrap:
            r.integer(bootstrap["seed"], ("bootstrap", "seed"), None, lo=0, what="a seed, 0 or more")

    if force is None or demand is None:
        return None, r.problems
    return ScenarioSpec(
        force=force, demand=demand, current=current, mapping=mapping, as_of=as_of, scenarios=tuple(scenarios),
        backend=backend, time_limit=time_limit, processes=processes, sensitivity=sensitivity,
        bootstrap=bootstrap, source=source,
    ), r.problems


def load_scenarios(path: str | Path) -> ScenarioSpec:
    """Read a scenario file (see the module docstring); paths in it are relative to it.

    The names the scenarios use (roles, areas, patterns, demand types) are
    checked against the base's force too, when it can be read, so that every
    fault of the file is reported in one error.

    Raises
    ------
    ScenarioError
        Every fault at once, each naming the scenario, its line and the field.
    FileNotFoundError
        When the file does not exist.
    """
    from dataclasses import replace

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(p), [Problem(str(p), "", f"not UTF-8 text ({exc.reason})")]) from None
    spec, problems = _parse(text, str(p), p.parent)
    if spec is not None and spec.force.is_file():
        from allocator.model.forcefile import load_force
        from allocator.whatif.apply import scenario_problems

        try:
            force = load_force(spec.force)
        except InputError:
            if not problems:
                raise
        else:
            if not force.is_legacy:
                for s in spec.scenarios:
                    problems += scenario_problems(force, s, str(p))
    if problems or spec is None:
        problems.sort(key=lambda q: q.line if q.line is not None else 0)
        raise ScenarioError(str(p), problems)
    return replace(spec, path=p)
