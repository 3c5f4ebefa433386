"""The environment a number was obtained in: versions, git state, hardware."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

PACKAGES = ("domainbench", "torch", "transformers", "datasets", "accelerate", "scikit-learn",
            "imbalanced-learn", "numpy", "pandas", "peft", "tokenizers")


@lru_cache(maxsize=1)
def git_state() -> dict:
    root = Path(__file__).resolve().parents[2]  # bench/record/manifest.py -> the repository

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}
    return {"sha": sha or None, "dirty": dirty if sha else None}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def package_versions() -> dict:
    """Installed versions of PACKAGES (read once per process: they do not change under a run)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return versions


def manifest() -> dict:
    import torch

    versions = dict(package_versions())
    gpu = None
    if torch.cuda.is_available():
        gpu = {"name": torch.cuda.get_device_name(0), "count": torch.cuda.device_count(),
               "cuda": torch.version.cuda}
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "git": git_state(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "env": {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")
                if k in os.environ},
    }
