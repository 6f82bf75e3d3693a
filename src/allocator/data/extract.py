"""Reading a demand extract in batches, in bounded memory.

:func:`open_extract` checks the headings and yields the mapped columns in
batches of about a million rows: a CSV through Arrow's streaming reader, a
Parquet file row group by row group, a DataFrame in slices. :class:`RawStore`
keeps each batch's text as read (compressed, for files) so that the raw values
of rows refused at the end (duplicate ids, the window) can be quoted without
holding the whole file. :func:`hash_strings` gives a 64-bit hash per string so
that duplicate ids are found without a dictionary of every id.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    """The mapped fields present in an extract (field -> heading) and its batches."""

    present: dict[str, str]
    batches: Iterator[dict[str, pa.Array]]
    in_memory: bool


def _csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            return next(csv.reader(fh))
        except StopIteration:
            return []


def open_extract(
    source: str | Path | pd.DataFrame, wanted: dict[str, str], required: list[str], name: str
) -> Extract:
    """Check the headings (raise DemandError naming every missing required column); batches of the mapped columns."""
    if isinstance(source, pd.DataFrame):
        found = [str(c) for c in source.columns]
    else:
        path = Path(source)
        if not path.exists():
            raise DemandError(name, [Problem(name, "", "demand extract not found", str(path))])
        parquet = path.suffix.lower() in (".parquet", ".pq")
        found = list(pq.read_schema(path).names) if parquet else _csv_header(path)
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
        return Extract(present, _parquet_batches(path, present), in_memory=False)
    return Extract(present, _csv_batches(path, present), in_memory=False)


def _frame_batches(source: pd.DataFrame, present: dict[str, str]) -> Iterator[dict[str, pa.Array]]:
    table = pa.table({f: _from_pandas(source[h]) for f, h in present.items()})
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield {f: batch.column(f) for f in present}


def _parquet_batches(path: Path, present: dict[str, str]) -> Iterator[dict[str, pa.Array]]:
    with pq.ParquetFile(path) as fh:
        for batch in fh.iter_batches(batch_size=BATCH_ROWS, columns=sorted(set(present.values()))):
            yield {f: batch.column(h) for f, h in present.items()}


def _csv_batches(path: Path, present: dict[str, str]) -> Iterator[dict[str, pa.Array]]:
    types = {h: (_DICT if f in _TEXT_FIELDS else pa.string()) for f, h in present.items()}
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=sorted(set(present.values())),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    with reader:
        for batch in reader:
            if batch.num_rows:
                yield {f: batch.column(h) for f, h in present.items()}


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
