"""``allocator sample``: write the bundled sample force into a directory, ready to edit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from allocator.cli._common import EXIT_OK, Progress, add_common, example_help, print_json
from allocator.io.atomic import atomic_write_bytes, atomic_write_text
from allocator.io.rundir import OutputError

#: Records in a generated sample extract, when the sample directory has none.
SAMPLE_RECORDS = 17_250


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sample",
        help="write the sample force (force.yaml, judgement.csv, demand.csv, current.csv)",
        **example_help(
            "Write the bundled sample force into DIR: the force file, its judgement table, six\n"
            "months of demand and a current posting. Refuses to overwrite files unless --force.",
            ["allocator sample my-force", "allocator allocate my-force/force.yaml my-force/demand.csv "
             "--current my-force/current.csv --out my-run"],
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--force", dest="overwrite", action="store_true", help="overwrite existing files")
    add_common(p)
    p.set_defaults(func=run)


def sample_files() -> dict[str, bytes | None]:
    """The files of the bundled sample by name; None for the ones generated on demand."""
    from allocator import sample_path

    base = sample_path()
    files: dict[str, bytes | None] = {
        p.name: p.read_bytes() for p in sorted(base.iterdir()) if p.is_file() and not p.name.startswith(".")
    }
    files.setdefault("demand.csv", None)
    files.setdefault("current.csv", None)
    return files


def run(args: argparse.Namespace) -> int:
    """Run ``allocator sample``."""
    from allocator import load_force, sample_path

    progress = Progress(args.quiet)
    files = sample_files()
    clash = sorted(n for n in files if (args.dir / n).exists())
    if clash and not args.overwrite:
        raise OutputError(f"{args.dir} already has {', '.join(clash)}; use --force to overwrite")
    written = []
    for name, data in files.items():
        target = args.dir / name
        if data is not None:
            atomic_write_bytes(target, data)
        else:
            force = load_force(sample_path("force.yaml"))
            text = _generated(name, force)
            atomic_write_text(target, text)
        written.append(str(target))
        progress(f"wrote {target}")
    if args.json:
        print_json({"dir": str(args.dir), "files": written})
    else:
        print(f"sample force written to {args.dir}: {', '.join(files)}")
    return EXIT_OK


def _generated(name: str, force: Any) -> str:
    from allocator.data.sample import sample_current, sample_demand

    if name == "demand.csv":
        frame = sample_demand(force, SAMPLE_RECORDS, seed=0)
        frame = frame.assign(timestamp=frame["timestamp"].map(lambda t: t.isoformat()))
    else:
        frame = sample_current(force)
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text
