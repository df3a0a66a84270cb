/**
 * Real TensorRT engines: hand-written ONNX models (test/helpers/onnx.ts) built, cached, reloaded and
 * run on the GPU, outputs compared with the values computed in JavaScript.
 *
 * Gating: skipped unless a CUDA GPU and a usable TensorRT runtime are both present. Under
 * REQUIRE_GPU=1 a machine with no GPU fails (test/helpers/gpu.ts), and a machine with a GPU but no
 * usable TensorRT (addon built without TRICKLE_TENSORRT_ROOT, or libnvinfer missing) fails too,
 * with the reason: a GPU verification run must not pass by skipping the engine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { capabilities } from '../../src/native/capabilities';
import { TrickleError } from '../../src/errors';
import { Engine } from '../../src/infer/engine';
import { copyCounters } from '../../src/media/copy-counters';
import { Tensor } from '../../src/media/tensor';
import { VideoFrame } from '../../src/media/video-frame';
import { requireGpu, shouldRunGpuTests } from '../helpers/gpu';
import { addModel, OnnxType, scaleBiasModel } from '../helpers/onnx';

const gpu = shouldRunGpuTests();
const trt = capabilities().tensorrt;
const runEngines = gpu && trt.available;

describe.runIf(gpu && !trt.available && requireGpu)('TensorRT on this GPU machine (REQUIRE_GPU=1)', () => {
  it('is usable', () => {
    throw new Error(`REQUIRE_GPU=1 and a GPU is present, but TensorRT is not usable: ${trt.reason ?? 'unknown'}`);
  });
});

describe.skipIf(!runEngines)('TensorRT engines on a GPU', () => {
  let dir: string;
  let cacheDir: string;
  const model = (name: string, bytes: Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trickle-trt-'));
    cacheDir = join(dir, 'cache');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const x = Float32Array.from([1, 2, 3, 4]);
  const y = Float32Array.from([10, 20.5, -30, 0.25]);
  const sum = Array.from(x, (v, i) => v + y[i]!);

  async function readBack(t: Tensor): Promise<number[]> {
    expect(t.location).toBe('cuda');
    using host = await t.toHost();
    return Array.from(host.data as Float32Array);
  }

  it('builds an ONNX Add model, describes it, and adds CUDA tensors without host copies', async () => {
    using engine = await Engine.load(model('add.onnx', addModel([1, 4])), { cacheDir });
    expect(engine.info.source).toBe('onnx');
    expect(engine.info.cachePath).toMatch(/add-[0-9a-f]{24}\.engine$/);
    expect(engine.info.tensorrtVersion).toBe(trt.version);
    // TensorRT 11 networks are strongly typed; TensorRT 10 builds use fp16 (every supported GPU has it).
    expect(engine.info.precision).toBe(trt.version!.startsWith('10.') ? 'fp16' : 'strongly-typed');
    expect(engine.inputs.map((i) => [i.name, i.dtype, [...i.shape]])).toEqual([
      ['x', 'float32', [1, 4]],
      ['y', 'float32', [1, 4]],
    ]);
    expect(engine.outputs.map((o) => [o.name, o.dtype, [...o.shape]])).toEqual([['z', 'float32', [1, 4]]]);

    using hx = Tensor.from(x, [1, 4]);
    using hy = Tensor.from(y, [1, 4]);
    using dx = await hx.toDevice(0);
    using dy = await hy.toDevice(0);
    copyCounters(true);
    const { z } = await engine.run({ x: dx, y: dy });
    const during = copyCounters(true);
    expect(during.hostToDevice).toBe(0);
    expect(during.deviceToHost).toBe(0);
    using out = z!;
    expect([...out.shape]).toEqual([1, 4]);
    expect(await readBack(out)).toEqual(sum);
    expect(engine.stats()).toMatchObject({ runs: 1, hostUploads: 0, contexts: 1 });
  });

  it('uploads host tensors and counts the uploads', async () => {
    using engine = await Engine.load(model('add.onnx', addModel([1, 4])), { cacheDir });
    using hx = Tensor.from(x, [1, 4]);
    using hy = Tensor.from(y, [1, 4]);
    const { z } = await engine.run({ x: hx, y: hy });
    using out = z!;
    expect(await readBack(out)).toEqual(sum);
    expect(engine.stats()).toMatchObject({ hostUploads: 2, hostUploadBytes: 32 });
  });

  it('reuses the cached build, and the cache file loads as an .engine', async () => {
    const path = model('add.onnx', addModel([1, 4]));
    using first = await Engine.load(path, { cacheDir });
    using second = await Engine.load(path, { cacheDir });
    expect(second.info.source).toBe('cache');
    expect(second.info.cachePath).toBe(first.info.cachePath);
    expect(second.info.precision).toBe(first.info.precision);

    const enginePath = join(dir, 'copy.engine');
    writeFileSync(enginePath, readFileSync(first.info.cachePath!));
    using fromFile = await Engine.load(enginePath);
    expect(fromFile.info.source).toBe('engine');
    using hx = Tensor.from(x, [1, 4]);
    using hy = Tensor.from(y, [1, 4]);
    const { z } = await fromFile.run({ x: hx, y: hy });
    using out = z!;
    expect(await readBack(out)).toEqual(sum);
  });

  it('a changed model gets a new cache entry', async () => {
    const path = model('changing.onnx', addModel([1, 4]));
    using a = await Engine.load(path, { cacheDir });
    writeFileSync(path, addModel([1, 8]));
    using b = await Engine.load(path, { cacheDir });
    expect(b.info.source).toBe('onnx');
    expect(b.info.cachePath).not.toBe(a.info.cachePath);
    expect([...b.inputs[0]!.shape]).toEqual([1, 8]);
  });

  it('builds dynamic inputs from inputShapes and rejects shapes outside the profile', async () => {
    const path = model('dyn.onnx', addModel(['N', 3, 'H', 'W']));
    const missing = await Engine.load(path, { cacheDir: false }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TrickleError);
    expect((missing as TrickleError).code).toBe('ERR_INVALID_ARG');
    expect((missing as TrickleError).message).toMatch(/input 'x' has dynamic shape \[-1,3,-1,-1\]; pass inputShapes/);

    using engine = await Engine.load(path, { cacheDir, inputShapes: { x: [1, 3, 4, 6], y: [1, 3, 4, 6] } });
    expect([...engine.inputs[0]!.shape]).toEqual([-1, 3, -1, -1]);
    const n = 3 * 4 * 6;
    const a = Float32Array.from({ length: n }, (_, i) => i);
    const b = Float32Array.from({ length: n }, (_, i) => 0.5 * i);
    using ta = Tensor.from(a, [1, 3, 4, 6]);
    using tb = Tensor.from(b, [1, 3, 4, 6]);
    const { z } = await engine.run({ x: ta, y: tb });
    using out = z!;
    expect([...out.shape]).toEqual([1, 3, 4, 6]);
    expect(await readBack(out)).toEqual(Array.from(a, (v, i) => v + b[i]!));

    using small = Tensor.from(new Float32Array(3 * 2 * 2), [1, 3, 2, 2]);
    const err = await engine.run({ x: small, y: small }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_INVALID_ARG');
    expect((err as TrickleError).message).toMatch(/outside the engine's optimization profile/);
  });

  it('runs a float16 model bit-exactly', async () => {
    using engine = await Engine.load(model('add16.onnx', addModel([4], OnnxType.FLOAT16)), { cacheDir });
    expect(engine.inputs[0]!.dtype).toBe('float16');
    // 1 + 2 = 3, 0.5 + 0.25 = 0.75, -2 + 2 = 0, 1024 + 1 = 1025 (all exact in half precision).
    using a = Tensor.from(Uint16Array.from([0x3c00, 0x3800, 0xc000, 0x6400]), [4]);
    using b = Tensor.from(Uint16Array.from([0x4000, 0x3400, 0x4000, 0x3c00]), [4]);
    const { z } = await engine.run({ x: a, y: b });
    using out = z!;
    using host = await out.toHost();
    expect(Array.from(host.data as Uint16Array)).toEqual([0x4200, 0x3a00, 0x0000, 0x6401]);
  });

  it('serves outputs from the pool once they are closed', async () => {
    using engine = await Engine.load(model('add.onnx', addModel([1, 4])), { cacheDir });
    using hx = Tensor.from(x, [1, 4]);
    using hy = Tensor.from(y, [1, 4]);
    (await engine.run({ x: hx, y: hy }))['z']!.close();
    (await engine.run({ x: hx, y: hy }))['z']!.close();
    const held = (await engine.run({ x: hx, y: hy }))['z']!;
    using again = (await engine.run({ x: hx, y: hy }))['z']!;
    expect(await readBack(held)).toEqual(sum);
    expect(await readBack(again)).toEqual(sum);
    held.close();
    const s = engine.stats();
    expect(s.outputsAllocated).toBe(2);
    expect(s.outputsReused).toBe(2);
  });

  it('frame → toTensor → run → fromTensor on the frame stream, one context per stream', async () => {
    const w = 32;
    const h = 16;
    using engine = await Engine.load(model('invert.onnx', scaleBiasModel([1, 3, h, w], -1, 1)), { cacheDir });
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    using hostPattern = Tensor.from(rgb, [h, w, 3]);
    using pattern = await hostPattern.toDevice(0);
    using frame = await VideoFrame.fromTensor(pattern, null, { pts: 1234, timeBase: [1, 90000] });
    expect(frame.location).toBe('cuda');
    using input = await frame.toTensor({ layout: 'nchw', dtype: 'float32' });
    using inputHost = await input.toHost();
    const expected = Array.from(inputHost.data as Float32Array, (v) => 1 - v);

    copyCounters(true);
    const { output } = await engine.run({ input }, { stream: frame.cudaInterop().stream });
    expect(copyCounters(true).hostToDevice).toBe(0);
    using out = output!;
    const got = await readBack(out);
    expect(got.length).toBe(expected.length);
    let maxErr = 0;
    got.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - expected[i]!))));
    expect(maxErr).toBeLessThan(1e-6);
    using styled = await VideoFrame.fromTensor(out, frame);
    expect([styled.width, styled.height, styled.location, styled.pts]).toEqual([w, h, 'cuda', 1234]);

    // The default stream and a named one are two more streams: one execution context each.
    (await engine.run({ input }))['output']!.close();
    (await engine.run({ input }, { stream: 'stream-a' }))['output']!.close();
    (await engine.run({ input }, { stream: 'stream-a' }))['output']!.close();
    expect(engine.stats().contexts).toBe(3);
  });

  it('concurrent runs on several named streams all produce correct outputs', async () => {
    using engine = await Engine.load(model('add.onnx', addModel([1, 4])), { cacheDir });
    using hx = Tensor.from(x, [1, 4]);
    using hy = Tensor.from(y, [1, 4]);
    using dx = await hx.toDevice(0);
    using dy = await hy.toDevice(0);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.run({ x: dx, y: dy }, { stream: `s${i % 3}` })));
    expect(engine.stats().contexts).toBe(3);
    for (const r of results) {
      using z = r['z']!;
      expect(await readBack(z)).toEqual(sum);
    }
  });

  it('a run pins what it uses until the GPU is done: inputs and engine closed right after run(), more streams in flight than pool threads', async () => {
    // run() holds a libuv pool thread only for the enqueue and settles from a stream callback; the
    // inputs (host feeds: uploaded from their memory on the run's stream), the engine and evicted
    // contexts (16 streams, maxContexts may be smaller) must outlive every run still on the GPU.
    const engine = await Engine.load(model('add.onnx', addModel([1, 4])), { cacheDir });
    using hy = Tensor.from(y, [1, 4]);
    using dy = await hy.toDevice(0);
    const pending: Array<Promise<Record<string, Tensor>>> = [];
    for (let i = 0; i < 48; i++) {
      const hx = Tensor.from(Float32Array.from(x, (v) => v * (i + 1)), [1, 4]);
      pending.push(engine.run({ x: hx, y: dy }, { stream: `pins${i % 16}` }));
      hx.close();
    }
    engine.close();
    const results = await Promise.all(pending);
    for (let i = 0; i < results.length; i++) {
      using z = results[i]!['z']!;
      expect(await readBack(z)).toEqual(Array.from(x, (v, k) => v * (i + 1) + y[k]!));
    }
  });

  it('process.exit() with runs in flight drains them first and exits cleanly', async () => {
    const path = model('add-exit.onnx', addModel([1, 4]));
    (await Engine.load(path, { cacheDir })).close(); // built and cached here, so the child loads it fast
    const script = `
      const rt = require('./dist/index.js');
      const { native } = require('./dist/native/addon.js');
      (async () => {
        const engine = await rt.Engine.load(${JSON.stringify(path)}, { cacheDir: ${JSON.stringify(cacheDir)} });
        const x = rt.Tensor.from(new Float32Array([1, 2, 3, 4]), [1, 4]);
        for (let i = 0; i < 32; i++) void engine.run({ x, y: x }, { stream: 'exit' + (i % 4) }).catch(() => {});
        // registered after the addon loaded: runs after trickle-rt's own exit hook
        process.on('exit', () => { process.stdout.write('in flight at exit: ' + native().pipelineCount() + '\\n'); });
        process.exit(0);
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: resolve(__dirname, '..', '..'), encoding: 'utf8', timeout: 120_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('in flight at exit: 0');
    expect(r.stderr).not.toMatch(/Segmentation|Aborted|CUDA error|terminate called/);
  });

  it('keeps a TensorRT timing cache beside the engine cache and bounds contexts by memory', async () => {
    using engine = await Engine.load(model('add-timing.onnx', addModel([1, 8])), { cacheDir });
    expect(engine.info.source).toBe('onnx');
    expect(engine.info.timingCacheError).toBeUndefined();
    expect(engine.info.timingCachePath).toMatch(/\/timing-.*-sm\d+-trt\d+\.cache$/);
    expect(readFileSync(engine.info.timingCachePath!).length).toBeGreaterThan(0);
    expect(engine.info.maxContexts).toBeGreaterThanOrEqual(1);
    expect(engine.info.maxContexts).toBeLessThanOrEqual(8);
  });

  it('every run is ordered after the ops stream: a closed output still read by fromTensor is not overwritten', async () => {
    const w = 64;
    const h = 32;
    using engine = await Engine.load(model('invert-order.onnx', scaleBiasModel([1, 3, h, w], -1, 1)), { cacheDir });
    const inputs: Tensor[] = [];
    const expected: number[][] = [];
    for (const seed of [3, 101]) {
      // grey pictures (R = G = B): the YUV round trip of fromTensor/toTensor loses no chroma
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (Math.floor(i / 3) * seed) % 256);
      const planar = new Float32Array(w * h * 3);
      for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) planar[c * w * h + p] = rgb[p * 3 + c]! / 255;
      using host = Tensor.from(planar, [1, 3, h, w]);
      inputs.push(await host.toDevice(0));
      expected.push(Array.from(rgb, (v) => Math.round((1 - v / 255) * 255))); // NHWC order, as `rgb`
    }
    const frames: VideoFrame[] = [];
    for (let i = 0; i < 24; i++) {
      const out = (await engine.run({ input: inputs[i % 2]! }, { stream: 'order' }))['output']!;
      frames.push(await VideoFrame.fromTensor(out, null, { layout: 'nchw' }));
      out.close(); // the pool may hand this buffer to the next run at once
    }
    for (let i = 0; i < frames.length; i++) {
      using f = frames[i]!;
      using host = await f.download();
      using t = await host.toTensor({ layout: 'nhwc', dtype: 'uint8' });
      const got = Array.from(t.data as Uint8Array);
      const want = expected[i % 2]!;
      let maxErr = 0;
      got.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - want[k]!))));
      expect(maxErr).toBeLessThanOrEqual(3); // limited-range YUV round trip and fp16; the other picture is far off
    }
    for (const t of inputs) t.close();
  });

  it('pipelines on their own streams at once: run() while other streams\' fromTensor still reads closed outputs', async () => {
    // Four pipelines, each on its own named stream (its own context and output pool), each with its
    // own picture: run -> fromTensor on the ops stream -> output closed at once, so the next run of
    // that stream may reuse the buffer while this fromTensor is still queued and other streams'
    // runs and kernels are in flight. Every frame must show its own pipeline's picture.
    const w = 64;
    const h = 32;
    using engine = await Engine.load(model('invert-pipelines.onnx', scaleBiasModel([1, 3, h, w], -1, 1)), { cacheDir });
    const seeds = [3, 101, 7, 53];
    const inputs: Tensor[] = [];
    const expected: number[][] = [];
    for (const seed of seeds) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (Math.floor(i / 3) * seed) % 256); // grey
      const planar = new Float32Array(w * h * 3);
      for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) planar[c * w * h + p] = rgb[p * 3 + c]! / 255;
      using host = Tensor.from(planar, [1, 3, h, w]);
      inputs.push(await host.toDevice(0));
      expected.push(Array.from(rgb, (v) => Math.round((1 - v / 255) * 255)));
    }
    const pipeline = async (p: number): Promise<VideoFrame[]> => {
      const frames: VideoFrame[] = [];
      for (let i = 0; i < 12; i++) {
        const out = (await engine.run({ input: inputs[p]! }, { stream: `pipeline-${p}` }))['output']!;
        frames.push(await VideoFrame.fromTensor(out, null, { layout: 'nchw' }));
        out.close();
      }
      return frames;
    };
    const all = await Promise.all(seeds.map((_, p) => pipeline(p)));
    for (let p = 0; p < all.length; p++) {
      for (const frame of all[p]!) {
        using f = frame;
        using host = await f.download();
        using t = await host.toTensor({ layout: 'nhwc', dtype: 'uint8' });
        const got = Array.from(t.data as Uint8Array);
        let maxErr = 0;
        got.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - expected[p]![k]!))));
        expect(maxErr).toBeLessThanOrEqual(3); // as in the test above; another pipeline's picture is far off
      }
    }
    for (const t of inputs) t.close();
  });

  it('rejects a corrupt .engine file with ERR_TENSORRT', async () => {
    const path = join(dir, 'bad.engine');
    writeFileSync(path, Buffer.alloc(4096, 7));
    const err = await Engine.load(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_TENSORRT');
    expect((err as TrickleError).message).toMatch(/cannot deserialize/);
  });
});
