"""The two ends of a model in eager PyTorch, op for op as src/models: the input embedding, and
the pooler and heads after the encoder."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import layer_norm


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
