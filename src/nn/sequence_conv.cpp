// The conv filter's per-head convolution along the sequence: a CPU kernel with its own backward.
//
// LibTorch runs it as a grouped conv1d with one group per (head, feature) channel, on a [B, H·Dh,
// L] copy of the input. On CPU that backward is slow: at B = 4, 128 channels, L = 4K it took
// 13–17 ms against 1.3 ms forward, a sixth of a ConvLuna training step for six layers' keys and
// values. Here each output row is k scaled input rows of the [B, H, L, Dh] tensor as it comes
// (Dh contiguous), summed in registers, and backward is two such passes.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>

#include <numeric>
#include <type_traits>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/filter.h"
#include "lunar/runtime/compat.h"

namespace lunar::nn {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Geometry {
  int64_t batch, heads, length, width, out_length, kernel, stride, left;
  // The input position output o's tap j reads (may fall outside [0, length): zero there).
  int64_t source(int64_t o, int64_t j) const { return o * stride + j - left; }
  // The input row output o's tap j reads, or −1 outside the input.
  int64_t input_row(int64_t o, int64_t j) const {
    const int64_t l = source(o, j);
    return l >= 0 && l < length ? l : -1;
  }
  // The output row whose tap j reads input row l, or −1 when none does.
  int64_t output_row(int64_t l, int64_t j) const {
    const int64_t shifted = l + left - j;  // o · stride
    return shifted >= 0 && shifted % stride == 0 && shifted / stride < out_length ? shifted / stride
                                                                                  : -1;
  }
};

// [B, H, L, Dh] with Dh contiguous, as the row pointer of (b, h, l) needs.
at::Tensor rows_contiguous(const at::Tensor& x) { return x.stride(3) == 1 ? x : x.contiguous(); }

// A [B, L, H, Dh] buffer seen as [B, H, L, Dh]: the layout of the projections the filter follows.
at::Tensor empty_rows(int64_t batch, int64_t heads, int64_t length, int64_t width,
                      const at::TensorOptions& options) {
  return at::empty({batch, length, heads, width}, options).permute({0, 2, 1, 3});
}

// The (b, h) plane of a [B, H, L, Dh] tensor with Dh contiguous: row l starts at
// data + l · row_stride.
template <typename T>
struct Plane {
  T* data;
  int64_t row_stride;
  T* row(int64_t l) const { return data + l * row_stride; }
};

template <typename T>
Plane<T> plane(const at::Tensor& t, int64_t b, int64_t h) {
  return {t.data_ptr<std::remove_const_t<T>>() + b * t.stride(0) + h * t.stride(1), t.stride(2)};
}

// A row chunk the compiler keeps in registers: 64 bytes.
template <typename T>
constexpr int64_t kLanes = 64 / sizeof(T);

// out[0, n) = Σ_i taps[i] · rows[i][0, n).
template <typename T>
void weighted_rows(T* __restrict out, const T* const* rows, const T* taps, int64_t count,
                   int64_t n) {
  int64_t d = 0;
  for (; d + kLanes<T> <= n; d += kLanes<T>) {
    T sum[kLanes<T>] = {};
    for (int64_t i = 0; i < count; ++i) {
      const T tap = taps[i];
      const T* __restrict in = rows[i] + d;
      for (int64_t t = 0; t < kLanes<T>; ++t) sum[t] += tap * in[t];
    }
    for (int64_t t = 0; t < kLanes<T>; ++t) out[d + t] = sum[t];
  }
  for (; d < n; ++d) {
    T sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += taps[i] * rows[i][d];
    out[d] = sum;
  }
}

// out row r = Σ_j weights[j] · in row source(r, j), over the taps j whose source row exists
// (source returns −1 for the others). rows and taps are scratch of `kernel` entries.
template <typename T, typename Source>
void apply_taps(const Plane<T>& out, int64_t out_rows, const Plane<const T>& in, const T* weights,
                const Geometry& g, const Source& source, std::vector<const T*>& rows,
                std::vector<T>& taps) {
  for (int64_t r = 0; r < out_rows; ++r) {
    int64_t count = 0;
    for (int64_t j = 0; j < g.kernel; ++j) {
      const int64_t row = source(r, j);
      if (row < 0) continue;
      rows[count] = in.row(row);
      taps[count++] = weights[j];
    }
    weighted_rows(out.row(r), rows.data(), taps.data(), count, g.width);
  }
}

// The kernels below run in float (for bf16 and fp16 inputs, converted by ATen's vectorised
// casts) or double: one rounding to the input's dtype at the end, as an fp32-accumulating
// convolution gives.
at::Tensor in_compute_dtype(const at::Tensor& t) { return t.to(at::toOpMathType(t.scalar_type())); }

// y[b, h, o, :] = Σ_j w[h, j] · x[b, h, source(o, j), :].
at::Tensor conv_forward(const at::Tensor& input, const at::Tensor& weight, const Geometry& g) {
  const auto x = in_compute_dtype(input), w = in_compute_dtype(weight);
  auto y = empty_rows(g.batch, g.heads, g.out_length, g.width, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sequence_conv", [&] {
    at::parallel_for(0, g.batch * g.heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<const scalar_t*> rows(g.kernel);
      std::vector<scalar_t> taps(g.kernel);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / g.heads, h = bh % g.heads;
        const auto in = plane<const scalar_t>(x, b, h);
        const auto out = plane<scalar_t>(y, b, h);
        apply_taps(
            out, g.out_length, in, w.data_ptr<scalar_t>() + h * g.kernel, g,
            [&](int64_t o, int64_t j) { return g.input_row(o, j); }, rows, taps);
      }
    });
  });
  return y.to(input.scalar_type());
}

// dx[b, h, l, :] = Σ over (o, j) with source(o, j) = l of w[h, j] · dy[b, h, o, :];
// dw[h, j] = Σ_{b, o, d} dy[b, h, o, d] · x[b, h, source(o, j), d], summed per d first.
std::pair<at::Tensor, at::Tensor> conv_backward(const at::Tensor& input, const at::Tensor& weight,
                                                const at::Tensor& grad_output, const Geometry& g) {
  const auto x = in_compute_dtype(input), w = in_compute_dtype(weight);
  const auto dy = in_compute_dtype(grad_output);
  auto dx = empty_rows(g.batch, g.heads, g.length, g.width, x.options());
  auto partial = at::empty({g.batch, g.heads, g.kernel}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sequence_conv", [&] {
    at::parallel_for(0, g.batch * g.heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<const scalar_t*> rows(g.kernel);
      std::vector<scalar_t> taps(g.kernel), products(g.kernel * g.width);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / g.heads, h = bh % g.heads;
        const auto in = plane<const scalar_t>(x, b, h);
        const auto grad = plane<const scalar_t>(dy, b, h);
        const auto out = plane<scalar_t>(dx, b, h);
        apply_taps(
            out, g.length, grad, w.data_ptr<scalar_t>() + h * g.kernel, g,
            [&](int64_t l, int64_t j) { return g.output_row(l, j); }, rows, taps);
        std::fill(products.begin(), products.end(), scalar_t(0));
        for (int64_t o = 0; o < g.out_length; ++o) {
          const scalar_t* __restrict grad_row = grad.row(o);
          for (int64_t j = 0; j < g.kernel; ++j) {
            const int64_t l = g.input_row(o, j);
            if (l < 0) continue;
            scalar_t* __restrict sum = products.data() + j * g.width;
            const scalar_t* __restrict in_row = in.row(l);
            for (int64_t d = 0; d < g.width; ++d) sum[d] += grad_row[d] * in_row[d];
          }
        }
        scalar_t* dw = partial.data_ptr<scalar_t>() + bh * g.kernel;
        for (int64_t j = 0; j < g.kernel; ++j) {
          dw[j] = std::accumulate(products.begin() + j * g.width,
                                  products.begin() + (j + 1) * g.width, scalar_t(0));
        }
      }
    });
  });
  return {dx.to(input.scalar_type()), partial.sum(0).to(weight.scalar_type())};
}

struct SequenceConvFunction : public torch::autograd::Function<SequenceConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            int64_t stride, int64_t left, int64_t out_length) {
    const auto input = rows_contiguous(x);
    const auto weight = w.contiguous();
    ctx->save_for_backward({input, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["left"] = left;
    ctx->saved_data["out_length"] = out_length;
    return conv_forward(
        input, weight,
        {x.size(0), x.size(1), x.size(2), x.size(3), out_length, w.size(1), stride, left});
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const Geometry g{x.size(0),
                     x.size(1),
                     x.size(2),
                     x.size(3),
                     ctx->saved_data["out_length"].toInt(),
                     w.size(1),
                     ctx->saved_data["stride"].toInt(),
                     ctx->saved_data["left"].toInt()};
    auto [dx, dw] = conv_backward(x, w, rows_contiguous(grads[0]), g);
    return {dx, dw, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The same convolution as LibTorch's grouped conv1d, for devices without the kernel above.
at::Tensor conv1d_reference(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t left,
                            int64_t out_length) {
  const int64_t batch = x.size(0), heads = x.size(1), length = x.size(2), width = x.size(3);
  const int64_t k = w.size(1);
  const int64_t right = std::max<int64_t>(0, (out_length - 1) * stride + k - left - length);
  auto channels = x.permute({0, 1, 3, 2}).reshape({batch, heads * width, length});
  auto padded = at::constant_pad_nd(channels, {left, right}, 0);
  // One filter per head, shared by the head's Dh features: [H, k] -> [H·Dh, 1, k].
  auto kernel = w.repeat_interleave(width, 0).unsqueeze(1);
  auto filtered = at::conv1d(padded, kernel, at::Tensor(), at::IntArrayRef{stride},
                             at::IntArrayRef{0}, at::IntArrayRef{1}, heads * width);
  return filtered.view({batch, heads, width, out_length}).permute({0, 1, 3, 2});
}
}  // namespace

at::Tensor sequence_conv(const at::Tensor& x, const at::Tensor& weight, int64_t stride,
                         int64_t left, int64_t out_length) {
  check(x.dim() == 4 && weight.dim() == 2 && weight.size(0) == x.size(1),
        "[filter] expected x [B, H, L, Dh] and weight [H, k] with the same H, got x [{}] and "
        "weight [{}]",
        fmt::join(x.sizes(), ", "), fmt::join(weight.sizes(), ", "));
  check(stride >= 1 && left >= 0 && out_length >= 1,
        "[filter] expected stride >= 1, left padding >= 0 and an output length >= 1, got {}, {} "
        "and {}",
        stride, left, out_length);
  // conv1d is a lower-precision op under autocast; this function is not seen by the dispatcher,
  // so it casts as autocast would.
  const auto dtype = compat::autocast_enabled(x.device()) && x.is_floating_point()
                         ? compat::autocast_dtype(x.device())
                         : x.scalar_type();
  const auto input = x.to(dtype);
  const auto w = weight.to(dtype);
  if (!x.is_cpu()) return conv1d_reference(input, w, stride, left, out_length);
  return SequenceConvFunction::apply(input, w, stride, left, out_length);
}

}  // namespace lunar::nn
