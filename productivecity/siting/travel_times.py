"""Travel times from candidate sites and existing hubs to demand units, for the location models."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd

from productivecity import accessibility as acc
from productivecity._errors import AllocationError, SchemaError
from productivecity.network.streets import Network
from productivecity.siting.allocation import TravelTimes, travel_times_from_pairs
from productivecity.siting.demand import unknown_demand

logger = logging.getLogger(__name__)


def network_travel_times(
    network: Network,
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    demand_column: str,
    limit_min: float,
    existing: gpd.GeoDataFrame | None = None,
    progress: bool = False,
) -> TravelTimes:
    """Travel times from candidate sites and existing hubs to demand units.

    Parameters
    ----------
    network : Network
    candidates : GeoDataFrame
        Candidate sites (index ``site_id``); polygons get several access points.
    demand : GeoDataFrame
        Demand units (:func:`demand_units`) with ``demand_column``.
    demand_column : str
        Demand weight, e.g. ``"jobseekers_low_edu_n"``.
    limit_min : float
        Largest travel time kept (min).
    existing : GeoDataFrame, optional
        Existing hubs, fixed open (index ``hub_id``).

    Returns
    -------
    TravelTimes
        Sparse (demand unit, facility) travel times within the cutoff. Candidates
        or hubs not on the network are kept but reach nothing (logged).

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
    >>> len(tt.candidates), len(tt.existing), tt.limit_min
    (33, 3, 10.0)
    """
    if demand_column not in demand.columns:
        raise SchemaError(f"demand units lack the column {demand_column!r}; columns: "
                          f"{[c for c in demand.columns if c != 'geometry']}")
    unknown_n = int(unknown_demand(demand).sum())
    if unknown_n:
        logger.warning("%d demand units lie in municipalities without job-seeker data; their "
                       "demand is unknown and left out of the coverage (neither covered nor "
                       "demand)", unknown_n)
    existing = existing if existing is not None else candidates.iloc[:0]
    overlap = candidates.index.intersection(existing.index)
    if len(overlap):
        raise AllocationError(f"ids used both by candidate sites and existing hubs: "
                              f"{list(overlap[:10])}")
    facilities = pd.concat([candidates[["geometry"]], existing[["geometry"]]])
    facilities = gpd.GeoDataFrame(facilities, geometry="geometry", crs=candidates.crs)
    dsnap = acc.snap(network, demand, what="demand units")
    fsnap = acc.snap(network, facilities, what="candidate sites and existing hubs")
    # people travel to the hub: from the demand units to the facilities (one-ways matter)
    tt = acc.travel_times(network, dsnap, fsnap, limit_min=limit_min, progress=progress)
    pairs = tt.rename("time_min").reset_index()
    pairs = pairs.rename(columns={"origin": "demand_id", "destination": "site_id"})
    return travel_times_from_pairs(
        pairs, demand[demand_column].astype(float), candidates=candidates.index,
        existing=existing.index, limit_min=limit_min,
    )

