"""Criteria specifications: criteria, constraints, weights (direct or AHP), TOML files."""

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
)

logger = logging.getLogger(__name__)


DIRECTIONS = ("benefit", "cost")


STANDARDISATIONS = ("minmax", "rank", "zscore", "fuzzy")


METHODS = ("wlc", "owa")


#: Hub profiles a criteria file may be written for (``profile = ...``): a
#: ``neighbourhood`` hub serves the people within a short walk, a ``city-wide`` hub
#: draws its public from the whole city (public transport, bike). See
#: ``productivecity/data/criteria/neighbourhood.toml`` and ``city-wide.toml``.
PROFILES = ("neighbourhood", "city-wide")


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
    "profile",
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
    "precision",
    "optional",
)


_CONSTRAINT_KEYS = ("column", "min", "max", "exclude_if_true", "description")


_AHP_KEYS = ("criteria", "matrix", "max_consistency_ratio")


_SENSITIVITY_KEYS = ("runs", "spread", "seed", "top_k")


_WEIGHT_TOL = 1e-6


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
    precision : float, optional
        Meaningful precision of the indicator, in its own units (e.g. ``0.5``
        minutes): values are rounded to it before standardising, so smaller
        differences carry no weight. Default: from the unit suffix of ``column``,
        see :data:`productivecity.siting.scoring.PRECISION_BY_SUFFIX`.
    optional : bool, default False
        The indicator is computed only by some runs (e.g. public-transport travel
        times need a transit network): a site table without ``column`` drops the
        criterion with a warning and a note (:func:`usable_criteria`) instead of
        an error, and the configuration check accepts a column the indicators do
        not produce yet.
    """

    name: str
    column: str
    direction: str = "benefit"
    standardisation: str = "minmax"
    breakpoints: tuple[float, ...] | None = None
    weight: float | None = None
    description: str = ""
    precision: float | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.optional, bool):
            problems.append(f"optional must be true or false, got {self.optional!r}")
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
        if self.precision is not None:
            p = self.precision
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not (
                    math.isfinite(p) and p > 0):
                problems.append(f"precision must be a finite number > 0 in the units of "
                                f"{self.column!r}, got {p!r}")
            else:
                object.__setattr__(self, "precision", float(p))
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
    profile : str
        The hub profile the criteria are written for, one of :data:`PROFILES`, or
        ``""`` (none); the outputs say which profile a shortlist is for.

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
    profile: str = ""
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
        if self.profile not in ("", *PROFILES):
            raise CriteriaError(f"profile {self.profile!r} is not one of {list(PROFILES)}")
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


def _check_keys(table: Any, known: Sequence[str], *, where: str) -> None:
    if not isinstance(table, Mapping):
        raise CriteriaError(f"{where} must be a table, got {type(table).__name__}")
    unknown = [k for k in table if k not in known]
    if unknown:
        raise CriteriaError(f"{where}: unknown key(s) {unknown}; known keys: {list(known)}")


def usable_criteria(spec: CriteriaSpec, table: pd.DataFrame, *, strict: bool = False
                    ) -> tuple[CriteriaSpec, list[str]]:
    """Drop the criteria and constraints whose indicator no site has.

    An indicator is unavailable when its column is NaN at every site: its input
    is missing for the whole study area (e.g. no job-seeker table, no canal). A
    column absent from ``table`` is not dropped here: scoring reports it (a
    typo in the criteria, or a sites file without it), unless the criterion is
    ``optional`` (an indicator only some runs compute, e.g. public-transport
    travel times): then it is dropped too, named "not computed in this run".
    Scoring an all-NaN column would exclude every site, so its criteria and
    constraints are dropped and the other weights renormalised (AHP weights
    become the resolved weights of the remaining criteria).

    Parameters
    ----------
    spec : CriteriaSpec
    table : DataFrame
        The site indicators.
    strict : bool, default False
        Raise instead of dropping.

    Returns
    -------
    spec : CriteriaSpec
        ``spec`` itself when nothing is dropped.
    dropped : list of str
        One line per dropped criterion or constraint, naming its column.

    Raises
    ------
    CriteriaError
        ``strict`` and something would be dropped, or no criterion is left.

    Warns
    -----
    CriteriaWarning
        Naming what was dropped.
    """
    def unavailable(col: str) -> bool:  # an absent column is left to the scoring's error
        return col in table.columns and bool(table[col].isna().all())

    absent = [c for c in spec.criteria if c.optional and c.column not in table.columns]
    gone = [c for c in spec.criteria if unavailable(c.column) or c in absent]
    gone_c = [c for c in spec.constraints if unavailable(c.column)]
    if not gone and not gone_c:
        return spec, []
    dropped = [f"criterion {c.name!r} ({c.column}"
               + (", not computed in this run)" if c in absent else ")") for c in gone]
    dropped += [f"constraint on {c.column}" for c in gone_c]
    what = (f"no site has a value for the indicator(s) of {', '.join(dropped)} (their inputs "
            f"are missing; see the indicators' missing table)")
    if strict:
        raise CriteriaError(f"{what}; strict scoring refuses to drop them: provide the inputs, "
                            f"or remove these criteria")
    kept = [c for c in spec.criteria if c not in gone]
    if not kept:
        raise CriteriaError(f"no criterion can be scored: {what}")
    w = spec.weights.reindex([c.name for c in kept])
    if float(w.sum()) <= 0:
        raise CriteriaError(f"the criteria left after dropping the unavailable ones all have "
                            f"weight 0: {what}")
    w = w / float(w.sum())
    kept = [dataclasses.replace(c, weight=float(w[c.name])) for c in kept]
    order = spec.owa_order_weights
    if order is not None and spec.method == "owa":
        order = tuple(order[:len(kept)])
        total = sum(order)
        if total <= 0:
            raise CriteriaError(f"the OWA order weights of the {len(kept)} criteria left are "
                                f"all zero after dropping the unavailable ones: {what}")
        order = tuple(v / total for v in order)
    out = dataclasses.replace(
        spec, criteria=tuple(kept),
        constraints=tuple(c for c in spec.constraints if c not in gone_c),
        ahp_matrix=None, ahp_criteria=None, owa_order_weights=order)
    warnings.warn(f"criteria dropped: {what}; the other weights renormalised",
                  CriteriaWarning, stacklevel=2)
    return out, dropped


def criteria_table(spec: CriteriaSpec, result: Any = None) -> pd.DataFrame:
    """Return the criteria as a table, one row per criterion.

    Columns: ``criterion``, ``column``, ``direction``, ``standardisation`` and
    ``weight`` (normalised, summing to 1). Given ``result`` (the
    :class:`~productivecity.siting.scoring.SuitabilityResult` of this spec), also
    ``precision`` (the rounding applied before standardising, indicator units),
    ``discriminating`` (False: constant within that precision over the eligible
    sites, so it carried no weight) and ``weight_used`` (the weight it was scored
    with: 0 when not discriminating, the others renormalised to sum 1).
    """
    out = pd.DataFrame({
        "criterion": [c.name for c in spec.criteria],
        "column": [c.column for c in spec.criteria],
        "direction": [c.direction for c in spec.criteria],
        "standardisation": [c.standardisation for c in spec.criteria],
        "weight": [float(spec.weights[c.name]) for c in spec.criteria],
    })
    if result is not None:
        used = result.criteria.reindex(out["criterion"])
        for col in ("precision", "discriminating", "weight_used"):
            out[col] = used[col].to_numpy()
    return out


def criteria_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> CriteriaSpec:
    """Build a :class:`CriteriaSpec` from a parsed TOML mapping.

    The layout is that of ``productivecity/data/criteria/brussels-canal.toml``: top-level keys
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
            profile=data.get("profile", ""),
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
        TOML file (see ``productivecity/data/criteria/brussels-canal.toml``).

    Returns
    -------
    CriteriaSpec

    Raises
    ------
    DataSourceError
        The file is missing or unreadable.
    CriteriaError
        Invalid TOML or an invalid specification (message names the file).

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> spec = pc.load_criteria(example_path("brussels-canal"))  # shipped, documented line by line
    >>> spec.name, spec.method, len(spec.criteria), len(spec.constraints)
    ('brussels-canal', 'wlc', 11, 4)
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



def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(float(v)) if isinstance(v, float) else str(v)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def criteria_to_toml(spec: CriteriaSpec) -> str:
    """Write a specification as a criteria file that :func:`load_criteria` reads back.

    The weights are written as they are resolved (:attr:`CriteriaSpec.weights`,
    so an AHP matrix becomes its weights); options at their default are left out.

    Examples
    --------
    >>> from productivecity.workflow.examples import example_path
    >>> spec = load_criteria(example_path("brussels-canal"))
    >>> import tomllib
    >>> again = criteria_from_dict(tomllib.loads(criteria_to_toml(spec)))
    >>> again.weights.round(12).equals(spec.weights.round(12)), again.columns == spec.columns
    (True, True)
    """
    weights = spec.weights
    lines = [f"name = {_toml_value(spec.name)}", f"description = {_toml_value(spec.description)}",
             f"method = {_toml_value(spec.method)}"]
    if getattr(spec, "profile", ""):
        lines.append(f"profile = {_toml_value(spec.profile)}")
    if spec.owa_order_weights is not None:
        lines.append(f"owa_order_weights = {_toml_value(spec.owa_order_weights)}")

    def table(header: str, obj, overrides=None) -> None:
        lines.extend(["", header])
        for f in dataclasses.fields(obj):
            v = (overrides or {}).get(f.name, getattr(obj, f.name))
            if v is None or (f.name not in (overrides or {}) and f.default is not
                             dataclasses.MISSING and v == f.default):
                continue
            lines.append(f"{f.name} = {_toml_value(v)}")

    for c in spec.criteria:
        table("[[criterion]]", c, {"weight": float(weights[c.name])})
    for c in spec.constraints:
        table("[[constraint]]", c)
    table("[sensitivity]", spec.sensitivity)
    return "\n".join(lines) + "\n"
