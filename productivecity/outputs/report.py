"""The HTML report of a run: question, criteria, top sites, exclusions, figures."""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from productivecity import _i18n
from productivecity.crs import crs_label
from productivecity.io import atomic_path
from productivecity.outputs.attribution import dated_attribution, layer_credits
from productivecity.outputs.export import ranked_sites
from productivecity.outputs.maps import (
    _PNG_METADATA,
    _layer,
    _rc,
    indicator_columns,
    palette_png,
)
from productivecity.siting.demand import unknown_demand
from productivecity.siting.scoring import site_statuses, status_counts

logger = logging.getLogger(__name__)


_REPORT_CSS = """
body {font-family:'DejaVu Sans',Verdana,sans-serif; color:#222; margin:2em auto; max-width:1100px;
  padding:0 1em; font-size:14px; line-height:1.4;}
h1 {font-size:1.7em; margin-bottom:0.1em;} h2 {margin-top:1.6em; border-bottom:1px solid #ccc;}
h3 {margin-bottom:0.2em;}
.sub {color:#555;} .note {color:#555; font-size:0.92em;}
table {border-collapse:collapse; margin:0.6em 0; font-size:0.92em; max-width:100%;}
th, td {padding:3px 8px; border-bottom:1px solid #e4e1da; vertical-align:top;
  overflow-wrap:break-word;}
th {background:#f3f1ec; text-align:left; font-weight:600;}
td.n {text-align:right; white-space:nowrap;}
td small, th small {color:#777;}
table.ind {table-layout:fixed; width:100%; font-size:0.8em;}
table.ind th {text-align:right;} table.ind th:first-child {text-align:left; width:26%;}
table.ind td {text-align:right; white-space:nowrap;} table.ind td:first-child {text-align:left;
  white-space:normal;}
table.ind td small {display:block;}
.bar {display:flex; height:12px; width:220px; background:#f3f1ec;}
.bar span {display:block; height:12px;}
.sw {display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:baseline;}
.key {font-size:0.9em;} .key .ki {white-space:nowrap; margin-right:12px;}
figure {margin:1em 0; break-inside:avoid;} figure img, figure svg {max-width:100%; height:auto;
  border:1px solid #ddd;}
figcaption {color:#444; font-size:0.92em;}
footer {margin-top:2em; color:#666; font-size:0.85em;}
@page {size:A4 portrait; margin:12mm;}
@media print {
  body {max-width:none; margin:0; padding:0; font-size:9pt;}
  h2 {break-after:avoid;} tr, figure, .bar {break-inside:avoid;}
  table {font-size:8pt;} table.ind {font-size:7pt;} th, td {padding:2px 4px;}
  .bar {width:150px;} .bar, .bar span, .sw, th {print-color-adjust:exact;
    -webkit-print-color-adjust:exact;}
}
"""


def _figure_png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    with _rc():
        fig.savefig(buf, format="png", dpi=dpi, metadata=dict(_PNG_METADATA),
                    facecolor=fig.get_facecolor())
    return buf.getvalue()


def _cell(value, lang: str = "en", unit: str | None = None) -> str:
    """Return a cell's text: "–", ✓/✗ or a number for people (:func:`_i18n.format_number`)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "✓" if value else "✗"
    if isinstance(value, int | np.integer):
        return _i18n.format_number(int(value), lang, "n")
    return _i18n.format_number(value, lang, unit)


#: Colours of the criteria in the score-breakdown bars: the ten saturated colours of
#: matplotlib's "tab20" first, then its ten light ones, so that up to 20 criteria all
#: get a colour of their own and neighbouring criteria never share a hue.
CRITERION_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                     "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78",
                     "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
                     "#dbdb8d", "#9edae5")


def criterion_colours(names: Sequence[str]) -> dict[str, str]:
    """Return a distinct colour per criterion, in order (:data:`CRITERION_PALETTE`).

    Past 20 criteria the colours repeat.

    Examples
    --------
    >>> criterion_colours(["a", "b"])
    {'a': '#1f77b4', 'b': '#ff7f0e'}
    """
    return {n: CRITERION_PALETTE[i % len(CRITERION_PALETTE)] for i, n in enumerate(names)}


class _Num(str):
    """A number already written for people: right-aligned in :func:`_html_table`."""


def _html_table(head: list[str], rows: list[list], lang: str = "en") -> str:
    """Return an HTML table of (escaped) cells; numbers for people, right-aligned."""
    def cell(v) -> str:
        if isinstance(v, _Num):
            return f"<td class='n'>{v}</td>"
        return (f"<td class='n'>{_cell(v, lang)}</td>" if isinstance(v, int | float)
                and not isinstance(v, bool) else f"<td>{v}</td>")

    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows)
            + "</table>")


#: The parts of a reason of :func:`productivecity.siting.scoring.exclusion_reasons`:
#: ``"<column> <value> < min <limit> (<description>)"`` (or ``> max``), or
#: ``"<column> is true (<description>)"``.
_LIMIT_REASON = re.compile(r"^(?P<column>\S+) (?P<value>\S+) (?P<op>[<>]) (?:min|max) "
                           r"(?P<limit>\S+)(?: \((?P<description>.*)\))?$")
_TRUE_REASON = re.compile(r"^(?P<column>\S+) is true(?: \((?P<description>.*)\))?$")
_NO_VALUE_REASON = re.compile(r"^no value for (?P<column>\S+)(?: \((?P<description>.*)\))?$")


def _rule_label(reason: str, lang: str) -> tuple[str, float | None, str | None]:
    """Return (the rule in words with its limit, the site's value, the column) of a reason.

    ``"area_ha 0.05 < min 0.1 (site smaller than 0.1 ha)"`` gives
    ``("site smaller than 0.1 ha (area < 0.1 ha)", 0.05, "area_ha")``; a reason of
    another form is its own rule, without a value.
    """
    m = _LIMIT_REASON.match(reason)
    if m:
        col = m["column"]
        try:
            value, limit = float(m["value"]), float(m["limit"])
        except ValueError:
            return reason, None, None
        unit = _i18n.split_unit(col)[1]
        units = f" {dict(_i18n._UNITS)[unit][lang]}" if unit and unit != "_n" else ""
        shown = _i18n.format_number(limit, lang, "score")  # the limit as given: 0.1, 15
        mark = _i18n.format_number(0.5, lang)[1]
        shown = shown.rstrip("0").rstrip(mark) if mark in shown else shown
        rule = f"{_i18n.column_label(col, lang, unit=False)} {m['op']} {shown}{units}"
        desc = m["description"]
        return (f"{desc} ({rule})" if desc else rule), value, col
    for pattern, key in ((_TRUE_REASON, "report_rule_true"),
                         (_NO_VALUE_REASON, "report_no_value")):
        m = pattern.match(reason)
        if m:
            rule = _i18n.text(key, lang, label=_i18n.column_label(m["column"], lang))
            return (f"{m['description']} ({rule})" if m["description"] else rule), None, None
    return reason, None, None


def exclusion_rules(reasons: pd.Series, lang: str = "en") -> pd.DataFrame:
    """Split the exclusion reasons into one row per site and rule failed.

    Parameters
    ----------
    reasons : Series of str
        ``excluded_reason`` of the excluded sites (reasons joined by ``"; "``), as
        :func:`productivecity.siting.scoring.exclusion_reasons` writes them.
    lang : {"en", "nl", "fr"}
        Language of the rule's words and numbers.

    Returns
    -------
    DataFrame
        ``site`` (the index label), ``order`` (0 for the first reason of a site),
        ``rule`` (the rule in words with its limit, e.g. ``"site smaller than
        0.1 ha (area < 0.1 ha)"``, never the site's own value), ``value`` (the
        site's value, NaN for a rule without one) and ``column``.
    """
    rows = []
    for site, text_ in reasons.fillna("").astype(str).items():
        for order, reason in enumerate(r for r in text_.split("; ") if r):
            rule, value, col = _rule_label(reason, lang)
            rows.append((site, order, rule, np.nan if value is None else value, col))
    return pd.DataFrame(rows, columns=["site", "order", "rule", "value", "column"])


def exclusion_counts(reasons: pd.Series, lang: str = "en") -> tuple[pd.Series, pd.Series]:
    """Count excluded sites by rule: each site once, under its first reason.

    Parameters
    ----------
    reasons : Series of str
        ``excluded_reason`` of the excluded sites (reasons joined by ``"; "``).
    lang : {"en", "nl", "fr"}

    Returns
    -------
    first : Series
        Sites per rule of their first reason (they add up to the excluded
        sites), largest first, indexed by the rule in words with its limit
        (:func:`exclusion_rules`): ``"area_ha 0.05 < min 0.1 (too small)"`` and
        ``"area_ha 0.02 < min 0.1 (too small)"`` both count under ``"too small
        (area < 0.1 ha)"``.
    also : Series
        Sites that fail the rule besides their first one.
    """
    rules = exclusion_rules(reasons, lang)
    first = rules.loc[rules["order"].eq(0), "rule"]
    rest = rules.loc[rules["order"].gt(0), "rule"]
    return (first.value_counts().sort_values(ascending=False, kind="stable"),
            rest.value_counts())


def exclusion_section(reasons: pd.Series, lang: str = "en") -> list[str]:
    """HTML of the exclusion table: per rule, its sites, the range of their values.

    Each excluded site counts once, under its first reason; the range is that of
    all the sites failing the rule (first or not), in the column's unit.
    """
    rules = exclusion_rules(reasons, lang)
    if not len(rules):
        return []
    e = html.escape
    first, also = exclusion_counts(reasons, lang)
    body = []
    for rule, n in first.items():
        sub = rules.loc[rules["rule"].eq(rule)]
        vals = sub["value"].dropna()
        span = "–"
        if len(vals):
            col = sub["column"].dropna().iloc[0]
            lo, hi = (_i18n.format_number(v, lang, col) for v in (vals.min(), vals.max()))
            span = _Num(lo if lo == hi else f"{lo} – {hi}")
        body.append([e(rule), int(n), span, int(also.get(rule, 0)) or ""])
    for rule, n in also.items():  # a rule only ever failed besides an earlier one
        if rule not in first.index:
            body.append([e(rule), 0, "–", int(n)])
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731
    table = _html_table([t("excluded_reason"), t("report_excluded_n"),
                         t("report_excluded_values"), t("excluded_also")], body, lang)
    return [table, f"<p class='note'>{t('report_excluded_note')}</p>"]


def coverage_section(coverage: pd.DataFrame | None, lang: str = "en") -> list[str]:
    """HTML of the data-coverage table: per unit, the sites' states and missing inputs.

    Parameters
    ----------
    coverage : DataFrame or None
        As :func:`productivecity.siting.coverage.data_coverage` (index: unit
        name; ``sites_n``, ``eligible_n``, ``excluded_n``, ``not_assessable_n``,
        ``missing_inputs``); None or empty gives nothing.
    lang : {"en", "nl", "fr"}

    Returns
    -------
    list of str
        A heading, a note, the table of the units with sites and a line
        naming the units without a candidate site.
    """
    if coverage is None or not len(coverage):
        return []
    from productivecity.siting.coverage import OUTSIDE_UNITS

    if "unit" in coverage.columns:  # as written to the GeoPackage (index reset)
        coverage = coverage.set_index("unit")
    e = html.escape
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731
    has = coverage["sites_n"].astype(int) > 0
    rows = [[e(t("outside_units") if str(unit) == OUTSIDE_UNITS else str(unit)),
             int(r["sites_n"]), int(r["eligible_n"]), int(r["excluded_n"]),
             int(r["not_assessable_n"]), e(str(r.get("missing_inputs") or ""))]
            for unit, r in coverage[has].iterrows()]
    out = [f"<h2>{t('coverage')}</h2>", f"<p>{t('coverage_note')}</p>",
           _html_table([t("unit"), t("sites"), t("eligible"), t("excluded_short"),
                        t("not_assessable"), t("coverage_missing")], rows, lang)]
    if (~has).any():
        names = ", ".join(str(u) for u in coverage.index[~has])
        out.append(f"<p>{t('coverage_empty', n=int((~has).sum()), names=names)}</p>")
    return out


def _backtest_section(backtest: pd.DataFrame, t, excluded: pd.Series,
                      lang: str = "en") -> list[str]:
    """Return the HTML of the back-test: each existing hub's site, rank and percentile.

    ``excluded``: True for every site without a score (excluded or not assessable).
    """
    e = html.escape
    bt = backtest.set_index("hub_id") if "hub_id" in backtest.columns else backtest
    rows = [f"<h2>{t('backtest')}</h2>",
            f"<p>{t('backtest_note', n=int((~excluded).sum()))}</p>",
            f"<table><tr><th>{t('hub')}</th><th>{t('site')}</th><th>{t('rank')}</th>"
            f"<th>{t('percentile')}</th><th>{t('status')}</th></tr>"]
    for hub_id, row in bt.iterrows():
        site = row.get("site_id")
        name = row.get("site_name")
        site_cell = ("–" if pd.isna(site) else e(str(name)) + f"<br><small>{e(str(site))}</small>"
                     if pd.notna(name) and str(name) != str(site) else e(str(site)))
        status = str(row.get("status", ""))
        why = str(row.get("excluded_reason") or "")
        gaps = row.get("missing_inputs")
        if status == "not assessable" and isinstance(gaps, str) and gaps:
            why = ", ".join(_i18n.column_label(c, lang, unit=False) for c in gaps.split("; "))
        key = "backtest_" + status.replace(" ", "_")
        status_cell = (t(key) if key in _i18n._TERMS else e(status)) + (
            f": {e(why)}" if why else "")
        if status == "no site" and pd.notna(row.get("distance_m")):
            dist = _cell(float(row["distance_m"]), lang, "m")
            status_cell += f" ({t('backtest_nearest', d=dist)})"
        pct = row.get("percentile_pct")
        rows.append(f"<tr><td>{e(str(row.get('name', hub_id)))}</td><td>{site_cell}</td>"
                    f"<td class='n'>{_cell(row.get('rank'), lang)}</td>"
                    f"<td class='n'>{_cell(pct, lang, 'n')}</td>"
                    f"<td>{status_cell}</td></tr>")
    rows.append("</table>")
    return rows


def demand_section(demand: Mapping | None, lang: str = "en") -> list[str]:
    """Return the HTML line stating the demand: whom it counts and how many.

    Parameters
    ----------
    demand : mapping or None
        ``definition`` (str), ``total_n`` (persons) and optionally ``jobseekers_n``
        (all job seekers, for the share); None or no definition gives nothing.
    lang : {"en", "nl", "fr"}

    Examples
    --------
    >>> line = demand_section({"definition": "job seekers with education: low",
    ...                        "total_n": 15907.0, "jobseekers_n": 91629.0})[0]
    >>> line.split("</b> ")[1]
    'job seekers with education: low — 15,907 persons (17.4 % of 91,629 job seekers)</p>'
    """
    if not demand or not demand.get("definition"):
        return []
    e = html.escape
    total, all_n = demand.get("total_n"), demand.get("jobseekers_n")
    count = ""
    if total is not None and pd.notna(total):
        num = _i18n.format_number
        count = f" — {_i18n.text('demand_persons', lang, n=num(total, lang, 'n'))}"
        if all_n and pd.notna(all_n) and float(all_n) > 0:
            count += " (" + _i18n.text("demand_share", lang,
                                       pct=num(100 * float(total) / float(all_n), lang, "pct"),
                                       n=num(all_n, lang, "n")) + ")"
    return [f"<p class='demand'><b>{e(_i18n.text('demand_target', lang))}:</b> "
            f"{e(str(demand['definition']) + count)}</p>"]


def completeness_section(completeness: Sequence[Mapping] | pd.DataFrame | None,
                         lang: str = "en") -> list[str]:
    """Return the HTML table of building-footprint completeness per municipality.

    Parameters
    ----------
    completeness : sequence of mappings, DataFrame or None
        Rows with ``name``, ``mapped_n``, ``reference_n``, ``completeness``,
        ``footprint_share_pct``, ``status`` (``complete`` / ``incomplete`` /
        ``unchecked``) and ``weights`` (what spread the demand there); None or
        empty gives nothing.
    lang : {"en", "nl", "fr"}
    """
    if completeness is None or len(completeness) == 0:
        return []
    rows = (completeness.reset_index().to_dict("records")
            if isinstance(completeness, pd.DataFrame) else list(completeness))
    e = html.escape
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731

    def num(v, unit):
        return "–" if v is None or pd.isna(v) else _i18n.format_number(v, lang, unit)

    body = [[e(str(r.get("name", r.get("unit", "")))), num(r.get("mapped_n"), "n"),
             num(r.get("reference_n"), "n"),
             num(None if r.get("completeness") is None else 100 * r["completeness"], "n"),
             num(r.get("footprint_share_pct"), "pct"),
             t("completeness_" + str(r.get("status", "unchecked"))),
             e(str(r.get("weights") or "–"))] for r in rows]
    return [f"<h2>{t('completeness')}</h2><p>{t('completeness_note')}</p>",
            _html_table([t("unit_name"), t("completeness_mapped"), t("completeness_reference"),
                         t("completeness_pct"), t("completeness_footprint"), t("status"),
                         t("completeness_weights")], body, lang)]


#: Widest embedded image (px): a figure is scaled down to it and stored as a
#: PNG of :data:`EMBED_COLORS` colours, so that a dozen A3 pages keep the report a
#: file one can mail.
EMBED_MAX_WIDTH_PX = 1000
#: Colours of an embedded image.
EMBED_COLORS = 128


def _compact_png(png: bytes, max_width_px: int = EMBED_MAX_WIDTH_PX) -> bytes:
    """Return ``png`` scaled to at most ``max_width_px`` wide, as an optimised palette PNG.

    A palette PNG of at most :data:`EMBED_COLORS` colours and ``max_width_px`` is
    returned as it is (the atlas's page workers make them so).
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        if img.mode == "P" and img.width <= max_width_px and len(img.getpalette() or ()) \
                <= 3 * EMBED_COLORS:
            return png
        img = img.convert("RGB")
        if img.width > max_width_px:
            height = round(img.height * max_width_px / img.width)
            img = img.resize((max_width_px, height), Image.Resampling.LANCZOS, reducing_gap=1.5)
        return palette_png(img, EMBED_COLORS)


def _figure_data_uris(figures: Sequence, dpi: int) -> list[str]:
    """Return a ``data:`` URI of each Figure, PNG bytes or PNG file, made compact.

    Figures are drawn one after the other; the PNGs are decoded, scaled and
    compressed on two threads (Pillow releases the GIL), in order.
    """
    from concurrent.futures import ThreadPoolExecutor

    def load(fig):
        return fig if isinstance(fig, bytes) else Path(fig).read_bytes()

    pngs = [_figure_png(f, dpi) if isinstance(f, Figure) else f for f in figures]
    with ThreadPoolExecutor(max_workers=2) as pool:
        small = list(pool.map(lambda f: _compact_png(load(f)), pngs))
    return ["data:image/png;base64," + base64.b64encode(b).decode("ascii") for b in small]


def figure_caption(name: str, lang: str = "en", *, sites_n: int | None = None,
                   top_k: int = 10, places: pd.DataFrame | None = None) -> str:
    """Return what an atlas page shows, from its page name (:func:`iter_atlas_figures`).

    ``"overview"``, ``"indicator_<column>"``, ``"isochrones"``, ``"cover"``,
    ``"new_hubs"`` and ``"place_<place id>"`` (named and ranked from ``places``)
    get a sentence; any other name is shown with its underscores as spaces.

    Examples
    --------
    >>> figure_caption("indicator_rail_station_walk_time_min", "en")
    'Rail station walk time (min) at each candidate site'
    """
    if name == "overview":
        return _i18n.text("report_caption_overview", lang,
                          n=_i18n.format_number(sites_n, lang, "n") if sites_n else "",
                          k=top_k).replace("  ", " ")
    if name.startswith("indicator_"):
        return _i18n.text("report_caption_indicator", lang,
                          label=_i18n.column_label(name[len("indicator_"):], lang))
    if name in ("isochrones", "transit_isochrones", "cover", "new_hubs", "tiers"):
        return _i18n.text(f"report_caption_{name}", lang)
    if name.startswith("place_") and places is not None:
        pid = name[len("place_"):]
        table = places.set_index("place_id") if "place_id" in places.columns else places
        if pid in table.index.astype(str):
            row = table.loc[table.index.astype(str) == pid].iloc[0]
            label = row.get("place_name")
            return _i18n.text("report_caption_place", lang, rank=_cell(row.get("rank"), lang),
                              name=str(label) if pd.notna(label) else pid)
    words = re.sub(r"_+", " ", str(name)).strip()
    return words[:1].upper() + words[1:]


def _site_names(table: pd.DataFrame, ids) -> list[str]:
    """Return the place name of each site id (the id when the site has none)."""
    by_id = {str(i): i for i in table.index}
    out = []
    for sid in ids:
        row = table.loc[by_id[str(sid)]] if str(sid) in by_id else None
        name = row.get("place_name") if row is not None else None
        out.append(str(name) if name is not None and pd.notna(name) else str(sid))
    return out


def _curve_svg(curve: pd.DataFrame, lang: str, total_n: float | None) -> str:
    """Return an inline SVG of the coverage curve: share of the demand within reach by k."""
    k = curve["k"].astype(int).to_numpy()
    pct = pd.to_numeric(curve["covered_share_pct"], errors="coerce").fillna(0).to_numpy()
    w, h, left, right, top, bottom = 520, 240, 52, 16, 14, 40
    kmax = max(int(k.max()), 1)
    lo = 0.0
    x = lambda v: left + (w - left - right) * v / kmax  # noqa: E731
    y = lambda v: top + (h - top - bottom) * (1 - (v - lo) / (100 - lo))  # noqa: E731
    num = lambda v: _i18n.format_number(v, lang, "n")  # noqa: E731
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}' width='{w}' "
             f"height='{h}' role='img' font-family='DejaVu Sans,Verdana,sans-serif' "
             "font-size='11'>", f"<rect width='{w}' height='{h}' fill='white'/>"]
    for p in range(0, 101, 25):
        parts.append(f"<line x1='{left}' x2='{w - right}' y1='{y(p):.1f}' y2='{y(p):.1f}' "
                     "stroke='#e4e1da'/>")
        parts.append(f"<text x='{left - 6}' y='{y(p) + 4:.1f}' text-anchor='end' "
                     f"fill='#555'>{num(p)} %</text>")
    step = max(1, math.ceil(kmax / 12))
    for v in range(0, kmax + 1, step):
        parts.append(f"<text x='{x(v):.1f}' y='{h - bottom + 16}' text-anchor='middle' "
                     f"fill='#555'>{v}</text>")
    parts.append(f"<text x='{(left + w - right) / 2:.0f}' y='{h - 6}' text-anchor='middle' "
                 f"fill='#333'>{html.escape(_i18n.text('report_k', lang))}</text>")
    pts = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(k, pct, strict=True))
    parts.append(f"<polyline points='{pts}' fill='none' stroke='#1f77b4' stroke-width='2'/>")
    for a, b in zip(k, pct, strict=True):
        parts.append(f"<circle cx='{x(a):.1f}' cy='{y(b):.1f}' r='3.5' fill='#1f77b4'>"
                     f"<title>k = {a}: {_i18n.format_number(b, lang, 'pct')} %</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def allocation_section(allocation: Mapping | None, sites: pd.DataFrame,
                       lang: str = "en") -> list[str]:
    """HTML of the new hubs: demand within reach by k (chart and table), the sites chosen.

    Parameters
    ----------
    allocation : mapping or None
        As the run's allocation step gives it: ``curve`` (the maximal-covering
        curve: ``k``, ``covered_demand_n``, ``covered_share_pct``,
        ``marginal_gain_n``, ``selected``) and ``new_hubs`` (the sites chosen,
        index: site id; ``rank``, ``first_chosen_k``); None or no curve gives
        nothing.
    sites : DataFrame
        The ranked sites, for the place names (``place_name``).
    lang : {"en", "nl", "fr"}
    """
    if not allocation or allocation.get("curve") is None or not len(allocation["curve"]):
        return []
    e = html.escape
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731
    num = lambda v, unit="n": _i18n.format_number(v, lang, unit)  # noqa: E731
    curve = allocation["curve"].copy()
    if "k" not in curve.columns:
        curve = curve.reset_index()
    curve = curve.sort_values("k", kind="stable").reset_index(drop=True)
    cov = pd.to_numeric(curve["covered_demand_n"], errors="coerce")
    share = pd.to_numeric(curve["covered_share_pct"], errors="coerce")
    total = float(cov.iloc[-1] / share.iloc[-1] * 100) if share.iloc[-1] else None
    hubs = allocation.get("new_hubs")
    k_final = int(curve["k"].max()) if hubs is None else len(hubs)
    out = [f"<h2>{t('report_new_hubs')}</h2>"]
    final = curve.loc[curve["k"].eq(k_final)] if curve["k"].eq(k_final).any() else curve.tail(1)
    base = curve.loc[curve["k"].eq(0)]
    if total and len(base):
        out.append("<p>" + t("report_new_hubs_summary", k=k_final,
                             covered=num(final["covered_demand_n"].iloc[0]), total=num(total),
                             pct=num(final["covered_share_pct"].iloc[0], "pct"),
                             base=num(base["covered_demand_n"].iloc[0]),
                             base_pct=num(base["covered_share_pct"].iloc[0], "pct")) + "</p>")
    units = allocation.get("demand_units")
    if units is not None and len(units):
        unknown_n = int(unknown_demand(units).sum())
        if unknown_n:
            out.append("<p>" + t("demand_unknown_note", n=num(unknown_n),
                                 total=num(len(units))) + "</p>")
    out.append(f"<figure>{_curve_svg(curve, lang, total)}"
               f"<figcaption>{t('report_curve_caption')}</figcaption></figure>")
    gain_pct = share.diff()
    flat = curve.loc[(curve["k"] > 0) & (gain_pct < 1.0), "k"]
    # from where on every further hub adds less than 1 % (the curve has flattened)
    tail = [kk for kk in flat if (gain_pct[curve["k"] >= kk] < 1.0).all()]
    if tail and tail[0] < curve["k"].max() + 1 and len(curve) > 2:
        out.append(f"<p>{t('report_curve_flat', k=int(tail[0]))}</p>")
    rows = []
    before: list[str] = []
    for _, r in curve.iterrows():
        sel = [s.strip() for s in str(r.get("selected") or "").split(";") if s.strip()]
        # optimal sets need not be nested: what changed against k - 1
        added = [s for s in sel if s not in before]
        dropped = [s for s in before if s not in sel]
        before = sel
        names = "<br>".join([f"+ {e(n)}" for n in _site_names(sites, added)]
                            + [f"− {e(n)}" for n in _site_names(sites, dropped)])
        gain = r.get("marginal_gain_n")
        rows.append([int(r["k"]), _Num(num(r["covered_demand_n"])),
                     _Num(num(r["covered_share_pct"], "pct")),
                     _Num("–" if pd.isna(gain) else num(gain)), names or "–"])
    out.append(_html_table([t("report_k"), t("report_covered"), t("report_covered_pct"),
                            t("report_gain"), t("report_chosen")], rows, lang))
    if hubs is not None and len(hubs):
        out.append(f"<h3>{t('report_chosen_title', k=len(hubs))}</h3>")
        order = pd.DataFrame({"k": pd.to_numeric(hubs.get("first_chosen_k"), errors="coerce")
                              if "first_chosen_k" in hubs.columns else np.nan,
                              "rank": pd.to_numeric(hubs["rank"], errors="coerce")
                              if "rank" in hubs.columns else np.nan}, index=hubs.index)
        hubs = hubs.loc[order.sort_values(["k", "rank"], kind="stable").index]
        names = _site_names(sites, hubs.index)
        body = []
        for (sid, r), name in zip(hubs.iterrows(), names, strict=True):
            label = e(name) + (f"<br><small>{e(str(sid))}</small>" if name != str(sid) else "")
            first = r.get("first_chosen_k")
            body.append([label, "–" if first is None or pd.isna(first) else int(first),
                         "–" if pd.isna(r.get("rank")) else int(r["rank"])])
        out.append(_html_table([t("site"), t("report_first_k"), t("report_site_rank")],
                               body, lang))
    out += _tiers_section(allocation.get("tiers"), allocation.get("tier_hubs"), sites, lang)
    return out


def _tiers_section(tiers: pd.DataFrame | None, tier_hubs: pd.DataFrame | None,
                   sites: pd.DataFrame, lang: str) -> list[str]:
    """Return the HTML of ``[allocation] tiers`` (nothing without tiers).

    Per tier: its reach, the existing hubs it counts, the demand within reach before
    and after its new hubs, and the sites chosen.
    """
    if tiers is None or not len(tiers):
        return []
    e = html.escape
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731
    num = lambda v, unit="n": _i18n.format_number(v, lang, unit)  # noqa: E731
    frame = tiers.reset_index() if "tier" not in tiers.columns else tiers
    rows = []
    for _, r in frame.iterrows():
        reach = e(_i18n.reach_text(str(r.get("mode") or ""), r.get("limit_min"), lang))
        total = pd.to_numeric(r.get("total_demand_n"), errors="coerce")

        def share(v, total=total):
            v = pd.to_numeric(v, errors="coerce")
            pct = v / total * 100 if total and pd.notna(total) and total > 0 else np.nan
            return _Num(f"{num(v)} ({num(pct, 'pct')} %)" if pd.notna(pct) else num(v))

        chosen = [s for s in str(r.get("selected") or "").split(";") if s.strip()]
        if tier_hubs is not None and "tier" in tier_hubs.columns:
            chosen = [str(s) for s in tier_hubs.index[tier_hubs["tier"].astype(str)
                                                      == str(r["tier"])]] or chosen
        names = "<br>".join(e(n) for n in _site_names(sites, chosen)) or "–"
        rows.append([e(str(r["tier"])), reach, int(r.get("existing_open_n") or 0),
                     share(r.get("baseline_covered_demand_n")),
                     int(r.get("k") or 0), share(r.get("covered_demand_n")), names])
    return [f"<h3>{t('report_tiers_title')}</h3>", f"<p>{t('report_tiers_intro')}</p>",
            _html_table([t("report_tier"), t("report_tier_reach"), t("report_tier_existing"),
                         t("report_tier_before"), t("report_k"), t("report_tier_after"),
                         t("report_tier_sites")], rows, lang)]


def _rank_span(lo, hi, lang: str) -> str:
    """Return a rank interval ("3–5"; "2" when both ends are the same rank)."""
    a, b = _cell(lo, lang), _cell(hi, lang)
    return a if a == b else f"{a}–{b}"


def sensitivity_section(sensitivity: pd.DataFrame | None, sites: pd.DataFrame,
                        top: pd.DataFrame | None = None, *, lang: str = "en",
                        runs: int | None = None, spread: float | None = None,
                        top_k: int | None = None) -> list[str]:
    """HTML of the sensitivity of the ranking: Monte-Carlo stability and one weight at a time.

    Parameters
    ----------
    sensitivity : DataFrame or None
        The one-at-a-time summary (``criterion``, ``weight``, ``base_weight``,
        ``topk_overlap_share``, ``top1_site_id``, ``rank_change_mean``).
    sites : DataFrame
        The ranked sites (``rank``, ``place_name``): the top site of the base weights.
    top : DataFrame, optional
        The top places (or sites) with ``topk_share``, ``rank_p05``, ``rank_p95`` and
        a ``label``: their Monte-Carlo stability.
    lang : {"en", "nl", "fr"}
    runs, spread, top_k : optional
        The Monte-Carlo settings (runs, the relative spread of each weight, the
        shortlist size).
    """
    has_mc = (top is not None and len(top) and "topk_share" in top.columns
              and top["topk_share"].notna().any())
    has_oat = sensitivity is not None and len(sensitivity) > 0
    if not has_mc and not has_oat:
        return []
    e = html.escape
    t = lambda key, **kw: e(_i18n.text(key, lang, **kw))  # noqa: E731
    num = _i18n.format_number
    out = [f"<h2>{t('report_sensitivity')}</h2>"]
    if has_mc:
        k = top_k if top_k is not None else len(top)
        if runs is not None and spread is not None:
            out.append("<p>" + t("report_mc", runs=num(runs, lang, "n"),
                                 spread=num(100 * float(spread), lang), k=k) + "</p>")
        share = pd.to_numeric(top["topk_share"], errors="coerce")
        out.append("<p>" + t("report_mc_stable", a=int((share >= 0.9).sum()), n=len(top), k=k)
                   + "</p>")
        out.append(_html_table(
            [t("rank"), t("place"), t("topk_share", k=k), t("rank_interval")],
            [[_Num(_cell(r["rank"], lang)), r["label"],
              _Num("–" if pd.isna(r["topk_share"])
                   else num(100 * r["topk_share"], lang, "n") + " %"),
              _Num(_rank_span(r.get("rank_p05"), r.get("rank_p95"), lang))]
             for _, r in top.iterrows()], lang))
    if has_oat:
        oat = sensitivity.copy()
        ranks = pd.to_numeric(sites["rank"], errors="coerce")
        base_top = str(ranks.idxmin()) if ranks.notna().any() else None
        lo = num(pd.to_numeric(oat["weight"]).min(), lang, "share")
        hi = num(pd.to_numeric(oat["weight"]).max(), lang, "share")
        out.append(f"<p>{t('report_oat', lo=lo, hi=hi)}</p>")
        body = []
        any_change = False
        for crit, g in oat.groupby("criterion", sort=False):
            g = g.sort_values("weight", kind="stable")
            top1 = g["top1_site_id"].astype(str)
            # runs of consecutive weights with the same top site other than the base one
            run_id = top1.ne(top1.shift()).cumsum()
            parts = []
            for _, gg in g.groupby(run_id, sort=False):
                sid = str(gg["top1_site_id"].iloc[0])
                if base_top is None or sid == base_top:
                    continue
                w = pd.to_numeric(gg["weight"])
                span = (num(w.min(), lang, "share") if len(gg) == 1 else
                        f"{num(w.min(), lang, 'share')}–{num(w.max(), lang, 'share')}")
                parts.append(t("report_oat_at", w=span, name=_site_names(sites, [sid])[0]))
            if parts:
                any_change = True
                change = "; ".join(parts)
            else:
                change = t("report_oat_never")
            overlap = pd.to_numeric(g["topk_overlap_share"], errors="coerce").min()
            shift = pd.to_numeric(g["rank_change_mean"], errors="coerce").max()
            body.append([e(_i18n.column_label("contrib_" + str(crit), lang)),
                         _Num(num(g["base_weight"].iloc[0], lang, "weight")), change,
                         _Num(num(100 * overlap, lang, "n")), _Num(num(shift, lang, "pct"))])
        k = top_k if top_k is not None else "k"
        out.append(_html_table([t("criterion"), t("report_weight"), t("report_oat_changes"),
                                t("report_oat_overlap", k=k), t("report_oat_shift")],
                               body, lang))
        if not any_change:
            out.append(f"<p>{t('report_oat_none')}</p>")
    return out


def write_report(
    sites: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    stability=None,
    figures: Mapping[str, Figure | str | os.PathLike] | Callable[[], Mapping] | None = None,
    layers=None,
    spec=None,
    indicators: Sequence[str] | None = None,
    top_k: int = 10,
    stability_top_k: int | None = None,
    lang: str = "en",
    title: str | None = None,
    date=None,
    sources: Iterable | None = None,
    figure_dpi: int = 110,
    missing_inputs: pd.DataFrame | None = None,
    backtest: pd.DataFrame | None = None,
    demand: Mapping | None = None,
    completeness: Sequence[Mapping] | pd.DataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    allocation: Mapping | None = None,
    sensitivity: pd.DataFrame | None = None,
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
    figures : mapping of str to Figure, PNG bytes or path, or a callable giving one, optional
        Maps to show, by atlas page name (``"overview"``, ``"indicator_<column>"``,
        ``"isochrones"``: captioned with what they show, :func:`figure_caption`)
        or by caption. Every one is embedded (a ``data:`` URI; a Figure drawn at
        ``figure_dpi``, a PNG file read), scaled to at most
        :data:`EMBED_MAX_WIDTH_PX` wide as a 128-colour PNG: the report is one
        file without any external reference. A callable is called when the maps are
        embedded, last (a run draws them meanwhile).
    layers : LayerSet or mapping, optional
        Used for the study-area name and the default attribution.
    spec : CriteriaSpec, optional
        Adds the criteria table (column, direction, standardisation, weight) and
        the specification's name.
    indicators : sequence of str, optional
        Indicator columns shown per top site (default: the criteria columns of
        ``spec``, else :func:`productivecity.outputs.maps.indicator_columns`).
    top_k : int, default 10
        Number of top sites listed.
    stability_top_k : int, optional
        The shortlist size behind ``topk_share`` (default: that of ``stability``).
    lang : {"nl", "fr", "en"}, default "en"
    title : str, optional
    date : date or str, optional
        Data or run date (never the wall clock, so the report is reproducible).
    sources : iterable of Credit or str, optional
        Credits of the sources (:class:`~productivecity.sources.load_report.Credit`)
        or keys of :func:`productivecity.outputs.attribution.known_credits`;
        default those the readers of ``layers`` declared.
    figure_dpi : int, default 110
    missing_inputs : DataFrame, optional
        The inputs the run went without (index: input; ``status``, ``reason``),
        as :attr:`productivecity.workflow.run.RunResult.missing_inputs`: listed
        in a section of their own.
    backtest : DataFrame, optional
        The existing hubs' own sites, as
        :func:`productivecity.siting.backtest.backtest_hubs` (index or column
        ``hub_id``): a section with each hub's site, rank and percentile.
    demand : mapping, optional
        The demand counted (``definition``: whom, in words; ``total_n``: persons;
        ``jobseekers_n``: all job seekers), as the run's demand step gives it: a
        line near the summary (:func:`demand_section`).
    completeness : sequence of mappings or DataFrame, optional
        Building-footprint completeness per municipality, as the run's demand
        step gives it (rows with ``unit``, ``name``, ``mapped_n``,
        ``reference_n``, ``completeness``, ``footprint_share_pct``, ``status``,
        ``weights``): a table of its own (:func:`completeness_section`).
    places : GeoDataFrame, optional
        Candidate places (:func:`productivecity.siting.places.group_places`,
        with the stability of :func:`~productivecity.siting.places.place_stability`):
        the top table then lists the ``top_k`` best places (name, best cell,
        score, stability, cells, area and the best cell's breakdown and
        indicators) instead of the ``top_k`` best cells.
    coverage : DataFrame, optional
        Data coverage per unit, as
        :func:`productivecity.siting.coverage.data_coverage`: a section of its
        own (:func:`coverage_section`).
    allocation : mapping, optional
        The new hubs, as the run's allocation step gives them (``curve``,
        ``new_hubs``): a section of their own (:func:`allocation_section`).
    sensitivity : DataFrame, optional
        The one-at-a-time weight sensitivity (the run's table
        ``sensitivity_one_at_a_time``): with the Monte-Carlo stability of the top
        places, a section of its own (:func:`sensitivity_section`).
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
    status = site_statuses(table)
    excl = status.eq("excluded")  # failed a rule; "not assessable" sites lack data
    top = table[status.eq("eligible") & (pd.to_numeric(table["rank"], errors="coerce") <= top_k)]
    colours = criterion_colours(contrib)
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
    if getattr(spec, "profile", ""):  # the hub profile the shortlist is for
        sub.append(f"{t('hub_profile')}: {t('profile_' + spec.profile)}")  # t escapes
    if date is not None:
        sub.append(t("made_date", d=str(date)))
    if sub:
        out.append(f"<p class='sub'>{' · '.join(sub)}</p>")
    out += demand_section(demand, lang)

    # summary
    out.append(f"<h2>{t('summary')}</h2>")
    counts = status_counts(table)
    states = t("sites_states", n=_cell(len(table), lang), g=_cell(counts["eligible"], lang),
               e=_cell(counts["excluded"], lang), a=_cell(counts["not assessable"], lang))
    out.append(f"<p>{states}</p>")
    if excl.any() and "excluded_reason" in table.columns:
        out += exclusion_section(table.loc[excl, "excluded_reason"], lang)
    if missing_inputs is not None and len(missing_inputs):
        out.append(f"<h2>{t('missing_inputs')}</h2><p>{t('missing_inputs_note')}</p>")
        out.append(_html_table(
            [t("input"), t("status"), t("reason")],
            [[e(str(name)), e(str(row["status"])), e(str(row["reason"]))]
             for name, row in missing_inputs.iterrows()], lang))
    if spec is not None:
        out.append(f"<table><tr><th>{t('criterion')}</th><th>{t('report_column')}</th>"
                   f"<th>{t('report_direction')}</th><th>{t('report_standardisation')}</th>"
                   f"<th>{t('report_weight')}</th></tr>")
        for c in spec.criteria:
            out.append(f"<tr><td><span class='sw' style='background:"
                       f"{colours.get('contrib_' + c.name, '#222')}'></span>"
                       f"{e(_i18n.column_label('contrib_' + c.name, lang))}</td>"
                       f"<td>{e(c.column)}</td><td>{e(c.direction)}</td>"
                       f"<td>{e(c.standardisation)}</td>"
                       f"<td class='n'>{_cell(float(spec.weights[c.name]), lang, 'weight')}"
                       "</td></tr>")
        out.append("</table>")

    # top sites (or places): one table that fits the page, the indicators in a second one
    if places is not None:
        top_places = places.sort_values("rank", kind="stable").head(top_k)
        best_ids = top_places["best_site_id"].astype(str)
        by_id = pd.Series(table.index, index=table.index.astype(str))
        top = table.loc[by_id.reindex(best_ids).dropna().to_numpy()]
        pmax = pd.to_numeric(top["score"], errors="coerce").max() if len(top) else 1.0
        smax = float(pmax) if pd.notna(pmax) and pmax > 0 else 1.0
    out.append(f"<h2>{t('top_places' if places is not None else 'top_sites')}</h2>")
    if places is not None and "radius_m" in places.attrs:
        radius = _i18n.format_number(places.attrs["radius_m"], lang, "m")
        out.append(f"<p>{t('places_note', radius=radius)}</p>")
    if contrib:
        out.append("<p class='key'>" + "".join(
            f"<span class='ki'><span class='sw' style='background:{colours[c]}'></span>"
            f"{e(_i18n.column_label(c, lang))}</span> " for c in contrib) + "</p>")
    has_stab = ("topk_share" in table.columns if places is None
                else "topk_share" in places.columns)
    head = [t("rank"), t("site" if places is None else "place"), t("score_short")]
    if has_stab:
        head += [t("topk_share", k=k_mc if k_mc is not None else "k"), t("rank_interval")]
    if places is not None:
        head += [t("cells_n"), t("place_area_ha")]
    head += [t("breakdown")]
    out.append("<table class='top'><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    place_rows = (dict(zip(best_ids, top_places.to_dict("records"), strict=True))
                  if places is not None else {})
    mc_rows = []  # (rank, label, stability) of each top place, for the sensitivity section
    ind_cols = []  # (rank, short label, row) of each top place, for the indicator table
    for sid, row in top.iterrows():
        prow = place_rows.get(str(sid))
        name = row.get("place_name")
        named = pd.notna(name) and str(name) != str(sid)
        label = f"{e(str(name))}<br><small>{e(str(sid))}</small>" if named else e(str(sid))
        stab = prow if prow is not None else row  # a place's stability, else the cell's
        rank = prow["rank"] if prow is not None else row["rank"]
        cells = [f"<td class='n'><b>{_cell(rank, lang)}</b></td>", f"<td>{label}</td>",
                 f"<td class='n'>{_cell(row['score'], lang, 'score')}</td>"]
        if has_stab:
            share = stab.get("topk_share")
            pct = "–" if pd.isna(share) else _cell(float(share) * 100, lang, "n") + " %"
            cells.append(f"<td class='n'>{pct}</td>")
            span = _rank_span(stab.get("rank_p05"), stab.get("rank_p95"), lang)
            cells.append(f"<td class='n'>{span}</td>")
            mc_rows.append({"rank": rank, "label": label, "topk_share": share,
                            "rank_p05": stab.get("rank_p05"), "rank_p95": stab.get("rank_p95")})
        if prow is not None:
            cells += [f"<td class='n'>{_cell(int(prow['cells_n']), lang)}</td>",
                      f"<td class='n'>{_cell(prow['area_ha'], lang, 'ha')}</td>"]
        segs = []
        for c in contrib:
            v = float(row[c]) if pd.notna(row[c]) else 0.0
            w = max(v, 0.0) / smax * 100
            segs.append(f"<span style='width:{w:.2f}%;background:{colours[c]}' "
                        f"title='{e(_i18n.column_label(c, lang))}: "
                        f"{_cell(v, lang, 'score')}'></span>")
        cells.append(f"<td><div class='bar'>{''.join(segs)}</div></td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
        ind_cols.append((rank, e(str(name)) if named else e(str(sid)), row))
    out.append("</table>")

    # the indicators of the top places: one row per indicator, one column per place
    crit_of = ({c.column: "contrib_" + c.name for c in spec.criteria}
               if spec is not None else {})
    if ind_cols and (indicators or contrib):
        out.append(f"<h3>{t('report_indicators_top')}</h3>"
                   f"<p class='note'>{t('report_indicators_note')}</p>")
        out.append("<table class='ind'><tr><th>" + t("report_indicator") + "</th>" + "".join(
            f"<th title='{lab}'>{_cell(rk, lang)}</th>" for rk, lab, _ in ind_cols) + "</tr>")
        for col in indicators:
            ccol = crit_of.get(col)
            swatch = (f"<span class='sw' style='background:{colours[ccol]}'></span>"
                      if ccol in colours else "")
            tds = []
            for _, _, row in ind_cols:
                extra = (f"<small>{_cell(row.get(ccol), lang, 'score')}</small>"
                         if ccol in colours else "")
                tds.append(f"<td>{_cell(row.get(col), lang, col)}{extra}</td>")
            out.append(f"<tr><td>{swatch}{e(_i18n.column_label(col, lang))}</td>"
                       + "".join(tds) + "</tr>")
        out.append("</table>")

    out += allocation_section(allocation, table, lang)
    runs = getattr(stability, "runs", None)
    spread = getattr(stability, "spread", None)
    sens = getattr(spec, "sensitivity", None) if spec is not None else None
    if runs is None and sens is not None:
        runs, spread = getattr(sens, "runs", None), getattr(sens, "spread", None)
    out += sensitivity_section(sensitivity, table, pd.DataFrame(mc_rows) if mc_rows else None,
                               lang=lang, runs=runs, spread=spread, top_k=k_mc)

    out += coverage_section(coverage, lang)
    if backtest is not None and len(backtest):
        out += _backtest_section(backtest, t, ~status.eq("eligible"), lang)

    out += completeness_section(completeness, lang)

    # maps, embedded: the report is one file
    if callable(figures):  # asked for last: they may still be being drawn
        figures = figures()
    if figures:
        out.append(f"<h2>{t('maps')}</h2>")
        uris = _figure_data_uris(list(figures.values()), figure_dpi)
        for name, uri in zip(figures, uris, strict=True):
            caption = figure_caption(str(name), lang, sites_n=len(table), top_k=top_k,
                                     places=places)
            out.append(f"<figure><img src='{uri}' alt='{e(caption)}'>"
                       f"<figcaption>{e(caption)}</figcaption></figure>")

    keys = (layer_credits(layers) if layers is not None else []) if sources is None \
        else list(sources)
    made = t("made_on", d=str(date)) if date is not None else t("made_with")
    out.append(f"<footer>{t('sources')}: {e(dated_attribution(keys, lang)) if keys else '–'}"
               f"<br>{t('crs')}: {e(crs_label(sites.crs)) if sites.crs is not None else '–'}"
               f" · {made}</footer>")
    out.append("</body></html>\n")
    page = re.sub(r"(\d) %", "\\1\u00a0%", "\n".join(out))  # "12 %" never broken apart
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path

