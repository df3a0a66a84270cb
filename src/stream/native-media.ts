/**
 * The default media backend of the stream pipeline: the native Decoder / Encoder, and the input
 * resize (scale + centre crop): a native YUV scale for host frames, the tensor ops' CUDA kernels
 * for CUDA frames.
 */
import { Decoder } from '../media/decoder';
import { Encoder } from '../media/encoder';
import { AudioFrame } from '../media/audio-frame';
import { VideoFrame } from '../media/video-frame';
import type { MediaBackend } from './media-pipeline';
import { liveBitrate } from '../params';

/** Items (frames and audio packets) the encoder queues before `encode()` waits. */
const ENCODER_QUEUE = 4;

export interface NativeMediaOptions {
  /** Decoder device (default 'auto': NVDEC when available). */
  device?: 'auto' | 'cpu' | `cuda:${number}`;
  /** Encoder (default 'auto': NVENC for CUDA frames where the GPU has it, else libx264). */
  encoder?: 'auto' | 'libx264' | 'h264_nvenc';
  /**
   * Output rate control when the stream's `bitrate` param does not say: bits/s, or 'quality' (x264
   * crf 23 / NVENC's default). Default: `liveBitrate()` of the output size and frame rate.
   */
  bitrate?: number | 'quality';
  /** Keyframe / segment interval in seconds of media time (default 2, as pytrickle). */
  gopSeconds?: number;
  /** Software decoder threads per stream (default: min(4, cores / live decoders), at least 1). */
  decoderThreads?: number;
  /** Encoder threads per stream (default: min(8, cores / live encoders, output pixels / 512 Ki), at least 1). */
  encoderThreads?: number;
}

export function nativeMediaBackend(options: NativeMediaOptions = {}): MediaBackend<VideoFrame, AudioFrame> {
  return {
    createDecoder({ audio, maxBacklogMs }) {
      return new Decoder({
        device: options.device ?? 'auto',
        audio,
        poolSize: 24,
        maxBacklogMs,
        ...(options.decoderThreads !== undefined ? { threads: options.decoderThreads } : {}),
      });
    },
    createEncoder({ width, height, audio, fps, bitrate }) {
      // Rate control: the stream's `bitrate`, else this backend's, else the live default for the size.
      const rate = bitrate ?? options.bitrate ?? liveBitrate(width, height, fps);
      return new Encoder({
        encoder: options.encoder ?? 'auto',
        width,
        height,
        audio,
        fps,
        gopSeconds: options.gopSeconds ?? 2,
        ...(options.encoderThreads !== undefined ? { threads: options.encoderThreads } : {}),
        // A short input queue: a frame waits behind at most a few items (audio packets included).
        maxQueue: ENCODER_QUEUE,
        ...(rate !== 'quality' ? { bitrate: rate } : {}),
      });
    },
    async resize(frame, width, height) {
      // Host frames: one native YUV scale + crop (no RGB round trip; the processor converts once,
      // if it wants RGB). CUDA frames: scaled on the device by the tensor ops.
      if (frame.location === 'cpu' && width % 2 === 0 && height % 2 === 0) return await frame.scale(width, height, { fit: 'crop' });
      using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8', size: [width, height], fit: 'crop' });
      return await VideoFrame.fromTensor(t, frame);
    },
  };
}
