"""Indicator options (catchment modes and times) and the indicator columns they name.

One :class:`IndicatorOptions` carries every catchment time of the indicators; its
defaults are the defaults of the scenario schema (``[indicators]`` section of
:mod:`productivecity.workflow.config`) and of the command line. The column names
follow the times: ``jobseekers_walk_15min_n`` when a 15-minute walk catchment is
asked for. :func:`indicator_definitions` returns the columns and their definitions
for a set of options. This module imports nothing heavy, so the configuration can
use it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from productivecity._errors import ConfigError

#: Year of the job-seeker table when none is given.
DEFAULT_YEAR = 2024
#: Cell size of the dasymetric demand surface when none is given (m).
DEFAULT_SURFACE_CELL_M = 100.0

#: Demand groups counted in catchments: column prefix -> definition.
_JOBSEEKER_GROUPS = {
    "jobseekers": "job seekers",
    "jobseekers_low_edu": "low-educated job seekers",
}
_MODE_TEXT = {"walk": "walk", "bike": "by bike"}


def _limits(value: Sequence[float], *, key: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"[indicators] {key} must be a list of minutes, got {value!r}") from None
    if not out or any(not math.isfinite(v) or v <= 0 for v in out):
        raise ConfigError(f"[indicators] {key} must be a non-empty list of positive minutes, "
                          f"got {list(value)!r}")
    if len(set(out)) != len(out):
        raise ConfigError(f"[indicators] {key} lists a time twice: {list(value)!r}")
    return tuple(sorted(out))


def _limit(value: float, *, key: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"[indicators] {key} must be a number of minutes, got {value!r}") \
            from None
    if not math.isfinite(out) or out <= 0:
        raise ConfigError(f"[indicators] {key} must be a positive number of minutes, "
                          f"got {value!r}")
    return out


@dataclasses.dataclass(frozen=True)
class IndicatorOptions:
    """Catchment modes and times of the site indicators (minutes).

    Attributes
    ----------
    walk_limits_min, bike_limits_min : tuple of float
        Catchment times of the job-seeker counts on foot and by bike
        (``jobseekers[_low_edu]_<mode>_<t>min_n``).
    stops_walk_limit_min : float
        Walk time of the transit-stop count (``stops_walk_<t>min_n``).
    residents_bike_limit_min : float
        Bike time of the resident count (``residents_bike_<t>min_n``).
    hub_access_bike_limit_min : float
        Catchment of the two-step floating catchment of existing hubs (bike).
    station_limit_min : float
        Largest walk to a rail station whose daily stops are reported.
    """

    walk_limits_min: tuple[float, ...] = (20.0, 30.0)
    bike_limits_min: tuple[float, ...] = (20.0, 30.0)
    stops_walk_limit_min: float = 10.0
    residents_bike_limit_min: float = 15.0
    hub_access_bike_limit_min: float = 30.0
    station_limit_min: float = 30.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = (_limits(value, key=f.name) if f.name.endswith("_limits_min")
                       else _limit(value, key=f.name))
            object.__setattr__(self, f.name, checked)

    @classmethod
    def from_config(cls, section) -> IndicatorOptions:
        """Build from the ``[indicators]`` section of a configuration (extra keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dict(section).items() if k in names})

    def limits(self, mode: str) -> tuple[float, ...]:
        """Catchment times of the job-seeker counts for ``mode`` ("walk" or "bike")."""
        return {"walk": self.walk_limits_min, "bike": self.bike_limits_min}[mode]


def catchment_column(group: str, mode: str, limit_min: float) -> str:
    """Column of a catchment count, e.g. ``jobseekers_walk_15min_n``."""
    return f"{group}_{mode}_{limit_min:g}min_n"


def indicator_definitions(options: IndicatorOptions | None = None) -> dict[str, str]:
    """Return the indicator columns (unit in the name) and their definitions.

    Parameters
    ----------
    options : IndicatorOptions, optional
        Catchment times (default: :class:`IndicatorOptions` ()).

    Returns
    -------
    dict of str to str
        Column name to definition, in the order of the site table.

    Examples
    --------
    >>> from productivecity.indicators.options import IndicatorOptions, indicator_definitions
    >>> cols = indicator_definitions(IndicatorOptions(walk_limits_min=[15]))
    >>> [c for c in cols if c.startswith("jobseekers_walk")]
    ['jobseekers_walk_15min_n']
    """
    o = options or IndicatorOptions()
    defs: dict[str, str] = {
        "area_ha": "land area of the site (ha)",
        "brownfield_share_pct": "share of the site's area on OSM landuse=brownfield (%)",
        "industrial_share_pct": "share of the site's area on OSM landuse=industrial (%)",
        "vacant_poi_n": "vacant shops (shop=vacant) and disused/abandoned features within 250 m "
                        "of the site (count; OSM proxy of vacancy)",
        "vacant_poi_per_ha": "the same per hectare of the site buffered by 250 m",
        "building_coverage_pct": "building footprint area / land area of the site (%; NaN where "
                                 "no building data cover the site)",
        "unbuilt_industrial_ha": "industrial and brownfield land in the site without buildings "
                                 "(ha; NaN where no building data)",
        "open_land_share_pct": "share of the site's land (water left out) on parks, woods, "
                               "grass, cemeteries or allotments (OSM; %)",
        "water_share_pct": "share of the site on water: the canal, docks, ponds (OSM; %)",
        "residential_land_share_pct": "share of the site on OSM landuse=residential (%; the "
                                      "mixed fabric of the canal districts is mapped so)",
    }
    for group, text in _JOBSEEKER_GROUPS.items():
        for mode in ("walk", "bike"):
            for t in o.limits(mode):
                col = catchment_column(group, mode, t)
                what = "living " if group == "jobseekers" else ""
                unit = " (persons, annual average)" if group == "jobseekers" else ""
                defs[col] = f"{text} {what}within {t:g} min {_MODE_TEXT[mode]}{unit}"
    defs.update({
        "unemployment_rate_pct": "unemployment rate of the site's unit (% of the active "
                                 "population, from the unit table)",
        "low_edu_adults_pct": "adults without upper-secondary diploma in the site's unit (%)",
        "hub_access_2sfca_per_1000_jobseekers": (
            f"existing hubs per 1,000 job seekers within {o.hub_access_bike_limit_min:g} min by "
            f"bike (two-step floating catchment; a hub counts its training places where known, "
            f"else 1)"),
        "rail_station_walk_time_min": "walk to the nearest rail station (min)",
        "rail_station_daily_stops_n": (
            f"average daily train stops at that station, if within "
            f"{o.station_limit_min:g} min walk"),
        "tram_metro_stop_walk_time_min": "walk to the nearest tram or metro stop (min)",
        f"stops_walk_{o.stops_walk_limit_min:g}min_n": (
            f"transit stops (any mode) within {o.stops_walk_limit_min:g} min walk"),
        "canal_quay_walk_time_min": "walk to the nearest point of the canal bank (min)",
        "nearest_hub_walk_time_min": "walk to the nearest existing hub (min)",
        "nearest_hub_bike_time_min": "bike to the nearest existing hub (min)",
        f"residents_bike_{o.residents_bike_limit_min:g}min_n": (
            f"residents within {o.residents_bike_limit_min:g} min by bike (persons)"),
    })
    return defs


__all__ = [
    "DEFAULT_SURFACE_CELL_M",
    "DEFAULT_YEAR",
    "IndicatorOptions",
    "catchment_column",
    "indicator_definitions",
]
