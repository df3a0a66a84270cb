/**
 * Anchors measured by the bench in the same run as ours: the ffmpeg CLI floor (bench/README.md) and, for
 * NVDEC, `ffmpeg -hwaccel cuda`. They run as child processes with `-benchmark`, which reports the
 * transcode loop's own wall time and user+sys CPU time (input probing excluded) and its max RSS.
 */
import { spawn } from 'node:child_process';

export interface FfmpegRun {
  /** Wall time of the transcode loop (ffmpeg's rtime), ms. */
  wallMs: number;
  /** user + sys CPU time of the transcode loop, ms. */
  cpuMs: number;
  /** Wall time of the whole process including start-up and probing, ms. */
  processMs: number;
  maxRssBytes: number;
  frames: number;
}

/** The ffmpeg floor command (the same decode → scale → x264 encode as ours), as arguments (input path and optional scale filled in). */
export function floorArgs(clip: string, scale: readonly [number, number] | null, frames?: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-benchmark', '-threads', '1', '-i', clip,
    ...(frames !== undefined ? ['-frames:v', String(frames)] : []),
    ...(scale ? ['-vf', `scale=${scale[0]}:${scale[1]}`] : []),
    '-c:v', 'libx264', '-preset', 'superfast', '-tune', 'zerolatency', '-bf', '0', '-threads', '1',
    '-f', 'mpegts', '-y', '/dev/null',
  ];
}

/** NVDEC anchor: decode on the GPU, frames stay in device memory, discarded. */
export function nvdecArgs(clip: string): string[] {
  return ['-hide_banner', '-nostdin', '-benchmark', '-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-i', clip, '-f', 'null', '-'];
}

/** Runs ffmpeg with -benchmark and parses its figures. Rejects on a non-zero exit. */
export function runFfmpegBenchmark(args: readonly string[]): Promise<FfmpegRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 256 * 1024) err = err.slice(-64 * 1024);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`ffmpeg ${args.join(' ')} exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(err);
      const rss = /bench: maxrss=(\d+)\s*[kK]i?B/.exec(err);
      // "frame=  300 fps=..." progress lines; the last one has the final count.
      const frameMatches = [...err.matchAll(/frame=\s*(\d+)/g)];
      const frames = Number(frameMatches.at(-1)?.[1] ?? Number.NaN);
      if (!bench) {
        reject(new Error(`ffmpeg did not print -benchmark figures: ${err.slice(-1000)}`));
        return;
      }
      resolve({
        wallMs: Number(bench[3]) * 1000,
        cpuMs: (Number(bench[1]) + Number(bench[2])) * 1000,
        processMs,
        maxRssBytes: rss ? Number(rss[1]) * 1024 : Number.NaN,
        frames,
      });
    });
  });
}
