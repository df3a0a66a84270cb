#!/usr/bin/env bash
# Builds the minimal static FFmpeg (plus PIC static x264 and libopus) that the prebuilt trickle-rt
# binary links, from the Debian source packages, into an ignored prefix. See docs/binaries.md.
#
#   scripts/build-ffmpeg.sh                 # GPL build with libx264 -> .deps/ffmpeg-static
#   scripts/build-ffmpeg.sh --no-x264       # LGPL build without libx264 -> .deps/ffmpeg-static-lgpl
#   scripts/build-ffmpeg.sh --print-prefix  # only print the prefix the options select
#   scripts/build-ffmpeg.sh --force         # rebuild even when the stamp matches
#
# Environment: TRICKLE_X264=0|1 (same as --no-x264), TRICKLE_FFMPEG_PREFIX (install prefix),
# TRICKLE_DEPS_DIR (downloads and build trees, default .deps), JOBS (default nproc),
# FFMPEG_DEB_VERSION / X264_DEB_VERSION / OPUS_DEB_VERSION (Debian source versions to build).
#
# Idempotent: the prefix holds a stamp of the source versions, this script's content and the
# compiler; when it matches, nothing is fetched or built. Reproducible: pinned Debian source
# versions (if the archive no longer has a pinned version, the newest one is used with a warning and
# recorded in the stamp). Needs root for apt-get when nasm is missing or sources must be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Debian 12 (bookworm) source versions; the FFmpeg one matches the system libavcodec-dev that
# development builds link, so both variants run the same FFmpeg code.
FFMPEG_DEB_VERSION=${FFMPEG_DEB_VERSION:-7:5.1.9-0+deb12u1}
X264_DEB_VERSION=${X264_DEB_VERSION:-2:0.164.3095+gitbaee400-3}
OPUS_DEB_VERSION=${OPUS_DEB_VERSION:-1.3.1-3}

WITH_X264=${TRICKLE_X264:-1}
FORCE=0
PRINT_PREFIX=0
for arg in "$@"; do
  case "$arg" in
    --no-x264) WITH_X264=0 ;;
    --x264) WITH_X264=1 ;;
    --force) FORCE=1 ;;
    --print-prefix) PRINT_PREFIX=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-ffmpeg: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

DEPS=${TRICKLE_DEPS_DIR:-$ROOT/.deps}
if [ "$WITH_X264" = 1 ]; then default_prefix=$DEPS/ffmpeg-static; else default_prefix=$DEPS/ffmpeg-static-lgpl; fi
PREFIX=${TRICKLE_FFMPEG_PREFIX:-$default_prefix}
if [ "$PRINT_PREFIX" = 1 ]; then echo "$PREFIX"; exit 0; fi
JOBS=${JOBS:-$(nproc)}
SRC=$DEPS/src
WORK=$DEPS/build-ffmpeg

say() { printf '\033[1mbuild-ffmpeg:\033[0m %s\n' "$*" >&2; }

# ---- what FFmpeg contains ------------------------------------------------------------------------
# Everything trickle-rt's media code uses (native/media, native/bindings): MPEG-TS in and out,
# MP4/MOV and Matroska files, H.264/HEVC video, AAC/Opus audio, NVDEC/CUVID decode and NVENC encode
# through the ffnvcodec headers (dlopen of the driver at run time), swscale and swresample.
FF_COMPONENTS=(
  --enable-demuxer=mpegts,mov,matroska,h264,hevc,aac,ogg,wav
  --enable-muxer=mpegts,mp4,mov,matroska,h264,hevc,adts,ogg,opus,wav,null
  --enable-decoder=h264,hevc,aac,aac_latm,opus,mp3float,pcm_s16le,pcm_f32le,rawvideo,h264_cuvid,hevc_cuvid
  --enable-encoder=aac,opus,pcm_s16le,rawvideo,h264_nvenc,hevc_nvenc
  --enable-parser=h264,hevc,aac,aac_latm,opus,mpegaudio
  --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,aac_adtstoasc,extract_extradata,dump_extradata,h264_metadata,null
  --enable-hwaccel=h264_nvdec,hevc_nvdec
  --enable-protocol=file,pipe
)
FF_CONFIGURE=(
  --enable-static --disable-shared --enable-pic
  --disable-programs --disable-doc --disable-debug --disable-network --disable-autodetect
  --disable-avdevice --disable-avfilter --disable-postproc
  --disable-everything
  --enable-ffnvcodec --enable-nvenc --enable-nvdec --enable-cuvid
  --enable-swscale --enable-swresample
  --enable-libopus --enable-encoder=libopus --enable-decoder=libopus
  --pkg-config-flags=--static
  "${FF_COMPONENTS[@]}"
)
if [ "$WITH_X264" = 1 ]; then
  FF_CONFIGURE+=(--enable-gpl --enable-libx264 --enable-encoder=libx264)
fi
X264_CONFIGURE=(--enable-static --enable-pic --disable-cli --disable-opencl --disable-lavf --disable-swscale
  --disable-ffms --disable-gpac --disable-lsmash --bit-depth=8 --chroma-format=all)
OPUS_CONFIGURE=(--enable-static --disable-shared --with-pic --disable-doc --disable-extra-programs)

# ---- stamp: skip when the prefix was built from exactly this ------------------------------------
# Bump BUILD_REVISION when the build procedure changes in a way the flags below do not show.
BUILD_REVISION=1
stamp_key() {
  {
    echo "revision=$BUILD_REVISION ffmpeg=$FFMPEG_DEB_VERSION x264=$X264_DEB_VERSION opus=$OPUS_DEB_VERSION with_x264=$WITH_X264"
    echo "ffmpeg: ${FF_CONFIGURE[*]}"
    echo "x264: ${X264_CONFIGURE[*]}"
    echo "opus: ${OPUS_CONFIGURE[*]}"
    gcc --version | head -1
  } | sha256sum | cut -d' ' -f1
}
KEY=$(stamp_key)
STAMP=$PREFIX/.trickle-build-stamp
# One build per prefix at a time (parallel test workers, two shells): the second waits, then finds
# the stamp up to date.
mkdir -p "$DEPS"
exec 9>"$DEPS/.lock-$(basename "$PREFIX")"
flock 9
if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && [ "$(sed -n 's/^key=//p' "$STAMP")" = "$KEY" ] \
  && [ -f "$PREFIX/lib/libavcodec.a" ]; then
  say "up to date: $PREFIX ($(sed -n 's/^built=//p' "$STAMP"))"
  exit 0
fi

# ---- build tools -------------------------------------------------------------------------------
apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "build-ffmpeg: missing build tools: $*; run: sudo apt-get install $*" >&2
    exit 1
  fi
  say "installing build tools: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
need=()
command -v nasm >/dev/null || need+=(nasm)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc)
command -v xz >/dev/null || need+=(xz-utils)
pkg-config --exists ffnvcodec 2>/dev/null || need+=(libffmpeg-nvenc-dev)
if [ "${#need[@]}" -gt 0 ]; then apt_install "${need[@]}"; fi

# ---- Debian source packages ----------------------------------------------------------------------
# A private apt configuration with a temporary deb-src entry (the system's own mirrors, types
# rewritten to deb-src) and its own lists directory: the system's apt state is not touched, and the
# whole directory is removed afterwards.
APT_TMP=""
cleanup() { if [ -n "$APT_TMP" ]; then rm -rf "$APT_TMP"; fi; }
trap cleanup EXIT
# apt_src_init runs in this shell (not a subshell) so that the EXIT trap sees APT_TMP.
apt_src_init() {
  if [ -z "$APT_TMP" ]; then
    APT_TMP=$(mktemp -d /tmp/trickle-apt-src.XXXXXX)
    mkdir -p "$APT_TMP/lists/partial" "$APT_TMP/cache/archives/partial" "$APT_TMP/sources.list.d"
    local n=0 f
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$APT_TMP/sources.list.d/src$((n++)).sources"
    done
    if [ -f /etc/apt/sources.list ]; then
      sed -nE 's/^deb[[:space:]]+/deb-src /p' /etc/apt/sources.list >"$APT_TMP/sources.list.d/src-list.list"
    fi
    APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$APT_TMP/sources.list.d"
      -o "Dir::State::Lists=$APT_TMP/lists" -o "Dir::Cache=$APT_TMP/cache" -o "APT::Sandbox::User=root")
    say "fetching the Debian source index (temporary deb-src entry in $APT_TMP)"
    apt-get "${APT_OPTS[@]}" update -qq
  fi
}
apt_src() { apt-get "${APT_OPTS[@]}" "$@"; }

# fetch_source <package> <version>: sets DSC to the path of the .dsc under $SRC (no subshell, so
# that the temporary apt directory is created once and removed by the EXIT trap)
fetch_source() {
  local pkg=$1 version=$2 upstream newest
  upstream=${version#*:}
  DSC=$SRC/${pkg}_${upstream}.dsc
  [ -f "$DSC" ] && return 0
  mkdir -p "$SRC"
  apt_src_init
  if ! (cd "$SRC" && apt_src source --download-only -qq "$pkg=$version" >&2); then
    newest=$(apt-cache "${APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
    [ -n "$newest" ] || { echo "build-ffmpeg: no source package $pkg in the configured apt mirrors" >&2; exit 1; }
    say "WARNING: $pkg $version is no longer in the archive; building $newest instead (bump the pin in this script)"
    (cd "$SRC" && apt_src source --download-only -qq "$pkg=$newest" >&2)
    DSC=$SRC/${pkg}_${newest#*:}.dsc
  fi
}

# unpack <dsc> <dir>: a fresh tree with the Debian patches applied
unpack() {
  rm -rf "$2"
  dpkg-source --no-check -x "$1" "$2" >/dev/null
}

# logged <name> <command...>: output to $DEPS/logs/<name>.log, its tail on failure
TIMES=""
logged() {
  local name=$1 log t0=$SECONDS
  shift
  log=$DEPS/logs/$name.log
  mkdir -p "$DEPS/logs"
  if ! "$@" >"$log" 2>&1; then
    tail -60 "$log" >&2
    echo "build-ffmpeg: building $name failed; full log: $log" >&2
    exit 1
  fi
  TIMES+="$name=$((SECONDS - t0))s "
}

start=$(date +%s)
rm -rf "$PREFIX" "$WORK"
mkdir -p "$PREFIX" "$WORK"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
BUILT=""

if [ "$WITH_X264" = 1 ]; then
  fetch_source x264 "$X264_DEB_VERSION"; dsc=$DSC
  BUILT+="x264 $(basename "$dsc" .dsc | cut -d_ -f2) "
  say "building x264 (PIC, static) from $(basename "$dsc")"
  unpack "$dsc" "$WORK/x264"
  logged x264 bash -c "cd '$WORK/x264' && ./configure --prefix='$PREFIX' ${X264_CONFIGURE[*]} && make -j$JOBS && make install-lib-static"
fi

fetch_source opus "$OPUS_DEB_VERSION"; dsc=$DSC
BUILT+="opus $(basename "$dsc" .dsc | cut -d_ -f2) "
say "building libopus (PIC, static) from $(basename "$dsc")"
unpack "$dsc" "$WORK/opus"
logged opus bash -c "cd '$WORK/opus' && ./configure --prefix='$PREFIX' ${OPUS_CONFIGURE[*]} && make -j$JOBS && make install"

fetch_source ffmpeg "$FFMPEG_DEB_VERSION"; dsc=$DSC
BUILT+="ffmpeg $(basename "$dsc" .dsc | cut -d_ -f2)"
say "building FFmpeg (static, minimal, $([ "$WITH_X264" = 1 ] && echo GPL with libx264 || echo LGPL without libx264)) from $(basename "$dsc")"
unpack "$dsc" "$WORK/ffmpeg"
logged ffmpeg bash -c "cd '$WORK/ffmpeg' && { ./configure --prefix='$PREFIX' --extra-version=trickle-rt ${FF_CONFIGURE[*]} || { tail -40 ffbuild/config.log; exit 1; }; } && make -j$JOBS && make install"

rm -rf "$PREFIX/share" "$WORK"
cat >"$STAMP" <<EOF
key=$KEY
built=$BUILT
x264=$WITH_X264
license=$([ "$WITH_X264" = 1 ] && echo GPL-2.0-or-later || echo LGPL-2.1-or-later)
seconds=$(( $(date +%s) - start ))
steps=$TIMES
EOF
say "done in $(( $(date +%s) - start )) s ($TIMES): $PREFIX ($BUILT)"
