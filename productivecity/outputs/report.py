"""The HTML report of a run: question, criteria, top sites, exclusions, figures."""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from productivecity import _i18n
from productivecity.crs import crs_label
from productivecity.io import atomic_path
from productivecity.outputs.attribution import attribution, layer_credits
from productivecity.outputs.export import ranked_sites
from productivecity.outputs.maps import (
    _PNG_METADATA,
    _layer,
    _rc,
    indicator_columns,
)
from productivecity.siting.scoring import site_statuses, status_counts

logger = logging.getLogger(__name__)


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


def _html_table(head: list[str], rows: list[list]) -> str:
    """Return an HTML table of (escaped) cells; numbers right-aligned (class ``n``)."""
    def cell(v) -> str:
        return f"<td class='n'>{v}</td>" if isinstance(v, int | float) else f"<td>{v}</td>"

    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows)
            + "</table>")


def exclusion_counts(reasons: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Count excluded sites by reason: each site once, under its first reason.

    Parameters
    ----------
    reasons : Series of str
        ``excluded_reason`` of the excluded sites (reasons joined by ``"; "``).

    Returns
    -------
    first : Series
        Sites per first reason (they add up to the excluded sites), largest first.
    also : Series
        Sites that have the reason besides their first one.

    The site's own value is left out of a reason so that sites group
    (``"area_ha 0.05 < min 0.1"`` → ``"area_ha < min 0.1"``); the limit stays.
    """
    split = reasons.fillna("").astype(str).str.split("; ")
    clean = split.map(lambda rs: [re.sub(r"^(\S+) [-\d.e+]+ ([<>]) ", r"\1 \2 ", r)
                                  for r in rs if r])
    first = clean.map(lambda rs: rs[0] if rs else "").loc[lambda s: s != ""]
    rest = clean.map(lambda rs: rs[1:]).explode().dropna()
    return (first.value_counts().sort_values(ascending=False, kind="stable"),
            rest.value_counts())


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
                        t("not_assessable"), t("coverage_missing")], rows)]
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
            status_cell += f" ({t('backtest_nearest', d=_cell(float(row['distance_m'])))})"
        pct = row.get("percentile_pct")
        rows.append(f"<tr><td>{e(str(row.get('name', hub_id)))}</td><td>{site_cell}</td>"
                    f"<td class='n'>{_cell(row.get('rank'))}</td>"
                    f"<td class='n'>{'–' if pd.isna(pct) else f'{float(pct):.0f}'}</td>"
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
        count = f" — {_i18n.text('demand_persons', lang, n=f'{float(total):,.0f}')}"
        if all_n and pd.notna(all_n) and float(all_n) > 0:
            count += " (" + _i18n.text("demand_share", lang,
                                       pct=f"{100 * float(total) / float(all_n):.1f}",
                                       n=f"{float(all_n):,.0f}") + ")"
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

    def num(v, fmt):
        return "–" if v is None or pd.isna(v) else format(float(v), fmt)

    body = [[e(str(r.get("name", r.get("unit", "")))), num(r.get("mapped_n"), ",.0f"),
             num(r.get("reference_n"), ",.0f"),
             num(None if r.get("completeness") is None else 100 * r["completeness"], ".0f"),
             num(r.get("footprint_share_pct"), ".1f"),
             t("completeness_" + str(r.get("status", "unchecked"))),
             e(str(r.get("weights") or "–"))] for r in rows]
    return [f"<h2>{t('completeness')}</h2><p>{t('completeness_note')}</p>",
            _html_table([t("unit_name"), t("completeness_mapped"), t("completeness_reference"),
                         t("completeness_pct"), t("completeness_footprint"), t("status"),
                         t("completeness_weights")], body)]


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
    sources: Iterable | None = None,
    figure_dpi: int = 110,
    missing_inputs: pd.DataFrame | None = None,
    backtest: pd.DataFrame | None = None,
    demand: Mapping | None = None,
    completeness: Sequence[Mapping] | pd.DataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    coverage: pd.DataFrame | None = None,
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
    figures : mapping of str to Figure, PNG bytes or path, optional
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
    out += demand_section(demand, lang)

    # summary
    out.append(f"<h2>{t('summary')}</h2>")
    counts = status_counts(table)
    states = t("sites_states", n=len(table), g=counts["eligible"], e=counts["excluded"],
               a=counts["not assessable"])
    out.append(f"<p>{states}</p>")
    if excl.any() and "excluded_reason" in table.columns:
        first, also = exclusion_counts(table.loc[excl, "excluded_reason"])
        if len(first):
            out.append(_html_table(
                [t("excluded_reason"), "n", t("excluded_also")],
                [[e(r), n, int(also.get(r, 0)) or ""] for r, n in first.items()]))
    if missing_inputs is not None and len(missing_inputs):
        out.append(f"<h2>{t('missing_inputs')}</h2><p>{t('missing_inputs_note')}</p>")
        out.append(_html_table(
            [t("input"), t("status"), t("reason")],
            [[e(str(name)), e(str(row["status"])), e(str(row["reason"]))]
             for name, row in missing_inputs.iterrows()]))
    if spec is not None:
        out.append(f"<table><tr><th>{t('criterion')}</th><th>column</th><th>direction</th>"
                   "<th>standardisation</th><th>weight</th></tr>")
        for c in spec.criteria:
            out.append(f"<tr><td><span style='color:{colours.get('contrib_' + c.name, '#222')}'>"
                       f"■</span> {e(c.name)}</td><td>{e(c.column)}</td><td>{e(c.direction)}</td>"
                       f"<td>{e(c.standardisation)}</td>"
                       f"<td class='n'>{float(spec.weights[c.name]):.3f}</td></tr>")
        out.append("</table>")

    # top sites (or places)
    if places is not None:
        top_places = places.sort_values("rank", kind="stable").head(top_k)
        best_ids = top_places["best_site_id"].astype(str)
        by_id = pd.Series(table.index, index=table.index.astype(str))
        top = table.loc[by_id.reindex(best_ids).dropna().to_numpy()]
        pmax = pd.to_numeric(top["score"], errors="coerce").max() if len(top) else 1.0
        smax = float(pmax) if pd.notna(pmax) and pmax > 0 else 1.0
    out.append(f"<h2>{t('top_places' if places is not None else 'top_sites')}</h2>")
    if places is not None and "radius_m" in places.attrs:
        radius = f"{float(places.attrs['radius_m']):g}"
        out.append(f"<p>{t('places_note', radius=radius)}</p>")
    if contrib:
        out.append("<p class='key'>" + "".join(
            f"<span style='background:{colours[c]}'></span>"
            f"{e(_i18n.column_label(c, lang))}" for c in contrib) + "</p>")
    has_stab = ("topk_share" in table.columns if places is None
                else "topk_share" in places.columns)
    head = [t("rank"), t("site" if places is None else "place"), t("score_short")]
    if has_stab:
        head += [t("topk_share", k=k_mc if k_mc is not None else "k"), t("rank_interval")]
    if places is not None:
        head += [t("cells_n"), t("place_area_ha")]
    head += [t("breakdown")] + [e(_i18n.column_label(c, lang)) for c in contrib]
    head += [e(_i18n.column_label(c, lang)) for c in indicators]
    out.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    place_rows = (dict(zip(best_ids, top_places.to_dict("records"), strict=True))
                  if places is not None else {})
    for sid, row in top.iterrows():
        prow = place_rows.get(str(sid))
        name = row.get("place_name")
        label = (f"{e(str(name))}<br><small>{e(str(sid))}</small>" if pd.notna(name)
                 and str(name) != str(sid) else e(str(sid)))
        stab = prow if prow is not None else row  # a place's stability, else the cell's
        rank = prow["rank"] if prow is not None else row["rank"]
        cells = [f"<td class='n'><b>{_cell(rank)}</b></td>", f"<td>{label}</td>",
                 f"<td class='n'>{_cell(row['score'])}</td>"]
        if has_stab:
            share = stab.get("topk_share")
            cells.append(f"<td class='n'>{'–' if pd.isna(share) else f'{share * 100:.0f} %'}"
                         "</td>")
            cells.append(f"<td class='n'>{_cell(stab.get('rank_p05'))}–"
                         f"{_cell(stab.get('rank_p95'))}</td>")
        if prow is not None:
            cells += [f"<td class='n'>{_cell(int(prow['cells_n']))}</td>",
                      f"<td class='n'>{_cell(prow['area_ha'])}</td>"]
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

    out += coverage_section(coverage, lang)
    if backtest is not None and len(backtest):
        out += _backtest_section(backtest, t, ~status.eq("eligible"), lang)

    out += completeness_section(completeness, lang)

    # maps
    if figures:
        out.append(f"<h2>{t('maps')}</h2>")
        for caption, fig in figures.items():
            if isinstance(fig, Figure | bytes):
                png = fig if isinstance(fig, bytes) else _figure_png(fig, figure_dpi)
                data = base64.b64encode(png).decode("ascii")
                src = f"data:image/png;base64,{data}"
            else:
                src = Path(os.path.relpath(Path(fig), path.parent)).as_posix()
            out.append(f"<figure><img src='{e(src)}' alt='{e(str(caption))}'>"
                       f"<figcaption>{e(str(caption))}</figcaption></figure>")

    keys = (layer_credits(layers) if layers is not None else []) if sources is None \
        else list(sources)
    out.append(f"<footer>{t('sources')}: {e(attribution(keys)) if keys else '–'}<br>"
               f"{t('crs')}: {e(crs_label(sites.crs)) if sites.crs is not None else '–'} · "
               f"{t('made_with')}</footer>")
    out.append("</body></html>\n")
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text("\n".join(out), encoding="utf-8")
    return path

