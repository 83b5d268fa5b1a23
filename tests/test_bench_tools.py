"""The benchmark scripts' own helpers (bench/ is not a package: loaded by path)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _weights(directory: Path, tensors: dict) -> Path:
    """A screen directory as train-screen writes it: weights plus a config recording their digest."""
    from guardagent.screens.encoder.model import sha256_file

    directory.mkdir()
    safetensors_numpy.save_file(tensors, str(directory / "screen.safetensors"))
    conf = {"lora_r": 1, "lora_alpha": 1.0, "window": {}, "thresholds": {},
            "weights_sha256": sha256_file(directory / "screen.safetensors")}
    (directory / "screen.json").write_text(json.dumps(conf))
    return directory


def test_weights_diff_says_how_far_a_rebuild_lies_from_the_shipped_weights(tmp_path):
    cs = _load("compare_screens")
    a = {"head.weight": np.array([[1.0, -2.0]], np.float32), "lora_B": np.array([0.5, 0.25], np.float32)}
    first = _weights(tmp_path / "a", a)
    same = _weights(tmp_path / "b", {k: v.copy() for k, v in a.items()})
    moved = _weights(tmp_path / "c", {"head.weight": a["head.weight"], "lora_B": np.array([0.5, 0.2], np.float32)})

    assert cs.weights_diff(first, same) == (2, 2, 0.0, "")
    identical, n, worst, name = cs.weights_diff(first, moved)
    assert (identical, n, name) == (1, 2, "lora_B")
    assert worst == pytest.approx(0.05 / 0.5)

    other = _weights(tmp_path / "d", {"head.weight": a["head.weight"]})  # another rank, a soup...
    assert cs.weights_diff(first, other) is None
    gone = _weights(tmp_path / "e", a)
    (gone / "screen.safetensors").unlink()
    with pytest.raises(SystemExit, match="encoder weights not found: .*screen.safetensors"):
        cs.weights_diff(first, gone)
