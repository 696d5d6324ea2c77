"""From ranked sites to new hubs: demand units and network travel times for allocation.

:mod:`productivecity.suitability` ranks sites by criteria and
:mod:`productivecity.allocation` solves location problems on a sparse table of
travel times. This module joins them to the street network:

- :func:`demand_units` puts job seekers (or residents) on neighbourhoods or
  lattice cells, spread dasymetrically from municipal totals;
- :func:`network_travel_times` computes the travel times from candidate sites
  and existing hubs to the demand units within a cutoff and builds the
  :class:`~productivecity.allocation.TravelTimes` the solvers take.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity import accessibility as acc
from productivecity._errors import AllocationError, SchemaError
from productivecity.allocation import TravelTimes, travel_times_from_pairs
from productivecity.indicators.labour import labour_cells, lattice_cells
from productivecity.layers import LayerSet
from productivecity.network import Network

logger = logging.getLogger(__name__)

#: Demand columns carried by demand units (persons).
DEMAND_COLUMNS = ("population_n", "jobseekers_n", "jobseekers_low_edu_n")


def demand_units(
    layers: LayerSet,
    data_dir,
    *,
    units: str = "neighbourhoods",
    year: int = 2024,
    cell_m: float = 100.0,
    unit_cell_m: float = 250.0,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
) -> gpd.GeoDataFrame:
    """Job seekers and residents per demand unit, as points for the network.

    Parameters
    ----------
    layers : LayerSet
        The study area's layers.
    data_dir : path-like or DataDir
        Holds the job-seeker table.
    units : {"neighbourhoods", "cells"}
        Demand units: the neighbourhoods layer (values summed from the dasymetric
        cells inside each), or square cells of ``unit_cell_m``.
    year : int
        Year of the job-seeker table.
    cell_m : float
        Cell size of the dasymetric surface (m).
    unit_cell_m : float
        Size of demand cells when ``units="cells"`` (m).
    buildings, building_coverage
        Residential footprints for the dasymetric surface.

    Returns
    -------
    GeoDataFrame
        Index ``demand_id``; columns of :data:`DEMAND_COLUMNS` (persons, summed from
        the cells, so totals are conserved), ``no_data`` (True where the unit lies in
        a municipality without job-seeker data: its job seekers are unknown) and the
        point geometry: the population-weighted centre of its cells, moved onto the
        unit when it falls outside.
    """
    cells, no_data, notes = labour_cells(layers, data_dir, year=year, buildings=buildings,
                                         building_coverage=building_coverage, cell_m=cell_m)
    for n in notes:
        logger.info("demand: %s", n)
    cells = cells.assign(no_data=no_data)
    pts = np.asarray(cells.geometry.values)
    if units == "neighbourhoods":
        polys = layers["units_neighbourhoods"]
        ids = polys.index.astype(str)
        geoms = np.asarray(polys.geometry.values)
        prefix = ""
    elif units == "cells":
        area = layers["study_area"].geometry.iloc[0]
        geoms = lattice_cells(area, cell_m=unit_cell_m)
        geoms = geoms[shapely.intersects(geoms, area)]
        ids = pd.Index([f"cell{unit_cell_m:g}-{i}" for i in range(len(geoms))])
        prefix = ""
    else:
        raise ValueError(f"units must be 'neighbourhoods' or 'cells', got {units!r}")
    tree = shapely.STRtree(geoms)
    ci, ui = tree.query(pts, predicate="intersects")
    first = ~pd.Series(ci).duplicated().to_numpy()  # a point on a shared edge counts once
    ci, ui = ci[first], ui[first]
    lost = np.setdiff1d(np.arange(len(cells)), ci)
    if len(lost):  # slivers along unit edges (boundary precision): give them to the nearest unit
        li, lu = tree.query_nearest(pts[lost], all_matches=False)
        ci, ui = np.concatenate([ci, lost[li]]), np.concatenate([ui, lu])
        logger.info("%d dasymetric cells outside every demand unit joined to the nearest one",
                    len(lost))
    frame = pd.DataFrame({c: cells[c].to_numpy()[ci] for c in DEMAND_COLUMNS})
    frame["unit"] = ui
    frame["no_data"] = no_data[ci]
    w = frame["population_n"].to_numpy() + 1e-9
    frame["wx"] = shapely.get_x(pts[ci]) * w
    frame["wy"] = shapely.get_y(pts[ci]) * w
    frame["w"] = w
    agg = frame.groupby("unit").agg({**{c: "sum" for c in DEMAND_COLUMNS}, "no_data": "any",
                                     "wx": "sum", "wy": "sum", "w": "sum"})
    centre = shapely.points(agg["wx"] / agg["w"], agg["wy"] / agg["w"])
    unit_geoms = geoms[agg.index.to_numpy()]
    outside = ~shapely.within(centre, unit_geoms)
    centre[outside] = shapely.point_on_surface(unit_geoms[outside])
    out = gpd.GeoDataFrame(
        agg[list(DEMAND_COLUMNS) + ["no_data"]].to_numpy(), columns=[*DEMAND_COLUMNS, "no_data"],
        geometry=centre, crs=layers["study_area"].crs,
        index=pd.Index([prefix + str(ids[i]) for i in agg.index], name="demand_id"),
    )
    for c in DEMAND_COLUMNS:
        out[c] = out[c].astype(float)
    out["no_data"] = out["no_data"].astype(bool)
    return out


def network_travel_times(
    network: Network,
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    demand_column: str,
    cutoff_min: float,
    existing: gpd.GeoDataFrame | None = None,
    progress: bool = False,
) -> TravelTimes:
    """Travel times from candidate sites and existing hubs to demand units.

    Parameters
    ----------
    network : Network
    candidates : GeoDataFrame
        Candidate sites (index ``site_id``); polygons get several access points.
    demand : GeoDataFrame
        Demand units (:func:`demand_units`) with ``demand_column``.
    demand_column : str
        Demand weight, e.g. ``"jobseekers_low_edu_n"``.
    cutoff_min : float
        Largest travel time kept (min).
    existing : GeoDataFrame, optional
        Existing hubs, fixed open (index ``hub_id``).

    Returns
    -------
    TravelTimes
        Sparse (demand unit, facility) travel times within the cutoff. Candidates
        or hubs not on the network are kept but reach nothing (logged).
    """
    if demand_column not in demand.columns:
        raise SchemaError(f"demand units lack the column {demand_column!r}; columns: "
                          f"{[c for c in demand.columns if c != 'geometry']}")
    if "no_data" in demand.columns and demand["no_data"].any():
        logger.warning("%d demand units lie in municipalities without job-seeker data; their "
                       "demand is unknown and counted as 0", int(demand["no_data"].sum()))
    existing = existing if existing is not None else candidates.iloc[:0]
    overlap = candidates.index.intersection(existing.index)
    if len(overlap):
        raise AllocationError(f"ids used both by candidate sites and existing hubs: "
                              f"{list(overlap[:10])}")
    facilities = pd.concat([candidates[["geometry"]], existing[["geometry"]]])
    facilities = gpd.GeoDataFrame(facilities, geometry="geometry", crs=candidates.crs)
    dsnap = acc.snap(network, demand)
    # people travel to the hub: from the demand units to the facilities (one-ways matter)
    tt = acc.travel_times(network, dsnap, facilities, limit_min=cutoff_min, progress=progress)
    pairs = tt.rename("time_min").reset_index()
    pairs = pairs.rename(columns={"origin": "demand_id", "destination": "site_id"})
    return travel_times_from_pairs(
        pairs, demand[demand_column].astype(float), candidates=candidates.index,
        existing=existing.index, cutoff_min=cutoff_min,
    )


def rank_sites(sites: gpd.GeoDataFrame, spec, *, progress: bool = False):
    """Score, rank and test the stability of a site table under a criteria spec.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with the indicator columns the criteria name.
    spec : CriteriaSpec
        From :func:`productivecity.suitability.load_criteria`.

    Returns
    -------
    ranked : GeoDataFrame
        The sites with ``score``, ``rank``, ``contrib_<criterion>``, ``excluded``,
        ``excluded_reason`` and the Monte-Carlo columns ``topk_share``, ``rank_p05``,
        ``rank_p50``, ``rank_p95`` (aligned to the input index).
    result : SuitabilityResult
    monte_carlo : MonteCarloResult
    one_at_a_time : OneAtATimeResult
    """
    from productivecity import suitability as suit

    result = suit.score_sites(sites, spec)
    mc = suit.monte_carlo_weights(result)
    oat = suit.one_at_a_time(result)
    ranked = sites.copy()
    for col in result.table.columns:
        ranked[col] = result.table[col]
    for col in ("topk_share", "rank_p05", "rank_p50", "rank_p95"):
        if col in mc.table.columns:
            ranked[col] = mc.table[col].reindex(ranked.index)
    return ranked, result, mc, oat
