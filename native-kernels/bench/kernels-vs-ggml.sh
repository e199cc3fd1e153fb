#!/usr/bin/env bash
# Squeeze's packed kernels against ggml (the CPU kernels of llama.cpp) in one process and one run: one thread,
# 4096x14336 and 14336x4096, weights rotated through >= 1 GiB, read-only bandwidth measured in the same run,
# medians of interleaved rounds, the CPU model printed. One command:
#
#   native-kernels/bench/kernels-vs-ggml.sh [bench_packed options, e.g. --rounds 3 --calls 31 --batches 1,8,16]
#
# ggml is built from the llama.cpp source that npm's node-llama-cpp@3.21.1 carries (its git bundle), with
# llama.cpp's own CPU defaults (GGML_NATIVE on, GGML_LLAMAFILE on, Release). npm installs it with
# --ignore-scripts into native-kernels/target/kernels-vs-ggml/ on first use. SQ_LLAMA_SRC=/path/to/llama.cpp
# uses an existing source tree instead (development shortcut).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$here/target/kernels-vs-ggml"
mkdir -p "$work"
jobs="$(nproc)"

src="${SQ_LLAMA_SRC:-}"
if [ -z "$src" ]; then
  nlc="$work/node-llama-cpp"
  bundle="$nlc/node_modules/node-llama-cpp/llama/gitRelease.bundle"
  if [ ! -f "$bundle" ]; then
    command -v npm >/dev/null || { echo "kernels-vs-ggml: npm is needed to fetch node-llama-cpp@3.21.1 (or set SQ_LLAMA_SRC)" >&2; exit 1; }
    echo "kernels-vs-ggml: npm install node-llama-cpp@3.21.1 --ignore-scripts into $nlc" >&2
    mkdir -p "$nlc"
    (cd "$nlc" && npm install --ignore-scripts --no-audit --no-fund --no-save node-llama-cpp@3.21.1 >/dev/null)
  fi
  src="$work/llama.cpp"
  if [ ! -f "$src/ggml/include/ggml.h" ]; then
    rm -rf "$src.tmp" && git clone -q "$bundle" "$src.tmp" && rm -rf "$src" && mv "$src.tmp" "$src"
  fi
fi
[ -f "$src/ggml/include/ggml.h" ] || { echo "kernels-vs-ggml: no ggml under $src" >&2; exit 1; }

gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
gbuild="$work/ggml-build"
if [ ! -f "$gbuild/.built" ] || [ "$(cat "$gbuild/.built")" != "$src" ]; then
  echo "kernels-vs-ggml: building ggml from $src (GGML_NATIVE default, GGML_LLAMAFILE=ON, Release)" >&2
  rm -rf "$gbuild"
  cmake -S "$src" -B "$gbuild" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_LLAMAFILE=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_CURL=OFF >"$work/ggml-configure.log" 2>&1 || { tail -30 "$work/ggml-configure.log" >&2; exit 1; }
  cmake --build "$gbuild" --parallel "$jobs" --target ggml >"$work/ggml-build.log" 2>&1 \
    || { tail -30 "$work/ggml-build.log" >&2; exit 1; }
  echo "$src" > "$gbuild/.built"
fi
libs="$(find "$gbuild" -name 'libggml*.so' -o -name 'libggml*.a' | sort | tr '\n' ';')"
[ -n "$libs" ] || { echo "kernels-vs-ggml: no libggml under $gbuild" >&2; exit 1; }

sbuild="$work/squeeze-build"
cmake -S "$here" -B "$sbuild" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DSQ_BENCH_GGML_INCLUDE="$src/ggml/include" -DSQ_BENCH_GGML_LIBS="$libs" >"$work/squeeze-configure.log" 2>&1 \
  || { tail -30 "$work/squeeze-configure.log" >&2; exit 1; }
cmake --build "$sbuild" --parallel "$jobs" --target bench_packed >"$work/squeeze-build.log" 2>&1 \
  || { tail -30 "$work/squeeze-build.log" >&2; exit 1; }
echo "llama.cpp source: $src ($(git -C "$src" log -1 --format='%h %cs' 2>/dev/null || echo 'no git'))"
exec "$sbuild/bench_packed" "$@"
