"""Write a run's outputs from a process started while the analysis is still running.

The outputs (atlas, web map, tables, report) need the analysis' results, but
not to import their libraries (matplotlib, folium, XlsxWriter, pypdf, …) or to
read the base map: on a 2-core machine the second core has little to do while
the indicators, the ranking and the isochrones are computed one after the
other. :meth:`OutputProcess.start` forks an output process then; it imports what the
outputs need and reads the base map meanwhile, then waits.
:meth:`OutputProcess.write` sends it the results (pickled) and it writes every
output (its page workers forked from it), exactly as
:func:`~productivecity.workflow.outputs._write_outputs` does in the run's own
process; it sends back the files written and the output steps' records.

Where processes cannot be forked (Windows, macOS) or the output process has
gone, the run writes its outputs itself. An error in the output process is
raised in the run as the same exception.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from productivecity._errors import ProductiveCityError

if TYPE_CHECKING:
    from productivecity.workflow.steps import _Run

logger = logging.getLogger(__name__)

#: What :meth:`OutputProcess.write` copies from the run into the output process: the
#: state the steps after the fork change and the outputs read.
RUN_STATE = ("input_credits", "demand_info", "completeness", "demand_missing", "criteria")


class OutputProcessError(ProductiveCityError, RuntimeError):
    """The output process failed with an error that could not be sent back as it was."""


def _warm(run: _Run, layers) -> None:
    """Import what the outputs use and read the base map (while the analysis runs)."""
    import matplotlib.backends.backend_pdf  # noqa: F401
    import matplotlib.figure  # noqa: F401

    from productivecity.outputs import (  # noqa: F401
        atlas,
        export,
        maps,
        pages,
        qgis,
        report,
        webmap,
        weights_page,
    )

    run.basemap(layers)


def _serve(conn, run: _Run, layers) -> None:
    # a terminated output process unwinds: its page workers are stopped, nothing half-written
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        _warm(run, layers)
    except Exception:  # noqa: BLE001 - the outputs themselves report what is wrong
        logger.debug("output process: warming up failed", exc_info=True)
    try:
        job = conn.recv()
    except EOFError:  # the run ended without outputs
        return
    if job is None:
        return
    from productivecity.workflow.outputs import _write_outputs

    tmp, kwargs, state = job
    for name, value in state.items():
        setattr(run, name, value)
    run.records = []
    try:
        files = _write_outputs(run, tmp, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - sent to the run, raised there
        text = traceback.format_exc()
        try:
            payload = pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            payload = pickle.dumps(OutputProcessError(f"{type(exc).__name__}: {exc}"))
        conn.send(("error", payload, text))
        return
    conn.send(("ok", files, run.records))


class OutputProcess:
    """The output process of a run, as a context manager that never leaves it running.

    :meth:`start` forks it (when it can); :meth:`write` writes the outputs there,
    or in the run's own process when there is none.
    """

    def __init__(self):
        self._proc = self._conn = None

    def __enter__(self) -> OutputProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, run: _Run, layers) -> bool:
        """Fork the output process; return False where it cannot be, or when disabled.

        ``PRODUCTIVECITY_OUTPUT_PROCESS=0`` turns it off: the run then writes its
        outputs itself.
        """
        from productivecity.outputs.pages import _can_fork, available_workers

        if (os.environ.get("PRODUCTIVECITY_OUTPUT_PROCESS", "1") == "0" or not _can_fork()
                or available_workers() < 2 or not run.config["outputs"]["formats"]):
            return False
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        mine, theirs = ctx.Pipe()
        # not a daemon: it forks the page workers
        self._proc = ctx.Process(target=_serve, args=(theirs, run, layers),
                                 name="productivecity-outputs")
        self._proc.start()
        theirs.close()
        self._conn = mine
        return True

    def write(self, run: _Run, tmp: Path, **kwargs) -> list[str]:
        """Write the outputs (see ``_write_outputs``); return the files written.

        The output steps' records are added to ``run.records``.
        """
        files = self._remote(run, tmp, kwargs) if self._proc is not None else None
        if files is None:
            from productivecity.workflow.outputs import _write_outputs

            files = _write_outputs(run, tmp, **kwargs)
        return files

    def _remote(self, run: _Run, tmp: Path, kwargs: dict) -> list[str] | None:
        state = {name: getattr(run, name) for name in RUN_STATE}
        try:
            self._conn.send((tmp, kwargs, state))
            reply = self._conn.recv()
        except (EOFError, OSError, pickle.PicklingError) as exc:
            logger.info("the output process is not available (%s); writing here", exc)
            self.stop()
            return None
        self.stop()
        if reply[0] == "ok":
            _, files, records = reply
            run.records.extend(records)
            return files
        _, payload, text = reply
        logger.debug("output process failed:\n%s", text)
        raise pickle.loads(payload)

    def stop(self) -> None:
        """End the output process (and its page workers) if it still runs."""
        if self._proc is None:
            return
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if proc.is_alive():
            try:
                conn.send(None)  # no outputs: it ends
            except (OSError, ValueError):
                pass
            proc.join(timeout=1.0)
        if proc.is_alive():
            proc.terminate()
            proc.join()
        conn.close()
