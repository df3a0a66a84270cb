/**
 * A minimal MPEG-TS indexer for the bench probes: where each video access unit (PES) starts, and
 * which ones are keyframes (random_access_indicator). With one frame per PES and no B-frames (our
 * clips and our encoder's output), the k-th video PES start is the first byte of frame k. Good
 * enough for measuring; not a demuxer.
 */

export const TS_PACKET = 188;

export interface TsFrame {
  /** Byte offset of the TS packet that starts this frame's PES. */
  pesOffset: number;
  /**
   * Where a feeder should cut before this frame: the PES start, moved back over the PAT/PMT packets
   * a muxer writes right before a keyframe, so each keyframe chunk is a standalone start.
   */
  cutOffset: number;
  keyframe: boolean;
}

function payloadStart(buf: Uint8Array, p: number): number {
  const afc = ((buf[p + 3] as number) >> 4) & 0x3;
  if (afc === 2) return -1; // adaptation field only
  if (afc === 3) return p + 5 + (buf[p + 4] as number);
  return p + 4;
}

function randomAccess(buf: Uint8Array, p: number): boolean {
  const afc = ((buf[p + 3] as number) >> 4) & 0x3;
  if (afc !== 2 && afc !== 3) return false;
  const len = buf[p + 4] as number;
  return len > 0 && ((buf[p + 5] as number) & 0x40) !== 0;
}

/** Incremental: feed bytes as they arrive; `frames` grows as video PES starts are seen. */
export class TsFrameScanner {
  readonly frames: TsFrame[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private base = 0;
  /** Offset of the first of the consecutive non-video packets right before the current position. */
  private runStart = -1;

  push(chunk: Uint8Array): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let p = 0;
    while (p + TS_PACKET <= buf.length) {
      if (buf[p] !== 0x47) {
        // resync on the next sync byte
        p++;
        continue;
      }
      const pusi = ((buf[p + 1] as number) & 0x40) !== 0;
      const pid = (((buf[p + 1] as number) & 0x1f) << 8) | (buf[p + 2] as number);
      const abs = this.base + p;
      let isVideoStart = false;
      if (pusi) {
        const s = payloadStart(buf, p);
        if (s >= 0 && s + 4 <= p + TS_PACKET && buf[s] === 0 && buf[s + 1] === 0 && buf[s + 2] === 1) {
          const streamId = buf[s + 3] as number;
          isVideoStart = streamId >= 0xe0 && streamId <= 0xef;
        }
      }
      if (isVideoStart) {
        const keyframe = randomAccess(buf, p);
        const cutOffset = keyframe && this.runStart >= 0 ? this.runStart : abs;
        this.frames.push({ pesOffset: abs, cutOffset, keyframe });
        this.runStart = -1;
      } else if (pid === 0 || pid === 0x11 || (pid >= 0x1000 && pid < 0x100 + 0x1000 && pusi && this.runStart >= 0)) {
        // PAT (0), SDT (0x11) or a PMT right after them (ffmpeg puts PMTs at 0x1000+)
        if (this.runStart < 0) this.runStart = abs;
      } else {
        this.runStart = -1;
      }
      p += TS_PACKET;
    }
    this.base += p;
    this.pending = Buffer.from(buf.subarray(p));
  }
}

/** Frames of a whole TS file held in memory. */
export function indexTs(data: Uint8Array): TsFrame[] {
  const s = new TsFrameScanner();
  s.push(data);
  return s.frames;
}

/**
 * Splits a TS file into per-frame chunks (frame k = bytes [cut_k, cut_{k+1})), the bytes before the
 * first frame folded into frame 0, and marks the keyframes (where a feeder starts a new segment).
 */
export function frameChunks(data: Buffer): Array<{ bytes: Buffer; keyframe: boolean }> {
  const frames = indexTs(data);
  const out: Array<{ bytes: Buffer; keyframe: boolean }> = [];
  for (let i = 0; i < frames.length; i++) {
    const start = i === 0 ? 0 : (frames[i] as TsFrame).cutOffset;
    const end = i + 1 < frames.length ? (frames[i + 1] as TsFrame).cutOffset : data.length;
    out.push({ bytes: data.subarray(start, end), keyframe: (frames[i] as TsFrame).keyframe });
  }
  return out;
}
