"""Candidate places: neighbouring high-scoring sites grouped into one place each.

A ranking of grid cells lists the same place many times (five neighbouring
hexagons of one quarter). :func:`group_places` groups the ranked sites into
places, greedily in score order, so that a shortlist of the top k places names
k different places whose best sites are at least ``radius_m`` apart;
:func:`place_stability` tells how stable the places' ranks are under the
Monte-Carlo weights of :func:`productivecity.siting.sensitivity.monte_carlo_weights`.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import SchemaError
from productivecity.crs import require_metric
from productivecity.indicators.names import NAME_COLUMNS
from productivecity.siting.scoring import site_statuses

logger = logging.getLogger(__name__)

#: Land columns averaged over a place's cells, weighted by their area (%).
LAND_MEANS = ("industrial_share_pct", "brownfield_share_pct")
#: Land columns summed over a place's cells (ha).
LAND_SUMS = ("unbuilt_industrial_ha",)
#: Site-run scores held in memory at once by :func:`place_stability`.
_CHUNK_SCORES = 5_000_000
#: Stability columns of :func:`place_stability`.
PLACE_STABILITY_COLUMNS = ("topk_share", "rank_p05", "rank_p50", "rank_p95")


def scorable(ranked: pd.DataFrame) -> pd.Series:
    """Return a boolean mask of the sites that were scored (eligible, with a score).

    ``status == "eligible"`` where the table has a ``status`` column, else
    ``~excluded``; in both cases the score must not be NaN.
    """
    if "score" not in ranked.columns:
        raise SchemaError(f"the ranked sites lack the column 'score' (columns: "
                          f"{list(ranked.columns)[:20]}): score the sites first")
    score = pd.to_numeric(ranked["score"], errors="coerce")
    return (site_statuses(ranked).eq("eligible") & score.notna()).astype(bool)


def _links(geoms: np.ndarray, link_m: float) -> list[np.ndarray]:
    """Neighbours of each geometry: the others at most ``link_m`` away."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=link_m)
    keep = left != right
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    bounds = np.searchsorted(left, np.arange(len(geoms) + 1))
    return [right[bounds[i]:bounds[i + 1]] for i in range(len(geoms))]


def group_places(
    ranked: gpd.GeoDataFrame,
    *,
    radius_m: float = 500.0,
    link_m: float | None = None,
) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """Group ranked sites into distinct candidate places, best first.

    Greedy, in score order (ties by site id): the best scorable site (see
    :func:`scorable`) that is not yet in a place and lies at least
    ``radius_m`` from every earlier place's best site seeds a new place. The
    scorable sites not yet in a place, scoring no more than the seed, whose
    centroid lies within ``radius_m`` of the seed's centroid and that connect
    to the seed through such sites, each at most ``link_m`` from the next,
    join it (so a place never jumps a gap of excluded or unassessed sites).
    Repeat until no site can seed.

    Hence the best sites of any two places are at least ``radius_m`` apart,
    and a place's best site is its seed. A scorable site within ``radius_m``
    of an earlier place's best site but cut off from it by a gap, and not
    reached by a later place's seed of at least its score, is in no place;
    their number is logged and kept in ``places.attrs["unplaced_n"]``.

    Parameters
    ----------
    ranked : GeoDataFrame
        Scored sites (index = site id) with ``score`` and ``excluded`` (or
        ``status``), points or polygons, in a metric CRS.
    radius_m : float, default 500.0
        Radius of a place around its best site (m), > 0.
    link_m : float, optional
        Largest gap between two sites of one place (m); default 1 m for
        polygon sites (touching cells), 1.5 times the median nearest-neighbour
        distance for point sites.

    Returns
    -------
    place_id : pandas.Series
        Aligned to ``ranked.index``, named ``place_id`` (string, ``<NA>`` for
        sites in no place: excluded, not assessable or unplaced).
    places : GeoDataFrame
        Index ``place_id`` (``"P01"``, ``"P02"``, ... in rank order): ``rank``
        (1 = best, ties broken by the best site's id), ``score`` (of its best
        site), ``best_site_id``, ``cells_n``, ``area_ha`` (of the union),
        the area-weighted mean of :data:`LAND_MEANS` and the sum of
        :data:`LAND_SUMS` where the sites have them, the best site's name
        columns (:data:`productivecity.indicators.names.NAME_COLUMNS`) where
        present; geometry = union of its sites (the sites' CRS).

    Raises
    ------
    SchemaError
        No ``score`` column, ``radius_m`` not > 0, duplicate site ids.
    CRSError
        The sites are not in a metric CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame(
    ...     {"score": [0.9, 0.8, 0.7, 0.95], "excluded": False},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100),
    ...               box(2000, 0, 2100, 100)],
    ...     index=pd.Index(["a", "b", "c", "d"], name="site_id"), crs="EPSG:3857")
    >>> place_id, places = group_places(cells, radius_m=250)
    >>> place_id.tolist()
    ['P02', 'P02', 'P02', 'P01']
    >>> places[["best_site_id", "cells_n", "area_ha"]].to_dict("list")
    {'best_site_id': ['d', 'a'], 'cells_n': [1, 3], 'area_ha': [1.0, 3.0]}
    """
    if not isinstance(radius_m, int | float) or isinstance(radius_m, bool) or not radius_m > 0:
        raise SchemaError(f"radius_m must be a number > 0 (metres), got {radius_m!r}")
    if link_m is not None and (isinstance(link_m, bool) or not link_m >= 0):
        raise SchemaError(f"link_m must be a number >= 0 (metres), got {link_m!r}")
    if ranked.index.has_duplicates:
        dup = ranked.index[ranked.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"ranked sites: site ids (index) must be unique; repeated: {dup}")
    crs = require_metric(ranked, what="the ranked sites")
    ok = scorable(ranked)
    sites = ranked.loc[ok]
    score = pd.to_numeric(sites["score"]).astype(float).to_numpy()
    ids = sites.index.astype(str).to_numpy()
    order = np.lexsort((ids, -score))  # best first, ties by site id
    geoms = sites.geometry.to_numpy()
    cent = shapely.centroid(geoms)
    n = len(sites)
    if link_m is None:
        types = shapely.get_type_id(geoms)
        points = n > 0 and bool(np.isin(types, [0, 4]).all())
        link_m = _point_link_m(cent) if points else 1.0
    links = _links(geoms, float(link_m)) if n else []
    ctree = shapely.STRtree(cent)
    member = np.full(n, -1, dtype=np.int64)
    blocked = np.zeros(n, dtype=bool)  # within radius_m of an earlier place's best site
    seeds: list[int] = []
    for s in order:
        if member[s] >= 0 or blocked[s]:
            continue
        p = len(seeds)
        seeds.append(int(s))
        near = ctree.query(cent[s], predicate="dwithin", distance=radius_m)
        cand = np.zeros(n, dtype=bool)  # a place's best site is its best: none scores higher
        cand[near] = (member[near] < 0) & (score[near] <= score[s])
        within = shapely.distance(cent[near], cent[s]) < radius_m
        blocked[near[within]] = True
        member[s] = p
        queue = deque([int(s)])
        while queue:  # the candidates connected to the seed through candidates
            i = queue.popleft()
            for j in links[i]:
                if cand[j] and member[j] < 0:
                    member[j] = p
                    queue.append(int(j))
    unplaced = int((member < 0).sum())
    if unplaced:
        logger.info("places: %d scorable site(s) lie within %g m of a better place's best site "
                    "but are cut off from it by a gap; they are in no place", unplaced, radius_m)
    width = max(2, len(str(len(seeds))))
    labels = np.array([f"P{i + 1:0{width}d}" for i in range(len(seeds))], dtype=object)
    place_id = pd.Series(pd.NA, index=ranked.index, dtype="string", name="place_id")
    has = member >= 0
    place_id.loc[sites.index[has]] = labels[member[has]]
    places = _place_table(sites, member, seeds, labels, crs)
    places.attrs["unplaced_n"] = unplaced
    places.attrs["radius_m"] = float(radius_m)
    logger.info("places: %d scorable site(s) grouped into %d place(s) (radius %g m)",
                n - unplaced, len(seeds), radius_m)
    return place_id, places


def _point_link_m(cent: np.ndarray) -> float:
    """1.5 x the median distance of a point to its nearest neighbour (1 m for one point)."""
    if len(cent) < 2:
        return 1.0
    tree = shapely.STRtree(cent)
    pairs = tree.query_nearest(cent, exclusive=True, all_matches=False)
    dist = shapely.distance(cent[pairs[0]], cent[pairs[1]])
    return 1.5 * float(np.median(dist)) if len(dist) else 1.0


def _place_table(sites: gpd.GeoDataFrame, member: np.ndarray, seeds: list[int],
                 labels: np.ndarray, crs) -> gpd.GeoDataFrame:
    """One row per place (see :func:`group_places`)."""
    geoms = sites.geometry.to_numpy()
    area = shapely.area(geoms)
    rows, shapes = [], []
    for p, s in enumerate(seeds):
        idx = np.flatnonzero(member == p)
        union = shapely.union_all(geoms[idx])
        best = sites.iloc[s]
        row = {"rank": p + 1, "score": float(best["score"]),
               "best_site_id": str(sites.index[s]), "cells_n": len(idx),
               "area_ha": float(shapely.area(union)) / 1e4}
        w = area[idx]
        for col in LAND_MEANS:
            if col in sites.columns:
                v = pd.to_numeric(sites[col].iloc[idx], errors="coerce").to_numpy(float)
                ok = ~np.isnan(v)
                ww = w[ok] if w[ok].sum() > 0 else np.ones(int(ok.sum()))
                row[col] = float(np.average(v[ok], weights=ww)) if ok.any() else np.nan
        for col in LAND_SUMS:
            if col in sites.columns:
                v = pd.to_numeric(sites[col].iloc[idx], errors="coerce")
                row[col] = float(v.sum()) if v.notna().any() else np.nan
        for col in NAME_COLUMNS:
            if col in sites.columns:
                row[col] = best[col] if pd.notna(best[col]) else None
        rows.append(row)
        shapes.append(union)
    cols = ["rank", "score", "best_site_id", "cells_n", "area_ha",
            *(c for c in (*LAND_MEANS, *LAND_SUMS, *NAME_COLUMNS) if c in sites.columns)]
    table = pd.DataFrame(rows, columns=cols, index=pd.Index(labels, name="place_id"))
    table["rank"] = table["rank"].astype("int64")
    table["cells_n"] = table["cells_n"].astype("int64")
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(shapes, index=table.index, crs=crs),
                            crs=crs)


def place_ranks(place_id: pd.Series, places: pd.DataFrame) -> pd.DataFrame:
    """Each site's place rank and whether it is its place's best site.

    Parameters
    ----------
    place_id : pandas.Series
        The first result of :func:`group_places` (index = site id).
    places : DataFrame or GeoDataFrame
        The second result of :func:`group_places` (``rank``, ``best_site_id``).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``place_id.index``: ``place_rank`` (Int64, ``<NA>`` for
        sites in no place) and ``place_best`` (bool), the columns the maps use
        to mark the top places rather than the top cells.

    Examples
    --------
    >>> pid = pd.Series(["P02", "P02", None, "P01"], index=list("abcd"), dtype="string")
    >>> places = pd.DataFrame({"rank": [1, 2], "best_site_id": ["d", "a"]},
    ...                       index=pd.Index(["P01", "P02"], name="place_id"))
    >>> r = place_ranks(pid, places)
    >>> r["place_rank"].fillna(0).tolist(), r["place_best"].tolist()
    ([2, 2, 0, 1], [True, False, False, True])
    """
    rank = place_id.map(places["rank"].to_dict()).astype("Int64")
    best = pd.Series(place_id.index.astype(str), index=place_id.index).isin(
        places["best_site_id"].astype(str))
    return pd.DataFrame({"place_rank": rank, "place_best": best & rank.notna()},
                        index=place_id.index)


def place_stability(result, weights, place_id: pd.Series, *, top_k: int) -> pd.DataFrame:
    """Stability of the places' ranks under sampled weights.

    In each run, a place's score is the largest score of its sites under the
    run's weights; the places are ranked by it (1 = best, ties share the
    smaller rank). All runs are scored with one matrix product per chunk of
    runs (at most about 5 million site-run scores in memory at once).

    Parameters
    ----------
    result : SuitabilityResult
        From :func:`productivecity.siting.scoring.score_sites`.
    weights : DataFrame or MonteCarloResult
        The sampled weights, runs x criteria
        (:attr:`~productivecity.siting.sensitivity.MonteCarloResult.weights`).
    place_id : pandas.Series
        Place of each site (from :func:`group_places`; ``<NA>``: in no place).
    top_k : int
        Shortlist size (>= 1) for ``topk_share``.

    Returns
    -------
    pandas.DataFrame
        Index ``place_id`` (sorted as the place ids): ``topk_share`` (share of
        runs in which the place is among the top ``top_k`` places, 0-1),
        ``rank_p05``, ``rank_p50``, ``rank_p95`` (its place rank over the runs).
    """
    from productivecity.siting.scoring import _ranks_desc
    from productivecity.siting.sensitivity import _scores_for_weights

    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise SchemaError(f"top_k must be an integer >= 1, got {top_k!r}")
    wdf = getattr(weights, "weights", weights)
    names = list(result.standardised.columns)
    missing = [c for c in names if c not in wdf.columns]
    if missing:
        raise SchemaError(f"the sampled weights lack the criteria {missing} "
                          f"(columns: {list(wdf.columns)})")
    wmat = wdf[names].to_numpy(float)
    pid = place_id.reindex(result.standardised.index).astype("string")
    keep = pid.notna().to_numpy()
    codes, uniques = pd.factorize(pid[keep], sort=True)
    out_cols = list(PLACE_STABILITY_COLUMNS)
    if not len(uniques) or not len(wmat):
        return pd.DataFrame(columns=out_cols, index=pd.Index(uniques, name="place_id"),
                            dtype=float)
    sort = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[sort], np.arange(len(uniques)))
    rows = np.flatnonzero(keep)[sort]  # site rows grouped by place
    runs = len(wmat)
    ranks = np.empty((len(uniques), runs), dtype=np.int32)
    chunk = max(1, int(_CHUNK_SCORES // max(len(rows), 1)))
    sub = _SubResult(result, rows)
    for start in range(0, runs, chunk):
        stop = min(start + chunk, runs)
        scores = _scores_for_weights(sub, wmat[start:stop])  # grouped sites x runs
        best = np.maximum.reduceat(scores, starts, axis=0)  # places x runs
        ranks[:, start:stop] = _ranks_desc(best)
    q = np.quantile(ranks, [0.05, 0.5, 0.95], axis=1, method="nearest")
    return pd.DataFrame({"topk_share": (ranks <= top_k).mean(axis=1), "rank_p05": q[0],
                         "rank_p50": q[1], "rank_p95": q[2]},
                        index=pd.Index(np.asarray(uniques, dtype=object), name="place_id"))


class _SubResult:
    """The rows ``rows`` of a SuitabilityResult's standardised values (for rescoring)."""

    def __init__(self, result, rows: np.ndarray):
        self.spec = result.spec
        self.standardised = result.standardised.iloc[rows]


def with_stability(places: gpd.GeoDataFrame, stability: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return ``places`` with the columns of :func:`place_stability` after ``score``."""
    out = places.drop(columns=[c for c in PLACE_STABILITY_COLUMNS if c in places.columns])
    pos = list(out.columns).index("score") + 1
    for i, col in enumerate(PLACE_STABILITY_COLUMNS):
        out.insert(pos + i, col, stability[col].reindex(out.index).astype(float))
    return out


def write_places_csv(places: gpd.GeoDataFrame, path: str | os.PathLike, *,
                     style="comma", lang: str = "en", overwrite: bool = False) -> Path:
    """Write the places as a CSV table for people, one row per place, best first.

    The geometry is given as the centroid of the place (the union of its sites): ``centroid_x_m``,
    ``centroid_y_m`` (the places' CRS, metres) and ``centroid_lon``,
    ``centroid_lat`` (WGS 84, degrees). Numbers are rounded to their meaningful
    precision (:func:`productivecity.outputs.export.people_decimals`); the
    GeoPackage layer ``places`` keeps full precision for analysis.

    Parameters
    ----------
    places : GeoDataFrame
        The second result of :func:`group_places` (index = place id).
    path : path-like
        Target ``.csv``.
    style : {"auto", "comma", "semicolon"} or CsvStyle, default "comma"
        ``"comma"``: UTF-8, ``,`` and ``.`` decimals; ``"semicolon"``: UTF-8 with
        BOM (so Excel reads accents correctly), ``;`` and decimal commas;
        ``"auto"``: by ``lang`` (:func:`productivecity.outputs.export.csv_style`).
    lang : str, default "en"
    overwrite : bool, default False

    Returns
    -------
    Path
    """
    from productivecity.outputs.export import with_centroid_columns, write_table_csv

    df = with_centroid_columns(places)
    if df.index.name is None:
        df.index.name = "place_id"
    return write_table_csv(df, path, style=style, lang=lang, overwrite=overwrite)
