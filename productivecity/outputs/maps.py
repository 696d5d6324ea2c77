"""Print-ready static maps of candidate sites: overview, indicators, isochrones, atlas.

Every map is drawn in the study area's metric CRS with the context
layers of a :class:`~productivecity.layers.LayerSet` (study area, municipalities,
industrial land, canal zone, canal, railway stations, existing hubs), the
candidate sites coloured by a value, the top ``k`` sites labelled with their
rank, a legend, a metric scale bar, a north arrow and a footer with the date,
the CRS and the attribution of every data source used. Labels come in Dutch,
French or English (:mod:`productivecity._i18n`).

Map functions take ``ax=None``: without an axes they lay out a whole sheet
(A3 landscape by default; ``paper="A4"`` or ``"A1"``) with a title, the map and
a side panel (legend, colour bar, list of the top sites); with an axes they
draw the map, legend and footer into it. They return ``(figure, axes)``.

Output is deterministic: fixed fonts (DejaVu Sans, shipped with matplotlib),
fixed sizes, no timestamps or software versions in PNG/PDF metadata, so the
same inputs give the same bytes. Save with :func:`save_figure` (PNG at 300 dpi,
PDF, SVG) or :func:`save_atlas` (multi-page PDF); both write atomically and
refuse to overwrite unless ``overwrite=True``.

No tile server is used: the maps are complete offline; a base map of
streets, rail, water and green space read from the run's own OSM file
(``basemap=``, :mod:`productivecity.outputs.basemap`) is drawn under them. Maps are drawn in
the sites' metric CRS (the study area's) and named in the footer; the north
arrow points to true north at the centre of the map (the meridian
convergence of that CRS there, a fraction of a degree in a CRS made for the
area).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import io
import logging
import math
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pyproj
import shapely
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle

from productivecity import _i18n
from productivecity._errors import EmptyLayerError, ParameterError, SchemaError
from productivecity._validate import require_columns
from productivecity.crs import crs_label, metric_crs_of, north_angle_deg, to_crs
from productivecity.io import atomic_path
from productivecity.outputs._paths import (
    add_geometries,
    halo_text,
    lean_font_subsets,
    page_memo,
    pdf_text_cache,
)
from productivecity.outputs.attribution import dated_attribution, layer_credits
from productivecity.siting.scoring import site_statuses, status_counts

logger = logging.getLogger(__name__)


#: Sheet sizes in millimetres, landscape (width, height).
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (297.0, 210.0),
    "A3": (420.0, 297.0),
    "A1": (841.0, 594.0),
    "A0": (1189.0, 841.0),
}

#: How type grows with the paper: a sheet twice as wide gets type 2**0.6 ≈ 1.5 times as
#: large (not twice), so larger paper shows more of the map and more rows, not a
#: scaled copy.
_TYPE_GROWTH = 0.6


#: How the CRS is named in footers.


#: Colours of the context layers (muted, so that the sites stand out).
STYLE = {
    "background": "#ffffff",
    "area_fill": "#f3f1ec",
    "area_edge": "#5f5a52",
    "municipality_edge": "#c9c3b8",
    "municipality_text": "#8a8378",
    "industrial_fill": "#dcd6cb",
    "industrial_edge": "#c7bfb1",
    "industrial_outline": "#6b6256",
    "canal_zone_edge": "#7fa7c9",
    "water_fill": "#a9cce3",
    "water_edge": "#6fa3c8",
    "canal_line": "#4f8fc4",
    "rail": "#2b2b2b",
    "hub": "#d1495b",
    "excluded_fill": "#ebe8e2",
    "excluded_hatch": "#b5aea3",
    # "no data" (a site not assessable, an indicator without a value): pale, dotted,
    # dashed edge, so that it never reads as "excluded by a rule" (hatched)
    "no_data_fill": "#f6f6f4",
    "no_data_edge": "#9a9a9a",
    "no_data_hatch": "....",
    "no_value": "#d9d9d9",
    "top_edge": "#1f1f1f",
    "text": "#222222",
}


# rcParams that make output independent of the user's matplotlib configuration.
_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8.0,
    "axes.unicode_minus": True,
    "svg.hashsalt": "productivecity",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": True,
    "hatch.linewidth": 0.5,
    "image.composite_image": True,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "savefig.bbox": None,
}


_PNG_METADATA = {"Software": None}


_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


_RESULT_COLUMNS = {"score", "rank", "excluded", "excluded_reason", "status", "missing_inputs",
                   "topk_share", "rank_p05",
                   "rank_p50", "rank_p95", "rank_min", "rank_max"}


_UNIT_SUFFIXES = ("_m", "_min", "_ha", "_km", "_n", "_kmh", "_pct", "_per_ha")


@contextlib.contextmanager
def _rc() -> Iterator[None]:
    with mpl.rc_context(_RC):
        yield


def _layer(layers, name: str) -> gpd.GeoDataFrame | None:
    """Return the layer ``name`` in the map's CRS, or None if absent or empty.

    The map's CRS is the study area's (the ``study_area`` layer's), else the layer's own.
    """
    if layers is None:
        return None
    data = getattr(layers, "layers", layers)
    gdf = data.get(name) if isinstance(data, Mapping) else None
    if gdf is None or not len(gdf):
        return None
    ref = data.get("study_area") if isinstance(data, Mapping) else None
    crs = (ref.crs if ref is not None and ref.crs is not None
           else metric_crs_of(gdf, what=f"layer {name!r}"))
    gdf = to_crs(gdf, crs, what=f"layer {name!r}")
    return gdf[~(gdf.geometry.is_empty | gdf.geometry.isna())]


#: Context layers as drawn (see :func:`_context_layer`), oldest first.
_CONTEXT: dict = {}


def _context_layer(layers, name: str) -> gpd.GeoDataFrame | None:
    """:func:`_layer`, kept for the next page: every page draws the same context layers.

    The frame returned is shared between pages: read it, never change it.
    """
    data = getattr(layers, "layers", layers) if layers is not None else None
    if not isinstance(data, Mapping):
        return _layer(layers, name)
    return page_memo(_CONTEXT, (data.get(name), data.get("study_area")), (),
                     lambda: _layer(layers, name), max_n=32)


def _check_sites(sites: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    if not isinstance(sites, gpd.GeoDataFrame):
        raise SchemaError(f"sites must be a GeoDataFrame, got {type(sites).__name__}")
    require_columns(sites, columns, what="candidate sites")
    if not len(sites):
        raise EmptyLayerError("candidate sites: the table is empty; nothing to map")
    return to_crs(sites, metric_crs_of(sites, what="candidate sites"), what="candidate sites")


def indicator_columns(sites: pd.DataFrame) -> list[str]:
    """Numeric indicator columns of a site table, in table order.

    A column counts as an indicator when it is numeric (not boolean), carries a
    unit suffix (``_m``, ``_min``, ``_ha``, ``_km``, ``_n``, ``_kmh``, ``_pct``,
    ``_per_ha``) and is not a result column (score, rank, ``contrib_*``,
    ``std_*``, rank-stability columns).

    Returns
    -------
    list of str
    """
    out = []
    for col in sites.columns:
        if col == getattr(sites, "_geometry_column_name", None) or col in _RESULT_COLUMNS:
            continue
        if str(col).startswith(("contrib_", "std_")):
            continue
        s = sites[col]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        if str(col).endswith(_UNIT_SUFFIXES):
            out.append(col)
    return out


def _format_date(date) -> str | None:
    if date is None:
        return None
    if isinstance(date, _dt.datetime):
        return date.date().isoformat()
    if isinstance(date, _dt.date):
        return date.isoformat()
    return str(date)


def _fmt(value: float, lang: str = "en") -> str:
    """Short number for labels: 3 significant digits, thousands separated by a thin space.

    In Dutch and French the decimal mark is a comma (as :func:`_i18n.format_number`).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    if v != 0 and abs(v) < 1:
        out = f"{v:.2f}"
    elif abs(v) >= 1000:
        return f"{v:,.0f}".replace(",", "\u2009")
    else:
        out = f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return out.replace(".", ",") if lang in ("nl", "fr") else out


class _Sheet:
    """A map figure: the map axes, an optional side panel and the text scale."""

    def __init__(self, ax: Axes | None, paper: str):
        if paper not in PAPER_MM:
            raise ParameterError(f"paper size {paper!r} is not available; use one of "
                                 f"{list(PAPER_MM)}")
        self.own = ax is None
        w_mm, h_mm = PAPER_MM[paper]
        # larger paper: more rows in lists, longer labels (A3: 15 rows, 44 characters)
        growth = w_mm / 420.0
        self.list_rows = max(8, round(15 * growth ** 0.8))
        self.label_chars = max(30, round(44 * growth ** 0.5))
        if ax is None:
            self.scale = growth ** _TYPE_GROWTH
            # whole pixels at 300 dpi (A4: 3508 x 2480), within 0.05 mm of the paper size
            size_in = (round(w_mm / 25.4 * 300) / 300, round(h_mm / 25.4 * 300) / 300)
            fig = Figure(figsize=size_in, dpi=100, facecolor="white")
            margin = 10.0 * self.scale
            title_h = 24.0 * self.scale
            footer_h = 17.0 * self.scale
            panel_w = 0.25 * w_mm
            gap = 6.0 * self.scale
            map_w = w_mm - panel_w - 2 * margin - gap
            map_h = h_mm - title_h - footer_h - margin
            self.ax = fig.add_axes(
                (margin / w_mm, footer_h / h_mm, map_w / w_mm, map_h / h_mm)
            )
            self.panel = fig.add_axes(
                ((margin + map_w + gap) / w_mm, footer_h / h_mm, panel_w / w_mm, map_h / h_mm)
            )
            self.panel.set_axis_off()
            self.fig = fig
            self.title_y = 1 - (margin * 0.9) / h_mm
            self.left = margin / w_mm
        else:
            self.ax = ax
            self.panel = None
            self.fig = ax.figure
            bbox = ax.get_window_extent().transformed(self.fig.dpi_scale_trans.inverted())
            self.scale = max(min(bbox.width * 25.4 / 160.0, 2.0), 0.6)
        self.ax.set_facecolor(STYLE["background"])
        for spine in self.ax.spines.values():
            spine.set_edgecolor("#9a948a")
            spine.set_linewidth(0.6 * self.scale)
        self.ax.set_xticks([])
        self.ax.set_yticks([])

    def fs(self, points: float) -> float:
        """Font size scaled to the sheet."""
        return points * self.scale


def _fit_extent(sheet: _Sheet, bounds: Sequence[float], pad: float = 0.04) -> None:
    """Set equal-aspect limits that show ``bounds`` and fill the map axes."""
    ax = sheet.ax
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    dx, dy = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    xmin, xmax = xmin - pad * dx, xmax + pad * dx
    ymin, ymax = ymin - pad * dy, ymax + pad * dy
    bbox = ax.get_position()
    fw, fh = sheet.fig.get_size_inches()
    box_aspect = (bbox.height * fh) / (bbox.width * fw)
    w, h = xmax - xmin, ymax - ymin
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    if h / w > box_aspect:
        w = h / box_aspect
    else:
        h = w * box_aspect
    ax.set_xlim(cx - w / 2, cx + w / 2)
    ax.set_ylim(cy - h / 2, cy + h / 2)
    ax.set_aspect("equal", adjustable="box" if sheet.own else "datalim")
    if not sheet.own:
        ax.apply_aspect()


def _extent(layers, sites: gpd.GeoDataFrame | None) -> np.ndarray:
    area = _layer(layers, "study_area")
    if area is not None:
        return area.total_bounds
    if sites is not None:
        return sites.total_bounds
    raise EmptyLayerError("nothing to map: no study area and no sites")


def _draw_context(sheet: _Sheet, layers, lang: str, handles: list, basemap=None) -> None:
    """Draw the muted context layers below the sites; add their legend entries.

    ``basemap`` (:class:`~productivecity.sources.basemap.BaseMap`) is drawn first, under
    everything else, for the part of the map the axes show.
    """
    ax, s = sheet.ax, sheet.scale
    if basemap is not None:
        from productivecity.outputs.basemap import draw_basemap

        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        draw_basemap(ax, basemap, bounds=(x0, y0, x1, y1), lang=lang, scale=s)
    area = _context_layer(layers, "study_area")
    if area is not None:
        add_geometries(ax, area.geometry.values, color=STYLE["area_fill"], zorder=1)
    munis = _context_layer(layers, "units_municipalities")
    if munis is not None:
        add_geometries(ax, munis.geometry.values, facecolor="none",
                       edgecolor=STYLE["municipality_edge"], linewidth=0.6 * s, zorder=2)
    ind = _context_layer(layers, "industrial_zones")
    if ind is not None:
        add_geometries(ax, ind.geometry.values, color=STYLE["industrial_fill"],
                       edgecolor=STYLE["industrial_edge"], linewidth=0.3 * s, zorder=3)
        handles.append((Patch(facecolor=STYLE["industrial_fill"],
                              edgecolor=STYLE["industrial_outline"], linewidth=0.6 * s),
                        _i18n.text("industrial_zones", lang)))
    zone = _context_layer(layers, "canal_zone")
    if zone is not None:
        add_geometries(ax, zone.geometry.values, facecolor="none",
                       edgecolor=STYLE["canal_zone_edge"], linewidth=0.8 * s,
                       linestyle=(0, (4, 2)), zorder=4)
        handles.append((Line2D([], [], color=STYLE["canal_zone_edge"], linewidth=0.8 * s,
                               linestyle=(0, (4, 2))), _i18n.text("canal_zone", lang)))


def _draw_canal(sheet: _Sheet, layers, lang: str, handles: list) -> None:
    ax, s = sheet.ax, sheet.scale
    canal = _context_layer(layers, "canal")
    if canal is None:
        return
    kinds = canal.geometry.geom_type
    water = canal[kinds.isin(["Polygon", "MultiPolygon"])]
    lines = canal[kinds.isin(["LineString", "MultiLineString"])]
    if len(water):
        add_geometries(ax, water.geometry.values, color=STYLE["water_fill"],
                       edgecolor=STYLE["water_edge"], linewidth=0.4 * s, zorder=16)
    if len(lines):
        add_geometries(ax, lines.geometry.values, color="white", linewidth=3.2 * s,
                       zorder=16.05)
        add_geometries(ax, lines.geometry.values, color=STYLE["canal_line"],
                       linewidth=1.8 * s, zorder=16.1)
    handles.append((Line2D([], [], color=STYLE["canal_line"], linewidth=3.0 * s,
                           solid_capstyle="butt"), _i18n.text("canal", lang)))


#: Municipality names in a language, per (units layer, base map, language): one lookup per run.
_UNIT_LABELS: dict = {}


def _unit_names(munis: gpd.GeoDataFrame, basemap, lang: str) -> pd.Series:
    """Return the municipality names in ``lang`` where the data has them (else ``name``)."""
    if basemap is None:
        return munis["name"]
    from productivecity.outputs.basemap import unit_labels

    return page_memo(_UNIT_LABELS, (munis, basemap), (lang,),
                     lambda: unit_labels(munis, basemap, lang), max_n=4)


def _draw_overlays(sheet: _Sheet, layers, lang: str, handles: list, basemap=None) -> None:
    """Study-area outline, municipality names, railway stations and hubs above the sites.

    With a ``basemap``, municipality names are in ``lang`` where its places carry
    ``name:<lang>`` (see :func:`productivecity.outputs.basemap.unit_labels`).
    """
    ax, s = sheet.ax, sheet.scale
    ind = _context_layer(layers, "industrial_zones")
    if ind is not None:  # outlines stay visible over the sites
        add_geometries(ax, ind.geometry.values, facecolor="none",
                       edgecolor=STYLE["industrial_outline"], linewidth=0.6 * s, zorder=15)
    _draw_canal(sheet, layers, lang, handles)
    area = _context_layer(layers, "study_area")
    if area is not None:
        add_geometries(ax, area.geometry.values, facecolor="none",
                       edgecolor=STYLE["area_edge"], linewidth=1.0 * s, zorder=20)
        handles.insert(0, (Patch(facecolor=STYLE["area_fill"], edgecolor=STYLE["area_edge"],
                                 linewidth=1.0 * s), _i18n.text("study_area", lang)))
    munis = _context_layer(layers, "units_municipalities")
    if munis is not None and "name" in munis.columns:
        for geom, name in zip(munis.geometry.representative_point(),
                              _unit_names(munis, basemap, lang), strict=True):
            halo_text(ax, geom.x, geom.y, str(name).upper(), fontsize=sheet.fs(7.0),
                      color=STYLE["municipality_text"], ha="center", va="center", zorder=19,
                      fontweight="bold", halo_pt=2.0 * s, clip_on=True)
    stops = _context_layer(layers, "transit_stops")
    if stops is not None and "mode" in stops.columns:
        rail = stops[stops["mode"].astype(str).str.lower() == "rail"]
        if len(rail):
            ax.scatter(rail.geometry.x, rail.geometry.y, s=(5.5 * s) ** 2, marker="s",
                       facecolor="white", edgecolor=STYLE["rail"], linewidth=1.1 * s,
                       zorder=22)
            handles.append((Line2D([], [], marker="s", linestyle="none",
                                   markerfacecolor="white", markeredgecolor=STYLE["rail"],
                                   markeredgewidth=1.1 * s, markersize=5.5 * s),
                            _i18n.text("rail_stations", lang)))
    hubs = _context_layer(layers, "hubs")
    if hubs is not None:
        pts = hubs.geometry.representative_point()
        ax.scatter(pts.x, pts.y, s=(8.0 * s) ** 2, marker="D", facecolor=STYLE["hub"],
                   edgecolor="white", linewidth=1.0 * s, zorder=23)
        handles.append((Line2D([], [], marker="D", linestyle="none",
                               markerfacecolor=STYLE["hub"], markeredgecolor="white",
                               markersize=7.0 * s), _i18n.text("hubs", lang)))


def _draw_sites(sheet: _Sheet, sites: gpd.GeoDataFrame, values: pd.Series, *, cmap,
                norm, lang: str, handles: list, hatch_excluded: bool) -> None:
    """Fill sites by ``values``.

    Excluded by a rule → hatched; not assessable (score map) or no value
    (indicator map) → "no data" (pale, dotted, dashed edge); any other site
    without a value → grey.
    """
    ax, s = sheet.ax, sheet.scale
    v = pd.to_numeric(values, errors="coerce").astype(float)
    status = (site_statuses(sites) if {"status", "excluded"} & set(sites.columns)
              else pd.Series("eligible", index=sites.index))
    excluded = status.eq("excluded")
    has = v.notna()
    lw = 0.15 * s
    if hatch_excluded and excluded.any():
        add_geometries(ax, sites.geometry.values[excluded.to_numpy()],
                       facecolor=STYLE["excluded_fill"], edgecolor=STYLE["excluded_hatch"],
                       hatch="////", linewidth=lw, zorder=8)
        handles.append((Patch(facecolor=STYLE["excluded_fill"],
                              edgecolor=STYLE["excluded_hatch"], hatch="////", linewidth=lw),
                        _i18n.text("excluded", lang)))
    # score map: the not-assessable sites; indicator map: every site without a value
    no_data = ~has & (status.eq("not assessable") if hatch_excluded else True)
    if no_data.any():
        add_geometries(ax, sites.geometry.values[np.asarray(no_data, bool)],
                       facecolor=STYLE["no_data_fill"], edgecolor=STYLE["no_data_edge"],
                       hatch=STYLE["no_data_hatch"], linestyle="--", linewidth=lw, zorder=8)
        handles.append((Patch(facecolor=STYLE["no_data_fill"], edgecolor=STYLE["no_data_edge"],
                              hatch=STYLE["no_data_hatch"], linestyle="--", linewidth=lw),
                        _i18n.text("not_assessable" if hatch_excluded else "no_data", lang)))
    novalue = ~has & ~(excluded if hatch_excluded else False) & ~no_data
    if novalue.any():
        add_geometries(ax, sites.geometry.values[np.asarray(novalue, bool)],
                       facecolor=STYLE["no_value"], edgecolor="white", linewidth=lw, zorder=8)
        handles.append((Patch(facecolor=STYLE["no_value"], edgecolor="white"),
                        _i18n.text("no_value", lang)))
    if has.any():
        colours = cmap(norm(v[has].to_numpy()))
        add_geometries(ax, sites.geometry.values[has.to_numpy()], color=colours,
                       edgecolor="white", linewidth=lw, alpha=0.9, zorder=9, per_feature=True)
        if not hatch_excluded and (excluded & has).any():
            add_geometries(ax, sites.geometry.values[(excluded & has).to_numpy()],
                           facecolor="none", edgecolor=STYLE["excluded_hatch"], hatch="////",
                           linewidth=0, zorder=9.5)
            handles.append((Patch(facecolor="white", edgecolor=STYLE["excluded_hatch"],
                                  hatch="////", linewidth=0), _i18n.text("excluded", lang)))


def _by_place(sites: pd.DataFrame) -> bool:
    """Whether the sites carry places (``place_rank``, ``place_best``) to mark."""
    return ({"place_rank", "place_best"} <= set(sites.columns)
            and bool(sites["place_best"].fillna(False).astype(bool).any()))


def _top_sites(sites: gpd.GeoDataFrame, k: int) -> gpd.GeoDataFrame:
    """Return the sites to mark as the top ``k``, best first, their rank in ``_rank``.

    With places (see :func:`productivecity.siting.places.place_ranks`), the best
    site of each of the top ``k`` places, ranked by place; else the sites of
    rank ``<= k``.
    """
    if k <= 0 or "rank" not in sites.columns:
        return sites.iloc[:0]
    if _by_place(sites):
        rank = pd.to_numeric(sites["place_rank"], errors="coerce")
        keep = sites["place_best"].fillna(False).astype(bool) & rank.notna() & (rank <= k)
    else:
        rank = pd.to_numeric(sites["rank"], errors="coerce")
        keep = rank.notna() & (rank <= k)
    if {"status", "excluded"} & set(sites.columns):
        keep &= site_statuses(sites).eq("eligible")
    top = sites[keep].assign(_rank=rank[keep])
    top = top.reset_index(names="_site_id") if top.index.name is None else top.reset_index()
    return top.sort_values(["_rank", top.columns[0]], kind="stable")


def _top_extents(sites: gpd.GeoDataFrame, k: int) -> gpd.GeoSeries | None:
    """Return the top ``k`` places' extents (unions of their sites); None without places."""
    if k <= 0 or not _by_place(sites):
        return None
    rank = pd.to_numeric(sites["place_rank"], errors="coerce")
    cells = sites.loc[rank.notna() & (rank <= k)]
    if not len(cells):
        return None
    return cells.geometry.groupby(rank[cells.index].astype(int)).agg(
        lambda g: shapely.union_all(g.to_numpy())).set_crs(sites.crs, allow_override=True)


def _draw_top(sheet: _Sheet, top: gpd.GeoDataFrame, lang: str, handles: list, k: int,
              extents: gpd.GeoSeries | None = None) -> None:
    """Outline the top sites (and their places' extents) and label each with its rank."""
    if not len(top):
        return
    ax, s = sheet.ax, sheet.scale
    if extents is not None and len(extents):  # the place around each best site, dashed
        outline = extents.to_numpy()
        add_geometries(ax, outline, facecolor="none", edgecolor="white", linewidth=2.0 * s,
                       zorder=23.8)
        add_geometries(ax, outline, facecolor="none", edgecolor=STYLE["top_edge"],
                       linewidth=0.9 * s, linestyle=(0, (3, 2)), zorder=23.9)
    add_geometries(ax, top.geometry.values, facecolor="none", edgecolor="white",
                   linewidth=2.6 * s, zorder=24)
    add_geometries(ax, top.geometry.values, facecolor="none", edgecolor=STYLE["top_edge"],
                   linewidth=1.2 * s, zorder=24.1)
    pts = top.geometry.representative_point()
    radius_pt = 6.5 * s
    xy = _place_labels(ax, np.column_stack([pts.x, pts.y]), radius_pt)
    for (x0, y0), (x1, y1) in zip(zip(pts.x, pts.y, strict=True), xy, strict=True):
        if (x0, y0) != (x1, y1):  # moved off a neighbour: leader line to the site
            ax.plot([x0, x1], [y0, y1], color=STYLE["top_edge"], linewidth=0.7 * s,
                    zorder=24.5, solid_capstyle="round")
    ax.scatter(xy[:, 0], xy[:, 1], s=(2 * radius_pt) ** 2, marker="o", facecolor="white",
               edgecolor=STYLE["top_edge"], linewidth=1.0 * s, zorder=25)
    for (x, y), r in zip(xy, top["_rank"], strict=True):
        ax.text(x, y, f"{int(r)}", fontsize=sheet.fs(7.5), fontweight="bold",
                color=STYLE["text"], ha="center", va="center_baseline", zorder=26)
    handles.append((Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                           markeredgecolor=STYLE["top_edge"], markersize=9 * s,
                           markeredgewidth=1.0 * s),
                    _i18n.text("top_k_places" if _by_place(top) else "top_k", lang, k=k)))


def _place_labels(ax: Axes, xy: np.ndarray, radius_pt: float) -> np.ndarray:
    """Move rank discs (in rank order) off discs already placed; return their positions.

    A disc that would overlap an earlier one is tried at 8 directions and growing
    distances around its site; the first free place wins (deterministic).
    """
    bbox = ax.get_window_extent()
    x0, x1 = ax.get_xlim()
    per_pt = (x1 - x0) / (bbox.width * 72.0 / ax.figure.dpi)  # data units per point
    d = 2.15 * radius_pt * per_pt  # disc diameter plus a small gap, data units
    placed: list[np.ndarray] = []
    angles = np.deg2rad([45, 135, 225, 315, 0, 90, 180, 270])
    for p in xy:
        cands = [p] + [p + r * d * np.array([np.cos(a), np.sin(a)])
                       for r in (1.0, 1.6, 2.2, 2.8) for a in angles]
        for c in cands:
            if all(np.hypot(*(c - q)) >= d for q in placed):
                placed.append(c)
                break
        else:
            placed.append(p)
    return np.array(placed).reshape(-1, 2)


def _nice_length(target_m: float) -> float:
    """Largest 1, 2 or 5 × 10^n metres not above ``target_m``."""
    if target_m <= 0:
        return 1.0
    exp = math.floor(math.log10(target_m))
    for m in (5, 2, 1):
        if m * 10**exp <= target_m:
            return float(m * 10**exp)
    return float(10**exp)


def scale_bar_length_m(map_width_m: float, *, fraction: float = 0.2) -> float:
    """Length in metres of a scale bar about ``fraction`` of the map width.

    Returns a "nice" round length: 1, 2 or 5 × 10^n metres.

    Examples
    --------
    >>> scale_bar_length_m(7_300)
    1000.0
    """
    return _nice_length(map_width_m * fraction)


def _draw_scale_bar(sheet: _Sheet) -> None:
    ax, s = sheet.ax, sheet.scale
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width, height = x1 - x0, y1 - y0
    length = scale_bar_length_m(width)
    n_seg = 4 if length / 4 == int(length / 4) or length >= 1000 else 2
    seg = length / n_seg
    bar_h = height * 0.008 * max(s, 0.6) / max(s, 0.6)
    bx, by = x0 + 0.03 * width, y0 + 0.04 * height
    unit_km = length >= 1000
    pad = 0.012 * width
    ax.add_patch(Rectangle((bx - pad, by - pad * 1.0), length + 2 * pad + 0.04 * width,
                           bar_h + pad * 3.4, facecolor="white", edgecolor="none", alpha=0.85,
                           zorder=27))
    for i in range(n_seg):
        ax.add_patch(Rectangle((bx + i * seg, by), seg, bar_h,
                               facecolor=STYLE["text"] if i % 2 == 0 else "white",
                               edgecolor=STYLE["text"], linewidth=0.6 * s, zorder=28))
    for pos in (0, length / 2 if n_seg == 4 else None, length):
        if pos is None:
            continue
        label = (f"{pos / 1000:g}" if unit_km else f"{pos:g}")
        if pos == length:
            label += " km" if unit_km else " m"
        ax.text(bx + pos, by + bar_h * 1.8, label, fontsize=sheet.fs(6.5), ha="center",
                va="bottom", color=STYLE["text"], zorder=28)


def _north_angle(ax, crs) -> float:
    """Return true north at the map centre, degrees clockwise from "up" (0 without CRS)."""
    if crs is None:
        return 0.0
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lon, lat = _to_lonlat(pyproj.CRS.from_user_input(crs)).transform(
        (x0 + x1) / 2, (y0 + y1) / 2)
    return north_angle_deg(crs, lon, lat)


@functools.lru_cache(maxsize=8)
def _to_lonlat(crs: pyproj.CRS) -> pyproj.Transformer:
    """Return a transformer from ``crs`` to longitude/latitude (made once: ~30 ms)."""
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _draw_north_arrow(sheet: _Sheet, crs=None) -> None:
    """Draw an arrow to true north (rotated by the CRS's meridian convergence)."""
    ax, s = sheet.ax, sheet.scale
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    h = (y1 - y0) * 0.055
    w = h * 0.55
    cx, top = x1 - (x1 - x0) * 0.04, y1 - (y1 - y0) * 0.09
    base = top - h
    notch = base + h * 0.28
    # rotate about the arrow's middle; map units are metres in x and y (equal aspect)
    a = np.deg2rad(_north_angle(ax, crs))
    mid = (cx, base + h / 2)

    def rot(x, y):
        dx, dy = x - mid[0], y - mid[1]
        return (mid[0] + dx * np.cos(a) + dy * np.sin(a),
                mid[1] - dx * np.sin(a) + dy * np.cos(a))

    tip, left, right, nt = rot(cx, top), rot(cx - w / 2, base), rot(cx + w / 2, base), \
        rot(cx, notch)
    ax.add_patch(Polygon([tip, left, nt], closed=True,
                         facecolor=STYLE["text"], edgecolor=STYLE["text"], linewidth=0.6 * s,
                         zorder=28))
    ax.add_patch(Polygon([tip, right, nt], closed=True,
                         facecolor="white", edgecolor=STYLE["text"], linewidth=0.6 * s,
                         zorder=28))
    lx, ly = rot(cx, top + h * 0.22)
    ax.text(lx, ly, "N", fontsize=sheet.fs(9), fontweight="bold", ha="center",
            va="center", color=STYLE["text"], zorder=28)


def footer_text(*, lang: str = "en", date=None, sources: Iterable = (), crs=None,
                width_chars: int = 280) -> str:
    """Return the footer lines: each source with its data's date; CRS · run date and tool.

    Parameters
    ----------
    lang : {"nl", "fr", "en"}
    date : date, datetime or str, optional
        The date the output was made (ISO format), shown as "Made <date> with
        productivecity"; left out when ``None``. Never the wall clock, so
        outputs stay deterministic. The dates of the data are the sources'
        own (:func:`productivecity.outputs.attribution.dated_attribution`).
    sources : iterable of Credit or str
        Credits of the sources (:class:`~productivecity.sources.load_report.Credit`,
        with their ``date``) or keys of
        :func:`productivecity.outputs.attribution.known_credits`.
    crs : optional
        The map's CRS, named in the footer (left out when None).
    width_chars : int
        Longest line of sources: a longer one goes on over more lines, broken
        between sources (280 fit the width of an A4 sheet; two lines of
        sources fit its footer).

    Returns
    -------
    str
        The sources (one line, more when they are many), then CRS · made.
    """
    keys = list(sources)
    line1 = f"{_i18n.text('sources', lang)}: {dated_attribution(keys, lang) if keys else '–'}"
    wrapped = [""]
    for part in line1.split("; "):
        if wrapped[-1] and len(wrapped[-1]) + 2 + len(part) > width_chars:
            wrapped[-1] += ";"
            wrapped.append(part)
        else:
            wrapped[-1] = f"{wrapped[-1]}; {part}" if wrapped[-1] else part
    line1 = "\n".join(wrapped)
    parts = []
    if crs is not None:
        parts.append(f"{_i18n.text('crs', lang)}: {crs_label(crs)}")
    d = _format_date(date)
    parts.append(_i18n.text("made_on", lang, d=d) if d else _i18n.text("made_with", lang))
    return line1 + "\n" + "   ·   ".join(parts)


def _draw_texts(sheet: _Sheet, *, title: str, subtitle: str | None, footer: str) -> None:
    if sheet.own:
        fig = sheet.fig
        fig.text(sheet.left, sheet.title_y, title, fontsize=sheet.fs(20), fontweight="bold",
                 ha="left", va="top", color=STYLE["text"])
        if subtitle:
            fig.text(sheet.left, sheet.title_y - 0.052, subtitle, fontsize=sheet.fs(11),
                     ha="left", va="top", color="#555555")
        fig.text(sheet.left, 0.014, footer, fontsize=sheet.fs(6.5),
                 ha="left", va="bottom", color="#555555", linespacing=1.5)
    else:
        ax = sheet.ax
        ax.set_title(title if not subtitle else f"{title}\n{subtitle}", fontsize=sheet.fs(11),
                     loc="left", color=STYLE["text"])
        ax.annotate(footer, xy=(0, 0), xycoords="axes fraction", xytext=(0, -4),
                    textcoords="offset points", fontsize=sheet.fs(5.5), ha="left", va="top",
                    color="#555555", annotation_clip=False)


def _draw_legend(sheet: _Sheet, handles: list, *, lang: str) -> None:
    """Legend in the side panel (sheet) or in the lower right of the map (axes)."""
    if not handles:
        return
    hs, labels = zip(*handles, strict=True)
    kw = dict(fontsize=sheet.fs(7.5), frameon=False, handlelength=2.2,
              handleheight=1.3, borderaxespad=0.0, labelspacing=0.8,
              title=_i18n.text("legend", lang), title_fontsize=sheet.fs(9),
              alignment="left")
    if sheet.own:
        sheet.panel.legend(hs, labels, loc="upper left", bbox_to_anchor=(0.0, 1.0), **kw)
    else:
        kw.update(frameon=True, fontsize=sheet.fs(6), title_fontsize=sheet.fs(7))
        leg = sheet.ax.legend(hs, labels, loc="lower right", **kw)
        leg.get_frame().set_linewidth(0)
        leg.set_zorder(30)


#: The colour bar of a page's panel: its left end, width and height (panel fractions; its
#: height on the panel is set per page), the length of an end arrow (a fraction of the
#: bar's inside).
_COLORBAR_BOX = (0.0, 0.85, 0.022)
_COLORBAR_EXTENDFRAC = 0.04


def _draw_colorbar(sheet: _Sheet, cmap, norm, label: str, *, y: float) -> None:
    """Horizontal colour bar in the panel at height ``y`` (panel fraction) or below the map."""
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    extend = getattr(norm, "extend", "neither")
    # a ramp that carries a direction (indicator pages): "better" at its bright end,
    # drawn on the right (a reversed ramp runs from high to low values)
    better = getattr(cmap, "better_end", None)
    if sheet.own and _panel_colorbar(sheet, cmap, norm, label, y=y, better=better):
        return
    if sheet.own:
        x, w, h = _COLORBAR_BOX
        cax = sheet.panel.inset_axes((x, y, w, h))
        cb = sheet.fig.colorbar(sm, cax=cax, orientation="horizontal", extend=extend,
                                extendfrac=_COLORBAR_EXTENDFRAC)
        cax.set_title(label, fontsize=sheet.fs(8.5), loc="left", pad=4 * sheet.scale,
                      fontweight="bold", color=STYLE["text"])
    else:
        sheet.ax.add_patch(Rectangle((0.01, 0.84), 0.35, 0.15, transform=sheet.ax.transAxes,
                                     facecolor="white", edgecolor="none", alpha=0.85,
                                     zorder=29))
        cax = sheet.ax.inset_axes((0.03, 0.90, 0.3, 0.025), zorder=30)
        cb = sheet.fig.colorbar(sm, cax=cax, orientation="horizontal", extend=extend,
                                extendfrac=_COLORBAR_EXTENDFRAC)
        cax.set_title(label, fontsize=sheet.fs(6.5), loc="left", pad=2)
    if better is not None:
        if better == "low":
            cax.invert_xaxis()
        cax.text(1.0, -1.9, f"{getattr(cmap, 'better_label', 'better')} →", transform=cax.transAxes,
                 ha="right", va="top", fontsize=sheet.fs(7.5), fontweight="bold",
                 color=STYLE["text"])
    if cb.solids is not None:
        # vector, not a raster: a rasterised colour bar makes the PDF writer keep a whole
        # page buffer (70 MB at A3 300 dpi) until the atlas is closed
        cb.solids.set_rasterized(False)
        cb.solids.set_edgecolor("face")  # no hairline seams between the colour cells
    cb.outline.set_linewidth(0.4 * sheet.scale)
    cb.ax.tick_params(labelsize=sheet.fs(6.5), width=0.4 * sheet.scale,
                      length=2.5 * sheet.scale)


#: The settings under which :func:`default_ticks` and :func:`draw_ticks_below` draw a
#: horizontal axis as matplotlib does (its defaults); with any other value (a user's
#: style), the axis is left to matplotlib.
_AXIS_DEFAULTS = {"xtick.direction": "out", "ytick.direction": "out",
                  "xtick.bottom": True, "xtick.top": False, "xtick.labelbottom": True,
                  "xtick.labeltop": False, "ytick.left": True, "ytick.labelleft": True,
                  "xtick.minor.visible": False, "ytick.minor.visible": False,
                  "axes.grid": False, "axes.autolimit_mode": "data",
                  "_internal.classic_mode": False}


def _axis_defaults() -> bool:
    face = mpl.colors.to_rgba(mpl.rcParams["axes.facecolor"])
    return face == (1.0, 1.0, 1.0, 1.0) and all(
        mpl.rcParams[k] == v for k, v in _AXIS_DEFAULTS.items())


def tick_colours(axis: str = "x") -> tuple:
    """Return the colour of ``axis``'s tick marks and of their labels (rc settings)."""
    colour = mpl.rcParams[f"{axis}tick.color"]
    label = mpl.rcParams[f"{axis}tick.labelcolor"]
    return colour, colour if label == "inherit" else label


def draw_ticks_below(ax: Axes, ticks: Sequence[tuple[float, float, str]], *, transform,
                     length_pt: float, width_pt: float, label_pt: float) -> None:
    """Draw x-axis ticks at ``(x, y, label)`` (in ``transform``): marks down, labels below.

    As matplotlib draws a bottom axis's major ticks: marks of ``length_pt`` and
    ``width_pt``, labels of ``label_pt`` points centred under them, the tick pad
    below the marks.
    """
    from matplotlib.lines import TICKDOWN
    from matplotlib.transforms import offset_copy

    colour, label_colour = tick_colours("x")
    ax.add_line(Line2D([x for x, _, _ in ticks], [y for _, y, _ in ticks], transform=transform,
                       linestyle="none", marker=TICKDOWN, markersize=length_pt,
                       markeredgewidth=width_pt, color=colour, clip_on=False, zorder=2.01))
    below = offset_copy(transform, ax.figure, y=-(length_pt + mpl.rcParams["xtick.major.pad"]),
                        units="points")
    for x, y, text in ticks:
        ax.text(x, y, text, transform=below, ha="center", va="top", fontsize=label_pt,
                color=label_colour)


def default_ticks(vmin: float, vmax: float, *, length_pt: float,
                  label_pt: float) -> list[tuple[float, str]] | None:
    """Return the ticks matplotlib puts on an axis from ``vmin`` to ``vmax``, with their labels.

    As a horizontal axis of ``length_pt`` points with labels of ``label_pt`` points
    and the default locator and formatter: as many ticks as labels three times their
    size wide fit (at most nine intervals), on multiples of 1, 2, 2.5 or 5. None when
    the labels need a common offset or exponent, or the axis settings are not
    matplotlib's defaults (:data:`_AXIS_DEFAULTS`): for matplotlib's own axis to show.
    """
    if not _axis_defaults():
        return None
    nbins = max(min(int(np.floor(length_pt / (label_pt * 3))), 9), 1)
    locs = mpl.ticker.MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
    formatter = mpl.ticker.ScalarFormatter()
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(vmin, vmax)
    labels = formatter.format_ticks(locs)
    if formatter.get_offset():
        return None
    tol = (vmax - vmin) * 1e-10
    return [(float(v), t) for v, t in zip(locs, labels, strict=True)
            if vmin - tol <= v <= vmax + tol]


def _panel_colorbar(sheet: _Sheet, cmap, norm, label: str, *, y: float, better) -> bool:
    """Draw :func:`_draw_colorbar`'s panel colour bar as artists of the panel itself.

    It looks as matplotlib's horizontal colour bar with the settings
    :func:`_draw_colorbar` gives it: the same cells (as one image of the colour
    map's entries), end arrows, outline, ticks where matplotlib's default locator
    puts them, labels as its default formatter writes them, title and "better"
    note. Matplotlib's colour bar is an axes of its own, with a tick machinery and
    a mesh of 256 cells: half of an indicator page's drawing time. Returns False,
    drawing nothing, for a scale whose labels need a common offset or exponent, or
    under a user's axis style (:func:`default_ticks`): left to matplotlib.
    """
    from matplotlib.image import AxesImage
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    if not isinstance(norm, mcolors.Normalize) \
            or type(norm).__call__ is not mcolors.Normalize.__call__:  # not linear
        return False
    vmin, vmax = float(norm.vmin), float(norm.vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        return False
    p, s = sheet.panel, sheet.scale
    inverted = better == "low"  # high values on the left
    extend = getattr(norm, "extend", "neither")
    ext = _COLORBAR_EXTENDFRAC
    left = ext if extend in ("both", "max" if inverted else "min") else 0.0
    right = ext if extend in ("both", "min" if inverted else "max") else 0.0
    bx, bw, bh = _COLORBAR_BOX
    w = bw / (1 + left + right)  # the inside of the bar; the arrows beyond it
    x0, y0 = bx + left * w, y
    fig_w, fig_h = sheet.fig.get_size_inches()
    pos = p.get_position()
    width_pt, height_pt = pos.width * fig_w * 72, pos.height * fig_h * 72
    size_pt = sheet.fs(6.5)
    shown = default_ticks(vmin, vmax, length_pt=w * width_pt, label_pt=size_pt)
    if shown is None:
        return False

    def bar_x(v):
        f = (v - vmin) / (vmax - vmin)
        return x0 + (1.0 - f if inverted else f) * w

    # the cells: the colour map's entries, low to high (high to low when inverted)
    rgba = cmap(np.arange(cmap.N), bytes=True)[::-1 if inverted else 1]
    image = AxesImage(p, interpolation="none", origin="lower",
                      extent=(x0, x0 + w, y0, y0 + bh), transform=p.transAxes)
    image.set_data(rgba[np.newaxis])
    p.add_image(image)
    # the end arrows, in the colour of the values beyond the scale, and the outline
    to_panel = mpl.transforms.Affine2D().scale(w, bh).translate(x0, y0) + p.transAxes
    for side, length, colour in ((0.0, -left, cmap.get_under() if not inverted else
                                  cmap.get_over()),
                                 (1.0, right, cmap.get_over() if not inverted else
                                  cmap.get_under())):
        if length:
            p.add_patch(PathPatch(MplPath([(side, 0), (side + length, 0.5), (side, 1)]),
                                  facecolor=colour, linewidth=0, antialiased=False,
                                  transform=to_panel, clip_on=False, zorder=0.99))
    outline = [(0, 0), (-left, 0.5), (0, 1), (1, 1), (1 + right, 0.5), (1, 0), (0, 0)]
    p.add_patch(PathPatch(MplPath(outline), facecolor="none", linewidth=0.4 * s,
                          edgecolor=mpl.rcParams["axes.edgecolor"], capstyle="projecting",
                          transform=to_panel, clip_on=False, zorder=2.5))
    draw_ticks_below(p, [(bar_x(v), y0, text) for v, text in shown], transform=p.transAxes,
                     length_pt=2.5 * s, width_pt=0.4 * s, label_pt=size_pt)
    p.text(x0, y0 + bh + 4 * s / height_pt, label, transform=p.transAxes, ha="left",
           va="baseline", fontsize=sheet.fs(8.5), fontweight="bold", color=STYLE["text"])
    if better is not None:
        p.text(x0 + w, y0 - 1.9 * bh, f"{getattr(cmap, 'better_label', 'better')} →",
               transform=p.transAxes, ha="right", va="top", fontsize=sheet.fs(7.5),
               fontweight="bold", color=STYLE["text"])
    return True


def _draw_top_list(sheet: _Sheet, top: gpd.GeoDataFrame, column: str, label: str, *,
                   y: float, lang: str) -> None:
    """List the top sites (rank, site id, value) in the panel from height ``y`` down."""
    if not sheet.own or not len(top):
        return
    p = sheet.panel
    id_col = top.columns[0]
    p.text(0.0, y, f"{_i18n.text('rank', lang)} · {_i18n.text('site', lang)} · {label}",
           fontsize=sheet.fs(8.5), fontweight="bold", ha="left", va="top",
           transform=p.transAxes, color=STYLE["text"])
    rows = top.head(sheet.list_rows)
    step = min(0.03, 0.45 / max(len(rows), 1))
    for i, (_, row) in enumerate(rows.iterrows()):
        yy = y - 0.04 - i * step
        p.text(0.0, yy, f"{int(row['_rank']):>2}", fontsize=sheet.fs(7.5), ha="left",
               va="top", transform=p.transAxes, fontweight="bold", color=STYLE["text"])
        p.text(0.1, yy, _short(_site_label(row, id_col), sheet.label_chars),
               fontsize=sheet.fs(7.5),
               ha="left", va="top", transform=p.transAxes, color=STYLE["text"])
        p.text(0.85, yy, _fmt(row[column], lang), fontsize=sheet.fs(7.5), ha="right", va="top",
               transform=p.transAxes, color=STYLE["text"])
    if len(top) > len(rows):
        p.text(0.1, y - 0.04 - len(rows) * step, f"… (+{len(top) - len(rows)})",
               fontsize=sheet.fs(7.5), ha="left", va="top", transform=p.transAxes)


def _site_label(row: pd.Series, id_col: str) -> str:
    """Return a site's name where it has one, else its id."""
    name = row.get("place_name")
    return str(name) if name is not None and pd.notna(name) else str(row[id_col])


def _short(text: str, n: int) -> str:
    """Cut ``text`` to ``n`` characters, with an ellipsis when cut."""
    return text if len(text) <= n else text[:n - 1] + "…"


class _RobustNorm(mcolors.Normalize):
    """A linear colour scale; ``extend`` says which ends were clipped (outliers)."""

    extend = "neither"


def _norm_for(values: pd.Series) -> mcolors.Normalize:
    """Colour scale of ``values``, robust to outliers.

    The scale spans the 2nd–98th percentile (on few sites: the most extreme
    values within three interquartile ranges of the quartiles) where a tail
    beyond it is an outlier (stretches the range by more than a tenth of the
    percentile span); such an end is clipped, the colour bar shows it as an
    arrow (``norm.extend``), and the sites beyond it take the end colour.
    Otherwise the scale spans min–max.
    """
    v = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    if not len(v):
        return _RobustNorm(0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    a = v.to_numpy()
    p02, q1, q3, p98 = (float(q) for q in np.percentile(a, [2.0, 25.0, 75.0, 98.0]))
    inside = a[(a >= q1 - 3 * (q3 - q1)) & (a <= q3 + 3 * (q3 - q1))]
    if len(inside):  # a percentile pulled by an outlier (few sites): the last inlier
        p02, p98 = max(p02, float(inside.min())), min(p98, float(inside.max()))
    span = p98 - p02
    clip_lo = span > 0 and p02 - lo > 0.1 * span
    clip_hi = span > 0 and hi - p98 > 0.1 * span
    lo, hi = (p02 if clip_lo else lo), (p98 if clip_hi else hi)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    norm = _RobustNorm(lo, hi)
    norm.extend = {(True, True): "both", (True, False): "min",
                   (False, True): "max"}.get((clip_lo, clip_hi), "neither")
    return norm


def _default_subtitle(layers, sites: gpd.GeoDataFrame, lang: str) -> str:
    area = _layer(layers, "study_area")
    parts = []
    if area is not None and "name" in area.columns:
        parts.append(str(area["name"].iloc[0]))
    counts = (status_counts(sites) if {"status", "excluded"} & set(sites.columns)
              else {"excluded": 0, "not assessable": 0})
    parts.append(_i18n.text("sites_n", lang, n=len(sites), e=counts["excluded"],
                            a=counts["not assessable"]))
    return " · ".join(parts)


def _site_map(sites, layers, *, column, ax, top_k, lang, title, subtitle, paper, date,
              sources, cmap, label, hatch_excluded, list_column=None, basemap=None):
    lang = _i18n.check_lang(lang)
    with _rc():
        sheet = _Sheet(ax, paper)
        handles: list = []
        _fit_extent(sheet, _extent(layers, sites))
        _draw_context(sheet, layers, lang, handles, basemap=basemap)
        values = sites[column]
        norm = _norm_for(values)
        cm = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
        _draw_sites(sheet, sites, values, cmap=cm, norm=norm, lang=lang, handles=handles,
                    hatch_excluded=hatch_excluded)
        _draw_overlays(sheet, layers, lang, handles, basemap=basemap)
        top = _top_sites(sites, top_k)
        _draw_top(sheet, top, lang, handles, top_k, _top_extents(sites, top_k))
        sheet.ax.set_xlabel("")
        sheet.ax.set_ylabel("")
        _draw_scale_bar(sheet)
        _draw_north_arrow(sheet, sites.crs)
        keys = layer_credits(layers) if sources is None else list(sources)
        _draw_texts(sheet, title=title, subtitle=subtitle,
                    footer=footer_text(lang=lang, date=date, sources=keys,
                                       crs=sites.crs))
        _draw_legend(sheet, handles, lang=lang)
        _draw_colorbar(sheet, cm, norm, label, y=0.60 if sheet.own else 0.0)
        _draw_top_list(sheet, top, list_column or column,
                       _i18n.column_label(list_column or column, lang, unit=False),
                       y=0.52, lang=lang)
    return sheet.fig, sheet.ax


def plot_overview(
    sites: gpd.GeoDataFrame,
    layers,
    *,
    ax: Axes | None = None,
    column: str = "score",
    top_k: int = 10,
    lang: str = "en",
    title: str | None = None,
    subtitle: str | None = None,
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    cmap="viridis",
    basemap=None,
) -> tuple[Figure, Axes]:
    """Map candidate sites coloured by suitability score, top ``k`` labelled with rank.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index = site id, polygons) with ``column`` (default
        ``score``, unitless), ``rank`` (1 = best) and ``excluded`` (bool).
        Excluded sites are hatched grey.
    layers : LayerSet or mapping of str to GeoDataFrame
        Context layers (see :mod:`productivecity.layers`); missing ones are
        left out.
    ax : matplotlib Axes, optional
        Draw into this axes; default: a new sheet of size ``paper``.
    column : str, default "score"
        Column that colours the sites.
    top_k : int, default 10
        Label the top ``top_k`` places (their best sites, the places' extents
        outlined) or, without places, the sites of rank ``<= top_k``.
    lang : {"nl", "fr", "en"}, default "en"
        Language of all labels.
    title, subtitle : str, optional
        Default: "Candidate sites ..." in ``lang``; study area name and site counts.
    paper : {"A3", "A4", "A1"}, default "A3"
        Sheet size (landscape) when ``ax`` is None.
    date : date or str, optional
        Data or run date for the footer (never the wall clock).
    sources : iterable of Credit or str, optional
        Credits of the sources (:class:`~productivecity.sources.load_report.Credit`)
        or keys of :func:`productivecity.outputs.attribution.known_credits`,
        for the footer; default those the readers of ``layers`` declared
        (:func:`~productivecity.outputs.attribution.layer_credits`).
    cmap : str or Colormap, default "viridis"
    basemap : BaseMap, optional
        Streets, rail, water, green space and their names drawn under the map
        (:func:`productivecity.sources.basemap.read_basemap`).

    Returns
    -------
    (Figure, Axes)
        The figure and the map axes.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> ranked, *_ = pc.rank_sites(table, spec)
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = pc.plot_overview(ranked, layers, top_k=5, lang="nl")
    >>> fig.get_size_inches().round(1).tolist()  # A3 landscape (inches)
    [16.5, 11.7]
    >>> plt.close(fig)
    """
    sites = _check_sites(sites, [column, "rank", "excluded"])
    return _site_map(
        sites, layers, column=column, ax=ax, top_k=top_k, lang=lang,
        title=title or _i18n.text("overview_title", lang),
        subtitle=subtitle if subtitle is not None else _default_subtitle(layers, sites, lang),
        paper=paper, date=date, sources=sources, cmap=cmap,
        label=_i18n.column_label(column, lang), hatch_excluded=True, basemap=basemap,
    )


def plot_indicator(
    sites: gpd.GeoDataFrame,
    column: str,
    layers,
    *,
    ax: Axes | None = None,
    top_k: int = 10,
    lang: str = "en",
    title: str | None = None,
    subtitle: str | None = None,
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    cmap="cividis",
    direction: str | None = None,
    basemap=None,
) -> tuple[Figure, Axes]:
    """Map one indicator of the candidate sites (all sites, excluded ones hatched).

    One colour rule for every indicator page: with a ``direction`` the bright end
    of the ramp is always the end that is better for the score (reversed for a
    ``"cost"`` criterion) and the colour bar, drawn with its bright end on the
    right, says "better" there. The colour range spans the 2nd–98th percentile
    where the values have outliers (arrows at the clipped ends of the colour bar).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with ``column`` (numeric, units as in its name); ``rank``
        and ``excluded`` are used when present (top-k labels, hatching).
    column : str
        Indicator column, e.g. ``rail_station_time_min``.
    layers, ax, top_k, lang, title, subtitle, paper, date, sources, basemap
        As in :func:`plot_overview`; the default title is the indicator's label.
    cmap : str or Colormap, default "cividis"
        The ramp, dark to bright.
    direction : {"benefit", "cost"}, optional
        The criterion's direction (:class:`~productivecity.siting.criteria.Criterion`):
        ``"cost"`` reverses the ramp so that bright means better; without it the
        colour bar makes no claim about "better".

    Returns
    -------
    (Figure, Axes)

    Raises
    ------
    ParameterError
        ``direction`` is neither "benefit" nor "cost".

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> ranked, *_ = pc.rank_sites(table, spec)
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = pc.plot_indicator(ranked, "jobseekers_low_edu_walk_20min_n", layers, top_k=5)
    >>> ax.get_aspect()
    1.0
    >>> plt.close(fig)
    """
    sites = _check_sites(sites, [column])
    if not pd.api.types.is_numeric_dtype(sites[column]) or pd.api.types.is_bool_dtype(
        sites[column]
    ):
        raise SchemaError(f"candidate sites: indicator column {column!r} must be numeric, "
                          f"got dtype {sites[column].dtype}")
    label = _i18n.column_label(column, lang)
    if direction is not None:
        if direction not in ("benefit", "cost"):
            raise ParameterError(f"indicator {column!r}: direction {direction!r} is not one "
                                 f"of ['benefit', 'cost']")
        base = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
        cmap = base.reversed() if direction == "cost" else base.copy()
        cmap.better_end = "low" if direction == "cost" else "high"
        cmap.better_label = _i18n.text("better", lang)
    return _site_map(
        sites, layers, column=column, ax=ax, top_k=top_k, lang=lang,
        title=title or label,
        subtitle=subtitle if subtitle is not None else _default_subtitle(layers, sites, lang),
        paper=paper, date=date, sources=sources, cmap=cmap, label=label,
        hatch_excluded=False, basemap=basemap,
    )


def plot_isochrones(
    isochrones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    layers,
    *,
    ax: Axes | None = None,
    top_k: int = 5,
    lang: str = "en",
    title: str | None = None,
    subtitle: str | None = None,
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    colors: Sequence[str] | None = None,
    basemap=None,
) -> tuple[Figure, Axes]:
    """Map the isochrones of the top sites: one colour per site, one line style per time.

    Parameters
    ----------
    isochrones : GeoDataFrame
        As returned by :func:`productivecity.accessibility.isochrone_polygons.isochrones` for the
        sites: index ``(origin, time_min)`` with origin = site id; polygons.
    sites : GeoDataFrame
        Candidate sites with ``rank`` and ``excluded``.
    layers, ax, lang, title, subtitle, paper, date, sources, basemap
        As in :func:`plot_overview`.
    top_k : int, default 5
        Draw the isochrones of the top ``top_k`` places' best sites (without
        places: the sites of rank ``<= top_k``) that have them.
    colors : sequence of str, optional
        One colour per site (default: matplotlib's "tab10", in rank order).

    Returns
    -------
    (Figure, Axes)

    Raises
    ------
    SchemaError
        ``isochrones`` is not indexed by (origin, time_min).
    EmptyLayerError
        None of the top sites has an isochrone.
    """
    if not isinstance(isochrones, gpd.GeoDataFrame) or isochrones.index.nlevels != 2:
        raise SchemaError("isochrones must be a GeoDataFrame indexed by (origin, time_min), "
                          "as returned by productivecity.isochrones")
    sites = _check_sites(sites, ["rank", "excluded"])
    iso = to_crs(isochrones, sites.crs, what="isochrones")
    iso = iso[~(iso.geometry.isna() | iso.geometry.is_empty)]
    top = _top_sites(sites, top_k)
    id_col = top.columns[0]
    origins = set(iso.index.get_level_values(0))
    top = top[top[id_col].isin(origins)]
    if not len(top):
        raise EmptyLayerError(
            f"no isochrone for any of the top {top_k} sites; isochrone origins are e.g. "
            f"{sorted(map(str, origins))[:5]}, top sites "
            f"{_top_sites(sites, top_k).iloc[:, 0].astype(str).tolist()[:5]}"
        )
    lang = _i18n.check_lang(lang)
    palette = list(colors) if colors is not None else [
        mcolors.to_hex(c) for c in mpl.colormaps["tab10"].colors
    ]
    times = sorted({float(t) for t in iso.index.get_level_values(1)})
    styles = ["solid", (0, (5, 2)), (0, (2, 2)), (0, (1, 2))]
    with _rc():
        sheet = _Sheet(ax, paper)
        s = sheet.scale
        handles: list = []
        bounds = np.array(_extent(layers, sites))
        ib = iso.loc[iso.index.get_level_values(0).isin(top[id_col])].total_bounds
        bounds = np.array([min(bounds[0], ib[0]), min(bounds[1], ib[1]),
                           max(bounds[2], ib[2]), max(bounds[3], ib[3])])
        _fit_extent(sheet, bounds)
        _draw_context(sheet, layers, lang, handles, basemap=basemap)
        for i, (_, row) in enumerate(top.iterrows()):
            colour = palette[i % len(palette)]
            mine = iso.xs(row[id_col], level=0)
            for j, t in enumerate(sorted(mine.index.astype(float), reverse=True)):
                geom = [mine.geometry.loc[t]]
                alpha = 0.10 + 0.10 * (len(times) - 1 - times.index(t)) / max(len(times), 1)
                add_geometries(sheet.ax, geom, color=colour, alpha=alpha,
                               zorder=10 + j * 0.01)
                add_geometries(sheet.ax, geom, facecolor="none", edgecolor=colour,
                               linewidth=1.1 * s, linestyle=styles[times.index(t) % len(styles)],
                               zorder=11)
            handles.append((Patch(facecolor=mcolors.to_rgba(colour, 0.3), edgecolor=colour),
                            f"{int(row['_rank'])} · {_short(_site_label(row, id_col), 52)}"))
        for t in times:
            handles.append((Line2D([], [], color="#555555", linewidth=1.1 * s,
                                   linestyle=styles[times.index(t) % len(styles)]),
                            _i18n.text("isochrone", lang, t=t)))
        _draw_overlays(sheet, layers, lang, handles, basemap=basemap)
        _draw_top(sheet, top, lang, handles, top_k, _top_extents(sites, top_k))
        sheet.ax.set_xlabel("")
        sheet.ax.set_ylabel("")
        _draw_scale_bar(sheet)
        _draw_north_arrow(sheet, sites.crs)
        keys = layer_credits(layers) if sources is None else list(sources)
        _draw_texts(sheet, title=title or _i18n.text("isochrone_title", lang),
                    subtitle=subtitle if subtitle is not None
                    else _default_subtitle(layers, sites, lang),
                    footer=footer_text(lang=lang, date=date, sources=keys,
                                       crs=sites.crs))
        _draw_legend(sheet, handles, lang=lang)
    return sheet.fig, sheet.ax


def atlas_figures(
    sites: gpd.GeoDataFrame,
    layers,
    *,
    isochrones: gpd.GeoDataFrame | None = None,
    indicators: Sequence[str] | None = None,
    top_k: int = 10,
    isochrone_top_k: int = 5,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
    places: gpd.GeoDataFrame | None = None,
    allocation: Mapping | None = None,
    spec=None,
    cover: Mapping | None = None,
) -> dict[str, Figure]:
    """All the pages of an atlas, each numbered "page i / n".

    In order: the cover and method page (with ``spec`` or ``cover``), the
    overview, one card per top place (with ``places``), the new hubs (with
    ``allocation``), one page per indicator, the isochrones of the top sites.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (see :func:`plot_overview`).
    layers : LayerSet or mapping
    isochrones : GeoDataFrame, optional
        See :func:`plot_isochrones`; the isochrone page is left out without it.
    indicators : sequence of str, optional
        Indicator columns, one page each (default :func:`indicator_columns`).
    top_k, isochrone_top_k, lang, paper, date, sources, basemap
        As in the map functions.
    places : GeoDataFrame, optional
        The places table (:func:`productivecity.siting.places.group_places`): a
        card (:func:`productivecity.outputs.atlas.plot_site_card`) for each of
        the top ``top_k``.
    allocation : mapping, optional
        The run's allocation (``curve``, ``new_hubs``, ``demand_units``): the
        new-hubs page (:func:`productivecity.outputs.atlas.plot_new_hubs`).
    spec : CriteriaSpec, optional
        The criteria: their directions set the colour rule of the indicator
        pages (bright = better), their labels the cards' bars and the cover.
    cover : mapping, optional
        Further keywords of :func:`productivecity.outputs.atlas.plot_cover`
        (``criteria``, ``demand``, ``coverage``, ``title``).

    Returns
    -------
    dict of str to Figure
        Page name (``cover``, ``overview``, ``place_<id>``, ``new_hubs``,
        ``indicator_<column>``, ``isochrones``) to figure, in page order; names
        are safe as file names.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> ranked, *_ = pc.rank_sites(table, spec)
    >>> import matplotlib.pyplot as plt
    >>> figs = pc.atlas_figures(ranked, layers, indicators=["jobseekers_low_edu_walk_20min_n"])
    >>> list(figs)
    ['overview', 'indicator_jobseekers_low_edu_walk_20min_n']
    >>> for fig in figs.values():
    ...     plt.close(fig)
    """
    return dict(iter_atlas_figures(
        sites, layers, isochrones=isochrones, indicators=indicators, top_k=top_k,
        isochrone_top_k=isochrone_top_k, lang=lang, paper=paper, date=date, sources=sources,
        basemap=basemap, places=places, allocation=allocation, spec=spec, cover=cover))


def iter_atlas_figures(
    sites: gpd.GeoDataFrame,
    layers,
    *,
    isochrones: gpd.GeoDataFrame | None = None,
    indicators: Sequence[str] | None = None,
    top_k: int = 10,
    isochrone_top_k: int = 5,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
    places: gpd.GeoDataFrame | None = None,
    allocation: Mapping | None = None,
    spec=None,
    cover: Mapping | None = None,
    only: Collection[str] | None = None,
    as_plan: bool = False,
    transit_isochrones: gpd.GeoDataFrame | None = None,
) -> Iterator[tuple[str, Figure]] | list[tuple[str, Callable[[], Figure]]]:
    """Yield the pages of :func:`atlas_figures` one at a time, as ``(name, figure)``.

    Drawing the next page only when the caller asks for it keeps one A3 page at
    300 dpi in memory at a time (see :func:`save_figures`). The number of pages
    is known before the first is drawn: each carries "page i / n". ``only``
    names the pages to draw (the others are skipped, their numbers kept), e.g.
    the few a report shows when no atlas is written. ``transit_isochrones`` (with a
    ``source`` column) adds a page of the top places' reach by public transport,
    its subtitle naming the source. ``as_plan=True`` returns
    the pages undrawn, as ``(name, draw)`` with ``draw()`` giving the numbered
    figure, for :func:`write_pages` to draw them in parallel.
    """
    from productivecity.outputs import atlas

    lang = _i18n.check_lang(lang)
    if paper not in PAPER_MM:
        raise ParameterError(f"paper size {paper!r} is not available; use one of "
                             f"{list(PAPER_MM)}")
    cols = indicator_columns(sites) if indicators is None else list(indicators)
    common = dict(top_k=top_k, lang=lang, paper=paper, date=date, sources=sources,
                  basemap=basemap)
    page_kw = dict(lang=lang, paper=paper, date=date, sources=sources, basemap=basemap)
    directions = {c.column: c.direction for c in spec.criteria} if spec is not None else {}
    cards = _card_places(places, top_k)
    pages: list[tuple[str, str, object]] = []
    if spec is not None or cover is not None:
        pages.append(("cover", "", None))
    overview_title = _i18n.text("overview_title", lang)
    if getattr(spec, "profile", ""):  # the hub profile the shortlist is for
        overview_title += (f" · {_i18n.text('hub_profile', lang)}: "
                           f"{_i18n.text('profile_' + spec.profile, lang)}")
    pages.append(("overview", overview_title,
                  lambda: plot_overview(sites, layers, title=overview_title, **common)[0]))
    for pid, row in cards:
        pages.append((f"place_{pid}", _i18n.text(
            "card_title", lang, r=_fmt(row.get("rank")),
            name=row.get("place_name") if pd.notna(row.get("place_name")) else pid),
            lambda row=row: atlas.plot_site_card(
                sites, layers, row, places=places, spec=spec, isochrones=isochrones,
                top_k=top_k, **page_kw)))
    if allocation is not None:
        curve = allocation["curve"]
        k_max = int(curve["k"].max()) if "k" in curve.columns and len(curve) else 0
        pages.append(("new_hubs", _i18n.text("new_hubs_title", lang, k=k_max),
                      lambda: atlas.plot_new_hubs(allocation, layers, ranked=sites, **page_kw)))
        tiers = allocation.get("tiers")
        if tiers is not None and len(tiers) and allocation.get("tier_hubs") is not None:
            pages.append(("tiers", _i18n.text("report_tiers_title", lang),
                          lambda: atlas.plot_tiers(allocation, layers, ranked=sites, **page_kw)))
    for col in cols:
        pages.append((f"indicator_{col}", _i18n.column_label(col, lang),
                      lambda col=col: plot_indicator(sites, col, layers,
                                                     direction=directions.get(col),
                                                     **common)[0]))
    if isochrones is not None:
        iso_kw = {**common, "top_k": isochrone_top_k}
        pages.append(("isochrones", _i18n.text("isochrone_title", lang),
                      lambda: plot_isochrones(isochrones, sites, layers, **iso_kw)[0]))
    if transit_isochrones is not None:
        source = (str(transit_isochrones["source"].iloc[0])
                  if "source" in transit_isochrones.columns and len(transit_isochrones) else "")
        t_title = _i18n.text("transit_isochrone_title", lang)
        t_sub = _i18n.text("transit_source_topology" if "topology" in source
                           else "transit_source_timetable", lang)
        t_kw = {**common, "top_k": isochrone_top_k}
        pages.append(("transit_isochrones", t_title,
                      lambda: plot_isochrones(transit_isochrones.drop(columns="source",
                                                                      errors="ignore"),
                                              sites, layers, title=t_title, subtitle=t_sub,
                                              **t_kw)[0]))
    n = len(pages)

    def numbered(i: int, draw) -> Figure:
        if draw is None:  # the cover lists the pages after it
            fig = atlas.plot_cover(layers, spec=spec, contents=[t for _, t, _ in pages[1:]],
                                   **{**page_kw, **dict(cover or {})})
        else:
            fig = draw()
        _number_page(fig, i, n, lang)
        return fig

    plan = [(name, functools.partial(numbered, i, draw))
            for i, (name, _, draw) in enumerate(pages, start=1)
            if only is None or name in only]
    if as_plan:
        return plan
    return ((name, draw()) for name, draw in plan)


def _card_places(places, top_k: int) -> list[tuple[str, pd.Series]]:
    """Return the top ``top_k`` places as (id, row), by rank."""
    if places is None or not len(places) or top_k <= 0:
        return []
    rank = (pd.to_numeric(places["rank"], errors="coerce") if "rank" in places.columns
            else pd.Series(np.arange(1, len(places) + 1), index=places.index, dtype=float))
    keep = rank[rank.notna() & (rank <= top_k)].sort_values(kind="stable")
    return [(str(pid), places.loc[pid]) for pid in keep.index]


def _number_page(fig: Figure, i: int, n: int, lang: str) -> None:
    """Write "page i / n" in the top right corner of a sheet."""
    w_mm, h_mm = (float(v) * 25.4 for v in fig.get_size_inches())
    scale = (w_mm / 420.0) ** _TYPE_GROWTH
    margin = 10.0 * scale
    with _rc():
        fig.text(1 - margin / w_mm, 1 - (margin * 0.9) / h_mm,
                 _i18n.text("atlas_page", lang, i=i, n=n), fontsize=9.0 * scale,
                 ha="right", va="top", color="#555555")


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 300,
                overwrite: bool = False) -> Path:
    """Save a figure reproducibly and atomically (PNG, PDF or SVG by suffix).

    Metadata that would vary between runs (software version, creation date)
    is left out, fonts are embedded as TrueType (PDF) or paths (SVG), so the
    same figure gives the same bytes.

    Parameters
    ----------
    fig : Figure
    path : path-like
        ``.png``, ``.pdf`` or ``.svg``.
    dpi : int, default 300
        Resolution of PNG output (and of rasterised parts of PDF/SVG).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    ParameterError
        Unsupported suffix (a ``ValueError``).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    metadata = {"png": _PNG_METADATA, "pdf": _PDF_METADATA, "svg": _SVG_METADATA}.get(fmt)
    if metadata is None:
        raise ParameterError(f"cannot save a figure as {path.name!r} ({path}); use a .png, "
                             f".pdf or .svg file name")
    with atomic_path(path, overwrite=overwrite) as tmp, _rc():
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=dict(metadata),
                    facecolor=fig.get_facecolor())
    return path


def _render_rgba(fig: Figure, dpi: int) -> np.ndarray:
    """Draw ``fig`` at ``dpi`` as :func:`save_figure` does; return its RGBA pixels."""
    buf = io.BytesIO()
    with _rc():
        fig.savefig(buf, format="rgba", dpi=dpi, facecolor=fig.get_facecolor())
    w, h = (int(v) for v in fig.get_size_inches() * dpi)
    data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    if data.size != w * h * 4:  # the renderer rounds the size: take it from the buffer
        h = data.size // (4 * w)
    return data.reshape(h, w, 4)


def _release_memory() -> None:
    """Hand freed page buffers back to the system (glibc keeps them otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


#: Growth of the process (MB resident) after which the pages drawn so far are collected.
RELEASE_AFTER_MB = 128.0


def _resident_mb() -> float | None:
    """Return the resident memory of this process in MB (Linux ``/proc``), else None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class _PageMemory:
    """Collect the drawn pages' garbage once the process has grown by :data:`RELEASE_AFTER_MB`.

    A page is a web of objects that refer to each other: only the cycle collector
    frees it, for 5 to 10 ms a page. Most pages leave little behind (the collector's own
    runs reuse it); a page drawn as pixels leaves its whole buffer. Where the resident
    size cannot be read, the pages are collected after each one.
    """

    def __init__(self):
        self.base = _resident_mb()

    def page_done(self) -> None:
        now = _resident_mb()
        if now is None or self.base is None or now - self.base > RELEASE_AFTER_MB:
            _release_memory()
            self.base = _resident_mb()


def _write_png(rgba: np.ndarray, path: Path, dpi: int, overwrite: bool) -> Path:
    with atomic_path(path, overwrite=overwrite) as tmp:
        mpl.image.imsave(tmp, rgba, format="png", origin="upper", dpi=dpi,
                         metadata=dict(_PNG_METADATA))
    return path


def save_figures(
    figures: Iterable[tuple[str, Figure]],
    *,
    pdf: str | os.PathLike | None = None,
    png_dir: str | os.PathLike | None = None,
    dpi: int = 300,
    preview_dpi: float | None = None,
    preview_pages: Collection[str] | None = None,
    preview_colors: int | None = None,
    overwrite: bool = False,
) -> dict[str, Path | bytes]:
    """Save figures one at a time into a multi-page PDF and/or PNG files.

    Each figure is drawn, written to the PDF, drawn as pixels for its PNG (the
    PNG compression runs in a background thread while the next figure is drawn)
    and then dropped (freed when the caller keeps no reference to it either); the pages'
    garbage is collected whenever the process has grown by :data:`RELEASE_AFTER_MB`, so
    the memory holds few pages at a time. The PDF and PNG
    bytes equal those of :func:`save_atlas` and :func:`save_figure`. Previews
    are not drawn again: they are rasterised from the finished PDF's pages
    (with PDFium, :func:`rasterise_pdf_pages`; a PDF kept in memory when no
    ``pdf`` is asked for).

    Parameters
    ----------
    figures : iterable of (name, Figure)
        Pages in order, e.g. :func:`iter_atlas_figures`; names become PNG file names.
    pdf : path-like, optional
        Multi-page ``.pdf`` to write.
    png_dir : path-like, optional
        Folder for ``<name>.png`` (created).
    dpi : int, default 300
    preview_dpi : float, optional
        Also keep a small PNG (bytes at this resolution) of the pages named in
        ``preview_pages``, e.g. for a report, rasterised from the PDF.
    preview_pages : collection of str, optional
        The pages to preview (default: every page).
    preview_colors : int, optional
        Previews as optimised PNGs of this many colours (for a file to mail);
        default full colour.
    overwrite : bool, default False

    Returns
    -------
    dict of str to Path or bytes
        With ``preview_dpi``: the previewed pages' names to their PNG bytes.
        Else page names to their PNG paths (with ``png_dir``); empty otherwise.
    """
    import gc
    from concurrent.futures import ThreadPoolExecutor

    out: dict[str, Path | bytes] = {}
    png_dir = Path(png_dir) if png_dir is not None else None
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
    previews: dict[str, int] = {}  # page name: page index in the PDF
    memory = io.BytesIO() if pdf is None and preview_dpi is not None else None
    # what exists before the first page (the run's data) lives on: a collection
    # between pages then only scans the pages' own objects, not the whole heap
    gc.freeze()
    with contextlib.ExitStack() as stack:
        stack.callback(gc.unfreeze)
        writer = None
        if pdf is not None:
            writer = stack.enter_context(_atlas_pdf(pdf, overwrite=overwrite))
        elif memory is not None:  # a PDF only to rasterise the previews from
            stack.enter_context(_rc())
            writer = stack.enter_context(_pdf_pages(memory))
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        held = _PageMemory()
        pending = []
        written = 0  # pages in the PDF so far
        for name, fig in figures:
            preview = preview_dpi is not None and (preview_pages is None
                                                   or name in preview_pages)
            # the PDF in memory holds only the pages previewed
            if writer is not None and (memory is None or preview):
                with pdf_text_cache(fig):  # the texts every page repeats, shaped once
                    writer.savefig(fig, dpi=dpi, facecolor=fig.get_facecolor())
                written += 1
            if png_dir is not None:
                rgba = _render_rgba(fig, dpi)
                path = png_dir / f"{name}.png"
                pending.append(pool.submit(_write_png, rgba, path, dpi, overwrite))
                if preview_dpi is None:
                    out[name] = path
                del rgba
            if preview:
                previews[name] = written - 1
                out[name] = b""  # in page order; rasterised once the PDF is complete
            del fig
            while len(pending) > 1:  # at most one page waiting for compression
                pending.pop(0).result()
            held.page_done()  # a collection, when there is one, skips the frozen heap
        for f in pending:
            f.result()
    if previews:
        source = memory.getvalue() if memory is not None else Path(pdf)
        out.update(zip(previews, rasterise_pdf_pages(source, list(previews.values()),
                                                     dpi=preview_dpi, colors=preview_colors),
                       strict=True))
    return out


def palette_png(image, colors: int, *, dpi: float | None = None) -> bytes:
    """Return a PIL ``image`` as a PNG of ``colors`` colours (no dithering).

    Maps have few colours: quantised so, a page image is a fraction of its
    full-colour size and looks the same. Compressed at zlib's default level
    (PIL's ``optimize`` makes a page image 3 % smaller in five times the time).
    """
    from PIL import Image

    buf = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    image.convert("RGB").quantize(colors=colors, method=Image.Quantize.FASTOCTREE,
                                  dither=Image.Dither.NONE).save(buf, format="PNG",
                                                                 **extra)
    return buf.getvalue()


def rasterise_pdf_pages(pdf: str | os.PathLike | bytes, pages: Sequence[int], *,
                        dpi: float, colors: int | None = None) -> list[bytes]:
    """Return PNG bytes of ``pages`` (0-based) of ``pdf`` at ``dpi``, rendered by PDFium.

    An atlas page is drawn once, as vectors, into the PDF; its pixels (a
    report's image of it) come from that page, as a PDF reader shows it,
    instead of drawing the figure a second time with Agg (pypdfium2, about
    four times faster on an A3 map page). With ``colors``, an optimised PNG of
    that many colours (no dithering), else a full-colour one.

    Raises
    ------
    ParameterError
        A page number not in the PDF.
    """
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        n = len(doc)
        bad = [p for p in pages if not 0 <= p < n]
        if bad:
            name = "the PDF" if isinstance(pdf, bytes) else str(pdf)
            raise ParameterError(f"no page(s) {bad} (0-based) in {name} of {n} pages")
        out = []
        for p in pages:
            page = doc[p]
            image = page.render(scale=dpi / 72.0).to_pil()
            # the pixel density in the file, as matplotlib writes it; no other metadata
            if colors:
                out.append(palette_png(image, colors, dpi=dpi))
            else:
                buf = io.BytesIO()
                image.save(buf, format="PNG", dpi=(dpi, dpi), compress_level=1)
                out.append(buf.getvalue())
            page.close()
        return out
    finally:
        doc.close()


def save_atlas(figures: Mapping[str, Figure] | Sequence[Figure], path: str | os.PathLike, *,
               dpi: int = 300, overwrite: bool = False) -> Path:
    """Write figures as the pages of one PDF, reproducibly and atomically.

    Parameters
    ----------
    figures : mapping of str to Figure, or sequence of Figure
        Pages in order (e.g. from :func:`atlas_figures`).
    path : path-like
        Target ``.pdf``.
    dpi : int, default 300
        Resolution of rasterised parts (hatches and text stay vector).
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    pages = list(figures.values()) if isinstance(figures, Mapping) else list(figures)
    if not pages:
        raise ParameterError(f"save_atlas needs at least one figure for {path}; got none")
    with _atlas_pdf(path, overwrite=overwrite) as pdf:
        for fig in pages:
            with pdf_text_cache(fig):
                pdf.savefig(fig, dpi=dpi, facecolor=fig.get_facecolor())
    return Path(path)


@contextlib.contextmanager
def _atlas_pdf(path: str | os.PathLike, *, overwrite: bool) -> Iterator[PdfPages]:
    """Open a multi-page PDF written atomically, reproducibly (no dates, no producer)."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise ParameterError(f"an atlas is a PDF: give a .pdf file name, got {path.name!r} "
                             f"({path})")
    # the fonts are subset when the PDF closes: under the same rc settings as the pages
    with atomic_path(path, overwrite=overwrite) as tmp, _rc(), _pdf_pages(tmp) as pdf:
        yield pdf


@contextlib.contextmanager
def _pdf_pages(target) -> Iterator[PdfPages]:
    """Open a multi-page PDF without dates or producer; its fonts are subset lean on closing."""
    pdf = PdfPages(target, metadata=dict(_PDF_METADATA))
    try:
        yield pdf
    finally:
        with lean_font_subsets():  # the fonts are embedded now
            pdf.close()

