"""The public API: ``import productivecity as pc`` and the names it offers."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import productivecity as pc
from productivecity import _errors

# the user-facing function (or class) of each stage, as the README lists them
STAGES = [
    "study_area", "load_layers", "LayerSet",
    "walk_network", "bike_network", "build_network", "Network",
    "snap", "travel_times", "nearest_time_min", "count_within", "nearest_and_count",
    "cumulative_opportunities", "gravity", "two_step_fca", "isochrones",
    "candidate_sites", "grid_sites", "zone_sites", "read_sites",
    "site_indicators",
    "load_criteria", "score_sites", "rank_sites", "explore_weights", "demand_units",
    "network_travel_times",
    "maximal_covering", "p_median", "coverage_curve",
    "load_config", "run_pipeline",
    "plot_overview", "plot_indicator", "atlas_figures", "write_web_map",
]


def test_all_is_sorted_and_complete():
    assert pc.__all__ == sorted(pc.__all__)
    assert len(set(pc.__all__)) == len(pc.__all__)
    expected = {*STAGES, *_errors.__all__, "Settings", "get_settings", "__version__"}
    assert set(pc.__all__) == expected


@pytest.mark.parametrize("name", pc.__all__)
def test_every_name_resolves(name):
    value = getattr(pc, name)
    assert value is not None
    assert name in dir(pc)
    if name in _errors.__all__:
        assert value is getattr(_errors, name)
    elif callable(value):
        # the object of the stage module itself, not a copy
        assert value is getattr(sys.modules[value.__module__], name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'street_netwerk'"):
        pc.street_netwerk  # noqa: B018
    assert not hasattr(pc, "street_netwerk")


def test_import_is_light():
    """``import productivecity`` loads neither numba nor matplotlib (nor geopandas)."""
    code = ("import json, sys; import productivecity as pc; pc.__all__; dir(pc); "
            "print(json.dumps(sorted(m for m in ('numba', 'matplotlib', 'geopandas', "
            "'osmnx', 'scipy') if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("name", sorted(set(pc.__all__) - set(_errors.__all__)
                                     - {"__version__"}))
def test_exported_callables_have_examples(name):
    value = getattr(pc, name)
    assert callable(value)
    doc = inspect.getdoc(value) or ""
    assert "\nExamples\n--------\n" in doc, f"pc.{name} has no numpydoc Examples section"
    examples = doc.split("\nExamples\n--------\n", 1)[1]
    assert ">>> " in examples
    # at least one example runs (not every line skipped)
    lines = [ln for ln in examples.splitlines() if ln.startswith(">>> ")]
    assert any("doctest: +SKIP" not in ln for ln in lines), f"pc.{name}: every example skipped"
