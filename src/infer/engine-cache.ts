/**
 * Keys of the engine cache. A TensorRT engine only runs on the GPU model, compute capability and
 * TensorRT version it was built for, and bakes in the input shapes of its optimization profile, so
 * a build from ONNX is cached under a key made of exactly those, plus the model's bytes (sha256)
 * and the build options that change the plan.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join } from 'node:path';

export interface EngineCacheKeyParts {
  /** sha256 (hex) of the ONNX file. */
  modelSha256: string;
  /** GPU model name, e.g. "NVIDIA H100 80GB HBM3". */
  gpu: string;
  /** Compute capability, e.g. "9.0". */
  computeCapability: string;
  /** TensorRT runtime version, e.g. "10.16.0". */
  tensorrtVersion: string;
  /** Shapes given for dynamic inputs (order of names does not matter). */
  inputShapes: Readonly<Record<string, readonly number[]>>;
  fp16: boolean;
  /** 0 = TensorRT's default. */
  workspaceBytes: number;
}

/** The cache key: sha256 (hex) of a canonical JSON of the parts (input names sorted). */
export function engineCacheKey(parts: EngineCacheKeyParts): string {
  const shapes = Object.keys(parts.inputShapes)
    .sort()
    .map((name) => [name, [...(parts.inputShapes[name] ?? [])]]);
  const canonical = JSON.stringify([
    'trickle-rt-engine-v1',
    parts.modelSha256,
    parts.gpu,
    parts.computeCapability,
    parts.tensorrtVersion,
    shapes,
    parts.fp16,
    parts.workspaceBytes,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** `<cacheDir>/<model name>-<first 24 hex digits of the key>.engine`. */
export function engineCachePath(cacheDir: string, modelPath: string, key: string): string {
  const stem = basename(modelPath, extname(modelPath)).replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
  return join(cacheDir, `${stem}-${key.slice(0, 24)}.engine`);
}

/**
 * Where engines are cached when `cacheDir` is not given: `$TRICKLE_RT_CACHE_DIR/engines`, else
 * `$XDG_CACHE_HOME/trickle-rt/engines`, else `~/.cache/trickle-rt/engines`.
 */
export function defaultEngineCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['TRICKLE_RT_CACHE_DIR'];
  if (own) return join(own, 'engines');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg || join(homedir(), '.cache'), 'trickle-rt', 'engines');
}

/** sha256 (hex) of a file, streamed (ONNX models can be large). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
