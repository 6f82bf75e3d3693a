"""The ``allocator`` command line: the monthly reallocation and its companions.

Subcommands (one module each): ``allocate``, ``validate``, ``workload``,
``explain``, ``compare``, ``sample``. Run ``allocator SUBCOMMAND --help`` for
a worked example on the bundled sample force.

Exit codes: 0 success; 1 infeasible, or no posting within the time limit; 2
bad input (every problem listed on stderr, naming file, row, column and
value); 130 interrupted. Expected errors print no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from allocator.cli import _common, allocate, compare, explain, sample, validate, workload
from allocator.errors import InputError
from allocator.io.rundir import OutputError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from allocator import __version__

    parser = argparse.ArgumentParser(
        prog="allocator",
        description="Demand data + professional judgement = resource algorithm -> allocation.",
        epilog="Start with: allocator sample my-force && allocator allocate --help",
    )
    parser.add_argument("--version", action="version", version=f"allocator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (allocate, validate, workload, explain, compare, sample):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except InputError as exc:
        _common.report_input_error(exc)
        return _common.EXIT_INPUT
    except OutputError as exc:
        _common.error(str(exc))
        return _common.EXIT_INPUT
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        _common.error(str(exc))
        return _common.EXIT_INPUT
    except KeyboardInterrupt:
        _common.error("interrupted; every file written is either the old one or complete")
        return _common.EXIT_INTERRUPTED
    finally:
        sys.stdout.flush()
    return code
