"""Each hub task, loaded from a local copy of its repo's layout at the pinned commit (issue 15, part 4).

No machine here reaches the Hub, so the test writes a few rows per task into ``tmp_path`` in the
layout the Hub serves at the pin (docs/HUB.md: file names, README ``configs:``, column names and
types, ClassLabel names or plain-string labels), points ``BENCH_HUB_DIR`` at it, and loads the
registered task through the path a user with the Hub takes: ``load_task_data`` ->
``datasets.load_dataset(<repo>, <config>, revision=<sha>, data_files=...)``, here on the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

# Label names as the datasets' public cards / former loading scripts give them (index order).
AG_NEWS = ["World", "Sports", "Business", "Sci/Tech"]
IMDB = ["neg", "pos"]
PHRASEBANK = ["negative", "neutral", "positive"]
SCOTUS = [str(i) for i in range(1, 14)]
PUBMED = ["background", "conclusions", "methods", "objective", "results"]  # plain strings on the Hub
# Long lists: the task's own list, with spot checks against the cards (index: name).
BANKING77_SPOTS = {0: "activate_my_card", 51: "Refund_not_showing_up", 53: "reverted_card_payment?",
                   76: "wrong_exchange_rate_for_cash_withdrawal"}
LEDGAR_SPOTS = {0: "Adjustments", 1: "Agreements", 98: "Warranties", 99: "Withholdings"}


def _task(name):
    from bench.spec.task import get_task

    return get_task(name)


def _rows(names, used, split, n, tag=""):
    """``n`` rows per used class; each text starts with its class name so labels can be checked."""
    return [(f"{names[c]}|{tag}{split} row {i} of class {c} with some words", c) for c in used for i in range(n)]


def _parquet(path: Path, rows, text_col="text", names=None, extra=None):
    """Parquet written by ``datasets`` (HF features in the schema metadata), as the converter does."""
    from datasets import ClassLabel, Dataset, Features, Value

    cols = {text_col: [t for t, _ in rows], "label": [c for _, c in rows]}
    feats = {text_col: Value("string"), "label": ClassLabel(names=names)}
    for key, (dtype, values) in (extra or {}).items():
        cols[key], feats[key] = values, Value(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset.from_dict(cols, features=Features(feats)).to_parquet(str(path))


def _readme(folder: Path, configs: dict[str, dict[str, str]], names: dict[str, list[str]], text_col="text",
            default: str | None = None) -> None:
    """README.md with the YAML header the Hub's parquet conversion writes: dataset_info features
    (ClassLabel names) and ``configs:`` with data_files per split."""
    infos, cfgs = [], []
    for cfg, files in configs.items():
        label = {"class_label": {"names": {str(i): n for i, n in enumerate(names[cfg])}}}
        infos.append({"config_name": cfg, "features": [{"name": text_col, "dtype": "string"},
                                                       {"name": "label", "dtype": label}]})
        entry = {"config_name": cfg, "data_files": [{"split": s, "path": p} for s, p in files.items()]}
        if cfg == default:
            entry["default"] = True
        cfgs.append(entry)
    header = yaml.safe_dump({"dataset_info": infos if len(infos) > 1 else infos[0], "configs": cfgs}, sort_keys=False)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"---\n{header}---\n\n# dataset card\n")


def layout_ag_news(root: Path) -> dict:
    repo = root / "fancyzhx/ag_news"
    written = {}
    for split in ("train", "test"):
        rows = _rows(AG_NEWS, range(4), split, 10 if split == "train" else 4)
        _parquet(repo / f"data/{split}-00000-of-00001.parquet", rows, names=AG_NEWS)
        written[split] = len(rows)
    _readme(repo, {"default": {"train": "data/train-*", "test": "data/test-*"}}, {"default": AG_NEWS})
    return {"rows": sum(written.values()), "names": AG_NEWS}


def layout_banking77(root: Path) -> dict:
    names = list(_task("banking77").label_names)
    assert {i: names[i] for i in BANKING77_SPOTS} == BANKING77_SPOTS and len(names) == 77
    repo, used, total = root / "PolyAI/banking77", sorted(BANKING77_SPOTS), 0
    for split in ("train", "test"):
        rows = _rows(names, used, split, 10 if split == "train" else 3)
        _parquet(repo / f"data/{split}-00000-of-00001.parquet", rows, names=names)
        total += len(rows)
    _readme(repo, {"default": {"train": "data/train-*", "test": "data/test-*"}}, {"default": names})
    return {"rows": total, "names": names, "used": used}


def layout_financial_phrasebank(root: Path) -> dict:
    """refs/convert/parquet: ``<config>/train/0000.parquet`` per agreement level, no README."""
    repo = root / "takala/financial_phrasebank"
    for level, n in (("sentences_allagree", 20), ("sentences_75agree", 25), ("sentences_66agree", 30),
                     ("sentences_50agree", 35)):
        rows = _rows(PHRASEBANK, range(3), "train", n, tag=f"{level} ")
        _parquet(repo / level / "train/0000.parquet", rows, text_col="sentence", names=PHRASEBANK)
    return {"rows": 60, "names": PHRASEBANK, "only": "sentences_allagree "}


def layout_imdb(root: Path) -> dict:
    repo = root / "stanfordnlp/imdb"
    for split, n in (("train", 12), ("test", 5)):
        _parquet(repo / f"plain_text/{split}-00000-of-00001.parquet", _rows(IMDB, range(2), split, n), names=IMDB)
    unsup = [(f"unsupervised review {i}", -1) for i in range(6)]  # label -1 in the unsupervised split
    _parquet(repo / "plain_text/unsupervised-00000-of-00001.parquet", unsup, names=IMDB)
    files = {s: f"plain_text/{s}-*" for s in ("train", "test", "unsupervised")}
    _readme(repo, {"plain_text": files}, {"plain_text": IMDB}, default="plain_text")
    return {"rows": 34, "names": IMDB}


def _lex_glue(root: Path) -> None:
    repo = root / "coastalcph/lex_glue"
    if (repo / "README.md").exists():
        return
    ledgar = list(_task("lexglue-ledgar").label_names)
    assert {i: ledgar[i] for i in LEDGAR_SPOTS} == LEDGAR_SPOTS and len(ledgar) == 100
    names = {"ledgar": ledgar, "scotus": SCOTUS}
    used = {"ledgar": sorted(LEDGAR_SPOTS), "scotus": [0, 1, 12]}
    for cfg in names:
        for split, n in (("train", 8), ("validation", 3), ("test", 3)):
            rows = _rows(names[cfg], used[cfg], split, n, tag=f"{cfg} ")
            _parquet(repo / f"{cfg}/{split}-00000-of-00001.parquet", rows, names=names[cfg])
    files = {cfg: {s: f"{cfg}/{s}-*" for s in ("train", "test", "validation")} for cfg in names}
    _readme(repo, files, names)


def layout_lexglue_ledgar(root: Path) -> dict:
    _lex_glue(root)
    return {"rows": 4 * 14, "names": list(_task("lexglue-ledgar").label_names), "only": "ledgar ", "kept": True}


def layout_lexglue_scotus(root: Path) -> dict:
    _lex_glue(root)
    return {"rows": 3 * 14, "names": SCOTUS, "only": "scotus ", "kept": True}


def layout_pubmed_rct20k(root: Path) -> dict:
    """train.jsonl / dev.jsonl / test.jsonl, README without YAML; label is a lowercase string."""
    repo = root / "armanc/pubmed-rct20k"
    repo.mkdir(parents=True)
    for fname, n in (("train", 6), ("dev", 2), ("test", 2)):
        with open(repo / f"{fname}.jsonl", "w") as f:
            for i, (text, c) in enumerate(_rows(PUBMED, range(5), fname, n)):
                f.write(json.dumps({"abstract_id": str(24000000 + i // 5), "label": PUBMED[c], "text": text,
                                    "sentence_id": i % 5}) + "\n")
    (repo / "README.md").write_text("PubMed 20k RCT (Dernoncourt & Lee, 2017).\n")
    return {"rows": 50, "names": PUBMED, "kept": True}


LAYOUTS = {"ag-news": layout_ag_news, "banking77": layout_banking77,
           "financial-phrasebank": layout_financial_phrasebank, "imdb": layout_imdb,
           "lexglue-ledgar": layout_lexglue_ledgar, "lexglue-scotus": layout_lexglue_scotus,
           "pubmed-rct20k": layout_pubmed_rct20k}


def test_every_hub_task_has_a_layout():
    from bench.spec.task import HubSource, all_tasks

    hub = {n for n, s in all_tasks().items() if isinstance(s.source, HubSource)}
    assert hub == set(LAYOUTS)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_hub_task_loads_from_its_layout_at_the_pin(tmp_path, monkeypatch, name):
    from bench.data.prepare import _load_cached, load_task_data

    expect = LAYOUTS[name](tmp_path)
    monkeypatch.setenv("BENCH_HUB_DIR", str(tmp_path))
    _load_cached.cache_clear()
    data = load_task_data(_task(name))
    assert data.label_names == expect["names"]
    assert set(data.splits) == {"train", "validation", "test"} and all(len(s) for s in data.splits.values())
    assert sum(len(s) for s in data.splits.values()) == expect["rows"]
    for split_name, split in data.splits.items():
        for text, y in zip(split.texts, split.labels.tolist(), strict=True):
            assert text.split("|")[0] == data.label_names[y], (split_name, text)  # the label order
            assert expect.get("only", "") in text  # one config / agreement level, never a merge
            assert "unsupervised" not in text
    if expect.get("kept"):  # the hub's validation split is used as is (pubmed: dev.jsonl)
        assert all(("validation row" in t) or ("dev row" in t) for t in data.splits["validation"].texts)
    if "used" in expect:
        assert sorted(set(data.splits["train"].labels.tolist())) == expect["used"]


def _cli(capsys, argv):
    from bench.cli import main

    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err.strip().splitlines()


def _matrix(tmp_path, tasks) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"name": "hubm", "tasks": tasks, "models": ["tfidf-logreg"], "context": ["full"],
                                    "seeds": [0, 1]}))
    return path


def test_offline_hub_task_in_a_matrix_is_refused_at_planning(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("BENCH_HUB_DIR", raising=False)
    out = tmp_path / "out"
    code, _, err = _cli(capsys, ["run", "--matrix", str(_matrix(tmp_path, ["bbc-news", "imdb"])), "--out", str(out)])
    assert code == 2
    assert len(err) == 1 and "task 'imdb'" in err[0] and "HF_HUB_OFFLINE" in err[0], err
    assert not out.exists()  # no failed record per cell, nothing at all
    code, _, err = _cli(capsys, ["run", "--task", "imdb", "--model", "tfidf-logreg", "--out", str(out)])
    assert code == 2 and len(err) == 1 and "task 'imdb'" in err[0] and "HF_HUB_OFFLINE" in err[0]
    assert not out.exists()


def test_matrix_of_a_hub_task_runs_offline_from_a_local_copy(tmp_path, capsys, monkeypatch):
    """BENCH_HUB_DIR: the documented way to run hub tasks without the Hub; records as usual."""
    from bench.record.io import iter_records

    layout_imdb(tmp_path / "hub")
    monkeypatch.setenv("BENCH_HUB_DIR", str(tmp_path / "hub"))
    out = tmp_path / "out"
    code, stdout, err = _cli(capsys, ["run", "--matrix", str(_matrix(tmp_path, ["imdb"])), "--out", str(out)])
    assert code == 0, err
    recs = list(iter_records(out))
    assert len(recs) == 2 and {r["status"] for r in recs} == {"ok"}
    assert all(r["task"]["label_names"] == IMDB and r["task"]["version"] == _task("imdb").version for r in recs)


def _task_file(tmp_path, source: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(f"name: pinned-hub\ndescription: d\ndomain: x\nversion: '1'\nlicense: CC0\nsource: {source}\n"
                    "text_column: text\nlabel_column: label\nlabel_names: [neg, pos]\n")
    return path


@pytest.mark.parametrize("rev", ["main", "refs/convert/parquet", "e6281661"])
def test_hub_revision_must_be_a_commit_sha(tmp_path, capsys, rev):
    task = _task_file(tmp_path, f"{{type: hub, dataset: stanfordnlp/imdb, revision: '{rev}'}}")
    code, _, err = _cli(capsys, ["run", "--task", str(task), "--model", "tfidf-logreg", "--out", str(tmp_path / "o")])
    assert code == 2 and len(err) == 1, err
    assert "task 'pinned-hub'" in err[0] and rev in err[0] and "40-hex" in err[0]
    assert not (tmp_path / "o").exists()


def test_local_copy_at_another_commit_is_refused(tmp_path, monkeypatch):
    """``hf download --local-dir`` records each file's commit; a copy at another commit is not the pin."""
    from bench.data.prepare import _load_cached, load_task_data
    from bench.errors import DataError

    layout_imdb(tmp_path)
    meta = tmp_path / "stanfordnlp/imdb/.cache/huggingface/download/plain_text"
    meta.mkdir(parents=True)
    (meta / "train-00000-of-00001.parquet.metadata").write_text(f"{'a' * 40}\netag\n1700000000.0\n")
    monkeypatch.setenv("BENCH_HUB_DIR", str(tmp_path))
    _load_cached.cache_clear()
    with pytest.raises(DataError, match="at commit aaaaaaaaaaaa, but the task pins e6281661ce1c"):
        load_task_data(_task("imdb"))
    (meta / "train-00000-of-00001.parquet.metadata").write_text(f"{_task('imdb').source.revision}\netag\n1.0\n")
    _load_cached.cache_clear()
    assert load_task_data(_task("imdb")).label_names == IMDB


def test_data_dir_names_one_config_folder_of_a_parquet_export(tmp_path):
    """``data_dir`` (the alternative to data_files), on a task whose ``dataset`` is the local folder."""
    from bench.data.prepare import load_task_data
    from bench.spec.task import load_task_file

    layout_financial_phrasebank(tmp_path)
    repo = tmp_path / "takala/financial_phrasebank"
    rev = _task("financial-phrasebank").source.revision
    for data_dir, level in (("sentences_75agree", 25), ("sentences_50agree", 35)):
        task = tmp_path / f"{data_dir}.yaml"
        task.write_text(f"name: fpb-{data_dir[10:]}\ndescription: d\ndomain: finance\nversion: '1'\nlicense: x\n"
                        f"source: {{type: hub, dataset: '{repo}', revision: '{rev}', data_dir: {data_dir}}}\n"
                        f"text_column: sentence\nlabel_column: label\nlabel_names: {PHRASEBANK}\n")
        data = load_task_data(load_task_file(task))
        texts = [t for s in data.splits.values() for t in s.texts]
        assert len(texts) == 3 * level and all(data_dir in t for t in texts)


@pytest.mark.parametrize("switch", ["HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_either_offline_switch_refuses_a_hub_task_and_is_named(monkeypatch, switch):
    from bench.data.sources import check_hub_reachable
    from bench.errors import ConfigError

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "BENCH_HUB_DIR"):
        monkeypatch.delenv(var, raising=False)
    check_hub_reachable(_task("ag-news"))  # online: nothing to refuse at planning
    monkeypatch.setenv(switch, "1")
    with pytest.raises(ConfigError, match=f"task 'ag-news' loads fancyzhx/ag_news@eb185aade064 .*{switch} is set"):
        check_hub_reachable(_task("ag-news"))
    check_hub_reachable(_task("bbc-news"))  # packaged tasks are not affected
