"""A shortlist a planner can defend: sites named by where they are, exclusions counted once."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from productivecity.indicators.names import site_names


def _layers():
    munis = gpd.GeoDataFrame({"name": ["West", "East"]},
                             geometry=[shapely.box(0, 0, 1000, 1000),
                                       shapely.box(1000, 0, 2000, 1000)],
                             index=pd.Index(["1", "2"], name="nis5"), crs=32631)
    hoods = gpd.GeoDataFrame({"name": ["Harbour (West)"]}, geometry=[shapely.box(0, 0, 500, 1000)],
                             index=pd.Index(["1a"], name="code"), crs=32631)
    return {"units_municipalities": munis, "units_neighbourhoods": hoods}


def test_each_site_is_named_by_where_it_is():
    sites = gpd.GeoDataFrame(geometry=[shapely.box(100, 100, 200, 200),   # harbour, by a street
                                       shapely.box(1500, 500, 1600, 600),  # east, no street near
                                       shapely.box(5000, 5000, 5100, 5100)],  # outside all units
                             index=pd.Index(["a", "b", "c"], name="site_id"), crs=32631)
    streets = gpd.GeoDataFrame({"name": ["Quay Street", "Far Road"]},
                               geometry=[shapely.LineString([(0, 250), (600, 250)]),
                                         shapely.LineString([(1500, 3000), (1600, 3000)])],
                               crs=32631)
    names = site_names(sites, _layers(), streets=streets)
    assert names.loc["a", "street_name"] == "Quay Street"  # 50 m away
    assert names.loc["a", "place_name"] == "Quay Street, Harbour (West)"  # West said already
    assert pd.isna(names.loc["b", "street_name"])  # Far Road is 2.4 km away: not its name
    assert names.loc["b", "place_name"] == "East"
    assert names.loc["c", "place_name"] == "c"  # nothing known: the id, not an empty name


def test_names_follow_the_sites_crs():
    layers = _layers()
    sites = gpd.GeoDataFrame(geometry=[shapely.box(100, 100, 200, 200)], crs=32631,
                             index=pd.Index(["a"], name="site_id")).to_crs(3857)
    assert site_names(sites, layers).loc["a", "municipality_name"] == "West"


def test_the_exclusion_table_counts_each_site_once_with_the_limit_shown():
    from productivecity.outputs.report import exclusion_counts

    reasons = pd.Series(["area_ha 0.05 < min 0.1 (too small); no value for rail_min (criterion r)",
                         "open_land_share_pct 97.4 > max 50 (park)",
                         "no value for rail_min (criterion r)",
                         "area_ha 0.02 < min 0.1 (too small)"])
    first, also = exclusion_counts(reasons)
    assert first.sum() == len(reasons)  # each excluded site once
    assert first["too small (Site area < 0.1 ha)"] == 2  # grouped by rule, the limit kept
    assert first["criterion r (no value for Rail (min))"] == 1
    assert also["criterion r (no value for Rail (min))"] == 1  # besides a first reason
