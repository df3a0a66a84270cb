/**
 * Engine on machines without TensorRT (CI): argument validation happens in TypeScript before any
 * native call, and a valid load reports ERR_TENSORRT_UNAVAILABLE with the same reason as
 * capabilities(). The real-engine tests are in test/gpu/engine.test.ts.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { loadProcessor } from '../../src/cli/load-processor';
import { TrickleError } from '../../src/errors';
import { Engine, type EngineLoadOptions } from '../../src/infer/engine';
import { native, packageRoot } from '../../src/native/addon';
import { addModel } from '../helpers/onnx';

const caps = capabilities();
const trtAvailable = caps.tensorrt.available;
let dir: string;
let onnxPath: string;
let enginePath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trickle-engine-'));
  onnxPath = join(dir, 'add.onnx');
  writeFileSync(onnxPath, addModel([1, 4]));
  enginePath = join(dir, 'add.engine');
  writeFileSync(enginePath, Buffer.from('not a TensorRT plan'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function rejection(p: Promise<unknown>): Promise<TrickleError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrickleError);
  return err as TrickleError;
}

describe('Engine.load validation (before native)', () => {
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['an empty path', () => Engine.load(''), /for path but received ""/],
    ['a non-string path', () => Engine.load(42 as unknown as string), /for path but received 42/],
    ['an unknown extension', () => Engine.load(join(dir, 'model.pt')), /\.onnx, \.engine, \.plan or \.trt for path/],
    ['a missing file', () => Engine.load(join(dir, 'missing.onnx')), /existing, non-empty model file for path/],
    ['a directory', () => Engine.load(join(dir, 'sub.engine')), /existing, non-empty model file for path/],
    ['device cpu', () => Engine.load(onnxPath, { device: 'cpu' as never }), /options\.device but received "cpu"/],
    ['a negative device', () => Engine.load(onnxPath, { device: -1 }), /options\.device but received -1/],
    ['an empty cacheDir', () => Engine.load(onnxPath, { cacheDir: '' }), /options\.cacheDir/],
    ['a non-boolean fp16', () => Engine.load(onnxPath, { fp16: 'yes' as never }), /a boolean for options\.fp16/],
    ['a negative workspace', () => Engine.load(onnxPath, { workspaceBytes: -1 }), /options\.workspaceBytes but received -1/],
    ['a fractional workspace', () => Engine.load(onnxPath, { workspaceBytes: 1.5 }), /options\.workspaceBytes/],
    ['inputShapes as an array', () => Engine.load(onnxPath, { inputShapes: [] as never }), /options\.inputShapes but received \[\]/],
    ['a zero dimension', () => Engine.load(onnxPath, { inputShapes: { x: [1, 0] } }), /options\.inputShapes\['x'\] but received \[1,0\]/],
    ['a 9-d shape', () => Engine.load(onnxPath, { inputShapes: { x: [1, 1, 1, 1, 1, 1, 1, 1, 1] } }), /1 to 8 positive integers/],
    ['a string shape', () => Engine.load(onnxPath, { inputShapes: { x: 'NCHW' as never } }), /options\.inputShapes\['x'\]/],
    ['null options', () => Engine.load(onnxPath, null as unknown as EngineLoadOptions), /an object for options/],
  ];

  beforeAll(() => mkdirSync(join(dir, 'sub.engine')));

  it.each(cases)('rejects %s with ERR_INVALID_ARG and never calls native', async (_what, call, message) => {
    const addon = native();
    const spy = vi.spyOn(addon, 'loadEngine');
    const err = await rejection(call());
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toMatch(/^Expected /);
    expect(err.message).toMatch(message);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe.skipIf(trtAvailable)('Engine.load without TensorRT', () => {
  it('capabilities() says why TensorRT is unavailable', () => {
    expect(caps.tensorrt.available).toBe(false);
    expect(caps.tensorrt.reason).toBeTruthy();
    if (!caps.tensorrt.compiled) expect(caps.tensorrt.reason).toMatch(/built without TensorRT/);
    else expect(caps.tensorrt.reason).toMatch(/libnvinfer\.so\.\d+/);
  });

  it.each([
    ['an .onnx model', () => onnxPath],
    ['an .engine file', () => enginePath],
  ])('rejects %s with ERR_TENSORRT_UNAVAILABLE and the reason', async (_what, path) => {
    const err = await rejection(Engine.load(path(), { cacheDir: join(dir, 'cache') }));
    expect(err.code).toBe('ERR_TENSORRT_UNAVAILABLE');
    expect(err.message).toBe(`TensorRT is not available: ${caps.tensorrt.reason}`);
  });

  it('the native loader rejects the same way when called directly', async () => {
    const err = await native()
      .loadEngine({ path: onnxPath, onnx: true, device: 0, fp16: true, workspaceBytes: 0, inputShapes: {} })
      .then(
        () => null,
        (e: unknown) => e as Error & { code?: string; op?: string },
      );
    expect(err).toBeInstanceOf(Error);
    expect(err?.code).toBe('ERR_TENSORRT_UNAVAILABLE');
    expect(err?.op).toBe('Engine.load');
    expect(err?.message).toBe(`TensorRT is not available: ${caps.tensorrt.reason}`);
  });

  it('the native loader checks its argument types', () => {
    const load = native().loadEngine as unknown as (...args: unknown[]) => unknown;
    expect(() => load()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => load({ path: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => load({ path: 'x.onnx', inputShapes: { x: 'NCHW' } })).toThrow(/inputShapes values to be arrays/);
  });

  it('NativeEngine cannot be constructed from JS into a usable engine', () => {
    const Ctor = native().NativeEngine as unknown as new () => { io(): unknown; isClosed(): boolean };
    const e = new Ctor();
    expect(e.isClosed()).toBe(true);
    expect(() => e.io()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });

  it('examples/tensorrt-processor.ts loads in the worker and its initialize() reports the reason', async () => {
    process.env['TRICKLE_ENGINE'] = onnxPath;
    try {
      const processor = await loadProcessor(join(packageRoot, 'examples', 'tensorrt-processor.ts'));
      expect(processor.name).toBe('tensorrt');
      // The module's 'trickle-rt' is the loader's copy of the package, so compare by name and code.
      const err = (await processor.initialize().then(
        () => null,
        (e: unknown) => e,
      )) as TrickleError;
      expect(err?.name).toBe('TrickleError');
      expect(err.code).toBe('ERR_TENSORRT_UNAVAILABLE');
      expect(err.message).toContain(caps.tensorrt.reason ?? '');
    } finally {
      delete process.env['TRICKLE_ENGINE'];
    }
  });
});
