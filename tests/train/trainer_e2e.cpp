// The training loop on an in-memory toy task: learning, exact resume, best vs last checkpoints,
// and that diagnostics do not change training.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <random>

#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/callbacks.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/run_log.h"
#include "lunar/train/signals.h"
#include "lunar/train/trainer.h"
#include "support/tensor_compare.h"

namespace fs = std::filesystem;
using namespace lunar;

namespace {

// Label 1 iff token 7 occurs; other tokens are drawn from 2..6. Balanced.
std::vector<data::Example> toy_split(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<data::Example> out;
  for (int64_t i = 0; i < count; ++i) {
    data::Example e;
    const int length = 6 + static_cast<int>(rng() % 10);
    for (int t = 0; t < length; ++t) e.tokens.push_back(2 + static_cast<int32_t>(rng() % 5));
    e.label = static_cast<int32_t>(i % 2);
    if (e.label == 1) e.tokens[rng() % length] = 7;
    out.push_back(std::move(e));
  }
  return out;
}

data::TaskData toy_task() {
  data::TaskData task;
  task.info = {"toy", 8, 2, 16, false, false};
  task.train = toy_split(512, 1);
  task.validation = toy_split(128, 2);
  task.test = toy_split(128, 3);
  return task;
}

train::RunConfig toy_config(const std::string& architecture, int64_t steps) {
  train::RunConfig c;
  c.model.architecture = architecture;
  c.model.dim = 16;
  c.model.num_heads = 2;
  c.model.ffn_dim = 32;
  c.model.num_blocks = 1;
  c.model.luna.memory_len = 4;
  c.model.input.vocab_size = 8;
  c.model.input.max_length = 16;
  c.model.num_classes = 2;
  c.model.masks = lunar::models::Masks::on;
  c.optim.lr = 0.01;
  c.schedule.kind = lunar::train::ScheduleKind::constant;
  c.schedule.warmup = 10;
  c.train.steps = steps;
  c.train.batch_size = 16;
  c.train.micro_batch = 8;  // gradient accumulation of 2
  c.train.eval_every = 20;
  c.train.log_every = 10;
  c.train.seed = 7;
  return c;
}

struct Fixture {
  fs::path dir;
  explicit Fixture(const std::string& name) : dir(fs::temp_directory_path() / name) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Fixture() { fs::remove_all(dir); }
  train::CheckpointPaths paths() const { return {dir / "last.pt", dir / "best.pt"}; }
};

models::LunarModel fresh_model(const train::RunConfig& c) {
  seed_everything(c.train.seed);
  return models::build_model(c.model);
}

// Requests a stop (as SIGINT would) after a given step.
class InterruptAt : public train::TrainerCallback {
 public:
  explicit InterruptAt(int64_t step) : step_(step) {}
  void on_step(const train::StepRecord& r, models::LunarModel&,
               const models::ModelOutput&) override {
    if (r.step == step_) std::raise(SIGINT);
  }

 private:
  int64_t step_;
};

class RecordEvals : public train::TrainerCallback {
 public:
  void on_eval(const train::EvalRecord& r, models::LunarModel&) override { evals.push_back(r); }
  std::vector<train::EvalRecord> evals;
};

std::vector<at::Tensor> parameters_of(models::LunarModel& model) {
  std::vector<at::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace

TEST(Trainer, TinyModelsLearnTheToyTask) {
  const auto task = toy_task();
  for (const std::string architecture : {"transformer", "luna", "convluna"}) {
    Fixture fx("lunar_trainer_learn_" + architecture);
    auto config = toy_config(architecture, 150);
    auto model = fresh_model(config);
    train::Trainer trainer(config, model, task, at::kCPU, fx.paths(), "");
    const auto outcome = trainer.run();
    EXPECT_EQ(outcome.state.step, 150);
    const auto result = train::evaluate(model, task.test, 64, 0, at::kCPU, false);
    EXPECT_GT(result.accuracy, 0.9) << architecture << " did not learn: chance is 0.5";
  }
}

TEST(Trainer, ResumeEqualsUninterruptedRun) {
  const auto task = toy_task();
  auto config = toy_config("convluna", 60);
  config.model.dropout = 0.1;  // exercises the RNG state in the checkpoint

  Fixture straight("lunar_trainer_straight");
  auto model_a = fresh_model(config);
  train::Trainer a(config, model_a, task, at::kCPU, straight.paths(), "");
  a.run();

  Fixture killed("lunar_trainer_killed");
  train::install_stop_handlers();
  train::clear_stop_request();
  auto model_b = fresh_model(config);
  {
    train::Trainer b(config, model_b, task, at::kCPU, killed.paths(), "");
    b.add_callback(std::make_shared<InterruptAt>(30));
    const auto outcome = b.run();
    EXPECT_TRUE(outcome.interrupted);
    EXPECT_EQ(outcome.state.step, 30);
  }
  train::clear_stop_request();
  auto model_c = fresh_model(config);
  // Different weights before resuming, so equality below proves the checkpoint restored them.
  {
    at::NoGradGuard g;
    for (auto& p : model_c->parameters()) p.add_(1.0);
  }
  train::Trainer c(config, model_c, task, at::kCPU, killed.paths(), "");
  c.resume_from(killed.dir / "last.pt");
  EXPECT_EQ(c.state().step, 30);
  c.run();

  const auto pa = parameters_of(model_a), pc = parameters_of(model_c);
  ASSERT_EQ(pa.size(), pc.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TENSORS_CLOSE(pc[i], pa[i], 0.0, 1e-6);
}

// Requests a stop (as SIGTERM would) in the middle of the n-th validation.
class InterruptEvaluation : public train::TrainerCallback {
 public:
  explicit InterruptEvaluation(int evaluation) : evaluation_(evaluation) {}
  void on_eval_progress(const std::string& split, int64_t done, int64_t total) override {
    if (split != "val") return;
    if (done <= last_done_) ++seen_;  // a new evaluation
    last_done_ = done;
    if (seen_ == evaluation_ && done < total) std::raise(SIGTERM);
  }

 private:
  int evaluation_;
  int seen_ = 1;
  int64_t last_done_ = 0;
};

TEST(Trainer, EvaluationReportsProgressStopsEarlyAndCountsPredictions) {
  const auto task = toy_task();
  auto config = toy_config("luna", 1);
  auto model = fresh_model(config);
  std::vector<std::pair<int64_t, int64_t>> calls;
  const auto partial =
      train::evaluate(model, task.test, 16, 0, at::kCPU, false, [&](int64_t done, int64_t total) {
        calls.emplace_back(done, total);
        return done < 48;
      });
  const std::vector<std::pair<int64_t, int64_t>> expected{{16, 128}, {32, 128}, {48, 128}};
  EXPECT_EQ(calls, expected);
  EXPECT_FALSE(partial.complete);
  EXPECT_EQ(partial.count, 48);
  ASSERT_EQ(partial.predictions.size(), 2u);
  EXPECT_EQ(partial.predictions[0] + partial.predictions[1], 48);

  const auto full = train::evaluate(model, task.test, 16, 0, at::kCPU, false);
  EXPECT_TRUE(full.complete);
  EXPECT_EQ(full.predictions[0] + full.predictions[1], 128);
  train::EvalResult one;
  one.predictions = {0, 7, 0};
  EXPECT_TRUE(train::predicts_one_class(one));
  one.predictions = {1, 7, 0};
  EXPECT_FALSE(train::predicts_one_class(one));
  one.predictions = {};
  EXPECT_FALSE(train::predicts_one_class(one));
}

TEST(Trainer, StopDuringAnEvaluationResumesWithThatEvaluation) {
  const auto task = toy_task();
  auto config = toy_config("convluna", 60);
  config.model.dropout = 0.1;
  config.train.eval_batch_size = 16;  // 8 validation batches, so a stop lands inside one

  Fixture straight("lunar_trainer_eval_straight");
  auto model_a = fresh_model(config);
  train::Trainer a(config, model_a, task, at::kCPU, straight.paths(), "");
  auto evals_a = std::make_shared<RecordEvals>();
  a.add_callback(evals_a);
  a.run();
  ASSERT_EQ(evals_a->evals.size(), 3u);  // steps 20, 40, 60

  Fixture killed("lunar_trainer_eval_killed");
  train::install_stop_handlers();
  train::clear_stop_request();
  auto model_b = fresh_model(config);
  {
    train::Trainer b(config, model_b, task, at::kCPU, killed.paths(), "");
    auto evals_b = std::make_shared<RecordEvals>();
    b.add_callback(std::make_shared<InterruptEvaluation>(2));
    b.add_callback(evals_b);
    const auto outcome = b.run();
    EXPECT_TRUE(outcome.interrupted);
    EXPECT_EQ(outcome.state.step, 40);
    EXPECT_EQ(evals_b->evals.size(), 1u) << "the stopped evaluation must not be reported";
  }
  const auto header = train::read_checkpoint_header(killed.dir / "last.pt");
  EXPECT_EQ(header.state.step, 40);
  EXPECT_TRUE(header.state.evaluation_pending);
  EXPECT_EQ(header.state.best_step, 20);

  train::clear_stop_request();
  auto model_c = fresh_model(config);
  train::Trainer c(config, model_c, task, at::kCPU, killed.paths(), "");
  auto evals_c = std::make_shared<RecordEvals>();
  c.add_callback(evals_c);
  c.resume_from(killed.dir / "last.pt");
  const auto outcome = c.run();
  EXPECT_FALSE(outcome.interrupted);
  ASSERT_EQ(evals_c->evals.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(evals_c->evals[i].step, evals_a->evals[i + 1].step);
    EXPECT_EQ(evals_c->evals[i].validation.accuracy, evals_a->evals[i + 1].validation.accuracy);
    EXPECT_EQ(evals_c->evals[i].validation.loss, evals_a->evals[i + 1].validation.loss);
  }
  EXPECT_FALSE(train::read_checkpoint_header(killed.dir / "last.pt").state.evaluation_pending);
  const auto pa = parameters_of(model_a), pc = parameters_of(model_c);
  ASSERT_EQ(pa.size(), pc.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TENSORS_CLOSE(pc[i], pa[i], 0.0, 0.0);
}

TEST(Trainer, BestCheckpointIsTheBestValidationStep) {
  const auto task = toy_task();
  Fixture fx("lunar_trainer_best");
  auto config = toy_config("luna", 100);
  config.train.eval_every = 10;
  auto model = fresh_model(config);
  train::Trainer trainer(config, model, task, at::kCPU, fx.paths(), "cfg");
  auto evals = std::make_shared<RecordEvals>();
  trainer.add_callback(evals);
  const auto outcome = trainer.run();
  ASSERT_EQ(evals->evals.size(), 10u);
  size_t best = 0;
  for (size_t i = 1; i < evals->evals.size(); ++i) {
    if (evals->evals[i].validation.accuracy > evals->evals[best].validation.accuracy) best = i;
  }
  EXPECT_EQ(outcome.state.best_step, evals->evals[best].step);
  EXPECT_DOUBLE_EQ(outcome.state.best_accuracy, evals->evals[best].validation.accuracy);

  const auto header = train::read_checkpoint_header(fx.dir / "best.pt");
  EXPECT_EQ(header.state.step, evals->evals[best].step);
  EXPECT_EQ(header.config_toml, "cfg");
  auto reloaded = fresh_model(config);
  train::load_checkpoint(fx.dir / "best.pt", *reloaded, nullptr);
  EXPECT_DOUBLE_EQ(train::evaluate(reloaded, task.validation, 32, 0, at::kCPU, false).accuracy,
                   evals->evals[best].validation.accuracy);
  EXPECT_EQ(train::read_checkpoint_header(fx.dir / "last.pt").state.step, 100);
}

TEST(Trainer, DiagnosticsDoNotChangeTraining) {
  const auto task = toy_task();
  auto config = toy_config("convluna", 40);
  config.model.dropout = 0.1;
  Fixture plain("lunar_trainer_nodiag"), diag("lunar_trainer_diag");
  auto model_a = fresh_model(config);
  train::Trainer a(config, model_a, task, at::kCPU, plain.paths(), "");
  a.run();
  auto model_b = fresh_model(config);
  train::Trainer b(config, model_b, task, at::kCPU, diag.paths(), "");
  auto log = std::make_shared<train::RunLog>(diag.dir);
  const auto probe = data::collate(task.validation, {0, 1, 2, 3, 4, 5, 6, 7});
  b.add_callback(std::make_shared<train::DiagnosticsCallback>(
      log, probe, at::kCPU, 5, std::vector<int64_t>{0, 20}, diag.dir / "heatmaps"));
  b.run();
  const auto pa = parameters_of(model_a), pb = parameters_of(model_b);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TENSORS_CLOSE(pb[i], pa[i], 0.0, 0.0);
  EXPECT_TRUE(fs::exists(diag.dir / "heatmaps" / "memory_step000000.png"));
  EXPECT_TRUE(fs::exists(diag.dir / "heatmaps" / "memory_step000020.png"));
  EXPECT_TRUE(fs::exists(diag.dir / "heatmaps" / "memory_grad_step000020.png"));
  EXPECT_TRUE(fs::exists(diag.dir / "metrics.jsonl"));
}

// PyTorch's LambdaLR, as the research ran it: update n takes λ(n − 1), so the first update has
// learning rate 0 and leaves the weights unchanged (AdamW's decay is scaled by the rate too).
TEST(Trainer, UpdateNTakesTheScheduleAtNMinusOne) {
  class RecordSteps : public train::TrainerCallback {
   public:
    void on_step(const train::StepRecord& r, models::LunarModel& model,
                 const models::ModelOutput&) override {
      rates.push_back(r.learning_rate);
      if (r.step == 1) after_first = parameters_of(model);
    }
    std::vector<double> rates;
    std::vector<at::Tensor> after_first;
  };
  const auto task = toy_task();
  Fixture fx("lunar_trainer_lambda");
  auto config = toy_config("convluna", 3);
  config.optim.weight_decay = 0.1;
  auto model = fresh_model(config);
  const auto initial = parameters_of(model);
  train::Trainer trainer(config, model, task, at::kCPU, fx.paths(), "");
  auto steps = std::make_shared<RecordSteps>();
  trainer.add_callback(steps);
  trainer.run();
  // constant schedule, W = 10, base 0.01: λ(t) = 0.01 · t / 10
  ASSERT_EQ(steps->rates.size(), 3u);
  EXPECT_DOUBLE_EQ(steps->rates[0], 0.0);
  EXPECT_DOUBLE_EQ(steps->rates[1], 0.001);
  EXPECT_DOUBLE_EQ(steps->rates[2], 0.002);
  ASSERT_EQ(steps->after_first.size(), initial.size());
  for (size_t i = 0; i < initial.size(); ++i) {
    EXPECT_TENSORS_CLOSE(steps->after_first[i], initial[i], 0.0, 0.0);
  }
  const auto last = parameters_of(model);
  EXPECT_FALSE(last[0].equal(initial[0]));
}

TEST(Trainer, EarlyStoppingAfterPatienceEvaluationsWithoutImprovement) {
  const auto task = toy_task();
  Fixture fx("lunar_trainer_patience");
  auto config = toy_config("luna", 100);
  config.optim.lr = 0.0;  // nothing changes, so nothing improves after the first evaluation
  config.train.eval_every = 5;
  config.train.patience = 2;
  auto model = fresh_model(config);
  train::Trainer trainer(config, model, task, at::kCPU, fx.paths(), "");
  const auto outcome = trainer.run();
  EXPECT_TRUE(outcome.stopped_early);
  EXPECT_EQ(outcome.state.step, 15);  // evaluations at 5 (best), 10 and 15 (no improvement)
  EXPECT_EQ(outcome.state.best_step, 5);
  EXPECT_EQ(train::read_checkpoint_header(fx.dir / "last.pt").state.step, 15);
}

TEST(Trainer, NonFiniteLossStopsWithAClearMessage) {
  auto task = toy_task();
  Fixture fx("lunar_trainer_nan");
  auto config = toy_config("luna", 20);
  config.optim.lr = 1e30;  // diverges within a few steps
  config.schedule.warmup = 0;
  auto model = fresh_model(config);
  train::Trainer trainer(config, model, task, at::kCPU, fx.paths(), "");
  try {
    trainer.run();
    FAIL() << "training with lr 1e30 did not stop";
  } catch (const lunar::Error& error) {
    EXPECT_NE(std::string(error.what()).find("the loss became"), std::string::npos) << error.what();
  }
}
