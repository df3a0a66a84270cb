import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

import {
  defaultEngineCacheDir,
  engineCacheKey,
  engineCachePath,
  onnxExternalDataFiles,
  onnxExternalDataHashes,
  sha256File,
  type EngineCacheKeyParts,
} from '../../src/infer/engine-cache';
import { OnnxType, onnxModel, scaleBiasModel } from '../helpers/onnx';

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

describe('engine cache key: ONNX external data', () => {
  const withExternal = (locations: string[]): Buffer =>
    onnxModel({
      inputs: [{ name: 'input', elemType: OnnxType.FLOAT, shape: [1, 4] }],
      outputs: [{ name: 'output', elemType: OnnxType.FLOAT, shape: [1, 4] }],
      initializers: locations.map((location, i) => ({ name: `w${i}`, dims: [1, 4], floats: [1, 2, 3, 4], external: { location } })),
      nodes: [{ opType: 'Add', inputs: ['input', 'w0'], outputs: ['output'] }],
    });

  it('finds every external-data location of a model, and none in an inline one', () => {
    expect(onnxExternalDataFiles(withExternal(['weights.bin', 'more/extra.bin', 'weights.bin']))).toEqual(['more/extra.bin', 'weights.bin']);
    expect(onnxExternalDataFiles(scaleBiasModel([1, 4], 2, 1))).toEqual([]);
    expect(() => onnxExternalDataFiles(Buffer.from([0x3a, 0x20, 0x01]))).toThrow(/runs past/);
  });

  it('hashes the referenced files: changed weights change the key; missing or escaping files are ERR_INVALID_ARG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trickle-onnx-ext-'));
    try {
      const model = join(dir, 'model.onnx');
      writeFileSync(model, withExternal(['weights.bin']));
      writeFileSync(join(dir, 'weights.bin'), Buffer.from('first weights'));
      const first = await onnxExternalDataHashes(model);
      expect(first).toEqual([{ location: 'weights.bin', sha256: createHash('sha256').update('first weights').digest('hex') }]);
      writeFileSync(join(dir, 'weights.bin'), Buffer.from('other weights'));
      const second = await onnxExternalDataHashes(model);
      expect(engineCacheKey({ ...base, externalData: second })).not.toBe(engineCacheKey({ ...base, externalData: first }));
      // a model without external data keeps the key it had before external data were hashed
      expect(engineCacheKey({ ...base, externalData: [] })).toBe(engineCacheKey(base));

      rmSync(join(dir, 'weights.bin'));
      await expect(onnxExternalDataHashes(model)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/missing external data .*weights\.bin/) as unknown as string });
      writeFileSync(model, withExternal(['../outside.bin']));
      await expect(onnxExternalDataHashes(model)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
