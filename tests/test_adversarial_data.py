"""Bad demand extracts and mappings, as real exports and attackers make them: each refused by name.

Every case asserts the named error (class, file, row or line, column, value)
or the exact rejects, and that no input file was modified (the ``files``
fixture hashes every file it writes, before and after).
"""

from __future__ import annotations

import gzip
import logging
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator import REASONS, DemandError, load_demand
from allocator.io.atomic import sha256_file
from tests.strategies_demand import AS_OF, NOW, broken_extracts, valid_rows

LONDON = "Europe/London"
H = "timestamp,area,demand_type,duration\n"


def good(n: int = 20, ts: str = "2026-10-01 09:30:00", area: str = "Swindon North") -> str:
    return f"{ts},{area},THEFT,30\n" * n


class Files:
    """Writes input files and remembers their hashes, to prove they are never modified."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[Path, str] = {}

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.root / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        self.digests[path] = sha256_file(path)
        return path

    def unchanged(self) -> None:
        for path, digest in self.digests.items():
            assert sha256_file(path) == digest, f"{path.name} was modified"


@pytest.fixture
def files(tmp_path: Path):
    f = Files(tmp_path)
    yield f
    f.unchanged()


def load(source, force, mapping=None, **kwargs) -> allocator.DemandLoad:
    return load_demand(source, force, mapping, now=NOW, **kwargs)


def refused(source, force, mapping=None, **kwargs) -> DemandError:
    with pytest.raises(DemandError) as err:
        load(source, force, mapping, **kwargs)
    assert "Traceback" not in str(err.value)
    return err.value


def rejects(result: allocator.DemandLoad) -> list[tuple[int, str]]:
    return list(zip(result.rejects["row"].tolist(), result.rejects["reason"].tolist(), strict=True))


# ------------------------------------------------------------------ file-level faults
def test_a_byte_not_in_utf8_names_the_line_and_the_encoding_option(files, sample_force) -> None:
    path = files.write("calls.csv", (H + good()).encode() + b"2026-10-01 09:30:00,Swindon North,TH\xe9FT,30\n")
    err = refused(path, sample_force)
    (p,) = err.problems
    assert (p.source, p.line) == ("calls.csv", 22)
    assert p.message == ("is not utf-8 text (byte b'\\xe9'); give its encoding in the mapping "
                         "(encoding: cp1252, latin-1, utf-16, ...)")


def test_the_encoding_option_reads_cp1252(files, sample_force) -> None:
    text = H.replace("\n", ",id\n") + "2026-10-01 09:30:00,Swindon North,THEFT,30,Café 1\n" * 5
    path = files.write("calls.csv", text.encode("cp1252"))
    got = load(path, sample_force, {"id": "id", "encoding": "cp1252"}, accept_rejects=True)
    assert got.summary.accepted == 1 and got.records["id"].tolist() == ["Café 1"]
    assert rejects(got) == [(2, "duplicate id"), (3, "duplicate id"), (4, "duplicate id"), (5, "duplicate id")]


def test_utf16_with_a_byte_order_mark_is_recognised(files, sample_force) -> None:
    path = files.write("calls.csv", (H + good(7)).encode("utf-16"))
    got = load(path, sample_force)
    assert (got.summary.rows_read, got.summary.accepted) == (7, 7)


def test_an_unknown_encoding_is_a_mapping_error(sample_force) -> None:
    err = refused(pd.DataFrame({"timestamp": []}), sample_force, {"encoding": "klingon-8"})
    assert err.problems[0].where == "encoding"
    assert "unknown text encoding 'klingon-8'" in err.problems[0].message


@pytest.mark.parametrize(
    ("bad", "row"),
    [("2026-10-01 09:30:00,Swindon North\n", 21), ("2026-10-01 09:30:00,Swindon North,THEFT,30,9\n", 21)],
    ids=["short", "long"],
)
def test_a_ragged_row_is_a_malformed_row_reject_and_the_rest_keep_their_rows(files, sample_force, bad, row) -> None:
    path = files.write("calls.csv", H + good() + bad + good(5, area="Nowhere"))
    got = load(path, sample_force, accept_rejects=True)
    assert rejects(got) == [(row, "malformed row")] + [(r, "unknown area") for r in range(22, 27)]
    assert got.summary.rows_read == 26 == got.summary.accepted + got.summary.rejected_total
    assert got.records["row"].tolist() == list(range(1, 21))
    assert repr(bad.strip()) in got.rejects["detail"].iloc[0]


def test_an_unbalanced_quote_is_one_named_error(files, sample_force) -> None:
    path = files.write("calls.csv", H + good() + '2026-10-01 09:30:00,"Swindon North,THEFT,30\n' + good())
    (p,) = refused(path, sample_force).problems
    assert p.source == "calls.csv"
    assert p.message.startswith("has an unbalanced quote: the row starting '2026-10-01 09:30:00,\"Swindon")


def test_quoted_newlines_across_csv_blocks(files, sample_force, monkeypatch) -> None:
    monkeypatch.setattr("allocator.data.extract.CSV_BLOCK", 1000)
    row = '2026-10-01 09:30:00,"Swindon\nNorth",THEFT,30\n'
    path = files.write("calls.csv", H + good(100) + row + good(100) + row)
    got = load(path, sample_force)  # "Swindon\nNorth" is Swindon North, ignoring spacing
    assert got.summary.rows_read == 202 == got.summary.accepted
    assert got.summary.names_matched_loosely == 2
    exact = load(path, sample_force, {"exact_names": True}, accept_rejects=True)
    assert rejects(exact) == [(101, "unknown area"), (202, "unknown area")]
    assert exact.rejects["area"].tolist() == ["Swindon\nNorth"] * 2


def test_a_gzip_csv_is_read_directly(files, sample_force) -> None:
    path = files.write("calls.csv.gz", gzip.compress((H + good(9)).encode()))
    assert load(path, sample_force).summary.accepted == 9


def test_a_truncated_gzip_is_one_named_error(files, sample_force) -> None:
    whole = gzip.compress((H + good(5000)).encode())
    path = files.write("calls.csv.gz", whole[: len(whole) // 2])
    (p,) = refused(path, sample_force).problems
    assert p.source == "calls.csv.gz" and "the compressed file is truncated or corrupt" in p.message


def test_gzip_content_under_a_csv_name(files, sample_force) -> None:
    path = files.write("calls.csv", gzip.compress((H + good()).encode()))
    assert "is gzip-compressed but not named .gz" in refused(path, sample_force).problems[0].message


@pytest.mark.parametrize("content", [b"garbage" * 20, b"PAR1" + b"\0" * 40], ids=["garbage", "truncated"])
def test_a_parquet_file_that_is_not_parquet(files, sample_force, content) -> None:
    path = files.write("calls.parquet", content)
    (p,) = refused(path, sample_force).problems
    assert p.source == "calls.parquet" and p.message.startswith("is not a readable Parquet file")


def test_a_parquet_file_cut_short(files, sample_force, tmp_path) -> None:
    whole = tmp_path / "whole.parquet"
    allocator.sample_demand(sample_force, 300, seed=1).to_parquet(whole)
    path = files.write("calls.parquet", whole.read_bytes()[:-100])
    assert refused(path, sample_force).problems[0].message.startswith("is not a readable Parquet file")


def test_parquet_content_under_a_csv_name(files, sample_force, tmp_path) -> None:
    pq_path = tmp_path / "p.parquet"
    allocator.sample_demand(sample_force, 10, seed=1).to_parquet(pq_path)
    path = files.write("calls.csv", pq_path.read_bytes())
    assert "is a Parquet file without the .parquet suffix" in refused(path, sample_force).problems[0].message


@pytest.mark.parametrize(("name", "content"), [("calls.xlsx", b"PK\x03\x04" + b"\0" * 60),
                                                 ("calls.csv", b"PK\x03\x04" + b"\0" * 60),
                                                 ("calls.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 60)])
def test_a_workbook_given_as_an_extract(files, sample_force, name, content) -> None:
    path = files.write(name, content)
    (p,) = refused(path, sample_force).problems
    assert p.source == name
    assert p.message == ("is a spreadsheet workbook (or a zip), not a CSV or Parquet extract; "
                         "save the sheet as CSV (UTF-8) and load that")


def test_a_folder_and_a_missing_file(tmp_path, sample_force) -> None:
    (tmp_path / "calls.csv").mkdir()
    assert "is a folder" in refused(tmp_path / "calls.csv", sample_force).problems[0].message
    assert refused(tmp_path / "none.csv", sample_force).problems[0].message == "demand extract not found"


def test_an_empty_file_names_the_missing_columns(files, sample_force) -> None:
    path = files.write("calls.csv", "")
    (p,) = refused(path, sample_force).problems
    assert p.line == 1 and p.message.startswith("missing required column(s) 'timestamp', 'area', 'demand_type'")


def test_a_header_only_file_has_no_usable_record(files, sample_force) -> None:
    path = files.write("calls.csv", H)
    (p,) = refused(path, sample_force).problems
    assert p.message == "no usable record: 0 rows read, 0 accepted (the extract has no data rows)"


def test_a_mapping_file_not_in_utf8(files, sample_force) -> None:
    path = files.write("map.yaml", b"area: CPT \xe9\n")
    (p,) = refused(pd.DataFrame(), sample_force, path).problems
    assert p.source == "map.yaml" and p.message.startswith("not UTF-8 text (byte 0xe9")


def test_a_code_lookup_not_in_utf8(files, sample_force) -> None:
    files.write("codes.csv", b"source_code,demand_type\nTH\xe9,THEFT\n")
    path = files.write("map.yaml", "codes: codes.csv\n")
    (p,) = refused(files.write("calls.csv", H + good()), sample_force, path).problems
    assert p.source == "codes.csv" and "not UTF-8 text" in p.message


# ------------------------------------------------------------------ API inputs
def test_duplicate_dataframe_columns_are_named(sample_force) -> None:
    df = pd.DataFrame([["2026-10-01 09:30", "Swindon North", "THEFT", "Swindon South"]],
                      columns=["timestamp", "area", "demand_type", "area"])
    (p,) = refused(df, sample_force).problems
    assert (p.source, p.where, p.value) == ("<DataFrame>", "column area", "area")
    assert p.message.startswith("the heading 'area' names 2 columns")


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_out_of_range_datetime64_rows_are_rejected_not_wrapped(sample_force, unit) -> None:
    stamps = np.array(["2026-10-01T09:30", "1600-01-01", "2611-01-01"], dtype=f"datetime64[{unit}]")
    df = pd.DataFrame({"timestamp": stamps, "area": ["Swindon North"] * 3, "demand_type": ["THEFT"] * 3})
    got = load(df, sample_force, accept_rejects=True)
    assert rejects(got) == [(2, "timestamp out of range"), (3, "timestamp out of range")]
    assert got.records["timestamp"].tolist() == [pd.Timestamp("2026-10-01 09:30", tz=LONDON)]


def test_out_of_range_python_datetimes(sample_force) -> None:
    df = pd.DataFrame({"timestamp": [datetime(2026, 10, 1, 9, 30), datetime(1600, 1, 1), datetime(2611, 1, 1)],
                       "area": ["Swindon North"] * 3, "demand_type": ["THEFT"] * 3})
    got = load(df, sample_force, accept_rejects=True)
    assert rejects(got) == [(2, "timestamp out of range"), (3, "timestamp out of range")]


def test_a_bad_as_of_or_now_is_named(sample_force) -> None:
    df = pd.DataFrame({"timestamp": ["2026-10-01"], "area": ["Swindon North"], "demand_type": ["THEFT"]})
    assert refused(df, sample_force, as_of="yesterday").problems[0].source == "as_of"
    with pytest.raises(DemandError, match="now"):
        load_demand(df, sample_force, now="soon")


# ------------------------------------------------------------------ timestamps
def frame(timestamps: list[str], **cols: list[str]) -> pd.DataFrame:
    n = len(timestamps)
    return pd.DataFrame({"timestamp": timestamps, "area": ["Swindon North"] * n,
                         "demand_type": ["THEFT"] * n, "duration": ["30"] * n} | cols)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1600-01-01 10:00:00", "timestamp out of range"),
        ("2611-03-01 10:00:00", "timestamp out of range"),
        ("1677-09-21 00:12:43", "timestamp out of range"),
        ("2262-04-12 00:00:00", "timestamp out of range"),
        ("2026-10-01 10:00+99:00", "unparseable timestamp"),
        ("2026-10-01 10:00+14:30", "unparseable timestamp"),
        ("2026-10-01 10:00-12:75", "unparseable timestamp"),
        ("2026-12-01 12:00:01", "in the future"),
        ("2030-01-01 00:00:00", "in the future"),
    ],
)
def test_each_bad_timestamp_is_refused_per_row(sample_force, value, reason) -> None:
    got = load(frame(["2026-10-01 09:00"] * 4 + [value]), sample_force)
    assert rejects(got) == [(5, reason)]
    assert got.rejects["timestamp"].tolist() == [value]
    assert got.window[1] == pd.Timestamp("2026-10-01 09:00", tz=LONDON)  # the window is not taken over


def test_offsets_up_to_14_hours_are_honoured(sample_force) -> None:
    got = load(frame(["2026-10-01 10:00+14:00", "2026-10-01 10:00-12:00"]), sample_force)
    utc = got.records["timestamp"].dt.tz_convert("UTC").tolist()
    assert utc == [pd.Timestamp("2026-09-30 20:00", tz="UTC"), pd.Timestamp("2026-10-01 22:00", tz="UTC")]


def test_a_future_row_does_not_push_the_window(sample_force) -> None:
    got = load(frame(["2026-06-01 09:00", "2026-10-01 09:00", "2030-01-01 00:00"] + ["2026-09-01 10:00"] * 7),
               sample_force)
    assert rejects(got) == [(3, "in the future")]
    assert got.window[1] == pd.Timestamp("2026-10-01 09:00", tz=LONDON)
    assert got.rejects["detail"].iloc[0] == "timestamp '2030-01-01 00:00' is after the time of the run"


@pytest.mark.parametrize(
    ("fmt", "values", "local"),
    [
        ("%Y-%m-%d %H:%M:%S.%f", ["2025-08-24 00:07:06.000", "2025-08-24 00:07:06.123456"],
         ["2025-08-24 00:07:06", "2025-08-24 00:07:06.123456"]),
        ("%Y-%m-%d %H:%M:%S.%f", ["2025-08-24 00:07:06.5"], ["2025-08-24 00:07:06.5"]),
        ("%d/%m/%Y %I:%M %p", ["01/10/2025 09:30 PM", "01/10/2025 12:05 AM"],
         ["2025-10-01 21:30", "2025-10-01 00:05"]),
        ("%d %b %Y %H:%M", ["01 Oct 2025 09:30", "24 Aug 2025 23:59"], ["2025-10-01 09:30", "2025-08-24 23:59"]),
        ("%d/%m/%y %H:%M", ["01/10/25 09:30"], ["2025-10-01 09:30"]),
    ],
)
def test_explicit_formats_follow_python_strptime(sample_force, fmt, values, local) -> None:
    got = load(frame(values), sample_force, {"format": fmt})
    assert got.rejects.empty
    assert got.records["timestamp"].tolist() == [pd.Timestamp(v, tz=LONDON) for v in local]


def test_a_percent_z_format_honours_offsets_and_refuses_impossible_ones(sample_force) -> None:
    values = ["2025-10-01T09:30:00+0100"] * 4 + ["2025-10-01T09:30:00+2500"]
    got = load(frame(values), sample_force, {"format": "%Y-%m-%dT%H:%M:%S%z"})
    assert got.records["timestamp"].iloc[0] == pd.Timestamp("2025-10-01 08:30", tz="UTC")
    assert rejects(got) == [(5, "unparseable timestamp")]


def test_a_format_that_matches_no_row_is_one_error(files, sample_force) -> None:
    path = files.write("calls.csv", H + good(50))
    (p,) = refused(path, sample_force, {"format": "%d/%m/%Y %H:%M"}).problems
    assert (p.source, p.where, p.value) == ("calls.csv", "column timestamp", "2026-10-01 09:30:00")
    assert p.message == ("no value of column 'timestamp' is in the mapping's format '%d/%m/%Y %H:%M' "
                         "(50 rows tried); fix the format in the mapping")


def test_a_row_in_another_format_shows_the_expected_one(sample_force) -> None:
    got = load(frame(["01/10/2025 09:30"] * 4 + ["2025-10-01 09:30"]), sample_force,
               {"format": "%d/%m/%Y %H:%M"})
    assert got.rejects["detail"].tolist() == [
        "timestamp '2025-10-01 09:30' is not a timestamp in the expected format '%d/%m/%Y %H:%M'"
    ]
    iso = load(frame(["2026-10-01 09:30"] * 4 + ["tomorrow"]), sample_force)
    assert iso.rejects["detail"].tolist() == [
        "timestamp 'tomorrow' is not a timestamp in the expected format ISO 8601, e.g. '2026-10-01 09:30:00'"
    ]


def test_zero_usable_records_names_the_count_and_the_top_reasons(files, sample_force) -> None:
    path = files.write("calls.csv", H + good(30, ts="24/08/2025 00:07") + good(3, area="Nowhere"))
    (p,) = refused(path, sample_force, accept_rejects=True).problems
    assert p.message.startswith("no usable record: 33 rows read, 0 accepted; unparseable timestamp: 30 "
                                "(e.g. row 1: timestamp '24/08/2025 00:07' is not a timestamp")
    assert "unknown area: 3 (e.g. row 31: area 'Nowhere' is not in the force" in p.message


def test_too_many_rejects_stop_the_load_unless_accepted(files, sample_force) -> None:
    path = files.write("calls.csv", H + good(69) + good(31, area="Nowhere"))
    (p,) = refused(path, sample_force).problems
    assert p.message == (
        "31% of rows were rejected (limit 20%): unknown area: 31 (e.g. row 70: area 'Nowhere' is not in "
        f"the force; known: {', '.join(map(repr, sample_force.area_names))}); "
        "pass accept_rejects=True / --accept-rejects to go on"
    )
    assert load(path, sample_force, accept_rejects=True).summary.accepted == 69
    lenient = sample_force.model_copy(
        update={"settings": sample_force.settings.model_copy(update={"max_reject_share": 0.5})}
    )
    assert load(path, lenient).summary.rejected == {"unknown area": 31}


def test_max_reject_share_is_a_share(sample_force) -> None:
    data = sample_force.model_dump()
    data["settings"]["max_reject_share"] = 1.5
    with pytest.raises(ValueError, match=r"settings\.max_reject_share\n  Input should be less than or equal to 1"):
        allocator.Force.model_validate(data)


def test_ids_equal_once_trimmed_are_duplicates(sample_force) -> None:
    got = load(frame(["2026-10-01 09:30"] * 6, id=["1", " 1", "1 ", "2", "3", "4"]), sample_force,
               accept_rejects=True)
    assert rejects(got) == [(2, "duplicate id"), (3, "duplicate id")]
    assert got.rejects["detail"].tolist() == ["id ' 1' first seen at row 1", "id '1 ' first seen at row 1"]


# ------------------------------------------------------------------ durations
@pytest.mark.parametrize(
    ("unit", "values", "minutes"),
    [
        ("seconds", ["90", "3600", ""], [1.5, 60.0, np.nan]),
        ("hours", ["1.5", "0.25", "2"], [90.0, 15.0, 120.0]),
        ("hh:mm:ss", ["1:05:30", "0:45", "00:00:30"], [65.5, 45.0, 0.5]),
    ],
)
def test_duration_units(sample_force, unit, values, minutes) -> None:
    got = load(frame(["2026-10-01 09:30"] * 3, duration=values), sample_force, {"duration_unit": unit})
    np.testing.assert_allclose(got.records["duration"].to_numpy(), minutes)


def test_numeric_seconds_column(sample_force) -> None:
    df = frame(["2026-10-01 09:30"] * 2).assign(duration=[120, 86_400 * 2])
    got = load(df, sample_force, {"duration_unit": "seconds"})
    assert got.records["duration"].tolist()[0] == 2.0 and np.isnan(got.records["duration"].tolist()[1])
    assert got.summary.durations_dropped == 1


def test_bad_hh_mm_ss_and_negative_seconds(sample_force) -> None:
    got = load(frame(["2026-10-01 09:30"] * 10, duration=["1:75:00", "45", "-0:10"] + ["0:10"] * 7),
               sample_force, {"duration_unit": "hh:mm:ss"}, accept_rejects=True)
    assert rejects(got) == [(1, "non-numeric duration"), (2, "non-numeric duration"), (3, "non-numeric duration")]
    neg = load(frame(["2026-10-01 09:30"] * 5, duration=["-60", "60", "60", "60", "60"]), sample_force,
               {"duration_unit": "seconds"})
    assert rejects(neg) == [(1, "negative duration")]


def test_an_unknown_duration_unit_is_a_mapping_error(sample_force) -> None:
    (p,) = refused(frame(["2026-10-01"]), sample_force, {"duration_unit": "fortnights"}).problems
    assert p.where == "duration_unit" and p.value == "fortnights"


def test_over_long_durations_are_dropped_and_counted_or_rejected(sample_force) -> None:
    df = frame(["2026-10-01 09:30"] * 5, duration=["30", "1441", "2000", "", "60"])
    got = load(df, sample_force)
    assert got.rejects.empty and got.summary.accepted == 5
    assert got.summary.durations_dropped == 2 and got.summary.missing_durations == 3
    assert "2 durations over max_duration_minutes dropped" in str(got.summary)
    strict = load(df, sample_force, {"reject_long_durations": True}, accept_rejects=True)
    assert rejects(strict) == [(2, "implausible duration"), (3, "implausible duration")]
    assert strict.rejects["detail"].iloc[0] == "duration '1441' is over max_duration_minutes 1440"


def test_an_end_in_the_repeated_autumn_hour_is_after_its_start(sample_force) -> None:
    df = pd.DataFrame({"start": ["2026-10-25 01:50", "2026-10-25 01:10", "2026-10-24 10:00"],
                       "end": ["2026-10-25 01:10", "2026-10-25 01:50", "2026-10-24 09:00"],
                       "area": ["Swindon North"] * 3, "demand_type": ["THEFT"] * 3})
    got = load(df, sample_force, {"start": "start", "end": "end"}, accept_rejects=True)
    assert got.records["duration"].tolist() == [20.0, 40.0]  # 01:50 BST -> 01:10 GMT is 20 minutes
    assert rejects(got) == [(3, "negative duration")]


def test_an_end_out_of_range(sample_force) -> None:
    df = pd.DataFrame({"start": ["2026-10-01 10:00"] * 5, "end": ["2611-01-01 10:00"] + ["2026-10-01 11:00"] * 4,
                       "area": ["Swindon North"] * 5, "demand_type": ["THEFT"] * 5})
    got = load(df, sample_force, {"start": "start", "end": "end"})
    assert rejects(got) == [(1, "timestamp out of range")]


# ------------------------------------------------------------------ names
def test_names_match_ignoring_case_and_spacing_and_are_counted(sample_force) -> None:
    df = frame(["2026-10-01 09:30"] * 4, area=["SWINDON NORTH", "swindon  north", "Swindon North", "Swindon North"],
               demand_type=["THEFT", "THEFT", " theft", "THEFT"])
    got = load(df, sample_force)
    assert got.rejects.empty
    assert got.records["area"].tolist() == ["Swindon North"] * 4
    assert got.records["demand_type"].tolist() == ["THEFT"] * 4
    assert got.summary.names_matched_loosely == 3
    assert got.summary.to_dict()["names_matched_loosely"] == 3


def test_exact_names_turns_loose_matching_off(sample_force) -> None:
    df = frame(["2026-10-01 09:30"] * 5, area=["SWINDON NORTH"] + ["Swindon North"] * 4)
    got = load(df, sample_force, {"exact_names": True})
    assert rejects(got) == [(1, "unknown area")]
    assert got.rejects["detail"].iloc[0] == "area 'SWINDON NORTH' is not in the force; did you mean 'Swindon North'?"


def test_loose_matching_through_aliases_and_codes(sample_force) -> None:
    df = frame(["2026-10-01 09:30"] * 2, area=["swn", "SWN"], demand_type=["theft-shop", "THEFT-SHOP"])
    got = load(df, sample_force, {"areas": {"SWN": "Swindon North"}, "codes": {"THEFT-SHOP": "THEFT"}})
    assert got.records["area"].tolist() == ["Swindon North"] * 2
    assert got.records["demand_type"].tolist() == ["THEFT"] * 2
    assert got.summary.names_matched_loosely == 1


def test_a_constant_area_for_an_extract_without_one(files, sample_force) -> None:
    path = files.write("calls.csv", "timestamp,demand_type\n" + "2026-10-01 09:30:00,THEFT\n" * 4 + "x,THEFT\n")
    got = load(path, sample_force, {"area": {"constant": "swindon north"}}, accept_rejects=True)
    assert got.records["area"].tolist() == ["Swindon North"] * 4
    assert rejects(got) == [(5, "unparseable timestamp")]
    assert got.rejects["area"].tolist() == ["Swindon North"]


def test_a_constant_area_the_force_lacks(sample_force) -> None:
    (p,) = refused(frame(["2026-10-01"]), sample_force, {"area": {"constant": "Swindon Nrth"}}).problems
    assert (p.where, p.value) == ("mapping area.constant", "Swindon Nrth")
    assert p.message.endswith("did you mean 'Swindon North'?")
    (q,) = refused(frame(["2026-10-01"]), sample_force, {"area": {"value": "Swindon North"}}).problems
    assert (q.source, q.where, q.value) == ("<mapping>", "area", {"value": "Swindon North"})
    assert q.message == "Value error, an area that is not a heading must be {constant: <area name>}"


# ------------------------------------------------------------------ inputs and summary
def test_inputs_name_every_file_read(files, sample_force) -> None:
    files.write("codes.csv", "source_code,demand_type\nTHEFT-SHOP,THEFT\n")
    mapping = files.write("map.yaml", "codes: codes.csv\nid: ref\n")
    path = files.write("calls.csv", "timestamp,area,demand_type,ref\n2026-10-01 09:30,Swindon North,THEFT-SHOP,1\n")
    got = load(path, sample_force, mapping)
    assert [p.name for p in got.inputs] == ["calls.csv", "map.yaml", "codes.csv"]
    assert all(p.exists() for p in got.inputs)
    assert load(frame(["2026-10-01"]), sample_force).inputs == ()


def test_the_summary_gives_the_span_the_records_cover(sample_force) -> None:
    got = load(frame(["2026-07-01 09:30", "2026-10-01 09:30", "2026-09-01 00:00"]), sample_force)
    s = got.summary
    assert s.first == pd.Timestamp("2026-07-01 09:30", tz=LONDON)
    assert s.last == pd.Timestamp("2026-10-01 09:30", tz=LONDON)
    assert s.days_covered == 92.0
    assert s.to_dict()["days_covered"] == 92.0


def test_workload_days_and_capacity_follow_the_span_covered(sample_force, caplog) -> None:
    got = load(frame(["2026-07-01 09:30", "2026-10-01 09:30", "2026-09-01 00:00"]), sample_force)
    with caplog.at_level(logging.WARNING, logger="allocator.workload.engine"):
        wl = allocator.compute_workload(got.records, sample_force)
    assert wl.days == 92.0
    assert "the records cover 92.0 days of the 182-day window" in caplog.text
    full = allocator.build_problem(wl.array, sample_force)
    short = allocator.build_problem(wl, sample_force)
    np.testing.assert_allclose(short.capacity * 182, full.capacity * 92)


def test_partials_carry_the_earliest_record_when_summed(sample_force) -> None:
    records = allocator.sample_demand(sample_force, 400, seed=3)
    as_of = records["timestamp"].max()
    parts = [allocator.prepare_records(p, sample_force, as_of=as_of).partials()
             for p in (records.iloc[200:], records.iloc[:200])]
    total = parts[0] + parts[1]
    assert total.first_ns == records["timestamp"].min().value
    whole = allocator.compute_workload(records, sample_force)
    assert allocator.workload_from_partials(total, sample_force, as_of).days == whole.days


# ------------------------------------------------------------------ properties
@settings(max_examples=40)
@given(data=st.data())
def test_any_extract_reads_as_accepted_plus_rejected_inside_the_window(data, sample_force) -> None:
    df, expected = data.draw(broken_extracts(sample_force))
    got = load_demand(df, sample_force, as_of=AS_OF, now=NOW, accept_rejects=True)
    s = got.summary
    assert s.rows_read == len(df) == s.accepted + s.rejected_total == len(got.records) + len(got.rejects)
    assert dict(zip(got.rejects["row"], got.rejects["reason"], strict=True)) == expected
    assert set(got.rejects["reason"]) <= set(REASONS)
    start, end = got.window
    ts = got.records["timestamp"]
    assert ((ts > start) & (ts <= end)).all()


@settings(max_examples=20)
@given(data=st.data())
def test_any_valid_extract_as_a_file_loads_whole(data, sample_force, tmp_path_factory) -> None:
    df = data.draw(valid_rows(sample_force))
    path = tmp_path_factory.mktemp("p") / "calls.csv.gz"
    df.to_csv(path, index=False)
    digest = sha256_file(path)
    got = load_demand(path, sample_force, as_of=AS_OF, now=NOW)
    assert got.summary.accepted == len(df) and got.rejects.empty
    assert sha256_file(path) == digest


def test_the_documented_reasons_are_the_loader_s_in_order() -> None:
    import re

    text = (Path(__file__).parents[1] / "docs" / "data-formats.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d+) \| `([^`]+)` \|", text, flags=re.MULTILINE)
    assert [(int(k), r) for k, r in table] == list(enumerate(REASONS, start=1))


def test_an_over_long_start_to_end_is_dropped_like_a_duration(sample_force) -> None:
    df = pd.DataFrame({"start": ["2026-10-01 10:00"] * 3, "end": ["2026-10-03 10:00", "2026-10-01 10:30", ""],
                       "area": ["Swindon North"] * 3, "demand_type": ["THEFT"] * 3})
    got = load(df, sample_force, {"start": "start", "end": "end"})
    assert got.rejects.empty
    assert got.records["duration"].isna().tolist() == [True, False, True]
    assert (got.summary.durations_dropped, got.summary.missing_durations) == (1, 2)


def test_typed_future_rows_and_a_utf8_byte_order_mark(files, sample_force) -> None:
    stamps = pd.to_datetime(["2026-10-01 09:00"] * 4 + ["2031-01-01 09:00"]).tz_localize(LONDON)
    df = pd.DataFrame({"timestamp": stamps, "area": ["Swindon North"] * 5, "demand_type": ["THEFT"] * 5})
    assert rejects(load(df, sample_force)) == [(5, "in the future")]
    path = files.write("calls.csv", "\ufeff" + H + good(3))
    assert load(path, sample_force).summary.accepted == 3
