"""``allocator explain``: why one (area, shift, role) got its posts, from a run directory."""

from __future__ import annotations

import argparse
import math
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
from allocator.errors import InputError, Problem
from allocator.io.rundir import Run
from allocator.model.force import Force


def register(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain one cell of a run: demand types, hours, judgement, binding rules",
        **example_help(
            "Explain the posts of one area, shift and role in a run directory: the cell's\n"
            "workload by demand type with the judgement behind it, its coverage, and the rules\n"
            "(minimum staffing, pins, area limits) that bind it. The workload is recomputed from the\n"
            "recorded inputs when they are unchanged (same SHA-256), else read from the saved tables.\n"
            "For a force on duty patterns name a bucket of the week (--bucket 'Sat Night') instead\n"
            "of a shift: officers on duty, utilisation and coverage in that bucket.",
            ["allocator explain my-run --area 'Swindon North' --shift Night --role PC",
             "allocator explain my-rota-run --area 'Swindon North' --role PC --bucket 'Sat Night'"],
        ),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--area", required=True)
    p.add_argument("--shift", help="the shift (runs of a force of shifts)")
    p.add_argument("--bucket", help="the bucket of the week, such as 'Sat Night' (runs of a force on duty patterns)")
    p.add_argument("--role", required=True)
    add_common(p)
    p.set_defaults(func=run)


def _check_names(force: Force, args: argparse.Namespace, source: str) -> None:
    problems = []
    if getattr(force, "patterns", None):
        from allocator.model.patterns import make_buckets

        slot, slot_names = "bucket", list(make_buckets(force).names)
        if args.shift is not None:
            problems.append(Problem(source, "--shift", "this run is of a force on duty patterns: name a bucket "
                                    f"with --bucket; known: {', '.join(slot_names)}", args.shift))
    else:
        slot, slot_names = "shift", force.shift_names
        if args.bucket is not None:
            problems.append(Problem(source, "--bucket", "this run is of a force of shifts: name a shift "
                                    f"with --shift; known: {', '.join(slot_names)}", args.bucket))
    value = getattr(args, slot)
    if value is None:
        problems.append(Problem(source, f"--{slot}", f"give --{slot}; known: {', '.join(slot_names)}"))
    elif value not in slot_names:
        problems.append(Problem(source, f"--{slot}", f"unknown {slot}; known: {', '.join(slot_names)}", value))
    for kind, value, names in (("area", args.area, force.area_names), ("role", args.role, force.role_names)):
        if value not in names:
            problems.append(Problem(source, f"--{kind}", f"unknown {kind}; known: {', '.join(names)}", value))
    if problems:
        raise InputError(source, problems)


def _recomputed(run: Run, force: Force, args: argparse.Namespace, progress: Progress) -> pd.DataFrame | None:
    """The cell's explanation from the recorded inputs, when all are unchanged; else None."""
    keys = [k for k in run.manifest.get("inputs", {}) if k != "current"]
    paths = {k: run.input_unchanged(k) for k in keys}
    if "demand" not in paths or any(p is None for p in paths.values()):
        return None
    from allocator.data.demand import load_demand
    from allocator.workload.engine import compute_workload

    progress("recorded inputs unchanged: recomputing the workload from them")
    kwargs: dict[str, Any] = {}
    if paths.get("mapping") is not None:
        kwargs["mapping"] = paths["mapping"]
    if run.manifest.get("parameters", {}).get("accept_rejects"):
        kwargs["accept_rejects"] = True
    demand = paths["demand"]
    assert demand is not None
    loaded = load_demand(demand, force, **kwargs)
    as_of = run.manifest.get("data", {}).get("window_end") or run.manifest.get("parameters", {}).get("as_of")
    workload = compute_workload(loaded.records, force, as_of=as_of)
    # a force on patterns has the buckets of the week where a force of shifts has its shifts
    slot = args.bucket if getattr(force, "patterns", None) else args.shift
    frame: pd.DataFrame = workload.explain(args.area, slot, args.role)
    return frame


def from_tables(run: Run, area: str, shift: str, role: str) -> pd.DataFrame:
    """The cell's workload by demand type from ``workload_by_type.csv``, as ``Workload.explain`` gives it.

    Demand types adding no hours are left out; largest first, ties in force order.
    """
    bt = run.require("workload_by_type.csv", ("area", "shift", "role", "demand_type", "records", "hours"))
    cell = bt[(bt["area"] == area) & (bt["shift"] == shift) & (bt["role"] == role) & (bt["hours"] > 0)]
    total = float(cell["hours"].sum())
    out = pd.DataFrame({
        "demand_type": cell["demand_type"].astype(str).to_numpy(),
        "records": cell["records"].to_numpy(dtype="int64"),
        "hours": cell["hours"].to_numpy(dtype="float64"),
    })
    out["share"] = out["hours"] / total if total > 0 else 0.0
    # the table is in force order, so a stable sort leaves ties in force order (as Workload.explain)
    return out.sort_values("hours", ascending=False, kind="stable").reset_index(drop=True)


def run(args: argparse.Namespace) -> int:
    """Run ``allocator explain``."""
    progress = Progress(args.quiet)
    run_dir, force = open_run(args.run_dir, progress)
    _check_names(force, args, str(args.run_dir))
    on_patterns = bool(getattr(force, "patterns", None))
    slot = args.bucket if on_patterns else args.shift
    frame = _recomputed(run_dir, force, args, progress)
    source = "recomputed from the recorded inputs"
    if frame is None:
        progress("recorded inputs missing or changed: explaining from the saved tables")
        frame = from_tables(run_dir, args.area, slot, args.role)
        source = "saved tables"
    frame = _with_judgement(frame, force, args.role)
    if on_patterns:
        cell = _cell(run_dir, "explanations.csv", args, "bucket", slot)
    else:
        cell = _cell(run_dir, "allocation.csv", args, "shift", slot)
        why = _cell(run_dir, "explanations.csv", args, "shift", slot) if run_dir.has("explanations.csv") else {}
        cell.update({k: v for k, v in why.items() if k not in cell})
    carried = None
    if on_patterns and cell.get("workload_hours") is not None:
        # work in buckets the role never works is shared over its duty time (LCIs work the weekend's crimes in the week)
        carried = round(float(cell["workload_hours"]) - float(frame["hours"].sum()), 6)
    service = _service_row(run_dir, force, args.area, slot, args.role) if on_patterns else {}
    if args.json:
        key = "bucket" if on_patterns else "shift"
        out = {"area": args.area, key: slot, "role": args.role, "source": source,
               "cell": cell, "inputs_changed": run_dir.changed_inputs(),
               "demand_types": [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]}
        if carried is not None:
            out["carried_hours"] = carried
        if service:
            out["service_level"] = service
        print_json(out)
        return EXIT_OK
    print(f"{args.area} / {slot} / {args.role}  (run {args.run_dir}; workload {source})")
    if on_patterns:
        _print_bucket(cell)
        _print_service(service)
    elif "binding" in cell:
        print(f"  bound by: {cell['binding']} - {cell.get('detail', '')}")
    if on_patterns:
        print("workload by demand type (the demand of this bucket):")
        print(frame_to_text(frame))
        if carried is not None and carried > 1e-3:
            print(f"plus {carried:,.1f} judged hours shared in from buckets in which no {args.role} "
                  "is on duty")
        return EXIT_OK
    labels = {"posts": "posts", "current": "current posts", "change": "change", "on_duty": "on duty",
              "workload_hours": "workload hours", "coverage": "coverage",
              "role_min_coverage": "role's smallest coverage", "target": "proportional share",
              "coverage_plus_one": "coverage with one more", "coverage_minus_one": "coverage with one fewer",
              "role_min_if_minus_one": "role's smallest with one fewer"}
    for key, label in labels.items():
        value = cell.get(key)
        if value is not None:
            print(f"  {label:32s} {value:,.3f}" if isinstance(value, float) else f"  {label:32s} {value}")
    print("workload by demand type:")
    print(frame_to_text(frame))
    return EXIT_OK


def _cell(run_dir: Run, name: str, args: argparse.Namespace, key: str, value: str) -> dict[str, Any]:
    table = run_dir.require(name, ("area", key, "role"))
    row = table[(table["area"] == args.area) & (table[key] == value) & (table["role"] == args.role)]
    return {str(k): _plain(v) for k, v in row.iloc[0].items()} if len(row) else {}


def _print_bucket(cell: dict[str, Any]) -> None:
    """One bucket of a run on duty patterns: posts by pattern, on duty, workload, coverage, utilisation."""
    labels = {"posts": "posts", "by_pattern": "posts by pattern", "current": "current posts",
              "on_duty": "on duty (average)", "workload_hours": "workload hours (judged)",
              "committed_hours": "committed hours (recorded)", "coverage": "coverage",
              "role_min_coverage": "role's smallest coverage", "utilisation": "utilisation %"}
    for key, label in labels.items():
        value = cell.get(key)
        if value is not None:
            print(f"  {label:32s} {value:,.3f}" if isinstance(value, float) else f"  {label:32s} {value}")
    print("  bound by: " + (str(cell["binding"]) if cell.get("binding") else "its proportional share"))


def _service_row(run_dir: Run, force: Force, area: str, bucket: str, role: str) -> dict[str, Any]:
    """The bucket's row of ``service_levels.csv`` when ``role`` counts towards the floors (empty otherwise)."""
    responders = getattr(getattr(force, "service_levels", None), "responders", None) or ["PC"]
    if role not in {str(r) for r in responders} or not run_dir.has("service_levels.csv"):
        return {}
    table = run_dir.require("service_levels.csv", ("area", "bucket"))
    row = table[(table["area"] == area) & (table["bucket"] == bucket)]
    return {str(k): _plain(v) for k, v in row.iloc[0].items()} if len(row) else {}


def _print_service(row: dict[str, Any]) -> None:
    """The bucket's response floor: floor, on duty, shortfall, whether the floor binds, expected waits."""
    if not row:
        return
    state = "met" if row.get("met") else f"short by {float(row.get('shortfall') or 0):,.1f}"
    binds = "; the floor, not the workload, sets the posts" if row.get("binding") else ""
    print(f"  {'response floor':32s} {float(row['floor']):,.1f} on duty, {float(row['on_duty']):,.1f} "
          f"at the worst hour ({state}{binds})")
    if row.get("p_wait") is not None:
        wait = row.get("mean_wait")
        wait_text = f"{float(wait):,.1f} min" if wait is not None and math.isfinite(float(wait)) else \
            "the queue never empties"
        shares = ", ".join(f"{k.removeprefix('within_')} {100 * float(v):.0f}%" for k, v in row.items()
                           if k.startswith("within_") and v is not None)
        print(f"  {'expected service':32s} P(wait) {100 * float(row['p_wait']):.0f}%, mean wait {wait_text}; "
              f"within target: {shares}")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _with_judgement(frame: pd.DataFrame, force: Force, role: str) -> pd.DataFrame:
    """Add the judgement (share, standard minutes, impact) for the role to each demand type."""
    j = force.judgement_table()
    j = j[j["role"] == role].set_index("demand_type")
    out = frame.copy()
    out["demand_type"] = out["demand_type"].astype(str)
    for col, name in (("share", "judged_share"), ("minutes", "std_minutes"), ("impact", "impact")):
        out[name] = out["demand_type"].map(j[col]).astype("float64")
    return out
