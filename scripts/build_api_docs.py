"""Write docs/api.md from the docstrings of the public API (``allocator.__all__``).

    python scripts/build_api_docs.py          # write docs/api.md
    python scripts/build_api_docs.py --check  # exit 1 if docs/api.md is out of date

The test suite runs the check, so the reference cannot drift from the code.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

from _generated import write_or_check

import allocator

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "api.md"

GROUPS = [
    ("The force", ["load_force", "load_judgement", "force_files", "Force", "Area", "Shift", "Role",
                   "DemandType", "JudgementRow", "Pin", "Settings"]),
    ("Duty patterns and rules", ["DutyWindow", "Pattern", "pattern_profiles", "PatternProfile",
                                 "make_buckets", "Buckets", "Rule", "Ratio", "Cap", "MoveBudget"]),
    ("Demand", ["load_demand", "DemandLoad", "DemandMapping", "REASONS", "sample_demand", "sample_path"]),
    ("Workload", ["compute_workload", "prepare_records", "workload_from_partials", "Workload",
                  "PreparedRecords", "Partials"]),
    ("Allocation", ["allocate", "RotaAllocation", "build_formulation", "Formulation", "Family",
                    "read_current", "build_problem", "AllocationProblem", "Allocation",
                    "SolverReport", "apportion", "maximin_posts", "MaximinResult"]),
    ("Response service levels", ["ServiceLevels", "response_floors", "ResponseFloors", "erlang_c",
                                 "service_level", "servers_for"]),
    ("Errors", ["AllocatorError", "InputError", "ArgumentError", "ForceError", "DemandError",
                "WorkloadError", "InfeasibleError", "Problem"]),
]


def _signature(obj: object) -> str:
    try:
        return str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _entry(name: str) -> list[str]:
    obj = getattr(allocator, name)
    kind = "class" if inspect.isclass(obj) else "function"
    sig = _signature(obj) if kind == "function" else ""
    lines = [f"### `{name}{sig}`", "", f"*{kind}*", ""]
    doc = inspect.getdoc(obj) or "(no docstring)"
    lines += ["```text", doc, "```", ""]
    fields = getattr(obj, "model_fields", None)
    if inspect.isclass(obj) and isinstance(fields, dict) and fields:
        lines += ["Fields:", ""]
        for field_name, info in fields.items():
            ann = getattr(info.annotation, "__name__", None) or str(info.annotation)
            default = "required" if info.is_required() else f"default {info.get_default(call_default_factory=True)!r}"
            lines.append(f"- `{field_name}` ({ann.replace('typing.', '')}, {default})")
        lines.append("")
    if inspect.isclass(obj):
        members = [line for attr, value in sorted(vars(obj).items()) if (line := _member(attr, value))]
        if members:
            lines += ["Members (methods are called, `obj.name(...)`; properties are read, `obj.name`):", "",
                      *members, ""]
    return lines


def _member(attr: str, value: object) -> str | None:
    """One line for a public member of a class: its name, its kind and its summary; None to leave it out."""
    if attr.startswith("_") or attr in {"model_config", "model_fields", "model_computed_fields"}:
        return None
    if isinstance(value, property | functools.cached_property):
        kind, target = "property", value.fget if isinstance(value, property) else value.func
    elif isinstance(value, classmethod | staticmethod):
        kind, target = ("class method" if isinstance(value, classmethod) else "static method"), value.__func__
    elif inspect.isfunction(value):
        kind, target = "method", value
    else:
        return None
    summary = (inspect.getdoc(target) or "").split("\n\n")[0].replace("\n", " ")
    call = f"{attr}{_signature(target)}" if kind != "property" else attr
    if kind != "property" and call.startswith(f"{attr}(self, "):
        call = f"{attr}(" + call[len(attr) + 7:]
    elif kind != "property" and call.startswith(f"{attr}(self)"):
        call = f"{attr}()" + call[len(attr) + 6:]
    text = f"- `{call}` ({kind})"
    return f"{text}: {summary}" if summary else text


def render() -> str:
    out = [
        "# API reference",
        "",
        "The public API of `allocator`, generated from its docstrings by",
        "`scripts/build_api_docs.py`; do not edit by hand.",
        "",
    ]
    listed: set[str] = set()
    for title, names in GROUPS:
        present = [n for n in names if n in allocator.__all__]
        if not present:
            continue
        out += [f"## {title}", ""]
        for name in present:
            out += _entry(name)
            listed.add(name)
    rest = [n for n in allocator.__all__ if n not in listed and not n.startswith("__")]
    if rest:
        out += ["## Other", ""]
        for name in rest:
            out += _entry(name)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    return write_or_check(TARGET, render(), "build_api_docs.py")


if __name__ == "__main__":
    raise SystemExit(main())
