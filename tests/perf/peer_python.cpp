// lunar_torch (python/lunar_torch, lunar's models in eager PyTorch) computes lunar's function:
// tiny trained and exported models of every family, a matching and an image model give `lunar
// predict --logits`'s logits through the script docs/training.md shows and through load_run and
// predict; and its refusals name what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/predictions.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;
using Result = lunar::testing::CommandResult;

// The package from the source tree, without writing __pycache__ into it.
const std::string kPython =
    "PYTHONPATH=" LUNAR_SOURCE_DIR "/python PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3";
const std::string kLunar = lunar::testing::lunar_binary();
constexpr int kBatchSize = 32;  // as python/examples/predict_logits.py batches

// A task the variants train on: its generated data (DIR/data_NAME) and examples to predict
// (DIR/input_NAME.txt).
struct Task {
  std::string name;
  std::string settings;  // --set arguments that select it
  size_t rows;           // lines in the examples
  size_t classes;
};
const Task kListOps{"listops", "task.max_length=60 model.input.max_length=60", 43, 10};
const Task kMatching{"matching", "task.name=matching task.max_length=60 model.input.max_length=60",
                     42, 2};
const Task kImages{"fmnist", "task.name=fmnist", 16, 10};

struct Variant {
  std::string name;
  std::string settings;  // extra --set arguments
  const Task* task = &kListOps;
};
void PrintTo(const Variant& variant, std::ostream* out) { *out << variant.name; }

// Every family and the options that change the dataflow: sharing, variant, filter, masks (with
// the max-pool window rule), stride (unpadded above 1), temperatures, representation, attention
// width, norms, and the research's fixed-length padding with masks off; then the matching head
// (two documents padded apart) and the pixel embedding with its two-layer classifier.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> table = {
      {"transformer", "model.architecture=transformer"},
      {"transformer_post", "model.architecture=transformer model.norm=post"},
      {"luna", "model.architecture=luna"},
      {"luna_max_length", "model.architecture=luna task.padding=max_length"},
      {"luna_official", "model.architecture=luna model.luna.sharing=none"},
      {"preluna", "model.architecture=preluna model.representation=memory"},
      {"convluna_conv", "model.architecture=convluna"},
      {"convluna_conv_masked",
       "model.architecture=convluna model.masks=on model.convluna.kernel=3 "
       "model.convluna.stride=2 model.convluna.pack_temperature=sqrt "
       "model.convluna.unpack_temperature=learn model.representation=mean"},
      {"convluna_maxpool_full",
       "model.architecture=convluna model.convluna.variant=full model.convluna.filter=maxpool "
       "model.convluna.kernel=5 model.convluna.stride=2 model.masks=on model.attention_dim=32 "
       "model.convluna.pack_temperature=unit model.convluna.unpack_temperature=sqrt"},
      {"convluna_maxpool", "model.architecture=convluna model.convluna.filter=maxpool"},
      {"convluna_conv_stride4_max_length",
       "model.architecture=convluna model.convluna.stride=4 task.padding=max_length"},
      {"ffkernel", "model.architecture=ffkernel model.ffkernel.orthogonality=0.1"},
      {"simpletron",
       "model.architecture=simpletron model.masks=on model.simpletron.output_projection=true"},
      {"luna_matching",
       "model.architecture=luna model.pair_features=full model.pair_activation=relu", &kMatching},
      {"convluna_images", "model.architecture=convluna model.convluna.stride=4", &kImages},
  };
  return table;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `lunar predict` rows from a file.
std::vector<lunar::testing::PredictionRow> read_rows(const fs::path& path) {
  return lunar::testing::parse_predictions(read_file(path));
}

// Trains `variant` for 20 steps, exports its weights and writes lunar's logits; returns the
// failing command's output, or "" on success.
std::string train_export_predict(const fs::path& dir, const Variant& variant) {
  const auto run_dir = dir / variant.name;
  const auto checkpoint = (run_dir / "checkpoints" / "last.pt").string();
  const auto& task = *variant.task;
  const std::vector<std::string> commands = {
      kLunar + " train --config " LUNAR_SOURCE_DIR "/configs/cpu/listops_convluna.toml" +
          " --run-dir " + run_dir.string() +
          " --set task.path=" + (dir / ("data_" + task.name)).string() + " " + task.settings +
          " model.dim=16 model.ffn_dim=32 model.luna.memory_len=4 train.batch_size=8" +
          " train.steps=20 train.eval_every=20 train.log_every=20 schedule.kind=constant" +
          " schedule.warmup=0 optim.lr=0.01 runtime.threads=1 task.cache_dir=off" +
          " 'diag.heatmap_steps=[]' " + variant.settings,
      kLunar + " export --checkpoint " + checkpoint + " --out " + (run_dir / "weights.pt").string(),
      kLunar + " predict --logits --batch-size " + std::to_string(kBatchSize) + " --checkpoint " +
          checkpoint + " --input " + (dir / ("input_" + task.name + ".txt")).string() + " > " +
          (run_dir / "lunar.txt").string()};
  for (const auto& command : commands) {
    auto result = run_command(command);
    if (result.code != 0) return command + "\n" + result.output;
  }
  return "";
}

// ListOps from lunar's generator; the examples are the test split's expressions with short ones
// among them: padded batches, and (kernel 5) max-pool rows whose every window reaches into
// padding.
std::string write_listops(const fs::path& dir) {
  const auto data = dir / "data_listops";
  if (auto error = lunar::testing::generate_listops(data, {3, 64, 16, 40, 10, 60}); !error.empty())
    return error;
  std::ifstream test_file(data / "basic_test.tsv");
  std::ofstream input(dir / "input_listops.txt");
  std::string line;
  std::getline(test_file, line);  // header
  for (int i = 0; std::getline(test_file, line); ++i) {
    input << line.substr(0, line.find('\t')) << "\n";
    if (i % 13 == 5) input << "( [MAX 2 ] )\n";
  }
  return "";
}

// Lowercase letters and spaces, a random length in [1, 60).
std::string random_text(std::mt19937& random) {
  std::string text(1 + random() % 59, ' ');
  for (auto& c : text) c = random() % 5 == 0 ? ' ' : static_cast<char>('a' + random() % 26);
  text.front() = 'a';
  return text;
}

// AAN-style matching TSVs (label id1 id2 text1 text2) of random texts, three in four labelled 1
// (a prior 20 steps learn, so the two logits differ); the examples are the test split's pairs and
// two pairs of very different lengths, so that the two documents of a batch pad differently.
void write_matching(const fs::path& dir) {
  const auto data = dir / "data_matching";
  fs::create_directories(data);
  std::mt19937 random(5);
  std::ofstream input(dir / "input_matching.txt");
  for (const auto& [split, count] :
       {std::pair<std::string, int>{"train", 64}, {"eval", 16}, {"test", 40}}) {
    std::ofstream out(data / ("new_aan_pairs." + split + ".tsv"));
    for (int i = 0; i < count; ++i) {
      const auto first = random_text(random), second = random_text(random);
      out << (random() % 4 != 0) << "\tid" << i << "a\tid" << i << "b\t" << first << "\t" << second
          << "\n";
      if (split == "test") input << first << "\t" << second << "\n";
    }
  }
  input << "ab\t" << std::string(50, 'x') << "\n" << std::string(55, 'y') << "\tcd\n";
}

// An IDX file (Fashion-MNIST's format): the header (magic, then dimensions) as big-endian
// 32-bit numbers, then the bytes.
void write_idx(const fs::path& path, const std::vector<uint32_t>& header,
               const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  for (uint32_t value : header) {
    for (int shift = 24; shift >= 0; shift -= 8) out.put(static_cast<char>(value >> shift));
  }
  out << bytes;
}

// Fashion-MNIST files of random 28x28 images with random labels; the examples are the test
// images as pixel lines, separated by spaces or (every other image) commas.
void write_images(const fs::path& dir) {
  constexpr uint32_t kPixels = 28 * 28;
  const auto data = dir / "data_fmnist";
  fs::create_directories(data);
  std::mt19937 random(7);
  std::ofstream input(dir / "input_fmnist.txt");
  for (const auto& [prefix, count] :
       {std::pair<std::string, uint32_t>{"train", 40}, {"t10k", 16}}) {
    std::string images(count * kPixels, '\0'), labels(count, '\0');
    for (auto& pixel : images) pixel = static_cast<char>(random() % 256);
    for (auto& label : labels) label = static_cast<char>(random() % 10);
    write_idx(data / (prefix + "-images-idx3-ubyte"), {0x803, count, 28, 28}, images);
    write_idx(data / (prefix + "-labels-idx1-ubyte"), {0x801, count}, labels);
    if (prefix != "t10k") continue;
    for (uint32_t image = 0; image < count; ++image) {
      for (uint32_t i = 0; i < kPixels; ++i) {
        input << (i == 0      ? ""
                  : image % 2 ? ","
                              : " ")
              << static_cast<int>(static_cast<unsigned char>(images[image * kPixels + i]));
      }
      input << "\n";
    }
  }
}

// Writes the data, runs lunar for every variant and the documented script once per task;
// returns what failed.
std::string prepare(const fs::path& dir) {
  if (run_command(kPython + " -c 'import torch, tomllib'").code != 0) {
    return "Debian's python3-torch under /usr/bin/python3 is not installed "
           "(scripts/install-deps.sh installs it)";
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (auto error = write_listops(dir); !error.empty()) return error;
  write_matching(dir);
  write_images(dir);

  // Three variants at a time: a lunar process spends most of its ~1.5 s loading LibTorch,
  // and each trains on one thread.
  std::atomic<size_t> next{0};
  std::vector<std::string> errors(variants().size());
  auto worker = [&] {
    for (size_t i = next++; i < variants().size(); i = next++) {
      errors[i] = train_export_predict(dir, variants()[i]);
    }
  };
  std::vector<std::future<void>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(std::async(std::launch::async, worker));
  for (auto& w : workers) w.get();
  for (size_t i = 0; i < variants().size(); ++i) {
    if (!errors[i].empty()) return variants()[i].name + ": " + errors[i];
  }
  // One Python process per task, for all its runs (importing torch takes about 2 s), the three
  // side by side.
  std::vector<std::future<Result>> scripts;
  for (const Task* task : {&kListOps, &kMatching, &kImages}) {
    std::string runs;
    for (const auto& variant : variants()) {
      if (variant.task == task) runs += " " + (dir / variant.name).string();
    }
    scripts.push_back(std::async(std::launch::async, run_command,
                                 kPython +
                                     " " LUNAR_SOURCE_DIR "/python/examples/predict_logits.py " +
                                     (dir / ("input_" + task->name + ".txt")).string() + runs));
  }
  std::string failed;
  for (auto& script : scripts) {
    const auto result = script.get();
    if (result.code != 0) failed += result.output;
  }
  return failed;
}

// The trained runs, exported as RUN/weights.pt, with lunar's logits in RUN/lunar.txt and
// lunar_torch's in RUN/logits.txt; made once for all tests, removed at exit.
struct PeerRuns {
  PeerRuns() : dir(fs::temp_directory_path() / "lunar_peer_e2e"), error(prepare(dir)) {}
  PeerRuns(const PeerRuns&) = delete;
  PeerRuns& operator=(const PeerRuns&) = delete;
  ~PeerRuns() { fs::remove_all(dir); }

  const fs::path dir;
  const std::string error;  // what failed while making them; "" when all is there
};

const PeerRuns& peer_runs() {
  static const PeerRuns runs;
  return runs;
}

// lunar_torch's rows `torch_rows` against lunar's from the same examples: the same count, the
// same class and every logit within 2e-6 (relative above 1); returns the largest difference.
double expect_same_logits(const fs::path& lunar_rows, const fs::path& torch_rows,
                          const Task& task) {
  const auto lunar = read_rows(lunar_rows);
  const auto peer = read_rows(torch_rows);
  EXPECT_EQ(lunar.size(), task.rows) << lunar_rows;
  EXPECT_EQ(peer.size(), lunar.size()) << torch_rows;
  double max_diff = 0, spread = 0;
  for (size_t row = 0; row < std::min(lunar.size(), peer.size()); ++row) {
    if (lunar[row].values.size() != task.classes || peer[row].values.size() != task.classes) {
      ADD_FAILURE() << "row " << row << ": expected " << task.classes << " logits, got "
                    << lunar[row].values.size() << " (lunar) and " << peer[row].values.size();
      continue;
    }
    EXPECT_EQ(lunar[row].label, peer[row].label) << "class of row " << row;
    for (size_t c = 0; c < task.classes; ++c) {
      const double a = lunar[row].values[c], b = peer[row].values[c];
      // Both print 9 significant digits; float32 sums in another order differ by ~1e-7.
      EXPECT_LE(std::abs(a - b), 2e-6 * std::max(1.0, std::abs(a)))
          << "row " << row << " class " << c << ": lunar " << a << ", lunar_torch " << b;
      max_diff = std::max(max_diff, std::abs(a - b));
      spread = std::max(spread, std::abs(a - lunar[row].values[0]));
    }
  }
  // Trained weights, not a degenerate model: the logits differ across classes.
  EXPECT_GT(spread, 0.05) << lunar_rows;
  return max_diff;
}

class PeerE2e : public ::testing::TestWithParam<Variant> {};

TEST_P(PeerE2e, SameLogitsAsLunar) {
  const auto& runs = peer_runs();
  ASSERT_TRUE(runs.error.empty()) << runs.error;
  const auto run_dir = runs.dir / GetParam().name;
  const double max_diff =
      expect_same_logits(run_dir / "lunar.txt", run_dir / "logits.txt", *GetParam().task);
  std::printf("[ peer     ] %-22s max |logit diff| %.2e\n", GetParam().name.c_str(), max_diff);
}

INSTANTIATE_TEST_SUITE_P(Families, PeerE2e, ::testing::ValuesIn(variants()),
                         [](const auto& entry) { return entry.param.name; });

// tests/perf/peer_api.py on the luna run, once: it writes SCRATCH/predict.txt and prints
// `case TAB message` for each refusal.
struct ApiChecks {
  fs::path run, scratch;
  Result printed;
};
const ApiChecks& api_checks() {
  static const ApiChecks checks = [] {
    const auto& runs = peer_runs();
    const auto run = runs.dir / "luna", scratch = runs.dir / "api";
    fs::create_directories(scratch);
    return ApiChecks{
        run, scratch,
        run_command(kPython + " " LUNAR_SOURCE_DIR "/tests/perf/peer_api.py " + run.string() + " " +
                    (runs.dir / "input_listops.txt").string() + " " + scratch.string())};
  }();
  return checks;
}

// load_run finds RUN/weights.pt, and predict batches as lunar predict does.
TEST(PeerApi, LoadRunAndPredictGiveLunarsLogits) {
  ASSERT_TRUE(peer_runs().error.empty()) << peer_runs().error;
  const auto& checks = api_checks();
  ASSERT_EQ(checks.printed.code, 0) << checks.printed.output;
  expect_same_logits(checks.run / "lunar.txt", checks.scratch / "predict.txt", kListOps);
}

// Each refusal names what is wrong and what to do.
TEST(PeerApi, RefusalsNameTheProblem) {
  ASSERT_TRUE(peer_runs().error.empty()) << peer_runs().error;
  const auto& checks = api_checks();
  ASSERT_EQ(checks.printed.code, 0) << checks.printed.output;
  std::map<std::string, std::string> messages;
  std::istringstream lines(checks.printed.output);
  for (std::string line; std::getline(lines, line);) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) messages[line.substr(0, tab)] = line.substr(tab + 1);
  }
  const auto& run = checks.run;
  const auto& scratch = checks.scratch;
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"renamed",
       {(scratch / "renamed.pt").string(), "missing 'encoder.memory'",
        "unexpected 'encoder.memory_renamed'"}},
      {"misshapen", {"'classifier.output.bias' expected shape [10], got [3]"}},
      {"tagged", {(scratch / "tagged.pt").string(), "restore_type_tag", "export it again"}},
      {"checkpoint",
       {"such as a lunar checkpoint in " + (run / "checkpoints" / "last.pt").string(),
        "run `lunar export --checkpoint"}},
      {"unexported",
       {(scratch / "unexported" / "weights.pt").string() + ": no such file",
        "run `lunar export --checkpoint " +
            (scratch / "unexported" / "checkpoints" / "best.pt").string()}},
      {"unknown_key", {"unknown_key.toml: unknown key model.future_key"}},
      {"empty_line", {"examples.txt:2: text: expected a non-empty example"}},
  };
  for (const auto& [name, parts] : expected) {
    ASSERT_EQ(messages.count(name), 1u) << name << " missing from:\n" << checks.printed.output;
    for (const auto& part : parts) {
      EXPECT_NE(messages[name].find(part), std::string::npos)
          << name << ": expected '" << part << "' in: " << messages[name];
    }
  }
}

// docs/training.md shows python/examples/predict_logits.py whole, so what the docs tell users
// to run is what SameLogitsAsLunar runs.
TEST(PeerDocs, TrainingGuideShowsTheTestedScript) {
  const auto script = read_file(LUNAR_SOURCE_DIR "/python/examples/predict_logits.py");
  const auto guide = read_file(LUNAR_SOURCE_DIR "/docs/training.md");
  ASSERT_FALSE(script.empty());
  EXPECT_NE(guide.find("```python\n" + script + "```\n"), std::string::npos)
      << "docs/training.md should show python/examples/predict_logits.py verbatim";
}

}  // namespace
