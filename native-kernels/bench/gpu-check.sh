#!/usr/bin/env bash
# gpu-check.sh: builds Squeeze's CUDA library and C harness, runs the correctness tests, then the benchmark
# (int4 vs cuBLAS fp16 at batch 1, 8, 16; GB/s against the device's HBM). Needs CUDA (nvcc, driver) and a
# C/C++ compiler; no Java. Run from anywhere, e.g. from the repository root:
#
#   native-kernels/bench/gpu-check.sh [--reps N] [--build-only]
#
#   --reps N       timed calls per benchmark figure (default 200; the median is reported)
#   --build-only   build (for sm_80 + sm_90 + compute_90 PTX when no GPU is visible) and stop; the binaries
#                  in the build folder can then be carried to a GPU machine that has no nvcc
#   SQ_GPU_BUILD_DIR   build folder (default native-kernels/target/gpu-check)
#   SQ_GPU_LOG         also write the whole output to this file
#   SQ_CUBLAS_LIB      path of libcublas.so to use (default: found on the loader path or searched below)
#   SQ_GPU_NO_CMAKE=1  build with nvcc directly even where CMake exists
#   SQ_NVCC            the nvcc to use, or "none" to run the binaries already in the build folder
#   SQ_GPU_SANITIZE=0  skip the compute-sanitizer memcheck run (it runs last, on test_cuda --quick)
#
# Exit status: 0 = all checks passed, or skipped because there is no NVIDIA GPU (it says "skipped");
#              1 = a correctness check failed or something could not be built or run.
# Performance targets are printed by the benchmark ("met" / "MISSED"); they do not change the exit status.
# Budget: about 1-2 minutes of build on 16 cores; tests, benchmark and memcheck within 5 minutes in total.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)"
build="${SQ_GPU_BUILD_DIR:-$src/target/gpu-check}"
reps=200
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="${2:?--reps needs a number}"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 1 ;;
  esac
done
if [ -n "${SQ_GPU_LOG:-}" ]; then
  mkdir -p "$(dirname "$SQ_GPU_LOG")"
  exec > >(tee "$SQ_GPU_LOG") 2>&1
fi
start=$(date +%s)
say() { echo "gpu-check: $*"; }

# ---- is there a GPU? ----------------------------------------------------------------------------------
gpu=""
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu="$(nvidia-smi -L 2>/dev/null | head -n 1 || true)"
elif [ -e /dev/nvidia0 ] || [ -e /proc/driver/nvidia/version ]; then
  gpu="an NVIDIA device node (no nvidia-smi)"
fi
if [ -z "$gpu" ] && [ "$build_only" = 0 ]; then
  say "skipped: no NVIDIA GPU or driver on this machine (nvidia-smi lists none, no /dev/nvidia0)"
  exit 0
fi
[ -n "$gpu" ] && say "GPU: $gpu"
[ -n "$gpu" ] && command -v nvidia-smi >/dev/null 2>&1 && \
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader || true

# ---- build ----------------------------------------------------------------------------------------------
nvcc="${SQ_NVCC:-$(command -v nvcc || true)}"
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ "$nvcc" = none ] && nvcc=
archs="80-real;90-real;90-virtual"
[ -n "$gpu" ] && archs="native"
mkdir -p "$build"
if [ -n "$nvcc" ]; then
  say "building with $nvcc ($("$nvcc" --version | tail -n 2 | head -n 1)), architectures $archs, in $build"
  t0=$(date +%s)
  use_cmake=0
  if command -v cmake >/dev/null 2>&1 && [ -z "${SQ_GPU_NO_CMAKE:-}" ]; then
    use_cmake=1
    cv="$(cmake --version | head -n 1 | awk '{print $3}')"
    # "native" architectures need CMake 3.24
    if [ "$archs" = native ] && [ "$(printf '%s\n3.24\n' "$cv" | sort -V | head -n 1)" != 3.24 ]; then use_cmake=0; fi
  fi
  if [ "$use_cmake" = 1 ]; then
    gen=()
    command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
    cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DSQ_CUDA=ON \
      -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$archs" -DJAVA_HOME=/nonexistent-no-jni \
      > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; say "FAIL: CMake configure failed"; exit 1; }
    grep -q "CUDA: .*architectures" "$build/configure.log" || { cat "$build/configure.log"; say "FAIL: CMake did not enable CUDA"; exit 1; }
    cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 4)" --target squeeze_cuda test_cuda_layout test_cuda bench_cuda \
      > "$build/build.log" 2>&1 || { tail -n 60 "$build/build.log"; say "FAIL: build failed"; exit 1; }
  else
    # no CMake: the same sources with nvcc directly
    if [ "$archs" = native ]; then gencode=(-arch=native); else
      gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90)
    fi
    flags=(-O3 -std=c++17 -cudart static "${gencode[@]}" -I"$src/cuda")
    { "$nvcc" "${flags[@]}" -Xcompiler -fPIC -c "$src/cuda/sq_cuda.cu" -o "$build/sq_cuda.o" &&
      "$nvcc" "${flags[@]}" -shared "$build/sq_cuda.o" -o "$build/libsqueeze_cuda.so" -ldl; } \
      > "$build/build.log" 2>&1 || { tail -n 60 "$build/build.log"; say "FAIL: nvcc failed on sq_cuda.cu"; exit 1; }
    for t in test_cuda_layout test_cuda bench_cuda; do
      "$nvcc" "${flags[@]}" "$src/cuda/$t.cu" "$build/sq_cuda.o" -o "$build/$t" -ldl >> "$build/build.log" 2>&1 \
        || { tail -n 60 "$build/build.log"; say "FAIL: nvcc failed on $t.cu"; exit 1; }
    done
  fi
  say "built in $(( $(date +%s) - t0 )) s"
elif [ -x "$build/test_cuda" ] && [ -x "$build/bench_cuda" ]; then
  say "no nvcc here: using the binaries already in $build"
else
  say "FAIL: no nvcc (PATH or /usr/local/cuda/bin) and no prebuilt binaries in $build"
  exit 1
fi
if [ "$build_only" = 1 ]; then
  say "built (--build-only): $build/test_cuda, $build/bench_cuda"
  exit 0
fi

# ---- cuBLAS for the dense and prefill paths (dlopen'ed by the library) ----------------------------------
if [ -z "${SQ_CUBLAS_LIB:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  cands=()
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 /usr/lib/x86_64-linux-gnu; do
    [ -d "$d" ] && for f in "$d"/libcublas.so.1[0-9]*; do [ -e "$f" ] && cands+=("$f"); done
  done
  if command -v python3 >/dev/null 2>&1; then
    while IFS= read -r sp; do
      [ -d "$sp/nvidia" ] && while IFS= read -r f; do cands+=("$f"); done < <(find "$sp/nvidia" -maxdepth 3 -name 'libcublas.so.1[0-9]*' 2>/dev/null)
    done < <(python3 -c 'import site,sys; print("\n".join(site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null || true)
  fi
  if [ ${#cands[@]} -gt 0 ]; then
    pick="$(printf '%s\n' "${cands[@]}" | grep -E 'libcublas\.so\.13' | head -n 1 || true)"
    [ -z "$pick" ] && pick="${cands[0]}"
    export SQ_CUBLAS_LIB="$pick"
    export LD_LIBRARY_PATH="$(dirname "$pick")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
if [ -n "${SQ_CUBLAS_LIB:-}" ]; then
  say "cuBLAS: $SQ_CUBLAS_LIB"
elif ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  say "cuBLAS: from the loader path ($(ldconfig -p | grep -m 1 -o 'libcublas\.so[.0-9]*'))"
else
  say "cuBLAS: not found (loader path, /usr/local/cuda*, Python's nvidia packages): the dense and prefill checks will fail; set SQ_CUBLAS_LIB"
fi

# ---- correctness, then benchmark -------------------------------------------------------------------------
status=0
say "correctness: host layout emulation"
timeout 120 "$build/test_cuda_layout" | tail -n 5 || { say "FAIL: test_cuda_layout"; status=1; }
say "correctness: kernels vs host reference"
set +e
timeout 180 "$build/test_cuda"
rc=$?
set -e
case $rc in
  0) ;;
  77) say "FAIL: a GPU is listed but CUDA cannot use it (see the reason above; driver older than the CUDA runtime?)"; status=1 ;;
  124) say "FAIL: test_cuda timed out"; status=1 ;;
  *) say "FAIL: test_cuda exit $rc"; status=1 ;;
esac
if [ "$status" = 0 ]; then
  say "benchmark (median of $reps calls per figure)"
  set +e
  timeout 240 "$build/bench_cuda" --reps "$reps"
  rc=$?
  set -e
  [ $rc = 0 ] || { say "FAIL: bench_cuda exit $rc"; status=1; }
else
  say "benchmark not run: correctness failed"
fi

# ---- memory checks under compute-sanitizer (a subset; skipped where the tool is absent or cannot attach) ----
san="$(command -v compute-sanitizer || true)"
[ -z "$san" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && san=/usr/local/cuda/bin/compute-sanitizer
if [ -n "$san" ] && [ "${SQ_GPU_SANITIZE:-1}" != 0 ]; then
  say "memory checks: compute-sanitizer memcheck on test_cuda --quick"
  set +e
  timeout 150 "$san" --tool memcheck --error-exitcode 86 "$build/test_cuda" --quick > "$build/sanitizer.log" 2>&1
  rc=$?
  set -e
  tail -n 3 "$build/sanitizer.log"
  case $rc in
    0) say "memcheck: no errors" ;;
    86) grep -m 20 -E 'Invalid|Error|at 0x' "$build/sanitizer.log" || true
        say "FAIL: compute-sanitizer found memory errors ($build/sanitizer.log)"; status=1 ;;
    1) say "FAIL: test_cuda --quick failed under compute-sanitizer"; status=1 ;;
    124) say "memcheck: timed out after 150 s (not counted)" ;;
    *) say "memcheck could not run here (exit $rc, not counted): $(grep -m 1 -iE 'error|not supported' "$build/sanitizer.log" || true)" ;;
  esac
else
  say "memory checks: compute-sanitizer not found (or SQ_GPU_SANITIZE=0): skipped"
fi
say "$([ $status = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $status
