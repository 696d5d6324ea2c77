"""The atlas pages beyond the maps (cover, site cards, new hubs) and the page rules."""

from __future__ import annotations

import re

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.collections import PatchCollection
from matplotlib.text import Text

from productivecity._errors import ConfigError, ParameterError, SchemaError
from productivecity.outputs import atlas, maps
from productivecity.siting.criteria import CriteriaSpec, Criterion
from productivecity.sources.basemap import empty_basemap
from productivecity.workflow.config import build_config

CRS = "EPSG:3035"  # a metric CRS of no particular region
X0, Y0 = 4_000_000.0, 3_000_000.0
CELL = 250.0


def texts(fig) -> str:
    """All text drawn on a figure, joined by newlines."""
    return "\n".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


@pytest.fixture(scope="module")
def spec():
    return CriteriaSpec(criteria=(
        Criterion(name="jobs", column="jobs_n", weight=0.6, description="Job seekers nearby"),
        Criterion(name="walk", column="walk_time_min", direction="cost", weight=0.4,
                  description="Walk to the tram"),
    ))


@pytest.fixture(scope="module")
def ranked():
    """6 x 4 square sites; two places of four cells each; one outlier walk time."""
    rows = []
    for i in range(6):
        for j in range(4):
            rows.append({"site_id": f"s{i}{j}",
                         "geometry": shapely.box(X0 + i * CELL, Y0 + j * CELL,
                                                 X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL)})
    gdf = gpd.GeoDataFrame(rows, crs=CRS).set_index("site_id")
    n = len(gdf)
    rng = np.random.default_rng(3)
    gdf["jobs_n"] = np.arange(n, dtype=float) * 10
    gdf["walk_time_min"] = np.linspace(2.0, 14.0, n)[::-1]
    gdf.loc["s00", "walk_time_min"] = 60.0  # an outlier
    gdf["contrib_jobs"] = 0.6 * gdf["jobs_n"] / gdf["jobs_n"].max()
    gdf["contrib_walk"] = rng.uniform(0, 0.4, n)
    gdf["score"] = gdf["contrib_jobs"] + gdf["contrib_walk"]
    gdf["rank"] = gdf["score"].rank(ascending=False, method="first").astype(int)
    gdf["excluded"] = False
    gdf["status"] = "eligible"
    gdf["place_id"] = pd.array([pd.NA] * n, dtype="string")
    gdf.loc[["s50", "s51", "s40", "s41"], "place_id"] = "P01"
    gdf.loc[["s52", "s53", "s42", "s43"], "place_id"] = "P02"
    gdf["place_rank"] = gdf["place_id"].map({"P01": 1.0, "P02": 2.0}).astype(float)
    gdf["place_best"] = False
    gdf.loc[["s51", "s53"], "place_best"] = True
    gdf["street_name"] = [f"Quay Street {k}" for k in range(n)]
    gdf["neighbourhood_name"] = "Harbour"
    gdf["municipality_name"] = "Testtown"
    long = ("An extraordinarily long place name that goes on and on along the whole "
            "of the harbour quay and beyond the old lock, Harbour")
    gdf["place_name"] = gdf["place_id"].map({"P01": "Quay Street 21, Harbour", "P02": long})
    return gdf[[c for c in gdf.columns if c != "geometry"] + ["geometry"]]


@pytest.fixture(scope="module")
def places(ranked):
    out = []
    for pid, best, rank in (("P01", "s51", 1), ("P02", "s53", 2)):
        cells = ranked[ranked["place_id"] == pid]
        out.append({"place_id": pid, "rank": rank, "score": ranked.at[best, "score"],
                    "topk_share": 0.83 if rank == 1 else 0.4, "rank_p05": rank,
                    "rank_p50": rank, "rank_p95": rank + 3, "best_site_id": best,
                    "area_ha": 25.0, "place_name": ranked.at[best, "place_name"],
                    "geometry": shapely.union_all(cells.geometry.to_numpy())})
    return gpd.GeoDataFrame(out, crs=CRS).set_index("place_id")


@pytest.fixture(scope="module")
def layers():
    area = gpd.GeoDataFrame({"name": ["Testtown"]},
                            geometry=[shapely.box(X0, Y0, X0 + 6 * CELL, Y0 + 4 * CELL)],
                            crs=CRS)
    hubs = gpd.GeoDataFrame({"name": ["Old hub"]}, geometry=[shapely.Point(X0 + 100, Y0 + 100)],
                            index=pd.Index(["h1"], name="hub_id"), crs=CRS)
    return {"study_area": area, "hubs": hubs}


@pytest.fixture(scope="module")
def allocation(ranked):
    new = ranked.loc[["s51", "s13"], ["rank", "score", "geometry"]].copy()
    new["first_chosen_k"] = pd.array([1, 2], dtype="Int64")
    curve = pd.DataFrame({"k": [0, 1, 2], "covered_demand_n": [100.0, 400.0, 460.0],
                          "covered_share_pct": [20.0, 80.0, 92.0],
                          "marginal_gain_n": [np.nan, 300.0, 60.0],
                          "selected": ["", "s51", "s51;s13"]})
    units = gpd.GeoDataFrame(
        {"jobseekers_low_edu_n": [100.0, 300.0, 60.0, 40.0],
         "facility_id": pd.array(["h1", "s51", "s13", pd.NA], dtype="string")},
        geometry=[shapely.Point(X0 + 50, Y0 + 300), shapely.Point(X0 + 1300, Y0 + 500),
                  shapely.Point(X0 + 400, Y0 + 900), shapely.Point(X0 + 1450, Y0 + 950)],
        crs=CRS)
    return {"curve": curve, "new_hubs": new, "demand_units": units}


def test_cover_lists_question_criteria_weights_demand_sources_coverage(layers, spec):
    coverage = pd.DataFrame({"unit": ["Testtown"], "sites_n": [24], "eligible_n": [20],
                             "excluded_n": [3], "not_assessable_n": [1]})
    fig = atlas.plot_cover(layers, spec=spec, title="Where do new hubs go?",
                           demand={"definition": "job seekers with low education",
                                   "total_n": 3441.0},
                           coverage=coverage, sources=["osm"], contents=["Overview"])
    text = texts(fig)
    for expected in ("Where do new hubs go?", "Job seekers nearby", "Walk to the tram", "60 %",
                     "40 %", "lower", "job seekers with low education", "3\u2009441",
                     "OpenStreetMap", "Testtown", "20", "2. Overview"):
        assert expected in text, expected


def test_site_card_names_the_place_and_why(ranked, places, layers, spec):
    fig = atlas.plot_site_card(ranked, layers, "P01", places=places, spec=spec, top_k=5)
    text = texts(fig)
    assert "Place 1: Quay Street 21, Harbour" in text
    assert "Quay Street 21, Harbour, Testtown" in text  # the best cell's address
    assert "Why this place" in text and "Job seekers nearby" in text
    # the bar of the best cell's contribution is drawn with its value
    assert f"{ranked.at['s51', 'contrib_jobs']:.2f}" in text
    assert "Median (eligible)" in text
    assert "In the top 5 in 83 %" in text and "1–4" in text
    assert "no streets" not in text.lower()  # no base map given: no claim about streets


def test_site_card_without_streets_says_so_and_wraps_long_names(ranked, places, layers, spec):
    fig = atlas.plot_site_card(ranked, layers, places.loc["P02"], spec=spec,
                               basemap=empty_basemap(CRS, "no OSM file"))
    text = texts(fig)
    assert "no streets around this place" in text
    # the long name is wrapped above the map, never drawn over it
    title = next(t for t in fig.findobj(Text) if t.get_text().startswith("Place 2:"))
    assert "\n" in title.get_text()
    map_ax = fig.axes[0]
    assert title.get_window_extent().y0 > map_ax.get_window_extent().y1


def test_new_hubs_page_draws_the_curve_and_the_gains(ranked, layers, allocation):
    fig = atlas.plot_new_hubs(allocation, layers, ranked=ranked)
    text = texts(fig)
    assert "Demand covered against the number of new hubs" in text
    assert "Existing hubs only" in text and "+300" in text and "+60" in text
    assert "Quay Street 21" in text  # s51, the hub added at k = 1, by its street
    curve = [line for ax in fig.axes for line in ax.get_lines()
             if list(line.get_xdata()) == [0.0, 1.0, 2.0]]
    assert curve and list(curve[0].get_ydata()) == [20.0, 80.0, 92.0]


def _cell_colour(fig, sites: gpd.GeoDataFrame, site_id: str) -> np.ndarray:
    """Fill colour of one site on an indicator map (all sites have a value)."""
    colls = [c for c in fig.axes[0].collections
             if isinstance(c, PatchCollection) and len(c.get_facecolor()) == len(sites)]
    assert colls
    return colls[-1].get_facecolor()[list(sites.index).index(site_id)][:3]


@pytest.mark.parametrize(("column", "direction", "best"),
                         [("jobs_n", "benefit", "s53"), ("walk_time_min", "cost", "s53")])
def test_one_colour_rule_bright_means_better(ranked, layers, column, direction, best):
    bright = np.array(mpl.colormaps["cividis"](1.0)[:3])
    dark = np.array(mpl.colormaps["cividis"](0.0)[:3])
    values = ranked[column]
    assert best == (values.idxmin() if direction == "cost" else values.idxmax())
    fig, _ = maps.plot_indicator(ranked, column, layers, direction=direction, top_k=0)
    assert np.allclose(_cell_colour(fig, ranked, best), bright, atol=0.02)
    worst = values.idxmax() if direction == "cost" else values.idxmin()
    assert np.allclose(_cell_colour(fig, ranked, worst), dark, atol=0.02)
    assert "better →" in texts(fig)
    # without a direction, no claim about "better"
    fig, _ = maps.plot_indicator(ranked, column, layers, top_k=0)
    assert "better" not in texts(fig)


def test_colour_range_is_robust_to_an_outlier(ranked):
    norm = maps._norm_for(ranked["walk_time_min"])  # one 60 min among 2-14 min
    assert norm.vmax < 20 and norm.extend == "max"
    even = maps._norm_for(pd.Series(np.linspace(0, 1, 50)))
    assert (even.vmin, even.vmax, even.extend) == (0.0, 1.0, "neither")


def test_atlas_pages_in_order_and_numbered(ranked, places, layers, spec, allocation):
    figs = maps.atlas_figures(ranked, layers, indicators=["jobs_n", "walk_time_min"],
                              places=places, allocation=allocation, spec=spec, top_k=2,
                              cover={"title": "Where?"})
    assert list(figs) == ["cover", "overview", "place_P01", "place_P02", "new_hubs",
                          "indicator_jobs_n", "indicator_walk_time_min"]
    for i, fig in enumerate(figs.values(), start=1):
        assert re.search(rf"\bPage {i} / 7\b", texts(fig)), i


def test_paper_sizes_a0_accepted_unknown_refused_with_the_list():
    sheet = maps._Sheet(None, "A0")
    a3 = maps._Sheet(None, "A3")
    assert sheet.fig.get_size_inches()[0] == pytest.approx(1189 / 25.4, abs=0.01)
    # larger paper: type grows less than the paper, lists get longer
    assert a3.scale < sheet.scale < 1189 / 420
    assert sheet.list_rows > a3.list_rows and sheet.label_chars > a3.label_chars
    with pytest.raises(ParameterError, match=r"'B5'.*A4.*A3.*A1.*A0"):
        maps._Sheet(None, "B5")
    assert build_config(overrides=[("outputs", "paper", "A0")])["outputs"]["paper"] == "A0"
    with pytest.raises(ConfigError, match=r"A3 \| A4 \| A1 \| A0"):
        build_config(overrides=[("outputs", "paper", "B5")])


def test_new_hubs_page_draws_unknown_demand_as_unknown_not_small(ranked, layers, allocation):
    """A unit without job-seeker data is a hollow ring named in the legend, not a tiny dot."""
    units = allocation["demand_units"].copy()
    units["no_data"] = [False, False, False, True]
    units.loc[units.index[3], "jobseekers_low_edu_n"] = 0.0  # as the demand units carry it
    fig = atlas.plot_new_hubs({**allocation, "demand_units": units}, layers, ranked=ranked)
    text = texts(fig)
    assert "Demand unknown (no job-seeker data)" in text
    assert "1 of the 4 demand units" in text.replace("\n", " ")
    rings = [c for c in fig.axes[0].collections if c.get_gid() == "demand_unknown"]
    assert len(rings) == 1 and len(rings[0].get_offsets()) == 1
    x, y = rings[0].get_offsets()[0]
    assert (x, y) == (X0 + 1450, Y0 + 950)
    # the known units only are drawn as demand (one dot each)
    dots = [c for c in fig.axes[0].collections
            if c.get_gid() is None and len(c.get_offsets()) == 3]
    assert dots
    plain = texts(atlas.plot_new_hubs(allocation, layers, ranked=ranked))
    assert "Demand unknown" not in plain and "demand units lie" not in plain


def test_tiers_page_shows_each_tiers_hubs_and_reach(ranked, layers, allocation):
    tiers = pd.DataFrame({"tier": ["neighbourhood", "city-wide"], "mode": ["walk", "transit"],
                          "k": [2, 1], "limit_min": [15.0, 30.0], "existing_open_n": [1, 1],
                          "total_demand_n": [500.0, 500.0],
                          "baseline_covered_demand_n": [100.0, 400.0],
                          "covered_demand_n": [460.0, 480.0]})
    hubs = ranked.loc[["s51", "s13", "s53"], ["rank", "score", "geometry"]].copy()
    hubs["tier"] = ["neighbourhood", "neighbourhood", "city-wide"]
    fig = atlas.plot_tiers({**allocation, "tiers": tiers, "tier_hubs": hubs}, layers,
                           ranked=ranked)
    text = texts(fig)
    assert "Two tiers: neighbourhood and city-wide hubs" in text
    assert "15 min on foot" in text and "30 min by public transport" in text
    assert "20 %" in text and "92 %" in text and "96 %" in text  # before and after, per tier
    assert "Quay Street 21" in text  # s51 by its street
    drawn = {c.get_gid(): len(c.get_offsets()) for c in fig.axes[0].collections
             if (c.get_gid() or "").startswith("tier_")}
    assert drawn == {"tier_0": 2, "tier_1": 1}
    with pytest.raises(SchemaError, match="tiers"):
        atlas.plot_tiers(allocation, layers)
    from productivecity.outputs import report

    assert "each tier" in report.figure_caption("tiers", "en")


def _colour_bar_page(vmin, vmax, extend, better, *, matplotlibs: bool, monkeypatch):
    """A page with only a panel colour bar: its pixels (Agg, 150 dpi) and the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    cmap = mpl.colormaps["cividis"]
    cmap = cmap.reversed() if better == "low" else cmap.copy()
    if better is not None:
        cmap.better_end, cmap.better_label = better, "better"
    norm = maps._RobustNorm(vmin, vmax)
    norm.extend = extend
    with monkeypatch.context() as m:
        if matplotlibs:
            m.setattr(maps, "_panel_colorbar", lambda *a, **k: False)
        with maps._rc():
            sheet = maps._Sheet(None, "A4")
            maps._draw_colorbar(sheet, cmap, norm, "Walk time (min)", y=0.6)
            canvas = FigureCanvasAgg(sheet.fig)
            sheet.fig.set_dpi(150)
            canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int), sheet.fig


@pytest.mark.parametrize(("vmin", "vmax", "extend", "better"), [
    (230.0, 1750.0, "max", "high"), (0.4, 28.0, "min", "low"), (0.0, 1.0, "neither", None),
    (-3.2, 41.0, "both", "low"), (0.012, 0.094, "neither", "high"), (2e5, 9.5e5, "max", "high"),
])
def test_panel_colour_bar_looks_as_matplotlibs_colour_bar(vmin, vmax, extend, better,
                                                          monkeypatch):
    ours, fig = _colour_bar_page(vmin, vmax, extend, better, matplotlibs=False,
                                 monkeypatch=monkeypatch)
    theirs, ref = _colour_bar_page(vmin, vmax, extend, better, matplotlibs=True,
                                   monkeypatch=monkeypatch)
    assert not fig.axes[1].child_axes  # no colour-bar axes of its own
    # the tick labels matplotlib shows, at the same places
    (cax,) = ref.axes[1].child_axes
    lo, hi = sorted(cax.get_xlim())
    shown = [t.get_text() for t in cax.get_xticklabels()
             if lo - 1e-9 * (hi - lo) <= t.get_position()[0] <= hi + 1e-9 * (hi - lo)]
    assert len(shown) >= 2
    assert shown == [t.get_text() for t in fig.axes[1].texts][:len(shown)]
    # the same picture, but for anti-aliasing at the edges of the ticks and cells
    differ = np.abs(ours - theirs).max(axis=2) > 60
    assert differ.sum() <= 12, np.argwhere(differ)[:5]
    assert np.abs(ours - theirs).max(axis=2).mean() < 0.05


def test_panel_colour_bar_leaves_an_offset_scale_to_matplotlib(monkeypatch):
    _, fig = _colour_bar_page(1000.1, 1000.5, "neither", "high", matplotlibs=False,
                              monkeypatch=monkeypatch)
    (cax,) = fig.axes[1].child_axes
    assert cax.xaxis.get_offset_text().get_text()


def _why_bars_page(labels, full, values, *, own: bool):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with maps._rc():
        sheet = maps._Sheet(None, "A3")
        pos = sheet.panel.get_position()
        h = 0.034 * len(labels) * pos.height
        atlas._why_bars(sheet, (pos.x0 + pos.width * 0.47, pos.y1 - 0.035 - h,
                                pos.width * 0.45, h), labels, full, values, own=own)
        canvas = FigureCanvasAgg(sheet.fig)
        sheet.fig.set_dpi(150)
        canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int), sheet.fig


@pytest.mark.parametrize(("full", "values"), [
    ([0.3, 0.2, 0.2, 0.15, 0.15], [0.28, 0.15, 0.1, 0.05, 0.0]),
    ([0.5, 0.5], [0.02, 0.41]),
    ([0.0, 0.0, 0.0], [0.7, 0.0, 0.33]),
    ([40.0, 25.0, 35.0], [12.5, 25.0, 3.0]),
])
def test_why_bars_look_as_matplotlibs_bar_chart(full, values):
    labels = [f"Criterion {i} of the place" for i in range(len(full))]
    ours, fig = _why_bars_page(labels, full, values, own=True)
    theirs, ref = _why_bars_page(labels, full, values, own=False)
    assert len(fig.axes) == 2 and len(ref.axes) == 3  # no axes of their own
    assert {t.get_text() for t in fig.axes[1].texts} >= set(labels)
    assert (np.abs(ours - theirs).max(axis=2) > 60).sum() <= 12


def test_why_bars_with_an_offset_scale_are_matplotlibs():
    _, fig = _why_bars_page(["a", "b"], [2e7, 1e7], [1.5e7, 0.5e7], own=True)
    assert len(fig.axes) == 3


@pytest.mark.parametrize("style", [{"xtick.direction": "in"}, {"axes.facecolor": "#eeeeee"},
                                   {"_internal.classic_mode": True}, {"axes.grid": True}])
def test_hand_drawn_axes_leave_a_users_style_to_matplotlib(style, monkeypatch):
    assert maps.default_ticks(0.0, 1.0, length_pt=200, label_pt=6) is not None
    with mpl.rc_context(style):
        assert maps.default_ticks(0.0, 1.0, length_pt=200, label_pt=6) is None
        _, fig = _why_bars_page(["a", "b"], [0.5, 0.5], [0.2, 0.4], own=True)
        assert len(fig.axes) == 3  # matplotlib's bar chart, in the style
