"""Regenerate the committed sample demand files, deterministically.

    python scripts/make_sample.py [--out DIR]

Writes, beside ``force.yaml`` (or into ``--out``):

* ``demand.csv``: about 47,000 records over the 182 days ending 2026-10-31
  (across the October clock change) with blank durations, codes the force does
  not know (counted as its catch-all type) and a couple of planted faults of
  each rejection reason;
* ``current.csv``: a current posting of the force on rotas that splits each
  establishment evenly over areas and teams (ignores demand);
* ``current_shifts.csv``: the same for the shift-based force ``force_shifts.yaml``;
* ``codes.csv``: an example lookup from a CAD system's incident codes to the
  force's demand types;
* ``cad_extract.csv`` + ``cad_mapping.yaml``: a small extract in a CAD export's
  own headings and the mapping that reads it.

Same code, same files, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import allocator
from allocator.data.sample import sample_current, sample_demand
from allocator.data.sample_rota import sample_current_rota
from allocator.io.atomic import atomic_write_text

N_RECORDS = 47_000
SEED = 2017
CAD_RECORDS = 300
CAD_SEED = 7

# A CAD system's incident codes and the force demand type each one is.
CODES = {
    "THEFT-SHOP": "THEFT",
    "THEFT-VEH": "THEFT",
    "THEFT-OTH": "THEFT",
    "BURG-RES": "BURG",
    "BURG-COM": "BURG",
    "ASB-NUIS": "ASB",
    "ASB-PERS": "ASB",
    "DOM-INC": "DA",
    "RTC-INJ": "RTC",
    "RTC-DAM": "RTC",
    "CONCERN": "CFW",
    "MISPER-HIGH": "MISPER",
    "MISPER-MED": "MISPER",
    "999-SILENT": "SIL999",
    "SUSP-CIRC": "SUSP",
    "DISORDER": "DISORD",
    "PROP-LOST": "LOSTP",
    "PROP-FOUND": "LOSTP",
    "ASSAULT-ABH": "ASSAULT",
    "ASSAULT-COM": "ASSAULT",
    "DAMAGE": "CRIMDAM",
    "MH-CONCERN": "MENTAL",
}
# How the CAD system spells the force's areas.
CAD_AREAS = {
    "SWINDON NTH": "Swindon North",
    "SWINDON STH": "Swindon South",
    "WILTS NORTH": "Wiltshire North",
    "WILTS EAST": "Wiltshire East",
    "WILTS WEST": "Wiltshire West",
    "WILTS SOUTH": "Wiltshire South",
}
CAD_MAPPING = """\
# Reads cad_extract.csv, an export in the command-and-control system's own headings.
start: Call Created          # the record's time; its duration is Closed - Call Created
end: Closed
area: CPT Area
demand_type: Final Incident Type
id: Incident Number
grade: THRIVE Grade
format: "%d/%m/%Y %H:%M:%S"  # day first, as the CAD system writes it
codes: codes.csv             # CAD incident codes -> the force's demand types
areas:                       # CAD area names -> the force's area names
"""


def demand_csv(force: allocator.Force) -> str:
    df = sample_demand(force, N_RECORDS, seed=SEED, messy=True)
    return df.to_csv(index=False, lineterminator="\n")


def current_csv(force: allocator.Force) -> str:
    return sample_current(force).to_csv(index=False, lineterminator="\n")


def codes_csv() -> str:
    rows = pd.DataFrame({"source_code": list(CODES), "demand_type": list(CODES.values())})
    return rows.to_csv(index=False, lineterminator="\n")


def cad_files(force: allocator.Force) -> tuple[str, str]:
    df = sample_demand(force, CAD_RECORDS, seed=CAD_SEED)
    rng = np.random.default_rng(CAD_SEED)
    by_type: dict[str, list[str]] = {}
    for code, t in CODES.items():
        by_type.setdefault(t, []).append(code)
    unmodelled = ["NOISE", "ANIMAL", "ALARM"]
    types = df["demand_type"].astype("str").tolist()
    pick = rng.integers(0, 1 << 30, size=len(types))
    cad_codes = [
        by_type.get(t, unmodelled)[int(k) % len(by_type.get(t, unmodelled))]
        for t, k in zip(types, pick, strict=True)
    ]
    to_cad = {v: k for k, v in CAD_AREAS.items()}
    fmt = "%d/%m/%Y %H:%M:%S"
    start = df["timestamp"]
    end = start + pd.to_timedelta(df["duration"], unit="min")
    cad = pd.DataFrame(
        {
            "Incident Number": [f"WP-{ts.year}-{i:06d}" for i, ts in enumerate(start, 1)],
            "Call Created": start.dt.strftime(fmt),
            "Closed": end.dt.strftime(fmt).fillna(""),
            "CPT Area": df["area"].astype("str").map(to_cad),
            "Final Incident Type": cad_codes,
            "THRIVE Grade": df["grade"].astype("str").str.upper(),
            "Units Attending": rng.integers(1, 4, size=len(df)),
        }
    )
    mapping = CAD_MAPPING + "".join(f'  "{k}": {v}\n' for k, v in CAD_AREAS.items())
    return cad.to_csv(index=False, lineterminator="\n"), mapping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=allocator.sample_path())
    args = parser.parse_args(argv)
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    shifts = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
    out: Path = args.out
    cad, mapping = cad_files(force)
    files = {
        "demand.csv": demand_csv(force),
        "current.csv": sample_current_rota(force).to_csv(index=False, lineterminator="\n"),
        "current_shifts.csv": current_csv(shifts),
        "codes.csv": codes_csv(),
        "cad_extract.csv": cad,
        "cad_mapping.yaml": mapping,
    }
    for name, text in files.items():
        atomic_write_text(out / name, text)
        print(f"wrote {out / name} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
