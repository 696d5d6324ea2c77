"""Hub location-allocation on network travel times.

Choose ``k`` new hubs among candidate sites so that, together with the existing
hubs (fixed open), they

* cover the most demand (job seekers, residents, any weight) within ``T``
  minutes: the maximal covering location problem (MCLP, Church & ReVelle 1974),
  optionally with hub capacities; or
* minimise the demand-weighted travel time: the p-median problem (Hakimi 1964;
  ReVelle & Swain 1970), optionally capacitated.

Travel times come as a sparse long table of (demand point, facility, time_min)
pairs within a cutoff (:func:`travel_times_from_pairs` turns it into a
:class:`TravelTimes`); no dense matrix is ever built. Problems are solved exactly
as integer programmes with HiGHS (through its own Python API ``highspy``, or
through PuLP's modelling layer with ``solver="pulp"``, which also accepts any
other PuLP solver object). Every result reports the solver status, the
objective, the best bound and the relative MIP gap; an infeasible or failed
solve raises :class:`~productivecity._errors.SolverError`, never returns a
partial answer. :func:`coverage_curve` solves k = 0..K and reports the marginal
gain of each added hub; :func:`greedy_covering` is a reference heuristic.
:func:`two_tier_covering` opens hubs of two kinds (neighbourhood and city-wide
profiles), each covering demand in its own travel mode and threshold.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from productivecity._console import progress as _progress
from productivecity._console import solver_output
from productivecity._errors import AllocationError, SolverError
from productivecity._validate import check_limit_min, require_columns, require_numeric

logger = logging.getLogger(__name__)

_INF = highspy.kHighsInf


# --------------------------------------------------------------------------- input structure


@dataclasses.dataclass(frozen=True)
class TravelTimes:
    """Sparse travel times between demand points and facilities within a cutoff.

    Build it with :func:`travel_times_from_pairs`. Pairs farther than
    ``limit_min`` are absent (unknown travel time, treated as unreachable).

    Attributes
    ----------
    demand : pandas.Series
        Demand weight per demand point (e.g. job seekers, count), index = demand id.
    candidates : pandas.Index
        Candidate site ids (new hubs may open there).
    existing : pandas.Index
        Existing hub ids (always open; disjoint from ``candidates``).
    demand_pos, facility_pos : numpy.ndarray of int
        Per pair, position in ``demand`` and in ``facilities``.
    time_min : numpy.ndarray of float
        Per pair, travel time in minutes (0 allowed).
    limit_min : float
        Pairs up to this time are present.
    """

    demand: pd.Series
    candidates: pd.Index
    existing: pd.Index
    demand_pos: np.ndarray
    facility_pos: np.ndarray
    time_min: np.ndarray
    limit_min: float

    @property
    def facilities(self) -> pd.Index:
        """Candidate ids followed by existing hub ids (positions of ``facility_pos``)."""
        return self.candidates.append(self.existing)

    @property
    def n_pairs(self) -> int:
        """Number of stored (demand, facility) pairs."""
        return len(self.time_min)

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``demand_id``, ``facility_id``, ``existing`` (bool), ``time_min``."""
        fac = self.facilities
        return pd.DataFrame(
            {
                "demand_id": self.demand.index[self.demand_pos],
                "facility_id": fac[self.facility_pos],
                "existing": self.facility_pos >= len(self.candidates),
                "time_min": self.time_min,
            }
        )

    def coverage_matrix(self, limit_min: float) -> sp.csr_matrix:
        """Boolean CSR matrix demand x facility: reachable within ``limit_min``."""
        keep = self.time_min <= limit_min
        m = sp.csr_matrix(
            (
                np.ones(int(keep.sum()), dtype=bool),
                (self.demand_pos[keep], self.facility_pos[keep]),
            ),
            shape=(len(self.demand), len(self.candidates) + len(self.existing)),
        )
        m.sort_indices()
        return m


def travel_times_from_pairs(
    pairs: pd.DataFrame,
    demand: pd.Series,
    *,
    candidates: Iterable[Any],
    existing: Iterable[Any] = (),
    limit_min: float,
    demand_col: str = "demand_id",
    facility_col: str = "site_id",
    time_col: str = "time_min",
) -> TravelTimes:
    """Build a :class:`TravelTimes` from a long table of travel times.

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per (demand point, facility) with a travel time in minutes, e.g.
        from the accessibility engine; facilities are candidate sites or
        existing hubs. Rows with ``time_min > limit_min`` are left out (counted
        in the log); for repeated pairs the shortest time is kept (counted).
    demand : pandas.Series
        Demand weight per demand point (index = demand id), >= 0, no NaN.
        Demand points without any pair are kept: they are unreachable.
    candidates : iterable
        Candidate site ids (all of them, also those reaching no demand).
    existing : iterable
        Existing hub ids, fixed open; must not overlap ``candidates``.
    limit_min : float
        Travel-time cutoff in minutes (> 0).
    demand_col, facility_col, time_col : str
        Column names in ``pairs``.

    Returns
    -------
    TravelTimes

    Raises
    ------
    SchemaError
        Missing or non-numeric columns.
    AllocationError
        Negative/NaN times or demand, unknown demand or facility ids, duplicate
        ids, candidates overlapping existing hubs.
    """
    require_columns(pairs, [demand_col, facility_col, time_col], what="travel-time pairs")
    require_numeric(pairs, [time_col], what="travel-time pairs")
    limit_min = check_limit_min(limit_min)
    cand = pd.Index(list(candidates))
    exist = pd.Index(list(existing))
    problems = []
    for name, idx in (("candidates", cand), ("existing", exist), ("demand index", demand.index)):
        if idx.has_duplicates:
            problems.append(f"{name} has repeated ids, e.g. {idx[idx.duplicated()][:3].tolist()}")
    both = cand.intersection(exist)
    if len(both):
        problems.append(
            f"{len(both)} id(s) are both candidates and existing hubs, e.g. {both[:3].tolist()}"
        )
    d = pd.to_numeric(demand, errors="coerce").astype(float)
    if d.isna().any() or (d < 0).any() or not np.isfinite(d).all():
        bad = demand[d.isna() | (d < 0) | ~np.isfinite(d)]
        problems.append(
            f"demand must be finite numbers >= 0; {len(bad)} bad value(s), e.g. "
            f"{bad.head(3).to_dict()}"
        )
    t = pd.to_numeric(pairs[time_col]).astype(float).to_numpy()
    bad_t = np.isnan(t) | (t < 0)
    if bad_t.any():
        problems.append(
            f"{time_col} must be >= 0 and not NaN; {int(bad_t.sum())} bad value(s), e.g. "
            f"{t[bad_t][:3].tolist()}"
        )
    if problems:
        raise AllocationError("travel-time input: " + "; ".join(problems))
    fac = cand.append(exist)
    d_pos = d.index.get_indexer(pairs[demand_col])
    f_pos = fac.get_indexer(pairs[facility_col])
    if (d_pos < 0).any():
        unk = pairs.loc[d_pos < 0, demand_col].unique()
        raise AllocationError(
            f"travel-time pairs name {len(unk)} demand id(s) absent from the demand series, "
            f"e.g. {unk[:5].tolist()}"
        )
    if (f_pos < 0).any():
        unk = pairs.loc[f_pos < 0, facility_col].unique()
        raise AllocationError(
            f"travel-time pairs name {len(unk)} facility id(s) that are neither candidates nor "
            f"existing hubs, e.g. {unk[:5].tolist()}"
        )
    within = t <= limit_min
    if (~within).any():
        logger.info(
            "left out %d pair(s) beyond the %g min cutoff", int((~within).sum()), limit_min
        )
    frame = pd.DataFrame({"d": d_pos[within], "f": f_pos[within], "t": t[within]})
    n_before = len(frame)
    frame = frame.groupby(["d", "f"], sort=True, as_index=False)["t"].min()
    if len(frame) < n_before:
        logger.info("kept the shortest time of %d repeated pair(s)", n_before - len(frame))
    tt = TravelTimes(
        demand=d.rename(demand.name),
        candidates=cand,
        existing=exist,
        demand_pos=frame["d"].to_numpy(np.int64),
        facility_pos=frame["f"].to_numpy(np.int64),
        time_min=frame["t"].to_numpy(float),
        limit_min=float(limit_min),
    )
    logger.info(
        "travel times: %d demand point(s), %d candidate(s), %d existing hub(s), %d pair(s) "
        "within %g min",
        len(d),
        len(cand),
        len(exist),
        tt.n_pairs,
        limit_min,
    )
    return tt


# --------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class AllocationResult:
    """Solution of one location-allocation problem.

    Attributes
    ----------
    problem : str
        ``"mclp"``, ``"mclp_capacitated"``, ``"pmedian"``, or ``"greedy_mclp"``.
    k : int
        Number of new hubs opened.
    selected : tuple
        Ids of the new hubs (candidate order).
    existing : tuple
        Ids of the existing hubs (always open).
    status : str
        Solver status, e.g. ``"Optimal"``, ``"Time limit reached"``
        (``"Heuristic"`` for the greedy reference).
    optimal : bool
        True when the solver proved optimality (within ``mip_rel_gap``).
    objective : float
        MCLP: covered demand (n); p-median: demand-weighted time (min x n,
        unserved demand counted at the penalty).
    best_bound : float
        Solver's bound on the objective (NaN for the heuristic).
    mip_gap : float
        Relative gap ``|objective - bound| / |objective|`` (0 when proven
        optimal with a zero tolerance; NaN for the heuristic).
    solve_time_s : float
        Wall-clock time of the solve, seconds.
    limit_min : float
        Coverage threshold T (minutes).
    total_demand_n : float
        Sum of all demand.
    covered_demand_n : float
        Demand served within T by the open hubs (existing + new).
    baseline_covered_demand_n : float
        Demand within T of the existing hubs alone (with capacities: the most
        they can serve).
    unreachable_demand_n : float
        Demand with no facility at all (candidate or existing) within T.
    assignment : pandas.DataFrame
        Per demand point: ``demand_n``, ``facility_id`` (the serving hub; the
        nearest open one within T, or the main one under capacities; NaN if
        none), ``time_min`` (to that hub), ``covered_share`` (0-1 share of the
        point's demand served within T).
    sites : pandas.DataFrame
        Per facility (candidates then existing): ``existing`` (bool), ``open``
        (bool), ``reachable_demand_n`` (demand within T), ``assigned_demand_n``
        (demand the hub serves in ``assignment``).
    """

    problem: str
    k: int
    selected: tuple
    existing: tuple
    status: str
    optimal: bool
    objective: float
    best_bound: float
    mip_gap: float
    solve_time_s: float
    limit_min: float
    total_demand_n: float
    covered_demand_n: float
    baseline_covered_demand_n: float
    unreachable_demand_n: float
    assignment: pd.DataFrame
    sites: pd.DataFrame

    @property
    def new_covered_demand_n(self) -> float:
        """Demand covered beyond what the existing hubs cover (n)."""
        return self.covered_demand_n - self.baseline_covered_demand_n

    @property
    def mean_time_min(self) -> float:
        """Demand-weighted mean travel time of served demand, minutes (NaN if none)."""
        a = self.assignment
        w = a["demand_n"] * a["covered_share"]
        return float((w * a["time_min"]).sum() / w.sum()) if w.sum() > 0 else float("nan")

    def summary(self) -> pd.Series:
        """One-line summary (status, objective, gap, coverage, time)."""
        return pd.Series(
            {
                "problem": self.problem,
                "k": self.k,
                "status": self.status,
                "objective": self.objective,
                "mip_gap": self.mip_gap,
                "covered_demand_n": self.covered_demand_n,
                "new_covered_demand_n": self.new_covered_demand_n,
                "total_demand_n": self.total_demand_n,
                "mean_time_min": self.mean_time_min,
                "solve_time_s": self.solve_time_s,
                "selected": ";".join(map(str, self.selected)),
            }
        )


# --------------------------------------------------------------------------- solver layer


@dataclasses.dataclass
class _Milp:
    """A MILP in matrix form: opt c'x, row_lo <= A x <= row_hi, col_lo <= x <= col_hi."""

    c: np.ndarray
    a: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    maximize: bool
    # HiGHS options tuned for this model (e.g. presolve off for MCLP, where
    # presolve costs more than it saves); used by the highspy backend only
    highs_options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Solution:
    x: np.ndarray
    status: str
    optimal: bool
    objective: float
    bound: float
    gap: float
    time_s: float


def _solve(
    milp: _Milp,
    *,
    solver: Any,
    time_limit_s: float | None,
    mip_rel_gap: float,
    start: np.ndarray | None = None,
    what: str,
) -> _Solution:
    """Solve ``milp``; raise SolverError unless a feasible solution was found."""
    if isinstance(solver, str) and solver == "highs":
        sol = _solve_highspy(milp, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, start=start)
    elif isinstance(solver, str) and solver != "pulp":
        raise AllocationError(f"solver must be 'highs', 'pulp' or a PuLP solver, got {solver!r}")
    else:
        sol = _solve_pulp(milp, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if sol.x is None:
        raise SolverError(
            f"{what}: the solver found no feasible solution (status {sol.status!r}); "
            "no result is returned"
        )
    if not sol.optimal:
        logger.warning(
            "%s: status %r, solution not proven optimal (solver gap %.3g)",
            what,
            sol.status,
            sol.gap,
        )
    return sol


def _solve_highspy(
    milp: _Milp, *, time_limit_s: float | None, mip_rel_gap: float, start: np.ndarray | None
) -> _Solution:
    a = milp.a.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = a.shape[1]
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = milp.c.astype(float)
    lp.col_lower_ = milp.col_lo.astype(float)
    lp.col_upper_ = milp.col_hi.astype(float)
    lp.row_lower_ = milp.row_lo.astype(float)
    lp.row_upper_ = milp.row_hi.astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
        for i in milp.integer
    ]
    lp.sense_ = highspy.ObjSense.kMaximize if milp.maximize else highspy.ObjSense.kMinimize
    with solver_output(logger):  # HiGHS prints its banner (from C) on the first model
        h = highspy.Highs()
    # the solver's log only with -vv (DEBUG); it goes to standard output
    h.setOptionValue("output_flag", logger.isEnabledFor(logging.DEBUG))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    for key, value in milp.highs_options.items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    if start is not None:
        s = highspy.HighsSolution()
        s.col_value = np.asarray(start, dtype=float)
        s.value_valid = True
        h.setSolution(s)
    t0 = time.perf_counter()
    h.run()
    elapsed = time.perf_counter() - t0
    model_status = h.getModelStatus()
    status = h.modelStatusToString(model_status)
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_x else None
    optimal = model_status == highspy.HighsModelStatus.kOptimal
    obj = float(info.objective_function_value) if has_x else float("nan")
    if milp.integer.any():
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_x else float("nan")
    else:
        bound, gap = obj, 0.0
    if optimal and not math.isfinite(gap):
        gap = 0.0
    return _Solution(x, status, optimal, obj, bound, gap, elapsed)


def _solve_pulp(
    milp: _Milp, *, solver: Any, time_limit_s: float | None, mip_rel_gap: float
) -> _Solution:
    import pulp

    prob = pulp.LpProblem("productivecity", pulp.LpMaximize if milp.maximize else pulp.LpMinimize)
    # PuLP >= 3.3 attaches variables to the problem; older versions construct them directly
    new_var = getattr(prob, "add_variable", None) or pulp.LpVariable
    xs = []
    for j in range(len(milp.c)):
        lo = None if milp.col_lo[j] == -_INF else float(milp.col_lo[j])
        hi = None if milp.col_hi[j] == _INF else float(milp.col_hi[j])
        cat = pulp.LpInteger if milp.integer[j] else pulp.LpContinuous
        xs.append(new_var(f"x{j}", lowBound=lo, upBound=hi, cat=cat))
    prob += pulp.LpAffineExpression([(xs[j], float(v)) for j, v in enumerate(milp.c) if v != 0])
    a = milp.a.tocsr()
    for i in range(a.shape[0]):
        sl = slice(a.indptr[i], a.indptr[i + 1])
        expr = pulp.LpAffineExpression(
            [(xs[j], float(v)) for j, v in zip(a.indices[sl], a.data[sl], strict=True)]
        )
        lo, hi = milp.row_lo[i], milp.row_hi[i]
        if lo == hi:
            prob += expr == float(lo), f"r{i}"
        else:
            if lo != -_INF:
                prob += expr >= float(lo), f"r{i}_lo"
            if hi != _INF:
                prob += expr <= float(hi), f"r{i}_hi"
    if solver == "pulp":
        solver = pulp.HiGHS(msg=False, gapRel=mip_rel_gap, timeLimit=time_limit_s)
    t0 = time.perf_counter()
    with solver_output(logger):
        prob.solve(solver)
    elapsed = time.perf_counter() - t0
    model = getattr(prob, "solverModel", None)
    if isinstance(model, highspy.Highs):
        model_status = model.getModelStatus()
        status = model.modelStatusToString(model_status)
        optimal = model_status == highspy.HighsModelStatus.kOptimal
        info = model.getInfo()
        has_x = info.primal_solution_status == 2
        bound = float(info.mip_dual_bound) if milp.integer.any() else float("nan")
        gap = float(info.mip_gap) if milp.integer.any() else 0.0
    else:
        status = pulp.LpStatus[prob.status]
        optimal = prob.status == pulp.LpStatusOptimal
        has_x = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        bound, gap = float("nan"), float("nan")
    if optimal and not math.isfinite(gap):
        gap = 0.0
    x = np.array([v.varValue or 0.0 for v in xs]) if has_x else None
    obj = float(pulp.value(prob.objective) or 0.0) if has_x else float("nan")
    if optimal and not math.isfinite(bound):
        bound = obj
    return _Solution(x, status, optimal, obj, bound, gap, elapsed)


# --------------------------------------------------------------------------- helpers


def _check_k(k: int, n_candidates: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise AllocationError(f"k must be an integer >= 0, got {k!r}")
    if k > n_candidates:
        raise AllocationError(
            f"k = {k} new hubs requested but there are only {n_candidates} candidate sites"
        )


def _check_time(tt: TravelTimes, limit_min: float | None) -> float:
    if limit_min is None:
        return tt.limit_min
    limit_min = check_limit_min(limit_min)
    if limit_min > tt.limit_min:
        raise AllocationError(
            f"limit_min = {limit_min:g} exceeds the travel-time cutoff "
            f"{tt.limit_min:g} min of the input; pairs beyond the cutoff are unknown"
        )
    return float(limit_min)


def _candidate_mask(tt: TravelTimes, candidates: Iterable[Any] | None) -> np.ndarray:
    """Boolean mask over tt.candidates of those allowed to open."""
    if candidates is None:
        return np.ones(len(tt.candidates), dtype=bool)
    allowed = pd.Index(list(candidates))
    unknown = allowed.difference(tt.candidates)
    if len(unknown):
        raise AllocationError(
            f"{len(unknown)} allowed candidate id(s) are not candidates of the travel-time "
            f"input, e.g. {unknown[:5].tolist()}"
        )
    return tt.candidates.isin(allowed)


def _capacity_array(tt: TravelTimes, capacity: pd.Series | None) -> np.ndarray | None:
    """Capacity per facility (candidates then existing), inf where not given."""
    if capacity is None:
        return None
    fac = tt.facilities
    unknown = capacity.index.difference(fac)
    if len(unknown):
        raise AllocationError(
            f"capacity names {len(unknown)} id(s) that are not facilities, "
            f"e.g. {unknown[:5].tolist()}"
        )
    cap = pd.to_numeric(capacity, errors="coerce").astype(float).reindex(fac)
    if (cap < 0).any():
        raise AllocationError(
            f"capacities must be >= 0; negative for {cap[cap < 0].index[:5].tolist()}"
        )
    return cap.fillna(np.inf).to_numpy()


def _nearest_open(
    tt: TravelTimes, open_mask: np.ndarray, limit_min: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per demand point: position of the nearest open facility within T (-1) and its time."""
    keep = (tt.time_min <= limit_min) & open_mask[tt.facility_pos]
    d, f, t = tt.demand_pos[keep], tt.facility_pos[keep], tt.time_min[keep]
    order = np.lexsort((f, t, d))
    d, f, t = d[order], f[order], t[order]
    first = np.ones(len(d), dtype=bool)
    first[1:] = d[1:] != d[:-1]
    fac = np.full(len(tt.demand), -1, dtype=np.int64)
    tim = np.full(len(tt.demand), np.nan)
    fac[d[first]] = f[first]
    tim[d[first]] = t[first]
    return fac, tim


def _build_result(
    tt: TravelTimes,
    *,
    problem: str,
    k: int,
    open_cand: np.ndarray,
    limit_min: float,
    sol: _Solution,
    baseline: float,
    share_by_pair: np.ndarray | None = None,
    pair_keep: np.ndarray | None = None,
) -> AllocationResult:
    """Assemble an AllocationResult from an open-facility mask and optional flows."""
    n_c = len(tt.candidates)
    fac_ids = tt.facilities
    open_mask = np.concatenate([open_cand, np.ones(len(tt.existing), dtype=bool)])
    d = tt.demand.to_numpy(float)
    within = tt.time_min <= limit_min
    reach = np.bincount(
        tt.facility_pos[within], weights=d[tt.demand_pos[within]], minlength=len(fac_ids)
    )
    any_reach = np.zeros(len(d), dtype=bool)
    any_reach[tt.demand_pos[within]] = True
    if share_by_pair is None:
        fac, tim = _nearest_open(tt, open_mask, limit_min)
        share = (fac >= 0).astype(float)
        assigned = np.bincount(fac[fac >= 0], weights=d[fac >= 0], minlength=len(fac_ids))
    else:
        dp, fp, tp = tt.demand_pos[pair_keep], tt.facility_pos[pair_keep], tt.time_min[pair_keep]
        flow = share_by_pair.clip(0, 1)
        flow[flow < 1e-9] = 0.0
        share = np.bincount(dp, weights=flow, minlength=len(d)).clip(0, 1)
        assigned = np.bincount(fp, weights=flow * d[dp], minlength=len(fac_ids))
        fac = np.full(len(d), -1, dtype=np.int64)
        tim = np.full(len(d), np.nan)
        pos = flow > 0
        if pos.any():
            # main serving facility: largest share, then shortest time
            order = np.lexsort((tp[pos], -flow[pos], dp[pos]))
            dd, ff, ttm = dp[pos][order], fp[pos][order], tp[pos][order]
            first = np.ones(len(dd), dtype=bool)
            first[1:] = dd[1:] != dd[:-1]
            fac[dd[first]] = ff[first]
            tim[dd[first]] = ttm[first]
    fac_col = pd.Series(pd.NA, index=tt.demand.index, dtype=object)
    has = fac >= 0
    fac_col[has] = np.asarray(fac_ids[fac[has]], dtype=object)
    assignment = pd.DataFrame(
        {"demand_n": d, "facility_id": fac_col, "time_min": tim, "covered_share": share},
        index=tt.demand.index,
    )
    sites = pd.DataFrame(
        {
            "existing": np.arange(len(fac_ids)) >= n_c,
            "open": open_mask,
            "reachable_demand_n": reach,
            "assigned_demand_n": assigned,
        },
        index=fac_ids,
    )
    covered = float((d * share).sum())
    return AllocationResult(
        problem=problem,
        k=int(k),
        selected=tuple(tt.candidates[open_cand]),
        existing=tuple(tt.existing),
        status=sol.status,
        optimal=sol.optimal,
        objective=sol.objective,
        best_bound=sol.bound,
        mip_gap=sol.gap,
        solve_time_s=sol.time_s,
        limit_min=limit_min,
        total_demand_n=float(d.sum()),
        covered_demand_n=covered,
        baseline_covered_demand_n=baseline,
        unreachable_demand_n=float(d[~any_reach].sum()),
        assignment=assignment,
        sites=sites,
    )


# --------------------------------------------------------------------------- MCLP


@dataclasses.dataclass
class _McLPModel:
    """Uncapacitated MCLP reduced to uncovered demand, grouped by covering set."""

    milp: _Milp
    n_c: int
    group_cov: sp.csr_matrix  # groups x candidates
    group_w: np.ndarray
    baseline: float
    allowed: np.ndarray


def _mclp_model(tt: TravelTimes, limit_min: float, allowed: np.ndarray) -> _McLPModel:
    n_c = len(tt.candidates)
    d = tt.demand.to_numpy(float)
    cov = tt.coverage_matrix(limit_min)
    by_existing = np.asarray(cov[:, n_c:].sum(axis=1)).ravel() > 0
    baseline = float(d[by_existing].sum())
    cand_cov = cov[:, :n_c][:, np.flatnonzero(allowed)] if not allowed.all() else cov[:, :n_c]
    if not allowed.all():
        # map back to full candidate positions, zero columns for disallowed ones
        cols = np.flatnonzero(allowed)
        cand_cov = sp.csr_matrix(
            (cand_cov.data, cols[cand_cov.indices], cand_cov.indptr), shape=(len(d), n_c)
        )
    rows = np.flatnonzero(~by_existing & (d > 0) & (np.diff(cand_cov.indptr) > 0))
    sub = cand_cov[rows]
    sub.sort_indices()
    keys = [sub.indices[sub.indptr[i] : sub.indptr[i + 1]].tobytes() for i in range(len(rows))]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    n_g = len(uniques)
    group_w = np.bincount(codes, weights=d[rows], minlength=n_g)
    first_row = np.zeros(n_g, dtype=np.int64)
    first_row[codes[::-1]] = np.arange(len(rows))[::-1]
    group_cov = sub[first_row].astype(float).tocsr()
    # rows: y_g - sum_{j in N_g} x_j <= 0 ; sum_j x_j = k
    a_top = sp.hstack([-group_cov, sp.identity(n_g, format="csr")], format="csr")
    card = sp.csr_matrix(
        (np.ones(n_c), (np.zeros(n_c, dtype=np.int64), np.arange(n_c))), shape=(1, n_c + n_g)
    )
    a = sp.vstack([a_top, card], format="csr")
    col_hi = np.concatenate([allowed.astype(float), np.ones(n_g)])
    milp = _Milp(
        c=np.concatenate([np.zeros(n_c), group_w]),
        a=a,
        row_lo=np.concatenate([np.full(n_g, -_INF), [0.0]]),
        row_hi=np.concatenate([np.zeros(n_g), [0.0]]),
        col_lo=np.zeros(n_c + n_g),
        col_hi=col_hi,
        integer=np.concatenate([np.ones(n_c, dtype=bool), np.zeros(n_g, dtype=bool)]),
        maximize=True,
        # measured on 5,000 candidates x 2,000 demand points: presolve took 6 of 7 s
        highs_options={"presolve": "off"},
    )
    logger.debug(
        "MCLP model: %d candidates, %d demand groups (from %d points)", n_c, n_g, len(rows)
    )
    return _McLPModel(milp, n_c, group_cov, group_w, baseline, allowed)


def _greedy_pick(
    group_cov: sp.csr_matrix, group_w: np.ndarray, allowed: np.ndarray, k: int, start: np.ndarray
) -> np.ndarray:
    """Greedy additions to ``start`` (bool mask over candidates) until k are open."""
    chosen = start.copy()
    covered = np.asarray(group_cov[:, chosen].sum(axis=1)).ravel() > 0
    cov_t = group_cov.T.tocsr()
    while chosen.sum() < k:
        gain = cov_t @ (group_w * ~covered)
        gain = np.where(allowed & ~chosen, gain, -1.0)
        j = int(np.argmax(gain))
        chosen[j] = True
        covered |= np.asarray(group_cov[:, j].todense()).ravel() > 0
    return chosen


def _mclp_start(model: _McLPModel, k: int, start: np.ndarray) -> np.ndarray:
    x = _greedy_pick(model.group_cov, model.group_w, model.allowed, k, start)
    y = (model.group_cov @ x.astype(float)) > 0
    return np.concatenate([x.astype(float), y.astype(float)])


def _solve_mclp_model(
    tt: TravelTimes,
    model: _McLPModel,
    k: int,
    limit_min: float,
    *,
    solver: Any,
    time_limit_s: float | None,
    mip_rel_gap: float,
    warm: np.ndarray | None,
    prefer: np.ndarray | None = None,
) -> AllocationResult:
    milp = model.milp
    milp.row_lo[-1] = milp.row_hi[-1] = float(k)
    start = _mclp_start(model, k, warm) if warm is not None and warm.sum() <= k else None
    sol = _solve(
        milp,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        start=start,
        what=f"maximal covering (k={k}, T={limit_min:g} min)",
    )
    if prefer is not None and sol.optimal and k > 0:
        sol = _prefer_among_optima(model, sol, prefer, solver=solver, time_limit_s=time_limit_s,
                                   what=f"maximal covering tie-break (k={k})")
    open_cand = sol.x[: model.n_c] > 0.5
    if open_cand.sum() != k:
        raise SolverError(
            f"maximal covering (k={k}): solver returned {int(open_cand.sum())} open sites"
        )
    # the model holds only demand the existing hubs miss: add their coverage back and state
    # the gap relative to the reported (total) coverage
    sol.objective += model.baseline
    sol.bound += model.baseline
    if not sol.optimal and math.isfinite(sol.bound) and sol.objective > 0:
        sol.gap = abs(sol.bound - sol.objective) / sol.objective
    return _build_result(
        tt,
        problem="mclp",
        k=k,
        open_cand=open_cand,
        limit_min=limit_min,
        sol=sol,
        baseline=model.baseline,
    )


def _prefer_among_optima(model: _McLPModel, sol: _Solution, prefer: np.ndarray, *, solver,
                         time_limit_s, what: str) -> _Solution:
    """Among the sets with the optimal coverage, take the one with the largest ``prefer`` sum.

    A second MILP keeps the coverage at the optimum (to a relative 1e-9) and maximises the
    preference (e.g. the suitability score) of the open candidates. The returned solution
    keeps the first solve's status, objective, bound and gap: coverage is the objective.
    """
    milp = model.milp
    n_c, n_g = model.n_c, len(model.group_w)
    tol = 1e-9 * max(1.0, abs(sol.objective))
    keep = sp.csr_matrix(np.concatenate([np.zeros(n_c), model.group_w])[None, :])
    second = _Milp(
        c=np.concatenate([prefer, np.zeros(n_g)]),
        a=sp.vstack([milp.a, keep], format="csr"),
        row_lo=np.concatenate([milp.row_lo, [sol.objective - tol]]),
        row_hi=np.concatenate([milp.row_hi, [_INF]]),
        col_lo=milp.col_lo,
        col_hi=milp.col_hi,
        integer=milp.integer,
        maximize=True,
        highs_options=milp.highs_options,
    )
    sol2 = _solve(second, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=0.0,
                  start=sol.x, what=what)
    return dataclasses.replace(sol, x=sol2.x, time_s=sol.time_s + sol2.time_s)


def _prefer_array(tt: TravelTimes, prefer: pd.Series | None) -> np.ndarray | None:
    """Preference per candidate scaled to 0..1 (missing = 0), or None."""
    if prefer is None:
        return None
    v = pd.to_numeric(pd.Series(prefer), errors="coerce").reindex(tt.candidates).to_numpy(float)
    if not np.isfinite(v).any():
        return None
    lo, hi = np.nanmin(v), np.nanmax(v)
    v = (v - lo) / (hi - lo) if hi > lo else np.ones_like(v)
    return np.nan_to_num(v, nan=0.0)


def _capacitated_mclp(
    tt: TravelTimes,
    k: int,
    limit_min: float,
    allowed: np.ndarray,
    cap: np.ndarray,
    *,
    solver: Any,
    time_limit_s: float | None,
    mip_rel_gap: float,
) -> tuple[AllocationResult, float]:
    n_c = len(tt.candidates)
    n_f = n_c + len(tt.existing)
    d = tt.demand.to_numpy(float)
    keep = (tt.time_min <= limit_min) & (d[tt.demand_pos] > 0)
    keep &= np.concatenate([allowed, np.ones(len(tt.existing), dtype=bool)])[tt.facility_pos]
    dp, fp = tt.demand_pos[keep], tt.facility_pos[keep]
    n_p = len(dp)
    n_d = len(d)
    z = np.arange(n_p)
    # rows 0..n_d-1: sum_j z_ij <= 1 ; rows n_d..n_d+n_f-1: sum_i d_i z_ij - cap_j x_j <= 0
    # (existing: x fixed to 1 via bounds) ; last row: sum_j x_j (candidates) = k
    finite = np.isfinite(cap)
    capcol = np.flatnonzero(finite)  # facilities with a capacity row
    row_of_fac = np.full(n_f, -1)
    row_of_fac[capcol] = n_d + np.arange(len(capcol))
    in_cap = row_of_fac[fp] >= 0
    x_col = n_p + np.arange(n_f)
    rows = np.concatenate(
        [dp, row_of_fac[fp][in_cap], row_of_fac[capcol], np.full(n_c, n_d + len(capcol))]
    )
    cols = np.concatenate([z, z[in_cap], x_col[capcol], x_col[:n_c]])
    vals = np.concatenate([np.ones(n_p), d[dp][in_cap], -cap[capcol], np.ones(n_c)])
    n_rows = n_d + len(capcol) + 1
    a = sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_p + n_f))
    col_lo = np.concatenate([np.zeros(n_p), np.zeros(n_c), np.ones(len(tt.existing))])
    col_hi = np.concatenate([np.ones(n_p), allowed.astype(float), np.ones(len(tt.existing))])
    # without a capacity row a pair must still need its facility open: z_ij <= x_j
    nocap = ~in_cap & (fp < n_c)
    if nocap.any():
        extra = sp.csr_matrix(
            (
                np.concatenate([np.ones(nocap.sum()), -np.ones(nocap.sum())]),
                (
                    np.concatenate([np.arange(nocap.sum())] * 2),
                    np.concatenate([z[nocap], x_col[fp[nocap]]]),
                ),
            ),
            shape=(int(nocap.sum()), n_p + n_f),
        )
        a = sp.vstack([a, extra], format="csr")
    n_extra = a.shape[0] - n_rows
    row_lo = np.concatenate([np.full(n_d + len(capcol), -_INF), [k], np.full(n_extra, -_INF)])
    row_hi = np.concatenate([np.ones(n_d), np.zeros(len(capcol)), [k], np.zeros(n_extra)])
    milp = _Milp(
        c=np.concatenate([d[dp], np.zeros(n_f)]),
        a=a,
        row_lo=row_lo,
        row_hi=row_hi,
        col_lo=col_lo,
        col_hi=col_hi,
        integer=np.concatenate([np.zeros(n_p, dtype=bool), np.ones(n_f, dtype=bool)]),
        maximize=True,
    )
    sol = _solve(
        milp,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        what=f"capacitated maximal covering (k={k}, T={limit_min:g} min)",
    )
    open_cand = sol.x[n_p : n_p + n_c] > 0.5
    return (
        _build_result(
            tt,
            problem="mclp_capacitated",
            k=k,
            open_cand=open_cand,
            limit_min=limit_min,
            sol=sol,
            baseline=float("nan"),
            share_by_pair=sol.x[:n_p].copy(),
            pair_keep=keep,
        ),
        sol.objective,
    )


def maximal_covering(
    tt: TravelTimes,
    k: int,
    *,
    limit_min: float | None = None,
    capacity: pd.Series | None = None,
    candidates: Iterable[Any] | None = None,
    solver: Any = "highs",
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.0,
    prefer: pd.Series | None = None,
) -> AllocationResult:
    """Open ``k`` new hubs that maximise the demand covered within ``limit_min``.

    Existing hubs are open in every solution; demand they already cover counts
    as covered (``baseline_covered_demand_n``). Without capacities, a demand
    point is covered when any open hub is within T (Church & ReVelle 1974); the
    model keeps only demand the existing hubs do not cover and merges demand
    points with identical candidate sets. With ``capacity``, each hub serves at
    most its capacity (demand n) and demand may be split between hubs.

    Parameters
    ----------
    tt : TravelTimes
        Sparse travel times (minutes).
    k : int
        New hubs to open, 0 <= k <= number of allowed candidates.
    limit_min : float, optional
        Coverage threshold T in minutes (default: ``tt.limit_min``; not above it).
    capacity : pandas.Series, optional
        Capacity (demand n) per facility id, candidates and existing hubs;
        facilities missing or NaN are unlimited.
    candidates : iterable, optional
        Restrict new hubs to these candidate ids (e.g. the sites not excluded by
        :func:`productivecity.siting.scoring.score_sites`).
    solver : {"highs", "pulp"} or pulp solver
        ``"highs"``: HiGHS through ``highspy``; ``"pulp"``: the same model
        through PuLP with ``pulp.HiGHS``; or a PuLP solver object (e.g.
        ``pulp.PULP_CBC_CMD(msg=False)``).
    time_limit_s : float, optional
        Solver time limit in seconds; on expiry the best solution is returned
        with its status and gap (a warning is logged).
    mip_rel_gap : float
        Relative optimality tolerance (0 = prove exact optimality).
    prefer : pandas.Series, optional
        Preference per candidate id (e.g. the suitability score). Among the sets that
        reach the optimal coverage, the one with the largest total preference is
        returned (a second, lexicographic solve); without it any optimal set may be
        returned, e.g. arbitrary sites once the coverage cannot grow. Uncapacitated only.

    Returns
    -------
    AllocationResult
        ``objective`` = ``covered_demand_n`` (demand n within T).

    Raises
    ------
    AllocationError
        k out of range, unknown candidate ids, bad capacities, T above cutoff.
    SolverError
        Infeasible problem or no solution found.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> inputs = load_indicator_inputs(layers)  # street networks and the demand surface
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> units = pc.demand_units(layers, inputs.demand)
    >>> tt = pc.network_travel_times(inputs.walk, sites, units, limit_min=10,
    ...                              demand_column="jobseekers_low_edu_n", existing=layers["hubs"])
    >>> res = pc.maximal_covering(tt, 2)  # 2 new hubs next to the 3 existing ones
    >>> len(res.selected), res.optimal
    (2, True)
    >>> round(res.baseline_covered_demand_n), round(res.covered_demand_n)  # job seekers
    (734, 1841)
    >>> round(res.total_demand_n)
    3441
    """
    T = _check_time(tt, limit_min)
    allowed = _candidate_mask(tt, candidates)
    _check_k(k, int(allowed.sum()))
    cap = _capacity_array(tt, capacity)
    if cap is not None:
        res, _ = _capacitated_mclp(
            tt,
            k,
            T,
            allowed,
            cap,
            solver=solver,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
        )
        base, _ = _capacitated_mclp(
            tt,
            0,
            T,
            allowed,
            cap,
            solver=solver,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
        )
        return dataclasses.replace(res, baseline_covered_demand_n=base.covered_demand_n)
    model = _mclp_model(tt, T, allowed)
    return _solve_mclp_model(
        tt,
        model,
        k,
        T,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        warm=np.zeros(model.n_c, dtype=bool),
        prefer=_prefer_array(tt, prefer),
    )


def greedy_covering(
    tt: TravelTimes,
    k: int,
    *,
    limit_min: float | None = None,
    candidates: Iterable[Any] | None = None,
) -> AllocationResult:
    """Greedy reference heuristic for the uncapacitated MCLP.

    Adds, one at a time, the candidate that covers the most still-uncovered
    demand (ties: first in candidate order). Its coverage is at least
    ``1 - 1/e`` of the optimum's new coverage; use :func:`maximal_covering` for
    the reported answer. ``status`` is ``"Heuristic"``, gap and bound NaN.
    """
    T = _check_time(tt, limit_min)
    allowed = _candidate_mask(tt, candidates)
    _check_k(k, int(allowed.sum()))
    model = _mclp_model(tt, T, allowed)
    t0 = time.perf_counter()
    chosen = _greedy_pick(
        model.group_cov, model.group_w, allowed, k, np.zeros(model.n_c, dtype=bool)
    )
    elapsed = time.perf_counter() - t0
    new = float(model.group_w[(model.group_cov @ chosen.astype(float)) > 0].sum())
    sol = _Solution(None, "Heuristic", False, model.baseline + new, np.nan, np.nan, elapsed)
    return _build_result(
        tt,
        problem="greedy_mclp",
        k=k,
        open_cand=chosen,
        limit_min=T,
        sol=sol,
        baseline=model.baseline,
    )


# --------------------------------------------------------------------------- p-median


def p_median(
    tt: TravelTimes,
    k: int,
    *,
    capacity: pd.Series | None = None,
    candidates: Iterable[Any] | None = None,
    unserved_penalty_min: float | None = None,
    allow_unserved: bool = True,
    solver: Any = "highs",
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.0,
) -> AllocationResult:
    """Open ``k`` new hubs that minimise demand-weighted travel time.

    Each demand point is assigned to open hubs within ``tt.limit_min`` (to the
    nearest without capacities; split if capacities bind). Assignment variables
    exist only for pairs within the cutoff. Demand that no open hub reaches is
    *unserved* and costs ``unserved_penalty_min`` per unit (default: the cutoff,
    i.e. times are capped at the cutoff); it is reported, never dropped.

    Parameters
    ----------
    tt : TravelTimes
        Sparse travel times (minutes).
    k : int
        New hubs, 0 <= k <= allowed candidates.
    capacity : pandas.Series, optional
        Capacity (demand n) per facility id; missing/NaN = unlimited.
    candidates : iterable, optional
        Restrict new hubs to these candidate ids.
    unserved_penalty_min : float, optional
        Minutes charged per unit of unserved demand (>= cutoff).
    allow_unserved : bool
        If False, all demand must be served within the cutoff; demand no
        facility can reach raises :class:`AllocationError`, and a k too small
        to serve everyone gives :class:`SolverError` (infeasible).
    solver, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering`.

    Returns
    -------
    AllocationResult
        ``objective`` = demand-weighted time in min x n, including penalties;
        ``covered_demand_n`` = served demand; ``mean_time_min`` of served demand.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> inputs = load_indicator_inputs(layers)  # street networks and the demand surface
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> units = pc.demand_units(layers, inputs.demand)
    >>> tt = pc.network_travel_times(inputs.walk, sites, units, limit_min=10,
    ...                              demand_column="jobseekers_low_edu_n", existing=layers["hubs"])
    >>> res = pc.p_median(tt, 2)
    >>> res.problem, len(res.selected), res.optimal
    ('pmedian', 2, True)
    """
    allowed = _candidate_mask(tt, candidates)
    _check_k(k, int(allowed.sum()))
    cap = _capacity_array(tt, capacity)
    T = tt.limit_min
    penalty = T if unserved_penalty_min is None else float(unserved_penalty_min)
    if penalty < T:
        raise AllocationError(
            f"unserved_penalty_min = {penalty:g} is below the cutoff {T:g} min; serving a "
            "reachable point would then cost more than leaving it unserved"
        )
    n_c = len(tt.candidates)
    n_e = len(tt.existing)
    n_f = n_c + n_e
    d = tt.demand.to_numpy(float)
    fac_ok = np.concatenate([allowed, np.ones(n_e, dtype=bool)])
    keep = fac_ok[tt.facility_pos] & (d[tt.demand_pos] > 0)
    dp, fp, tp = tt.demand_pos[keep], tt.facility_pos[keep], tt.time_min[keep]
    n_p = len(dp)
    active = np.flatnonzero(d > 0)
    reachable = np.zeros(len(d), dtype=bool)
    reachable[dp] = True
    if not allow_unserved and (~reachable[active]).any():
        bad = tt.demand.index[active[~reachable[active]]]
        raise AllocationError(
            f"{len(bad)} demand point(s) with demand > 0 have no facility within "
            f"{T:g} min (e.g. {bad[:5].tolist()}); allow_unserved=True reports them instead"
        )
    n_u = len(active) if allow_unserved else 0
    # columns: z (n_p) | u (n_u) | x (n_f)
    zc = np.arange(n_p)
    uc = n_p + np.arange(n_u)
    xc = n_p + n_u + np.arange(n_f)
    row_of_d = np.full(len(d), -1)
    row_of_d[active] = np.arange(len(active))
    r_list = [row_of_d[dp]]
    c_list = [zc]
    v_list = [np.ones(n_p)]
    if n_u:
        r_list.append(np.arange(len(active)))
        c_list.append(uc)
        v_list.append(np.ones(n_u))
    n_rows = len(active)
    lo = [np.ones(len(active))]
    hi = [np.ones(len(active))]
    # z_ij <= x_j for candidate facilities
    cand_pair = np.flatnonzero(fp < n_c)
    r_link = n_rows + np.arange(len(cand_pair))
    r_list += [r_link, r_link]
    c_list += [zc[cand_pair], xc[fp[cand_pair]]]
    v_list += [np.ones(len(cand_pair)), -np.ones(len(cand_pair))]
    n_rows += len(cand_pair)
    lo.append(np.full(len(cand_pair), -_INF))
    hi.append(np.zeros(len(cand_pair)))
    if cap is not None:
        capf = np.flatnonzero(np.isfinite(cap))
        row_of_f = np.full(n_f, -1)
        row_of_f[capf] = n_rows + np.arange(len(capf))
        sel = row_of_f[fp] >= 0
        r_list += [row_of_f[fp][sel], row_of_f[capf]]
        c_list += [zc[sel], xc[capf]]
        v_list += [d[dp][sel], -cap[capf]]
        n_rows += len(capf)
        lo.append(np.full(len(capf), -_INF))
        hi.append(np.zeros(len(capf)))
    r_list.append(np.full(n_c, n_rows))
    c_list.append(xc[:n_c])
    v_list.append(np.ones(n_c))
    n_rows += 1
    lo.append(np.array([float(k)]))
    hi.append(np.array([float(k)]))
    a = sp.csr_matrix(
        (np.concatenate(v_list), (np.concatenate(r_list), np.concatenate(c_list))),
        shape=(n_rows, n_p + n_u + n_f),
    )
    milp = _Milp(
        c=np.concatenate([d[dp] * tp, d[active] * penalty if n_u else np.zeros(0), np.zeros(n_f)]),
        a=a,
        row_lo=np.concatenate(lo),
        row_hi=np.concatenate(hi),
        col_lo=np.concatenate([np.zeros(n_p + n_u), np.zeros(n_c), np.ones(n_e)]),
        col_hi=np.concatenate([np.ones(n_p + n_u), allowed.astype(float), np.ones(n_e)]),
        integer=np.concatenate([np.zeros(n_p + n_u, dtype=bool), np.ones(n_f, dtype=bool)]),
        maximize=False,
    )
    sol = _solve(
        milp,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        what=f"p-median (k={k}, cutoff {T:g} min)",
    )
    open_cand = sol.x[n_p + n_u : n_p + n_u + n_c] > 0.5
    base_fac, _ = _nearest_open(tt, np.concatenate([np.zeros(n_c, bool), np.ones(n_e, bool)]), T)
    baseline = float(d[base_fac >= 0].sum()) if cap is None else float("nan")
    res = _build_result(
        tt,
        problem="pmedian",
        k=k,
        open_cand=open_cand,
        limit_min=T,
        sol=sol,
        baseline=baseline,
        share_by_pair=sol.x[:n_p].copy(),
        pair_keep=keep,
    )
    unserved = res.total_demand_n - res.covered_demand_n
    if unserved > 0:
        logger.info("p-median k=%d: %.6g demand unserved within %g min", k, unserved, T)
    return res


# --------------------------------------------------------------------------- k sweep


@dataclasses.dataclass(frozen=True)
class CoverageCurve:
    """Maximal covering solved for k = 0..K.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``k``: ``covered_demand_n``, ``covered_share_pct`` (of total
        demand), ``marginal_gain_n`` (vs k - 1; NaN for k = 0), ``status``,
        ``mip_gap``, ``solve_time_s``, ``selected`` (new hub ids joined by
        ``;``). Optimal sets for different k need not be nested.
    results : dict of int to AllocationResult
    total_demand_n : float
    """

    table: pd.DataFrame
    results: dict[int, AllocationResult]
    total_demand_n: float

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()


def coverage_curve(
    tt: TravelTimes,
    k_max: int,
    *,
    limit_min: float | None = None,
    capacity: pd.Series | None = None,
    candidates: Iterable[Any] | None = None,
    solver: Any = "highs",
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.0,
    prefer: pd.Series | None = None,
    progress: bool = False,
) -> CoverageCurve:
    """Solve the maximal covering problem for k = 0, 1, ..., ``k_max``.

    Each k is solved to (proven) optimality; without capacities the model is
    built once and each solve is warm-started from the k - 1 optimum plus the
    greedy best addition. ``time_limit_s`` applies per k.

    Parameters
    ----------
    tt : TravelTimes
    k_max : int
        Largest number of new hubs (<= allowed candidates).
    limit_min, capacity, candidates, solver, time_limit_s, mip_rel_gap, prefer
        As in :func:`maximal_covering`.
    progress : bool
        Show a progress bar.

    Returns
    -------
    CoverageCurve

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> inputs = load_indicator_inputs(layers)  # street networks and the demand surface
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> units = pc.demand_units(layers, inputs.demand)
    >>> tt = pc.network_travel_times(inputs.walk, sites, units, limit_min=10,
    ...                              demand_column="jobseekers_low_edu_n", existing=layers["hubs"])
    >>> curve = pc.coverage_curve(tt, 3)  # k = 0..3 new hubs
    >>> curve.table["covered_demand_n"].round().astype(int).tolist()
    [734, 1329, 1841, 2216]
    """
    T = _check_time(tt, limit_min)
    allowed = _candidate_mask(tt, candidates)
    _check_k(k_max, int(allowed.sum()))
    results: dict[int, AllocationResult] = {}
    model = _mclp_model(tt, T, allowed) if capacity is None else None
    warm = np.zeros(len(tt.candidates), dtype=bool)
    pref = _prefer_array(tt, prefer)
    for k in _progress(range(k_max + 1), disable=not progress, desc="maximal covering"):
        if model is not None:
            res = _solve_mclp_model(
                tt,
                model,
                k,
                T,
                solver=solver,
                time_limit_s=time_limit_s,
                mip_rel_gap=mip_rel_gap,
                warm=warm,
                prefer=pref,
            )
            warm = res.sites["open"].to_numpy()[: len(tt.candidates)].copy()
        else:
            res = maximal_covering(
                tt,
                k,
                limit_min=T,
                capacity=capacity,
                candidates=candidates,
                solver=solver,
                time_limit_s=time_limit_s,
                mip_rel_gap=mip_rel_gap,
            )
        results[k] = res
    total = float(tt.demand.sum())
    cov = pd.Series({k: r.covered_demand_n for k, r in results.items()})
    table = pd.DataFrame(
        {
            "covered_demand_n": cov,
            "covered_share_pct": 100 * cov / total if total > 0 else np.nan,
            "marginal_gain_n": cov.diff(),
            "status": pd.Series({k: r.status for k, r in results.items()}),
            "mip_gap": pd.Series({k: r.mip_gap for k, r in results.items()}),
            "solve_time_s": pd.Series({k: r.solve_time_s for k, r in results.items()}),
            "selected": pd.Series({k: ";".join(map(str, r.selected)) for k, r in results.items()}),
        }
    )
    table.index.name = "k"
    return CoverageCurve(table=table, results=results, total_demand_n=total)


# --------------------------------------------------------------------------- two tiers


#: How existing hubs without a known profile are counted by :func:`two_tier_covering`.
UNKNOWN_PROFILE_RULES = ("both", "none")


@dataclasses.dataclass(frozen=True)
class TierResult:
    """The coverage of one tier of a :class:`TwoTierResult`.

    Attributes
    ----------
    tier : str
        Tier name (a hub profile, e.g. ``"neighbourhood"``).
    k : int
        New hubs of this tier.
    selected : tuple
        Candidate ids opened as hubs of this tier.
    existing_open : tuple
        Existing hub ids counted as open in this tier.
    serving : tuple of str
        The tiers whose hubs cover this tier's demand (this tier first).
    limit_min : float
        Coverage threshold of this tier (minutes, in its own travel times).
    total_demand_n, covered_demand_n, uncovered_demand_n : float
        Demand of the tier, the part within ``limit_min`` of an open hub serving
        it, and the rest (``covered + uncovered = total``).
    baseline_covered_demand_n : float
        Demand covered by the existing hubs counted in this tier alone.
    unreachable_demand_n : float
        Demand with no candidate or existing hub within ``limit_min``.
    assignment : pandas.DataFrame
        Per demand point: ``demand_n``, ``facility_id`` (nearest open hub serving
        the tier within T, else NA), ``time_min``, ``covered_share`` (0 or 1).
    """

    tier: str
    k: int
    selected: tuple
    existing_open: tuple
    serving: tuple
    limit_min: float
    total_demand_n: float
    covered_demand_n: float
    uncovered_demand_n: float
    baseline_covered_demand_n: float
    unreachable_demand_n: float
    assignment: pd.DataFrame


@dataclasses.dataclass(frozen=True)
class TwoTierResult:
    """Solution of :func:`two_tier_covering`.

    Attributes
    ----------
    tiers : dict of str to TierResult
        One result per tier, in the order given.
    weights : dict of str to float
        Objective weight of each tier's covered demand.
    unknown_profile : str
        How existing hubs of unknown profile were counted (``"both"``, ``"none"``).
    status : str
    optimal : bool
    objective : float
        Weighted covered demand, summed over the tiers.
    best_bound, mip_gap, solve_time_s : float
        As in :class:`AllocationResult`.
    """

    tiers: dict
    weights: dict
    unknown_profile: str
    status: str
    optimal: bool
    objective: float
    best_bound: float
    mip_gap: float
    solve_time_s: float

    def summary(self) -> pd.DataFrame:
        """One row per tier: k, threshold, demand covered, uncovered and by existing hubs."""
        rows = {
            name: {
                "k": r.k,
                "limit_min": r.limit_min,
                "serving": ";".join(r.serving),
                "existing_open_n": len(r.existing_open),
                "total_demand_n": r.total_demand_n,
                "covered_demand_n": r.covered_demand_n,
                "uncovered_demand_n": r.uncovered_demand_n,
                "baseline_covered_demand_n": r.baseline_covered_demand_n,
                "selected": ";".join(map(str, r.selected)),
            }
            for name, r in self.tiers.items()
        }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "tier"
        return out


def _tier_travel_times(name: str, value: Any) -> TravelTimes:
    """Return a tier's travel times, given as a TravelTimes or a function returning one."""
    if callable(value) and not isinstance(value, TravelTimes):
        value = value()
    if not isinstance(value, TravelTimes):
        raise AllocationError(
            f"tier {name!r}: travel times must be a TravelTimes (travel_times_from_pairs) or a "
            f"function returning one, got {type(value).__name__}"
        )
    return value


def _existing_in_tier(
    tt: TravelTimes, tier: str, serving: tuple, profiles: pd.Series, unknown: str
) -> np.ndarray:
    """Boolean mask over ``tt.existing``: hubs counted as open for ``tier``'s demand."""
    prof = profiles.reindex(tt.existing).fillna("unknown").astype(str).to_numpy()
    known = np.isin(prof, serving)
    if unknown == "both":
        known |= prof == "unknown"
    return known


def two_tier_covering(
    travel_times: dict,
    k: dict,
    *,
    hub_profiles: pd.Series | None = None,
    unknown_profile: str = "both",
    limit_min: dict | None = None,
    weights: dict | None = None,
    served_by: dict | None = None,
    exclusive: bool = True,
    candidates: Iterable[Any] | dict | None = None,
    solver: Any = "highs",
    time_limit_s: float | None = None,
    mip_rel_gap: float = 0.0,
) -> TwoTierResult:
    """Open new hubs of two (or more) kinds, each covering demand in its own travel mode.

    A maximal covering location problem with one tier per hub profile (in the
    spirit of the hierarchical covering models of Moore & ReVelle 1982): the
    ``neighbourhood`` tier covers the demand within a short walk, the
    ``city-wide`` tier the demand within, say, 30 minutes by public transport or
    20 by bike. Each tier has its own travel-time input, threshold and number of
    new hubs; new hubs are chosen among the same candidate sites, and one site
    hosts at most one new hub (``exclusive``). Existing hubs are open in their
    own tier (``hub_profiles``); hubs of unknown profile count in every tier
    (``unknown_profile = "both"``, the default: their reach is not documented, so
    neither tier may place a new hub next to them as if they were absent) or in
    none (``"none"``). The objective is the weighted sum over the tiers of the
    demand covered; solved exactly with HiGHS like :func:`maximal_covering`.

    Parameters
    ----------
    travel_times : dict of str to TravelTimes or callable
        Per tier (its name, e.g. ``"neighbourhood"``), in order: the travel times
        of that tier's mode (:func:`travel_times_from_pairs`,
        :func:`productivecity.siting.travel_times.network_travel_times` on the
        walk network, the bike network, or a public-transport matrix), or a
        function without arguments returning them. Every tier must have the
        same candidate ids; demand points and existing hubs may differ.
    k : dict of str to int
        New hubs per tier (>= 0).
    hub_profiles : pandas.Series, optional
        Profile per existing hub id (a tier name or ``"unknown"``; e.g.
        :func:`productivecity.sources.hubs.hub_profiles`). Missing ids are
        ``unknown``; default: every hub unknown.
    unknown_profile : {"both", "none"}
        Count existing hubs of unknown profile in every tier, or in none.
    limit_min : dict of str to float, optional
        Coverage threshold per tier (default: each input's cutoff).
    weights : dict of str to float, optional
        Weight of each tier's covered demand in the objective (default 1 each).
    served_by : dict of str to sequence of str, optional
        Other tiers whose hubs (new and existing) also cover a tier's demand
        within its threshold, e.g. ``{"neighbourhood": ["city-wide"]}``: a
        city-wide hub is also a neighbourhood front door for the people who walk
        to it. Default: each tier is covered by its own hubs only.
    exclusive : bool, default True
        A candidate site hosts at most one new hub (of one tier).
    candidates : iterable, or dict of str to iterable, optional
        Restrict new hubs to these candidate ids: one set for every tier, or one
        per tier (e.g. the sites eligible under each tier's criteria profile;
        a tier left out of the dict may use every candidate).
    solver, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering`.

    Returns
    -------
    TwoTierResult
        Per tier the new hubs, the existing hubs counted, and the demand covered
        and uncovered (``covered + uncovered = total`` per tier).

    Raises
    ------
    AllocationError
        Unknown tier names, bad k, candidate sets that differ between tiers,
        a threshold above a tier's cutoff, more new hubs than sites.
    SolverError
        No solution found.
    """
    if unknown_profile not in UNKNOWN_PROFILE_RULES:
        raise AllocationError(f"unknown_profile must be one of {list(UNKNOWN_PROFILE_RULES)}, "
                              f"got {unknown_profile!r}")
    names = [str(n) for n in travel_times]
    if not names:
        raise AllocationError("two_tier_covering needs the travel times of at least one tier")
    for what, given in (("k", k), ("limit_min", limit_min or {}), ("weights", weights or {}),
                        ("served_by", served_by or {})):
        unknown = sorted(set(map(str, given)) - set(names))
        if unknown:
            raise AllocationError(f"{what} names tier(s) {unknown} without travel times; "
                                  f"tiers: {names}")
    missing_k = [n for n in names if n not in k]
    if missing_k:
        raise AllocationError(f"k gives no number of new hubs for tier(s) {missing_k}")
    tts = {n: _tier_travel_times(n, travel_times[n]) for n in names}
    cand = tts[names[0]].candidates
    for n in names[1:]:
        other = tts[n].candidates
        if len(other) != len(cand) or len(other.difference(cand)):
            raise AllocationError(
                f"tier {n!r} has other candidate sites than tier {names[0]!r} "
                f"({len(other.difference(cand))} not shared, e.g. "
                f"{other.difference(cand)[:3].tolist()}); build every tier on the same sites")
    if isinstance(candidates, dict):
        unknown = sorted(set(map(str, candidates)) - set(names))
        if unknown:
            raise AllocationError(f"candidates names tier(s) {unknown} without travel times; "
                                  f"tiers: {names}")
        allowed = {n: _candidate_mask(tts[names[0]], candidates.get(n)) for n in names}
    else:
        mask = _candidate_mask(tts[names[0]], candidates)
        allowed = {n: mask for n in names}
    for n in names:
        _check_k(k[n], int(allowed[n].sum()))
    any_allowed = np.logical_or.reduce([allowed[n] for n in names])
    if exclusive and sum(k.values()) > int(any_allowed.sum()):
        raise AllocationError(f"{sum(k.values())} new hubs over the tiers but only "
                              f"{int(any_allowed.sum())} candidate sites, one hub per site")
    T = {n: _check_time(tts[n], (limit_min or {}).get(n)) for n in names}
    w = {n: float((weights or {}).get(n, 1.0)) for n in names}
    if any(not math.isfinite(v) or v < 0 for v in w.values()):
        raise AllocationError(f"tier weights must be finite and >= 0, got {w}")
    serving = {n: (n, *[str(s) for s in (served_by or {}).get(n, ()) if str(s) != n])
               for n in names}
    for n, srv in serving.items():
        bad = [s for s in srv if s not in names]
        if bad:
            raise AllocationError(f"served_by[{n!r}] names tier(s) {bad} without travel times")
    profiles = (hub_profiles.astype(str) if hub_profiles is not None
                else pd.Series(dtype=str))
    n_c, n_t = len(cand), len(names)
    blocks, group_w, tier_of_group, baseline, exist_open = [], [], [], {}, {}
    for n in names:
        tt = tts[n]
        # this tier's candidate columns in the first tier's candidate order
        pos = cand.get_indexer(tt.candidates)
        cov = tt.coverage_matrix(T[n]).tocsc()
        ex_mask = _existing_in_tier(tt, n, serving[n], profiles, unknown_profile)
        exist_open[n] = ex_mask
        d = tt.demand.to_numpy(float)
        ex_cov = cov[:, len(tt.candidates):][:, np.flatnonzero(ex_mask)]
        by_existing = np.asarray(ex_cov.sum(axis=1)).ravel() > 0
        baseline[n] = float(d[by_existing].sum())
        cc = cov[:, :len(tt.candidates)].tocoo()
        may_open = np.logical_or.reduce([allowed[s] for s in serving[n]])
        keep = may_open[pos[cc.col]]
        cand_cov = sp.csr_matrix((np.ones(int(keep.sum())), (cc.row[keep], pos[cc.col[keep]])),
                                 shape=(len(d), n_c))
        cand_cov.sort_indices()
        rows = np.flatnonzero(~by_existing & (d > 0) & (np.diff(cand_cov.indptr) > 0))
        sub = cand_cov[rows]
        keys = [sub.indices[sub.indptr[i]:sub.indptr[i + 1]].tobytes() for i in range(len(rows))]
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
        gw = np.bincount(codes, weights=d[rows], minlength=len(uniques))
        first = np.zeros(len(uniques), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(rows))[::-1]
        g = (sub[first] > 0).astype(float).tocsr()  # groups x candidates
        # y_g - sum over serving tiers s of sum_{j in N_g} x_{s,j} <= 0
        parts = [g if m in serving[n] else sp.csr_matrix((g.shape[0], n_c)) for m in names]
        blocks.append(-sp.hstack(parts, format="csr"))
        group_w.append(gw)
        tier_of_group.append(np.full(len(gw), names.index(n)))
    gw_all = np.concatenate(group_w)
    n_g = len(gw_all)
    obj_w = np.array([w[names[t]] for t in np.concatenate(tier_of_group)]) * gw_all
    a_cover = sp.hstack([sp.vstack(blocks, format="csr"), sp.identity(n_g, format="csr")],
                        format="csr")
    # sum_j x_{t,j} = k_t
    card = sp.csr_matrix((np.ones(n_t * n_c), (np.repeat(np.arange(n_t), n_c),
                                               np.arange(n_t * n_c))), shape=(n_t, n_t * n_c + n_g))
    rows_a = [a_cover, card]
    lo = [np.full(n_g, -_INF), np.array([float(k[n]) for n in names])]
    hi = [np.zeros(n_g), np.array([float(k[n]) for n in names])]
    if exclusive and n_t > 1:  # sum_t x_{t,j} <= 1
        one = sp.csr_matrix((np.ones(n_t * n_c), (np.tile(np.arange(n_c), n_t),
                                                  np.arange(n_t * n_c))),
                            shape=(n_c, n_t * n_c + n_g))
        rows_a.append(one)
        lo.append(np.full(n_c, -_INF))
        hi.append(np.ones(n_c))
    milp = _Milp(
        c=np.concatenate([np.zeros(n_t * n_c), obj_w]),
        a=sp.vstack(rows_a, format="csr"),
        row_lo=np.concatenate(lo),
        row_hi=np.concatenate(hi),
        col_lo=np.zeros(n_t * n_c + n_g),
        col_hi=np.concatenate([allowed[n].astype(float) for n in names] + [np.ones(n_g)]),
        integer=np.concatenate([np.ones(n_t * n_c, dtype=bool), np.zeros(n_g, dtype=bool)]),
        maximize=True,
    )
    what = "two-tier covering (" + ", ".join(f"{n}: k={k[n]}, T={T[n]:g} min" for n in names) + ")"
    sol = _solve(milp, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
                 what=what)
    x = sol.x[: n_t * n_c].reshape(n_t, n_c) > 0.5
    opened = {n: x[names.index(n)] for n in names}
    for n in names:
        if int(opened[n].sum()) != k[n]:
            raise SolverError(f"{what}: solver returned {int(opened[n].sum())} new hubs for "
                              f"tier {n!r}, not {k[n]}")
    base_obj = sum(w[n] * baseline[n] for n in names)
    sol.objective += base_obj
    sol.bound += base_obj
    if not sol.optimal and math.isfinite(sol.bound) and sol.objective > 0:
        sol.gap = abs(sol.bound - sol.objective) / sol.objective
    tiers = {}
    for n in names:
        tt = tts[n]
        pos = cand.get_indexer(tt.candidates)
        open_cand = np.zeros(len(tt.candidates), dtype=bool)
        for s in serving[n]:
            open_cand |= opened[s][pos]
        open_mask = np.concatenate([open_cand, exist_open[n]])
        fac, tim = _nearest_open(tt, open_mask, T[n])
        d = tt.demand.to_numpy(float)
        has = fac >= 0
        fac_col = pd.Series(pd.NA, index=tt.demand.index, dtype=object)
        fac_col[has] = np.asarray(tt.facilities[fac[has]], dtype=object)
        within = tt.time_min <= T[n]
        any_reach = np.zeros(len(d), dtype=bool)
        any_reach[tt.demand_pos[within]] = True
        covered = float(d[has].sum())
        tiers[n] = TierResult(
            tier=n, k=int(k[n]), selected=tuple(cand[opened[n]]),
            existing_open=tuple(tt.existing[exist_open[n]]), serving=serving[n],
            limit_min=T[n], total_demand_n=float(d.sum()), covered_demand_n=covered,
            uncovered_demand_n=float(d[~has].sum()), baseline_covered_demand_n=baseline[n],
            unreachable_demand_n=float(d[~any_reach].sum()),
            assignment=pd.DataFrame({"demand_n": d, "facility_id": fac_col, "time_min": tim,
                                     "covered_share": has.astype(float)},
                                    index=tt.demand.index))
    logger.info("%s: %s", what, "; ".join(
        f"{n} covers {r.covered_demand_n:g} of {r.total_demand_n:g}" for n, r in tiers.items()))
    return TwoTierResult(tiers=tiers, weights=w, unknown_profile=unknown_profile,
                         status=sol.status, optimal=sol.optimal, objective=sol.objective,
                         best_bound=sol.bound, mip_gap=sol.gap, solve_time_s=sol.time_s)


__all__ = [
    "AllocationResult",
    "CoverageCurve",
    "TierResult",
    "TravelTimes",
    "TwoTierResult",
    "coverage_curve",
    "greedy_covering",
    "maximal_covering",
    "p_median",
    "travel_times_from_pairs",
    "two_tier_covering",
]
