"""Move the criteria weights in a notebook and see the ranked places change at once.

:func:`explore_weights` puts one slider per criterion over a ranked site table
(ipywidgets); each change re-scores the sites with the same functions as the
pipeline (:func:`~productivecity.siting.scoring.score_sites` on the weights of
the sliders, normalised, then
:func:`~productivecity.siting.places.group_places`) and shows the ranked
places by name with their score and why-bars. The weights shown can be saved
as a criteria file that ``productivecity rank`` reads.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from productivecity import _i18n
from productivecity._errors import CriteriaError, ParameterError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class WeightsExplorer:
    """The state behind :func:`explore_weights`: weights in, ranked places out.

    Usable without widgets (tests, scripts): :meth:`rank` scores the sites
    under given weights as the pipeline does; :meth:`criteria_toml` writes
    them as a criteria file.
    """

    sites: pd.DataFrame
    spec: object
    top_k: int = 10
    radius_m: float = 500.0
    lang: str = "en"

    def __post_init__(self):
        self.lang = _i18n.check_lang(self.lang)
        missing = [c for c in self.spec.columns if c not in self.sites.columns]
        if missing:
            raise ParameterError(f"explore_weights: the site table has no column(s) {missing} "
                                 f"that the criteria read; pass the ranked sites of a run "
                                 f"(their indicator columns)")
        # the indicators only: scores of an earlier ranking are recomputed
        drop = [c for c in self.sites.columns
                if c in {"score", "rank", "excluded", "excluded_reason", "status",
                         "missing_inputs", "place_id", "place_rank", "place_best"}
                or str(c).startswith("contrib_")]
        self.table = self.sites.drop(columns=drop)

    @property
    def names(self) -> list[str]:
        """The criterion names, in the order of the criteria file."""
        return [c.name for c in self.spec.criteria]

    def rank(self, weights: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Score the sites under ``weights`` (normalised); return (sites, top places).

        Raises
        ------
        CriteriaError
            Every weight is 0 (nothing to score with) or a weight is negative.
        """
        from productivecity.siting.places import group_places
        from productivecity.siting.scoring import score_sites

        w = {n: float(weights.get(n, 0.0)) for n in self.names}
        if any(v < 0 or not np.isfinite(v) for v in w.values()):
            raise CriteriaError(f"weights must be finite and >= 0, got {w}")
        total = sum(w.values())
        if total <= 0:
            raise CriteriaError(_i18n.text("explore_all_zero", self.lang))
        spec = self.spec.with_weights({n: v / total for n, v in w.items()})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = score_sites(self.table, spec)
        self.notes = [str(c.message) for c in caught]
        scored = self.table.join(result.table)
        places = None
        if hasattr(scored, "crs") and scored.crs is not None and scored.crs.is_projected:
            scored["place_id"], places = group_places(scored, radius_m=self.radius_m)
        return scored, self._top(scored, places, result)

    def _top(self, scored, places, result) -> pd.DataFrame:
        contrib = [f"contrib_{n}" for n in self.names]
        if places is not None and len(places):
            top = places.sort_values("rank").head(self.top_k)
            best = scored.loc[top["best_site_id"]]
            out = pd.DataFrame({"rank": top["rank"].to_numpy(),
                                "place": _names(top), "score": top["score"].to_numpy()})
        else:  # no metric CRS: sites, not places
            best = scored[scored["status"].eq("eligible")].sort_values(
                ["score"], ascending=False, kind="stable").head(self.top_k)
            out = pd.DataFrame({"rank": best["rank"].to_numpy(), "place": _names(best),
                                "score": best["score"].to_numpy()})
        for c in contrib:
            out[c] = best[c].to_numpy() if c in best.columns else np.nan
        return out

    def criteria_toml(self, weights: Mapping[str, float]) -> str:
        """Return a criteria file (TOML) with these weights, normalised, for ``rank``."""
        from productivecity.siting.criteria import criteria_to_toml

        w = {n: float(weights.get(n, 0.0)) for n in self.names}
        total = sum(w.values())
        if total <= 0:
            raise CriteriaError(_i18n.text("explore_all_zero", self.lang))
        return criteria_to_toml(self.spec.with_weights({n: v / total for n, v in w.items()}))


def _names(frame: pd.DataFrame) -> list[str]:
    for col in ("place_name", "street_name"):
        if col in frame.columns:
            names = frame[col].astype(object)
            return [str(n) if pd.notna(n) and str(n) else str(i)
                    for i, n in zip(frame.index, names, strict=True)]
    return [str(i) for i in frame.index]


def _table_html(top: pd.DataFrame, labels: Mapping[str, str], lang: str) -> str:
    """Return the ranked places with a bar per criterion's contribution (plain HTML)."""
    contrib = [c for c in top.columns if c.startswith("contrib_")]
    colours = ["#3a6ea5", "#e07b39", "#5aa469", "#c44e52", "#8172b2", "#937860", "#da8bc3",
               "#8c8c8c", "#ccb974", "#64b5cd", "#4c72b0", "#dd8452"]
    rows = []
    for _, r in top.iterrows():
        bars = "".join(
            f'<span title="{html.escape(labels.get(c[8:], c[8:]))}: {r[c]:.3f}" '
            f'style="display:inline-block;height:10px;width:{max(0.0, r[c]) * 300:.1f}px;'
            f'background:{colours[i % len(colours)]}"></span>'
            for i, c in enumerate(contrib) if pd.notna(r[c]) and r[c] > 0)
        rows.append(f"<tr><td>{int(r['rank'])}</td><td>{html.escape(str(r['place']))}</td>"
                    f"<td>{_i18n.format_number(r['score'], lang, unit='score')}</td>"
                    f"<td>{bars}</td></tr>")
    legend = " ".join(
        f'<span style="color:{colours[i % len(colours)]}">■</span> '
        f"{html.escape(labels.get(c[8:], c[8:]))}" for i, c in enumerate(contrib))
    head = (f"<tr><th>{_i18n.text('rank', lang)}</th><th>{_i18n.text('explore_place', lang)}</th>"
            f"<th>{_i18n.text('score', lang)}</th><th>{_i18n.text('why_bars', lang)}</th></tr>")
    return (f'<table style="border-collapse:collapse">{head}{"".join(rows)}</table>'
            f'<div style="font-size:85%;margin-top:4px">{legend}</div>')


def explore_weights(ranked: pd.DataFrame, spec, *, top_k: int = 10,
                    radius_m: float = 500.0, lang: str = "en"):
    """Show sliders for the criteria weights over ranked sites (a Jupyter widget).

    Each slider change re-scores the sites as the pipeline does (weights
    normalised to sum 1, the criteria's exclusions, WLC or OWA) and regroups
    them into places; the ranked places are listed by name with their score and
    a bar per criterion's contribution. "Save weights" writes the weights as a
    criteria file (``criteria_explored.toml`` in the working folder) that
    ``productivecity rank --criteria`` accepts.

    Parameters
    ----------
    ranked : GeoDataFrame
        Sites with their indicator columns, e.g. the ``ranked`` result of
        :func:`~productivecity.rank_sites` or the ``sites`` layer of a run's
        ``results.gpkg``; in a metric CRS to be grouped into places.
    spec : CriteriaSpec
        The criteria (:func:`~productivecity.load_criteria`), e.g. the run's.
    top_k : int, default 10
        Places listed.
    radius_m : float, default 500
        Radius of a place (as ``[outputs] place_radius_m``).
    lang : {"en", "nl", "fr"}

    Returns
    -------
    ipywidgets.VBox
        The panel; its ``explorer`` attribute is the :class:`WeightsExplorer`
        and ``sliders`` maps criterion names to their sliders.

    Raises
    ------
    ImportError
        ipywidgets is not installed (``pip install ipywidgets``).

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.indicators.names import site_names
    >>> from productivecity.workflow.examples import example_path
    >>> from productivecity.workflow.inputs import load_indicator_inputs
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> table, _ = pc.site_indicators(sites, layers, load_indicator_inputs(layers), progress=False)
    >>> spec = pc.load_criteria(example_path("canal-making"))
    >>> panel = pc.explore_weights(table.join(site_names(table, layers)), spec, top_k=3)
    >>> panel.sliders[spec.weights.index[0]].value = 1.0  # the table below follows
    >>> panel.children[-1].value.count("<tr>")
    4
    """
    try:
        import ipywidgets as w
    except ImportError as exc:  # pragma: no cover - the notebooks extra has it
        raise ImportError("explore_weights needs ipywidgets: python -m pip install "
                          "ipywidgets (or the package's [notebooks] extra)") from exc
    ex = WeightsExplorer(ranked, spec, top_k=top_k, radius_m=radius_m, lang=lang)
    labels = {c.name: c.description or _i18n.column_label(c.column, ex.lang, unit=False)
              for c in spec.criteria}
    start = spec.weights
    sliders = {n: w.FloatSlider(value=float(start[n]), min=0.0, max=1.0, step=0.01,
                                description=n, continuous_update=False, readout_format=".2f",
                                tooltip=labels[n], style={"description_width": "12em"},
                                layout=w.Layout(width="32em"))
               for n in ex.names}
    table = w.HTML()
    note = w.HTML()
    save = w.Button(description=_i18n.text("save_weights", ex.lang), icon="download")

    def weights() -> dict[str, float]:
        return {n: s.value for n, s in sliders.items()}

    def update(_=None) -> None:
        try:
            _, top = ex.rank(weights())
        except CriteriaError as exc:
            note.value = f'<b style="color:#b00">{html.escape(str(exc))}</b>'
            return
        note.value = "<br>".join(html.escape(n) for n in ex.notes)
        table.value = _table_html(top, labels, ex.lang)

    def on_save(_) -> None:
        from pathlib import Path

        try:
            text = ex.criteria_toml(weights())
        except CriteriaError as exc:
            note.value = f'<b style="color:#b00">{html.escape(str(exc))}</b>'
            return
        path = Path("criteria_explored.toml")
        path.write_text(text, encoding="utf-8")
        note.value = html.escape(_i18n.text("weights_saved", ex.lang, path=str(path.resolve())))

    for s in sliders.values():
        s.observe(update, names="value")
    save.on_click(on_save)
    update()
    box = w.VBox([w.HTML(f"<b>{html.escape(_i18n.text('explore_title', ex.lang))}</b>"),
                  *sliders.values(), save, note, table])
    box.explorer, box.sliders, box.update = ex, sliders, update
    return box


__all__ = ["WeightsExplorer", "explore_weights"]
