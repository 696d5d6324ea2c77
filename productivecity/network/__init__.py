"""Street networks for walking and cycling: build, cache, and the compiled search engine.

:mod:`~productivecity.network.streets` builds walk and bike networks from OSM
(PBF, XML, an osmnx graph or online) into compact arrays cached on disk;
:mod:`~productivecity.network._dijkstra` is the compiled bounded Dijkstra and
:mod:`~productivecity.network._snapgrid` the segment grid used for snapping.
"""

from productivecity.network.streets import (
    BIKE_SPEED_KMH,
    WALK_SPEED_KMH,
    Network,
    NetworkReport,
    bike_network,
    build_network,
    from_arrays,
    walk_network,
    way_allowed,
    way_directions,
)

__all__ = [
    "BIKE_SPEED_KMH",
    "Network",
    "NetworkReport",
    "WALK_SPEED_KMH",
    "bike_network",
    "build_network",
    "from_arrays",
    "walk_network",
    "way_allowed",
    "way_directions",
]
