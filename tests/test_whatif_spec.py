"""The scenario file: its syntax, and every fault named with the scenario and its line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.whatif import ScenarioError, load_scenarios
from allocator.whatif.apply import grow_partials, growth_matrix, scenario_force
from allocator.whatif.run import check_scenarios
from allocator.whatif.spec import Growth
from allocator.workload.kernel import Partials
from tests.whatif_helpers import rota_force, spec, spec_text


def test_the_sample_spec_has_the_scenarios_the_issue_asks_for() -> None:
    s = load_scenarios(allocator.sample_path("scenarios.yaml"))
    names = [x.name for x in s.scenarios]
    by_name = {x.name: x for x in s.scenarios}
    for pct in (40, 50, 60):
        assert by_name[f"Abstraction {pct}%"].roles["PC"]["abstraction"] == pct / 100
    assert by_name["Lose 20 PCs"].roles["PC"]["establishment_change"] == -20
    assert by_name["Domestic abuse +15%"].demand == (Growth(1.15, "DA", None, by_name["Domestic abuse +15%"].demand[0].line),)
    assert sum(1 for x in s.scenarios if x.judgement) >= 2
    assert len(names) == len(set(names))
    assert s.force == allocator.sample_path("force.yaml") and s.current == allocator.sample_path("current.csv")
    forces = check_scenarios(s, rota_force())
    assert forces[names.index("Lose 20 PCs")].role("PC").establishment == 380


def _problems(text: str) -> list[str]:
    from allocator.whatif import parse_scenarios

    with pytest.raises(ScenarioError) as info:
        s = parse_scenarios(text, "scenarios.yaml", ".")
        check_scenarios(s, rota_force())
    return [str(p) for p in info.value.problems]


def test_every_unknown_name_and_bad_value_is_reported_at_once_with_scenario_and_line() -> None:
    text = spec_text(
        "  - name: Typos\n"                                   # line 4
        "    roles: {PCC: {abstraction: 0.6}}\n"               # 5
        "    areas: {Swindon Nort: {max_posts: {PC: 70}}}\n"   # 6
        "    demand:\n"                                        # 7
        "      - {type: DAA, multiplier: 1.1}\n"               # 8
        "  - name: Patterns\n"                                 # 9
        "    roles: {PC: {patterns: [Responce]}}\n"            # 10
        "    judgement: [{type: DA, role: PCSO, impact: 2}]\n"  # 11
    )
    problems = _problems(text)
    assert len(problems) == 5, problems
    joined = "\n".join(problems)
    assert "line 5, scenario 'Typos', roles.PCC: unknown role 'PCC'" in joined
    assert "line 6, scenario 'Typos', areas.Swindon Nort: unknown area 'Swindon Nort'" in joined
    assert "did you mean 'Swindon North'" in joined
    assert "line 8, scenario 'Typos', demand.0.type: unknown demand type 'DAA'" in joined
    assert "line 10, scenario 'Patterns', roles.PC.patterns: unknown pattern 'Responce'" in joined
    assert "line 11, scenario 'Patterns', judgement.0" in joined and "needs share and minutes" in joined


def test_negative_multiplier_and_malformed_values_are_refused_with_their_lines() -> None:
    text = spec_text(
        "  - name: Shrink\n"                                  # 4
        "    demand: [{type: DA, multiplier: -0.5}]\n"        # 5
        "  - name: Bad\n"                                     # 6
        "    roles: {PC: {abstraction: 1.2, establishment: 12.5}}\n"  # 7
        "    max_moves: 5\n"                                  # 8
        "  - name: Shrink\n"                                  # 9
    )
    with pytest.raises(ScenarioError) as info:
        from allocator.whatif import parse_scenarios

        parse_scenarios(text, "scenarios.yaml", ".")
    text_out = str(info.value)
    assert "line 5, scenario 'Shrink', scenarios[0].demand[0].multiplier: expected a multiplier of 0 or more" in text_out
    assert "(got -0.5)" in text_out
    assert "line 7, scenario 'Bad', scenarios[1].roles.PC.abstraction" in text_out
    assert "line 7, scenario 'Bad', scenarios[1].roles.PC.establishment: expected a headcount" in text_out
    assert "line 8" in text_out and "give base.current too" in text_out
    assert "line 9" in text_out and "'Shrink' is taken (line 4)" in text_out
    assert len(info.value.problems) == 5


def test_a_varied_force_that_is_not_valid_names_the_scenario() -> None:
    s = spec("  - name: Half a theft\n    judgement: [{type: THEFT, role: PC, share: 0.1}]\n")
    with pytest.raises(ScenarioError) as info:
        check_scenarios(s, rota_force())
    (p,) = info.value.problems
    assert p.line == 4 and "scenario 'Half a theft', varied force" in p.where
    assert "shares of demand type 'THEFT' sum to" in p.message


def test_the_base_name_is_reserved_and_paths_are_required() -> None:
    problems = _problems("base: {force: f.yaml}\nscenarios:\n  - name: base\n")
    assert any("base.demand: missing" in p for p in problems)
    assert any("'base' is taken (the unvaried base)" in p for p in problems)


def test_yaml_faults_are_scenario_errors_with_lines() -> None:
    problems = _problems("base: {force: f.yaml, demand: d.csv}\nscenarios:\n  - name: A\n  - name: A\n    name: B\n")
    assert any("line 5" in p and "appears twice" in p for p in problems)


def test_scenario_force_applies_each_change() -> None:
    force = rota_force()
    s = spec("  - name: All\n"
             "    roles: {PC: {establishment_change: -20, abstraction: 0.55, min_on_duty: {Night: 6}}}\n"
             "    areas: {Swindon North: {max_posts: {PC: 70}}}\n"
             "    judgement: [{type: DA, role: PC, minutes: 240, impact: 2}]\n").scenarios[0]
    f = scenario_force(force, s)
    pc = f.role("PC")
    assert (pc.establishment, pc.abstraction) == (380, 0.55)
    assert pc.min_on_duty == {**force.role("PC").min_on_duty, "Night": 6}
    assert f.area("Swindon North").max_posts == {"PC": 70}
    row = f.judgement_table().set_index(["demand_type", "role"]).loc[("DA", "PC")]
    assert (row["minutes"], row["impact"], row["share"]) == (240, 2, 0.7)
    assert scenario_force(force, spec("  - name: Nothing\n").scenarios[0]) is force


@given(st.lists(st.tuples(st.sampled_from([None, "DA", "THEFT", "ASB"]),
                          st.sampled_from([None, "Swindon North", "Wiltshire East"]),
                          st.floats(0, 3, allow_nan=False)), max_size=4))
def test_growth_multiplies_where_entries_meet(entries: list[tuple[str | None, str | None, float]]) -> None:
    force = rota_force()
    m = growth_matrix(force, [Growth(k, t, a) for t, a, k in entries])
    expected = np.ones((len(force.areas), len(force.demand_types)))
    for t, a, k in entries:
        for i, area in enumerate(force.area_names):
            for j, code in enumerate(force.type_codes):
                if (t is None or t == code) and (a is None or a == area):
                    expected[i, j] *= k
    np.testing.assert_allclose(m, expected, rtol=1e-12)


def test_grown_partials_scale_the_workload_cell_by_cell() -> None:
    """Growth by m of one (area, type) adds (m - 1) times that cell's judged hours, nothing else."""
    from tests.whatif_helpers import small_base

    base = small_base()
    force = base.force
    a, t = force.area_names.index("Swindon South"), force.type_codes.index("DA")
    m = np.ones((len(force.areas), len(force.demand_types)))
    m[a, t] = 1.15
    grown = base.workload(partials=grow_partials(base.partials, m))
    plain = base.workload()
    diff = grown.by_type_array - plain.by_type_array
    np.testing.assert_allclose(diff[a, :, t, :], 0.15 * plain.by_type_array[a, :, t, :], rtol=1e-12, atol=1e-12)
    diff[a, :, t, :] = 0
    assert np.abs(diff).max() == 0
    zero = Partials.zeros(len(force.areas), len(force.demand_types))
    assert grow_partials(zero, m).n_records == 0
