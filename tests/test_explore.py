"""Weights moved in a notebook panel re-rank the places as the pipeline would."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import productivecity as pc
from productivecity._errors import CriteriaError
from productivecity.indicators.names import site_names
from productivecity.siting.criteria import criteria_from_dict
from productivecity.siting.explore import WeightsExplorer
from productivecity.siting.places import group_places
from productivecity.workflow.examples import example_path
from productivecity.workflow.inputs import load_indicator_inputs


@pytest.fixture(scope="module")
def sample():
    layers = pc.load_layers("sample", progress=False)
    sites, _ = pc.candidate_sites(layers, "grid", cell_m=250.0)
    table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    table = table.join(site_names(table, layers))  # places are listed by name
    spec = pc.load_criteria(example_path("brussels-canal"))
    return table, spec


def _reference(table, spec, weights):
    """The pipeline's path: rank_sites on the normalised weights, then places."""
    total = sum(weights.values())
    ranked, *_ = pc.rank_sites(table, spec.with_weights({k: v / total
                                                         for k, v in weights.items()}))
    _, places = group_places(ranked, radius_m=500.0)
    return ranked, places


@pytest.mark.parametrize("seed", [0, 1])
def test_explorer_ranks_as_the_pipeline(sample, seed):
    table, spec = sample
    rng = np.random.default_rng(seed)
    weights = {n: float(v) for n, v in zip(spec.weights.index, rng.random(len(spec.weights)),
                                           strict=True)}
    ex = WeightsExplorer(table, spec, top_k=5)
    scored, top = ex.rank(weights)
    ranked, places = _reference(table, spec, weights)
    np.testing.assert_allclose(scored["score"].to_numpy(float), ranked["score"].to_numpy(float),
                               rtol=0, atol=1e-12, equal_nan=True)
    best = places.sort_values("rank").head(5)
    assert top["score"].tolist() == pytest.approx(best["score"].tolist(), abs=1e-12)
    assert top["place"].tolist() == best["place_name"].astype(str).tolist()
    # the why-bars are the contributions of the best site of each place; they sum to its score
    contrib = top[[c for c in top.columns if c.startswith("contrib_")]].sum(axis=1)
    assert contrib.tolist() == pytest.approx(top["score"].tolist(), abs=1e-9)


def test_saved_weights_round_trip(sample):
    table, spec = sample
    weights = dict.fromkeys(spec.weights.index, 0.0)
    weights.update({spec.weights.index[0]: 3.0, spec.weights.index[2]: 1.0})
    ex = WeightsExplorer(table, spec)
    text = ex.criteria_toml(weights)
    again = criteria_from_dict(tomllib.loads(text), source="saved")
    assert again.weights[spec.weights.index[0]] == pytest.approx(0.75)
    ranked_again, *_ = pc.rank_sites(table, again)
    scored, _ = ex.rank(weights)
    np.testing.assert_allclose(ranked_again["score"].to_numpy(float),
                               scored["score"].to_numpy(float), atol=1e-12, equal_nan=True)
    with pytest.raises(CriteriaError, match="All weights are 0"):
        ex.criteria_toml(dict.fromkeys(spec.weights.index, 0.0))


def test_panel_sliders_drive_the_table(sample):
    pytest.importorskip("ipywidgets")
    table, spec = sample
    panel = pc.explore_weights(table, spec, top_k=3, lang="nl")
    first = panel.children[-1].value
    names = list(panel.sliders)
    for n in names:
        panel.sliders[n].value = 0.0  # through the sliders' own observers
    assert "Alle gewichten zijn 0" in panel.children[-2].value
    panel.sliders[names[0]].value = 1.0
    only_first = {n: (1.0 if n == names[0] else 0.0) for n in names}
    _, places = _reference(table, spec, only_first)
    html = panel.children[-1].value
    assert html != first and html.count("<tr>") == 1 + 3
    for name in places.sort_values("rank")["place_name"].head(3):
        assert str(name) in html
    assert "Plek" in html and "Bijdrage per criterium" in html
