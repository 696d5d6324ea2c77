"""What a run shows on the console: step lines, progress bars, warnings once, solver quiet.

- :data:`step_logger` (``productivecity.steps``) logs one line per step with its time;
  the command line shows it by default, a library user with ``logging`` at INFO.
- :func:`progress` makes every progress bar of the package: shown only when its loop
  lasts longer than :data:`BAR_DELAY_S`, never for a loop of one item, and only on a
  terminal or in a notebook (not into a log file or a pipe, where a bar's redrawn line
  runs into the next line).
- :class:`OnceFilter` drops a log message already shown in the same run.
- :func:`solver_output` keeps what a solver prints from C (HiGHS's banner) off the
  console unless the log is verbose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

#: One line per step of a run (name, status, time), and per output file written.
step_logger = logging.getLogger("productivecity.steps")

#: A progress bar appears only after this many seconds (a quick loop shows none).
BAR_DELAY_S = 2.0


def progress(iterable=None, *, total: int | None = None, disable: bool = False, **kw):
    """Return a tqdm progress bar that appears only for loops of several seconds.

    Parameters
    ----------
    iterable : iterable, optional
        As :class:`tqdm.tqdm`.
    total : int, optional
        Number of items (default ``len(iterable)`` where it has one).
    disable : bool, default False
        No bar at all.
    **kw
        Passed to tqdm (``desc``, ``unit``, ...).

    Returns
    -------
    tqdm.tqdm
        Disabled for a loop of at most one item, and when neither a terminal nor a
        notebook shows it; shown after :data:`BAR_DELAY_S` seconds and removed when done.
    """
    from tqdm.auto import tqdm

    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    one = total is not None and total <= 1
    kw.setdefault("leave", False)
    return tqdm(iterable, total=total, disable=disable or one or not bars_visible(),
                delay=BAR_DELAY_S, **kw)


def bars_visible() -> bool:
    """Return True when a progress bar can be seen: a notebook, or stderr on a terminal."""
    from tqdm.auto import tqdm

    if any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__):  # the notebook widget
        return True
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def bar_on_screen() -> bool:
    """Return True when a progress bar of the package may be on screen (past its delay)."""
    import time

    from tqdm import tqdm

    now = time.time()
    bars = list(getattr(tqdm, "_instances", []))
    return any(not b.disable and now - getattr(b, "start_t", now) >= (b.delay or 0)
               for b in bars)


class OnceFilter(logging.Filter):
    """Drop a log record whose level, logger and message were already let through.

    Install it on a handler for one run: a warning repeated by two steps (or two
    networks) reaches the console once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


@contextlib.contextmanager
def solver_output(logger: logging.Logger):
    """Hide what a solver prints on standard output (file descriptor 1) unless verbose.

    HiGHS prints its banner from C when its first model is made; Python's
    ``sys.stdout`` does not see it. Unless ``logger`` is enabled for INFO
    (``productivecity -v``), file descriptor 1 points to the null device meanwhile.
    """
    if logger.isEnabledFor(logging.INFO):
        yield
        return
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded, some notebooks)
        yield
        return
    _flush_c_stdout()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        _flush_c_stdout()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _flush_c_stdout() -> None:
    """Flush C's stdio buffers (text printed from C but not yet written)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)
