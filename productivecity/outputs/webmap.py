"""Interactive HTML map of candidate sites that works offline.

:func:`web_map` builds a `folium <https://python-visualization.github.io/folium/>`_
map of the candidate sites (coloured by score, excluded ones hatched grey, the
top ``k`` marked with their rank), the existing hubs, the canal, industrial
land and railway stations. Clicking a site opens a popup with its score, rank,
score breakdown (the ``contrib_*`` columns as bars), rank stability (when the
Monte-Carlo columns are present) and indicator values; labels in NL, FR or EN.

Offline by design: folium normally loads Leaflet, jQuery, Bootstrap and icon
fonts from CDNs, which fail without internet (workshops, CI). Here the map
uses Leaflet only, and Leaflet's JavaScript and CSS (with its images as data
URIs) are inlined into the page from the ``xstatic-leaflet`` package (Leaflet
1.9.3, the version folium targets). :func:`save_web_map` refuses to write a
page that still references an external script or stylesheet. No tile basemap
is drawn unless ``tiles`` is given (then the tiles need internet; everything
else still works offline). Element ids are numbered in document order, so the
same inputs give the same HTML bytes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from productivecity import _i18n
from productivecity._errors import ProductiveCityError
from productivecity.crs import crs_label
from productivecity.io import atomic_path
from productivecity.outputs.attribution import dated_attribution, layer_credits
from productivecity.outputs.maps import (
    STYLE,
    _check_sites,
    _layer,
    _site_label,
    _top_sites,
    indicator_columns,
)
from productivecity.siting.scoring import site_statuses, status_counts

logger = logging.getLogger(__name__)

#: Leaflet version inlined into the pages (from the xstatic-leaflet package).
LEAFLET_VERSION = "1.9.3"

_STABILITY = ("topk_share", "rank_p05", "rank_p50", "rank_p95")
_EXTERNAL = re.compile(r"<script[^>]+src\s*=|<link[^>]+href\s*=\s*[\"']?(?:https?:)?//",
                       re.IGNORECASE)


class RawHtml(Element):
    """HTML placed in the page as it is, not read as a Jinja template.

    branca's ``Element(html)`` compiles its text as a template: 0.15 s for Leaflet's
    150 KB of code, and a ``{{`` in a title or a data value would be read as one.
    """

    def __init__(self, html: str):
        super().__init__()
        self._html = html

    def render(self, **kwargs) -> str:
        return self._html


_RENDER_LOCK = threading.Lock()


class _Rendered(RawHtml):
    """What a layer rendered (its script with its GeoJSON), placed as it is.

    As branca's ``Element(text)`` renders it, less the parse: Jinja drops one trailing
    newline of a template's text.
    """

    def __init__(self, html: str = ""):
        super().__init__(html[:-1] if html.endswith("\n") else html)


@contextlib.contextmanager
def _rendered_as_text():
    """Within the block, branca places what a layer rendered as text, not as a template.

    branca's ``MacroElement.render`` wraps each layer's rendered header, HTML and
    script (a GeoJSON layer's script holds all its features) in ``Element(text)``,
    which compiles the text as a Jinja template: 0.25 s for the web map of the
    sample, and a ``{{`` in a feature's name would be read as template syntax.
    The name ``Element`` that ``MacroElement.render`` looks up is
    :class:`_Rendered` while a page is rendered here.
    """
    import branca.element

    with _RENDER_LOCK:  # one page at a time: the name is branca's own again after it
        original = branca.element.Element
        branca.element.Element = _Rendered
        try:
            yield
        finally:
            branca.element.Element = original


def offline_map(frame: gpd.GeoDataFrame, css: str) -> tuple[folium.Map, np.ndarray]:
    """Return a Leaflet map centred on ``frame`` and ``frame``'s lon/lat bounds.

    Leaflet's code and style and ``css`` are inlined: no CDN link, the page works offline.
    """
    bounds = frame.to_crs(4326).total_bounds
    xmin, ymin, xmax, ymax = bounds
    m = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None,
                   zoom_start=13, control_scale=False, prefer_canvas=False, zoom_snap=0.25)
    m.default_js = []
    m.default_css = []
    js, leaflet_css = _leaflet_assets()
    root = m.get_root()
    root.header.add_child(RawHtml(f"<style>{leaflet_css}</style>"), name="leaflet_css_inline")
    root.header.add_child(RawHtml(f"<script>{js}</script>"), name="leaflet_js_inline")
    root.header.add_child(RawHtml(f"<style>{css}</style>"), name="productivecity_css")
    return m, bounds


@functools.cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS (images inlined as data URIs), from xstatic-leaflet."""
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as err:  # a declared dependency; say how to fix a broken install
        raise ProductiveCityError(
            "the xstatic-leaflet package is missing; install it (pip install xstatic-leaflet) "
            "to write offline web maps"
        ) from err
    base = Path(xleaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        data = (base / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    # the sourcemap comment would make browsers' dev tools request a missing file
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    return js, css


def _hex(rgba) -> str:
    return mpl.colors.to_hex(rgba, keep_alpha=False)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "✓" if value else "✗"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}".replace(",", "\u2009")
    v = float(value)
    if v.is_integer() and abs(v) >= 1:
        return f"{v:,.0f}".replace(",", "\u2009")
    if abs(v) >= 100:
        return f"{v:,.0f}".replace(",", "\u2009")
    return f"{v:.{digits}g}"


def _geo_features(gdf: gpd.GeoDataFrame, props: list[dict]) -> dict:
    """Return a GeoJSON FeatureCollection in lon/lat (6 decimals, ~0.1 m) with ``props``."""
    wgs = gdf.geometry.to_crs(4326)
    geoms = shapely.transform(np.asarray(wgs.values), lambda c: np.round(c, 6))
    feats = []
    for geom, p in zip(geoms, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "properties": p,
                      "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


def _number(value) -> float:
    """``value`` as a float; NaN for a missing or non-numeric one (as ``pd.to_numeric``)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def site_popup_html(row: pd.Series | Mapping, *, site_id, lang: str = "en",
                    indicators: Sequence[str] = (), n_ranked: int | None = None,
                    top_k: int | None = None) -> str:
    """HTML of one site's popup: score, rank, breakdown, stability, indicators.

    Parameters
    ----------
    row : pandas.Series or mapping
        One row of the sites table, or its columns' values by name (``score``, ``rank``,
        ``excluded``,
        ``excluded_reason``, ``status``, ``missing_inputs``, ``contrib_*``,
        stability and indicator columns as available). An excluded site says
        "excluded: <reason>"; a not-assessable one "not assessable: no value
        for <labels of the missing inputs>".
    site_id : object
        The site's id (the table index).
    lang : {"nl", "fr", "en"}
    indicators : sequence of str
        Indicator columns to list, with translated labels and units.
    n_ranked : int, optional
        Number of ranked sites, shown as "rank r / n".
    top_k : int, optional
        Shortlist size of ``topk_share`` (for its label).

    Returns
    -------
    str
        An HTML fragment; every value is escaped.
    """
    t = functools.partial(_i18n.text, lang=lang)
    e = html.escape
    row = row.to_dict() if isinstance(row, pd.Series) else row  # a web map has one per site
    name = row.get("place_name")
    title = (f"{e(str(name))} <small>({e(str(site_id))})</small>"
             if name is not None and pd.notna(name) and str(name) != str(site_id)
             else f"{e(t('site'))} {e(str(site_id))}")
    parts = [f"<div class='pc-popup'><h4>{title}</h4>"]
    excluded = bool(row.get("excluded", False)) if pd.notna(row.get("excluded", False)) else True
    not_assessable = not excluded and row.get("status") == "not assessable"
    if excluded:
        reason = row.get("excluded_reason", "")
        parts.append(f"<p class='pc-excl'><b>{e(t('excluded'))}</b>"
                     + (f": {e(str(reason))}" if isinstance(reason, str) and reason else "")
                     + "</p>")
    elif not_assessable:
        gaps = row.get("missing_inputs", "")
        labels = ", ".join(_i18n.column_label(c, lang, unit=False)
                           for c in (gaps.split("; ") if isinstance(gaps, str) and gaps else []))
        parts.append(f"<p class='pc-na'><b>{e(t('not_assessable_because', labels=labels))}</b>"
                     "</p>" if labels else
                     f"<p class='pc-na'><b>{e(t('not_assessable'))}</b></p>")
        reason = row.get("excluded_reason", "")
        if isinstance(reason, str) and reason:  # rules failed on the values that are known
            parts.append(f"<p class='pc-na'>{e(t('also_fails', reason=reason))}</p>")
    elif "score" in row:
        rank = row.get("rank")
        of = f" / {n_ranked}" if n_ranked else ""
        parts.append(f"<p><b>{e(t('score_short'))}</b> {_fmt(row['score'])} &nbsp; "
                     f"<b>{e(t('rank'))}</b> {_fmt(rank)}{of}</p>")
        vals = [(c, _number(v)) for c, v in row.items() if str(c).startswith("contrib_")]
        if vals:
            known = [abs(v) for _, v in vals if not np.isnan(v)]
            vmax = max(max(known), 1e-12) if known else 1.0
            parts.append(f"<table class='pc-bd'><tr><th colspan='3'>{e(t('breakdown'))}"
                         "</th></tr>")
            # largest first, the missing last, ties in column order
            for c, v in sorted(vals, key=lambda cv: (np.isnan(cv[1]), -cv[1])):
                width = 0 if np.isnan(v) else int(round(80 * abs(v) / vmax))
                parts.append(
                    f"<tr><td>{e(_i18n.column_label(str(c), lang))}</td>"
                    f"<td><span class='pc-bar' style='width:{width}px'></span></td>"
                    f"<td class='pc-num'>{_fmt(v)}</td></tr>"
                )
            parts.append("</table>")
        if "topk_share" in row and pd.notna(row.get("topk_share")):
            k = top_k if top_k is not None else "k"
            lo, hi = row.get("rank_p05"), row.get("rank_p95")
            interval = f"{_fmt(lo)}–{_fmt(hi)}" if pd.notna(lo) and pd.notna(hi) else "–"
            parts.append(
                f"<p><b>{e(t('stability'))}</b>: {e(t('topk_share', k=k))} "
                f"{float(row['topk_share']) * 100:.0f} %; {e(t('rank_interval'))} {interval}</p>"
            )
    if indicators:
        parts.append(f"<table class='pc-ind'><tr><th colspan='2'>{e(t('indicators'))}</th></tr>")
        for c in indicators:
            parts.append(f"<tr><td>{e(_i18n.column_label(c, lang))}</td>"
                         f"<td class='pc-num'>{_fmt(row.get(c))}</td></tr>")
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)


_CSS = """
html, body {margin:0; padding:0; height:100%; font-family:'DejaVu Sans',Verdana,sans-serif;}
.leaflet-container {background:#f7f6f2; font-family:inherit;}
.pc-panel {position:absolute; z-index:1000; background:rgba(255,255,255,0.93);
  padding:8px 12px; border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,0.25);
  font-size:12px; color:#222; max-width:330px;}
.pc-title {top:10px; left:54px;}
.pc-title h1 {font-size:16px; margin:0 0 2px 0;} .pc-title p {margin:2px 0; color:#555;}
.pc-legend {bottom:24px; right:10px;}
.pc-legend .pc-ramp {height:10px; width:200px; border:1px solid #888;}
.pc-legend .pc-ends {display:flex; justify-content:space-between; width:202px;}
.pc-legend .pc-row {display:flex; align-items:center; margin:3px 0;}
.pc-legend .pc-sw {display:inline-block; width:18px; height:12px; margin-right:6px;}
.pc-attr {bottom:4px; left:130px; font-size:10px; padding:2px 6px; max-width:70%;}
.pc-rank {background:#fff; border:2px solid #1f1f1f; border-radius:50%; text-align:center;
  font-weight:bold; font-size:12px; line-height:18px; width:18px; height:18px; color:#222;}
.pc-muni {text-align:center; font-weight:bold; font-size:11px; letter-spacing:0.5px;
  color:#8a8378; text-transform:uppercase; white-space:nowrap; pointer-events:none;
  text-shadow:0 0 3px #fff, 0 0 3px #fff;}
.pc-popup h4 {margin:0 0 4px 0;} .pc-popup p {margin:3px 0;}
.pc-popup table {border-collapse:collapse; margin-top:4px;}
.pc-popup th {text-align:left; padding-top:4px;} .pc-popup td {padding:1px 4px;
  vertical-align:middle;} .pc-num {text-align:right; white-space:nowrap;}
.pc-bar {display:inline-block; height:9px; background:#3b8bc2;} .pc-excl {color:#8a3b2e;}
.pc-na {color:#666666;}
"""


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


def web_map(
    sites: gpd.GeoDataFrame,
    layers,
    *,
    column: str = "score",
    top_k: int = 10,
    indicators: Sequence[str] | None = None,
    lang: str = "en",
    title: str | None = None,
    date=None,
    sources: Iterable | None = None,
    tiles: str | None = None,
    cmap: str = "viridis",
    stability_top_k: int | None = None,
    basemap=None,
) -> folium.Map:
    """Build an offline interactive map of candidate sites, hubs and the canal.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index = site id) with ``column``, ``rank`` and
        ``excluded``; ``contrib_*``, ``excluded_reason``, rank-stability
        (``topk_share``, ``rank_p05``, ``rank_p95``) and indicator columns are
        shown in the popups when present. Any projected CRS; shown in lon/lat.
    layers : LayerSet or mapping of str to GeoDataFrame
        Context layers (study area, industrial zones, canal, hubs, transit
        stops); missing ones are left out.
    column : str, default "score"
        Column that colours the sites.
    top_k : int, default 10
        Mark the best sites of the top ``top_k`` places (without places: the
        sites of rank ``<= top_k``) with their rank.
    indicators : sequence of str, optional
        Indicator columns for the popups (default
        :func:`productivecity.outputs.maps.indicator_columns`).
    lang : {"nl", "fr", "en"}, default "en"
    title : str, optional
        Title shown top left.
    date : date or str, optional
        Data or run date shown under the title.
    sources : iterable of Credit or str, optional
        Credits of the sources (:class:`~productivecity.sources.load_report.Credit`)
        or keys of :func:`productivecity.outputs.attribution.known_credits`,
        for the attribution line; default those the readers of ``layers``
        declared (:func:`~productivecity.outputs.attribution.layer_credits`).
    tiles : str, optional
        A folium/xyzservices tile provider name (e.g. ``"CartoDB positron"``) for
        an online basemap; default none (offline).
    cmap : str, default "viridis"
        Matplotlib colour map of the sites.
    stability_top_k : int, optional
        The ``top_k`` of the Monte-Carlo run behind ``topk_share`` (for its label).
    basemap : BaseMap, optional
        Streets (name in a tooltip), rail, water and green space as vector layers under
        the sites (:func:`productivecity.sources.basemap.read_basemap`), simplified to
        about 2 m; municipality names in ``lang`` where its place names say them.

    Returns
    -------
    folium.Map
        Save it with :func:`save_web_map`; in a notebook it displays itself.
    """
    lang = _i18n.check_lang(lang)
    sites = _check_sites(sites, [column, "rank", "excluded"])
    inds = indicator_columns(sites) if indicators is None else list(indicators)
    area = _layer(layers, "study_area")
    bounds_src = area if area is not None else sites
    m, (xmin, ymin, xmax, ymax) = offline_map(bounds_src, _CSS)
    root = m.get_root()
    if tiles:
        folium.TileLayer(tiles, name="basemap", control=True).add_to(m)

    def style_props(style: dict) -> dict:
        return {"style": style}

    if basemap is not None and not basemap.empty:
        _basemap_layers(m, basemap, lang)
    if area is not None:
        folium.GeoJson(
            _geo_features(area, [style_props({"color": STYLE["area_edge"], "weight": 2,
                                              "fill": False})] * len(area)),
            name=_i18n.text("study_area", lang), control=True,
        ).add_to(m)
    ind = _layer(layers, "industrial_zones")
    if ind is not None:
        folium.GeoJson(
            _geo_features(ind, [style_props({"color": STYLE["industrial_outline"],
                                             "weight": 1, "fillColor": STYLE["industrial_fill"],
                                             "fillOpacity": 0.8})] * len(ind)),
            name=_i18n.text("industrial_zones", lang),
        ).add_to(m)

    # candidate sites
    values = pd.to_numeric(sites[column], errors="coerce").astype(float)
    valid = values.dropna()
    lo, hi = (float(valid.min()), float(valid.max())) if len(valid) else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    cm = mpl.colormaps[cmap]
    status = site_statuses(sites)
    excluded = status.eq("excluded")
    counts = status_counts(sites)
    n_ranked = counts["eligible"]
    props = []
    records = sites.drop(columns=sites.geometry.name).to_dict("records")
    for sid, row, v, out in zip(sites.index, records, values.to_numpy(), excluded.to_numpy(),
                                strict=True):
        if out:  # failed a rule: solid edge, the excluded fill
            style = {"color": "#9c958a", "weight": 0.8,
                     "fillColor": STYLE["excluded_fill"], "fillOpacity": 0.8}
            tip = f"{sid} · {_i18n.text('excluded', lang)}"
        elif np.isnan(v):  # not assessable or no value: pale, dashed
            style = {"color": STYLE["no_data_edge"], "weight": 0.8, "dashArray": "2 4",
                     "fillColor": STYLE["no_data_fill"], "fillOpacity": 0.4}
            tip = f"{sid} · {_i18n.text('not_assessable', lang)}"
        else:
            style = {"color": "#ffffff", "weight": 0.6,
                     "fillColor": _hex(cm((v - lo) / (hi - lo))), "fillOpacity": 0.85}
            tip = f"{sid} · {_i18n.text('rank', lang)} {_fmt(row['rank'])} · {_fmt(v)}"
        props.append({
            "site_id": str(sid),
            "style": style,
            "tooltip": tip,
            "popup": site_popup_html(row, site_id=sid, lang=lang, indicators=inds,
                                     n_ranked=n_ranked, top_k=stability_top_k),
        })
    folium.GeoJson(
        _geo_features(sites, props),
        name=_i18n.text("sites", lang),
        on_each_feature=folium.JsCode(
            "function(feature, layer) {"
            " layer.bindPopup(feature.properties.popup, {maxWidth: 380});"
            " layer.bindTooltip(feature.properties.tooltip, {sticky: true}); }"
        ),
    ).add_to(m)

    canal = _layer(layers, "canal")
    if canal is not None:
        polys = canal.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        props = [style_props({"color": STYLE["water_edge"], "weight": 1,
                              "fillColor": STYLE["water_fill"], "fillOpacity": 0.9})
                 if p else style_props({"color": STYLE["canal_line"], "weight": 4,
                                        "opacity": 0.95}) for p in polys]
        folium.GeoJson(_geo_features(canal, props), name=_i18n.text("canal", lang)).add_to(m)

    bind = folium.JsCode(
        "function(feature, layer) {"
        " if (feature.properties.popup) {"
        "  layer.bindPopup(feature.properties.popup, {maxWidth: 380}); }"
        " layer.bindTooltip(feature.properties.tooltip); }"
    )
    stops = _layer(layers, "transit_stops")
    if stops is not None and "mode" in stops.columns:
        rail = stops[stops["mode"].astype(str).str.lower() == "rail"]
        if len(rail):
            props = [{"tooltip": html.escape(str(n)), "popup": "",
                      "style": {"color": "#2b2b2b", "weight": 2, "fill": True,
                                "fillColor": "#ffffff", "fillOpacity": 1}}
                     for n in rail.get("name", pd.Series("", index=rail.index))]
            folium.GeoJson(
                _geo_features(rail.set_geometry(rail.geometry.representative_point()), props),
                name=_i18n.text("rail_stations", lang), marker=folium.CircleMarker(radius=5),
                on_each_feature=bind,
            ).add_to(m)

    hubs = _layer(layers, "hubs")
    if hubs is not None:
        props = []
        for hid, r in hubs.drop(columns=hubs.geometry.name).iterrows():
            name = str(r.get("name", hid))
            lines = [f"<b>{html.escape(name)}</b>"]
            for key in ("type", "city"):
                if key in r.index and pd.notna(r[key]):
                    lines.append(html.escape(str(r[key])))
            url = r.get("source_url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                lines.append(f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>"
                             f"{html.escape(url)}</a>")
            props.append({"tooltip": html.escape(name), "popup": "<br>".join(lines),
                          "style": {"color": "#ffffff", "weight": 2, "fill": True,
                                    "fillColor": STYLE["hub"], "fillOpacity": 1}})
        folium.GeoJson(
            _geo_features(hubs.set_geometry(hubs.geometry.representative_point()), props),
            name=_i18n.text("hubs", lang), marker=folium.CircleMarker(radius=8),
            on_each_feature=bind,
        ).add_to(m)

    munis = _layer(layers, "units_municipalities")
    if munis is not None and "name" in munis.columns:
        from productivecity.outputs.basemap import unit_labels

        group = folium.FeatureGroup(name=_i18n.text("municipalities", lang))
        pts = munis.geometry.representative_point().to_crs(4326)
        for name, p in zip(unit_labels(munis, basemap, lang), pts, strict=True):
            folium.Marker(
                [round(p.y, 6), round(p.x, 6)],
                icon=folium.DivIcon(html=f"<div class='pc-muni'>{html.escape(str(name))}</div>",
                                    icon_size=(160, 16), icon_anchor=(80, 8),
                                    class_name="pc-muni-icon"),
            ).add_to(group)
        group.add_to(m)

    top = _top_sites(sites, top_k)
    if len(top):
        group = folium.FeatureGroup(name=_i18n.text("top_k", lang, k=top_k))
        pts = top.geometry.representative_point().to_crs(4326)
        for (_, r), p in zip(top.iterrows(), pts, strict=True):
            folium.Marker(
                [round(p.y, 6), round(p.x, 6)],
                icon=folium.DivIcon(html=f"<div class='pc-rank'>{int(r['_rank'])}</div>",
                                    icon_size=(22, 22), icon_anchor=(11, 11),
                                    class_name="pc-rank-icon"),
                tooltip=f"{int(r['_rank'])} · {html.escape(_site_label(r, top.columns[0]))}",
            ).add_to(group)
        group.add_to(m)

    folium.LayerControl(collapsed=True).add_to(m)
    _MetricScale().add_to(m)
    m.fit_bounds([[ymin, xmin], [ymax, xmax]])

    keys = layer_credits(layers) if sources is None else list(sources)
    t = functools.partial(_i18n.text, lang=lang)
    head = html.escape(title or t("overview_title"))
    sub = html.escape(t("sites_n", n=len(sites), e=counts["excluded"],
                        a=counts["not assessable"]))
    if date is not None:
        sub += f" · {html.escape(t('made_date', d=str(date)))}"
    ramp = ", ".join(_hex(cm(x)) for x in np.linspace(0, 1, 11))
    legend = (
        f"<div class='pc-panel pc-legend'><b>{html.escape(_i18n.column_label(column, lang))}"
        f"</b><div class='pc-ramp' style='background:linear-gradient(to right, {ramp})'></div>"
        f"<div class='pc-ends'><span>{_fmt(lo)}</span><span>{_fmt(hi)}</span></div>"
        f"<div class='pc-row'><span class='pc-sw' style='background:{STYLE['excluded_fill']};"
        f"border:1px solid #9c958a'></span>{html.escape(t('excluded'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='background:{STYLE['no_data_fill']};"
        f"border:1px dashed {STYLE['no_data_edge']}'></span>"
        f"{html.escape(t('not_assessable'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='background:{STYLE['industrial_fill']};"
        f"border:1px solid {STYLE['industrial_outline']}'></span>"
        f"{html.escape(t('industrial_zones'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='height:4px;background:"
        f"{STYLE['canal_line']}'></span>{html.escape(t('canal'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='border-radius:50%;width:12px;"
        f"background:{STYLE['hub']}'></span>{html.escape(t('hubs'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='border-radius:50%;width:12px;"
        f"border:2px solid #2b2b2b;background:#fff'></span>{html.escape(t('rail_stations'))}"
        f"</div></div>"
    )
    attr = html.escape(f"{t('sources')}: {dated_attribution(keys, lang) if keys else '–'} · "
                       f"{t('crs')}: {crs_label(sites.crs) if sites.crs is not None else '–'} "
                       f"→ WGS 84")
    root.html.add_child(RawHtml(
        f"<div class='pc-panel pc-title'><h1>{head}</h1><p>{sub}</p></div>{legend}"
        f"<div class='pc-panel pc-attr'>{attr}</div>"
    ), name="productivecity_panels")
    return m


#: Tolerance of the base map's simplification in the web map (m).
_BASEMAP_SIMPLIFY_M = 2.0
#: Web-map styles of the base map (Leaflet path options), by layer and street group.
_BASEMAP_WEB = {
    "green": {"stroke": False, "fillColor": "#cfe0c0", "fillOpacity": 0.6},
    "water": {"color": "#9fc3de", "weight": 1, "fillColor": "#c4dcec", "fillOpacity": 0.8},
    "rail": {"color": "#8f887d", "weight": 1.2, "dashArray": "4 3", "opacity": 0.9},
    "major": {"color": "#a9a296", "weight": 2.5, "opacity": 0.9},
    "minor": {"color": "#bdb6ab", "weight": 1.2, "opacity": 0.9},
}


def _basemap_layers(m: folium.Map, basemap, lang: str) -> None:
    """Add the base map as vector layers (under what is added after them).

    Streets of one name and class are merged into one feature (fewer features, a
    smaller page); paths and service roads are left out (the print maps show them).
    Each layer's style is set once in JavaScript, not stored per feature.
    """
    from productivecity.sources.basemap import names_in

    def add(frame, style, *, name=None, group=None, tooltip=False):
        geoms = shapely.simplify(np.asarray(frame.geometry.values), _BASEMAP_SIMPLIFY_M,
                                 preserve_topology=False)
        keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
        frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index,
                                                 crs=frame.crs))[keep]
        if not len(frame):
            return
        props = ([{"n": html.escape(str(n))} if n is not None else {}
                  for n in frame["_name"]] if tooltip else [{}] * len(frame))
        tip = (" if (f.properties.n) { l.bindTooltip(f.properties.n, {sticky: true}); }"
               if tooltip else "")
        folium.GeoJson(
            _geo_features(frame, props), name=name, control=name is not None,
            on_each_feature=folium.JsCode(
                f"function(f, l) {{ l.setStyle({json.dumps(style)});{tip} }}"),
        ).add_to(group if group is not None else m)

    t = functools.partial(_i18n.text, lang=lang)
    add(basemap.green, _BASEMAP_WEB["green"], name=t("basemap_green"))
    add(basemap.water, _BASEMAP_WEB["water"], name=t("basemap_water"))
    streets = basemap.streets
    streets = streets[~streets["kind"].isin(["path", "service"])]
    if len(streets):
        group = folium.FeatureGroup(name=t("basemap_streets"))
        names = names_in(streets, lang)
        major = ~streets["kind"].eq("residential").to_numpy()
        for style, mask in ((_BASEMAP_WEB["minor"], ~major), (_BASEMAP_WEB["major"], major)):
            add(_merged_by_name(streets[mask], names[mask]), style, group=group, tooltip=True)
        group.add_to(m)
    add(basemap.rail, _BASEMAP_WEB["rail"], name=t("basemap_rail"))


def _merged_by_name(streets: gpd.GeoDataFrame, names: pd.Series) -> gpd.GeoDataFrame:
    """Named streets merged by name (one feature each), unnamed ones as they are."""
    named = names.notna().to_numpy()
    geoms, labels = list(streets.geometry.to_numpy()[~named]), [None] * int((~named).sum())
    for name, part in streets[named].groupby(names[named].astype(str), sort=True):
        geoms.append(shapely.line_merge(shapely.union_all(part.geometry.to_numpy())))
        labels.append(name)
    return gpd.GeoDataFrame({"_name": labels}, geometry=geoms, crs=streets.crs)


def _number_ids(element, counter: list[int]) -> None:
    """Give folium/branca elements ids in document order (instead of random ones)."""
    element._id = f"{counter[0]:08x}"
    counter[0] += 1
    for child in list(element._children.values()):
        _number_ids(child, counter)


def web_map_html(m: folium.Map) -> str:
    """Render a map from :func:`web_map` as one self-contained HTML page.

    Element ids are numbered in order, so equal maps give equal HTML.

    Raises
    ------
    ProductiveCityError
        The page references an external script or stylesheet (it would not
        work offline), e.g. a folium plugin that loads from a CDN.
    """
    root = m.get_root()
    _number_ids(root, [0])
    with _rendered_as_text():
        text = root.render()
    found = _EXTERNAL.findall(text)
    if found:
        raise ProductiveCityError(
            f"the web map references {len(found)} external script(s)/stylesheet(s) "
            f"(e.g. {found[0]!r}); it would not work offline. Use elements that need only "
            "Leaflet, or inline their assets"
        )
    return text


def save_web_map(m: folium.Map, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a map from :func:`web_map` as a self-contained HTML file, atomically.

    Parameters
    ----------
    m : folium.Map
    path : path-like
        Target ``.html`` file.
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    text = web_map_html(m)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_web_map(sites: gpd.GeoDataFrame, layers, path: str | os.PathLike, *,
                  overwrite: bool = False, **kwargs) -> Path:
    """Build (:func:`web_map`, keyword arguments passed on) and save a web map.

    Examples
    --------
    >>> import tempfile
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> ranked, *_ = pc.rank_sites(table, spec)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pc.write_web_map(ranked, layers, f"{tmp}/sites.html")
    ...     path.name, path.stat().st_size > 10_000
    ('sites.html', True)
    """
    return save_web_map(web_map(sites, layers, **kwargs), path, overwrite=overwrite)


__all__ = [
    "LEAFLET_VERSION",
    "save_web_map",
    "site_popup_html",
    "web_map",
    "web_map_html",
    "write_web_map",
]
