/**
 * Engine.run's TypeScript layer, on CPU: feeds are validated against the engine's inputs before any
 * native call (ERR_INVALID_ARG), and valid feeds reach the native run as {name, tensor handle} in
 * input order with the stream handle. The native engine here is a recording stand-in for the
 * TensorRT one (which needs a GPU: test/gpu/engine.test.ts); the tensors are real native tensors.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { engineFromHandle, type Engine } from '../../src/infer/engine';
import { Tensor } from '../../src/media/tensor';
import { native, type NativeEngine, type NativeEngineIo, type NativeTensor } from '../../src/native/addon';

interface RecordedRun {
  feeds: Array<{ name: string; tensor: NativeTensor }>;
  stream: bigint | string;
}

class RecordingEngine implements NativeEngine {
  runs: RecordedRun[] = [];
  closed = false;
  constructor(
    private readonly ios: NativeEngineIo[],
    private readonly result: () => Array<{ name: string; tensor: NativeTensor }> = () => [],
  ) {}
  io(): NativeEngineIo[] {
    return this.ios;
  }
  report() {
    return {
      source: 'engine' as const,
      precision: 'engine',
      tensorrtVersion: '10.16.0',
      gpu: 'test',
      computeCapability: '9.0',
      buildMs: 0,
    };
  }
  async run(feeds: Array<{ name: string; tensor: NativeTensor }>, stream: bigint | string) {
    this.runs.push({ feeds, stream });
    return this.result();
  }
  stats() {
    return { runs: this.runs.length, contexts: 1, hostUploads: 0, hostUploadBytes: 0, outputsAllocated: 0, outputsReused: 0 };
  }
  close(): void {
    this.closed = true;
  }
  isClosed(): boolean {
    return this.closed;
  }
}

const twoInputs: NativeEngineIo[] = [
  { name: 'image', mode: 'input', dtype: 'float32', shape: [1, 3, -1, -1] },
  { name: 'strength', mode: 'input', dtype: 'float32', shape: [1] },
  { name: 'out', mode: 'output', dtype: 'float32', shape: [1, 3, -1, -1] },
];

const open: Tensor[] = [];
function tensor(data: Float32Array | Uint8Array, shape: number[]): Tensor {
  const t = Tensor.from(data, shape);
  open.push(t);
  return t;
}
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

async function invalid(engine: Engine, feeds: unknown, options?: unknown): Promise<TrickleError> {
  const err = await engine.run(feeds as never, options as never).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrickleError);
  return err as TrickleError;
}

describe('Engine.run validation', () => {
  it('describes inputs and outputs from the native engine', () => {
    const engine = engineFromHandle(new RecordingEngine(twoInputs));
    expect(engine.inputs.map((i) => [i.name, i.dtype, [...i.shape]])).toEqual([
      ['image', 'float32', [1, 3, -1, -1]],
      ['strength', 'float32', [1]],
    ]);
    expect(engine.outputs.map((o) => o.name)).toEqual(['out']);
    expect(engine.info.tensorrtVersion).toBe('10.16.0');
  });

  const image = () => tensor(new Float32Array(3 * 2 * 4), [1, 3, 2, 4]);
  const strength = () => tensor(new Float32Array([0.5]), [1]);

  const cases: Array<[string, () => unknown, RegExp, string?]> = [
    ['null feeds', () => null, /a Tensor or an object mapping input names to Tensors for feeds but received null/],
    ['an array of feeds', () => [image()], /for feeds but received/],
    ['a single Tensor for a two-input engine', () => image(), /naming each of the inputs 'image', 'strength' for feeds/],
    ['an unknown input name', () => ({ image: image(), strength: strength(), mask: image() }), /only the inputs 'image', 'strength' for feeds but received "mask"/],
    ['a missing input', () => ({ image: image() }), /a float32 Tensor of shape \[1\] for feeds\['strength'\] but received undefined/],
    ['a non-Tensor value', () => ({ image: new Float32Array(24), strength: strength() }), /a Tensor for feeds\['image'\]/],
    ['a wrong dtype', () => ({ image: tensor(new Uint8Array(24), [1, 3, 2, 4]), strength: strength() }), /'float32' for feeds\['image'\]\.dtype but received "uint8"/],
    ['a wrong rank', () => ({ image: tensor(new Float32Array(24), [3, 2, 4]), strength: strength() }), /\[1, 3, \?, \?\] for feeds\['image'\]\.shape but received \[3,2,4\]/],
    ['a wrong fixed dimension', () => ({ image: tensor(new Float32Array(32), [1, 4, 2, 4]), strength: strength() }), /\[1, 3, \?, \?\] for feeds\['image'\]\.shape but received \[1,4,2,4\]/],
    ['a wrong static shape', () => ({ image: image(), strength: tensor(new Float32Array(2), [2]) }), /\[1\] for feeds\['strength'\]\.shape but received \[2\]/],
  ];

  it.each(cases)('rejects %s with ERR_INVALID_ARG before native', async (_what, feeds, message) => {
    const recording = new RecordingEngine(twoInputs);
    const err = await invalid(engineFromHandle(recording), feeds());
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toMatch(message);
    expect(recording.runs).toHaveLength(0);
  });

  it.each([
    ['a number', 1],
    ['a negative bigint', -1n],
    ['a bigint past 64 bits', 1n << 64n],
    ['an empty name', ''],
    ['a 257-character name', 's'.repeat(257)],
  ])('rejects a stream that is %s', async (_what, stream) => {
    const recording = new RecordingEngine(twoInputs);
    const err = await invalid(engineFromHandle(recording), { image: image(), strength: strength() }, { stream });
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toMatch(/a stream name \(1 to 256 characters\) or a cudaStream_t handle as a non-negative bigint for options\.stream/);
    expect(recording.runs).toHaveLength(0);
  });

  it('passes a named stream through', async () => {
    const recording = new RecordingEngine(twoInputs);
    await engineFromHandle(recording).run({ image: image(), strength: strength() }, { stream: 'stream-42' });
    expect(recording.runs[0]!.stream).toBe('stream-42');
  });

  it('rejects a closed input tensor', async () => {
    const recording = new RecordingEngine(twoInputs);
    const t = image();
    t.close();
    const err = await invalid(engineFromHandle(recording), { image: t, strength: strength() });
    expect(err.code).toBe('ERR_CLOSED');
    expect(recording.runs).toHaveLength(0);
  });

  it('passes valid feeds in input order with the stream, and wraps the outputs', async () => {
    const out = native().tensorFromData(new Float32Array([7, 8]), [2], 'float32');
    const recording = new RecordingEngine(twoInputs, () => [{ name: 'out', tensor: out }]);
    const engine = engineFromHandle(recording);
    const img = image();
    const s = strength();
    const result = await engine.run({ strength: s, image: img }, { stream: 0xabcn });
    expect(recording.runs).toHaveLength(1);
    const run = recording.runs[0]!;
    expect(run.stream).toBe(0xabcn);
    expect(run.feeds.map((f) => f.name)).toEqual(['image', 'strength']);
    // The handles are the tensors' own native handles (no copies).
    expect(run.feeds[0]!.tensor.info().shape).toEqual([1, 3, 2, 4]);
    expect(run.feeds[1]!.tensor.info().shape).toEqual([1]);
    expect(Object.keys(result)).toEqual(['out']);
    using o = result['out']!;
    expect(o).toBeInstanceOf(Tensor);
    expect(Array.from(o.data as Float32Array)).toEqual([7, 8]);
  });

  it('accepts a single Tensor for a one-input engine and defaults the stream to 0n', async () => {
    const recording = new RecordingEngine([
      { name: 'x', mode: 'input', dtype: 'uint8', shape: [4] },
      { name: 'y', mode: 'output', dtype: 'uint8', shape: [4] },
    ]);
    await engineFromHandle(recording).run(tensor(new Uint8Array(4), [4]));
    expect(recording.runs[0]!.stream).toBe(0n);
    expect(recording.runs[0]!.feeds.map((f) => f.name)).toEqual(['x']);
  });

  it('close() is idempotent and run/stats then throw ERR_CLOSED', async () => {
    const recording = new RecordingEngine(twoInputs);
    const engine = engineFromHandle(recording);
    engine.close();
    engine.close();
    expect(engine.closed).toBe(true);
    expect(recording.closed).toBe(true);
    const err = await invalid(engine, { image: image(), strength: strength() });
    expect(err.code).toBe('ERR_CLOSED');
    expect(() => engine.stats()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});
