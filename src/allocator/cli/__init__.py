"""The ``allocator`` command line: the monthly reallocation and its companions.

Subcommands (one module each): ``allocate``, ``validate``, ``workload``,
``explain``, ``compare``, ``sample``. Run ``allocator SUBCOMMAND --help`` for
a worked example on the bundled sample force.

Exit codes: 0 success; 1 infeasible, or no posting within the time limit; 2
bad input (every problem listed on stderr, naming file, row, column and
value), checked options included; 3 an internal error (a bug: one line on
stderr naming a log file that holds the traceback); 130 interrupted. Expected
errors print no traceback; a closed pipe (``allocator explain ... | head``)
ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from allocator.cli import _common, allocate, compare, explain, sample, scenarios, validate, workload
from allocator.errors import InputError
from allocator.io.rundir import OutputError, RunError

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
    for module in (allocate, validate, workload, explain, compare, sample, scenarios):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a refused option (argparse said why)
            return exc.code if isinstance(exc.code, int) else _common.EXIT_INPUT
        code: int = args.func(args)
        sys.stdout.flush()
        return code
    except InputError as exc:
        _common.report_input_error(exc)
        return _common.EXIT_INPUT
    except (OutputError, RunError) as exc:
        _common.error(str(exc))
        return _common.EXIT_INPUT
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        _common.error(_common.os_error_text(exc))
        return _common.EXIT_INPUT
    except KeyboardInterrupt:
        _quiet_stdout()
        _common.error("interrupted; every file written is either the old one or complete")
        return _common.EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout went away (``| head``): nothing more to say to it
        _quiet_stdout()
        return _common.EXIT_OK
    except OSError as exc:  # a full disk, an I/O error: named, not a traceback
        _common.error(_common.os_error_text(exc))
        return _common.EXIT_INPUT
    except Exception:
        log = _common.write_crash_log(args)
        _common.error(f"internal error (a bug in allocator, not in your input); the traceback is in {log}")
        return _common.EXIT_INTERNAL


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that flushing at exit cannot fail again on a closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's StringIO)
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:  # pragma: no cover - nothing more can be done
        pass
