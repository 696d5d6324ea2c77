"""Times of day as seconds after midnight (GTFS style: past 24:00 for overnight trips).

A light module: the configuration check parses the ``[transit]`` window with it
without importing the timetable engine.
"""

from __future__ import annotations

import numpy as np

from productivecity._errors import ParameterError


def parse_clock_s(value) -> int:
    """Return ``"07:30"`` / ``"25:10:00"`` / seconds as seconds after midnight.

    Raises
    ------
    ParameterError
        ``value`` is not HH:MM or HH:MM:SS (nor a number of seconds).

    Examples
    --------
    >>> parse_clock_s("07:30"), parse_clock_s("25:10:00"), parse_clock_s(60)
    (27000, 90600, 60)
    """
    if isinstance(value, int | np.integer):
        return int(value)
    parts = str(value).strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if not 2 <= len(nums) <= 3:
        raise ParameterError(f"{value!r} is not a time of day (expected HH:MM or HH:MM:SS)")
    return nums[0] * 3600 + nums[1] * 60 + (nums[2] if len(nums) == 3 else 0)
