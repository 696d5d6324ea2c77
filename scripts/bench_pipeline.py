"""Benchmark a cold and a warm run of the test-bed scenario and the sample.

    python scripts/bench_pipeline.py DATA_DIR [--before PATH] [--skip-sample] [--sample-only]
                                              [--sample-runs N]

Each case is the command a user types, ``productivecity run SCENARIO --out DIR``
(``python -m productivecity.cli``), in a fresh process: "cold" with a new, empty
PRODUCTIVECITY_CACHE_DIR, "warm" with the cache the cold run left. Prints the
per-step times (manifest ``run.steps``), wall seconds (from starting the command
to its exit) and peak resident memory (``ru_maxrss`` of the child), and ends with
one line::

    RESULT testbed_cold_s=... testbed_warm_s=... testbed_peak_mb=... sample_cold_s=... sample_peak_mb=... sample_tree_peak_mb=...

``--before PATH`` runs the test-bed cold case once more with PATH (e.g. an older
checkout) first on PYTHONPATH, and each sample run too (interleaved with the current
one, so both see the same machine), for before/after figures side by side. The sample
(the README's main job, ``productivecity run sample``) runs ``--sample-runs``
times (default 3), each with a new empty cache; the median is reported against
issue 12's target (6 s wall, 800 MB peak on a 2-core machine). The timed sample runs
are left alone; one more cold run (not timed) measures the process tree's memory,
whose sampling costs the run CPU.

"Cold" is the package's own caches. Python's bytecode of the package is compiled
first (``compileall``, for each checkout measured), as it is after any first run
or a non-editable install: an environment with ``PYTHONDONTWRITEBYTECODE`` set
would otherwise compile every module again in each run.
"""


from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Issue 12's target for the README main job on the sample, cold cache.
SAMPLE_TARGET_S, SAMPLE_TARGET_MB = 6.0, 800.0



# runs one case in its own child and reports the peak resident memory of the largest
# process (ru_maxrss) and of the whole process tree (the child and the atlas workers it
# forks): their proportional set sizes (PSS: a page shared by n processes counts 1/n in
# each), summed every 250 ms from /proc (reading smaps_rollup of a 600 MB process costs
# CPU: every 50 ms it slowed a run of the sample on 2 cores by 0.5 s)
_LAUNCHER = r"""
import json, os, resource, subprocess, sys, threading, time

def tree_rss_kb(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(ln.split()[1]) for ln in f if ln.startswith("Pss:"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration, ValueError):
            pass
    return total

t0 = time.perf_counter()
proc = subprocess.Popen([sys.executable, "-m", "productivecity.cli", *sys.argv[1:]],
                        stdout=subprocess.DEVNULL)
tree = [0]
def watch():
    while proc.poll() is None:
        tree[0] = max(tree[0], tree_rss_kb(proc.pid))
        threading.Event().wait(0.25)
w = threading.Thread(target=watch, daemon=True)
if os.environ.get("BENCH_TREE") == "1":
    w.start()
proc.wait()
wall = time.perf_counter() - t0
if w.is_alive():
    w.join()
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("BENCH " + json.dumps({"rc": proc.returncode, "peak_kb": peak_kb, "tree_kb": tree[0],
                             "wall_s": wall}))
"""


def run_case(scenario: Path, data_dir: str | None, cache: Path, pythonpath: str | None,
             cwd: Path, *, tree: bool = True) -> dict:
    """Run one case; with ``tree``, also sample the process tree's memory (costs CPU)."""
    out = Path(tempfile.mkdtemp(prefix="bench_out_"))
    env = dict(os.environ, PRODUCTIVECITY_CACHE_DIR=str(cache), BENCH_TREE=str(int(tree)))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    command = ["run", str(scenario), "--out", str(out)]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], env=env, cwd=cwd,
                          capture_output=True, text=True)
    report = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")]
    bench = json.loads(report[-1][6:]) if report else {"rc": proc.returncode, "peak_kb": 0}
    if proc.returncode or bench["rc"]:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"case {scenario} failed")
    wall = bench["wall_s"]
    peak_kb = bench["peak_kb"]  # ru_maxrss of the largest process of the case (kB on Linux)
    steps = {}
    manifest = out / "manifest.json"
    if manifest.is_file():
        run = json.loads(manifest.read_text()).get("run", {})
        listed = run.get("steps") or []
        if isinstance(listed, dict):  # older manifests: {step: seconds}
            listed = [{"step": k, "time_s": v} for k, v in listed.items()]
        for info in listed:
            steps[info.get("step")] = info.get("time_s")
            for part, sec in (info.get("parts_s") or {}).items():
                steps[f"{info.get('step')}.{part}"] = sec
    return {"wall_s": wall, "peak_mb": peak_kb / 1024,
            "tree_peak_mb": bench.get("tree_kb", 0) / 1024, "steps": steps}


def scenario_file(root: Path, name: str) -> Path:
    """The scenario TOML of a checkout (package data, or scripts/scenarios in older trees)."""
    for folder in ("productivecity/data/scenarios", "scripts/scenarios"):
        path = root / folder / f"{name}.toml"
        if path.is_file():
            return path
    raise SystemExit(f"no scenario {name}.toml in {root}")


def show(label: str, res: dict) -> None:
    tree = res.get("tree_peak_mb")
    print(f"{label}: {res['wall_s']:.2f} s wall, peak {res['peak_mb']:.0f} MB (largest process)"
          + (f", {tree:.0f} MB (process tree, PSS)" if tree else ""))
    for name, sec in res["steps"].items():
        print(f"    {name:<28} {sec:8.2f} s" if isinstance(sec, int | float) else
              f"    {name:<28} {sec}")


def compile_bytecode(root: Path) -> None:
    """Compile the package's bytecode under ``root`` (what its first run would write)."""
    import compileall

    ok = compileall.compile_dir(root / "productivecity", quiet=1)
    print(f"bytecode of {root / 'productivecity'} compiled"
          + ("" if ok else " (some modules failed to compile)"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--before", help="older checkout to measure too (put first on PYTHONPATH)")
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument("--sample-only", action="store_true", help="only the sample case")
    ap.add_argument("--sample-runs", type=int, default=3, help="cold sample runs (median)")
    args = ap.parse_args(argv)
    args.data_dir = str(Path(args.data_dir).resolve())  # the --before cases run in its folder
    testbed = scenario_file(ROOT, "brussels-vilvoorde")
    sample = scenario_file(ROOT, "sample")
    print(f"load average before: {os.getloadavg()}")
    compile_bytecode(ROOT)
    if args.before:
        compile_bytecode(Path(args.before))
    nan = {"wall_s": float("nan"), "peak_mb": float("nan"), "tree_peak_mb": float("nan"),
           "steps": {}}
    cold = warm = nan
    if not args.sample_only:
        cache = Path(tempfile.mkdtemp(prefix="bench_cache_"))
        cold = run_case(testbed, args.data_dir, cache, None, ROOT)
        show("test bed, cold", cold)
        warm = run_case(testbed, args.data_dir, cache, None, ROOT)
        show("test bed, warm", warm)
    s_cold = nan
    old = Path(args.before) if args.before else None
    if not args.skip_sample:
        runs, before = [], []
        for i in range(max(1, args.sample_runs)):
            runs.append(run_case(sample, None, Path(tempfile.mkdtemp(prefix="bench_cache_")),
                                 None, ROOT, tree=False))
            show(f"sample, cold, run {i + 1}", runs[-1])
            if old is not None:  # interleaved: both see the same machine
                before.append(run_case(scenario_file(old, "sample"), None,
                                       Path(tempfile.mkdtemp(prefix="bench_cache_")),
                                       str(old), old, tree=False))
                show(f"sample, cold, run {i + 1}, before ({old})", before[-1])
        runs.sort(key=lambda r: r["wall_s"])
        s_cold = dict(runs[len(runs) // 2])
        # the process tree's memory, from one more run sampled every 250 ms
        tree = run_case(sample, None, Path(tempfile.mkdtemp(prefix="bench_cache_")), None,
                        ROOT, tree=True)
        show("sample, cold, memory run (its time slowed by the sampling)", tree)
        s_cold["tree_peak_mb"] = tree["tree_peak_mb"]
        if before:
            before.sort(key=lambda r: r["wall_s"])
            b = dict(before[len(before) // 2])
            b["tree_peak_mb"] = run_case(scenario_file(old, "sample"), None,
                                         Path(tempfile.mkdtemp(prefix="bench_cache_")),
                                         str(old), old, tree=True)["tree_peak_mb"]
            print(f"sample, cold, median before: {b['wall_s']:.1f} s, peak {b['peak_mb']:.0f} MB, "
                  f"process tree (PSS) {b['tree_peak_mb']:.0f} MB;"
                  f" now / before: {s_cold['wall_s'] / b['wall_s']:.2f} (time), "
                  f"{s_cold['peak_mb'] / b['peak_mb']:.2f} (peak)")
        print(f"sample, cold, median of {len(runs)}: {s_cold['wall_s']:.2f} s "
              f"({s_cold['wall_s'] / SAMPLE_TARGET_S:.2f} x the {SAMPLE_TARGET_S:g} s target), "
              f"peak {s_cold['peak_mb']:.0f} MB "
              f"({s_cold['peak_mb'] / SAMPLE_TARGET_MB:.2f} x the {SAMPLE_TARGET_MB:g} MB target); "
              f"process tree (PSS) {s_cold['tree_peak_mb']:.0f} MB "
              f"({s_cold['tree_peak_mb'] / SAMPLE_TARGET_MB:.2f} x)")
    if old is not None and not args.sample_only:
        b = run_case(scenario_file(old, "brussels-vilvoorde"), args.data_dir,
                     Path(tempfile.mkdtemp(prefix="bench_cache_")), str(old), old)
        show(f"test bed, cold, before ({old})", b)
    print(f"load average after: {os.getloadavg()}")
    print(f"RESULT testbed_cold_s={cold['wall_s']:.1f} testbed_warm_s={warm['wall_s']:.1f} "
          f"testbed_peak_mb={cold['peak_mb']:.0f} sample_cold_s={s_cold['wall_s']:.1f} "
          f"sample_peak_mb={s_cold['peak_mb']:.0f} sample_tree_peak_mb={s_cold['tree_peak_mb']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
