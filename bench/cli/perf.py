"""bench perf: the same cell run three ways, side by side."""

from __future__ import annotations

import json

from bench.perf.side_by_side import ABLATIONS, RUNNERS, PerfConfig, benchmark, format_report


def add_parser(sub) -> None:
    d = PerfConfig()
    p = sub.add_parser("perf", help="side-by-side speed benchmark: seed-style Trainer script vs bench run vs bare loop")
    p.add_argument("--task", default=d.task)
    p.add_argument("--model", default=d.model)
    p.add_argument("--max-length", type=int, default=d.max_length)
    p.add_argument("--limit-train", type=int, default=d.limit_train)
    p.add_argument("--limit-eval", type=int, default=d.limit_eval)
    p.add_argument("--epochs", type=float, default=d.epochs)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--precision", default=d.precision, choices=["auto", "fp32", "bf16"], help="bench's and bare's")
    p.add_argument("--repeats", type=int, default=d.repeats, help="interleaved rounds (a, b, c, a, b, c, ...)")
    p.add_argument("--runners", default=",".join(RUNNERS), help="subset of seed,bench,bare")
    p.add_argument("--ablate", default="", help=f"bench runs with one option flipped: {','.join(ABLATIONS)} or all")
    p.add_argument("--max-load", type=float, default=d.max_load,
                   help="withhold ratios when other processes' load during a run exceeded this per core "
                        f"(default {d.max_load}: idle; bench.perf.load)")
    p.add_argument("--peak-n", type=int, default=d.peak_n,
                   help="matrix size of the matmul peak (n x n @ n x n; a big GPU needs 8192 to reach its peak)")
    p.add_argument("--json", default=None, help="also write the full report here")
    p.set_defaults(run=run)


def run(args) -> int:
    import logging

    from bench.errors import ConfigError
    from bench.run.quiet import quiet
    from bench.run.worker import validate_cell
    from bench.store import write_json_atomic

    runners = tuple(r for r in args.runners.split(",") if r)
    ablate = ABLATIONS if args.ablate == "all" else tuple(a for a in args.ablate.split(",") if a)
    bad = [r for r in runners if r not in RUNNERS] + [a for a in ablate if a not in ABLATIONS]
    if args.peak_n < 16:
        raise ConfigError(f"bench perf: --peak-n must be >= 16 (got {args.peak_n})")
    if args.max_load < 0:
        raise ConfigError(f"bench perf: --max-load must be >= 0 (got {args.max_load})")
    if bad or not runners or args.repeats < 1:
        raise ConfigError(f"bench perf: bad --runners/--ablate/--repeats value(s) {bad or args.repeats}: runners are "
                          f"{','.join(RUNNERS)}; ablations {','.join(ABLATIONS)}; repeats >= 1")
    cfg = PerfConfig(task=args.task, model=args.model, max_length=args.max_length, limit_train=args.limit_train,
                     limit_eval=args.limit_eval, epochs=args.epochs, learning_rate=args.learning_rate,
                     batch_size=args.batch_size, seed=args.seed, precision=args.precision, repeats=args.repeats,
                     runners=runners, ablate=ablate, max_load=args.max_load, peak_n=args.peak_n)
    validate_cell(cfg.cell())
    quiet()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    rep = benchmark(cfg, progress=lambda s: print(s, flush=True))
    print()
    print(format_report(rep))
    if args.json:
        write_json_atomic(args.json, json.loads(json.dumps(rep, default=str)))
        print(f"report: {args.json}")
    return 0
