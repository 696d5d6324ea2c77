"""Every indicator for a set of candidate sites, in one table.

:func:`site_indicators` takes candidate sites and the layers of their study
area, builds (or takes) the walk and bike networks, spreads job seekers and
residents over the land (dasymetric), and returns one GeoDataFrame of sites
with documented indicator columns (:data:`INDICATORS`) and an
:class:`IndicatorReport` of what could not be computed and why.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity import accessibility as acc
from productivecity._errors import DataSourceError, EmptyLayerError
from productivecity.indicators import access as _access
from productivecity.indicators import labour as _labour
from productivecity.indicators import vacancy as _vacancy
from productivecity.layers import LayerSet
from productivecity.network.streets import Network, bike_network, walk_network
from productivecity.sources import labour as _labour_src
from productivecity.sources.catalog import DataDir

logger = logging.getLogger(__name__)

#: Indicator columns and their definitions (unit in the name).
INDICATORS: dict[str, str] = {
    "area_ha": "land area of the site (ha)",
    "brownfield_share_pct": "share of the site's area on OSM landuse=brownfield (%)",
    "industrial_share_pct": "share of the site's area on OSM landuse=industrial (%)",
    "vacant_poi_n": "vacant shops (shop=vacant) and disused/abandoned features within 250 m of "
                    "the site (count; OSM proxy of vacancy)",
    "vacant_poi_per_ha": "the same per hectare of the site buffered by 250 m",
    "building_coverage_pct": "building footprint area / land area of the site (%; NaN where no "
                             "building data cover the site)",
    "unbuilt_industrial_ha": "industrial and brownfield land in the site without buildings (ha; "
                             "NaN where no building data)",
    "open_land_share_pct": "share of the site on parks, woods, grass, water, cemeteries, "
                           "allotments or residential land (OSM; %)",
    "jobseekers_walk_20min_n": "job seekers living within 20 min walk (persons, annual average)",
    "jobseekers_walk_30min_n": "job seekers within 30 min walk",
    "jobseekers_bike_20min_n": "job seekers within 20 min by bike",
    "jobseekers_bike_30min_n": "job seekers within 30 min by bike",
    "jobseekers_low_edu_walk_20min_n": "low-educated job seekers within 20 min walk",
    "jobseekers_low_edu_walk_30min_n": "low-educated job seekers within 30 min walk",
    "jobseekers_low_edu_bike_20min_n": "low-educated job seekers within 20 min by bike",
    "jobseekers_low_edu_bike_30min_n": "low-educated job seekers within 30 min by bike",
    "unemployment_rate_pct": "unemployment rate of the site's municipality (% of the active "
                             "population 18-65, 2021, BEST-COST/Sciensano)",
    "low_edu_adults_pct": "adults without upper-secondary diploma in the site's municipality (%)",
    "hub_access_2sfca_per_1000_jobseekers": "existing hubs per 1,000 job seekers within 30 min "
                                            "by bike (two-step floating catchment; a hub counts "
                                            "its training places where known, else 1)",
    "rail_station_walk_time_min": "walk to the nearest rail station (min)",
    "rail_station_daily_stops_n": "average daily train stops at that station (iRail)",
    "tram_metro_stop_walk_time_min": "walk to the nearest tram or metro stop (min)",
    "stops_walk_10min_n": "transit stops (any mode) within 10 min walk",
    "canal_quay_walk_time_min": "walk to the nearest point of the canal bank (min)",
    "nearest_hub_walk_time_min": "walk to the nearest existing hub (min)",
    "nearest_hub_bike_time_min": "bike to the nearest existing hub (min)",
    "residents_bike_15min_n": "residents within 15 min by bike (persons)",
}


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


def site_indicators(
    sites: gpd.GeoDataFrame,
    layers: LayerSet,
    *,
    data_dir: str | os.PathLike | None = None,
    walk: Network | None = None,
    bike: Network | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    building_coverage=None,
    inventory: gpd.GeoDataFrame | None = None,
    inventory_status_column: str = "status",
    year: int = 2024,
    cell_m: float = 100.0,
    progress: bool = True,
) -> tuple[gpd.GeoDataFrame, IndicatorReport]:
    """Compute every indicator of :data:`INDICATORS` for the sites.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index ``site_id``), EPSG:31370.
    layers : LayerSet
        The study area's layers (:func:`productivecity.layers.load_layers`).
    data_dir : path-like, optional
        Data directory with the street network source (OSM PBF/XML) and the
        labour tables (default: the layer set's).
    walk, bike : Network, optional
        Prebuilt networks (built from the data directory's OSM file otherwise).
    buildings : GeoDataFrame, optional
        Building footprints (``residential`` column); loaded from the data
        directory's OSM file when it has them.
    building_coverage : shapely geometry, optional
        Where ``buildings`` are complete (default: the OSM file's extent ∩ area).
    inventory : GeoDataFrame, optional
        Official vacancy inventory, used in place of the OSM vacancy proxies.
    year : int, default 2024
        Year of the job-seeker table.
    cell_m : float, default 100
        Cell size of the dasymetric surface (m).
    progress : bool
        Show progress.

    Returns
    -------
    sites : GeoDataFrame
        The input sites with the indicator columns added (input not modified).
    report : IndicatorReport
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    data_dir = Path(data_dir) if data_dir is not None else layers.data_dir
    if data_dir is None:
        raise DataSourceError("site_indicators needs a data directory (street network and "
                              "labour tables)")
    dd = DataDir(data_dir)
    area = layers["study_area"]
    osm_file = dd.find("osm_pbf") or dd.find("osm_xml")

    # networks
    if walk is None or bike is None:
        if osm_file is None:
            raise DataSourceError(
                f"no OSM street data (PBF or XML) in {data_dir} to build the walk and bike "
                f"networks; pass walk= and bike= networks or add osm/<area>.osm.pbf")
        walk = walk or walk_network(osm_file)
        bike = bike or bike_network(osm_file)
    timings["networks"] = time.perf_counter() - t0

    # vacancy and land; OSM layers are complete inside the extract's clipping polygon only
    t = time.perf_counter()
    osm_coverage = _osm_extent(dd, area)
    if osm_coverage is not None:
        notes.append(f"OSM layers taken as complete inside {dd.find('osm_extent').name} only "
                     f"(outside it OSM-based indicators are NaN)")
    if buildings is None and osm_file is not None:
        from productivecity.sources.osm import buildings as load_buildings

        buildings, brep = load_buildings(area, source=osm_file)
        notes.extend(f"buildings: {n}" for n in brep.notes)
    if building_coverage is None and buildings is not None:
        if osm_coverage is not None:
            building_coverage = osm_coverage
        else:
            from productivecity.sources.osm import buildings_coverage

            cover, _ = buildings_coverage(buildings, area=area)
            building_coverage = cover.geometry.iloc[0]
            notes.append("building coverage estimated from where buildings are mapped")
    open_land = None
    try:
        from productivecity.sources.osm import open_land as load_open_land

        open_land, lrep = load_open_land(area, data_dir=data_dir)
        notes.extend(f"open land: {n}" for n in lrep.notes)
    except (DataSourceError, EmptyLayerError) as exc:
        notes.append(f"open land not available ({exc}): open_land_share_pct is NaN")
    out = sites.copy()
    vac = _vacancy.vacancy_indicators(
        sites, zones=layers["industrial_zones"], poi=layers["poi"], buildings=buildings,
        building_coverage=building_coverage, inventory=inventory,
        inventory_status_column=inventory_status_column,
        zones_coverage=osm_coverage, poi_coverage=osm_coverage,
    )
    vac["open_land_share_pct"] = (
        _vacancy.open_land_share_pct(sites, open_land, coverage=osm_coverage)
        if open_land is not None else pd.Series(np.nan, index=sites.index))
    timings["vacancy"] = time.perf_counter() - t

    # labour: dasymetric job seekers and residents
    t = time.perf_counter()
    muni = layers["units_municipalities"]
    cells, no_js, dnotes = _labour.labour_cells(
        layers, dd, year=year, buildings=buildings, building_coverage=building_coverage,
        cell_m=cell_m)
    notes.extend(dnotes)
    value_cols = ["population_n", "jobseekers_n", "jobseekers_low_edu_n"]
    wdem, wlost = _labour.snap_demand(walk, cells, value_columns=value_cols)
    bdem, blost = _labour.snap_demand(bike, cells, value_columns=value_cols)
    timings["dasymetric"] = time.perf_counter() - t

    t = time.perf_counter()
    ws = acc.snap(walk, sites, barriers=_water(layers))
    bs = acc.snap(bike, sites, barriers=_water(layers))
    lab = pd.concat([
        _labour.reachable_totals(walk, ws, wdem, columns=["jobseekers_n", "jobseekers_low_edu_n"],
                                 limits_min=[20, 30], prefix="walk", progress=progress),
        _labour.reachable_totals(bike, bs, bdem, columns=["jobseekers_n", "jobseekers_low_edu_n"],
                                 limits_min=[20, 30], prefix="bike", progress=progress),
    ], axis=1)
    order = [c for c in INDICATORS if c in lab.columns]
    lab = lab[order]
    if no_js.any():
        blanked = _blank_unknown(lab, sites, cells, no_js, walk=(walk, ws), bike=(bike, bs),
                                 demand={"walk": wdem, "bike": bdem})
        notes.append(f"job-seeker counts kept where >= {MIN_KNOWN_RESIDENTS_PCT:g}% of the "
                     f"catchment's residents have job-seeker data (lower bounds there), else "
                     f"NaN; sites set to NaN: {blanked}")
    rates = _labour_src.read_municipal_rates(dd.require("labour_municipal_rates"))
    lab["unemployment_rate_pct"] = _labour.unit_values_at_sites(
        sites, muni, rates["unemployment_rate_pct"])
    lab["low_edu_adults_pct"] = _labour.unit_values_at_sites(
        sites, muni, rates["low_edu_adults_pct"])
    lab["hub_access_2sfca_per_1000_jobseekers"] = _labour.hub_access_2sfca(
        bike, bs, bdem, layers["hubs"], limit_min=30.0)
    timings["labour"] = time.perf_counter() - t

    t = time.perf_counter()
    res = _access.access_indicators(
        sites, walk=walk, bike=bike, transit_stops=layers["transit_stops"], hubs=layers["hubs"],
        canal=layers["canal"], residents=bdem, walk_sites=ws, bike_sites=bs,
    )
    timings["accessibility"] = time.perf_counter() - t

    for frame in (vac, lab, res):
        for col in frame.columns:
            out[col] = frame[col]
    if "area_ha" not in out.columns:
        out["area_ha"] = out.geometry.area / 10_000
    missing = _missing_table(out, vac.attrs.get("missing_inputs", {}), walk=ws, bike=bs)
    unsnapped = ws.unsnapped
    lost = pd.concat({"walk": wlost, "bike": blost})
    timings["total"] = time.perf_counter() - t0
    for step, s in timings.items():
        logger.info("indicators: %s %.1f s", step, s)
    return out, IndicatorReport(missing=missing, unsnapped_sites=unsnapped,
                                demand_not_snapped=lost, notes=notes, timings_s=timings)


#: A job-seeker count is kept where at least this share of the catchment's residents live
#: in municipalities with job-seeker data (else it is set to NaN: unknown, not zero).
MIN_KNOWN_RESIDENTS_PCT = 95.0


def _blank_unknown(lab: pd.DataFrame, sites: gpd.GeoDataFrame, cells: gpd.GeoDataFrame,
                   no_js: np.ndarray, *, walk, bike, demand) -> dict:
    """Blank job-seeker counts whose catchment has too many residents without data.

    For each count (mode, limit), the residents within the limit are split into those
    of municipalities with and without job-seeker data; where less than
    :data:`MIN_KNOWN_RESIDENTS_PCT` of them are covered the count is set to NaN.
    Only sites that reach a no-data cell at all are examined. Returns the number of
    sites blanked per column.
    """
    cells = cells.assign(population_nodata_n=np.where(no_js, cells["population_n"], 0.0))
    nodata_cells = cells.loc[no_js]
    blanked = {}
    for mode, (net, snapped) in {"walk": walk, "bike": bike}.items():
        dem = demand[mode]
        dem = dataclasses.replace(dem, frame=dem.frame.assign(
            population_nodata_n=cells["population_nodata_n"].reindex(dem.frame.index)))
        cols = [c for c in lab.columns if f"_{mode}_" in c]
        limits = sorted({float(c.rsplit("_", 2)[-2].removesuffix("min")) for c in cols})
        t_nd = acc.nearest_time_min(net, snapped, nodata_cells, limit_min=max(limits))
        t_nd = t_nd.reindex(lab.index)
        for limit in limits:
            near = t_nd.index[(t_nd <= limit).fillna(False).to_numpy(dtype=bool)]
            bad = pd.Index([])
            if len(near):
                sub = sites.loc[near]
                r_all = acc.cumulative_opportunities(net, sub, dem, weights="population_n",
                                                     limit_min=limit)
                r_nd = acc.cumulative_opportunities(net, sub, dem,
                                                    weights="population_nodata_n",
                                                    limit_min=limit)
                known = 100 * (1 - r_nd / r_all.where(r_all > 0))
                bad = known.index[(known < MIN_KNOWN_RESIDENTS_PCT).to_numpy()]
            for col in cols:
                if col.endswith(f"_{limit:g}min_n"):
                    lab.loc[bad, col] = np.nan
                    blanked[col] = len(bad)
    return blanked


def _water(layers: LayerSet):
    canal = layers.layers.get("canal")
    if canal is None or canal.empty:
        return None
    polys = canal.loc[canal.geom_type.isin(["Polygon", "MultiPolygon"])]
    return polys if len(polys) else None


def _osm_extent(dd: DataDir, area: gpd.GeoDataFrame):
    """Return the OSM extract's clipping polygon within the area (None if there is none)."""
    path = dd.find("osm_extent")
    if path is None:
        return None
    import shapely

    from productivecity.sources._read import read_vector

    poly = shapely.union_all(np.asarray(read_vector(path).geometry.values))
    return shapely.intersection(poly, area.geometry.iloc[0])


def _missing_table(out: gpd.GeoDataFrame, vacancy_reasons: dict, *, walk: acc.Snapping,
                   bike: acc.Snapping) -> pd.DataFrame:
    """Per indicator: how many sites have no value, and why."""
    on_walk = walk.snapped.reindex(out.index).to_numpy()
    on_bike = bike.snapped.reindex(out.index).to_numpy()
    rows = {}
    for col in INDICATORS:
        if col not in out.columns:
            rows[col] = {"missing_n": len(out), "reason": "not computed (input missing)"}
            continue
        miss = out[col].isna().to_numpy()
        n = int(miss.sum())
        if not n:
            rows[col] = {"missing_n": 0, "reason": ""}
            continue
        if col in vacancy_reasons:
            rows[col] = {"missing_n": n, "reason": vacancy_reasons[col]}
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
