"""Labour-market indicators per site: job seekers within reach, local rates, hub catchment.

Job seekers and residents are counted per municipality (or any unit); to ask
how many live within 20 minutes of a site they are first spread over the
land, then over the street network:

1. :func:`dasymetric_points` cuts every unit into lattice cells
   (``cell_m``, default 100 m) and shares the unit's totals among its cells
   in proportion to the residential building footprint in each cell (where a
   buildings layer covers the unit), else to its residential land-use area
   (where given), else to the cell's land area. With a
   finer population layer (e.g. neighbourhoods with ``population_n``) the
   shares follow population first. Totals are conserved exactly: the cells of
   a unit add up to the unit's total. Units without data stay out and are
   reported; they are never counted as zero.
2. The cell points are snapped to the network
   (:func:`productivecity.accessibility.snapping.snap`); points too far from any street
   are reported with the totals they carry.
3. :func:`reachable_totals` sums the snapped values reachable from each site
   within a time limit (cumulative opportunities on the network).

Functions return pandas objects aligned to the sites' index.
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity import accessibility as acc
from productivecity._errors import ParameterError, SchemaError
from productivecity._validate import check_limit_min, check_projected
from productivecity.crs import to_crs
from productivecity.indicators.options import DEFAULT_SURFACE_CELL_M
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class DasymetricReport:
    """What happened to unit totals on their way to demand points.

    Attributes
    ----------
    totals : DataFrame
        Per unit (index) and value column: the input total.
    method : Series
        Per unit: ``"buildings"`` (residential footprint), ``"population"`` (finer
        population layer, then buildings, residential land or area),
        ``"residential land"`` (residential land-use area), ``"area"``, or
        ``"no data"``.
    units_without_data : list of str
        Units whose value is missing in the table (not distributed, not zero).
    """

    totals: pd.DataFrame
    method: pd.Series
    units_without_data: list[str]

    def notes(self) -> list[str]:
        """Return human-readable notes for logs and reports."""
        out = [f"{n} unit(s) by {m}" for m, n in self.method.value_counts().items()]
        if self.units_without_data:
            out.append(f"no data (not distributed, not zero): {self.units_without_data}")
        return out


def lattice_cells(area_geom, *, cell_m: float) -> np.ndarray:
    """Square cells of ``cell_m`` metres anchored at the CRS origin covering ``area_geom``."""
    try:
        ok = bool(np.isfinite(cell_m) and cell_m > 0)
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    minx, miny, maxx, maxy = shapely.bounds(area_geom)
    i0, j0 = int(np.floor(minx / cell_m)), int(np.floor(miny / cell_m))
    i1, j1 = int(np.ceil(maxx / cell_m)), int(np.ceil(maxy / cell_m))
    ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    return shapely.box(ii * cell_m, jj * cell_m, (ii + 1) * cell_m, (jj + 1) * cell_m)


def dasymetric_points(
    units: gpd.GeoDataFrame,
    totals: pd.DataFrame,
    *,
    cell_m: float = 100.0,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
    population: gpd.GeoDataFrame | None = None,
    skip_buildings=(),
    residential_land: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, DasymetricReport]:
    """Spread unit totals over lattice cells inside the units (dasymetric mapping).

    Parameters
    ----------
    units : GeoDataFrame
        Polygons indexed by unit code (e.g. municipalities, index ``nis5``).
    totals : DataFrame
        Counts per unit code (index) in ``*_n`` columns, e.g. ``jobseekers_n``.
        Codes must match ``units``; a unit whose row is missing or NaN has no
        data and is reported (its cells get nothing, not zero).
    cell_m : float, default 100
        Cell size in metres.
    buildings : GeoDataFrame, optional
        Building footprints with a boolean ``residential`` column; the
        residential footprint area per cell weights the shares.
    building_coverage : shapely geometry, optional
        Where ``buildings`` is complete; units outside it fall back to area.
        Default: the union of the units (buildings assumed complete).
    population : GeoDataFrame, optional
        A finer layer (e.g. neighbourhoods) with ``population_n``; where it
        has values, cell weights are scaled so each of its polygons carries
        its population before unit totals are shared.
    skip_buildings : sequence of str, optional
        Unit codes whose footprints are too incomplete to weight by
        (:func:`productivecity.indicators.completeness.building_completeness`):
        they fall back to ``population``, else to ``residential_land``, else to area.
    residential_land : GeoDataFrame, optional
        Residential land-use polygons (e.g. OSM ``landuse=residential``; overlaps
        are dissolved). A unit not weighted by footprints (skipped, outside
        ``building_coverage`` or without residential footprints) is weighted by
        the residential land area of each cell (cells without any get 0); a
        unit with no residential land at all falls through to area. Where
        ``population`` has values it shares each polygon's population by these
        weights.

    Returns
    -------
    points : GeoDataFrame
        One point per cell piece (its representative point), index
        ``cell_id`` (``"<unit>:<i>_<j>"``); columns ``unit`` (code), ``weight``
        (the share weight), the value columns of ``totals`` (float, persons).
    report : DasymetricReport
    """
    check_projected(units, what="units")
    value_cols = [c for c in totals.columns if pd.api.types.is_numeric_dtype(totals[c])]
    if not value_cols:
        raise SchemaError(f"totals has no numeric columns; columns: {list(totals.columns)}")
    unknown = sorted(set(map(str, totals.index)) - set(map(str, units.index)))
    if unknown:
        raise SchemaError(f"the table has codes that match no unit: {unknown}")
    totals = totals.reindex(units.index)[value_cols].astype(float)
    has_data = totals.notna().all(axis=1)
    no_data = [str(u) for u in units.index[~has_data]]

    # 1. cells cut by units
    unit_geoms = np.asarray(units.geometry.values)
    cells = lattice_cells(shapely.union_all(unit_geoms), cell_m=cell_m)
    tree = shapely.STRtree(cells)
    u_idx, c_idx = tree.query(unit_geoms, predicate="intersects")
    pieces = shapely.intersection(cells[c_idx], unit_geoms[u_idx])
    area = shapely.area(pieces)
    keep = area > 1e-6
    u_idx, c_idx, pieces, area = u_idx[keep], c_idx[keep], pieces[keep], area[keep]
    cx = np.floor(shapely.bounds(cells[c_idx])[:, 0] / cell_m + 0.5).astype(np.int64)
    cy = np.floor(shapely.bounds(cells[c_idx])[:, 1] / cell_m + 0.5).astype(np.int64)
    pts = shapely.point_on_surface(pieces)

    # 2. weights: residential footprint where buildings cover the unit, else area
    method = pd.Series("area", index=units.index, dtype=object)
    weight = area.copy()
    if buildings is not None and len(buildings):
        b = to_crs(buildings, units.crs, what="buildings")
        if "residential" not in b.columns:
            raise SchemaError("buildings lack the boolean column 'residential'")
        res = b.loc[b["residential"].astype(bool)]
        coverage = building_coverage if building_coverage is not None else shapely.union_all(
            unit_geoms)
        covered_units = shapely.covered_by(unit_geoms, shapely.buffer(coverage, 1.0))
        if len(res):
            bpts = shapely.point_on_surface(np.asarray(res.geometry.values))
            barea = shapely.area(np.asarray(res.geometry.values))
            ptree = shapely.STRtree(pieces)
            bi, pi = ptree.query(bpts, predicate="intersects")
            # a point on a shared edge hits two pieces: keep the first so nothing counts twice
            first = ~pd.Series(bi).duplicated().to_numpy()
            res_m2 = np.bincount(pi[first], weights=barea[bi[first]], minlength=len(pieces))
            per_unit = np.bincount(u_idx, weights=res_m2, minlength=len(units))
            skip = np.isin(np.asarray([str(u) for u in units.index]),
                           [str(u) for u in skip_buildings])
            use = covered_units & (per_unit > 0) & ~skip
            sel = use[u_idx]
            weight = np.where(sel, res_m2, weight)
            method[use] = "buildings"
    if residential_land is not None and len(residential_land):
        fallback = (method == "area").to_numpy() & has_data.to_numpy()
        land_m2 = _land_area_per_piece(pieces, fallback[u_idx], residential_land, units.crs)
        per_unit = np.bincount(u_idx, weights=land_m2, minlength=len(units))
        use = fallback & (per_unit > 0)
        weight = np.where(use[u_idx], land_m2, weight)
        method[use] = "residential land"
    if population is not None and "population_n" in population.columns:
        pop = to_crs(population, units.crs, what="population layer")
        pop = pop.loc[pop["population_n"].notna()]
        if len(pop):
            ptree = shapely.STRtree(np.asarray(pop.geometry.values))
            pi, qi = ptree.query(pts, predicate="within")
            first = ~pd.Series(pi).duplicated().to_numpy()
            pi, qi = pi[first], qi[first]
            w_in = np.bincount(qi, weights=weight[pi], minlength=len(pop))
            a_in = np.bincount(qi, weights=area[pi], minlength=len(pop))
            popv = pop["population_n"].to_numpy(dtype=float)
            # cells weighted by population: footprint share (or area share if no footprint)
            scale_w = np.divide(popv, w_in, out=np.zeros_like(popv), where=w_in > 0)
            scale_a = np.divide(popv, a_in, out=np.zeros_like(popv), where=a_in > 0)
            new = np.where(w_in[qi] > 0, weight[pi] * scale_w[qi], area[pi] * scale_a[qi])
            weight = weight.copy()
            weight[pi] = new
            touched = np.unique(u_idx[pi])
            method.iloc[touched] = "population"
    # 3. share totals
    wsum = np.bincount(u_idx, weights=weight, minlength=len(units))
    zero = (wsum <= 0) & has_data.to_numpy()
    if zero.any():  # no weight at all (e.g. no residential building): fall back to area
        sel = zero[u_idx]
        weight = np.where(sel, area, weight)
        wsum = np.bincount(u_idx, weights=weight, minlength=len(units))
        method[zero] = "area"
    share = weight / wsum[u_idx]
    method[~has_data] = "no data"
    codes = units.index.to_numpy()[u_idx].astype(str)
    out = gpd.GeoDataFrame(
        {"unit": codes, "weight": weight},
        geometry=pts, crs=units.crs,
        index=pd.Index([f"{u}:{i}_{j}" for u, i, j in zip(codes, cx, cy, strict=True)],
                       name="cell_id"),
    )
    for col in value_cols:
        out[col] = totals[col].to_numpy()[u_idx] * share
    out = out.loc[has_data.to_numpy()[u_idx]]
    report = DasymetricReport(totals=totals, method=method, units_without_data=no_data)
    for note in report.notes():
        logger.info("dasymetric: %s", note)
    return out, report


def _land_area_per_piece(pieces: np.ndarray, selected: np.ndarray, land: gpd.GeoDataFrame,
                         crs) -> np.ndarray:
    """Return the area (m²) of the dissolved ``land`` polygons inside each selected piece.

    Parameters
    ----------
    pieces : ndarray of shapely geometries
        Cell pieces (metric CRS ``crs``).
    selected : ndarray of bool
        The pieces to measure; the others get 0.
    land : GeoDataFrame
        Polygons, in any CRS; overlaps count once.
    crs
        The CRS of ``pieces``.

    Returns
    -------
    ndarray of float
        Per piece, square metres.
    """
    out = np.zeros(len(pieces))
    geoms = np.asarray(to_crs(land, crs, what="residential land").geometry.values)
    geoms = shapely.make_valid(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    sel = np.flatnonzero(selected)
    if not len(geoms) or not len(sel):
        return out
    parts = shapely.get_parts(shapely.union_all(geoms))  # dissolved: disjoint parts
    parts = parts[shapely.area(parts) > 0]  # lines or points of a make_valid carry no land
    if not len(parts):
        return out
    pi, li = shapely.STRtree(parts).query(pieces[sel], predicate="intersects")
    inside_m2 = shapely.area(shapely.intersection(pieces[sel][pi], parts[li]))
    out[sel] = np.bincount(pi, weights=inside_m2, minlength=len(sel))
    return out


def snap_demand(network: Network, points: gpd.GeoDataFrame, *, value_columns: list[str],
                max_snap_m: float = 250.0,
                what: str = "demand cells") -> tuple[acc.Snapping, pd.DataFrame]:
    """Snap demand points to the network; return the snapping and what was left out.

    One warning names ``what``, the cells not snapped by reason and the persons of
    each value column left out of the reachable totals.

    Returns
    -------
    snapping : Snapping
    lost : DataFrame
        One row per value column: ``total``, ``snapped``, ``not_snapped`` (persons) and
        ``not_snapped_pct``; totals are conserved (snapped + not snapped = total).
    """
    from productivecity.accessibility.snapping import unsnapped_reasons

    s = acc.snap(network, points, max_snap_m=max_snap_m, what=what, warn=False)
    ok = s.snapped.reindex(points.index).fillna(False).to_numpy(dtype=bool)
    rows = {}
    for col in value_columns:
        v = points[col].to_numpy(dtype=float)
        rows[col] = {"total": v.sum(), "snapped": v[ok].sum(), "not_snapped": v[~ok].sum()}
    lost = pd.DataFrame(rows).T
    lost["not_snapped_pct"] = 100 * lost["not_snapped"] / lost["total"].where(lost["total"] > 0)
    left = [f"{row['not_snapped']:,.0f} of {row['total']:,.0f} {col} "
            f"({row['not_snapped_pct']:.1f} %)" for col, row in lost.iterrows()
            if row["not_snapped"] > 0]
    if len(s.unsnapped):
        logger.warning("%s: %d of %d cells not snapped to the %s network (%s); not counted in "
                       "its reachable totals: %s", what, len(s.unsnapped), s.n_items,
                       network.mode, unsnapped_reasons(s.unsnapped, max_snap_m=max_snap_m),
                       "; ".join(left) or "no one")
    return s, lost


def reachable_totals(
    network: Network,
    sites,
    demand: acc.Snapping,
    *,
    columns: list[str],
    limits_min: list[float],
    prefix: str = "",
    progress: bool = False,
) -> pd.DataFrame:
    """Sum demand values reachable from each site within each time limit.

    Parameters
    ----------
    network : Network
    sites : GeoDataFrame, Snapping or Reach
        Origins.
    demand : Snapping
        Snapped demand points (from :func:`snap_demand`) carrying ``columns``.
    columns : list of str
        Value columns of the demand points, e.g. ``["jobseekers_n"]``.
    limits_min : list of float
        Time limits in minutes.
    prefix : str
        Mode label put in the result names, e.g. ``"walk"``.

    Returns
    -------
    DataFrame
        Aligned to the sites; one column per (column, limit) named
        ``<stem>_<prefix>_<T>min_n`` (``jobseekers_walk_20min_n``), persons (float);
        NaN for sites not snapped.

    Notes
    -----
    One bounded search per distinct site (sites snapped alike share it), to the
    largest limit, gives every column and limit
    (:func:`productivecity.accessibility.search._catchments`); the results equal
    one :func:`~productivecity.accessibility.cumulative_opportunities` per column and
    limit (:func:`_reachable_totals_reference`).
    """
    if isinstance(sites, acc.Reach):
        return _reachable_totals_reference(network, sites, demand, columns=columns,
                                           limits_min=limits_min, prefix=prefix,
                                           progress=progress)
    return _totals_frame(_catchments_of(network, sites, demand, columns, limits_min,
                                        progress=progress), columns, limits_min, prefix)


def _catchments_of(network: Network, sites, demand: acc.Snapping, columns, limits_min, *,
                   progress: bool = False):
    """Sum ``columns`` of ``demand`` within each limit of each site: one search per site.

    Returns the :class:`~productivecity.accessibility.search._Catchments` and the sites'
    snapping.
    """
    from productivecity.accessibility import search as _search
    from productivecity.accessibility.measures import _weights

    limits = [check_limit_min(t, allow_inf=True) for t in limits_min]
    s = _search._as_snapping(network, sites, what="origins", allow_none=False)
    d = _search._as_snapping(network, demand, what="destinations", allow_none=False)
    values = np.column_stack([_weights(d, c, what="destinations")[0] for c in columns]) \
        if columns else np.zeros((d.n_items, 0))
    return _search._catchments(network, s, d, "time", limits, values, progress=progress), s


def _totals_frame(catch, columns, limits_min, prefix: str) -> pd.DataFrame:
    """Return the columns of :func:`reachable_totals` from :func:`_catchments_of`."""
    c, s = catch
    valid = s.snapped.to_numpy()
    out = {}
    for j, col in enumerate(columns):
        stem = col[:-2] if col.endswith("_n") else col
        for t in limits_min:
            name = f"{stem}_{prefix}_{t:g}min_n" if prefix else f"{stem}_{t:g}min_n"
            k = int(np.searchsorted(c.limits, float(t)))
            v = c.sums[:, k, j].copy()
            v[~valid] = np.nan
            out[name] = v
    return pd.DataFrame(out, index=s.index)


def _reachable_totals_reference(network: Network, sites, demand: acc.Snapping, *,
                                columns: list[str], limits_min: list[float], prefix: str = "",
                                progress: bool = False) -> pd.DataFrame:
    """:func:`reachable_totals` by one search per column and limit (the reference)."""
    out = {}
    for col in columns:
        stem = col[:-2] if col.endswith("_n") else col
        for t in limits_min:
            name = f"{stem}_{prefix}_{t:g}min_n" if prefix else f"{stem}_{t:g}min_n"
            s = acc.cumulative_opportunities(network, sites, demand, weights=col, limit_min=t,
                                             progress=progress)
            out[name] = s.astype(float)
    return pd.DataFrame(out)


def unit_values_at_sites(sites: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
                         values: pd.Series) -> pd.Series:
    """Value of the unit holding most of each site (e.g. the municipal unemployment rate).

    Sites outside every unit, or in units without a value, get NaN.
    """
    check_projected(sites, what="sites")
    units = to_crs(units, sites.crs, what="units")
    geoms = np.asarray(sites.geometry.values)
    ug = np.asarray(units.geometry.values)
    tree = shapely.STRtree(ug)
    si, ui = tree.query(geoms, predicate="intersects")
    # a site wholly inside a unit overlaps it by its own area: one bulk query finds those
    # pairs, only the others are intersected (unit polygons are large)
    ui_in, si_in = shapely.STRtree(geoms).query(ug, predicate="contains_properly")
    n_units = len(ug)
    inside = np.isin(si * n_units + ui, si_in * n_units + ui_in)
    overlap = shapely.area(geoms[si])
    overlap[~inside] = shapely.area(shapely.intersection(geoms[si[~inside]], ug[ui[~inside]]))
    point_like = shapely.get_dimensions(geoms[si]) == 0
    overlap = np.where(point_like, 1.0, overlap)
    df = pd.DataFrame({"si": si, "ui": ui, "a": overlap}).sort_values(["si", "a"],
                                                                        ascending=[True, False])
    best = df.drop_duplicates("si")
    vals = values.reindex(units.index).to_numpy(dtype=float)
    out = np.full(len(sites), np.nan)
    out[best["si"].to_numpy()] = vals[best["ui"].to_numpy()]
    return pd.Series(out, index=sites.index, name=values.name)


def hub_access_2sfca(bike: Network, bs: acc.Snapping, bdem: acc.Snapping,
                     hubs: gpd.GeoDataFrame, *, limit_min: float = 30.0) -> pd.Series:
    """Two-step floating catchment of existing hubs for job seekers, at each site.

    Step 1: each hub ``j`` gets ``R_j = S_j / D_j`` where ``D_j`` is the job seekers
    (demand points' ``jobseekers_n``) within ``limit_min`` of the hub and ``S_j`` its
    training places where known, else 1 (one hub). Step 2: a site gets the sum of
    ``R_j`` over the hubs within ``limit_min`` of it, times 1,000.

    Evaluated at the demand points themselves, ``sum_k A_k D_k / 1000 = sum_j S_j`` over
    hubs that reach any demand (the supply is conserved).

    Parameters
    ----------
    bike : Network
    bs : Snapping
        Sites (or any points) where the access is evaluated.
    bdem : Snapping
        Demand points with a ``jobseekers_n`` column.
    hubs : GeoDataFrame
        Existing hubs, optionally with ``training_places_n``.
    limit_min : float, default 30

    Returns
    -------
    pandas.Series
        ``hub_access_2sfca_per_1000_jobseekers`` aligned to ``bs``; NaN for unsnapped sites.
    """
    if hubs.empty:
        return pd.Series(np.nan, index=bs.index)
    if "training_places_n" in hubs.columns:
        supply = pd.to_numeric(hubs["training_places_n"], errors="coerce").fillna(1.0)
    else:
        supply = pd.Series(1.0, index=hubs.index)
    # hubs off the bike network are named once, by the accessibility indicators
    hsnap = acc.snap(bike, hubs, what="hubs", warn=False)
    demand = acc.cumulative_opportunities(bike, hsnap, bdem, weights="jobseekers_n",
                                          limit_min=limit_min)
    ratio = supply.astype(float) / demand.replace(0, np.nan)
    ratio = ratio.dropna()
    if ratio.empty:
        return pd.Series(np.nan, index=bs.index)
    # hubs with demand in reach: all snapped
    tt = acc.travel_times(bike, bs, acc.snap(bike, hubs.loc[ratio.index], what="hubs",
                                             warn=False), limit_min=limit_min)
    r = ratio.reindex(tt.index.get_level_values("destination")).to_numpy()
    per_site = pd.Series(r, index=tt.index.get_level_values("origin")).groupby(level=0).sum()
    out = per_site.reindex(bs.index).fillna(0.0) * 1000.0
    snapped = bs.snapped.reindex(bs.index).to_numpy()
    out[~snapped] = np.nan
    return out.rename("hub_access_2sfca_per_1000_jobseekers")


def demand_surface(
    layers,
    jobseekers: pd.DataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
    cell_m: float = DEFAULT_SURFACE_CELL_M,
    source: str = "the job-seeker table",
    skip_buildings=(),
    residential_land: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Residents and job seekers of the study area spread over lattice cells.

    The one demand surface of a run: the indicators count it in catchments and
    the allocation sums it into demand units. Residents come from the
    municipalities layer (``population_n``), job seekers and low-educated job
    seekers from ``jobseekers``; both are spread by :func:`dasymetric_points`
    (residential footprints, finer neighbourhood populations where known).

    Parameters
    ----------
    layers : LayerSet
        With ``units_municipalities`` (and ``units_neighbourhoods`` if present).
    jobseekers : DataFrame
        Per unit of ``units_municipalities`` (index): ``jobseekers_n`` and
        ``jobseekers_low_edu_n`` (persons). Units absent from it have no data.
    buildings, building_coverage, cell_m, skip_buildings, residential_land
        See :func:`dasymetric_points`.
    source : str
        Name of the job-seeker table in notes.

    Returns
    -------
    cells : GeoDataFrame
        Index ``cell_id``; ``unit``, ``population_n``, ``jobseekers_n``,
        ``jobseekers_low_edu_n`` (persons) and ``no_data`` (True for cells of units
        without job-seeker data: their job seekers are unknown and carried as 0).
    notes : list of str

    Notes
    -----
    The region's tables become a generic unit table (code → measures) spread by
    :func:`unit_demand_surface`, as a user's ``[demand]`` table is.
    """
    notes: list[str] = []
    muni = layers["units_municipalities"]
    js = jobseekers.loc[jobseekers.index.isin(muni.index)]
    totals = js[["jobseekers_n", "jobseekers_low_edu_n"]].reindex(muni.index)
    nodata = totals["jobseekers_n"].isna()
    if nodata.any():
        notes.append(f"no job-seeker data for {list(muni.loc[nodata, 'name'])} "
                     f"({source} covers {len(js)} units)")
    outside = jobseekers.index[~jobseekers.index.isin(muni.index)]
    if len(outside):  # checked against the unit list both ways: nothing dropped silently
        notes.append(f"{len(outside)} row(s) of {source} are for units not in the study area, "
                     f"not used: {list(map(str, outside[:10]))}"
                     + (" ..." if len(outside) > 10 else ""))
    totals.insert(0, "population_n", muni["population_n"].astype("Float64").astype(float))
    # a region's tables are one adapter of the generic unit table: the same spreading
    cells, more = unit_demand_surface(
        muni, totals, population=layers.layers.get("units_neighbourhoods"),
        buildings=buildings, building_coverage=building_coverage, cell_m=cell_m,
        source=source, skip_buildings=skip_buildings, residential_land=residential_land)
    notes.extend(n for n in more if not n.startswith("no jobseekers"))  # said above, by name
    return cells, notes


_JOBSEEKER_MEASURES = ("jobseekers_n", "jobseekers_low_edu_n")


def unit_demand_surface(
    units: gpd.GeoDataFrame | None = None,
    totals: pd.DataFrame | None = None,
    *,
    raster: gpd.GeoDataFrame | None = None,
    raster_measure: str = "population_n",
    population: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
    cell_m: float = DEFAULT_SURFACE_CELL_M,
    source: str = "the demand table",
    skip_buildings=(),
    residential_land: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return the demand surface from demand data in any shape: a unit table, a raster, or both.

    The generic counterpart of :func:`demand_surface` (which reads a region's
    municipality tables). Measures the inputs do not give are absent from the
    result (their indicators are then missing, never zero).

    * ``units`` and ``totals`` (a table joined to units,
      :func:`productivecity.sources.demand.join_demand_table`): each measure's
      unit totals are spread by :func:`dasymetric_points` over lattice cells
      (residential footprints; ``population`` polygons, or the raster, first).
    * with ``raster`` as well (cells of
      :func:`productivecity.sources.demand.read_raster_cells` cut by the
      units): the raster's counts weight the spreading inside each unit, and
      give the units' ``raster_measure`` totals where the table lacks them.
    * ``raster`` alone (cells cut by the study area): the surface is the
      raster's cells as points (:func:`~productivecity.sources.demand.cells_to_points`),
      carrying ``raster_measure``.

    Parameters
    ----------
    units : GeoDataFrame, optional
        Unit polygons indexed by code (metric CRS).
    totals : DataFrame, optional
        Per unit (aligned to ``units``): measures in ``*_n`` columns (persons),
        NaN for units without data.
    raster : GeoDataFrame, optional
        Raster cell pieces with ``raster_measure`` and ``unit``.
    raster_measure : {"population_n", "jobseekers_n"}
    population : GeoDataFrame, optional
        Finer polygons with ``population_n`` (e.g. neighbourhoods), used to
        weight the spreading when there is no raster.
    buildings, building_coverage, cell_m, skip_buildings, residential_land
        See :func:`dasymetric_points`.
    source : str
        Name of the demand data in notes.

    Returns
    -------
    cells : GeoDataFrame
        Index ``cell_id``; ``unit``, the measures given (persons, float) and
        ``no_data`` (True for cells of units without job-seeker data: their
        job seekers are unknown and carried as 0, as in :func:`demand_surface`).
        ``attrs["weights"]``: per unit code, what weighted the spreading
        (``"buildings"``, ``"population"``, ``"residential land"``, ``"area"``
        or ``"no data"``; the first measure's).
    notes : list of str
    """
    from productivecity.sources.demand import cells_to_points, raster_sums

    notes: list[str] = []
    if units is None or totals is None:
        if raster is None:
            raise ParameterError("a demand surface needs a unit table (units and totals) or a "
                                 "raster")
        pts = cells_to_points(raster)
        out = pts[["unit", raster_measure]].copy()
        out = gpd.GeoDataFrame(out, geometry=pts.geometry, crs=pts.crs)
        out["unit"] = "raster"
        out["no_data"] = False
        notes.append(f"demand from the raster alone: {out[raster_measure].sum():,.1f} "
                     f"{raster_measure} in {len(out)} cell(s) (no other measure)")
        return out, notes

    check_projected(units, what="units")
    totals = totals.reindex(units.index).astype(float)
    measures = [m for m in totals.columns if totals[m].notna().any()]
    weights_layer = population
    if raster is not None:
        from_raster = raster_sums(raster, units, measure=raster_measure)
        if raster_measure not in measures:
            totals[raster_measure] = from_raster
            measures.append(raster_measure)
            notes.append(f"{raster_measure} per unit summed from the raster")
        covered = raster.assign(_m2=raster["cell_m2"] * raster["share_inside"]).groupby(
            "unit")["_m2"].sum()
        cov_pct = 100 * covered.reindex([str(u) for u in units.index]).fillna(0).to_numpy() \
            / units.geometry.area.to_numpy()
        low = [str(u) for u, p in zip(units.index, cov_pct, strict=True) if p < 99.0]
        if low:
            notes.append(f"the raster covers less than 99% of unit(s) {low[:20]} (nodata or "
                         f"outside its extent): counts there follow the covered part")
        weights_layer = gpd.GeoDataFrame({"population_n": raster[raster_measure].to_numpy()},
                                         geometry=raster.geometry.to_numpy(), crs=raster.crs)
    if not measures:
        raise SchemaError(f"{source} gives no value for any unit")
    parts = []
    for m in measures:
        pts, rep = dasymetric_points(units, totals[[m]], cell_m=cell_m, buildings=buildings,
                                     building_coverage=building_coverage,
                                     population=weights_layer, skip_buildings=skip_buildings,
                                     residential_land=residential_land)
        if m == measures[0]:
            notes.extend(f"dasymetric: {n}" for n in rep.notes())
            weights_used = {str(u): str(v) for u, v in rep.method.items()}
        parts.append(pts)
    geom = pd.concat([p.geometry for p in parts])
    geom = geom[~geom.index.duplicated()]
    unit = pd.concat([p["unit"] for p in parts])
    unit = unit[~unit.index.duplicated()]
    values = pd.concat([p[[m]] for p, m in zip(parts, measures, strict=True)], axis=1)
    out = gpd.GeoDataFrame({"unit": unit}, geometry=geom, crs=units.crs).join(values)
    out = out[["unit", *[m for m in _MEASURE_ORDER if m in measures], out.geometry.name]]
    js = [m for m in _JOBSEEKER_MEASURES if m in measures]
    no_data = out[js].isna().any(axis=1) if js else pd.Series(False, index=out.index)
    out["no_data"] = no_data.to_numpy(dtype=bool)
    for m in measures:
        unknown = out[m].isna()
        if unknown.any():
            units_nd = sorted(out.loc[unknown, "unit"].unique())
            how = ("carried as 0 and flagged no_data" if m in _JOBSEEKER_MEASURES
                   else "counted 0 there")
            notes.append(f"no {m} in {source} for unit(s) {units_nd[:20]}: {how}")
            out[m] = out[m].fillna(0.0)
    out.attrs["weights"] = weights_used
    return out, notes


_MEASURE_ORDER = ("population_n", "jobseekers_n", "jobseekers_low_edu_n")
