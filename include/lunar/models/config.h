// Plain configuration of a model, filled from TOML (`[model]` table) or the command line.
// Field names are the configuration keys (`model.<field>`, `model.luna.<field>` ...).
#pragma once

#include <cstdint>
#include <string>

namespace lunar::models {

// How the first block's input and the classifier see the data.
struct InputConfig {
  std::string embedding = "token";  // token | pixel (continuous e = x̂·w + b, x̂ = (p/255 − μ)/σ)
  int64_t vocab_size = 0;           // token embedding size (pad id 0); unused for pixels
  int64_t max_length = 0;           // longest input without CLS (learned positions); CLS is extra
  double pixel_mean = 0.48;         // μ and σ of the pixel normalisation (the task's:
  double pixel_std = 0.24;          // CIFAR-10 0.48/0.24, Pathfinder 0.5/0.5)
};

struct LunaConfig {
  int64_t memory_len = 16;       // M >= 1
  std::string sharing = "full";  // full (one attention for pack and unpack, as the research ran
                                 // it) | none (official Luna: separate pack/unpack projections)
};

struct ConvLunaConfig {
  std::string variant = "simplified";       // simplified (paper: no W_v, shared W_q/W_k/W_o) | full
  std::string filter = "conv";              // conv | maxpool
  int64_t kernel = 4;                       // k >= 1; k = 1 is the identity
  int64_t stride = 1;                       // s >= 1
  std::string pack_temperature = "learn";   // learn (tau from 0) | unit | sqrt
  std::string unpack_temperature = "unit";  // unit (authors' code) | sqrt (paper text) | learn
};

// The trainable-kernel linear attention (Yorsh & Kovalenko, ICANN 2022).
struct KernelConfig {
  // φ, shared by Q and K, weights per head: softplus = Softplus(x W); gated1 = one gated layer
  // softplus(x W_o) ⊙ sigmoid(x W_g); gated2 = two (identity, then softplus); gated3 = three with
  // low-rank gates (rank d_h/4), the latest setting.
  std::string feature_map = "gated3";
  double orthogonality = 0.0;  // λ of the penalty λ·mean((W_o W_oᵀ − I)²) added to the loss
};

// The softmax-free SimpleTRON attention (arXiv 2111.15588): O = Q · Dropout(Kᵀ V / √N).
struct SimpletronConfig {
  // padded: N = padded length with CLS (masks off, as the authors ran it); valid: the real
  // length — with masks on both use the valid length; none: N = 1 (fails ListOps).
  std::string length_norm = "padded";
  bool output_projection = false;
};

struct ModelConfig {
  std::string architecture = "convluna";  // a registry name: transformer, luna, preluna,
                                          // convluna, ffkernel, simpletron
  int64_t dim = 128;                      // d
  int64_t num_heads = 4;                  // h; must divide attention_dim
  int64_t attention_dim = 0;              // width of the Q/K/V projections; 0 = dim. The
                                          // simplified ConvLuna (no W_v) needs it equal to dim
  int64_t ffn_dim = 512;                  // f
  int64_t num_blocks = 2;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  // Luna family: > 0 computes pack and unpack attention this many query rows at a time in
  // training and recomputes the maps in backward (less memory, more time); 0 = all at once.
  int64_t attention_chunk = 0;
  std::string norm = "";       // post | pre; "" takes the architecture's default (post for luna and
                               // convluna, pre for the rest)
  std::string masks = "auto";  // on | off | auto (on for transformer, off for the Luna family)
  std::string representation = "cls";  // cls | mean (over the sequence) | memory (mean of the
                                       // final memory; Luna family only)
  std::string pair_features = "uv";  // matching head input: uv = [u, v] | full = [u, v, u·v, u−v]
  std::string pair_activation = "gelu";  // matching head: gelu (authors' final code) | relu
                                         // (their workshop-era head, used with PreLuna)
  int64_t num_classes = 2;
  bool pair = false;  // two-tower matching
  InputConfig input;
  LunaConfig luna;
  ConvLunaConfig convluna;
  KernelConfig ffkernel;
  SimpletronConfig simpletron;
};

}  // namespace lunar::models
