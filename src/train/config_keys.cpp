// The run configuration's keys: train's own tables ([optim], [schedule], [train], [runtime],
// [diag] and run_dir), composed with models::model_keys() and data::task_keys(). Adding a key is
// one row beside its struct's module (and a field in the struct).
#include "config_keys.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "lunar/data/task.h"
#include "lunar/data/task_keys.h"
#include "lunar/models/registry.h"

namespace lunar::train::detail {
namespace {

template <typename... Args>
KeyDef key(Args&&... args) {
  return keys::bind<RunConfig>(std::forward<Args>(args)...);
}

keys::Rule device_syntax() {
  return {"one of \"cpu\", \"cuda\", \"cuda:N\" (N a device index) or \"auto\"",
          [](const Value& v) {
            const auto& s = std::get<std::string>(v);
            if (s == "cpu" || s == "cuda" || s == "auto") return true;
            if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
            return std::all_of(s.begin() + 5, s.end(),
                               [](unsigned char c) { return std::isdigit(c); });
          },
          {},
          {}};
}

std::vector<KeyDef> build_table() {
  std::vector<KeyDef> table = {key(
      "run_dir", [](auto& c) -> auto& { return c.run_dir; }, keys::non_empty_string(),
      "Folder for logs, checkpoints and the saved effective config")};
  keys::append_nested(
      table, "model", [](auto& c) -> auto& { return c.model; }, models::model_keys());
  keys::append_nested(
      table, "task", [](auto& c) -> auto& { return c.task; }, data::task_keys());
  std::vector<KeyDef> own = {
      // [optim]
      key(
          "optim.name", [](auto& c) -> auto& { return c.optim.name; },
          "Optimizer: adamw (decoupled weight decay, as researched) or adam (L2 penalty)"),
      key(
          "optim.lr", [](auto& c) -> auto& { return c.optim.lr; }, keys::learning_rate(),
          "Base learning rate, scaled by the schedule"),
      key(
          "optim.beta1", [](auto& c) -> auto& { return c.optim.beta1; }, keys::fraction(),
          "First-moment decay"),
      key(
          "optim.beta2", [](auto& c) -> auto& { return c.optim.beta2; }, keys::fraction(),
          "Second-moment decay"),
      key(
          "optim.eps", [](auto& c) -> auto& { return c.optim.eps; }, keys::positive_number(),
          "Denominator epsilon"),
      key(
          "optim.weight_decay", [](auto& c) -> auto& { return c.optim.weight_decay; },
          keys::non_negative_number(), "Weight decay, on all parameters"),
      key(
          "optim.grad_clip", [](auto& c) -> auto& { return c.optim.grad_clip; },
          keys::non_negative_number(), "Max global L2 norm of the gradient; 0 = off"),

      // [schedule]
      key(
          "schedule.kind", [](auto& c) -> auto& { return c.schedule.kind; },
          "rsqrt: lr*min(1, step/W)/sqrt(max(step, W)) (as researched); cosine: warmup then "
          "cosine to min_lr; constant: warmup then flat"),
      key(
          "schedule.warmup", [](auto& c) -> auto& { return c.schedule.warmup; },
          keys::non_negative(), "Warmup steps W"),
      key(
          "schedule.min_lr", [](auto& c) -> auto& { return c.schedule.min_lr; },
          keys::non_negative_number(), "Cosine only: final learning rate; at most optim.lr"),

      // [train]
      key(
          "train.steps", [](auto& c) -> auto& { return c.train.steps; }, keys::positive(),
          "Optimizer steps"),
      key(
          "train.batch_size", [](auto& c) -> auto& { return c.train.batch_size; }, keys::positive(),
          "Global batch: examples per optimizer step"),
      key(
          "train.micro_batch", [](auto& c) -> auto& { return c.train.micro_batch; },
          keys::non_negative(),
          "0 = batch_size; else gradient accumulation of batch_size/micro_batch micro-batches "
          "(must divide batch_size)"),
      key(
          "train.eval_every", [](auto& c) -> auto& { return c.train.eval_every; }, keys::positive(),
          "Steps between evaluations on the full validation set"),
      key(
          "train.eval_batch_size", [](auto& c) -> auto& { return c.train.eval_batch_size; },
          keys::non_negative(), "Evaluation batch; 0 = batch_size"),
      key(
          "train.patience", [](auto& c) -> auto& { return c.train.patience; }, keys::non_negative(),
          "Evaluations without improvement before stopping; 0 = off"),
      key(
          "train.log_every", [](auto& c) -> auto& { return c.train.log_every; }, keys::positive(),
          "Steps between training-log lines"),
      key(
          "train.checkpoint_every", [](auto& c) -> auto& { return c.train.checkpoint_every; },
          keys::non_negative(), "Steps between checkpoints; 0 = at every evaluation"),
      key(
          "train.seed", [](auto& c) -> auto& { return c.train.seed; }, keys::non_negative(),
          "Seed of parameters, dropout and batch order"),
      key(
          "train.bucket_by_length", [](auto& c) -> auto& { return c.train.bucket_by_length; },
          "Batch examples of similar length together"),

      // [runtime]
      key(
          "runtime.device", [](auto& c) -> auto& { return c.runtime.device; }, device_syntax(),
          "cpu, cuda, cuda:N, or auto (cuda when available)"),
      key(
          "runtime.threads", [](auto& c) -> auto& { return c.runtime.threads; },
          keys::non_negative(), "CPU intra-op threads; 0 = all cores"),
      key(
          "runtime.precision", [](auto& c) -> auto& { return c.runtime.precision; },
          "fp32, or bf16 autocast (as researched on GPU)"),
      key(
          "runtime.dist_timeout_s", [](auto& c) -> auto& { return c.runtime.dist_timeout_s; },
          keys::positive(),
          "Distributed runs: seconds to wait for peers (rendezvous, collectives)"),

      // [diag]
      key(
          "diag.every", [](auto& c) -> auto& { return c.diag.every; }, keys::non_negative(),
          "Steps between memory-collapse metrics; 0 = at each evaluation"),
      key(
          "diag.heatmap_steps", [](auto& c) -> auto& { return c.diag.heatmap_steps; },
          keys::non_negative_list(), "Steps at which to write heatmaps of P and its gradient"),
  };
  for (auto& def : own) table.push_back(std::move(def));
  return table;
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
                            keys::format_value(Value{c.optim.lr}),
                            keys::format_value(Value{c.schedule.min_lr}));
       }},
  };
}

}  // namespace

const std::vector<KeyDef>& key_table() {
  // Registered families and tasks add keys and names: rebuild when their tables grew.
  static std::vector<KeyDef> table;
  static size_t families = 0, tasks = 0;
  const size_t family_count = models::architectures().size();
  const size_t task_count = data::task_names().size();
  if (table.empty() || family_count != families || task_count != tasks) {
    table = build_table();
    families = family_count;
    tasks = task_count;
  }
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

}  // namespace lunar::train::detail
