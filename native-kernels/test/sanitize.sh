#!/usr/bin/env bash
# The native kernels' C tests (test_int4, test_packed, test_sparse) built with AddressSanitizer and UBSan
# (CMAKE_BUILD_TYPE=Sanitize: -fsanitize=address,undefined -fno-sanitize-recover=all) and run by ctest;
# any finding fails. Needs only gcc (or clang) and cmake; no JDK, no Maven.
#
#   native-kernels/test/sanitize.sh [BUILD_DIR]     # default: native-kernels/target/sanitize
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/target/sanitize}"
start=$(date +%s)
# SQ_REQUIRE_JNI stays OFF and only the C targets are built: the JNI library is not needed here. The AVX-512
# files are compiled only where this CPU can run them (instrumented, they are most of the build time); the
# CUDA block is off (host sanitizers do not apply to device code, and CI has no nvcc).
avx512=ON
grep -qw avx512bw /proc/cpuinfo 2>/dev/null || avx512=OFF
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Sanitize -DSQ_PACKED_AVX512="$avx512" -DSQ_CUDA=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target test_int4 test_packed test_sparse
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build" --output-on-failure
echo "sanitize: ASan+UBSan C tests passed in $(( $(date +%s) - start )) s"
