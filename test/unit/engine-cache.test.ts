import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

import {
  defaultEngineCacheDir,
  engineCacheKey,
  engineCachePath,
  sha256File,
  type EngineCacheKeyParts,
} from '../../src/infer/engine-cache';

const base: EngineCacheKeyParts = {
  modelSha256: 'a'.repeat(64),
  gpu: 'NVIDIA H100 80GB HBM3',
  computeCapability: '9.0',
  tensorrtVersion: '10.16.0',
  inputShapes: { input: [1, 3, 512, 512], mask: [1, 1, 512, 512] },
  fp16: true,
  workspaceBytes: 0,
};

describe('engine cache key', () => {
  it('is a sha256 hex digest, stable for equal parts', () => {
    const key = engineCacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(engineCacheKey({ ...base })).toBe(key);
  });

  it('does not depend on the order of the input names', () => {
    const reordered = { ...base, inputShapes: { mask: [1, 1, 512, 512], input: [1, 3, 512, 512] } };
    expect(engineCacheKey(reordered)).toBe(engineCacheKey(base));
  });

  it('changes with every part that makes an engine incompatible', () => {
    const variants: EngineCacheKeyParts[] = [
      { ...base, modelSha256: 'b'.repeat(64) },
      { ...base, gpu: 'NVIDIA L4' },
      { ...base, computeCapability: '8.9' },
      { ...base, tensorrtVersion: '11.1.0' },
      { ...base, inputShapes: { ...base.inputShapes, input: [1, 3, 384, 640] } },
      { ...base, inputShapes: { input: [1, 3, 512, 512] } },
      { ...base, fp16: false },
      { ...base, workspaceBytes: 1 << 30 },
    ];
    const keys = new Set([engineCacheKey(base), ...variants.map(engineCacheKey)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it('names the cache file after the model and the key', () => {
    const key = engineCacheKey(base);
    expect(engineCachePath('/c', '/models/my model.onnx', key)).toBe(`/c/my_model-${key.slice(0, 24)}.engine`);
  });

  it('defaults to TRICKLE_RT_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultEngineCacheDir({ TRICKLE_RT_CACHE_DIR: '/own', XDG_CACHE_HOME: '/xdg' })).toBe('/own/engines');
    expect(defaultEngineCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/trickle-rt/engines');
    expect(defaultEngineCacheDir({})).toMatch(/\/\.cache\/trickle-rt\/engines$/);
  });

  it('hashes the model file contents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trt-key-'));
    try {
      const bytes = Buffer.from('not really onnx, but bytes');
      writeFileSync(join(dir, 'm.onnx'), bytes);
      expect(await sha256File(join(dir, 'm.onnx'))).toBe(createHash('sha256').update(bytes).digest('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
