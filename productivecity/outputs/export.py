"""Exports of ranked sites: GeoPackage, GeoParquet, GeoTIFF surface, CSV and HTML report.

All writers take the scored candidate sites (a GeoDataFrame indexed by site id
with ``score``, ``rank``, ``excluded``, ``excluded_reason``, ``contrib_*`` and
indicator columns, e.g. the site table joined with
:attr:`productivecity.siting.scoring.SuitabilityResult.table`) and optionally the
rank stability of :func:`productivecity.siting.sensitivity.monte_carlo_weights`
(``topk_share``, ``rank_p05`` ... ``rank_max``). Every writer puts the sites in
the same order (:func:`ranked_sites`: best rank first, excluded sites last,
ties by site id), writes to a temporary file and renames it into place, and
refuses to replace an existing file unless ``overwrite=True``.

=====================  ==========================================================
:func:`write_gpkg`     one GeoPackage: ``sites`` + every layer (+ ``isochrones``)
:func:`write_geoparquet`  the ranked sites as GeoParquet (the sites' CRS)
:func:`write_suitability_raster`  a score surface as GeoTIFF (the sites' CRS, nodata,
                       overviews)
:func:`write_sites_csv`  the ranked sites as CSV with centroid coordinates
:func:`write_report`   an HTML report: top sites, breakdown, stability, maps
=====================  ==========================================================
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
from affine import Affine
from rasterio.enums import Resampling

from productivecity._errors import EmptyLayerError, ParameterError, SchemaError
from productivecity.crs import require_metric
from productivecity.io import atomic_path, write_geopackage
from productivecity.outputs.maps import (
    _check_sites,
)
from productivecity.siting.scoring import SITE_STATUSES, site_statuses

logger = logging.getLogger(__name__)


#: Rank-stability columns taken from a Monte-Carlo result, in this order.
STABILITY_COLUMNS = ("topk_share", "rank_p05", "rank_p50", "rank_p95", "rank_min", "rank_max")


_LEAD = ("rank", "score")


_TAIL = ("status", "excluded", "excluded_reason", "missing_inputs")


def ranked_sites(sites: gpd.GeoDataFrame, *, stability=None) -> gpd.GeoDataFrame:
    """Return the sites in export order with rank stability joined.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites: index = site id; ``score`` (unitless), ``rank`` (1 = best,
        missing unless eligible), ``excluded`` (bool), optionally ``status``
        and ``missing_inputs``; other columns kept.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability aligned to the site ids (its ``table`` for a
        :class:`~productivecity.siting.sensitivity.MonteCarloResult`); the columns in
        :data:`STABILITY_COLUMNS` it has are joined. Left out when the sites
        already have them.

    Returns
    -------
    GeoDataFrame
        A copy, index named ``site_id`` (unless named), rows: the eligible
        sites by rank (best first), then the excluded, then the not assessable
        ones, ties by site id; columns ``rank``, ``score``, stability columns,
        ``contrib_*``, the other columns in input order, ``status``,
        ``excluded``, ``excluded_reason``, ``missing_inputs`` (those present),
        geometry.

    Raises
    ------
    SchemaError
        Missing columns, or stability rows that match no site id.
    """
    sites = _check_sites(sites, ["score", "rank", "excluded"]).copy()
    if sites.index.has_duplicates:
        dup = sites.index[sites.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"candidate sites: site ids (index) must be unique; repeated: {dup}")
    if sites.index.name is None:
        sites.index.name = "site_id"
    if stability is not None:
        table = getattr(stability, "table", stability)
        if not isinstance(table, pd.DataFrame):
            raise SchemaError("stability must be a MonteCarloResult or a DataFrame, got "
                              f"{type(stability).__name__}")
        cols = [c for c in STABILITY_COLUMNS if c in table.columns and c not in sites.columns]
        if cols:
            common = table.index.intersection(sites.index)
            if not len(common):
                raise SchemaError(
                    "stability table matches none of the site ids; e.g. stability ids "
                    f"{table.index[:3].tolist()}, site ids {sites.index[:3].tolist()}"
                )
            for c in cols:
                sites[c] = table[c].reindex(sites.index).astype(float)
    geom = sites.geometry.name
    stab = [c for c in STABILITY_COLUMNS if c in sites.columns]
    contrib = [c for c in sites.columns if str(c).startswith("contrib_")]
    lead = [*_LEAD, *stab, *contrib]
    tail = [c for c in _TAIL if c in sites.columns]
    rest = [c for c in sites.columns if c not in lead and c not in tail and c != geom]
    sites = sites[[*lead, *rest, *tail, geom]]
    rank = pd.to_numeric(sites["rank"], errors="coerce").astype(float)
    state = site_statuses(sites).map({s: i for i, s in enumerate(SITE_STATUSES)})
    key = pd.DataFrame({"excl": state.to_numpy(), "rank": rank.fillna(np.inf).to_numpy(),
                        "id": sites.index.astype(str)})
    order = key.sort_values(["excl", "rank", "id"], kind="stable").index.to_numpy()
    return sites.iloc[order]


_DIMENSION = {"Point": "points", "MultiPoint": "points", "LineString": "lines",
              "MultiLineString": "lines", "Polygon": "polygons", "MultiPolygon": "polygons"}


def _split_by_dimension(name: str, gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """One layer per geometry dimension (``<name>_lines``, ...) when a layer mixes them."""
    kinds = gdf.geometry.geom_type.map(_DIMENSION).fillna("other")
    if kinds.nunique() <= 1:
        return {name: gdf}
    return {f"{name}_{kind}": gdf[kinds == kind] for kind in sorted(kinds.unique())}


def write_gpkg(
    sites: gpd.GeoDataFrame,
    layers,
    path: str | os.PathLike,
    *,
    stability=None,
    isochrones: gpd.GeoDataFrame | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the ranked sites and every layer into one GeoPackage (QGIS-ready).

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (see :func:`ranked_sites`).
    layers : LayerSet or mapping of str to GeoDataFrame, optional
        Context layers, written under their names after ``sites``; their index
        becomes a column (e.g. ``zone_id``, ``hub_id``). A layer that mixes
        points, lines and polygons (e.g. ``canal``: centre lines and water
        areas) is written as one layer per kind, ``<name>_lines``,
        ``<name>_polygons``, ``<name>_points``, as GIS programs expect.
    path : path-like
        Target ``.gpkg``.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability joined to the sites.
    isochrones : GeoDataFrame, optional
        Indexed by ``(origin, time_min)``; written as layer ``isochrones`` with
        columns ``origin`` and ``time_min``.
    overwrite : bool, default False

    Returns
    -------
    Path

    Notes
    -----
    Layer ``sites`` has one row per site in :func:`ranked_sites` order, with
    ``site_id`` as a column; ``rank`` is an integer field, empty (NULL) for
    excluded sites; ``excluded`` is a boolean field.
    """
    out: dict[str, gpd.GeoDataFrame] = {"sites": ranked_sites(sites, stability=stability)
                                        .reset_index()}
    data = getattr(layers, "layers", layers) or {}
    for name, gdf in data.items():
        if name in out:
            raise SchemaError(f"layer name {name!r} is reserved for the ranked sites")
        if gdf is None:
            continue
        for part, sub in _split_by_dimension(name, gdf).items():
            out[part] = sub.reset_index() if sub.index.name else sub
    if isochrones is not None:
        iso = isochrones.copy()
        iso.index = iso.index.set_names(["origin", "time_min"][: iso.index.nlevels])
        out["isochrones"] = iso.reset_index()
    return write_geopackage(out, path, overwrite=overwrite)


def write_geoparquet(sites: gpd.GeoDataFrame, path: str | os.PathLike, *, stability=None,
                     overwrite: bool = False) -> Path:
    """Write the ranked sites as GeoParquet (the sites' CRS, site id as a column).

    Parameters
    ----------
    sites : GeoDataFrame
    path : path-like
        Target ``.parquet``.
    stability : MonteCarloResult or DataFrame, optional
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    table = ranked_sites(sites, stability=stability).reset_index()
    with atomic_path(path, overwrite=overwrite) as tmp:
        table.to_parquet(tmp, index=False, compression="zstd")
    return Path(path)


def with_centroid_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """``frame`` without its geometry, with its centroid as columns.

    ``centroid_x_m``, ``centroid_y_m`` (the frame's CRS, metres, 2 decimals) and
    ``centroid_lon``, ``centroid_lat`` (WGS 84, 7 decimals).
    """
    cent = frame.geometry.centroid
    wgs = cent.to_crs(4326)
    df = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    df["centroid_x_m"] = cent.x.round(2)
    df["centroid_y_m"] = cent.y.round(2)
    df["centroid_lon"] = wgs.x.round(7)
    df["centroid_lat"] = wgs.y.round(7)
    return df


def write_sites_csv(sites: gpd.GeoDataFrame, path: str | os.PathLike, *, stability=None,
                    wkt: bool = False, overwrite: bool = False) -> Path:
    """Write the ranked sites as a CSV table (UTF-8, comma-separated, ``.`` decimals).

    Geometry is given as the centroid of each site in the sites' CRS
    (``centroid_x_m``, ``centroid_y_m``, metres) and in WGS 84
    (``centroid_lon``, ``centroid_lat``, degrees); with ``wkt=True`` also the full
    polygon as ``geometry_wkt`` (the sites' CRS).

    Parameters
    ----------
    sites : GeoDataFrame
    path : path-like
        Target ``.csv``.
    stability : MonteCarloResult or DataFrame, optional
    wkt : bool, default False
        Add the ``geometry_wkt`` column.
    overwrite : bool, default False

    Returns
    -------
    Path
        Rows as :func:`ranked_sites`; first column ``site_id``; ``rank`` empty for
        excluded sites; floats with up to 10 significant digits.
    """
    table = ranked_sites(sites, stability=stability)
    df = with_centroid_columns(table)
    if wkt:
        df["geometry_wkt"] = table.geometry.to_wkt(rounding_precision=2, trim=True)
    with atomic_path(path, overwrite=overwrite) as tmp:
        df.to_csv(tmp, index=True, encoding="utf-8", lineterminator="\n", float_format="%.10g")
    return Path(path)


def _overview_factors(width: int, height: int, *, min_size: int = 64) -> list[int]:
    factors, f = [], 2
    while max(width, height) / f >= min_size or not factors:
        factors.append(f)
        f *= 2
    return factors


def write_suitability_raster(
    sites: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    column: str = "score",
    resolution_m: float = 25.0,
    nodata: float = -9999.0,
    overwrite: bool = False,
) -> Path:
    """Rasterise a site value (the suitability score) into a GeoTIFF surface.

    Each cell whose centre lies in a site takes that site's value; where sites
    overlap, the higher value wins. Cells outside every site and cells of
    excluded sites or sites without a value are ``nodata``. The grid is aligned
    to multiples of ``resolution_m`` in the sites' CRS.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites with ``column`` and ``excluded``.
    path : path-like
        Target ``.tif``.
    column : str, default "score"
    resolution_m : float, default 25
        Cell size in metres.
    nodata : float, default -9999
    overwrite : bool, default False

    Returns
    -------
    Path
        A tiled, DEFLATE-compressed float32 GeoTIFF in the sites' CRS with nodata
        set, internal overviews (averages, factors 2, 4, ...) and the band
        described as ``column``. Sites smaller than a cell may get no cell;
        their number is logged.
    """
    sites = _check_sites(sites, [column, "excluded"])
    if not (isinstance(resolution_m, int | float) and math.isfinite(resolution_m)
            and resolution_m > 0):
        raise ParameterError(f"resolution_m must be a positive number of metres, "
                             f"got {resolution_m!r}")
    values = pd.to_numeric(sites[column], errors="coerce").astype(float)
    use = values.notna() & ~sites["excluded"].fillna(True).astype(bool)
    if not use.any():
        raise EmptyLayerError(f"no site has a value in {column!r}; nothing to rasterise")
    if (values[use] == nodata).any():
        raise SchemaError(f"column {column!r} holds the nodata value {nodata}; pick another")
    crs = require_metric(sites, what="sites")
    xmin, ymin, xmax, ymax = sites.total_bounds
    r = float(resolution_m)
    x0, y1 = math.floor(xmin / r) * r, math.ceil(ymax / r) * r
    width = max(1, int(math.ceil((xmax - x0) / r)))
    height = max(1, int(math.ceil((y1 - ymin) / r)))
    transform = Affine(r, 0.0, x0, 0.0, -r, y1)  # north-up grid, origin top left
    chosen = sites.loc[use]
    order = np.argsort(values[use].to_numpy(), kind="stable")  # higher values burnt last
    geoms = chosen.geometry.to_numpy()[order]
    vals = values[use].to_numpy()[order]
    surface = rasterio.features.rasterize(
        zip(geoms, vals, strict=True), out_shape=(height, width), transform=transform,
        fill=nodata, dtype="float32",
    )
    ids = rasterio.features.rasterize(
        zip(geoms, np.arange(1, len(geoms) + 1), strict=True), out_shape=(height, width),
        transform=transform, fill=0, dtype="int32",
    )
    missing = len(geoms) - (len(np.unique(ids)) - (1 if (ids == 0).any() else 0))
    if missing:
        logger.warning("%d site(s) are smaller than a %g m cell and have no cell in %s; "
                       "use a finer resolution_m", missing, r, path)
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32",
        "crs": crs, "transform": transform, "nodata": nodata, "tiled": True,
        "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
    }
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(surface, 1)
            dst.set_band_description(1, column)
            dst.update_tags(column=column, resolution_m=f"{r:g}", source="productivecity")
            dst.build_overviews(_overview_factors(width, height), Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
    logger.info("rasterised %d site(s) at %g m: %d x %d cells", len(geoms), r, width, height)
    return Path(path)

