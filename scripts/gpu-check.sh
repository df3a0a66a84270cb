#!/usr/bin/env bash
# GPU verification on a bare GPU machine (docs/gpu-check.md).
#
#   scripts/gpu-check.sh tools          (here) static ffmpeg + ffprobe CLI from the same FFmpeg source and
#                                       flags as the prebuild's libraries (+ programs, avfilter, swscale),
#                                       for the bench anchors and the tests' oracles -> .deps/ffmpeg-cli/
#   scripts/gpu-check.sh pack           (here) fills .gpu-carry/ (ignored, <= 60 MiB): node, prebuilt addon,
#                                       dist/, vitest runtime, test fixtures, bench clips, ffmpeg CLI, manifest
#   scripts/gpu-check.sh run PART [DIR] (GPU machine, repo root) one part of the check per device call,
#                                       each under 600 s (the limit of one call): info | gpu-tests |
#                                       native-tests | probes | tensorrt | sanitizer | bench-quick
#                                       -> DIR (default $OUT), <= 8 files
#   scripts/gpu-check.sh bench ROWS.. [DIR=...] (GPU machine) full GPU bench rows, two per call
#                                       (default B1-GPU B2-GPU; then B7 B8)
#
# The GPU machine has no Node, no FFmpeg and no internet: everything comes from .gpu-carry/, and the
# tracked files (src/, test/, bin/, examples/) come with the working tree.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CARRY=$ROOT/.gpu-carry
DEPS=${TRICKLE_DEPS_DIR:-$ROOT/.deps}
CLI_DIR=$DEPS/ffmpeg-cli
LIMIT_MIB=${GPU_CHECK_LIMIT_MIB:-60}
# Parts of `run` (one device call each, see cmd_run).
GPU_TESTS="test/gpu/cuda-selftest.test.ts test/gpu/media-nvdec-nvenc.test.ts test/gpu/tensor-kernels.test.ts test/gpu/worker-gpu.test.ts test/gpu/stream-ordering.test.ts"
NATIVE_TESTS="test/native/capabilities.test.ts test/native/gpu-policy.test.ts test/native/decoder.test.ts
test/native/decoder-robustness.test.ts test/native/encoder.test.ts test/native/tensor-ops.test.ts
test/native/tensor-colour.test.ts test/native/frame-lifecycle.test.ts test/native/frame-audio.test.ts
test/native/process-exit.test.ts test/native/encoder-fallback.test.ts test/integration/pipeline.test.ts test/integration/cli-info.test.ts"
TENSORRT_TESTS="test/gpu/engine.test.ts test/native/engine.test.ts test/native/engine-run.test.ts"
# compute-sanitizer runs these (the CUDA kernels and the CUDA self-test).
SANITIZER_TESTS="test/gpu/tensor-kernels.test.ts test/gpu/cuda-selftest.test.ts"
GPU_BENCH="B1-GPU B2-GPU B7 B8"

say() { printf 'gpu-check: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
mib() { echo $(( ($(du -sb "$1" | cut -f1) + 1048575) / 1048576 )); }

# ------------------------------------------------------------------------------------------------
# tools: ffmpeg + ffprobe, static, from the FFmpeg source and flags of scripts/build-ffmpeg.sh.
# ------------------------------------------------------------------------------------------------
cmd_tools() {
  local prefix dsc work key
  prefix=$(bash scripts/build-ffmpeg.sh --print-prefix)
  [ -f "$prefix/lib/libavcodec.a" ] || die "no static FFmpeg in $prefix: run 'npm run prebuilds' (or scripts/build-ffmpeg.sh) first"
  dsc=$(ls "$DEPS"/src/ffmpeg_*.dsc 2>/dev/null | head -1)
  [ -n "$dsc" ] || die "no FFmpeg source in $DEPS/src (scripts/build-ffmpeg.sh --force fetches it)"
  # The library build's flag arrays, read from the script itself so both stay in step.
  local FF_COMPONENTS FF_CONFIGURE WITH_X264=${TRICKLE_X264:-1}
  eval "$(sed -n '/^FF_COMPONENTS=(/,/^)/p; /^FF_CONFIGURE=(/,/^)/p' scripts/build-ffmpeg.sh)"
  if [ "$WITH_X264" = 1 ]; then FF_CONFIGURE+=(--enable-gpl --enable-libx264 --enable-encoder=libx264); fi
  local args=() a
  for a in "${FF_CONFIGURE[@]}"; do
    case $a in --disable-programs|--disable-avfilter) ;; *) args+=("$a") ;; esac
  done
  # CLI needs: the programs, avfilter (scale for the floor anchor, crop/format for the oracles),
  # wrapped_avframe for -f null, rawvideo out for the oracles.
  args+=(--enable-ffmpeg --enable-ffprobe --enable-avfilter --enable-swscale
    --enable-filter=scale,format,crop,null,anull,aformat,aresample,trim,atrim,hwdownload
    --enable-encoder=wrapped_avframe,rawvideo,pcm_f32le,pcm_s16le --enable-muxer=rawvideo,null,pcm_f32le,pcm_s16le --enable-demuxer=rawvideo)
  key=$( { echo "$dsc"; echo "${args[*]}"; sha256sum "$prefix/.trickle-build-stamp"; } | sha256sum | cut -d' ' -f1)
  if [ -x "$CLI_DIR/ffmpeg" ] && [ -x "$CLI_DIR/ffprobe" ] && [ "$(cat "$CLI_DIR/.key" 2>/dev/null)" = "$key" ]; then
    say "ffmpeg CLI up to date: $CLI_DIR"; return 0
  fi
  work=$DEPS/build-ffmpeg-cli
  rm -rf "$work" "$CLI_DIR"; mkdir -p "$CLI_DIR"
  dpkg-source --no-check -x "$dsc" "$work" >/dev/null || die "unpacking $dsc failed"
  say "building ffmpeg + ffprobe (static) in $work; log: $CLI_DIR/build.log"
  ( cd "$work" && export PKG_CONFIG_PATH=$prefix/lib/pkgconfig &&
    ./configure --prefix="$work/install" --extra-version=trickle-rt-cli "${args[@]}" &&
    make -j"${JOBS:-$(nproc)}" ffmpeg ffprobe ) >"$CLI_DIR/build.log" 2>&1 || { tail -30 "$CLI_DIR/build.log"; die "ffmpeg CLI build failed"; }
  install -m 755 -s "$work/ffmpeg" "$work/ffprobe" "$CLI_DIR/" || die "install failed"
  echo "$key" >"$CLI_DIR/.key"
  rm -rf "$work"
  say "built: $(ls -la "$CLI_DIR" | awk '/ff/{print $NF" "$5}' | tr '\n' ' ')"
}

# ------------------------------------------------------------------------------------------------
# pack
# ------------------------------------------------------------------------------------------------
# node_modules entries (lockfile paths) needed to run vitest: the dependency closure of vitest.
vitest_closure() {
  node -e '
    const fs = require("fs"), path = require("path");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    const want = new Set(); const todo = ["node_modules/vitest"];
    const resolveDep = (from, name) => {
      for (let dir = from; ; dir = path.dirname(path.dirname(dir))) {
        const p = (dir ? dir + "/" : "") + "node_modules/" + name;
        if (lock[p]) return p;
        if (!dir || !dir.includes("node_modules")) return lock["node_modules/" + name] ? "node_modules/" + name : null;
      }
    };
    while (todo.length) {
      const p = todo.pop(); if (want.has(p)) continue;
      if (!fs.existsSync(p)) continue;   // optional dependency of another platform
      want.add(p);
      const e = lock[p] || {};
      for (const d of [...Object.keys(e.dependencies || {}), ...Object.keys(e.optionalDependencies || {}), ...Object.keys(e.peerDependencies || {})]) {
        const r = resolveDep(p, d); if (r) todo.push(r);
      }
    }
    // nested entries are inside their parent folder already
    const top = [...want].filter((p) => ![...want].some((q) => q !== p && p.startsWith(q + "/")));
    console.log(top.sort().join("\n"));'
}

cmd_pack() {
  command -v node >/dev/null || die "node is needed here"
  [ -d node_modules/vitest ] || die "node_modules missing: npm ci --ignore-scripts"
  local stage=$CARRY
  rm -rf "$stage"; mkdir -p "$stage"
  local tmp; tmp=$(mktemp -d /tmp/gpu-check-pack.XXXXXX); trap 'rm -rf "$tmp"' RETURN

  # 1. the prebuilt addon (static FFmpeg + x264 + cudart; glibc only), rebuilt when native/ is newer
  local prebuild=prebuilds/linux-x64/trickle-rt.node
  if [ ! -f "$prebuild" ] || [ -n "$(find native CMakeLists.txt -newer "$prebuild" -type f 2>/dev/null | head -1)" ]; then
    say "building the prebuild (npm run prebuilds; static FFmpeg is built once, ~4-15 min)"
    npm run prebuilds >&2 || die "npm run prebuilds failed"
  fi
  xz -T0 -9 -c "$prebuild" >"$stage/trickle-rt.node.xz" || die "xz addon failed"

  # 2. compiled JS, test fixtures (the global setup generates them with the ffmpeg CLI here)
  say "compiling dist/ and generating the test fixtures"
  node node_modules/typescript/bin/tsc -p tsconfig.build.json || die "tsc failed"
  node bench/build.js || die "bench build failed"
  node -e 'require("./node_modules/vitest/package.json")' || die "vitest missing"
  TRICKLE_SKIP_PACKAGING=1 npx vitest run test/unit/errors.test.ts >"$tmp/fixtures.log" 2>&1 || { cat "$tmp/fixtures.log"; die "fixture generation failed"; }
  ls test/.fixtures/*.ts >/dev/null 2>&1 || die "no fixtures in test/.fixtures"

  # 3. bench clips of the GPU rows (B1-GPU/B2-GPU: 512² and 1080p; B7, B8: 1080p), 30 fps, 10 s
  mkdir -p "$tmp/clips"
  node -e '
    const { ensureClip } = require("./bench/dist/clips.js");
    for (const [w, h] of [[512, 512], [1920, 1080]]) console.error(ensureClip({ width: w, height: h, noise: 8, fps: 30, seconds: 10 }, process.argv[1]));
  ' "$tmp/clips" || die "clip generation failed"

  # 4. the ffmpeg CLI (anchors, oracles) when built by `tools`
  local with_cli=no
  if [ -x "$CLI_DIR/ffmpeg" ] && [ -x "$CLI_DIR/ffprobe" ]; then
    mkdir -p "$tmp/ffmpeg-cli"; cp "$CLI_DIR/ffmpeg" "$CLI_DIR/ffprobe" "$tmp/ffmpeg-cli/"; with_cli=yes
  else
    say "no ffmpeg CLI in $CLI_DIR (scripts/gpu-check.sh tools): anchors and ffmpeg/ffprobe oracles will fail there"
  fi

  # 5. one archive: dist, vitest runtime, fixtures, clips, ffmpeg CLI; node separately
  say "archiving (xz)"
  mkdir -p "$tmp/root"
  vitest_closure >"$tmp/modules" || die "vitest closure failed"
  echo node_modules/typescript >>"$tmp/modules"   # .ts processors loaded by tests (src/cli/load-processor.ts)
  tar -cf "$tmp/bundle.tar" dist bench/dist bench/node_modules test/.fixtures $(cat "$tmp/modules") || die "tar failed"
  tar -rf "$tmp/bundle.tar" -C "$tmp" clips || die "tar failed"
  if [ "$with_cli" = yes ]; then tar -rf "$tmp/bundle.tar" -C "$tmp" ffmpeg-cli || die "tar failed"; fi
  xz -T0 -6 -c "$tmp/bundle.tar" >"$stage/bundle.tar.xz" || die "xz failed"
  local node_bin; node_bin=$(readlink -f "$(command -v node)")
  xz -T0 -9 -c "$node_bin" >"$stage/node.xz" || die "xz node failed"

  # 6. manifest
  {
    echo "packed=$(date -u +%FT%TZ) host=$(hostname) commit=$(git rev-parse HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
    echo "node=$(node -v) ($node_bin, $(ldd "$node_bin" | awk '/=>/{print $1}' | tr '\n' ' '))"
    echo "addon=$(sha256sum "$prebuild" | cut -c1-16) $(stat -c %s "$prebuild") bytes, built $(date -u -r "$prebuild" +%FT%TZ)"
    echo "ffmpeg_cli=$with_cli"
    echo "node_modules=$(wc -l <"$tmp/modules") packages (vitest closure)"
    echo "--- files"
    (cd "$stage" && ls -l --time-style=+ | awk 'NR>1{print $5, $NF}')
    echo "--- bundle"
    tar -tvf "$tmp/bundle.tar" | awk '$1 !~ /^d/ {print $3, $6}' | grep -v ' node_modules/' 
    echo "node_modules/... ($(wc -l <"$tmp/modules") top-level entries)"
  } >"$stage/MANIFEST.txt"

  local size; size=$(mib "$stage")
  [ "$size" -le "$LIMIT_MIB" ] || die ".gpu-carry is $size MiB, over the $LIMIT_MIB MiB limit"
  local tree; tree=$(( ($(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1) + 1048575) / 1048576 ))
  say ".gpu-carry: $size MiB (+ tracked tree $tree MiB; device limit 64 MiB in all)"
  cat >&2 <<EOF

Device calls (from this checkout's root; the device tool sends the checkout the session was started in),
each under the 600 s of one call (docs/gpu-check.md):
  run  carry=[".gpu-carry"]  timeout_s=600  command="bash scripts/gpu-check.sh run PART"
       PART = info, probes, gpu-tests, native-tests, tensorrt, sanitizer, bench-quick
  run  carry=[".gpu-carry"]  timeout_s=600  command="bash scripts/gpu-check.sh bench B1-GPU B2-GPU"   (then B7 B8)
Results come back as files under the call's files_at (<= 8 files each).
EOF
}

# ------------------------------------------------------------------------------------------------
# run / bench (GPU machine)
# ------------------------------------------------------------------------------------------------
# unxz FILE DEST / untar FILE.tar.xz DIR, with xz when present, else Python's lzma.
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; fi
}
untar_xz() {
  if command -v xz >/dev/null && command -v tar >/dev/null; then xz -dc "$1" | tar -xf - -C "$2"
  else python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1],"r:xz").extractall(sys.argv[2])' "$1" "$2"; fi
}

setup_carried() {
  [ -f "$CARRY/node.xz" ] && [ -f "$CARRY/bundle.tar.xz" ] && [ -f "$CARRY/trickle-rt.node.xz" ] ||
    die "$CARRY is incomplete: run 'scripts/gpu-check.sh pack' where you start the device call, and carry .gpu-carry"
  RT=${GPU_CHECK_TMP:-/tmp/gpu-check}
  mkdir -p "$RT/bin"
  if [ ! -x "$RT/bin/node" ]; then unxz_to "$CARRY/node.xz" "$RT/bin/node" && chmod 755 "$RT/bin/node" || die "unpacking node failed"; fi
  unxz_to "$CARRY/trickle-rt.node.xz" "$RT/trickle-rt.node" || die "unpacking the addon failed"
  if [ ! -f "$RT/.unpacked" ] || [ "$CARRY/bundle.tar.xz" -nt "$RT/.unpacked" ]; then
    rm -rf "$RT/x"; mkdir -p "$RT/x"
    untar_xz "$CARRY/bundle.tar.xz" "$RT/x" || die "unpacking the bundle failed"
    touch "$RT/.unpacked"
  fi
  # Into the tree: the ignored paths the tests and the CLI read (dist/, node_modules/, test/.fixtures/).
  rm -rf dist bench/dist bench/node_modules node_modules test/.fixtures
  cp -a "$RT/x/dist" dist && cp -a "$RT/x/bench/dist" bench/dist && cp -a "$RT/x/bench/node_modules" bench/node_modules &&
    cp -a "$RT/x/node_modules" node_modules && cp -a "$RT/x/test/.fixtures" test/.fixtures || die "placing the bundle failed"
  if [ -d "$RT/x/ffmpeg-cli" ]; then PATH=$RT/x/ffmpeg-cli:$PATH; fi
  export PATH="$RT/bin:$PATH"
  export TRICKLE_RT_ADDON=$RT/trickle-rt.node
  export TRICKLE_RT_BENCH_CACHE=$RT/x/clips
  export TRICKLE_SKIP_PACKAGING=1
  NODE=$RT/bin/node
  [ "$(command -v node)" = "$NODE" ] || die "node on PATH is $(command -v node), not the carried one"
}

find_sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer /opt/nvidia/*/compute-sanitizer/compute-sanitizer; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

# step NAME LOG TIMEOUT CMD...: runs with a time limit, appends to LOG, records the status in SUMMARY.
step() {
  local name=$1 log=$2 limit=$3; shift 3
  local t0=$SECONDS rc
  { echo "=== $name: $*"; } >>"$log"
  if [ "$(type -t "$1")" = function ]; then "$@" >>"$log" 2>&1; rc=$?
  else timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1; rc=$?; fi
  printf '%-28s rc=%-3s %4ss  (%s)\n' "$name" "$rc" "$((SECONDS - t0))" "$(basename "$log")" | tee -a "$SUMMARY" >&2
  [ "$rc" -eq 0 ] || FAILED=$((FAILED + 1))
  return 0
}

vitest_cfg() { echo scripts/gpu-check.vitest.mts; }

# bench_rows JSON: prints each row's status; fails unless every row is "ok".
bench_rows() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let bad = 0;
    for (const s of r.scenarios) { console.log(`${s.id}: ${s.status}${s.reason ? " (" + s.reason + ")" : ""}`); if (s.status !== "ok") bad++; }
    process.exit(bad ? 1 : 0);' "$1"
}

# Every part runs in one device call (600 s at most, start and transfers excluded): its steps'
# limits add up to less than PART_BUDGET_S (default 560 s) with the unpacking, and a step never gets
# more than what is left of the budget.
PART_BUDGET_S=${GPU_CHECK_PART_BUDGET_S:-560}
left() { local l=$((PART_BUDGET_S - SECONDS)); [ "$l" -gt "$1" ] && l=$1; [ "$l" -lt 5 ] && l=5; echo "$l"; }

begin_part() {
  local out=$1
  mkdir -p "$out"; out=$(cd "$out" && pwd)
  OUT_DIR=$out; SUMMARY=$out/summary.txt; FAILED=0; : >"$SUMMARY"
  setup_carried
}

vitest_step() {  # vitest_step NAME LOGBASE LIMIT TESTS...
  local name=$1 base=$2 limit=$3; shift 3
  step "$name" "$OUT_DIR/$base.log" "$(left "$limit")" env REQUIRE_GPU=1 GPU_CHECK_TESTS="$*" \
    node node_modules/vitest/vitest.mjs run --config "$(vitest_cfg)" --reporter=default --reporter=json --outputFile.json="$OUT_DIR/$base.json"
}

# libnvinfer of TensorRT 10 on this machine (its wheels are over 1 GiB: more than a call can carry).
tensorrt_present() { ldconfig -p 2>/dev/null | grep -q 'libnvinfer\.so\.10' || { [ -n "${LD_LIBRARY_PATH:-}" ] && ls ${LD_LIBRARY_PATH//:/ } 2>/dev/null | grep -q 'libnvinfer\.so\.10'; }; }

part_info() {
  local info=$OUT_DIR/info.txt
  {
    echo "=== gpu-check run info $(date -u +%FT%TZ) on $(hostname) ($(uname -m))"; cat "$CARRY/MANIFEST.txt"
    echo "=== node: $(command -v node) $(node -v)   ffmpeg: $(command -v ffmpeg || echo missing)   ffprobe: $(command -v ffprobe || echo missing)"
    echo "=== nvidia-smi"; nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    echo "=== ldd addon"; ldd "$TRICKLE_RT_ADDON" 2>&1
    echo "=== libnvinfer: $(tensorrt_present && echo present || echo absent)"
  } >"$info"
  step "trickle-rt info" "$info" "$(left 40)" node bin/trickle-rt.js info
  step "trickle-rt info --json" "$info" "$(left 40)" node bin/trickle-rt.js info --json
  step "ffmpeg -hwaccel cuda" "$info" "$(left 60)" bash -c 'command -v ffmpeg >/dev/null || { echo "no ffmpeg CLI carried"; exit 3; }; ffmpeg -hide_banner -v error -hwaccel cuda -hwaccel_output_format cuda -i test/.fixtures/testsrc2-512x512-30fps-2s.ts -f null - && echo ok'
}

cmd_run() {
  local part=${1:-}; shift || true
  local out=${1:-${OUT:-}}; [ -n "$out" ] || die "no output folder: give one or set OUT"
  case $part in
    info|gpu-tests|native-tests|probes|tensorrt|sanitizer|bench-quick) ;;
    *) die "run needs a part: info | gpu-tests | native-tests | probes | tensorrt | sanitizer | bench-quick (one per device call)" ;;
  esac
  begin_part "$out"
  case $part in
    info) part_info ;;
    # test/gpu without the first-run probes (their own part) and without the TensorRT files
    gpu-tests) vitest_step "vitest test/gpu" gpu-tests 420 $GPU_TESTS ;;
    # the native/integration tests of the decode / encode / tensor / pipeline paths, on the GPU paths
    native-tests) vitest_step "vitest native+integration" native-tests 420 $NATIVE_TESTS ;;
    # first-run probes (issue 16): context order, deep DPB at pool 24, 1080p NVDEC toTensor = CPU,
    # NVENC with every pool slot held, process.exit mid-stream
    probes) vitest_step "vitest first-run probes" probes 420 test/gpu/first-run.test.ts ;;
    tensorrt)
      if tensorrt_present; then
        vitest_step "vitest TensorRT" tensorrt 420 $TENSORRT_TESTS
      else
        echo "TensorRT rows skipped: no libnvinfer.so.10 on this machine (ldconfig, LD_LIBRARY_PATH); its wheels are over 1 GiB, more than the 64 MiB a device call carries" | tee -a "$SUMMARY" >"$OUT_DIR/tensorrt.log"
      fi ;;
    sanitizer)
      local san
      if san=$(find_sanitizer); then
        step "compute-sanitizer memcheck" "$OUT_DIR/sanitizer.log" "$(left 420)" env REQUIRE_GPU=1 GPU_CHECK_TESTS="$SANITIZER_TESTS" \
          "$san" --tool memcheck --target-processes all --error-exitcode 86 \
          node node_modules/vitest/vitest.mjs run --config "$(vitest_cfg)" --maxWorkers=1
      else
        echo "compute-sanitizer: not found on this machine (PATH, /usr/local/cuda*/bin)" | tee -a "$SUMMARY" >"$OUT_DIR/sanitizer.log"
      fi ;;
    bench-quick)
      # shellcheck disable=SC2086
      step "bench --quick $GPU_BENCH" "$OUT_DIR/bench-quick.log" "$(left 420)" node bench/dist/cli.js $GPU_BENCH --quick --no-progress --out "$OUT_DIR/bench-quick.json"
      step "bench --quick rows all ok" "$OUT_DIR/bench-quick.log" "$(left 30)" bench_rows "$OUT_DIR/bench-quick.json" ;;
  esac
  finish "$OUT_DIR"
}

cmd_bench() {
  local out=${OUT:-} rows=() a
  for a in "$@"; do case $a in DIR=*) out=${a#DIR=} ;; *) rows+=("$a") ;; esac; done
  [ -n "$out" ] || die "no output folder: give DIR=... or set OUT"
  [ "${#rows[@]}" -gt 0 ] || rows=(B1-GPU B2-GPU)
  [ "${#rows[@]}" -le 2 ] || die "at most two rows per device call (each row up to ${GPU_CHECK_ROW_TIMEOUT:-240} s)"
  begin_part "$out"
  { echo "=== gpu-check bench $(date -u +%FT%TZ) on $(hostname)"; cat "$CARRY/MANIFEST.txt"; nvidia-smi 2>&1 | head -15; } >"$OUT_DIR/info.txt"
  local runs=${GPU_CHECK_RUNS:-3} id
  # one report per row so that a row cut by its time limit does not lose the others
  for id in "${rows[@]}"; do
    step "bench $id --runs $runs" "$OUT_DIR/bench.log" "$(left "${GPU_CHECK_ROW_TIMEOUT:-240}")" node bench/dist/cli.js "$id" --runs "$runs" --no-progress --out "$OUT_DIR/bench-$id.json"
    step "bench $id row ok" "$OUT_DIR/bench.log" "$(left 20)" bench_rows "$OUT_DIR/bench-$id.json"
  done
  finish "$OUT_DIR"
}

finish() {
  local out=$1
  echo "failed steps: $FAILED" | tee -a "$SUMMARY" >&2
  local n; n=$(find "$out" -type f | wc -l)
  [ "$n" -le 8 ] || say "warning: $n files in $out (the device returns 8)"
  [ "$FAILED" -eq 0 ]
}

case ${1:-} in
  tools) cmd_tools ;;
  pack) cmd_pack ;;
  run) shift; cmd_run "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
