"""allocator: demand data + professional judgement = resource algorithm -> allocation.

The public API. Each stage is a plain function over plain values:

>>> import allocator
>>> force = allocator.load_force(allocator.sample_path("force.yaml"))
>>> force.area_names[:2]
['Swindon North', 'Swindon South']
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from allocator.data.demand import REASONS, DemandLoad, DemandMapping, load_demand
from allocator.data.sample import sample_demand
from allocator.errors import (
    AllocatorError,
    ArgumentError,
    DemandError,
    ForceError,
    InputError,
    Problem,
    WorkloadError,
)
from allocator.model.build import build_formulation
from allocator.model.current import read_current
from allocator.model.force import (
    Area,
    DemandType,
    Force,
    JudgementRow,
    Pin,
    Role,
    Settings,
    Shift,
)
from allocator.model.forcefile import force_files, load_force, load_judgement
from allocator.model.formulation import Family, Formulation
from allocator.model.patterns import Buckets, PatternProfile, make_buckets, pattern_profiles
from allocator.model.problem import AllocationProblem, build_problem
from allocator.model.rota import DutyWindow, Pattern
from allocator.model.rules import Cap, MoveBudget, Ratio, Rule
from allocator.model.service_levels import ServiceLevels
from allocator.queueing.erlang import erlang_c, servers_for, service_level
from allocator.queueing.response import ResponseFloors, response_floors
from allocator.results.allocation import Allocation
from allocator.results.rota import RotaAllocation
from allocator.solve.diagnose import InfeasibleError
from allocator.solve.exact.apportion import apportion
from allocator.solve.exact.maximin import MaximinResult, maximin_posts
from allocator.solve.planner import allocate
from allocator.solve.report import SolverReport
from allocator.workload.engine import (
    PreparedRecords,
    Workload,
    compute_workload,
    prepare_records,
    workload_from_partials,
)

try:
    __version__ = version("allocator")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


def sample_path(name: str = "") -> Path:
    """Path to a file of the bundled sample force (``force.yaml``, ``demand.csv``, ...)."""
    here = Path(__file__).resolve()
    for base in (here.parent / "samples", here.parents[2] / "data" / "samples"):
        if (base / "force.yaml").exists():
            return base / name if name else base
    raise FileNotFoundError("the sample force is not installed with this copy of allocator")


__all__ = [
    "REASONS",
    "Allocation",
    "AllocationProblem",
    "AllocatorError",
    "Area",
    "ArgumentError",
    "Buckets",
    "Cap",
    "DemandError",
    "DemandLoad",
    "DemandMapping",
    "DemandType",
    "DutyWindow",
    "Family",
    "Force",
    "ForceError",
    "Formulation",
    "InfeasibleError",
    "InputError",
    "JudgementRow",
    "MaximinResult",
    "MoveBudget",
    "Pattern",
    "PatternProfile",
    "Pin",
    "PreparedRecords",
    "Problem",
    "Ratio",
    "ResponseFloors",
    "Role",
    "RotaAllocation",
    "Rule",
    "ServiceLevels",
    "Settings",
    "Shift",
    "SolverReport",
    "Workload",
    "WorkloadError",
    "__version__",
    "apportion",
    "allocate",
    "build_formulation",
    "build_problem",
    "compute_workload",
    "erlang_c",
    "force_files",
    "load_demand",
    "load_force",
    "load_judgement",
    "make_buckets",
    "maximin_posts",
    "pattern_profiles",
    "prepare_records",
    "read_current",
    "response_floors",
    "sample_demand",
    "sample_path",
    "servers_for",
    "service_level",
    "workload_from_partials",
]
