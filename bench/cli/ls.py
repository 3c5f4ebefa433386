"""bench ls and bench data: what is registered, and a task's data card."""

from __future__ import annotations

import argparse
import json


def cmd_ls(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    what = args.what
    if what == "tasks":
        from bench.spec.task import all_tasks

        rows = [[s.name, s.domain, s.source.type, len(s.label_names) if s.label_names else "?", s.version, s.license]
                for s in all_tasks().values()]
        print(tabulate(rows, ["task", "domain", "source", "labels", "version", "license"], disable_numparse=True))
    elif what == "models":
        from bench.components.models import MODELS

        rows = []
        for m in (MODELS.get(n) for n in MODELS):
            r = m.train_defaults() if m.kind == "hf" else dict.fromkeys(m.train_defaults(), "-")  # no SGD
            head = m.pooling or ("whole text" if m.kind == "classical" else "HF head")
            rows.append([m.label, m.kind, head, r["learning_rate"], r["epochs"], r["batch_size"], r["warmup_ratio"],
                         m.context, m.description])
        rows.append(["hf:<id-or-folder>[@rev]", "hf", "declared*", "", "", "", "", "head",
                     "any Hugging Face model; *a folder with modules.json classifies from its declared pooling"])
        print(tabulate(rows, ["model", "kind", "pooling", "lr", "epochs", "batch", "warm-up", "context",
                              "description"], disable_numparse=True))
    elif what == "machine":
        from bench.fit.calibrate import calibration
        from bench.fit.calibrate import describe as describe_machine

        print("\n".join(describe_machine(calibration())))
    elif what == "frameworks":
        from bench.fit.frameworks import DESCRIPTIONS, missing_keras

        rows = [[name, "installed" if name != "keras" or missing_keras() is None else "extra [keras] missing", text]
                for name, text in DESCRIPTIONS.items()]
        print(tabulate(rows, ["framework", "status", "description"], disable_numparse=True))
    else:
        from bench.spec.named import describe

        print(tabulate([list(r.values()) for r in describe(_component_registry(what))], ["name", "params", "summary"]))
    return 0


def _component_registry(what: str):
    from bench.components.adapt import ADAPT
    from bench.components.context import CONTEXT
    from bench.components.imbalance import IMBALANCE
    from bench.components.methods import METHODS

    return {"imbalance": IMBALANCE, "context": CONTEXT, "methods": METHODS, "adapt": ADAPT}[what]


def cmd_data(args: argparse.Namespace) -> int:
    from bench.report.datacard import data_card

    card = data_card(args.task, args.model)
    if args.json:
        print(json.dumps(card, indent=1))
        return 0
    from tabulate import tabulate

    print(f"{card['task']} v{card['version']} ({card['domain']}; licence: {card['license']})")
    print(card["description"].strip())
    print(f"labels: {', '.join(card['label_names'])}   main score: {card['main_score']}   "
          f"fingerprint: {card['fingerprint']}   prep: {card['prep']}")
    rows = []
    for split, e in card["splits"].items():
        t = e.get("tokens", {})
        rows.append([split, e["rows"], " ".join(f"{k}:{v}" for k, v in e["class_counts"].items()),
                     e["imbalance_ratio"], t.get("p50"), t.get("p90"), t.get("p99"),
                     t.get("share_over_128"), t.get("share_over_256"), t.get("share_over_512")])
    print(tabulate(rows, ["split", "rows", "class counts", "imb. ratio", "tok p50", "p90", "p99",
                          ">128", ">256", ">512"]))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("ls", help="list tasks, models, imbalance strategies, context policies, methods, "
                       "adaptations or frameworks; `machine`: the CPU precision calibration")
    p.add_argument("what", nargs="?", default="tasks", choices=["tasks", "models", "imbalance", "context", "methods", "adapt",
                                                              "frameworks", "machine"])
    p.set_defaults(run=run)

    p = sub.add_parser("data", help="a task's data card")
    p.add_argument("task")
    p.add_argument("--model", default="minilm-l6", help="tokenizer used for token-length statistics")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return {"ls": cmd_ls, "data": cmd_data}[args.command](args)
