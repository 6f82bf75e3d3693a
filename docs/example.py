# %% [markdown]
# # A monthly reallocation on the sample force
#
# This notebook walks the whole method on the bundled sample force:
# **demand data + professional judgement = resource algorithm -> allocation**.
# It is generated from `docs/example.py` (run `python scripts/build_notebook.py`)
# and executed by the test suite, so every cell here runs.
#
# The sample puts PCs on a five-team 2-2-2 rota, PCSOs on a rota of earlies
# and lates (no nights) and LCIs on weekday days, in six areas.

# %%
import allocator

force = allocator.load_force(allocator.sample_path("force.yaml"))
print(force.name, "-", len(force.areas), "areas,", ", ".join(force.pattern_names), "-",
      ", ".join(f"{r.name} {r.establishment}" for r in force.roles))

# %% [markdown]
# ## 1. Demand data
#
# `load_demand` reads the extract, refuses what it cannot use (with the row
# and the reason) and never drops a record silently: rows read = accepted +
# rejected.

# %%
demand = allocator.load_demand(allocator.sample_path("demand.csv"), force)
print(demand.summary)
demand.rejects.head(10)

# %% [markdown]
# ## 2. Judgement -> workload
#
# Judged hours per area, role and bucket of the week (each weekday split at
# the Early, Late and Night tours). `explain` breaks a bucket down by demand
# type.

# %%
workload = allocator.compute_workload(demand.records, force)
workload.by_shift.pivot_table(index="area", columns="role", values="hours",
                              aggfunc="sum", observed=True).round(0)

# %%
workload.explain("Swindon North", "Sat Night", "PC").head(8)

# %% [markdown]
# ## 3. The allocation
#
# Whole-number posts per area, role, pattern and team that share each role's
# establishment so that the worst-covered bucket is as well covered as it can
# be, keep minimum staffing in every hour, keep each rota's teams within one
# post, and move as few officers as needed from the current posting. The
# display shows the posts per area with each rota's team sizes and the
# utilisation per role: committed time, recorded demand hours over on-duty
# officer-hours (CPSM's benchmark is at most 60% on average).

# %%
allocation = allocator.allocate(workload, force, current=allocator.sample_path("current.csv"))
print(allocation.solver)
allocation

# %%
allocation.by_area.head(9)

# %%
allocation.rota

# %% [markdown]
# ## 4. Why is it so?

# %%
print(allocation.explain("Swindon North", "PC", "Sat Night"))

# %%
fig = allocation.plot()  # utilisation heatmaps, area x (weekday, tour), per role

# %% [markdown]
# ### Response service levels
#
# The sample force asks for 80% of Immediate calls attended within 15 minutes
# (urban) or 20 (rural), less travel (`service_levels:` in `force.yaml`).
# Erlang C on the response load in progress gives the least PCs on duty in
# every hour; those floors come before workload fairness. Where the
# establishment cannot meet them all, the allocation meets the largest share
# of every floor it can and says where it falls short, with the waits to
# expect under this posting.

# %%
print(allocation.shortfall_words())
allocation.service_levels.sort_values("shortfall", ascending=False).head(8)

# %% [markdown]
# ## 5. What would change it: a tighter move limit
#
# At a monthly reallocation the command team may cap the number of moves
# (a change of team is a move).

# %%
capped = allocator.allocate(workload, force, current=allocator.sample_path("current.csv"), max_moves=10)
print(capped.solver)
print("moves:", int(capped.moves["officers"].sum()) if len(capped.moves) else 0)

# %% [markdown]
# ## 6. A force of shifts
#
# A force file with `shifts` and no patterns still loads: each shift is worked
# every day (no rest days) and the allocation is per area, shift and role,
# as before. `force_shifts.yaml` is the same force written that way.

# %%
shifts = allocator.load_force(allocator.sample_path("force_shifts.yaml"))
by_shift = allocator.allocate(allocator.compute_workload(demand.records, shifts), shifts,
                              current=allocator.sample_path("current_shifts.csv"))
by_shift.metrics

# %% [markdown]
# ## 7. What if ...
#
# A command team never asks one question. A scenario file
# (`scenarios.yaml` beside the sample force; syntax in `docs/whatif.md`) names
# the base and its variations: abstraction of 40, 50 and 60%, 20 PCs fewer,
# 15% more domestic abuse, two changes of judgement, a rule change. The base
# here is the demand already loaded: its records are reduced to partial sums
# once, and every scenario works on those (no record is read again). The
# scenarios run in parallel; the unvaried base comes first.

# %%
from allocator.whatif import Base

base = Base.from_records(demand.records, force, current=allocator.sample_path("current.csv"))
spec = allocator.load_scenarios(allocator.sample_path("scenarios.yaml"))
results = allocator.run_scenarios(spec, base=base)
results.comparison[["scenario", "status", "min_coverage", "min_coverage_PC", "busiest_bucket",
                    "busiest_utilisation", "moves", "buckets_short"]].round(3)

# %%
fig = results.plot()  # smallest coverage per role, by scenario

# %% [markdown]
# ### Sensitivity to judgement
#
# How far do the PCs' posting and their smallest coverage move when one
# judgement value changes by 20%? Each value is lowered and raised, the
# workload contracted again from the same partial sums and the force
# allocated again; the table is ranked by the change in smallest coverage.

# %%
sens = allocator.sensitivity(base, change=0.2, fields=("minutes", "impact"), roles=["PC"])
sens.top(8).round(3)

# %%
fig = sens.plot(12)  # tornado chart

# %% [markdown]
# ### Robustness to demand
#
# Would this posting hold if the next six months looked different? Resample
# the window's 26 weeks with replacement (seeded, so the numbers repeat) and
# measure the allocation above against each resample: the spread of
# utilisation per area and bucket, and of the smallest coverage per role.

# %%
boot = allocator.bootstrap(base, allocation, resamples=50, seed=7)
boot.summary().round(3)

# %%
boot.busiest(8).round(1)
