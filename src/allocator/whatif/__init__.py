"""What-if sweeps: scenarios, sensitivity to judgement, robustness to demand (see ``docs/whatif.md``).

Every sweep reads the base once (:func:`load_base`) and works on its summable
partial sums; its tasks run in this process, on local processes or on a
``dask.distributed`` cluster (``client=``), with the same results.
"""

from allocator.whatif.bootstrap import BootstrapResult, bootstrap, week_partials
from allocator.whatif.robust import RobustResult, robust_posting
from allocator.whatif.run import Base, ScenarioOutcome, ScenarioResults, load_base, run_scenarios
from allocator.whatif.sensitivity import SensitivityResult, perturbed_force, sensitivity
from allocator.whatif.spec import (
    Scenario,
    ScenarioError,
    ScenarioSpec,
    load_scenarios,
    parse_scenarios,
)

__all__ = [
    "Base",
    "BootstrapResult",
    "RobustResult",
    "Scenario",
    "ScenarioError",
    "ScenarioOutcome",
    "ScenarioResults",
    "ScenarioSpec",
    "SensitivityResult",
    "bootstrap",
    "load_base",
    "load_scenarios",
    "parse_scenarios",
    "perturbed_force",
    "robust_posting",
    "run_scenarios",
    "sensitivity",
    "week_partials",
]
