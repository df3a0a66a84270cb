import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg, release, totalmem, type } from 'node:os';
import { readFileSync } from 'node:fs';

import { capabilities, packageVersion } from 'trickle-rt';
import type { MachineInfo, VersionInfo } from './types';

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    if (m?.[1]) return m[1];
  } catch {
    // not Linux or no os-release: fall back to os.type()
  }
  return type();
}

/** CPU model, cores, RAM, OS: the machine a result came from. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramBytes: totalmem(),
    os: osName(),
    kernel: release(),
    hostname: hostname(),
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** First line of `ffmpeg -version` (the anchor binary), or null when the CLI is missing. */
export function ffmpegCliVersion(): string | null {
  try {
    const out = execFileSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /ffmpeg version (\S+)/.exec(out);
    return m?.[1] ?? out.split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

/** Node, FFmpeg (libraries and CLI), CUDA runtime/driver, GPUs and TensorRT, from capabilities(). */
export function versionInfo(): VersionInfo {
  const info: VersionInfo = {
    trickleRt: packageVersion(),
    node: process.version,
    v8: process.versions.v8,
    ffmpegLibraries: null,
    ffmpegCli: ffmpegCliVersion(),
    libavcodec: null,
    cudaCompiled: null,
    cudaRuntime: null,
    cudaDriver: null,
    gpus: [],
    tensorrt: null,
  };
  try {
    const caps = capabilities();
    info.ffmpegLibraries = caps.ffmpeg.version;
    info.libavcodec = caps.ffmpeg.libavcodec;
    info.cudaCompiled = caps.cuda.compiled;
    info.cudaRuntime = caps.cuda.runtimeVersion || null;
    info.cudaDriver = caps.driver.loaded ? caps.driver.version : null;
    info.gpus = caps.devices.map((d) => ({ name: d.name, totalMemory: d.totalMemory, nvdec: d.nvdec.available, nvenc: d.nvenc.available }));
    info.tensorrt = caps.tensorrt.available ? (caps.tensorrt.version ?? 'available') : null;
  } catch (err) {
    info.capabilitiesError = err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
  return info;
}

/** Whether a usable CUDA device is present, with the reason when not (printed on skipped lines). */
export function gpuStatus(): { available: boolean; reason: string } {
  try {
    const caps = capabilities();
    if (!caps.cuda.compiled) return { available: false, reason: 'this build has no CUDA kernels (built without nvcc)' };
    if (!caps.driver.loaded) return { available: false, reason: `no NVIDIA driver: ${caps.driver.reason ?? 'not loaded'}` };
    if (caps.devices.length === 0) return { available: false, reason: 'no CUDA device visible' };
    if (caps.cuda.status !== 'ok') return { available: false, reason: `CUDA: ${caps.cuda.status}` };
    const d = caps.devices[0];
    return { available: true, reason: `${d?.name ?? 'GPU'} (${caps.devices.length} device(s))` };
  } catch (err) {
    return { available: false, reason: `native addon not loadable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/**
 * Device memory used by a process on the GPU (bytes), from `nvidia-smi` (bench only; the addon does
 * not track other libraries' allocations). Undefined where nvidia-smi or the process is not there.
 */
export function gpuMemoryUsed(pid: number = process.pid): number | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    let total = 0;
    let found = false;
    for (const line of out.split('\n')) {
      const [p, mib] = line.split(',').map((x) => x.trim());
      if (Number(p) === pid && Number.isFinite(Number(mib))) {
        total += Number(mib) * 1024 * 1024;
        found = true;
      }
    }
    return found ? total : undefined;
  } catch {
    return undefined;
  }
}
