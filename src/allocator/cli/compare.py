"""``allocator compare``: what changed between two runs, and why."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.cli._common import (
    EXIT_OK,
    Progress,
    add_common,
    example_help,
    frame_to_text,
    open_run,
    print_json,
)
from allocator.io.rundir import Run, RunError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="what changed between two runs: demand, judgement, rules, postings",
        **example_help(
            "Compare two run directories: the demand (record counts, workload by area and\n"
            "type), the judgement (rows whose share, minutes or impact changed, named), the rules\n"
            "(establishment, minimums, pins, area limits, move limit, backend) and the posting\n"
            "change per area, shift and role.",
            ["allocator compare runs/2026-10 runs/2026-11"],
        ),
    )
    p.add_argument("run_a", type=Path, metavar="RUN_A")
    p.add_argument("run_b", type=Path, metavar="RUN_B")
    p.add_argument("--all", action="store_true", help="list unchanged postings too")
    add_common(p)
    p.set_defaults(func=run)


def _diff_dicts(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Leaf differences between two nested dicts: what, before, after."""
    out: list[dict[str, Any]] = []
    for key in list(a) + [k for k in b if k not in a]:
        name = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff_dicts(va, vb, name + ".")
        elif va != vb:
            out.append({"what": name, "before": va, "after": vb})
    return out


def judgement_changes(fa: dict[str, Any], fb: dict[str, Any]) -> list[dict[str, Any]]:
    """Judgement rows added, removed or changed (share, minutes, impact), by demand type and role."""
    ja = {(r["demand_type"], r["role"]): r for r in fa.get("judgement", [])}
    jb = {(r["demand_type"], r["role"]): r for r in fb.get("judgement", [])}
    out = []
    for key in list(ja) + [k for k in jb if k not in ja]:
        ra, rb = ja.get(key), jb.get(key)
        what = f"{key[0]} / {key[1]}"
        if ra is None:
            out.append({"what": what, "field": "row", "before": None, "after": "added"})
        elif rb is None:
            out.append({"what": what, "field": "row", "before": "present", "after": "removed"})
        else:
            for col in ("share", "minutes", "impact"):
                if ra.get(col) != rb.get(col):
                    out.append({"what": what, "field": col, "before": ra.get(col), "after": rb.get(col)})
    settings = _diff_dicts(fa.get("settings", {}), fb.get("settings", {}), "settings.")
    factors = _diff_dicts(fa.get("area_factors", {}), fb.get("area_factors", {}), "area_factors.")
    for d in settings + factors:
        out.append({"what": d["what"], "field": "value", "before": d["before"], "after": d["after"]})
    ra_roles = {r["name"]: r for r in fa.get("roles", [])}
    for r in fb.get("roles", []):
        old = ra_roles.get(r["name"], {})
        if old.get("proactive_share") != r.get("proactive_share"):
            out.append({"what": f"roles.{r['name']}", "field": "proactive_share",
                        "before": old.get("proactive_share"), "after": r.get("proactive_share")})
    return out


def rule_changes(a: Run, b: Run) -> list[dict[str, Any]]:
    """Changes in establishment, abstraction, minimums, pins, area limits, and run parameters."""
    fa, fb = a.manifest["force"], b.manifest["force"]
    out = []
    roles_a = {r["name"]: r for r in fa.get("roles", [])}
    roles_b = {r["name"]: r for r in fb.get("roles", [])}
    for name in list(roles_a) + [n for n in roles_b if n not in roles_a]:
        ra, rb = roles_a.get(name, {}), roles_b.get(name, {})
        for key in ("establishment", "abstraction", "min_on_duty", "min_on_duty_by_area"):
            out += _diff_dicts({key: ra.get(key)}, {key: rb.get(key)}, f"roles.{name}.")
    areas_a = {x["name"]: x for x in fa.get("areas", [])}
    areas_b = {x["name"]: x for x in fb.get("areas", [])}
    for name in list(areas_a) + [n for n in areas_b if n not in areas_a]:
        xa, xb = areas_a.get(name, {}), areas_b.get(name, {})
        for key in ("max_posts", "min_posts"):
            out += _diff_dicts({key: xa.get(key)}, {key: xb.get(key)}, f"areas.{name}.")
    if fa.get("pins") != fb.get("pins"):
        out.append({"what": "pins", "before": fa.get("pins"), "after": fb.get("pins")})
    for key in ("rules", "move_budget"):
        if fa.get(key) != fb.get(key):
            out.append({"what": key, "before": fa.get(key), "after": fb.get(key)})
    for key in ("coverage_weights", "service_levels"):
        out += _diff_dicts({key: fa.get(key)}, {key: fb.get(key)})
    pa, pb = a.manifest.get("parameters", {}), b.manifest.get("parameters", {})
    for key in ("max_moves", "backend", "time_limit", "as_of", "current"):
        if pa.get(key) != pb.get(key):
            out.append({"what": key, "before": pa.get(key), "after": pb.get(key)})
    floors = [_floors_on(r) for r in (a, b)]
    if floors[0] != floors[1]:
        out.append({"what": "response floors (service levels)", "before": floors[0], "after": floors[1]})
    return out


def _floors_on(r: Run) -> str:
    """Whether the run met the force's response floors: asked on the command line, else the force file's."""
    asked = r.manifest.get("parameters", {}).get("service_levels")
    has = bool(r.manifest.get("force", {}).get("service_levels"))
    return "on" if (has if asked is None else bool(asked)) else "off"


def _demand_input(r: Run) -> dict[str, Any]:
    """The run's demand input as one entry (name, SHA-256): its extract, or its partitioned dataset's files
    (``demand[NAME]`` entries) named by their count and told apart by every file's name and hash."""
    inputs = r.manifest.get("inputs", {})
    if "demand" in inputs:
        entry: dict[str, Any] = inputs["demand"]
        return entry
    parts = {k[len("demand["):-1]: v for k, v in inputs.items() if k.startswith("demand[") and k.endswith("]")}
    if not parts:
        return {}
    names = list(parts)
    return {"name": names[0] if len(names) == 1 else f"{len(names)} files ({names[0]} .. {names[-1]})",
            "sha256": "; ".join(f"{n} {v.get('sha256') if isinstance(v, dict) else None}" for n, v in parts.items())}


def demand_changes(a: Run, b: Run) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Record counts and window, and judged workload hours by area and demand type (changed only)."""
    da, db = a.manifest.get("data", {}), b.manifest.get("data", {})
    counts = [{"what": k, "before": da.get(k), "after": db.get(k)}
              for k in ("records_read", "records_accepted", "records_rejected", "window_start", "window_end")
              if da.get(k) != db.get(k)]
    files = []
    for key in ("demand", "mapping", "codes"):
        ia, ib = (_demand_input(a), _demand_input(b)) if key == "demand" else (
            a.manifest.get("inputs", {}).get(key, {}), b.manifest.get("inputs", {}).get(key, {}))
        if ia.get("sha256") != ib.get("sha256"):
            files.append({"what": f"{key} file", "before": ia.get("name"), "after": ib.get("name")})
    counts = files + counts
    ta, tb = _by_area_type(a), _by_area_type(b)
    both = ta.add_suffix("_a").join(tb.add_suffix("_b"), how="outer").fillna(0.0)
    both["hours_change"] = both["hours_b"] - both["hours_a"]
    changed = both[(both["hours_change"].abs() > 1e-6) | (both["records_a"] != both["records_b"])]
    frame = changed.reset_index()[["area", "demand_type", "records_a", "records_b", "hours_a", "hours_b",
                                   "hours_change"]]
    frame = frame.astype({"records_a": "int64", "records_b": "int64"})
    return counts, frame


def _by_area_type(r: Run) -> pd.DataFrame:
    """Records and hours per (area, demand type); records counted once, not once per role."""
    bt = r.require("workload_by_type.csv", ("area", "role", "demand_type", "records", "hours"))
    hours = bt.groupby(["area", "demand_type"], sort=False)["hours"].sum()
    first_role = bt["role"].iloc[0] if len(bt) else None
    records = bt[bt["role"] == first_role].groupby(["area", "demand_type"], sort=False)["records"].sum()
    return pd.DataFrame({"records": records, "hours": hours}).fillna(0)


def posting_changes(a: Run, b: Run, include_all: bool = False) -> pd.DataFrame:
    """Posts per area, shift and role in each run, and the change."""
    key = ["area", "shift", "role"]
    ta = a.require("allocation.csv", (*key, "posts", "coverage"))[[*key, "posts", "coverage"]]
    tb = b.require("allocation.csv", (*key, "posts", "coverage"))[[*key, "posts", "coverage"]]
    m = ta.merge(tb, on=key, how="outer", suffixes=("_a", "_b"), sort=False)
    m[["posts_a", "posts_b"]] = m[["posts_a", "posts_b"]].fillna(0).astype("int64")
    m["change"] = m["posts_b"] - m["posts_a"]
    if not include_all:
        m = m[m["change"] != 0]
    return m.reset_index(drop=True)


def is_rota_run(r: Run) -> bool:
    """Whether a run is of a force on duty patterns (its allocation has ``pattern`` and ``team``)."""
    return r.manifest.get("kind") == "patterns" or bool(r.manifest.get("force", {}).get("patterns"))


def rota_posting_changes(a: Run, b: Run, include_all: bool = False) -> pd.DataFrame:
    """Posts per area, role and pattern in each of two runs on duty patterns, and the change."""
    key = ["area", "role", "pattern"]

    def posts(r: Run) -> pd.DataFrame:
        t = r.require("allocation.csv", (*key, "team", "posts"))
        return t.groupby(key, sort=False)["posts"].sum().reset_index()

    m = posts(a).merge(posts(b), on=key, how="outer", suffixes=("_a", "_b"), sort=False)
    m[["posts_a", "posts_b"]] = m[["posts_a", "posts_b"]].fillna(0).astype("int64")
    m["change"] = m["posts_b"] - m["posts_a"]
    if not include_all:
        m = m[m["change"] != 0]
    return m.reset_index(drop=True)


def utilisation_changes(a: Run, b: Run) -> pd.DataFrame:
    """Utilisation per area and role in each of two runs on duty patterns: the mean over the buckets
    with someone on duty and the busiest bucket, in percent."""
    key = ["area", "role"]

    def util(r: Run) -> pd.DataFrame:
        t = r.require("buckets.csv", (*key, "bucket", "utilisation"))
        t = t[t["utilisation"].notna()]
        g = t.groupby(key, sort=False)["utilisation"]
        return pd.DataFrame({"mean": g.mean(), "busiest": g.max()}).round(1).reset_index()

    m = util(a).merge(util(b), on=key, how="outer", suffixes=("_a", "_b"), sort=False)
    m["busiest_change"] = (m["busiest_b"] - m["busiest_a"]).round(1)
    return m[[*key, "mean_a", "mean_b", "busiest_a", "busiest_b", "busiest_change"]]


def _show(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}:")
    if not rows:
        print("  no change")
    for r in rows:
        field = f" {r['field']}" if "field" in r else ""
        print(f"  {r['what']}{field}: {r['before']!r} -> {r['after']!r}")


def run(args: argparse.Namespace) -> int:
    """Run ``allocator compare``."""
    progress = Progress(args.quiet)
    (a, _), (b, _) = open_run(args.run_a, progress), open_run(args.run_b, progress)
    rota = is_rota_run(a) and is_rota_run(b)
    if is_rota_run(a) != is_rota_run(b):
        kinds = {True: "a force on duty patterns", False: "a force of shifts"}
        raise RunError(f"cannot compare {args.run_a} (a run of {kinds[is_rota_run(a)]}) with {args.run_b} "
                       f"(a run of {kinds[is_rota_run(b)]}); compare runs of the same kind")
    counts, by_type = demand_changes(a, b)
    judgement = judgement_changes(a.manifest["force"], b.manifest["force"])
    rules = rule_changes(a, b)
    postings = rota_posting_changes(a, b, args.all) if rota else posting_changes(a, b, args.all)
    utilisation = utilisation_changes(a, b) if rota else None
    if args.json:
        out = {"demand": counts, "workload": by_type.to_dict("records"), "judgement": judgement,
               "rules": rules, "postings": postings.to_dict("records")}
        if utilisation is not None:
            out["utilisation"] = utilisation.to_dict("records")
        print_json(out)
        return EXIT_OK
    print(f"comparing {args.run_a} (before) with {args.run_b} (after)")
    _show("demand", counts)
    if len(by_type):
        print("  workload hours by area and demand type (changed):")
        print("\n".join("    " + line for line in frame_to_text(by_type).splitlines()))
    _show("judgement", judgement)
    _show("rules", rules)
    moved = int(postings["change"].clip(lower=0).sum())
    what = "(area, role, pattern)s" if rota else "cells"
    print(f"\npostings: {len(postings[postings['change'] != 0])} {what} changed, {moved} posts moved")
    if len(postings):
        print("\n".join("  " + line for line in frame_to_text(postings).splitlines()))
    if utilisation is not None:
        print("\nutilisation per area and role, % (mean over buckets with someone on duty; busiest bucket):")
        print("\n".join("  " + line for line in frame_to_text(utilisation, "{:,.1f}").splitlines()))
    return EXIT_OK
