"""A large synthetic region: a study area tiled ``nx`` x ``ny`` times (issue 15, item 2).

Used by ``scripts/bench_scale.py`` (the ``per_site_ms_*`` and ``region_1m_*`` figures)
and ``tests/test_bench_scale.py``. As ``scripts/bench_accessibility.py`` tiles the walk
network, every input of the labour and access indicators is repeated on a grid of
tiles, tile ``(i, j)`` shifted by ``(i dx, j dy)``:

- the walk and bike networks, edge geometries, lengths and directions kept exactly (not
  rebuilt as straight edges), the copies joined at their borders by one link per pair
  of neighbouring tiles (east-most node of the main component to the west-most node of
  the tile to the east, north-most to south-most for the tile to the north), so the
  region is one connected network as bench_accessibility's tiling is;
- the demand surface (persons conserved: tiles x the base total), the transit stops,
  hubs, canal and its water polygons (the snapping barriers);
- the sites, built lazily in blocks (:meth:`Region.sites`): site ``k`` of tile ``t``
  has position ``t n + k`` (``n`` base sites), so 1 M polygons never sit in memory at once.

Tiles are ``gap_m`` apart (the bounding box of every input plus the gap): with a gap larger
than the snapping distances every point snaps as in its own tile, and a site farther than
a catchment's reach from its tile's link nodes gets exactly the base region's values.

:func:`region_indicators` runs the labour and access indicators of the pipeline's
indicators step (:func:`productivecity.indicators.table.site_indicators`) through their
public functions: the sites snapped to both networks (the canal as barrier), the
job-seeker and resident catchment sums per mode and limit
(:func:`~productivecity.indicators.labour.reachable_totals`, one search per site and
mode), the hub 2SFCA and the nearest-facility times and stop counts
(:func:`~productivecity.indicators.access.access_indicators`). Left out: the vacancy and
land indicators and the unit rates (spatial joins on layers that are not tiled here).
"""

from __future__ import annotations

import dataclasses
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity import accessibility as acc
from productivecity.indicators import access as _access
from productivecity.indicators import labour as _labour
from productivecity.indicators.options import IndicatorOptions
from productivecity.network import streets as _streets
from productivecity.network.streets import Network

#: Demand value columns carried by the tiled demand surface.
DEMAND_COLUMNS = ("population_n", "jobseekers_n", "jobseekers_low_edu_n")
#: Node id offset between tiles (OSM node ids stay below it).
_ID_STEP = 10**11


@dataclasses.dataclass
class Base:
    """The inputs of one study area that are tiled (all in one metric CRS)."""

    walk: Network
    bike: Network
    sites: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    transit_stops: gpd.GeoDataFrame | None
    hubs: gpd.GeoDataFrame | None
    canal: gpd.GeoDataFrame | None
    options: IndicatorOptions

    @classmethod
    def from_inputs(cls, sites, layers, inputs, options=None) -> Base:
        """Take the tiled parts from a LayerSet and IndicatorInputs (as the pipeline has them)."""
        def opt(name):
            g = layers.layers.get(name)
            return g if g is not None and len(g) else None

        crs = inputs.walk.crs
        return cls(walk=inputs.walk, bike=inputs.bike, sites=sites.to_crs(crs),
                   demand=inputs.demand.to_crs(crs), transit_stops=opt("transit_stops"),
                   hubs=opt("hubs"), canal=opt("canal"), options=options or IndicatorOptions())

    def frames(self) -> list[gpd.GeoDataFrame]:
        """Every point/polygon input (for the tile extent)."""
        return [g for g in (self.sites, self.demand, self.transit_stops, self.hubs, self.canal)
                if g is not None]


def layout(n_sites: int, base_n: int) -> tuple[int, int]:
    """The near-square ``(nx, ny)`` tiling with at least ``n_sites`` sites of ``base_n`` each."""
    tiles = max(1, -(-int(n_sites) // int(base_n)))
    nx = int(np.ceil(np.sqrt(tiles)))
    return nx, -(-tiles // nx)


def tile_network(net: Network, nx: int, ny: int, dx: float, dy: float) -> Network:
    """``nx`` x ``ny`` copies of ``net`` shifted by ``(i dx, j dy)``, neighbours linked once.

    Edge geometries, lengths and directions are copied as they are; the links are straight
    two-way edges between the border nodes of the main components (length: their distance).
    """
    main = np.flatnonzero(net.component == 0)
    east, west = main[np.argmax(net.x[main])], main[np.argmin(net.x[main])]
    north, south = main[np.argmax(net.y[main])], main[np.argmin(net.y[main])]
    n, m, nv = net.n_nodes, net.n_edges, len(net.geom_xy)
    shifts = [(i, j) for j in range(ny) for i in range(nx)]
    pos = {ij: t for t, ij in enumerate(shifts)}
    off = np.array([(i * dx, j * dy) for i, j in shifts])
    lu, lv = [], []
    for (i, j), t in pos.items():
        if (i + 1, j) in pos:
            lu.append(t * n + east)
            lv.append(pos[i + 1, j] * n + west)
        if (i, j + 1) in pos:
            lu.append(t * n + north)
            lv.append(pos[i, j + 1] * n + south)
    lu, lv = np.asarray(lu, np.int64), np.asarray(lv, np.int64)
    k = len(shifts)
    x = (net.x[None, :] + off[:, :1]).ravel()
    y = (net.y[None, :] + off[:, 1:]).ravel()
    geom = (net.geom_xy[None, :, :] + off[:, None, :]).reshape(-1, 2)
    link_xy = np.empty((2 * len(lu), 2))
    link_xy[0::2] = np.c_[x[lu], y[lu]]
    link_xy[1::2] = np.c_[x[lv], y[lv]]
    offsets = np.concatenate(
        [(net.geom_offsets[:-1][None, :] + nv * np.arange(k)[:, None]).ravel(),
         k * nv + 2 * np.arange(len(lu) + 1)]).astype(np.int64)
    report = _streets.NetworkReport(source=f"{net.report.source} tiled {nx} x {ny}",
                                    mode=net.mode, ways_n=k * m + len(lu))
    tiled = _streets._finish(
        report,
        node_id=(net.node_id[None, :] + _ID_STEP * np.arange(k)[:, None]).ravel(),
        x=x, y=y,
        eu=np.concatenate([(net.edge_u[None, :] + n * np.arange(k)[:, None]).ravel(), lu]),
        ev=np.concatenate([(net.edge_v[None, :] + n * np.arange(k)[:, None]).ravel(), lv]),
        offsets=offsets, geom_xy=np.concatenate([geom, link_xy]),
        given_length=np.concatenate([np.tile(net.edge_length_m, k),
                                     np.hypot(x[lu] - x[lv], y[lu] - y[lv])]),
        fwd=np.concatenate([np.tile(net.edge_forward, k), np.ones(len(lu), bool)]),
        bwd=np.concatenate([np.tile(net.edge_backward, k), np.ones(len(lu), bool)]),
        mode=net.mode, speed_kmh=net.speed_kmh, retain_all=True, source="tiles")
    return dataclasses.replace(tiled, crs=net.crs)


def tile_frame(gdf: gpd.GeoDataFrame, shifts: np.ndarray) -> gpd.GeoDataFrame:
    """``gdf`` repeated once per shift ``(dx, dy)``, geometries moved; a new RangeIndex."""
    geoms = np.asarray(gdf.geometry.values)
    parts = [shapely.transform(geoms, lambda xy, s=s: xy + s) for s in shifts]
    data = pd.DataFrame({c: np.tile(gdf[c].to_numpy(), len(shifts))
                         for c in gdf.columns if c != gdf.geometry.name})
    return gpd.GeoDataFrame(data, geometry=np.concatenate(parts) if parts else [],
                            crs=gdf.crs)


@dataclasses.dataclass
class Region:
    """The tiled region: networks, demand and facilities built; sites built on request."""

    base: Base
    nx: int
    ny: int
    shifts: np.ndarray  # (tiles, 2): offset of each tile (m)
    walk: Network
    bike: Network
    demand: gpd.GeoDataFrame
    transit_stops: gpd.GeoDataFrame | None
    hubs: gpd.GeoDataFrame | None
    canal: gpd.GeoDataFrame | None

    @property
    def n_tiles(self) -> int:
        """Number of tiles."""
        return len(self.shifts)

    @property
    def n_sites(self) -> int:
        """Sites of the whole region (tiles x base sites)."""
        return self.n_tiles * len(self.base.sites)

    def sites(self, start: int = 0, stop: int | None = None) -> gpd.GeoDataFrame:
        """Sites ``start:stop`` of the region (index ``site_id``: the position), built now."""
        n = len(self.base.sites)
        stop = self.n_sites if stop is None else min(int(stop), self.n_sites)
        pos = np.arange(int(start), stop, dtype=np.int64)
        tile, k = np.divmod(pos, n)
        geoms = np.asarray(self.base.sites.geometry.values)[k]
        shift = self.shifts[tile]
        coords, parts = shapely.get_coordinates(geoms, return_index=True)
        moved = shapely.set_coordinates(geoms.copy(), coords + shift[parts])
        return gpd.GeoDataFrame(geometry=moved, crs=self.base.sites.crs,
                                index=pd.Index(pos, name="site_id"))


def build_region(base: Base, nx: int, ny: int, *, gap_m: float = 1000.0) -> Region:
    """Tile ``base`` ``nx`` x ``ny`` times, ``gap_m`` between the tiles' extents."""
    b = np.array([g.total_bounds for g in base.frames()]
                 + [np.array(base.walk.bounds), np.array(base.bike.bounds)])
    dx = b[:, 2].max() - b[:, 0].min() + gap_m
    dy = b[:, 3].max() - b[:, 1].min() + gap_m
    shifts = np.array([(i * dx, j * dy) for j in range(ny) for i in range(nx)])

    def frame(g):
        return None if g is None else tile_frame(g, shifts)

    cols = [c for c in DEMAND_COLUMNS if c in base.demand.columns]
    return Region(base=base, nx=nx, ny=ny, shifts=shifts,
                  walk=tile_network(base.walk, nx, ny, dx, dy),
                  bike=tile_network(base.bike, nx, ny, dx, dy),
                  demand=tile_frame(base.demand[cols + [base.demand.geometry.name]], shifts),
                  transit_stops=frame(base.transit_stops), hubs=frame(base.hubs),
                  canal=frame(base.canal))


@dataclasses.dataclass
class Snapped:
    """What is snapped once for every block of sites: demand, barriers, value columns."""

    walk_demand: acc.Snapping
    bike_demand: acc.Snapping
    water: gpd.GeoDataFrame | None
    columns: list[str]


def snap_inputs(walk: Network, bike: Network, demand: gpd.GeoDataFrame,
                canal: gpd.GeoDataFrame | None) -> Snapped:
    """Snap the demand surface to both networks (once) and pick the barriers (water)."""
    cols = [c for c in DEMAND_COLUMNS if c in demand.columns and demand[c].notna().any()]
    wdem, _ = _labour.snap_demand(walk, demand, value_columns=cols)
    bdem, _ = _labour.snap_demand(bike, demand, value_columns=cols)
    water = None
    if canal is not None:
        polys = canal.loc[canal.geom_type.isin(["Polygon", "MultiPolygon"])]
        water = polys if len(polys) else None
    return Snapped(walk_demand=wdem, bike_demand=bdem, water=water, columns=cols)


def region_indicators(sites: gpd.GeoDataFrame, *, walk: Network, bike: Network,
                      snapped: Snapped, transit_stops, hubs, canal,
                      options: IndicatorOptions,
                      timings_s: dict | None = None) -> pd.DataFrame:
    """Labour and access indicators of ``sites`` (one block), as the indicators step has them.

    Columns: ``<value>_<mode>_<T>min_n`` for each demand value column and limit of
    ``options`` (and the residents' bike limit), ``hub_access_2sfca_per_1000_jobseekers``
    (with hubs) and the columns of :func:`~productivecity.indicators.access.access_indicators`.
    ``timings_s``, when given, gets the seconds of each part added (``snap``, ``walk``,
    ``bike``, ``hubs_2sfca``, ``access``).
    """
    timings_s = {} if timings_s is None else timings_s
    clock = [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        timings_s[name] = timings_s.get(name, 0.0) + now - clock[0]
        clock[0] = now

    ws = acc.snap(walk, sites, barriers=snapped.water, what="sites")
    bs = acc.snap(bike, sites, barriers=snapped.water, what="sites")
    lap("snap")
    parts = []
    for mode, net, s, dem in (("walk", walk, ws, snapped.walk_demand),
                              ("bike", bike, bs, snapped.bike_demand)):
        limits = sorted({float(t) for t in options.limits(mode)}
                        | ({float(options.residents_bike_limit_min)} if mode == "bike"
                           else set()))
        parts.append(_labour.reachable_totals(net, s, dem, columns=snapped.columns,
                                              limits_min=limits, prefix=mode))
        lap(mode)
    if hubs is not None and "jobseekers_n" in snapped.columns:
        parts.append(_labour.hub_access_2sfca(
            bike, bs, snapped.bike_demand, hubs,
            limit_min=options.hub_access_bike_limit_min).to_frame())
        lap("hubs_2sfca")
    parts.append(_access.access_indicators(
        sites, walk=walk, bike=bike, transit_stops=transit_stops, hubs=hubs, canal=canal,
        walk_sites=ws, bike_sites=bs, options=options))
    lap("access")
    out = pd.concat(parts, axis=1)
    # the residents by bike come from the bike catchments, as in site_indicators
    residents = f"population_bike_{options.residents_bike_limit_min:g}min_n"
    if residents in out.columns:
        out[f"residents_bike_{options.residents_bike_limit_min:g}min_n"] = out[residents]
    return out
