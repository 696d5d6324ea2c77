"""Accessibility on a street network: snapping, travel times, catchment measures.

Sites, facilities and statistical units are *snapped* to the nearest network
edge (found in the network's segment grid, :meth:`Network.nearest_edges`;
polygons get several access points along their boundary); the
straight-line distance to the edge is walked at ``access_speed_kmh`` and
counted in every travel time, never set to zero. Items farther than
``max_snap_m``, or near only a piece of network cut off from the rest, or
separated from the network by a barrier (the canal: only bridges cross it),
are not snapped and are reported with their ids and distances.

Queries run a bounded Dijkstra from every origin, or from every destination on
the reversed network when there are fewer of them (compiled with numba, see
:mod:`productivecity._dijkstra`), and keep results sparse: only the
(origin, destination) pairs within the limit. Counts and nearest times
(:func:`count_within`, :func:`nearest_and_count`) are aggregated in the
compiled searches, which skip nodes from which no target lies within the limit.
Travel times equal networkx's Dijkstra on the same graph with the snapped
points inserted as nodes.

Every query takes ``origins`` as a GeoDataFrame/GeoSeries (snapped with
:func:`snap`'s defaults), a :class:`Snapping`, ``None`` (every network node;
results indexed by ``node_id``), or a :class:`Reach` computed before (then its
limit must cover the query's). Results are pandas objects aligned to the
origins' index with the unit in their name; unsnapped origins get NaN/<NA>.

Examples
--------
>>> from productivecity import accessibility as acc, network
>>> net = network.walk_network("brussels.osm.pbf")  # doctest: +SKIP
>>> sites = acc.snap(net, sites_gdf, max_snap_m=250)  # doctest: +SKIP
>>> acc.nearest_time_min(net, sites, stations, limit_min=30)  # doctest: +SKIP
>>> acc.nearest_and_count(net, sites, stops, limit_min=15)  # doctest: +SKIP
"""

from productivecity.accessibility.isochrone_polygons import (
    isochrones,
)
from productivecity.accessibility.measures import (
    count_within,
    cumulative_opportunities,
    decay,
    gravity,
    nearest_and_count,
    nearest_dist_m,
    nearest_time_min,
    two_step_fca,
)
from productivecity.accessibility.search import (
    Reach,
    reach,
    travel_times,
)
from productivecity.accessibility.snapping import (
    BARRIER,
    CUT_OFF,
    EMPTY,
    OUTSIDE,
    TOO_FAR,
    Snapping,
    snap,
)

__all__ = [
    "BARRIER",
    "CUT_OFF",
    "EMPTY",
    "OUTSIDE",
    "Reach",
    "Snapping",
    "TOO_FAR",
    "count_within",
    "cumulative_opportunities",
    "decay",
    "gravity",
    "isochrones",
    "nearest_and_count",
    "nearest_dist_m",
    "nearest_time_min",
    "reach",
    "snap",
    "travel_times",
    "two_step_fca",
]
