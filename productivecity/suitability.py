"""Site suitability: criteria, standardisation, weights, scores and their sensitivity.

A planning workshop argues about *which* criteria, *which* weights and *what is
excluded*; this module makes each of those an explicit, inspectable object:

* :class:`Criterion`, :class:`Constraint` and :class:`CriteriaSpec` hold the
  specification, loaded from a TOML file with :func:`load_criteria` (see
  ``scripts/criteria/brussels-canal.toml`` for a documented example) or built in
  Python.
* Weights are given directly or derived from an AHP pairwise comparison matrix
  (:func:`ahp_weights`), whose consistency ratio must not exceed 0.1 unless the
  specification says otherwise.
* :func:`score_sites` applies the exclusion constraints, standardises every
  criterion over the eligible sites, and scores them by weighted linear
  combination (WLC) or ordered weighted averaging (OWA). Per site it returns the
  contribution of each criterion (they add up to the score), the score, the rank
  and, for excluded sites, the reason.
* :func:`monte_carlo_weights` perturbs the weights (Dirichlet around the given
  weights, seeded) and reports per site how often it stays in the top k and its
  rank interval; :func:`one_at_a_time` sweeps each criterion's weight from 0 to 1.

Scores are unitless. Standardised values of ``minmax``, ``rank`` and ``fuzzy``
criteria lie in [0, 1] (1 = most suitable); ``zscore`` values are in standard
deviations (cost criteria negated). Ranks start at 1 for the best site; ties share
the smallest rank (``method="min"``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from productivecity._errors import (
    CriteriaError,
    CriteriaWarning,
    DataSourceError,
    EmptyLayerError,
    SchemaError,
)
from productivecity._validate import require_columns, require_numeric

logger = logging.getLogger(__name__)

DIRECTIONS = ("benefit", "cost")
STANDARDISATIONS = ("minmax", "rank", "zscore", "fuzzy")
METHODS = ("wlc", "owa")

#: Saaty's random consistency index RI(n) for reciprocal matrices of order n.
#: Source: T. L. Saaty (1980), *The Analytic Hierarchy Process*, McGraw-Hill,
#: table of average random indices (also Saaty 1990, EJOR 48:9-26, for n <= 10).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = (
    "name",
    "description",
    "method",
    "owa_order_weights",
    "criterion",
    "constraint",
    "ahp",
    "sensitivity",
)
_CRITERION_KEYS = (
    "name",
    "column",
    "direction",
    "standardisation",
    "breakpoints",
    "weight",
    "description",
)
_CONSTRAINT_KEYS = ("column", "min", "max", "exclude_if_true", "description")
_AHP_KEYS = ("criteria", "matrix", "max_consistency_ratio")
_SENSITIVITY_KEYS = ("runs", "spread", "seed", "top_k")
_WEIGHT_TOL = 1e-6


# --------------------------------------------------------------------------- spec objects


@dataclasses.dataclass(frozen=True)
class Criterion:
    """One criterion: an indicator column, its direction, standardisation and weight.

    Parameters
    ----------
    name : str
        Short identifier (letters, digits, ``_``); result columns are
        ``contrib_<name>`` and ``std_<name>``.
    column : str
        Indicator column of the candidate-site table (with its unit suffix, e.g.
        ``rail_station_time_min``).
    direction : {"benefit", "cost"}
        ``benefit``: more is better; ``cost``: less is better.
    standardisation : {"minmax", "rank", "zscore", "fuzzy"}
        ``minmax``: (x - min) / (max - min) over eligible sites; ``rank``:
        percentile rank (ties averaged) in [0, 1]; ``zscore``: (x - mean) / std
        (population std); ``fuzzy``: linear membership between ``breakpoints``.
        Cost criteria become 1 - value (``zscore``: -value).
    breakpoints : tuple of float, optional
        Only for ``fuzzy``, in the indicator's own units, ascending. Two values
        ``(a, b)``: membership 0 at or below ``a``, 1 at or above ``b`` (for a cost
        criterion the reverse: 1 at or below ``a``, 0 at or above ``b``). Four
        values ``(a, b, c, d)``: trapezoid, 0 below ``a``, rising to 1 at ``b``, 1
        up to ``c``, 0 from ``d`` (cost: 1 - trapezoid).
    weight : float, optional
        Non-negative weight; ``None`` when weights come from an AHP matrix.
    description : str
        Free text shown in reports.
    """

    name: str
    column: str
    direction: str = "benefit"
    standardisation: str = "minmax"
    breakpoints: tuple[float, ...] | None = None
    weight: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            problems.append(
                f"name {self.name!r} must start with a letter or '_' and hold only "
                "letters, digits and '_'"
            )
        if not isinstance(self.column, str) or not self.column:
            problems.append(f"column must be a non-empty string, got {self.column!r}")
        if self.direction not in DIRECTIONS:
            problems.append(f"direction {self.direction!r} is not one of {list(DIRECTIONS)}")
        if self.standardisation not in STANDARDISATIONS:
            problems.append(
                f"standardisation {self.standardisation!r} is not one of {list(STANDARDISATIONS)}"
            )
        if self.standardisation == "fuzzy":
            bp = self.breakpoints
            if bp is None or len(bp) not in (2, 4):
                problems.append(
                    "fuzzy standardisation needs breakpoints = [a, b] or [a, b, c, d] in the "
                    f"units of {self.column!r}, got {bp!r}"
                )
            else:
                try:
                    vals = [float(v) for v in bp]
                except (TypeError, ValueError):
                    problems.append(f"breakpoints must be numbers, got {bp!r}")
                else:
                    if any(not math.isfinite(v) for v in vals) or vals != sorted(vals):
                        problems.append(f"breakpoints must be finite and ascending, got {bp!r}")
                    else:
                        object.__setattr__(self, "breakpoints", tuple(vals))
        elif self.breakpoints is not None:
            problems.append(
                f"breakpoints are only used with standardisation='fuzzy', not "
                f"{self.standardisation!r}"
            )
        if self.weight is not None:
            try:
                w = float(self.weight)
            except (TypeError, ValueError):
                problems.append(f"weight must be a number, got {self.weight!r}")
            else:
                if not math.isfinite(w) or w < 0:
                    problems.append(f"weight must be a finite number >= 0, got {self.weight!r}")
                else:
                    object.__setattr__(self, "weight", w)
        if problems:
            raise CriteriaError(f"criterion {self.name!r}: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class Constraint:
    """An exclusion rule: sites that break it get no score and a stated reason.

    Parameters
    ----------
    column : str
        Column of the candidate-site table.
    min, max : float, optional
        Keep sites with ``min <= value <= max`` (in the column's units).
    exclude_if_true : bool
        Exclude sites whose value is true (bool, 0/1 or "true"/"false").
    description : str
        Human-readable reason, e.g. ``"park, water or residential land"``.

    A missing value (NaN) in the column excludes the site too ("no value").
    """

    column: str
    min: float | None = None
    max: float | None = None
    exclude_if_true: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.column, str) or not self.column:
            problems.append(f"column must be a non-empty string, got {self.column!r}")
        for key in ("min", "max"):
            val = getattr(self, key)
            if val is not None:
                if isinstance(val, bool) or not isinstance(val, (int, float)):
                    problems.append(f"{key} must be a number, got {val!r}")
                else:
                    object.__setattr__(self, key, float(val))
        if not isinstance(self.exclude_if_true, bool):
            problems.append(f"exclude_if_true must be true or false, got {self.exclude_if_true!r}")
        if not problems:
            if self.min is None and self.max is None and not self.exclude_if_true:
                problems.append("give min, max or exclude_if_true = true")
            elif self.exclude_if_true and (self.min is not None or self.max is not None):
                problems.append("exclude_if_true cannot be combined with min/max")
            elif self.min is not None and self.max is not None and self.min > self.max:
                problems.append(f"min {self.min:g} > max {self.max:g}")
        if problems:
            raise CriteriaError(f"constraint on {self.column!r}: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class SensitivitySettings:
    """Defaults for :func:`monte_carlo_weights` and :func:`one_at_a_time`.

    Parameters
    ----------
    runs : int
        Monte-Carlo runs.
    spread : float
        In (0, 1): the standard deviation of each perturbed weight is
        ``spread * sqrt(w * (1 - w))`` (Dirichlet concentration ``1/spread**2 - 1``).
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    top_k : int
        Size of the shortlist whose stability is measured.
    """

    runs: int = 1000
    spread: float = 0.1
    seed: int = 0
    top_k: int = 10

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.runs, bool) or not isinstance(self.runs, int) or self.runs < 1:
            problems.append(f"runs must be an integer >= 1, got {self.runs!r}")
        if (
            isinstance(self.spread, bool)
            or not isinstance(self.spread, (int, float))
            or not (0 < self.spread < 1)
        ):
            problems.append(f"spread must be a number in (0, 1), got {self.spread!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            problems.append(f"seed must be an integer, got {self.seed!r}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            problems.append(f"top_k must be an integer >= 1, got {self.top_k!r}")
        if problems:
            raise CriteriaError("sensitivity settings: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class AHPResult:
    """Weights derived from a pairwise comparison matrix (Saaty's eigenvector method).

    Attributes
    ----------
    criteria : tuple of str
        Criterion names in matrix order.
    matrix : numpy.ndarray
        The (n, n) reciprocal matrix.
    weights : pandas.Series
        Principal right eigenvector normalised to sum 1, indexed by criterion.
    lambda_max : float
        Principal eigenvalue.
    consistency_index : float
        CI = (lambda_max - n) / (n - 1).
    random_index : float
        RI(n) from :data:`RANDOM_INDEX`.
    consistency_ratio : float
        CR = CI / RI (0 for n <= 2).
    """

    criteria: tuple[str, ...]
    matrix: np.ndarray
    weights: pd.Series
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float


def _parse_judgement(value: Any, *, where: str) -> float:
    """Return a positive float from a number or a ``"1/3"`` string."""
    if isinstance(value, bool):
        raise CriteriaError(f"{where}: expected a positive number or 'a/b', got {value!r}")
    if isinstance(value, str):
        try:
            value = float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError) as err:
            raise CriteriaError(
                f"{where}: expected a positive number or 'a/b', got {value!r}"
            ) from err
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise CriteriaError(f"{where}: expected a positive number or 'a/b', got {value!r}") from err
    if not math.isfinite(out) or out <= 0:
        raise CriteriaError(f"{where}: judgements must be positive and finite, got {value!r}")
    return out


def ahp_weights(
    matrix: Sequence[Sequence[float | str]] | np.ndarray,
    *,
    criteria: Sequence[str] | None = None,
    max_consistency_ratio: float | None = 0.1,
) -> AHPResult:
    """Derive weights from an AHP pairwise comparison matrix.

    Parameters
    ----------
    matrix : (n, n) array-like
        ``matrix[i][j]`` is how much more important criterion i is than j on
        Saaty's 1-9 scale; entries may be numbers or strings like ``"1/3"``. The
        diagonal must be 1 and ``matrix[j][i] * matrix[i][j]`` must be 1 within 1 %
        (so 0.333 is accepted for 1/3).
    criteria : sequence of str, optional
        Names in matrix order (default ``c0, c1, ...``).
    max_consistency_ratio : float or None
        Refuse matrices whose consistency ratio exceeds this (Saaty's 0.1 by
        default); ``None`` accepts any matrix (a warning is still logged).

    Returns
    -------
    AHPResult
        Weights (principal eigenvector, sum 1), lambda_max, CI, RI and CR.

    Raises
    ------
    CriteriaError
        Not square, not positive, not reciprocal, n > 15, or CR above the limit.
    """
    rows = [list(r) for r in matrix]
    n = len(rows)
    if n == 0 or any(len(r) != n for r in rows):
        raise CriteriaError(
            f"AHP matrix must be square; got {n} rows of lengths {[len(r) for r in rows]}"
        )
    if n > max(RANDOM_INDEX):
        raise CriteriaError(
            f"AHP matrix of order {n}: random indices are tabulated only up to "
            f"n = {max(RANDOM_INDEX)}; group criteria into a hierarchy"
        )
    names = tuple(criteria) if criteria is not None else tuple(f"c{i}" for i in range(n))
    if len(names) != n:
        raise CriteriaError(f"AHP matrix is {n} x {n} but {len(names)} criteria are named")
    a = np.array(
        [
            [_parse_judgement(v, where=f"AHP matrix[{i}][{j}]") for j, v in enumerate(r)]
            for i, r in enumerate(rows)
        ]
    )
    problems = []
    for i in range(n):
        if abs(a[i, i] - 1) > 1e-9:
            problems.append(f"diagonal [{i}][{i}] = {a[i, i]:g} must be 1")
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1) > 0.01:
                problems.append(
                    f"[{i}][{j}] = {a[i, j]:g} and [{j}][{i}] = {a[j, i]:g} are not reciprocal "
                    f"({names[i]} vs {names[j]})"
                )
    if problems:
        raise CriteriaError("AHP matrix is not a reciprocal matrix: " + "; ".join(problems))
    eigvals, eigvecs = np.linalg.eig(a)
    i_max = int(np.argmax(eigvals.real))
    lam = float(eigvals[i_max].real)
    vec = np.abs(eigvecs[:, i_max].real)
    w = vec / vec.sum()
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    cr = max(cr, 0.0)  # rounding can give -1e-16 for a consistent matrix
    result = AHPResult(
        criteria=names,
        matrix=a,
        weights=pd.Series(w, index=list(names), name="weight"),
        lambda_max=lam,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
    )
    if max_consistency_ratio is not None and cr > max_consistency_ratio:
        raise CriteriaError(
            f"AHP matrix is too inconsistent: consistency ratio CR = {cr:.3f} > "
            f"{max_consistency_ratio:g} (lambda_max = {lam:.3f}, CI = {ci:.3f}, RI({n}) = {ri}); "
            "revise the judgements, or set max_consistency_ratio to accept it knowingly"
        )
    logger.info("AHP weights: CR = %.3f, lambda_max = %.3f, n = %d", cr, lam, n)
    return result


@dataclasses.dataclass(frozen=True)
class CriteriaSpec:
    """A complete suitability specification.

    Parameters
    ----------
    criteria : sequence of Criterion
        At least one; names unique.
    constraints : sequence of Constraint
        Exclusion rules (all must hold for a site to be scored).
    method : {"wlc", "owa"}
        Weighted linear combination, or ordered weighted averaging with
        ``owa_order_weights``.
    owa_order_weights : sequence of float, optional
        For OWA: one weight per rank position (position 1 = the site's best
        standardised criterion). Equal order weights give WLC; ``(1, 0, ..., 0)``
        the best criterion only (optimistic, OR); ``(0, ..., 0, 1)`` the worst
        (pessimistic, AND). Normalised to sum 1 with a warning.
    ahp_matrix : sequence of sequences, optional
        Pairwise comparison matrix; then no criterion may have a ``weight``.
    ahp_criteria : sequence of str, optional
        Criterion names in ``ahp_matrix`` order (default: order of ``criteria``).
    max_consistency_ratio : float or None
        AHP consistency ratio limit (0.1); ``None`` accepts any.
    sensitivity : SensitivitySettings
        Defaults for the sensitivity analyses.
    name, description : str
        Shown in reports.

    Attributes
    ----------
    weights : pandas.Series
        Resolved weights (sum 1) indexed by criterion name.
    ahp : AHPResult or None
        The AHP derivation, when weights came from a matrix.

    Raises
    ------
    CriteriaError
        Duplicate names, missing or negative weights, weights both direct and by
        AHP, an inconsistent AHP matrix, bad OWA order weights.

    Warns
    -----
    CriteriaWarning
        Weights or order weights that did not sum to 1 were normalised.
    """

    criteria: tuple[Criterion, ...]
    constraints: tuple[Constraint, ...] = ()
    method: str = "wlc"
    owa_order_weights: tuple[float, ...] | None = None
    ahp_matrix: tuple[tuple[float | str, ...], ...] | None = None
    ahp_criteria: tuple[str, ...] | None = None
    max_consistency_ratio: float | None = 0.1
    sensitivity: SensitivitySettings = dataclasses.field(default_factory=SensitivitySettings)
    name: str = ""
    description: str = ""
    weights: pd.Series = dataclasses.field(init=False, repr=False, compare=False)
    ahp: AHPResult | None = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if not self.criteria:
            raise CriteriaError("a criteria specification needs at least one criterion")
        bad = [c for c in self.criteria if not isinstance(c, Criterion)]
        bad += [c for c in self.constraints if not isinstance(c, Constraint)]
        if bad:
            raise CriteriaError(f"expected Criterion/Constraint objects, got {bad[:3]!r}")
        names = [c.name for c in self.criteria]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise CriteriaError(f"criterion names must be unique; repeated: {dups}")
        if self.method not in METHODS:
            raise CriteriaError(f"method {self.method!r} is not one of {list(METHODS)}")
        object.__setattr__(self, "weights", self._resolve_weights(names))
        self._resolve_order_weights(len(names))

    def _resolve_weights(self, names: list[str]) -> pd.Series:
        given = {c.name: c.weight for c in self.criteria if c.weight is not None}
        if self.ahp_matrix is not None:
            if given:
                raise CriteriaError(
                    "weights are given both directly (criteria "
                    f"{sorted(given)}) and by an AHP matrix; use one or the other"
                )
            order = list(self.ahp_criteria) if self.ahp_criteria is not None else names
            if sorted(order) != sorted(names):
                raise CriteriaError(
                    f"AHP criteria {order} must name each criterion exactly once; "
                    f"criteria are {names}"
                )
            ahp = ahp_weights(
                self.ahp_matrix,
                criteria=order,
                max_consistency_ratio=self.max_consistency_ratio,
            )
            object.__setattr__(self, "ahp", ahp)
            return ahp.weights.reindex(names).rename("weight")
        object.__setattr__(self, "ahp", None)
        missing = [n for n in names if n not in given]
        if missing:
            raise CriteriaError(
                f"criteria {missing} have no weight; give every criterion a weight or "
                "give an AHP matrix"
            )
        w = pd.Series([given[n] for n in names], index=names, name="weight", dtype=float)
        total = float(w.sum())
        if total <= 0:
            raise CriteriaError("weights are all zero; at least one criterion needs weight > 0")
        if abs(total - 1) > _WEIGHT_TOL:
            warnings.warn(
                f"criterion weights sum to {total:g}, not 1; normalised to "
                + ", ".join(f"{n}={v / total:.4g}" for n, v in w.items()),
                CriteriaWarning,
                stacklevel=4,
            )
            w = w / total
        return w

    def _resolve_order_weights(self, n: int) -> None:
        ow = self.owa_order_weights
        if self.method == "wlc":
            if ow is not None:
                raise CriteriaError("owa_order_weights are only used with method = 'owa'")
            return
        if ow is None:
            raise CriteriaError(
                f"method 'owa' needs owa_order_weights: one weight per position (n = {n})"
            )
        try:
            v = np.array([float(x) for x in ow])
        except (TypeError, ValueError) as err:
            raise CriteriaError(f"owa_order_weights must be numbers, got {ow!r}") from err
        if len(v) != n:
            raise CriteriaError(f"owa_order_weights has {len(v)} values but there are {n} criteria")
        if (v < 0).any() or not np.isfinite(v).all() or v.sum() <= 0:
            raise CriteriaError(
                f"owa_order_weights must be finite, >= 0 and not all zero, got {list(ow)}"
            )
        if abs(v.sum() - 1) > _WEIGHT_TOL:
            warnings.warn(
                f"owa_order_weights sum to {v.sum():g}, not 1; normalised",
                CriteriaWarning,
                stacklevel=4,
            )
            v = v / v.sum()
        object.__setattr__(self, "owa_order_weights", tuple(float(x) for x in v))

    @property
    def columns(self) -> list[str]:
        """All indicator columns the specification reads (criteria, then constraints)."""
        cols = [c.column for c in self.criteria]
        cols += [c.column for c in self.constraints if c.column not in cols]
        return cols

    def with_weights(self, weights: Mapping[str, float]) -> CriteriaSpec:
        """Return a copy with direct weights (drops any AHP matrix)."""
        unknown = sorted(set(weights) - {c.name for c in self.criteria})
        if unknown:
            raise CriteriaError(f"unknown criteria {unknown}; known: {self.weights.index.tolist()}")
        crits = tuple(
            dataclasses.replace(c, weight=weights.get(c.name, self.weights[c.name]))
            for c in self.criteria
        )
        return dataclasses.replace(self, criteria=crits, ahp_matrix=None, ahp_criteria=None)


# --------------------------------------------------------------------------- TOML


def _check_keys(table: Any, known: Sequence[str], *, where: str) -> None:
    if not isinstance(table, Mapping):
        raise CriteriaError(f"{where} must be a table, got {type(table).__name__}")
    unknown = [k for k in table if k not in known]
    if unknown:
        raise CriteriaError(f"{where}: unknown key(s) {unknown}; known keys: {list(known)}")


def criteria_table(spec: CriteriaSpec) -> pd.DataFrame:
    """Return the criteria as a table, one row per criterion.

    Columns: ``criterion``, ``column``, ``direction``, ``standardisation`` and
    ``weight`` (normalised, summing to 1).
    """
    return pd.DataFrame({
        "criterion": [c.name for c in spec.criteria],
        "column": [c.column for c in spec.criteria],
        "direction": [c.direction for c in spec.criteria],
        "standardisation": [c.standardisation for c in spec.criteria],
        "weight": [float(spec.weights[c.name]) for c in spec.criteria],
    })


def criteria_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> CriteriaSpec:
    """Build a :class:`CriteriaSpec` from a parsed TOML mapping.

    The layout is that of ``scripts/criteria/brussels-canal.toml``: top-level keys
    ``name``, ``description``, ``method``, ``owa_order_weights``; arrays of tables
    ``[[criterion]]`` and ``[[constraint]]``; tables ``[ahp]`` and
    ``[sensitivity]``. Unknown keys raise :class:`CriteriaError` with the list of
    known keys; every message starts with ``source``.
    """
    try:
        _check_keys(data, _TOP_KEYS, where=source)
        crit_tables = data.get("criterion", [])
        if not isinstance(crit_tables, list) or not crit_tables:
            raise CriteriaError(f"{source}: needs at least one [[criterion]] table")
        criteria = []
        for i, t in enumerate(crit_tables):
            _check_keys(t, _CRITERION_KEYS, where=f"{source}: [[criterion]] #{i + 1}")
            missing = [k for k in ("name", "column") if k not in t]
            if missing:
                raise CriteriaError(f"{source}: [[criterion]] #{i + 1} lacks {missing}")
            kw = dict(t)
            if "breakpoints" in kw:
                kw["breakpoints"] = tuple(kw["breakpoints"])
            criteria.append(Criterion(**kw))
        constraints = []
        for i, t in enumerate(data.get("constraint", [])):
            _check_keys(t, _CONSTRAINT_KEYS, where=f"{source}: [[constraint]] #{i + 1}")
            if "column" not in t:
                raise CriteriaError(f"{source}: [[constraint]] #{i + 1} lacks 'column'")
            constraints.append(Constraint(**t))
        ahp = data.get("ahp")
        kw_ahp: dict[str, Any] = {}
        if ahp is not None:
            _check_keys(ahp, _AHP_KEYS, where=f"{source}: [ahp]")
            if "matrix" not in ahp:
                raise CriteriaError(f"{source}: [ahp] lacks 'matrix'")
            kw_ahp["ahp_matrix"] = tuple(tuple(r) for r in ahp["matrix"])
            if "criteria" in ahp:
                kw_ahp["ahp_criteria"] = tuple(ahp["criteria"])
            if "max_consistency_ratio" in ahp:
                kw_ahp["max_consistency_ratio"] = float(ahp["max_consistency_ratio"])
        sens = data.get("sensitivity", {})
        _check_keys(sens, _SENSITIVITY_KEYS, where=f"{source}: [sensitivity]")
        ow = data.get("owa_order_weights")
        return CriteriaSpec(
            criteria=tuple(criteria),
            constraints=tuple(constraints),
            method=data.get("method", "wlc"),
            owa_order_weights=tuple(ow) if ow is not None else None,
            sensitivity=SensitivitySettings(**sens),
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            **kw_ahp,
        )
    except CriteriaError as err:
        msg = str(err)
        if not msg.startswith(source):
            raise CriteriaError(f"{source}: {msg}") from None
        raise


def load_criteria(path: str | Path) -> CriteriaSpec:
    """Read a criteria specification from a TOML file.

    Parameters
    ----------
    path : str or Path
        TOML file (see ``scripts/criteria/brussels-canal.toml``).

    Returns
    -------
    CriteriaSpec

    Raises
    ------
    DataSourceError
        The file is missing or unreadable.
    CriteriaError
        Invalid TOML or an invalid specification (message names the file).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataSourceError(f"cannot read criteria file {path}: {err.strerror or err}") from err
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CriteriaError(f"{path}: not valid TOML: {err}") from err
    return criteria_from_dict(data, source=str(path))


# --------------------------------------------------------------------------- standardisation


def standardise(values: pd.Series, criterion: Criterion) -> pd.Series:
    """Standardise one indicator so that larger = more suitable.

    Parameters
    ----------
    values : pandas.Series
        Indicator values (the criterion's units) of the sites to compare; NaN
        stays NaN and is ignored for min, max, mean and ranks.
    criterion : Criterion
        Direction, method and breakpoints.

    Returns
    -------
    pandas.Series
        Same index, named ``std_<criterion.name>``: in [0, 1] for ``minmax``,
        ``rank`` and ``fuzzy``; standard deviations for ``zscore``.

    Warns
    -----
    CriteriaWarning
        A constant criterion (all values equal) cannot discriminate: ``minmax``
        and ``rank`` give 1, ``zscore`` gives 0 for every site.
    """
    x = pd.to_numeric(values, errors="raise").astype(float)
    name = f"std_{criterion.name}"
    method = criterion.standardisation
    valid = x.dropna()
    constant = len(valid) > 0 and valid.min() == valid.max() and method != "fuzzy"
    # a single site is "constant" too (rank: n - 1 = 0)
    if constant:
        warnings.warn(
            f"criterion {criterion.name!r} ({criterion.column}) has the same value "
            f"{valid.iloc[0]:g} at all {len(valid)} sites; it does not discriminate",
            CriteriaWarning,
            stacklevel=2,
        )
    if constant:  # whatever the direction: no site is worse than another
        return x.where(x.isna(), 0.0 if method == "zscore" else 1.0).rename(name)
    if method == "minmax":
        s = (x - valid.min()) / (valid.max() - valid.min())
    elif method == "rank":
        s = (x.rank(method="average") - 1) / (len(valid) - 1)
    elif method == "zscore":
        s = (x - valid.mean()) / valid.std(ddof=0)
        return (-s if criterion.direction == "cost" else s).rename(name)
    else:  # fuzzy
        bp = criterion.breakpoints
        arr = x.to_numpy()
        if len(bp) == 2:
            m = _ramp(arr, bp[0], bp[1])
        else:
            m = np.minimum(_ramp(arr, bp[0], bp[1]), 1 - _ramp(arr, bp[2], bp[3]))
        s = pd.Series(m, index=x.index)
    if criterion.direction == "cost":
        s = 1 - s
    return s.rename(name)


def _ramp(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 at or below ``a``, 1 at or above ``b``, linear between (a step if a == b)."""
    with np.errstate(invalid="ignore"):
        if b == a:
            out = (x >= a).astype(float)
        else:
            out = np.clip((x - a) / (b - a), 0.0, 1.0)
    out[np.isnan(x)] = np.nan
    return out


# --------------------------------------------------------------------------- exclusions


def _truthy(series: pd.Series, *, column: str) -> pd.Series:
    """Map bool, 0/1 and true/false/yes/no strings to a nullable boolean."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_numeric_dtype(series):
        bad = series.notna() & ~series.isin([0, 1])
        if bad.any():
            raise SchemaError(
                f"column {column!r} must be true/false or 0/1; got e.g. "
                f"{series[bad].head(3).tolist()}"
            )
        return series.astype("Float64").astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    out = text.map(mapping)
    bad = text.notna() & out.isna()
    if bad.any():
        raise SchemaError(
            f"column {column!r} must be true/false or 0/1; got e.g. {series[bad].head(3).tolist()}"
        )
    return out.astype("boolean")


def exclusion_reasons(sites: pd.DataFrame, spec: CriteriaSpec) -> pd.Series:
    """Why each site is excluded from scoring ("" for eligible sites).

    Parameters
    ----------
    sites : DataFrame or GeoDataFrame
        Candidate sites, index = site id, with every column in ``spec.columns``.
    spec : CriteriaSpec

    Returns
    -------
    pandas.Series of str
        Named ``excluded_reason``, aligned to ``sites.index``; reasons of one
        site are joined by ``"; "`` (constraints first, then criteria without a
        value), e.g. ``"area_ha 0.12 < min 0.25; no value for rail_station_time_min"``.

    Raises
    ------
    SchemaError
        A column is missing (the message lists the available ones) or not numeric.
    """
    require_columns(sites, spec.columns, what="candidate sites")
    require_numeric(sites, [c.column for c in spec.criteria], what="candidate sites")
    require_numeric(
        sites,
        [c.column for c in spec.constraints if not c.exclude_if_true],
        what="candidate sites",
    )
    parts: list[pd.Series] = []

    def add(mask: pd.Series, text: pd.Series | str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            s = pd.Series("", index=sites.index, dtype=object)
            s[mask] = text[mask] if isinstance(text, pd.Series) else text
            parts.append(s)

    for con in spec.constraints:
        col = sites[con.column]
        label = f" ({con.description})" if con.description else ""
        add(col.isna(), f"no value for {con.column}{label}")
        if con.exclude_if_true:
            add(_truthy(col, column=con.column), f"{con.column} is true{label}")
            continue
        num = pd.to_numeric(col, errors="coerce").astype(float)
        fmt = num.map(lambda v: f"{v:g}")
        if con.min is not None:
            add(num < con.min, con.column + " " + fmt + f" < min {con.min:g}{label}")
        if con.max is not None:
            add(num > con.max, con.column + " " + fmt + f" > max {con.max:g}{label}")
    for crit in spec.criteria:
        add(sites[crit.column].isna(), f"no value for {crit.column} (criterion {crit.name})")
    if not parts:
        return pd.Series("", index=sites.index, dtype=object, name="excluded_reason")
    reasons = pd.concat(parts, axis=1).apply(lambda r: "; ".join(v for v in r if v), axis=1)
    return reasons.astype(object).rename("excluded_reason")


# --------------------------------------------------------------------------- scoring


@dataclasses.dataclass(frozen=True)
class SuitabilityResult:
    """Scores of candidate sites under one :class:`CriteriaSpec`.

    Attributes
    ----------
    spec : CriteriaSpec
    table : pandas.DataFrame
        Aligned to the input site index: ``score`` (float, NaN if excluded),
        ``rank`` (Int64, 1 = best, ``<NA>`` if excluded), ``contrib_<name>`` per
        criterion (sums to ``score``), ``excluded`` (bool), ``excluded_reason``
        (str, "" for eligible sites).
    standardised : pandas.DataFrame
        Eligible sites x criteria (columns = criterion names), standardised values.
    values : pandas.DataFrame
        Eligible sites x criteria, raw indicator values (criterion units).
    """

    spec: CriteriaSpec
    table: pd.DataFrame
    standardised: pd.DataFrame
    values: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def top(self, k: int) -> pd.DataFrame:
        """Eligible sites with ``rank <= k``, best first (ties may give more than k)."""
        t = self.table[~self.table["excluded"]]
        return t[t["rank"] <= k].sort_values(["rank", "score"], ascending=[True, False])

    def explain(self, site_id: Any) -> pd.DataFrame:
        """Why this site scores as it does.

        Returns
        -------
        pandas.DataFrame
            One row per criterion, largest contribution first: ``column``,
            ``value`` (indicator units), ``standardised``, ``weight``,
            ``contribution`` and ``contribution_pct`` (share of the score, %).

        Raises
        ------
        KeyError
            Unknown site; ValueError if the site was excluded (with the reason).
        """
        if site_id not in self.table.index:
            raise KeyError(f"site {site_id!r} is not among the {len(self.table)} sites")
        if self.table.at[site_id, "excluded"]:
            raise CriteriaError(
                f"site {site_id!r} is excluded: {self.table.at[site_id, 'excluded_reason']}"
            )
        names = [c.name for c in self.spec.criteria]
        contrib = self.table.loc[site_id, [f"contrib_{n}" for n in names]].to_numpy(float)
        score = float(self.table.at[site_id, "score"])
        out = pd.DataFrame(
            {
                "column": [c.column for c in self.spec.criteria],
                "value": self.values.loc[site_id, names].to_numpy(float),
                "standardised": self.standardised.loc[site_id, names].to_numpy(float),
                "weight": self.spec.weights[names].to_numpy(float),
                "contribution": contrib,
                "contribution_pct": 100 * contrib / score if score != 0 else np.nan,
            },
            index=pd.Index(names, name="criterion"),
        )
        return out.sort_values("contribution", ascending=False)


def _owa_factors(std: np.ndarray, order_weights: np.ndarray) -> np.ndarray:
    """Per site, the order weight of each criterion's position (best first, stable)."""
    order = np.argsort(-std, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(std.shape[1])[None, :], axis=1)
    return order_weights[pos]


def _score_matrix(
    std: np.ndarray, weights: np.ndarray, spec: CriteriaSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Return (contributions (sites x criteria), scores) for one weight vector."""
    if spec.method == "wlc":
        contrib = std * weights[None, :]
        return contrib, contrib.sum(axis=1)
    v = _owa_factors(std, np.asarray(spec.owa_order_weights))
    uv = weights[None, :] * v
    denom = uv.sum(axis=1)
    zero = denom <= 0
    if zero.any():
        warnings.warn(
            f"OWA: {int(zero.sum())} site(s) have all order weight on criteria of weight 0; "
            "their score is 0",
            CriteriaWarning,
            stacklevel=3,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(zero[:, None], 0.0, uv * std / denom[:, None])
    return contrib, contrib.sum(axis=1)


def score_sites(sites: pd.DataFrame, spec: CriteriaSpec) -> SuitabilityResult:
    """Score and rank candidate sites.

    Sites failing a constraint, or lacking a criterion value, are excluded with
    a reason. Every criterion is standardised over the eligible sites only
    (fuzzy membership does not depend on the other sites), then combined:

    * WLC: ``score = sum_j w_j s_j``; ``contrib_j = w_j s_j``.
    * OWA (Yager's ordered weighted averaging with criterion weights, as in
      Malczewski 2006, Int. J. Appl. Earth Obs. Geoinf. 8:270-277): with the
      site's standardised values sorted best first and ``v_r`` the order weight of
      position r, ``score = sum_j w_j v_r(j) s_j / sum_j w_j v_r(j)``; the terms are
      the contributions. Equal order weights reproduce WLC.

    Parameters
    ----------
    sites : DataFrame or GeoDataFrame
        Candidate sites, index = stable site id, with the indicator columns
        named in ``spec`` (units as in their names). Not modified.
    spec : CriteriaSpec

    Returns
    -------
    SuitabilityResult
        See its ``table`` for the schema (score, rank, contrib_*, excluded,
        excluded_reason).

    Raises
    ------
    SchemaError
        A criterion or constraint names a missing column (available ones
        listed) or a non-numeric one.
    EmptyLayerError
        Every site is excluded (counts by reason in the message).
    """
    if sites.index.has_duplicates:
        dup = sites.index[sites.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"candidate sites: site ids (index) must be unique; repeated: {dup}")
    reasons = exclusion_reasons(sites, spec)
    eligible = reasons == ""
    n_excl = int((~eligible).sum())
    if not eligible.any():
        counts = reasons.str.split("; ").explode().str.replace(r" [-\d.e+]+ ", " x ", regex=True)
        raise EmptyLayerError(
            f"all {len(sites)} candidate sites are excluded; reasons: "
            f"{counts.value_counts().to_dict()}"
        )
    names = [c.name for c in spec.criteria]
    values = pd.DataFrame(
        {c.name: pd.to_numeric(sites.loc[eligible, c.column]).astype(float) for c in spec.criteria},
        index=sites.index[eligible],
    )
    std = pd.DataFrame(
        {c.name: standardise(values[c.name], c).to_numpy() for c in spec.criteria},
        index=values.index,
    )
    w = spec.weights[names].to_numpy(float)
    contrib, score = _score_matrix(std.to_numpy(), w, spec)
    table = pd.DataFrame(index=sites.index)
    table["score"] = pd.Series(score, index=values.index).reindex(sites.index)
    table["rank"] = table["score"].rank(method="min", ascending=False).astype("Int64")
    for j, n in enumerate(names):
        table[f"contrib_{n}"] = pd.Series(contrib[:, j], index=values.index).reindex(sites.index)
    table["excluded"] = ~eligible
    table["excluded_reason"] = reasons
    logger.info(
        "scored %d site(s) with %s over %d criteria; %d excluded",
        int(eligible.sum()),
        spec.method.upper(),
        len(names),
        n_excl,
    )
    return SuitabilityResult(spec=spec, table=table, standardised=std, values=values)


# --------------------------------------------------------------------------- sensitivity


def _ranks_desc(scores: np.ndarray) -> np.ndarray:
    """Column-wise ranks of ``scores`` (sites x runs), 1 = highest, ties share the min rank."""
    n = scores.shape[0]
    order = np.argsort(-scores, axis=0, kind="stable")
    sorted_scores = np.take_along_axis(scores, order, axis=0)
    pos = np.arange(n)[:, None]
    new = np.ones_like(sorted_scores, dtype=bool)
    new[1:] = sorted_scores[1:] != sorted_scores[:-1]
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=0) + 1
    ranks = np.empty(scores.shape, dtype=np.int32)
    np.put_along_axis(ranks, order, first.astype(np.int32), axis=0)
    return ranks


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
        Aligned to the site index (NaN for excluded sites): ``rank`` (base rank),
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
        result.spec.weights[names],
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
        Site index (NaN for excluded sites) x MultiIndex columns
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
    w0 = result.spec.weights[names].to_numpy(float)
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
            "base_weight": [result.spec.weights[c] for c, _ in labels],
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


__all__ = [
    "RANDOM_INDEX",
    "AHPResult",
    "Constraint",
    "CriteriaSpec",
    "Criterion",
    "MonteCarloResult",
    "OneAtATimeResult",
    "SensitivitySettings",
    "SuitabilityResult",
    "ahp_weights",
    "criteria_from_dict",
    "exclusion_reasons",
    "load_criteria",
    "monte_carlo_weights",
    "one_at_a_time",
    "sample_weights",
    "score_sites",
    "standardise",
]
