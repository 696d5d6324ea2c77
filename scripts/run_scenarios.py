"""Run every scenario config in a folder and compare their top sites.

    python scripts/run_scenarios.py [FOLDER] --out OUTDIR [--data-dir DIR] [--jobs N] [--top-k K]

FOLDER (default productivecity/data/scenarios/, the shipped ones) holds scenario configs
(*.toml, see productivecity/data/scenarios/sample.toml). Each config runs as its own process,

    productivecity run CONFIG --out OUTDIR/<config stem> [--data-dir DIR] [--offline] [--overwrite]

up to --jobs at a time (default: the machine's cores; each run then gets cores / jobs
compute threads). Every run's log (command, output, exit status, time) is kept in
OUTDIR/<stem>/run.log, also when the run failed.

When the runs are done the script reads each run's ranked sites (OUTDIR/<stem>/ranked_sites.csv:
site_id, rank, score, excluded; or the layer ranked_sites of a GeoPackage in the folder, as
written by `productivecity rank`) and writes, in OUTDIR:

    comparison_ranks.csv   one row per site in any scenario's top k: its rank in every
                           scenario (empty = excluded or not a candidate there), in how many
                           scenarios' top k it is (in_top_k_n) and its best rank
    comparison_top_k.csv   one row per scenario: the site ids of ranks 1..k
    comparison_jaccard.csv overlap of the top-k sets of every pair of scenarios
                           (Jaccard: shared sites / sites in either; 1 = the same sites)
    runs.csv               per scenario: config, status, exit code, run time (s), log

and prints the rank table and the overlap matrix. The top k of a scenario are its eligible
sites (not excluded) ordered by rank, then score (higher first), then site id; exactly k
of them (fewer if fewer are eligible).

Exit status: 0 when every run succeeded; 1 when a run failed (the failed configs and their
logs are listed; the comparison covers the scenarios that succeeded); 2 for bad usage
(no configs, outputs that exist without --overwrite).

--compare-only skips the runs and compares the results already in OUTDIR (e.g. with
another --top-k).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import datetime as dt
import itertools
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT / "productivecity" / "data" / "scenarios"
LOG_NAME = "run.log"
RANKED_CSV = "ranked_sites.csv"
RANKED_LAYER = "ranked_sites"
COMPARISON_FILES = ("comparison_ranks.csv", "comparison_top_k.csv", "comparison_jaccard.csv",
                    "runs.csv")


class BatchError(Exception):
    """Bad usage or unreadable results (exit status 2)."""


@dataclasses.dataclass
class Run:
    """One scenario of the batch and how its run went."""

    name: str  # the config's stem: names the output folder and the scenario in tables
    config: Path
    out_dir: Path
    status: str = "pending"  # "ok", "failed" or "not run" (--compare-only)
    exit_code: int | None = None
    time_s: float | None = None
    error: str = ""

    @property
    def log(self) -> Path:
        return self.out_dir / LOG_NAME


# --------------------------------------------------------------------------- running


def find_configs(folder: Path, *, pattern: str = "*.toml") -> list[Path]:
    """Scenario configs in ``folder`` (sorted by name); BatchError if there are none."""
    if not folder.is_dir():
        raise BatchError(f"scenario folder {folder} does not exist")
    configs = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not configs:
        raise BatchError(f"no scenario configs ({pattern}) in {folder}")
    stems = [p.stem for p in configs]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise BatchError(f"configs with the same name would share an output folder: {dup}")
    return configs


def _only_our_log(folder: Path) -> bool:
    return folder.is_dir() and [p.name for p in folder.iterdir()] == [LOG_NAME]


def check_outputs(runs: list[Run], out_root: Path, *, overwrite: bool) -> None:
    """Refuse existing run folders and comparison files unless ``overwrite``.

    With ``overwrite``, a folder holding nothing but the log of an earlier failed run
    is cleared (``productivecity run`` replaces only folders of successful runs).
    """
    existing = [r.out_dir for r in runs if r.out_dir.exists() and any(r.out_dir.iterdir())]
    existing += [out_root / f for f in COMPARISON_FILES if (out_root / f).exists()]
    if existing and not overwrite:
        listed = "\n  ".join(map(str, existing))
        raise BatchError(f"outputs exist (pass --overwrite to replace them):\n  {listed}")
    for r in runs:
        if overwrite and _only_our_log(r.out_dir):
            r.log.unlink()
            r.out_dir.rmdir()


def run_command(run: Run, *, data_dir: Path | None, offline: bool, overwrite: bool) -> list[str]:
    """The ``productivecity run`` command line of one scenario."""
    cmd = [sys.executable, "-m", "productivecity.cli", "run", str(run.config),
           "--out", str(run.out_dir), "-v"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    if offline:
        cmd.append("--offline")
    if overwrite:
        cmd.append("--overwrite")
    return cmd


def run_one(run: Run, cmd: list[str], *, threads: int) -> Run:
    """Run one scenario in a subprocess; keep its log in ``<out>/run.log``.

    The log is written next to the output folder while the run lasts (the pipeline
    refuses a non-empty output folder) and moved into it at the end.
    """
    env = dict(os.environ)
    env.setdefault("NUMBA_NUM_THREADS", str(threads))
    env["TQDM_DISABLE"] = "1"  # no progress bars in log files
    run.out_dir.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{run.name}.", suffix=".log", dir=run.out_dir.parent)
    tmp_log = Path(tmp_name)
    t0 = time.perf_counter()
    with os.fdopen(fd, "w", encoding="utf-8") as log:
        log.write(f"# {dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n")
        log.write(f"# {shlex.join(cmd)}\n")
        log.flush()
        try:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  cwd=ROOT, check=False)
            run.exit_code = proc.returncode
        except OSError as exc:  # the interpreter could not be started
            run.exit_code = -1
            log.write(f"could not start the run: {exc}\n")
        run.time_s = time.perf_counter() - t0
        log.write(f"# exit status {run.exit_code} after {run.time_s:.1f} s\n")
    run.status = "ok" if run.exit_code == 0 else "failed"
    run.out_dir.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_log, run.log)
    return run


def run_all(runs: list[Run], *, jobs: int, data_dir: Path | None, offline: bool,
            overwrite: bool) -> list[Run]:
    """Run the scenarios, ``jobs`` at a time; return them with status, exit code and time."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // jobs)
    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, r, run_command(r, data_dir=data_dir, offline=offline,
                                                         overwrite=overwrite),
                               threads=threads): r for r in runs}
        try:
            for fut in cf.as_completed(futures):
                r = fut.result()
                print(f"{r.status:>6}  {r.name}  ({r.time_s:.0f} s, log {r.log})", flush=True)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return runs


# --------------------------------------------------------------------------- comparing


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    text = values.astype(str).str.strip().str.lower()
    bad = ~text.isin(["true", "false", "1", "0"])
    if bad.any():
        raise BatchError(f"column 'excluded' has values other than true/false: "
                         f"{sorted(set(values[bad].astype(str)))[:5]}")
    return text.isin(["true", "1"])


def read_ranked(folder: Path) -> pd.DataFrame:
    """Ranked sites of one run: index ``site_id`` (str); ``rank`` (Int64), ``score``, ``excluded``.

    Read from ``ranked_sites.csv`` (``productivecity run``), else from the layer
    ``ranked_sites`` of the GeoPackage in the folder (``productivecity rank``).
    """
    csv = folder / RANKED_CSV
    if csv.is_file():
        # nl/fr runs write ";" and decimal commas, UTF-8 with a byte-order mark
        semicolon = csv.read_bytes()[:3] == b"\xef\xbb\xbf"
        df = pd.read_csv(csv, dtype={"site_id": str}, usecols=lambda c: c in {
            "site_id", "rank", "score", "excluded"}, encoding="utf-8-sig",
            **({"sep": ";", "decimal": ","} if semicolon else {}))
        source = csv
    else:
        import pyogrio

        gpkgs = [p for p in sorted(folder.glob("*.gpkg"))
                 if RANKED_LAYER in {row[0] for row in pyogrio.list_layers(p)}]
        if not gpkgs:
            raise BatchError(f"no ranked sites in {folder}: expected {RANKED_CSV} or a "
                             f"GeoPackage with a '{RANKED_LAYER}' layer")
        source = gpkgs[0]
        df = pyogrio.read_dataframe(source, layer=RANKED_LAYER, read_geometry=False,
                                    columns=["site_id", "rank", "score", "excluded"])
    missing = [c for c in ("site_id", "rank", "score", "excluded") if c not in df.columns]
    if missing:
        raise BatchError(f"{source}: missing column(s) {missing}")
    df["site_id"] = df["site_id"].astype(str)
    if df["site_id"].duplicated().any():
        raise BatchError(f"{source}: duplicate site ids "
                         f"{df.loc[df['site_id'].duplicated(), 'site_id'].head(5).tolist()}")
    out = df.set_index("site_id")[["rank", "score"]].copy()
    out["rank"] = pd.to_numeric(out["rank"]).astype("Int64")
    out["score"] = pd.to_numeric(out["score"]).astype(float)
    out["excluded"] = _as_bool(df.set_index("site_id")["excluded"])
    return out


def top_k(ranked: pd.DataFrame, k: int) -> list[str]:
    """The ids of the k best eligible sites: by rank, then score (desc), then site id."""
    ok = ranked.loc[~ranked["excluded"] & ranked["rank"].notna()]
    order = ok.assign(_id=ok.index).sort_values(["rank", "score", "_id"],
                                                ascending=[True, False, True], kind="stable")
    return order.index[:k].tolist()


def jaccard(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b| (1.0 for two empty sets)."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def compare(ranked: dict[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
    """Comparison tables of several scenarios' ranked sites.

    Returns
    -------
    dict with
        ``ranks``: index ``site_id`` (sites in any top k); one Int64 column per scenario
        (rank there, <NA> if excluded or absent), ``in_top_k_n``, ``best_rank``; ordered by
        ``in_top_k_n`` (desc), best rank, site id.
        ``top_k``: index ``scenario``; columns ``top_1`` .. ``top_k`` (site ids).
        ``jaccard``: scenarios x scenarios, overlap of the top-k sets (0-1).
    """
    if k < 1:
        raise BatchError(f"--top-k must be at least 1, got {k}")
    tops = {name: top_k(df, k) for name, df in ranked.items()}
    sites = sorted(set().union(*map(set, tops.values())))
    ranks = pd.DataFrame(index=pd.Index(sites, name="site_id"))
    for name, df in ranked.items():
        eligible = df["rank"].where(~df["excluded"])
        ranks[name] = eligible.reindex(ranks.index).astype("Int64")
    ranks["in_top_k_n"] = [sum(s in tops[n] for n in tops) for s in sites]
    ranks["best_rank"] = ranks[list(ranked)].min(axis=1).astype("Int64")
    ranks = ranks.assign(_id=ranks.index).sort_values(
        ["in_top_k_n", "best_rank", "_id"], ascending=[False, True, True]).drop(columns="_id")
    top_table = pd.DataFrame.from_dict(
        {name: ids + [""] * (k - len(ids)) for name, ids in tops.items()}, orient="index",
        columns=[f"top_{i}" for i in range(1, k + 1)])
    top_table.index.name = "scenario"
    names = list(ranked)
    jac = pd.DataFrame(1.0, index=pd.Index(names, name="scenario"), columns=names)
    for a, b in itertools.combinations(names, 2):
        jac.loc[a, b] = jac.loc[b, a] = jaccard(set(tops[a]), set(tops[b]))
    return {"ranks": ranks, "top_k": top_table, "jaccard": jac}


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically (temp file in the same folder, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".csv.tmp", dir=path.parent)
    os.close(fd)
    try:
        df.to_csv(tmp, lineterminator="\n", float_format="%.6g")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_scenarios.py",
        description="Run every scenario config in a folder with 'productivecity run' (in "
                    "parallel) and compare their top sites.")
    p.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                   help=f"folder of scenario configs (default {DEFAULT_FOLDER.relative_to(ROOT)})")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder: one sub-folder per config plus the comparison tables")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data folder passed to every run (overrides the configs' [area] data_dir)")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="runs at the same time (default: the machine's cores)")
    p.add_argument("--top-k", type=int, default=10, help="size of the compared top sets (default 10)")
    p.add_argument("--pattern", default="*.toml", help="config file pattern (default *.toml)")
    p.add_argument("--offline", action="store_true", help="pass --offline to every run")
    p.add_argument("--overwrite", action="store_true",
                   help="replace earlier results in --out (passed on to every run)")
    p.add_argument("--compare-only", action="store_true",
                   help="do not run; compare the results already in --out")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except BatchError as exc:
        print(f"run_scenarios: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("run_scenarios: interrupted", file=sys.stderr)
        return 130


def _main(args) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise BatchError(f"--jobs must be at least 1, got {args.jobs}")
    if args.top_k < 1:
        raise BatchError(f"--top-k must be at least 1, got {args.top_k}")
    configs = find_configs(args.folder, pattern=args.pattern)
    out_root = args.out.expanduser().resolve()
    runs = [Run(name=c.stem, config=c.resolve(), out_dir=out_root / c.stem) for c in configs]
    t0 = time.perf_counter()
    if args.compare_only:
        for r in runs:
            r.status = "not run"
    else:
        check_outputs(runs, out_root, overwrite=args.overwrite)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        jobs = min(args.jobs or cores or 1, len(runs))
        print(f"running {len(runs)} scenario(s) from {args.folder}, {jobs} at a time", flush=True)
        run_all(runs, jobs=jobs, data_dir=args.data_dir, offline=args.offline,
                overwrite=args.overwrite)

    ranked = {}
    for r in runs:
        if r.status == "failed":
            continue
        try:
            ranked[r.name] = read_ranked(r.out_dir)
        except BatchError as exc:
            r.status, r.error = "failed", str(exc)
        except (OSError, ValueError) as exc:  # unreadable file
            r.status, r.error = "failed", f"cannot read the ranked sites: {exc}"

    out_root.mkdir(parents=True, exist_ok=True)
    runs_table = pd.DataFrame([{
        "scenario": r.name, "config": str(r.config), "status": r.status,
        "exit_code": r.exit_code, "time_s": None if r.time_s is None else round(r.time_s, 1),
        "log": str(r.log) if r.log.is_file() else "", "error": r.error} for r in runs
    ]).set_index("scenario")
    runs_table["exit_code"] = runs_table["exit_code"].astype("Int64")
    _write_csv(runs_table, out_root / "runs.csv")

    if ranked:
        tables = compare(ranked, args.top_k)
        _write_csv(tables["ranks"], out_root / "comparison_ranks.csv")
        _write_csv(tables["top_k"], out_root / "comparison_top_k.csv")
        _write_csv(tables["jaccard"], out_root / "comparison_jaccard.csv")
        with pd.option_context("display.width", 200, "display.max_rows", 500,
                               "display.max_columns", 50):
            print(f"\nRank of every site in a top {args.top_k} (<NA>: excluded in that scenario)")
            print(tables["ranks"].to_string())
            print(f"\nOverlap of the top {args.top_k} sets (Jaccard: shared / either)")
            print(tables["jaccard"].to_string(float_format=lambda v: f"{v:.2f}"))
        print(f"\nwrote {', '.join(COMPARISON_FILES)} to {out_root} "
              f"({time.perf_counter() - t0:.0f} s)")
    failed = [r for r in runs if r.status == "failed"]
    if failed:
        print(f"\n{len(failed)} of {len(runs)} scenario(s) failed:", file=sys.stderr)
        for r in failed:
            why = r.error or f"exit status {r.exit_code}"
            print(f"  {r.config}: {why}; log {r.log}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
