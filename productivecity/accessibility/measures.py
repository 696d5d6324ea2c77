"""Accessibility measures on a street network, aligned to the caller's index.

Nearest facility (time or distance), counts within a limit, cumulative
opportunities, gravity with a distance decay and the two-step floating
catchment area (2SFCA / E2SFCA).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from productivecity._errors import NetworkError, SchemaError
from productivecity.accessibility.search import (
    Reach,
    _as_snapping,
    _count_min,
    _label,
    _limit,
    _nearest_costs,
    _network_of,
    _od,
    _origin_index,
    _valid,
)
from productivecity.accessibility.snapping import Snapping
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)


def _nearest(network, origins, facilities, kind, limit, progress, name) -> pd.Series:
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        best = np.full(od.n_origins, np.inf)
        for o, _d, c in od.chunks:
            np.minimum.at(best, o, c)
        best[~np.isfinite(best)] = np.nan
        return pd.Series(best, index=od.index, name=name)
    s = _as_snapping(network, origins, what="origins", allow_none=True)
    best = _nearest_costs(network, s, f, kind, limit)
    return pd.Series(best, index=_origin_index(network, s), name=name)


def nearest_time_min(network: Network, origins, facilities, *, limit_min: float,
                     progress: bool = False) -> pd.Series:
    """Travel time to the nearest facility of a set.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    facilities : GeoDataFrame, GeoSeries or Snapping
        Stations, stops, hubs, quays...
    limit_min : float
        Search limit in minutes (``np.inf`` for none); farther facilities are not found.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``nearest_time_min`` (float, minutes) aligned to the origins; NaN when no
        facility lies within the limit or the origin is not snapped.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> sites, _ = pc.candidate_sites(layers, "zones")  # industrial zones cut into parcels
    >>> t = pc.nearest_time_min(walk, sites, layers["transit_stops"], limit_min=15)
    >>> t.name, len(t), int(t.notna().sum())  # NaN: no stop within 15 min
    ('nearest_time_min', 33, 29)
    """
    kind, limit = _limit(limit_min, None)
    return _nearest(network, origins, facilities, kind, limit, progress, "nearest_time_min")


def nearest_dist_m(network: Network, origins, facilities, *, limit_m: float,
                   progress: bool = False) -> pd.Series:
    """Network distance (m) to the nearest facility; see :func:`nearest_time_min`.

    Returns
    -------
    pandas.Series
        ``nearest_dist_m`` (float, metres, connectors included) aligned to the origins.
    """
    kind, limit = _limit(None, limit_m)
    return _nearest(network, origins, facilities, kind, limit, progress, "nearest_dist_m")


def count_within(network: Network, origins, facilities, *, limit_min: float | None = None,
                 limit_m: float | None = None, progress: bool = False) -> pd.Series:
    """Count the facilities reachable within a time or distance limit.

    Returns
    -------
    pandas.Series
        ``within_<limit>_n`` (nullable Int64, e.g. ``within_15min_n``) aligned to the
        origins; <NA> for origins not snapped. A polygon facility counts once.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> sites, _ = pc.candidate_sites(layers, "zones")  # industrial zones cut into parcels
    >>> n = pc.count_within(walk, sites, layers["transit_stops"], limit_min=10)
    >>> n.name, len(n), int(n.sum())
    ('within_10min_n', 33, 109)
    """
    kind, limit = _limit(limit_min, limit_m)
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        n, valid, index = od.bincount().astype(np.int64), od.valid, od.index
    else:
        s = _as_snapping(network, origins, what="origins", allow_none=True)
        n, _best = _count_min(network, s, f, kind, limit, progress)
        valid, index = _valid(network, s), _origin_index(network, s)
    return pd.Series(_counts_array(n, valid), index=index,
                     name=f"within_{_label(kind, limit)}_n")


def _counts_array(n: np.ndarray, valid: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable Int64 counts, <NA> where not ``valid``."""
    return pd.arrays.IntegerArray(n.astype(np.int64), ~valid)


def nearest_and_count(network: Network, origins, facilities, *, limit_min: float,
                      progress: bool = False) -> pd.DataFrame:
    """Time to the nearest facility and the number of facilities within a time limit.

    One bounded search per origin (or per facility, whichever set is smaller) gives
    both results; they equal :func:`nearest_time_min` and :func:`count_within` with
    the same limit.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    facilities : GeoDataFrame, GeoSeries or Snapping
    limit_min : float
        Time limit in minutes, for both the search and the count (``np.inf``: none).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        Aligned to the origins, with columns ``nearest_time_min`` (float, minutes; NaN
        when no facility lies within the limit or the origin is not snapped) and
        ``within_<limit>_n`` (nullable Int64, e.g. ``within_15min_n``; <NA> for origins
        not snapped). A polygon facility counts once.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> sites, _ = pc.candidate_sites(layers, "zones")  # industrial zones cut into parcels
    >>> df = pc.nearest_and_count(walk, sites, layers["transit_stops"], limit_min=10)
    >>> list(df.columns), len(df)
    (['nearest_time_min', 'within_10min_n'], 33)
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        n = np.zeros(od.n_origins, np.int64)
        best = np.full(od.n_origins, np.inf)
        for o, _d, c in od.chunks:
            n += np.bincount(o, minlength=od.n_origins)
            np.minimum.at(best, o, c)
        valid, index = od.valid, od.index
    else:
        s = _as_snapping(network, origins, what="origins", allow_none=True)
        n, best = _count_min(network, s, f, kind, limit, progress)
        valid, index = _valid(network, s), _origin_index(network, s)
    best = np.where(np.isfinite(best), best, np.nan)
    return pd.DataFrame({"nearest_time_min": best,
                         f"within_{_label(kind, limit)}_n": _counts_array(n, valid)},
                        index=index, copy=False)


def _weights(dest: Snapping, weights, *, what: str) -> tuple[np.ndarray, str]:
    """Return weights per destination item as floats, and a name for results."""
    if isinstance(weights, str):
        if dest.frame is None or weights not in dest.frame.columns:
            cols = [] if dest.frame is None else [c for c in dest.frame.columns
                                                  if c != dest.frame.geometry.name]
            raise SchemaError(f"{what} lack the weight column {weights!r}; columns: {cols}")
        values, name = dest.frame[weights], weights
    elif isinstance(weights, pd.Series):
        if not weights.index.equals(dest.index):
            try:
                values = weights.loc[dest.index]
            except KeyError as exc:
                raise SchemaError(f"the weights Series does not cover every item of {what}; "
                                  "align it to their index") from exc
        else:
            values = weights
        name = str(weights.name) if weights.name is not None else "weight"
    else:
        values = pd.Series(np.asarray(weights), index=None)
        if len(values) != dest.n_items:
            raise SchemaError(f"weights has {len(values)} values but {what} has "
                              f"{dest.n_items} items")
        name = "weight"
    num = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
    bad = num.isna().to_numpy()
    if bad.any():
        labels = list(dest.index[bad][:5])
        raise SchemaError(f"{what}: weight {name!r} has {int(bad.sum())} missing or "
                          f"non-numeric value(s) (NaN), e.g. at {labels}; fill or drop them")
    arr = num.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        raise SchemaError(f"{what}: weight {name!r} has infinite values")
    return arr, name


def cumulative_opportunities(network: Network, origins, destinations, *, weights,
                             limit_min: float | None = None, limit_m: float | None = None,
                             progress: bool = False) -> pd.Series:
    """Sum of destination weights (population, job seekers, ...) reachable within a limit.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    destinations : GeoDataFrame, GeoSeries or Snapping
    weights : str, pandas.Series or array-like
        Column of ``destinations``, or values aligned to them; NaN is refused.
    limit_min, limit_m : float
        Give exactly one.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``<weights>_within_<limit>`` (float, unit of the weights), e.g.
        ``jobseekers_n_within_15min``, aligned to the origins; NaN where not snapped.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> sites, _ = pc.candidate_sites(layers, "zones")  # industrial zones cut into parcels
    >>> towns = layers["units_municipalities"]  # polygons with population_n
    >>> pop = pc.cumulative_opportunities(walk, sites, towns, weights="population_n", limit_min=15)
    >>> pop.name, int(pop.max()), int(towns["population_n"].sum())
    ('population_n_within_15min', 105390, 105390)
    """
    kind, limit = _limit(limit_min, limit_m)
    _network_of(network, origins)
    d = _as_snapping(network, destinations, what="destinations", allow_none=False)
    w, name = _weights(d, weights, what="destinations")
    od = _od(network, origins, d, kind, limit, progress)
    total = od.bincount(lambda dest, _cost: w[dest])
    total[~od.valid] = np.nan
    return pd.Series(total, index=od.index, name=f"{name}_within_{_label(kind, limit)}")


def decay(time_min, *, kind: str, limit_min: float | None = None,
          beta_per_min: float | None = None,
          steps: Sequence[tuple[float, float]] | None = None) -> np.ndarray:
    """Distance-decay weights for travel times.

    Parameters
    ----------
    time_min : array-like of float
        Travel times (min).
    kind : {"exponential", "linear", "step"}
        ``exp(-beta_per_min * t)``; ``max(0, 1 - t / limit_min)``; or the weight of
        the first step ``(upper_min, weight)`` with ``t <= upper_min`` (0 beyond the last).
    limit_min : float, optional
        Needed for ``"linear"``.
    beta_per_min : float, optional
        Needed for ``"exponential"`` (per minute, > 0).
    steps : sequence of (upper_min, weight), optional
        Needed for ``"step"``; upper bounds increasing.

    Returns
    -------
    ndarray of float
    """
    t = np.asarray(time_min, dtype=float)
    if kind == "exponential":
        if beta_per_min is None or not (math.isfinite(beta_per_min) and beta_per_min > 0):
            raise NetworkError(f"exponential decay needs beta_per_min > 0, got {beta_per_min!r}")
        return np.exp(-beta_per_min * t)
    if kind == "linear":
        if limit_min is None or not (math.isfinite(limit_min) and limit_min > 0):
            raise NetworkError("linear decay needs a finite limit_min > 0")
        return np.clip(1.0 - t / limit_min, 0.0, 1.0)
    if kind == "step":
        bounds, ws = _check_steps(steps)
        pos = np.searchsorted(bounds, t, side="left")
        out = np.zeros_like(t)
        inside = pos < len(bounds)
        out[inside] = ws[pos[inside]]
        return out
    raise NetworkError(f"unknown decay {kind!r}; use 'exponential', 'linear' or 'step'")


def _check_steps(steps) -> tuple[np.ndarray, np.ndarray]:
    if not steps:
        raise NetworkError("step decay / zones need steps: a list of (upper_min, weight)")
    arr = np.asarray(steps, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise NetworkError(f"steps must be (upper_min, weight) pairs of numbers, got {steps!r}")
    if (arr[:, 0] <= 0).any() or (np.diff(arr[:, 0]) <= 0).any() or (arr[:, 1] < 0).any():
        raise NetworkError("step upper bounds must be positive and increasing, weights >= 0")
    return arr[:, 0], arr[:, 1]


def gravity(network: Network, origins, destinations, *, weights, limit_min: float,
            decay_kind: str = "exponential", beta_per_min: float | None = 0.1,
            steps: Sequence[tuple[float, float]] | None = None,
            progress: bool = False) -> pd.Series:
    """Gravity accessibility: sum of ``weight × decay(time)`` over destinations within a limit.

    Parameters
    ----------
    network, origins, destinations, weights, progress
        As in :func:`cumulative_opportunities`.
    limit_min : float
        Search limit (min); also the zero point of linear decay.
    decay_kind : {"exponential", "linear", "step"}
        See :func:`decay`.
    beta_per_min : float, default 0.1
        Exponential decay rate per minute.
    steps : sequence of (upper_min, weight), optional
        Step decay.

    Returns
    -------
    pandas.Series
        ``<weights>_gravity`` (float, weight units) aligned to the origins; NaN where
        not snapped.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> sites, _ = pc.candidate_sites(layers, "zones")  # industrial zones cut into parcels
    >>> towns = layers["units_municipalities"]  # polygons with population_n
    >>> g = pc.gravity(walk, sites, towns, weights="population_n", limit_min=30, beta_per_min=0.1)
    >>> g.name, len(g), bool((g < towns["population_n"].sum()).all())
    ('population_n_gravity', 33, True)
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, origins)
    d = _as_snapping(network, destinations, what="destinations", allow_none=False)
    w, name = _weights(d, weights, what="destinations")
    if decay_kind == "step":
        limit = min(limit, float(_check_steps(steps)[0][-1]))
    decay(np.zeros(1), kind=decay_kind, limit_min=limit, beta_per_min=beta_per_min,
          steps=steps)  # check the decay parameters before the search
    od = _od(network, origins, d, kind, limit, progress)
    total = od.bincount(lambda dest, cost: w[dest] * decay(
        cost, kind=decay_kind, limit_min=limit, beta_per_min=beta_per_min, steps=steps))
    total[~od.valid] = np.nan
    return pd.Series(total, index=od.index, name=f"{name}_gravity")


def two_step_fca(network: Network, demand, supply, *, demand_weights, supply_weights,
                 limit_min: float, zones: Sequence[tuple[float, float]] | None = None,
                 progress: bool = False) -> pd.Series:
    """Two-step floating catchment area (2SFCA), or enhanced 2SFCA with decay zones.

    Step 1: each supply site ``j`` gets ``R_j = S_j / sum_k D_k f(t_kj)`` over demand
    units ``k`` within the limit. Step 2: each demand unit gets
    ``A_k = sum_j R_j f(t_kj)``. ``f`` is 1 within ``limit_min`` (2SFCA) or the zone
    weight (E2SFCA, e.g. ``[(10, 1.0), (20, 0.68), (30, 0.22)]``). Travel runs from
    the demand units to the sites.

    Parameters
    ----------
    network : Network
    demand : GeoDataFrame, GeoSeries, Snapping or Reach
        Demand units (e.g. neighbourhoods, polygons get several access points).
    supply : GeoDataFrame, GeoSeries or Snapping
        Supply sites (e.g. existing and candidate hubs).
    demand_weights, supply_weights : str, Series or array-like
        Demand ``D_k`` (e.g. job seekers) and supply ``S_j`` (e.g. places); NaN refused.
    limit_min : float
        Catchment (min); with ``zones`` the last zone bound is used if smaller.
    zones : sequence of (upper_min, weight), optional
        Decay zones for E2SFCA.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``fca_supply_per_demand`` (supply units per demand unit) aligned to the demand
        units; NaN where not snapped.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> units = layers["units_neighbourhoods"].assign(residents_n=1000.0)  # illustrative demand
    >>> hubs = layers["hubs"].assign(places_n=20)  # illustrative supply: 20 places per hub
    >>> fca = pc.two_step_fca(walk, units, hubs, demand_weights="residents_n",
    ...                       supply_weights="places_n", limit_min=20)
    >>> fca.name, len(fca), int((fca == 0).sum())  # 0: no hub within 20 min
    ('fca_supply_per_demand', 12, 1)
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, demand)
    if isinstance(demand, Reach):
        dsnap = demand.origins
        if dsnap is None:
            raise NetworkError("a 2SFCA needs demand units, not an all-node reach")
    else:
        dsnap = _as_snapping(network, demand, what="demand units", allow_none=False)
    s = _as_snapping(network, supply, what="supply sites", allow_none=False)
    dw, _ = _weights(dsnap, demand_weights, what="demand units")
    sw, _ = _weights(s, supply_weights, what="supply sites")
    if zones is not None:
        limit = min(limit, float(_check_steps(zones)[0][-1]))
    od = _od(network, demand if isinstance(demand, Reach) else dsnap, s, kind, limit, progress)
    o, d, c = od.collect()
    f = np.ones(len(c)) if zones is None else decay(c, kind="step", steps=zones)
    demand_at_site = np.bincount(d, weights=dw[o] * f, minlength=s.n_items)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_at_site > 0, sw / demand_at_site, 0.0)
    acc = np.bincount(o, weights=ratio[d] * f, minlength=od.n_origins)
    acc = acc.astype(float)
    acc[~od.valid] = np.nan
    return pd.Series(acc, index=od.index, name="fca_supply_per_demand")

