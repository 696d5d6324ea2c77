"""Weight sensitivity of a ranking: Monte-Carlo weights and one-at-a-time sweeps."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

from productivecity._errors import (
    CriteriaError,
)
from productivecity.siting.criteria import SensitivitySettings
from productivecity.siting.scoring import SuitabilityResult, _owa_factors, _ranks_desc

logger = logging.getLogger(__name__)


def _scores_for_weights(result: SuitabilityResult, weights: np.ndarray) -> np.ndarray:
    """Scores (sites x runs) for a (runs x criteria) weight matrix, vectorised."""
    std = result.standardised.to_numpy(float)
    if result.spec.method == "wlc":
        return std @ weights.T
    v = _owa_factors(std, np.asarray(result.spec.owa_order_weights))
    num = (v * std) @ weights.T
    den = v @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, 0.0)


@dataclasses.dataclass(frozen=True)
class MonteCarloResult:
    """Stability of the ranking under perturbed weights.

    Attributes
    ----------
    table : pandas.DataFrame
        Aligned to the site index (NaN unless eligible): ``rank`` (base rank),
        ``topk_share`` (share of runs in the top ``top_k``, 0-1), ``rank_p05``,
        ``rank_p50``, ``rank_p95``, ``rank_min``, ``rank_max``.
    weights : pandas.DataFrame
        The sampled weights, runs x criteria (rows sum to 1).
    runs, spread, seed, top_k
        Settings used.
    """

    table: pd.DataFrame
    weights: pd.DataFrame
    runs: int
    spread: float
    seed: int
    top_k: int

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()


def sample_weights(weights: pd.Series, *, runs: int, spread: float, seed: int) -> pd.DataFrame:
    """Draw weight vectors from a Dirichlet distribution centred on ``weights``.

    The concentration is ``alpha = w * (1 / spread**2 - 1)``, so each sampled
    weight has mean ``w`` and standard deviation ``spread * sqrt(w * (1 - w))``.
    Criteria of weight 0 stay 0.

    Returns
    -------
    pandas.DataFrame
        runs x criteria, rows sum to 1.
    """
    SensitivitySettings(runs=runs, spread=spread, seed=seed)  # validates
    w = weights.to_numpy(float)
    rng = np.random.default_rng(seed)
    pos = w > 0
    out = np.zeros((runs, len(w)))
    if pos.sum() == 1:
        out[:, pos] = 1.0
    else:
        out[:, pos] = rng.dirichlet(w[pos] * (1 / spread**2 - 1), size=runs)
    return pd.DataFrame(out, columns=weights.index)


def monte_carlo_weights(
    result: SuitabilityResult,
    *,
    runs: int | None = None,
    spread: float | None = None,
    seed: int | None = None,
    top_k: int | None = None,
) -> MonteCarloResult:
    """Monte-Carlo sensitivity of the ranking to the weights.

    Each run draws weights with :func:`sample_weights`, rescores the eligible
    sites (one matrix product for all runs) and ranks them. Defaults come from
    ``result.spec.sensitivity``.

    Parameters
    ----------
    result : SuitabilityResult
        From :func:`score_sites`.
    runs : int, optional
        Number of runs.
    spread : float, optional
        Dirichlet spread in (0, 1), see :func:`sample_weights`.
    seed : int, optional
        Seed; the same seed gives the same result.
    top_k : int, optional
        Shortlist size for ``topk_share``.

    Returns
    -------
    MonteCarloResult
    """
    d = result.spec.sensitivity
    settings = SensitivitySettings(
        runs=d.runs if runs is None else runs,
        spread=d.spread if spread is None else spread,
        seed=d.seed if seed is None else seed,
        top_k=d.top_k if top_k is None else top_k,
    )
    names = list(result.standardised.columns)
    wdf = sample_weights(
        result.weights[names],  # weights used: 0 for criteria that do not discriminate
        runs=settings.runs,
        spread=settings.spread,
        seed=settings.seed,
    )
    n_sites = len(result.standardised)
    ranks = np.empty((n_sites, settings.runs), dtype=np.int32)
    chunk = max(1, int(5_000_000 // max(n_sites, 1)))
    wmat = wdf.to_numpy()
    for start in range(0, settings.runs, chunk):
        stop = min(start + chunk, settings.runs)
        ranks[:, start:stop] = _ranks_desc(_scores_for_weights(result, wmat[start:stop]))
    q = np.quantile(ranks, [0.05, 0.5, 0.95], axis=1, method="nearest")
    idx = result.standardised.index
    stats = pd.DataFrame(
        {
            "topk_share": (ranks <= settings.top_k).mean(axis=1),
            "rank_p05": q[0],
            "rank_p50": q[1],
            "rank_p95": q[2],
            "rank_min": ranks.min(axis=1),
            "rank_max": ranks.max(axis=1),
        },
        index=idx,
    )
    table = pd.concat([result.table[["rank"]], stats.reindex(result.table.index)], axis=1)
    logger.info(
        "Monte-Carlo: %d runs, spread %.3g, top %d over %d sites",
        settings.runs,
        settings.spread,
        settings.top_k,
        n_sites,
    )
    return MonteCarloResult(
        table=table,
        weights=wdf,
        runs=settings.runs,
        spread=settings.spread,
        seed=settings.seed,
        top_k=settings.top_k,
    )


@dataclasses.dataclass(frozen=True)
class OneAtATimeResult:
    """Ranks as each criterion's weight is swept from 0 to 1.

    Attributes
    ----------
    ranks : pandas.DataFrame
        Site index (NaN unless eligible) x MultiIndex columns
        ``(criterion, weight)``: the site's rank.
    summary : pandas.DataFrame
        One row per (criterion, weight): ``base_weight``, ``topk_overlap_share``
        (share of the base top-k still in the top k, 0-1), ``top1_site_id``,
        ``rank_change_mean`` (mean absolute rank change of eligible sites).
    top_k : int
    """

    ranks: pd.DataFrame
    summary: pd.DataFrame
    top_k: int

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`summary`."""
        return self.summary.copy()


def one_at_a_time(
    result: SuitabilityResult, *, steps: int = 11, top_k: int | None = None
) -> OneAtATimeResult:
    """Sweep each criterion's weight over ``linspace(0, 1, steps)``.

    The other weights are rescaled proportionally so that all weights sum to 1
    (if they were all 0, they share ``1 - w`` equally).

    Parameters
    ----------
    result : SuitabilityResult
    steps : int
        Grid points from 0 to 1 (>= 2).
    top_k : int, optional
        Shortlist size (default ``spec.sensitivity.top_k``).

    Returns
    -------
    OneAtATimeResult
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise CriteriaError(f"steps must be an integer >= 2, got {steps!r}")
    k = result.spec.sensitivity.top_k if top_k is None else top_k
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise CriteriaError(f"top_k must be an integer >= 1, got {k!r}")
    names = list(result.standardised.columns)
    w0 = result.weights[names].to_numpy(float)
    grid = np.linspace(0, 1, steps)
    rows, labels = [], []
    for j, name in enumerate(names):
        others = np.delete(w0, j)
        for t in grid:
            if others.sum() > 0:
                rest = others * (1 - t) / others.sum()
            else:
                rest = np.full(len(others), (1 - t) / max(len(others), 1))
            rows.append(np.insert(rest, j, t))
            labels.append((name, round(float(t), 10)))
    wmat = np.array(rows)
    ranks = _ranks_desc(_scores_for_weights(result, wmat))
    base_rank = result.table.loc[result.standardised.index, "rank"].to_numpy(float)
    base_top = base_rank <= k
    idx = result.standardised.index
    summary = pd.DataFrame(
        {
            "base_weight": [result.weights[c] for c, _ in labels],
            "topk_overlap_share": (ranks[base_top] <= k).mean(axis=0) if base_top.any() else np.nan,
            "top1_site_id": [idx[int(np.argmin(ranks[:, r]))] for r in range(len(labels))],
            "rank_change_mean": np.abs(ranks - base_rank[:, None]).mean(axis=0),
        },
        index=pd.MultiIndex.from_tuples(labels, names=["criterion", "weight"]),
    )
    rank_df = pd.DataFrame(
        ranks, index=idx, columns=pd.MultiIndex.from_tuples(labels, names=["criterion", "weight"])
    ).reindex(result.table.index)
    return OneAtATimeResult(ranks=rank_df, summary=summary, top_k=k)

