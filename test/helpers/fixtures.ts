/**
 * Test media fixtures, generated (never committed) with the ffmpeg CLI, which tests use only as an
 * independent tool. Each fixture is described by typed metadata; `ensureFixtures()` (run once by
 * the vitest global setup) creates whatever is missing under test/.fixtures/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
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
} satisfies Record<string, VideoFixture>;

export type FixtureName = keyof typeof FIXTURES;

export function fixturePath(name: FixtureName): string {
  return join(FIXTURE_DIR, FIXTURES[name].file);
}

function generate(fixture: VideoFixture): void {
  const out = join(FIXTURE_DIR, fixture.file);
  if (existsSync(out)) return;
  const tmp = `${out}.tmp-${process.pid}`;
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...fixture.ffmpegArgs, tmp], { stdio: 'inherit' });
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
