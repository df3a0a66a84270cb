/**
 * Working on float tensors, the way a model's pre/post-processing does: the frame becomes a
 * normalised NCHW float32 tensor (what most vision models take), a per-pixel "model" runs on it (here:
 * grayscale with adjustable contrast, written in plain JavaScript), and the result goes back to a
 * frame. With a GPU the tensor ops run as CUDA kernels on the frame's device memory; swap the loop
 * for `engine.run()` (see the TensorRT example) to run a real model without host copies.
 *
 *   trickle-rt serve --processor examples/tensor-grayscale.ts
 *   params: {"contrast": 1.5}
 */
import { createProcessor, Tensor, VideoFrame } from 'trickle-rt';

export default createProcessor<VideoFrame>({
  name: 'tensor-grayscale',
  async video(frame, ctx) {
    const contrast = Number(ctx.params['contrast'] ?? 1.2);
    // [1, 3, H, W] float32 in 0..1 (mean 0, std 1: no normalisation)
    using input = await frame.toTensor({ layout: 'nchw', dtype: 'float32' });
    const [, , h, w] = input.shape as [number, number, number, number];
    using host = await input.toHost(); // GPU frames: one device→host copy
    const x = host.data as Float32Array;
    const plane = h * w;
    const y = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      const gray = 0.299 * x[i]! + 0.587 * x[plane + i]! + 0.114 * x[2 * plane + i]!;
      const v = Math.min(1, Math.max(0, (gray - 0.5) * contrast + 0.5));
      y[i] = v;
      y[plane + i] = v;
      y[2 * plane + i] = v;
    }
    using output = Tensor.from(y, [1, 3, h, w]);
    return await VideoFrame.fromTensor(output, frame, { layout: 'nchw' });
  },
});
