"""Vacancy and underuse indicators per candidate site.

What each indicator measures (units in the name):

``brownfield_share_pct``
    Share (%) of the site's area on ``landuse=brownfield`` land (OSM).
``industrial_share_pct``
    Share (%) of the site's area on ``landuse=industrial`` land (OSM).
``vacant_poi_n``
    Number of vacancy points of interest — vacant shops (``shop=vacant``)
    and disused/abandoned shops, amenities, crafts or offices (kind
    ``disused`` of :func:`productivecity.sources.osm.poi`) — at most
    ``radius_m`` (default 250 m) from the site's edge (inside the site or in
    the band around it; for a point site, within the radius of the point).
``vacant_poi_per_ha``
    ``vacant_poi_n`` divided by the area (ha) of the site grown by
    ``radius_m`` (the search area).
``building_coverage_pct``
    Building footprint area inside the site / the site's area × 100 (the
    ground coverage ratio). NaN where the site lies outside the buildings
    layer's coverage: no data is not zero.
``unbuilt_industrial_ha``
    Industrial and brownfield land (OSM landuse) inside the site not covered
    by a building footprint (ha). NaN outside the coverage of the buildings
    or of the zones.
``inventory_vacant_share_pct`` / ``inventory_vacant_n``
    From an official vacancy inventory (:func:`read_vacancy_inventory`):
    share (%) of the site's area on inventory polygons whose status is
    vacant, and number of vacant inventory features within ``radius_m``.

OSM tags are proxies. ``landuse=brownfield``, ``shop=vacant`` and the
``disused:``/``abandoned:`` prefixes are recorded by volunteers where they
noticed them: their absence does not prove a site is in use, and OSM
building footprints may be incomplete or out of date (the test bed's are
from 2013). Where an official inventory is given,
:func:`vacancy_indicators` uses it in place of these proxies.

Coverage and missing data
-------------------------
Every function takes ``coverage``: the land where its input layer is known
to be complete (a GeoDataFrame/GeoSeries, or a shapely geometry taken as
in the sites' CRS). ``None`` takes the layer as complete everywhere. A site is
*covered* when at least ``min_covered_pct`` (default 50 %) of its area — of
the site grown by ``radius_m`` for counts within a radius — lies inside the
coverage (a point site: when the point lies inside). Uncovered sites get NaN.
For covered sites, shares and densities are computed over the covered part
(so a border site half outside the data is not diluted) and hectares are
counted within the covered part. Point sites get NaN for area shares.

Every overlay is vectorised: candidate pairs come from an STRtree, the
intersections are computed in one call and summed per site; overlapping
polygons of a layer are merged first so no area is counted twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from productivecity._errors import (
    EmptyLayerError,
    ParameterError,
    ParameterTypeError,
    SchemaError,
)
from productivecity._geom import dissolve_overlaps, overlap_area_m2, repair_geometries
from productivecity._validate import require_columns
from productivecity.crs import metric_crs_of, to_crs
from productivecity.sources._read import read_vector
from productivecity.sources.load_report import LayerReport
from productivecity.sources.osm import POI_KINDS

logger = logging.getLogger(__name__)

__all__ = [
    "VACANCY_POI_KINDS",
    "VACANT_VALUES",
    "brownfield_share_pct",
    "building_coverage_pct",
    "industrial_share_pct",
    "inventory_vacant_n",
    "inventory_vacant_share_pct",
    "read_vacancy_inventory",
    "unbuilt_industrial_ha",
    "vacancy_indicators",
    "vacant_poi_n",
    "vacant_poi_per_ha",
]

#: POI kinds counted as vacancy proxies.
VACANCY_POI_KINDS = ("vacant_shop", "disused")

#: Status values read as vacant (compared case-insensitively, spaces trimmed).
VACANT_VALUES = (
    "vacant", "vacancy", "empty", "unused", "disused", "abandoned", "derelict",
    "leegstand", "leegstaand", "leeg", "onbenut", "verlaten",
    "inoccupé", "inoccupe", "vide", "vacant(e)", "inexploité", "inexploite", "abandonné",
    "abandonne", "à l'abandon", "desaffecte", "désaffecté",
)

_POLYGON_IDS = (3, 6)  # shapely type ids of Polygon, MultiPolygon


# --------------------------------------------------------------------------------------
# OSM proxies
# --------------------------------------------------------------------------------------


def brownfield_share_pct(
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Share (%) of each site's area on brownfield land (``kind == "brownfield"``).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS (index = site ids).
    zones : GeoDataFrame
        The ``industrial_zones`` layer (column ``kind``).
    coverage : GeoDataFrame, GeoSeries or shapely geometry, optional
        Where ``zones`` is complete (module docstring); None = everywhere.
    min_covered_pct : float, default 50
        Least covered share (%) of a site for a value.

    Returns
    -------
    pandas.Series
        Float, 0–100, aligned to ``sites.index``, named
        ``brownfield_share_pct``; NaN for point sites and uncovered sites.
    """
    return _zone_share(sites, zones, ("brownfield",), "brownfield_share_pct", coverage,
                       min_covered_pct)


def industrial_share_pct(
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Share (%) of each site's area on industrial land (``kind == "industrial"``).

    Parameters and return as in :func:`brownfield_share_pct` (Series named
    ``industrial_share_pct``).
    """
    return _zone_share(sites, zones, ("industrial",), "industrial_share_pct", coverage,
                       min_covered_pct)


def open_land_share_pct(
    sites: gpd.GeoDataFrame,
    land: gpd.GeoDataFrame,
    *,
    kinds: tuple[str, ...] | None = None,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Share (%) of each site's area on open or housing land (parks, woods, water, homes).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    land : GeoDataFrame
        The ``open_land`` layer (:func:`productivecity.sources.osm.open_land`, column
        ``kind``); overlapping polygons count once.
    kinds : tuple of str, optional
        Kinds to count (default: all kinds present).
    coverage, min_covered_pct
        As in :func:`brownfield_share_pct`.

    Returns
    -------
    pandas.Series
        Float, 0-100, named ``open_land_share_pct``; NaN for point and uncovered sites.
    """
    kinds = tuple(pd.unique(land["kind"])) if kinds is None else kinds
    return _zone_share(sites, land, kinds, "open_land_share_pct", coverage, min_covered_pct)


#: Kinds of the ``open_land`` layer that keep land open: parks, woods, grass, cemeteries.
GREEN_KINDS = ("park", "wood", "grass", "cemetery", "allotments")
#: Columns of :func:`land_cover_shares`.
LAND_COVER_COLUMNS = ("open_land_share_pct", "water_share_pct", "residential_land_share_pct")


def land_cover_shares(
    sites: gpd.GeoDataFrame,
    land: gpd.GeoDataFrame,
    *,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.DataFrame:
    """Green land, water and housing land of each site, kept apart.

    A canal-side site is partly water, and the mixed fabric of old industrial
    districts is often mapped as ``landuse=residential``: neither makes a site
    unfit for a workshop, so they are not lumped with parks and woods.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites in a metric CRS.
    land : GeoDataFrame
        The ``open_land`` layer (column ``kind``, see
        :data:`productivecity.sources.osm.OPEN_LAND_TAGS`).
    coverage, min_covered_pct
        As in :func:`brownfield_share_pct`.

    Returns
    -------
    DataFrame
        Aligned to ``sites.index``, floats 0-100 (NaN for point and uncovered sites):
        ``open_land_share_pct`` (parks, woods, grass, cemeteries, allotments as a
        share of the site's land, i.e. with its water left out; 0 for a site that
        is all water), ``water_share_pct`` (share of the site on water) and
        ``residential_land_share_pct`` (share on residential land).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> site = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=32631)
    >>> land = gpd.GeoDataFrame({"kind": ["water", "park"]}, crs=site.crs,
    ...                         geometry=[shapely.box(0, 0, 50, 100), shapely.box(50, 0, 75, 100)])
    >>> land_cover_shares(site, land).round(1).iloc[0].tolist()  # half water; half the land park
    [50.0, 50.0, 0.0]
    """
    present = set(pd.unique(land["kind"]))
    geoms, _ = _site_geoms(sites)
    crs = _crs(sites)
    eff = _effective(geoms, _coverage_parts(coverage, crs), min_covered_pct)  # once for all

    def share(kinds, name):
        return _pct(*eff, _zone_parts(land, kinds, crs), sites.index, name)

    green = share(tuple(k for k in GREEN_KINDS if k in present), "green")
    water = share(("water",), "water")
    housing = share(("residential",), "housing")
    land_pct = 100.0 - water
    with np.errstate(invalid="ignore", divide="ignore"):
        of_land = np.where(land_pct > 1e-6, 100.0 * green / land_pct, 0.0)
    of_land = np.where(green.isna(), np.nan, np.minimum(of_land, 100.0))
    return pd.DataFrame({"open_land_share_pct": of_land, "water_share_pct": water.to_numpy(),
                         "residential_land_share_pct": housing.to_numpy()}, index=sites.index)


def vacant_poi_n(
    sites: gpd.GeoDataFrame,
    poi: gpd.GeoDataFrame,
    *,
    radius_m: float = 250.0,
    kinds: Iterable[str] = VACANCY_POI_KINDS,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Count vacancy POIs at most ``radius_m`` metres from each site.

    A POI counts when its distance to the site geometry is at most
    ``radius_m`` (so POIs inside a polygon site always count; ``radius_m=0``
    counts only those inside or on its edge).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    poi : GeoDataFrame
        The ``poi`` layer (column ``kind``).
    radius_m : float, default 250
        Search distance in metres (≥ 0).
    kinds : iterable of str, default ("vacant_shop", "disused")
        POI kinds to count (see :data:`productivecity.sources.osm.POI_KINDS`).
    coverage, min_covered_pct
        As in :func:`brownfield_share_pct`; applied to the site grown by
        ``radius_m``.

    Returns
    -------
    pandas.Series
        Nullable integer (``Int64``) counts aligned to ``sites.index``, named
        ``vacant_poi_n``; missing (NA) for uncovered sites.
    """
    n, _ = _poi_counts(sites, poi, radius_m, kinds, coverage, min_covered_pct)
    return n.rename("vacant_poi_n")


def vacant_poi_per_ha(
    sites: gpd.GeoDataFrame,
    poi: gpd.GeoDataFrame,
    *,
    radius_m: float = 250.0,
    kinds: Iterable[str] = VACANCY_POI_KINDS,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Vacancy POIs per hectare of the search area (site grown by ``radius_m``).

    Parameters as in :func:`vacant_poi_n`. The search area is the site
    buffered by ``radius_m`` (32 segments per quarter circle; its area is
    within 0.05 % of the exact one), cut to ``coverage`` when given.

    Returns
    -------
    pandas.Series
        Float (POIs per ha) aligned to ``sites.index``, named
        ``vacant_poi_per_ha``; NaN for uncovered sites and for point sites
        with ``radius_m=0``.
    """
    n, search_m2 = _poi_counts(sites, poi, radius_m, kinds, coverage, min_covered_pct)
    return _per_ha(n, search_m2, sites.index)


def _per_ha(n: pd.Series, search_m2: np.ndarray, index) -> pd.Series:
    """:func:`vacant_poi_per_ha` from the counts and search areas of :func:`_poi_counts`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = n.astype("Float64").to_numpy(dtype=float, na_value=np.nan) / (search_m2 / 10_000.0)
    v[~(search_m2 > 0)] = np.nan
    return pd.Series(v, index=index, name="vacant_poi_per_ha")


def building_coverage_pct(
    sites: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Ground coverage: building footprint area inside each site / site area × 100.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    buildings : GeoDataFrame or GeoSeries
        Building footprints (e.g. :func:`productivecity.sources.osm.buildings`).
        Overlapping footprints are merged first.
    coverage : GeoDataFrame, GeoSeries or shapely geometry, optional
        Where the buildings layer is complete, e.g. from
        :func:`productivecity.sources.osm.buildings_coverage` or the clipping
        polygon of the source extract. None = complete everywhere.
    min_covered_pct : float, default 50
        Least covered share (%) of a site for a value.

    Returns
    -------
    pandas.Series
        Float, 0–100, aligned to ``sites.index``, named
        ``building_coverage_pct``; NaN for uncovered and point sites.
    """
    geoms, _ = _site_geoms(sites)
    eff, ok = _effective(geoms, _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    parts = _polygon_parts(buildings, what="buildings", crs=_crs(sites))
    return _pct(eff, ok, parts, sites.index, "building_coverage_pct")


def unbuilt_industrial_ha(
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    coverage=None,
    min_covered_pct: float = 50.0,
    kinds: Iterable[str] = ("industrial", "brownfield"),
) -> pd.Series:
    """Industrial and brownfield land inside each site not covered by buildings (ha).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    zones : GeoDataFrame
        The ``industrial_zones`` layer (column ``kind``).
    buildings : GeoDataFrame or GeoSeries
        Building footprints.
    coverage : GeoDataFrame, GeoSeries or shapely geometry, optional
        Where both the zones and the buildings are complete. None =
        everywhere.
    min_covered_pct : float, default 50
        Least covered share (%) of a site for a value.
    kinds : iterable of str
        Zone kinds counted.

    Returns
    -------
    pandas.Series
        Float hectares aligned to ``sites.index``, named
        ``unbuilt_industrial_ha``; NaN for uncovered sites; 0 for point sites.
    """
    geoms, _ = _site_geoms(sites)
    eff, ok = _effective(geoms, _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    zparts = _zone_parts(zones, kinds, _crs(sites))
    bparts = _polygon_parts(buildings, what="buildings", crs=_crs(sites))
    return _unbuilt_ha(eff, ok, zparts, bparts, sites.index)


def _unbuilt_ha(eff, ok, zparts, bparts, index) -> pd.Series:
    """:func:`unbuilt_industrial_ha` from the sites' covered parts and the layers' parts."""
    out = np.full(len(eff), np.nan)
    idx = np.flatnonzero(ok)
    zone_m2 = np.zeros(len(idx))
    built_m2 = np.zeros(len(idx))
    if len(idx) and len(zparts):
        tree = shapely.STRtree(zparts)
        i, j = tree.query(eff[idx], predicate="intersects")
        if len(i):
            pieces = shapely.intersection(eff[idx][i], zparts[j])
            zone_m2 = np.bincount(i, weights=shapely.area(pieces), minlength=len(idx))
            built = overlap_area_m2(pieces, bparts)
            built_m2 = np.bincount(i, weights=built, minlength=len(idx))
    out[idx] = np.maximum(zone_m2 - built_m2, 0.0) / 10_000.0
    return pd.Series(out, index=index, name="unbuilt_industrial_ha")


# --------------------------------------------------------------------------------------
# official inventory
# --------------------------------------------------------------------------------------


def read_vacancy_inventory(
    path: str | os.PathLike,
    *,
    status_column: str,
    vacant_values: Iterable[str] = VACANT_VALUES,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read an official vacancy inventory: any vector file with a status column.

    Parameters
    ----------
    path : path-like
        Any GDAL vector file with a CRS (polygons, points or both), e.g. the
        Brussels "inventaire des sites d'activité inexploités" or a municipal
        leegstandsregister.
    status_column : str
        Column holding each feature's status.
    vacant_values : iterable of str
        Status values meaning vacant (compared case-insensitively, spaces
        trimmed); default :data:`VACANT_VALUES` (English, Dutch, French).
    layer : str, optional
        Layer of a multi-layer file.

    Returns
    -------
    inventory : GeoDataFrame
        In the file's CRS (projected to the sites' CRS when used), index
        ``inventory_id`` (``"inv-<row>"``, 1 = first
        feature); the file's columns plus ``status`` (str, the status value as
        read; replaces a file column of that name) and ``vacant`` (bool),
        ``geometry``.
    report : LayerReport
        Features without geometry are left out and counted; notes give the
        number of vacant features.

    Raises
    ------
    DataSourceError, CRSError
        Missing/unreadable file, no CRS.
    SchemaError
        ``status_column`` missing (the available columns are listed), or none
        of its values is a vacant value (the values it has are listed).
    """
    path = Path(path)
    gdf = read_vector(path, layer=layer)
    what = f"vacancy inventory {path}"
    report = LayerReport("vacancy_inventory", sources=[str(path)], read_n=len(gdf))
    vacant = _vacant_mask(gdf, status_column, vacant_values, what=what)
    ids = pd.Index([f"inv-{k}" for k in range(1, len(gdf) + 1)], name="inventory_id")
    out = gdf.copy()
    out.index = ids
    out["status"] = gdf[status_column].astype("string").to_numpy()
    out["vacant"] = vacant
    out, repaired = repair_geometries(out)
    report.repaired_n = repaired
    empty = out.geometry.isna() | out.geometry.is_empty
    report.skip("no geometry", int(empty.sum()))
    out = out.loc[~empty.to_numpy()]
    report.notes.append(f"{int(out['vacant'].sum())} of {len(out)} features vacant "
                        f"({status_column!r} in the vacant values)")
    cols = [c for c in out.columns if c != out.geometry.name]
    out = out[[*cols, out.geometry.name]]
    report.features_n = len(out)
    report.log()
    return out, report


def inventory_vacant_share_pct(
    sites: gpd.GeoDataFrame,
    inventory: gpd.GeoDataFrame,
    *,
    status_column: str = "status",
    vacant_values: Iterable[str] = VACANT_VALUES,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Share (%) of each site's area on vacant polygons of an official inventory.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    inventory : GeoDataFrame
        Inventory (e.g. :func:`read_vacancy_inventory`, whose ``status``
        column is the default here). Only its polygons count.
    status_column : str, default "status"
        Status column.
    vacant_values : iterable of str
        Values meaning vacant (case-insensitive).
    coverage, min_covered_pct
        Where the inventory is complete (e.g. its region); as in
        :func:`brownfield_share_pct`.

    Returns
    -------
    pandas.Series
        Float, 0–100, aligned to ``sites.index``, named
        ``inventory_vacant_share_pct``; NaN for uncovered and point sites.
    """
    vac = _vacant_features(inventory, status_column, vacant_values, _crs(sites))
    geoms, _ = _site_geoms(sites)
    eff, ok = _effective(geoms, _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    parts = _polygon_parts(vac, what="vacancy inventory", crs=_crs(sites))
    return _pct(eff, ok, parts, sites.index, "inventory_vacant_share_pct")


def inventory_vacant_n(
    sites: gpd.GeoDataFrame,
    inventory: gpd.GeoDataFrame,
    *,
    radius_m: float = 250.0,
    status_column: str = "status",
    vacant_values: Iterable[str] = VACANT_VALUES,
    coverage=None,
    min_covered_pct: float = 50.0,
) -> pd.Series:
    """Count vacant inventory features (any geometry) at most ``radius_m`` from each site.

    Parameters as in :func:`inventory_vacant_share_pct` and
    :func:`vacant_poi_n`.

    Returns
    -------
    pandas.Series
        ``Int64`` counts aligned to ``sites.index``, named
        ``inventory_vacant_n``; NA for uncovered sites.
    """
    vac = _vacant_features(inventory, status_column, vacant_values, _crs(sites))
    geoms, _ = _site_geoms(sites)
    n, _ = _counts_within(geoms, np.asarray(vac.geometry.values), radius_m,
                          _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    return pd.Series(n, index=sites.index, name="inventory_vacant_n")


# --------------------------------------------------------------------------------------
# all together
# --------------------------------------------------------------------------------------


def vacancy_indicators(
    sites: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None,
    poi: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
    inventory: gpd.GeoDataFrame | None = None,
    inventory_status_column: str = "status",
    inventory_vacant_values: Iterable[str] = VACANT_VALUES,
    zones_coverage=None,
    poi_coverage=None,
    inventory_coverage=None,
    radius_m: float = 250.0,
) -> pd.DataFrame:
    """Every vacancy and underuse indicator for the sites, in one frame.

    Without an inventory the columns are ``brownfield_share_pct``,
    ``industrial_share_pct``, ``vacant_poi_n``, ``vacant_poi_per_ha``,
    ``building_coverage_pct``, ``unbuilt_industrial_ha``. With an
    ``inventory`` the OSM vacancy proxies (``brownfield_share_pct``,
    ``vacant_poi_n``, ``vacant_poi_per_ha``) are replaced by
    ``inventory_vacant_share_pct`` and ``inventory_vacant_n``; land-use and
    building measures stay. Definitions: module docstring.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with a CRS.
    zones, poi : GeoDataFrame or None
        The ``industrial_zones`` and ``poi`` layers; None = missing input
        (its columns are all NaN and reported).
    buildings : GeoDataFrame, optional
        Building footprints; without them the building columns are NaN.
    building_coverage : GeoDataFrame, GeoSeries or shapely geometry, optional
        Where ``buildings`` is complete. Default: derived from the buildings
        by :func:`productivecity.sources.osm.buildings_coverage` (never
        "complete everywhere", so land beyond the data is NaN, not 0).
    inventory : GeoDataFrame, optional
        Official vacancy inventory (:func:`read_vacancy_inventory`).
    inventory_status_column, inventory_vacant_values
        Its status column and vacant values.
    zones_coverage, poi_coverage, inventory_coverage : optional
        Where each of those layers is complete (None = everywhere).
    radius_m : float, default 250
        Search distance for the counts (m).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``sites.index``. ``frame.attrs["missing_inputs"]`` maps
        each column with missing values to the reason (str), e.g.
        ``"1012 of 3830 sites outside the buildings coverage"``; the same
        lines are logged.
    """
    from productivecity.sources.osm import buildings_coverage

    geoms, _ = _site_geoms(sites)
    n = len(geoms)
    cols: dict[str, pd.Series] = {}
    reasons: dict[str, str] = {}

    def nan_col(name: str, reason: str) -> None:
        cols[name] = pd.Series(np.nan, index=sites.index, name=name)
        reasons[name] = reason

    if buildings is not None and building_coverage is None:
        building_coverage = buildings_coverage(buildings)[0]
    crs = _crs(sites)
    zone_cover_parts = _coverage_parts(zones_coverage, crs)
    build_cover_parts = _coverage_parts(building_coverage, crs)
    # each layer's parts and the sites' covered parts once, shared by the indicators
    # (the same calls as the single-indicator functions, so the same values)
    zone_eff = _effective(geoms, zone_cover_parts, 50.0) if zones is not None else None
    if inventory is None:
        if zones is not None:
            cols["brownfield_share_pct"] = _pct(*zone_eff, _zone_parts(zones, ("brownfield",),
                                                                       crs),
                                                sites.index, "brownfield_share_pct")
        else:
            nan_col("brownfield_share_pct", "no industrial_zones layer")
    if zones is not None:
        cols["industrial_share_pct"] = _pct(*zone_eff, _zone_parts(zones, ("industrial",), crs),
                                            sites.index, "industrial_share_pct")
    else:
        nan_col("industrial_share_pct", "no industrial_zones layer")
    if inventory is None:
        if poi is not None:
            poi_n, search_m2 = _poi_counts(sites, poi, radius_m, VACANCY_POI_KINDS, poi_coverage,
                                           50.0)
            cols["vacant_poi_n"] = poi_n.rename("vacant_poi_n")
            cols["vacant_poi_per_ha"] = _per_ha(poi_n, search_m2, sites.index)
        else:
            nan_col("vacant_poi_n", "no poi layer")
            nan_col("vacant_poi_per_ha", "no poi layer")
    else:
        kw = {"status_column": inventory_status_column,
              "vacant_values": inventory_vacant_values, "coverage": inventory_coverage}
        cols["inventory_vacant_share_pct"] = inventory_vacant_share_pct(sites, inventory, **kw)
        cols["inventory_vacant_n"] = inventory_vacant_n(sites, inventory, radius_m=radius_m,
                                                        **kw)
    if buildings is not None:
        bparts = _polygon_parts(buildings, what="buildings", crs=crs)
        cols["building_coverage_pct"] = _pct(*_effective(geoms, build_cover_parts, 50.0),
                                             bparts, sites.index, "building_coverage_pct")
        if zones is not None:
            both = _intersect_coverages(zone_cover_parts, build_cover_parts)
            cols["unbuilt_industrial_ha"] = _unbuilt_ha(
                *_effective(geoms, _coverage_parts(both, crs), 50.0),
                _zone_parts(zones, ("industrial", "brownfield"), crs), bparts, sites.index)
        else:
            nan_col("unbuilt_industrial_ha", "no industrial_zones layer")
    else:
        nan_col("building_coverage_pct", "no buildings layer")
        nan_col("unbuilt_industrial_ha", "no buildings layer")

    order = ["brownfield_share_pct", "inventory_vacant_share_pct", "industrial_share_pct",
             "vacant_poi_n", "vacant_poi_per_ha", "inventory_vacant_n",
             "building_coverage_pct", "unbuilt_industrial_ha"]
    frame = pd.DataFrame({c: cols[c] for c in order if c in cols}, index=sites.index)
    point = ~np.isin(shapely.get_type_id(geoms), _POLYGON_IDS)
    layer_of = {"brownfield_share_pct": "industrial_zones", "industrial_share_pct":
                "industrial_zones", "vacant_poi_n": "poi", "vacant_poi_per_ha": "poi",
                "inventory_vacant_share_pct": "vacancy inventory",
                "inventory_vacant_n": "vacancy inventory", "building_coverage_pct": "buildings",
                "unbuilt_industrial_ha": "industrial_zones and buildings"}
    for col in frame.columns:
        miss = frame[col].isna().to_numpy()
        if col in reasons or not miss.any():
            continue
        parts = []
        by_point = miss & point
        if by_point.any() and col.endswith("_pct"):
            parts.append(f"{int(by_point.sum())} point sites (no area)")
        rest = int((miss & ~(point & col.endswith("_pct"))).sum())
        if rest:
            parts.append(f"{rest} of {n} sites outside the {layer_of[col]} coverage")
        reasons[col] = "; ".join(parts)
    for col, reason in reasons.items():
        logger.info("vacancy: %s missing: %s", col, reason)
    frame.attrs["missing_inputs"] = {c: reasons[c] for c in frame.columns if c in reasons}
    return frame


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _crs(sites):
    """Return the metric CRS every overlay with ``sites`` is computed in."""
    if not isinstance(sites, gpd.GeoDataFrame):
        raise ParameterTypeError(f"sites must be a GeoDataFrame, got {type(sites).__name__}")
    return metric_crs_of(sites, what="sites")


def _site_geoms(sites) -> tuple[np.ndarray, np.ndarray]:
    """Site geometries in their metric CRS and their areas (m²; 0 for points)."""
    crs = _crs(sites)
    if not sites.index.is_unique:
        dup = sites.index[sites.index.duplicated()].unique()[:10]
        raise SchemaError(f"sites: duplicate site ids {list(dup)}; the index must be unique")
    geoms = np.asarray(to_crs(sites, crs, what="sites").geometry.values)
    return geoms, shapely.area(geoms)


def _polygon_parts(layer, *, what: str, crs) -> np.ndarray:
    """Polygons of a layer in ``crs``, single parts, overlaps merged."""
    if isinstance(layer, gpd.GeoSeries):
        layer = gpd.GeoDataFrame(geometry=layer)
    if not isinstance(layer, gpd.GeoDataFrame):
        raise ParameterTypeError(f"{what} must be a GeoDataFrame or GeoSeries, "
                                 f"got {type(layer).__name__}")
    geoms = np.asarray(to_crs(layer, crs, what=what).geometry.values)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == 3]
    return dissolve_overlaps(parts)


def _zone_parts(zones, kinds, crs) -> np.ndarray:
    if not isinstance(zones, gpd.GeoDataFrame):
        raise ParameterTypeError(f"zones must be a GeoDataFrame, got {type(zones).__name__}")
    require_columns(zones, ["kind"], what="zones (industrial_zones layer)")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    return _polygon_parts(zones.loc[zones["kind"].isin(kinds).to_numpy()], what="zones",
                          crs=crs)


def _zone_share(sites, zones, kinds, name, coverage, min_covered_pct) -> pd.Series:
    geoms, _ = _site_geoms(sites)
    eff, ok = _effective(geoms, _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    return _pct(eff, ok, _zone_parts(zones, kinds, _crs(sites)), sites.index, name)


def _pct(eff, ok, parts, index, name) -> pd.Series:
    out = np.full(len(eff), np.nan)
    area = shapely.area(eff)
    use = ok & (area > 0)
    if use.any():
        out[use] = np.minimum(100.0 * overlap_area_m2(eff[use], parts) / area[use], 100.0)
    return pd.Series(out, index=index, name=name)


def _coverage_parts(coverage, crs) -> np.ndarray | None:
    """Coverage as non-overlapping polygon parts in ``crs`` (None = everywhere)."""
    if coverage is None:
        return None
    if isinstance(coverage, BaseGeometry):
        geom = coverage
    elif isinstance(coverage, gpd.GeoDataFrame | gpd.GeoSeries):
        if isinstance(coverage, gpd.GeoSeries):
            coverage = gpd.GeoDataFrame(geometry=coverage)
        g = np.asarray(to_crs(coverage, crs, what="coverage").geometry.values)
        g = g[~shapely.is_missing(g)]
        geom = shapely.union_all(shapely.make_valid(g)) if len(g) else shapely.Polygon()
    else:
        raise ParameterTypeError(f"coverage must be a GeoDataFrame, GeoSeries or shapely "
                                 f"geometry (in the sites' CRS), got {type(coverage).__name__}")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = shapely.get_parts(geom)
    return parts[shapely.get_type_id(parts) == 3]


def _intersect_coverages(a, b):
    if a is None:
        return None if b is None else shapely.union_all(b)
    if b is None:
        return shapely.union_all(a)
    return shapely.intersection(shapely.union_all(a), shapely.union_all(b))


def covered_sites(sites: gpd.GeoDataFrame, coverage, *, min_covered_pct: float = 50.0
                  ) -> pd.Series:
    """Whether each site lies inside ``coverage`` (a polygon: at least ``min_covered_pct``).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (polygons or points) in a metric CRS.
    coverage : shapely geometry, GeoDataFrame or GeoSeries, or None
        Where a data set is complete, e.g. an OSM extract's clipping polygon;
        None: complete everywhere.
    min_covered_pct : float, default 50.0

    Returns
    -------
    pandas.Series of bool
        Aligned to ``sites.index``.
    """
    geoms, _ = _site_geoms(sites)
    _, ok = _effective(geoms, _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    return pd.Series(ok, index=sites.index, name="covered")


def _effective(geoms, cover_parts, min_covered_pct) -> tuple[np.ndarray, np.ndarray]:
    """Each site's part inside the coverage, and whether the site counts as covered."""
    try:
        pct = float(min_covered_pct)
    except (TypeError, ValueError):
        pct = float("nan")
    if not (0 < pct <= 100):
        raise ParameterError(f"min_covered_pct must be a percentage in (0, 100], "
                             f"got {min_covered_pct!r}")
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if cover_parts is None:
        return geoms, ok
    eff = geoms.copy()
    area = shapely.area(geoms)
    poly = ok & (area > 0)
    # sites wholly inside a coverage part (most of them) are covered by their own area:
    # one bulk query, no intersection with the (large) coverage polygons
    inside = np.zeros(len(geoms), dtype=bool)
    if poly.any() and len(cover_parts):
        inside[shapely.STRtree(geoms).query(cover_parts, predicate="contains_properly")[1]] = True
        inside &= poly
    covered_m2 = np.where(inside, area, 0.0)
    covered_m2[~inside] = overlap_area_m2(geoms[~inside], cover_parts)
    share = np.where(poly, 100.0 * covered_m2 / np.where(poly, area, 1.0), 0.0)
    tree = shapely.STRtree(cover_parts)
    pt_idx = np.flatnonzero(ok & ~poly)
    pt_in = np.zeros(len(geoms), dtype=bool)
    if len(pt_idx):
        hit = tree.query(geoms[pt_idx], predicate="intersects")[0]
        pt_in[pt_idx[np.unique(hit)]] = True
    covered = np.where(poly, share >= pct - 1e-9, pt_in) & ok
    partial = covered & poly & (share < 100.0 - 1e-6)
    if partial.any():
        union = shapely.union_all(cover_parts)
        eff[partial] = shapely.intersection(geoms[partial], union)
    return eff, covered


def _poi_counts(sites, poi, radius_m, kinds, coverage, min_covered_pct):
    geoms, _ = _site_geoms(sites)
    if not isinstance(poi, gpd.GeoDataFrame):
        raise ParameterTypeError(f"poi must be a GeoDataFrame, got {type(poi).__name__}")
    require_columns(poi, ["kind"], what="poi layer")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = sorted(set(kinds) - set(POI_KINDS))
    if unknown or not kinds:
        raise ParameterError(f"kinds must be POI kinds {list(POI_KINDS)}, got {list(kinds)}")
    sel = to_crs(poi.loc[poi["kind"].isin(kinds).to_numpy()], _crs(sites), what="poi")
    n, search = _counts_within(geoms, np.asarray(sel.geometry.values), radius_m,
                               _coverage_parts(coverage, _crs(sites)), min_covered_pct)
    return pd.Series(n, index=sites.index), search


def _counts_within(geoms, features, radius_m, cover_parts, min_covered_pct):
    """Features within ``radius_m`` of each site; search-area m² (NaN if uncovered)."""
    try:
        r = float(radius_m)
    except (TypeError, ValueError):
        raise ParameterError(f"radius_m must be a number of metres ≥ 0, "
                             f"got {radius_m!r}") from None
    if not np.isfinite(r) or r < 0:
        raise ParameterError(f"radius_m must be a number of metres ≥ 0, got {radius_m!r}")
    ok0 = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    search_geoms = geoms.copy()
    if r > 0:
        search_geoms[ok0] = shapely.buffer(geoms[ok0], r, quad_segs=32)
    eff, covered = _effective(search_geoms, cover_parts, min_covered_pct)
    features = features[~shapely.is_missing(features) & ~shapely.is_empty(features)]
    counts = np.zeros(len(geoms), dtype=np.int64)
    idx = np.flatnonzero(covered)
    if len(features) and len(idx):
        tree = shapely.STRtree(features)
        if r > 0:
            i, _ = tree.query(geoms[idx], predicate="dwithin", distance=r)
        else:
            i, _ = tree.query(geoms[idx], predicate="intersects")
        counts[idx] = np.bincount(i, minlength=len(idx))
    n = pd.array(counts, dtype="Int64")
    n[~covered] = pd.NA
    search = np.where(covered, shapely.area(eff), np.nan)
    return n, search


def _vacant_mask(frame, status_column, vacant_values, *, what: str) -> np.ndarray:
    if status_column not in frame.columns:
        raise SchemaError(f"{what} has no status column {status_column!r}; available columns: "
                          f"{[c for c in frame.columns if c != frame.geometry.name]}")
    values = (vacant_values,) if isinstance(vacant_values, str) else tuple(vacant_values)
    wanted = {str(v).strip().casefold() for v in values}
    status = frame[status_column].astype("string").str.strip().str.casefold()
    vacant = status.isin(wanted).fillna(False).to_numpy(dtype=bool)
    if not vacant.any():
        counts = frame[status_column].astype("string").value_counts(dropna=False)
        listed = ", ".join(f"{k!r} ({v})" for k, v in counts.head(20).items())
        raise SchemaError(
            f"{what}: column {status_column!r} has none of the vacant values {sorted(wanted)}; "
            f"its values are: {listed}{' …' if len(counts) > 20 else ''}. Pass "
            f"vacant_values= with the value(s) meaning vacant")
    return vacant


def _vacant_features(inventory, status_column, vacant_values, crs) -> gpd.GeoDataFrame:
    if not isinstance(inventory, gpd.GeoDataFrame):
        raise ParameterTypeError(f"inventory must be a GeoDataFrame, "
                                 f"got {type(inventory).__name__}")
    mask = _vacant_mask(inventory, status_column, vacant_values, what="vacancy inventory")
    out = to_crs(inventory.loc[mask], crs, what="vacancy inventory")
    if out.empty:
        raise EmptyLayerError("vacancy inventory has no vacant feature")
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=out.crs)
