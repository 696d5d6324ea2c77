"""Exports of ranked sites: GeoPackage, GeoParquet, GeoTIFF surface, CSV and HTML report.

All writers take the scored candidate sites (a GeoDataFrame indexed by site id
with ``score``, ``rank``, ``excluded``, ``excluded_reason``, ``contrib_*`` and
indicator columns, e.g. the site table joined with
:attr:`productivecity.suitability.SuitabilityResult.table`) and optionally the
rank stability of :func:`productivecity.suitability.monte_carlo_weights`
(``topk_share``, ``rank_p05`` ... ``rank_max``). Every writer puts the sites in
the same order (:func:`ranked_sites`: best rank first, excluded sites last,
ties by site id), writes to a temporary file and renames it into place, and
refuses to replace an existing file unless ``overwrite=True``.

=====================  ==========================================================
:func:`write_gpkg`     one GeoPackage: ``sites`` + every layer (+ ``isochrones``)
:func:`write_geoparquet`  the ranked sites as GeoParquet (EPSG:31370)
:func:`write_suitability_raster`  a score surface as GeoTIFF (EPSG:31370, nodata,
                       overviews)
:func:`write_sites_csv`  the ranked sites as CSV with centroid coordinates
:func:`write_report`   an HTML report: top sites, breakdown, stability, maps
=====================  ==========================================================
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
from affine import Affine
from matplotlib.figure import Figure
from rasterio.enums import Resampling

from productivecity import _i18n
from productivecity._errors import EmptyLayerError, SchemaError
from productivecity.io import atomic_path, write_geopackage
from productivecity.maps import (
    _PNG_METADATA,
    CRS_LABEL,
    _check_sites,
    _layer,
    _rc,
    attribution,
    attribution_keys,
    indicator_columns,
)
from productivecity.settings import PROJECT_CRS

logger = logging.getLogger(__name__)

#: Rank-stability columns taken from a Monte-Carlo result, in this order.
STABILITY_COLUMNS = ("topk_share", "rank_p05", "rank_p50", "rank_p95", "rank_min", "rank_max")

_LEAD = ("rank", "score")
_TAIL = ("excluded", "excluded_reason")


# --------------------------------------------------------------------------- table


def ranked_sites(sites: gpd.GeoDataFrame, *, stability=None) -> gpd.GeoDataFrame:
    """Return the sites in export order with rank stability joined.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites: index = site id; ``score`` (unitless), ``rank`` (1 = best,
        missing for excluded sites), ``excluded`` (bool); other columns kept.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability aligned to the site ids (its ``table`` for a
        :class:`~productivecity.suitability.MonteCarloResult`); the columns in
        :data:`STABILITY_COLUMNS` it has are joined. Left out when the sites
        already have them.

    Returns
    -------
    GeoDataFrame
        A copy in EPSG:31370, index named ``site_id`` (unless named), rows by
        rank (best first), excluded sites last, ties by site id; columns
        ``rank``, ``score``, stability columns, ``contrib_*``, the other
        columns in input order, ``excluded``, ``excluded_reason``, geometry.

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
    excl = sites["excluded"].fillna(True).astype(bool)
    key = pd.DataFrame({"excl": excl.to_numpy(), "rank": rank.fillna(np.inf).to_numpy(),
                        "id": sites.index.astype(str)})
    order = key.sort_values(["excl", "rank", "id"], kind="stable").index.to_numpy()
    return sites.iloc[order]


# --------------------------------------------------------------------------- vector files


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
    """Write the ranked sites as GeoParquet (EPSG:31370, site id as a column).

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


def write_sites_csv(sites: gpd.GeoDataFrame, path: str | os.PathLike, *, stability=None,
                    wkt: bool = False, overwrite: bool = False) -> Path:
    """Write the ranked sites as a CSV table (UTF-8, comma-separated, ``.`` decimals).

    Geometry is given as the centroid of each site in EPSG:31370
    (``centroid_x_m``, ``centroid_y_m``, metres) and in WGS 84
    (``centroid_lon``, ``centroid_lat``, degrees); with ``wkt=True`` also the full
    polygon as ``geometry_wkt`` (EPSG:31370).

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
    cent = table.geometry.centroid
    wgs = cent.to_crs(4326)
    df = pd.DataFrame(table.drop(columns=table.geometry.name))
    df["centroid_x_m"] = cent.x.round(2)
    df["centroid_y_m"] = cent.y.round(2)
    df["centroid_lon"] = wgs.x.round(7)
    df["centroid_lat"] = wgs.y.round(7)
    if wkt:
        df["geometry_wkt"] = table.geometry.to_wkt(rounding_precision=2, trim=True)
    with atomic_path(path, overwrite=overwrite) as tmp:
        df.to_csv(tmp, index=True, encoding="utf-8", lineterminator="\n", float_format="%.10g")
    return Path(path)


# --------------------------------------------------------------------------- raster


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
    to multiples of ``resolution_m`` in EPSG:31370.

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
        A tiled, DEFLATE-compressed float32 GeoTIFF in EPSG:31370 with nodata
        set, internal overviews (averages, factors 2, 4, ...) and the band
        described as ``column``. Sites smaller than a cell may get no cell;
        their number is logged.
    """
    sites = _check_sites(sites, [column, "excluded"])
    if not (isinstance(resolution_m, int | float) and math.isfinite(resolution_m)
            and resolution_m > 0):
        raise ValueError(f"resolution_m must be a positive number of metres, got {resolution_m!r}")
    values = pd.to_numeric(sites[column], errors="coerce").astype(float)
    use = values.notna() & ~sites["excluded"].fillna(True).astype(bool)
    if not use.any():
        raise EmptyLayerError(f"no site has a value in {column!r}; nothing to rasterise")
    if (values[use] == nodata).any():
        raise SchemaError(f"column {column!r} holds the nodata value {nodata}; pick another")
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
        "crs": PROJECT_CRS, "transform": transform, "nodata": nodata, "tiled": True,
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


# --------------------------------------------------------------------------- report


_REPORT_CSS = """
body {font-family:'DejaVu Sans',Verdana,sans-serif; color:#222; margin:2em auto; max-width:1200px;
  padding:0 1em; font-size:14px; line-height:1.4;}
h1 {font-size:1.7em; margin-bottom:0.1em;} h2 {margin-top:1.6em; border-bottom:1px solid #ccc;}
.sub {color:#555;} table {border-collapse:collapse; margin:0.6em 0; font-size:0.92em;}
th, td {padding:3px 8px; border-bottom:1px solid #e4e1da; vertical-align:middle;}
th {background:#f3f1ec; text-align:left;} td.n {text-align:right; white-space:nowrap;}
.bar {display:flex; height:12px; width:220px; background:#f3f1ec;}
.bar span {display:block; height:12px;}
.key span {display:inline-block; width:12px; height:12px; margin:0 4px 0 12px;
  vertical-align:middle;}
figure {margin:1em 0;} figure img {max-width:100%; border:1px solid #ddd;}
footer {margin-top:2em; color:#666; font-size:0.85em;}
"""


def _figure_png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    with _rc():
        fig.savefig(buf, format="png", dpi=dpi, metadata=dict(_PNG_METADATA),
                    facecolor=fig.get_facecolor())
    return buf.getvalue()


def _cell(value, digits: int = 3) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "✓" if value else "✗"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}".replace(",", "\u2009")
    v = float(value)
    if abs(v) >= 100 or (v.is_integer() and abs(v) >= 1):
        return f"{v:,.0f}".replace(",", "\u2009")
    return f"{v:.{digits}g}"


def write_report(
    sites: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    stability=None,
    figures: Mapping[str, Figure | str | os.PathLike] | None = None,
    layers=None,
    spec=None,
    indicators: Sequence[str] | None = None,
    top_k: int = 10,
    stability_top_k: int | None = None,
    lang: str = "en",
    title: str | None = None,
    date=None,
    sources: Iterable[str] | None = None,
    figure_dpi: int = 110,
    overwrite: bool = False,
) -> Path:
    """Write an HTML report of the ranking: top sites, breakdown, stability, maps.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (see :func:`ranked_sites`).
    path : path-like
        Target ``.html``.
    stability : MonteCarloResult or DataFrame, optional
        Rank stability; without it (and without the columns in ``sites``) the
        stability columns are left out.
    figures : mapping of str to Figure or path, optional
        Maps to show, by caption. A Figure is embedded as a base64 PNG at
        ``figure_dpi``; a path (e.g. a PNG written next to the report) is linked
        relative to the report.
    layers : LayerSet or mapping, optional
        Used for the study-area name and the default attribution.
    spec : CriteriaSpec, optional
        Adds the criteria table (column, direction, standardisation, weight) and
        the specification's name.
    indicators : sequence of str, optional
        Indicator columns shown per top site (default: the criteria columns of
        ``spec``, else :func:`productivecity.maps.indicator_columns`).
    top_k : int, default 10
        Number of top sites listed.
    stability_top_k : int, optional
        The shortlist size behind ``topk_share`` (default: that of ``stability``).
    lang : {"nl", "fr", "en"}, default "en"
    title : str, optional
    date : date or str, optional
        Data or run date (never the wall clock, so the report is reproducible).
    sources : iterable of str, optional
        Attribution keys (default inferred from ``layers``).
    figure_dpi : int, default 110
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    lang = _i18n.check_lang(lang)
    t = lambda key, **kw: html.escape(_i18n.text(key, lang, **kw))  # noqa: E731
    table = ranked_sites(sites, stability=stability)
    path = Path(path)
    contrib = [c for c in table.columns if str(c).startswith("contrib_")]
    if indicators is None:
        indicators = ([c.column for c in spec.criteria if c.column in table.columns]
                      if spec is not None else indicator_columns(table))
    k_mc = stability_top_k if stability_top_k is not None else getattr(stability, "top_k", None)
    excl = table["excluded"].fillna(True).astype(bool)
    top = table[~excl & (pd.to_numeric(table["rank"], errors="coerce") <= top_k)]
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
               "#ff9da7", "#9c755f", "#bab0ac"]
    colours = {c: palette[i % len(palette)] for i, c in enumerate(contrib)}
    smax = float(pd.to_numeric(top["score"], errors="coerce").max()) if len(top) else 1.0
    smax = smax if smax > 0 else 1.0

    e = html.escape
    out = ["<!DOCTYPE html>", f"<html lang='{lang}'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{e(title or _i18n.text('report_title', lang))}</title>",
           f"<style>{_REPORT_CSS}</style></head><body>",
           f"<h1>{e(title or _i18n.text('report_title', lang))}</h1>"]
    sub = []
    area = _layer(layers, "study_area") if layers is not None else None
    if area is not None and "name" in area.columns:
        sub.append(e(str(area["name"].iloc[0])))
    if spec is not None and getattr(spec, "name", ""):
        sub.append(e(spec.name))
    if date is not None:
        sub.append(f"{t('date')}: {e(str(date))}")
    if sub:
        out.append(f"<p class='sub'>{' · '.join(sub)}</p>")

    # summary
    out.append(f"<h2>{t('summary')}</h2>")
    out.append(f"<p>{t('sites_n', n=len(table), e=int(excl.sum()))}</p>")
    if excl.any() and "excluded_reason" in table.columns:
        reasons = (table.loc[excl, "excluded_reason"].fillna("").astype(str).str.split("; ")
                   .explode().str.replace(r" [-\d.e+]+ ", " x ", regex=True))
        counts = reasons[reasons != ""].value_counts().sort_index()
        if len(counts):
            out.append(f"<table><tr><th>{t('excluded_reason')}</th><th>n</th></tr>")
            out += [f"<tr><td>{e(r)}</td><td class='n'>{n}</td></tr>" for r, n in counts.items()]
            out.append("</table>")
    if spec is not None:
        out.append(f"<table><tr><th>{t('criterion')}</th><th>column</th><th>direction</th>"
                   "<th>standardisation</th><th>weight</th></tr>")
        for c in spec.criteria:
            out.append(f"<tr><td><span style='color:{colours.get('contrib_' + c.name, '#222')}'>"
                       f"■</span> {e(c.name)}</td><td>{e(c.column)}</td><td>{e(c.direction)}</td>"
                       f"<td>{e(c.standardisation)}</td>"
                       f"<td class='n'>{float(spec.weights[c.name]):.3f}</td></tr>")
        out.append("</table>")

    # top sites
    out.append(f"<h2>{t('top_sites')}</h2>")
    if contrib:
        out.append("<p class='key'>" + "".join(
            f"<span style='background:{colours[c]}'></span>"
            f"{e(_i18n.column_label(c, lang))}" for c in contrib) + "</p>")
    has_stab = "topk_share" in table.columns
    head = [t("rank"), t("site"), t("score_short")]
    if has_stab:
        head += [t("topk_share", k=k_mc if k_mc is not None else "k"), t("rank_interval")]
    head += [t("breakdown")] + [e(_i18n.column_label(c, lang)) for c in contrib]
    head += [e(_i18n.column_label(c, lang)) for c in indicators]
    out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    for sid, row in top.iterrows():
        cells = [f"<td class='n'><b>{_cell(row['rank'])}</b></td>", f"<td>{e(str(sid))}</td>",
                 f"<td class='n'>{_cell(row['score'])}</td>"]
        if has_stab:
            share = row.get("topk_share")
            cells.append(f"<td class='n'>{'–' if pd.isna(share) else f'{share * 100:.0f} %'}"
                         "</td>")
            cells.append(f"<td class='n'>{_cell(row.get('rank_p05'))}–"
                         f"{_cell(row.get('rank_p95'))}</td>")
        segs = []
        for c in contrib:
            v = float(row[c]) if pd.notna(row[c]) else 0.0
            w = max(v, 0.0) / smax * 100
            segs.append(f"<span style='width:{w:.2f}%;background:{colours[c]}' "
                        f"title='{e(_i18n.column_label(c, lang))}: {_cell(v)}'></span>")
        cells.append(f"<td><div class='bar'>{''.join(segs)}</div></td>")
        cells += [f"<td class='n'>{_cell(row[c])}</td>" for c in contrib]
        cells += [f"<td class='n'>{_cell(row.get(c))}</td>" for c in indicators]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")

    # maps
    if figures:
        out.append(f"<h2>{t('maps')}</h2>")
        for caption, fig in figures.items():
            if isinstance(fig, Figure):
                data = base64.b64encode(_figure_png(fig, figure_dpi)).decode("ascii")
                src = f"data:image/png;base64,{data}"
            else:
                src = Path(os.path.relpath(Path(fig), path.parent)).as_posix()
            out.append(f"<figure><img src='{e(src)}' alt='{e(str(caption))}'>"
                       f"<figcaption>{e(str(caption))}</figcaption></figure>")

    keys = (attribution_keys(layers) if layers is not None else []) if sources is None \
        else list(sources)
    out.append(f"<footer>{t('sources')}: {e(attribution(keys)) if keys else '–'}<br>"
               f"{t('crs')}: {e(CRS_LABEL)} · {t('made_with')}</footer>")
    out.append("</body></html>\n")
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(out), encoding="utf-8")
    return path


__all__ = [
    "STABILITY_COLUMNS",
    "ranked_sites",
    "write_geoparquet",
    "write_gpkg",
    "write_report",
    "write_sites_csv",
    "write_suitability_raster",
]
