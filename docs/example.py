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
