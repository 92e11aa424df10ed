"""python -m bench [overhead|ceiling|meters|stability|noise|noise-ratio|emulated-bf16|contention|scaling|projection|
analysis|dashboard|trust|inference|import|all]
— prints Markdown tables."""

import argparse

from bench import analysis, cpu, dashboard_latency, import_scale, inference, probes, projection, trust

BENCHES = {
    "overhead": probes.overhead, "ceiling": probes.ceiling, "meters": probes.meters,
    "stability": probes.stability, "noise": probes.noise_floor, "noise-ratio": cpu.noise_ratio,
    "emulated-bf16": cpu.emulated_bf16, "contention": cpu.contention, "scaling": probes.scaling, "projection": projection.run,
    "analysis": analysis.run,
    "dashboard": dashboard_latency.run, "trust": trust.run, "inference": inference.run, "import": import_scale.run,
}
TAKES_ROUNDS = {"overhead", "ceiling", "meters", "noise", "noise-ratio", "emulated-bf16", "contention", "inference"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="*", default=["all"], choices=[*BENCHES, "all"])
    parser.add_argument("--sizes", type=int, nargs="+", help="stored-result counts for the dashboard benchmark; "
                        "bundle sizes for import (default 100,000)")
    parser.add_argument("--rounds", type=int, default=probes.ROUNDS,
                        help=f"rounds for overhead, ceiling, meters, noise and dashboard (default {probes.ROUNDS})")
    parser.add_argument("--json", action="store_true", help="dashboard: one JSON report (first chart, filter change, "
                        "peak memory; the app beside a trivial app), default size 1,000,000")
    parser.add_argument("--db", help="dashboard --json: an empty throwaway PostgreSQL database URL to fill instead of "
                        "a temporary SQLite file (its results are deleted afterwards, unless --keep; one that "
                        "already holds N results is measured as it is)")
    parser.add_argument("--keep", action="store_true", help="dashboard --json --db: keep the filled database")
    parser.add_argument("--baseline", help="import: another checkout that imports the same bundle, interleaved")
    args = parser.parse_args()
    for name in (list(BENCHES) if "all" in args.which else args.which):
        if name == "dashboard" and args.json:
            dashboard_latency.run_json(tuple(args.sizes or (1_000_000,)), rounds=1 if args.rounds == probes.ROUNDS
                                       else args.rounds, db=args.db, keep=args.keep)
        elif name == "import":
            import_scale.run(tuple(args.sizes or (100_000,)), rounds=1 if args.rounds == probes.ROUNDS
                             else args.rounds, baseline=args.baseline)
        elif name == "dashboard":
            dashboard_latency.run(tuple(args.sizes or (10_000, 100_000)), rounds=args.rounds)
        elif name in TAKES_ROUNDS:
            BENCHES[name](rounds=args.rounds)
        else:
            BENCHES[name]()


if __name__ == "__main__":
    main()
