"""Reading a demand extract in batches, in bounded memory.

:func:`open_extract` checks the headings and yields the mapped columns in
batches of about a million rows: a CSV through Arrow's streaming reader, a
Parquet file row group by row group, a DataFrame in slices. :class:`RawStore`
keeps each batch's text as read (compressed, for files) so that the raw values
of rows refused at the end (duplicate ids, the window) can be quoted without
holding the whole file. :func:`hash_strings` gives a 64-bit hash per string so
that duplicate ids are found without a dictionary of every id.

Faults of the file itself are one :class:`~allocator.errors.DemandError`
naming the file, what is wrong and what to do: a workbook or a garbage or
truncated Parquet file given as an extract, a truncated ``.gz``, text that is
not in the expected encoding (the line is named), an unbalanced quote. A row
with too few or too many cells is not a file fault: it is kept in
``Extract.malformed`` and becomes a ``malformed row`` reject. Quoted cells may
hold newlines (``newlines_in_values``), in a file of any size.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from allocator.errors import DemandError, Problem

BATCH_ROWS = 1 << 20
#: Bytes of CSV text per streamed batch (about half a million rows of a typical extract).
CSV_BLOCK = 1 << 25
_DICT = pa.dictionary(pa.int32(), pa.string())
_TEXT_FIELDS = {"area", "demand_type", "grade", "duration"}  # repeat a lot: dictionary-encode
_CODEC = "zstd"


@dataclass
class Extract:
    """The mapped fields present in an extract (field -> heading), its batches, and its malformed rows.

    ``malformed`` fills while the batches are read: the text of each row whose
    cells do not match the header, in file order.
    """

    present: dict[str, str]
    batches: Iterator[dict[str, pa.Array]]
    in_memory: bool
    malformed: list[str] = field(default_factory=list)
    path: Path | None = None
    encoding: str = "utf-8"


def _fault(name: str, what: str, hint: str, line: int | None = None) -> DemandError:
    return DemandError(name, [Problem(name, "", f"{what}; {hint}", line=line)])


def _open_text(path: Path, encoding: str) -> IO[str]:
    raw = gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _sniff(path: Path, name: str, encoding: str | None) -> str:
    """The encoding to read a CSV with; a workbook, a folder or a binary file is refused by name."""
    if path.is_dir():
        raise _fault(name, "is a folder, not a demand extract", "give the CSV or Parquet file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b" and path.suffix.lower() != ".gz":
        raise _fault(name, "is gzip-compressed but not named .gz", "name it .csv.gz")
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods") or head in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise _fault(name, "is a spreadsheet workbook (or a zip), not a CSV or Parquet extract",
                     "save the sheet as CSV (UTF-8) and load that")
    if head == b"PAR1":
        raise _fault(name, "is a Parquet file without the .parquet suffix", "name it .parquet")
    if encoding is not None:
        return encoding
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    return "utf-8"


def _csv_header(path: Path, name: str, encoding: str) -> list[str]:
    try:
        with _open_text(path, encoding) as fh:
            try:
                header = next(csv.reader(fh))
            except StopIteration:
                return []
    except UnicodeDecodeError as exc:
        raise _not_text(path, name, encoding, exc) from None
    except (EOFError, OSError, zlib.error) as exc:
        raise _fault(name, f"cannot be read ({exc})", "the compressed file is truncated or corrupt; "
                     "compress it again") from None
    except csv.Error as exc:
        raise _fault(name, f"has an unreadable header ({exc})", "check the first line", line=1) from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return header


def _not_text(path: Path, name: str, encoding: str, exc: UnicodeDecodeError | None) -> DemandError:
    """Name the first line that is not ``encoding`` text (read again, line by line)."""
    line, byte = None, None
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rb") as fh:
            for k, raw in enumerate(fh, start=1):
                try:
                    decoder.decode(raw)
                except UnicodeDecodeError as bad:
                    line, byte = k, raw[bad.start : bad.start + 1]
                    break
    except (OSError, EOFError, zlib.error):
        pass
    if line is None and exc is not None:
        byte = exc.object[exc.start : exc.start + 1]
    what = f"is not {encoding} text" + (f" (byte {byte!r})" if byte is not None else "")
    hint = "give its encoding in the mapping (encoding: cp1252, latin-1, utf-16, ...)"
    return _fault(name, what, hint, line=line)


def open_extract(
    source: str | Path | pd.DataFrame,
    wanted: dict[str, str],
    required: list[str],
    name: str,
    encoding: str | None = None,
) -> Extract:
    """Check the file and its headings (raise DemandError naming every missing required column); batches.

    Raises
    ------
    DemandError
        The file is missing, not an extract (a workbook, a folder), unreadable
        (garbage or truncated Parquet or gzip, another encoding), or lacks
        required columns; a DataFrame has a used heading twice.
    """
    enc = "utf-8"
    if isinstance(source, pd.DataFrame):
        found = [str(c) for c in source.columns]
        twice = sorted({h for h in wanted.values() if found.count(h) > 1})
        if twice:
            raise DemandError(name, [
                Problem(name, f"column {h}", f"the heading {h!r} names {found.count(h)} columns; "
                        "rename or drop all but one", h)
                for h in twice
            ])
    else:
        path = Path(source)
        if not path.exists():
            raise DemandError(name, [Problem(name, "", "demand extract not found", str(path))])
        parquet = path.suffix.lower() in (".parquet", ".pq")
        if parquet:
            if path.is_dir():
                raise _fault(name, "is a folder, not a demand extract", "give the Parquet file")
            try:
                found = list(pq.read_schema(path).names)
            except (pa.ArrowException, OSError) as exc:
                raise _fault(name, f"is not a readable Parquet file ({exc})",
                             "it is garbage or truncated; export it again") from None
        else:
            enc = _sniff(path, name, encoding)
            found = _csv_header(path, name, enc)
    missing = [wanted[f] for f in required if wanted[f] not in found]
    if missing:
        raise DemandError(
            name,
            [
                Problem(
                    name,
                    "header",
                    f"missing required column(s) {', '.join(repr(m) for m in missing)}; "
                    f"columns found: {', '.join(repr(f) for f in found)}",
                    line=None if isinstance(source, pd.DataFrame) else 1,
                )
            ],
        )
    present = {f: h for f, h in wanted.items() if h in found}
    if isinstance(source, pd.DataFrame):
        return Extract(present, _frame_batches(source, present), in_memory=True)
    if parquet:
        return Extract(present, _parquet_batches(path, present, name), in_memory=False, path=path)
    ext = Extract(present, iter(()), in_memory=False, path=path, encoding=enc)
    ext.batches = _csv_batches(path, present, name, enc, ext.malformed, len(found))
    return ext


def _frame_batches(source: pd.DataFrame, present: dict[str, str]) -> Iterator[dict[str, pa.Array]]:
    table = pa.table({f: _from_pandas(source[h]) for f, h in present.items()})
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield {f: batch.column(f) for f in present}


def _parquet_batches(path: Path, present: dict[str, str], name: str) -> Iterator[dict[str, pa.Array]]:
    try:
        with pq.ParquetFile(path) as fh:
            for batch in fh.iter_batches(batch_size=BATCH_ROWS, columns=sorted(set(present.values()))):
                yield {f: batch.column(h) for f, h in present.items()}
    except (pa.ArrowException, OSError) as exc:
        raise _fault(name, f"is not a readable Parquet file ({exc})",
                     "it is garbage or truncated; export it again") from None


def _csv_batches(
    path: Path, present: dict[str, str], name: str, encoding: str, malformed: list[str], width: int
) -> Iterator[dict[str, pa.Array]]:
    types = {h: (_DICT if f in _TEXT_FIELDS else pa.string()) for f, h in present.items()}

    def skip(row: pacsv.InvalidRow) -> str:
        malformed.append(row.text)
        return "skip"

    try:
        reader = pacsv.open_csv(
            str(path),
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK, encoding=encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=sorted(set(present.values())),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        with reader:
            for batch in reader:
                _unbalanced(malformed, name, width)
                if batch.num_rows:
                    yield {f: batch.column(h) for f, h in present.items()}
        _unbalanced(malformed, name, width)
    except UnicodeDecodeError as exc:
        raise _not_text(path, name, encoding, exc) from None
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "UTF-8" in str(exc):
            raise _not_text(path, name, encoding, None) from None
        raise _fault(name, f"cannot be read as CSV ({exc})", "check the file is a CSV extract") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise _fault(name, f"cannot be read ({exc})",
                     "the compressed file is truncated or corrupt; compress it again") from None


def _unbalanced(malformed: list[str], name: str, width: int) -> None:
    """A malformed row that runs over several lines is an unbalanced quote: the rest of the file is lost in it."""
    for text in malformed:
        if "\n" in text and text.count('"') % 2 == 1:
            first = text.split("\n", 1)[0]
            lines = text.count("\n") + 1
            raise _fault(
                name,
                f"has an unbalanced quote: the row starting {first[:60]!r} runs on over {lines:,} lines",
                f"close the quote (every cell of {width} has its quotes in pairs)",
            )


def malformed_rows(ext: Extract) -> list[int] | None:
    """1-based data rows of the extract's malformed rows (read again with Python's csv), or None if unsure."""
    if not ext.malformed or ext.path is None:
        return []
    rows: list[int] = []
    with _open_text(ext.path, ext.encoding) as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        k = 0
        for cells in reader:
            if not cells:
                continue  # Arrow skips empty lines too
            k += 1
            if len(cells) != len(header):
                rows.append(k)
                if len(rows) == len(ext.malformed):
                    break
    return rows if len(rows) == len(ext.malformed) else None


def _from_pandas(s: pd.Series) -> pa.ChunkedArray:
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = pa.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                        for v in s], type=pa.string())
    return pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr


class RawStore:
    """Each batch's columns as read, to quote the raw values of refused rows at the end.

    Batches of a file are kept compressed (zstd, through Arrow IPC): the text of
    a typical extract shrinks five- to tenfold. Batches of a DataFrame are
    slices of memory the caller holds anyway, kept as they are.
    """

    def __init__(self, compress: bool) -> None:
        self._compress = compress
        self._batches: list[pa.RecordBatch | pa.Buffer] = []
        self._options = pa.ipc.IpcWriteOptions(compression=_CODEC) if compress else None

    def add(self, cols: dict[str, pa.Array]) -> None:
        """Keep one batch (its fields in order)."""
        batch = pa.RecordBatch.from_arrays(list(cols.values()), names=list(cols))
        if not self._compress:
            self._batches.append(batch)
            return
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema, options=self._options) as writer:
            writer.write_batch(batch)
        self._batches.append(sink.getvalue())

    def take(self, k: int, rows: np.ndarray) -> dict[str, pa.Array]:
        """Rows ``rows`` (positions within batch ``k``) of every field, as text."""
        stored = self._batches[k]
        batch = stored if isinstance(stored, pa.RecordBatch) else pa.ipc.open_stream(stored).read_next_batch()
        take = pa.array(rows, type=pa.int64())
        return {f: pc.cast(batch.column(f).take(take), pa.string()) for f in batch.schema.names}

    def clear(self) -> None:
        """Release every batch."""
        self._batches.clear()


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def hash_strings(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's bytes (and length); nulls hash as the empty string.

    Equal strings have equal hashes; unequal ones collide with probability
    about 2^-64 per pair, so a match is only a candidate to be compared exactly.
    """
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    bufs = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset : arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    if arr.null_count:
        lengths = np.where(np.asarray(arr.is_null()), 0, lengths)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64) ^ (lengths.astype(np.uint64) * _MIX)
    width = int(lengths.max())
    words = -(-width // 8)
    if width and (lengths == width).all():
        # fixed width (the usual id): the bytes form an (n, width) matrix, read eight at a time
        block = np.zeros((n, words * 8), dtype=np.uint8)
        block[:, :width] = data[offsets[0] : offsets[0] + n * width].reshape(n, width)
        for word in block.view("<u8").T:
            h = _mix(h, word.astype(np.uint64))
        return h
    last = max(len(data) - 1, 0)
    for w in range(words):
        word = np.zeros(n, dtype=np.uint64)
        for b in range(8):
            j = 8 * w + b
            byte = data[np.minimum(starts + j, last)].astype(np.uint64)
            word |= np.where(lengths > j, byte, 0).astype(np.uint64) << np.uint64(8 * b)
        h = np.where(lengths > 8 * w, _mix(h, word), h)
    return h


def _mix(h: np.ndarray, word: np.ndarray) -> np.ndarray:
    h = (h ^ word) * _FNV_PRIME
    return h ^ (h >> np.uint64(29))
