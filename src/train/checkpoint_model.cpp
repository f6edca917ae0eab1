// Rebuilding a model from a checkpoint.
#include "lunar/train/checkpoint_model.h"

#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/checkpoint.h"

namespace lunar::train {

CheckpointModel load_checkpoint_model(const std::filesystem::path& checkpoint,
                                      const std::vector<std::string>& overrides) {
  const auto header = read_checkpoint_header(checkpoint);
  CheckpointModel out;
  out.config = parse_config(header.config_toml, checkpoint.string());
  apply_overrides(out.config, overrides);
  seed_everything(out.config.train.seed);
  out.model = models::build_model(out.config.model);
  load_checkpoint(checkpoint, *out.model, nullptr);
  out.model->eval();
  return out;
}

}  // namespace lunar::train
