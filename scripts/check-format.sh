#!/usr/bin/env bash
# Fails when a C++ file differs from .clang-format (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "[check-format] clang-format not installed; skipped" >&2
  exit 0
fi
git ls-files --cached --others --exclude-standard -- '*.cpp' '*.h' |
  xargs -r clang-format --dry-run --Werror
echo "[check-format] ok"
