"""The pages of the atlas that are not plain maps: cover, site cards, new hubs.

:func:`plot_cover` is the cover and method page (the question, the study area,
the criteria and their weights, the demand definition, the sources, the data
coverage per municipality); :func:`plot_site_card` is one page per
shortlisted place (a zoomed map, its name and address, why it scores, its key
indicators against the area's median, how stable its rank is, its
isochrones); :func:`plot_new_hubs` shows where the allocation would add hubs,
the coverage curve and the marginal gain of each added hub.

The pages share the sheet, fonts, colours and footer of
:mod:`productivecity.outputs.maps` (same paper sizes, deterministic output) and
are put in order by :func:`productivecity.outputs.maps.iter_atlas_figures`.
"""

from __future__ import annotations

import importlib.util
import logging
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from productivecity import _i18n
from productivecity._errors import CriteriaError, ParameterError, SchemaError
from productivecity.outputs._paths import add_geometries
from productivecity.outputs.attribution import layer_credits, ordered_credits
from productivecity.outputs.maps import (
    PAPER_MM,
    STYLE,
    _check_sites,
    _draw_context,
    _draw_north_arrow,
    _draw_overlays,
    _draw_scale_bar,
    _draw_texts,
    _fit_extent,
    _fmt,
    _layer,
    _rc,
    _Sheet,
    _short,
    default_ticks,
    draw_ticks_below,
    footer_text,
    tick_colours,
)
from productivecity.siting.demand import unknown_demand
from productivecity.siting.scoring import site_statuses

logger = logging.getLogger(__name__)

#: Half the side of a site card's map window, metres (a ~1.5 km window).
CARD_HALF_WINDOW_M = 750.0

_MUTED = "#555555"
_BAR = "#3b6ea5"
_BAR_BACK = "#e3e7ec"
_NEW_HUB = "#1b7f5b"


def _blank_sheet(paper: str) -> _Sheet:
    """Return a sheet with its title and footer places but no map or panel axes."""
    sheet = _Sheet(None, paper)
    sheet.fig.delaxes(sheet.ax)
    sheet.fig.delaxes(sheet.panel)
    return sheet


def _text_axes(sheet: _Sheet, rect: Sequence[float]) -> Axes:
    ax = sheet.fig.add_axes(tuple(rect))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return ax


def _line_h(sheet: _Sheet, ax: Axes, points: float) -> float:
    """Height of a text line of ``points`` (scaled) in the axes' fraction."""
    h_in = ax.get_position().height * sheet.fig.get_size_inches()[1]
    return sheet.fs(points) * 1.55 / 72.0 / h_in


def _heading(sheet, ax, y: float, text: str) -> float:
    ax.text(0.0, y, text, fontsize=sheet.fs(11), fontweight="bold", ha="left", va="top",
            color=STYLE["text"])
    return y - _line_h(sheet, ax, 11) * 1.3


def _paragraph(sheet, ax, y: float, text: str, *, chars: int, size: float = 10.0,
               color: str = STYLE["text"]) -> float:
    lines = textwrap.wrap(text, chars) or [""]
    ax.text(0.0, y, "\n".join(lines), fontsize=sheet.fs(size), ha="left", va="top",
            color=color, linespacing=1.35)
    return y - _line_h(sheet, ax, size) * len(lines) * 0.9 - _line_h(sheet, ax, size) * 0.5


def _table(sheet, ax, y: float, header: Sequence[str], rows: Sequence[Sequence[str]],
           xs: Sequence[float], *, align: Sequence[str], size: float = 8.0,
           max_rows: int | None = None) -> float:
    """Rows of text at column positions ``xs`` (axes fraction); return the next free y."""
    step = _line_h(sheet, ax, size)
    for x, h, a in zip(xs, header, align, strict=True):
        ax.text(x, y, h, fontsize=sheet.fs(size), fontweight="bold", ha=a, va="top",
                color=STYLE["text"])
    y -= step
    ax.plot([0, xs[-1] if align[-1] == "right" else 1.0], [y + step * 0.15] * 2,
            color="#9a948a", linewidth=0.5 * sheet.scale)
    shown = rows if max_rows is None else rows[:max_rows]
    for row in shown:
        for x, v, a in zip(xs, row, align, strict=True):
            ax.text(x, y - step * 0.1, v, fontsize=sheet.fs(size), ha=a, va="top",
                    color=STYLE["text"])
        y -= step
    if len(shown) < len(rows):
        ax.text(xs[0], y - step * 0.1, f"… (+{len(rows) - len(shown)})",
                fontsize=sheet.fs(size), ha="left", va="top", color=_MUTED)
        y -= step
    return y - step * 0.6


def _page(sheet: _Sheet, *, title: str, subtitle: str | None, lang: str, date, sources,
          crs=None) -> None:
    _draw_texts(sheet, title=title, subtitle=subtitle,
                footer=footer_text(lang=lang, date=date, sources=sources, crs=crs))


def _credits(layers, sources) -> list:
    return layer_credits(layers) if sources is None else list(sources)


def _area_name(layers) -> str | None:
    area = _layer(layers, "study_area")
    if area is not None and "name" in area.columns and pd.notna(area["name"].iloc[0]):
        return str(area["name"].iloc[0])
    return None


def _spec_weights(spec) -> dict[str, float]:
    """Return the criteria's normalised weights by name (their given weights without AHP)."""
    try:
        return {str(k): float(v) for k, v in spec.weights.items()}
    except CriteriaError:  # e.g. an AHP matrix that is not consistent: the weights given
        return {c.name: float(c.weight) for c in spec.criteria if c.weight is not None}


def _criteria_rows(spec, criteria: pd.DataFrame | None, lang: str) -> list[dict]:
    """Criterion label, direction and weight (the weight used where the run gives it)."""
    rows = []
    used, flat = {}, set()
    if criteria is not None and {"criterion", "weight_used"} <= set(criteria.columns):
        used = dict(zip(criteria["criterion"], criteria["weight_used"], strict=True))
    if criteria is not None and {"criterion", "discriminating"} <= set(criteria.columns):
        flat = set(criteria.loc[criteria["discriminating"].eq(False), "criterion"])
    weights = {}
    if spec is not None:
        weights = _spec_weights(spec)
        for c in spec.criteria:
            w = used.get(c.name, weights.get(c.name))
            rows.append({"name": c.name, "column": c.column, "direction": c.direction,
                         "label": c.description or _i18n.column_label(c.column, lang),
                         "weight": None if w is None else float(w),
                         "flat": c.name in flat})
    elif criteria is not None:
        for _, r in criteria.iterrows():
            rows.append({"name": r["criterion"], "column": r.get("column"),
                         "direction": r.get("direction", "benefit"),
                         "label": _i18n.column_label(str(r.get("column", r["criterion"])), lang),
                         "weight": float(r.get("weight_used", r.get("weight", np.nan))),
                         "flat": r["criterion"] in flat})
    return rows


def plot_cover(
    layers,
    *,
    spec=None,
    criteria: pd.DataFrame | None = None,
    demand: Mapping | None = None,
    coverage: pd.DataFrame | None = None,
    contents: Sequence[str] | None = None,
    title: str | None = None,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
) -> Figure:
    """Draw the cover and method page of an atlas.

    Parameters
    ----------
    layers : LayerSet or mapping of str to GeoDataFrame
        The study area (its ``name``) and the layers credited.
    spec : CriteriaSpec, optional
        The criteria: labels, directions, weights; its ``description`` is the
        default question.
    criteria : DataFrame, optional
        The run's criteria table (``criterion``, ``weight_used``): the weights
        actually used (criteria without data dropped, the others renormalised).
    demand : mapping, optional
        The run's demand (``definition``, ``total_n``, ``jobseekers_n``).
    coverage : DataFrame, optional
        Data coverage per municipality
        (:func:`productivecity.siting.coverage.data_coverage`, index reset:
        ``unit``, ``eligible_n``, ``excluded_n``, ``not_assessable_n``).
    contents : sequence of str, optional
        Titles of the atlas pages, listed on the cover.
    title : str, optional
        The question; default the criteria's description, else a generic question.
    lang, paper, date, sources
        As in :func:`productivecity.outputs.maps.plot_overview`.
    basemap : BaseMap, optional
        Unused on the cover (accepted so that every page takes the same keywords).

    Returns
    -------
    Figure
    """
    lang = _i18n.check_lang(lang)
    question = title or (getattr(spec, "description", "") or _i18n.text("cover_question", lang))
    keys = _credits(layers, sources)
    with _rc():
        sheet = _blank_sheet(paper)
        area = _area_name(layers)
        profile = getattr(spec, "profile", "")  # the hub profile the shortlist is for
        subtitle = " · ".join(
            p for p in (f"{_i18n.text('study_area', lang)}: {area}" if area else None,
                        f"{_i18n.text('hub_profile', lang)}: "
                        f"{_i18n.text('profile_' + profile, lang)}" if profile else None,
                        f"{_i18n.text('date', lang)}: {date}" if date else None) if p)
        # a long question is wrapped (two lines at most), clear of the page number
        title_chars = round(68 * sheet.fig.get_size_inches()[0] / 16.53 / sheet.scale)
        lines = textwrap.wrap(question, title_chars)
        if len(lines) > 2:
            lines = [lines[0], _short(" ".join(lines[1:]), title_chars)]
        _page(sheet, title="\n".join(lines), subtitle=None, lang=lang, date=date,
              sources=keys)
        title_h = (sheet.fs(20) * 1.25 * len(lines)) / 72.0 / sheet.fig.get_size_inches()[1]
        sheet.fig.text(sheet.left, sheet.title_y - title_h - 0.012, subtitle,
                       fontsize=sheet.fs(11), ha="left", va="top", color=_MUTED)
        top = sheet.title_y - title_h - 0.07
        left = _text_axes(sheet, (sheet.left, 0.08, 0.45, top - 0.08))
        right = _text_axes(sheet, (0.53, 0.08, 1 - 0.53 - sheet.left, top - 0.08))
        chars = round(80 * (sheet.fig.get_size_inches()[0] / 16.53) / sheet.scale)
        y = _heading(sheet, left, 1.0, _i18n.text("cover_method", lang))
        y = _paragraph(sheet, left, y, _i18n.text("cover_method_text", lang), chars=chars)
        y = _heading(sheet, left, y, _i18n.text("criteria_weights", lang))
        rows = _criteria_rows(spec, criteria, lang)
        label_chars = round(chars * 0.62)
        y = _table(sheet, left, y,
                   [_i18n.text("criterion", lang), _i18n.text("direction", lang),
                    _i18n.text("weight", lang)],
                   [[_short(r["label"], label_chars),
                     _i18n.text(f"direction_{r['direction']}", lang)
                     if r["direction"] in ("benefit", "cost") else str(r["direction"]),
                     "–" if r["weight"] is None or np.isnan(r["weight"])
                     else f"{100 * r['weight']:.0f} %"] for r in rows],
                   [0.0, 0.72, 1.0], align=["left", "left", "right"], size=9.5)
        flat = [r["label"] for r in rows if r["flat"]]
        if flat:
            y = _paragraph(sheet, left, y, _i18n.text("criterion_flat", lang,
                                                      names="; ".join(flat)), chars=chars)
        y = _heading(sheet, left, y, _i18n.text("demand", lang))
        if demand and demand.get("definition"):
            text = str(demand["definition"])
            if demand.get("total_n") is not None and pd.notna(demand.get("total_n")):
                text += " — " + _i18n.text("demand_persons", lang,
                                           n=_fmt(float(demand["total_n"]), lang))
        else:
            text = _i18n.text("demand_unknown", lang)
        y = _paragraph(sheet, left, y, text, chars=chars)
        if contents:
            y = _heading(sheet, left, y - 0.01, _i18n.text("atlas_contents", lang))
            # numbered by page: the cover is page 1
            items = [f"{i}. {_short(t, chars - 6)}" for i, t in enumerate(contents, start=2)]
            n_max = max(int(y / (_line_h(sheet, left, 9.0) * 0.9)), 1)
            if len(items) > n_max:
                items = items[:n_max - 1] + [f"… (+{len(items) - n_max + 1})"]
            left.text(0.0, y, "\n".join(items), fontsize=sheet.fs(9.0), ha="left", va="top",
                      color=STYLE["text"], linespacing=1.35)

        dated = any(getattr(c, "date", None) for c in ordered_credits(keys))
        y = _heading(sheet, right, 1.0, _i18n.text("source_dates" if dated else "sources", lang))
        for c in ordered_credits(keys):
            d = getattr(c, "date", None)
            line = c.line() + (f" ({d})" if d else "")
            y = _paragraph(sheet, right, y, "• " + line, chars=chars, size=9.0)
        if coverage is not None and len(coverage):
            y = _heading(sheet, right, y - 0.01, _i18n.text("coverage", lang))
            cov = coverage.reset_index() if "unit" not in coverage.columns else coverage
            y = _table(sheet, right, y,
                       [_i18n.text("unit_name", lang), _i18n.text("eligible", lang),
                        _i18n.text("excluded_short", lang),
                        _i18n.text("not_assessable_short", lang)],
                       [[_short(str(r["unit"]), 34), f"{int(r['eligible_n'])}",
                         f"{int(r['excluded_n'])}", f"{int(r['not_assessable_n'])}"]
                        for _, r in cov.iterrows()],
                       [0.0, 0.62, 0.80, 1.0], align=["left", "right", "right", "right"],
                       size=9.0,
                       max_rows=sheet.list_rows)
        _locator_map(sheet, layers, lang, top=0.08 + y * (top - 0.08) - 0.02)
    return sheet.fig


def _locator_map(sheet: _Sheet, layers, lang: str, *, top: float) -> None:
    """Draw a small map of the study area in the cover's free corner."""
    if _layer(layers, "study_area") is None or top - 0.08 < 0.12:
        return
    ax = sheet.fig.add_axes((0.53, 0.08, 1 - 0.53 - sheet.left, top - 0.08))
    small = _Sheet(ax, "A3")
    _fit_extent(small, _layer(layers, "study_area").total_bounds)
    _draw_context(small, layers, lang, [])
    _draw_overlays(small, layers, lang, [])
    ax.set_xlabel("")
    ax.set_ylabel("")
    _draw_scale_bar(small)


def _place_row(place, places) -> pd.Series:
    if isinstance(place, pd.Series):
        return place
    if places is None or place not in places.index:
        raise ParameterError(f"place {place!r}: give a row of the places table or a place id "
                             f"of `places` (ids e.g. "
                             f"{[] if places is None else list(places.index[:5])})")
    return places.loc[place]


def _streets_in(basemap, window) -> bool | None:
    """Whether the base map has streets in ``window``; None without a base map."""
    if basemap is None:
        return None
    streets = getattr(basemap, "streets", None)
    if streets is None or not len(streets):
        return False
    return bool(streets.geometry.intersects(window).any())


def _draw_basemap(ax, basemap, bounds, lang, scale) -> None:
    if basemap is None or importlib.util.find_spec("productivecity.outputs.basemap") is None:
        return
    from productivecity.outputs import basemap as _bm

    _bm.draw_basemap(ax, basemap, bounds=bounds, lang=lang, scale=scale, labels=True)


def _unit(column: str, lang: str) -> str:
    full, bare = _i18n.column_label(column, lang), _i18n.column_label(column, lang, unit=False)
    return full[len(bare):].strip(" ()") if full.startswith(bare) else ""


def plot_site_card(
    ranked: gpd.GeoDataFrame,
    layers,
    place,
    *,
    places: gpd.GeoDataFrame | None = None,
    spec=None,
    isochrones: gpd.GeoDataFrame | None = None,
    indicators: Sequence[str] | None = None,
    top_k: int = 10,
    half_window_m: float | None = None,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
) -> Figure:
    """Draw the card of one shortlisted place.

    Parameters
    ----------
    ranked : GeoDataFrame
        Scored sites with ``score``, ``place_id`` and ``place_best`` (see
        :func:`productivecity.siting.places.place_ranks`), the ``contrib_*``
        columns and the indicators; name columns (``street_name``,
        ``neighbourhood_name``, ``municipality_name``) where known.
    layers : LayerSet or mapping
    place : pandas.Series or str
        A row of the places table (its name is the place id) or a place id of ``places``.
    places : GeoDataFrame, optional
        The places table (:func:`productivecity.siting.places.group_places`).
    spec : CriteriaSpec, optional
        Labels the why-bars and picks the key indicators (the criteria's columns).
    isochrones : GeoDataFrame, optional
        Indexed by (origin, time_min); the best site's are drawn when present.
    indicators : sequence of str, optional
        Key indicator columns (default: the criteria's columns).
    top_k : int, default 10
        The shortlist length the rank stability refers to.
    half_window_m : float, optional
        Half the side of the map window around the place, metres; default
        :data:`CARD_HALF_WINDOW_M` on A3, a little more context on larger paper
        (A0: ~1 km), a little less on A4.
    lang, paper, date, sources
        As in :func:`productivecity.outputs.maps.plot_overview`.
    basemap : BaseMap, optional
        Streets, water, rail, green and names under the map; a window without any
        street says so on the card.

    Returns
    -------
    Figure

    Raises
    ------
    SchemaError
        ``ranked`` lacks ``score`` or ``place_id``, or no site belongs to the place.
    """
    lang = _i18n.check_lang(lang)
    ranked = _check_sites(ranked, ["score", "place_id"])
    row = _place_row(place, places)
    pid = str(row.name)
    cells = ranked[ranked["place_id"].astype("string").eq(pid).fillna(False)]
    if not len(cells):
        raise SchemaError(f"place {pid!r}: no site of the ranked table has place_id {pid!r}")
    best_id = row.get("best_site_id")
    if best_id is None or best_id not in cells.index:
        best_id = pd.to_numeric(cells["score"], errors="coerce").idxmax()
    best = cells.loc[best_id]
    extent = shapely.union_all(cells.geometry.to_numpy())
    c = extent.centroid
    if half_window_m is None:
        if paper not in PAPER_MM:
            raise ParameterError(f"paper size {paper!r} is not available; use one of "
                                 f"{list(PAPER_MM)}")
        half_window_m = CARD_HALF_WINDOW_M * (PAPER_MM[paper][0] / 420.0) ** 0.3
    half = max(float(half_window_m), 0.6 * max(extent.bounds[2] - extent.bounds[0],
                                               extent.bounds[3] - extent.bounds[1]))
    bounds = (c.x - half, c.y - half, c.x + half, c.y + half)
    window = shapely.box(*bounds)
    status = site_statuses(ranked) if {"status", "excluded"} & set(ranked.columns) else \
        pd.Series("eligible", index=ranked.index)
    eligible = ranked[status.eq("eligible")]
    rank = row.get("rank", best.get("place_rank"))
    name = str(row.get("place_name") if pd.notna(row.get("place_name", np.nan))
               else best.get("place_name", pid))
    keys = _credits(layers, sources)
    with _rc():
        sheet = _Sheet(None, paper)
        s = sheet.scale
        fw, fh = sheet.fig.get_size_inches()
        mpos = sheet.ax.get_position()
        map_w = 0.52
        sheet.ax.set_position((mpos.x0, mpos.y0, map_w, mpos.height))
        px0 = mpos.x0 + map_w + 0.03
        sheet.panel.set_position((px0, mpos.y0, 1 - px0 - sheet.left, mpos.height))
        _fit_extent(sheet, bounds, pad=0.0)
        ax = sheet.ax
        handles: list = []
        _draw_context(sheet, layers, lang, handles)
        _draw_basemap(ax, basemap, ax.get_xlim() + ax.get_ylim(), lang, s)
        near = ranked[ranked.geometry.intersects(window)]
        others = near[~near.index.isin(cells.index)]
        if len(others):
            add_geometries(ax, others.geometry.values, facecolor="#ffffff",
                           edgecolor="#b9b3a8", alpha=0.35, linewidth=0.3 * s, zorder=8)
        cmap = mpl.colormaps["viridis"]
        sc = pd.to_numeric(eligible["score"], errors="coerce")
        norm = mpl.colors.Normalize(float(sc.min()), float(sc.max())) if sc.notna().any() \
            else mpl.colors.Normalize(0, 1)
        cv = pd.to_numeric(cells["score"], errors="coerce")
        ok = cv.notna()
        add_geometries(ax, cells.geometry.values[ok.to_numpy()],
                       color=cmap(norm(cv[ok].to_numpy())), edgecolor="white",
                       linewidth=0.3 * s, alpha=0.85, zorder=9, per_feature=True)
        handles.append((Patch(facecolor=cmap(0.75), edgecolor="white"),
                        _i18n.text("place_cells", lang)))
        add_geometries(ax, [extent], facecolor="none", edgecolor="white", linewidth=3.0 * s,
                       zorder=23.8)
        add_geometries(ax, [extent], facecolor="none", edgecolor=STYLE["top_edge"],
                       linewidth=1.4 * s, linestyle=(0, (3, 2)), zorder=23.9)
        handles.append((Line2D([], [], color=STYLE["top_edge"], linewidth=1.4 * s,
                               linestyle=(0, (3, 2))), _i18n.text("place_extent", lang)))
        if isochrones is not None and best_id in set(isochrones.index.get_level_values(0)):
            iso = isochrones.xs(best_id, level=0).to_crs(ranked.crs)
            styles = ["solid", (0, (5, 2)), (0, (2, 2))]
            for j, t in enumerate(sorted(iso.index.astype(float))):
                g = iso.geometry.loc[t]
                if g is None or g.is_empty:
                    continue
                add_geometries(ax, [g], facecolor="none", edgecolor="#c0392b",
                               linewidth=1.2 * s, linestyle=styles[j % 3], zorder=12)
                handles.append((Line2D([], [], color="#c0392b", linewidth=1.2 * s,
                                       linestyle=styles[j % 3]),
                                _i18n.text("isochrone", lang, t=t)))
        stops = _layer(layers, "transit_stops")
        if stops is not None:
            st = stops[stops.geometry.intersects(window)]
            if "mode" in st.columns:
                st = st[st["mode"].astype(str).str.lower() != "rail"]
            if len(st):
                ax.scatter(st.geometry.x, st.geometry.y, s=(3.2 * s) ** 2, marker="o",
                           facecolor="#ffffff", edgecolor="#2f5f8a", linewidth=1.0 * s,
                           zorder=21)
                handles.append((Line2D([], [], marker="o", linestyle="none",
                                       markerfacecolor="white", markeredgecolor="#2f5f8a",
                                       markersize=4.5 * s), _i18n.text("transit_stops", lang)))
        _draw_overlays(sheet, layers, lang, handles, basemap=basemap)
        pt = best.geometry.representative_point()
        ax.scatter([pt.x], [pt.y], s=(13 * s) ** 2, marker="o", facecolor="white",
                   edgecolor=STYLE["top_edge"], linewidth=1.2 * s, zorder=25)
        ax.text(pt.x, pt.y, f"{int(rank)}" if pd.notna(rank) else "", fontsize=sheet.fs(9),
                fontweight="bold", ha="center", va="center_baseline", zorder=26)
        ax.set_xlabel("")
        ax.set_ylabel("")
        if _streets_in(basemap, window) is False:
            ax.text(0.5, 0.93, "\n".join(textwrap.wrap(_i18n.text("no_streets", lang), 60)),
                    transform=ax.transAxes, ha="center", va="top", fontsize=sheet.fs(9),
                    color=STYLE["text"], zorder=40,
                    bbox=dict(boxstyle="round,pad=0.5", facecolor="#fff6d6",
                              edgecolor="#c9a227", linewidth=0.8 * s))
        _draw_scale_bar(sheet)
        _draw_north_arrow(sheet, ranked.crs)
        if handles:
            hs, labels = zip(*handles, strict=True)
            leg = ax.legend(hs, labels, loc="lower right", fontsize=sheet.fs(6.5), frameon=True,
                            handlelength=2.0, borderpad=0.6, labelspacing=0.5)
            leg.get_frame().set_linewidth(0)
            leg.get_frame().set_alpha(0.9)
            leg.set_zorder(30)

        # title: the place's name, wrapped to the sheet (never over the map)
        title_chars = round(70 * fw / 16.53 / s)
        title = _i18n.text("card_title", lang, r=int(rank) if pd.notna(rank) else "–",
                           name=name)
        lines = textwrap.wrap(title, title_chars)
        if len(lines) > 2:
            lines = [lines[0], _short(" ".join(lines[1:]), title_chars)]
        addr = [str(best.get(k)) for k in ("street_name", "neighbourhood_name",
                                             "municipality_name")
                if k in best.index and pd.notna(best.get(k)) and str(best.get(k))]
        facts = [f"{_i18n.text('address', lang)}: {', '.join(addr)}" if addr else None,
                 f"{_i18n.text('score_short', lang)} {_fmt(row.get('score', best['score']), lang)}",
                 (f"{_fmt(row['area_ha'], lang)} ha" if pd.notna(row.get("area_ha", np.nan))
                  else None)]
        subtitle = _short(" · ".join(f for f in facts if f), round(title_chars * 1.6))
        fig = sheet.fig
        fig.text(sheet.left, sheet.title_y, "\n".join(lines), fontsize=sheet.fs(
            20 if len(lines) == 1 else 15), fontweight="bold", ha="left", va="top",
            color=STYLE["text"], linespacing=1.1)
        fig.text(sheet.left, mpos.y0 + mpos.height + 0.012, subtitle, fontsize=sheet.fs(10),
                 ha="left", va="bottom", color=_MUTED)
        fig.text(sheet.left, 0.014, footer_text(lang=lang, date=date, sources=keys,
                                                crs=ranked.crs),
                 fontsize=sheet.fs(6.5), ha="left", va="bottom", color=_MUTED,
                 linespacing=1.5)

        _card_panel(sheet, best, row, eligible, spec=spec, indicators=indicators,
                    top_k=top_k, lang=lang)
    return sheet.fig


def _card_panel(sheet: _Sheet, best: pd.Series, row: pd.Series, eligible: pd.DataFrame, *,
                spec, indicators, top_k: int, lang: str) -> None:
    """Why-bars, key indicators against the median, rank stability, in the side panel."""
    p = sheet.panel
    crit = {c.name: c for c in spec.criteria} if spec is not None else {}
    contrib = [c for c in best.index if str(c).startswith("contrib_")]
    weights = {}
    if spec is not None:
        weights = _spec_weights(spec)
    items = []
    for col in contrib:
        key = str(col)[len("contrib_"):]
        v = pd.to_numeric(pd.Series([best[col]]), errors="coerce").iloc[0]
        label = (crit[key].description if key in crit and crit[key].description
                 else _i18n.column_label(crit[key].column, lang, unit=False) if key in crit
                 else key.replace("_", " "))
        items.append((label, 0.0 if pd.isna(v) else float(v), weights.get(key)))
    items.sort(key=lambda t: -t[1])
    items = items[:sheet.list_rows]
    n = len(items)
    ppos = p.get_position()
    y_top = ppos.y0 + ppos.height
    p.text(0.0, 1.0, _i18n.text("why_place", lang), transform=p.transAxes,
           fontsize=sheet.fs(10), fontweight="bold", ha="left", va="top", color=STYLE["text"])
    bar_h = min(0.42, 0.034 * max(n, 1)) * ppos.height
    chars = round(40 * sheet.fig.get_size_inches()[0] / 16.53 / sheet.scale)
    if n:
        box = (ppos.x0 + ppos.width * 0.47, y_top - 0.035 - bar_h, ppos.width * 0.45, bar_h)
        full = [w if w is not None else 0.0 for _, _, w in items]
        _why_bars(sheet, box, [_short(lab, chars) for lab, _, _ in items], full,
                  [v for _, v, _ in items])
        y = (y_top - 0.035 - bar_h - 0.05 - ppos.y0) / ppos.height
    else:
        y = 0.9
    # key indicators against the area's median over eligible sites
    cols = list(indicators) if indicators is not None else [c.column for c in crit.values()]
    cols = [c for c in cols if c in best.index][:sheet.list_rows]
    if cols:
        p.text(0.0, y, _i18n.text("key_indicators", lang), transform=p.transAxes,
               fontsize=sheet.fs(10), fontweight="bold", ha="left", va="top",
               color=STYLE["text"])
        step = sheet.fs(8.5) * 1.6 / 72.0 / (ppos.height * sheet.fig.get_size_inches()[1])
        y -= step * 1.4
        xs, aligns = (0.0, 0.68, 0.86, 1.0), ("left", "right", "right", "right")
        for x, h, a in zip(xs, ("", _i18n.text("value", lang),
                                _i18n.text("median_eligible", lang),
                                _i18n.text("unit_of_measure", lang)),
                           aligns, strict=True):
            p.text(x, y, h, transform=p.transAxes, fontsize=sheet.fs(7.5), ha=a, va="top",
                   color=_MUTED)
        y -= step
        for col in cols:
            med = pd.to_numeric(eligible[col], errors="coerce").median() if col in \
                eligible.columns else np.nan
            vals = (_short(_i18n.column_label(col, lang, unit=False), round(chars * 1.05)),
                    _fmt(best[col], lang), _fmt(med, lang), _unit(col, lang))
            for x, v, a in zip(xs, vals, aligns, strict=True):
                p.text(x, y, v, transform=p.transAxes, fontsize=sheet.fs(8.5), ha=a, va="top",
                       color=STYLE["text"])
            y -= step
        y -= step * 0.8
    # rank stability of the place
    p.text(0.0, y, _i18n.text("stability", lang), transform=p.transAxes, fontsize=sheet.fs(10),
           fontweight="bold", ha="left", va="top", color=STYLE["text"])
    y -= 0.035
    share, a, b = (pd.to_numeric(pd.Series([row.get(k, np.nan)]), errors="coerce").iloc[0]
                   for k in ("topk_share", "rank_p05", "rank_p95"))
    if pd.notna(share) and pd.notna(a) and pd.notna(b):
        pct = share * 100 if share <= 1 else share
        text = _i18n.text("rank_stability_text", lang, k=top_k, p=f"{pct:.0f}",
                          a=f"{a:.0f}", b=f"{b:.0f}")
    else:
        text = _i18n.text("rank_stability_none", lang)
    p.text(0.0, y, "\n".join(textwrap.wrap(text, round(chars * 1.6))), transform=p.transAxes,
           fontsize=sheet.fs(9), ha="left", va="top", color=STYLE["text"], linespacing=1.35)


def _why_bars(sheet: _Sheet, box: Sequence[float], labels: Sequence[str],
              full: Sequence[float], values: Sequence[float], *, own: bool = True) -> None:
    """Draw the why-this-place bars in ``box`` (figure fractions): weights and parts.

    Drawn as matplotlib's horizontal bars in an axes of their own would look (bars of
    0.7, labels at the left, the values after the bars, ticks below), but as artists
    of the page's panel: an axes is half the card's drawing time. With ``own`` false,
    ticks that need an offset or a user's axis style (:func:`default_ticks`),
    matplotlib's axes draws them.
    """
    fig, s = sheet.fig, sheet.scale
    n = len(labels)
    ys = np.arange(n)[::-1]
    hi = max([*full, *values, 1e-9])
    x_max = hi * 1.18
    fig_w, fig_h = fig.get_size_inches()
    ticks = default_ticks(0.0, x_max, length_pt=box[2] * fig_w * 72,
                          label_pt=sheet.fs(6.5)) if own else None
    if ticks is None:
        bax = fig.add_axes(tuple(box))
        bax.barh(ys, full, color=_BAR_BACK, height=0.7, zorder=1)
        bax.barh(ys, values, color=_BAR, height=0.7, zorder=2)
        bax.set_yticks(ys, labels, fontsize=sheet.fs(8))
        for yy, v in zip(ys, values, strict=True):
            bax.text(v + hi * 0.02, yy, f"{v:.2f}", va="center", ha="left",
                     fontsize=sheet.fs(6.5), color=STYLE["text"])
        bax.set_xlim(0, x_max)
        bax.tick_params(axis="x", labelsize=sheet.fs(6.5), length=2 * s)
        bax.tick_params(axis="y", length=0)
        for side in ("top", "right", "left"):
            bax.spines[side].set_visible(False)
        bax.spines["bottom"].set_linewidth(0.5 * s)
        return
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Affine2D, blended_transform_factory, offset_copy

    p = sheet.panel
    # the y limits matplotlib's autoscaling gives the bars: their extent and 5 % margins
    lo, top = -0.35, n - 1 + 0.35
    margin = (top - lo) * mpl.rcParams["axes.ymargin"]
    lo, top = lo - margin, top + margin
    x0, y0, w, h = box
    data = Affine2D().scale(w / x_max, h / (top - lo)).translate(x0, y0 - lo * h / (top - lo)) \
        + fig.transFigure
    for widths, colour, z in ((full, _BAR_BACK, 1), (values, _BAR, 2)):
        p.add_collection(PatchCollection(
            [Rectangle((0.0, yy - 0.35), v, 0.7) for yy, v in zip(ys, widths, strict=True)],
            facecolor=colour, edgecolor="none", transform=data, clip_on=False, zorder=z),
            autolim=False)
    # the labels at the left, as y tick labels (no tick marks)
    left = offset_copy(blended_transform_factory(fig.transFigure, data), fig,
                       x=-mpl.rcParams["ytick.major.pad"], units="points")
    _, label_colour = tick_colours("y")
    for yy, label in zip(ys, labels, strict=True):
        p.text(x0, yy, label, transform=left, ha="right", va="center_baseline",
               fontsize=sheet.fs(8), color=label_colour)
    for yy, v in zip(ys, values, strict=True):
        p.text(v + hi * 0.02, yy, f"{v:.2f}", transform=data, va="center", ha="left",
               fontsize=sheet.fs(6.5), color=STYLE["text"])
    # the axis: its line, ticks down from it and their labels
    edge = mpl.rcParams["axes.edgecolor"]
    p.add_collection(LineCollection([[(0.0, lo), (x_max, lo)]], colors=edge,
                                    linewidths=0.5 * s, capstyle="projecting",
                                    transform=data, clip_on=False, zorder=2.5), autolim=False)
    draw_ticks_below(p, [(v, lo, text) for v, text in ticks], transform=data,
                     length_pt=2 * s, width_pt=mpl.rcParams["xtick.major.width"],
                     label_pt=sheet.fs(6.5))


def _area_map_sheet(paper: str, layers, bounds, lang: str, basemap) -> tuple[_Sheet, list]:
    """Open a page with the whole area's map on the left and a panel on the right.

    The map's context and base map are drawn; returns the sheet and the legend handles.
    """
    sheet = _Sheet(None, paper)
    mpos = sheet.ax.get_position()
    map_w = 0.55
    sheet.ax.set_position((mpos.x0, mpos.y0, map_w, mpos.height))
    px0 = mpos.x0 + map_w + 0.04
    sheet.panel.set_position((px0, mpos.y0, 1 - px0 - sheet.left, mpos.height))
    _fit_extent(sheet, bounds)
    handles: list = []
    _draw_context(sheet, layers, lang, handles)
    ax = sheet.ax
    _draw_basemap(ax, basemap, ax.get_xlim() + ax.get_ylim(), lang, sheet.scale)
    return sheet, handles


def _finish_area_map(sheet: _Sheet, handles: list, crs) -> None:
    """Scale bar, north arrow and legend (lower right) of an :func:`_area_map_sheet` map."""
    ax = sheet.ax
    ax.set_xlabel("")
    ax.set_ylabel("")
    _draw_scale_bar(sheet)
    _draw_north_arrow(sheet, crs)
    leg = ax.legend(*zip(*handles, strict=True), loc="lower right", fontsize=sheet.fs(6.5),
                    frameon=True, handlelength=2.0, labelspacing=0.5)
    leg.get_frame().set_linewidth(0)
    leg.set_zorder(30)


#: Marker and colour of each tier's new hubs on the tiers page, in the tiers' order.
_TIER_STYLE = (("o", "#1b7f5b"), ("s", "#7b3294"), ("^", "#c2571a"), ("D", "#2c7fb8"))


def plot_tiers(
    allocation: Mapping,
    layers,
    *,
    ranked: gpd.GeoDataFrame | None = None,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
) -> Figure:
    """Draw the tiers page of ``[allocation] tiers``: each tier's new hubs and what it covers.

    Parameters
    ----------
    allocation : mapping
        The run's allocation with ``tiers`` (one row per tier: ``tier``, ``mode``,
        ``limit_min``, ``k``, ``existing_open_n``, ``total_demand_n``,
        ``baseline_covered_demand_n``, ``covered_demand_n``) and ``tier_hubs`` (the
        sites chosen, index: site id, column ``tier``).
    layers : LayerSet or mapping
    ranked : GeoDataFrame, optional
        The sites, to name the hubs by their street.
    lang, paper, date, sources, basemap
        As in :func:`plot_site_card`.

    Returns
    -------
    Figure

    Raises
    ------
    SchemaError
        ``allocation`` lacks ``tiers`` or ``tier_hubs``.
    """
    lang = _i18n.check_lang(lang)
    missing = [k for k in ("tiers", "tier_hubs") if allocation.get(k) is None]
    if missing:
        raise SchemaError(f"allocation: missing {missing}; expected the run's allocation of "
                          f"[allocation] tiers with 'tiers' and 'tier_hubs'")
    tiers = allocation["tiers"]
    tiers = tiers.reset_index() if "tier" not in tiers.columns else tiers
    hubs = allocation["tier_hubs"]
    area = _layer(layers, "study_area")
    crs = area.crs if area is not None else hubs.crs
    hubs = hubs.to_crs(crs) if hubs.crs is not None and crs is not None else hubs
    keys = _credits(layers, sources)
    names = _site_names(ranked, [str(i) for i in hubs.index])

    def share(v, total) -> str:
        v, total = pd.to_numeric(v, errors="coerce"), pd.to_numeric(total, errors="coerce")
        if pd.isna(v) or pd.isna(total) or total <= 0:
            return _fmt(v, lang)
        return f"{v / total * 100:.0f} %"

    with _rc():
        sheet, handles = _area_map_sheet(
            paper, layers, area.total_bounds if area is not None else hubs.total_bounds, lang,
            basemap)
        s, ax = sheet.scale, sheet.ax
        _draw_overlays(sheet, layers, lang, handles, basemap=basemap)
        rows, listed = [], []
        for i, (_, r) in enumerate(tiers.iterrows()):
            marker, colour = _TIER_STYLE[i % len(_TIER_STYLE)]
            reach = _i18n.reach_text(str(r.get("mode")), r.get("limit_min"), lang)
            mine = hubs.loc[hubs["tier"].astype(str) == str(r["tier"])] \
                if "tier" in hubs.columns else hubs.iloc[:0]
            pts = mine.geometry.representative_point()
            ax.scatter(pts.x, pts.y, s=(10 * s) ** 2, marker=marker, facecolor=colour,
                       edgecolor="white", linewidth=1.0 * s, zorder=26, gid=f"tier_{i}")
            handles.append((Line2D([], [], marker=marker, linestyle="none",
                                   markerfacecolor=colour, markeredgecolor="white",
                                   markersize=10 * s),
                            _i18n.text("tier_new_hub", lang, tier=r["tier"], reach=reach)))
            rows.append([str(r["tier"]), reach, f"{int(r.get('existing_open_n') or 0)}",
                         share(r.get("baseline_covered_demand_n"), r.get("total_demand_n")),
                         f"{int(r.get('k') or 0)}",
                         share(r.get("covered_demand_n"), r.get("total_demand_n"))])
            listed += [(str(r["tier"]), names.get(str(sid), str(sid))) for sid in mine.index]
        _finish_area_map(sheet, handles, crs)
        _page(sheet, title=_i18n.text("report_tiers_title", lang),
              subtitle=_area_name(layers), lang=lang, date=date, sources=keys, crs=crs)
        ppos = sheet.panel.get_position()
        tax = _text_axes(sheet, (ppos.x0, ppos.y0, ppos.width, ppos.height))
        chars = round(70 * ppos.width / 0.33 / s)
        y = _paragraph(sheet, tax, 1.0, _i18n.text("report_tiers_intro", lang), chars=chars,
                       size=8.5, color=_MUTED)
        y = _table(sheet, tax, y, [_i18n.text("report_tier", lang),
                                   _i18n.text("report_tier_reach", lang),
                                   _i18n.text("tier_existing", lang),
                                   _i18n.text("tier_before", lang), "k",
                                   _i18n.text("tier_after", lang)],
                   rows, [0.0, 0.2, 0.56, 0.76, 0.84, 1.0],
                   align=["left", "left", "right", "right", "right", "right"])
        y = _heading(sheet, tax, y, _i18n.text("report_tier_sites", lang))
        _table(sheet, tax, y, [_i18n.text("report_tier", lang), _i18n.text("site", lang)],
               [[t, _short(n, round(sheet.label_chars * 0.8))] for t, n in listed],
               [0.0, 0.22], align=["left", "left"], max_rows=sheet.list_rows)
    return sheet.fig


def _site_names(ranked: pd.DataFrame | None, ids) -> dict:
    out = {}
    for sid in ids:
        name = None
        if ranked is not None and sid in ranked.index:
            for col in ("street_name", "place_name", "neighbourhood_name"):
                v = ranked.at[sid, col] if col in ranked.columns else None
                if v is not None and pd.notna(v) and str(v):
                    name = str(v)
                    break
        out[sid] = name or str(sid)
    return out


def plot_new_hubs(
    allocation: Mapping,
    layers,
    *,
    ranked: gpd.GeoDataFrame | None = None,
    lang: str = "en",
    paper: str = "A3",
    date=None,
    sources: Iterable | None = None,
    basemap=None,
) -> Figure:
    """Draw the new-hubs page: where the allocation adds hubs and what each one adds.

    Parameters
    ----------
    allocation : mapping
        The run's allocation (:func:`productivecity.workflow.steps.allocation_step`):
        ``new_hubs`` (GeoDataFrame of the chosen sites, ``first_chosen_k``),
        ``curve`` (``k``, ``covered_demand_n``, ``covered_share_pct``,
        ``marginal_gain_n``, ``selected``) and optionally ``demand_units``
        (``facility_id``: the hub each unit is assigned to; drawn as catchments).
    layers : LayerSet or mapping
    ranked : GeoDataFrame, optional
        The sites, to name the new hubs by their street.
    lang, paper, date, sources, basemap
        As in :func:`plot_site_card`.

    Returns
    -------
    Figure

    Raises
    ------
    SchemaError
        ``allocation`` lacks ``curve`` or ``new_hubs``, or the curve lacks its columns.
    """
    lang = _i18n.check_lang(lang)
    missing = [k for k in ("curve", "new_hubs") if k not in allocation]
    if missing:
        raise SchemaError(f"allocation: missing {missing}; expected the run's allocation "
                          f"with 'curve', 'new_hubs' and 'demand_units'")
    curve = allocation["curve"].copy()
    need = ["k", "covered_demand_n", "covered_share_pct", "marginal_gain_n"]
    if "k" not in curve.columns and curve.index.name == "k":
        curve = curve.reset_index()
    absent = [c for c in need if c not in curve.columns]
    if absent:
        raise SchemaError(f"allocation curve: missing columns {absent} (columns: "
                          f"{list(curve.columns)})")
    curve = curve.sort_values("k")
    new = allocation["new_hubs"]
    area = _layer(layers, "study_area")
    crs = area.crs if area is not None else new.crs
    new = new.to_crs(crs) if new.crs is not None and crs is not None else new
    k_max = int(curve["k"].max()) if len(curve) else 0
    keys = _credits(layers, sources)
    with _rc():
        sheet, handles = _area_map_sheet(
            paper, layers, area.total_bounds if area is not None else new.total_bounds, lang,
            basemap)
        s, ax = sheet.scale, sheet.ax
        pts = new.geometry.representative_point()
        units = allocation.get("demand_units")
        hubs = _layer(layers, "hubs")
        unknown_n = units_n = 0
        if units is not None and len(units) and "facility_id" in units.columns:
            u = units.to_crs(crs) if units.crs is not None and crs is not None else units
            units_n = len(u)
            # units without job-seeker data: their demand is unknown, not small (a hollow
            # dashed ring of one size, no catchment line)
            unknown = unknown_demand(u)
            unknown_n = int(unknown.sum())
            if unknown_n:
                upt_unknown = u.geometry[unknown].representative_point()
                ax.scatter(upt_unknown.x, upt_unknown.y, s=(7 * s) ** 2, facecolor="none",
                           edgecolor="#7a7a7a", linewidth=0.8 * s, linestyle=(0, (2, 1.5)),
                           zorder=18.5, gid="demand_unknown")
                u = u.loc[~unknown]
            upt = u.geometry.representative_point()
            where = {**({str(i): g for i, g in zip(hubs.index, hubs.geometry.representative_point(),
                                                   strict=True)} if hubs is not None else {}),
                     **{str(i): g for i, g in zip(new.index, pts, strict=True)}}
            fac = u["facility_id"].astype("string")
            is_new = fac.isin([str(i) for i in new.index]).fillna(False)
            for (uid, f), p0 in zip(fac.items(), upt, strict=True):
                if pd.isna(f) or str(f) not in where:
                    continue
                q = where[str(f)]
                ax.plot([p0.x, q.x], [p0.y, q.y], color=_NEW_HUB if is_new[uid] else STYLE["hub"],
                        linewidth=0.8 * s, alpha=0.7, zorder=18)
            size = [c for c in ("jobseekers_low_edu_n", "jobseekers_n", "population_n")
                    if c in u.columns]
            w = (pd.to_numeric(u[size[0]], errors="coerce").fillna(0) if size
                 else pd.Series(1.0, index=u.index))
            area_pt = (3 + 9 * np.sqrt(w / max(float(w.max()), 1e-9))) * s
            colour = np.where(is_new, _NEW_HUB, np.where(fac.isna(), "#9a9a9a", STYLE["hub"]))
            ax.scatter(upt.x, upt.y, s=area_pt.to_numpy() ** 2, c=list(colour), alpha=0.35,
                       edgecolor="none", zorder=18.5)
            handles += [(Line2D([], [], color=_NEW_HUB, linewidth=1.0 * s, marker="o",
                                markersize=5 * s, alpha=0.7), _i18n.text("catchment", lang)),
                        (Line2D([], [], color=STYLE["hub"], linewidth=1.0 * s, marker="o",
                                markersize=5 * s, alpha=0.7),
                         _i18n.text("catchment_existing", lang))]
            if fac.isna().any():
                handles.append((Line2D([], [], color="#9a9a9a", linestyle="none", marker="o",
                                       markersize=5 * s, alpha=0.5),
                                _i18n.text("not_reached", lang)))
            if unknown_n:
                handles.append((Line2D([], [], color="#7a7a7a", linestyle="none", marker="o",
                                       markerfacecolor="none", markersize=7 * s,
                                       markeredgewidth=0.8 * s),
                                _i18n.text("demand_unknown_units", lang)))
        _draw_overlays(sheet, layers, lang, handles, basemap=basemap)
        order = (pd.to_numeric(new["first_chosen_k"], errors="coerce")
                 if "first_chosen_k" in new.columns else pd.Series(np.nan, index=new.index))
        ax.scatter(pts.x, pts.y, s=(13 * s) ** 2, marker="*", facecolor=_NEW_HUB,
                   edgecolor="white", linewidth=1.0 * s, zorder=26)
        halo = [patheffects.withStroke(linewidth=2.5 * s, foreground="white")]
        for p0, o in zip(pts, order, strict=True):
            if pd.notna(o):
                ax.annotate(f"{int(o)}", (p0.x, p0.y), xytext=(7 * s, 5 * s),
                            textcoords="offset points", fontsize=sheet.fs(9), fontweight="bold",
                            color=_NEW_HUB, path_effects=halo, zorder=27)
        handles.append((Line2D([], [], marker="*", linestyle="none", markerfacecolor=_NEW_HUB,
                               markeredgecolor="white", markersize=12 * s),
                        _i18n.text("new_hub", lang)))
        _finish_area_map(sheet, handles, crs)
        _page(sheet, title=_i18n.text("new_hubs_title", lang, k=k_max),
              subtitle=_area_name(layers), lang=lang, date=date, sources=keys, crs=crs)

        # the coverage curve
        fig, ppos = sheet.fig, sheet.panel.get_position()
        cax = fig.add_axes((ppos.x0 + 0.035, ppos.y0 + ppos.height * 0.55, ppos.width - 0.04,
                            ppos.height * 0.38))
        ks = curve["k"].to_numpy(dtype=float)
        share = pd.to_numeric(curve["covered_share_pct"], errors="coerce").to_numpy(dtype=float)
        base = share[ks == 0][0] if (ks == 0).any() else np.nan
        cax.plot(ks, share, color=_NEW_HUB, marker="o", linewidth=1.6 * s, markersize=4 * s,
                 zorder=3)
        if np.isfinite(base):
            cax.axhline(base, color=STYLE["hub"], linestyle=(0, (4, 2)), linewidth=1.0 * s)
            cax.text(ks.max() if len(ks) else 1, base, _i18n.text("existing_only", lang),
                     ha="right", va="bottom", fontsize=sheet.fs(7), color=STYLE["hub"])
        cax.set_ylim(0, 105)
        cax.set_xticks(ks)
        cax.set_xlabel(_i18n.text("new_hubs_k", lang), fontsize=sheet.fs(8))
        cax.set_ylabel(_i18n.text("covered_pct", lang), fontsize=sheet.fs(8))
        cax.tick_params(labelsize=sheet.fs(7), width=0.5 * s, length=2.5 * s)
        cax.grid(axis="y", color="#e5e5e5", linewidth=0.5 * s)
        for side in ("top", "right"):
            cax.spines[side].set_visible(False)
        cax.set_title(_i18n.text("coverage_curve", lang), fontsize=sheet.fs(10),
                      fontweight="bold", loc="left", color=STYLE["text"], pad=8 * s)
        # the marginal gains
        ids = {x for v in curve.get("selected", pd.Series(dtype=str)).astype(str)
               for x in v.split(";")}
        names = _site_names(ranked, sorted(ids | set(map(str, new.index))))
        rows, before = [], set()
        for _, r in curve.iterrows():
            now = {x for x in str(r.get("selected") or "").split(";") if x and x != "nan"}
            added = sorted(now - before)
            before = now
            if int(r["k"]) <= 0:
                continue
            label = ", ".join(names.get(x, x) for x in added) or "–"
            rows.append([f"{int(r['k'])}", _short(label, round(sheet.label_chars * 0.7)),
                         _fmt(r["covered_demand_n"], lang),
                         f"{float(r['covered_share_pct']):.0f} %",
                         f"+{_fmt(r['marginal_gain_n'], lang)}"])
        tax = _text_axes(sheet, (ppos.x0, ppos.y0, ppos.width, ppos.height * 0.43))
        y = _heading(sheet, tax, 1.0, _i18n.text("marginal_gains", lang))
        y = _table(sheet, tax, y, ["k", _i18n.text("site", lang),
                                   _i18n.text("covered_n", lang), "%",
                                   _i18n.text("marginal_gain", lang)],
                   rows, [0.0, 0.06, 0.62, 0.72, 1.0],
                   align=["left", "left", "right", "right", "right"], max_rows=sheet.list_rows)
        note = _i18n.text("new_hubs_note", lang, k=k_max)
        if unknown_n:
            note += " " + _i18n.text("demand_unknown_note", lang, n=unknown_n, total=units_n)
        _paragraph(sheet, tax, y, note, chars=round(70 * ppos.width / 0.33 / s), size=8.0,
                   color=_MUTED)
    return sheet.fig
