#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs the
# native tests (decoder, encoder, robustness, fuzz, frames, probe) against it.
#
#   ./scripts/sanitize.sh                      # default test set
#   ./scripts/sanitize.sh test/native/decoder-fuzz.test.ts   # chosen test files
#
# How it works:
# - CMake option TRICKLE_SANITIZE=address compiles the addon's own C++ with
#   -fsanitize=address,undefined -fno-sanitize-recover=undefined (FFmpeg, Node and V8 are not
#   instrumented; their memory is still checked where our code touches it).
# - Node is not built with ASan, so the ASan runtime must be loaded first: LD_PRELOAD=libasan.so
#   (the path comes from the compiler: gcc -print-file-name=libasan.so). libubsan is a normal
#   dependency of the .node file.
# - TRICKLE_RT_ADDON points the loader at build-asan/Release/trickle_rt.node.
# - Leak detection is off (detect_leaks=0): V8 and Node keep memory until exit that LSan reports as
#   leaks. trickle-rt's own leak checks are in the tests (frameStats(), pool.live after close).
# - Any ASan report or UBSan error aborts the test process, which fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

CC_BIN=${CC:-gcc}
LIBASAN=$("$CC_BIN" -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
  echo "sanitize: libasan.so not found via $CC_BIN -print-file-name (install the compiler's ASan runtime, e.g. libasan8)" >&2
  exit 1
fi

echo "sanitize: building build-asan (TRICKLE_SANITIZE=address, CUDA off)"
npx --no-install cmake-js compile -O build-asan --CDTRICKLE_SANITIZE=address --CDTRICKLE_CUDA=OFF \
  --CDCMAKE_BUILD_TYPE=RelWithDebInfo -p "$(nproc)" --log-level error >/dev/null

ADDON="$PWD/build-asan/Release/trickle_rt.node"
[ -f "$ADDON" ] || { echo "sanitize: $ADDON was not built" >&2; exit 1; }

if [ "$#" -gt 0 ]; then
  TESTS=("$@")
else
  TESTS=(test/native/decoder.test.ts test/native/decoder-robustness.test.ts test/native/decoder-fuzz.test.ts
    test/native/encoder.test.ts test/native/summarize-video.test.ts)
  for f in test/native/frame*.test.ts test/native/tensor*.test.ts; do [ -f "$f" ] && TESTS+=("$f"); done
fi

echo "sanitize: running ${TESTS[*]} with LD_PRELOAD=$LIBASAN"
export TRICKLE_RT_ADDON="$ADDON"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allow_user_segv_handler=1:detect_odr_violation=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
LD_PRELOAD="$LIBASAN" npx --no-install vitest run "${TESTS[@]}"
echo "sanitize: OK (no ASan/UBSan report)"
