"""The steps of a run, each cached by what it depends on."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
import sys
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from productivecity._console import step_logger
from productivecity._errors import (
    AllocationError,
    ConfigError,
    DataSourceError,
    MissingLayerError,
    SourceNotFoundError,
)
from productivecity.settings import Settings
from productivecity.workflow.cache import _CACHE_VERSION, _hash, _StepCache, step_code_key
from productivecity.workflow.config import BASEMAP_FORMATS, PipelineConfig
from productivecity.workflow.manifest import _file_record, data_files

logger = logging.getLogger(__name__)


class _Run:
    """State of one run: configuration, inputs, cache and step records."""

    def __init__(self, config: PipelineConfig, *, data_dir, settings: Settings, progress: bool):
        self.config = config
        self.settings = settings
        self.progress = progress
        self.records: list[dict] = []
        self.data_dir = self._resolve_data_dir(data_dir)
        run = config["run"]
        if not run["cache"]:
            root = None
        elif run["cache_dir"] is not None:
            root = Path(run["cache_dir"])
        else:
            root = settings.cache_dir / "pipeline"
        self.cache = _StepCache(root, max_mb=settings.cache_max_mb)
        self.inputs = self._inputs()
        self.keys: dict[str, str] = {}
        self.details: dict[str, dict] = {}
        self._networks: dict[str, Any] = {}
        self._buildings = None
        self._open_land = None
        self._basemap = None
        self._basemap_pending: _Pending | None = None  # the base map, in the second process
        self._prefetch: dict[str, Any] = {}
        self._helper: _Helper | None = None  # the second process, once it is started
        self._crs: str | None = None
        self._area = None  # the study area polygon (set with the CRS)
        self.demand_notes: list[str] = []  # set by demand_step, shown with the indicators
        #: credits of the inputs the steps read beside the layers (from each step's meta)
        self.input_credits: list = []
        from productivecity.outputs.attribution import check_override

        check_override(config["outputs"]["attribution"], config["outputs"]["attribution_extra"])
        self.demand_missing = ""  # why there is no demand surface (set by demand_step)
        # the target group's definition and total (set by demand_step; None without demand)
        self.demand_info: dict | None = None
        # footprint completeness per municipality (set by demand_step; None without demand)
        self.completeness: list[dict] | None = None
        self.criteria = config.criteria  # the criteria scored (set by ranking_step)
        self._transit = None  # (timetable or None, info): built once per run
        self._transit_pending: _Pending | None = None  # the timetable, in the second process
        self._transit_asked = False  # the timetable was asked of the second process
        # the public-transport indicators, in the second process (see request_transit)
        self._transit_values: _Pending | None = None

    # ---- shared inputs, read once per run
    def require_data_dir(self, what: str) -> Path:
        """Return the data directory, or raise a DataSourceError saying ``what`` needs one."""
        if self.data_dir is None:
            raise DataSourceError(f"{what} need(s) a data directory (street network, buildings, "
                                  f"labour tables): give --data-dir DIR or [area] data_dir")
        return self.data_dir

    def prefetch_networks(self, modes) -> list[str]:
        """Start building the street networks not yet cached, in a second process.

        A cold run then builds the networks on the second core while the layers
        and the demand surface load; :meth:`network` waits for them and loads them
        from the network cache. Returns the modes started (none when every network
        is cached, there is no OSM street file, or ``PRODUCTIVECITY_PREFETCH=0``).
        """
        if self.data_dir is None or os.environ.get("PRODUCTIVECITY_PREFETCH", "1") == "0":
            return []
        from productivecity.network.streets import network_cache_file
        from productivecity.workflow.inputs import osm_street_file

        try:
            osm = osm_street_file(self.data_dir)
        except DataSourceError:
            return []  # the step that needs a network says what is missing
        crs = self.area_crs()
        todo = [m for m in dict.fromkeys(modes) if m not in self._networks
                and m not in self._prefetch
                and not network_cache_file(osm, mode=m, crs=crs,
                                           settings=self.settings).is_file()]
        if not todo:
            return []
        import json
        import subprocess
        import sys

        settings = json.dumps({k: str(v) if isinstance(v, Path) else v
                               for k, v in dataclasses.asdict(self.settings).items()})
        proc = None
        if _can_fork_helper():  # the libraries imported here are there at once
            try:
                proc = _ForkedHelper(str(osm), todo, settings, crs)  # it sends the code keys
            except Exception as exc:  # noqa: BLE001 - a fresh interpreter then
                logger.info("could not fork the second process (%s); starting one", exc)
        if proc is None:
            # a fresh interpreter (not multiprocessing's spawn): a user's script without a
            # __main__ guard is not run again. Its standard output carries the answers: it
            # is set aside, and anything printed (by any import) goes nowhere
            code = ("import os, sys; answers = os.dup(1); "
                    "os.dup2(os.open(os.devnull, os.O_WRONLY), 1); "
                    "from productivecity.workflow.steps import _build_networks; "
                    "_build_networks(sys.argv[1], sys.argv[2].split(','), sys.argv[3], "
                    "sys.argv[4], answers_fd=answers)")
            # its standard input and output carry requests and answers (pickles, see _Helper)
            proc = subprocess.Popen([sys.executable, "-c", code, str(osm), ",".join(todo),
                                     settings, crs],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        weakref.finalize(self, _stop_process, proc)  # never outlives the run
        self._helper = _Helper(proc)
        for mode in todo:
            self._prefetch[mode] = self._helper
        logger.info("reading the buildings and building the %s network(s) in a second process",
                    ", ".join(todo))
        return todo

    def close_helper(self) -> None:
        """End the second process (the run has no more work for it)."""
        self._prefetch.clear()
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def network(self, mode: str):
        """Return the ``mode`` street network of the data directory (built once per run)."""
        helper = self._prefetch.pop(mode, None)
        if helper is not None and not helper.ready():  # built again below, with its own error
            logger.info("the %s network was not built in the second process (exit %s)",
                        mode, helper.proc.poll())
        if mode not in self._networks:
            from productivecity.workflow.inputs import street_network

            net = street_network(self.require_data_dir(f"the {mode} network"), mode,
                                 crs=self.area_crs(), settings=self.settings)
            self._check_network_covers_area(net)
            self._networks[mode] = net
        return self._networks[mode]

    def _check_network_covers_area(self, net) -> None:
        """Refuse a street network that does not reach the study area (wrong data or area)."""
        import geopandas as gpd
        import shapely

        area = self._area
        if area is None or shapely.intersects(shapely.box(*net.bounds), area):
            return
        frames = gpd.GeoSeries([shapely.box(*net.bounds), area], crs=net.crs).to_crs(4326)
        (a0, a1, a2, a3), (b0, b1, b2, b3) = (g.bounds for g in frames)
        raise DataSourceError(
            f"the study area (lon {b0:.3f}–{b2:.3f}, lat {b1:.3f}–{b3:.3f}) lies outside the "
            f"street network of {net.report.source} (lon {a0:.3f}–{a2:.3f}, lat "
            f"{a1:.3f}–{a3:.3f}): is the area or the data directory the wrong one?")

    def area_crs(self) -> str:
        """Return the metric CRS of the run's study area (resolved once per run)."""
        if self._crs is None:
            from productivecity.area import study_area

            area = self.config["area"]
            spec = str(area["file"]) if area["file"] is not None else area["preset"]
            data_dir = self.data_dir
            if data_dir is None and area["preset"] in _presets():
                data_dir = _presets()[area["preset"]].data_dir
            gdf = study_area(spec, data_dir=data_dir, crs=area["crs"], settings=self.settings)
            self._crs = gdf.crs.to_string()
            self._area = gdf.geometry.iloc[0]
        return self._crs

    def buildings(self, layers):
        """Return buildings, their coverage and the OSM extent (read once per run)."""
        if self._buildings is None:
            from productivecity.workflow.inputs import load_buildings

            self._buildings = load_buildings(layers, self.require_data_dir("the buildings"))
        return self._buildings

    def open_land(self, layers):
        """Return the open land polygons and their notes (read once per run)."""
        if self._open_land is None:
            from productivecity.workflow.inputs import read_open_land

            self._open_land = read_open_land(layers, self.require_data_dir("the open land"))
        return self._open_land

    def transit_timetable(self, layers):
        """Return ``(timetable or None, info)`` of ``[transit]`` (built once per run)."""
        if self._transit is None and self._transit_pending is not None:  # built there
            pending, self._transit_pending = self._transit_pending, None
            self._transit = pending.replayed()
        if self._transit is None:
            from productivecity.indicators.transit import load_timetable

            opts = self.config.transit_options
            walk = self.network("walk") if opts.enabled and self.data_dir is not None else None
            self._transit = load_timetable(
                opts, self.data_dir, crs=self.area_crs(), walk=walk,
                stops=layers.layers.get("transit_stops"), area=layers.layers.get("study_area"))
        return self._transit

    def request_timetable(self, layers) -> None:
        """Have a forked second process build the timetable while the demand step runs.

        :meth:`transit_timetable` then takes it (and shows its warnings). Only a
        forked process is asked: it has the walk network by the end of the layers
        step; a fresh interpreter would answer later than the run builds it.
        """
        opts = self.config.transit_options
        helper = self._helper
        if (helper is None or not helper.forked or not opts.enabled
                or self._transit is not None or self._transit_pending is not None):
            return
        self._transit_pending = helper.submit("timetable", {
            "options": opts, "data_dir": self.data_dir,
            "stops": layers.layers.get("transit_stops"), "area": layers.layers.get("study_area")})
        self._transit_asked = self._transit_pending is not None

    def request_transit(self, sites, layers, demand) -> None:
        """Have the second process compute the public-transport indicators meanwhile.

        With the timetable it built (:meth:`request_timetable`), while this process
        computes the walk and bike indicators; :func:`indicators_step` takes them.
        """
        helper = self._helper
        if helper is None or not self._transit_asked or self._transit_values is not None:
            return
        if self.cached("indicators", _indicators_parts(self)):
            return  # nothing to compute
        from productivecity.indicators.table import water_barriers
        from productivecity.indicators.transit import CANAL_DISTRICT_LAYERS

        self._transit_values = helper.submit("transit", {
            "sites": sites[[sites.geometry.name]],
            "layers": {k: v for k, v in layers.layers.items() if k in CANAL_DISTRICT_LAYERS},
            "demand": demand, "barriers": water_barriers(layers),
            "options": self.config.transit_options})

    def request_basemap(self, layers) -> None:
        """Have a forked second process read the base map while the indicators are computed.

        :meth:`basemap` then takes it (and shows its messages). Only when an output
        draws one and the data directory has an OSM file.
        """
        helper = self._helper
        if (helper is None or not helper.forked
                or self._basemap is not None or self._basemap_pending is not None
                or not BASEMAP_FORMATS & set(self.config["outputs"]["formats"])):
            return
        from productivecity.sources.basemap import _osm_file

        area = layers.layers.get("study_area")
        source = _osm_file(layers, self.data_dir)
        if area is None or source is None:  # the run says why there is none
            return
        self._basemap_pending = helper.submit("basemap", {"study_area": area,
                                                          "source": source})

    def basemap(self, layers):
        """Return the base map of the maps (streets, rail, water, green; read once per run).

        Read from the run's OSM file; without one (or without a data directory) an
        empty base map with a note: the maps are drawn without streets.
        """
        if self._basemap is None and self._basemap_pending is not None:  # read there
            pending, self._basemap_pending = self._basemap_pending, None
            self._basemap = pending.replayed()
        if self._basemap is None:
            from productivecity.sources.basemap import read_basemap

            self._basemap = read_basemap(layers, self.data_dir)
        return self._basemap

    # ---- inputs
    def _resolve_data_dir(self, override) -> Path | None:
        from productivecity.area import PRESETS

        area = self.config["area"]
        if override is not None:
            path = Path(override).expanduser().resolve()
        elif area["data_dir"] is not None:
            path = Path(area["data_dir"])
        elif area["preset"] in PRESETS and PRESETS[area["preset"]].data_dir is not None:
            path = Path(PRESETS[area["preset"]].data_dir).resolve()
        else:
            preset = area["preset"]
            if (area["file"] is None and preset is not None and preset not in PRESETS
                    and not preset.startswith("place:")):
                from productivecity.area import study_area

                study_area(preset)  # an unknown preset: its own error, with the known ones
            if not area["online"]:
                raise DataSourceError(
                    f"no data directory for study area {area['preset'] or area['file']}: give "
                    f"--data-dir DIR or [area] data_dir in {self.config.path or 'the config'}")
            return None
        if not path.is_dir():
            raise DataSourceError(f"data directory {path} does not exist or is not a folder")
        return path

    def _inputs(self) -> list[dict]:
        from productivecity.sources import hubs as _hubs

        recs = []
        if self.config.path is not None:
            recs.append(_file_record(self.config.path, role="config"))
        if self.config.criteria_file is not None:
            recs.append(_file_record(self.config.criteria_file, role="criteria"))
        catalogue = Path(_hubs.__file__).resolve().parent.parent / "data" / "hubs.csv"
        if catalogue.is_file():
            recs.append(_file_record(catalogue, role="hubs_catalogue"))
        for role, path in (("area", self.config["area"]["file"]),
                           ("hubs", self.config["area"]["hubs"]),
                           ("sites", self.config["sites"]["path"]),
                           *(("demand", self.config["demand"][k])
                             for k in ("table", "units_file", "raster"))):
            if path is not None:
                if not Path(path).is_file():
                    where = self.config.path or "the configuration"
                    raise DataSourceError(f"{role} file {path} (from {where}) does not exist")
                recs.append(_file_record(Path(path), role=role))
        if self.data_dir is not None:
            for p, kinds in data_files(self.data_dir).items():
                recs.append(_file_record(p, role="data", root=self.data_dir, kinds=kinds))
        return recs

    def input_hashes(self, *roles: str) -> list[tuple[str, str]]:
        return [(r["path"], r["sha256"]) for r in self.inputs if r["role"] in roles]

    def credits(self, layers) -> list:
        """Credits of the outputs: the layers' and the steps' inputs, or the scenario's own.

        ``[outputs] attribution`` replaces them, ``attribution_extra`` adds to them
        (:func:`productivecity.outputs.attribution.resolve_credits`).
        """
        from productivecity.outputs.attribution import layer_credits, resolve_credits

        out = self.config["outputs"]
        return resolve_credits([*layer_credits(layers), *self.input_credits],
                               replace=out["attribution"], extra=out["attribution_extra"])

    def data_date(self) -> str:
        dates = [r["modified"][:10] for r in self.inputs if r["role"] in
                 ("data", "area", "hubs", "sites", "hubs_catalogue")]
        return max(dates) if dates else "unknown"

    # ---- steps
    def step_key(self, name: str, parts: Mapping[str, Any]) -> str:
        """Return the cache key of a step: its code and ``parts`` (its inputs and options)."""
        code = None
        if self._helper is not None and name in _KEYED_THERE:  # worked out there meanwhile
            code = self._helper.code_keys(wait=False).get(name)
        if code is None:
            code = step_code_key(name)
        return _hash({"step": name, "code": code, "cache_version": _CACHE_VERSION, **parts})

    def cached(self, name: str, parts: Mapping[str, Any]) -> bool:
        """Whether the cache holds the step with these inputs (no key worked out without any)."""
        return (self.cache.has_entries(name)
                and self.cache.entry(name, self.step_key(name, parts)) is not None)

    def step(self, name: str, parts: Mapping[str, Any], compute: Callable[[], tuple[dict, dict]]):
        """Return ``(frames, meta)`` of a step from the cache or by computing (and storing) it.

        With no entry of the step in the cache at all (a cold cache), the step is
        computed first and keyed after, to store it: its code key may have come from
        the second process meanwhile (:data:`_KEYED_THERE`).
        """
        t0 = time.perf_counter()
        key = self.step_key(name, parts) if self.cache.has_entries(name) else None
        if key is None:  # keyed after: by the inputs as they are now, whatever compute does
            parts = copy.deepcopy(parts)
        folder = self.cache.entry(name, key) if key is not None else None
        if folder is not None:
            self.keys[name] = key
            try:
                frames, meta = _StepCache.load(folder)
            except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed
                logger.warning("%s: cache entry %s is unreadable (%s); recomputing", name,
                               folder, exc)
            else:
                dt = time.perf_counter() - t0
                step_logger.info("%-10s cached    %5.1f s", name, dt)
                logger.debug("%s: cache entry %s", name, folder)
                self.records.append({"step": name, "status": "cached", "time_s": dt,
                                     "key": key})
                self.input_credits += meta.get("credits", [])
                return frames, meta
        from productivecity.sources.load_report import collect_credits

        with collect_credits() as credits:  # what the step's readers declared
            frames, meta = compute()
        if key is None:
            key = self.step_key(name, parts)
        self.keys[name] = key
        meta = {**meta, "credits": [dataclasses.asdict(c) for c in credits]}
        self.input_credits += meta["credits"]
        self.cache.store(name, key, frames, meta)
        dt = time.perf_counter() - t0
        step_logger.info("%-10s computed  %5.1f s", name, dt)
        rec = {"step": name, "status": "computed", "time_s": dt, "key": key}
        if name in self.details:
            rec["parts_s"] = self.details.pop(name)
        self.records.append(rec)
        return frames, meta

    def skipped(self, name: str, reason: str) -> None:
        step_logger.info("%-10s skipped   (%s)", name, reason)
        self.records.append({"step": name, "status": "skipped", "time_s": 0.0, "key": None,
                             "reason": reason})


class _Helper:
    """The second process of a cold run, seen from the run.

    It builds the networks (:func:`_build_networks`), says so (after the steps' code
    keys, when forked), then answers requests (pickles, one answer per request, in
    order) until its input is closed: the run has work done there while it goes on,
    on the second core. Requests are written by a thread of the run, so that sending
    a large one never waits for the process to read it. A request it cannot answer
    (the process ended, an error there) is answered None: the run then does the work
    itself.
    """

    def __init__(self, proc):
        import queue

        self.proc = proc
        self.forked = isinstance(proc, _ForkedHelper)  # it takes the requests of a run only
        self._ready: bool | None = None
        # a forked process sends the steps' code keys first (see _build_networks)
        self._code_keys: dict | None = None if self.forked else {}
        self.outstanding: list[_Pending] = []  # requests sent, in order, answers not read yet
        self._outbox: queue.Queue = queue.Queue()
        self._writer = None  # the thread writing the requests, once there is one

    def receive(self):
        """Return the next message of the process (None when it ended or sent something else).

        After a message that cannot be read, nothing more is: the process is ended.
        """
        import pickle

        try:
            return pickle.load(self.proc.stdout)
        except Exception:  # noqa: BLE001 - ended, or not a message: the run does the work
            self.close()
            return None

    def code_keys(self, *, wait: bool = True) -> dict[str, str]:
        """Return the code keys of :data:`_KEYED_THERE`; empty if none were sent.

        With ``wait=False``, empty too while they have not come yet (they are then
        read before the next message).
        """
        if self._code_keys is None and not wait:
            import select

            # nothing read from the pipe yet: the descriptor says whether they are there
            if not select.select([self.proc.stdout], [], [], 0)[0]:
                return {}
        if self._code_keys is None:
            self._code_keys = {}
            message = self.receive()
            if (isinstance(message, tuple) and len(message) == 2 and message[0] == "keys"
                    and isinstance(message[1], dict)):
                self._code_keys = message[1]
            else:  # ended, or another message: nothing more is read from it
                self.close()
        return self._code_keys

    def ready(self) -> bool:
        """Wait until the networks are built; False when the process ended without them."""
        self.code_keys()  # the first message, if any
        if self._ready is None:
            self._ready = self.receive() == ("ready", "networks")
            if not self._ready:
                self.close()
        return self._ready

    def submit(self, kind: str, request: dict) -> _Pending | None:
        """Send a request; None when the process cannot take it.

        Requests are answered in the order they are sent; an answer is read when its
        :meth:`_Pending.result` is asked for (the earlier answers first, kept for
        theirs). The request is written by a thread: this returns at once, even while
        the process is still building the networks.
        """
        import pickle
        import threading

        if self._ready is False or self.proc.poll() is not None:
            return None
        try:
            data = pickle.dumps((kind, request), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - the run does the work itself
            logger.info("the second process cannot take the %s (%s)", kind, exc)
            return None
        if self._writer is None:
            self._writer = threading.Thread(target=_write_queued, name="requests", daemon=True,
                                            args=(self._outbox, self.proc.stdin))
            self._writer.start()
        self._outbox.put(data)
        pending = _Pending(self, kind)
        self.outstanding.append(pending)
        return pending

    def close(self) -> None:
        """End the process (see :func:`_stop_process`); requests not yet written are dropped."""
        writer, self._writer = self._writer, None
        if writer is not None:
            self._outbox.put(None)
            writer.join(timeout=0.2)
            if writer.is_alive():  # still writing to a process that does not read: stop it
                self.proc.terminate()
                writer.join()
        _stop_process(self.proc)


class _Pending:
    """An answer the second process is working on."""

    _UNREAD = object()

    def __init__(self, helper: _Helper, kind: str):
        self._helper, self.kind = helper, kind
        self._reply = self._UNREAD

    def settle(self) -> None:
        """Read the answer (waiting for it; the earlier ones first), for :meth:`result`."""
        helper = self._helper
        queue = helper.outstanding
        ready = helper.ready()  # the messages before the first answer
        while self._reply is self._UNREAD and queue:
            first = queue.pop(0)
            first._reply = helper.receive() if ready else None

    def result(self):
        """Return the answer, or None (the run then does the work itself, with its own errors)."""
        self.settle()
        reply = self._reply
        if not (isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "ok"):
            why = reply[1] if isinstance(reply, tuple) and len(reply) == 2 else "no answer"
            logger.info("the second process did not compute the %s (%s); computing here",
                        self.kind, why)
            return None
        return reply[1]

    def replayed(self, accept: Callable[[Any], bool] | None = None):
        """Return the result of a request answered with its warnings and log records.

        Those are shown here (:func:`_replay`); None (nothing shown) without an answer
        or when ``accept(result)`` is false: the run then does the work itself.
        """
        answer = self.result()
        if answer is None or (accept is not None and not accept(answer[0])):
            return None
        return _replay(*answer)


def _write_queued(outbox, stream) -> None:
    """Write what is put in ``outbox`` to ``stream``, in order, until None (a thread's loop).

    The requests to the second process and its answers: a large one waits in the pipe
    while the writer's process goes on. It stops when the other end is gone (its
    answers, or the lack of them, say so).
    """
    while (data := outbox.get()) is not None:
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            return


def _can_fork_helper() -> bool:
    """Whether the second process can be forked from this one.

    On Linux, unless numba's OpenMP threads have started in this process (a second
    run in a notebook): a forked child that calls a parallel kernel then aborts
    ("fork() called from a process already using GNU OpenMP"). macOS and Windows
    start a fresh interpreter.
    """
    import multiprocessing
    import threading

    if not sys.platform.startswith("linux"):
        return False
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        # another thread might hold a lock the child then waits for (a notebook's
        # kernel); a daemonic process (a pool's worker) may not have children
        return False
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    return parallel is None or not getattr(parallel, "_is_initialized", False)


class _ForkedHelper:
    """The second process forked from this one, with what the run uses of ``Popen``.

    A fork shares the libraries already imported here (0.8 s of imports that a
    fresh interpreter repeats) and starts at once. Requests and answers go through
    two pipes, as through a fresh interpreter's standard input and output; what the
    process prints or logs goes nowhere.
    """

    def __init__(self, osm: str, modes: list[str], settings_json: str, crs: str):
        import multiprocessing

        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        for fd in (req_w, ans_w):  # a request (the demand surface, ...) sent without waiting
            _widen_pipe(fd)
        ctx = multiprocessing.get_context("fork")
        self._process = ctx.Process(
            target=_forked_helper_main, name="productivecity-networks", daemon=True,
            args=(osm, modes, settings_json, crs, req_r, ans_w, (req_w, ans_r)))
        try:
            self._process.start()
        except BaseException:
            os.close(req_w)
            os.close(ans_r)
            raise
        finally:
            os.close(req_r)
            os.close(ans_w)
        self.stdin = os.fdopen(req_w, "wb")
        self.stdout = os.fdopen(ans_r, "rb")

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("the second process", timeout)
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


#: Buffer of the pipes to a forked second process (bytes; Linux's default is 64 KiB).
PIPE_BUFFER_BYTES = 1 << 20


def _widen_pipe(fd: int) -> None:
    """Give a pipe a buffer of :data:`PIPE_BUFFER_BYTES` where the system allows it."""
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BUFFER_BYTES)
    except (AttributeError, OSError):  # not Linux, or above the system's limit: as it is
        pass


def _forked_helper_main(osm, modes, settings_json, crs, requests_fd, answers_fd,
                        parent_fds) -> None:
    import logging
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ended at once when the run stops it
    for fd in parent_fds:  # the run's ends of the pipes
        os.close(fd)
    # nothing printed or logged here reaches the run's console (or a notebook's streams):
    # the run shows what it is sent back
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    for logger_ in (logging.root, *logging.root.manager.loggerDict.values()):
        if isinstance(logger_, logging.Logger):
            logger_.handlers.clear()
    _build_networks(osm, modes, settings_json, crs, answers_fd=answers_fd,
                    requests_fd=requests_fd, code_keys=True)


def _stop_process(proc) -> None:
    """End the second process: its input closed, it ends by itself; else it is stopped."""
    import subprocess

    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    try:
        proc.wait(timeout=0.2)  # waiting for a request: it reads the end of its input
    except subprocess.TimeoutExpired:  # still at work: not needed any more
        proc.terminate()
        proc.wait()


@contextlib.contextmanager
def _caught():
    """Collect the warnings and log records of a request, for :func:`_replay` in the run."""
    import logging
    import warnings

    caught: list = []
    records: list = []

    class Keep(logging.Handler):
        def emit(self, record):
            record.msg, record.args = record.getMessage(), None  # anything pickles
            record.exc_info = record.exc_text = None
            records.append(record)

    root, package = logging.getLogger(), logging.getLogger("productivecity")
    level, keep = package.level, Keep(logging.DEBUG)
    root.addHandler(keep)
    package.setLevel(logging.DEBUG)  # the run decides what it shows
    try:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            yield caught, records
        caught.extend((w.message, w.category, w.filename, w.lineno) for w in got)
    finally:
        root.removeHandler(keep)
        package.setLevel(level)


def _replay(result, caught, records):
    """Show here the warnings and log records of a request answered by the second process."""
    import logging
    import warnings

    for record in records:
        logger_ = logging.getLogger(record.name)
        if logger_.isEnabledFor(record.levelno):
            logger_.handle(record)
    seen: set = set()
    for message, category, filename, lineno in caught:
        if (key := (category, str(message), filename, lineno)) in seen:
            continue  # captured each time; shown, as here, once from its place
        seen.add(key)
        # as the module that warns there would: its name (for the filters) and registry
        module = next((name for name, m in list(sys.modules.items())
                       if getattr(m, "__file__", None) == filename), None)
        registry = (vars(sys.modules[module]).setdefault("__warningregistry__", {})
                    if module is not None else None)
        warnings.warn_explicit(message, category, filename, lineno, module=module,
                               registry=registry)
    return result


def _area_context(layers):
    """Messages about missing inputs offer the files of the study area's regions only."""
    from productivecity.crs import lonlat_centroid
    from productivecity.sources import regions

    return regions.study_area_at(*lonlat_centroid(layers["study_area"]))


def _presets():
    from productivecity.area import PRESETS

    return PRESETS


#: The steps whose code keys (:func:`~productivecity.workflow.cache.step_code_key`, 0.3 s
#: of compiling the package's modules) a forked second process works out for the run. A
#: step is keyed when the cache has an entry of it (to look it up) or once it is computed
#: (to store it): with an empty cache, even the first step, the layers, takes the key
#: worked out there when it has come by then.
_KEYED_THERE = ("layers", "sites", "demand", "indicators", "ranking", "allocation",
                "isochrones")


def _build_networks(osm: str, modes: list[str], settings_json: str, crs: str, *,
                    answers_fd: int, requests_fd: int | None = None,
                    code_keys: bool = False) -> None:
    """Read the buildings and build the street networks of an OSM file into the caches.

    Run in a second process by :meth:`_Run.prefetch_networks`: the buildings and the
    land (residential, open) go into the decoded-layer cache, the networks into the
    network cache, where the run finds them; then the base map's features into the
    decoded-layer cache (the maps need them last). With ``code_keys``, the code keys
    of :data:`_KEYED_THERE` are its first message, sent after the buildings are read.
    """
    import gc
    import json
    import pickle
    import sys

    # the answers go to answers_fd: a fresh interpreter's standard output, set aside (what
    # it prints goes nowhere: see prefetch_networks), or a forked process's pipe
    answers = os.fdopen(answers_fd, "wb")
    requests = sys.stdin.buffer if requests_fd is None else os.fdopen(requests_fd, "rb")

    from productivecity.network.streets import bike_network, walk_network
    from productivecity.sources.basemap import read_basemap_features
    from productivecity.sources.osm import cache_osm_buildings
    from productivecity.workflow.run import RUN_GC_THRESHOLD

    gc.set_threshold(*RUN_GC_THRESHOLD)  # as the run that started this process

    # answers are written by a thread, in order: a large one (the base map) waits in the
    # pipe until the run reads it while this process works on the next request
    import queue
    import threading

    outbox: queue.Queue = queue.Queue()

    writer = threading.Thread(target=_write_queued, name="answers", daemon=True,
                              args=(outbox, answers))
    writer.start()

    def send(message) -> None:
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an answer that does not pickle
            data = pickle.dumps(("error", f"the answer does not pickle: {exc}"))
        outbox.put(data)

    settings = Settings(**json.loads(settings_json))
    nets: dict = {}
    built: dict = {}  # what the run's requests built here (the timetable)

    def network(mode: str):  # built (or read from its cache) once
        if mode not in nets:
            nets[mode] = (walk_network if mode == "walk" else bike_network)(
                Path(osm), crs=crs, settings=settings)
        return nets[mode]

    def timetable(request):
        from productivecity.indicators.transit import load_timetable

        result = load_timetable(request["options"], request["data_dir"], crs=crs,
                                walk=network("walk"), stops=request["stops"],
                                area=request["area"])
        built["timetable"] = result[0]
        return result

    def basemap(request):
        from productivecity.sources.basemap import read_basemap

        return read_basemap({"study_area": request["study_area"]}, source=request["source"])

    def transit_values(request):  # the indicators, with the timetable built here
        if built.get("timetable") is None:
            raise ValueError("no timetable built here")
        return _transit_values(network("walk"), built["timetable"], request)

    replayed = {"timetable": timetable, "basemap": basemap, "transit": transit_values}

    cache_osm_buildings(Path(osm))  # the run's demand step waits for them
    if code_keys:  # the run takes them if they are there when it keys its next step
        send(("keys", {step: step_code_key(step) for step in _KEYED_THERE}))
    for mode in modes:
        network(mode)
    send(("ready", "networks"))
    read_basemap_features(Path(osm))
    while True:  # the run's requests, until it closes our input
        try:
            kind, request = pickle.load(requests)
        except (EOFError, OSError, pickle.UnpicklingError):
            # done: every answer is sent, every cache entry written (atomically); no need
            # to free this process's objects one by one while the run waits
            outbox.put(None)
            writer.join()
            answers.close()
            os._exit(0)
        t0 = time.perf_counter()
        try:
            if kind in replayed:  # answered with its warnings and log records
                with _caught() as (caught, records):
                    result = replayed[kind](request)
                send(("ok", (result, caught, records)))
                continue
            if kind != "isochrones":
                raise ValueError(f"unknown request {kind!r}")
            net = network(request["mode"])
            transit = request.get("transit")
            walk = timetable = None
            if transit is not None:
                # the run's own timetable (its stops on the walk network built here too),
                # or the one built here for the run
                timetable = (transit["timetable"] if transit["timetable"] is not None
                             else built.get("timetable"))
                walk = network("walk") if timetable is not None else None
            frames = _isochrone_frames(net, request["origins"], request["times_min"], walk=walk,
                                       timetable=timetable, transit=transit)
        except Exception as exc:  # noqa: BLE001 - the run computes it itself, with its error
            send(("error", f"{type(exc).__name__}: {exc}"))
        else:
            send(("ok", (frames, time.perf_counter() - t0)))


def layers_step(run: _Run):
    """Load the study area's layers (``[area]``)."""
    from productivecity.layers import LayerSet, load_layers
    from productivecity.sources.load_report import LayerReport

    area = run.config["area"]
    parts = {"area": {k: area[k] for k in ("preset", "canal_buffer_m", "canal_names",
                                           "online", "skip_missing", "crs")},
             "inputs": run.input_hashes("data", "area", "hubs", "hubs_catalogue")}

    def compute():
        ls = load_layers(str(area["file"]) if area["file"] is not None else area["preset"],
                         data_dir=run.data_dir, online=area["online"],
                         canal_buffer_m=area["canal_buffer_m"],
                         canal_names=area["canal_names"], hubs_path=area["hubs"],
                         skip_missing=area["skip_missing"], progress=run.progress,
                         crs=area["crs"], settings=run.settings)
        meta = {"reports": [dataclasses.asdict(r) for r in ls.reports]}
        return dict(ls.layers), meta

    frames, meta = run.step("layers", parts, compute)
    return LayerSet(layers=frames, reports=[LayerReport(**r) for r in meta["reports"]],
                    data_dir=run.data_dir)


def sites_step(run: _Run, layers):
    """Make the candidate sites (``[sites]``); returns the sites and their report (dict)."""
    from productivecity import sites as _sites

    cfg = run.config["sites"]
    parts = {"layers": run.keys["layers"], "sites": cfg, "inputs": run.input_hashes("sites")}

    def compute():
        gdf, rep = _sites.candidate_sites(
            layers, cfg["kind"], cell_m=cfg["cell_m"], shape=cfg["shape"],
            within=cfg["within"], min_share_pct=cfg["min_share_pct"],
            parcel_ha=cfg["parcel_ha"], min_parcel_ha=cfg["min_parcel_ha"], path=cfg["path"],
            id_column=cfg["id_column"], layer=cfg["layer"])
        rep.log()
        return {"sites": gdf}, {"report": dataclasses.asdict(rep)}

    frames, meta = run.step("sites", parts, compute)
    return frames["sites"], meta["report"]


def demand_step(run: _Run, layers):
    """Compute the run's one demand surface, shared by the indicators and the allocation."""
    from productivecity.workflow.inputs import load_demand_surface, residential_land

    cfg = run.config["indicators"]
    dcfg = run.config["demand"]
    # the residential land (OSM landuse=residential of the open land) is read from the data
    # directory's OSM files, hashed with the other data files
    parts = {"layers": run.keys["layers"], "year": cfg["year"], "cell_m": cfg["cell_m"],
             "inputs": run.input_hashes("data", "demand"),
             "residential_land": "open_land kind residential",
             "demand": {k: str(v) if isinstance(v, Path) else v for k, v in dcfg.items()}}

    def compute():
        buildings, coverage, _osm, _notes = run.buildings(layers)
        land, _land_notes = run.open_land(layers)
        try:
            with _area_context(layers):  # hints of the area's own regions only
                surface, notes = load_demand_surface(
                    layers, run.require_data_dir("the demand surface"), year=cfg["year"],
                    cell_m=cfg["cell_m"], buildings=buildings, building_coverage=coverage,
                    demand=dcfg, residential_land=residential_land(land))
        except (SourceNotFoundError, MissingLayerError) as exc:
            # demand data are optional: the labour indicators are then missing, named
            given = dcfg.get("table") is not None or dcfg.get("raster") is not None
            if given:  # the user named the data: not using them is an error, not "missing"
                hint = ("; give [demand] units_file (the polygons of the table's units) and "
                        "units_code_column" if isinstance(exc, MissingLayerError) else "")
                raise ConfigError(f"[demand] could not be used: {exc}{hint}") from exc
            if isinstance(exc, MissingLayerError):
                why = ("input missing: no demand data: no [demand] table or raster is given, "
                       "and a region's job-seeker tables need the units_municipalities "
                       "layer, which is missing")
            else:
                why = f"input missing: no demand data ({exc})"
            logger.info("demand: %s", why)
            return {}, {"notes": [why], "missing": why}
        for n in notes:
            logger.info("demand: %s", n)
        return {"surface": surface}, {"notes": notes, "demand": surface.attrs.get("demand"),
                                      "completeness": surface.attrs.get("completeness")}

    frames, meta = run.step("demand", parts, compute)
    run.demand_notes = list(meta.get("notes", []))
    run.demand_missing = meta.get("missing", "")
    run.demand_info = meta.get("demand")
    run.completeness = meta.get("completeness")
    if run.demand_info:
        logger.info("demand: target group %s: %s persons", run.demand_info["definition"],
                    run.demand_info["total_n"])
    return frames.get("surface")


def indicator_inputs(run: _Run, layers, demand):
    """Gather the inputs of the indicators (networks and buildings read once per run)."""
    from productivecity.workflow.inputs import load_indicator_inputs

    with _area_context(layers):
        inputs = load_indicator_inputs(
            layers, run.require_data_dir("the indicators"), walk=run.network("walk"),
            bike=run.network("bike"), demand=demand, buildings=run.buildings(layers),
            settings=run.settings, demand_missing=run.demand_missing or None,
            open_land=run.open_land(layers))
    inputs.notes.extend(run.demand_notes)
    return inputs


def indicators_step(run: _Run, sites, layers, demand):
    """Compute the site indicators (``[indicators]``); returns the table and a report dict."""
    from productivecity.indicators.tiled import ENGINE_KEYS, engine_indicators

    cfg = run.config["indicators"]
    lang = run.config["outputs"]["lang"]  # the language of the site names
    engine = {k: cfg.get(k) for k in ENGINE_KEYS}
    parts = _indicators_parts(run)

    def compute():
        inputs = indicator_inputs(run, layers, demand)
        table, rep = engine_indicators(sites, layers, inputs,
                                       options=run.config.indicator_options,
                                       progress=run.progress, **engine)
        t_transit = time.perf_counter()
        table, transit_rep = _with_transit(run, table, layers, demand, inputs)
        t_transit = time.perf_counter() - t_transit
        table = _with_names(run, table, layers, lang)
        missing = rep.missing.reset_index(names="indicator")
        summary = {"missing": missing.astype({"missing_n": int}).to_dict("records"),
                   "unsnapped_sites_n": int(len(rep.unsnapped_sites)),
                   "unsnapped_reasons": {str(k): int(v) for k, v in
                                         rep.unsnapped_sites["reason"].value_counts().items()}
                   if len(rep.unsnapped_sites) else {},
                   "notes": list(rep.notes), "transit": transit_rep}
        why_transit = transit_rep.pop("missing", {})
        for col in _transit_columns(run):
            n = int(table[col].isna().sum()) if col in table.columns else len(table)
            if n:
                why = why_transit.get(col, "sites off the walk network (see unsnapped sites) "
                                           "or outside the street data, or catchments where "
                                           "under 95% of the residents have job-seeker data")
                summary["missing"].append({"indicator": col, "missing_n": n, "reason": why})
        # timings go to the run section of the manifest (parts_s), not to the results
        run.details["indicators"] = {k: round(v, 3) for k, v in rep.timings_s.items()}
        run.details["indicators"]["transit"] = round(t_transit, 3)
        run.details["indicators"].update(
            {f"transit_{k}": v for k, v in transit_rep.pop("timings_s", {}).items()})
        return {"table": table}, {"report": summary}

    frames, meta = run.step("indicators", parts, compute)
    return frames["table"], meta["report"]


def _indicators_parts(run: _Run) -> dict:
    """Return the indicators step's key parts (its inputs' keys and options)."""
    from productivecity.indicators.tiled import ENGINE_KEYS

    cfg = run.config["indicators"]
    transit = run.config["transit"]
    # the engine and its tiles give the same results: not in the key
    return {"sites": run.keys["sites"], "demand": run.keys["demand"],
            "indicators": {k: v for k, v in cfg.items() if k not in ENGINE_KEYS},
            "inputs": run.input_hashes("data"), "names_lang": run.config["outputs"]["lang"],
            "transit": {k: str(v) if isinstance(v, Path) else v for k, v in transit.items()},
            "transit_feed": _feed_stamp(transit["gtfs"])}


def _transit_columns(run: _Run) -> list[str]:
    from productivecity.indicators.transit import transit_definitions

    return list(transit_definitions(run.config.transit_options))


def _feed_stamp(path) -> list | None:
    """Names, sizes and times of a GTFS feed's files (the cache key of ``[transit] gtfs``)."""
    if path is None or not Path(path).exists():
        return None
    p = Path(path)
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]


def _with_transit(run: _Run, table, layers, demand, inputs):
    """Add the public-transport indicators (``[transit]``) to the site table.

    Returns the table and a report (``source`` labels the results: "timetable" or
    "estimated from line topology"; ``missing``: column → reason).
    """
    from productivecity.indicators import transit as _transit

    opts = run.config.transit_options
    if not opts.enabled:
        return table, {"source": None, "note": "[transit] source = 'none'"}
    timetable, info = run.transit_timetable(layers)
    cols = list(_transit.transit_definitions(opts))
    if timetable is None:
        why = f"input missing: {info['note']}"
        table = table.assign(**dict.fromkeys(cols, float("nan")))
        return table, {**info, "missing": dict.fromkeys(cols, why)}
    from productivecity.indicators.table import water_barriers

    pending, run._transit_values = run._transit_values, None
    there = (pending.replayed(accept=lambda result: result[0].index.equals(table.index))
             if pending is not None else None)  # computed there meanwhile
    if there is not None:
        values, rep = there
    else:
        values, rep = _transit_values(run.network("walk"), timetable, {
            "sites": table, "barriers": water_barriers(layers), "demand": demand,
            "options": opts, "layers": layers}, progress=run.progress)
    if inputs.osm_coverage is not None:  # as the walk and bike times: unknown outside
        from productivecity.indicators.vacancy import covered_sites

        outside = ~covered_sites(table, inputs.osm_coverage).to_numpy()
        values.loc[outside, :] = float("nan")
    table = table.copy()
    for col in values.columns:
        table[col] = values[col]
    for note in info["notes"]:
        logger.info("transit: %s", note)
    return table, {**{k: v for k, v in info.items() if k != "note"}, **rep,
                   "notes": list(dict.fromkeys([*info["notes"], *rep["notes"]]))}


def _transit_values(walk, timetable, request: Mapping, *, progress: bool = False):
    """Return the public-transport indicators of ``request`` (see :func:`_with_transit`)."""
    from productivecity import accessibility as acc
    from productivecity.indicators import transit as _transit

    sites = request["sites"]
    ws = acc.snap(walk, sites, barriers=request["barriers"], what="sites", warn=False)
    return _transit.transit_indicators(sites, walk, timetable, request["demand"],
                                       request["options"], layers=request["layers"],
                                       site_snapping=ws, progress=progress)


def _with_names(run: _Run, table, layers, lang: str):
    """Add the site names (municipality, neighbourhood, nearest named street) to the table."""
    from productivecity.indicators.names import read_street_names, site_names
    from productivecity.workflow.inputs import osm_street_file

    streets = None
    try:
        streets = read_street_names(osm_street_file(run.require_data_dir("the site names")),
                                    layers["study_area"].crs, lang=lang)
    except DataSourceError as exc:  # names then come from the units alone
        logger.info("site names without street names: %s", exc)
    names = site_names(table, layers, streets=streets)
    return table.join(names)


def ranking_step(run: _Run, table, *, key: str | None = None):
    """Score and rank the sites by the criteria, with weight sensitivity.

    ``key`` names the table when it does not come from :func:`indicators_step`
    (e.g. the hash of a file given to ``productivecity rank``).
    """
    from productivecity.siting.criteria import criteria_table, usable_criteria
    from productivecity.siting.ranking import rank_sites

    spec = run.config.require_criteria("ranking the sites")
    spec, dropped = usable_criteria(spec, table, strict=run.config["run"]["strict"])
    run.criteria = spec  # the criteria scored (those with an indicator), for the outputs
    radius_m = run.config["outputs"]["place_radius_m"]
    parts = {"indicators": key or run.keys["indicators"],
             "criteria": run.config.criteria_data, "strict": run.config["run"]["strict"],
             "place_radius_m": radius_m}

    def compute():
        from productivecity.crs import is_metric
        from productivecity.siting.places import (
            group_places,
            place_ranks,
            place_stability,
            with_stability,
        )

        ranked, result, mc, oat = rank_sites(table, spec, progress=run.progress)
        places = None
        if isinstance(ranked, gpd.GeoDataFrame) and ranked.crs is not None \
                and is_metric(ranked.crs):
            # the shortlist of places: neighbouring cells grouped, with their own stability
            ranked["place_id"], places = group_places(ranked, radius_m=radius_m)
            ranked = ranked.join(place_ranks(ranked["place_id"], places))
            places = with_stability(places, place_stability(result, mc.weights,
                                                            ranked["place_id"], top_k=mc.top_k))
        else:  # a site table given by the user, e.g. to 'productivecity rank'
            logger.info("places: not grouped: the sites are not in a projected CRS in metres")
        weights = criteria_table(spec, result)  # with precision, discriminating, weight_used
        oat_summary = oat.summary.reset_index()
        oat_summary["top1_site_id"] = oat_summary["top1_site_id"].astype(str)
        meta = {"monte_carlo": {"runs": mc.runs, "spread": mc.spread, "seed": mc.seed,
                                "top_k": mc.top_k}, "dropped_criteria": dropped,
                "not_discriminating": result.not_discriminating,
                "places": ({"radius_m": radius_m, "places_n": len(places),
                            "unplaced_n": places.attrs.get("unplaced_n", 0)}
                           if places is not None else None)}
        frames = {"ranked": ranked, "stability": mc.table, "weights": weights,
                  "one_at_a_time": oat_summary}
        if places is not None:
            frames["places"] = places
        return frames, meta

    return run.step("ranking", parts, compute)


def eligible_sites(ranked, config) -> Any:
    """Return the allocation's candidates: the eligible sites (scored), or the best N."""
    from productivecity._errors import AllocationError, SchemaError
    from productivecity.siting.scoring import site_statuses

    missing = [c for c in ("rank", "score", "excluded") if c not in ranked.columns]
    if missing:
        raise SchemaError(f"the ranked sites lack the column(s) {missing}: rank the sites first "
                          f"('productivecity rank')")
    cfg = config["allocation"]
    eligible = ranked.loc[site_statuses(ranked).eq("eligible")]
    if cfg["candidates"].startswith("top:"):
        eligible = eligible.sort_values("rank", kind="stable").head(int(cfg["candidates"][4:]))
    if len(eligible) < cfg["k"]:
        raise AllocationError(f"[allocation] k = {cfg['k']} but only {len(eligible)} candidate "
                              f"sites are eligible (neither excluded by the criteria nor "
                              f"without data); lower k (--k)")
    return eligible


def allocation_step(run: _Run, ranked, layers, demand, *, key: str | None = None):
    """Choose k new hubs (``[allocation]``): coverage curve k = 0..K, then the objective at K.

    Returns ``(frames, meta)``: ``curve`` (the maximal-covering curve), ``new_hubs``
    (the sites chosen at K by the objective), ``demand_units`` (with the facility and
    time each is assigned to).
    """
    from productivecity.siting import allocation as alloc
    from productivecity.siting.demand import demand_units
    from productivecity.siting.travel_times import network_travel_times

    cfg = run.config["allocation"]
    eligible = eligible_sites(ranked, run.config)
    # the solution depends on the candidate set and, among equally covering sets, on the
    # order of their scores (ties are broken towards the better scored sites)
    parts = {"ranked": key or run.keys["indicators"], "demand": run.keys["demand"],
             "allocation": cfg,
             "candidates": sorted(map(str, eligible.index)),
             "score_order": list(map(str, eligible["score"].sort_values(kind="stable").index)),
             "layers": run.keys["layers"]}

    unit_kind = cfg["units"]
    if unit_kind == "neighbourhoods" and "units_neighbourhoods" not in layers.layers:
        logger.warning("allocation: no neighbourhood layer in this study area; the demand units "
                       "are %g m cells instead ([allocation] unit_cell_m)", cfg["unit_cell_m"])
        unit_kind = "cells"
    parts["unit_kind"] = unit_kind

    def compute():
        units = demand_units(layers, demand, units=unit_kind, unit_cell_m=cfg["unit_cell_m"])
        net = run.network(cfg["mode"])
        tt = network_travel_times(net, eligible[["geometry"]], units,
                                  demand_column=cfg["demand"], limit_min=cfg["limit_min"],
                                  existing=layers.layers.get("hubs"), progress=run.progress)
        curve = alloc.coverage_curve(tt, cfg["k"], progress=run.progress,
                                     prefer=eligible["score"])
        final = curve.results[cfg["k"]]
        if cfg["objective"] == "pmedian":
            final = alloc.p_median(tt, cfg["k"])
        chosen = eligible.loc[list(final.selected), ["rank", "score", "geometry"]].copy()
        chosen["chosen_for_k"] = cfg["k"]
        chosen["objective"] = cfg["objective"]
        first = {}
        for k, res in sorted(curve.results.items()):
            for sid in res.selected:
                first.setdefault(sid, k)
        chosen["first_chosen_k"] = pd.array([first.get(s) for s in chosen.index], dtype="Int64")
        if cfg["objective"] == "pmedian":
            chosen["mean_time_min"] = final.mean_time_min
        dem = units.copy()
        for col in ("facility_id", "time_min", "covered_share"):
            dem[col] = final.assignment[col].reindex(dem.index)
        dem["facility_id"] = dem["facility_id"].astype("string")
        table = curve.table.reset_index()
        table["objective"] = "maximal covering"
        summary = {"k": cfg["k"], "objective": cfg["objective"], "status": final.status,
                   "mip_gap": final.mip_gap, "total_demand_n": final.total_demand_n,
                   "covered_demand_n": final.covered_demand_n,
                   "baseline_covered_demand_n": final.baseline_covered_demand_n,
                   "selected": [str(s) for s in final.selected]}
        if cfg["objective"] == "pmedian":
            summary["mean_time_min"] = final.mean_time_min
        frames = {"curve": table, "new_hubs": chosen, "demand_units": dem}
        if cfg.get("tiers"):
            tier_frames, summary["tiers"] = _tiers(run, cfg, layers, units, eligible)
            frames.update(tier_frames)
        return frames, {"summary": summary}

    return run.step("allocation", parts, compute)


def _tiers(run: _Run, cfg, layers, units, eligible) -> tuple[dict, dict]:
    """Solve the two-tier covering of ``[allocation] tiers``: frames ``tiers``, ``tier_hubs``.

    Each tier covers the demand units within its own mode and limit: on the walk or
    bike network, or by public transport (``[transit]``: walk, ride, walk; from the
    units towards the sites). The existing hubs count in the tier of their catalogue
    profile; hubs of unknown profile count in both (their reach is not documented).
    """
    from productivecity.siting import allocation as alloc
    from productivecity.siting.travel_times import network_travel_times
    from productivecity.sources.hubs import hub_profiles

    hubs = layers.layers.get("hubs")
    hubs = hubs if hubs is not None and len(hubs) else None
    tiers, notes = {}, []
    for name, t in cfg["tiers"].items():
        if t["mode"] != "transit":
            tiers[name] = network_travel_times(
                run.network(t["mode"]), eligible[["geometry"]], units,
                demand_column=cfg["demand"], limit_min=float(t["limit_min"]), existing=hubs)
            continue
        timetable, info = run.transit_timetable(layers)
        if timetable is None:
            raise AllocationError(f"[allocation] tiers.{name}: mode 'transit' needs public "
                                  f"transport ([transit]); {info['note']}")
        from productivecity.indicators.transit import transit_travel_pairs

        facilities = eligible[["geometry"]]
        if hubs is not None:
            facilities = pd.concat([facilities, hubs[["geometry"]].to_crs(eligible.crs)])
        origins = units[["geometry"]].copy()
        origins["geometry"] = units.geometry.representative_point()
        pairs = transit_travel_pairs(run.network("walk"), timetable, origins, facilities,
                                     run.config.transit_options,
                                     limit_min=float(t["limit_min"]))
        notes.append(f"tier {name}: public transport {pairs.attrs['source']}")
        tiers[name] = alloc.travel_times_from_pairs(
            pairs.rename(columns={"origin_id": "demand_id", "destination_id": "site_id"}),
            units[cfg["demand"]].fillna(0.0).rename(index=str),
            candidates=eligible.index.astype(str),
            existing=[] if hubs is None else hubs.index.astype(str),
            limit_min=float(t["limit_min"]))
    profiles = hub_profiles([] if hubs is None else hubs.index)
    res = alloc.two_tier_covering(tiers, {n: int(t["k"]) for n, t in cfg["tiers"].items()},
                                  hub_profiles=profiles)
    summary = res.summary().reset_index()
    summary["mode"] = [cfg["tiers"][n]["mode"] for n in summary["tier"]]
    rows = [(str(s), name) for name, r in res.tiers.items() for s in r.selected]
    chosen = eligible.loc[[s for s, _ in rows], ["rank", "score", "geometry"]].copy()
    chosen["tier"] = [n for _, n in rows]
    meta = {"status": res.status, "notes": notes,
            "tiers": {n: {"k": r.k, "mode": cfg["tiers"][n]["mode"], "limit_min": r.limit_min,
                          "covered_demand_n": r.covered_demand_n,
                          "total_demand_n": r.total_demand_n,
                          "baseline_covered_demand_n": r.baseline_covered_demand_n,
                          "existing_open_n": len(r.existing_open),
                          "selected": [str(s) for s in r.selected]}
                      for n, r in res.tiers.items()}}
    return {"tiers": summary, "tier_hubs": chosen}, meta


def _isochrone_frames(net, origins, times_min, *, walk=None, timetable=None,
                      transit: Mapping | None = None) -> dict:
    """Return the isochrone step's frames: on ``net``, by public transport with a ``timetable``."""
    from productivecity.accessibility.isochrone_polygons import isochrones

    frames = {"isochrones": isochrones(net, origins, times_min=times_min)}
    if timetable is not None:
        from productivecity.indicators.transit import transit_isochrones

        tiso = transit_isochrones(walk, timetable, origins, transit["options"],
                                  times_min=transit["times_min"])
        frames["transit_isochrones"] = tiso.assign(source=timetable.source)
    return frames


def _isochrone_job(run: _Run, ranked, layers):
    """Return the top sites' origins, the step's key parts and its transit part.

    The transit part (``options``, ``times_min``) is None without ``layers`` or
    with ``[transit]`` off.
    """
    cfg = run.config["outputs"]
    ok = ranked.loc[ranked["score"].notna()]  # eligible: excluded and not assessable have none
    if "place_best" in ok.columns:  # the best site of each of the top places
        ok = ok.loc[ok["place_best"].fillna(False).astype(bool)]
        key = "place_rank"
    else:
        key = "rank"
    top = ok.loc[pd.to_numeric(ok[key], errors="coerce") <= cfg["isochrone_top_k"]]
    top = top.sort_values(key, kind="stable")
    parts = {"indicators": run.keys["indicators"], "origins": [str(s) for s in top.index],
             "mode": cfg["isochrone_mode"], "times_min": cfg["isochrone_times_min"]}

    transit = None
    if layers is not None and run.config.transit_options.enabled:
        transit = {"options": run.config.transit_options,
                   "times_min": list(cfg["transit_isochrone_times_min"])}
        # the transit options themselves are in the indicators key already
        parts["transit_times_min"] = transit["times_min"]
    return top[["geometry"]], parts, transit


def request_isochrones(run: _Run, ranked, layers=None):
    """Have the second process compute the isochrones while this one goes on.

    Returns what :func:`isochrones_step` takes as ``pending``, or None (no second
    process, or the step is cached).
    """
    helper = run._helper
    if helper is None:
        return None
    origins, parts, transit = _isochrone_job(run, ranked, layers)
    if run.cached("isochrones", parts):
        return None
    if transit is not None and run._transit is None:
        # the timetable is not built in this run yet (the indicators came from the cache):
        # the isochrones are computed here, with the timetable built then
        return None
    cfg = run.config["outputs"]
    request = {"mode": cfg["isochrone_mode"], "origins": origins,
               "times_min": cfg["isochrone_times_min"], "transit": transit}
    if transit is not None:  # the timetable the indicators used (not built there again)
        request["transit"] = {**transit, "timetable": (None if run._transit_asked  # it has it
                                                       else run._transit[0])}
    return helper.submit("isochrones", request)


def isochrones_step(run: _Run, ranked, layers=None, *, pending=None) -> dict:
    """Isochrones of the top sites (``[outputs] isochrone_*``), and by public transport.

    Returns ``{"isochrones": ...}`` and, when ``[transit]`` gives a timetable (and
    ``layers`` are given), ``"transit_isochrones"`` for ``transit_isochrone_times_min``
    (a ``source`` column says "timetable" or "estimated from line topology").
    ``pending`` (:func:`request_isochrones`) is the same computed in the second
    process; without its answer they are computed here.
    """
    cfg = run.config["outputs"]
    origins, parts, transit = _isochrone_job(run, ranked, layers)

    def compute():
        answer = pending.result() if pending is not None else None
        if answer is not None:
            frames, seconds = answer
            run.details["isochrones"] = {"second_process": seconds}
            return frames, {}
        # the timetable (and its walk network) only when the step is not cached
        timetable = run.transit_timetable(layers)[0] if transit is not None else None
        return _isochrone_frames(
            run.network(cfg["isochrone_mode"]), origins, cfg["isochrone_times_min"],
            walk=run.network("walk") if timetable is not None else None, timetable=timetable,
            transit=transit), {}

    frames, _ = run.step("isochrones", parts, compute)
    return frames


def definitions_table(definitions: Mapping[str, str]) -> pd.DataFrame:
    """Return the indicator definitions as a table (``indicator``, ``definition``)."""
    return pd.DataFrame({"indicator": list(definitions), "definition": list(definitions.values())})
