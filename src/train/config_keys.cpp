// The one table of run-configuration keys. Adding a key is one row here (and a field in a
// struct); loading, `--set`, to_toml, equality and describe_keys all read this table.
#include "config_keys.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>
#include <utility>

#include "lunar/models/registry.h"

namespace lunar::train::detail {
namespace {

// ---- Rules: the values a key accepts -------------------------------------------------------

Rule integer_rule(std::string expected, std::function<bool(int64_t)> accepts) {
  return {std::move(expected), [accepts](const Value& v) { return accepts(std::get<int64_t>(v)); }};
}
Rule positive() {
  return integer_rule("a positive integer", [](int64_t v) { return v > 0; });
}
Rule non_negative() {
  return integer_rule("a non-negative integer", [](int64_t v) { return v >= 0; });
}
Rule at_least_two() {
  return integer_rule("an integer >= 2", [](int64_t v) { return v >= 2; });
}

Rule number_rule(std::string expected, std::function<bool(double)> accepts) {
  return {std::move(expected), [accepts](const Value& v) { return accepts(std::get<double>(v)); }};
}
Rule fraction() {  // probabilities and momenta
  return number_rule("a number in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; });
}
Rule positive_number() {  // TOML has inf and nan; no key means anything by them
  return number_rule("a finite positive number",
                     [](double v) { return v > 0.0 && std::isfinite(v); });
}
Rule non_negative_number() {
  return number_rule("a finite non-negative number",
                     [](double v) { return v >= 0.0 && std::isfinite(v); });
}
Rule learning_rate() {  // Adam's steps are about lr per parameter: beyond 1 nothing trains
  return number_rule("a positive number at most 1", [](double v) { return v > 0.0 && v <= 1.0; });
}
Rule any_number() {
  return number_rule("a finite number", [](double v) { return std::isfinite(v); });
}

Rule one_of(std::vector<std::string> values) {
  std::vector<std::string> quoted;
  for (const auto& value : values) quoted.push_back(fmt::format("\"{}\"", value));
  return {fmt::format("one of {}", fmt::join(quoted, ", ")), [values](const Value& v) {
            return std::find(values.begin(), values.end(), std::get<std::string>(v)) !=
                   values.end();
          }};
}
Rule any_string() {
  return {"a string", [](const Value&) { return true; }};
}
Rule non_empty_string() {
  return {"a non-empty string", [](const Value& v) { return !std::get<std::string>(v).empty(); }};
}
Rule architecture_name() {  // a row of the models' registry
  std::vector<std::string> names;
  for (const auto& architecture : models::architectures()) names.push_back(architecture.name);
  return one_of(names);
}
Rule device_syntax() {
  return {
      "one of \"cpu\", \"cuda\", \"cuda:N\" (N a device index) or \"auto\"", [](const Value& v) {
        const auto& s = std::get<std::string>(v);
        if (s == "cpu" || s == "cuda" || s == "auto") return true;
        if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
        return std::all_of(s.begin() + 5, s.end(), [](unsigned char c) { return std::isdigit(c); });
      }};
}
Rule boolean() {
  return {"true or false", [](const Value&) { return true; }};
}
Rule non_negative_list() {
  return {"an array of non-negative integers", [](const Value& v) {
            const auto& list = std::get<std::vector<int64_t>>(v);
            return std::all_of(list.begin(), list.end(), [](int64_t x) { return x >= 0; });
          }};
}

// ---- Rows: a key bound to a field through an accessor --------------------------------------
// `access` is a generic lambda `[](auto& c) -> auto& { return c.train.steps; }`, so one
// accessor serves both the const getter and the setter.

template <typename Access>
KeyDef bind(std::string key, ValueType type, Access access, Rule rule, std::string description) {
  KeyDef def{std::move(key), type, std::move(rule), std::move(description), {}, {}};
  def.get = [access](const RunConfig& c) -> Value {
    const auto& field = access(c);
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, bool> || std::is_same_v<Field, double> ||
                  std::is_same_v<Field, std::string> ||
                  std::is_same_v<Field, std::vector<int64_t>>) {
      return Value{field};
    } else {
      return Value{static_cast<int64_t>(field)};  // int64_t and the uint64_t seed
    }
  };
  def.set = [access](RunConfig& c, const Value& v) {
    auto& field = access(c);
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, bool> || std::is_same_v<Field, double> ||
                  std::is_same_v<Field, std::string> ||
                  std::is_same_v<Field, std::vector<int64_t>>) {
      field = std::get<Field>(v);
    } else {
      field = static_cast<Field>(std::get<int64_t>(v));
    }
  };
  return def;
}

template <typename Access>
KeyDef integer(std::string key, Access access, Rule rule, std::string description) {
  return bind(std::move(key), ValueType::integer, access, std::move(rule), std::move(description));
}
template <typename Access>
KeyDef number(std::string key, Access access, Rule rule, std::string description) {
  return bind(std::move(key), ValueType::floating, access, std::move(rule), std::move(description));
}
template <typename Access>
KeyDef flag(std::string key, Access access, std::string description) {
  return bind(std::move(key), ValueType::boolean, access, boolean(), std::move(description));
}
template <typename Access>
KeyDef text(std::string key, Access access, Rule rule, std::string description) {
  return bind(std::move(key), ValueType::string, access, std::move(rule), std::move(description));
}
template <typename Access>
KeyDef integers(std::string key, Access access, Rule rule, std::string description) {
  return bind(std::move(key), ValueType::integer_list, access, std::move(rule),
              std::move(description));
}

std::vector<KeyDef> build_table() {
  return {
      // Top level.
      text(
          "run_dir", [](auto& c) -> auto& { return c.run_dir; }, non_empty_string(),
          "Folder for logs, checkpoints and the saved effective config"),

      // [model]
      text(
          "model.architecture", [](auto& c) -> auto& { return c.model.architecture; },
          architecture_name(),
          "Model registry name: transformer, luna, preluna, convluna, ffkernel, simpletron"),
      integer(
          "model.dim", [](auto& c) -> auto& { return c.model.dim; }, positive(), "Model width d"),
      integer(
          "model.num_heads", [](auto& c) -> auto& { return c.model.num_heads; }, positive(),
          "Attention heads h; must divide the attention width"),
      integer(
          "model.attention_dim", [](auto& c) -> auto& { return c.model.attention_dim; },
          non_negative(),
          "Width of the Q/K/V projections; 0 = model.dim (the simplified "
          "ConvLuna needs it equal to model.dim)"),
      integer(
          "model.ffn_dim", [](auto& c) -> auto& { return c.model.ffn_dim; }, positive(),
          "Feed-forward hidden width f"),
      integer(
          "model.num_blocks", [](auto& c) -> auto& { return c.model.num_blocks; }, positive(),
          "Number of encoder blocks"),
      number(
          "model.dropout", [](auto& c) -> auto& { return c.model.dropout; }, fraction(),
          "Dropout inside the feed-forward network (after GELU and after its output)"),
      number(
          "model.attention_dropout", [](auto& c) -> auto& { return c.model.attention_dropout; },
          fraction(), "Dropout on attention probabilities"),
      integer(
          "model.attention_chunk", [](auto& c) -> auto& { return c.model.attention_chunk; },
          non_negative(),
          "Luna family: query rows of pack/unpack attention computed at once in training, maps "
          "recomputed in backward (0 = all at once)"),
      text(
          "model.norm", [](auto& c) -> auto& { return c.model.norm; }, one_of({"", "post", "pre"}),
          "LayerNorm placement; \"\" = the architecture's default (post for luna and convluna, "
          "pre for the rest)"),
      text(
          "model.masks", [](auto& c) -> auto& { return c.model.masks; },
          one_of({"auto", "on", "off"}),
          "Padding masks; auto = on for transformer, off for the Luna family (as researched)"),
      text(
          "model.representation", [](auto& c) -> auto& { return c.model.representation; },
          one_of({"cls", "mean", "memory"}),
          "Sequence summary for the classifier: CLS token, mean over tokens, or mean of the "
          "final memory (Luna family)"),
      text(
          "model.pair_features", [](auto& c) -> auto& { return c.model.pair_features; },
          one_of({"uv", "full"}), "Matching head input: uv = [u, v]; full = [u, v, u*v, u-v]"),
      text(
          "model.pair_activation", [](auto& c) -> auto& { return c.model.pair_activation; },
          one_of({"gelu", "relu"}),
          "Matching head activation: gelu (the authors' final code) or relu (their "
          "workshop-era head, used with PreLuna)"),
      integer(
          "model.num_classes", [](auto& c) -> auto& { return c.model.num_classes; }, at_least_two(),
          "Output classes"),
      flag(
          "model.pair", [](auto& c) -> auto& { return c.model.pair; },
          "Two-tower matching model (two texts per example)"),

      // [model.input]
      text(
          "model.input.embedding", [](auto& c) -> auto& { return c.model.input.embedding; },
          one_of({"token", "pixel"}),
          "token: embedding table; pixel: continuous e = x*w + b of normalised intensities"),
      integer(
          "model.input.vocab_size", [](auto& c) -> auto& { return c.model.input.vocab_size; },
          non_negative(), "Token embedding rows (pad id 0); unused for pixels"),
      integer(
          "model.input.max_length", [](auto& c) -> auto& { return c.model.input.max_length; },
          non_negative(),
          "Longest input without CLS (= the learned positions; CLS is prepended after them)"),
      number(
          "model.input.pixel_mean", [](auto& c) -> auto& { return c.model.input.pixel_mean; },
          any_number(), "Pixel inputs: x = (p/255 - pixel_mean)/pixel_std (set from the task)"),
      number(
          "model.input.pixel_std", [](auto& c) -> auto& { return c.model.input.pixel_std; },
          positive_number(), "Pixel inputs: the normalisation's divisor (set from the task)"),

      // [model.luna]
      integer(
          "model.luna.memory_len", [](auto& c) -> auto& { return c.model.luna.memory_len; },
          positive(), "Memory length M of the Luna family"),
      text(
          "model.luna.sharing", [](auto& c) -> auto& { return c.model.luna.sharing; },
          one_of({"full", "none"}),
          "full: one attention for pack and unpack (as researched); none: official Luna"),

      // [model.convluna]
      text(
          "model.convluna.variant", [](auto& c) -> auto& { return c.model.convluna.variant; },
          one_of({"simplified", "full"}),
          "simplified: no W_v, shared W_q/W_k/W_o (the paper); full: own W_v, no sharing"),
      text(
          "model.convluna.filter", [](auto& c) -> auto& { return c.model.convluna.filter; },
          one_of({"conv", "maxpool"}), "Filter on packing keys and values along the sequence"),
      integer(
          "model.convluna.kernel", [](auto& c) -> auto& { return c.model.convluna.kernel; },
          positive(), "Filter width k; 1 is the identity"),
      integer(
          "model.convluna.stride", [](auto& c) -> auto& { return c.model.convluna.stride; },
          positive(), "Filter stride s"),
      text(
          "model.convluna.pack_temperature",
          [](auto& c) -> auto& { return c.model.convluna.pack_temperature; },
          one_of({"learn", "unit", "sqrt"}),
          "Packing logit divisor: learn exp(tau) from 1, unit 1, sqrt sqrt(d_h)"),
      text(
          "model.convluna.unpack_temperature",
          [](auto& c) -> auto& { return c.model.convluna.unpack_temperature; },
          one_of({"unit", "sqrt", "learn"}),
          "Unpacking logit divisor: unit (authors' code), sqrt (paper text), learn"),

      // [model.ffkernel]
      text(
          "model.ffkernel.feature_map",
          [](auto& c) -> auto& { return c.model.ffkernel.feature_map; },
          one_of({"softplus", "gated1", "gated2", "gated3"}),
          "Feature map phi of ffkernel: Softplus(xW), or 1-3 gated layers (gated3: low-rank "
          "gates)"),
      number(
          "model.ffkernel.orthogonality",
          [](auto& c) -> auto& { return c.model.ffkernel.orthogonality; }, non_negative_number(),
          "lambda of the orthogonality penalty on phi's W_o added to the loss; 0 = off"),

      // [model.simpletron]
      text(
          "model.simpletron.length_norm",
          [](auto& c) -> auto& { return c.model.simpletron.length_norm; },
          one_of({"padded", "valid", "none"}),
          "N in K^T V / sqrt(N): padded length with CLS, valid length, or none (1)"),
      flag(
          "model.simpletron.output_projection",
          [](auto& c) -> auto& { return c.model.simpletron.output_projection; },
          "Add an output projection W_o after the attention"),

      // [task]
      text(
          "task.name", [](auto& c) -> auto& { return c.task.name; },
          one_of({"listops", "text", "matching", "cifar10", "fmnist", "pathfinder"}),
          "Task whose files task.path holds"),
      text(
          "task.path", [](auto& c) -> auto& { return c.task.path; }, any_string(),
          "Folder holding the task's files (relative to the working directory)"),
      integer(
          "task.max_length", [](auto& c) -> auto& { return c.task.max_length; }, non_negative(),
          "Tokens per text without CLS; 0 = the task's default"),
      text(
          "task.padding", [](auto& c) -> auto& { return c.task.padding; },
          one_of({"longest", "max_length"}),
          "Pad each batch to its longest example, or every batch to task.max_length as the "
          "research did (with masks off, an output then never depends on its batch)"),
      number(
          "task.validation_fraction", [](auto& c) -> auto& { return c.task.validation_fraction; },
          fraction(), "Text only: held-out slice of train used for validation"),
      text(
          "task.pathfinder_difficulty",
          [](auto& c) -> auto& { return c.task.pathfinder_difficulty; },
          one_of({"curv_baseline", "curv_contour_length_9", "curv_contour_length_14"}),
          "Pathfinder only: difficulty folder"),
      text(
          "task.cache_dir", [](auto& c) -> auto& { return c.task.cache_dir; }, any_string(),
          "Tokenised-data cache; \"\" = $XDG_CACHE_HOME/lunar or ~/.cache/lunar, \"off\" disables "
          "it"),
      integer(
          "task.limit", [](auto& c) -> auto& { return c.task.limit; }, non_negative(),
          "Keep at most this many examples per split; 0 = all"),

      // [optim]
      text(
          "optim.name", [](auto& c) -> auto& { return c.optim.name; }, one_of({"adamw", "adam"}),
          "Optimizer: adamw (decoupled weight decay, as researched) or adam (L2 penalty)"),
      number(
          "optim.lr", [](auto& c) -> auto& { return c.optim.lr; }, learning_rate(),
          "Base learning rate, scaled by the schedule"),
      number(
          "optim.beta1", [](auto& c) -> auto& { return c.optim.beta1; }, fraction(),
          "First-moment decay"),
      number(
          "optim.beta2", [](auto& c) -> auto& { return c.optim.beta2; }, fraction(),
          "Second-moment decay"),
      number(
          "optim.eps", [](auto& c) -> auto& { return c.optim.eps; }, positive_number(),
          "Denominator epsilon"),
      number(
          "optim.weight_decay", [](auto& c) -> auto& { return c.optim.weight_decay; },
          non_negative_number(), "Weight decay, on all parameters"),
      number(
          "optim.grad_clip", [](auto& c) -> auto& { return c.optim.grad_clip; },
          non_negative_number(), "Max global L2 norm of the gradient; 0 = off"),

      // [schedule]
      text(
          "schedule.kind", [](auto& c) -> auto& { return c.schedule.kind; },
          one_of({"rsqrt", "cosine", "constant"}),
          "rsqrt: lr*min(1, step/W)/sqrt(max(step, W)) (as researched); cosine: warmup then "
          "cosine to min_lr; constant: warmup then flat"),
      integer(
          "schedule.warmup", [](auto& c) -> auto& { return c.schedule.warmup; }, non_negative(),
          "Warmup steps W"),
      number(
          "schedule.min_lr", [](auto& c) -> auto& { return c.schedule.min_lr; },
          non_negative_number(), "Cosine only: final learning rate; at most optim.lr"),

      // [train]
      integer(
          "train.steps", [](auto& c) -> auto& { return c.train.steps; }, positive(),
          "Optimizer steps"),
      integer(
          "train.batch_size", [](auto& c) -> auto& { return c.train.batch_size; }, positive(),
          "Global batch: examples per optimizer step"),
      integer(
          "train.micro_batch", [](auto& c) -> auto& { return c.train.micro_batch; }, non_negative(),
          "0 = batch_size; else gradient accumulation of batch_size/micro_batch micro-batches "
          "(must divide batch_size)"),
      integer(
          "train.eval_every", [](auto& c) -> auto& { return c.train.eval_every; }, positive(),
          "Steps between evaluations on the full validation set"),
      integer(
          "train.eval_batch_size", [](auto& c) -> auto& { return c.train.eval_batch_size; },
          non_negative(), "Evaluation batch; 0 = batch_size"),
      integer(
          "train.patience", [](auto& c) -> auto& { return c.train.patience; }, non_negative(),
          "Evaluations without improvement before stopping; 0 = off"),
      integer(
          "train.log_every", [](auto& c) -> auto& { return c.train.log_every; }, positive(),
          "Steps between training-log lines"),
      integer(
          "train.checkpoint_every", [](auto& c) -> auto& { return c.train.checkpoint_every; },
          non_negative(), "Steps between checkpoints; 0 = at every evaluation"),
      integer(
          "train.seed", [](auto& c) -> auto& { return c.train.seed; }, non_negative(),
          "Seed of parameters, dropout and batch order"),
      flag(
          "train.bucket_by_length", [](auto& c) -> auto& { return c.train.bucket_by_length; },
          "Batch examples of similar length together"),

      // [runtime]
      text(
          "runtime.device", [](auto& c) -> auto& { return c.runtime.device; }, device_syntax(),
          "cpu, cuda, cuda:N, or auto (cuda when available)"),
      integer(
          "runtime.threads", [](auto& c) -> auto& { return c.runtime.threads; }, non_negative(),
          "CPU intra-op threads; 0 = all cores"),
      text(
          "runtime.precision", [](auto& c) -> auto& { return c.runtime.precision; },
          one_of({"fp32", "bf16"}), "fp32, or bf16 autocast (as researched on GPU)"),
      integer(
          "runtime.dist_timeout_s", [](auto& c) -> auto& { return c.runtime.dist_timeout_s; },
          positive(), "Distributed runs: seconds to wait for peers (rendezvous, collectives)"),

      // [diag]
      integer(
          "diag.every", [](auto& c) -> auto& { return c.diag.every; }, non_negative(),
          "Steps between memory-collapse metrics; 0 = at each evaluation"),
      integers(
          "diag.heatmap_steps", [](auto& c) -> auto& { return c.diag.heatmap_steps; },
          non_negative_list(), "Steps at which to write heatmaps of P and its gradient"),
  };
}

std::vector<Relation> build_relations() {
  return {
      {"train.micro_batch", "train.batch_size",
       [](const RunConfig& c) -> std::string {
         const auto micro = c.train.micro_batch, batch = c.train.batch_size;
         if (micro == 0 || (micro <= batch && batch % micro == 0)) return "";
         return fmt::format("expected 0 or a divisor of train.batch_size ({}), got {}", batch,
                            micro);
       }},
      {"model.num_heads", "model.dim",
       [](const RunConfig& c) -> std::string {
         const auto width = c.model.attention_dim > 0 ? c.model.attention_dim : c.model.dim;
         if (width % c.model.num_heads == 0) return "";
         return fmt::format("expected a divisor of the attention width ({}), got {}", width,
                            c.model.num_heads);
       }},
      {"model.input.max_length", "task.max_length",
       [](const RunConfig& c) -> std::string {
         const auto positions = c.model.input.max_length, tokens = c.task.max_length;
         if (positions == 0 || tokens == 0 || positions >= tokens) return "";
         return fmt::format("expected 0 or at least task.max_length ({}), got {}", tokens,
                            positions);
       }},
      {"schedule.min_lr", "optim.lr",
       [](const RunConfig& c) -> std::string {
         if (c.schedule.min_lr <= c.optim.lr) return "";
         return fmt::format("expected at most optim.lr ({}), got {}",
                            format_value(Value{c.optim.lr}),
                            format_value(Value{c.schedule.min_lr}));
       }},
  };
}

}  // namespace

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = build_table();
  return table;
}

const KeyDef* find_key(std::string_view key) {
  for (const auto& def : key_table()) {
    if (def.key == key) return &def;
  }
  return nullptr;
}

bool is_table(std::string_view prefix) {
  if (prefix.empty()) return true;
  for (const auto& def : key_table()) {
    if (def.key.size() > prefix.size() && def.key.compare(0, prefix.size(), prefix) == 0 &&
        def.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

const std::vector<Relation>& relations() {
  static const std::vector<Relation> list = build_relations();
  return list;
}

std::string type_name(ValueType type) {
  switch (type) {
    case ValueType::integer:
      return "integer";
    case ValueType::floating:
      return "float";
    case ValueType::boolean:
      return "boolean";
    case ValueType::string:
      return "string";
    case ValueType::integer_list:
      return "array of integers";
  }
  return "unknown";
}

std::string format_value(const Value& value) {
  struct Formatter {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(double v) const {
      // fmt prints the shortest text that reads back to the same double; TOML floats need a
      // '.' or an exponent, and spell infinities inf/-inf and NaN nan.
      std::string s = fmt::format("{}", v);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& v) const {  // a TOML basic string
      std::string out = "\"";
      for (const char c : v) {
        switch (c) {
          case '"':
            out += "\\\"";
            break;
          case '\\':
            out += "\\\\";
            break;
          case '\n':
            out += "\\n";
            break;
          case '\t':
            out += "\\t";
            break;
          case '\r':
            out += "\\r";
            break;
          default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
              out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
            } else {
              out += c;
            }
        }
      }
      return out + "\"";
    }
    std::string operator()(const std::vector<int64_t>& v) const {
      return fmt::format("[{}]", fmt::join(v, ", "));
    }
  };
  return std::visit(Formatter{}, value);
}

}  // namespace lunar::train::detail
