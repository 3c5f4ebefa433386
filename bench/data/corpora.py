"""Unlabelled domain corpora for domain-adaptive pretraining (DAPT).

A corpus is named by a data-only YAML file in ``corpora/`` (or any path to such a file), or given
directly as a folder of ``.txt`` documents (one document per file) or a single ``.txt`` file
(one document per blank-line-separated paragraph). Corpus files point at

- ``{type: task, task: drugs-sentiment}``: every text of a task (all splits; labels unused), or
- ``{type: folder, path: docs/, pattern: "**/*.txt"}``: a folder relative to the YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bench.errors import ConfigError, DataError
from bench.registry import suggest
from bench.spec.yaml import load_yaml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskCorpus(_Strict):
    type: Literal["task"]
    task: str
    splits: list[Literal["train", "validation", "test"]] = ["train", "validation", "test"]


class FolderCorpus(_Strict):
    type: Literal["folder"]
    path: str
    pattern: str = "**/*.txt"


class CorpusSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    license: str
    source: Annotated[TaskCorpus | FolderCorpus, Field(discriminator="type")]
    path: str | None = Field(None, exclude=True)


def corpora_dir() -> Path:
    from bench.spec.task import repo_dir

    return repo_dir("corpora", "BENCH_CORPORA_DIR")


def all_corpora() -> dict[str, Path]:
    folder = corpora_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def load_corpus_file(path: Path) -> CorpusSpec:
    return load_yaml_model(path, "corpus", CorpusSpec)


def corpus_texts(ref: str) -> tuple[list[str], str]:
    """The documents of a corpus reference and a short description of where they came from."""
    path = Path(ref)
    if path.is_dir():
        return _folder_texts(path, "**/*.txt"), f"folder {path}"
    if path.is_file() and path.suffix == ".txt":
        paras = [p.strip() for p in path.read_text(encoding="utf-8", errors="replace").split("\n\n")]
        return _nonempty(paras, ref), f"file {path}"
    if path.is_file() and path.suffix in {".yaml", ".yml"}:
        spec = load_corpus_file(path)
    else:
        known = all_corpora()
        if ref not in known:
            raise ConfigError(f"adaptation corpus {ref!r} is neither a corpus name, a .txt file nor a folder"
                              f"{suggest(ref, known)}")
        spec = load_corpus_file(known[ref])
    src = spec.source
    if isinstance(src, FolderCorpus):
        folder = Path(src.path)
        if not folder.is_absolute():
            folder = Path(spec.path or ".").parent / folder
        return _folder_texts(folder, src.pattern), f"corpus {spec.name} (folder {folder})"
    from bench.data.prepare import load_task_data
    from bench.spec.task import get_task

    data = load_task_data(get_task(src.task))
    texts = [t for s in src.splits for t in data.splits[s].texts]
    return _nonempty(texts, ref), f"corpus {spec.name} (task {src.task}: {', '.join(src.splits)})"


def _folder_texts(folder: Path, pattern: str) -> list[str]:
    if not folder.is_dir():
        raise DataError(f"adaptation corpus folder {folder} does not exist")
    files = sorted(p for p in folder.glob(pattern) if p.is_file())
    return _nonempty([p.read_text(encoding="utf-8", errors="replace").strip() for p in files], str(folder))


def _nonempty(texts: list[str], where: str) -> list[str]:
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError(f"adaptation corpus {where} holds no non-empty documents")
    return texts
