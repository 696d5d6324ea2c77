"""Read what the indicators and the allocation need from a data directory.

The indicators (:func:`productivecity.indicators.table.site_indicators`) and the
location models take data, not files; this module is where a run (and a notebook
that wants the same inputs) reads them: the walk and bike networks, the building
footprints and where they are complete, the OSM extract's extent, open land, the
job-seeker table and the unit rates, and from these the one dasymetric demand
surface of the run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import DataSourceError, EmptyLayerError, ParameterError
from productivecity.indicators.options import DEFAULT_SURFACE_CELL_M, DEFAULT_YEAR
from productivecity.layers import LayerSet
from productivecity.network.streets import Network, bike_network, walk_network
from productivecity.settings import Settings
from productivecity.sources.catalog import DataDir

logger = logging.getLogger(__name__)

MODES = ("walk", "bike")


def _as_datadir(data_dir) -> DataDir:
    return data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)


def _data_dir(layers: LayerSet, data_dir) -> DataDir:
    """Return the given data directory, else the layer set's."""
    root = data_dir if data_dir is not None else layers.data_dir
    if root is None:
        raise DataSourceError("no data directory: the street network, buildings and labour "
                              "tables are read from one; give data_dir (--data-dir DIR)")
    return _as_datadir(root)


def _find_osm_file(dd: DataDir) -> Path | None:
    """Return the OSM extract with the streets and buildings (PBF, else XML), if any."""
    return dd.find("osm_pbf") or dd.find("osm_xml")


def osm_street_file(data_dir) -> Path:
    """Return the OSM file (PBF, else XML) of a data directory that holds the streets.

    Raises
    ------
    DataSourceError
        The data directory has no ``osm/*.osm.pbf`` or ``osm/*.osm``.
    """
    dd = _as_datadir(data_dir)
    osm = _find_osm_file(dd)
    if osm is None:
        raise DataSourceError(f"no OSM street data (osm/*.osm.pbf or osm/*.osm) in {dd.root} "
                              f"to build the street network")
    return osm


def street_network(data_dir, mode: str, *, settings: Settings | None = None) -> Network:
    """Build (or load from the cache) the ``mode`` network of a data directory's OSM file.

    Parameters
    ----------
    data_dir : path-like or DataDir
    mode : {"walk", "bike"}
    settings : Settings, optional
        Cache folder and offline flag.
    """
    if mode not in MODES:
        raise ParameterError(f"travel mode must be one of {MODES}, got {mode!r}")
    build = walk_network if mode == "walk" else bike_network
    return build(osm_street_file(data_dir), settings=settings)


def osm_extent(data_dir, area: gpd.GeoDataFrame):
    """Return the OSM extract's clipping polygon within the area (None if there is none)."""
    dd = _as_datadir(data_dir)
    path = dd.find("osm_extent")
    if path is None:
        return None
    import shapely

    from productivecity.sources._read import read_vector

    poly = shapely.union_all(np.asarray(read_vector(path).geometry.values))
    return shapely.intersection(poly, area.geometry.iloc[0])


def load_buildings(layers: LayerSet, data_dir=None) -> tuple[gpd.GeoDataFrame | None, object,
                                                             object, list[str]]:
    """Read building footprints, where they are complete, and where OSM layers are complete.

    Returns
    -------
    buildings : GeoDataFrame or None
        Footprints with a ``residential`` column (None without OSM street data).
    building_coverage : shapely geometry or None
        Where ``buildings`` are complete.
    osm_coverage : shapely geometry or None
        The OSM extract's clipping polygon within the area (None: complete everywhere).
    notes : list of str
    """
    dd = _data_dir(layers, data_dir)
    area = layers["study_area"]
    notes: list[str] = []
    osm_file = _find_osm_file(dd)
    coverage = osm_extent(dd, area)
    if coverage is not None:
        notes.append(f"OSM layers taken as complete inside {dd.find('osm_extent').name} only "
                     f"(outside it OSM-based indicators are NaN)")
    buildings = building_coverage = None
    if osm_file is not None:
        from productivecity.sources.osm import buildings as read_buildings

        buildings, brep = read_buildings(area, source=osm_file)
        notes.extend(f"buildings: {n}" for n in brep.notes)
        if coverage is not None:
            building_coverage = coverage
        else:
            from productivecity.sources.osm import buildings_coverage

            cover, _ = buildings_coverage(buildings, area=area)
            building_coverage = cover.geometry.iloc[0]
            notes.append("building coverage estimated from where buildings are mapped")
    return buildings, building_coverage, coverage, notes


def read_open_land(layers: LayerSet, data_dir=None) -> tuple[gpd.GeoDataFrame | None,
                                                               list[str]]:
    """Open land polygons of the area (None, with a note, where the source is missing)."""
    from productivecity.sources.osm import open_land

    dd = _data_dir(layers, data_dir)
    try:
        land, rep = open_land(layers["study_area"], data_dir=dd.root)
    except (DataSourceError, EmptyLayerError) as exc:
        return None, [f"open land not available ({exc}): open_land_share_pct is NaN"]
    return land, [f"open land: {n}" for n in rep.notes]


def _labour_source(dd: DataDir, role: str, what: str) -> tuple[str, Path]:
    """Find the file of the first region plug-in that serves ``role`` in the data directory."""
    from productivecity.sources import regions

    kinds = regions.labour_role_kinds(role)
    for kind in kinds:
        path = dd.find(kind)
        if path is not None:
            return kind, path
    if kinds:
        dd.require(kinds[0])  # raises, naming the file that would provide it
    raise DataSourceError(f"no region plug-in reads {what}; register one in "
                          f"productivecity.sources.regions")


def read_jobseekers(layers: LayerSet, data_dir=None, *, year: int = DEFAULT_YEAR
                    ) -> tuple[pd.DataFrame, str]:
    """Job seekers per unit of ``units_municipalities`` for ``year``, and the table's name.

    The table is the data directory's ``jobseekers`` source of a region plug-in
    (:mod:`productivecity.sources.regions`), read by that plug-in's reader.
    """
    from productivecity.sources.labour import read_labour_table

    dd = _data_dir(layers, data_dir)
    muni = layers["units_municipalities"]
    kind, path = _labour_source(dd, "jobseekers", "job seekers per municipality")
    js = read_labour_table(kind, path, year=year, names=muni["name"])
    return js, path.name


def read_unit_rates(data_dir) -> pd.DataFrame:
    """Unemployment and low-education rates per unit (index: unit code)."""
    from productivecity.sources.labour import read_labour_table

    dd = _as_datadir(data_dir)
    kind, path = _labour_source(dd, "unit_rates", "unemployment rates per municipality")
    return read_labour_table(kind, path)


def load_demand_surface(layers: LayerSet, data_dir=None, *, year: int = DEFAULT_YEAR,
                        cell_m: float = DEFAULT_SURFACE_CELL_M, buildings=None,
                        building_coverage=None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read the job-seeker table and spread it, with the residents, over the area.

    See :func:`productivecity.indicators.labour.demand_surface`.
    """
    from productivecity.indicators.labour import demand_surface

    js, name = read_jobseekers(layers, data_dir, year=year)
    return demand_surface(layers, js, buildings=buildings,
                          building_coverage=building_coverage, cell_m=cell_m, source=name)


def load_indicator_inputs(
    layers: LayerSet,
    data_dir: str | os.PathLike | DataDir | None = None,
    *,
    year: int = DEFAULT_YEAR,
    cell_m: float = DEFAULT_SURFACE_CELL_M,
    walk: Network | None = None,
    bike: Network | None = None,
    demand: gpd.GeoDataFrame | None = None,
    buildings: tuple | None = None,
    settings: Settings | None = None,
):
    """Read every input of the site indicators from a data directory.

    Parameters
    ----------
    layers : LayerSet
        The study area's layers.
    data_dir : path-like, optional
        Data directory (default: the layer set's).
    year : int
        Year of the job-seeker table.
    cell_m : float
        Cell size of the dasymetric demand surface (m).
    walk, bike : Network, optional
        Networks built before (else built from the data directory's OSM file, cached).
    demand : GeoDataFrame, optional
        A demand surface computed before (else computed here).
    buildings : tuple, optional
        What :func:`load_buildings` returned before (else read here).
    settings : Settings, optional

    Returns
    -------
    IndicatorInputs

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> inputs = load_indicator_inputs(pc.load_layers("sample", progress=False))
    >>> sorted(c for c in inputs.demand.columns if c.endswith("_n"))
    ['jobseekers_low_edu_n', 'jobseekers_n', 'population_n']
    """
    from productivecity.indicators.table import IndicatorInputs

    dd = _data_dir(layers, data_dir)
    walk = walk or street_network(dd, "walk", settings=settings)
    bike = bike or street_network(dd, "bike", settings=settings)
    buildings, building_coverage, osm_coverage, notes = (
        buildings if buildings is not None else load_buildings(layers, dd))
    notes = list(notes)
    open_land, lnotes = read_open_land(layers, dd)
    notes.extend(lnotes)
    if demand is None:
        demand, dnotes = load_demand_surface(layers, dd, year=year, cell_m=cell_m,
                                             buildings=buildings,
                                             building_coverage=building_coverage)
        notes.extend(dnotes)
    rates = read_unit_rates(dd)
    return IndicatorInputs(walk=walk, bike=bike, demand=demand, buildings=buildings,
                           building_coverage=building_coverage, osm_coverage=osm_coverage,
                           open_land=open_land, unit_rates=rates, notes=notes)


__all__ = [
    "load_buildings",
    "load_demand_surface",
    "load_indicator_inputs",
    "osm_extent",
    "osm_street_file",
    "read_open_land",
    "read_jobseekers",
    "read_unit_rates",
    "street_network",
]
