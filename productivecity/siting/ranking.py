"""Rank a site table under a criteria specification, with its weight sensitivity."""

from __future__ import annotations

import logging

import geopandas as gpd

logger = logging.getLogger(__name__)


def rank_sites(sites: gpd.GeoDataFrame, spec, *, progress: bool = False):
    """Score, rank and test the stability of a site table under a criteria spec.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites with the indicator columns the criteria name.
    spec : CriteriaSpec
        From :func:`productivecity.siting.criteria.load_criteria`.

    Returns
    -------
    ranked : GeoDataFrame
        The sites with ``score``, ``rank``, ``contrib_<criterion>``, ``excluded``,
        ``excluded_reason``, ``status``, ``missing_inputs`` (see
        :func:`~productivecity.siting.scoring.site_status`) and the Monte-Carlo
        columns ``topk_share``, ``rank_p05``, ``rank_p50``, ``rank_p95``
        (aligned to the input index).
    result : SuitabilityResult
    monte_carlo : MonteCarloResult
    one_at_a_time : OneAtATimeResult

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> ranked, result, monte_carlo, one_at_a_time = pc.rank_sites(table, spec)
    >>> len(ranked) == len(table), int(ranked["rank"].max())
    (True, 17)
    >>> ranked.columns[-4:].tolist()
    ['topk_share', 'rank_p05', 'rank_p50', 'rank_p95']
    """
    from productivecity import siting as suit

    result = suit.score_sites(sites, spec)
    mc = suit.monte_carlo_weights(result)
    oat = suit.one_at_a_time(result)
    ranked = sites.copy()
    for col in result.table.columns:
        ranked[col] = result.table[col]
    for col in ("topk_share", "rank_p05", "rank_p50", "rank_p95"):
        if col in mc.table.columns:
            ranked[col] = mc.table[col].reindex(ranked.index)
    return ranked, result, mc, oat

