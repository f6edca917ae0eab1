// Fused attention: the autograd function, the bf16 dispatch and the dropout mask for tests.
#include "lunar/nn/fused_attention.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <mutex>

#include "fused_attention_kernel.h"
#include "lunar/core/error.h"

namespace lunar::nn {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// query/key/value come in already divided and in the kernel's dtype; the divisor's gradient
// flows through that division outside this function.
class FusedAttentionFunction : public torch::autograd::Function<FusedAttentionFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& query, const at::Tensor& key,
                            const at::Tensor& value, const c10::optional<at::Tensor>& key_mask,
                            double dropout, int64_t query_block, int64_t key_block, bool avx512) {
    fused::KernelArgs args{query.contiguous(),
                           key.contiguous(),
                           value.contiguous(),
                           key_mask.value_or(at::Tensor()),
                           dropout,
                           0,
                           query_block,
                           key_block,
                           avx512};
    if (dropout > 0) args.seed = draw_attention_seed();
    const auto result = fused::forward(args);
    ctx->save_for_backward({args.query, args.key, args.value, result.output, result.log_sum});
    if (args.key_mask.defined()) ctx->saved_data["key_mask"] = args.key_mask;
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["seed"] = static_cast<int64_t>(args.seed);
    ctx->saved_data["query_block"] = query_block;
    ctx->saved_data["key_block"] = key_block;
    ctx->saved_data["avx512"] = avx512;
    return result.output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto found = ctx->saved_data.find("key_mask");
    fused::KernelArgs args{saved[0],
                           saved[1],
                           saved[2],
                           found == ctx->saved_data.end() ? at::Tensor() : found->second.toTensor(),
                           ctx->saved_data["dropout"].toDouble(),
                           static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                           ctx->saved_data["query_block"].toInt(),
                           ctx->saved_data["key_block"].toInt(),
                           ctx->saved_data["avx512"].toBool()};
    const auto grads = fused::backward(args, {saved[3], saved[4]}, grad_outputs[0]);
    return {grads.query,  grads.key,    grads.value,  at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

FusedKernel select_fused_kernel(at::ScalarType dtype, bool bf16_native) {
  switch (dtype) {
    case at::kDouble:
      return FusedKernel::kFloat64;
    case at::kFloat:
      return FusedKernel::kFloat32;
    case at::kBFloat16:
      return bf16_native ? FusedKernel::kBFloat16 : FusedKernel::kBFloat16ViaFloat32;
    default:
      throw Error(
          fmt::format("[attention] fused attention expected float64, float32 or bfloat16, got {}",
                      c10::toString(dtype)));
  }
}

at::Tensor fused_attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                           const at::Tensor& key_mask, const at::Tensor& divisor, double dropout,
                           bool training, const FusedAttentionConfig& config) {
  check(query.dim() == 4 && key.dim() == 4 && value.dim() == 4,
        "[attention] expected 4-D query/key/value [B, H, L, Dh], got {}-D/{}-D/{}-D", query.dim(),
        key.dim(), value.dim());
  check(query.device().is_cpu(), "[attention] fused attention expected CPU tensors, got {}",
        query.device().str());
  check(query.size(-1) == key.size(-1),
        "[attention] expected query and key head widths equal, got {} and {}", query.size(-1),
        key.size(-1));
  check(key.size(2) == value.size(2), "[attention] expected as many keys as values, got {} and {}",
        key.size(2), value.size(2));
  check(query.size(0) == key.size(0) && query.size(1) == key.size(1) &&
            key.size(0) == value.size(0) && key.size(1) == value.size(1),
        "[attention] expected query, key and value with the same [B, H], got [{}, {}], [{}, {}] "
        "and [{}, {}]",
        query.size(0), query.size(1), key.size(0), key.size(1), value.size(0), value.size(1));
  if (key_mask.defined()) {
    check(key_mask.dim() == 2 && key_mask.size(0) == key.size(0) && key_mask.size(1) == key.size(2),
          "[attention] expected key_mask [B={}, Lk={}], got {}-D [{}, {}]", key.size(0),
          key.size(2), key_mask.dim(), key_mask.size(0), key_mask.size(-1));
  }
  check(config.query_block >= 1 && config.key_block >= 1,
        "[attention] expected fused attention blocks of at least 1, got {} and {}",
        config.query_block, config.key_block);
  check(dropout >= 0 && dropout < 1, "[attention] expected 0 <= dropout < 1, got {}", dropout);

  const bool bf16 = query.scalar_type() == at::kBFloat16 || key.scalar_type() == at::kBFloat16 ||
                    value.scalar_type() == at::kBFloat16;
  const auto dtype =
      bf16 ? at::kBFloat16 : at::promote_types(at::result_type(query, key), value.scalar_type());
  const auto kernel = select_fused_kernel(dtype, config.bf16_native);
  const auto compute = kernel == FusedKernel::kFloat64    ? at::kDouble
                       : kernel == FusedKernel::kBFloat16 ? at::kBFloat16
                                                          : at::kFloat;
  // Dividing the queries rather than the logits, as scaled_attention does.
  const auto scaled = (query / divisor).to(compute);
  const auto mask = key_mask.defined()
                        ? c10::optional<at::Tensor>(key_mask.to(at::kBool).contiguous())
                        : c10::nullopt;
  const auto output = FusedAttentionFunction::apply(
      scaled, key.to(compute), value.to(compute), mask, training ? dropout : 0.0,
      config.query_block, config.key_block, config.avx512);
  return kernel == FusedKernel::kBFloat16ViaFloat32 ? output.to(at::kBFloat16) : output;
}

uint64_t draw_attention_seed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

at::Tensor fused_dropout_keep_mask(uint64_t seed, int64_t batch, int64_t num_heads,
                                   int64_t query_len, int64_t key_len, double p) {
  check(p >= 0 && p < 1, "[dropout] expected 0 <= p < 1, got {}", p);
  auto factors = at::empty({batch, num_heads, query_len, key_len}, at::kDouble);
  double* out = factors.data_ptr<double>();
  const int64_t threshold = fused::drop_threshold(p);
  for (int64_t row = 0; row < batch * num_heads * query_len; ++row) {
    fused::dropout_factors(seed, row, key_len, 0, key_len, threshold, 1.0, out + row * key_len);
  }
  return factors.gt(0.5);
}

}  // namespace lunar::nn
