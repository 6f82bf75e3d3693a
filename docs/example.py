# %% [markdown]
# # A monthly reallocation on the sample force
#
# This notebook walks the whole method on the bundled sample force:
# **demand data + professional judgement = resource algorithm -> allocation**.
# It is generated from `docs/example.py` (run `python scripts/build_notebook.py`)
# and executed by the test suite, so every cell here runs.

# %%
import allocator

force = allocator.load_force(allocator.sample_path("force.yaml"))
print(force.name, "-", len(force.areas), "areas,", len(force.shifts), "shifts,",
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
# Judged hours per area, shift and role. `explain` breaks a cell down by
# demand type.

# %%
workload = allocator.compute_workload(demand.records, force)
workload.by_shift.pivot_table(index="area", columns="role", values="hours",
                              aggfunc="sum", observed=True).round(0)

# %%
workload.explain("Swindon North", "Night", "PC").head(8)

# %% [markdown]
# ## 3. The allocation
#
# Whole-number posts that share each role's establishment so that the
# worst-covered cell is as well covered as it can be, keep minimum staffing,
# and move as few officers as needed from the current posting.

# %%
import pandas as pd

current = pd.read_csv(allocator.sample_path("current.csv"))
allocation = allocator.allocate(workload, force, current=current)
print(allocation.solver)
allocation.table.head(10)

# %%
allocation.metrics

# %% [markdown]
# ## 4. Why is it so?

# %%
print(allocation.explain("Swindon North", "Night", "PC"))

# %% [markdown]
# ## 5. What would change it: a tighter move limit
#
# At a monthly reallocation the command team may cap the number of moves.

# %%
capped = allocator.allocate(workload, force, current=current, max_moves=10)
print(capped.solver)
print("moves:", int(capped.moves["officers"].sum()) if len(capped.moves) else 0)

# %% [markdown]
# ## 6. On duty patterns: teams on a rota, judged bucket by bucket
#
# `force_rota.yaml` puts PCs on a five-team 2-2-2 rota, PCSOs on earlies and
# lates and LCIs on weekday days. The allocation is then per area, role,
# pattern and team, and coverage is judged per bucket of the week
# (`Sat Night`), rest days and abstraction taken out. Its display shows the
# posts per area with each rota's team sizes and the utilisation per role:
# committed time, recorded demand hours over on-duty officer-hours (CPSM's
# benchmark is at most 60% on average).

# %%
rota_force = allocator.load_force(allocator.sample_path("force_rota.yaml"))
rota_workload = allocator.compute_workload(
    allocator.load_demand(allocator.sample_path("demand.csv"), rota_force).records, rota_force)
on_rotas = allocator.allocate(rota_workload, rota_force, current=allocator.sample_path("current_rota.csv"))
on_rotas

# %%
print(on_rotas.explain("Swindon North", "PC", "Sat Night"))
on_rotas.rota

# %%
fig = on_rotas.plot()  # utilisation heatmaps, area x (weekday, window), per role
