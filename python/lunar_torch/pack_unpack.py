"""Luna's pack and unpack attention in eager PyTorch, op for op as src/nn: the sequence filter
(ConvLuna's depthwise conv or max-pool) and PackUnpack."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import AttentionProjections, Temperature, scaled_attention


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
