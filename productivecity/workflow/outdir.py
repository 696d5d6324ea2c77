"""The output folder: checked before the work, filled in a temporary sibling, swapped in."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from productivecity._errors import (
    OutputExistsError,
)

logger = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _clean_stale(out_dir: Path) -> None:
    """Remove temporary siblings left by runs that were killed (their process is gone)."""
    if not out_dir.parent.is_dir():
        return
    for p in out_dir.parent.glob(f".{out_dir.name}.*-*-*"):
        m = re.fullmatch(rf"\.{re.escape(out_dir.name)}\.(tmp|old)-(\d+)-.*", p.name)
        if m and p.is_dir() and not _pid_alive(int(m.group(2))):
            logger.info("removing %s left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)


def check_output_dir(out_dir: str | os.PathLike, *, overwrite: bool = False,
                     protected: tuple = ()) -> Path:
    """Return the output folder as an absolute Path, refusing unsafe targets.

    Parameters
    ----------
    out_dir : path-like
    overwrite : bool, default False
        Allow replacing a non-empty folder, which must then hold the
        ``manifest.json`` of an earlier run.
    protected : tuple of path-like
        Paths the output folder must not be or contain (config, data, cache).

    Raises
    ------
    OutputExistsError
        The folder exists and is not empty (without ``overwrite``), is a file,
        is not an earlier run's folder, or would contain a protected path.
    """
    out = Path(out_dir).expanduser().resolve()
    for p in (*protected, Path.cwd()):
        p = Path(p).resolve()
        if out == p or out in p.parents:
            raise OutputExistsError(f"output folder {out} is or contains {p}; choose another "
                                    f"--out")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is a file; expected a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"output folder {out} exists and is not empty; pass "
                                    f"--overwrite (overwrite=True) to replace it")
        if not (out / "manifest.json").is_file():
            raise OutputExistsError(f"output folder {out} holds no manifest.json of an earlier "
                                    f"productivecity run; refusing to replace it, choose "
                                    f"another --out")
    return out


def _swap_in(tmp: Path, out: Path) -> None:
    """Move the finished temporary folder onto ``out`` (replacing an earlier run)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{tmp.name.rsplit('-', 1)[-1]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

