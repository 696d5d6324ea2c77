"""Every indicator for a set of candidate sites, in one table.

:func:`site_indicators` takes candidate sites, the layers of their study area
and the :class:`IndicatorInputs` (walk and bike networks, the dasymetric demand
surface, buildings, open land, unit rates) and returns one GeoDataFrame of sites
with documented indicator columns (:func:`~productivecity.indicators.options.
indicator_definitions`; catchment times from :class:`IndicatorOptions`) and an
:class:`IndicatorReport` of what could not be computed and why. It reads no
file: :func:`productivecity.workflow.inputs.load_indicator_inputs` does.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity import accessibility as acc
from productivecity.crs import to_crs
from productivecity.indicators import access as _access
from productivecity.indicators import labour as _labour
from productivecity.indicators import vacancy as _vacancy
from productivecity.indicators.options import IndicatorOptions, indicator_definitions
from productivecity.layers import LayerSet
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)

#: Indicator columns and definitions with the default catchment times (unit in the name);
#: :func:`~productivecity.indicators.options.indicator_definitions` gives them for other times.
INDICATORS: dict[str, str] = indicator_definitions()


@dataclasses.dataclass
class IndicatorInputs:
    """The data the indicators are computed from, besides the sites and layers.

    Built from files by :func:`productivecity.workflow.inputs.load_indicator_inputs`
    (or by hand, in a notebook). Nothing here is read from disk by the indicators.

    Attributes
    ----------
    walk, bike : Network
        Street networks.
    demand : GeoDataFrame or None
        The dasymetric demand surface (:func:`~productivecity.indicators.labour.demand_surface`):
        points with ``population_n``, ``jobseekers_n``, ``jobseekers_low_edu_n``
        (persons; a column may be absent or all NaN when its data are missing) and
        ``no_data`` (True where the unit has no job-seeker data). None: no demand
        data at all (the labour indicators are missing, named in the report).
    buildings : GeoDataFrame, optional
        Building footprints (``residential`` column).
    building_coverage : shapely geometry, optional
        Where ``buildings`` are complete.
    osm_coverage : shapely geometry, optional
        Where the OSM layers are complete (the extract's clipping polygon); None: everywhere.
    open_land : GeoDataFrame, optional
        Open land polygons (``open_land_share_pct``; NaN without them).
    unit_rates : DataFrame, optional
        Per unit of ``units_municipalities`` (index): ``unemployment_rate_pct`` and
        ``low_edu_adults_pct`` (NaN columns without it).
    notes : list of str
        Sources, fall-backs and caveats of the inputs.
    demand_missing : str
        Why there is no demand surface (the missing inputs, named), when ``demand`` is None.
    """

    walk: Network
    bike: Network
    demand: gpd.GeoDataFrame | None
    buildings: gpd.GeoDataFrame | None = None
    building_coverage: object = None
    osm_coverage: object = None
    open_land: gpd.GeoDataFrame | None = None
    unit_rates: pd.DataFrame | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    demand_missing: str = ""


@dataclasses.dataclass
class IndicatorReport:
    """What could not be computed, and why.

    Attributes
    ----------
    missing : DataFrame
        Per indicator column: ``missing_n`` (sites with NaN) and ``reason``.
    unsnapped_sites : DataFrame
        Sites not tied to the walk network (index ``site_id``; ``reason``, ``dist_m``).
    demand_not_snapped : DataFrame
        Persons in cells too far from the network (not counted in reachable totals).
    notes : list of str
        Sources, fall-backs and caveats.
    timings_s : dict of str to float
        Seconds per step.
    """

    missing: pd.DataFrame
    unsnapped_sites: pd.DataFrame
    demand_not_snapped: pd.DataFrame
    notes: list[str]
    timings_s: dict[str, float]


_DEMAND_VALUES = ["population_n", "jobseekers_n", "jobseekers_low_edu_n"]


def site_indicators(
    sites: gpd.GeoDataFrame,
    layers: LayerSet,
    inputs: IndicatorInputs,
    *,
    options: IndicatorOptions | None = None,
    inventory: gpd.GeoDataFrame | None = None,
    inventory_status_column: str = "status",
    progress: bool = True,
) -> tuple[gpd.GeoDataFrame, IndicatorReport]:
    """Compute every indicator of :func:`indicator_definitions` for the sites.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index ``site_id``), projected to the layers' CRS (the
        study area's) when in another.
    layers : LayerSet
        The study area's layers (:func:`productivecity.layers.load_layers`).
    inputs : IndicatorInputs
        Networks, demand surface, buildings, open land and unit rates
        (:func:`productivecity.workflow.inputs.load_indicator_inputs` reads them).
    options : IndicatorOptions, optional
        Catchment times; they name the columns (default :class:`IndicatorOptions` ()).
    inventory : GeoDataFrame, optional
        Official vacancy inventory, used in place of the OSM vacancy proxies.
    inventory_status_column : str, default "status"
        Column of ``inventory`` telling vacant from occupied.
    progress : bool
        Show progress.

    Returns
    -------
    sites : GeoDataFrame
        The input sites, in the layers' CRS, with the indicator columns added
        (input not modified).
    report : IndicatorReport

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> inputs = load_indicator_inputs(layers)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, report = pc.site_indicators(sites, layers, inputs, progress=False)
    >>> "jobseekers_walk_20min_n" in table.columns
    True
    """
    options = options or IndicatorOptions()
    definitions = indicator_definitions(options)
    # every overlay and coverage of the layers is in the study area's CRS: so are the sites
    sites = to_crs(sites, layers["study_area"].crs, what="sites")
    timings: dict[str, float] = {}
    notes: list[str] = list(inputs.notes)
    t0 = time.perf_counter()
    walk, bike = inputs.walk, inputs.bike
    osm_coverage = inputs.osm_coverage
    absent = _absent_layers(layers)  # layer -> why it is missing
    missing_inputs: dict[str, str] = {}  # column -> the missing input, named

    # vacancy and land; OSM layers are complete inside the extract's clipping polygon only
    t = time.perf_counter()
    vac = _vacancy.vacancy_indicators(
        sites, zones=layers.optional("industrial_zones"), poi=layers.optional("poi"),
        buildings=inputs.buildings,
        building_coverage=inputs.building_coverage, inventory=inventory,
        inventory_status_column=inventory_status_column,
        zones_coverage=osm_coverage, poi_coverage=osm_coverage,
    )
    if inputs.open_land is not None:
        land = _vacancy.land_cover_shares(sites, inputs.open_land, coverage=osm_coverage)
        for col in land.columns:
            vac[col] = land[col]
    else:
        for col in _vacancy.LAND_COVER_COLUMNS:
            vac[col] = pd.Series(np.nan, index=sites.index)
            missing_inputs[col] = "input missing: no open land (OSM landuse)"
    missing_inputs.update(vac.attrs.get("missing_inputs", {}))
    timings["vacancy"] = time.perf_counter() - t

    # labour: the dasymetric demand surface, snapped to both networks
    t = time.perf_counter()
    cells = inputs.demand
    barriers = water_barriers(layers)
    ws = acc.snap(walk, sites, barriers=barriers, what="sites")
    bs = acc.snap(bike, sites, barriers=barriers, what="sites")
    labour_cols = [c for c in definitions if c.startswith(("jobseekers_", "jobseekers_low"))]
    lab = pd.DataFrame(index=sites.index)
    wdem = bdem = None
    wlost = blost = pd.DataFrame()
    have = [] if cells is None else [c for c in _DEMAND_VALUES
                                     if c in cells.columns and cells[c].notna().any()]
    if cells is not None and have:
        no_js = (cells["no_data"].to_numpy(dtype=bool) if "no_data" in cells.columns
                 else np.zeros(len(cells), dtype=bool))
        wdem, wlost = _labour.snap_demand(walk, cells, value_columns=have)
        bdem, blost = _labour.snap_demand(bike, cells, value_columns=have)
    timings["dasymetric"] = time.perf_counter() - t
    groups = [c for c in ("jobseekers_n", "jobseekers_low_edu_n") if c in have]
    # one search per site and mode gives every catchment sum of the mode
    residents_min = options.residents_bike_limit_min
    catch = {}
    if groups or "population_n" in have:
        for mode, net, snapped, dem in (("walk", walk, ws, wdem), ("bike", bike, bs, bdem)):
            catch[mode] = _mode_catchments(
                net, snapped, dem, cells, sites, groups=groups, no_js=no_js,
                limits=list(options.limits(mode)),
                residents_min=residents_min if mode == "bike" and "population_n" in have
                else None, progress=progress)
    if groups:
        lab = pd.concat([catch[m].totals(groups, options.limits(m), m)
                         for m in ("walk", "bike")], axis=1)
        lab = lab[[c for c in definitions if c in lab.columns]]
    why_demand = inputs.demand_missing or "input missing: no job-seeker data"
    for col in labour_cols:
        if col not in lab.columns:
            lab[col] = np.nan
            group = "jobseekers_low_edu_n" if "low_edu" in col else "jobseekers_n"
            missing_inputs[col] = (why_demand if cells is None else
                                   f"input missing: the demand data have no {group}")
    if groups and no_js.any():
        blanked = _blank_known_share(lab, catch)
        notes.append(f"job-seeker counts kept where >= {MIN_KNOWN_RESIDENTS_PCT:g}% of the "
                     f"catchment's residents have job-seeker data (lower bounds there), else "
                     f"NaN; sites set to NaN: {blanked}")
    muni = layers.optional("units_municipalities")
    for col in ("unemployment_rate_pct", "low_edu_adults_pct"):
        rates = inputs.unit_rates
        if rates is not None and col in rates.columns and muni is not None:
            lab[col] = _labour.unit_values_at_sites(sites, muni, rates[col])
        else:
            lab[col] = np.nan
            missing_inputs[col] = (
                f"input missing: units_municipalities ({absent['units_municipalities']})"
                if muni is None else "input missing: no unemployment / education rates per "
                                     "unit")
    hubs = layers.optional("hubs")
    col = "hub_access_2sfca_per_1000_jobseekers"
    if hubs is not None and bdem is not None and "jobseekers_n" in have:
        lab[col] = _labour.hub_access_2sfca(bike, bs, bdem, hubs,
                                            limit_min=options.hub_access_bike_limit_min)
    else:
        lab[col] = np.nan
        missing_inputs[col] = (f"input missing: hubs ({absent.get('hubs', 'none')})"
                               if hubs is None else why_demand)
    timings["labour"] = time.perf_counter() - t

    t = time.perf_counter()
    res = _access.access_indicators(
        sites, walk=walk, bike=bike, transit_stops=layers.optional("transit_stops"),
        hubs=hubs, canal=layers.optional("canal"), residents=None, walk_sites=ws,
        bike_sites=bs, options=options,
    )
    if "population_n" in have:  # the residents by bike come from the bike catchments
        col = f"residents_bike_{residents_min:g}min_n"
        res[col] = catch["bike"].column("population_n", residents_min)
        res.attrs["missing_inputs"].pop(col, None)
    for col, why in res.attrs.get("missing_inputs", {}).items():
        layer = next((name for name in absent if name in why), None)
        missing_inputs[col] = f"{why} ({absent[layer]})" if layer else why
    timings["accessibility"] = time.perf_counter() - t

    if osm_coverage is not None:
        # the networks come from the same OSM extract: outside it a travel time would run
        # over streets that are simply not in the data, so it is unknown, not long
        outside = ~_vacancy.covered_sites(sites, osm_coverage).to_numpy()
        if outside.any():
            net_cols = [c for c in lab.columns if c not in _UNIT_COLUMNS] + list(res.columns)
            for frame in (lab, res):
                for c in (c for c in net_cols if c in frame.columns):
                    frame[c] = frame[c].mask(outside)
            notes.append(f"{int(outside.sum())} site(s) outside the street data's coverage: "
                         f"their travel times and catchments are NaN (no data, not far)")
    out = sites.copy()
    for frame in (vac, lab, res):
        for col in frame.columns:
            out[col] = frame[col]
    if "area_ha" not in out.columns:
        out["area_ha"] = out.geometry.area / 10_000
    missing = _missing_table(out, missing_inputs, walk=ws, bike=bs, columns=list(definitions))
    unsnapped = ws.unsnapped
    lost = pd.concat({"walk": wlost, "bike": blost}) if len(wlost) or len(blost) else wlost
    timings["total"] = time.perf_counter() - t0
    for step, s in timings.items():
        logger.info("indicators: %s %.1f s", step, s)
    return out, IndicatorReport(missing=missing, unsnapped_sites=unsnapped,
                                demand_not_snapped=lost, notes=notes, timings_s=timings)


#: Indicator columns read from the unit tables, not from the street networks.
_UNIT_COLUMNS = ("unemployment_rate_pct", "low_edu_adults_pct")

#: A job-seeker count is kept where at least this share of the catchment's residents live
#: in municipalities with job-seeker data (else it is set to NaN: unknown, not zero).
MIN_KNOWN_RESIDENTS_PCT = 95.0


@dataclasses.dataclass
class _ModeCatchments:
    """Catchment sums of one mode from one search per site (:func:`_mode_catchments`)."""

    sums: pd.DataFrame  # columns (value column, limit), persons; NaN for unsnapped sites

    def column(self, value: str, limit_min: float) -> pd.Series:
        """Persons of ``value`` within ``limit_min`` of each site."""
        return self.sums[(value, float(limit_min))]

    def totals(self, groups, limits, mode: str) -> pd.DataFrame:
        """Return the columns of :func:`~productivecity.indicators.labour.reachable_totals`."""
        return pd.DataFrame({f"{g[:-2]}_{mode}_{t:g}min_n": self.column(g, t)
                             for g in groups for t in limits}, index=self.sums.index)


def _mode_catchments(net: Network, snapped: acc.Snapping, dem: acc.Snapping,
                     cells: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, groups,
                     no_js: np.ndarray, limits, residents_min: float | None,
                     progress: bool) -> _ModeCatchments:
    """Every catchment sum of a mode from one bounded search per (distinct) site.

    The job-seeker ``groups`` and, where some cells lack job-seeker data, the residents
    with and without it (``population_n``, ``population_nodata_n``) and the cells
    without it (``nodata_cells_n``) within each of ``limits``; the residents within
    ``residents_min`` too when given.

    The share of residents with job-seeker data that decides whether a count is kept
    has been measured from the sites snapped without the water barriers (``sites``
    snapped again): for the few sites whose access points differ without them, its
    ``share_population_n`` and ``share_population_nodata_n`` come from a search of
    their own, so the counts kept or blanked are the same as before.
    """
    from productivecity.accessibility.search import _catchments

    frame = dem.frame
    columns = list(groups)
    values = [frame[c].to_numpy(dtype=float) for c in groups]
    if no_js.any() or residents_min is not None:
        columns.append("population_n")
        values.append(frame["population_n"].to_numpy(dtype=float))
    if no_js.any():
        nodata = pd.Series(np.where(no_js, cells["population_n"].to_numpy(dtype=float), 0.0),
                           index=cells.index).reindex(dem.index).to_numpy()
        columns.append("population_nodata_n")
        values.append(nodata)
        columns.append("nodata_cells_n")
        values.append(pd.Series(no_js.astype(float), index=cells.index).reindex(
            dem.index).to_numpy())
    lims = sorted({float(t) for t in limits} | ({float(residents_min)} if residents_min
                                                 is not None else set()))
    c = _catchments(net, snapped, dem, "time", lims, np.column_stack(values),
                    progress=progress)
    valid = snapped.snapped.to_numpy()
    data = {}
    for j, col in enumerate(columns):
        for k, t in enumerate(c.limits):
            v = c.sums[:, k, j].copy()
            v[~valid] = np.nan
            data[(col, float(t))] = v
    sums = pd.DataFrame(data, index=snapped.index)
    if no_js.any():
        plain = acc.snap(net, sites, what="sites", warn=False)
        # only sites with a cell without job-seeker data in reach are ever blanked
        near = (sums[("nodata_cells_n", float(lims[-1]))] > 0).to_numpy()
        differ = np.flatnonzero((_access_keys(plain) != _access_keys(snapped)) & near)
        for col in ("population_n", "population_nodata_n"):
            for t in lims:
                sums[(f"share_{col}", float(t))] = sums[(col, float(t))]
        logger.info("%s: %d site(s) snapped otherwise without the water barriers: their "
                    "share of residents with job-seeker data from a search of their own",
                    net.mode, len(differ))
        if len(differ):
            sub = acc.snap(net, sites.iloc[differ], what="sites", warn=False)
            k = [columns.index("population_n"), columns.index("population_nodata_n")]
            c2 = _catchments(net, sub, dem, "time", lims, np.column_stack(values)[:, k])
            ok = sub.snapped.to_numpy()
            for j, col in enumerate(("population_n", "population_nodata_n")):
                for q, t in enumerate(c2.limits):
                    sums.iloc[differ, sums.columns.get_loc((f"share_{col}", float(t)))] = np.where(
                        ok, c2.sums[:, q, j], np.nan)
    return _ModeCatchments(sums=sums)


def _access_keys(s: acc.Snapping) -> np.ndarray:
    """Per item, its access points (edge, node, position, connector) as one bytes value."""
    order = np.argsort(s.item, kind="stable")
    rec = np.empty(len(order), dtype=[("e", "i8"), ("n", "i8"), ("f", "f8"), ("c", "f8")])
    rec["e"], rec["n"] = s.edge[order], s.node[order]
    rec["f"], rec["c"] = s.frac[order], s.connector_m[order]
    buf, size = rec.tobytes(), rec.dtype.itemsize
    ptr = np.zeros(s.n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(s.item, minlength=s.n_items), out=ptr[1:])
    keys = np.empty(s.n_items, dtype=object)
    keys[:] = [buf[size * a:size * b] for a, b in zip(ptr[:-1], ptr[1:], strict=True)]
    return keys


def _blank_known_share(lab: pd.DataFrame, catch: dict) -> dict:
    """Blank job-seeker counts whose catchment has too many residents without data.

    For each count (mode, limit), the residents within the limit are split into those
    of municipalities with and without job-seeker data; where less than
    :data:`MIN_KNOWN_RESIDENTS_PCT` of them are covered the count is set to NaN.
    Returns the number of sites blanked per column.
    """
    blanked = {}
    for mode, c in catch.items():
        cols = [col for col in lab.columns if f"_{mode}_" in col]
        limits = sorted({float(col.rsplit("_", 2)[-2].removesuffix("min")) for col in cols})
        for limit in limits:
            r_all = c.column("share_population_n", limit).reindex(lab.index)
            r_nd = c.column("share_population_nodata_n", limit).reindex(lab.index)
            near = (c.column("nodata_cells_n", limit).reindex(lab.index) > 0).to_numpy()
            known = 100 * (1 - r_nd / r_all.where(r_all > 0))
            bad = known.index[(known < MIN_KNOWN_RESIDENTS_PCT).to_numpy() & near]
            for col in cols:
                if col.endswith(f"_{limit:g}min_n"):
                    lab.loc[bad, col] = np.nan
                    blanked[col] = len(bad)
    return blanked


def _absent_layers(layers: LayerSet) -> dict[str, str]:
    """Layers that were left out, with the reason from their report."""
    out = {}
    for rep in layers.reports:
        if rep.layer not in layers.layers:
            why = next((n.split(": ", 1)[-1] for n in rep.notes
                        if n.startswith("left out")), "not loaded")
            out[rep.layer] = why
    for name in ("industrial_zones", "canal", "hubs", "transit_stops", "units_municipalities",
                 "units_neighbourhoods", "poi"):
        if name not in layers.layers:
            out.setdefault(name, "not loaded")
    return out


def water_barriers(layers: LayerSet) -> gpd.GeoDataFrame | None:
    """Return the canal's water polygons, or None without them.

    A site's or a cell's connector to the street may not cross them when it is snapped.
    """
    canal = layers.layers.get("canal")
    if canal is None or canal.empty:
        return None
    polys = canal.loc[canal.geom_type.isin(["Polygon", "MultiPolygon"])]
    return polys if len(polys) else None


def _missing_table(out: gpd.GeoDataFrame, reasons: dict, *, walk: acc.Snapping,
                   bike: acc.Snapping, columns: list[str]) -> pd.DataFrame:
    """Per indicator: how many sites have no value, and why."""
    on_walk = walk.snapped.reindex(out.index).to_numpy()
    on_bike = bike.snapped.reindex(out.index).to_numpy()
    rows = {}
    for col in columns:
        if col not in out.columns:
            rows[col] = {"missing_n": len(out), "reason": "not computed (input missing)"}
            continue
        miss = out[col].isna().to_numpy()
        n = int(miss.sum())
        if not n:
            rows[col] = {"missing_n": 0, "reason": ""}
            continue
        if col in reasons:
            rows[col] = {"missing_n": n, "reason": reasons[col]}
            continue
        snapped = on_bike if ("_bike_" in col or col.startswith(("hub_", "labour_"))) else on_walk
        mode = "bike" if snapped is on_bike else "walk"
        parts = []
        unsn = int((miss & ~snapped).sum())
        if unsn:
            parts.append(f"{unsn} site(s) not on the {mode} network (see unsnapped sites)")
        if n - unsn:
            parts.append(f"{n - unsn} site(s) without the input data (e.g. no facility in reach, "
                         f"no value for the unit)")
        rows[col] = {"missing_n": n, "reason": "; ".join(parts)}
    return pd.DataFrame(rows).T
