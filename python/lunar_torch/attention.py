"""Attention in eager PyTorch, op for op as src/nn: the softmax, linear (ffkernel) and
softmax-free (SimpleTRON) kernels, the projections, the temperature and ffkernel's feature map."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def split_heads(x, num_heads):  # [B, L, H·Dh] -> [B, H, L, Dh]
    return x.view(x.size(0), x.size(1), num_heads, x.size(2) // num_heads).transpose(1, 2)


def merge_heads(x):  # [B, H, L, Dh] -> [B, L, H·Dh]
    return x.transpose(1, 2).reshape(x.size(0), x.size(2), x.size(1) * x.size(3))


def scaled_attention(query, key, value, key_mask, divisor, dropout, training):
    """src/nn/attention.cpp: softmax((Q / divisor) Kᵀ) V, -inf on padded keys."""
    logits = torch.matmul(query / divisor, key.transpose(-2, -1))
    if key_mask is not None:
        padding = key_mask.logical_not().unsqueeze(1).unsqueeze(2)
        logits = logits.masked_fill(padding, float("-inf"))
    weights = torch.softmax(logits, -1)
    probabilities = weights
    if training and dropout > 0:
        probabilities = F.dropout(weights, dropout, True)
    return torch.matmul(probabilities, value)


def zero_padding(x, key_mask):  # x [B, H, L, F]
    if key_mask is None:
        return x
    return x.masked_fill(key_mask.logical_not().view(x.size(0), 1, x.size(2), 1), 0)


def normalized_linear_attention(phi_query, phi_key, value, key_mask):
    """src/nn/linear_attention.cpp: φ(q)ᵀ(φ(K)ᵀV) / φ(q)ᵀ(φ(K)ᵀ1), sums in float32 at least."""
    kind = torch.float64 if value.dtype == torch.float64 else torch.float32
    q = phi_query.to(kind)
    k = zero_padding(phi_key.to(kind), key_mask)
    context = torch.matmul(k.transpose(-2, -1), value.to(kind))
    normaliser = k.sum(2)
    numerator = torch.matmul(q, context)
    denominator = torch.matmul(q, normaliser.unsqueeze(-1))
    return (numerator / denominator).to(value.dtype)


def softmax_free_attention(query, key, value, key_mask, length_norm, dropout, training):
    """src/nn/linear_attention.cpp: SimpleTRON's Q · Dropout(Kᵀ V / √N)."""
    k = zero_padding(key, key_mask)
    v = zero_padding(value, key_mask)
    context = torch.matmul(k.transpose(-2, -1), v)
    if length_norm != "none":
        if key_mask is not None:
            length = key_mask.sum(1).to(context.dtype)
        else:
            length = torch.full((key.size(0),), float(key.size(2)), dtype=context.dtype,
                                device=context.device)
        context = context / length.sqrt().view(key.size(0), 1, 1, 1)
    if training and dropout > 0:
        context = F.dropout(context, dropout, True)
    return torch.matmul(query, context)


class AttentionProjections(nn.Module):
    """src/nn/projections.cpp: optional W_q, W_k, W_v (d -> width) and W_o; a missing input
    projection passes the raw input split into heads, a missing W_o only merges the heads."""

    def __init__(self, dim, num_heads, attention_dim, query=True, key=True, value=True,
                 output=True):
        super().__init__()
        width = attention_dim or dim
        self.num_heads = num_heads
        self.head_dim = width // num_heads
        self.query = nn.Linear(dim, width) if query else None
        self.key = nn.Linear(dim, width) if key else None
        self.value = nn.Linear(dim, width) if value else None
        self.output = nn.Linear(width if value else dim, dim) if output else None

    def project(self, layer, x):
        return split_heads(layer(x) if layer is not None else x, self.num_heads)

    def q(self, x):  # [B, L, D] -> [B, H, L, Dh]
        return self.project(self.query, x)

    def k(self, x):
        return self.project(self.key, x)

    def v(self, x):
        return self.project(self.value, x)

    def o(self, heads):  # [B, H, L, Dv] -> [B, L, D]
        merged = merge_heads(heads)
        return self.output(merged) if self.output is not None else merged


class Temperature(nn.Module):
    """src/nn/temperature.cpp: divisor exp(τ); τ learnable (from 0) or a frozen buffer."""

    def __init__(self, mode, head_dim):
        super().__init__()
        tau = 0.5 * math.log(head_dim) if mode == "sqrt" else 0.0
        initial = torch.full((), tau, dtype=torch.float32)
        if mode == "learn":
            self.log_temperature = nn.Parameter(initial)
        else:
            self.register_buffer("log_temperature", initial)

    def divisor(self):
        return self.log_temperature.exp()


class FeatureMap(nn.Module):
    """src/nn/feature_map.cpp: ffkernel's gated positive φ with per-head weights."""

    def __init__(self, kind, num_heads, head_dim, dropout):
        super().__init__()
        layers = 1 if kind == "softplus" else int(kind[-1])
        rank = max(1, head_dim // 4)
        self.layers, self.kind = layers, kind
        for i in range(layers):
            weight = torch.empty(num_heads, head_dim, head_dim)
            for h in range(num_heads):
                nn.init.orthogonal_(weight[h])
            setattr(self, f"layer{i}_output", nn.Parameter(weight))
            if kind in ("gated1", "gated2"):
                setattr(self, f"layer{i}_gate", uniform_parameter(num_heads, head_dim, head_dim))
            elif kind == "gated3":
                setattr(self, f"layer{i}_gate_down", uniform_parameter(num_heads, head_dim, rank))
                setattr(self, f"layer{i}_gate_up", uniform_parameter(num_heads, rank, head_dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):  # [B, H, L, Dh]
        y = x
        for i in range(self.layers):
            inputs = self.dropout(y)
            value = torch.matmul(inputs, getattr(self, f"layer{i}_output").unsqueeze(0))
            if i + 1 == self.layers:
                value = F.softplus(value)
            if self.kind in ("gated1", "gated2"):
                gate = torch.matmul(inputs, getattr(self, f"layer{i}_gate").unsqueeze(0))
                value = value * torch.sigmoid(gate)
            elif self.kind == "gated3":
                down = torch.matmul(inputs, getattr(self, f"layer{i}_gate_down").unsqueeze(0))
                gate = torch.matmul(down, getattr(self, f"layer{i}_gate_up").unsqueeze(0))
                value = value * torch.sigmoid(gate)
            y = value
        return y

    def orthogonality(self):
        total = None
        for i in range(self.layers):
            w = getattr(self, f"layer{i}_output")
            identity = torch.eye(w.size(1), dtype=w.dtype, device=w.device).unsqueeze(0)
            deviation = (torch.matmul(w, w.transpose(1, 2)) - identity).pow(2).mean()
            total = deviation if total is None else total + deviation
        return total / float(self.layers)


def uniform_parameter(heads, rows, columns):
    bound = 1.0 / math.sqrt(rows)
    return nn.Parameter(torch.empty(heads, rows, columns).uniform_(-bound, bound))
