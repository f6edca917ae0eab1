#!/usr/bin/env bash
# Everything from a fresh Debian 12 machine: installs dependencies, checks formatting, builds,
# and runs every test (CTest labels: unit, gradcheck, e2e, reliability, chromium, python; `slow`
# and `gpu` run when present; docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/check-format.sh
bash scripts/build.sh
ctest --test-dir "${LUNAR_BUILD_DIR:-build}" --output-on-failure -j "${LUNAR_JOBS:-$(nproc)}" "$@"
