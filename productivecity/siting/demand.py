"""Demand units: job seekers or residents on neighbourhoods or cells, as points for the network."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import SchemaError
from productivecity.indicators.labour import lattice_cells
from productivecity.layers import LayerSet

logger = logging.getLogger(__name__)


#: Demand columns carried by demand units (persons).
DEMAND_COLUMNS = ("population_n", "jobseekers_n", "jobseekers_low_edu_n")


def unknown_demand(units: pd.DataFrame) -> pd.Series:
    """Return, per demand unit, whether its demand is unknown (``no_data``: no job-seeker data).

    Such a unit carries 0 persons of job seekers for the allocation (an optimiser cannot
    use an unknown), and is shown and reported as unknown, never as small.
    """
    if "no_data" not in units.columns:
        return pd.Series(False, index=units.index)
    return units["no_data"].fillna(False).astype(bool)


def demand_units(
    layers: LayerSet,
    surface: gpd.GeoDataFrame,
    *,
    units: str = "neighbourhoods",
    unit_cell_m: float = 250.0,
) -> gpd.GeoDataFrame:
    """Job seekers and residents per demand unit, as points for the network.

    Parameters
    ----------
    layers : LayerSet
        The study area's layers.
    surface : GeoDataFrame
        The run's dasymetric demand surface
        (:func:`~productivecity.indicators.labour.demand_surface`: points with the
        :data:`DEMAND_COLUMNS` and ``no_data``), the same the indicators count.
    units : {"neighbourhoods", "cells"}
        Demand units: the neighbourhoods layer (values summed from the dasymetric
        cells inside each), or square cells of ``unit_cell_m``.
    unit_cell_m : float
        Size of demand cells when ``units="cells"`` (m).

    Returns
    -------
    GeoDataFrame
        Index ``demand_id``; columns of :data:`DEMAND_COLUMNS` (persons, summed from
        the cells, so totals are conserved), ``no_data`` (True where the unit lies in
        a municipality without job-seeker data: its job seekers are unknown) and the
        point geometry: the population-weighted centre of its cells, moved onto the
        unit when it falls outside.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> surface = load_indicator_inputs(layers).demand  # dasymetric cells
    >>> units = pc.demand_units(layers, surface)  # neighbourhoods, as points
    >>> len(units), units.index.name
    (12, 'demand_id')
    >>> round(units["jobseekers_n"].sum()) == round(surface["jobseekers_n"].sum())  # totals kept
    True
    """
    cells = surface
    no_data = (cells["no_data"].to_numpy(dtype=bool) if "no_data" in cells.columns
               else np.zeros(len(cells), dtype=bool))
    present = [c for c in DEMAND_COLUMNS if c in cells.columns]  # absent: missing (NaN)
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
        raise SchemaError(f"demand units must be 'neighbourhoods' or 'cells', got {units!r}")
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
    frame = pd.DataFrame({c: cells[c].to_numpy()[ci] for c in present})
    frame["unit"] = ui
    frame["no_data"] = no_data[ci]
    weight = "population_n" if "population_n" in present else present[0]
    w = np.nan_to_num(frame[weight].to_numpy(dtype=float)) + 1e-9
    frame["wx"] = shapely.get_x(pts[ci]) * w
    frame["wy"] = shapely.get_y(pts[ci]) * w
    frame["w"] = w
    agg = frame.groupby("unit").agg({**{c: "sum" for c in present}, "no_data": "any",
                                     "wx": "sum", "wy": "sum", "w": "sum"})
    for c in DEMAND_COLUMNS:
        if c not in agg.columns:
            agg[c] = np.nan
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

