/**
 * The demo's sample processor: a colour tint with live parameters, computed on RGB bytes.
 * Params: `tint` (`'red' | 'green' | 'blue' | 'none'`, default `'red'`), `strength` (0..1, default 0.6).
 * Each output pixel channel is `v·(1−s) + target·s`, where target is 255 for the tint channel and
 * 0 for the others, so a tinted frame's mean colour is dominated by the tint channel.
 */
import { Tensor } from '../../media/tensor';
import { VideoFrame } from '../../media/video-frame';
import { createProcessor } from '../create-processor';
import type { FrameProcessor } from '../frame-processor';

export type Tint = 'red' | 'green' | 'blue' | 'none';
const CHANNEL: Record<Exclude<Tint, 'none'>, number> = { red: 0, green: 1, blue: 2 };

/** Reads `tint`/`strength` from params, with defaults and bounds. */
export function tintSettings(params: Record<string, unknown>): { tint: Tint; strength: number } {
  const tint = params['tint'];
  const s = Number(params['strength'] ?? 0.6);
  return {
    tint: tint === 'red' || tint === 'green' || tint === 'blue' || tint === 'none' ? tint : 'red',
    strength: Number.isFinite(s) ? Math.min(1, Math.max(0, s)) : 0.6,
  };
}

/** Tints packed RGB bytes in place. */
export function tintRgb(rgb: Uint8Array, tint: Tint, strength: number): void {
  if (tint === 'none' || strength === 0) return;
  const target = CHANNEL[tint];
  const keep = 1 - strength;
  const add = 255 * strength;
  for (let i = 0; i < rgb.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = rgb[i + c] as number;
      rgb[i + c] = c === target ? v * keep + add : v * keep;
    }
  }
}

/** A FrameProcessor tinting every frame; `tint` and `strength` can change live. */
export function createTintProcessor(): FrameProcessor<VideoFrame> {
  return createProcessor<VideoFrame>({
    name: 'tint',
    async video(frame, ctx) {
      const { tint, strength } = tintSettings(ctx.params);
      if (tint === 'none') return frame;
      using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8' });
      // GPU frames give CUDA tensors: one device→host copy to touch the bytes in JS (CPU: shared, no copy).
      using host = await t.toHost();
      const rgb = host.data as Uint8Array;
      tintRgb(rgb, tint, strength);
      using out = Tensor.from(rgb, t.shape);
      return await VideoFrame.fromTensor(out, frame);
    },
  });
}
