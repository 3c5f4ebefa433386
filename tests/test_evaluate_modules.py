"""DomainBench's own Hugging Face `evaluate` modules (metrics/mcc, metrics/brier), loaded for real.

Every module is loaded with the real `evaluate.load` from its folder, offline, and cross-checked against
scikit-learn (`matthews_corrcoef`, multi-class `brier_score_loss` where the installed version has it) and
against an independent numpy computation.

`evaluate` 0.4.x reads its own `HF_EVALUATE_OFFLINE`, not `HF_HUB_OFFLINE`: both are set here, before
`evaluate` is imported (it reads them at import time); `test_hub_offline_alone_still_reaches_for_network`
documents why bench must set both.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"

import inspect  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import evaluate  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import brier_score_loss, matthews_corrcoef  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = REPO / "metrics"
HUB_NAME = "some-hub-name-that-does-not-exist-locally"

# scikit-learn >= 1.7 computes the multi-class Brier score (2-D probabilities, `labels=`, `scale_by_half=`).
SKLEARN_MULTICLASS_BRIER = "scale_by_half" in inspect.signature(brier_score_loss).parameters


@pytest.fixture(autouse=True)
def _evaluate_offline(monkeypatch):
    # In a full pytest session another module may have imported evaluate before the variables above
    # were set; evaluate reads its switch through `evaluate.config` at call time, so pin it here too.
    monkeypatch.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", True)


@pytest.fixture
def network_attempts(monkeypatch):
    """Record (and refuse at once) every DNS lookup or socket connect made during the test."""
    attempts = []

    def refuse_lookup(host, port, *args, **kwargs):
        attempts.append(("dns", host, port))
        raise socket.gaierror(socket.EAI_NONAME, f"network disabled in test ({host})")

    def refuse_connect(self, address):
        attempts.append(("connect", address))
        raise OSError("network disabled in test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    return attempts


def _tree(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


# keep_in_memory: no arrow cache file and file lock per compute. A file-backed instance whose _compute
# raised keeps its lock and waits 1 s on the next compute (evaluate 0.4.6); see
# test_file_backed_instance_recovers_after_rejected_input.
@pytest.fixture(scope="module")
def mcc():
    return evaluate.load(str(METRICS / "mcc"), keep_in_memory=True)


@pytest.fixture(scope="module")
def brier():
    return evaluate.load(str(METRICS / "brier"), keep_in_memory=True)


def brier_reference(labels, probs) -> float:
    """Independent Brier computation: sum_k (p_k - y_k)^2 = sum_k p_k^2 - 2 p_y + 1, per sample."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    return float(np.mean(np.einsum("ij,ij->i", probs, probs) - 2.0 * probs[np.arange(len(labels)), labels] + 1.0))


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    n = int(rng.integers(20, 300))
    labels = rng.integers(0, k, size=n)
    probs = rng.dirichlet(np.full(k, 0.7), size=n)
    # make predictions correlated with the labels so MCC is not always near 0
    probs[np.arange(n), labels] += rng.uniform(0, 1.5, size=n)
    probs /= probs.sum(axis=1, keepdims=True)
    return k, labels, probs


# --------------------------------------------------------------------------- loading


def test_modules_load_offline_by_absolute_path_without_network(network_attempts):
    for name in ("mcc", "brier"):
        module = evaluate.load(str(METRICS / name))
        assert isinstance(module, evaluate.Metric)
        assert module.name == name
        assert "predictions" in module.features or "prediction_scores" in module.features
        assert module.description.strip() and module.citation.strip()
    assert network_attempts == []


def test_modules_load_by_relative_path_from_repo_root(monkeypatch, network_attempts):
    monkeypatch.chdir(REPO)
    assert evaluate.load("metrics/mcc").compute(references=[0, 1], predictions=[0, 1]) == {"mcc": 1.0}
    brier = evaluate.load("metrics/brier/brier.py")
    assert brier.compute(references=[1], prediction_scores=[[0.0, 1.0]]) == {"brier": 0.0}
    assert network_attempts == []


def test_loading_and_computing_writes_nothing_into_the_repo(monkeypatch, tmp_path):
    before = _tree(METRICS)
    monkeypatch.chdir(tmp_path)
    for name in ("mcc", "brier"):
        evaluate.load(str(METRICS / name))
    evaluate.load(str(METRICS / "mcc")).compute(references=[0, 1, 1], predictions=[0, 1, 0])
    evaluate.load(str(METRICS / "brier")).compute(references=[0], prediction_scores=[[0.6, 0.4]])
    assert _tree(METRICS) == before  # no __pycache__, lock or arrow files next to the scripts
    assert list(tmp_path.iterdir()) == []


def test_every_module_has_a_card():
    for name in ("mcc", "brier"):
        card = (METRICS / name / "README.md").read_text(encoding="utf-8")
        header = card.split("---")[1]
        for key in ("title:", "tags:", "description:"):
            assert key in header, (name, key)
        for section in ("Metric Description", "How to Use", "Inputs", "Output Values", "Examples",
                        "Limitations", "Citation"):
            assert f"## {section}" in card or f"### {section}" in card, (name, section)


# --------------------------------------------------------------------------- a Hub name offline


def test_hub_name_offline_fails_fast_without_network(network_attempts):
    for name in (HUB_NAME, "some-user/some-metric"):
        start = time.perf_counter()
        with pytest.raises(FileNotFoundError) as err:
            evaluate.load(name)
        elapsed = time.perf_counter() - start
        assert elapsed < 10, f"evaluate.load({name!r}) took {elapsed:.1f}s offline"
        message = str(err.value)
        assert f"Module '{name}' doesn't exist on the Hugging Face Hub either" in message
        assert message.startswith("Couldn't find a module script at ")
    assert network_attempts == []


def test_hub_offline_alone_still_reaches_for_network(monkeypatch, network_attempts):
    """evaluate 0.4 ignores HF_HUB_OFFLINE: without HF_EVALUATE_OFFLINE it tries huggingface.co (time-outs
    of 10 s and 100 s per request on a network that drops packets). bench must set HF_EVALUATE_OFFLINE."""
    monkeypatch.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", False)
    with pytest.raises(FileNotFoundError):
        evaluate.load(HUB_NAME)
    if not network_attempts:
        pytest.skip("this evaluate no longer reaches for the network with only HF_HUB_OFFLINE=1")
    assert any("huggingface.co" in str(a) for a in network_attempts), network_attempts


# --------------------------------------------------------------------------- mcc


@pytest.mark.parametrize("seed", range(8))
def test_mcc_matches_sklearn_on_random_inputs(mcc, seed):
    k, labels, probs = random_case(seed)
    preds = probs.argmax(axis=1)
    got = mcc.compute(references=labels.tolist(), predictions=preds.tolist())
    assert set(got) == {"mcc"} and isinstance(got["mcc"], float)
    assert got["mcc"] == pytest.approx(matthews_corrcoef(labels, preds), abs=1e-12)
    weights = np.random.default_rng(seed).uniform(0.1, 2.0, size=len(labels))
    got_w = mcc.compute(references=labels.tolist(), predictions=preds.tolist(), sample_weight=weights.tolist())
    assert got_w["mcc"] == pytest.approx(matthews_corrcoef(labels, preds, sample_weight=weights), abs=1e-12)


def test_mcc_edge_cases(mcc):
    assert mcc.compute(references=[2, 0, 1, 1], predictions=[2, 0, 1, 1]) == {"mcc": 1.0}
    assert mcc.compute(references=[0, 1, 0, 1], predictions=[1, 0, 1, 0]) == {"mcc": -1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some sklearn versions warn on a zero denominator
        assert mcc.compute(references=[0, 1, 2, 0], predictions=[1, 1, 1, 1]) == {"mcc": 0.0}
        assert mcc.compute(references=[1, 1, 1], predictions=[0, 1, 2]) == {"mcc": 0.0}
    # non-contiguous labels are fine
    assert mcc.compute(references=[3, 7, 7], predictions=[3, 7, 7]) == {"mcc": 1.0}


def test_mcc_three_class_by_hand(mcc):
    # C = [[1,1,0],[0,2,0],[1,0,1]]: c=4, s=6, t=[2,2,2], p=[2,3,1]
    # MCC = (4*6 - (4+6+2)) / sqrt((36 - 14) * (36 - 12)) = 12 / sqrt(528) = 3 / sqrt(33)
    got = mcc.compute(references=[0, 0, 1, 1, 2, 2], predictions=[0, 1, 1, 1, 2, 0])
    assert got["mcc"] == pytest.approx(3 / np.sqrt(33), abs=1e-12)


def test_mcc_batches_accumulate(mcc):
    k, labels, probs = random_case(99)
    preds = probs.argmax(axis=1)
    half = len(labels) // 2
    mcc.add_batch(references=labels[:half].tolist(), predictions=preds[:half].tolist())
    mcc.add_batch(references=labels[half:].tolist(), predictions=preds[half:].tolist())
    assert mcc.compute()["mcc"] == pytest.approx(matthews_corrcoef(labels, preds), abs=1e-12)


# --------------------------------------------------------------------------- brier


@pytest.mark.parametrize("seed", range(8))
def test_brier_matches_numpy_and_sklearn_on_random_inputs(brier, seed):
    k, labels, probs = random_case(seed)
    got = brier.compute(references=labels.tolist(), prediction_scores=probs.tolist())
    assert set(got) == {"brier"} and isinstance(got["brier"], float)
    assert got["brier"] == pytest.approx(brier_reference(labels, probs), abs=1e-12)
    assert 0.0 <= got["brier"] <= 2.0
    if SKLEARN_MULTICLASS_BRIER:
        expected = brier_score_loss(labels, probs, labels=list(range(k)), scale_by_half=False)
        assert got["brier"] == pytest.approx(expected, abs=1e-12)


def test_brier_two_classes_is_twice_sklearn_binary(brier):
    labels = np.array([0, 1, 1, 0, 1])
    p1 = np.array([0.2, 0.7, 0.4, 0.1, 0.9])
    got = brier.compute(references=labels.tolist(), prediction_scores=np.column_stack([1 - p1, p1]).tolist())
    assert got["brier"] == pytest.approx(2 * brier_score_loss(labels, p1), abs=1e-12)


def test_brier_edge_cases(brier):
    assert brier.compute(references=[0, 2, 1], prediction_scores=np.eye(3)[[0, 2, 1]].tolist()) == {"brier": 0.0}
    assert brier.compute(references=[0, 2, 1], prediction_scores=np.eye(3)[[1, 0, 2]].tolist()) == {"brier": 2.0}
    for k in (2, 3, 7):
        uniform = np.full((4, k), 1 / k).tolist()
        assert brier.compute(references=[0, 1, 0, 1], prediction_scores=uniform)["brier"] == pytest.approx(1 - 1 / k)
    # by hand: (0.3^2 + 0.2^2 + 0.1^2 + 0.1^2 + 0.3^2 + 0.4^2) / 2 = (0.14 + 0.26) / 2
    got = brier.compute(references=[0, 2], prediction_scores=[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    assert got["brier"] == pytest.approx(0.2, abs=1e-12)
    # a class absent from the references, declared with num_classes
    got = brier.compute(references=[0, 0], prediction_scores=[[0.5, 0.25, 0.25], [1.0, 0.0, 0.0]], num_classes=3)
    assert got["brier"] == pytest.approx((0.25 + 0.0625 + 0.0625) / 2)
    # float32 softmax rows (sum off by ~1e-7) are accepted
    logits = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.arange(50) % 4
    assert brier.compute(references=labels.tolist(), prediction_scores=soft.tolist())["brier"] == pytest.approx(
        brier_reference(labels, soft.astype(np.float64)), abs=1e-9
    )


def test_brier_batches_accumulate(brier):
    k, labels, probs = random_case(7)
    half = len(labels) // 2
    brier.add_batch(references=labels[:half].tolist(), prediction_scores=probs[:half].tolist())
    brier.add_batch(references=labels[half:].tolist(), prediction_scores=probs[half:].tolist())
    assert brier.compute()["brier"] == pytest.approx(brier_reference(labels, probs), abs=1e-12)


@pytest.mark.parametrize(
    "references, scores, kwargs, message",
    [
        ([0, 1], [[0.5, 0.4], [0.1, 0.9]], {}, r"must sum to 1 .*row 0 sums to 0\.9 \(1 of 2 rows"),
        ([0, 1], [[0.6, 0.6], [0.5, 0.6]], {}, r"must sum to 1 .*row 0 sums to 1\.2 \(2 of 2 rows"),
        ([0, 1], [[0.3, 0.2, 0.1], [0.2, 0.3, 0.5]], {}, r"must sum to 1 .*not logits"),
        ([0, 1], [[2.0, -1.0], [0.5, 0.5]], {}, r"probabilities in \[0, 1\]; row 0"),
        ([0, 1], [[0.5, float("nan")], [0.5, 0.5]], {}, r"NaN or infinite"),
        ([0, 1], [[0.5, 0.5], [0.2, 0.3, 0.5]], {}, r"different lengths \[2, 3\]"),
        ([0, 1], [[0.5, 0.5], [0.5, 0.5]], {"num_classes": 3}, r"num_classes=3 but .* 2 entries"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], {}, r"class indices in \[0, 2\); reference 1 is 2"),
        ([0], [[1.0]], {}, r"at least 2 classes"),
        ([], [], {}, r"no samples"),
    ],
)
def test_brier_rejects_invalid_inputs(brier, references, scores, kwargs, message):
    with pytest.raises(ValueError, match=message):
        brier.compute(references=references, prediction_scores=scores, **kwargs)


def test_file_backed_instance_recovers_after_rejected_input():
    brier = evaluate.load(str(METRICS / "brier"))  # default: file-backed, as most users load it
    with pytest.raises(ValueError, match="must sum to 1"):
        brier.compute(references=[0], prediction_scores=[[0.5, 0.4]])
    assert brier.compute(references=[0, 1], prediction_scores=[[0.5, 0.5], [0.0, 1.0]]) == {"brier": 0.25}


def test_brier_sum_tolerance_is_adjustable(brier):
    rows = [[0.33, 0.33, 0.33]]  # sums to 0.99, e.g. probabilities rounded to two decimals
    with pytest.raises(ValueError, match="must sum to 1"):
        brier.compute(references=[0], prediction_scores=rows)
    got = brier.compute(references=[0], prediction_scores=rows, sum_tolerance=0.02)
    assert got["brier"] == pytest.approx(0.67**2 + 2 * 0.33**2)
