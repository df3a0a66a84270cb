import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import { applyParamsSchema } from '../../src/processor/params-schema';
import { pytrickleNameWarnings } from '../../src/processor/pytrickle-names';
import { createProcessor, FrameProcessor, TrickleError } from '../../src/index';
import { resolveAudioMode } from '../../src/processor/frame-processor';

describe('params schema', () => {
  it('a Standard Schema validator (zod): converted values pass, bad ones name the key', async () => {
    const schema = z.object({ gain: z.number().min(0).max(4).default(1) }).passthrough();
    expect(await applyParamsSchema(schema, { width: 512, height: 512 })).toEqual({ width: 512, height: 512, gain: 1 });
    const err = await applyParamsSchema(schema, { gain: 'bright' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_INVALID_PARAM');
    expect((err as TrickleError).message).toBe('gain: Expected number, received string');
    await expect(applyParamsSchema(schema, { gain: 9 })).rejects.toThrow(/^gain: Number must be less than or equal to 4$/);
  });

  it('a plain function: its return value is used, its throw is the reason', async () => {
    const fn = (p: Record<string, unknown>) => {
      if (p['gain'] !== undefined && typeof p['gain'] !== 'number') throw new Error('gain must be a number');
      return { ...p, checked: true };
    };
    expect(await applyParamsSchema(fn, { gain: 2 })).toEqual({ gain: 2, checked: true });
    await expect(applyParamsSchema(fn, { gain: 'bright' })).rejects.toMatchObject({ code: 'ERR_INVALID_PARAM', message: 'gain must be a number' });
    await expect(applyParamsSchema(() => 5 as unknown as Record<string, unknown>, {})).rejects.toThrow(/must return an object/);
  });

  it('createProcessor takes paramsSchema and refuses something else', () => {
    const schema = z.object({}).passthrough();
    expect(createProcessor({ paramsSchema: schema }).paramsSchema).toBe(schema);
    expect(() => createProcessor({ paramsSchema: 42 as never })).toThrow(/paramsSchema/);
  });
});

describe('pytrickle guardrails', () => {
  it('warns for pytrickle method names on a processor class, naming the counterpart', () => {
    class Ported extends FrameProcessor {
      async process_video_async(frame: unknown) {
        return frame;
      }
      async load_model() {}
    }
    expect(pytrickleNameWarnings(new Ported(), 'processor')).toEqual([
      'the processor defines "process_video_async", pytrickle\'s name, which trickle-rt never calls; use processVideo instead (see docs/migrating-from-pytrickle.md)',
      'the processor defines "load_model", pytrickle\'s name, which trickle-rt never calls; use initialize instead (see docs/migrating-from-pytrickle.md)',
    ]);
    expect(pytrickleNameWarnings(new (class extends FrameProcessor {})(), 'processor')).toEqual([]);
  });

  it('createProcessor emits a process warning for a pytrickle hook name', () => {
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      createProcessor({ update_params: () => {} } as never);
      expect(spy).toHaveBeenCalledWith(expect.stringContaining('"update_params", pytrickle\'s name, which trickle-rt never calls; use params instead'), 'TrickleRtWarning');
    } finally {
      spy.mockRestore();
    }
  });

  it('processAudio is called whenever a processor defines it (audioMode auto)', () => {
    class WithAudio extends FrameProcessor {
      override processAudio(frame: never) {
        return [frame];
      }
    }
    expect(resolveAudioMode(new WithAudio())).toBe('process');
    expect(resolveAudioMode(new (class extends FrameProcessor {})())).toBe('passthrough');
    const explicit = new WithAudio();
    explicit.audioMode = 'passthrough';
    expect(resolveAudioMode(explicit)).toBe('passthrough');
    expect(resolveAudioMode(createProcessor({ audio: (f) => f }))).toBe('process');
    expect(resolveAudioMode(createProcessor({}))).toBe('passthrough');
  });
});
