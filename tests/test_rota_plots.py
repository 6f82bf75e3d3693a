"""The utilisation heatmap's cells: one image per panel, labelled where there is a value, the same bytes every run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from matplotlib import colormaps
from matplotlib.colors import Normalize

from allocator.present.plots import figure_png
from allocator.present.rota_plots import UTILISATION_MAX, _labelled_cells, plot_utilisation


def test_each_cell_has_its_colour_and_a_label_only_where_it_has_a_value() -> None:
    cmap = colormaps["YlOrRd"].with_extremes(bad="#d9d9d9")
    norm = Normalize(0.0, UTILISATION_MAX)
    grid = np.array([[10.0, np.nan], [110.0, 55.0]])
    image = _labelled_cells(grid, cmap, norm, wide=80, high=40)
    assert image.shape == (40, 80, 4) and image.dtype == np.uint8
    cells = {(i, j): image[20 * i:20 * (i + 1), 40 * j:40 * (j + 1), :3].reshape(-1, 3) for i in (0, 1) for j in (0, 1)}
    grey = np.array([0xD9, 0xD9, 0xD9])
    assert (cells[0, 1] == grey).all()  # nobody on duty: grey, no label
    pale = np.round(np.array(cmap(norm(10.0))[:3]) * 255)
    light = cells[0, 0]
    assert (light == pale).all(axis=1).mean() > 0.8  # mostly the cell's colour ...
    assert (light.sum(axis=1) < pale.sum() - 150).any()  # ... with dark ink for its label
    dark = cells[1, 0]
    assert (dark.sum(axis=1) > np.round(np.array(cmap(norm(110.0))[:3]) * 255).sum() + 150).any()  # white ink


def test_the_heatmap_is_the_same_bytes_every_time_and_shows_a_change() -> None:
    buckets = pd.DataFrame({"area": ["North", "North", "South", "South"] * 2, "role": ["PC"] * 4 + ["PCSO"] * 4,
                            "bucket": ["Mon Early", "Mon Night"] * 4,
                            "utilisation": [40.0, 75.0, 30.0, np.nan, 20.0, 25.0, 35.0, 45.0]})
    png = figure_png(plot_utilisation(buckets))
    assert png == figure_png(plot_utilisation(buckets))
    changed = buckets.assign(utilisation=buckets["utilisation"].where(buckets.index != 0, 41.0))
    assert figure_png(plot_utilisation(changed)) != png


def test_before_and_after_on_one_figure_are_the_bytes_of_two() -> None:
    from allocator.present.rota_plots import utilisation_pngs

    after = pd.DataFrame({"area": ["North", "North", "South", "South"], "role": "PC",
                          "bucket": ["Mon Early", "Mon Night"] * 2, "utilisation": [40.0, 75.0, 30.0, np.nan]})
    before = after.assign(utilisation=[90.0, 20.0, np.nan, 10.0])
    other = after[after["area"] == "North"]  # another layout: drawn on its own figure
    got = utilisation_pngs([(after, "after"), (before, "before"), (other, "north")])
    want = [figure_png(plot_utilisation(t, title=s)) for t, s in ((after, "after"), (before, "before"),
                                                                  (other, "north"))]
    assert got == want and len(set(got)) == 3
