"""Benchmark a cold and a warm run of the test-bed scenario and the sample.

    python scripts/bench_pipeline.py DATA_DIR [--before PATH] [--skip-sample]

Each case runs in a fresh Python process: "cold" with a new, empty
PRODUCTIVECITY_CACHE_DIR, "warm" with the cache the cold run left. Prints the
per-step times (manifest ``run.steps``), wall seconds and peak resident memory
(``ru_maxrss`` of the child), and ends with one line::

    RESULT testbed_cold_s=... testbed_warm_s=... testbed_peak_mb=... sample_cold_s=... sample_peak_mb=...

``--before PATH`` runs the test-bed cold case once more with PATH (e.g. an older
checkout) first on PYTHONPATH, for before/after figures side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
t = time.perf_counter()
try:
    from productivecity.workflow.run import run_pipeline
except ImportError:  # older layout
    from productivecity.pipeline import run_pipeline
kw = dict(out_dir=sys.argv[2], overwrite=True, progress=False)
if sys.argv[3]:
    kw["data_dir"] = sys.argv[3]
run_pipeline(sys.argv[1], **kw)
print(json.dumps({"wall_s": time.perf_counter() - t}))
"""


def run_case(scenario: Path, data_dir: str | None, cache: Path, pythonpath: str | None,
             cwd: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench_out_"))
    env = dict(os.environ, PRODUCTIVECITY_CACHE_DIR=str(cache))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(scenario), str(out),
                           data_dir or ""], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"case {scenario} failed")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of all children so far: run the biggest case first
    steps = {}
    manifest = out / "manifest.json"
    if manifest.is_file():
        run = json.loads(manifest.read_text()).get("run", {})
        for name, info in (run.get("steps") or {}).items():
            steps[name] = info.get("seconds", info.get("s")) if isinstance(info, dict) else info
    return {"wall_s": wall, "peak_mb": max(peak_kb, before) / 1024, "steps": steps}


def scenario_file(root: Path, name: str) -> Path:
    """The scenario TOML of a checkout (package data, or scripts/scenarios in older trees)."""
    for folder in ("productivecity/data/scenarios", "scripts/scenarios"):
        path = root / folder / f"{name}.toml"
        if path.is_file():
            return path
    raise SystemExit(f"no scenario {name}.toml in {root}")


def show(label: str, res: dict) -> None:
    print(f"{label}: {res['wall_s']:.1f} s wall, peak {res['peak_mb']:.0f} MB")
    for name, sec in res["steps"].items():
        print(f"    {name:<24} {sec}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--before", help="older checkout to measure too (put first on PYTHONPATH)")
    ap.add_argument("--skip-sample", action="store_true")
    args = ap.parse_args(argv)
    testbed = scenario_file(ROOT, "brussels-vilvoorde")
    sample = scenario_file(ROOT, "sample")
    print(f"load average before: {os.getloadavg()}")
    cache = Path(tempfile.mkdtemp(prefix="bench_cache_"))
    cold = run_case(testbed, args.data_dir, cache, None, ROOT)
    show("test bed, cold", cold)
    warm = run_case(testbed, args.data_dir, cache, None, ROOT)
    show("test bed, warm", warm)
    s_cold = {"wall_s": float("nan"), "peak_mb": float("nan"), "steps": {}}
    if not args.skip_sample:
        s_cold = run_case(sample, None, Path(tempfile.mkdtemp(prefix="bench_cache_")), None, ROOT)
        show("sample, cold", s_cold)
    if args.before:
        old = Path(args.before)
        b = run_case(scenario_file(old, "brussels-vilvoorde"), args.data_dir,
                     Path(tempfile.mkdtemp(prefix="bench_cache_")), str(old), old)
        show(f"test bed, cold, before ({old})", b)
    print(f"load average after: {os.getloadavg()}")
    print(f"RESULT testbed_cold_s={cold['wall_s']:.1f} testbed_warm_s={warm['wall_s']:.1f} "
          f"testbed_peak_mb={cold['peak_mb']:.0f} sample_cold_s={s_cold['wall_s']:.1f} "
          f"sample_peak_mb={s_cold['peak_mb']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
