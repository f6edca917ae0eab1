// Markdown and JSON renderings of a benchmark report.
#include <fmt/format.h>

#include "lunar/perf/benchmark.h"

namespace lunar::perf {

namespace {
nlohmann::json spread_json(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}
}  // namespace

std::string to_markdown(const BenchReport& report) {
  const auto& o = report.options;
  std::string out = fmt::format(
      "lunar bench: mode {}, batch {}, memory M = {}, {}, {} threads, LibTorch {}\n"
      "measured {}×{}×{} GEMM rate: {:.1f} GFLOP/s ({})\n\n",
      o.mode, o.batch, o.memory_len, o.precision, report.threads, report.torch_version, 1024, 1024,
      1024, report.gemm_flops_per_s / 1e9,
      report.blas.empty() ? "no BLAS found"
      : report.blas_kernels.empty()
          ? report.blas
          : report.blas + ", OpenBLAS " + report.blas_kernels + " kernels");
  out +=
      "| model | length | tokens/s (median) | spread | ms/step | peak MiB | KiB/token | "
      "MFLOP/token | GFLOP/s | of GEMM |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : report.points) {
    if (p.status != "ok") {
      out += fmt::format("| {} | {} | {}: {} | | | | | | | |\n", p.model, p.length, p.status,
                         p.reason);
      continue;
    }
    const double tokens = double(o.batch * p.length);
    out += fmt::format(
        "| {} | {} | {:.0f} | {:.0f}–{:.0f} | {:.1f} | {:.1f} | {:.2f} | {:.2f} | {:.1f} | {:.0f}% "
        "|\n",
        p.model, p.length, p.tokens_per_s.median, p.tokens_per_s.min, p.tokens_per_s.max,
        p.step_ms.median, double(p.peak_bytes) / (1 << 20), double(p.peak_bytes) / 1024 / tokens,
        p.flops_per_token / 1e6, p.flops_per_s / 1e9,
        100 * p.flops_per_s / std::max(report.gemm_flops_per_s, 1.0));
  }
  return out;
}

nlohmann::json to_json(const BenchReport& report) {
  const auto& o = report.options;
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : report.points) {
    nlohmann::json j = {{"model", p.model}, {"length", p.length}, {"status", p.status}};
    if (p.status != "ok") {
      j["reason"] = p.reason;
    } else {
      j["tokens_per_s"] = spread_json(p.tokens_per_s);
      j["step_ms"] = spread_json(p.step_ms);
      j["peak_bytes"] = p.peak_bytes;
      j["peak_bytes_per_token"] = double(p.peak_bytes) / double(o.batch * p.length);
      j["flops_per_token"] = p.flops_per_token;
      j["flops_per_s"] = p.flops_per_s;
      j["fraction_of_gemm"] = p.flops_per_s / std::max(report.gemm_flops_per_s, 1.0);
    }
    points.push_back(j);
  }
  nlohmann::json settings = {{"batch", o.batch},
                             {"memory_len", o.memory_len},
                             {"mode", std::string(to_string(o.mode))},
                             {"precision", std::string(to_string(o.precision))},
                             {"warmup", o.warmup},
                             {"repeats", o.repeats},
                             {"device", o.device.str()},
                             {"threads", report.threads},
                             {"torch_version", report.torch_version},
                             {"blas", report.blas},
                             {"blas_kernels", report.blas_kernels}};
  nlohmann::json out = nlohmann::json::object();
  out["settings"] = settings;
  out["gemm_flops_per_s"] = report.gemm_flops_per_s;
  out["gemm_gflops"] = report.gemm_flops_per_s / 1e9;
  out["results"] = points;
  out["configs"] = report.configs;
  return out;
}

}  // namespace lunar::perf
