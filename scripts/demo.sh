#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs dependencies, builds, generates a small
# ListOps set, trains ConvLuna on it on the CPU and prints its test accuracy beside the
# majority-class rate. About 9-10 minutes on 2 cores from a fresh Debian 12, installing the
# packages included (about 7 once they are installed). Extra arguments go to `lunar train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh lunar  # the command only; scripts/test.sh builds the rest
lunar=./"${LUNAR_BUILD_DIR:-build}"/apps/lunar/lunar
data=data/listops-small
if [[ ! -f "$data/basic_test.tsv" ]]; then
  "$lunar" data listops --out "$data" --seed 0 --train 4000 --val 500 --test 500 \
    --min-len 50 --max-len 300
fi
run_dir="runs/demo-$(date +%Y%m%d-%H%M%S)"
"$lunar" train --config configs/cpu/listops_convluna.toml --run-dir "$run_dir" "$@"
