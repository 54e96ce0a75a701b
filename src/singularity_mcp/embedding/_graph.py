"""The BERT encoder written as an ONNX graph from safetensors weights, with pooling and normalisation.

No torch: weights are read with `safetensors.numpy` and the graph is assembled node by node. The layout
follows the Hugging Face BERT export closely enough that onnxruntime's transformer optimizer fuses
attention, skip-layer-norm and GELU. Known pitfalls kept in mind:
- position ids come from slicing the position table (Range + Gather crashed onnxruntime 1.32);
- the norm is Mul + ReduceSum + Sqrt (not ReduceL2);
- the attention mask is Unsqueeze -> Unsqueeze -> Cast -> Sub -> Mul, the pattern the optimizer fuses.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from singularity_mcp.embedding._manifest import INPUTS, OUTPUT
from singularity_mcp.errors import ConfigError

OPSET = 17


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_heads: int
    num_layers: int
    layer_norm_eps: float

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text("utf-8"))
        act = raw.get("hidden_act", "gelu")
        if act != "gelu":
            raise ConfigError(f"{path}: hidden_act={act!r} is not supported (only exact 'gelu' BERT models)")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigError(f"{path}: only absolute position embeddings are supported")
        return cls(
            hidden_size=int(raw["hidden_size"]),
            num_heads=int(raw["num_attention_heads"]),
            num_layers=int(raw["num_hidden_layers"]),
            layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
        )


class _Builder:
    """Appends nodes and initializers, naming each output after its node."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, name: str | None = None, **attrs: Any) -> str:
        self._count += 1
        node_name = name or f"{op_type}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [node_name], name=node_name, **attrs))
        return node_name

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        """x @ W^T + b, as MatMul then Add (the shape the optimizer's fusions look for)."""
        w = self.const(f"{name}.weight_t", weight.T.astype(np.float32))
        b = self.const(f"{name}.bias", bias.astype(np.float32))
        return self.op("Add", self.op("MatMul", x, w, name=f"{name}/MatMul"), b, name=f"{name}/Add")

    def layer_norm(self, x: str, weight: np.ndarray, bias: np.ndarray, eps: float, name: str) -> str:
        g = self.const(f"{name}.weight", weight.astype(np.float32))
        b = self.const(f"{name}.bias", bias.astype(np.float32))
        return self.op("LayerNormalization", x, g, b, name=name, axis=-1, epsilon=eps)


def _prefix(weights: dict[str, np.ndarray]) -> str:
    """'' or 'bert.' (checkpoints saved from BertForX carry the prefix)."""
    for key in weights:
        if key.endswith("embeddings.word_embeddings.weight"):
            return key[: -len("embeddings.word_embeddings.weight")]
    raise ConfigError("the safetensors file holds no BERT embeddings (embeddings.word_embeddings.weight)")


def build_graph(
    weights_path: Path, config_path: Path, pooling: str = "mean", normalize: bool = True
) -> onnx.ModelProto:
    """The encoder plus pooling (+ L2 normalisation): (input_ids, attention_mask) -> sentence_embedding."""
    cfg = BertConfig.from_file(config_path)
    raw = load_file(str(weights_path))
    p = _prefix(raw)

    def w(key: str) -> np.ndarray:
        try:
            return raw[p + key]
        except KeyError:
            raise ConfigError(
                f"{weights_path.name}: missing tensor {p + key} (not a BERT checkpoint?)"
            ) from None

    hidden, heads = cfg.hidden_size, cfg.num_heads
    head_size = hidden // heads
    g = _Builder()
    ids, mask = INPUTS

    # Embeddings: word[ids] + (position table sliced to the sequence length + token type 0).
    word = g.const("word_embeddings", w("embeddings.word_embeddings.weight"))
    position_table = w("embeddings.position_embeddings.weight").astype(np.float32)
    type_key = p + "embeddings.token_type_embeddings.weight"
    if type_key in raw:
        position_table = position_table + raw[type_key][0]
    positions = g.const("position_embeddings", position_table)
    seq_len = g.op(
        "Slice",
        g.op("Shape", ids),
        g.const("one", np.array([1], np.int64)),
        g.const("two", np.array([2], np.int64)),
    )
    zero = g.const("zero", np.array([0], np.int64))
    pos = g.op("Slice", positions, zero, seq_len, zero, name="position_slice")
    x = g.op("Add", g.op("Gather", word, ids, name="word_gather", axis=0), pos, name="embeddings_add")
    x = g.layer_norm(
        x,
        w("embeddings.LayerNorm.weight"),
        w("embeddings.LayerNorm.bias"),
        cfg.layer_norm_eps,
        "embeddings.LayerNorm",
    )

    # Additive attention mask: (1 - mask[:, None, None, :]) * -10000.
    m = g.op("Unsqueeze", mask, g.const("axis1", np.array([1], np.int64)))
    m = g.op("Unsqueeze", m, g.const("axis2", np.array([2], np.int64)))
    m = g.op("Cast", m, to=TensorProto.FLOAT)
    m = g.op("Sub", g.const("one_f", np.array(1.0, np.float32)), m)
    mask_bias = g.op("Mul", m, g.const("mask_filter", np.array(-10000.0, np.float32)), name="mask_bias")

    split_shape = g.const("split_heads_shape", np.array([0, 0, heads, head_size], np.int64))
    merge_shape = g.const("merge_heads_shape", np.array([0, 0, hidden], np.int64))
    scale = g.const("attention_scale", np.array(math.sqrt(head_size), np.float32))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    one_f, half = "one_f", g.const("half", np.array(0.5, np.float32))

    for i in range(cfg.num_layers):
        L = f"encoder.layer.{i}."

        def proj(part: str, perm: list[int], src: str, i: int = i, L: str = L) -> str:
            y = g.linear(
                src,
                w(f"{L}attention.self.{part}.weight"),
                w(f"{L}attention.self.{part}.bias"),
                f"l{i}.{part}",
            )
            return g.op("Transpose", g.op("Reshape", y, split_shape), perm=perm)

        q = proj("query", [0, 2, 1, 3], x)
        k = proj("key", [0, 2, 3, 1], x)
        v = proj("value", [0, 2, 1, 3], x)
        scores = g.op("Add", g.op("Div", g.op("MatMul", q, k), scale), mask_bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_shape)
        attn = g.linear(
            context, w(f"{L}attention.output.dense.weight"), w(f"{L}attention.output.dense.bias"), f"l{i}.ao"
        )
        x = g.layer_norm(
            g.op("Add", attn, x),
            w(f"{L}attention.output.LayerNorm.weight"),
            w(f"{L}attention.output.LayerNorm.bias"),
            cfg.layer_norm_eps,
            f"l{i}.attention_norm",
        )
        h = g.linear(x, w(f"{L}intermediate.dense.weight"), w(f"{L}intermediate.dense.bias"), f"l{i}.ff1")
        gelu = g.op("Mul", g.op("Mul", h, g.op("Add", g.op("Erf", g.op("Div", h, sqrt2)), one_f)), half)
        h = g.linear(gelu, w(f"{L}output.dense.weight"), w(f"{L}output.dense.bias"), f"l{i}.ff2")
        x = g.layer_norm(
            g.op("Add", h, x), w(f"{L}output.LayerNorm.weight"), w(f"{L}output.LayerNorm.bias"),
            cfg.layer_norm_eps, f"l{i}.output_norm",
        )  # fmt: skip

    axis1 = "axis1"
    if pooling == "mean":
        mf = g.op(
            "Unsqueeze",
            g.op("Cast", mask, to=TensorProto.FLOAT),
            g.const("axis_last", np.array([2], np.int64)),
        )
        summed = g.op("ReduceSum", g.op("Mul", x, mf), axis1, keepdims=0)
        counts = g.op(
            "Max", g.op("ReduceSum", mf, axis1, keepdims=0), g.const("min_count", np.array(1e-9, np.float32))
        )
        pooled = g.op("Div", summed, counts)
    else:  # cls
        pooled = g.op("Gather", x, g.const("cls_index", np.array(0, np.int64)), axis=1)
    if normalize:
        sq = g.op("ReduceSum", g.op("Mul", pooled, pooled), axis1, keepdims=1)
        norm = g.op("Max", g.op("Sqrt", sq), g.const("min_norm", np.array(1e-12, np.float32)))
        g.op("Div", pooled, norm, name=OUTPUT)
    else:
        g.op("Identity", pooled, name=OUTPUT)

    graph = helper.make_graph(
        g.nodes,
        "sentence_encoder",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="singularity-mcp"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
