// The conv filter's per-head convolution along the sequence: a CPU kernel with its own backward.
//
// LibTorch runs it as a grouped conv1d with one group per (head, feature) channel, on a [B, H·Dh,
// L] copy of the input. On CPU that backward is slow: at B = 4, 128 channels, L = 4K it took
// 13–17 ms against 1.3 ms forward, a sixth of a ConvLuna training step for six layers' keys and
// values. Here each output row is k scaled input rows of the [B, H, L, Dh] tensor as it comes
// (Dh contiguous), summed in registers, and backward is two such passes. Rows are summed by
// AVX-512 kernels in fp32 and bf16 where the CPU has them (sequence_conv_avx512.cpp; bf16 read and
// written as it is), by portable ones in float or double elsewhere.
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/filter.h"
#include "lunar/runtime/compat.h"
#include "lunar/runtime/platform.h"
#ifdef LUNAR_AVX512_KERNELS
#include "sequence_conv_avx512.h"
#endif

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
  // The outputs [first, end) whose tap j reads a row inside the input: o · stride + j − left in
  // [0, length). Empty when end <= first.
  std::pair<int64_t, int64_t> outputs_inside(int64_t j) const {
    const int64_t low = left - j, high = length - 1 + left - j;  // o · stride in [low, high]
    if (high < 0) return {0, 0};
    const int64_t first = low <= 0 ? 0 : (low + stride - 1) / stride;
    return {first, std::min(out_length, high / stride + 1)};
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
  return {static_cast<T*>(t.data_ptr()) + b * t.stride(0) + h * t.stride(1), t.stride(2)};
}

// The row kernels of one element type T accumulating in Acc: out = Σ taps · rows, rounded once to
// T; sums += Σ over rows of a · b (rows `a_stride` and `b_stride` elements apart).
template <typename T, typename Acc>
struct RowKernels {
  using Element = T;
  using Accumulator = Acc;
  void (*weighted_rows)(T* out, const T* const* rows, const Acc* taps, int64_t count, int64_t n);
  void (*row_products)(Acc* sums, const T* a, int64_t a_stride, const T* b, int64_t b_stride,
                       int64_t rows, int64_t n);
};

// A row chunk the compiler keeps in registers: 64 bytes.
template <typename T>
constexpr int64_t kLanes = 64 / sizeof(T);

// The portable kernels, for float and double: out[0, n) = Σ_i taps[i] · rows[i][0, n).
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

template <typename T>
void row_products(T* __restrict sums, const T* a, int64_t a_stride, const T* b, int64_t b_stride,
                  int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict a_row = a + r * a_stride;
    const T* __restrict b_row = b + r * b_stride;
    for (int64_t d = 0; d < n; ++d) sums[d] += a_row[d] * b_row[d];
  }
}

template <typename T>
constexpr RowKernels<T, T> kPortable{&weighted_rows<T>, &row_products<T>};

#ifdef LUNAR_AVX512_KERNELS
constexpr RowKernels<float, float> kAvx512Float{&conv_avx512::weighted_rows,
                                                &conv_avx512::row_products};
constexpr RowKernels<uint16_t, float> kAvx512Bf16{&conv_avx512::weighted_rows,
                                                  &conv_avx512::row_products};
#endif

// The tensor dtype of a kernel element type (bf16 travels as its bits).
template <typename T>
constexpr at::ScalarType kDtype = std::is_same_v<T, uint16_t> ? at::kBFloat16
                                  : std::is_same_v<T, float>  ? at::kFloat
                                                              : at::kDouble;

// Calls body(kernels) with the row kernels for inputs of `dtype`: AVX-512 ones for fp32 and bf16
// where the CPU has them and `avx512` allows, else the portable ones in float (for bf16 and fp16)
// or double, the caller casting its tensors to the kernels' types and its result back: one
// rounding to the input's dtype at the end, as an fp32-accumulating convolution gives.
template <typename Body>
auto with_row_kernels(at::ScalarType dtype, bool avx512, const Body& body) {
#ifdef LUNAR_AVX512_KERNELS
  if (avx512 && dtype == at::kFloat && cpu_has_avx512()) return body(kAvx512Float);
  if (avx512 && dtype == at::kBFloat16 && cpu_has_avx512_bf16()) return body(kAvx512Bf16);
#endif
  if (at::toOpMathType(dtype) == at::kDouble) return body(kPortable<double>);
  return body(kPortable<float>);
}

// How many outputs ahead apply_taps fetches input rows: a plane's rows are one head's part of
// each [H, Dh] row, far apart, which the hardware prefetcher follows poorly (fetching them cut
// the convolution's time by a third in bench/sequence_conv_bench.cpp).
constexpr int64_t kAhead = 8;

// out row r = Σ_j weights[j] · in row source(r, j), over the taps j whose source row exists
// (source returns −1 for the others). rows and taps are scratch of `kernel` entries.
template <typename Kernels, typename Source>
void apply_taps(const Kernels& kernels, const Plane<typename Kernels::Element>& out,
                int64_t out_rows, const Plane<const typename Kernels::Element>& in,
                const typename Kernels::Accumulator* weights, const Geometry& g,
                const Source& source, std::vector<const typename Kernels::Element*>& rows,
                std::vector<typename Kernels::Accumulator>& taps) {
  using T = typename Kernels::Element;
  const int64_t row_bytes = g.width * static_cast<int64_t>(sizeof(T));
  for (int64_t r = 0; r < out_rows; ++r) {
    // The rows of the outermost taps kAhead outputs ahead.
    if (r + kAhead < out_rows) {
      for (const int64_t j : {int64_t{0}, g.kernel - 1}) {
        const int64_t row = source(r + kAhead, j);
        if (row < 0) continue;
        const char* bytes = reinterpret_cast<const char*>(in.row(row));
        for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(bytes + b);
      }
    }
    int64_t count = 0;
    for (int64_t j = 0; j < g.kernel; ++j) {
      const int64_t row = source(r, j);
      if (row < 0) continue;
      rows[count] = in.row(row);
      taps[count++] = weights[j];
    }
    kernels.weighted_rows(out.row(r), rows.data(), taps.data(), count, g.width);
  }
}

// y[b, h, o, :] = Σ_j w[h, j] · x[b, h, source(o, j), :].
at::Tensor conv_forward(const at::Tensor& input, const at::Tensor& weight, const Geometry& g,
                        bool avx512) {
  return with_row_kernels(input.scalar_type(), avx512, [&](const auto& kernels) {
    using T = typename std::decay_t<decltype(kernels)>::Element;
    using Acc = typename std::decay_t<decltype(kernels)>::Accumulator;
    const at::Tensor x = input.to(kDtype<T>), w = weight.to(kDtype<Acc>);
    auto y = empty_rows(g.batch, g.heads, g.out_length, g.width, x.options());
    at::parallel_for(0, g.batch * g.heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<const T*> rows(g.kernel);
      std::vector<Acc> taps(g.kernel);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / g.heads, h = bh % g.heads;
        apply_taps(
            kernels, plane<T>(y, b, h), g.out_length, plane<const T>(x, b, h),
            w.data_ptr<Acc>() + h * g.kernel, g,
            [&](int64_t o, int64_t j) { return g.input_row(o, j); }, rows, taps);
      }
    });
    return y.to(input.scalar_type());
  });
}

// dx[b, h, l, :] = Σ over (o, j) with source(o, j) = l of w[h, j] · dy[b, h, o, :];
// dw[h, j] = Σ_{b, o, d} dy[b, h, o, d] · x[b, h, source(o, j), d], summed per d first.
std::pair<at::Tensor, at::Tensor> conv_backward(const at::Tensor& input, const at::Tensor& weight,
                                                const at::Tensor& grad_output, const Geometry& g,
                                                bool avx512) {
  return with_row_kernels(input.scalar_type(), avx512, [&](const auto& kernels) {
    using T = typename std::decay_t<decltype(kernels)>::Element;
    using Acc = typename std::decay_t<decltype(kernels)>::Accumulator;
    const at::Tensor x = input.to(kDtype<T>), dy = grad_output.to(kDtype<T>);
    const at::Tensor w = weight.to(kDtype<Acc>);
    auto dx = empty_rows(g.batch, g.heads, g.length, g.width, x.options());
    at::Tensor partial = at::empty({g.batch, g.heads, g.kernel}, w.options());
    at::parallel_for(0, g.batch * g.heads, 1, [&](int64_t begin, int64_t end) {
      std::vector<const T*> rows(g.kernel);
      std::vector<Acc> taps(g.kernel), products(g.kernel * g.width);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / g.heads, h = bh % g.heads;
        const auto in = plane<const T>(x, b, h);
        const auto grad = plane<const T>(dy, b, h);
        apply_taps(
            kernels, plane<T>(dx, b, h), g.length, grad, w.data_ptr<Acc>() + h * g.kernel, g,
            [&](int64_t l, int64_t j) { return g.output_row(l, j); }, rows, taps);
        std::fill(products.begin(), products.end(), Acc(0));
        for (int64_t j = 0; j < g.kernel; ++j) {
          const auto [first, stop] = g.outputs_inside(j);
          if (stop <= first) continue;
          kernels.row_products(products.data() + j * g.width, grad.row(first), grad.row_stride,
                               in.row(g.input_row(first, j)), g.stride * in.row_stride,
                               stop - first, g.width);
        }
        Acc* dw = partial.data_ptr<Acc>() + bh * g.kernel;
        for (int64_t j = 0; j < g.kernel; ++j) {
          dw[j] = std::accumulate(products.begin() + j * g.width,
                                  products.begin() + (j + 1) * g.width, Acc(0));
        }
      }
    });
    return std::pair{dx.to(input.scalar_type()), partial.sum(0).to(weight.scalar_type())};
  });
}

struct SequenceConvFunction : public torch::autograd::Function<SequenceConvFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            int64_t stride, int64_t left, int64_t out_length, bool avx512) {
    const auto input = rows_contiguous(x);
    const auto weight = w.contiguous();
    ctx->save_for_backward({input, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["left"] = left;
    ctx->saved_data["out_length"] = out_length;
    ctx->saved_data["avx512"] = avx512;
    return conv_forward(
        input, weight,
        {x.size(0), x.size(1), x.size(2), x.size(3), out_length, w.size(1), stride, left}, avx512);
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
    auto [dx, dw] =
        conv_backward(x, w, rows_contiguous(grads[0]), g, ctx->saved_data["avx512"].toBool());
    return {dx, dw, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
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
                         int64_t left, int64_t out_length, bool avx512) {
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
  return SequenceConvFunction::apply(input, w, stride, left, out_length, avx512);
}

}  // namespace lunar::nn
