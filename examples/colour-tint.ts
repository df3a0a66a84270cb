/**
 * A colour effect with live parameters. Start a stream with `"params": {"tint": "red"}` and change
 * it while it runs, over HTTP or the control channel:
 *
 *   curl -X POST localhost:8000/stream/params -H 'content-type: application/json' \
 *        -d '{"tint":"blue","strength":0.8}'
 *
 *   trickle-rt serve --processor examples/colour-tint.ts
 *
 * Frames arrive scaled and centre-cropped to the stream's width×height (512×512 by default), as in
 * pytrickle. The RGB bytes are read into JavaScript, changed, and turned back into a frame.
 */
import { createProcessor, Tensor, VideoFrame } from 'trickle-rt';

const CHANNELS = { red: 0, green: 1, blue: 2 } as const;

export default createProcessor<VideoFrame>({
  name: 'colour-tint',
  // Checked on /stream/start, /stream/params and the control channel before a frame sees them:
  // {"tint":"purple"} or {"strength":"max"} is answered with 400 and changes nothing.
  paramsSchema: (params) => {
    const { tint, strength } = params;
    if (tint !== undefined && tint !== 'none' && !(String(tint) in CHANNELS)) {
      throw new Error(`tint must be one of red, green, blue, none (received ${JSON.stringify(tint)})`);
    }
    if (strength !== undefined && !(typeof strength === 'number' && strength >= 0 && strength <= 1)) {
      throw new Error(`strength must be a number from 0 to 1 (received ${JSON.stringify(strength)})`);
    }
    return params;
  },
  params: (params, ctx) => ctx.log.info('tint changed', { tint: params['tint'], strength: params['strength'] }),
  async video(frame, ctx) {
    const name = String(ctx.params['tint'] ?? 'red');
    if (!(name in CHANNELS)) return frame; // "none" or unknown: pass through
    const target = CHANNELS[name as keyof typeof CHANNELS];
    const strength = Math.min(1, Math.max(0, Number(ctx.params['strength'] ?? 0.6)));

    using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8' }); // [1, H, W, 3] RGB
    using host = await t.toHost(); // GPU: one device→host copy; CPU: the same memory
    const rgb = host.data as Uint8Array;
    for (let i = 0; i < rgb.length; i += 3) {
      for (let c = 0; c < 3; c++) {
        const v = rgb[i + c]!;
        rgb[i + c] = c === target ? v * (1 - strength) + 255 * strength : v * (1 - strength);
      }
    }
    using out = Tensor.from(rgb, t.shape);
    return await VideoFrame.fromTensor(out, frame); // keeps the input's pts and time base
  },
});
