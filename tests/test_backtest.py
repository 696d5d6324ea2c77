"""Back-test: the existing hubs' own sites, their rank and percentile (small fixtures)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from productivecity._errors import ParameterError, SchemaError
from productivecity.outputs.report import write_report
from productivecity.siting import backtest_hubs, backtest_summary


def _grid(kind: str = "grid") -> gpd.GeoDataFrame:
    """Five 100 m cells in a row; ``e`` excluded; scores fall from ``a`` to ``d``."""
    return gpd.GeoDataFrame(
        {"kind": kind,
         "score": [0.9, 0.7, 0.7, 0.1, np.nan],
         "rank": [1.0, 2.0, 2.0, 4.0, np.nan],
         "excluded": [False, False, False, False, True],
         "excluded_reason": ["", "", "", "", "industrial_share_pct 2 < min 5"],
         "place_name": ["Quay A", "Street B", "Street C", "Square D", "Park E"]},
        geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(5)],
        index=pd.Index(list("abcde"), name="site_id"), crs=31370)


def _hubs(points) -> gpd.GeoDataFrame:
    ids = [f"h{i}" for i in range(len(points))]
    return gpd.GeoDataFrame({"name": [f"Hub {i}" for i in range(len(points))],
                             "type": "fablab"},
                            geometry=[Point(p) for p in points],
                            index=pd.Index(ids, name="hub_id"), crs=31370)


def test_top_excluded_and_outside_hubs():
    # h0 in the best cell, h1 in the excluded cell, h2 beyond every cell, h3 in a tied cell
    hubs = _hubs([(50, 50), (450, 50), (900, 50), (250, 50)])
    t = backtest_hubs(_grid(), hubs)
    assert t.index.tolist() == ["h0", "h3", "h1", "h2"]  # eligible by rank, excluded, no site
    top = t.loc["h0"]
    assert (top["site_id"], top["site_name"], top["status"], top["match"]) == \
        ("a", "Quay A", "eligible", "within")
    assert top["rank"] == 1 and top["percentile_pct"] == 100.0 and top["distance_m"] == 0
    assert top["excluded_reason"] == ""
    # tied second of four eligible sites: three of four rank at or below it
    assert t.loc["h3", "percentile_pct"] == pytest.approx(75.0)
    exc = t.loc["h1"]
    assert exc["site_id"] == "e" and exc["status"] == "excluded"
    assert exc["excluded_reason"] == "industrial_share_pct 2 < min 5"
    assert np.isnan(exc["percentile_pct"]) and np.isnan(exc["rank"])
    none = t.loc["h2"]
    assert none["status"] == "no site" and none["match"] == "none" and pd.isna(none["site_id"])
    assert np.isnan(none["score"]) and none["distance_m"] == pytest.approx(400.0)

    summary = backtest_summary(t, _grid())
    assert (summary["eligible_n"], summary["hubs_n"], summary["eligible_hubs_n"],
            summary["excluded_hubs_n"], summary["no_site_hubs_n"]) == (4, 4, 2, 1, 1)
    assert summary["median_percentile_pct"] == pytest.approx(87.5)
    assert summary["hubs"][0]["hub_id"] == "h0"
    assert summary["hubs"][-1]["site_id"] is None  # JSON-ready: no NaN


def test_grid_takes_no_nearest_but_zones_do():
    hubs = _hubs([(550, 50), (700, 50)])  # 50 m and 200 m east of the last cell
    grid = backtest_hubs(_grid("grid"), hubs)
    assert grid["status"].eq("no site").all()
    assert grid["distance_m"].tolist() == pytest.approx([50.0, 200.0])  # to the nearest site
    zones = backtest_hubs(_grid("zone"), hubs, max_distance_m=100.0)
    assert zones.loc["h0", "site_id"] == "e" and zones.loc["h0", "match"] == "nearest"
    assert zones.loc["h0", "distance_m"] == pytest.approx(50.0)
    assert zones.loc["h1", "status"] == "no site"


def test_edge_hub_reprojected_and_bad_input():
    # on the edge between a and b: the smaller site id, whatever the scores
    hubs = _hubs([(100, 50)]).to_crs(4326)
    t = backtest_hubs(_grid(), hubs)
    assert t.loc["h0", "site_id"] == "a"
    with pytest.raises(SchemaError, match="rank"):
        backtest_hubs(_grid().drop(columns=["rank"]), hubs)
    with pytest.raises(ParameterError, match="max_distance_m"):
        backtest_hubs(_grid(), hubs, max_distance_m=-1)


@pytest.mark.parametrize("lang, heading", [("en", "Back-test"), ("nl", "Terugtoets"),
                                           ("fr", "Test rétrospectif")])
def test_report_section(tmp_path, lang, heading):
    sites = _grid()
    t = backtest_hubs(sites, _hubs([(50, 50), (450, 50), (900, 50)]))
    path = write_report(sites, tmp_path / "r.html", lang=lang, backtest=t.reset_index())
    text = path.read_text(encoding="utf-8")
    assert heading in text and "Hub 0" in text and "Quay A" in text
    assert "industrial_share_pct 2 &lt; min 5" in text
    assert "400" in text.split("Hub 2")[1]  # the nearest site of a hub with no site
    none = write_report(sites, tmp_path / "n.html", lang=lang).read_text(encoding="utf-8")
    assert heading not in none
