"""Response floors in the allocation: the floors family, the service-level stage, shortfalls and results.

A hand-worked two-area force, hypothesis properties (a floor reported as met
is met by the posting's own on-duty numbers; no shortfall when the
establishment suffices), backends and routes agreeing on the stage, brute
force on the tiniest formulations, and the messages in the force's words.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.errors import ArgumentError, InputError
from allocator.model import formulation as fm
from allocator.model.build import build_formulation
from allocator.model.force import DemandType, Force, JudgementRow, Role
from allocator.model.formulation import Formulation, family_from_rows
from allocator.model.patterns import least_team_total
from allocator.results.rota import RotaAllocation
from allocator.solve.lexicographic import solve_formulation
from allocator.solve.milp import get_backend
from allocator.solve.report import SolverReport
from allocator.solve.rota import allocate_on_patterns
from tests.formulation_factory import tiny
from tests.test_rota_allocate import BACKENDS, hours_workload, rota_force

NIGHT = np.array([h for h in range(168) if h % 24 >= 19 or h % 24 < 7])


def two_area_force(pc: int = 20) -> Force:
    """Urban and Rural, PCs on a Days pattern (07:00-19:00) and a Nights pattern (19:00-07:00), every day."""
    return Force.model_validate({
        "name": "Two areas",
        "areas": [{"name": "Urban"}, {"name": "Rural"}],
        "windows": [{"name": "Day", "start": "07:00", "hours": 12}, {"name": "Night", "start": "19:00", "hours": 12}],
        "patterns": [
            {"name": "Days", "fixed": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                                       "window": "Day"}},
            {"name": "Nights", "fixed": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                                         "window": "Night"}},
        ],
        "roles": [Role(name="PC", establishment=pc, abstraction=0.5, patterns=["Days", "Nights"]).model_dump()],
        "demand_types": [DemandType(code="X").model_dump()],
        "judgement": [JudgementRow(demand_type="X", role="PC", share=1.0, minutes=60).model_dump()],
        "settings": {"window_days": 182},
    })


def _posts(a: RotaAllocation, area: str, pattern: str) -> int:
    t = a.table
    return int(t[(t["area"] == area) & (t["pattern"] == pattern)]["posts"].sum())


# ------------------------------------------------------------------ hand-worked
def test_the_rural_floor_not_its_workload_decides_its_night_posts() -> None:
    """Worked by hand.

    Judged workload per hour of the week: Urban 4 h by day and 4 h by night,
    Rural 1 h by day and 1 h by night. A post on Days is on duty every day
    07:00-19:00, a post on Nights every night 19:00-07:00, so each bucket
    (a weekday's Day or Night) is covered by one (area, pattern) only, and
    its coverage is proportional to posts / workload. 20 PCs shared by
    workload alone (weights 4 : 4 : 1 : 1) give Urban 8 Days + 8 Nights and
    Rural 2 Days + 2 Nights, every coverage equal.

    The response floor asks for 2 PCs on duty in every Rural night hour (and
    1 in Urban). With half the officers abstracted, a Nights post puts 0.5 on
    duty, so Rural needs 4 Nights posts: the floor, not the workload, decides
    them. Urban's 1 needs 2 Nights posts, which workload gives anyway. The
    other 16 posts then go by workload over Urban Days (4), Urban Nights (4)
    and Rural Days (1): the smallest coverage, in posts per unit of workload,
    is largest at 7, 7, 2 (min(7/4, 7/4, 2/1) = 1.75; 8, 7, 1 gives 1; 7, 6, 3
    gives 1.5). So: Urban 7 + 7, Rural 2 Days + 4 Nights, 2.0 PCs on duty in
    every Rural night hour (the floor, met exactly) and 3.5 in Urban.
    """
    force = two_area_force()
    W = np.zeros((2, 168, 1))
    W[0, :, 0], W[1, :, 0] = 4.0, 1.0
    F = np.zeros((2, 168))
    F[0, NIGHT], F[1, NIGHT] = 1.0, 2.0

    plain = allocate_on_patterns(W, force, time_limit=30)
    assert [_posts(plain, a, p) for a in ("Urban", "Rural") for p in ("Days", "Nights")] == [8, 8, 2, 2]

    a = allocate_on_patterns(W, force, floors=F, time_limit=30)
    assert a.solver.status == "optimal"
    assert [_posts(a, ar, p) for ar in ("Urban", "Rural") for p in ("Days", "Nights")] == [7, 7, 2, 4]
    assert a.solver.objective["service level[all]"] == 1.0
    np.testing.assert_allclose(a.responders_on_duty[1, NIGHT], 2.0)
    np.testing.assert_allclose(a.responders_on_duty[0, NIGHT], 3.5)
    sl = a.service_levels
    assert sl["met"].all() and (sl["shortfall"] == 0).all() and len(sl) == 14  # a Night bucket a day per area
    rural = sl[sl["area"] == "Rural"]
    urban = sl[sl["area"] == "Urban"]
    assert rural["binding"].all() and not urban["binding"].any()
    assert (rural["floor"] == 2.0).all() and (rural["on_duty"] == 2.0).all()
    # explain names the service level as what holds Rural's night posts; the day bucket is not bound by it
    night = a.explain("Rural", "PC", "Sat Night", by_type=False)
    assert any(b.startswith("service level: Rural,") and "2 PCs on duty" in b for b in night.binding), night.binding
    day = a.explain("Rural", "PC", "Sat Day", by_type=False)
    assert not any(b.startswith("service level") for b in day.binding)
    assert "response floors" in set(a.binding["family"])
    assert a.warnings == []


def test_a_short_establishment_meets_the_largest_share_of_every_floor_and_says_where_it_falls_short() -> None:
    """Worked by hand: 8 PCs cannot give Rural 4 and Urban 2 Nights posts and cover the days.

    Floors: 2 on duty every Rural night hour, 2 every Urban night hour, so 4
    Nights posts each (8 in all), and a day floor of 1 in each area (2 Days
    posts each): 12 posts for 8 PCs. Met as a share t of every floor: Nights
    posts n_U, n_R >= 4t and Days posts d_U, d_R >= 2t, 2 (4t) + 2 (2t) <=
    8 in whole posts: t = 8/12 is not reachable (4t = 2.67 posts); the best
    is n = 3, 3 and d = 1, 1 (t = min(3/4, 1/2) = 0.5) or n = 2, 2, d = 2, 2
    (t = 0.5): t* = 1/2. Then workload shares the spare posts.
    """
    force = two_area_force(pc=8)
    W = np.zeros((2, 168, 1))
    W[0, :, 0], W[1, :, 0] = 4.0, 1.0
    F = np.zeros((2, 168))
    F[:, NIGHT] = 2.0
    day = np.setdiff1d(np.arange(168), NIGHT)
    F[:, day] = 1.0
    a = allocate_on_patterns(W, force, floors=F, time_limit=30)
    assert a.solver.status == "optimal"
    stage = next(s for s in a.solver.stages if s.name == "service level")
    assert stage.objective == pytest.approx(0.5) and stage.bound == pytest.approx(0.5)
    assert a.formulation.admits(a.x)  # the floors are held at the level reached
    sl = a.service_levels
    assert not sl["met"].all() and (sl.loc[~sl["met"], "shortfall"] > 0).all()
    assert (sl.loc[sl["met"], "shortfall"] == 0).all()
    words = " ".join(a.warnings)
    assert "the establishment cannot meet every response floor: at best 50% of each floor is met" in words
    assert "Rural:" in words and "Urban:" in words and "PCs" in words


def test_the_floor_row_reads_in_the_forces_words() -> None:
    force = two_area_force()
    F = np.zeros((2, 168))
    F[1, 5 * 24 + 2] = 9.0  # Sat 02:00 (the Fri Night bucket, which starts Fri 19:00)

    class Floors:  # part of the response-floors contract: officers, responders, target minutes
        officers = F
        responders = ("PC",)
        target = np.array([15.0, 20.0])

    f = build_formulation(np.ones((2, 168, 1)), force, floors=Floors())
    fam = f.family(fm.RESPONSE_FLOORS)
    assert fam is not None and fam.n_rows == 1
    assert fam.labels[0] == "Rural, Fri Night: 9 PCs on duty for Immediate calls within 20 min (hour Sat 02:00)"
    # on average: minutes on duty x (1 - abstraction) made whole, against floor x 60 x period weeks
    assert fam.lo[0] == 9 * 60 * f.period_weeks * 2  # availability 1/2: coefficients minutes x 1, scale 2


def test_bucket_level_asks_every_hour_for_the_busiest_hour_of_its_bucket() -> None:
    force = rota_force(areas=1, pc=40)
    F = np.zeros((1, 168))
    F[0, 7], F[0, 8] = 1.0, 3.0  # two hours of Mon Early

    class Floors:
        officers = F
        level = "bucket"

    f = build_formulation(np.ones((1, 168, 2)), force, floors=Floors())
    assert f.service is not None and f.service.level == "bucket"
    early = f.bucket_of_hour == f.buckets.index("Mon Early")
    assert (f.service.applied[0, early] == 3.0).all() and (f.service.applied[0, ~early] == 0.0).all()
    a = allocate_on_patterns(np.ones((1, 168, 2)), force, floors=Floors(), time_limit=30)
    assert (a.responders_on_duty[0, early] >= 3.0 - 1e-9).all()
    row = a.service_levels.iloc[0]
    assert len(a.service_levels) == 1 and row["bucket"] == "Mon Early" and row["floor"] == 3.0 and row["met"]


def test_on_a_chance_of_dates_every_rostered_team_reaches_the_binomial_total() -> None:
    """One 2-2-2 team on each tour at a time, half abstracted: 5 on duty on 9 dates in 10 needs 14 per team.

    P(Bin(14, .5) >= 5) = 0.910, P(Bin(13, .5) >= 5) = 0.867.
    """
    assert least_team_total(5, 0.5, 0.9) == 14
    force = rota_force(areas=1, pc=72)
    F = np.zeros((1, 168))
    F[0, NIGHT] = 5.0

    class Floors:
        officers = F
        chance = 0.9

    a = allocate_on_patterns(hours_workload(force, 1), force, floors=Floors(), time_limit=30)
    pcs = a.table[a.table["role"] == "PC"]["posts"]
    assert pcs.min() >= 14 and a.service_levels["met"].all()
    assert any("on 90% of dates needs 14 posted" in label
               for label in a.formulation.family(fm.RESPONSE_FLOORS).labels)
    short = allocate_on_patterns(hours_workload(force, 1), rota_force(areas=1, pc=60), floors=Floors(),
                                 time_limit=30)
    # 60 PCs: teams of 12, 12 of the 14 needed
    assert short.solver.objective["service level[all]"] == pytest.approx(12 / 14)
    assert not short.service_levels["met"].any()
    assert (short.service_levels["posts_short"] == 2).all()  # every team is 2 posts short of 14
    assert "Area 0: 14 buckets short, up to 2 PC posts on a rostered team (Mon Late 2" in " ".join(short.warnings)
    assert (a.service_levels["posts_short"] == 0).all()


def test_bad_floors_are_reported_with_the_area_and_hour() -> None:
    force = rota_force(areas=2)
    F = np.zeros((2, 168))
    F[1, 26] = -1.0
    F[0, 3] = math.nan
    with pytest.raises(InputError) as err:
        build_formulation(hours_workload(force, 0), force, floors=F)
    text = str(err.value)
    assert "2 floors are not finite and 0 or more" in text and "Area 0, Mon 03:00" in text
    with pytest.raises(InputError, match=r"expected \(areas, 168\)"):
        build_formulation(hours_workload(force, 0), force, floors=np.zeros((3, 168)))

    class Floors:
        officers = np.zeros((2, 168))
        responders = ("Sergeant",)

    with pytest.raises(InputError, match="Sergeant"):
        build_formulation(hours_workload(force, 0), force, floors=Floors())


def test_service_levels_on_a_force_without_the_section_is_an_argument_error() -> None:
    force = rota_force(areas=1)
    with pytest.raises(ArgumentError, match="no service_levels section"):
        allocator.allocate(hours_workload(force, 0), force, service_levels=True)
    a = allocator.allocate(hours_workload(force, 0), force, service_levels=False)
    assert isinstance(a, RotaAllocation) and a.service_levels.empty


def test_floors_counting_two_roles_go_to_the_whole_formulation_and_count_both() -> None:
    force = rota_force(areas=2, pc=30, pcso=12)
    F = np.zeros((2, 168))
    F[:, 8:15] = 2.5  # Monday day hours: PCs on the 2-2-2 and PCSOs on weekday days both count

    class Floors:
        officers = F
        responders = ("PC", "PCSO")

    f = build_formulation(hours_workload(force, 3), force, floors=Floors())
    fam = f.family(fm.RESPONSE_FLOORS)
    assert fam is not None and fam.links_roles and not fam.links_areas
    with pytest.raises(ValueError, match="the response floors count several roles together"):
        solve_formulation(f, get_backend("cpsat"), SolverReport(backend="cpsat", status="optimal"), route="areas")
    a = allocate_on_patterns(hours_workload(force, 3), force, floors=Floors(), time_limit=30)
    stage = next(s for s in a.solver.stages if s.name == "service level")
    assert "the response floors count several roles together" in stage.method and stage.objective == 1.0
    both = a.on_duty[:, 0, :] + a.on_duty[:, 1, :]  # PCs (half abstracted) and PCSOs (40%) together
    np.testing.assert_allclose(a.responders_on_duty, both)
    assert (both[:, 8:15] >= 2.5 - 1e-9).all() and a.service_levels["met"].all()
    assert "PC/PCSOs on duty" in fam.labels[0]


def test_a_floor_when_no_responder_is_rostered_is_reported_short_not_dropped() -> None:
    force = rota_force(areas=1, pc=20, pcso=6)
    F = np.zeros((1, 168))
    F[0, 6 * 24 + 2] = 1.0  # Sunday 02:00: PCSOs work weekday Earlies only

    class Floors:
        officers = F
        responders = ("PCSO",)

    a = allocate_on_patterns(hours_workload(force, 4), force, floors=Floors(), time_limit=30)
    assert a.formulation.family(fm.RESPONSE_FLOORS) is None  # no row: no posting can meet it
    stage = next(s for s in a.solver.stages if s.name == "service level")
    assert stage.method == "no floor row" and a.solver.status == "optimal"
    row = a.service_levels.iloc[0]
    assert len(a.service_levels) == 1 and not row["met"] and row["shortfall"] == 1.0 and row["on_duty"] == 0.0
    assert any("some response floors fall in hours when no responder pattern is on duty" in w and
               "Area 0: 1 bucket short, up to 1.0 PCSOs" in w for w in a.warnings), a.warnings


# ------------------------------------------------------------------ properties
@st.composite
def floored(draw):
    areas = draw(st.integers(1, 3))
    pc = draw(st.integers(5, 40))
    force = rota_force(areas=areas, pc=pc, pcso=draw(st.integers(0, 4)))
    seed = draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    F = np.where(rng.uniform(size=(areas, 168)) < 0.3, rng.integers(0, 4, (areas, 168)), 0).astype(float)
    F += rng.uniform(0, 1, (areas, 168)) * (F > 0)
    return force, hours_workload(force, seed), F


def _independent_on_duty(a: RotaAllocation) -> np.ndarray:
    """PCs on duty per (area, hour), from the patterns' minutes and the posts, not the formulation's method."""
    f = a.formulation
    out = np.zeros((len(f.areas), 168))
    for j in np.flatnonzero(f.col_role == 0):
        out[f.col_area[j]] += a.x[j] * f.on_duty_minutes[j] / (60.0 * f.period_weeks) * 0.5
    return out


@given(floored())
def test_a_floor_reported_met_is_met_by_the_postings_on_duty_numbers(case) -> None:
    force, W, F = case
    a = allocate_on_patterns(W, force, floors=F, time_limit=30)
    duty = _independent_on_duty(a)
    f = a.formulation
    for row in a.service_levels.itertuples():
        hours = np.flatnonzero((f.bucket_of_hour == f.buckets.index(row.bucket)) & (F[f.areas.index(row.area)] > 0))
        got = duty[f.areas.index(row.area), hours]
        want = F[f.areas.index(row.area), hours]
        if row.met:
            assert (got >= want - 1e-9).all() and row.shortfall == 0
        else:
            assert row.shortfall == pytest.approx(float((want - got).max()))
    level = a.solver.objective["service level[all]"]
    fam = f.family(fm.RESPONSE_FLOORS)
    if fam is not None and fam.n_rows:
        # the level is the smallest share of a floor met by the posting (capped at 1)
        share = np.minimum(duty / np.where(F > 0, F, 1.0), 1.0)[F > 0]
        covered = np.zeros_like(F, dtype=bool)
        for h in range(168):
            covered[:, h] = f.on_duty_minutes[f.col_role == 0][:, h].any()
        reachable = share[covered[F > 0]]
        # rows are whole numbers: ceil(floor x 60 x period weeks x 2) moves a share by under 1 / 1200 here
        assert level == pytest.approx(float(reachable.min()), abs=1e-3)


@given(floored(), st.floats(0.0, 1.0))
def test_no_shortfall_when_the_establishment_suffices(case, u) -> None:
    force, W, _ = case
    plain = allocate_on_patterns(W, force, time_limit=30)
    # floors that a posting of this establishment meets: a share of what the plain posting has on duty
    F = plain.on_duty[:, 0, :] * u
    a = allocate_on_patterns(W, force, floors=F, time_limit=30)
    assert a.solver.objective["service level[all]"] == 1.0
    sl = a.service_levels
    assert sl["met"].all() and (sl["shortfall"] == 0).all()
    assert not any("cannot meet" in w for w in a.warnings)


# ------------------------------------------------------------- backends, routes
def _stage(f: Formulation, backend: str, route: str) -> tuple[float, str, np.ndarray | None]:
    report = SolverReport(backend=backend, status="optimal")
    x, _ = solve_formulation(f, get_backend(backend), report, time_limit=30, route=route)
    st_ = next(s for s in report.stages if s.name == "service level")
    return st_.objective, st_.status, x


@pytest.mark.parametrize("seed", range(3))
def test_backends_and_routes_agree_on_the_service_level(seed) -> None:
    force = rota_force(areas=3, pc=24)
    rng = np.random.default_rng(seed)
    F = rng.integers(0, 4, (3, 168)).astype(float)
    f = build_formulation(hours_workload(force, seed), force, floors=F)
    levels = {}
    for backend in BACKENDS:
        for route in ("auto", "whole"):
            level, status, x = _stage(f, backend, route)
            assert status == "optimal" and x is not None
            levels[(backend, route)] = level
    first = next(iter(levels.values()))
    assert first < 1.0
    assert all(v == pytest.approx(first, rel=1e-12) for v in levels.values()), levels


# ------------------------------------------------------------------ brute force
def _with_floors(f: Formulation, rng: np.random.Generator) -> Formulation:
    """``f`` with floor rows on hours 0 and 60 of each area (role 0): post-minutes x 1, random floors."""
    rows = []
    for a in range(len(f.areas)):
        mine = np.flatnonzero((f.col_area == a) & (f.col_role == 0))
        for h in (0, 60):
            coefs = f.on_duty_minutes[mine, h]
            if coefs.any():
                rows.append((mine[coefs > 0].tolist(), coefs[coefs > 0].tolist(), float(rng.integers(1, 200)),
                             math.inf, f"A{a} h{h}"))
    fam = family_from_rows(fm.RESPONSE_FLOORS, rows, f.col_area, f.col_role)
    return replace(f, families=[*f.families, fam])


def _brute_level(f: Formulation) -> float:
    core = [g for g in f.families if g.name != fm.RESPONSE_FLOORS]
    fam = f.family(fm.RESPONSE_FLOORS)
    assert fam is not None
    best = -1.0
    for x in itertools.product(*[range(int(f.col_lo[j]), int(f.col_hi[j]) + 1) for j in range(f.n)]):
        xa = np.array(x, dtype=np.int64)
        if all(g.violated(xa, f.current).size == 0 for g in core):
            best = max(best, min(1.0, float((fam.values(xa) / fam.lo).min())))
    return best


@pytest.mark.parametrize("case", [
    dict(seed=0, areas=2, teams=2, establishment=(5, 0)),
    dict(seed=1, areas=2, teams=2, establishment=(3, 0), team_rule=True),
    dict(seed=2, areas=3, teams=1, establishment=(4, 0), minimum=1),
    dict(seed=3, areas=2, teams=2, roles=2, establishment=(3, 1)),
    dict(seed=4, areas=1, teams=3, establishment=(6, 0), team_rule=True),
], ids=str)
def test_the_service_level_matches_brute_force(case) -> None:
    base = tiny(**case)
    f = _with_floors(base, np.random.default_rng(case["seed"]))
    fam = f.family(fm.RESPONSE_FLOORS)
    assert fam is not None and fam.n_rows, "every fixed case draws floor rows"
    want = _brute_level(f)
    for backend in BACKENDS:
        for route in ("auto", "whole"):
            got, status, x = _stage(f, backend, route)
            if want < 0:
                assert x is None
                continue
            assert status == "optimal" and got == pytest.approx(want, rel=1e-12), (backend, route)


def test_a_posting_made_without_the_floors_can_be_measured_against_them() -> None:
    force = allocator.load_force(allocator.sample_path("force.yaml"))
    wl = allocator.compute_workload(allocator.sample_demand(force, 5000, seed=4), force)
    plain = allocator.allocate(wl, force, service_levels=False)
    assert isinstance(plain, RotaAllocation) and plain.formulation.service is None
    pc = force.role_names.index("PC")
    np.testing.assert_array_equal(plain.responders_on_duty, plain.on_duty[:, pc, :])
    floors = allocator.response_floors(force, wl)
    assert floors is not None
    from allocator.queueing.response import measure

    assert len(measure(floors, plain.responders_on_duty)) == 6 * 168


def test_the_shortfall_of_a_large_force_names_the_areas_most_short_and_counts_the_rest() -> None:
    """Twelve areas, every floor short: the words name the eight areas most short, in the force's order.

    Area k's night floor is 2 + k/4 PCs and its day floor 1, against 24 PCs
    in all: every area is short at night, by more the later the area, so the
    eight named are areas 4-11 and four more are counted.
    """
    data = two_area_force(pc=24).model_dump()
    data["areas"] = [{"name": f"A{k:02d}"} for k in range(12)]
    force = Force.model_validate(data)
    W = np.ones((12, 168, 1))
    F = np.ones((12, 168))
    F[:, NIGHT] = (2.0 + np.arange(12) / 4)[:, None]
    a = allocate_on_patterns(W, force, floors=F, time_limit=30)
    words = a.shortfall_words()
    named = [w.split(":")[0] for w in words.split("Short: ")[1].split("; ")[:-1]]
    sl = a.service_levels
    worst = sl.groupby("area", observed=True)["shortfall"].max()
    assert (worst > 0).all()  # every area short
    expected = sorted(worst.sort_values(ascending=False, kind="stable").index[:8], key=list(force.area_names).index)
    assert named == expected == [f"A{k:02d}" for k in range(4, 12)]
    assert words.endswith("; 4 more areas short (service_levels lists every bucket)")
