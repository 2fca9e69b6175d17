#!/usr/bin/env bash
# Fails, listing the files, when a tracked C++ file differs from clang-format's output.
# Usage: scripts/check_format.sh [clang-format executable]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clang_format=${1:-clang-format}
cd "$root"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null || true)
if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(find core io nn linear examples benchmarks tests \
    \( -name '*.cpp' -o -name '*.hpp' \) -not -path '*/build*' 2>/dev/null)
fi
unformatted=()
for file in "${files[@]}"; do
  [[ -f "$file" ]] || continue
  if ! "$clang_format" --style=file --dry-run -Werror "$file" >/dev/null 2>&1; then
    unformatted+=("$file")
  fi
done
if [[ ${#unformatted[@]} -gt 0 ]]; then
  echo "check_format.sh: ${#unformatted[@]} file(s) differ from clang-format (run" \
    "'$clang_format -i' on them):"
  printf '  %s\n' "${unformatted[@]}"
  exit 1
fi
echo "check_format.sh: ${#files[@]} files formatted"
