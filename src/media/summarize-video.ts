import { invalidArg } from '../errors';
import { callNative } from '../native/call';
import { native, type NativeVideoSummary } from '../native/addon';

/** Summary of the video stream of a container held in memory. */
export type VideoSummary = NativeVideoSummary;

/**
 * Decodes every video frame of an in-memory container (e.g. one MPEG-TS trickle segment) on a
 * native thread and reports the frame count, size and first pts. Corrupt packets are counted in
 * `decodeErrors` and skipped; bytes that are not a container reject with `ERR_DEMUX`.
 *
 * @example
 * const { frames, width, height } = await summarizeVideo(await readFile('clip.ts'));
 */
export async function summarizeVideo(data: Buffer): Promise<VideoSummary> {
  if (!Buffer.isBuffer(data)) throw invalidArg('data', 'a Buffer', data);
  const addon = native();
  return callNative(() => addon.summarizeVideo(data));
}
