"""The blocks and encoders of lunar's families in eager PyTorch, op for op as src/models: the
Transformer-style blocks (softmax, ffkernel, simpletron) and the Luna blocks around PackUnpack."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import (AttentionProjections, FeatureMap, normalized_linear_attention,
                        scaled_attention, softmax_free_attention)
from .pack_unpack import PackUnpack

LAYER_NORM_EPS = 1e-6  # lunar::models::kLayerNormEps


class FeedForward(nn.Module):
    """src/nn/feedforward.cpp: Linear → GELU (erf) → Dropout → Linear → Dropout."""

    def __init__(self, dim, hidden, dropout):
        super().__init__()
        self.input = nn.Linear(dim, hidden)
        self.output = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.output(self.dropout(F.gelu(self.input(x)))))


def layer_norm(dim):
    return nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


class TransformerBlock(nn.Module):
    """src/models/blocks.cpp: softmax / ffkernel / simpletron attention, Post- or Pre-LN."""

    def __init__(self, c, kernel):
        super().__init__()
        self.kernel = kernel
        self.pre_norm = c["norm"] == "pre"
        self.attention_dropout = c["attention_dropout"]
        self.length_norm = c["simpletron"]["length_norm"]
        self.orthogonality = c["ffkernel"]["orthogonality"]
        output = c["simpletron"]["output_projection"] if kernel == "simpletron" else True
        self.attention = AttentionProjections(c["dim"], c["num_heads"], c["attention_dim"],
                                              output=output)
        if kernel == "ffkernel":
            self.feature_map = FeatureMap(c["ffkernel"]["feature_map"], c["num_heads"],
                                          self.attention.head_dim, c["attention_dropout"])
        self.feedforward = FeedForward(c["dim"], c["ffn_dim"], c["dropout"])
        self.attention_norm = layer_norm(c["dim"])
        self.feedforward_norm = layer_norm(c["dim"])

    def forward(self, x, mask):
        divisor = torch.full((), math.sqrt(self.attention.head_dim), dtype=x.dtype, device=x.device)
        inputs = self.attention_norm(x) if self.pre_norm else x
        a = self.attention
        query, key, value = a.q(inputs), a.k(inputs), a.v(inputs)
        if self.kernel == "ffkernel":
            heads = normalized_linear_attention(self.feature_map(query), self.feature_map(key),
                                                value, mask)
        elif self.kernel == "simpletron":
            heads = softmax_free_attention(query, key, value, mask, self.length_norm,
                                           self.attention_dropout, self.training)
        else:
            heads = scaled_attention(query, key, value, mask, divisor, self.attention_dropout,
                                     self.training)
        attended = a.o(heads)
        if self.pre_norm:
            x_a = x + attended
            return x_a + self.feedforward(self.feedforward_norm(x_a))
        x_a = self.attention_norm(x + attended)
        return self.feedforward_norm(x_a + self.feedforward(x_a))

    def regularization(self):
        if self.kernel != "ffkernel" or self.orthogonality <= 0:
            return None
        return self.feature_map.orthogonality() * self.orthogonality


class LunaBlock(nn.Module):
    """src/models/blocks.cpp: Luna (Post-LN) and PreLuna dataflow around PackUnpack."""

    def __init__(self, c, attention):
        super().__init__()
        dim = c["dim"]
        self.pre_norm = c["norm"] == "pre"
        self.attention = attention
        self.feedforward = FeedForward(dim, c["ffn_dim"], c["dropout"])
        self.sequence_norm = layer_norm(dim)
        self.memory_norm = layer_norm(dim)
        self.feedforward_norm = layer_norm(dim)
        if self.pre_norm:
            self.packed_norm = layer_norm(dim)

    def forward(self, x, memory, mask):
        if self.pre_norm:
            normed_x = self.sequence_norm(x)
            packed = self.attention.pack_memory(self.memory_norm(memory), normed_x, mask)
            y_p = self.packed_norm(packed)
            x_a = x + self.attention.unpack_sequence(normed_x, y_p)
            return x_a + self.feedforward(self.feedforward_norm(x_a)), memory + y_p
        packed = self.attention.pack_memory(memory, x, mask)
        x_a = self.sequence_norm(x + self.attention.unpack_sequence(x, packed))
        return (self.feedforward_norm(x_a + self.feedforward(x_a)),
                self.memory_norm(memory + packed))


def luna_attention(c):
    """registry.cpp's luna_attention / convluna_attention."""
    common = (c["dim"], c["num_heads"], c["attention_dim"])
    if c["architecture"] == "convluna":
        cl = c["convluna"]
        simplified = cl["variant"] == "simplified"
        # simplified: values are raw, W_q/W_k/W_o shared; full: own W_q, W_k, W_v, W_o each.
        projections = (True, True, False, True) if simplified else (True, True, True, True)
        return PackUnpack(*common, simplified, projections, cl["filter"], cl["kernel"],
                          cl["stride"], cl["pack_temperature"], cl["unpack_temperature"],
                          c["attention_dropout"])
    if c["luna"]["sharing"] == "none":
        # official Luna: the pack projects only its queries; the unpack has W_q, W_k, W_v, W_o
        return PackUnpack(*common, False, (True, False, False, False), "identity", 1, 1, "sqrt",
                          "sqrt", c["attention_dropout"])
    return PackUnpack(*common, True, (True, True, True, True), "identity", 1, 1, "sqrt", "sqrt",
                      c["attention_dropout"])


class TransformerEncoder(nn.Module):
    def __init__(self, c, kernel):
        super().__init__()
        self.num_blocks = c["num_blocks"]
        for i in range(self.num_blocks):
            setattr(self, f"block{i}", TransformerBlock(c, kernel))

    def forward(self, x, mask):
        for i in range(self.num_blocks):
            x = getattr(self, f"block{i}")(x, mask)
        return x, None

    def regularization(self):
        total = None
        for i in range(self.num_blocks):
            penalty = getattr(self, f"block{i}").regularization()
            if penalty is not None:
                total = penalty if total is None else total + penalty
        return total


class LunaEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim = c["dim"]
        official = c["luna"]["sharing"] == "none" and c["architecture"] == "luna"
        std = 1.0 / math.sqrt(dim) if official else 1.0
        self.memory = nn.Parameter(torch.empty(c["luna"]["memory_len"], dim).normal_(0.0, std))
        self.input_norms = official
        if official:
            self.embedding_norm = layer_norm(dim)
            self.memory_norm = layer_norm(dim)
        self.num_blocks = c["num_blocks"]
        for i in range(self.num_blocks):
            setattr(self, f"block{i}", LunaBlock(c, luna_attention(c)))

    def forward(self, x, mask):
        p = self.memory.unsqueeze(0).expand(x.size(0), self.memory.size(0), self.memory.size(1))
        if self.input_norms:
            x, p = self.embedding_norm(x), self.memory_norm(p)
        for i in range(self.num_blocks):
            x, p = getattr(self, f"block{i}")(x, p, mask)
        return x, p

    def regularization(self):
        return None
