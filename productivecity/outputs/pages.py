"""Draw and write atlas pages on several cores, in the background of the other outputs.

Drawing a page is pure Python in matplotlib: one core per page at most. On a
machine with more cores, :func:`write_pages` forks worker processes that each
draw their share of the pages (:func:`share_pages`) into a part PDF (and their
PNGs); the parts are joined page by page, in the atlas order, into one PDF. The
workers start at once and
the caller writes its other outputs while they draw; :meth:`PageJob.wait`
collects them. Where ``fork`` is not available (Windows, macOS) or there are
few pages, the pages are drawn one after the other in the calling process.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from productivecity._errors import ProductiveCityError
from productivecity.io import atomic_path, check_output_path

logger = logging.getLogger(__name__)

#: Fewest pages per worker: below this, forking costs more than it saves.
MIN_PAGES_PER_WORKER = 3


class PageError(ProductiveCityError, RuntimeError):
    """A worker process failed to draw or write its atlas pages."""


def available_workers() -> int:
    """Cores this process may use (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _can_fork() -> bool:
    # fork is the only start method that shares the drawn data without pickling it;
    # it is safe on Linux only (macOS system frameworks are not fork-safe)
    return sys.platform.startswith("linux")


class PageJob:
    """Atlas pages being drawn; :meth:`wait` returns what :func:`save_figures` returns."""

    def __init__(self, run: Callable[[], dict], *, cancel: Callable[[], None] | None = None):
        self._run = run
        self._result: dict | None = None
        self._cancel = cancel

    def cancel(self) -> None:
        """Stop the workers and drop their parts (when the caller fails meanwhile)."""
        if self._result is None and self._cancel is not None:
            self._cancel()

    def wait(self) -> dict:
        """Wait for the pages (drawing them now if no worker does); return the result."""
        if self._result is None:
            self._result = self._run()
        return self._result


def write_pages(
    plan: Sequence[tuple[str, Callable[[], Figure]]],
    *,
    pdf: str | os.PathLike | None = None,
    png_dir: str | os.PathLike | None = None,
    dpi: int = 300,
    preview_dpi: float | None = None,
    preview_pages: Collection[str] | None = None,
    preview_colors: int | None = None,
    overwrite: bool = False,
    workers: int | None = None,
    on_page: Callable[[str], None] | None = None,
) -> PageJob:
    """Start drawing the pages of ``plan``; return the job (see :meth:`PageJob.wait`).

    Parameters
    ----------
    plan : sequence of (name, draw)
        The pages in order, ``draw()`` giving the figure, e.g.
        ``iter_atlas_figures(..., as_plan=True)``.
    pdf, png_dir, dpi, preview_dpi, preview_pages, preview_colors, overwrite
        As :func:`~productivecity.outputs.maps.save_figures`.
    workers : int, optional
        Processes drawing pages (default: the cores available). With one, or
        where processes cannot be forked, or with fewer than
        :data:`MIN_PAGES_PER_WORKER` pages per worker, the pages are drawn
        in this process when :meth:`PageJob.wait` is called.
    on_page : callable, optional
        Called with each page's name as it is done (a progress bar).

    Returns
    -------
    PageJob
        ``wait()`` returns the preview PNG bytes by page name (with
        ``preview_dpi``), else the PNG paths (with ``png_dir``), else ``{}``.

    Raises
    ------
    OutputExistsError
        ``pdf`` exists and ``overwrite`` is False (checked before any work).
    PageError
        From ``wait()``: a worker failed (its error message is given).
    """
    from productivecity.outputs.maps import save_figures

    if pdf is not None:
        check_output_path(pdf, overwrite=overwrite)
    workers = available_workers() if workers is None else max(1, int(workers))
    workers = min(workers, len(plan) // MIN_PAGES_PER_WORKER)
    kw = dict(pdf=pdf, png_dir=png_dir, dpi=dpi, preview_dpi=preview_dpi,
              preview_pages=preview_pages, preview_colors=preview_colors, overwrite=overwrite)
    if workers <= 1 or not _can_fork() or pdf is None:

        def serial() -> dict:
            def drawn():
                for name, draw in plan:
                    yield name, draw()
                    if on_page is not None:
                        on_page(name)
            return save_figures(drawn(), **kw)
        return PageJob(serial)
    return _fork(plan, workers, kw, on_page)


#: Relative drawing time of an atlas page by the start of its name (measured on the
#: sample: an indicator page 1.0); other pages count 1. The overview plans the base map
#: of the whole area's map, which the indicator pages drawn after it reuse.
PAGE_COST = {"cover": 0.5, "overview": 2.3, "place_": 1.3, "new_hubs": 1.6, "tiers": 1.6,
             "isochrones": 1.5, "transit_isochrones": 1.6}
#: What a preview (a report's image of a page, rasterised once the part is written) adds.
PREVIEW_COST = 0.45
#: The pages of the whole area's map (by the start of their name): one worker draws them
#: all when they are no more than its share, planning their base map and shaping their
#: labels once.
SAME_MAP = ("overview", "indicator_")


def share_pages(names: Sequence[str], workers: int, *,
                previews: Collection[str] | None = ()) -> list[list[int]]:
    """Share pages among ``workers`` so that each has about as much to draw.

    The most costly page (:data:`PAGE_COST`, plus :data:`PREVIEW_COST` for a page in
    ``previews``; ``None``: every page) goes first to the worker with the least so
    far (longest processing time first). The pages of one map (:data:`SAME_MAP`) go
    to one worker first when together they cost no more than a worker's share. The
    sharing depends on the page names, ``workers`` and ``previews`` only, never on
    timing, so the same run cuts its atlas into the same parts (equal inputs, equal
    bytes). Each worker's pages are in atlas order.

    Examples
    --------
    >>> share_pages(["cover", "overview", "place_P01", "indicator_a", "indicator_b"], 2)
    [[1, 4], [0, 2, 3]]
    >>> share_pages(["cover", "overview", "place_P01", "place_P02", "indicator_a", "new_hubs"],
    ...             2)
    [[0, 1, 4], [2, 3, 5]]
    """
    def cost(i: int) -> float:
        name = names[i]
        base = max((c for k, c in PAGE_COST.items() if name == k or
                    (k.endswith("_") and name.startswith(k))), default=1.0)
        shown = previews is None or name in previews
        return base + (PREVIEW_COST if shown else 0.0)

    load = [0.0] * workers
    out: list[list[int]] = [[] for _ in range(workers)]
    same = [i for i, name in enumerate(names) if name.startswith(SAME_MAP)]
    same_cost = sum(map(cost, same))
    if workers > 1 and same_cost <= sum(map(cost, range(len(names)))) / workers:
        out[0], load[0] = list(same), same_cost
    else:
        same = []
    for i in sorted(set(range(len(names))) - set(same), key=lambda i: (-cost(i), i)):
        w = min(range(workers), key=lambda w: (load[w], w))
        out[w].append(i)
        load[w] += cost(i)
    return [sorted(pages) for pages in out]


def _fork(plan, workers: int, kw: dict, on_page) -> PageJob:
    import multiprocessing

    from productivecity.outputs.maps import save_figures

    ctx = multiprocessing.get_context("fork")
    pdf = Path(kw["pdf"])
    parts = Path(tempfile.mkdtemp(prefix=f".{pdf.stem}.parts.", dir=pdf.parent))
    done = ctx.Queue()
    mine = share_pages([name for name, _ in plan], workers,
                       previews=kw["preview_pages"] if kw.get("preview_dpi") else ())

    def work(w: int) -> None:
        try:
            def drawn():
                for i in mine[w]:
                    name, draw = plan[i]
                    yield name, draw()
                    done.put(name)
            out = save_figures(drawn(), **{**kw, "pdf": parts / f"{w}.pdf", "overwrite": True})
            with open(parts / f"{w}.pickle", "wb") as f:
                pickle.dump(out, f)
        except BaseException as exc:  # reported by the parent, with the worker's traceback
            (parts / f"{w}.error").write_text(
                f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}", encoding="utf-8")
            raise SystemExit(1) from None
        finally:
            done.close()
            done.join_thread()

    procs = [ctx.Process(target=work, args=(w,), name=f"atlas-pages-{w}", daemon=True)
             for w in range(workers)]
    for p in procs:
        p.start()
    logger.debug("drawing %d pages in %d processes", len(plan), workers)

    def stop() -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()
        done.close()
        shutil.rmtree(parts, ignore_errors=True)

    def collect() -> dict:
        try:
            n = 0
            while n < len(plan) and any(p.is_alive() for p in procs):
                try:
                    name = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                n += 1
                if on_page is not None:
                    on_page(name)
            for p in procs:
                p.join()
            failed = [w for w, p in enumerate(procs) if p.exitcode != 0]
            if failed:
                err = parts / f"{failed[0]}.error"
                msg = (err.read_text(encoding="utf-8").split("\n\n")[0] if err.exists()
                       else f"exit code {procs[failed[0]].exitcode}")
                raise PageError(f"drawing the atlas pages for {pdf.name} failed in a worker "
                                f"process: {msg}")
            out: dict = {}
            for w in range(workers):
                with open(parts / f"{w}.pickle", "rb") as f:
                    out.update(pickle.load(f))
            _join_pdfs([parts / f"{w}.pdf" for w in range(workers)], mine, pdf,
                       overwrite=kw["overwrite"])
            # the result in the atlas order, as the serial writer gives it
            order = {name: i for i, (name, _) in enumerate(plan)}
            return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))
        finally:
            stop()

    return PageJob(collect, cancel=stop)


def _join_pdfs(paths: Sequence[Path], mine: Sequence[Sequence[int]], target: Path, *,
               overwrite: bool) -> None:
    """Join part PDFs into ``target``, page ``mine[w][j]`` being page ``j`` of part ``w``."""
    from pypdf import PdfReader, PdfWriter

    readers = [PdfReader(p) for p in paths]
    where = {i: (w, j) for w, pages in enumerate(mine) for j, i in enumerate(pages)}
    writer = PdfWriter()
    for i in range(len(where)):
        w, j = where[i]
        writer.add_page(readers[w].pages[j])
    writer.metadata = None  # no producer, no dates: as the single-process atlas
    with atomic_path(target, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            writer.write(f)
