"""A live weights page: one offline HTML file where a workshop moves the weights.

:func:`write_weights_page` writes one self-contained HTML page (Leaflet inlined as
in :mod:`productivecity.outputs.webmap`, no server, no CDN) with a slider per
criterion, a switch per exclusion and, when the run has several hub profiles, a
choice of profile. Every change rescores the sites *in the page*: the map
colours, the ranked places and each place's contribution bars follow at once.

The page computes exactly what :func:`productivecity.siting.scoring.score_sites`
computes, from the indicator values of the run (embedded as JSON, so the
browser reads the same doubles): each site's state (a missing value makes it
"not assessable", a failed rule "excluded"), each criterion rounded to its
precision and standardised over the eligible sites (a constant one does not
discriminate and carries no weight), the weights normalised as a criteria file
would be, then WLC or OWA. Sums are taken in the order numpy takes them
(pairwise summation), so the scores are the same floating-point numbers as
Python's, and ties are broken by site id as in Python. (The order of a sum follows
the memory layout of numpy's arrays there: a WLC score adds its contributions in
criterion order, an OWA score pairwise; the tests pin both with more than eight
criteria, where the two orders differ.)

Places are regrouped with the greedy rule of
:func:`productivecity.siting.places.group_places`: the neighbour lists it
queries (centroids within the radius of each site, sites within ``link_m`` of
each other) do not depend on the scores, so they are computed here once with
the same shapely calls and embedded. For point sites the default ``link_m`` of
:func:`group_places` depends on which sites are eligible; the page keeps the
value of the run's own eligible sites.

"Save weights" downloads a criteria TOML file (the criteria with the page's
weights, the exclusions switched on, the method and sensitivity settings) that
:func:`productivecity.siting.criteria.load_criteria` and ``productivecity rank``
read, and that reproduces the page's ranking.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from productivecity import _i18n
from productivecity._errors import SchemaError
from productivecity._validate import require_columns
from productivecity.crs import crs_label, require_metric
from productivecity.outputs.attribution import dated_attribution, layer_credits
from productivecity.outputs.maps import STYLE, _layer
from productivecity.outputs.webmap import (
    RawHtml,
    _basemap_layers,
    _geo_features,
    _MetricScale,
    offline_map,
    save_web_map,
)
from productivecity.siting.criteria import CriteriaSpec
from productivecity.siting.scoring import _truthy, indicator_precision

logger = logging.getLogger(__name__)

#: Colour map of the scores (as the web map).
CMAP = "viridis"

#: Terms of the page, looked up in :mod:`productivecity._i18n` and passed to its script.
_TEXTS = ("wp_title", "wp_help", "wp_exclusions", "wp_places", "wp_reset", "wp_counts",
          "wp_flat", "wp_none_eligible", "wp_method_wlc", "wp_method_owa", "wp_saved_note",
          "explore_all_zero", "save_weights", "why_bars", "hub_profile", "weight",
          "score_short", "rank", "excluded", "not_assessable", "sites")


def _specs(spec) -> list[CriteriaSpec]:
    specs = [spec] if isinstance(spec, CriteriaSpec) else list(spec)
    bad = [s for s in specs if not isinstance(s, CriteriaSpec)]
    if not specs or bad:
        raise SchemaError(f"spec must be a CriteriaSpec or a non-empty list of them, got "
                          f"{bad[:1] or spec!r}")
    return specs


def _numbers(values: pd.Series, column: str) -> list:
    """Column values as JSON numbers (exact doubles), missing values as null."""
    x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    bad = np.isinf(x)
    if bad.any():
        raise SchemaError(f"column {column!r} of the sites has infinite values "
                          f"(e.g. at site {values.index[bad][0]!r}); expected finite numbers "
                          f"or missing values")
    return [None if np.isnan(v) else float(v) for v in x]


def _neighbours(sites: gpd.GeoDataFrame, radius_m: float, link_m: float | None) -> dict:
    """Return the neighbour lists :func:`group_places` queries, for every site.

    ``near``: for each site, the sites whose centroid lies within ``radius_m`` of
    its centroid (``dwithin``); those exactly ``radius_m`` away (which join a place
    but do not block a seed) are stored as ``-(j + 1)``. ``links``: the sites at
    most ``link_m`` away (geometries).
    """
    from productivecity.siting.places import _links, _point_link_m, scorable

    geoms = sites.geometry.to_numpy()
    n = len(geoms)
    cent = shapely.centroid(geoms)
    if link_m is None:
        types = shapely.get_type_id(geoms)
        points = n > 0 and bool(np.isin(types, [0, 4]).all())
        if points:  # as the run grouped its places: from its eligible sites
            ok = scorable(sites).to_numpy() if "score" in sites.columns else np.ones(n, bool)
            link_m = _point_link_m(cent[ok])
        else:
            link_m = 1.0
    tree = shapely.STRtree(cent)
    left, right = tree.query(cent, predicate="dwithin", distance=radius_m)
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    edge = shapely.distance(cent[left], cent[right]) >= radius_m
    near_off = np.searchsorted(left, np.arange(n + 1)).tolist()
    near_idx = np.where(edge, -(right + 1), right).tolist()
    links = _links(geoms, float(link_m)) if n else []
    link_off = np.concatenate([[0], np.cumsum([len(x) for x in links])]).astype(int).tolist()
    link_idx = np.concatenate(links).astype(int).tolist() if n else []
    return {"nearOff": near_off, "near": near_idx, "linkOff": link_off, "link": link_idx,
            "radius_m": float(radius_m), "link_m": float(link_m)}


def _profile_data(spec: CriteriaSpec, lang: str) -> dict:
    """One profile (criteria spec) as the page's script reads it."""
    crits = []
    for c in spec.criteria:
        p = indicator_precision(c.column, override=c.precision)
        crits.append({
            "name": c.name, "column": c.column, "direction": c.direction,
            "standardisation": c.standardisation,
            "breakpoints": list(c.breakpoints) if c.breakpoints is not None else None,
            "weight": float(spec.weights[c.name]), "description": c.description,
            # null: relative to the largest value of the eligible sites, as in Python
            "precision": None if np.isnan(p) else float(p),
            "precisionKey": c.precision, "optional": c.optional,
            "label": _i18n.column_label(c.column, lang),
        })
    cons = []
    for c in spec.constraints:
        label = _i18n.column_label(c.column, lang)
        if c.exclude_if_true:
            rule = label
        else:
            parts = []
            if c.min is not None:
                parts.append(f"≥ {c.min:g}")
            if c.max is not None:
                parts.append(f"≤ {c.max:g}")
            rule = f"{label} {' '.join(parts)}"
        cons.append({"column": c.column, "min": c.min, "max": c.max,
                     "flag": c.exclude_if_true, "description": c.description, "label": rule})
    label = (_i18n.text(f"profile_{spec.profile}", lang) if spec.profile
             else spec.name or spec.description or "criteria")
    s = spec.sensitivity
    return {"name": spec.name, "description": spec.description, "profile": spec.profile,
            "label": label, "method": spec.method,
            "owa": list(spec.owa_order_weights) if spec.owa_order_weights is not None else None,
            "sensitivity": {"runs": s.runs, "spread": s.spread, "seed": s.seed,
                            "top_k": s.top_k},
            "criteria": crits, "constraints": cons}


def weights_page_data(ranked: gpd.GeoDataFrame, spec, *, lang: str = "en",
                      radius_m: float = 500.0, link_m: float | None = None,
                      top_k: int = 10) -> dict:
    """Return what the weights page's script computes from (JSON-ready).

    Parameters
    ----------
    ranked : GeoDataFrame
        The sites (index = site id) with every column the criteria and
        constraints of ``spec`` name, in a metric CRS; ``place_name`` names them
        where present.
    spec : CriteriaSpec or sequence of CriteriaSpec
        The criteria scored (one per hub profile).
    lang : {"nl", "fr", "en"}
    radius_m, link_m : float
        As :func:`productivecity.siting.places.group_places`.
    top_k : int
        Places listed with their contribution bars.

    Returns
    -------
    dict
        ``ids``, ``names``, ``idRank`` (position of each id in string order, for
        ties), ``points`` (lat, lon of a point in each site), ``columns`` (raw
        values by column, null = missing), ``flags`` (true/false columns),
        ``profiles``, the neighbour lists (see :func:`_neighbours`), ``ramp``
        and ``texts``.

    Raises
    ------
    SchemaError
        A column is missing or infinite, a flag column not true/false.
    CRSError
        The sites are not in a metric CRS.
    """
    lang = _i18n.check_lang(lang)
    specs = _specs(spec)
    require_metric(ranked, what="the sites of the weights page")
    if ranked.index.has_duplicates:
        dup = ranked.index[ranked.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"sites of the weights page: site ids (index) must be unique; "
                          f"repeated: {dup}")
    for s in specs:
        require_columns(ranked, s.columns, what="sites of the weights page")
    ids = ranked.index.astype(str).to_numpy()
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    names = pd.Series(ids, index=ranked.index)
    if "place_name" in ranked.columns:
        names = ranked["place_name"].where(ranked["place_name"].notna(), names)
    columns: dict[str, list] = {}
    flags: dict[str, list] = {}
    for s in specs:
        for c in s.criteria:
            columns.setdefault(c.column, _numbers(ranked[c.column], c.column))
        for c in s.constraints:
            if c.exclude_if_true:
                if c.column not in flags:
                    truth = _truthy(ranked[c.column], column=c.column)
                    flags[c.column] = [None if pd.isna(v) else bool(v) for v in truth]
            else:
                columns.setdefault(c.column, _numbers(ranked[c.column], c.column))
    pts = ranked.geometry.representative_point().to_crs(4326)
    cm = mpl.colormaps[CMAP]
    return {
        "lang": lang,
        "ids": ids.tolist(), "names": [str(v) for v in names], "idRank": id_rank.tolist(),
        "points": [[round(p.y, 6), round(p.x, 6)] for p in pts],
        "columns": columns, "flags": flags,
        "profiles": [_profile_data(s, lang) for s in specs],
        **_neighbours(ranked, radius_m, link_m),
        "topK": int(top_k),
        "ramp": [mpl.colors.to_hex(cm(i)) for i in range(cm.N)],
        "style": {"excluded": STYLE["excluded_fill"], "noData": STYLE["no_data_fill"],
                  "noDataEdge": STYLE["no_data_edge"]},
        "texts": {k: _i18n.text(k, lang) for k in _TEXTS},
    }


_CSS = """
html, body {margin:0; padding:0; height:100%; font-family:'DejaVu Sans',Verdana,sans-serif;
  font-size:12px; color:#222;}
.folium-map {position:absolute !important; left:390px !important; right:0; top:0; bottom:0;
  width:auto !important; height:auto !important;}
.leaflet-container {background:#f7f6f2; font-family:inherit;}
#pc-side {position:absolute; left:0; top:0; bottom:0; width:390px; overflow-y:auto;
  box-sizing:border-box; padding:10px 12px; background:#fbfaf7; border-right:1px solid #ddd;}
#pc-side h1 {font-size:16px; margin:0 0 4px 0;} #pc-side h2 {font-size:13px; margin:10px 0 4px;}
#pc-side p {margin:3px 0; color:#555;}
.pc-crit {display:grid; grid-template-columns:1fr 44px; align-items:center; margin:2px 0;}
.pc-crit label {grid-column:1 / span 2; font-size:11px;}
.pc-crit input {width:100%; margin:0;}
.pc-pct {text-align:right; font-variant-numeric:tabular-nums;}
.pc-flat label {color:#999;}
.pc-excl-row {display:block; margin:2px 0; font-size:11px;}
.pc-msg {background:#fde8e4; color:#8a3b2e; border:1px solid #e3a497; padding:6px;
  border-radius:3px; margin:6px 0; font-weight:bold;}
.pc-note {background:#f1efe9; color:#555; padding:4px 6px; border-radius:3px; margin:4px 0;}
.pc-buttons {margin:8px 0; display:flex; gap:6px;}
.pc-buttons button {font:inherit; padding:4px 8px;}
#pc-places {list-style:none; padding:0; margin:0;}
#pc-places li {border-top:1px solid #e4e1da; padding:4px 0; cursor:pointer;}
#pc-places .pc-head {display:flex; justify-content:space-between; font-weight:bold;}
.pc-why {display:grid; grid-template-columns:140px 1fr 38px; gap:1px 4px; margin-top:2px;
  font-size:10px; color:#444;}
.pc-why .pc-bar {height:8px; background:#3b8bc2; align-self:center;}
.pc-why .pc-n {text-align:right;}
.pc-stale {opacity:0.35;}
.pc-legend {position:absolute; z-index:1000; bottom:24px; right:10px;
  background:rgba(255,255,255,.93); padding:6px 10px;
  border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.25);}
.pc-legend .pc-ramp {height:10px; width:200px; border:1px solid #888;}
.pc-legend .pc-ends {display:flex; justify-content:space-between; width:202px;}
.pc-legend .pc-row {display:flex; align-items:center; margin:3px 0;}
.pc-legend .pc-sw {display:inline-block; width:18px; height:12px; margin-right:6px;}
.pc-rank {background:#fff; border:2px solid #1f1f1f; border-radius:50%; text-align:center;
  font-weight:bold; font-size:12px; line-height:18px; width:18px; height:18px; color:#222;}
.pc-attr {position:absolute; z-index:1000; bottom:2px; left:510px; font-size:10px;
  background:rgba(255,255,255,.85); padding:1px 4px; max-width:70%;}
"""

# The page's script. It reads the JSON of weights_page_data and mirrors
# productivecity.siting.scoring.score_sites and productivecity.siting.places.group_places.
_JS = r"""
(function () {
"use strict";
var D = JSON.parse(document.getElementById("pc-data").textContent);
var T = D.texts, N = D.ids.length, map = {{ this._parent.get_name() }};
var fmt3 = new Intl.NumberFormat(D.lang, {minimumFractionDigits: 3, maximumFractionDigits: 3});
var fmtPct = new Intl.NumberFormat(D.lang, {maximumFractionDigits: 0});

/* numpy's add.reduce of float64: 0 + pairwise sum (blocks of 8 below 129 values) */
function pw(a, off, n) {
  var i, res;
  if (n < 8) { res = 0; for (i = 0; i < n; i++) { res += a[off + i]; } return res; }
  if (n <= 128) {
    var r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3],
        r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
    for (i = 8; i < n - (n % 8); i += 8) {
      r0 += a[off + i]; r1 += a[off + i + 1]; r2 += a[off + i + 2]; r3 += a[off + i + 3];
      r4 += a[off + i + 4]; r5 += a[off + i + 5]; r6 += a[off + i + 6]; r7 += a[off + i + 7];
    }
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) { res += a[off + i]; }
    return res;
  }
  var n2 = Math.floor(n / 2); n2 -= n2 % 8;
  return pw(a, off, n2) + pw(a, off + n2, n - n2);
}
function sum(a) { return 0 + pw(a, 0, a.length); }
/* numpy's round: half to even */
function rint(v) {
  var r = Math.round(v);
  if (Math.abs(r - v) === 0.5) { r = 2 * Math.round(v / 2); }
  return r;
}
function suffixPrecision(vals) {  /* RELATIVE_PRECISION of the largest absolute value */
  var top = 0, i;
  for (i = 0; i < vals.length; i++) { if (Math.abs(vals[i]) > top) { top = Math.abs(vals[i]); } }
  return top > 0 ? 1e-6 * top : 1.0;
}
function ramp(x, a, b) {
  if (b === a) { return x >= a ? 1 : 0; }
  var v = (x - a) / (b - a);
  return v < 0 ? 0 : (v > 1 ? 1 : v);
}
/* one criterion over the eligible sites: [standardised values, discriminating] */
function standardise(c, raw) {
  var n = raw.length, x = new Float64Array(n), s = new Float64Array(n), i;
  var p = c.precision === null ? suffixPrecision(raw) : c.precision;
  var lo = Infinity, hi = -Infinity;
  for (i = 0; i < n; i++) {
    x[i] = rint(raw[i] / p) * p;
    if (x[i] < lo) { lo = x[i]; } if (x[i] > hi) { hi = x[i]; }
  }
  if (n > 0 && lo === hi) { return [s, false]; }
  var cost = c.direction === "cost";
  if (c.standardisation === "minmax") {
    for (i = 0; i < n; i++) { s[i] = (x[i] - lo) / (hi - lo); }
  } else if (c.standardisation === "rank") {
    var idx = Array.from(x.keys()).sort(function (a, b) { return x[a] - x[b] || a - b; });
    var k = 0;
    while (k < n) {
      var e = k, tot = 0;
      while (e < n && x[idx[e]] === x[idx[k]]) { tot += e + 1; e++; }
      var avg = tot / (e - k);
      for (var q = k; q < e; q++) { s[idx[q]] = (avg - 1) / (n - 1); }
      k = e;
    }
  } else if (c.standardisation === "zscore") {
    var mean = sum(x) / n, sq = new Float64Array(n);
    for (i = 0; i < n; i++) { sq[i] = (mean - x[i]) * (mean - x[i]); }
    var sd = Math.sqrt(sum(sq) / n);
    for (i = 0; i < n; i++) { s[i] = (x[i] - mean) / sd; if (cost) { s[i] = -s[i]; } }
    return [s, true];
  } else {
    var bp = c.breakpoints;
    for (i = 0; i < n; i++) {
      s[i] = bp.length === 2 ? ramp(x[i], bp[0], bp[1])
        : Math.min(ramp(x[i], bp[0], bp[1]), 1 - ramp(x[i], bp[2], bp[3]));
    }
  }
  if (cost) { for (i = 0; i < n; i++) { s[i] = 1 - s[i]; } }
  return [s, true];
}

/* ---- state per profile */
var P = D.profiles.map(function (pr, k) {
  return {pr: pr, k: k, w: pr.criteria.map(function (c) { return c.weight; }),
          on: pr.constraints.map(function () { return true; }), cache: null};
});
var cur = P[0];

/* which sites are eligible under the switched-on rules; the criteria standardised */
function prepare(st) {
  var pr = st.pr, status = new Uint8Array(N), elig = [], i, j; /* 0 eligible 1 excl 2 n/a */
  var cols = pr.criteria.map(function (c) { return D.columns[c.column]; });
  var cons = pr.constraints.filter(function (c, k) { return st.on[k]; });
  for (i = 0; i < N; i++) {
    var missing = false, fails = false;
    for (j = 0; j < cons.length; j++) {
      var c = cons[j], v = c.flag ? D.flags[c.column][i] : D.columns[c.column][i];
      if (v === null) { missing = true; continue; }
      if (c.flag ? v : ((c.min !== null && v < c.min) || (c.max !== null && v > c.max))) {
        fails = true;
      }
    }
    for (j = 0; j < cols.length; j++) { if (cols[j][i] === null) { missing = true; } }
    status[i] = missing ? 2 : (fails ? 1 : 0);
    if (!missing && !fails) { elig.push(i); }
  }
  var m = cols.length, ne = elig.length, std = new Float64Array(ne * m), disc = [];
  for (j = 0; j < m; j++) {
    var raw = new Float64Array(ne);
    for (i = 0; i < ne; i++) { raw[i] = cols[j][elig[i]]; }
    var r = standardise(pr.criteria[j], raw);
    disc.push(r[1]);
    for (i = 0; i < ne; i++) { std[i * m + j] = r[0][i]; }
  }
  st.cache = {status: status, elig: elig, std: std, disc: disc, m: m};
}

/* the weights as score_sites uses them, from the sliders; null if all are 0 */
function specWeights(st) {
  var w = Float64Array.from(st.w), tot = sum(w), i;
  if (!(tot > 0)) { return null; }
  if (Math.abs(tot - 1) > 1e-6) { for (i = 0; i < w.length; i++) { w[i] = w[i] / tot; } }
  return w;
}

function score(st) {
  var c = st.cache, m = c.m, ne = c.elig.length, pr = st.pr, i, j;
  var w1 = specWeights(st);
  if (w1 === null) { return null; }
  var w = new Float64Array(m);
  for (j = 0; j < m; j++) { w[j] = c.disc[j] ? w1[j] : 0; }
  var tot = sum(w), contrib = new Float64Array(ne * m), sc = new Float64Array(ne);
  if (tot > 0) {
    for (j = 0; j < m; j++) { w[j] = w[j] / tot; }
    if (pr.method === "wlc") {
      /* Python sums a site's contributions in criterion order (its standardised
         values are a column-major frame); OWA's terms are row-major: pairwise */
      for (i = 0; i < ne; i++) {
        var acc = 0;
        for (j = 0; j < m; j++) {
          contrib[i * m + j] = c.std[i * m + j] * w[j];
          acc += contrib[i * m + j];
        }
        sc[i] = acc;
      }
    } else {
      var ord = [], uv = new Float64Array(m), row = new Float64Array(m);
      for (j = 0; j < m; j++) { ord.push(j); }
      for (i = 0; i < ne; i++) {
        for (j = 0; j < m; j++) { row[j] = c.std[i * m + j]; }
        var o = ord.slice().sort(function (a, b) { return row[b] - row[a] || a - b; });
        for (var pos = 0; pos < m; pos++) { uv[o[pos]] = w[o[pos]] * pr.owa[pos]; }
        var den = pw(uv, 0, m);
        for (j = 0; j < m; j++) { contrib[i * m + j] = den <= 0 ? 0 : uv[j] * row[j] / den; }
        sc[i] = pw(contrib, i * m, m);
      }
    }
  } else { for (j = 0; j < m; j++) { w[j] = 0; } }
  return {score: sc, contrib: contrib, w: w, flat: tot > 0 ? null : true};
}

/* group_places: greedy in score order (ties by site id), radius and links */
var member = new Int32Array(N), blocked = new Uint8Array(N), cand = new Uint8Array(N);
function places(st, res) {
  var c = st.cache, ne = c.elig.length, site = new Float64Array(N).fill(NaN), i, k;
  for (i = 0; i < ne; i++) { site[c.elig[i]] = res.score[i]; }
  var order = c.elig.slice().sort(function (a, b) {
    return site[b] - site[a] || D.idRank[a] - D.idRank[b];
  });
  member.fill(-1); blocked.fill(0);
  var seeds = [], sizes = [], queue = [];
  for (var t = 0; t < order.length; t++) {
    var s = order[t];
    if (member[s] >= 0 || blocked[s]) { continue; }
    var p = seeds.length, n0 = D.nearOff[s], n1 = D.nearOff[s + 1];
    seeds.push(s);
    for (k = n0; k < n1; k++) {
      var j = D.near[k], edge = j < 0;
      if (edge) { j = -j - 1; }
      if (isNaN(site[j])) { continue; }
      cand[j] = member[j] < 0 && site[j] <= site[s] ? 1 : 0;
      if (!edge) { blocked[j] = 1; }
    }
    member[s] = p; queue.length = 0; queue.push(s);
    var size = 1;
    for (var q = 0; q < queue.length; q++) {
      var a = queue[q];
      for (k = D.linkOff[a]; k < D.linkOff[a + 1]; k++) {
        var b = D.link[k];
        if (cand[b] && member[b] < 0) { member[b] = p; queue.push(b); size++; }
      }
    }
    for (k = n0; k < n1; k++) { var jj = D.near[k]; cand[jj < 0 ? -jj - 1 : jj] = 0; }
    sizes.push(size);
  }
  return {seeds: seeds, sizes: sizes, site: site};
}

/* ---- map: the sites on a canvas above the base map, the canal and hubs above them */
var sitePane = map.createPane("pcSites"); sitePane.style.zIndex = 450;
map.createPane("pcTop").style.zIndex = 460;
var renderer = L.canvas({padding: 0.1, pane: "pcSites"});
/* one path per style (a few hundred fills instead of one per site: the redraw of a
   whole-region grid stays well within a frame); the sites do not overlap */
renderer._draw = function () {
  var bounds = this._redrawBounds, ctx = this._ctx, groups = {}, keys = [], key, layer;
  ctx.save();
  if (bounds) {
    var size = bounds.getSize();
    ctx.beginPath(); ctx.rect(bounds.min.x, bounds.min.y, size.x, size.y); ctx.clip();
  }
  for (var order = this._drawFirst; order; order = order.next) {
    layer = order.layer;
    var away = bounds && !(layer._pxBounds && layer._pxBounds.intersects(bounds));
    if (!layer._parts.length || away) { continue; }
    var o = layer.options;
    key = o.fillColor + "|" + o.fillOpacity + "|" + o.stroke + "|" + o.color + "|" + o.dashArray;
    if (!groups[key]) { groups[key] = []; keys.push(key); }
    groups[key].push(layer);
  }
  for (var g = 0; g < keys.length; g++) {
    var members = groups[keys[g]];
    ctx.beginPath();
    for (var m = 0; m < members.length; m++) {
      var parts = members[m]._parts;
      for (var i = 0; i < parts.length; i++) {
        for (var j = 0; j < parts[i].length; j++) {
          ctx[j ? "lineTo" : "moveTo"](parts[i][j].x, parts[i][j].y);
        }
        ctx.closePath();
      }
    }
    this._fillStroke(ctx, members[0]);
  }
  ctx.restore();
};
[{% for layer in this.top %}{{ layer.get_name() }},{% endfor %}].forEach(function (g) {
  g.remove(); g.eachLayer(function (l) { l.options.pane = "pcTop"; }); g.addTo(map);
});
var geo = JSON.parse(document.getElementById("pc-geo").textContent);
var layers = new Array(N), fills = new Array(N).fill(null);
L.geoJSON(geo, {renderer: renderer, pane: "pcSites", style: function () {
  return {color: "#ffffff", weight: 0.5, fillColor: D.style.noData, fillOpacity: 0.85};
}, onEachFeature: function (f, l) {
  layers[f.properties.i] = l;
  l.bindTooltip(function () { return tip(f.properties.i); }, {sticky: true});
}}).addTo(map);
var markers = L.layerGroup().addTo(map);
var last = null;
function tip(i) {
  var st = cur.cache.status[i], name = D.names[i];
  if (st === 1) { return esc(name) + " · " + esc(T.excluded); }
  if (st === 2) { return esc(name) + " · " + esc(T.not_assessable); }
  if (!last) { return esc(name); }
  return esc(name) + " · " + esc(T.score_short) + " " + fmt3.format(last.pl.site[i]);
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (ch) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[ch];
  });
}
function paint(st, res, pl) {
  var lo = Infinity, hi = -Infinity, i, ne = st.cache.elig.length;
  for (i = 0; i < ne; i++) { var v = res.score[i]; if (v < lo) { lo = v; } if (v > hi) { hi = v; } }
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  for (i = 0; i < N; i++) {
    var s = st.cache.status[i], f;
    if (s === 1) { f = D.style.excluded; } else if (s === 2) { f = "na"; }
    else {
      var x = Math.floor((pl.site[i] - lo) / (hi - lo) * D.ramp.length);
      f = D.ramp[Math.min(D.ramp.length - 1, x)];
    }
    if (f !== fills[i] && layers[i]) {
      fills[i] = f;
      layers[i].setStyle(f === "na"
        ? {fillColor: D.style.noData, fillOpacity: 0.4, color: D.style.noDataEdge,
           dashArray: "2 4", stroke: true}
        : {fillColor: f, fillOpacity: s === 1 ? 0.8 : 0.85, stroke: s === 1,
           color: "#9c958a", dashArray: null});
    }
  }
  document.getElementById("pc-lo").textContent = fmt3.format(lo);
  document.getElementById("pc-hi").textContent = fmt3.format(hi);
  markers.clearLayers();
  for (var p = 0; p < Math.min(D.topK, pl.seeds.length); p++) {
    var b = pl.seeds[p];
    L.marker(D.points[b], {icon: L.divIcon({html: "<div class='pc-rank'>" + (p + 1) + "</div>",
      className: "pc-rank-icon", iconSize: [22, 22], iconAnchor: [11, 11]}),
      title: (p + 1) + " · " + D.names[b]}).addTo(markers);
  }
}

/* ---- side panel */
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs) { e.setAttribute(k, attrs[k]); }
  if (text !== undefined) { e.textContent = text; }
  return e;
}
var side = document.getElementById("pc-side"), boxes = [];
function pctText(st, j) {
  var tot = sum(Float64Array.from(st.w));
  return tot > 0 ? fmtPct.format(100 * st.w[j] / tot) + " %" : "–";
}
P.forEach(function (st) {
  var box = el("div", {"class": "pc-profile", "data-profile": String(st.k)});
  box.appendChild(el("p", {"class": "pc-method"},
                     st.pr.method === "owa" ? T.wp_method_owa : T.wp_method_wlc));
  box.appendChild(el("h2", {}, T.weight));
  st.pr.criteria.forEach(function (c, j) {
    var row = el("div", {"class": "pc-crit", "data-criterion": c.name});
    var id = "pc-w-" + st.k + "-" + j;
    row.appendChild(el("label", {"for": id, "title": c.description}, c.label));
    var inp = el("input", {type: "range", min: "0", max: "1", step: "any", id: id,
                           "data-criterion": c.name, "class": "pc-slider"});
    inp.value = String(c.weight);
    inp.addEventListener("input", function () {
      st.w[j] = Number(inp.value); update(false);
    });
    row.appendChild(inp);
    row.appendChild(el("span", {"class": "pc-pct"}));
    box.appendChild(row);
  });
  if (st.pr.constraints.length) {
    box.appendChild(el("h2", {}, T.wp_exclusions));
    st.pr.constraints.forEach(function (c, k) {
      var lab = el("label", {"class": "pc-excl-row", title: c.description});
      var cb = el("input", {type: "checkbox", "class": "pc-exclusion", "data-column": c.column});
      cb.checked = true;
      cb.addEventListener("change", function () {
        st.on[k] = cb.checked; st.cache = null; update(true);
      });
      lab.appendChild(cb);
      var why = c.description ? " (" + c.description + ")" : "";
      lab.appendChild(document.createTextNode(" " + c.label + why));
      box.appendChild(lab);
    });
  }
  boxes.push(box);
});
var select = null;
if (P.length > 1) {
  side.appendChild(el("h2", {}, T.hub_profile));
  select = el("select", {id: "pc-profile"});
  P.forEach(function (st) {
    select.appendChild(el("option", {value: String(st.k)}, st.pr.label));
  });
  select.addEventListener("change", function () { cur = P[Number(select.value)]; update(true); });
  side.appendChild(select);
}
boxes.forEach(function (b) { side.appendChild(b); });
var buttons = el("div", {"class": "pc-buttons"});
var save = el("button", {id: "pc-save", type: "button"}, T.save_weights);
var reset = el("button", {id: "pc-reset", type: "button"}, T.wp_reset);
buttons.appendChild(save); buttons.appendChild(reset); side.appendChild(buttons);
side.appendChild(el("p", {"class": "pc-note"}, T.wp_saved_note));
var msg = el("div", {id: "pc-message", role: "alert", "class": "pc-msg"}); side.appendChild(msg);
var counts = el("p", {id: "pc-counts"}); side.appendChild(counts);
var flatNote = el("p", {id: "pc-flat", "class": "pc-note"}); side.appendChild(flatNote);
side.appendChild(el("h2", {}, T.wp_places));
var list = el("ol", {id: "pc-places"}); side.appendChild(list);

function showMessage(text) { msg.textContent = text; msg.style.display = text ? "" : "none"; }

function listPlaces(st, res, pl) {
  var frag = document.createDocumentFragment(), c = st.cache, m = c.m, i;
  var pos = new Int32Array(N).fill(-1);
  for (i = 0; i < c.elig.length; i++) { pos[c.elig[i]] = i; }
  for (var p = 0; p < Math.min(D.topK, pl.seeds.length); p++) {
    var s = pl.seeds[p], sc = pl.site[s];
    var li = el("li", {"data-rank": String(p + 1), "data-site": D.ids[s], "data-score": String(sc),
                        "data-cells": String(pl.sizes[p])});
    var head = el("div", {"class": "pc-head"});
    head.appendChild(el("span", {"class": "pc-name"}, (p + 1) + ". " + D.names[s]));
    head.appendChild(el("span", {}, fmt3.format(sc)));
    li.appendChild(head);
    var why = el("div", {"class": "pc-why", title: T.why_bars}), parts = [];
    for (var j = 0; j < m; j++) { parts.push([j, res.contrib[pos[s] * m + j]]); }
    parts.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    parts.forEach(function (q) {
      if (!(q[1] > 0)) { return; }
      why.appendChild(el("span", {}, st.pr.criteria[q[0]].label));
      var bar = el("span", {"class": "pc-bar", "data-criterion": st.pr.criteria[q[0]].name});
      bar.style.width = (sc > 0 ? 100 * q[1] / sc : 0).toFixed(1) + "%";
      why.appendChild(bar);
      why.appendChild(el("span", {"class": "pc-n"},
                         sc > 0 ? fmtPct.format(100 * q[1] / sc) + " %" : "–"));
    });
    li.appendChild(why);
    li.addEventListener("click", function () {
      map.setView(D.points[s], Math.max(map.getZoom(), 15));
    });
    frag.appendChild(li);
  }
  list.replaceChildren(frag);
}

function update(rules) {
  boxes.forEach(function (b, k) { b.style.display = k === cur.k ? "" : "none"; });
  var rows = boxes[cur.k].querySelectorAll(".pc-crit");
  for (var j = 0; j < rows.length; j++) {
    rows[j].querySelector(".pc-pct").textContent = pctText(cur, j);
  }
  if (cur.cache === null) { prepare(cur); }
  var c = cur.cache, n = [0, 0, 0];
  for (var i = 0; i < N; i++) { n[c.status[i]]++; }
  counts.textContent = T.wp_counts.replace("{e}", n[0]).replace("{x}", n[1]).replace("{a}", n[2]);
  var flat = cur.pr.criteria.filter(function (q, k) { return !c.disc[k]; })
    .map(function (q) { return q.label; });
  flatNote.textContent = flat.length ? T.wp_flat.replace("{names}", flat.join(", ")) : "";
  flatNote.style.display = flat.length ? "" : "none";
  for (j = 0; j < rows.length; j++) { rows[j].classList.toggle("pc-flat", !c.disc[j]); }
  var problem = c.elig.length === 0 ? T.wp_none_eligible : null;
  var res = problem ? null : score(cur);
  if (!problem && res === null) { problem = T.explore_all_zero; }
  showMessage(problem || "");
  save.disabled = !!problem;
  list.classList.toggle("pc-stale", !!problem);
  if (problem) { last = null; return; }
  var pl = places(cur, res);
  last = {res: res, pl: pl};
  paint(cur, res, pl);
  listPlaces(cur, res, pl);
}

/* ---- the criteria file */
function num(x) { return String(x); }
function q(s) { return JSON.stringify(String(s)); }
function criteriaToml() {
  var st = cur, pr = st.pr, w = specWeights(st), L2 = [];
  if (w === null) { return null; }
  L2.push("# Criteria saved from the live weights page of productivecity.");
  L2.push("name = " + q(pr.name));
  L2.push("description = " + q(pr.description));
  L2.push("method = " + q(pr.method));
  if (pr.profile) { L2.push("profile = " + q(pr.profile)); }
  if (pr.owa) { L2.push("owa_order_weights = [" + pr.owa.map(num).join(", ") + "]"); }
  pr.criteria.forEach(function (c, j) {
    L2.push("", "[[criterion]]", "name = " + q(c.name), "column = " + q(c.column),
            "direction = " + q(c.direction), "standardisation = " + q(c.standardisation));
    if (c.breakpoints) { L2.push("breakpoints = [" + c.breakpoints.map(num).join(", ") + "]"); }
    L2.push("weight = " + num(w[j]));
    if (c.description) { L2.push("description = " + q(c.description)); }
    if (c.precisionKey !== null) { L2.push("precision = " + num(c.precisionKey)); }
    if (c.optional) { L2.push("optional = true"); }
  });
  pr.constraints.forEach(function (c, k) {
    if (!st.on[k]) { return; }
    L2.push("", "[[constraint]]", "column = " + q(c.column));
    if (c.flag) { L2.push("exclude_if_true = true"); }
    if (c.min !== null) { L2.push("min = " + num(c.min)); }
    if (c.max !== null) { L2.push("max = " + num(c.max)); }
    if (c.description) { L2.push("description = " + q(c.description)); }
  });
  var s = pr.sensitivity;
  L2.push("", "[sensitivity]", "runs = " + s.runs, "spread = " + num(s.spread),
          "seed = " + s.seed, "top_k = " + s.top_k, "");
  return L2.join("\n");
}
save.addEventListener("click", function () {
  var text = criteriaToml();
  if (text === null) { return; }
  var a = el("a", {href: "data:application/toml;charset=utf-8," + encodeURIComponent(text),
                   download: (cur.pr.name || "criteria") + "-weights.toml"});
  document.body.appendChild(a); a.click(); a.remove();
});
reset.addEventListener("click", function () {
  cur.w = cur.pr.criteria.map(function (c) { return c.weight; });
  boxes[cur.k].querySelectorAll(".pc-slider").forEach(function (inp, j) {
    inp.value = String(cur.w[j]);
  });
  update(false);
});

window.pcWeights = {
  update: update, criteriaToml: criteriaToml, renderer: renderer,
  /* the last ranking: eligible site ids best first with their scores, and the places */
  ranking: function () {
    if (!last) { return null; }
    var c = cur.cache, order = c.elig.slice().sort(function (a, b) {
      return last.pl.site[b] - last.pl.site[a] || D.idRank[a] - D.idRank[b];
    });
    return {sites: order.map(function (i) { return [D.ids[i], last.pl.site[i]]; }),
            places: last.pl.seeds.map(function (s, p) {
              return [D.ids[s], last.pl.site[s], last.pl.sizes[p]];
            })};
  }
};
update(true);
})();
"""


class _WeightsScript(MacroElement):
    """The page's script, after the map and its layers (it needs the map's name)."""

    _template = Template("{% macro script(this, kwargs) %}" + _JS + "{% endmacro %}")

    def __init__(self, top: list):
        super().__init__()
        self.top = top


def _json_script(element_id: str, data) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("</", "<\\/")  # no "</script>" inside
    return f"<script type='application/json' id='{element_id}'>{text}</script>"


def weights_page(
    ranked: gpd.GeoDataFrame,
    layers,
    *,
    spec,
    lang: str = "en",
    title: str | None = None,
    top_k: int = 10,
    radius_m: float = 500.0,
    link_m: float | None = None,
    basemap=None,
    date=None,
    sources: Iterable | None = None,
) -> folium.Map:
    """Build the live weights page (a folium map with its panel and script).

    Parameters
    ----------
    ranked : GeoDataFrame
        The sites (index = site id) with the columns of every criterion and
        constraint of ``spec``, in a metric CRS (e.g. a run's ranked sites);
        ``place_name`` names them in the list of places.
    layers : LayerSet or mapping of str to GeoDataFrame
        Context layers: study area, canal and hubs are drawn when present.
    spec : CriteriaSpec or sequence of CriteriaSpec
        The criteria (one per hub profile of the run; the first is shown first).
    lang : {"nl", "fr", "en"}, default "en"
    title : str, optional
        Title of the panel (default "Live weights" in ``lang``).
    top_k : int, default 10
        Places listed with their contribution bars and marked on the map.
    radius_m, link_m : float
        As :func:`productivecity.siting.places.group_places` (the run's
        ``[outputs] place_radius_m``).
    basemap : BaseMap, optional
        Streets, rail, water and green space under the sites (as the web map).
    date : date or str, optional
        Shown under the title.
    sources : iterable of Credit or str, optional
        Credits for the attribution line (default those of ``layers``).

    Returns
    -------
    folium.Map
        Save it with :func:`productivecity.outputs.webmap.save_web_map`.
    """
    lang = _i18n.check_lang(lang)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise SchemaError(f"top_k must be an integer >= 1, got {top_k!r}")
    data = weights_page_data(ranked, spec, lang=lang, radius_m=radius_m, link_m=link_m,
                             top_k=top_k)
    t = functools.partial(_i18n.text, lang=lang)
    area = _layer(layers, "study_area")
    m, (xmin, ymin, xmax, ymax) = offline_map(area if area is not None else ranked, _CSS)
    root = m.get_root()
    if basemap is not None and not basemap.empty:
        _basemap_layers(m, basemap, lang)
    if area is not None:
        folium.GeoJson(_geo_features(area, [{"style": {"color": STYLE["area_edge"], "weight": 2,
                                                       "fill": False}}] * len(area)),
                       name=t("study_area")).add_to(m)
    top = []  # drawn above the sites
    canal = _layer(layers, "canal")
    if canal is not None:
        polys = canal.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        props = [{"style": {"color": STYLE["water_edge"], "weight": 1,
                            "fillColor": STYLE["water_fill"], "fillOpacity": 0.9}} if p else
                 {"style": {"color": STYLE["canal_line"], "weight": 4, "opacity": 0.95}}
                 for p in polys]
        top.append(folium.GeoJson(_geo_features(canal, props), name=t("canal")).add_to(m))
    hubs = _layer(layers, "hubs")
    if hubs is not None:
        props = [{"tooltip": html.escape(str(n)),
                  "style": {"color": "#ffffff", "weight": 2, "fill": True,
                            "fillColor": STYLE["hub"], "fillOpacity": 1}}
                 for n in hubs.get("name", pd.Series(hubs.index.astype(str), index=hubs.index))]
        top.append(folium.GeoJson(
            _geo_features(hubs.set_geometry(hubs.geometry.representative_point()), props),
            name=t("hubs"), marker=folium.CircleMarker(radius=7),
            on_each_feature=folium.JsCode(
                "function(f, l) { l.bindTooltip(f.properties.tooltip); }"),
        ).add_to(m))
    folium.LayerControl(collapsed=True).add_to(m)
    _MetricScale().add_to(m)
    m.fit_bounds([[ymin, xmin], [ymax, xmax]])

    geo = _geo_features(ranked, [{"i": i} for i in range(len(ranked))])
    keys = layer_credits(layers) if sources is None else list(sources)
    sub = html.escape(t("made_date", d=str(date))) if date is not None else ""
    ramp = ", ".join(data["ramp"][int(i)] for i in np.linspace(0, len(data["ramp"]) - 1, 11))
    attr = html.escape(f"{t('sources')}: {dated_attribution(keys, lang) if keys else '–'} · "
                       f"{t('crs')}: {crs_label(ranked.crs)} → WGS 84")
    panel = (
        f"<div id='pc-side' lang='{lang}'><h1>{html.escape(title or t('wp_title'))}</h1>"
        + (f"<p>{sub}</p>" if sub else "")
        + f"<p>{html.escape(t('wp_help'))}</p></div>"
        f"<div class='pc-legend'><b>{html.escape(t('score_short'))}</b>"
        f"<div class='pc-ramp' style='background:linear-gradient(to right, {ramp})'></div>"
        f"<div class='pc-ends'><span id='pc-lo'></span><span id='pc-hi'></span></div>"
        f"<div class='pc-row'><span class='pc-sw' style='background:{STYLE['excluded_fill']};"
        f"border:1px solid #9c958a'></span>{html.escape(t('excluded'))}</div>"
        f"<div class='pc-row'><span class='pc-sw' style='background:{STYLE['no_data_fill']};"
        f"border:1px dashed {STYLE['no_data_edge']}'></span>"
        f"{html.escape(t('not_assessable'))}</div></div>"
        f"<div class='pc-attr'>{attr}</div>"
        + _json_script("pc-data", data) + _json_script("pc-geo", geo)
    )
    root.html.add_child(RawHtml(panel), name="productivecity_weights_panel")
    _WeightsScript(top).add_to(m)
    return m


def write_weights_page(ranked: gpd.GeoDataFrame, layers, path: str | os.PathLike, *,
                       spec: CriteriaSpec | Sequence[CriteriaSpec], overwrite: bool = False,
                       **kwargs) -> Path:
    """Build (:func:`weights_page`, keyword arguments passed on) and save the page.

    Parameters
    ----------
    ranked : GeoDataFrame
        The sites with the indicator columns of ``spec`` (metric CRS).
    layers : LayerSet or mapping
        Context layers.
    path : path-like
        Target ``.html`` file (one self-contained file, works offline).
    spec : CriteriaSpec or sequence of CriteriaSpec
        The criteria scored; several for several hub profiles.
    overwrite : bool, default False

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> import productivecity as pc
    >>> from productivecity.siting.criteria import CriteriaSpec, Criterion
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> spec = CriteriaSpec(criteria=(Criterion("size", "area_ha", weight=1.0),))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_weights_page(sites, layers, f"{tmp}/weights.html", spec=spec)
    ...     path.name, "pcWeights" in path.read_text(encoding="utf-8")
    ('weights.html', True)
    """
    m = weights_page(ranked, layers, spec=spec, **kwargs)
    path = save_web_map(m, path, overwrite=overwrite)
    logger.info("weights page written: %s (%d sites)", path, len(ranked))
    return path


__all__ = ["weights_page", "weights_page_data", "write_weights_page"]
