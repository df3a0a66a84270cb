/**
 * Real-time pacing of an MPEG-TS byte stream by its own clock, so that a file is published the way
 * a camera or a gateway would send it: a 10 s clip takes 10 s. The clock is the program clock
 * reference (PCR) of the first PID that carries one; before the first PCR, the decode (or
 * presentation) timestamp of the first PES stream stands in. A jump of the clock (a loop in the
 * input, a splice, the 33-bit wrap) re-anchors it instead of stalling or bursting.
 *
 * Pure bookkeeping: {@link MpegTsPacer.schedule} cuts the bytes at the packets that carry a clock
 * value and says when each part is due; the caller waits and sends.
 *
 * @example
 * const pacer = new MpegTsPacer();
 * for await (const chunk of file) {
 *   for (const part of pacer.schedule(chunk)) {
 *     await delayUntil(part.dueMs, signal);
 *     await send(part.data);
 *   }
 * }
 */

const PACKET = 188;
const SYNC = 0x47;
const TICKS_PER_MS = 90;
const WRAP = 2 ** 33;
/** A forward jump larger than this (or any step back beyond `MAX_BACK_MS`) re-anchors the clock. */
const MAX_JUMP_MS = 5_000;
const MAX_BACK_MS = 1_000;

export interface PacedPart {
  data: Buffer;
  /** When to send `data`, on the `now()` time line (ms). */
  dueMs: number;
}

export interface MpegTsPacerOptions {
  /** The wall clock in ms (default `performance.now`). */
  now?: () => number;
}

/** The 33-bit PCR base (90 kHz) of a packet, or undefined. */
function pcrOf(p: Buffer, at: number): number | undefined {
  const afc = (p[at + 3]! >> 4) & 3;
  if ((afc & 2) === 0 || p[at + 4]! < 7 || (p[at + 5]! & 0x10) === 0) return undefined;
  return p[at + 6]! * 2 ** 25 + (p[at + 7]! << 17) + (p[at + 8]! << 9) + (p[at + 9]! << 1) + (p[at + 10]! >> 7);
}

function readTimestamp(p: Buffer, at: number): number {
  return ((p[at]! >> 1) & 0x07) * 2 ** 30 + (p[at + 1]! << 22) + ((p[at + 2]! >> 1) << 15) + (p[at + 3]! << 7) + (p[at + 4]! >> 1);
}

/** The DTS (else the PTS) of a PES header starting in this packet, or undefined. */
function pesTimestampOf(p: Buffer, at: number): number | undefined {
  if ((p[at + 1]! & 0x40) === 0) return undefined; // no payload unit start
  const afc = (p[at + 3]! >> 4) & 3;
  if ((afc & 1) === 0) return undefined;
  const start = at + 4 + ((afc & 2) !== 0 ? 1 + p[at + 4]! : 0);
  if (start + 19 > at + PACKET) return undefined;
  if (p[start] !== 0 || p[start + 1] !== 0 || p[start + 2] !== 1) return undefined;
  const streamId = p[start + 3]!;
  if (streamId < 0xc0 || streamId > 0xef) return undefined; // audio and video streams only
  const flags = p[start + 7]! >> 6;
  if (flags === 3) return readTimestamp(p, start + 14);
  if (flags === 2) return readTimestamp(p, start + 9);
  return undefined;
}

export class MpegTsPacer {
  private readonly now: () => number;
  /** Bytes of an incomplete packet at the end of the previous chunk (scanned, already handed out). */
  private tail: Buffer = Buffer.alloc(0);
  private pcrPid = -1;
  private pesPid = -1;
  private anchorTicks = 0;
  private anchorMs = 0;
  private lastTicks: number | undefined;
  private lastDueMs = 0;
  private mediaMs = 0;
  private started = false;

  constructor(options: MpegTsPacerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Media time handed out so far, in seconds (the clock's advance since the first value). */
  get mediaSeconds(): number {
    return this.mediaMs / 1000;
  }

  /**
   * Cuts `data` at the packets that carry a clock value. Every byte comes back exactly once, in
   * order; a part is due when the clock value at its start is, measured from the first value.
   */
  schedule(data: Buffer): PacedPart[] {
    const parts: PacedPart[] = [];
    let partStart = 0;
    let due = this.lastDueMs;
    const cut = (at: number, nextDue: number): void => {
      if (at > partStart) parts.push({ data: data.subarray(partStart, at), dueMs: due });
      partStart = at;
      due = nextDue;
    };

    let pos = 0;
    if (this.tail.length > 0) {
      const need = PACKET - this.tail.length;
      if (data.length < need) {
        this.tail = Buffer.concat([this.tail, data]);
        return data.length > 0 ? [{ data, dueMs: due }] : [];
      }
      const joined = Buffer.concat([this.tail, data.subarray(0, need)]);
      this.tail = Buffer.alloc(0);
      const value = this.clockValue(joined, 0);
      if (value !== undefined) due = this.dueFor(value);
      pos = need;
    }
    while (pos + PACKET <= data.length) {
      if (data[pos] !== SYNC) {
        // Lost alignment: find the next sync byte confirmed by the one a packet later.
        let next = pos + 1;
        while (next < data.length && !(data[next] === SYNC && (next + PACKET >= data.length || data[next + PACKET] === SYNC))) next++;
        pos = next;
        continue;
      }
      const value = this.clockValue(data, pos);
      if (value !== undefined) cut(pos, this.dueFor(value));
      pos += PACKET;
    }
    if (pos < data.length) this.tail = Buffer.from(data.subarray(pos));
    cut(data.length, due);
    this.lastDueMs = due;
    return parts;
  }

  private clockValue(p: Buffer, at: number): number | undefined {
    if (p[at] !== SYNC) return undefined;
    const pid = ((p[at + 1]! & 0x1f) << 8) | p[at + 2]!;
    const pcr = pcrOf(p, at);
    if (pcr !== undefined && (this.pcrPid === -1 || this.pcrPid === pid)) {
      if (this.pcrPid === -1) {
        this.pcrPid = pid;
        this.lastTicks = undefined; // switching from PES timestamps: re-anchor at the current due time
      }
      return pcr;
    }
    if (this.pcrPid !== -1) return undefined;
    const ts = pesTimestampOf(p, at);
    if (ts === undefined) return undefined;
    if (this.pesPid === -1) this.pesPid = pid;
    return pid === this.pesPid ? ts : undefined;
  }

  private dueFor(raw: number): number {
    if (this.lastTicks === undefined) {
      this.anchor(raw, this.started ? this.lastDueMs : this.now());
      this.started = true;
      this.lastTicks = raw;
      return this.anchorMs;
    }
    let ticks = raw;
    // Unwrap the 33-bit counter relative to the last value.
    while (ticks - this.lastTicks < -WRAP / 2) ticks += WRAP;
    while (ticks - this.lastTicks > WRAP / 2) ticks -= WRAP;
    const stepMs = (ticks - this.lastTicks) / TICKS_PER_MS;
    if (stepMs > MAX_JUMP_MS || stepMs < -MAX_BACK_MS) {
      this.anchor(ticks, this.lastDueMs);
    } else if (stepMs > 0) {
      this.mediaMs += stepMs;
    }
    this.lastTicks = ticks;
    const due = this.anchorMs + (ticks - this.anchorTicks) / TICKS_PER_MS;
    // Never due before an earlier part (a small step back in the clock sends at once).
    this.lastDueMs = Math.max(this.lastDueMs, due);
    return this.lastDueMs;
  }

  private anchor(ticks: number, atMs: number): void {
    this.anchorTicks = ticks;
    this.anchorMs = atMs;
    this.lastDueMs = Math.max(this.lastDueMs, atMs);
  }
}
