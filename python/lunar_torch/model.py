"""lunar's models in eager PyTorch (torch.nn), op for op as src/nn and src/models.

Parameter and buffer names and shapes are lunar's state-dict names, so the weights that
`lunar export` writes load with strict=True (lunar_torch.load does that).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ARCHITECTURES

LAYER_NORM_EPS = 1e-6  # lunar::models::kLayerNormEps


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


class SequenceFilter(nn.Module):
    """src/nn/filter.cpp: per-head depthwise conv ('same' padding at stride 1, none above) or
    max-pool along L; k = 1 is the identity at every stride."""

    def __init__(self, kind, num_heads, kernel, stride):
        super().__init__()
        self.kind, self.num_heads, self.kernel, self.stride = kind, num_heads, kernel, stride
        if kind == "conv" and not self.is_identity():
            bound = 1.0 / math.sqrt(kernel)
            self.weight = nn.Parameter(torch.empty(num_heads, kernel).uniform_(-bound, bound))

    def is_identity(self):
        return self.kind == "identity" or self.kernel == 1

    def pads(self):
        return self.kind == "conv" and self.stride == 1

    def forward(self, x, mask):  # x [B, H, L, Dh], mask [B, L] or None
        if self.is_identity():
            return x, mask
        batch, heads, length, width = x.shape
        k, s = self.kernel, self.stride
        if not self.pads() and length < k:
            raise ValueError(f"unpadded filter: sequence of {length} positions < kernel {k}")
        if mask is not None:
            x = x.masked_fill(mask.logical_not().view(batch, 1, length, 1), 0)
        channels = x.permute(0, 1, 3, 2).reshape(batch, heads * width, length)
        out_mask = None
        if self.kind == "conv":
            left = (k - 1) // 2 if self.pads() else 0
            right = k - 1 - left if self.pads() else 0
            padded = F.pad(channels, (left, right), "constant", 0)
            kernel = self.weight.to(x.dtype).repeat_interleave(width, 0).unsqueeze(1)
            filtered = F.conv1d(padded, kernel, None, s, 0, 1, heads * width)
        else:
            filtered = F.max_pool1d(channels, k, s)
        if mask is not None:
            if self.pads():
                out_mask = mask
            else:
                # A window is real only if all its positions are; keep the first window of a
                # sequence shorter than k so that no row is fully masked.
                real = mask.to(torch.float32).unsqueeze(1)
                out_mask = F.max_pool1d(-real, k, s).neg().squeeze(1) > 0.5
                none = out_mask.any(1).logical_not()
                out_mask[:, 0].logical_or_(none)
        out_length = filtered.size(2)
        return filtered.view(batch, heads, width, out_length).permute(0, 1, 3, 2), out_mask


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


class PackUnpack(nn.Module):
    """src/nn/pack_unpack.cpp: Yp = Att(P, F(X)); Yx = Att(X, Yp)."""

    def __init__(self, dim, num_heads, attention_dim, shared, pack_projections, filter_kind,
                 kernel, stride, pack_temperature, unpack_temperature, dropout):
        super().__init__()
        self.dropout = dropout
        self.shared = shared
        if shared:  # one module for both, registered once as `attention`
            self.attention = AttentionProjections(dim, num_heads, attention_dim, *pack_projections)
        else:
            self.pack = AttentionProjections(dim, num_heads, attention_dim, *pack_projections)
            self.unpack = AttentionProjections(dim, num_heads, attention_dim)
        head_dim = self.pack_attention.head_dim
        self.filter = SequenceFilter(filter_kind, num_heads, kernel, stride)
        self.pack_temperature = Temperature(pack_temperature, head_dim)
        self.unpack_temperature = Temperature(unpack_temperature, head_dim)

    @property
    def pack_attention(self):
        return self.attention if self.shared else self.pack

    @property
    def unpack_attention(self):
        return self.attention if self.shared else self.unpack

    def pack_memory(self, memory, x, key_mask):
        query = self.pack_attention.q(memory)
        keys, mask = self.filter(self.pack_attention.k(x), key_mask)
        values, _ = self.filter(self.pack_attention.v(x), key_mask)
        heads = scaled_attention(query, keys, values, mask, self.pack_temperature.divisor(),
                                 self.dropout, self.training)
        return self.pack_attention.o(heads)

    def unpack_sequence(self, x, packed):
        a = self.unpack_attention
        heads = scaled_attention(a.q(x), a.k(packed), a.v(packed), None,
                                 self.unpack_temperature.divisor(), self.dropout, self.training)
        return a.o(heads)


class FeedForward(nn.Module):
    """src/nn/feedforward.cpp: Linear → GELU (erf) → Dropout → Linear → Dropout."""

    def __init__(self, dim, hidden, dropout):
        super().__init__()
        self.input = nn.Linear(dim, hidden)
        self.output = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.output(self.dropout(F.gelu(self.input(x)))))


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


def layer_norm(dim):
    return nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


# ---------------------------------------------------------------------------------------------
# models: blocks, encoders, embedding, heads


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


class InputEmbedding(nn.Module):
    """src/models/embedding.cpp: tokens (pad 0) or pixels, + positions (init 0), CLS first."""

    def __init__(self, c):
        super().__init__()
        dim, spec = c["dim"], c["input"]
        self.dim, self.max_length = dim, spec["max_length"]
        self.pixel_mean, self.pixel_std = spec["pixel_mean"], spec["pixel_std"]
        self.positions = nn.Parameter(torch.zeros(spec["max_length"], dim))
        if spec["embedding"] == "token":
            self.tokens = nn.Embedding(spec["vocab_size"], dim, padding_idx=0)
            self.pixels = None
            bound = math.sqrt(3.0 / dim)  # xavier-uniform on [1, 1, d]
            self.cls = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        else:
            self.pixels = nn.Linear(1, dim)
            nn.init.normal_(self.pixels.weight, 0.0, 1.0)
            nn.init.normal_(self.pixels.bias, 0.0, 0.1)
            self.cls = nn.Parameter(torch.empty(dim).normal_(0.0, 1.0))

    def forward(self, ids, mask):
        batch, length = ids.shape
        if length > self.max_length:
            raise ValueError(f"expected at most model.input.max_length = {self.max_length} "
                             f"tokens, got {length}")
        if self.pixels is None:
            x = self.tokens(ids)
        else:
            scaled = (ids.to(self.positions.dtype) / 255.0 - self.pixel_mean) / self.pixel_std
            x = self.pixels(scaled.unsqueeze(-1))
        x = x + self.positions[:length].unsqueeze(0)
        x = torch.cat([self.cls.view(1, 1, self.dim).expand(batch, 1, self.dim), x], 1)
        full_mask = None
        if mask is not None:
            cls_mask = torch.ones(batch, 1, dtype=torch.bool, device=mask.device)
            full_mask = torch.cat([cls_mask, mask.bool()], 1)
        return x, full_mask


class Pooler(nn.Module):
    """src/models/heads.cpp: LN (not for the matching towers), then CLS, masked mean, or the
    mean of the final memory."""

    def __init__(self, dim, representation, normalize):
        super().__init__()
        self.representation = representation
        self.norm = layer_norm(dim) if normalize else None

    def normed(self, x):
        return self.norm(x) if self.norm is not None else x

    def forward(self, sequence, memory, mask):
        if self.representation == "memory":
            return self.normed(memory).mean(1)
        x = self.normed(sequence)
        if self.representation == "cls":
            return x.select(1, 0)
        if mask is None:
            return x.mean(1)
        weights = mask.to(x.dtype).unsqueeze(-1)
        return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class ClassifierHead(nn.Module):
    """Linear → GELU [→ Linear → GELU for pixel inputs] → Linear."""

    def __init__(self, dim, hidden, num_classes, second_layer):
        super().__init__()
        self.hidden = nn.Linear(dim, hidden)
        self.hidden2 = nn.Linear(hidden, hidden) if second_layer else None
        self.output = nn.Linear(hidden, num_classes)

    def forward(self, pooled):
        x = F.gelu(self.hidden(pooled))
        if self.hidden2 is not None:
            x = F.gelu(self.hidden2(x))
        return self.output(x)


class MatchingHead(nn.Module):
    def __init__(self, dim, hidden, num_classes, features, activation):
        super().__init__()
        self.features = features
        self.activation = F.relu if activation == "relu" else F.gelu
        self.first = nn.Linear(2 * dim if features == "uv" else 4 * dim, hidden)
        self.second = nn.Linear(hidden, hidden // 2)
        self.output = nn.Linear(hidden // 2, num_classes)

    def forward(self, u, v):
        joined = torch.cat([u, v], -1) if self.features == "uv" else torch.cat(
            [u, v, u * v, u - v], -1)
        return self.output(self.activation(self.second(self.activation(self.first(joined)))))


class LunarModel(nn.Module):
    """src/models/model.cpp: embedding → encoder → pooler → head."""

    def __init__(self, c, task=None):
        super().__init__()
        self.config = c
        # The run's {"name", "padding"} (config.task_config): how lunar_torch.batches tokenises
        # and pads; None for a model built without a run, which batches refuses.
        self.task = task
        self.use_masks = c["masks"] == "on"
        self.embedding = InputEmbedding(c)
        arch = c["architecture"]
        if ARCHITECTURES[arch][2]:
            self.encoder = LunaEncoder(c)
        else:
            self.encoder = TransformerEncoder(c, "softmax" if arch == "transformer" else arch)
        self.pooler = Pooler(c["dim"], c["representation"], not c["pair"])
        if c["pair"]:
            self.matcher = MatchingHead(c["dim"], c["ffn_dim"], c["num_classes"],
                                        c["pair_features"], c["pair_activation"])
        else:
            self.classifier = ClassifierHead(c["dim"], c["ffn_dim"], c["num_classes"],
                                             c["input"]["embedding"] == "pixel")

    def encode(self, tokens, mask):
        x, full_mask = self.embedding(tokens, mask)
        encoder_mask = full_mask if self.use_masks else None
        sequence, memory = self.encoder(x, encoder_mask)
        return self.pooler(sequence, memory, encoder_mask)

    def forward(self, tokens, mask=None, tokens2=None, mask2=None):
        """Logits [B, C] for tokens [B, L] int64 (token ids, 0 = padding; pixel intensities
        0..255 for image tasks) and mask [B, L] bool (true = real; None = all real). Matching
        models take the second documents as tokens2, mask2 [B, L2]. lunar_torch.batches makes
        these tensors from text lines."""
        u = self.encode(tokens, mask)
        if not self.config["pair"]:
            return self.classifier(u)
        return self.matcher(u, self.encode(tokens2, mask2))

    def regularization(self):
        return self.encoder.regularization()


def build_model(config, task=None):
    """A model for a resolved [model] config (config.model_config) and optionally its run's
    [task] (config.task_config), with fresh weights."""
    return LunarModel(config, task)
