/**
 * Plain TypeScript reference implementation of the tensor ops' documented semantics
 * (docs/frames.md), written from the spec, not from the C++/CUDA code: RGB from BT.601 or BT.709,
 * limited or full range (coefficients derived here from Kr/Kb), bilinear with half-pixel centres on a 1/2048 grid, fit modes, normalisation in float32,
 * float16 by round-to-nearest-even, RGB→YUV 4:2:0.
 */

export type Fmt = 'nv12' | 'yuv420p' | 'rgb24' | 'rgba';
export interface Plane {
  data: Uint8Array;
  stride: number;
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Matrix and range of a YUV picture, as `gpuPolicy.yuvColor` names them. */
export type YuvColor = 'bt601-limited' | 'bt709-limited' | 'bt601-full' | 'bt709-full';

/**
 * 16-bit fixed-point Y'CbCr → R'G'B' coefficients from the matrix constants: BT.601 Kr = 0.299,
 * Kb = 0.114; BT.709 Kr = 0.2126, Kb = 0.0722; limited range scales Y by 255/219 and chroma by
 * 255/224 (Y offset 16), full range by 1 (offset 0).
 */
export function yuvCoefficients(color: YuvColor): { ys: number; crR: number; cbG: number; crG: number; cbB: number; off: number } {
  const bt709 = color.startsWith('bt709');
  const full = color.endsWith('full');
  const kr = bt709 ? 0.2126 : 0.299;
  const kb = bt709 ? 0.0722 : 0.114;
  const kg = 1 - kr - kb;
  const ys = full ? 1 : 255 / 219;
  const cs = full ? 1 : 255 / 224;
  const q = (v: number): number => Math.round(v * 65536);
  return {
    ys: q(ys),
    crR: q(2 * (1 - kr) * cs),
    cbG: q(((2 * kb * (1 - kb)) / kg) * cs),
    crG: q(((2 * kr * (1 - kr)) / kg) * cs),
    cbB: q(2 * (1 - kb) * cs),
    off: full ? 0 : 16,
  };
}

/** YUV → RGB with 16-bit fixed-point coefficients, rounded (BT.601 limited range by default). */
export function yuvToRgb(y: number, u: number, v: number, color: YuvColor = 'bt601-limited'): [number, number, number] {
  const k = yuvCoefficients(color);
  const c = (y - k.off) * k.ys;
  const d = u - 128;
  const e = v - 128;
  return [
    clamp8(Math.floor((c + k.crR * e + 32768) / 65536)),
    clamp8(Math.floor((c - k.cbG * d - k.crG * e + 32768) / 65536)),
    clamp8(Math.floor((c + k.cbB * d + 32768) / 65536)),
  ];
}

export function pixelRgb(fmt: Fmt, planes: Plane[], x: number, y: number, color: YuvColor = 'bt601-limited'): [number, number, number] {
  const [p0, p1, p2] = planes as [Plane, Plane?, Plane?];
  switch (fmt) {
    case 'nv12': {
      const cx = Math.floor(x / 2) * 2;
      const cy = Math.floor(y / 2);
      return yuvToRgb(p0.data[y * p0.stride + x]!, p1!.data[cy * p1!.stride + cx]!, p1!.data[cy * p1!.stride + cx + 1]!, color);
    }
    case 'yuv420p': {
      const cx = Math.floor(x / 2);
      const cy = Math.floor(y / 2);
      return yuvToRgb(p0.data[y * p0.stride + x]!, p1!.data[cy * p1!.stride + cx]!, p2!.data[cy * p2!.stride + cx]!, color);
    }
    case 'rgb24':
    case 'rgba': {
      const bpp = fmt === 'rgb24' ? 3 : 4;
      const o = y * p0.stride + x * bpp;
      return [p0.data[o]!, p0.data[o + 1]!, p0.data[o + 2]!];
    }
  }
}

/** float32 → IEEE half bits, round to nearest even, computed arithmetically. */
export function halfBits(value: number): number {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return 0x7e00;
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (a === 0) return sign;
  if (a >= 65520) return sign | 0x7c00;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  const ulpExp = Math.max(e, -14) - 10;
  const q = a / 2 ** ulpExp; // exact (power-of-two scaling)
  let m = Math.floor(q);
  const rest = q - m;
  if (rest > 0.5 || (rest === 0.5 && m % 2 === 1)) m += 1;
  const v = m * 2 ** ulpExp;
  if (v >= 65520) return sign | 0x7c00;
  // encode
  if (v < 2 ** -14) return sign | m; // subnormal: m ulps of 2^-24
  let ee = Math.floor(Math.log2(v));
  if (2 ** ee > v) ee -= 1;
  if (2 ** (ee + 1) <= v) ee += 1;
  const mant = v / 2 ** ee - 1;
  return sign | ((ee + 15) << 10) | Math.round(mant * 1024);
}

export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface RefToTensor {
  layout: 'nchw' | 'nhwc';
  dtype: 'uint8' | 'float16' | 'float32';
  width: number;
  height: number;
  fit: 'stretch' | 'crop' | 'letterbox';
  mean?: [number, number, number];
  std?: [number, number, number];
  pad?: [number, number, number];
  /** Matrix and range of a YUV source (default BT.601 limited). */
  color?: YuvColor;
}

const K = 2048;

/** Expected tensor elements (uint8 values, float32 values, or float16 bits). */
export function refToTensor(fmt: Fmt, planes: Plane[], sw: number, sh: number, o: RefToTensor): number[] {
  const dw = o.width;
  const dh = o.height;
  // content rectangle in the output and source region in 1/2048 px
  let ox = 0;
  let oy = 0;
  let cw = dw;
  let ch = dh;
  let rx = 0;
  let ry = 0;
  let rw = sw * K;
  let rh = sh * K;
  if (o.fit === 'crop') {
    if (dw * sh >= dh * sw) {
      rh = Math.floor((sw * dh * K) / dw);
      ry = Math.floor((sh * K - rh) / 2);
    } else {
      rw = Math.floor((sh * dw * K) / dh);
      rx = Math.floor((sw * K - rw) / 2);
    }
  } else if (o.fit === 'letterbox') {
    if (dw * sh <= dh * sw) {
      ch = Math.min(dh, Math.max(1, Math.floor((2 * sh * dw + sw) / (2 * sw))));
    } else {
      cw = Math.min(dw, Math.max(1, Math.floor((2 * sw * dh + sh) / (2 * sh))));
    }
    ox = Math.floor((dw - cw) / 2);
    oy = Math.floor((dh - ch) / 2);
  }
  const axis = (d: number, o0: number, len: number, r0: number, rl: number, src: number): [number, number, number] => {
    let q = r0 + Math.floor(((2 * (d - o0) + 1) * rl) / (2 * len)) - K / 2;
    q = Math.min(Math.max(q, 0), (src - 1) * K);
    const i0 = Math.floor(q / K);
    return [i0, Math.min(i0 + 1, src - 1), q % K];
  };
  const pad = o.pad ?? [0, 0, 0];
  const mean = o.mean ?? [0, 0, 0];
  const std = o.std ?? [1, 1, 1];
  const out = new Array<number>(dw * dh * 3);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      let rgb: number[];
      if (x < ox || x >= ox + cw || y < oy || y >= oy + ch) {
        rgb = pad;
      } else {
        const [x0, x1, fx] = axis(x, ox, cw, rx, rw, sw);
        const [y0, y1, fy] = axis(y, oy, ch, ry, rh, sh);
        const a = pixelRgb(fmt, planes, x0, y0, o.color);
        const b = pixelRgb(fmt, planes, x1, y0, o.color);
        const c = pixelRgb(fmt, planes, x0, y1, o.color);
        const d = pixelRgb(fmt, planes, x1, y1, o.color);
        rgb = [0, 1, 2].map((i) => {
          const v = a[i]! * (K - fx) * (K - fy) + b[i]! * fx * (K - fy) + c[i]! * (K - fx) * fy + d[i]! * fx * fy;
          return Math.floor((v + 2 ** 21) / 2 ** 22);
        });
      }
      for (let c = 0; c < 3; c++) {
        const idx = o.layout === 'nchw' ? (c * dh + y) * dw + x : (y * dw + x) * 3 + c;
        const v8 = rgb[c]!;
        if (o.dtype === 'uint8') {
          out[idx] = v8;
        } else {
          const f32 = Math.fround(Math.fround(Math.fround(v8 / 255) - Math.fround(mean[c]!)) / Math.fround(std[c]!));
          out[idx] = o.dtype === 'float32' ? f32 : halfBits(f32);
        }
      }
    }
  }
  return out;
}

/** RGB bytes (NHWC order, w*h*3) → expected planes of `fmt` (tight strides). */
export function refFromRgb(rgb: ArrayLike<number>, w: number, h: number, fmt: Fmt): Uint8Array[] {
  const at = (x: number, y: number, c: number): number => rgb[(y * w + x) * 3 + c]!;
  const Y = (r: number, g: number, b: number) => ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
  const U = (r: number, g: number, b: number) => ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
  const V = (r: number, g: number, b: number) => ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
  if (fmt === 'rgb24' || fmt === 'rgba') {
    const bpp = fmt === 'rgb24' ? 3 : 4;
    const p = new Uint8Array(w * h * bpp);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) p[(y * w + x) * bpp + c] = at(x, y, c);
        if (bpp === 4) p[(y * w + x) * 4 + 3] = 255;
      }
    }
    return [p];
  }
  const yp = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) yp[y * w + x] = Y(at(x, y, 0), at(x, y, 1), at(x, y, 2));
  const cw = w / 2;
  const ch = h / 2;
  const u = new Uint8Array(cw * ch);
  const v = new Uint8Array(cw * ch);
  for (let by = 0; by < ch; by++) {
    for (let bx = 0; bx < cw; bx++) {
      const m = [0, 1, 2].map((c) =>
        Math.floor((at(2 * bx, 2 * by, c) + at(2 * bx + 1, 2 * by, c) + at(2 * bx, 2 * by + 1, c) + at(2 * bx + 1, 2 * by + 1, c) + 2) / 4),
      ) as [number, number, number];
      u[by * cw + bx] = U(...m);
      v[by * cw + bx] = V(...m);
    }
  }
  if (fmt === 'yuv420p') return [yp, u, v];
  const uv = new Uint8Array(cw * 2 * ch);
  for (let i = 0; i < cw * ch; i++) {
    uv[2 * i] = u[i]!;
    uv[2 * i + 1] = v[i]!;
  }
  return [yp, uv];
}

/** Deterministic RGB test picture (NHWC bytes): gradients plus pseudo-random texture. */
export function testPicture(w: number, h: number, seed = 1): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = s >>> 24;
      out[(y * w + x) * 3] = (x * 255) / Math.max(1, w - 1);
      out[(y * w + x) * 3 + 1] = (y * 255) / Math.max(1, h - 1);
      out[(y * w + x) * 3 + 2] = n;
    }
  }
  return out;
}

export function nhwcToNchw(src: ArrayLike<number>, w: number, h: number): number[] {
  const out = new Array<number>(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(c * h + y) * w + x] = src[(y * w + x) * 3 + c]!;
  return out;
}
