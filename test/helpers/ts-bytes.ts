/**
 * Byte-level MPEG-TS helpers for robustness tests (independent of the code under test).
 */

/** Deterministic PRNG (mulberry32) so that fuzz failures reproduce from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offsets of the 188-byte TS packets that start a PES (payload_unit_start) on `pid`. */
export function pesStarts(bytes: Buffer, pid: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + 188 <= bytes.length; p += 188) {
    const packetPid = ((bytes[p + 1]! & 0x1f) << 8) | bytes[p + 2]!;
    if (packetPid === pid && (bytes[p + 1]! & 0x40) !== 0) out.push(p);
  }
  return out;
}

/**
 * Splits a 188-byte-packet MPEG-TS stream before each video keyframe: a packet that starts a PES
 * (payload_unit_start) on the video PID (FFmpeg's default 0x100) and carries random_access_indicator
 * in its adaptation field. The PAT/PMT
 * FFmpeg writes just before a keyframe stay with the previous piece (the stream is one continuous
 * byte stream, as trickle segments are).
 */
export function splitAtKeyframes(bytes: Buffer, videoPid = 0x100): Buffer[] {
  const cuts: number[] = [];
  let seenKey = false; // the first keyframe stays with the PAT/PMT in front of it
  for (let off = 0; off + 188 <= bytes.length; off += 188) {
    if (bytes[off] !== 0x47) throw new Error(`not 188-byte TS at ${off}`);
    const pid = ((bytes[off + 1]! & 0x1f) << 8) | bytes[off + 2]!;
    const pusi = (bytes[off + 1]! & 0x40) !== 0;
    const afc = (bytes[off + 3]! >> 4) & 0x3;
    const hasAdaptation = afc === 2 || afc === 3;
    const rai = hasAdaptation && bytes[off + 4]! > 0 && (bytes[off + 5]! & 0x40) !== 0;
    if (pid === videoPid && pusi && rai) {
      if (seenKey) cuts.push(off);
      seenKey = true;
    }
  }
  const pieces: Buffer[] = [];
  let start = 0;
  for (const c of cuts) {
    pieces.push(bytes.subarray(start, c));
    start = c;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

export type Mutation = 'bitflip' | 'overwrite' | 'truncate' | 'dropPackets' | 'insert' | 'zero' | 'duplicate' | 'random';

/** A mutated copy of `segment` (never the input buffer itself). */
export function mutate(segment: Buffer, rand: () => number, kind?: Mutation): { bytes: Buffer; kind: Mutation } {
  const kinds: Mutation[] = ['bitflip', 'overwrite', 'truncate', 'dropPackets', 'insert', 'zero', 'duplicate', 'random'];
  const k = kind ?? kinds[Math.floor(rand() * kinds.length)]!;
  const out = Buffer.from(segment);
  const pos = (): number => Math.floor(rand() * Math.max(1, out.length));
  switch (k) {
    case 'bitflip': {
      const n = 1 + Math.floor(rand() * 40);
      for (let i = 0; i < n; i++) {
        const p = pos();
        out[p] = out[p]! ^ (1 << Math.floor(rand() * 8));
      }
      return { bytes: out, kind: k };
    }
    case 'overwrite': {
      const p = pos();
      const len = Math.min(out.length - p, 1 + Math.floor(rand() * 2000));
      for (let i = 0; i < len; i++) out[p + i] = Math.floor(rand() * 256);
      return { bytes: out, kind: k };
    }
    case 'truncate':
      return { bytes: out.subarray(0, pos()), kind: k };
    case 'dropPackets': {
      const keep: Buffer[] = [];
      for (let off = 0; off < out.length; off += 188) if (rand() > 0.1) keep.push(out.subarray(off, off + 188));
      return { bytes: Buffer.concat(keep), kind: k };
    }
    case 'insert': {
      const p = pos();
      const junk = Buffer.alloc(1 + Math.floor(rand() * 500));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      return { bytes: Buffer.concat([out.subarray(0, p), junk, out.subarray(p)]), kind: k };
    }
    case 'zero': {
      const p = pos();
      out.fill(0, p, Math.min(out.length, p + 1 + Math.floor(rand() * 4000)));
      return { bytes: out, kind: k };
    }
    case 'duplicate': {
      const p = pos();
      const len = Math.min(out.length - p, 1 + Math.floor(rand() * 3000));
      return { bytes: Buffer.concat([out, out.subarray(p, p + len)]), kind: k };
    }
    case 'random': {
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
      return { bytes: out, kind: k };
    }
  }
}
