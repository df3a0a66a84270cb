/**
 * Analysis without changing the picture: every 12th frame, the mean brightness of a 32×32
 * thumbnail goes to the data channel as one JSONL line, and a custom event reports scene cuts.
 * Video passes through unchanged.
 *
 *   trickle-rt serve --processor examples/data-emitter.ts
 */
import { FrameProcessor, type StreamContext, type StreamParams, type VideoFrame } from 'trickle-rt';

class BrightnessReporter extends FrameProcessor<VideoFrame> {
  override name = 'data-emitter';

  override onStreamStart(params: StreamParams, ctx: StreamContext): void {
    ctx.state['frames'] = 0;
    ctx.state['last'] = null;
    ctx.log.info('reporting brightness', { every: params['every'] ?? 12 });
  }

  override async processVideo(frame: VideoFrame, ctx: StreamContext): Promise<VideoFrame> {
    const n = (ctx.state['frames'] as number) + 1;
    ctx.state['frames'] = n;
    const every = Number(ctx.params['every'] ?? 12);
    if (n % every === 0) {
      using thumb = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8', size: [32, 32] });
      using host = await thumb.toHost(); // the 32×32 thumbnail is made on the GPU for GPU frames
      const px = host.data as Uint8Array;
      let sum = 0;
      for (let i = 0; i < px.length; i += 3) sum += 0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!;
      const brightness = Math.round((sum / (px.length / 3)) * 10) / 10;
      // One JSON object per line (kept under the gateway's 64 KiB line limit).
      ctx.publishData({ frame: n, pts: frame.pts, brightness });
      const last = ctx.state['last'] as number | null;
      if (last !== null && Math.abs(brightness - last) > 60) ctx.sendEvent({ type: 'scene_cut', frame: n, brightness });
      ctx.state['last'] = brightness;
    }
    return frame;
  }
}

export default BrightnessReporter;
