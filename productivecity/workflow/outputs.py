"""Every output of a run (atlas, maps, web map, tables, report) into one folder."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from productivecity._errors import (
    ConfigError,
)
from productivecity.workflow.config import BASEMAP_FORMATS, OUTPUT_FILES, PipelineConfig

#: The places table written next to the sites CSV (``[outputs] formats`` with ``csv``).
PLACES_CSV = "ranked_places.csv"
#: The atlas pages the HTML report embeds (the atlas itself has a card per place and a
#: page per criterion; the report shows those as tables).
REPORT_PAGES = ("overview", "new_hubs", "isochrones", "transit_isochrones")

if TYPE_CHECKING:
    from productivecity.workflow.steps import _Run

logger = logging.getLogger(__name__)


def _indicator_maps(config: PipelineConfig, ranked, spec=None, criteria=None) -> list[str]:
    """Return the indicator columns that get an atlas page.

    With ``indicator_maps = "criteria"``, a criterion that carried no weight
    because it has the same value at every eligible site (``discriminating``
    false in the run's ``criteria`` table) gets no page: a map of one colour
    says nothing; the method page names it.
    """
    from productivecity.outputs.maps import indicator_columns

    choice = config["outputs"]["indicator_maps"]
    if choice == "criteria":
        flat = set()
        if criteria is not None and {"criterion", "discriminating"} <= set(criteria.columns):
            flat = set(criteria.loc[criteria["discriminating"].eq(False), "criterion"])
        cols = [c.column for c in (spec or config.criteria).criteria if c.name not in flat]
    elif choice == "all":
        cols = indicator_columns(ranked)
    else:
        cols = list(choice)
    seen: dict[str, None] = {}
    for c in cols:
        seen.setdefault(c, None)
    missing = [c for c in seen if c not in ranked.columns]
    if missing:
        raise ConfigError(f"[outputs] indicator_maps: no column(s) {missing} in the site table")
    return list(seen)


def prepare_outputs(run: _Run, layers) -> None:
    """Import the modules the atlas pages use and read the base map.

    :func:`_write_outputs` would do it first; a run does it while its second process
    computes the isochrones. The modules of the other outputs (the web map's, the
    GeoTIFF's, ...) are imported when they are written, after the page workers have
    started: the run waits for no more than these.
    """
    import importlib

    formats = set(run.config["outputs"]["formats"])
    modules = ["export"]
    if {"atlas", "png", "report"} & formats:
        modules += ["maps", "atlas", "pages", "report"]
    for name in modules:
        importlib.import_module(f"productivecity.outputs.{name}")
    if BASEMAP_FORMATS & formats:
        run.basemap(layers)


def _write_outputs(run: _Run, tmp: Path, *, ranked, stability, layers, spec, mc_top_k,
                   isochrones, allocation, tables, date, missing_inputs=None,
                   places=None, transit_isochrones=None) -> list[str]:
    from productivecity.outputs import export, maps, report

    cfg = run.config["outputs"]
    formats = cfg["formats"]
    common = dict(lang=cfg["lang"], date=date, sources=run.credits(layers))

    def timed(name, fn, since=None, waited=None):
        from productivecity._console import step_logger

        t0 = time.perf_counter() if since is None else since
        fn()
        dt = time.perf_counter() - t0 - (sum(waited) if waited else 0.0)
        written = {"maps": [OUTPUT_FILES[f] + ("/" if f == "png" else "")
                            for f in ("atlas", "png") if f in formats],
                   "places_csv": [PLACES_CSV]}.get(name, [OUTPUT_FILES.get(name, name)])
        step_logger.info("  %-10s written  %5.1f s  %s", name, dt, ", ".join(written))
        run.records.append({"step": f"outputs:{name}", "status": "written", "time_s": dt,
                            "key": None})

    indicators = _indicator_maps(run.config, ranked, spec, tables.get("criteria"))
    figures: dict = {}
    atlas_job = None
    if {"atlas", "png", "report"} & set(formats):
        from productivecity._console import progress
        from productivecity.outputs.pages import write_pages

        plan = maps.iter_atlas_figures(
            ranked, layers, isochrones=isochrones, indicators=indicators,
            transit_isochrones=transit_isochrones,
            top_k=cfg["top_k"], isochrone_top_k=cfg["isochrone_top_k"],
            paper=cfg["paper"], basemap=run.basemap(layers), places=places,
            allocation=allocation, spec=spec,
            cover=dict(criteria=tables.get("criteria"), demand=run.demand_info,
                       coverage=tables.get("data_coverage"), title=cfg["title"]),
            only=None if {"atlas", "png"} & set(formats) else REPORT_PAGES, as_plan=True,
            **common)
        # the pages are drawn by worker processes (one per core) while this one writes
        # the other outputs; then a bar over the pages left, if they take a few seconds
        bars: list = []
        t_maps = time.perf_counter()
        atlas_job = write_pages(
            plan, pdf=tmp / OUTPUT_FILES["atlas"] if "atlas" in formats else None,
            png_dir=tmp / OUTPUT_FILES["png"] if "png" in formats else None,
            dpi=cfg["dpi"], preview_pages=REPORT_PAGES,
            # the report's images, made by the page workers at the size the report embeds
            # (a pixel less: the renderer rounds the page's width up)
            preview_dpi=((report.EMBED_MAX_WIDTH_PX - 1) / (maps.PAPER_MM[cfg["paper"]][0] / 25.4)
                         if "report" in formats else None),
            preview_colors=report.EMBED_COLORS, on_page=lambda _: bars and bars[0].update())

        def pages():
            bars.append(progress(total=len(plan), desc="maps", unit="page",
                                 disable=not run.progress))
            try:
                figures.update(atlas_job.wait())
            finally:
                bars[0].close()
    try:
        if "webmap" in formats:
            from productivecity.outputs import webmap

            timed("webmap", lambda: webmap.write_web_map(
                ranked, layers, tmp / OUTPUT_FILES["webmap"], top_k=cfg["top_k"],
                indicators=indicators, title=cfg["title"], stability_top_k=mc_top_k,
                basemap=run.basemap(layers), **common))
        if "weights" in formats and spec is not None:
            from productivecity.outputs.weights_page import write_weights_page

            timed("weights", lambda: write_weights_page(
                ranked, layers, tmp / OUTPUT_FILES["weights"], spec=spec, top_k=cfg["top_k"],
                radius_m=cfg["place_radius_m"], basemap=run.basemap(layers), **common))
        if "gpkg" in formats:
            def gpkg():
                path = tmp / OUTPUT_FILES["gpkg"]
                context = dict(layers.layers)
                if places is not None:
                    context["places"] = places
                if allocation is not None:
                    context["new_hubs"] = allocation["new_hubs"]
                    context["demand_units"] = allocation["demand_units"]
                    if allocation.get("tier_hubs") is not None:  # [allocation] tiers
                        context["tier_new_hubs"] = allocation["tier_hubs"]
                if transit_isochrones is not None:  # with their source ("timetable", ...)
                    context["transit_isochrones"] = transit_isochrones.reset_index()
                if "qgis" in formats:  # the atlas's base map, for the QGIS project
                    base = run.basemap(layers)
                    for name, frame in ({} if base is None else base.frames()).items():
                        if frame is not None and len(frame):
                            context[f"basemap_{name}"] = frame
                # the run's attribute tables (criteria, definitions, ...) in the same file
                export.write_gpkg(ranked, context, path, stability=stability, isochrones=isochrones,
                                  tables={name: df for name, df in tables.items()
                                          if df is not None})
            timed("gpkg", gpkg)
        if "qgis" in formats:  # over the GeoPackage just written (the config requires it)
            from productivecity.outputs.qgis import write_qgis_project

            timed("qgis", lambda: write_qgis_project(
                tmp / OUTPUT_FILES["gpkg"], tmp / OUTPUT_FILES["qgis"], lang=cfg["lang"],
                title=cfg["title"]))
        if "geoparquet" in formats:
            timed("geoparquet", lambda: export.write_geoparquet(
                ranked, tmp / OUTPUT_FILES["geoparquet"], stability=stability))
        if "geotiff" in formats:
            timed("geotiff", lambda: export.write_suitability_raster(
                ranked, tmp / OUTPUT_FILES["geotiff"], resolution_m=cfg["raster_resolution_m"]))
        if "csv" in formats:
            # rounded for people; ';' and decimal commas for nl/fr (csv_style "auto")
            style = export.csv_style(cfg["csv_style"], cfg["lang"])
            timed("csv", lambda: export.write_sites_csv(ranked, tmp / OUTPUT_FILES["csv"],
                                                        stability=stability, style=style))
            if places is not None:
                from productivecity.siting.places import write_places_csv

                timed("places_csv", lambda: write_places_csv(places, tmp / PLACES_CSV,
                                                             style=style))
        if "xlsx" in formats:
            timed("xlsx", lambda: export.write_workbook(
                ranked, tmp / OUTPUT_FILES["xlsx"], places=places, stability=stability,
                criteria=tables.get("criteria"), definitions=tables.get("indicator_definitions"),
                title=cfg["title"], **common))
        waited: list[float] = []

        def drawn_pages() -> dict:  # the pages, drawn meanwhile
            from productivecity.workflow import manifest

            manifest.prepare()  # while the pages are drawn
            t0 = time.perf_counter()
            timed("maps", pages, since=t_maps)
            waited.append(time.perf_counter() - t0)
            return figures

        if atlas_job is not None and "report" not in formats:
            drawn_pages()
        if "report" in formats:
            # the report's text is written while the pages are drawn, its images once
            # they are (the report asks for them last)
            timed("report", lambda: report.write_report(
                ranked, tmp / OUTPUT_FILES["report"], stability=stability,
                figures=drawn_pages if atlas_job is not None else figures,
                layers=layers, spec=spec, indicators=indicators, top_k=cfg["top_k"],
                stability_top_k=mc_top_k, title=cfg["title"], missing_inputs=missing_inputs,
                backtest=tables.get("backtest"), places=places, demand=run.demand_info,
                completeness=run.completeness,
                coverage=tables.get("data_coverage"), allocation=allocation,
                sensitivity=tables.get("sensitivity_one_at_a_time"),
                **common), waited=waited)
    except BaseException:  # no worker left drawing for a run that failed
        if atlas_job is not None:
            atlas_job.cancel()
        raise
    return sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())

