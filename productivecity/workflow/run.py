"""Run a scenario: every step, every output, one folder."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import gc
import json
import logging
import os
import shutil
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from productivecity._console import step_logger
from productivecity.settings import Settings, get_settings
from productivecity.siting.backtest import backtest_hubs, backtest_summary
from productivecity.siting.coverage import data_coverage
from productivecity.workflow.cache import _unique_dir
from productivecity.workflow.config import PipelineConfig, _jsonable, load_config
from productivecity.workflow.manifest import _manifest
from productivecity.workflow.outdir import _clean_stale, _swap_in, check_output_dir
from productivecity.workflow.outputs import _write_outputs, prepare_outputs
from productivecity.workflow.steps import (
    _Run,
    allocation_step,
    definitions_table,
    demand_step,
    indicators_step,
    isochrones_step,
    layers_step,
    ranking_step,
    request_isochrones,
    sites_step,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """What a pipeline run produced.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    manifest : dict
        The content of ``manifest.json``.
    steps : DataFrame
        One row per step (index ``step``): ``status`` (``computed`` /
        ``cached`` / ``skipped`` / ``written``), ``time_s`` (seconds), ``key``
        (cache key).
    ranked : GeoDataFrame
        The ranked sites (index ``site_id``) as exported.
    missing_inputs : DataFrame
        Every input the run went without (index ``input``): ``status``
        (``"missing"``: absent; ``"failed"``: there but unreadable, left out
        under ``skip_missing``; ``"dropped"``: a criterion without data) and
        ``reason``. Also in the manifest (``results.missing_inputs``).
    failed_sources : list of str
        Layers whose source failed and that ``[run] allow_failed`` does not
        list: the command line exits with 1 when there are any.
    places : GeoDataFrame or None
        The candidate places (index ``place_id``, best first), as
        :func:`productivecity.siting.places.group_places` with the columns of
        :func:`productivecity.siting.places.place_stability`; the ranked sites
        carry their ``place_id``. None when the sites are not in a metric CRS.
    coverage : DataFrame or None
        Data coverage per municipality (index ``unit``), as
        :func:`productivecity.siting.coverage.data_coverage`: the sites'
        states and the inputs missing there. None without a
        ``units_municipalities`` layer. Also in the manifest
        (``results.coverage``), the report and the GeoPackage.
    """

    out_dir: Path
    manifest: dict
    steps: pd.DataFrame
    ranked: gpd.GeoDataFrame
    missing_inputs: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=["status", "reason"]))
    failed_sources: list[str] = dataclasses.field(default_factory=list)
    places: gpd.GeoDataFrame | None = None
    coverage: pd.DataFrame | None = None


def run_pipeline(
    config: PipelineConfig | str | os.PathLike,
    *,
    out_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    settings: Settings | None = None,
    progress: bool = True,
) -> RunResult:
    """Run every step of a configuration and write every output into one folder.

    Parameters
    ----------
    config : PipelineConfig or path-like
        A checked configuration, the TOML file (read with :func:`load_config`), or
        the name of a scenario shipped with the package (e.g. ``"sample"``).
    out_dir : path-like, optional
        Output folder (default: ``[run] out_dir``, else
        ``data/processed/<run name>`` under the current folder).
    data_dir : path-like, optional
        Data directory; overrides ``[area] data_dir`` and the preset's own data.
    overwrite : bool, default False
        Replace an existing, non-empty output folder of an earlier run.
    settings : Settings, optional
        Cache folder and offline flag (default :func:`get_settings`).
    progress : bool, default True
        Show progress bars.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        The configuration is invalid (all problems listed).
    OutputExistsError
        The output folder exists and is not empty (without ``overwrite``).
    DataSourceError, SchemaError, AllocationError, ...
        From the steps; nothing is written to the output folder then.

    Examples
    --------
    >>> import tempfile
    >>> import productivecity as pc
    >>> from productivecity.workflow.config import build_config
    >>> from productivecity.workflow.examples import example_path
    >>> cfg = build_config(example_path("sample"), overrides=[
    ...     ("outputs", "formats", ["csv"]), ("sites", "cell_m", 500.0), ("allocation", "k", 2)])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = pc.run_pipeline(cfg, out_dir=f"{tmp}/sample", progress=False)
    ...     sorted(p.name for p in result.out_dir.iterdir())
    ['manifest.json', 'ranked_places.csv', 'ranked_sites.csv']
    >>> len(result.ranked), int(result.ranked["rank"].min())
    (72, 1)
    >>> result.manifest["results"]["allocation"]["k"]
    2
    """
    with _batch_gc():
        return _run_pipeline(config, out_dir=out_dir, data_dir=data_dir, overwrite=overwrite,
                             settings=settings, progress=progress)


#: The collector's thresholds during a run. A run allocates many short-lived
#: containers (frames, geometries, matplotlib artists): with Python's default
#: (700, 10, 10) the collector ran about 1,000 times in a run of the sample, 0.7 s of
#: a 9 s run; with these, a dozen times (0.15 s). Memory freed by reference counting
#: (nearly all of it) is unaffected; reference cycles live a little longer.
RUN_GC_THRESHOLD = (50_000, 50, 50)

#: A list while the caller ends its process right after the run (the ``productivecity``
#: command, see :func:`productivecity.cli.command`): a run's objects (its layers,
#: networks, frames) are then kept in it instead of being freed one by one when the
#: run returns (0.1 s after a run of the sample). None otherwise: a run in a notebook or
#: a script frees its memory as it returns.
_KEEP_UNTIL_EXIT: list | None = None


@contextlib.contextmanager
def _batch_gc():
    """Use :data:`RUN_GC_THRESHOLD` while a run lasts (the caller's own afterwards)."""
    old = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        yield
    finally:
        if _KEEP_UNTIL_EXIT is not None:
            # the process ends after the run: the collection that the caller's thresholds
            # would start next (every object the run made, 0.12 s) is not worth it
            gc.freeze()
        gc.set_threshold(*old)


def _run_pipeline(config, *, out_dir, data_dir, overwrite, settings, progress) -> RunResult:
    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    if not isinstance(config, PipelineConfig):
        from productivecity.workflow.examples import resolve_config_path

        config = load_config(resolve_config_path(config))
    settings = settings or get_settings()
    run = _Run(config, data_dir=data_dir, settings=settings, progress=progress)
    if out_dir is None:
        out_dir = config["run"]["out_dir"] or Path("data") / "processed" / config.name
    protected = tuple(p for p in (config.path, config.criteria_file, run.data_dir,
                                  run.cache.root) if p is not None)
    out = check_output_dir(out_dir, overwrite=overwrite, protected=protected)
    _clean_stale(out)
    logger.info("run %s: data %s, output %s, cache %s", config.name, run.data_dir, out,
                run.cache.root)

    config.require_criteria("a run")
    # the indicators need both networks; a cold run builds them on the second core meanwhile
    try:
        run.prefetch_networks(["walk", "bike"])
        layers = layers_step(run)
        run.request_timetable(layers)  # built there while the demand step runs
        sites, sites_report = sites_step(run, layers)
        demand = demand_step(run, layers)
        run.request_transit(sites, layers, demand)  # computed there with the walk and bike ones
        run.request_basemap(layers)  # the maps' base map, read there next
        table, ind_report = indicators_step(run, sites, layers, demand)
        rank_frames, rank_meta = ranking_step(run, table)
        missing_inputs = _missing_inputs(layers, run, rank_meta)
        failed = [str(i) for i, row in missing_inputs.iterrows() if row["status"] == "failed"
                  and str(i) not in config["run"]["allow_failed"]]
        for name, row in missing_inputs.iterrows():
            (logger.warning if row["status"] == "failed" else logger.info)(
                "input %s %s: %s", name, row["status"], row["reason"])
        ranked = rank_frames["ranked"]
        # the isochrones are computed in the second process (when there is one) meanwhile
        isochrones_pending = (request_isochrones(run, ranked, layers)
                              if config["outputs"]["isochrone_top_k"] > 0 else None)
        stability = rank_frames["stability"]
        places = rank_frames.get("places")
        if places is not None:
            places.attrs["radius_m"] = config["outputs"]["place_radius_m"]
        allocation = alloc_meta = None
        wanted = config["allocation"]["demand"]
        if not config["allocation"]["enabled"]:
            run.skipped("allocation", "[allocation] enabled = false")
        elif demand is None or wanted not in demand.columns or not demand[wanted].notna().any():
            why = run.demand_missing or f"input missing: the demand data have no {wanted}"
            logger.warning("allocation skipped: it needs the demand %s (%s)", wanted, why)
            run.skipped("allocation", why)
            if not run.demand_missing:  # else the demand row says it already
                missing_inputs.loc["allocation"] = {"status": "missing",
                                                    "reason": f"skipped: {why} ([allocation] "
                                                              f"demand = {wanted!r})"}
        else:
            allocation, alloc_meta = allocation_step(run, ranked, layers, demand)
        isochrones = transit_isochrones = None
        if isochrones_pending is not None:  # the outputs' libraries and base map meanwhile
            prepare_outputs(run, layers)
        # the outputs' tables (they need no isochrones): ready when the isochrones come
        from productivecity.indicators.options import indicator_definitions
        from productivecity.indicators.transit import transit_definitions
        from productivecity.outputs import export

        ranked_out = export.ranked_sites(ranked, stability=stability)
        backtest = _backtest(run, ranked_out, layers)
        coverage = _coverage(run, ranked_out, layers)
        tables = {
            "criteria": rank_frames["weights"],
            "sensitivity_one_at_a_time": rank_frames["one_at_a_time"],
            "indicator_definitions": definitions_table(
                {**indicator_definitions(config.indicator_options),
                 **transit_definitions(config.transit_options,
                                       source=(ind_report.get("transit") or {}).get("source"))}),
            "coverage_curve": (allocation["curve"].drop(columns=["solve_time_s"])
                               if allocation is not None else None),
            # [allocation] tiers: neighbourhood and city-wide hubs, each in its own catchment
            "allocation_tiers": allocation.get("tiers") if allocation is not None else None,
            "backtest": backtest.reset_index() if backtest is not None else None,
            "data_coverage": coverage.reset_index() if coverage is not None else None,
        }
        if config["outputs"]["isochrone_top_k"] > 0:
            iso_frames = isochrones_step(run, ranked, layers, pending=isochrones_pending)
            isochrones = iso_frames["isochrones"]
            if isochrones.geometry.isna().all():
                logger.warning("none of the top sites is on the %s network: no isochrone map",
                               config["outputs"]["isochrone_mode"])
                isochrones = None
            transit_isochrones = iso_frames.get("transit_isochrones")
            if transit_isochrones is not None and transit_isochrones.geometry.isna().all():
                logger.warning("none of the top sites reaches a public-transport stop: no transit "
                               "isochrone map")
                transit_isochrones = None
        else:
            run.skipped("isochrones", "[outputs] isochrone_top_k = 0")
        run.close_helper()  # the second process is done: its memory back before the outputs

        # outputs
        if config["area"]["name"]:
            area_layer = layers["study_area"].copy()
            area_layer["name"] = config["area"]["name"]
            layers = dataclasses.replace(layers, layers={**layers.layers, "study_area": area_layer})
        # the outputs say "made <date>" only for a date the scenario gives: the wall clock would
        # make equal inputs give unequal files, and the inputs' copy date is not when it was made
        # (each source's own data date is in the credits)
        date = config["outputs"]["date"]
        out.parent.mkdir(parents=True, exist_ok=True)
        # an ordinary folder (mode 0o777 less the umask), not mkdtemp's private one
        tmp = _unique_dir(out.parent, f".{out.name}.tmp-{os.getpid()}-")
        try:
            t0 = time.perf_counter()
            step_logger.info("%-10s writing to %s", "outputs", out)
            files = _write_outputs(run, tmp, ranked=ranked_out, stability=None, layers=layers,
                                   spec=run.criteria, mc_top_k=rank_meta["monte_carlo"]["top_k"],
                                   isochrones=isochrones, allocation=allocation, tables=tables,
                                   transit_isochrones=transit_isochrones,
                                   date=date, missing_inputs=missing_inputs, places=places)
            run.records.append({"step": "outputs", "status": "written",
                                "time_s": time.perf_counter() - t0, "key": None})
            step_logger.info("%-10s written   %5.1f s", "outputs", time.perf_counter() - t0)
            manifest = _manifest(run, ranked_out, files=files, date=date or run.data_date(),
                                 started=started,
                                 t_start=t_start, sites_report=sites_report, ind_report=ind_report,
                                 rank_meta=rank_meta, alloc_meta=alloc_meta, out=out,
                                 sources=run.credits(layers), missing_inputs=missing_inputs,
                                 failed_sources=failed, places=places)
            manifest["results"]["backtest"] = (_jsonable(backtest_summary(backtest, ranked_out))
                                               if backtest is not None else None)
            manifest["results"]["coverage"] = (_jsonable(coverage.reset_index().to_dict("records"))
                                               if coverage is not None else None)
            info = run.demand_info or {}
            manifest["results"]["demand_definition"] = info.get("definition")
            manifest["results"]["demand_total_n"] = info.get("total_n")
            manifest["results"]["completeness"] = run.completeness
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
            _swap_in(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            from productivecity.sources._osm_cut import clear_shared_reads

            clear_shared_reads()  # the OSM layers read whole for this run
    finally:  # the second process never outlives the run, failed or not
        run.close_helper()
    logger.info("run %s done in %.1f s: %s", config.name, time.perf_counter() - t_start, out)
    if _KEEP_UNTIL_EXIT is not None:
        _KEEP_UNTIL_EXIT.append(dict(locals()))
    steps = pd.DataFrame(run.records).set_index("step")
    return RunResult(out_dir=out, manifest=manifest, steps=steps, ranked=ranked_out,
                     missing_inputs=missing_inputs, failed_sources=failed, places=places,
                     coverage=coverage)


def _coverage(run, ranked, layers) -> pd.DataFrame | None:
    """Return the data coverage per municipality (None, step skipped, without the units)."""
    units = layers.layers.get("units_municipalities")
    if units is None or not len(units) or "name" not in units.columns:
        run.skipped("coverage", "input missing: no units_municipalities layer with a 'name' "
                                "column (data coverage per municipality)")
        return None
    return data_coverage(ranked, units, lang=run.config["outputs"]["lang"])


def _backtest(run, ranked, layers) -> pd.DataFrame | None:
    """Rank the existing hubs' own sites (None, step skipped and named, without hubs)."""
    hubs = layers.layers.get("hubs")
    if hubs is None or not len(hubs):
        run.skipped("backtest", "input missing: no hubs layer (no existing hub in the area)")
        return None
    return backtest_hubs(ranked, hubs)


def _missing_inputs(layers, run, rank_meta) -> pd.DataFrame:
    """Every input the run went without, at once: layers, demand data, dropped criteria."""
    rows = [{"input": str(name), "status": row["status"], "reason": row["reason"]}
            for name, row in layers.missing_inputs().iterrows()]
    if run.demand_missing:
        rows.append({"input": "demand", "status": "missing", "reason": run.demand_missing})
    rows += [{"input": d, "status": "dropped",
              "reason": "no site has a value for its indicator (its input is missing)"}
             for d in rank_meta.get("dropped_criteria", [])]
    return pd.DataFrame(rows, columns=["input", "status", "reason"]).set_index("input")

