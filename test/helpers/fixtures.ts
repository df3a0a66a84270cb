/**
 * Test media fixtures, generated (never committed) with the ffmpeg CLI, which tests use only as an
 * independent tool. Each fixture is described by typed metadata; `ensureFixtures()` (run once by
 * the vitest global setup) creates whatever is missing under test/.fixtures/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURE_DIR = resolve(__dirname, '..', '.fixtures');

export interface VideoFixture {
  /** File name under FIXTURE_DIR. */
  file: string;
  /** What the file contains, by construction. */
  width: number;
  height: number;
  fps: number;
  frames: number;
  hasAudio: boolean;
  /** ffmpeg arguments producing it (output path appended). */
  ffmpegArgs: string[];
  /**
   * When set, the fixture is the byte concatenation of several ffmpeg outputs (one continuous
   * MPEG-TS byte stream, as trickle segments are); `ffmpegArgs` is then unused.
   */
  parts?: string[][];
}

/** lavfi source of the frame-index pattern (see FIXTURES.pattern). */
const PATTERN_SOURCE = (size: string, rate: number): string =>
  `color=c=gray:size=${size}:rate=${rate},format=yuv420p,` +
  "geq=lum='if(lt(Y\\,48)\\,if(bitand(N\\,pow(2\\,floor(X/40)))\\,220\\,30)\\,128)':cb=128:cr=128";

/** Pattern geometry: the index is read from the luma row PATTERN_ROW, blocks of PATTERN_BLOCK px. */
export const PATTERN_ROW = 24;
export const PATTERN_BLOCK = 40;

/**
 * Reads the frame index back from a luma plane of the pattern (any size whose width is scaled from
 * 320: block centres are located proportionally). Returns the 8-bit index.
 */
export function patternIndex(luma: Uint8Array, stride: number, width: number, height: number): number {
  const sx = width / 320;
  const sy = height / 192;
  const y = Math.floor(PATTERN_ROW * sy);
  let v = 0;
  for (let b = 0; b < 8; b++) {
    const x = Math.floor((b * PATTERN_BLOCK + PATTERN_BLOCK / 2) * sx);
    if ((luma[y * stride + x] ?? 0) > 125) v |= 1 << b;
  }
  return v;
}

const h264 = (gop: number) => ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-bf', '0'];

export const FIXTURES = {
  /** 2 s of testsrc2 at 512x512, 30 fps, H.264 in MPEG-TS, keyframe every second, no audio. */
  testsrc512: {
    file: 'testsrc2-512x512-30fps-2s.ts',
    width: 512,
    height: 512,
    fps: 30,
    frames: 60,
    hasAudio: false,
    ffmpegArgs: ['-f', 'lavfi', '-i', 'testsrc2=size=512x512:rate=30', '-t', '2', ...h264(30), '-f', 'mpegts'],
  },
  /** 1 s of 320x240 with a 440 Hz AAC tone, for demux tests with audio. */
  testsrc320Audio: {
    file: 'testsrc2-320x240-30fps-1s-aac.ts',
    width: 320,
    height: 240,
    fps: 30,
    frames: 30,
    hasAudio: true,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '1', ...h264(30), '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts',
    ],
  },
  /**
   * 3 s of 320x192 at 30 fps whose pixels encode the frame index: the top 48 rows hold 8 blocks of
   * 40 px, block b is luma 220 when bit b of the index is set, else 30 (see patternIndex); the rest
   * is grey 128. H.264 at qp 12, keyframe every second, plus a 48 kHz mono AAC tone.
   */
  pattern: {
    file: 'pattern-320x192-30fps-3s-aac.ts',
    width: 320,
    height: 192,
    fps: 30,
    frames: 90,
    hasAudio: true,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', PATTERN_SOURCE('320x192', 30),
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '3', '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '12', '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0',
      '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts',
    ],
  },
  /** The same pattern, 2 s, no audio. */
  patternNoAudio: {
    file: 'pattern-320x192-30fps-2s.ts',
    width: 320,
    height: 192,
    fps: 30,
    frames: 60,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', PATTERN_SOURCE('320x192', 30),
      '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '12', '-pix_fmt', 'yuv420p', '-g', '30', '-bf', '0',
      '-f', 'mpegts',
    ],
  },
  /**
   * Resolution switch mid-stream: 1 s of 320x240 then 1 s of 256x144 (second encoder restarts its
   * timestamps, so pts jump backwards), concatenated into one byte stream.
   */
  resolutionSwitch: {
    file: 'switch-320x240-then-256x144.ts',
    width: 320,
    height: 240,
    fps: 30,
    frames: 60,
    hasAudio: false,
    ffmpegArgs: [],
    parts: [
      ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1', ...h264(30), '-f', 'mpegts'],
      ['-f', 'lavfi', '-i', 'testsrc2=size=256x144:rate=30', '-t', '1', ...h264(30), '-f', 'mpegts'],
    ],
  },
  /** Audio only: 1 s of a 48 kHz stereo AAC tone in MPEG-TS, no video stream. */
  audioOnly: {
    file: 'audio-only-48k-stereo-1s.ts',
    width: 0,
    height: 0,
    fps: 0,
    frames: 0,
    hasAudio: true,
    ffmpegArgs: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-ac', '2', '-t', '1', '-c:a', 'aac', '-b:a', '96k', '-f', 'mpegts'],
  },
  /** 1 s of HEVC 320x240 (decoder coverage beyond H.264). */
  hevc320: {
    file: 'testsrc2-320x240-hevc-1s.ts',
    width: 320,
    height: 240,
    fps: 30,
    frames: 30,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1', '-c:v', 'libx265', '-preset', 'ultrafast',
      '-x265-params', 'log-level=error:bframes=0', '-pix_fmt', 'yuv420p', '-f', 'mpegts',
    ],
  },
  /** 64x64, 10 fps, 6 s, keyframe every 5 frames: small segments for the fuzz test. */
  tiny: {
    file: 'testsrc-64x64-10fps-6s.ts',
    width: 64,
    height: 64,
    fps: 10,
    frames: 60,
    hasAudio: false,
    ffmpegArgs: ['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10', '-t', '6', ...h264(5), '-f', 'mpegts'],
  },
  /** Full-range (yuvj420p) H.264, 160x96, 10 frames, lossless: colour range tests. */
  fullRange: {
    file: 'fullrange-yuvj420p-160x96.ts',
    width: 160,
    height: 96,
    fps: 10,
    frames: 10,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=10', '-t', '1', '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0',
      '-pix_fmt', 'yuvj420p', '-color_range', 'pc', '-bf', '0', '-f', 'mpegts',
    ],
  },
  /** BT.709-tagged limited-range H.264, 160x96, 10 frames, lossless: colour matrix tests. */
  bt709: {
    file: 'bt709-160x96.ts',
    width: 160,
    height: 96,
    fps: 10,
    frames: 10,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=10', '-t', '1', '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0',
      '-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv',
      '-bf', '0', '-f', 'mpegts',
    ],
  },
  /** 10-bit 4:2:0 HEVC (Main 10: P010 on NVDEC), 64x64, 5 frames: refused at the stream start. */
  hevcMain10: {
    file: 'hevc-main10-64x64.ts',
    width: 64,
    height: 64,
    fps: 10,
    frames: 5,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=10', '-frames:v', '5', '-c:v', 'libx265', '-preset', 'ultrafast',
      '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p10le', '-f', 'mpegts',
    ],
  },
  /** H.264 High 4:4:4, 64x64, 5 frames: refused at the stream start. */
  h264Yuv444: {
    file: 'h264-yuv444p-64x64.ts',
    width: 64,
    height: 64,
    fps: 10,
    frames: 5,
    hasAudio: false,
    ffmpegArgs: ['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=10', '-frames:v', '5', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv444p', '-f', 'mpegts'],
  },
  /**
   * A deep DPB: x264 with 16 reference frames and 3 B-frames (pyramid), 640x360, 2 s. Decoded on
   * NVDEC at the worker's pool size of 24, it needs more than NVDEC's 32 surfaces unless decoded
   * pictures are copied out of the decoder's surfaces (test/gpu/first-run.test.ts).
   */
  deepDpb: {
    file: 'deep-dpb-640x360-30fps-2s.ts',
    width: 640,
    height: 360,
    fps: 30,
    frames: 60,
    hasAudio: false,
    ffmpegArgs: [
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '2', '-c:v', 'libx264', '-preset', 'medium', '-pix_fmt', 'yuv420p',
      '-g', '30', '-bf', '3', '-x264-params', 'ref=16:b-pyramid=normal:b-adapt=0', '-f', 'mpegts',
    ],
  },
  /** 1 s of 1080p testsrc2 (NVDEC -> toTensor against CPU decode -> toTensor on a GPU). */
  hd1080: {
    file: 'testsrc2-1920x1080-30fps-1s.ts',
    width: 1920,
    height: 1080,
    fps: 30,
    frames: 30,
    hasAudio: false,
    ffmpegArgs: ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '1', ...h264(30), '-f', 'mpegts'],
  },
} satisfies Record<string, VideoFixture>;

export type FixtureName = keyof typeof FIXTURES;

export function fixturePath(name: FixtureName): string {
  return join(FIXTURE_DIR, FIXTURES[name].file);
}

function generate(fixture: VideoFixture): void {
  const out = join(FIXTURE_DIR, fixture.file);
  if (existsSync(out)) return;
  const tmp = `${out}.tmp-${process.pid}`;
  const run = (args: string[], path: string): void => {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, path], { stdio: 'inherit' });
  };
  if (fixture.parts) {
    const pieces = fixture.parts.map((args, i) => {
      const piece = `${tmp}.part${i}`;
      run(args, piece);
      const bytes = readFileSync(piece);
      rmSync(piece);
      return bytes;
    });
    writeFileSync(tmp, Buffer.concat(pieces));
  } else {
    run(fixture.ffmpegArgs, tmp);
  }
  renameSync(tmp, out);
}

export function ensureFixtures(): void {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  for (const fixture of Object.values(FIXTURES)) generate(fixture);
}

/** ffprobe as an oracle: the frames of the first video stream, as ffprobe decodes them. */
export function ffprobeFrames(path: string): { count: number; width: number; height: number; firstPts: number | null } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp,width,height', '-of', 'json', path],
    { maxBuffer: 64 * 1024 * 1024 },
  ).toString();
  const frames = (JSON.parse(out) as { frames: Array<{ best_effort_timestamp?: number; width: number; height: number }> }).frames;
  const first = frames[0];
  return {
    count: frames.length,
    width: first?.width ?? 0,
    height: first?.height ?? 0,
    firstPts: first?.best_effort_timestamp ?? null,
  };
}

/** ffprobe as an oracle: pts, keyframe flag and size of every video frame of a file. */
export function ffprobeVideoFrames(path: string): Array<{ pts: number; key: boolean; width: number; height: number }> {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts,key_frame,width,height', '-of', 'json', path],
    { maxBuffer: 64 * 1024 * 1024 },
  ).toString();
  const frames = (JSON.parse(out) as { frames?: Array<{ pts?: number; key_frame: number; width: number; height: number }> }).frames ?? [];
  return frames.map((f) => ({ pts: f.pts ?? -1, key: f.key_frame === 1, width: f.width, height: f.height }));
}

/** ffprobe as an oracle: the streams of a file (codec, type, profile, size, B-frame setting). */
export function ffprobeStreams(path: string): Array<{ codec_name: string; codec_type: string; profile?: string; width?: number; height?: number; has_b_frames?: number; sample_rate?: string; channels?: number }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', path], { maxBuffer: 16 * 1024 * 1024 }).toString();
  return (JSON.parse(out) as { streams?: [] }).streams ?? [];
}

/** ffmpeg as an oracle: every decoded video frame's luma plane (gray8), width x height each. */
export function ffmpegLumaFrames(path: string, width: number, height: number): Uint8Array[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
    maxBuffer: 512 * 1024 * 1024,
  });
  const size = width * height;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= raw.length; off += size) frames.push(raw.subarray(off, off + size));
  return frames;
}
