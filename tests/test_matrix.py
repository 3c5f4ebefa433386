"""Matrix files: validation, deterministic expansion with include/exclude/overrides, --only, ids."""

import hashlib
import json
import subprocess
import sys

import pytest

from bench.errors import ConfigError
from bench.run.ids import cell_id
from bench.spec.cell import Cell, TrainParams
from bench.spec.matrix import MatrixSpec, load_matrix, only_filter, select
from tests.conftest import ROOT, balanced_rows, write


def spec(**kw) -> MatrixSpec:
    return MatrixSpec(**{"tasks": ["drugs-sentiment"], "models": ["tiny-bert"], **kw})


def test_product_order_and_defaults():
    cells = spec(tasks=["drugs-sentiment", "bbc-news"], imbalance=["none", "focal:gamma=1"],
                 seeds=[0, 1], budget={"limit_train": 40}).expand()
    assert len(cells) == 8
    assert [(c.task, c.imbalance, c.seed) for c in cells[:4]] == [
        ("drugs-sentiment", "none", 0), ("drugs-sentiment", "none", 1),
        ("drugs-sentiment", "focal", 0), ("drugs-sentiment", "focal", 1)]
    assert cells[2].imbalance_params == {"gamma": 1}
    assert all(c.method == "full" and c.context == "head" and c.max_length == 128 for c in cells)
    assert cells[0].train == TrainParams(limit_train=40)
    assert [c.to_dict() for c in cells] == [c.to_dict() for c in spec(
        tasks=["drugs-sentiment", "bbc-news"], imbalance=["none", "focal:gamma=1"], seeds=[0, 1],
        budget={"limit_train": 40}).expand()]


def test_component_forms_are_equivalent():
    a = spec(context=["head_tail:head=64"]).expand()
    b = spec(context=[{"name": "head_tail", "params": {"head": 64}}]).expand()
    assert a == b and a[0].context_params == {"head": 64}


def test_exclude_include_and_overrides():
    m = spec(tasks=["drugs-sentiment", "bbc-news"], imbalance=["none", "class_weight", "focal:gamma=2"],
             context=["head", "tail"], seeds=[0, 1], train={"learning_rate": 1e-4},
             exclude=[{"task": "bbc-news", "imbalance": ["class_weight", "focal"]},  # name matches any params
                      {"task": "drugs-sentiment", "context": "tail"}],
             include=[{"task": "bbc-news", "model": "tfidf-logreg", "context": "head", "imbalance": "none",
                       "train": {"limit_train": 99}}],
             overrides=[{"match": {"task": "drugs-sentiment"}, "train": {"learning_rate": 3e-4, "epochs": 3}},
                        {"match": {"model": "tfidf-logreg"}, "train": {"epochs": 1}}])
    cells = m.expand()
    drugs = [c for c in cells if c.task == "drugs-sentiment"]
    bbc = [c for c in cells if c.task == "bbc-news" and c.model == "tiny-bert"]
    extra = [c for c in cells if c.model == "tfidf-logreg"]
    assert len(drugs) == 3 * 1 * 2 and len(bbc) == 1 * 2 * 2 and len(extra) == 2  # includes take every seed
    assert {c.context for c in drugs} == {"head"} and {c.imbalance for c in bbc} == {"none"}
    assert all(c.train.learning_rate == 3e-4 and c.train.epochs == 3 for c in drugs)
    assert all(c.train.learning_rate == 1e-4 and c.train.epochs == 2 for c in bbc)
    assert all(c.train.limit_train == 99 and c.train.epochs == 1 for c in extra)
    assert cells[-2:] == extra  # includes come last
    dup = spec(include=[{"task": "drugs-sentiment"}]).expand()  # an include equal to a cell adds nothing
    assert len(dup) == 1


def test_only_filter():
    m = spec(imbalance=["none", "class_weight", "focal:gamma=2"], seeds=[0, 1, 2])
    cells = m.expand()
    ids = [hashlib.sha256(str(i).encode()).hexdigest()[:16] for i in range(len(cells))]
    pick = [cells[i] for i in select(cells, ids, only_filter("imbalance!=none seed=0|2"))]
    assert [(c.imbalance, c.seed) for c in pick] == [("class_weight", 0), ("class_weight", 2), ("focal", 0),
                                                      ("focal", 2)]
    assert select(cells, ids, only_filter("imbalance=focal:gamma=3")) == []
    assert select(cells, ids, only_filter(f"id={ids[4][:8]}")) == [4]
    with pytest.raises(ConfigError, match="did you mean 'seed'"):
        only_filter("sede=1")


@pytest.mark.parametrize("kw, message", [
    ({"tasks": []}, "tasks"),
    ({"train": {"learning_rat": 1}}, "did you mean 'learning_rate'"),
    ({"budget": {"batch_size": 4}}, "unknown training parameter 'batch_size'"),
    ({"train": {"epochs": 1}, "budget": {"epochs": 2}}, "both train and budget"),
    ({"exclude": [{"taks": "x"}]}, "did you mean 'task'"),
    ({"train": {"batch_size": 0}}, "batch_size must be >= 1"),
])
def test_bad_matrices(kw, message):
    with pytest.raises(Exception, match=message):
        spec(**kw).expand()


def test_load_matrix_errors(tmp_path):
    bad = write(tmp_path / "m.yaml", "tasks: [drugs-sentiment]\nmodels: [tiny-bert]\nseeds: [0]\nepoch: 2\n")
    with pytest.raises(ConfigError, match="m.yaml: unknown field 'epoch'"):
        load_matrix(bad)
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_matrix(write(tmp_path / "b.yaml", "tasks: [unclosed\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_matrix(tmp_path / "missing.yaml")


def test_shipped_matrices_expand():
    for name in ("default", "smoke", "gpu-large"):
        m = load_matrix(ROOT / "matrices" / f"{name}.yaml")
        assert m.expand(), name


def test_ten_thousand_cells_expand_deterministically():
    m = spec(tasks=["a", "b", "c", "d", "e"], models=["m1", "m2"], imbalance=[f"i{k}" for k in range(10)],
             context=[f"c{k}" for k in range(10)], seeds=list(range(10)))
    cells = m.expand()
    assert len(cells) == 10_000 and cells[0].task == "a" and cells[-1].seed == 9


def test_ids_stable_across_processes(tiny_cell):
    code = ("import json,sys; from bench.spec.cell import Cell; from bench.run.ids import cell_id; "
            "print(cell_id(Cell.from_dict(json.loads(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(tiny_cell.to_dict())], capture_output=True,
                         text=True, check=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == cell_id(tiny_cell)


def test_ids_sensitive_to_every_result_changing_parameter(tiny_cell):
    c = tiny_cell
    variants = [c, c.with_(task="bbc-news"), c.with_(model="minilm-l6"), c.with_(method="lora"),
                c.with_(method_params={"rank": 4}), c.with_(imbalance="focal"), c.with_(imbalance_params={"gamma": 1}),
                c.with_(context="tail"), c.with_(context_params={"head": 3}), c.with_(max_length=32),
                c.with_(seed=7), c.with_(adapt="mlm"), c.with_(adapt_params={"epochs": 1}),
                c.with_(train_domains=("a",)), c.with_(eval_domains=("b",))]
    base = TrainParams(epochs=1, batch_size=16, limit_train=48, limit_eval=30, latency_docs=4)
    for name, value in (("epochs", 2.0), ("learning_rate", 5e-5), ("batch_size", 8), ("warmup_ratio", 0.0),
                        ("weight_decay", 0.0), ("grad_accum", 2), ("early_stopping_patience", None),
                        ("limit_train", 50), ("limit_eval", 32)):
        variants.append(c.with_(train=TrainParams(**{**base.__dict__, name: value})))
    ids = [cell_id(v) for v in variants]
    assert len(set(ids)) == len(ids)


def test_ids_cover_the_task_data(csv_task):
    path = csv_task(balanced_rows(12), name="fp")
    cell = Cell(task=str(path), model="tiny-bert")
    before = cell_id(cell)
    assert cell_id(cell) == before
    csv = path.parent / "data.csv"
    csv.write_text(csv.read_text().replace("document number 3 about a", "document number 3 about a changed"))
    assert cell_id(cell) != before  # same task spec, different data: a new cell


def test_named_values_parse_by_declared_field_type():
    from bench.components import axis_types
    from bench.spec.named import parse_named

    types = axis_types()
    assert parse_named("dapt:corpus=data/01/notes.txt,steps=2", types["adapt"]) == \
        ("dapt", {"corpus": "data/01/notes.txt", "steps": 2})  # a path stays a path
    assert parse_named("focal:alpha=0.25/0.75,gamma=2", types["imbalance"]) == \
        ("focal", {"alpha": [0.25, 0.75], "gamma": 2})  # list fields split on "/"
    assert parse_named("focal:alpha=effective", types["imbalance"]) == ("focal", {"alpha": "effective"})
    assert parse_named("length_schedule:lengths=32/64,by=epoch", types["context"]) == \
        ("length_schedule", {"lengths": [32, 64], "by": "epoch"})
    assert parse_named("chunk:stride=null", types["context"]) == ("chunk", {"stride": None})
    cell = MatrixSpec(tasks=["bbc-news"], models=["tiny-bert"], adapt=["dapt:corpus=data/01/notes.txt"]).expand(types)[0]
    assert cell.adapt_params == {"corpus": "data/01/notes.txt"}


def test_train_params_read_yaml_number_strings(tmp_path):
    from bench.spec.matrix import load_matrix

    path = tmp_path / "m.yaml"
    path.write_text("tasks: [bbc-news]\nmodels: [tiny-bert]\ntrain: {learning_rate: 1e-4, epochs: 3}\n")
    cell = load_matrix(path).expand()[0]
    assert cell.train.learning_rate == 1e-4 and cell.train.epochs == 3
    assert isinstance(cell.to_dict()["train"]["epochs"], int)  # numbers keep the type they were written with
    with pytest.raises(ConfigError, match="training parameter learning_rate"):
        TrainParams(learning_rate="fast")
    with pytest.raises(ConfigError, match="unknown training parameter 'lr'"):
        TrainParams(lr=1)


def test_an_include_sets_its_own_domains():
    """One configuration trained on several source domains: an include per source (issue 17's transfer table)."""
    m = spec(methods=["full"], seeds=[0, 1], train_domains=["Pain"],
             include=[{"method": "probe", "train_domains": [src]} for src in ("Birth Control", "Acne")]
             + [{"method": "probe", "train_domains": ["Acne"], "eval_domains": ["Acne", "Pain"]}])
    cells = m.expand()
    got = [(c.method, c.train_domains, c.eval_domains, c.seed) for c in cells]
    assert got == [("full", ("Pain",), None, 0), ("full", ("Pain",), None, 1),
                   ("probe", ("Birth Control",), None, 0), ("probe", ("Birth Control",), None, 1),
                   ("probe", ("Acne",), None, 0), ("probe", ("Acne",), None, 1),
                   ("probe", ("Acne",), ("Acne", "Pain"), 0), ("probe", ("Acne",), ("Acne", "Pain"), 1)]
    assert len({cell_id(c) for c in cells}) == len(cells)
    with pytest.raises(ConfigError, match=r"include\[0\]: train_domains must be a non-empty list"):
        spec(include=[{"method": "probe", "train_domains": "Acne"}]).expand()


def test_speed_flags_apply_to_every_matrix_cell():
    """`bench run --matrix M --precision bf16 --group-by-length` sets both in every cell (overrides and
    includes too), so the cells get their own ids instead of silently repeating the defaults."""
    from bench.cli.run import with_speed_flags

    spec = MatrixSpec(tasks=["bbc-news"], models=["tiny-bert"], imbalance=["none"], context=["head"],
                      max_length=[64], seeds=[0], train={"precision": "fp32"},
                      overrides=[{"match": {"task": "bbc-news"}, "train": {"group_by_length": False}}],
                      include=[{"context": "tail", "train": {"precision": "fp32"}}])
    fast = with_speed_flags(spec, {"precision": "bf16", "group_by_length": True}).expand()
    assert len(fast) == 2
    assert all(c.train.precision == "bf16" and c.train.group_by_length for c in fast)
    assert {cell_id(c) for c in fast}.isdisjoint(cell_id(c) for c in spec.expand())
    assert with_speed_flags(spec, {}) is spec
