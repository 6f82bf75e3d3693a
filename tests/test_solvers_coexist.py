"""OR-Tools, highspy and PuLP's HiGHS load and solve in one process, in either import order.

ortools and highspy ship their own copies of the HiGHS library; a clash shows
only in a fresh process, so each import order runs in a subprocess of its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SOLVE_ORTOOLS = """
from ortools.sat.python import cp_model
m = cp_model.CpModel()
x = m.new_int_var(0, 10, "x"); y = m.new_int_var(0, 10, "y")
m.add(x + 2 * y <= 14); m.maximize(3 * x + 4 * y)
s = cp_model.CpSolver(); s.parameters.num_workers = 1
assert s.solve(m) == cp_model.OPTIMAL and s.objective_value == 38, s.objective_value
"""

SOLVE_HIGHSPY = """
import highspy, numpy as np
h = highspy.Highs(); h.setOptionValue("output_flag", False)
h.addVars(2, np.array([0.0, 0.0]), np.array([10.0, 10.0]))
h.changeColsCost(2, np.array([0, 1], dtype=np.int32), np.array([-3.0, -4.0]))
h.addRow(-highspy.kHighsInf, 14.0, 2, np.array([0, 1], dtype=np.int32), np.array([1.0, 2.0]))
h.changeColsIntegrality(2, np.array([0, 1], dtype=np.int32),
                        np.array([highspy.HighsVarType.kInteger] * 2))
h.run()
assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
assert abs(h.getInfo().objective_function_value + 38) < 1e-6
"""

SOLVE_PULP_HIGHS = """
import pulp
p = pulp.LpProblem("t", pulp.LpMaximize)
x = p.add_variable("x", 0, 10, cat="Integer"); y = p.add_variable("y", 0, 10, cat="Integer")
p += 3 * x + 4 * y; p += x + 2 * y <= 14
p.solve(pulp.HiGHS(msg=False))
assert p.sol_status == pulp.LpSolutionOptimal and abs(pulp.value(p.objective) - 38) < 1e-6
"""

SOLVE_ALLOCATOR = """
import numpy as np, allocator
force = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
W = np.random.default_rng(0).uniform(100, 3000, (6, 5, 3))
a = allocator.allocate(W, force, backend="cpsat")
b = allocator.allocate(W, force, backend="pulp:highs")
assert a.solver.status == b.solver.status == "optimal"
assert (a.posts == b.posts).all()
"""

ORDERS = {
    "ortools-first": [SOLVE_ORTOOLS, SOLVE_HIGHSPY, SOLVE_PULP_HIGHS, SOLVE_ALLOCATOR],
    "highspy-first": [SOLVE_HIGHSPY, SOLVE_PULP_HIGHS, SOLVE_ORTOOLS, SOLVE_ALLOCATOR],
}


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_solvers_coexist(order: str) -> None:
    code = "\n".join(textwrap.dedent(part) for part in ORDERS[order]) + "\nprint('ok')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
