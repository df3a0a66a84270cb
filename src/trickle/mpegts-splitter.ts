/**
 * Cuts an MPEG-TS byte stream into trickle segments at video keyframes, streaming: bytes are handed
 * back as soon as it is known which segment they belong to (a few packets are held only around a
 * possible cut). Pure TypeScript: TS packets (PID, PUSI, adaptation field random_access_indicator),
 * PAT/PMT for the video PID and its codec, and H.264 / HEVC NAL unit types in the PES payload.
 *
 * A segment starts with the PSI packets (PAT/PMT/SDT) that immediately precede its keyframe, so
 * each segment is decodable on its own when the muxer repeats PSI before keyframes (ffmpeg does).
 * Concatenating every piece gives back exactly the input bytes.
 *
 * Threading: JS thread only; one instance per stream.
 */
import { invalidArg } from '../errors';

/** A run of input bytes; `newSegment` means a segment starts with it. */
export interface SplitPiece {
  data: Buffer;
  newSegment: boolean;
}

export interface MpegTsSplitterOptions {
  /** Also cut (at a packet boundary) once a segment reaches this many bytes. Default: no size cut. */
  maxSegmentBytes?: number;
}

const PACKET = 188;
const SYNC = 0x47;
/** How much PES payload is scanned to find the first slice of an access unit. */
const AU_SCAN_LIMIT = 256 * 1024;

const STREAM_H264 = 0x1b;
const STREAM_HEVC = 0x24;
const VIDEO_STREAM_TYPES = new Set([0x01, 0x02, 0x10, STREAM_H264, STREAM_HEVC, 0x42, 0xd1, 0xea]);

/** True when the bytes look like MPEG-TS (sync bytes at 188-byte intervals from offset 0). */
export function looksLikeMpegTs(head: Uint8Array): boolean {
  if (head.length < 1 || head[0] !== SYNC) return false;
  for (let off = PACKET; off < Math.min(head.length, PACKET * 4); off += PACKET) if (head[off] !== SYNC) return false;
  return true;
}

/**
 * Streaming MPEG-TS splitter.
 *
 * @example
 * const splitter = new MpegTsSplitter();
 * for await (const chunk of input) {
 *   for (const piece of splitter.push(chunk)) {
 *     if (piece.newSegment) { await seg?.end(); seg = await publisher.next(); }
 *     await seg.write(piece.data);
 *   }
 * }
 * for (const piece of splitter.flush()) …
 */
export class MpegTsSplitter {
  private readonly maxSegmentBytes: number;
  private carry: Buffer = Buffer.alloc(0);
  private readonly psiPids = new Set<number>([0x0000, 0x0011]);
  private readonly pmtPids = new Set<number>();
  private videoPid = -1;
  private videoType = 0;
  /** Bytes emitted into the current segment. */
  private segmentBytes = 0;
  /** The current segment holds video data already (a keyframe may cut). */
  private segmentHasVideo = false;
  private started = false;
  /** PSI packets after the last non-PSI packet (they go with a following keyframe). */
  private heldPsi: Buffer[] = [];
  /** A video access unit start whose key-ness is not known yet, and the packets since. */
  private pendingAu: { packets: Buffer[]; scan: Buffer[]; scanned: number; rai: boolean; psi: Buffer[] } | undefined;
  private out: SplitPiece[] = [];
  private nextIsNew = true;
  /** Non-packet-aligned garbage seen (passed through unchanged). */
  private resyncs = 0;

  constructor(options: MpegTsSplitterOptions = {}) {
    const max = options.maxSegmentBytes ?? Infinity;
    if (max !== Infinity && (!Number.isInteger(max) || max < PACKET)) throw invalidArg('maxSegmentBytes', `an integer ≥ ${PACKET}`, max);
    this.maxSegmentBytes = max;
  }

  /** Times the splitter had to skip bytes to find the next sync byte (0 for clean input). */
  get resyncCount(): number {
    return this.resyncs;
  }

  /** Feeds bytes; returns the pieces that can be placed now. */
  push(chunk: Uint8Array): SplitPiece[] {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.carry.length) buf = Buffer.concat([this.carry, buf]);
    let off = 0;
    while (buf.length - off >= PACKET) {
      if (buf[off] !== SYNC) {
        // Lost sync: pass the bytes up to the next sync byte through as they are.
        let next = buf.indexOf(SYNC, off + 1);
        if (next < 0) next = buf.length;
        this.resyncs++;
        this.emitRaw(buf.subarray(off, next));
        off = next;
        continue;
      }
      this.packet(buf.subarray(off, off + PACKET));
      off += PACKET;
    }
    this.carry = off < buf.length ? Buffer.from(buf.subarray(off)) : Buffer.alloc(0);
    return this.take();
  }

  /** Ends the stream: returns whatever is still held. */
  flush(): SplitPiece[] {
    if (this.pendingAu) this.resolveAu(false);
    for (const p of this.heldPsi) this.emit(p);
    this.heldPsi = [];
    if (this.carry.length) this.emitRaw(this.carry);
    this.carry = Buffer.alloc(0);
    return this.take();
  }

  private take(): SplitPiece[] {
    // Merge adjacent pieces of the same segment to keep writes few and large.
    const merged: SplitPiece[] = [];
    let run: Buffer[] = [];
    let runNew = false;
    const close = (): void => {
      if (run.length) merged.push({ data: run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run), newSegment: runNew });
      run = [];
    };
    for (const p of this.out) {
      if (p.newSegment) close();
      if (run.length === 0) runNew = p.newSegment;
      run.push(p.data);
    }
    close();
    this.out = [];
    return merged;
  }

  private packet(pkt: Buffer): void {
    const pid = ((pkt[1] as number) & 0x1f) << 8 | (pkt[2] as number);
    const pusi = ((pkt[1] as number) & 0x40) !== 0;
    const afc = ((pkt[3] as number) >> 4) & 0x3;
    let payloadStart = 4;
    let rai = false;
    if (afc & 0x2) {
      const afLen = pkt[4] as number;
      if (afLen > 0) rai = ((pkt[5] as number) & 0x40) !== 0;
      payloadStart = 5 + afLen;
    }
    const payload = afc & 0x1 && payloadStart < PACKET ? pkt.subarray(payloadStart) : Buffer.alloc(0);

    if (pid === 0x0000 && pusi) this.parsePat(payload);
    else if (this.pmtPids.has(pid) && pusi) this.parsePmt(payload);

    if (this.psiPids.has(pid) || this.pmtPids.has(pid)) {
      if (this.pendingAu) this.pendingAu.packets.push(pkt);
      else this.heldPsi.push(pkt);
      return;
    }

    if (pid === this.videoPid && pusi) {
      if (this.pendingAu) this.resolveAu(false);
      const psi = this.heldPsi;
      this.heldPsi = [];
      this.pendingAu = { packets: [pkt], scan: [], scanned: 0, rai, psi };
      if (rai) {
        this.resolveAu(true);
        return;
      }
      this.scanPes(payload, true);
      return;
    }
    if (this.pendingAu) {
      this.pendingAu.packets.push(pkt);
      if (pid === this.videoPid) this.scanPes(payload, false);
      return;
    }
    for (const p of this.heldPsi) this.emit(p);
    this.heldPsi = [];
    this.emit(pkt);
    if (pid === this.videoPid) this.segmentHasVideo = true;
  }

  /** Looks for the first slice NAL of the pending access unit. */
  private scanPes(payload: Buffer, first: boolean): void {
    const au = this.pendingAu;
    if (!au) return;
    let data = payload;
    if (first) {
      // PES header: 00 00 01 stream_id len(2) flags(2) header_data_length(1) …
      if (data.length < 9 || data[0] !== 0 || data[1] !== 0 || data[2] !== 1) {
        this.resolveAu(false);
        return;
      }
      data = data.subarray(9 + (data[8] as number));
    }
    au.scan.push(data);
    au.scanned += data.length;
    const verdict = this.nalVerdict(Buffer.concat(au.scan));
    if (verdict !== undefined) this.resolveAu(verdict);
    else if (au.scanned > AU_SCAN_LIMIT) this.resolveAu(false);
  }

  /** true = keyframe slice found, false = non-key slice found, undefined = not yet known. */
  private nalVerdict(es: Buffer): boolean | undefined {
    const hevc = this.videoType === STREAM_HEVC;
    if (this.videoType !== STREAM_H264 && !hevc) return false; // other codecs: RAI only
    for (let i = 0; i + 3 < es.length; i++) {
      if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1) continue;
      const b = es[i + 3] as number;
      if (hevc) {
        const t = (b >> 1) & 0x3f;
        if (t >= 16 && t <= 21) return true;
        if (t <= 9) return false;
      } else {
        const t = b & 0x1f;
        if (t === 5) return true;
        if (t === 1) return false;
      }
      i += 2;
    }
    return undefined;
  }

  private resolveAu(key: boolean): void {
    const au = this.pendingAu;
    if (!au) return;
    this.pendingAu = undefined;
    if (key && this.segmentHasVideo) {
      this.nextIsNew = true;
      this.segmentHasVideo = false;
    }
    for (const p of au.psi) this.emit(p);
    for (const p of au.packets) this.emit(p);
    this.segmentHasVideo = true;
  }

  private emit(pkt: Buffer): void {
    if (!this.nextIsNew && this.segmentBytes + pkt.length > this.maxSegmentBytes) {
      this.nextIsNew = true;
      this.segmentHasVideo = false;
    }
    const newSegment = this.nextIsNew || !this.started;
    if (newSegment) this.segmentBytes = 0;
    this.nextIsNew = false;
    this.started = true;
    this.segmentBytes += pkt.length;
    this.out.push({ data: pkt, newSegment });
  }

  private emitRaw(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.pendingAu) this.resolveAu(false);
    for (const p of this.heldPsi) this.emit(p);
    this.heldPsi = [];
    this.emit(Buffer.from(bytes));
  }

  private parsePat(payload: Buffer): void {
    const sec = section(payload, 0x00);
    if (!sec) return;
    for (let i = 5; i + 4 <= sec.length - 4; i += 4) {
      const program = ((sec[i] as number) << 8) | (sec[i + 1] as number);
      const pid = (((sec[i + 2] as number) & 0x1f) << 8) | (sec[i + 3] as number);
      if (program !== 0) this.pmtPids.add(pid);
    }
  }

  private parsePmt(payload: Buffer): void {
    const sec = section(payload, 0x02);
    if (!sec || sec.length < 9) return;
    const infoLen = (((sec[7] as number) & 0x0f) << 8) | (sec[8] as number);
    for (let i = 9 + infoLen; i + 5 <= sec.length - 4; ) {
      const type = sec[i] as number;
      const pid = (((sec[i + 1] as number) & 0x1f) << 8) | (sec[i + 2] as number);
      const esLen = (((sec[i + 3] as number) & 0x0f) << 8) | (sec[i + 4] as number);
      if (this.videoPid < 0 && VIDEO_STREAM_TYPES.has(type)) {
        this.videoPid = pid;
        this.videoType = type;
      }
      i += 5 + esLen;
    }
  }
}

/** The section body (from after section_length, CRC included) of a PSI payload with pointer_field. */
function section(payload: Buffer, tableId: number): Buffer | undefined {
  if (payload.length < 1) return undefined;
  const start = 1 + (payload[0] as number);
  if (payload.length < start + 3 || payload[start] !== tableId) return undefined;
  const len = (((payload[start + 1] as number) & 0x0f) << 8) | (payload[start + 2] as number);
  return payload.subarray(start + 3, Math.min(payload.length, start + 3 + len));
}
