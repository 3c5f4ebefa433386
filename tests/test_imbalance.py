"""Imbalance strategies: one contract test over every registered strategy, then a test per claim
(exact counts, weight formulas, focal = CE at gamma 0, balanced sampler, ensemble = member mean,
logit adjustment, evaluation splits untouched, bad parameters -> one line, exit 2)."""

import hashlib
import json

import numpy as np
import pytest

from bench.components.imbalance import IMBALANCE, Resampling, class_weights
from bench.errors import ConfigError, DataError
from bench.metrics import classification_metrics, softmax
from bench.run.ids import plan_cell
from bench.run.worker import cell_data, run_cell
from bench.spec.cell import TrainParams
from bench.spec.named import build
from tests.test_cli import _bad

LABELS = np.repeat([0, 1, 2], [54, 18, 128])  # drugs-sentiment's shape at 200 rows
SUMMARY_KEYS = {"counts_before", "counts_after", "expected_counts_per_epoch", "class_weights",
                "effective_class_weights", "weighted_sampler"}


def plan(spec: str, labels=LABELS, seed: int = 0) -> Resampling:
    from bench.spec.named import parse_named

    name, params = parse_named(spec)
    return build(IMBALANCE, name, params).fit_resample(labels, int(labels.max()) + 1, seed)


def test_every_issue_strategy_is_registered():
    assert set(IMBALANCE.names()) >= {"none", "class_weight", "focal", "oversample", "undersample", "resample",
                                      "balanced_sampler", "ensemble", "logit_adjust"}


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_contract(name):
    strategy = build(IMBALANCE, name)
    assert strategy.summary and json.dumps(strategy.params())
    labels = LABELS.copy()
    p = strategy.fit_resample(labels, 3, seed=7)
    assert (labels == LABELS).all()  # the split's labels are not touched
    assert p.counts_before == [54, 18, 128]
    assert p.counts_after == np.bincount(LABELS[p.indices], minlength=3).tolist()
    assert p.indices.min() >= 0 and p.indices.max() < len(LABELS)
    s = p.record_section()
    assert SUMMARY_KEYS <= set(s) and json.dumps(s)
    assert sum(p.expected_counts) == pytest.approx(len(p.indices))
    eff = np.asarray(s["effective_class_weights"])
    assert (eff > 0).all() and (eff * p.counts_before).sum() == pytest.approx(len(LABELS), rel=1e-5)
    again = strategy.fit_resample(LABELS, 3, seed=7)  # same seed, same plan
    assert (again.indices == p.indices).all() and again.record_section() == s
    assert strategy.n_members() >= 1
    one_class = np.zeros(10, dtype=np.int64)
    if strategy.needs_two_classes:
        with pytest.raises(DataError, match="needs at least two classes"):
            strategy.fit_resample(one_class, 3, seed=0)
    else:
        assert strategy.fit_resample(one_class, 3, seed=0).counts_after == [10, 0, 0]


def _eval_digest(data) -> str:
    h = hashlib.sha256()
    for name in ("validation", "test"):
        s = data.splits[name]
        h.update(json.dumps([s.ids, s.texts, s.labels.tolist(), s.domains]).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def classical_records():
    """Every strategy end to end through run_cell with tfidf-logreg (fast), eval splits hashed before."""
    from bench.spec.cell import Cell

    cell = Cell(task="drugs-sentiment", model="tfidf-logreg", context="full", train=TrainParams(limit_train=160))
    before = _eval_digest(cell_data(cell))
    # every strategy the classical fit honours (focal is refused for it: tests/test_capabilities.py)
    specs = {n: {} for n in IMBALANCE.names() if n != "focal"} | {"ensemble": {"k": 2}}
    records = {n: run_cell(plan_cell(cell.with_(imbalance=n, imbalance_params=p))) for n, p in specs.items()}
    return before, _eval_digest(cell_data(cell)), records


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_every_strategy_end_to_end_leaves_evaluation_untouched(classical_records, name):
    before, after, records = classical_records
    assert before == after
    if name not in records:
        pytest.skip(f"{name} is refused for tfidf-logreg (tests/test_capabilities.py)")
    rec, ref = records[name], records["none"]
    assert rec["status"] == "ok"
    assert rec["predictions"]["ids"] == ref["predictions"]["ids"]
    assert rec["predictions"]["labels"] == ref["predictions"]["labels"]
    assert rec["task"]["fingerprint"] == ref["task"]["fingerprint"]
    imb = rec["imbalance"]
    assert imb["strategy"] == name and imb["params"] == build(IMBALANCE, name, rec["cell"]["imbalance_params"]).params()
    assert SUMMARY_KEYS <= set(imb) and imb["counts_before"] == rec["task"]["class_counts"]["train"]
    for key in ("macro_f1", "balanced_accuracy", "minority_recall", "pr_auc"):
        assert 0 <= rec["metrics"][key] <= 1
    assert rec["task"]["minority_class"] == "neutral" and "recall" in rec["per_class"]["neutral"]


def test_resampling_strategies_differ_from_none(classical_records):
    _, _, records = classical_records
    assert records["oversample"]["imbalance"]["counts_after"] == [103, 103, 103]
    assert records["undersample"]["imbalance"]["counts_after"] == [14, 14, 14]
    assert records["none"]["metrics"] != records["class_weight"]["metrics"]


# --- exact counts -------------------------------------------------------------------------------

def test_oversample_counts_equal_the_target():
    assert plan("oversample").counts_after == [128, 128, 128]
    assert plan("oversample:sampling_strategy=0.5").counts_after == [64, 64, 128]
    assert plan("oversample:sampling_strategy=minority").counts_after == [54, 128, 128]
    assert plan("oversample:sampling_strategy=not majority").counts_after == [128, 128, 128]
    p = plan("oversample")
    assert set(p.indices.tolist()) == set(range(len(LABELS)))  # every original row kept


def test_undersample_counts_equal_the_target():
    p = plan("undersample")
    assert p.counts_after == [18, 18, 18] and len(set(p.indices.tolist())) == 54  # no repeats
    assert plan("undersample:sampling_strategy=0.5").counts_after == [36, 18, 36]
    assert plan("undersample:sampling_strategy=majority").counts_after == [54, 18, 18]


@pytest.mark.parametrize("ratio", [0.3, 0.5, 1.0])
def test_float_ratio_matches_imbalanced_learn_on_two_classes(ratio):
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    y = np.repeat([0, 1], [90, 20])
    x = np.arange(len(y)).reshape(-1, 1)
    for spec, sampler in ((f"oversample:sampling_strategy={ratio}", RandomOverSampler(sampling_strategy=ratio)),
                          (f"undersample:sampling_strategy={ratio}", RandomUnderSampler(sampling_strategy=ratio))):
        assert plan(spec, y).counts_after == np.bincount(sampler.fit_resample(x, y)[1]).tolist(), spec


def test_resample_reaches_a_target_distribution_exactly():
    assert plan("resample").counts_after == [67, 67, 66]  # uniform, same size (200)
    p = plan("resample:distribution=1/2/1,size=100")
    assert p.counts_after == [25, 50, 25] and p.info["target_counts"] == [25, 50, 25]
    assert plan("resample:distribution=0.2/0.3/0.5,size=301").counts_after == [60, 90, 151]


def test_row_cap_is_enforced():
    with pytest.raises(ConfigError, match="384 rows, above max_rows=300"):
        plan("oversample:max_rows=300")
    with pytest.raises(ConfigError, match="above max_rows"):
        plan("resample:size=5000,max_rows=1000")
    assert len(plan("oversample:max_rows=384").indices) == 384


def test_per_class_lists_must_match_the_classes():
    with pytest.raises(ConfigError, match="alpha has 2 entries but the task has 3 classes"):
        plan("focal:alpha=1/2")
    with pytest.raises(ConfigError, match="distribution has 4 entries"):
        plan("resample:distribution=1/1/1/1")


# --- weights ------------------------------------------------------------------------------------

def test_class_weight_formulas():
    from sklearn.utils.class_weight import compute_class_weight

    n = np.bincount(LABELS).astype(float)
    inv = plan("class_weight").class_weights
    assert np.allclose(inv, compute_class_weight("balanced", classes=np.arange(3), y=LABELS))
    sqrt = plan("class_weight:scheme=sqrt").class_weights
    assert np.allclose(sqrt, n.sum() / (n * n**-0.5).sum() * n**-0.5)
    beta = 0.99
    eff = plan(f"class_weight:scheme=effective,beta={beta}").class_weights
    raw = (1 - beta) / (1 - beta**n)  # inverse effective number (Cui et al. 2019)
    assert np.allclose(eff, raw * n.sum() / (n * raw).sum())
    assert np.allclose(class_weights(n, "effective", beta=0.0), 1.0)  # beta=0: uniform
    assert np.allclose(class_weights(n, "effective", beta=1 - 1e-12), inv, rtol=1e-3)  # beta->1: inverse
    assert class_weights([5, 0, 15], "inverse").tolist() == [2.0, 0.0, 2 / 3]  # an empty class gets 0


def test_balanced_sampler_weights_and_expected_counts():
    p = plan("balanced_sampler")
    assert p.counts_after == p.counts_before and len(p.indices) == len(LABELS)  # nothing copied
    assert np.allclose(p.sample_weights, len(LABELS) / (3 * np.bincount(LABELS)[LABELS]))
    assert np.allclose(p.expected_counts, [200 / 3] * 3)
    half = plan("balanced_sampler:power=0.5")
    assert np.allclose(half.sample_weights / half.sample_weights[0], np.sqrt(54 / np.bincount(LABELS)[LABELS]))


# --- focal --------------------------------------------------------------------------------------

def test_focal_gamma_zero_is_cross_entropy():
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(64, 3, generator=g) * 3, torch.randint(0, 3, (64,), generator=g)
    y = labels.numpy()
    p = build(IMBALANCE, "focal", {"gamma": 0}).fit_resample(y, 3, 0)
    assert torch.allclose(build(IMBALANCE, "focal", {"gamma": 0}).loss(logits, labels, p), F.cross_entropy(logits, labels))
    w = [0.5, 2.0, 1.0]
    focal = build(IMBALANCE, "focal", {"gamma": 0, "alpha": w})
    assert torch.allclose(focal.loss(logits, labels, focal.fit_resample(y, 3, 0)),
                          F.cross_entropy(logits, labels, weight=torch.tensor(w)))
    focal2 = build(IMBALANCE, "focal", {"gamma": 2})
    pt = torch.softmax(logits, -1)[torch.arange(64), labels]
    assert torch.allclose(focal2.loss(logits, labels, p), (-(1 - pt) ** 2 * pt.log()).mean(), atol=1e-6)
    assert focal2.loss(logits, labels, p) < F.cross_entropy(logits, labels)  # easy examples down-weighted


# --- sampler through the real Trainer dataloader -------------------------------------------------

def test_balanced_sampler_batches_are_balanced(tmp_path):
    """Chi-square over many draws from BenchTrainer's own dataloader, at a fixed seed."""
    from scipy.stats import chisquare
    from transformers import DataCollatorWithPadding, TrainingArguments

    from bench.components.context import Windows
    from bench.components.models import get_model
    from bench.fit.loading import load_classifier, load_tokenizer
    from bench.fit.trainer import WindowDataset, trainer_class

    spec = get_model("tiny-bert")
    tok = load_tokenizer(spec)
    model = load_classifier(spec, ["a", "b", "c"], len(tok))
    windows = Windows([[101, 7 + i % 50, 102] for i in range(len(LABELS))], np.arange(len(LABELS)), len(LABELS), 0, 0)

    def draws(strategy: str) -> np.ndarray:
        p = plan(strategy)
        args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=16, use_cpu=True, seed=3,
                                 report_to="none", remove_unused_columns=False)
        trainer = trainer_class()(model=model, args=args, train_dataset=WindowDataset(windows, LABELS[p.indices]),
                                   data_collator=DataCollatorWithPadding(tok), strategy=build(IMBALANCE, "none"),
                                   resampling=p)
        dl = trainer.get_train_dataloader()
        return np.concatenate([b["labels"].numpy() for _ in range(15) for b in dl])  # 15 epochs = 3000 labels

    seen = np.bincount(draws("balanced_sampler"), minlength=3)
    assert seen.sum() == 3000
    assert chisquare(seen).pvalue > 0.01  # consistent with uniform over classes
    natural = np.bincount(draws("none"), minlength=3)
    assert chisquare(natural).pvalue < 1e-6  # the same test does reject the unbalanced loader
    assert seen[1] > 3 * natural[1]


# --- ensemble -----------------------------------------------------------------------------------

def test_ensemble_members_are_different_balanced_subsets():
    e = build(IMBALANCE, "ensemble", {"k": 3})
    assert e.n_members() == 3
    plans = [e.fit_resample(LABELS, 3, seed) for seed in (0, 1, 2)]
    assert all(p.counts_after == [18, 18, 18] for p in plans)
    assert len({tuple(sorted(p.indices.tolist())) for p in plans}) == 3


def test_ensemble_probabilities_are_the_member_mean(tiny_cell):
    from bench.components.context import CONTEXT
    from bench.components.methods import METHODS
    from bench.components.models import get_model
    from bench.fit.base import FitJob, fitter_for

    strategy = build(IMBALANCE, "ensemble", {"k": 2})
    data = cell_data(tiny_cell)
    job = FitJob(tiny_cell, data, get_model("tiny-bert"), strategy, build(CONTEXT, "head"), build(METHODS, "full"),
                 precision="fp32")
    fit = fitter_for(job.model, job.method)(job)
    member_proba = [softmax(lg) for lg in fit.member_test_logits]
    assert len(member_proba) == 2 and not np.allclose(member_proba[0], member_proba[1])
    assert np.allclose(softmax(fit.test_logits), np.mean(member_proba, axis=0), atol=1e-10)
    assert [m["seed"] for m in fit.members] == [0, 1]
    assert fit.members[0]["plan"]["counts_after"] == [4, 4, 4]
    test = data.splits["test"]
    for m, proba in zip(fit.members, member_proba, strict=True):
        assert m["test_metrics"] == classification_metrics(test.labels, proba, data.label_names)
    assert fit.timing["train_samples"] == sum(12 * m["epochs_run"] for m in fit.members)


def test_ensemble_record_holds_each_member(classical_records):
    rec = classical_records[2]["ensemble"]
    assert [m["member"] for m in rec["members"]] == [0, 1]
    assert all("macro_f1" in m["test_metrics"] for m in rec["members"])
    assert rec["timing"]["train_samples"] == sum(sum(m["plan"]["counts_after"]) for m in rec["members"])


# --- logit adjustment ---------------------------------------------------------------------------

def test_logit_adjust_tunes_tau_on_validation():
    rng = np.random.default_rng(0)
    counts = [900, 100]
    log_prior = np.log(np.array(counts) / 1000)
    y = rng.integers(0, 2, 400)
    logits = np.eye(2)[y] * 1.0 + log_prior + rng.normal(0, 0.5, (400, 2))  # a prior-biased scorer
    la = build(IMBALANCE, "logit_adjust")
    adj, info = la.adjust(logits[:200], y[:200], logits[200:], counts)
    assert info["tau"] > 0 and np.allclose(adj, logits[200:] - info["tau"] * log_prior)
    scores = info["validation_macro_f1_by_tau"]
    assert scores[str(info["tau"])] == max(scores.values()) > scores["0.0"]
    fixed, finfo = build(IMBALANCE, "logit_adjust", {"tau": 1.0}).adjust(logits, y, logits, counts)
    assert np.allclose(fixed, logits - log_prior) and finfo["tau"] == 1.0
    tie = build(IMBALANCE, "logit_adjust", {"taus": [0, 1, 3]}).adjust(np.zeros((4, 2)), np.array([0, 1, 0, 1]),
                                                                       np.zeros((1, 2)), [5, 5])
    assert tie[1]["tau"] == 1  # equal scores: the tau nearest 1
    assert build(IMBALANCE, "none").adjust(logits, y, logits, counts) == (logits, {})


def test_logit_adjust_record_states_tau(classical_records):
    adj = classical_records[2]["logit_adjust"]["imbalance"]["adjustment"]
    assert adj["tau"] in build(IMBALANCE, "logit_adjust").taus and len(adj["log_prior"]) == 3


# --- long-tailed task variants ------------------------------------------------------------------

def test_long_tailed_variants_keep_evaluation_and_are_deterministic():
    from bench.data.prepare import _load_cached, load_task_data
    from bench.spec.task import get_task

    base = load_task_data(get_task("bbc-news"))
    for name, ratio in (("bbc-news-lt10", 10), ("bbc-news-lt50", 50)):
        lt = load_task_data(get_task(name))
        assert _eval_digest(lt) == _eval_digest(base)
        counts = lt.splits["train"].counts(5)
        assert counts == sorted(counts, reverse=True) and max(counts) / min(counts) == pytest.approx(ratio, rel=0.05)
        _load_cached.cache_clear()
        assert load_task_data(get_task(name)).splits["train"].ids == lt.splits["train"].ids


# --- bad input through the CLI ------------------------------------------------------------------

@pytest.mark.parametrize(
    "imbalance, message",
    [
        ("focl", "did you mean 'focal'"),
        ("focal:gamma=-1", "gamma: Input should be greater than or equal to 0"),
        ("oversample:sampling_strategy=0", "a ratio must be in (0, 1]"),
        ("undersample:sampling_strategy=-0.5", "a ratio must be in (0, 1]"),
        ("oversample:sampling_strategy=most", "one of: auto, minority"),
        ("ensemble:k=1", "parameter k: Input should be greater than or equal to 2"),
        ("class_weight:scheme=cubic", "scheme: Input should be 'inverse', 'sqrt' or 'effective'"),
        ("class_weight:beta=1", "beta: Input should be less than 1"),
        ("focal:alpha=huge", "alpha: Value error, must be a per-class list"),
        ("resample:size=0", "size: Input should be greater than or equal to 2"),
        ("balanced_sampler:power=2", "power: Input should be less than or equal to 1"),
        ("logit_adjust:taus=1/-1", "taus must be >= 0"),
        ("none:x=1", "parameter x: Extra inputs are not permitted"),
        # errors found once the data is known (after loading, before anything is written)
        ("oversample:max_rows=100", "above max_rows=100"),
        ("resample:distribution=1/2", "distribution has 2 entries but the task has 3 classes"),
    ],
)
def test_bad_imbalance_params_one_line_exit_2(capsys, tmp_path, imbalance, message):
    _bad(capsys, tmp_path, ["run", "--task", "drugs-sentiment", "--model", "tfidf-logreg", "--limit-train", "60",
                            "--imbalance", imbalance], message)


def test_results_table_over_strategies(classical_records, tmp_path, capsys):
    from bench.record.io import write_record
    from bench.report.imbalance_table import main, strategy_table

    records = classical_records[2]
    for rec in records.values():
        write_record(tmp_path, rec)
        write_record(tmp_path, {**rec, "cell_id": rec["cell_id"] + "s1", "cell": {**rec["cell"], "seed": 1},
                               "metrics": {**rec["metrics"], "macro_f1": rec["metrics"]["macro_f1"] + 0.1}})
    table = strategy_table(str(tmp_path))
    assert table["imbalance"].tolist()[0] == "none" and len(table) == len(records)
    row = table[table["imbalance"] == "oversample"].iloc[0]
    assert row["seeds"] == 2
    assert row["macro-F1 mean"] == pytest.approx(records["oversample"]["metrics"]["macro_f1"] + 0.05)
    assert row["macro-F1 std"] == pytest.approx(0.1 / np.sqrt(2))
    assert main([str(tmp_path)]) == 0 and "ensemble:k=2" in capsys.readouterr().out
    assert main([str(tmp_path), "--task", "nope"]) == 2
