"""Back-test: the rank of the existing hubs' own locations under the criteria.

Would the model have found the hubs that exist? :func:`backtest_hubs` finds the
candidate site of every existing hub and reports that site's score, rank and
percentile among the eligible sites, so a planner can see whether the criteria
point at the kind of place where hubs already work (or explain why not).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import ParameterError
from productivecity._validate import require_columns
from productivecity.crs import to_crs
from productivecity.siting.scoring import site_statuses

logger = logging.getLogger(__name__)

#: ``status`` values of :func:`backtest_hubs`.
BACKTEST_STATUSES = ("eligible", "excluded", "not assessable", "no site")
#: Columns of :func:`backtest_hubs` (index ``hub_id``), in order; ``type``,
#: ``site_name`` and ``missing_inputs`` only when the inputs have them.
BACKTEST_COLUMNS = ("name", "type", "site_id", "site_name", "match", "distance_m", "status",
                    "score", "rank", "percentile_pct", "excluded_reason", "missing_inputs")


def backtest_hubs(ranked: gpd.GeoDataFrame, hubs: gpd.GeoDataFrame, *,
                  max_distance_m: float = 250.0) -> pd.DataFrame:
    """Score the existing hubs' own locations: each hub's site, rank and percentile.

    Parameters
    ----------
    ranked : GeoDataFrame
        Ranked candidate sites (index = site id) with ``score``, ``rank`` (1 =
        best, missing for excluded sites) and ``excluded`` (bool); optionally
        ``excluded_reason``, ``missing_inputs`` (a site without a score that
        is not excluded is "not assessable"), ``kind`` (``"grid"`` for grid
        cells) and ``place_name`` (the site's human name).
    hubs : GeoDataFrame
        Existing hubs (index = hub id), points, e.g. the ``hubs`` layer (already
        clipped to the study area); ``name`` and ``type`` are used when present.
        Reprojected to the CRS of ``ranked`` when they differ.
    max_distance_m : float, default 250.0
        For sites that are not grid cells (zones, parcels, points from a file):
        a hub in no site polygon takes the nearest site within this distance
        (m). A hub outside every grid cell has no site.

    Returns
    -------
    DataFrame
        One row per hub (index ``hub_id``), eligible first by rank, then
        excluded, then not assessable, then those without a site (ties by hub
        id). Columns: ``name``,
        ``type`` (when the hubs have it), ``site_id`` (missing: no site),
        ``site_name`` (when the sites have ``place_name``), ``match``
        (``"within"``: the site contains the hub; ``"nearest"``: nearest
        site within ``max_distance_m``; ``"none"``), ``distance_m`` (hub to
        site, 0 within; for a hub with no site, to the nearest candidate
        site), ``status`` (``"eligible"`` / ``"excluded"`` / ``"not
        assessable"`` / ``"no site"``),
        ``score``, ``rank``, ``percentile_pct`` (share of the
        eligible sites that rank at or below the hub's site, %: 100 = the best
        site, missing for excluded or no site) and ``excluded_reason`` ("" when
        eligible or no site), ``missing_inputs`` (when ``ranked`` has it: the
        inputs missing at a not-assessable site, else ""). A hub on an excluded
        or not-assessable site is kept, with its reason or missing inputs.

    Raises
    ------
    SchemaError
        ``ranked`` lacks ``score``, ``rank`` or ``excluded``.
    ParameterError
        ``max_distance_m`` is negative or not finite.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> sites = gpd.GeoDataFrame(
    ...     {"kind": "grid", "score": [0.9, 0.5, None], "rank": [1.0, 2.0, None],
    ...      "excluded": [False, False, True], "excluded_reason": ["", "", "area_ha < min 1"]},
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
    ...     index=pd.Index(["a", "b", "c"], name="site_id"), crs=32631)
    >>> hubs = gpd.GeoDataFrame({"name": ["H1", "H2", "H3"]},
    ...     geometry=[Point(5, 5), Point(25, 5), Point(50, 5)],
    ...     index=pd.Index(["h1", "h2", "h3"], name="hub_id"), crs=32631)
    >>> t = backtest_hubs(sites, hubs)
    >>> t[["site_id", "status", "percentile_pct"]].values.tolist()
    [['a', 'eligible', 100.0], ['c', 'excluded', nan], [nan, 'no site', nan]]
    """
    require_columns(ranked, ["score", "rank", "excluded"], what="ranked sites (back-test)")
    dist_max = float(max_distance_m)
    if not np.isfinite(dist_max) or dist_max < 0:
        raise ParameterError(f"max_distance_m must be a finite distance >= 0 (m), "
                             f"got {max_distance_m!r}")
    if (hubs.crs is not None and ranked.crs is not None and len(hubs)
            and not hubs.crs.equals(ranked.crs)):
        hubs = to_crs(hubs, ranked.crs, what="hubs (back-test)")
    # the site states as scoring gives them (the ``status`` column where present)
    state = site_statuses(ranked).to_numpy()
    excluded = state == "excluded"
    rank = pd.to_numeric(ranked["rank"], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(ranked["score"], errors="coerce").to_numpy(dtype=float)
    eligible = (state == "eligible") & ~np.isnan(rank)
    eligible_n = int(eligible.sum())
    reasons = (ranked["excluded_reason"].fillna("").astype(str).to_numpy()
               if "excluded_reason" in ranked.columns else np.full(len(ranked), ""))
    grid = ("kind" in ranked.columns and len(ranked)
            and ranked["kind"].astype(str).eq("grid").all())
    site_ids = ranked.index.astype(str).to_numpy()

    geoms = hubs.geometry.to_numpy()
    located = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    site_pos = np.full(len(hubs), -1, dtype=np.int64)
    match = np.full(len(hubs), "none", dtype=object)
    dist = np.full(len(hubs), np.nan)
    tree = ranked.sindex
    if located.any() and len(ranked):
        where = np.flatnonzero(located)
        # a hub on the edge between two sites: the one with the smallest site id
        hit_h, hit_s = tree.query(geoms[where], predicate="intersects")
        order = np.lexsort((site_ids[hit_s], hit_h))
        hit_h, hit_s = hit_h[order], hit_s[order]
        first = np.unique(hit_h, return_index=True)[1]
        site_pos[where[hit_h[first]]] = hit_s[first]
        match[where[hit_h[first]]] = "within"
        dist[where[hit_h[first]]] = 0.0
        if not grid:
            rest = where[site_pos[where] < 0]
            if len(rest):
                (near_h, near_s), near_d = tree.nearest(
                    geoms[rest], max_distance=dist_max, return_distance=True,
                    return_all=False)
                site_pos[rest[near_h]] = near_s
                match[rest[near_h]] = "nearest"
                dist[rest[near_h]] = near_d
        # no site: how far the nearest candidate site is (e.g. outside a restricted grid)
        rest = where[site_pos[where] < 0]
        if len(rest):
            (near_h, _), near_d = tree.nearest(geoms[rest], return_distance=True,
                                               return_all=False)
            dist[rest[near_h]] = near_d

    found = site_pos >= 0
    pos = np.where(found, site_pos, 0)
    hub_excl = found & excluded[pos]
    hub_elig = found & eligible[pos]
    hub_na = found & ~hub_elig & ~hub_excl  # no score, no rule failed: no data there
    status = np.select([~found, hub_elig, hub_excl], ["no site", "eligible", "excluded"],
                       "not assessable")
    r = np.where(found, rank[pos], np.nan)
    pct = np.where(hub_elig, 100.0 * (eligible_n - r + 1) / max(eligible_n, 1), np.nan)
    data = {"name": (hubs["name"].astype(str).to_numpy() if "name" in hubs.columns
                     else hubs.index.astype(str).to_numpy())}
    if "type" in hubs.columns:
        data["type"] = hubs["type"].astype(str).to_numpy()
    data["site_id"] = np.where(found, site_ids[pos], None)
    if "place_name" in ranked.columns:
        names = ranked["place_name"].to_numpy(dtype=object)
        data["site_name"] = np.where(found, names[pos], None)
    data.update({
        "match": match, "distance_m": np.round(dist, 1), "status": status,
        "score": np.where(found, score[pos], np.nan), "rank": r, "percentile_pct": pct,
        "excluded_reason": np.where(hub_excl, reasons[pos], ""),
    })
    if "missing_inputs" in ranked.columns:
        gaps = ranked["missing_inputs"].fillna("").astype(str).to_numpy()
        data["missing_inputs"] = np.where(hub_na, gaps[pos], "")
    out = pd.DataFrame(data, index=pd.Index(hubs.index.astype(str), name="hub_id"))
    order_key = pd.Series(np.select([hub_elig, hub_excl, hub_na], [0, 1, 2], 3),
                          index=out.index)
    out = (out.assign(_o=order_key.to_numpy(), _r=np.nan_to_num(r, nan=np.inf))
           .sort_values(["_o", "_r", "hub_id"], kind="stable").drop(columns=["_o", "_r"]))
    logger.info("back-test: %d hub(s): %d on eligible sites, %d on excluded sites, %d on "
                "not-assessable sites, %d on no site (%d eligible sites)", len(out),
                int(hub_elig.sum()), int(hub_excl.sum()), int(hub_na.sum()),
                int((~found).sum()), eligible_n)
    return out


def backtest_summary(table: pd.DataFrame, ranked: gpd.GeoDataFrame) -> dict:
    """Return the back-test as a JSON-ready dict for the manifest.

    Parameters
    ----------
    table : DataFrame
        From :func:`backtest_hubs`.
    ranked : GeoDataFrame
        The ranked sites it was computed on.

    Returns
    -------
    dict
        ``eligible_n`` (eligible sites the percentiles are among), ``hubs_n``,
        ``eligible_hubs_n``, ``excluded_hubs_n``, ``not_assessable_hubs_n``,
        ``no_site_hubs_n``,
        ``median_percentile_pct`` (over the hubs on eligible sites, None if
        none) and ``hubs`` (the rows, with ``hub_id``).
    """
    excluded = ranked["excluded"].fillna(True).astype(bool)
    eligible_n = int((~excluded & pd.to_numeric(ranked["rank"], errors="coerce").notna()).sum())
    pct = table["percentile_pct"].dropna()
    rows = table.reset_index().astype(object).where(table.reset_index().notna(), None)
    return {"eligible_n": eligible_n, "hubs_n": int(len(table)),
            "eligible_hubs_n": int(table["status"].eq("eligible").sum()),
            "excluded_hubs_n": int(table["status"].eq("excluded").sum()),
            "not_assessable_hubs_n": int(table["status"].eq("not assessable").sum()),
            "no_site_hubs_n": int(table["status"].eq("no site").sum()),
            "median_percentile_pct": float(pct.median()) if len(pct) else None,
            "hubs": rows.to_dict("records")}


__all__ = ["BACKTEST_COLUMNS", "BACKTEST_STATUSES", "backtest_hubs", "backtest_summary"]
