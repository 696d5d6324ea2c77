"""Tests of productivecity.siting.places: grouping cells into distinct places, their stability."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from productivecity._errors import CRSError, SchemaError
from productivecity.siting.criteria import CriteriaSpec, Criterion
from productivecity.siting.places import (
    group_places,
    place_ranks,
    place_stability,
    with_stability,
    write_places_csv,
)
from productivecity.siting.scoring import score_sites
from productivecity.siting.sensitivity import monte_carlo_weights

CRS = "EPSG:32631"  # metric (UTM 31N)


def row_of_cells(scores, *, excluded=(), size_m=100.0, ids=None) -> gpd.GeoDataFrame:
    """A row of touching square cells, ``size_m`` wide, with the given scores."""
    n = len(scores)
    ids = ids or [f"c{i:02d}" for i in range(n)]
    excl = [i in excluded for i in range(n)]
    return gpd.GeoDataFrame(
        {"score": [np.nan if e else s for s, e in zip(scores, excl, strict=True)],
         "excluded": excl, "area_ha": size_m**2 / 1e4},
        geometry=[box(500_000 + i * size_m, 5_600_000, 500_000 + (i + 1) * size_m,
                      5_600_000 + size_m) for i in range(n)],
        index=pd.Index(ids, name="site_id"), crs=CRS)


def best_cells_apart(ranked, places, radius_m) -> float:
    cent = ranked.geometry.centroid.loc[places["best_site_id"]].to_numpy()
    d = [shapely.distance(a, b) for a, b in itertools.combinations(cent, 2)]
    return min(d) if d else np.inf


def test_two_clusters_of_high_cells_are_two_places():
    scores = [0.9, 0.85, 0.8, 0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 0.95, 0.9, 0.85]
    cells = row_of_cells(scores)
    pid, places = group_places(cells, radius_m=250)
    assert places.index.tolist()[:2] == ["P01", "P02"]
    assert places.loc["P01", "best_site_id"] == "c09"
    assert places.loc["P02", "best_site_id"] == "c00"
    assert pid.loc[["c07", "c08", "c09", "c10", "c11"]].eq("P01").all()
    assert pid.loc[["c00", "c01", "c02"]].eq("P02").all()
    assert places.loc["P01", "cells_n"] == 5
    assert places.loc["P01", "area_ha"] == pytest.approx(5.0)
    assert places.loc["P01", "score"] == pytest.approx(0.95)
    assert places["rank"].tolist() == list(range(1, len(places) + 1))
    assert pid.notna().all()  # every eligible cell is in a place here
    assert best_cells_apart(cells, places, 250) >= 250
    assert places.crs == cells.crs
    assert places.geometry.area.round(3).tolist() == (places["area_ha"] * 1e4).round(3).tolist()


def test_best_cells_at_least_radius_apart_on_random_grids():
    rng = np.random.default_rng(3)
    for _ in range(5):
        nx, ny, size = 15, 12, 100.0
        geoms = [box(x * size, y * size, (x + 1) * size, (y + 1) * size)
                 for y in range(ny) for x in range(nx)]
        excl = rng.random(nx * ny) < 0.2
        cells = gpd.GeoDataFrame(
            {"score": np.where(excl, np.nan, rng.random(nx * ny).round(2)), "excluded": excl},
            geometry=geoms, index=pd.Index([f"s{i:03d}" for i in range(nx * ny)]), crs=CRS)
        for radius in (150.0, 320.0, 500.0):
            pid, places = group_places(cells, radius_m=radius)
            assert best_cells_apart(cells, places, radius) >= radius - 1e-9
            assert pid[excl].isna().all()
            cent = cells.geometry.centroid
            for p, row in places.iterrows():
                members = pid.index[pid.eq(p).fillna(False)]
                seed = cent.loc[row["best_site_id"]]
                # members within the radius, the best cell is the best member, connected
                assert (cent.loc[members].distance(seed) <= radius + 1e-9).all()
                assert cells.loc[members, "score"].max() == row["score"]
                assert shapely.union_all(cells.geometry.loc[members].buffer(0.5).to_numpy()
                                         ).geom_type == "Polygon"
            # places in rank order have non-increasing scores
            assert places["score"].is_monotonic_decreasing
            placed = pid.notna().sum() + places.attrs["unplaced_n"]
            assert placed == (~excl).sum()


def test_a_gap_breaks_a_place():
    # c02 is excluded: c03 and c04 lie within 500 m of the best cell c00 but across the gap
    cells = row_of_cells([0.9, 0.8, 0.5, 0.3, 0.4], excluded=(2,))
    pid, places = group_places(cells, radius_m=500)
    assert pid.loc[["c00", "c01"]].eq("P01").all()
    assert pid.loc[["c02", "c03", "c04"]].isna().all()  # c02 excluded; c03, c04 cut off
    assert len(places) == 1 and places.attrs["unplaced_n"] == 2
    # with a radius of 350 m, c04 (400 m from c00) seeds a place of its own, c03 joins it
    pid, places = group_places(cells, radius_m=350)
    assert pid.tolist()[:2] == ["P01", "P01"] and pid.loc["c03"] == pid.loc["c04"] == "P02"
    assert places.loc["P02", "best_site_id"] == "c04"
    assert places.attrs["unplaced_n"] == 0
    # but a cut-off cell never joins a place whose best cell scores lower than it
    cells.loc["c03", "score"] = 0.45
    pid, places = group_places(cells, radius_m=350)
    assert pd.isna(pid.loc["c03"]) and pid.loc["c04"] == "P02"
    assert places.attrs["unplaced_n"] == 1


def test_gap_of_a_missing_cell_breaks_a_place():
    cells = row_of_cells([0.9, 0.8, 0.7, 0.6])
    cells = cells.drop(index="c01")  # no cell there at all
    pid, places = group_places(cells, radius_m=150)
    assert pid.loc["c00"] == "P01" and pid.loc["c02"] == "P02"
    assert pid.loc["c03"] == "P02"


def test_ties_are_broken_by_site_id_whatever_the_order():
    ids = ["b", "d", "a", "c", "e"]
    cells = row_of_cells([0.5] * 5, ids=ids)
    pid, places = group_places(cells, radius_m=150)
    # a (3rd cell) takes d and c beside it; then b (1st) and e (5th), 200 m from a
    assert places["best_site_id"].tolist() == ["a", "b", "e"]
    shuffled = cells.iloc[[3, 0, 4, 2, 1]]
    pid2, places2 = group_places(shuffled, radius_m=150)
    pd.testing.assert_series_equal(pid2.reindex(pid.index), pid)
    pd.testing.assert_frame_equal(pd.DataFrame(places2), pd.DataFrame(places))


def test_point_sites_and_land_columns():
    pts = gpd.GeoDataFrame(
        {"score": [0.9, 0.8, 0.7, 0.6], "excluded": False,
         "industrial_share_pct": [100.0, 0.0, 50.0, 10.0],
         "unbuilt_industrial_ha": [1.0, 0.5, np.nan, 0.2],
         "place_name": ["Quay", "Square", "Dock", "Lane"]},
        geometry=[Point(0, 0), Point(200, 0), Point(1000, 0), Point(1200, 0)],
        index=pd.Index(["p1", "p2", "p3", "p4"], name="site_id"), crs=CRS)
    pid, places = group_places(pts, radius_m=500)
    assert pid.tolist() == ["P01", "P01", "P02", "P02"]
    assert places.loc["P01", "industrial_share_pct"] == pytest.approx(50.0)  # plain mean
    assert places.loc["P01", "unbuilt_industrial_ha"] == pytest.approx(1.5)
    assert places.loc["P02", "unbuilt_industrial_ha"] == pytest.approx(0.2)
    assert places["place_name"].tolist() == ["Quay", "Dock"]
    assert places["area_ha"].tolist() == [0.0, 0.0]
    assert places.geometry.geom_type.tolist() == ["MultiPoint", "MultiPoint"]


def test_area_weighted_land_share():
    cells = row_of_cells([0.9, 0.8])
    cells["industrial_share_pct"] = [100.0, 0.0]
    cells.loc["c01", "geometry"] = box(500_100, 5_600_000, 500_400, 5_600_100)  # 3x larger
    _, places = group_places(cells, radius_m=500)
    assert places.loc["P01", "industrial_share_pct"] == pytest.approx(25.0)


def test_status_column_selects_the_scorable_cells():
    cells = row_of_cells([0.9, 0.8, 0.7])
    cells["status"] = ["eligible", "not assessable", "eligible"]
    pid, _ = group_places(cells, radius_m=150)
    assert pid.isna().tolist() == [False, True, False]
    assert pid.loc["c00"] != pid.loc["c02"]  # the unassessed cell is a gap


def test_bad_input():
    cells = row_of_cells([0.9, 0.8])
    with pytest.raises(CRSError, match="projected CRS in metres"):
        group_places(cells.to_crs(4326))
    with pytest.raises(SchemaError, match="radius_m"):
        group_places(cells, radius_m=0)
    with pytest.raises(SchemaError, match="score"):
        group_places(cells.drop(columns="score"))


def test_places_csv(tmp_path):
    cells = row_of_cells([0.9, 0.8, 0.1, 0.1, 0.1, 0.7])
    _, places = group_places(cells, radius_m=150)
    path = write_places_csv(places, tmp_path / "places.csv")
    back = pd.read_csv(path, index_col="place_id")
    assert back.index.tolist() == places.index.tolist()
    assert {"centroid_lon", "centroid_lat", "best_site_id", "cells_n"} <= set(back.columns)


# --------------------------------------------------------------------------- stability


@pytest.fixture(params=["wlc", "owa"])
def scored_row(request):
    rng = np.random.default_rng(7)
    n = 14
    cells = row_of_cells([0.0] * n).drop(columns=["score", "excluded"])
    cells["a_n"] = rng.integers(0, 50, n).astype(float)
    cells["b_pct"] = rng.integers(0, 100, n).astype(float)
    cells["c_min"] = rng.integers(1, 30, n).astype(float)
    cells.loc["c05", "a_n"] = np.nan  # excluded: a gap
    kw = ({"method": "owa", "owa_order_weights": (0.5, 0.3, 0.2)}
          if request.param == "owa" else {})
    spec = CriteriaSpec(criteria=(Criterion("a", "a_n", weight=0.5),
                                  Criterion("b", "b_pct", weight=0.3),
                                  Criterion("c", "c_min", direction="cost", weight=0.2)), **kw)
    result = score_sites(cells, spec)
    ranked = cells.copy()
    for col in result.table.columns:
        ranked[col] = result.table[col]
    return ranked, result


def test_place_stability_matches_a_loop_over_runs(scored_row):
    ranked, result = scored_row
    mc = monte_carlo_weights(result, runs=60, spread=0.3, seed=1, top_k=2)
    pid, places = group_places(ranked, radius_m=250)
    stab = place_stability(result, mc.weights, pid, top_k=2)
    assert stab.index.tolist() == sorted(places.index)
    assert stab["topk_share"].between(0, 1).all()
    # brute force: rescore each run, place score = max over its cells, rank the places
    std = result.standardised
    members = {p: pid.index[pid.eq(p).fillna(False)] for p in places.index}
    ranks = {p: [] for p in places.index}
    for _, w in mc.weights.iterrows():
        if result.spec.method == "wlc":
            score = std @ w[std.columns]
        else:
            from productivecity.siting.scoring import _score_matrix

            _, s = _score_matrix(std.to_numpy(), w[std.columns].to_numpy(float), result.spec)
            score = pd.Series(s, index=std.index)
        best = pd.Series({p: score.loc[m].max() for p, m in members.items()})
        for p in places.index:
            ranks[p].append(1 + int((best > best[p]).sum()))
    for p in places.index:
        r = np.array(ranks[p])
        assert stab.loc[p, "topk_share"] == pytest.approx((r <= 2).mean())
        assert stab.loc[p, "rank_p50"] == np.quantile(r, 0.5, method="nearest")
        assert stab.loc[p, "rank_p05"] == np.quantile(r, 0.05, method="nearest")
        assert stab.loc[p, "rank_p95"] == np.quantile(r, 0.95, method="nearest")
    out = with_stability(places, stab)
    assert list(out.columns[:6]) == ["rank", "score", "topk_share", "rank_p05", "rank_p50",
                                     "rank_p95"]


def test_place_stability_chunks_runs(scored_row, monkeypatch):
    ranked, result = scored_row
    mc = monte_carlo_weights(result, runs=30, spread=0.3, seed=2, top_k=3)
    pid, _ = group_places(ranked, radius_m=250)
    whole = place_stability(result, mc.weights, pid, top_k=3)
    import productivecity.siting.places as mod

    monkeypatch.setattr(mod, "_CHUNK_SCORES", 2 * len(result.standardised))  # 2 runs a chunk
    again = place_stability(result, mc.weights, pid, top_k=3)
    pd.testing.assert_frame_equal(whole, again)
    with pytest.raises(SchemaError, match="top_k"):
        place_stability(result, mc.weights, pid, top_k=0)


def test_report_lists_the_top_places(tmp_path):
    from productivecity.outputs.report import write_report

    cells = row_of_cells([0.9, 0.85, 0.8, 0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 0.95, 0.9, 0.85])
    cells["rank"] = cells["score"].rank(method="min", ascending=False).astype("Int64")
    cells["contrib_a"] = cells["score"]
    cells["excluded_reason"] = ""
    cells["place_name"] = [f"Street {i}" for i in range(len(cells))]
    _, places = group_places(cells, radius_m=250)
    places["topk_share"] = 0.5
    html = write_report(cells, tmp_path / "r.html", places=places, top_k=2).read_text("utf-8")
    top = html[html.index("Top places"):]
    assert "Street 9" in top and "Street 0" in top  # the two places' best cells
    assert "Street 10" not in top  # second best cell, in the first place
    plain = write_report(cells, tmp_path / "c.html", top_k=2).read_text("utf-8")
    assert "Top sites" in plain and "Street 10" in plain


def test_maps_and_webmap_mark_the_top_places_not_the_top_cells():
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from productivecity.outputs import maps, webmap

    cells = row_of_cells([0.9, 0.85, 0.8, 0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 0.95, 0.9, 0.85])
    cells["rank"] = cells["score"].rank(method="min", ascending=False).astype("Int64")
    cells["place_name"] = [f"Street {i}" for i in range(len(cells))]
    pid, places = group_places(cells, radius_m=250)
    ranked = cells.join(place_ranks(pid, places))
    assert ranked["place_best"].sum() == len(places)
    assert ranked.loc[places["best_site_id"], "place_rank"].tolist() == places["rank"].tolist()
    # the top 2 marks are the two places' best cells (c09 and c00), not cells c09 and c10
    top = maps._top_sites(ranked, 2)
    assert top["site_id"].tolist() == ["c09", "c00"] and top["_rank"].tolist() == [1, 2]
    extents = maps._top_extents(ranked, 2)
    assert extents.area.round(1).tolist() == [5e4, 3e4]  # P01: 5 cells, P02: 3 cells
    fig, _ = maps.plot_overview(ranked, {}, top_k=2)
    labels = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "Top 2 places" in labels and "Street 9" in labels and "Street 0" in labels
    plt.close(fig)
    html = webmap.web_map_html(webmap.web_map(ranked, {}, top_k=2))
    assert "1 · Street 9" in html and "2 · Street 0" in html
    assert "· Street 10" not in html  # the second cell of place 1 is not marked
    # without places: the cells of rank <= 2 (c00 and c10 tie at 2)
    assert maps._top_sites(cells, 2)["site_id"].tolist() == ["c09", "c00", "c10"]
