"""The console of ``productivecity run``: step lines, warnings once, no solver banner."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest

from productivecity._console import OnceFilter, progress
from productivecity.cli import main

STEPS = ("layers", "sites", "demand", "indicators", "ranking", "allocation", "isochrones")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """One CLI run of the sample (tables only, a fresh cache): its stdout and stderr."""
    base = tmp_path_factory.mktemp("console")
    # capfd is function-scoped: the module's one run captures file descriptors 1 and 2 itself
    import os
    import tempfile

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRODUCTIVECITY_CACHE_DIR", str(base / "cache"))
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            saved = os.dup(1), os.dup(2)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            old = sys.stdout, sys.stderr
            sys.stdout = os.fdopen(os.dup(1), "w", closefd=True)
            sys.stderr = os.fdopen(os.dup(2), "w", closefd=True)
            try:
                code = main(["run", "sample", "--out", str(base / "out"),
                             "--set", 'outputs.formats=["csv"]'])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                sys.stdout.close()
                sys.stderr.close()
                sys.stdout, sys.stderr = old
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
            out.seek(0)
            err.seek(0)
            return {"code": code, "out": out.read(), "err": err.read(), "dir": base / "out"}


def test_one_line_per_step_with_its_time(console):
    assert console["code"] == 0
    lines = console["err"].splitlines()
    for step in STEPS:
        mine = [ln for ln in lines if re.match(rf"{step}\s+(computed|cached|skipped)\b", ln)]
        assert len(mine) == 1, (step, console["err"])
        assert re.search(r"\d+\.\d s$", mine[0]) or "skipped" in mine[0]
    assert any(re.match(r"outputs\s+written\s+\d+\.\d s", ln) for ln in lines)
    # each output file as it is written
    assert any(re.match(r"\s+csv\s+written .*ranked_sites\.csv", ln) for ln in lines)


def test_warnings_once_and_named(console):
    warns = [ln for ln in console["err"].splitlines() if ln.startswith("WARNING")]
    assert len(warns) == len(set(warns)), warns
    for ln in warns:
        assert "snap them first" not in ln and "snap()" not in ln
        if "not snapped" in ln:  # the layer first: "transit stops: 3 of 20 items ..."
            assert re.match(r"WARNING: [a-z][\w ,()-]*: \d+ of \d+ ", ln), ln


def test_no_solver_banner_and_no_one_item_bars(console):
    text = console["out"] + console["err"]
    assert "HiGHS" not in text and "Copyright" not in text
    assert "1/1" not in console["err"]
    assert "travel times" not in console["err"]  # a quick search shows no bar


def test_summary_names_the_top_place_and_the_paths(console):
    out = console["out"]
    top = re.search(r"^\s+1\. (.+?)  \(score", out, re.M)
    assert top and not re.fullmatch(r"hex\S+", top.group(1)), out
    assert "Sample" in top.group(1)  # a street / neighbourhood name of the sample
    assert str(console["dir"]) in out
    assert "ranked_places.csv" in out and "ranked_sites.csv" in out
    assert "demand: " in out
    assert "status  time_s" not in out  # the step table moved to the log lines


def _solver_script(level: str) -> str:
    return ("import logging, highspy; "
            f"logging.getLogger('productivecity').setLevel(logging.{level}); "
            "from productivecity._console import solver_output; "
            "from productivecity.siting.allocation import logger; "
            "ctx = solver_output(logger); ctx.__enter__(); highspy.Highs(); "
            "ctx.__exit__(None, None, None); print('after')")


@pytest.mark.parametrize(("level", "shown"), [("WARNING", False), ("INFO", True)])
def test_highs_banner_only_when_verbose(level, shown):
    """HiGHS prints its banner from C on its first model: hidden unless INFO (-v)."""
    proc = subprocess.run([sys.executable, "-c", _solver_script(level)], capture_output=True,
                          text=True, check=True)
    assert ("HiGHS" in proc.stdout) is shown, proc.stdout
    assert proc.stdout.rstrip().endswith("after")  # stdout works again afterwards


def test_once_filter_drops_repeated_warnings_only():
    f = OnceFilter()

    def rec(level, msg):
        return logging.LogRecord("productivecity.x", level, __file__, 1, msg, None, None)

    assert f.filter(rec(logging.WARNING, "a"))
    assert not f.filter(rec(logging.WARNING, "a"))
    assert f.filter(rec(logging.WARNING, "b"))
    assert f.filter(rec(logging.INFO, "step"))
    assert f.filter(rec(logging.INFO, "step"))  # info lines are not filtered


def test_progress_has_no_bar_for_one_item_and_a_delay(monkeypatch):
    from productivecity import _console

    monkeypatch.setattr(_console, "bars_visible", lambda: True)  # as on a terminal
    assert progress(range(1), desc="x").disable
    bar = progress(range(5), desc="x")
    assert not bar.disable and bar.delay >= 1
    bar.close()


def test_no_bar_into_a_log_file_or_a_pipe(monkeypatch):
    """Redirected output gets no bar: its redrawn line would run into the next line."""
    import io

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress(range(50), desc="x").disable


def test_a_layer_report_logged_twice_warns_once(caplog):
    """The reader logs its report, then the layer that keeps it: one warning per defect."""
    from productivecity.sources.load_report import LayerReport

    rep = LayerReport("canal")
    rep.skip("covered watercourse", 5)
    with caplog.at_level(logging.WARNING, logger="productivecity"):
        rep.log()
        rep.features_n = 3
        rep.log()
        rep.skip("not for boats", 2)
        rep.log()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == ["canal: skipped 5 records: covered watercourse",
                      "canal: skipped 2 records: not for boats"]
