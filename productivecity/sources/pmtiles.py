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
from productivecity.settings import PROJECT_CRS

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
        In EPSG:31370 (metres), one row per object and geometry family
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
    read = _reader(path, info["layer_name"], columns, where)
    if area is None:
        frags = read(None, None)
    else:
        frags = _read_complete(read, _bbox_in(area, file_crs))
    if frags.crs is None:
        frags = frags.set_crs(file_crs)
    return _reassemble(frags, sliver_m=sliver_m, what=str(path))


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
        raise CRSError("area has no CRS; set it (e.g. area.set_crs('EPSG:31370'))")
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
        EPSG:31370, as :func:`read_pmtiles`.
    stats : PMTilesStats
    """
    if "mvt_id" not in fragments.columns:
        raise DataSourceError("fragments have no 'mvt_id' column to reassemble by")
    if fragments.crs is None:
        from productivecity._errors import CRSError
        raise CRSError("fragments have no CRS; vector tiles are normally EPSG:3857")
    return _reassemble(fragments, sliver_m=sliver_m, what="fragments")


def _reassemble(
    frags: gpd.GeoDataFrame, *, sliver_m: float, what: str
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
        return out.to_crs(PROJECT_CRS), stats
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
    out = out[cols].to_crs(PROJECT_CRS)
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
