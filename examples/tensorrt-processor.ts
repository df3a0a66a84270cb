/**
 * A processor that runs a TensorRT image-to-image model (style transfer, denoising, colour
 * grading, …) on every frame, on the GPU from decode to encode:
 *
 *   frame.toTensor()  →  engine.run()  →  VideoFrame.fromTensor()
 *
 * With an NVIDIA GPU, frames are CUDA frames, the tensor is made by a CUDA kernel, the engine binds
 * its device pointer, and the output becomes a CUDA frame for the encoder: no host copy
 * (`engine.stats().hostUploads` stays 0). On a CPU-decoded stream the same code works, with one
 * upload per frame. Requirements and limits: docs/tensorrt.md.
 *
 *   TRICKLE_ENGINE=style.onnx trickle-rt serve --processor examples/tensorrt-processor.ts
 *
 * Model contract: one input [1, 3, H, W] (RGB, float32 or float16, or uint8) and one output of the
 * same layout with values in 0..1 (or uint8). When the ONNX model's input has dynamic dimensions,
 * name it in TRICKLE_ENGINE_INPUT: it is fixed at load to [1, 3, TRICKLE_ENGINE_HEIGHT,
 * TRICKLE_ENGINE_WIDTH] (default 512×512, pytrickle's default stream size).
 * TRICKLE_ENGINE_MEAN / TRICKLE_ENGINE_STD: the model's input normalisation, three comma-separated
 * numbers in the 0..1 scale (default 0 and 1: the input is RGB / 255).
 *
 * Params (HTTP `/stream/params` or the control channel): `{ "enabled": false }` passes frames
 * through untouched.
 */
import { createProcessor, Engine, VideoFrame, type EngineTensorInfo } from 'trickle-rt';

const modelPath = process.env['TRICKLE_ENGINE'] ?? 'model.onnx';
const dynamicInput = process.env['TRICKLE_ENGINE_INPUT'];
const streamWidth = Number(process.env['TRICKLE_ENGINE_WIDTH'] ?? 512);
const streamHeight = Number(process.env['TRICKLE_ENGINE_HEIGHT'] ?? 512);
const mean = triple(process.env['TRICKLE_ENGINE_MEAN'], 0);
const std = triple(process.env['TRICKLE_ENGINE_STD'], 1);

let engine: Engine | undefined;
let input: EngineTensorInfo;
let output: EngineTensorInfo;

export default createProcessor<VideoFrame>({
  name: 'tensorrt',

  // Runs once before the worker reports IDLE: builds the engine from ONNX (cached on disk, keyed by
  // GPU, TensorRT version and shapes) or deserializes a .engine file.
  async load() {
    engine = await Engine.load(modelPath, {
      // Only dynamic inputs need a shape: the stream's frame size.
      inputShapes: dynamicInput ? { [dynamicInput]: [1, 3, streamHeight, streamWidth] } : {},
    });
    if (engine.inputs.length !== 1 || engine.outputs.length < 1) {
      throw new Error(`${modelPath}: expected one input and at least one output`);
    }
    input = engine.inputs[0]!;
    output = engine.outputs[0]!;
  },

  async video(frame, ctx) {
    if (!engine || ctx.params['enabled'] === false) return frame;
    const [, channels, h, w] = input.shape;
    if (channels !== 3) throw new Error(`${modelPath}: input '${input.name}' must be [1, 3, H, W]`);

    // Pre-processing on the frame's device: resize to the model's size (the stream size when the
    // model is dynamic), RGB planar, normalised. The tensor carries a ready event, so the engine
    // waits for the conversion on the GPU, not on the host.
    using tensor = await frame.toTensor({
      layout: 'nchw',
      dtype: input.dtype,
      size: [w === -1 || w === undefined ? frame.width : w, h === -1 || h === undefined ? frame.height : h],
      fit: 'letterbox',
      ...(input.dtype === 'uint8' ? {} : { mean, std }),
    });

    // One CUDA stream (and execution context) per trickle stream: streams run concurrently.
    const outputs = await engine.run({ [input.name]: tensor }, { stream: ctx.streamId });
    using result = outputs[output.name]!;
    for (const [name, t] of Object.entries(outputs)) if (name !== output.name) t.close();

    // Post-processing: RGB in 0..1 (or uint8) back to a frame on the same device, keeping pts and
    // time base. The output tensor's pooled buffer is reused by the next run once `result` closes.
    return await VideoFrame.fromTensor(result, frame);
  },

  params(params, ctx) {
    ctx.log.info('tensorrt params', { enabled: params['enabled'] !== false, stats: engine?.stats() });
  },
});

function triple(value: string | undefined, fallback: number): [number, number, number] {
  if (!value) return [fallback, fallback, fallback];
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v))) {
    throw new Error(`expected three comma-separated numbers, got "${value}"`);
  }
  return [parts[0]!, parts[1]!, parts[2]!];
}
