"""load_demand: records in the contract's shape, every refused row with its reason, mapping, DST."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator import DemandError, DemandMapping, load_demand
from allocator.data.demand import REASONS
from allocator.data.sample import planted_faults
from allocator.io.atomic import sha256_file
from tests.strategies import forces
from tests.strategies_demand import AS_OF, NOW, broken_extracts, valid_rows

LONDON = "Europe/London"



def demand(*args, **kwargs) -> allocator.DemandLoad:
    """load_demand at a fixed time of the run, going on whatever share of rows is rejected."""
    return load_demand(*args, **({"now": NOW, "accept_rejects": True} | kwargs))


def frame(**cols: list[str]) -> pd.DataFrame:
    n = len(next(iter(cols.values()))) if cols else 1
    base = {
        "timestamp": ["2026-10-01 09:30:00"] * n,
        "area": ["Swindon North"] * n,
        "demand_type": ["THEFT"] * n,
        "duration": ["30"] * n,
    }
    return pd.DataFrame(base | cols)


def no_catch_all(force: allocator.Force) -> allocator.Force:
    return force.model_copy(update={"settings": force.settings.model_copy(update={"catch_all_type": None})})


# ------------------------------------------------------------------ records
def test_records_follow_the_contract(sample_force: allocator.Force) -> None:
    df = frame(
        timestamp=["2026-10-01 09:30", "2026-10-02T23:10:05", "2026-10-03 07:00:00.5"],
        area=["Wiltshire South", "Swindon North", " Wiltshire East "],
        demand_type=["DA", "THEFT", "ASB"],
        duration=["45", "", "12.5"],
        id=["a", "b", "c"],
        grade=["immediate", "standard", "priority"],
    )
    load = demand(df, sample_force)
    rec = load.records
    assert list(rec.columns) == ["row", "timestamp", "area", "demand_type", "duration", "id", "grade"]
    assert rec["row"].dtype == np.int64 and rec["row"].tolist() == [1, 2, 3]
    assert str(rec["timestamp"].dtype) == "datetime64[ns, Europe/London]"
    assert rec["area"].cat.categories.tolist() == sample_force.area_names
    assert rec["demand_type"].cat.categories.tolist() == sample_force.type_codes
    assert rec["area"].cat.codes.dtype == np.int8
    assert rec["area"].tolist() == ["Wiltshire South", "Swindon North", "Wiltshire East"]
    assert rec["duration"].dtype == np.float64
    assert rec["duration"].isna().tolist() == [False, True, False]
    assert rec["duration"].iloc[2] == 12.5
    assert rec["timestamp"].iloc[2] == pd.Timestamp("2026-10-03 07:00:00.5", tz=LONDON)
    assert rec["id"].tolist() == ["a", "b", "c"]
    assert load.summary.missing_durations == 1
    assert load.rejects.empty


def test_missing_columns_are_all_named_before_anything_else(sample_force: allocator.Force) -> None:
    df = pd.DataFrame({"when": ["x"], "area": ["nowhere"], "kind": ["?"]})
    with pytest.raises(DemandError) as err:
        demand(df, sample_force)
    text = str(err.value)
    assert "'timestamp'" in text and "'demand_type'" in text
    assert "columns found: 'when', 'area', 'kind'" in text


def test_missing_columns_in_a_csv_name_the_file(tmp_path, sample_force: allocator.Force) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("Time,Where\n2026-01-01 10:00,Swindon North\n")
    with pytest.raises(DemandError, match=r"calls\.csv, line 1, header: missing required column\(s\)"):
        demand(path, sample_force)


# ------------------------------------------------------------------ reasons
CASES = [
    ("missing value", {"area": [""]}, "column 'area' is blank"),
    ("missing value", {"timestamp": ["NA"]}, "column 'timestamp' is blank"),
    ("unparseable timestamp", {"timestamp": ["01/10/2026 09:30"]}, "'01/10/2026 09:30' is not a timestamp"),
    ("unparseable timestamp", {"timestamp": ["2026-02-30 09:30"]}, "'2026-02-30 09:30'"),
    ("non-existent local time", {"timestamp": ["2026-03-29 01:15"]}, "spring clock-change gap"),
    ("unknown area", {"area": ["Swindon Nth"]}, "did you mean 'Swindon North'?"),
    ("non-numeric duration", {"duration": ["about 20"]}, "duration 'about 20'"),
    ("negative duration", {"duration": ["-5"]}, "duration '-5'"),
    ("timestamp out of range", {"timestamp": ["1600-01-01 09:30"]}, "'1600-01-01 09:30' is out of range"),
    ("in the future", {"timestamp": ["2026-12-01 12:00:01"]}, "is after the time of the run"),
]


@pytest.mark.parametrize(("reason", "bad", "detail"), CASES)
def test_each_reason_names_row_and_value(sample_force, reason, bad, detail) -> None:
    good = frame(timestamp=["2026-10-01 08:00"])
    broken = frame(**bad)
    df = pd.concat([good, broken, good], ignore_index=True)
    load = demand(df, sample_force)
    assert load.rejects["row"].tolist() == [2]
    assert load.rejects["reason"].tolist() == [reason]
    assert detail in load.rejects["detail"].iloc[0]
    col = next(iter(bad))
    assert load.rejects[col].iloc[0] == bad[col][0]  # the raw value as read
    assert load.summary.rejected == {reason: 1}
    assert load.records["row"].tolist() == [1, 3]


def test_unknown_type_rejected_without_catch_all_and_counted_with_it(sample_force) -> None:
    df = frame(demand_type=["THEFT", "NOISE", "NOISE", "FOO"])
    load = demand(df, sample_force)
    assert load.rejects.empty
    assert load.records["demand_type"].tolist() == ["THEFT", "OTHER", "OTHER", "OTHER"]
    assert load.summary.unmapped_codes == {"NOISE": 2, "FOO": 1}
    assert "code 'NOISE' counted as OTHER: 2" in str(load.summary)

    strict = demand(df, no_catch_all(sample_force))
    assert strict.rejects["row"].tolist() == [2, 3, 4]
    assert set(strict.rejects["reason"]) == {"unmapped demand type code"}
    assert "'NOISE'" in strict.rejects["detail"].iloc[0]


def test_duplicate_ids_keep_the_first_and_name_it(sample_force) -> None:
    df = frame(id=["A1", "B2", "A1", "A1"], area=["Swindon North", "Swindon North", "Swindon North", "x"])
    load = demand(df, sample_force)
    assert load.records["id"].tolist() == ["A1", "B2"]
    rej = load.rejects.set_index("row")
    assert rej.loc[3, "reason"] == "duplicate id"
    assert rej.loc[3, "detail"] == "id 'A1' first seen at row 1"
    assert rej.loc[4, "reason"] == "unknown area"  # first reason in order wins


def test_window_defaults_to_latest_valid_timestamp(sample_force) -> None:
    # end 2026-10-31 12:00 GMT; 182 days earlier is 2026-05-02 13:00 BST (excluded: (start, end])
    df = frame(
        timestamp=["2026-10-01 08:00", "2026-05-02 12:30", "2026-05-02 13:00", "2026-05-02 13:00:01",
                   "2026-10-31 12:00"]
    )
    load = demand(df, sample_force)
    start, end = load.window
    assert end == pd.Timestamp("2026-10-31 12:00", tz=LONDON)
    assert start == end - pd.Timedelta(days=182)
    assert load.rejects["row"].tolist() == [2, 3]
    assert load.rejects["reason"].tolist() == ["outside window"] * 2


def test_records_after_as_of_are_outside_the_window(sample_force) -> None:
    df = frame(timestamp=["2026-10-01 08:00", "2026-10-20 08:00"])
    load = demand(df, sample_force, as_of="2026-10-15")
    assert load.records["row"].tolist() == [1]
    assert load.rejects["reason"].tolist() == ["outside window"]
    assert load.window[1] == pd.Timestamp("2026-10-15", tz=LONDON)


# ---------------------------------------------------------------------- DST
def test_clock_changes(sample_force) -> None:
    df = frame(
        timestamp=[
            "2026-10-25 01:30",  # ambiguous: the first occurrence (BST) is taken
            "2026-10-25T01:30:00+00:00",  # the second occurrence, with its offset
            "2026-10-25 00:59:59Z",
            "2026-03-29 01:30",  # does not exist
        ]
    )
    load = demand(df, sample_force, as_of="2026-10-31")
    utc = load.records["timestamp"].dt.tz_convert("UTC").tolist()
    assert utc == [
        pd.Timestamp("2026-10-25 00:30", tz="UTC"),
        pd.Timestamp("2026-10-25 01:30", tz="UTC"),
        pd.Timestamp("2026-10-25 00:59:59", tz="UTC"),
    ]
    assert load.rejects["row"].tolist() == [4]
    assert load.rejects["reason"].tolist() == ["non-existent local time"]


# -------------------------------------------------------------- properties
@given(data=st.data())
def test_rows_read_equals_accepted_plus_rejected_with_reasons(data, sample_force) -> None:
    force = data.draw(st.sampled_from([sample_force, no_catch_all(sample_force)]))
    df, expected = data.draw(broken_extracts(force))
    load = demand(df, force, as_of=AS_OF)
    s = load.summary
    assert s.rows_read == len(df) == s.accepted + s.rejected_total
    assert len(load.records) + len(load.rejects) == len(df)
    assert dict(zip(load.rejects["row"], load.rejects["reason"], strict=True)) == expected
    assert sorted(set(load.records["row"]) | set(load.rejects["row"])) == list(range(1, len(df) + 1))
    assert set(load.rejects["reason"]) <= set(REASONS)


@given(data=st.data())
def test_valid_extracts_of_any_force_load_whole(data) -> None:
    force = data.draw(forces())
    df = data.draw(valid_rows(force))
    load = demand(df, force, as_of=AS_OF)
    assert load.rejects.empty, load.rejects.to_dict("records")
    assert load.records["area"].astype("str").tolist() == df["area"].tolist()
    assert load.records["demand_type"].astype("str").tolist() == df["demand_type"].tolist()
    want = pd.to_numeric(df["duration"].replace("", np.nan)).to_numpy(dtype=float)
    np.testing.assert_array_equal(load.records["duration"].to_numpy(), want)
    local = load.records["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    assert local == df["timestamp"].tolist()


# ----------------------------------------------------------- file formats
def test_csv_parquet_and_dataframe_give_identical_records(tmp_path, sample_force) -> None:
    df = allocator.sample_demand(sample_force, 3000, seed=5, messy=True)
    csv = tmp_path / "d.csv"
    pq_path = tmp_path / "d.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq_path, index=False)
    loads = [demand(s, sample_force) for s in (df, csv, pq_path)]
    for other in loads[1:]:
        pd.testing.assert_frame_equal(loads[0].records, other.records)
        pd.testing.assert_frame_equal(
            loads[0].rejects.drop(columns="detail"), other.rejects.drop(columns="detail")
        )
    # typed columns (not text) give the same records too
    clean = allocator.sample_demand(sample_force, 500, seed=6)
    typed = demand(clean, sample_force)
    clean.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(typed.records, demand(tmp_path / "t.parquet", sample_force).records)
    assert typed.records["timestamp"].tolist() == clean["timestamp"].tolist()


def test_the_input_is_never_modified(tmp_path, sample_force) -> None:
    df = allocator.sample_demand(sample_force, 200, seed=2, messy=True)
    before = df.copy()
    demand(df, sample_force)
    pd.testing.assert_frame_equal(df, before)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    digest = sha256_file(path)
    demand(path, sample_force)
    assert sha256_file(path) == digest


def test_committed_sample_loads_with_exactly_the_planted_rejects(sample_force) -> None:
    load = demand(allocator.sample_path("demand.csv"), sample_force)
    planted: dict[str, int] = {}
    for p in planted_faults(sample_force):
        planted[p.reason] = planted.get(p.reason, 0) + 2
    # over-long durations are dropped, their records kept
    assert planted.pop("implausible duration") == load.summary.durations_dropped == 2
    assert load.summary.rejected == planted
    assert load.summary.accepted == 17_252
    strict = demand(allocator.sample_path("demand.csv"), sample_force, {"reject_long_durations": True})
    assert strict.summary.rejected["implausible duration"] == 2 and strict.summary.accepted == 17_250
    assert set(load.summary.unmapped_codes) == {"NOISE", "ANIMAL", "ALARM", "HIGHWAY", "FIREWORKS"}
    assert load.records["timestamp"].min() > load.window[0]


# ------------------------------------------------------------------ mapping
def test_cad_extract_through_its_mapping(sample_force) -> None:
    path = allocator.sample_path("cad_extract.csv")
    load = demand(path, sample_force, allocator.sample_path("cad_mapping.yaml"))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert load.summary.rows_read == len(raw) == load.summary.accepted
    assert load.records["id"].tolist() == raw["Incident Number"].tolist()
    fmt = "%d/%m/%Y %H:%M:%S"
    assert load.records["timestamp"].dt.strftime(fmt).tolist() == raw["Call Created"].tolist()
    has_end = raw["Closed"] != ""
    assert load.records["duration"].notna().tolist() == has_end.tolist()
    assert set(load.records["area"].astype("str")) <= set(sample_force.area_names)
    first = raw.iloc[0]
    minutes = (
        pd.to_datetime(first["Closed"], format=fmt) - pd.to_datetime(first["Call Created"], format=fmt)
    ).total_seconds() / 60
    assert load.records["duration"].iloc[0] == minutes
    assert load.summary.unmapped_codes  # NOISE and friends counted as OTHER


def test_mapping_as_dict_with_codes_and_aliases(sample_force) -> None:
    df = pd.DataFrame(
        {
            "When": ["2026-10-01 10:00", "2026-10-01 11:00", "2026-10-01 12:00"],
            "Finished": ["2026-10-01 10:45", "", "2026-10-01 11:00"],
            "Beat": ["SWN", "Swindon South", "SWN"],
            "Code": ["SHOP", "DA", "SHOP"],
        }
    )
    mapping = {
        "start": "When", "end": "Finished", "area": "Beat", "demand_type": "Code",
        "codes": {"SHOP": "THEFT"}, "areas": {"SWN": "Swindon North"},
    }
    load = demand(df, sample_force, mapping)
    assert load.records["area"].tolist() == ["Swindon North", "Swindon South"]
    assert load.records["demand_type"].tolist() == ["THEFT", "DA"]
    assert load.records["duration"].iloc[0] == 45
    assert np.isnan(load.records["duration"].iloc[1])
    assert load.rejects["reason"].tolist() == ["negative duration"]
    assert list(load.rejects.columns[:5]) == ["row", "When", "Finished", "Beat", "Code"]


def test_explicit_format_is_strict(sample_force) -> None:
    df = frame(timestamp=["01/10/2026 09:30", "30/02/2026 09:30", "2026-10-01 09:30"])
    load = demand(df, sample_force, DemandMapping(format="%d/%m/%Y %H:%M"))
    assert load.records["timestamp"].tolist() == [pd.Timestamp("2026-10-01 09:30", tz=LONDON)]
    assert load.rejects["reason"].tolist() == ["unparseable timestamp"] * 2


def test_bad_mappings_are_reported_at_once(tmp_path, sample_force) -> None:
    with pytest.raises(DemandError) as err:
        demand(frame(area=["x"]), sample_force, {"codes": {"A": "THEFTT"}, "areas": {"N": "Swindon Nort"}})
    text = str(err.value)
    assert "2 problems" in text and "did you mean 'THEFT'" in text and "did you mean 'Swindon North'" in text
    with pytest.raises(DemandError, match="start and end go together"):
        demand(frame(), sample_force, {"start": "x"})
    codes = tmp_path / "codes.csv"
    codes.write_text("source_code,demand_type\nA,THEFT\nA,DA\n,ASB\n")
    with pytest.raises(DemandError) as err:
        DemandMapping(codes=codes).code_table()
    assert "row 2, column demand_type" in str(err.value) and "row 3, column source_code" in str(err.value)
    yml = tmp_path / "m.yaml"
    yml.write_text("timestmp: When\n")
    with pytest.raises(DemandError, match=r"m\.yaml.*timestmp"):
        DemandMapping.from_yaml(yml)


def test_summary_views(sample_force) -> None:
    load = demand(frame(area=["Swindon North", "Nowhere"]), sample_force)
    text = str(load.summary)
    assert "2 rows read, 1 accepted, 1 rejected" in text and "unknown area: 1" in text
    table = load.summary.to_frame()
    assert table.set_index(["item", "detail"]).loc[("rejected", "unknown area"), "count"] == 1
    assert "<table>" in load.summary._repr_html_()


# ------------------------------------------------------- batches and memory
def test_grade_is_a_categorical_of_the_trimmed_values(sample_force) -> None:
    df = frame(grade=[" standard", "immediate", "standard ", ""], id=["a", "b", "c", "d"])
    rec = demand(df, sample_force).records
    assert isinstance(rec["grade"].dtype, pd.CategoricalDtype)
    assert rec["grade"].tolist() == ["standard", "immediate", "standard", ""]
    assert rec["grade"].cat.categories.tolist() == ["", "immediate", "standard"]


def test_codes_differing_only_in_spaces_are_counted_together(sample_force) -> None:
    load = demand(frame(demand_type=["NOISE", " NOISE ", "NOISE", "FOO"]), sample_force)
    assert load.summary.unmapped_codes == {"NOISE": 3, "FOO": 1}


@pytest.mark.parametrize("kind", ["csv", "parquet", "frame"])
def test_small_batches_give_the_same_load_as_one_batch(tmp_path, monkeypatch, sample_force, kind) -> None:
    """Duplicates, catch-all counts, the window and rejects are whole-extract facts, whatever the batching."""
    df = allocator.sample_demand(sample_force, 4000, seed=11, messy=True)
    # ids repeated across batches, one with a space (the same id once trimmed), one blank (never a duplicate)
    df.loc[3500, "id"] = df.loc[10, "id"]
    df.loc[3600, "id"] = " " + df.loc[20, "id"]
    df.loc[[100, 3700], "id"] = ""
    df.loc[[5, 3900], "demand_type"] = "NOISE"
    source: pd.DataFrame | str = df
    if kind == "csv":
        source = str(tmp_path / "d.csv")
        df.to_csv(source, index=False)
    elif kind == "parquet":
        source = str(tmp_path / "d.parquet")
        df.to_parquet(source, index=False)
    whole = demand(source, sample_force, as_of="2026-09-30")
    monkeypatch.setattr("allocator.data.extract.BATCH_ROWS", 700)
    monkeypatch.setattr("allocator.data.extract.CSV_BLOCK", 40_000)
    batched = demand(source, sample_force, as_of="2026-09-30")
    pd.testing.assert_frame_equal(whole.records, batched.records)
    pd.testing.assert_frame_equal(whole.rejects, batched.rejects)
    assert whole.summary == batched.summary
    rej = batched.rejects.set_index("row")
    assert rej.loc[3501, "reason"] == "duplicate id"
    assert rej.loc[3501, "detail"] == f"id {df.loc[10, 'id']!r} first seen at row 11"
    assert rej.loc[3601, "reason"] == "duplicate id"
    assert rej.loc[3601, "detail"] == f"id {' ' + df.loc[20, 'id']!r} first seen at row 21"
    assert rej["reason"].get(3701) != "duplicate id"
    assert (batched.rejects["reason"] == "outside window").sum() > 500


@given(st.lists(st.text(alphabet="ab \u00e9", max_size=20), min_size=1, max_size=40))
def test_id_hashes_are_equal_exactly_when_ids_are(ids: list[str]) -> None:
    import pyarrow as pa

    from allocator.data.extract import hash_strings

    whole = hash_strings(pa.array(ids))
    one_by_one = np.concatenate([hash_strings(pa.array([v])) for v in ids])
    np.testing.assert_array_equal(whole, one_by_one)  # fixed-width and general paths agree
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            if a == b:
                assert whole[i] == whole[j]
