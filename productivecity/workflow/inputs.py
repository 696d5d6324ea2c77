"""Read what the indicators and the allocation need from a data directory.

The indicators (:func:`productivecity.indicators.table.site_indicators`) and the
location models take data, not files; this module is where a run (and a notebook
that wants the same inputs) reads them: the walk and bike networks, the building
footprints and where they are complete, the OSM extract's extent, open land, the
job-seeker table and the unit rates, and from these the one dasymetric demand
surface of the run.

Each input read declares its credit (:func:`productivecity.sources.load_report.record_credit`);
a run collects them per step for the attribution of its outputs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import (
    DataSourceError,
    EmptyLayerError,
    MissingLayerError,
    ParameterError,
    SourceNotFoundError,
)
from productivecity.indicators.options import DEFAULT_SURFACE_CELL_M, DEFAULT_YEAR
from productivecity.layers import LayerSet
from productivecity.network.streets import Network, bike_network, walk_network
from productivecity.settings import Settings
from productivecity.sources.catalog import DataDir
from productivecity.sources.load_report import OSM_CREDIT, record_credit

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


def street_network(data_dir, mode: str, *, crs=None, settings: Settings | None = None
                   ) -> Network:
    """Build (or load from the cache) the ``mode`` network of a data directory's OSM file.

    Parameters
    ----------
    data_dir : path-like or DataDir
    mode : {"walk", "bike"}
    crs : optional
        The study area's metric CRS (default: the UTM zone of the streets).
    settings : Settings, optional
        Cache folder and offline flag.
    """
    if mode not in MODES:
        raise ParameterError(f"travel mode must be one of {MODES}, got {mode!r}")
    build = walk_network if mode == "walk" else bike_network
    osm = osm_street_file(data_dir)
    record_credit(OSM_CREDIT, source=osm)
    return build(osm, crs=crs, settings=settings)


def osm_extent(data_dir, area: gpd.GeoDataFrame):
    """Return the OSM extract's clipping polygon within the area (None if there is none)."""
    dd = _as_datadir(data_dir)
    path = dd.find("osm_extent")
    if path is None:
        return None
    import shapely

    from productivecity.sources._read import read_vector

    poly = shapely.union_all(np.asarray(read_vector(path, crs=area.crs).geometry.values))
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

        try:
            buildings, brep = read_buildings(area, source=osm_file)
        except EmptyLayerError as exc:  # optional: the indicators that need them are missing
            notes.append(f"buildings not available ({exc}): building-based indicators are "
                         f"missing and demand is spread by area")
            return None, None, coverage, notes
        record_credit(*brep.credits)
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
    record_credit(*rep.credits)
    return land, [f"open land: {n}" for n in rep.notes]


def residential_land(open_land: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Return the ``"residential"`` polygons of :func:`read_open_land` (None without any).

    They weight the demand of units whose footprints do not
    (:func:`productivecity.indicators.labour.dasymetric_points`).
    """
    if open_land is None or "kind" not in open_land.columns:
        return None
    land = open_land.loc[open_land["kind"].eq("residential")]
    return land if len(land) else None


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


def read_jobseekers(layers: LayerSet, data_dir=None, *, year: int = DEFAULT_YEAR,
                    target_group=None) -> tuple[pd.DataFrame, str]:
    """Job seekers per unit of ``units_municipalities`` for ``year``, and the table's name.

    The table is the data directory's ``jobseekers`` source of a region plug-in
    (:mod:`productivecity.sources.regions`), read by that plug-in's reader.
    ``target_group`` (``{"education": [...], "sex": [...], "age": [...]}``,
    :func:`productivecity.sources.labour.check_target_group`) chooses whom
    ``jobseekers_low_edu_n`` counts (default: low education); the reader puts its
    definition in ``attrs["target_group"]``.
    """
    import inspect

    from productivecity.sources import regions
    from productivecity.sources.labour import read_labour_table

    dd = _data_dir(layers, data_dir)
    muni = layers["units_municipalities"]
    kind, path = _labour_source(dd, "jobseekers", "job seekers per municipality")
    options = {"year": year, "names": muni["name"]}
    if target_group is not None:
        if "target_group" not in inspect.signature(regions.labour_reader(kind)).parameters:
            raise ParameterError(f"the reader of {path.name} ({kind}) cannot choose a target "
                                 f"group; leave out [demand] target_group")
        options["target_group"] = target_group
    js = read_labour_table(kind, path, **options)
    return js, path.name


def _demand_summary(surface: gpd.GeoDataFrame, definition: str) -> dict:
    """Return the target group's definition and the persons it counts in the demand data."""
    col = "jobseekers_low_edu_n"
    total = (round(float(surface[col].sum()), 1) if col in surface.columns else None)
    all_n = (round(float(surface["jobseekers_n"].sum()), 1)
             if "jobseekers_n" in surface.columns else None)
    return {"definition": definition, "total_n": total, "jobseekers_n": all_n}


def read_unit_rates(data_dir) -> pd.DataFrame:
    """Unemployment and low-education rates per unit (index: unit code)."""
    from productivecity.sources.labour import read_labour_table

    dd = _as_datadir(data_dir)
    kind, path = _labour_source(dd, "unit_rates", "unemployment rates per municipality")
    return read_labour_table(kind, path)


def load_demand_surface(layers: LayerSet, data_dir=None, *, year: int = DEFAULT_YEAR,
                        cell_m: float = DEFAULT_SURFACE_CELL_M, buildings=None,
                        building_coverage=None, demand=None, residential_land=None
                        ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read the job-seeker table and spread it, with the residents, over the area.

    With a ``[demand]`` section that names a ``table`` or a ``raster``, those
    are read (:func:`load_generic_demand_surface`); else the region plug-in's
    job-seeker table of the data directory, spread by
    :func:`productivecity.indicators.labour.demand_surface`.

    Parameters
    ----------
    demand : mapping, optional
        The ``[demand]`` section of the configuration (``PipelineConfig["demand"]``).
    residential_land : GeoDataFrame, optional
        Residential land-use polygons (:func:`residential_land`): the weights of
        units whose footprints are incomplete, before area
        (:func:`productivecity.indicators.labour.dasymetric_points`).
    """
    from productivecity.indicators.labour import demand_surface

    if demand is not None and (demand.get("table") is not None
                               or demand.get("raster") is not None):
        return load_generic_demand_surface(layers, demand, cell_m=cell_m, buildings=buildings,
                                           building_coverage=building_coverage,
                                           residential_land=residential_land)
    group = demand.get("target_group") if demand is not None else None
    js, name = read_jobseekers(layers, data_dir, year=year, target_group=group)
    definition = js.attrs.get("target_group") or f"jobseekers_low_edu_n of {name}"
    comp, skip, notes = check_building_completeness(layers, data_dir, buildings,
                                                    demand=demand)
    surface, more = demand_surface(layers, js, buildings=buildings,
                                   building_coverage=building_coverage, cell_m=cell_m,
                                   source=name, skip_buildings=skip,
                                   residential_land=residential_land)
    surface.attrs["demand"] = _demand_summary(surface, f"{definition} ({name})")
    surface.attrs["completeness"] = _completeness_records(comp, surface.attrs.get("weights"))
    return surface, notes + more


def check_building_completeness(layers: LayerSet, data_dir, buildings, *, demand=None
                                ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Check the mapped footprints of each municipality against the region's building stock.

    The reference is the first building-stock table a region plug-in reads
    (:func:`productivecity.sources.regions.building_stock_readers`) found in
    the data directory; without one every municipality is ``"unchecked"``.

    Parameters
    ----------
    layers : LayerSet
        With ``units_municipalities``.
    data_dir : path-like or DataDir, optional
    buildings : GeoDataFrame or None
        The mapped footprints (:func:`load_buildings`).
    demand : mapping, optional
        The ``[demand]`` section: ``building_completeness_min`` (default 0.5).

    Returns
    -------
    table : DataFrame
        :func:`productivecity.indicators.completeness.building_completeness`.
    incomplete : list of str
        Codes of the municipalities whose footprints must not weight the demand.
    notes : list of str
    """
    from productivecity.indicators.completeness import (
        DEFAULT_MIN_COMPLETENESS,
        building_completeness,
        completeness_notes,
    )
    from productivecity.sources import regions

    root = data_dir if data_dir is not None else layers.data_dir
    dd = _as_datadir(root) if root is not None else None
    muni = layers["units_municipalities"]
    threshold = (demand or {}).get("building_completeness_min")
    threshold = DEFAULT_MIN_COMPLETENESS if threshold is None else float(threshold)
    reference, notes = None, []
    for kind, reader in regions.building_stock_readers() if dd is not None else ():
        path = dd.find(kind)
        if path is not None:
            reference = reader(path)
            notes.append(f"building completeness: reference {path.parent.name} "
                         f"({len(reference)} units)")
            break
    if reference is None:
        notes.append("building completeness unchecked: no reference building stock in the "
                     "data directory")
    table = building_completeness(muni, buildings, reference, min_completeness=threshold)
    if table.attrs.get("outside_n"):
        notes.append(f"building completeness: {table.attrs['outside_n']} unit(s) of the "
                     f"reference lie outside the study area (not checked)")
    notes += completeness_notes(table) if reference is not None else []
    for n in notes:
        logger.info("%s", n)
    return table, table.index[table["status"] == "incomplete"].tolist(), notes


def _completeness_records(table: pd.DataFrame, weights: dict | None) -> list[dict]:
    """Return a completeness table as JSON-ready rows, with the weights each unit got."""
    rows = []
    for code, row in table.iterrows():
        rec = {"unit": str(code)}
        for col, v in row.items():
            rec[col] = (None if isinstance(v, float) and not np.isfinite(v)
                        else round(v, 4) if isinstance(v, float) else v)
        rec["weights"] = (weights or {}).get(str(code))
        rows.append(rec)
    return rows


def load_generic_demand_surface(layers: LayerSet, demand, *,
                                cell_m: float = DEFAULT_SURFACE_CELL_M, buildings=None,
                                building_coverage=None, residential_land=None
                                ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Build the demand surface of the ``[demand]`` section: a unit table, a raster, or both.

    The table (:func:`productivecity.sources.demand.read_demand_table`) is
    joined to the unit layer or file it names; the raster
    (:func:`productivecity.sources.demand.read_raster_cells`) is cut by those
    units (with a table) or by the study area (alone). Spread by
    :func:`productivecity.indicators.labour.unit_demand_surface`; without a
    population in the table or a raster, residents come from the unit
    layer's ``population_n`` where it has one.

    Parameters
    ----------
    layers : LayerSet
    demand : mapping
        The ``[demand]`` section (keys of ``SCHEMA["demand"]``).
    cell_m, buildings, building_coverage, residential_land
        See :func:`productivecity.indicators.labour.dasymetric_points`.

    Returns
    -------
    cells : GeoDataFrame
    notes : list of str
    """
    from productivecity._errors import ConfigError
    from productivecity.indicators.labour import unit_demand_surface
    from productivecity.sources import demand as dsrc
    from productivecity.sources.load_report import file_credit

    notes: list[str] = []
    units = totals = cells = None
    population = None
    source = "the demand data"
    table = demand.get("table")
    raster = demand.get("raster")
    measure = demand.get("raster_measure") or "population_n"
    if table is not None:
        if not demand.get("code_column") or not (demand.get("columns")
                                                 or demand.get("low_edu_categories")):
            raise ConfigError(f"[demand] table = {table} needs code_column (the unit code) and "
                              f"columns (which column holds which measure), e.g. "
                              f"code_column = \"kunta\", columns = {{jobseekers_n = "
                              f"\"unemployed\"}}")
        units, uname = dsrc.demand_units(layers, units=demand.get("units") or "municipalities",
                                         path=demand.get("units_file"),
                                         code_column=demand.get("units_code_column"))
        cats = ({"jobseekers_low_edu_n": list(demand["low_edu_categories"])}
                if demand.get("low_edu_categories") else None)
        try:
            tab, rep = dsrc.read_demand_table(
                table, code_column=demand["code_column"], columns=demand.get("columns") or {},
                category_column=demand.get("category_column"), categories=cats,
                sheet=demand.get("sheet"), na_values=demand.get("na_values") or ())
        except ParameterError as exc:
            raise ConfigError(f"[demand] {exc}") from exc
        source = Path(table).name
        totals, rep = dsrc.join_demand_table(tab, units, report=rep, what=source)
        record_credit(file_credit(table, "demand table"), source=table)
        notes.extend(f"demand table {source} ({uname}): {n}" for n in rep.notes)
        if raster is None and demand.get("units_file") is None:
            layer = layers[dsrc.UNIT_LAYERS[demand.get("units") or "municipalities"]]
            if "population_n" not in totals.columns and "population_n" in layer.columns:
                pop = pd.to_numeric(layer["population_n"], errors="coerce").astype(float)
                if pop.notna().any():
                    totals["population_n"] = pop.to_numpy()
                    notes.append(f"residents: population_n of {uname}")
            if demand.get("units", "municipalities") == "municipalities":
                population = layers.layers.get("units_neighbourhoods")
    if raster is not None:
        if units is not None:
            polygons = units
        else:
            area = layers["study_area"]
            polygons = gpd.GeoDataFrame(geometry=area.geometry.to_numpy(), crs=area.crs)
        cells, rrep = dsrc.read_raster_cells(raster, polygons, measure=measure,
                                             band=demand.get("raster_band") or 1)
        record_credit(file_credit(raster, "raster"), source=raster)
        notes.extend(f"raster {Path(raster).name}: {n}" for n in rrep.notes)
    comp, skip = None, []
    if (units is not None and demand.get("units_file") is None
            and (demand.get("units") or "municipalities") == "municipalities"):
        comp, skip, cnotes = check_building_completeness(layers, None, buildings,
                                                         demand=demand)
        notes.extend(cnotes)
    surface, snotes = unit_demand_surface(
        units, totals, raster=cells, raster_measure=measure, population=population,
        buildings=buildings, building_coverage=building_coverage, cell_m=cell_m,
        source=source, skip_buildings=skip, residential_land=residential_land)
    surface.attrs["demand"] = _demand_summary(surface, _generic_definition(demand, source))
    if comp is not None:
        surface.attrs["completeness"] = _completeness_records(comp,
                                                              surface.attrs.get("weights"))
    return surface, notes + snotes


def _generic_definition(demand, source: str) -> str:
    """Say in words what the target group of a ``[demand]`` table or raster counts."""
    cols = dict(demand.get("columns") or {})
    if demand.get("low_edu_categories"):
        return (f"persons in rows of {source} whose {demand.get('category_column')} is "
                f"{', '.join(demand['low_edu_categories'])}")
    if "jobseekers_low_edu_n" in cols:
        c = cols["jobseekers_low_edu_n"]
        return f"column {c if isinstance(c, str) else ' + '.join(c)} of {source}"
    if demand.get("table") is None:
        return (f"no target group: the raster {Path(demand['raster']).name} counts "
                f"{demand.get('raster_measure') or 'population_n'} only")
    return f"no target group: {source} gives no jobseekers_low_edu_n (only {sorted(cols)})"


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
    demand_missing: str | None = None,
    open_land: tuple | None = None,
):
    """Read every input of the site indicators from a data directory.

    Only the street networks are required: a missing demand table, unit rates
    or open land leave their indicators missing, with the reason in the inputs.

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
    demand_missing : str, optional
        Why there is no demand surface (found before): not read again.
    open_land : tuple, optional
        What :func:`read_open_land` returned before (else read here).

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
    crs = layers["study_area"].crs
    walk = walk or street_network(dd, "walk", crs=crs, settings=settings)
    bike = bike or street_network(dd, "bike", crs=crs, settings=settings)
    buildings, building_coverage, osm_coverage, notes = (
        buildings if buildings is not None else load_buildings(layers, dd))
    notes = list(notes)
    open_land, lnotes = open_land if open_land is not None else read_open_land(layers, dd)
    notes.extend(lnotes)
    if demand is None and demand_missing is None:
        try:
            demand, dnotes = load_demand_surface(layers, dd, year=year, cell_m=cell_m,
                                                 buildings=buildings,
                                                 building_coverage=building_coverage,
                                                 residential_land=residential_land(open_land))
        except (SourceNotFoundError, MissingLayerError) as exc:
            demand_missing, dnotes = f"input missing: no demand data ({exc})", []
        notes.extend(dnotes)
    try:
        rates = read_unit_rates(dd)
    except SourceNotFoundError as exc:
        rates = None
        notes.append(f"unit rates not available ({exc}): unemployment_rate_pct and "
                     f"low_edu_adults_pct are missing")
    return IndicatorInputs(walk=walk, bike=bike, demand=demand, buildings=buildings,
                           building_coverage=building_coverage, osm_coverage=osm_coverage,
                           open_land=open_land, unit_rates=rates, notes=notes,
                           demand_missing=demand_missing or "")


__all__ = [
    "check_building_completeness",
    "load_buildings",
    "load_demand_surface",
    "load_generic_demand_surface",
    "load_indicator_inputs",
    "osm_extent",
    "osm_street_file",
    "read_open_land",
    "read_jobseekers",
    "read_unit_rates",
    "residential_land",
    "street_network",
]
