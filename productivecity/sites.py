"""Candidate sites: a lattice grid, industrial/brownfield zones (split into parcels), or a file.

Every candidate-site builder returns ``(sites, report)``: a GeoDataFrame in
the study area's metric CRS indexed by a unique string ``site_id`` and a
:class:`~productivecity.sources.load_report.LayerReport` counting what was built, clipped,
repaired or left out.

Stable ids
----------
Grid cells and zone parcels are placed on an *absolute* lattice anchored at
the origin of the run's CRS (x = 0, y = 0), not at the corner of the study
area. A cell therefore keeps its id whatever the study area, the run or the
machine, as long as the CRS is the same: ``"hex250-q587-r330"`` (hexagon of
250 m, axial coordinates q, r) or
``"sq250-i564-j676"`` (square of 250 m covering x ∈ [564·250, 565·250),
y ∈ [676·250, 677·250)). Zone sites keep the zone's id (``zone_id`` of
:func:`productivecity.sources.osm.industrial_zones`); parcels of a split zone
are ``"<zone_id>/p<k>"``, numbered in lattice order (north to south, then
west to east). Sites read from a file keep the file's id column, or
``"site-<row>"`` by row number (1 = first feature of the file).

Schemas (all in the area's CRS, index ``site_id``)
----------------------------------------------
``grid_sites``
    ``kind`` (``"grid"``), ``cell_m`` (cell size, m), ``area_ha`` (area of
    the site polygon after clipping, ha), ``within_share_pct`` (only for
    restricted grids: share of the site's area inside the ``within`` zones,
    %), ``geometry`` (Polygon/MultiPolygon).
``zone_sites``
    ``kind`` (``"zone"``), ``zone_id``, ``zone_kind`` (``industrial`` /
    ``brownfield``), ``name``, ``area_ha``, ``geometry``.
``read_sites``
    the file's own columns, ``kind`` (``"file"``), ``area_ha`` (NaN for
    point sites), ``geometry`` (Polygon/MultiPolygon/Point).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import (
    AreaError,
    EmptyLayerError,
    ParameterError,
    ParameterTypeError,
    SchemaError,
)
from productivecity._geom import dissolve_overlaps, overlap_area_m2, repair_geometries
from productivecity.crs import crs_label, metric_crs_of, to_crs
from productivecity.sources._read import read_vector
from productivecity.sources.load_report import LayerReport

logger = logging.getLogger(__name__)

__all__ = ["grid_sites", "read_sites", "zone_sites"]

_SHAPES = ("hex", "square")
_POLYGON_TYPES = ("Polygon", "MultiPolygon")
#: ``kind`` values of grid, zone and file sites.
SITE_KINDS = ("grid", "zone", "file")


# --------------------------------------------------------------------------------------
# grid
# --------------------------------------------------------------------------------------


def grid_sites(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_m: float = 250.0,
    shape: str = "hex",
    within: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    min_share_pct: float = 25.0,
    clip: bool = True,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Cover the study area with a hexagonal or square lattice of candidate sites.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries
        Study-area polygon(s) in a metric CRS (the sites are in it; an area in
        longitude/latitude is projected to its UTM zone).
    cell_m : float, default 250
        Cell size in metres: the distance between opposite (parallel) sides.
        A hexagon of size ``c`` has area ``√3/2 · c²`` (250 m → 5.41 ha);
        a square ``c²`` (250 m → 6.25 ha). Hexagons are pointy-topped: their
        flat sides face east and west.
    shape : {"hex", "square"}, default "hex"
        Cell shape.
    within : GeoDataFrame or GeoSeries, optional
        Zones that restrict the grid, e.g. the ``industrial_zones`` layer or
        the ``canal_zone``. A cell is kept when at least ``min_share_pct`` of
        its (clipped) area lies inside the union of these zones. The kept
        cell is not cut to the zones: its geometry stays the lattice cell
        (clipped to the area), and ``within_share_pct`` says how much of it
        lies in the zones.
    min_share_pct : float, default 25
        Least share (%) of a cell's area inside ``within`` for the cell to
        be kept; 0 < value ≤ 100. Ignored without ``within``.
    clip : bool, default True
        Cut edge cells at the area's border, so the cells partition the
        area (their ``area_ha`` sum to the area's). With False, every cell
        intersecting the area is kept whole.

    Returns
    -------
    sites : GeoDataFrame
        Index ``site_id`` (``"hex<size>-q<q>-r<r>"`` or
        ``"sq<size>-i<i>-j<j>"``, stable across areas and runs, see the module
        docstring); columns ``kind`` = ``"grid"``, ``cell_m`` (m),
        ``area_ha`` (ha, of the returned geometry), ``within_share_pct`` (%,
        restricted grids only), ``geometry``. Sorted by ``site_id``'s lattice
        position (south to north, west to east).
    report : LayerReport
        ``read_n`` = lattice cells intersecting the area; cells below
        ``min_share_pct`` are counted in ``skipped``; cells that only touch
        the area's border (no area) in the notes.

    Raises
    ------
    ValueError
        Bad ``cell_m``, ``shape`` or ``min_share_pct``.
    CRSError
        ``area`` or ``within`` without a CRS.
    AreaError
        ``area`` has no polygon.
    EmptyLayerError
        No cell passes the ``within`` restriction.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from productivecity.sites import grid_sites
    >>> area = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000)], crs="EPSG:31370")
    >>> sites, _ = grid_sites(area, cell_m=500, shape="square")
    >>> list(sites.index)
    ['sq500-i0-j0', 'sq500-i1-j0', 'sq500-i0-j1', 'sq500-i1-j1']
    >>> float(sites["area_ha"].sum())
    100.0
    """
    cell = _positive(cell_m, "cell_m")
    if shape not in _SHAPES:
        raise ParameterError(f"shape must be one of {_SHAPES}, got {shape!r}")
    if within is not None:
        share = _number(min_share_pct, "min_share_pct")
        if not (0 < share <= 100):
            raise ParameterError(f"min_share_pct must be a percentage in (0, 100], "
                                 f"got {min_share_pct!r}")
    poly, crs = _area_union(area, what="area")
    report = LayerReport("sites", sources=[f"{shape} lattice, {cell:g} m, anchored at the "
                                           f"origin of {crs_label(crs)}"])
    if shape == "hex":
        keys, cells = _hex_cells(poly.bounds, cell)
    else:
        keys, cells = _square_cells(poly.bounds, cell)
    shapely.prepare(poly)
    hit = shapely.intersects(poly, cells)
    keys, cells = keys[hit], cells[hit]
    report.read_n = len(cells)
    geoms = cells.copy()
    if clip:
        inside = shapely.contains_properly(poly, cells)
        edge = ~inside
        if edge.any():
            cut = [_polygonal(g) for g in shapely.intersection(cells[edge], poly)]
            geoms[edge] = [shapely.Polygon() if g is None else g for g in cut]
        touch = shapely.area(geoms) <= 0
        if touch.any():  # no area: not a site, and nothing lost
            report.notes.append(f"{int(touch.sum())} lattice cells touch the area only along "
                                f"its border (no area): not sites")
        keys, geoms, cells = keys[~touch], geoms[~touch], cells[~touch]
        report.notes.append(f"{int(edge.sum() - touch.sum())} edge cells cut at the area's "
                            f"border")
    area_m2 = shapely.area(geoms)
    prefix = ("hex" if shape == "hex" else "sq") + f"{cell:g}"
    a, b = ("q", "r") if shape == "hex" else ("i", "j")
    ids = [f"{prefix}-{a}{k0}-{b}{k1}" for k0, k1 in keys]
    data = {"kind": "grid", "cell_m": cell, "area_ha": area_m2 / 10_000.0}
    if within is not None:
        zones = _polygons_of(within, what="within", crs=crs)
        covered = overlap_area_m2(geoms, zones)
        pct = np.where(area_m2 > 0, 100.0 * covered / np.where(area_m2 > 0, area_m2, 1.0), 0.0)
        pct = np.minimum(pct, 100.0)  # rounding of the intersection
        keep = pct >= share - 1e-9
        report.skip(f"less than {share:g}% of the cell inside the 'within' zones",
                    int((~keep).sum()))
        ids = [i for i, k in zip(ids, keep, strict=True) if k]
        geoms, area_m2, pct = geoms[keep], area_m2[keep], pct[keep]
        data = {"kind": "grid", "cell_m": cell, "area_ha": area_m2 / 10_000.0,
                "within_share_pct": pct}
        report.notes.append(f"restricted to cells with ≥ {share:g}% of their area in the "
                            f"'within' zones")
        if not len(ids):
            raise EmptyLayerError(
                f"grid_sites: no {cell:g} m {shape} cell has {share:g}% of its area inside "
                f"the 'within' zones; lower min_share_pct or check the zones")
    out = gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs,
                           index=pd.Index(ids, name="site_id"))
    return _finish(out, report)


def _hex_cells(bounds, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointy-top hexagons (flat-to-flat width ``c``) covering ``bounds``; axial keys (q, r).

    Centre of cell (q, r): x = c·(q + r/2), y = 1.5·R·r with circumradius
    R = c/√3, so cell (0, 0) is centred on the CRS origin.
    """
    minx, miny, maxx, maxy = bounds
    big_r = c / math.sqrt(3.0)
    dy = 1.5 * big_r
    r = np.arange(math.floor(miny / dy) - 1, math.ceil(maxy / dy) + 2)
    nq = math.ceil((maxx - minx) / c) + 4
    q0 = np.floor(minx / c - r / 2.0).astype(np.int64) - 2
    q = q0[:, None] + np.arange(nq)[None, :]
    rr = np.broadcast_to(r[:, None], q.shape)
    q, rr = q.ravel(), rr.ravel()
    cx = c * (q + rr / 2.0)
    cy = dy * rr
    keep = (cx + c / 2 >= minx) & (cx - c / 2 <= maxx) & (cy + big_r >= miny) & (cy - big_r <= maxy)
    q, rr = q[keep], rr[keep]
    # corners at 30° + k·60°, counter-clockwise, as integer multiples of c/2 and R/2 so
    # that neighbouring cells share bit-identical corners (no slivers between cells)
    dx = np.array([1, 0, -1, -1, 0, 1, 1])
    dy_ = np.array([1, 2, 1, -1, -2, -1, 1])
    xs = (c / 2.0) * ((2 * q + rr)[:, None] + dx[None, :])
    ys = (big_r / 2.0) * ((3 * rr)[:, None] + dy_[None, :])
    cells = shapely.polygons(np.stack([xs, ys], axis=-1))
    return np.stack([q, rr], axis=1), cells


def _square_cells(bounds, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Squares [i·c, (i+1)·c) × [j·c, (j+1)·c) covering ``bounds``; keys (i, j)."""
    minx, miny, maxx, maxy = bounds
    i = np.arange(math.floor(minx / c), math.ceil(maxx / c) + 1)
    j = np.arange(math.floor(miny / c), math.ceil(maxy / c) + 1)
    jj, ii = np.meshgrid(j, i, indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    cells = shapely.box(ii * c, jj * c, (ii + 1) * c, (jj + 1) * c)
    return np.stack([ii, jj], axis=1), cells


# --------------------------------------------------------------------------------------
# zones and parcels
# --------------------------------------------------------------------------------------


def zone_sites(
    zones: gpd.GeoDataFrame,
    *,
    target_ha: float = 5.0,
    min_parcel_ha: float = 0.5,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Industrial and brownfield zones as sites; large zones split into parcels.

    A zone of at most ``1.5 × target_ha`` stays whole (``site_id`` = its
    ``zone_id``). A larger zone is cut by a square lattice of side
    ``√(target_ha)`` hectares (``√(target_ha · 10⁴)`` m) anchored at the
    origin of the CRS; each separate piece becomes a parcel. Pieces
    smaller than ``min_parcel_ha`` are merged into the largest parcel they
    share an edge with (or, if they touch none, the nearest one), so the
    parcels of a zone always add up to the zone: no land is lost.

    Parameters
    ----------
    zones : GeoDataFrame
        Zones (e.g. :func:`productivecity.sources.osm.industrial_zones`),
        any projected or geographic CRS; index = zone ids (unique). Columns
        ``kind`` and ``name`` are used when present.
    target_ha : float, default 5
        Target parcel size in hectares.
    min_parcel_ha : float, default 0.5
        Pieces below this size (ha) are merged into a neighbour; must be
        smaller than ``target_ha``.

    Returns
    -------
    sites : GeoDataFrame
        Index ``site_id`` (``<zone_id>`` or ``<zone_id>/p<k>``, k = 1, 2, …
        in lattice order: north to south, then west to east); columns
        ``kind`` = ``"zone"``, ``zone_id``, ``zone_kind`` (the zone's
        ``kind``: industrial/brownfield), ``name``, ``area_ha`` (ha),
        ``geometry`` (Polygon/MultiPolygon).
    report : LayerReport
        ``read_n`` = zones; notes say how many zones were split into how many
        parcels and how many slivers were merged.

    Raises
    ------
    ValueError
        Bad sizes.
    SchemaError
        Duplicate zone ids.
    CRSError
        ``zones`` without CRS.
    EmptyLayerError
        No polygon zone.

    Examples
    --------
    >>> import productivecity as pc
    >>> layers = pc.load_layers("sample", progress=False)
    >>> parcels, report = pc.zone_sites(layers["industrial_zones"], target_ha=5.0)
    >>> len(layers["industrial_zones"]), len(parcels)
    (8, 33)
    """
    target = _positive(target_ha, "target_ha")
    min_ha = _number(min_parcel_ha, "min_parcel_ha")
    if not (0 <= min_ha < target):
        raise ParameterError(f"min_parcel_ha must be ≥ 0 and smaller than target_ha "
                             f"({target:g}), got {min_parcel_ha!r}")
    if not isinstance(zones, gpd.GeoDataFrame):
        raise ParameterTypeError(f"zones must be a GeoDataFrame, got {type(zones).__name__}")
    z = to_crs(zones, metric_crs_of(zones, what="zones"), what="zones")
    report = LayerReport("sites", sources=["zones"], read_n=len(z))
    ids = pd.Index(z.index.astype(str))
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise SchemaError(f"zones: duplicate zone ids {list(dup[:10])}"
                          f"{' …' if len(dup) > 10 else ''}; zone ids (the index) must be unique")
    z, repaired = repair_geometries(z)
    report.repaired_n = repaired
    poly = z.geometry.notna() & z.geom_type.isin(_POLYGON_TYPES) & ~z.geometry.is_empty
    report.skip("not a polygon", int((~poly).sum()))
    z, ids = z.loc[poly.to_numpy()], ids[poly.to_numpy()]
    if not len(z):
        raise EmptyLayerError("zone_sites: the zones have no polygon")
    kind = z["kind"].astype(object).to_numpy() if "kind" in z.columns else np.full(len(z), None)
    name = (z["name"].astype(object).where(z["name"].notna(), None).to_numpy()
            if "name" in z.columns else np.full(len(z), None))
    geoms = np.asarray(z.geometry.values)
    area_m2 = shapely.area(geoms)
    side = math.sqrt(target * 10_000.0)
    split = area_m2 > 1.5 * target * 10_000.0
    rows = []
    merged_n = 0
    for k in range(len(geoms)):  # one iteration per zone (hundreds), not per site pair
        if not split[k]:
            rows.append((ids[k], ids[k], kind[k], name[k], geoms[k]))
            continue
        parcels, merged = _split_zone(geoms[k], side, min_ha * 10_000.0)
        merged_n += merged
        for p, g in enumerate(parcels, start=1):
            rows.append((f"{ids[k]}/p{p}", ids[k], kind[k], name[k], g))
    if split.any():
        report.notes.append(f"{int(split.sum())} zones larger than {1.5 * target:g} ha split "
                            f"into parcels of about {target:g} ha on a {side:.1f} m lattice; "
                            f"{merged_n} pieces under {min_ha:g} ha merged into a neighbour")
    out = gpd.GeoDataFrame(
        {"kind": "zone", "zone_id": [r[1] for r in rows], "zone_kind": [r[2] for r in rows],
         "name": [r[3] for r in rows]},
        geometry=[r[4] for r in rows], crs=z.crs,
        index=pd.Index([r[0] for r in rows], name="site_id"),
    )
    out["area_ha"] = shapely.area(np.asarray(out.geometry.values)) / 10_000.0
    out = out[["kind", "zone_id", "zone_kind", "name", "area_ha", "geometry"]]
    return _finish(out, report)


def _split_zone(geom, side: float, min_m2: float) -> tuple[list, int]:
    """Cut ``geom`` by the absolute square lattice of ``side`` m; merge small pieces.

    Returns the parcels in lattice order (north to south, west to east) and
    the number of small pieces merged.
    """
    keys, squares = _square_cells(geom.bounds, side)
    hit = shapely.intersects(geom, squares)
    keys, squares = keys[hit], squares[hit]
    cut = shapely.intersection(squares, geom)
    pieces, order = [], []
    for (i, j), g in zip(keys, cut, strict=True):
        g = _polygonal(g)
        if g is None:
            continue
        for part in shapely.get_parts(g):
            if part.area > 0:
                c = part.representative_point()
                pieces.append(part)
                order.append((-j, i, -c.y, c.x))
    pieces = np.asarray(pieces, dtype=object)
    areas = shapely.area(pieces)
    big = areas >= min_m2
    if not big.any():
        big[np.argmax(areas)] = True
    small_idx = np.flatnonzero(~big)
    big_idx = np.flatnonzero(big)
    target_of = {}
    if len(small_idx):
        tree = shapely.STRtree(pieces[big_idx])
        for s in small_idx:
            cand = tree.query(pieces[s], predicate="intersects")
            shared = [b for b in cand
                      if shapely.length(shapely.intersection(pieces[s].boundary,
                                                             pieces[big_idx[b]].boundary)) > 0]
            if shared:
                best = max(shared, key=lambda b: areas[big_idx[b]])
            else:
                best = int(tree.query_nearest(pieces[s])[0])
            target_of.setdefault(int(big_idx[best]), []).append(int(s))
    parcels = []
    for b in sorted(big_idx, key=lambda b: order[b]):
        extra = target_of.get(int(b), [])
        g = pieces[b] if not extra else shapely.union_all(pieces[[b, *extra]])
        parcels.append(g)
    return parcels, len(small_idx)


# --------------------------------------------------------------------------------------
# user file
# --------------------------------------------------------------------------------------


def read_sites(
    path: str | os.PathLike,
    *,
    id_column: str | None = None,
    layer: str | None = None,
    crs=None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the user's own candidate sites (polygons or points) from any vector file.

    Parameters
    ----------
    path : path-like
        Any GDAL vector file with a CRS (GeoPackage, Shapefile with .prj,
        GeoJSON, ...); a file without CRS is refused.
    id_column : str, optional
        Column with the site ids (made strings; must be unique and not
        empty). Default: the file's ``site_id`` column if it has one, else
        ``"site-<row>"`` with the row number in the file (1 = first
        feature), so ids do not shift when a feature is left out.
    layer : str, optional
        Layer of a multi-layer file (default the first).
    crs : optional
        The study area's metric CRS, to project the sites to.

    Returns
    -------
    sites : GeoDataFrame
        In ``crs`` (default: the file's own when metric, else its UTM zone),
        index ``site_id``; the file's columns (a file column
        called ``kind`` or ``area_ha`` is renamed ``file_kind`` /
        ``file_area_ha``), ``kind`` = ``"file"``, ``area_ha`` (ha; NaN for
        points), ``geometry`` (Polygon, MultiPolygon or Point).
    report : LayerReport
        Invalid geometries repaired (``repaired_n``); features without
        geometry or with lines are left out and counted in ``skipped`` (and
        logged as warnings).

    Raises
    ------
    DataSourceError
        Missing or unreadable file, unknown layer.
    CRSError
        The file has no CRS.
    SchemaError
        ``id_column`` missing, empty or with duplicate values (listed).
    EmptyLayerError
        No usable site.

    Warns
    -----
    DataQualityWarning
        Some geometries were repaired or some features left out (counts in
        the message and the report).

    Examples
    --------
    >>> import os, tempfile
    >>> import productivecity as pc
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "my_sites.gpkg")
    ...     sites.head(5).reset_index().to_file(path)
    ...     mine, report = pc.read_sites(path, id_column="site_id")
    >>> len(mine), mine.index.name, mine.crs.to_epsg()
    (5, 'site_id', 31370)
    """
    path = Path(path)
    what = f"{path}" + (f" (layer {layer!r})" if layer else "")
    gdf = read_vector(path, layer=layer)
    gdf = to_crs(gdf, crs if crs is not None else metric_crs_of(gdf, what=what), what=what)
    report = LayerReport("sites", sources=[str(path)], read_n=len(gdf))
    if id_column is None and "site_id" in gdf.columns:
        id_column = "site_id"
    if id_column is not None:
        if id_column not in gdf.columns:
            raise SchemaError(f"{what} has no id column {id_column!r}; available columns: "
                              f"{[c for c in gdf.columns if c != gdf.geometry.name]}")
        raw = gdf[id_column]
        if raw.isna().any():
            rows = (np.flatnonzero(raw.isna().to_numpy()) + 1).tolist()
            raise SchemaError(f"{what}: id column {id_column!r} is empty in row(s) {rows[:10]}")
        ids = raw.astype(str).str.strip()
        dup = ids[ids.duplicated(keep=False)]
        if len(dup):
            counts = dup.value_counts()
            listed = ", ".join(f"{k!r} ×{v}" for k, v in counts.head(10).items())
            raise SchemaError(f"{what}: id column {id_column!r} has {len(counts)} duplicate "
                              f"value(s): {listed}{' …' if len(counts) > 10 else ''}; site ids "
                              f"must be unique")
        gdf = gdf.drop(columns=[id_column])
    else:
        ids = pd.Series([f"site-{k}" for k in range(1, len(gdf) + 1)], index=gdf.index)
    gdf, repaired = repair_geometries(gdf)
    report.repaired_n = repaired
    geoms = np.asarray(gdf.geometry.values)
    single = (shapely.get_type_id(geoms) == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single.any():  # one-point MultiPoint → Point
        gdf = gdf.copy()
        gdf.loc[single, gdf.geometry.name] = shapely.get_geometry(geoms[single], 0)
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    usable = gdf.geom_type.isin([*_POLYGON_TYPES, "Point"]) & ~missing
    report.skip("no geometry", int(missing.sum()))
    report.skip("not a polygon or point (e.g. lines, multipoints)", int((~usable & ~missing).sum()))
    if (~usable).any():
        left = ids[~usable.to_numpy()].tolist()
        report.notes.append(f"sites left out (no usable geometry): {left[:20]}"
                            f"{' …' if len(left) > 20 else ''}")
    gdf, ids = gdf.loc[usable.to_numpy()], ids[usable.to_numpy()]
    if not len(gdf):
        raise EmptyLayerError(f"{what}: no site with a polygon or point geometry")
    renamed = {c: f"file_{c}" for c in ("kind", "area_ha") if c in gdf.columns}
    if renamed:
        gdf = gdf.rename(columns=renamed)
        report.notes.append(f"file columns renamed: {renamed}")
    out = gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=gdf.geometry.values,
                           crs=gdf.crs)
    out.index = pd.Index(ids.to_numpy(), name="site_id")
    out["kind"] = "file"
    is_poly = out.geom_type.isin(_POLYGON_TYPES).to_numpy()
    out["area_ha"] = np.where(is_poly, out.geometry.area.to_numpy() / 10_000.0, np.nan)
    if (~is_poly).any():
        report.notes.append(f"{int((~is_poly).sum())} point sites (area_ha is NaN)")
    cols = [c for c in out.columns if c != "geometry"]
    out, report = _finish(out[[*cols, "geometry"]], report)
    report.warn(stacklevel=2)  # repaired or unusable sites of the user's file
    return out, report


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _count_outside(sites, report: LayerReport, area, path):
    """Count the file's sites that do not touch the study area; refuse a file with none inside.

    Sites outside are kept (the user chose them) but counted in ``outside_area_n``
    and named in the notes; when none is inside, the file is for another place or
    declares the wrong CRS.
    """
    poly = area.geometry.iloc[0]
    inside = sites.intersects(poly).to_numpy()
    n_out = int((~inside).sum())
    report.outside_area_n += n_out
    if not inside.any():
        xmin, ymin, xmax, ymax = sites.to_crs(4326).total_bounds
        raise AreaError(f"none of the {len(sites)} sites of {path} lies in the study area (the "
                        f"sites span lon {xmin:.3f}–{xmax:.3f}, lat {ymin:.3f}–{ymax:.3f}); is "
                        f"the file for another place, or does it declare the wrong CRS?")
    if n_out:
        left = list(sites.index[~inside][:10])
        report.notes.append(f"{n_out} site(s) outside the study area (kept): {left}"
                            f"{' …' if n_out > 10 else ''}")
        logger.warning("%s: %d of %d sites lie outside the study area (kept; see the report)",
                       path, n_out, len(sites))
    return report


def _number(value, name: str) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    return v


def _frame(obj, what: str) -> gpd.GeoDataFrame:
    if isinstance(obj, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=obj)
    if isinstance(obj, gpd.GeoDataFrame):
        return obj
    raise ParameterTypeError(f"{what} must be a GeoDataFrame or GeoSeries, "
                             f"got {type(obj).__name__}")


def _polygons_of(obj, what: str, crs) -> np.ndarray:
    """Return the polygons of ``obj`` in ``crs``, repaired, with overlaps dissolved."""
    frame = _frame(obj, what)
    frame = to_crs(frame, crs, what=what)
    frame, _ = repair_geometries(frame)
    geoms = np.asarray(frame.geometry.values)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    parts = shapely.get_parts(geoms[ok])
    parts = parts[np.isin(shapely.get_type_id(parts), (3,))]
    return dissolve_overlaps(parts)


def _area_union(area, what: str):
    """Return the study area as one (Multi)Polygon and the metric CRS it is in."""
    try:
        frame = _frame(area, what)
    except TypeError as exc:
        raise AreaError(str(exc)) from None
    crs = metric_crs_of(frame, what=what)
    frame = to_crs(frame, crs, what=what)
    geoms = np.asarray(frame.geometry.values)
    geoms = geoms[~shapely.is_missing(geoms)]
    geoms = shapely.make_valid(geoms)
    poly = _polygonal(shapely.union_all(geoms)) if len(geoms) else None
    if poly is None or poly.is_empty:
        raise AreaError(f"{what} has no polygon with a surface")
    return poly, crs


def _polygonal(geom):
    """Return the polygonal part of ``geom`` (None if it has none)."""
    if geom is None or geom.is_empty:
        return None
    tid = shapely.get_type_id(geom)
    if tid in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _finish(out: gpd.GeoDataFrame, report: LayerReport):
    report.features_n = len(out)
    report.log()
    return out, report


#: Layers a grid can be restricted to, by the name used in configs and on the command line.
WITHIN_LAYERS = {"industrial": "industrial_zones", "canal_zone": "canal_zone", "none": None}


def candidate_sites(
    layers,
    kind: str = "grid",
    *,
    cell_m: float = 250.0,
    shape: str = "hex",
    within: str = "none",
    min_share_pct: float = 25.0,
    parcel_ha: float = 5.0,
    min_parcel_ha: float = 0.5,
    path: str | os.PathLike | None = None,
    id_column: str | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Candidate sites of a study area, made the way a config or the command line names.

    Parameters
    ----------
    layers : LayerSet
        The study area's layers (``study_area``, ``industrial_zones``, ``canal_zone``).
    kind : {"grid", "zones", "file"}
        :func:`grid_sites` over the study area, :func:`zone_sites` of the industrial
        zones, or :func:`read_sites` of ``path``.
    cell_m, shape, min_share_pct
        Grid options (see :func:`grid_sites`).
    within : {"none", "industrial", "canal_zone"}
        Restrict the grid to industrial/brownfield land or the canal zone.
    parcel_ha, min_parcel_ha
        Zone options (see :func:`zone_sites`).
    path, id_column, layer
        File options (see :func:`read_sites`).

    Returns
    -------
    sites : GeoDataFrame
    report : LayerReport

    Examples
    --------
    >>> import productivecity as pc
    >>> layers = pc.load_layers("sample", progress=False)
    >>> grid, report = pc.candidate_sites(layers, "grid", cell_m=500)  # 500 m hexagons
    >>> zones, _ = pc.candidate_sites(layers, "zones", parcel_ha=5.0)  # parcels of ~5 ha
    >>> len(grid), len(zones), zones.index.name
    (72, 33, 'site_id')
    """
    if kind == "grid":
        if within not in WITHIN_LAYERS:
            raise ParameterError(f"within must be one of {sorted(WITHIN_LAYERS)}, "
                                 f"got {within!r}")
        restrict = WITHIN_LAYERS[within]
        return grid_sites(layers["study_area"], cell_m=cell_m, shape=shape,
                          within=layers[restrict] if restrict else None,
                          min_share_pct=min_share_pct)
    if kind == "zones":
        return zone_sites(layers["industrial_zones"], target_ha=parcel_ha,
                          min_parcel_ha=min_parcel_ha)
    if kind == "file":
        if path is None:
            raise ParameterError("sites kind 'file' needs the path of a sites file "
                                 "(path=...); none was given")
        sites, report = read_sites(path, id_column=id_column, layer=layer,
                                   crs=layers["study_area"].crs)
        return sites, _count_outside(sites, report, layers["study_area"], path)
    raise ParameterError(f"sites kind must be 'grid', 'zones' or 'file', got {kind!r}")
