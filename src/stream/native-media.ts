/**
 * The default media backend of the stream pipeline: the native Decoder / Encoder and the frame
 * tensor ops (scale + centre crop on the frame's device: CUDA kernels for CUDA frames, CPU code
 * otherwise).
 */
import { Decoder } from '../media/decoder';
import { Encoder } from '../media/encoder';
import { AudioFrame } from '../media/audio-frame';
import { VideoFrame } from '../media/video-frame';
import type { MediaBackend } from './media-pipeline';

export interface NativeMediaOptions {
  /** Decoder device (default 'auto': NVDEC when available). */
  device?: 'auto' | 'cpu' | `cuda:${number}`;
  /** Encoder (default 'auto': NVENC for CUDA frames where the GPU has it, else libx264). */
  encoder?: 'auto' | 'libx264' | 'h264_nvenc';
  /** Output bitrate in bits/s (default: x264 quality mode). */
  bitrate?: number;
  /** Keyframe / segment interval in seconds of media time (default 2, as pytrickle). */
  gopSeconds?: number;
}

export function nativeMediaBackend(options: NativeMediaOptions = {}): MediaBackend<VideoFrame, AudioFrame> {
  return {
    createDecoder({ audio }) {
      return new Decoder({ device: options.device ?? 'auto', audio, poolSize: 24 });
    },
    createEncoder({ width, height, audio }) {
      return new Encoder({
        encoder: options.encoder ?? 'auto',
        width,
        height,
        audio,
        gopSeconds: options.gopSeconds ?? 2,
        ...(options.bitrate !== undefined ? { bitrate: options.bitrate } : {}),
      });
    },
    async resize(frame, width, height) {
      using t = await frame.toTensor({ layout: 'nhwc', dtype: 'uint8', size: [width, height], fit: 'crop' });
      return await VideoFrame.fromTensor(t, frame);
    },
  };
}
