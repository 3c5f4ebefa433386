"""Process hygiene (issue 15, part 3): file modes from the umask, unloadable models refused
at validation, interrupts (see test_interrupts.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from bench.store import write_atomic, write_json_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writer_gives_the_umask_mode(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        rec = write_json_atomic(tmp_path / "records" / "a.json", {"x": 1})
        raw = write_atomic(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    assert _mode(rec) == expected
    assert _mode(raw) == expected
    assert not [p for p in tmp_path.rglob(".*.tmp")]  # no temp file left


def test_record_baseline_and_report_modes_through_the_cli(tmp_path):
    """A real record, baseline and report written by the CLI under umask 022 are 0644."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    script = ("import os, sys; os.umask(0o022); from bench.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    run = [sys.executable, "-c", script]
    out = tmp_path / "res"
    subprocess.run(run + ["run", "--task", "bbc-news", "--model", "tfidf-logreg", "--limit-train", "60",
                          "--limit-eval", "40", "--out", str(out)], check=True, env=env, capture_output=True)
    subprocess.run(run + ["baseline", "--results", str(out), "--out", str(tmp_path / "b.json")],
                   check=True, env=env, capture_output=True)
    subprocess.run(run + ["report", "--results", str(out), "--out", str(tmp_path / "r.md")],
                   check=True, env=env, capture_output=True)
    (rec,) = list((out / "records").glob("*.json"))
    assert _mode(rec) == 0o644
    assert _mode(tmp_path / "b.json") == 0o644
    assert _mode(tmp_path / "r.md") == 0o644


def _refused(capsys, argv):
    from bench.cli import main

    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("kind", ["missing-folder", "folder-without-config", "hub-id-offline"])
def test_unloadable_model_is_one_line_exit_2_before_any_data(tmp_path, capsys, monkeypatch, kind):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "weights.bin").write_bytes(b"")
    model = {"missing-folder": "hf:/nonexistent/model", "folder-without-config": f"hf:{empty}",
             "hub-id-offline": "hf:no-such-org/no-such-model-15"}[kind]
    import bench.data.prepare as prepare

    def no_data(*a, **k):  # validation must refuse before any data loads
        raise AssertionError("data loaded before the model was validated")

    monkeypatch.setattr(prepare, "load_task_data", no_data)
    out = tmp_path / "out"
    code, err = _refused(capsys, ["run", "--task", "bbc-news", "--model", model, "--out", str(out)])
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:") and model in err[0], err
    expected = {"missing-folder": "no such folder", "folder-without-config": "no config.json",
                "hub-id-offline": "HF_HUB_OFFLINE"}[kind]
    assert expected in err[0]
    assert not out.exists()


def test_packaging_metadata_builds_without_deprecation_warnings(tmp_path):
    """What ``pip install .`` runs first (the PEP 517 metadata hook of setuptools) on this
    pyproject.toml: no SetuptoolsDeprecationWarning (e.g. a TOML-table license, license classifiers)."""
    from tests.conftest import ROOT

    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:  # pip builds with the pyproject's setuptools>=77
        pytest.skip(f"setuptools {setuptools.__version__} here; the build uses >= 77")
    for name in ("pyproject.toml", "README.md"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    code = ("import warnings\nfrom setuptools import build_meta\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    build_meta.prepare_metadata_for_build_wheel('.')\n"
            "print('WARNINGS:', [type(x.message).__name__ + ': ' + str(x.message).splitlines()[0] for x in w])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    (line,) = [ln for ln in out.stdout.splitlines() if ln.startswith("WARNINGS:")]
    assert "Deprecat" not in line and line == "WARNINGS: []", line
    assert list(tmp_path.glob("*.dist-info"))  # the hook really ran
