"""productivecity: find sites for maker-learning hubs in the productive city.

Load study-area layers (industrial zones, canal, hubs, transit, units) from
real open data, compute accessibility and labour-market indicators on the
street network, rank candidate sites and map them for planning workshops.

``import productivecity as pc`` gives the user-facing function of each stage:

=================  ==================================================================
study area         :func:`study_area`, :func:`load_layers`, :class:`LayerSet`
street network     :func:`walk_network`, :func:`bike_network`, :func:`build_network`,
                   :class:`Network`
accessibility      :func:`snap`, :func:`travel_times`, :func:`nearest_time_min`,
                   :func:`count_within`, :func:`nearest_and_count`,
                   :func:`cumulative_opportunities`, :func:`gravity`,
                   :func:`two_step_fca`, :func:`isochrones`
candidate sites    :func:`candidate_sites`, :func:`grid_sites`, :func:`zone_sites`,
                   :func:`read_sites`
indicators         :func:`site_indicators`
siting             :func:`load_criteria`, :func:`score_sites`, :func:`rank_sites`,
                   :func:`explore_weights`,
                   :func:`demand_units`, :func:`network_travel_times`,
                   :func:`maximal_covering`, :func:`p_median`, :func:`coverage_curve`
scenario           :func:`load_config`, :func:`run_pipeline`
maps               :func:`plot_overview`, :func:`plot_indicator`, :func:`atlas_figures`,
                   :func:`write_web_map`
=================  ==================================================================

plus the exceptions and warnings of :mod:`productivecity._errors`,
:class:`Settings` and :func:`get_settings`. The functions are imported on
first use (PEP 562), so ``import productivecity`` stays fast and loads neither
numba nor matplotlib. Each function's docstring has an example on the
synthetic sample shipped with the package (``pc.load_layers("sample")``).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from productivecity._errors import (
    AllocationError,
    AreaError,
    ConfigError,
    CriteriaError,
    CriteriaWarning,
    CRSError,
    DataQualityWarning,
    DataSourceError,
    EmptyLayerError,
    MissingLayerError,
    NetworkError,
    NotDiscriminatingWarning,
    OutputExistsError,
    ParameterError,
    ParameterTypeError,
    ProductiveCityError,
    ProductiveCityWarning,
    SchemaError,
    SolverError,
    SourceNotFoundError,
    UnknownKeyError,
)
from productivecity.settings import Settings, get_settings

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it; imported on first attribute access
_LAZY: dict[str, str] = {
    "study_area": "productivecity.area",
    "LayerSet": "productivecity.layers",
    "load_layers": "productivecity.layers",
    "Network": "productivecity.network.streets",
    "bike_network": "productivecity.network.streets",
    "build_network": "productivecity.network.streets",
    "walk_network": "productivecity.network.streets",
    "snap": "productivecity.accessibility.snapping",
    "travel_times": "productivecity.accessibility.search",
    "count_within": "productivecity.accessibility.measures",
    "cumulative_opportunities": "productivecity.accessibility.measures",
    "gravity": "productivecity.accessibility.measures",
    "nearest_and_count": "productivecity.accessibility.measures",
    "nearest_time_min": "productivecity.accessibility.measures",
    "two_step_fca": "productivecity.accessibility.measures",
    "isochrones": "productivecity.accessibility.isochrone_polygons",
    "candidate_sites": "productivecity.sites",
    "grid_sites": "productivecity.sites",
    "read_sites": "productivecity.sites",
    "zone_sites": "productivecity.sites",
    "site_indicators": "productivecity.indicators.table",
    "load_criteria": "productivecity.siting.criteria",
    "score_sites": "productivecity.siting.scoring",
    "rank_sites": "productivecity.siting.ranking",
    "explore_weights": "productivecity.siting.explore",
    "demand_units": "productivecity.siting.demand",
    "network_travel_times": "productivecity.siting.travel_times",
    "coverage_curve": "productivecity.siting.allocation",
    "maximal_covering": "productivecity.siting.allocation",
    "p_median": "productivecity.siting.allocation",
    "load_config": "productivecity.workflow.config",
    "run_pipeline": "productivecity.workflow.run",
    "atlas_figures": "productivecity.outputs.maps",
    "plot_indicator": "productivecity.outputs.maps",
    "plot_overview": "productivecity.outputs.maps",
    "write_web_map": "productivecity.outputs.webmap",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these come from __getattr__
    from productivecity.accessibility.isochrone_polygons import isochrones
    from productivecity.accessibility.measures import (
        count_within,
        cumulative_opportunities,
        gravity,
        nearest_and_count,
        nearest_time_min,
        two_step_fca,
    )
    from productivecity.accessibility.search import travel_times
    from productivecity.accessibility.snapping import snap
    from productivecity.area import study_area
    from productivecity.indicators.table import site_indicators
    from productivecity.layers import LayerSet, load_layers
    from productivecity.network.streets import Network, bike_network, build_network, walk_network
    from productivecity.outputs.maps import atlas_figures, plot_indicator, plot_overview
    from productivecity.outputs.webmap import write_web_map
    from productivecity.sites import candidate_sites, grid_sites, read_sites, zone_sites
    from productivecity.siting.allocation import coverage_curve, maximal_covering, p_median
    from productivecity.siting.criteria import load_criteria
    from productivecity.siting.demand import demand_units
    from productivecity.siting.explore import explore_weights
    from productivecity.siting.ranking import rank_sites
    from productivecity.siting.scoring import score_sites
    from productivecity.siting.travel_times import network_travel_times
    from productivecity.workflow.config import load_config
    from productivecity.workflow.run import run_pipeline

__all__ = [
    "AllocationError",
    "AreaError",
    "CRSError",
    "ConfigError",
    "CriteriaError",
    "CriteriaWarning",
    "DataQualityWarning",
    "DataSourceError",
    "EmptyLayerError",
    "LayerSet",
    "MissingLayerError",
    "Network",
    "NetworkError",
    "NotDiscriminatingWarning",
    "OutputExistsError",
    "ParameterError",
    "ParameterTypeError",
    "ProductiveCityError",
    "ProductiveCityWarning",
    "SchemaError",
    "Settings",
    "SolverError",
    "SourceNotFoundError",
    "UnknownKeyError",
    "__version__",
    "atlas_figures",
    "bike_network",
    "build_network",
    "candidate_sites",
    "count_within",
    "coverage_curve",
    "cumulative_opportunities",
    "demand_units",
    "explore_weights",
    "get_settings",
    "gravity",
    "grid_sites",
    "isochrones",
    "load_config",
    "load_criteria",
    "load_layers",
    "maximal_covering",
    "nearest_and_count",
    "nearest_time_min",
    "network_travel_times",
    "p_median",
    "plot_indicator",
    "plot_overview",
    "rank_sites",
    "read_sites",
    "run_pipeline",
    "score_sites",
    "site_indicators",
    "snap",
    "study_area",
    "travel_times",
    "two_step_fca",
    "walk_network",
    "write_web_map",
    "zone_sites",
]


def __getattr__(name: str):
    """Import a public function or class on first access (PEP 562)."""
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    """List the public API next to the module's own attributes."""
    return sorted(set(globals()) | set(__all__))
