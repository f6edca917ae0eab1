#!/usr/bin/env bash
# Configures and builds lunar (Release) into ${LUNAR_BUILD_DIR:-build}; incremental when re-run.
# Arguments name the targets to build (`lunar`: the command alone); none builds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${LUNAR_BUILD_DIR:-build}"
jobs="${LUNAR_JOBS:-$(nproc)}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
fi
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
