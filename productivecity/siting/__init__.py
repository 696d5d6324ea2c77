"""Site suitability: criteria, standardisation, weights, scores and their sensitivity.

A planning workshop argues about *which* criteria, *which* weights and *what is
excluded*; this module makes each of those an explicit, inspectable object:

* :class:`Criterion`, :class:`Constraint` and :class:`CriteriaSpec` hold the
  specification, loaded from a TOML file with :func:`load_criteria` (see
  ``productivecity/data/criteria/brussels-canal.toml`` for a documented example) or built in
  Python.
* Weights are given directly or derived from an AHP pairwise comparison matrix
  (:func:`ahp_weights`), whose consistency ratio must not exceed 0.1 unless the
  specification says otherwise.
* :func:`score_sites` applies the exclusion constraints, standardises every
  criterion over the eligible sites, and scores them by weighted linear
  combination (WLC) or ordered weighted averaging (OWA). Per site it returns the
  contribution of each criterion (they add up to the score), the score, the rank
  and its state: eligible, excluded by a rule (which one, the value, the limit)
  or not assessable (which inputs have no value there).
* :func:`monte_carlo_weights` perturbs the weights (Dirichlet around the given
  weights, seeded) and reports per site how often it stays in the top k and its
  rank interval; :func:`one_at_a_time` sweeps each criterion's weight from 0 to 1.
* :func:`backtest_hubs` finds the site of every existing hub and its rank and
  percentile among the eligible sites: would the criteria have found them?

Scores are unitless. Standardised values of ``minmax``, ``rank`` and ``fuzzy``
criteria lie in [0, 1] (1 = most suitable); ``zscore`` values are in standard
deviations (cost criteria negated). Ranks start at 1 for the best site; ties share
the smallest rank (``method="min"``).
"""

from productivecity.siting.backtest import (
    BACKTEST_STATUSES,
    backtest_hubs,
    backtest_summary,
)
from productivecity.siting.criteria import (
    DIRECTIONS,
    METHODS,
    RANDOM_INDEX,
    STANDARDISATIONS,
    AHPResult,
    Constraint,
    CriteriaSpec,
    Criterion,
    SensitivitySettings,
    ahp_weights,
    criteria_from_dict,
    criteria_table,
    load_criteria,
)
from productivecity.siting.scoring import (
    PRECISION_BY_SUFFIX,
    SITE_STATUSES,
    SuitabilityResult,
    exclusion_reasons,
    indicator_precision,
    missing_inputs,
    score_sites,
    site_status,
    site_statuses,
    standardise,
    status_counts,
)
from productivecity.siting.sensitivity import (
    MonteCarloResult,
    OneAtATimeResult,
    monte_carlo_weights,
    one_at_a_time,
    sample_weights,
)

__all__ = [
    "AHPResult",
    "BACKTEST_STATUSES",
    "Constraint",
    "CriteriaSpec",
    "Criterion",
    "DIRECTIONS",
    "METHODS",
    "MonteCarloResult",
    "OneAtATimeResult",
    "PRECISION_BY_SUFFIX",
    "RANDOM_INDEX",
    "SITE_STATUSES",
    "STANDARDISATIONS",
    "SensitivitySettings",
    "SuitabilityResult",
    "ahp_weights",
    "backtest_hubs",
    "backtest_summary",
    "criteria_from_dict",
    "criteria_table",
    "exclusion_reasons",
    "indicator_precision",
    "load_criteria",
    "missing_inputs",
    "monte_carlo_weights",
    "one_at_a_time",
    "sample_weights",
    "score_sites",
    "site_status",
    "site_statuses",
    "standardise",
    "status_counts",
]
