"""Score sites by criteria: exclusions, standardisation, WLC and OWA, ranks."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from productivecity._errors import (
    CriteriaError,
    CriteriaWarning,
    EmptyLayerError,
    NotDiscriminatingWarning,
    SchemaError,
    UnknownKeyError,
)
from productivecity._validate import require_columns, require_numeric
from productivecity.siting.criteria import CriteriaSpec, Criterion

logger = logging.getLogger(__name__)


#: Meaningful precision of an indicator, from the unit suffix of its column name
#: (the first suffix that matches, in this order; in the indicator's own units).
#: Values are rounded to it before standardising, so that differences below it
#: (floating-point noise of areal weighting, 7078.999999999996 persons) carry no
#: weight and equal values tie exactly. A criterion's ``precision`` key overrides it.
PRECISION_BY_SUFFIX: tuple[tuple[str, float], ...] = (
    ("_per_1000_jobseekers", 0.01),  # rate per 1,000 job seekers: to a hundredth
    ("_per_ha", 0.01),               # densities per hectare: to a hundredth
    ("_pct", 0.1),                   # percentages: to a tenth of a percent
    ("_min", 0.1),                   # travel times: to a tenth of a minute
    ("_ha", 0.01),                   # areas: to a hundredth of a hectare (100 m2)
    ("_n", 1.0),                     # persons and counts: whole units
    ("_m", 1.0),                     # distances: whole metres
)

#: Any other column: values are rounded to this fraction of the largest absolute
#: value over the eligible sites (a relative precision of 1e-6).
RELATIVE_PRECISION = 1e-6


def indicator_precision(column: str, values: pd.Series | None = None, *,
                        override: float | None = None) -> float:
    """Return the meaningful precision of an indicator, in its own units.

    Parameters
    ----------
    column : str
        Indicator column name; its unit suffix picks the precision from
        :data:`PRECISION_BY_SUFFIX`.
    values : pandas.Series, optional
        The values compared; needed for columns without a known suffix
        (:data:`RELATIVE_PRECISION` times their largest absolute value).
    override : float, optional
        A criterion's own ``precision``; returned as is.

    Returns
    -------
    float
        > 0; NaN for an unknown suffix without ``values``.

    Examples
    --------
    >>> indicator_precision("jobseekers_bike_30min_n"), indicator_precision("rail_time_min")
    (1.0, 0.1)
    >>> indicator_precision("score_index", pd.Series([2.0, -4.0]))
    4e-06
    """
    if override is not None:
        return float(override)
    for suffix, precision in PRECISION_BY_SUFFIX:
        if column.endswith(suffix):
            return precision
    if values is None:
        return float("nan")
    top = float(np.nanmax(np.abs(values.to_numpy(float)))) if values.notna().any() else 0.0
    return RELATIVE_PRECISION * top if top > 0 else 1.0


def _rounded(x: pd.Series, precision: float) -> pd.Series:
    """Round to a multiple of ``precision`` (equal multiples give identical floats)."""
    return (x / precision).round() * precision


def _standardise(values: pd.Series, criterion: Criterion, *, stacklevel: int = 3
                 ) -> tuple[pd.Series, float, bool]:
    """Return (standardised values, precision used, discriminating); see :func:`standardise`."""
    x = pd.to_numeric(values, errors="raise").astype(float)
    name = f"std_{criterion.name}"
    precision = indicator_precision(criterion.column, x, override=criterion.precision)
    x = _rounded(x, precision)
    valid = x.dropna()
    # a single site is "constant" too (rank: n - 1 = 0)
    constant = len(valid) > 0 and valid.min() == valid.max()
    if constant:  # whatever the direction and method: no site is worse than another
        warnings.warn(
            f"criterion {criterion.name!r} ({criterion.column}) has the same value "
            f"{valid.iloc[0]:g} (to its precision {precision:g}) at all {len(valid)} sites; "
            f"it does not discriminate and carries no weight",
            NotDiscriminatingWarning,
            stacklevel=stacklevel,
        )
        return x.where(x.isna(), 0.0).rename(name), precision, False
    return _standardise_varying(x, criterion).rename(name), precision, True


def standardise(values: pd.Series, criterion: Criterion) -> pd.Series:
    """Standardise one indicator so that larger = more suitable.

    Values are first rounded to the indicator's meaningful precision
    (:func:`indicator_precision`: the criterion's ``precision``, else by the
    unit suffix of its column), so equal values get equal standardised values
    and differences below the precision count for nothing.

    Parameters
    ----------
    values : pandas.Series
        Indicator values (the criterion's units) of the sites to compare; NaN
        stays NaN and is ignored for min, max, mean and ranks.
    criterion : Criterion
        Direction, method, breakpoints and precision.

    Returns
    -------
    pandas.Series
        Same index, named ``std_<criterion.name>``: in [0, 1] for ``minmax``,
        ``rank`` and ``fuzzy``; standard deviations for ``zscore``.

    Warns
    -----
    NotDiscriminatingWarning
        A :class:`CriteriaWarning`: a constant criterion (all values equal
        within the precision) does not discriminate: it is standardised to 0
        at every site, whatever the method, so it contributes nothing
        (:func:`score_sites` also gives its weight to the others).
    """
    return _standardise(values, criterion)[0]


def _standardise_varying(x: pd.Series, criterion: Criterion) -> pd.Series:
    """Standardise rounded, non-constant values (no name)."""
    method = criterion.standardisation
    valid = x.dropna()
    if method == "minmax":
        s = (x - valid.min()) / (valid.max() - valid.min())
    elif method == "rank":
        s = (x.rank(method="average") - 1) / (len(valid) - 1)
    elif method == "zscore":
        s = (x - valid.mean()) / valid.std(ddof=0)
        return -s if criterion.direction == "cost" else s
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
    return s


def _ramp(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 at or below ``a``, 1 at or above ``b``, linear between (a step if a == b)."""
    with np.errstate(invalid="ignore"):
        if b == a:
            out = (x >= a).astype(float)
        else:
            out = np.clip((x - a) / (b - a), 0.0, 1.0)
    out[np.isnan(x)] = np.nan
    return out


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


#: The states of a candidate site, in the order outputs list them.
SITE_STATUSES = ("eligible", "excluded", "not assessable")


def site_statuses(table: pd.DataFrame) -> pd.Series:
    """Each scored site's state: ``"eligible"``, ``"excluded"`` or ``"not assessable"``.

    Parameters
    ----------
    table : DataFrame
        Scored sites: the ``status`` column of :func:`score_sites` when present
        (missing values read as "not assessable"); otherwise derived from
        ``excluded`` (missing = excluded) and ``score`` (a site that is not
        excluded and has no score is not assessable).

    Returns
    -------
    pandas.Series of str
        Named ``status``, aligned to ``table.index``.

    Examples
    --------
    >>> t = pd.DataFrame({"score": [0.5, None, None], "excluded": [False, True, False]})
    >>> site_statuses(t).tolist()
    ['eligible', 'excluded', 'not assessable']
    """
    if "status" in table.columns:
        return table["status"].fillna("not assessable").astype(str).rename("status")
    excluded = (table["excluded"].fillna(True).astype(bool) if "excluded" in table.columns
                else pd.Series(False, index=table.index))
    scored = (table["score"].notna() if "score" in table.columns
              else pd.Series(True, index=table.index))
    status = np.select([excluded.to_numpy(), scored.to_numpy()], ["excluded", "eligible"],
                       "not assessable")
    return pd.Series(status, index=table.index, dtype=object, name="status")


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """Count the sites per state (:func:`site_statuses`), every state listed.

    Returns
    -------
    dict
        ``{"eligible": n, "excluded": n, "not assessable": n}``.
    """
    counts = site_statuses(table).value_counts()
    return {s: int(counts.get(s, 0)) for s in SITE_STATUSES}


def _validate_site_columns(sites: pd.DataFrame, spec: CriteriaSpec) -> None:
    """Raise SchemaError unless ``sites`` has every (numeric) column ``spec`` names."""
    require_columns(sites, spec.columns, what="candidate sites")
    require_numeric(sites, [c.column for c in spec.criteria], what="candidate sites")
    require_numeric(
        sites,
        [c.column for c in spec.constraints if not c.exclude_if_true],
        what="candidate sites",
    )


def _joined(parts: list[pd.Series], index: pd.Index, name: str) -> pd.Series:
    """Join the non-empty strings of ``parts`` per row by ``"; "``."""
    if not parts:
        return pd.Series("", index=index, dtype=object, name=name)
    joined = pd.concat(parts, axis=1).apply(lambda r: "; ".join(v for v in r if v), axis=1)
    return joined.astype(object).rename(name)


def exclusion_reasons(sites: pd.DataFrame, spec: CriteriaSpec) -> pd.Series:
    """Which rules each site fails on a known value ("" if none).

    A value that is missing fails no rule, and a site with a missing value is
    "not assessable", not "excluded", whatever it fails here: see
    :func:`missing_inputs` and :func:`site_status`.

    Parameters
    ----------
    sites : DataFrame or GeoDataFrame
        Candidate sites, index = site id, with every column in ``spec.columns``.
    spec : CriteriaSpec

    Returns
    -------
    pandas.Series of str
        Named ``excluded_reason``, aligned to ``sites.index``; the failures of
        one site are joined by ``"; "`` in constraint order, e.g.
        ``"area_ha 0.12 < min 0.25 (too small); landuse_excluded is true (park)"``.

    Raises
    ------
    SchemaError
        A column is missing (the message lists the available ones) or not numeric.
    """
    _validate_site_columns(sites, spec)
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
        if con.exclude_if_true:
            add(_truthy(col, column=con.column), f"{con.column} is true{label}")
            continue
        num = pd.to_numeric(col, errors="coerce").astype(float)
        fmt = num.map(lambda v: f"{v:g}")
        if con.min is not None:
            add(num < con.min, con.column + " " + fmt + f" < min {con.min:g}{label}")
        if con.max is not None:
            add(num > con.max, con.column + " " + fmt + f" > max {con.max:g}{label}")
    return _joined(parts, sites.index, "excluded_reason")


def missing_inputs(sites: pd.DataFrame, spec: CriteriaSpec) -> pd.Series:
    """Which constraint and criterion columns have no value at each site.

    Parameters
    ----------
    sites : DataFrame or GeoDataFrame
        Candidate sites with every column in ``spec.columns``.
    spec : CriteriaSpec

    Returns
    -------
    pandas.Series of str
        Named ``missing_inputs``, aligned to ``sites.index``: the columns
        without a value, constraints first then criteria, each once, joined by
        ``"; "`` ("" if none).

    Raises
    ------
    SchemaError
        A column is missing (the message lists the available ones).
    """
    require_columns(sites, spec.columns, what="candidate sites")
    columns = list(dict.fromkeys([c.column for c in spec.constraints]
                                 + [c.column for c in spec.criteria]))
    parts = []
    for col in columns:
        na = sites[col].isna()
        if na.any():
            parts.append(pd.Series(np.where(na, col, ""), index=sites.index, dtype=object))
    return _joined(parts, sites.index, "missing_inputs")


def site_status(sites: pd.DataFrame, spec: CriteriaSpec) -> pd.DataFrame:
    """Sort sites into eligible, excluded by a rule, and not assessable.

    A site that lacks a value of a constraint or criterion column is ``"not
    assessable"``, whatever rule it fails on the values that are known there
    (those rules stay in ``excluded_reason``, for information): where one input
    is missing the others often come from partial data too (a stop layer that
    ends at a border makes every site beyond it "far from a stop"), so only a
    rule failed by a site with a complete set of values is an exclusion. A
    complete site that fails a constraint is ``"excluded"``; the rest are
    ``"eligible"`` and get a score.

    Parameters
    ----------
    sites : DataFrame or GeoDataFrame
        Candidate sites with every column in ``spec.columns``.
    spec : CriteriaSpec

    Returns
    -------
    pandas.DataFrame
        Aligned to ``sites.index``: ``status`` (one of :data:`SITE_STATUSES`),
        ``excluded_reason`` (:func:`exclusion_reasons`) and ``missing_inputs``
        (:func:`missing_inputs`).

    Raises
    ------
    SchemaError
        A column is missing or not numeric.

    Examples
    --------
    >>> from productivecity.siting.criteria import Constraint, CriteriaSpec, Criterion
    >>> spec = CriteriaSpec(criteria=(Criterion("jobs", "jobs_n", weight=1.0),),
    ...                     constraints=(Constraint("area_ha", min=1.0),))
    >>> sites = pd.DataFrame({"jobs_n": [5.0, None, None, 3.0],
    ...                       "area_ha": [2.0, 2.0, 0.5, 0.5]})
    >>> site_status(sites, spec)["status"].tolist()
    ['eligible', 'not assessable', 'not assessable', 'excluded']
    """
    reasons = exclusion_reasons(sites, spec)
    missing = missing_inputs(sites, spec)
    status = np.where(missing != "", "not assessable",
                      np.where(reasons != "", "excluded", "eligible"))
    return pd.DataFrame({"status": pd.Series(status, index=sites.index, dtype=object),
                         "excluded_reason": reasons, "missing_inputs": missing})


@dataclasses.dataclass(frozen=True)
class SuitabilityResult:
    """Scores of candidate sites under one :class:`CriteriaSpec`.

    Attributes
    ----------
    spec : CriteriaSpec
    table : pandas.DataFrame
        Aligned to the input site index: ``score`` (float, NaN unless
        eligible), ``rank`` (Int64, 1 = best, ``<NA>`` unless eligible),
        ``contrib_<name>`` per criterion (sums to ``score``), ``excluded``
        (bool: True only for status "excluded"), ``excluded_reason`` (str, the
        rules failed on known values, "" if none), ``status`` (``"eligible"``,
        ``"excluded"`` or ``"not assessable"``, see :func:`site_status`) and
        ``missing_inputs`` (str, the constraint and criterion columns without
        a value there, "" if none).
    standardised : pandas.DataFrame
        Eligible sites x criteria (columns = criterion names), standardised values
        (of the values rounded to their precision; 0 for a criterion that does
        not discriminate).
    values : pandas.DataFrame
        Eligible sites x criteria, raw indicator values (criterion units).
    criteria : pandas.DataFrame
        One row per criterion (index = name): ``column``, ``precision`` (the
        rounding applied before standardising, indicator units),
        ``discriminating`` (False: constant within its precision over the
        eligible sites), ``weight`` (as specified) and ``weight_used``.
        A criterion that does not discriminate is scored with weight 0 and the
        weights of the others are renormalised to sum 1 (as a planner reads
        them: the criteria that tell sites apart share the whole score), so
        ``weight_used`` is what the contributions and the sensitivity analyses
        use. If none discriminates, every weight used is 0, every score 0 and
        every site ties at rank 1.
    """

    spec: CriteriaSpec
    table: pd.DataFrame
    standardised: pd.DataFrame
    values: pd.DataFrame
    criteria: pd.DataFrame

    @property
    def weights(self) -> pd.Series:
        """The weights used (``criteria["weight_used"]``), indexed by criterion name."""
        return self.criteria["weight_used"].rename("weight")

    @property
    def not_discriminating(self) -> list[str]:
        """Names of the criteria that carried no weight (constant within their precision)."""
        return self.criteria.index[~self.criteria["discriminating"]].tolist()

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def top(self, k: int) -> pd.DataFrame:
        """Eligible sites with ``rank <= k``, best first (ties may give more than k)."""
        t = self.table[self.table["status"] == "eligible"]
        return t[t["rank"] <= k].sort_values(["rank", "score"], ascending=[True, False])

    def explain(self, site_id: Any) -> pd.DataFrame:
        """Why this site scores as it does.

        Returns
        -------
        pandas.DataFrame
            One row per criterion, largest contribution first: ``column``,
            ``value`` (indicator units), ``standardised``, ``weight`` (the
            weight used, see :attr:`criteria`), ``contribution`` and
            ``contribution_pct`` (share of the score, %).

        Raises
        ------
        UnknownKeyError
            Unknown site (a ``KeyError``); CriteriaError (a ``ValueError``) if the site
            was excluded (with the reason) or is not assessable (with the
            missing inputs).
        """
        if site_id not in self.table.index:
            raise UnknownKeyError(f"site {site_id!r} is not among the {len(self.table)} "
                                  f"ranked sites (site_id index)")
        if self.table.at[site_id, "excluded"]:
            raise CriteriaError(
                f"site {site_id!r} is excluded: {self.table.at[site_id, 'excluded_reason']}"
            )
        if self.table.at[site_id, "status"] != "eligible":
            raise CriteriaError(
                f"site {site_id!r} is not assessable: no value for "
                f"{self.table.at[site_id, 'missing_inputs']}"
            )
        names = [c.name for c in self.spec.criteria]
        contrib = self.table.loc[site_id, [f"contrib_{n}" for n in names]].to_numpy(float)
        score = float(self.table.at[site_id, "score"])
        out = pd.DataFrame(
            {
                "column": [c.column for c in self.spec.criteria],
                "value": self.values.loc[site_id, names].to_numpy(float),
                "standardised": self.standardised.loc[site_id, names].to_numpy(float),
                "weight": self.weights[names].to_numpy(float),
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

    Sites lacking a constraint or criterion value are not assessable, with
    the missing columns; the others failing a constraint are excluded with the
    reason (:func:`site_status`); neither gets a score.
    Every criterion is rounded to its meaningful precision
    (:func:`indicator_precision`) and standardised over the eligible sites only
    (fuzzy membership does not depend on the other sites). A criterion constant
    within its precision over the eligible sites does not discriminate: it is
    warned about, contributes 0 and its weight goes to the others, renormalised
    to sum 1 (see :attr:`SuitabilityResult.criteria`). Then combined:

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
        excluded_reason, status, missing_inputs) and its ``criteria`` for
        precision, discriminating and the weights used.

    Warns
    -----
    CriteriaWarning
        Naming each criterion that does not discriminate
        (:class:`~productivecity._errors.NotDiscriminatingWarning`); and when none does.

    Raises
    ------
    SchemaError
        A criterion or constraint names a missing column (available ones
        listed) or a non-numeric one.
    EmptyLayerError
        No site is eligible (the numbers excluded and not assessable, and
        counts by reason and by missing column, in the message).

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("brussels-canal"))
    >>> result = pc.score_sites(table, spec)
    >>> result.table.columns[:3].tolist()
    ['score', 'rank', 'contrib_jobseekers_walk']
    >>> result.table["status"].value_counts().to_dict()
    {'eligible': 17, 'excluded': 16}
    >>> int(result.table["rank"].min())  # best
    1
    """
    if sites.index.has_duplicates:
        dup = sites.index[sites.index.duplicated()].unique()[:5].tolist()
        raise SchemaError(f"candidate sites: site ids (index) must be unique; repeated: {dup}")
    states = site_status(sites, spec)
    reasons, status = states["excluded_reason"], states["status"]
    eligible = status == "eligible"
    n_excl = int((status == "excluded").sum())
    n_na = int((status == "not assessable").sum())
    if not eligible.any():
        counts = (reasons[reasons != ""].str.split("; ").explode()
                  .str.replace(r" [-\d.e+]+ ", " x ", regex=True))
        gaps = states.loc[status == "not assessable", "missing_inputs"].str.split("; ").explode()
        raise EmptyLayerError(
            f"all {len(sites)} candidate sites are excluded or not assessable: "
            f"{n_excl} excluded by a rule, {n_na} not assessable (a value missing); "
            f"reasons: {counts.value_counts().to_dict()}; "
            f"missing at the not assessable sites: {gaps.value_counts().to_dict()}"
        )
    names = [c.name for c in spec.criteria]
    values = pd.DataFrame(
        {c.name: pd.to_numeric(sites.loc[eligible, c.column]).astype(float) for c in spec.criteria},
        index=sites.index[eligible],
    )
    cols, precision, discriminating = {}, [], []
    for c in spec.criteria:
        s, p, d = _standardise(values[c.name], c)
        cols[c.name] = s.to_numpy()
        precision.append(p)
        discriminating.append(d)
    std = pd.DataFrame(cols, index=values.index)
    w_spec = spec.weights[names].to_numpy(float)
    w = np.where(discriminating, w_spec, 0.0)
    if w.sum() > 0:
        w = w / w.sum()
        contrib, score = _score_matrix(std.to_numpy(), w, spec)
    else:
        warnings.warn(
            f"no criterion of weight > 0 discriminates among the {len(values)} eligible "
            f"site(s) (each is constant within its precision): every site scores 0 and "
            f"ties at rank 1",
            CriteriaWarning,
            stacklevel=2,
        )
        w = np.zeros_like(w)
        contrib = np.zeros(std.shape)
        score = contrib.sum(axis=1)
    crit_table = pd.DataFrame(
        {
            "column": [c.column for c in spec.criteria],
            "precision": precision,
            "discriminating": discriminating,
            "weight": w_spec,
            "weight_used": w,
        },
        index=pd.Index(names, name="criterion"),
    )
    table = pd.DataFrame(index=sites.index)
    table["score"] = pd.Series(score, index=values.index).reindex(sites.index)
    table["rank"] = table["score"].rank(method="min", ascending=False).astype("Int64")
    for j, n in enumerate(names):
        table[f"contrib_{n}"] = pd.Series(contrib[:, j], index=values.index).reindex(sites.index)
    table["excluded"] = (status == "excluded").to_numpy()
    table["excluded_reason"] = reasons
    table["status"] = status
    table["missing_inputs"] = states["missing_inputs"]
    logger.info(
        "scored %d site(s) with %s over %d criteria; %d excluded, %d not assessable",
        int(eligible.sum()),
        spec.method.upper(),
        len(names),
        n_excl,
        n_na,
    )
    if not all(discriminating):
        logger.info("criteria not discriminating (weight 0, the others renormalised): %s",
                    ", ".join(n for n, d in zip(names, discriminating, strict=True) if not d))
    return SuitabilityResult(spec=spec, table=table, standardised=std, values=values,
                             criteria=crit_table)


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

