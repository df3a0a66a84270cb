#!/usr/bin/env bash
# Compile check of the TensorRT backend against a given set of TensorRT headers.
#
#   scripts/check-tensorrt.sh <tensorrt-include-dir> [--sources-only]
#
# No package registry reachable from CI ships TensorRT, so CI builds without it. This script is
# how the TensorRT code is kept compiling: point it at the include/ folder of a TensorRT 10.x or
# 11.x release (or of the public NVIDIA/TensorRT repository, exported OUTSIDE this repository:
# never commit the headers). It
#   1. compiles every native/infer/*.cc with TRICKLE_HAVE_TENSORRT (-Wall -Wextra -Werror) and
#      checks that the objects reference no TensorRT symbol (the runtime is dlopen'ed);
#   2. unless --sources-only: configures and builds the whole addon with TRICKLE_TENSORRT_ROOT set
#      to a temporary root whose include/ is the given folder, into build-trt-check/, checks that
#      the .node has no NEEDED entry and no undefined symbol from TensorRT (nor of its own), loads it
#      to check that capabilities() reports the backend as compiled, and runs the dlopen path against
#      generated stub libnvinfer.so.N libraries (accepted; wrong major or missing symbols refused).
# Needs g++, nvcc 13 (CUDA headers), and for step 2 the FFmpeg -dev packages and node_modules.
set -euo pipefail

usage() { echo "usage: $0 <tensorrt-include-dir> [--sources-only]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
INC="$(cd "$1" 2>/dev/null && pwd)" || { echo "no such directory: $1" >&2; exit 2; }
FULL=1
[[ "${2:-}" == "--sources-only" ]] && FULL=0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

for h in NvInfer.h NvInferRuntime.h NvInferVersion.h NvOnnxParser.h; do
  [[ -f "$INC/$h" ]] || { echo "error: $INC/$h not found (NvOnnxParser.h is in include/ since TensorRT 10.14; older trees have it in parsers/onnx)" >&2; exit 2; }
done
ver() { grep -E "^#define (NV_TENSORRT|TRT)_$1(_ENTERPRISE)? +[0-9]+" "$INC/NvInferVersion.h" | head -1 | awk '{print $3}'; }
TRT_VERSION="$(ver MAJOR).$(ver MINOR).$(ver PATCH).$(ver BUILD)"

NVCC="$(command -v nvcc || true)"
CUDA_INC=""
for c in ${CUDA_HOME:+"$CUDA_HOME/include"} ${NVCC:+"$(dirname "$(readlink -f "$NVCC")")/../include"} \
         /usr/local/cuda/include /usr/local/cuda-13.0/include; do
  [[ -f "$c/cuda_runtime_api.h" ]] && { CUDA_INC="$c"; break; }
done
[[ -n "$CUDA_INC" ]] || { echo "error: cuda_runtime_api.h not found (set CUDA_HOME)" >&2; exit 2; }
CUDA_INC="$(cd "$CUDA_INC" && pwd)"

echo "== TensorRT headers $TRT_VERSION from $INC"
echo "== CUDA headers from $CUDA_INC ($(grep -m1 -E '^#define CUDART_VERSION' "$CUDA_INC/cuda_runtime_api.h" | awk '{print $3}'))"

# TensorRT symbols that must never be referenced directly by our code.
TRT_SYMS='nvinfer1|nvonnxparser|_INTERNAL|getInferLibVersion|getNvOnnxParserVersion|getPluginRegistry|initLibNvInferPlugins'

OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT
status=0
for src in native/infer/*.cc; do
  obj="$OBJ/$(basename "$src" .cc).o"
  if g++ -std=c++17 -O1 -fPIC -Wall -Wextra -Wno-unused-parameter -Werror \
       -DTRICKLE_HAVE_TENSORRT -DTRICKLE_HAVE_CUDA -Inative -isystem "$INC" -isystem "$CUDA_INC" -c "$src" -o "$obj"; then
    bad="$(nm -uC "$obj" | grep -E "$TRT_SYMS" || true)"
    if [[ -n "$bad" ]]; then
      echo "FAIL $src references TensorRT symbols (must go through dlopen):"; echo "$bad"; status=1
    else
      echo "ok   $src"
    fi
  else
    echo "FAIL $src"; status=1
  fi
done
[[ $status -eq 0 ]] || { echo "== backend sources: FAILED against TensorRT $TRT_VERSION"; exit 1; }
echo "== backend sources: OK against TensorRT $TRT_VERSION"
[[ $FULL -eq 1 ]] || exit 0

# Full addon build. The temporary root is outside the repository; build-trt-check/ is ignored.
TRT_ROOT="$(mktemp -d)"
trap 'rm -rf "$OBJ" "$TRT_ROOT"' EXIT
ln -s "$INC" "$TRT_ROOT/include"
echo "== full addon build into build-trt-check/ (TRICKLE_TENSORRT_ROOT=$TRT_ROOT)"
# configure (always, so a previous run's TensorRT root is replaced), then build.
{ npx cmake-js configure -O build-trt-check \
    --CDTRICKLE_TENSORRT_ROOT="$TRT_ROOT" --CDTRICKLE_CUDA=ON \
    --CDCMAKE_CUDA_ARCHITECTURES="${TRICKLE_CHECK_CUDA_ARCH:-89-real}" &&
  npx cmake-js build -O build-trt-check -p "${JOBS:-2}"; } >"$OBJ/build.log" 2>&1 \
  || { tail -n 60 "$OBJ/build.log"; echo "== full build: FAILED against TensorRT $TRT_VERSION"; exit 1; }
grep -E "TensorRT backend ON" "$OBJ/build.log" || { echo "error: the configure did not enable the TensorRT backend"; exit 1; }
NODE_FILE=build-trt-check/Release/trickle_rt.node
if readelf -d "$NODE_FILE" | grep NEEDED | grep -Ei 'nvinfer|nvonnx'; then
  echo "FAIL $NODE_FILE links TensorRT (it must dlopen it)"; exit 1
fi
bad="$(nm -DuC "$NODE_FILE" | grep -E "$TRT_SYMS" || true)"
[[ -z "$bad" ]] || { echo "FAIL $NODE_FILE has undefined TensorRT symbols:"; echo "$bad"; exit 1; }
echo "ok   $NODE_FILE: no NEEDED entry and no undefined symbol from TensorRT"
# Our own symbols must all be defined: a .node links with undefined symbols allowed, and a missing
# definition would only show when the engine code first runs.
own="$(nm -DuC "$NODE_FILE" | grep -E ' trickle::' || true)"
[[ -z "$own" ]] || { echo "FAIL $NODE_FILE has undefined trickle-rt symbols:"; echo "$own"; exit 1; }
echo "ok   $NODE_FILE: every trickle-rt symbol is defined"
TRICKLE_RT_ADDON="$ROOT/$NODE_FILE" node -e '
  const t = require(process.env.TRICKLE_RT_ADDON).capabilities().tensorrt;
  console.log("     capabilities().tensorrt =", JSON.stringify(t));
  if (!t.compiled) { console.error("FAIL: tensorrt.compiled is false"); process.exit(1); }'

# The dlopen path, exercised with stub runtimes (generated here, nothing from TensorRT): a stub
# libnvinfer.so.N exporting the three C symbols must be reported available with its version; one
# of another major version, or one without the factory symbols, must be refused with the reason.
STUB="$OBJ/stub"
mkdir -p "$STUB/ok" "$STUB/major" "$STUB/nosym"
MAJOR="$(ver MAJOR)"
stub() {  # dir version with_factories
  local f="$OBJ/stub-$1.c"
  echo "int getInferLibVersion(void) { return $2; }" >"$f"
  [[ "$3" == 1 ]] && echo "void* createInferRuntime_INTERNAL(void* l, int v) { return 0; } void* createInferBuilder_INTERNAL(void* l, int v) { return 0; }" >>"$f"
  gcc -shared -fPIC -o "$STUB/$1/libnvinfer.so.$MAJOR" "$f"
}
stub ok $((MAJOR * 10000 + 702)) 1
stub major $(((MAJOR + 1) * 10000)) 1
stub nosym $((MAJOR * 10000)) 0
check_stub() {  # dir expected-js-condition
  LD_LIBRARY_PATH="$STUB/$1" TRICKLE_RT_ADDON="$ROOT/$NODE_FILE" node -e '
    const t = require(process.env.TRICKLE_RT_ADDON).capabilities().tensorrt;
    const ok = '"$2"';
    console.log((ok ? "ok  " : "FAIL") + " stub '"$1"': " + JSON.stringify(t));
    process.exit(ok ? 0 : 1);' || exit 1
}
check_stub ok    't.available === true && t.version === "'"$MAJOR"'.7.2"'
check_stub major 't.available === false && /does not match the major version/.test(t.reason)'
check_stub nosym 't.available === false && /lacks the TensorRT factory symbols/.test(t.reason)'
echo "== full build: OK against TensorRT $TRT_VERSION"
