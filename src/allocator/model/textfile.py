"""Reading small text inputs (force files, judgement and posting tables) safely.

Every fault a file can have before its content is even looked at (missing,
too large, binary, UTF-16, a byte that is not UTF-8, a ragged CSV row) becomes
one :class:`~allocator.errors.InputError` of the caller's kind naming the file
and, where it can, the line, never a traceback.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "bad.csv").write_bytes(b"area,posts\\nNorth,3\\nS\\xf6uth,4\\n")
27
>>> read_text(folder / "bad.csv", "current posting")
Traceback (most recent call last):
...
allocator.errors.InputError: bad.csv: 1 problem
  - bad.csv, line 3: not UTF-8 text: byte 0xf6 at column 2; save the file as UTF-8
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from allocator.errors import InputError, Problem

__all__ = ["MAX_TEXT_BYTES", "read_csv_table", "read_text"]

#: the largest force file, judgement table or current posting read (bytes)
MAX_TEXT_BYTES = 20_000_000


def read_text(path: Path, kind: str, error: type[InputError] = InputError) -> str:
    """The text of ``path``, decoded as UTF-8 (a byte-order mark is allowed).

    Raises ``error`` (an :class:`~allocator.errors.InputError` subclass) naming
    the file for a missing file, a directory, a file over ``MAX_TEXT_BYTES``,
    binary data, UTF-16/32 text or a byte that is not UTF-8 (with its line).
    """
    source = path.name
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise error(str(path), [Problem(str(path), "", f"{kind} is a folder, not a file")])
        if not path.is_file():  # a device or a pipe could be endless
            raise error(str(path), [Problem(str(path), "", f"{kind} is not a regular file")])
        if size > MAX_TEXT_BYTES:
            raise error(source, [Problem(source, "", f"{kind} is {size:,} bytes; at most {MAX_TEXT_BYTES:,} are read")])
        with path.open("rb") as handle:
            raw = handle.read(size + 1)
        if len(raw) > size:
            raise error(source, [Problem(source, "", f"{kind} changed while it was read; read it again")])
    except FileNotFoundError as exc:
        raise error(str(path), [Problem(str(path), "", f"{kind} file not found")]) from exc
    except OSError as exc:
        raise error(str(path), [Problem(str(path), "", f"cannot read {kind}: {exc.strerror or exc}")]) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error(source, [Problem(source, "", "UTF-16 (or UTF-32) text; save the file as UTF-8")])
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise error(source, [Problem(source, "", f"binary data (a NUL byte), not a text {kind} file", line=line)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start]
        raise error(
            source,
            [Problem(source, "", f"not UTF-8 text: byte 0x{byte:02x} at column {column}; save the file as UTF-8",
                     line=line)],
        ) from None
    return text


def read_csv_table(path: Path, kind: str, error: type[InputError] = InputError) -> pd.DataFrame:
    """A CSV file as a frame of strings (blank cells are ``""``), faults named.

    Beyond :func:`read_text`'s faults: an empty file, a column named twice
    (names compared trimmed, in any case), an unbalanced quote and a row with
    more cells than the header are refused naming the line.
    """
    text = read_text(path, kind, error)
    source = path.name
    if not text.strip():
        raise error(source, [Problem(source, "", f"the {kind} file is empty (not even a header)")])
    header = next(csv.reader(io.StringIO(text)), [])
    names = [h.strip().lower() for h in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise error(source, [Problem(source, "header", f"column {n!r} appears more than once", line=1) for n in twice])
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        message = str(exc).strip()
        line = None
        for token in ("line ", "row "):
            at = message.find(token)
            if at >= 0:
                digits = "".join(ch for ch in message[at + len(token):].split(",")[0] if ch.isdigit())
                line = int(digits) if digits else None
                break
        raise error(source, [Problem(source, "", f"not a readable CSV table: {message}", line=line)]) from None
    except (ValueError, pd.errors.EmptyDataError) as exc:
        raise error(source, [Problem(source, "", f"not a readable CSV table: {exc}")]) from None
