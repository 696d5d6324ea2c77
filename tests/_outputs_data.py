"""Scored candidate sites on the shipped sample, shared by the output tests.

Sites are a square grid over the real sample study area, made here with
shapely; their indicators are computed here from the sample layers' geometry
(distance to the canal, to the nearest railway station and hub, industrial
share of the cell, stops within 500 m) and scored with
:func:`productivecity.siting.scoring.score_sites`. Nothing is mocked.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import shapely

from productivecity.layers import load_layers
from productivecity.siting.criteria import Constraint, CriteriaSpec, Criterion
from productivecity.siting.scoring import score_sites
from productivecity.siting.sensitivity import monte_carlo_weights

CELL_M = 250.0


@functools.cache
def sample_layers():
    """The sample LayerSet (loaded once per test session)."""
    return load_layers("sample", progress=False)


def grid_sites(layers, *, cell_m: float = CELL_M) -> gpd.GeoDataFrame:
    """Square cells over the study area, cut at its edge, index ``site_id``."""
    area = layers["study_area"].geometry.iloc[0]
    xmin, ymin, xmax, ymax = area.bounds
    xs = np.arange(np.floor(xmin / cell_m) * cell_m, xmax, cell_m)
    ys = np.arange(np.floor(ymin / cell_m) * cell_m, ymax, cell_m)
    cells = [shapely.box(x, y, x + cell_m, y + cell_m) for y in ys for x in xs]
    cells = shapely.intersection(np.array(cells), area)
    keep = ~shapely.is_empty(cells) & (shapely.area(cells) > 1.0)
    cells = cells[keep]
    ids = [f"S{i:03d}" for i in range(len(cells))]
    gdf = gpd.GeoDataFrame({"geometry": cells}, index=ids, crs="EPSG:31370")  # the sample's CRS
    gdf.index.name = "site_id"
    return gdf


def indicators(sites: gpd.GeoDataFrame, layers) -> gpd.GeoDataFrame:
    """Indicator columns from real geometry (metres, counts, percent)."""
    out = sites.copy()
    geoms = out.geometry.values
    out["area_ha"] = shapely.area(geoms) / 10_000.0
    canal = shapely.union_all(layers["canal"].geometry.values)
    out["canal_distance_m"] = shapely.distance(geoms, canal)
    stops = layers["transit_stops"]
    rail = shapely.union_all(stops.loc[stops["mode"] == "rail"].geometry.values)
    out["rail_station_dist_m"] = shapely.distance(geoms, rail)
    hubs = shapely.union_all(layers["hubs"].geometry.values)
    out["hub_dist_m"] = shapely.distance(geoms, hubs)
    ind = shapely.union_all(layers["industrial_zones"].geometry.values)
    out["industrial_share_pct"] = 100.0 * shapely.area(shapely.intersection(geoms, ind)) / (
        shapely.area(geoms)
    )
    tree = shapely.STRtree(stops.geometry.values)
    hits = tree.query(shapely.buffer(shapely.centroid(geoms), 500.0), predicate="intersects")
    out["stops_500m_n"] = np.bincount(hits[0], minlength=len(out)).astype(int)
    return out


SPEC = CriteriaSpec(
    criteria=(
        Criterion("canal", "canal_distance_m", direction="cost", weight=0.3),
        Criterion("industrial", "industrial_share_pct", weight=0.3),
        Criterion("rail", "rail_station_dist_m", direction="cost", weight=0.2),
        Criterion("stops", "stops_500m_n", standardisation="rank", weight=0.1),
        Criterion("hub_gap", "hub_dist_m", weight=0.1),
    ),
    constraints=(Constraint("area_ha", min=2.0, description="cut-off cell"),),
)


@functools.cache
def _scored():
    layers = sample_layers()
    sites = indicators(grid_sites(layers), layers)
    result = score_sites(sites, SPEC)
    mc = monte_carlo_weights(result, runs=200, spread=0.1, seed=7, top_k=5)
    return sites.join(result.table), result, mc


def scored_sites():
    """(sites with result columns, SuitabilityResult, MonteCarloResult); copies."""
    sites, result, mc = _scored()
    return sites.copy(), result, mc
