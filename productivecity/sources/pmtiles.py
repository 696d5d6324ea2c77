"""Read PMTiles / MVT vector tiles and reassemble tile-cut objects.

Vector tiles cut every object at the tile edges, so one OSM object comes back
as several *fragments*. Tiles built with ``tippecanoe --generate-ids`` give
every fragment of an object the same feature id, which GDAL exposes as the
``mvt_id`` field. :func:`read_pmtiles` unions the fragments of each ``mvt_id``
back into one geometry:

- fragment coordinates are snapped to a 1 cm grid (in the tiles' EPSG:3857)
  before the union, because the two sides of a tile edge differ by ~1e-9 m
  after GDAL converts tile coordinates, which would otherwise leave
  zero-width gaps and keep the pieces apart;
- tiles overlap by their buffer; the union absorbs the overlap;
- polygons whose parts stay apart by less than ``sliver_m`` (slivers left by
  tippecanoe's simplification along a tile edge) are closed with a
  buffer-in/buffer-out, accepted only when it joins parts and changes the area
  by less than 1 %;
- line ends less than ``LINE_GAP_M`` apart are joined and the pieces merged
  end to end (``line_merge``); point duplicates in
  the tile buffer are reduced to the first copy.

The GDAL "PMTiles" driver reads the highest zoom level by default, where
fragments are least simplified.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from productivecity._errors import DataSourceError
from productivecity._geom import repair_geometries
from productivecity.crs import area_crs, metric_crs_of, to_crs

logger = logging.getLogger(__name__)

#: Grid (metres in EPSG:3857) that fragment coordinates are snapped to before the union.
GRID_M = 0.01
#: Largest gap (metres, EPSG:3857) between parts of one object closed as a sliver.
SLIVER_M = 0.5
#: Largest gap (metres) between line ends of one object that are joined. Each tile
#: rounds the point where a line leaves it to its own grid (~0.6 m at z14); a line
#: crossing the edge at a shallow angle turns that into metres along the edge.
LINE_GAP_M = 5.0

_FAMILY = {
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Point": "point", "MultiPoint": "point",
}


@dataclasses.dataclass
class PMTilesStats:
    """What :func:`read_pmtiles` did, for the layer reports.

    Attributes
    ----------
    fragments_n : int
        Tile fragments read (after splitting geometry collections).
    objects_n : int
        Objects after reassembly.
    merged_fragments_n : int
        ``fragments_n - objects_n``: fragments merged into another one.
    repaired_n : int
        Invalid fragment or object geometries repaired.
    slivers_closed_n : int
        Objects whose parts were joined across a sliver gap.
    empty_n : int
        Fragments without geometry, left out.
    """

    fragments_n: int = 0
    objects_n: int = 0
    merged_fragments_n: int = 0
    repaired_n: int = 0
    slivers_closed_n: int = 0
    empty_n: int = 0


def read_pmtiles(
    path: str | os.PathLike,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    where: str | None = None,
    columns: list[str] | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a PMTiles (MVT) layer and reassemble tile fragments into whole objects.

    Parameters
    ----------
    path : path-like
        A PMTiles v3 archive of Mapbox vector tiles whose features carry ids
        (``mvt_id``; tippecanoe ``--generate-ids``).
    area : GeoDataFrame or GeoSeries, optional
        Only objects with a fragment in the bounding box of ``area`` (any CRS)
        are returned, each complete: fragments outside the box are fetched too.
    where : str, optional
        OGR SQL filter on attributes, e.g. ``"landuse IN ('industrial')"``.
    columns : list of str, optional
        Attribute columns to read (default all; ``mvt_id`` is always read).
    layer : str, optional
        Layer name (default the first).

    Returns
    -------
    GeoDataFrame
        In the area's metric CRS (without an area: the UTM zone of the
        objects), one row per object and geometry family
        (polygon, line, point), sorted by ``mvt_id``: columns ``mvt_id``
        (int), ``fragments_n`` (tile fragments merged into the row), the
        attributes, ``geometry``.

    Raises
    ------
    DataSourceError
        Missing or unreadable file, or a layer without ``mvt_id``.
    """
    gdf, _ = read_pmtiles_with_stats(path, area=area, where=where, columns=columns, layer=layer)
    return gdf


def read_pmtiles_with_stats(
    path: str | os.PathLike,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    where: str | None = None,
    columns: list[str] | None = None,
    layer: str | None = None,
    sliver_m: float = SLIVER_M,
) -> tuple[gpd.GeoDataFrame, PMTilesStats]:
    """Like :func:`read_pmtiles`, also returning :class:`PMTilesStats` (counts)."""
    path = Path(path)
    info = pmtiles_info(path, layer)
    fields = list(info["fields"])
    if "mvt_id" not in fields:
        raise DataSourceError(
            f"{path} (layer {info['layer_name']!r}) has no 'mvt_id' feature ids, so tile "
            f"fragments cannot be reassembled; build the tiles with tippecanoe --generate-ids"
        )
    if columns is not None:
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise DataSourceError(f"{path} has no column(s) {unknown}; its columns are {fields}")
        columns = ["mvt_id", *[c for c in columns if c != "mvt_id"]]
    file_crs = info["crs"] or "EPSG:3857"
    read = None
    if BULK_DECODE:
        read = _fast_reader(path, info["layer_name"], info, columns, where)
    if read is None:
        read = _reader(path, info["layer_name"], columns, where)
    if area is None:
        frags = read(None, None)
    else:
        frags = _read_complete(read, _bbox_in(area, file_crs))
    if frags.crs is None:
        frags = frags.set_crs(file_crs)
    crs = metric_crs_of(area, what="area") if area is not None else None
    return _reassemble(frags, sliver_m=sliver_m, what=str(path), crs=crs)


def pmtiles_info(path: str | os.PathLike, layer: str | None = None) -> dict:
    """Return ``pyogrio.read_info`` of a PMTiles layer (memoised per file version).

    Raises :class:`DataSourceError` for a missing, empty or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    st = path.stat()
    return _cached_info(str(path.resolve()), st.st_mtime_ns, st.st_size, layer)


@functools.lru_cache(maxsize=32)
def _cached_info(path: str, mtime_ns: int, size: int, layer: str | None) -> dict:
    return _open_info(Path(path), layer)


def _open_info(path: Path, layer: str | None) -> dict:
    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise DataSourceError(f"file {path} is empty")
    try:
        layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
        if layer is not None and layer not in layers:
            raise DataSourceError(f"{path} has no layer {layer!r}; its layers are {layers}")
        return pyogrio.read_info(path, layer=layer or layers[0])
    except DataSourceError:
        raise
    except Exception as exc:
        raise DataSourceError(f"could not open {path} as PMTiles vector tiles: {exc}") from exc


#: Largest number of object ids put in one OGR SQL ``IN`` list.
_MAX_SQL_IDS = 500


def _reader(path: Path, layer: str, columns, where):
    def read(bbox, ids):
        clause = where
        # a long IN list breaks OGR SQL: select many objects in pandas instead
        in_pandas = ids is not None and len(ids) > _MAX_SQL_IDS
        if ids is not None and not in_pandas:
            id_sql = f"mvt_id IN ({','.join(str(int(i)) for i in sorted(ids))})"
            clause = f"({where}) AND {id_sql}" if where else id_sql
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = pyogrio.read_dataframe(
                    path, layer=layer, columns=columns, where=clause, bbox=bbox
                )
            if in_pandas:
                frame = frame.loc[frame["mvt_id"].isin(list(ids))]
            return frame
        except Exception as exc:
            raise DataSourceError(f"could not read {path} (layer {layer!r}): {exc}") from exc
    return read


def _bbox_in(area, crs) -> tuple[float, float, float, float]:
    if area.crs is None:
        from productivecity._errors import CRSError
        raise CRSError("area has no CRS; set the one its coordinates are in first")
    return tuple(area.geometry.to_crs(crs).total_bounds)


def _read_complete(read, bbox) -> gpd.GeoDataFrame:
    """Read fragments in ``bbox``; if objects reach beyond it, read those objects whole.

    The second read selects the objects by ``mvt_id`` without a bounding box,
    so they are complete by construction (one extra pass over the tiles
    instead of growing the box step by step).
    """
    frags = read(bbox, None)
    if frags.empty:
        return frags
    minx, miny, maxx, maxy = frags.total_bounds
    pad = 1.0  # metres of EPSG:3857: fragments reaching the box edge continue outside it
    inside = (minx > bbox[0] + pad and miny > bbox[1] + pad and maxx < bbox[2] - pad
              and maxy < bbox[3] - pad)
    if inside:
        return frags
    ids = set(frags["mvt_id"].dropna().astype("int64"))
    return read(None, ids)


def _split_families(frags: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Split geometry collections into one row per geometry family."""
    gtypes = frags.geom_type
    is_gc = gtypes == "GeometryCollection"
    if not is_gc.any():
        return frags
    rows = []
    for idx, geom in frags.geometry[is_gc].items():
        for fam_types in (("Polygon", "MultiPolygon"), ("LineString", "MultiLineString"),
                          ("Point", "MultiPoint")):
            parts = [p for p in shapely.get_parts(geom) if p.geom_type in fam_types]
            if parts:
                row = frags.loc[[idx]].copy()
                row[row.geometry.name] = [shapely.union_all(parts)]
                rows.append(row)
    return pd.concat([frags.loc[~is_gc], *rows]) if rows else frags.loc[~is_gc]


def reassemble_fragments(
    fragments: gpd.GeoDataFrame, *, sliver_m: float = SLIVER_M
) -> tuple[gpd.GeoDataFrame, PMTilesStats]:
    """Union tile fragments that share an ``mvt_id`` into whole objects.

    Parameters
    ----------
    fragments : GeoDataFrame
        Tile fragments with an ``mvt_id`` column, in the tiles' CRS (metres,
        normally EPSG:3857).
    sliver_m : float, default 0.5
        Largest gap in metres between parts of one polygon that is closed.

    Returns
    -------
    objects : GeoDataFrame
        In the UTM zone of the objects (or their own CRS when true to scale).
    stats : PMTilesStats
    """
    if "mvt_id" not in fragments.columns:
        raise DataSourceError("fragments have no 'mvt_id' column to reassemble by")
    if fragments.crs is None:
        from productivecity._errors import CRSError
        raise CRSError("fragments have no CRS; vector tiles are normally EPSG:3857")
    return _reassemble(fragments, sliver_m=sliver_m, what="fragments")


def _reassemble(
    frags: gpd.GeoDataFrame, *, sliver_m: float, what: str, crs=None
) -> tuple[gpd.GeoDataFrame, PMTilesStats]:
    stats = PMTilesStats()
    missing = frags.geometry.isna() | frags.geometry.is_empty
    stats.empty_n = int(missing.sum())
    frags = _split_families(frags.loc[~missing])
    frags, stats.repaired_n = repair_geometries(frags)
    frags = frags.loc[frags.geometry.notna() & ~frags.geometry.is_empty]
    stats.fragments_n = len(frags)
    if frags.empty:
        out = frags.assign(fragments_n=pd.Series(dtype="int64"))
        return out, stats
    frags = frags.assign(_family=frags.geom_type.map(_FAMILY).fillna("other"))
    gcol = frags.geometry.name
    keys = ["mvt_id", "_family"]
    sizes = frags.groupby(keys, sort=True, dropna=False).size().rename("fragments_n")
    first = frags.groupby(keys, sort=True, dropna=False).head(1).set_index(keys)
    attrs = first.drop(columns=[gcol]).join(sizes)
    geoms = {}
    multi = sizes[sizes > 1]
    if len(multi):
        grouped = frags.set_index(keys).loc[multi.index, gcol]
        for key, series in grouped.groupby(level=[0, 1], sort=False):
            merged, closed = _merge(np.asarray(series.values), key[1], sliver_m)
            geoms[key] = merged
            stats.slivers_closed_n += closed
    geometry = [geoms.get(k, g) for k, g in zip(first.index, first[gcol], strict=True)]
    out = gpd.GeoDataFrame(attrs, geometry=geometry, crs=frags.crs).reset_index()
    out = out.drop(columns="_family")
    out, repaired = repair_geometries(out)
    stats.repaired_n += repaired
    stats.objects_n = len(out)
    stats.merged_fragments_n = stats.fragments_n - stats.objects_n
    cols = ["mvt_id", "fragments_n", *[c for c in out.columns
                                        if c not in ("mvt_id", "fragments_n", gcol)], gcol]
    out = out[cols]
    out = to_crs(out, crs if crs is not None else area_crs(out), what=what)
    logger.info("%s: %d fragments -> %d objects (%d merged, %d slivers closed, %d repaired)",
                what, stats.fragments_n, stats.objects_n, stats.merged_fragments_n,
                stats.slivers_closed_n, stats.repaired_n)
    return out, stats


def _merge(geoms: np.ndarray, family: str, sliver_m: float):
    """Union the fragments of one object; return the geometry and 1 if a sliver was closed."""
    if family == "point":
        return geoms[0], 0
    snapped = shapely.set_precision(geoms, GRID_M)
    snapped = snapped[~shapely.is_empty(snapped)]
    if not len(snapped):
        return shapely.union_all(geoms), 0
    merged = shapely.union_all(snapped)
    if family == "line":
        if merged.geom_type != "MultiLineString":
            return merged, 0
        return _join_line_ends(shapely.get_parts(merged), LINE_GAP_M if sliver_m > 0 else 0), 0
    if family != "polygon" or merged.geom_type != "MultiPolygon" or sliver_m <= 0:
        return merged, 0
    parts = shapely.get_parts(merged)
    closed = merged.buffer(sliver_m, join_style="mitre").buffer(-sliver_m, join_style="mitre")
    closed = shapely.make_valid(closed) if not closed.is_valid else closed
    n_closed = len(shapely.get_parts(closed))
    if n_closed < len(parts) and abs(closed.area - merged.area) <= 0.01 * merged.area:
        return closed, 1
    return merged, 0


def _join_line_ends(lines: np.ndarray, tol: float):
    """Move line ends that lie within ``tol`` of each other onto one point, then merge.

    Each tile clips a line at its edge on its own, so the two pieces of a line
    crossing a tile edge end a few millimetres apart.
    """
    if tol <= 0:
        return shapely.line_merge(shapely.multilinestrings(lines))
    coords = [shapely.get_coordinates(line) for line in lines]
    ends = np.array([c[i] for c in coords for i in (0, -1)])
    # cluster the end points: each end joins the first earlier end within tol
    target = np.arange(len(ends))
    for i in range(len(ends)):
        d = np.hypot(*(ends[:i] - ends[i]).T) if i else np.array([])
        close = np.flatnonzero(d <= tol)
        if len(close):
            target[i] = target[close[0]]
    fixed = []
    for k, c in enumerate(coords):
        c = c.copy()
        c[0] = ends[target[2 * k]]
        c[-1] = ends[target[2 * k + 1]]
        fixed.append(shapely.linestrings(c))
    merged = shapely.line_merge(shapely.union_all(fixed))
    return merged


# --------------------------------------------------------------------------------------
# bulk decoding: each archive read once, cached as GeoParquet
# --------------------------------------------------------------------------------------
#
# GDAL's PMTiles driver builds every feature with the full attribute schema of the
# archive (924 fields for an OSM POI layer), which makes a read cost seconds whatever
# columns are asked for. With the open option JSON_FIELD=YES the same driver returns
# the same fragments, in the same order and with the same coordinates, with the
# attributes packed in one JSON column, an order of magnitude faster. What differs is
# restored so that the answer is GDAL's, value for value:
# - ``mvt_id`` is left empty in that mode: it is read from the tiles. A GDAL FID is
#   ``(index among the tile's returned features << 2z) | (y << z) | x``; GDAL leaves
#   out the features clipping empties, which a second JSON read with CLIP=NO and
#   GDAL's own test (envelope, then intersection with the tile square) identify;
# - geometry types follow the tile's own layer type, not the archive's: single
#   geometries of the archive's type are made multi, one-part multis of other types
#   single, and the few fragments whose clipping gives a geometry collection (reduced
#   by GDAL by layer type) are read again through GDAL;
# - attribute filters (``where``) of the forms the package writes and bounding boxes
#   are applied in memory with OGR semantics: string comparisons ignore ASCII case, a
#   box keeps the fragments that intersect it, from the tiles of its tile range, in
#   GDAL's visiting order (row by row for a wide range, tile id order otherwise).
# Anything else (other SQL, non-string columns, an archive laid out otherwise) is read
# through GDAL as before. The decoded fragments are cached as GeoParquet keyed by the
# archive's SHA-256 (:mod:`productivecity.sources._layer_cache`).

#: Decode each archive once in bulk (False, or PRODUCTIVECITY_PMTILES_BULK=0: every read
#: goes through GDAL's full schema, as before; same results, several times slower).
BULK_DECODE = os.environ.get("PRODUCTIVECITY_PMTILES_BULK", "1") != "0"

#: Version of the decoded-fragment format; part of the cache key.
DECODER_VERSION = 1

_PROMOTE = {"MultiPolygon": (3, 6), "MultiLineString": (1, 5), "MultiPoint": (0, 4)}


class _Unsupported(Exception):
    """The fast path cannot reproduce GDAL's answer for this request."""


@dataclasses.dataclass
class _Decoded:
    frame: gpd.GeoDataFrame           # mvt_id, json, geometry (file CRS), GDAL order
    records: list | None = None       # parsed JSON attributes, lazily

    def attrs(self) -> list:
        if self.records is None:
            import json
            self.records = [json.loads(s) if isinstance(s, str) and s else {}
                            for s in self.frame["json"].to_numpy()]
        return self.records


_DECODED: dict[tuple, _Decoded] = {}


def _decoded(path: Path, layer: str, info: dict) -> _Decoded:
    """All fragments of one archive layer, decoded once per process (and cached on disk)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, layer)
    hit = _DECODED.get(key)
    if hit is not None:
        return hit
    from productivecity.sources._layer_cache import cached_geoparquet

    frame = cached_geoparquet(
        "pmtiles", path, {"layer": layer}, DECODER_VERSION,
        lambda: _decode_archive(path, layer, info),
        restore=_restore_decoded)
    if len(_DECODED) >= 8:
        _DECODED.pop(next(iter(_DECODED)))
    _DECODED[key] = out = _Decoded(frame)
    return out


def _restore_decoded(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if list(frame.columns) != ["mvt_id", "fid", "json", "geometry"]:
        raise ValueError(f"unexpected columns {list(frame.columns)}")
    return frame.assign(json=frame["json"].astype(object).where(frame["json"].notna(), None))


def _decode_archive(path: Path, layer: str, info: dict) -> gpd.GeoDataFrame:
    """Read every fragment with JSON_FIELD=YES; restore ``mvt_id`` and multi geometry types."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        raw = pyogrio.read_dataframe(path, layer=layer, JSON_FIELD="YES", fid_as_index=True,
                                     use_arrow=True)
    if list(raw.columns) != ["mvt_id", "json", "geometry"]:
        raise _Unsupported(f"unexpected JSON_FIELD columns {list(raw.columns)}")
    zoom = _zoom_level(info)
    fids = raw.index.to_numpy(dtype=np.int64)
    promote = _PROMOTE.get(str(info.get("geometry_type")))
    if promote is None:
        raise _Unsupported(f"layer geometry type {info.get('geometry_type')}")
    ids, mixed = _feature_ids(path, layer, zoom, fids)
    geoms = np.asarray(raw.geometry.values)
    # Clipping can give a geometry collection, which GDAL reduces to the parts of the
    # layer's geometry type: in JSON mode that type is the tile's own, not the
    # archive's. Those few fragments are read through GDAL's schema as before.
    mixed |= set(fids[shapely.get_type_id(geoms) == 7].tolist())
    if len(geoms):
        single = shapely.get_type_id(geoms) == promote[0]
        if single.any():
            parts = geoms[single]
            maker = {4: shapely.multipoints, 5: shapely.multilinestrings,
                     6: shapely.multipolygons}[promote[1]]
            geoms = geoms.copy()
            geoms[single] = maker(parts, indices=np.arange(len(parts)))
    if len(geoms):
        # other geometry types keep GDAL's single type for one part (JSON mode may have
        # wrapped them in the tile's own multi type)
        tid = shapely.get_type_id(geoms)
        other = np.isin(tid, [4, 5, 6]) & (tid != promote[1])
        other &= shapely.get_num_geometries(geoms) == 1
        if other.any():
            geoms = geoms.copy()
            geoms[other] = shapely.get_geometry(geoms[other], 0)
    if mixed:
        geoms = geoms.copy()
        row_of = {int(f): i for i, f in enumerate(fids)}
        for fid, geom in _gdal_geometries(path, layer, zoom, sorted(mixed)).items():
            geoms[row_of[fid]] = geom
    json_col = raw["json"].astype(object).where(raw["json"].notna(), None).to_numpy()
    return gpd.GeoDataFrame({"mvt_id": ids, "fid": fids, "json": json_col},
                            geometry=gpd.GeoSeries(geoms, crs=raw.crs or info["crs"]))


def _gdal_geometries(path: Path, layer: str, zoom: int, fids: list[int]) -> dict:
    """Geometries of some fragments as GDAL's schema read gives them, by FID."""
    mask = (1 << zoom) - 1
    max_gm = 20037508.342789244
    dim = 2 * max_gm / (1 << zoom)
    by_tile: dict = {}
    for f in fids:
        by_tile.setdefault((f & mask, (f >> zoom) & mask), []).append(f)
    out = {}
    for (x, y), want in by_tile.items():
        x0, y1 = -max_gm + x * dim, max_gm - y * dim
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = pyogrio.read_dataframe(path, layer=layer, columns=["mvt_id"],
                                         bbox=(x0 - 1, y1 - dim - 1, x0 + dim + 1, y1 + 1),
                                         fid_as_index=True)
        for f in want:
            if f not in got.index:
                raise _Unsupported(f"fragment {f} not found again")
            out[f] = got.geometry.loc[f]
    return out


def _zoom_level(info: dict) -> int:
    meta = info.get("dataset_metadata") or {}
    try:
        return int(meta["ZOOM_LEVEL"])
    except (KeyError, TypeError, ValueError):
        raise _Unsupported("the archive does not say which zoom level GDAL reads") from None


def _feature_ids(path: Path, layer: str, zoom: int, fids: np.ndarray) -> tuple[np.ndarray, set]:
    """Tile feature ids for GDAL PMTiles FIDs (GDAL's ``mvt_id``), and FIDs clipped to a mix.

    GDAL numbers the features it returns from each tile; with clipping (the
    default) it leaves out those whose geometry misses the tile square. The
    same archive read with CLIP=NO returns every feature of a tile, numbered
    as in the tile: there, GDAL's rule (envelope overlaps the square, then a
    non-empty intersection) tells which features the clipped read returned.
    """
    mask = (1 << zoom) - 1
    xs, ys, ks = fids & mask, (fids >> zoom) & mask, fids >> (2 * zoom)
    archive = _PMTilesArchive(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        raw = pyogrio.read_dataframe(path, layer=layer, JSON_FIELD="YES", CLIP="NO",
                                     fid_as_index=True, columns=[], use_arrow=True)
    rf = raw.index.to_numpy(dtype=np.int64)
    rx, ry, rk = rf & mask, (rf >> zoom) & mask, rf >> (2 * zoom)
    rg = np.asarray(raw.geometry.values)
    max_gm = 20037508.342789244
    dim = 2 * max_gm / (1 << zoom)
    x0 = -max_gm + rx * dim
    y1 = max_gm - ry * dim
    b = shapely.bounds(rg)
    has = ~shapely.is_missing(rg) & ~shapely.is_empty(rg)
    # bounds in tile units
    u = np.column_stack([(b[:, 0] - x0) / dim, (y1 - b[:, 3]) / dim,
                         (b[:, 2] - x0) / dim, (y1 - b[:, 1]) / dim])
    inside = (u[:, 0] >= -1e-9) & (u[:, 1] >= -1e-9) & (u[:, 2] <= 1 + 1e-9) & (
        u[:, 3] <= 1 + 1e-9)
    overlap = (u[:, 0] < 1 - 1e-9) & (u[:, 1] < 1 - 1e-9) & (u[:, 2] > 1e-9) & (
        u[:, 3] > 1e-9)
    keep = ~has | inside
    partial = np.flatnonzero(has & ~inside & overlap)
    is_gc = np.zeros(len(rg), dtype=bool)
    if len(partial):
        boxes = shapely.box(x0[partial], y1[partial] - dim, x0[partial] + dim, y1[partial])
        clipped = shapely.intersection(rg[partial], boxes)
        keep[partial] = ~shapely.is_empty(clipped)
        is_gc[partial] = shapely.get_type_id(clipped) == 7
    kept: dict = {}
    mixed: set = set()
    tiles: dict = {}
    for i in np.lexsort((rk, ry, rx)):
        xy = (int(rx[i]), int(ry[i]))
        if xy not in tiles:
            tiles[xy] = _mvt_feature_ids(archive.tile(zoom, *xy), layer)
            kept[xy] = []
        k = int(rk[i])
        if k >= len(tiles[xy]):
            raise _Unsupported(f"tile {zoom}/{xy} has no feature {k}")
        if keep[i]:
            if is_gc[i]:
                mixed.add((len(kept[xy]) << (2 * zoom)) | (xy[1] << zoom) | xy[0])
            kept[xy].append(tiles[xy][k])
    counts: dict = {}
    out = np.empty(len(fids), dtype=np.int64)
    for i in range(len(fids)):
        xy = (int(xs[i]), int(ys[i]))
        ids = kept.get(xy)
        k = int(ks[i])
        if ids is None or k >= len(ids) or ids[k] is None:
            raise _Unsupported(f"no feature id for feature {k} of tile {zoom}/{xy}")
        out[i] = ids[k]
        counts[xy] = counts.get(xy, 0) + 1
    for xy, n in counts.items():
        if n != len(kept[xy]):
            raise _Unsupported(f"tile {zoom}/{xy}: {n} features, {len(kept[xy])} expected")
    return out, mixed


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _skip(buf: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        n, pos = _varint(buf, pos)
        return pos + n
    if wire == 5:
        return pos + 4
    raise _Unsupported(f"protobuf wire type {wire}")


def _mvt_feature_ids(tile: bytes, layer: str) -> list:
    """Ids (None where absent) of all the features of one MVT tile layer, in order."""
    pos, end = 0, len(tile)
    want = layer.encode()
    while pos < end:
        key, pos = _varint(tile, pos)
        if key >> 3 == 3 and key & 7 == 2:
            n, pos = _varint(tile, pos)
            lyr_end = pos + n
            name, feats, p = None, [], pos
            while p < lyr_end:
                k, p = _varint(tile, p)
                if k >> 3 == 1 and k & 7 == 2:
                    m, p = _varint(tile, p)
                    name = tile[p:p + m]
                    p += m
                elif k >> 3 == 2 and k & 7 == 2:
                    m, p = _varint(tile, p)
                    feats.append((p, p + m))
                    p += m
                else:
                    p = _skip(tile, p, k & 7)
            if name == want:
                ids = []
                for f0, f1 in feats:
                    fid, q = None, f0
                    while q < f1:
                        k, q = _varint(tile, q)
                        if k == (1 << 3):  # field 1: id (varint)
                            fid, q = _varint(tile, q)
                        else:
                            q = _skip(tile, q, k & 7)
                    ids.append(fid)
                return ids
            pos = lyr_end
        else:
            pos = _skip(tile, pos, key & 7)
    return []


def _decompress(data: bytes, compression: int) -> bytes:
    if compression == 1:
        return data
    if compression == 2:
        import zlib
        return zlib.decompress(data, 47)  # gzip or zlib header
    raise _Unsupported(f"PMTiles compression {compression}")


def _zxy_to_tileid(z: int, x: int, y: int) -> int:
    acc = ((1 << (2 * z)) - 1) // 3
    n = 1 << z
    d = 0
    s = n >> 1
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = n - 1 - x, n - 1 - y
            x, y = y, x
        s >>= 1
    return acc + d


class _PMTilesArchive:
    """Minimal PMTiles v3 reader: directory entries and tile bytes."""

    def __init__(self, path: Path):
        import bisect
        self._bisect = bisect
        self.data = path.read_bytes()
        h = self.data[:127]
        if len(h) < 127 or h[:7] != b"PMTiles" or h[7] != 3:
            raise _Unsupported("not a PMTiles v3 archive")
        u64 = [int.from_bytes(h[8 + 8 * i:16 + 8 * i], "little") for i in range(11)]
        (root_off, root_len, _meta_off, _meta_len, leaf_off, _leaf_len, self.tile_off,
         *_rest) = u64
        self.internal_compression, self.tile_compression = h[97], h[98]
        self.leaf_off = leaf_off
        entries = []
        self._walk(self.data[root_off:root_off + root_len], entries, depth=0)
        entries.sort()
        self.ids = [e[0] for e in entries]
        self.entries = entries

    def _walk(self, raw: bytes, out: list, depth: int) -> None:
        if depth > 4:
            raise _Unsupported("PMTiles directories nested too deep")
        buf = _decompress(raw, self.internal_compression)
        n, pos = _varint(buf, 0)
        ids, last = [], 0
        for _ in range(n):
            v, pos = _varint(buf, pos)
            last += v
            ids.append(last)
        runs, lengths, offsets = [], [], []
        for _ in range(n):
            v, pos = _varint(buf, pos)
            runs.append(v)
        for _ in range(n):
            v, pos = _varint(buf, pos)
            lengths.append(v)
        for i in range(n):
            v, pos = _varint(buf, pos)
            offsets.append(offsets[i - 1] + lengths[i - 1] if v == 0 and i > 0 else v - 1)
        for tid, run, length, off in zip(ids, runs, lengths, offsets, strict=True):
            if run == 0:
                start = self.leaf_off + off
                self._walk(self.data[start:start + length], out, depth + 1)
            else:
                out.append((tid, run, off, length))

    def tile(self, z: int, x: int, y: int) -> bytes:
        tid = _zxy_to_tileid(z, x, y)
        i = self._bisect.bisect_right(self.ids, tid) - 1
        if i < 0:
            raise _Unsupported(f"tile {z}/{x}/{y} not in the archive")
        t0, run, off, length = self.entries[i]
        if not t0 <= tid < t0 + run:
            raise _Unsupported(f"tile {z}/{x}/{y} not in the archive")
        start = self.tile_off + off
        return _decompress(self.data[start:start + length], self.tile_compression)


_SQL_ID = r'(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_:]*))'
_SQL_STR = r"'((?:[^']|'')*)'"


def _parse_where(where: str | None) -> list[tuple[str, list[str] | None]] | None:
    """Parse ``A OR B OR ...`` with ``"key" IS NOT NULL`` / ``"key" IN ('a', ...)`` clauses.

    Returns ``[(key, None | values)]`` or None when the clause has another form.
    """
    import re

    if where is None:
        return []
    text = where.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    clause_re = re.compile(
        r"\s*\(?\s*" + _SQL_ID + r"\s+(?:(IS\s+NOT\s+NULL)|IN\s*\(\s*(" + _SQL_STR
        + r"(?:\s*,\s*" + _SQL_STR + r")*)\s*\))\s*\)?\s*", re.IGNORECASE)
    out = []
    for part in re.split(r"\s+OR\s+", text, flags=re.IGNORECASE):
        m = clause_re.fullmatch(part)
        if m is None or part.count("(") != part.count(")"):
            return None
        key = m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
        if m.group(3):
            out.append((key, None))
        else:
            values = [v.replace("''", "'") for v in re.findall(_SQL_STR, m.group(4))]
            out.append((key, values))
    return out


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fast_reader(path: Path, layer: str, info: dict, columns, where):
    """Return a ``read(bbox, ids)`` answering from the decoded archive (None: unsupported)."""
    clauses = _parse_where(where)
    if clauses is None:
        return None
    types = dict(zip(list(info["fields"]), list(info["dtypes"]), strict=True))
    order = {f: i for i, f in enumerate(info["fields"])}
    wanted = list(columns) if columns is not None else list(info["fields"])
    # GDAL returns the fields in the layer's order, whatever order they were asked in
    wanted = sorted(dict.fromkeys(wanted), key=lambda c: order.get(c, len(order)))
    for col in [*(c for c in wanted if c != "mvt_id"), *(k for k, _ in clauses)]:
        if types.get(col) != "object":
            return None
    if info.get("dataset_metadata", {}) is None or "mvt_id" not in types:
        return None
    try:
        dec = _decoded(path, layer, info)
    except _Unsupported as exc:
        logger.info("%s: bulk decoding not possible (%s); reading through GDAL", path, exc)
        return None
    frame = dec.frame
    try:
        recs = dec.attrs()
        values = {c: _string_values(recs, c) for c in
                  {*(c for c in wanted if c != "mvt_id"), *(k for k, _ in clauses)}}
    except _Unsupported as exc:
        logger.info("%s: %s; reading through GDAL", path, exc)
        return None
    keep = np.ones(len(frame), dtype=bool) if not clauses else np.zeros(len(frame), bool)
    for key, want in clauses:
        col = values[key]
        notnull = np.array([v is not None for v in col], dtype=bool)
        if want is None:
            keep |= notnull
        else:
            lowered = {w.translate(_ASCII_LOWER) for w in want}
            keep |= np.array([v is not None and v.translate(_ASCII_LOWER) in lowered
                              for v in col], dtype=bool)
    geoms = np.asarray(frame.geometry.values)
    mvt_ids = frame["mvt_id"].to_numpy()
    zoom = _zoom_level(info)
    fid = frame["fid"].to_numpy(dtype=np.int64)
    tx, ty = fid & ((1 << zoom) - 1), (fid >> zoom) & ((1 << zoom) - 1)

    def read(bbox, ids):
        mask = keep.copy()
        if ids is not None:
            mask &= np.isin(mvt_ids, np.fromiter(ids, dtype=np.int64, count=len(ids)))
        if bbox is not None:
            # GDAL visits the tiles of the box's tile range row by row, then keeps
            # the fragments that intersect the box
            x0, y0, x1, y1 = _tile_range(bbox, zoom)
            mask &= (tx >= x0) & (tx <= x1) & (ty >= y0) & (ty <= y1)
            sel = np.flatnonzero(mask)
            hit = shapely.intersects(geoms[sel], shapely.box(*bbox))
            sel = sel[hit]
            idx = sel[np.argsort(ty[sel] * (1 << zoom) + tx[sel], kind="stable")] if (
                _row_major(x0, y0, x1, y1, zoom)) else sel
        else:
            idx = np.flatnonzero(mask)
        data = {"mvt_id": mvt_ids[idx]}
        for c in wanted:
            if c != "mvt_id":
                data[c] = values[c][idx]
        return gpd.GeoDataFrame(data, geometry=geoms[idx], crs=frame.crs)
    return read


def _row_major(x0: int, y0: int, x1: int, y1: int, zoom: int) -> bool:
    """Whether GDAL visits a tile range row by row (else in tile-id order), as its iterator."""
    top = (1 << zoom) - 1
    if (x0, y0, x1, y1) == (0, 0, top, top):
        return False
    if (x1 - x0 + 1) <= 100 // (y1 - y0 + 1):
        ids = [_zxy_to_tileid(zoom, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
        span = max(ids) - min(ids)
    else:
        span = _zxy_to_tileid(zoom + 1, 0, 0) - 1 - _zxy_to_tileid(zoom, 0, 0)
    try:
        threshold = int(pyogrio.get_gdal_config_option("OGR_PMTILES_ITERATOR_THRESHOLD")
                        or 10000)
    except (TypeError, ValueError):
        threshold = 10000
    return span > threshold


def _tile_range(bbox, zoom: int) -> tuple[int, int, int, int]:
    """Tiles GDAL's PMTiles driver visits for a spatial filter (its ExtentToTileExtent)."""
    import math
    max_gm = 20037508.342789244
    dim = 2 * max_gm / (1 << zoom)
    eps = 1e-5
    top = (1 << zoom) - 1
    return (max(0, math.floor((bbox[0] + max_gm) / dim + eps)),
            max(0, math.floor((max_gm - bbox[3]) / dim + eps)),
            min(math.floor((bbox[2] + max_gm) / dim + eps), top),
            min(math.floor((max_gm - bbox[1]) / dim + eps), top))


def _string_values(recs: list, col: str) -> np.ndarray:
    out = np.empty(len(recs), dtype=object)
    for i, r in enumerate(recs):
        v = r.get(col)
        if v is not None and not isinstance(v, str):
            raise _Unsupported(f"column {col!r} holds a non-string value {v!r}")
        out[i] = v
    return out
