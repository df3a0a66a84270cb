/**
 * Stream parameter validation, shared by `/stream/start` (`params`), `/stream/params` and the
 * control channel. Reproduces pytrickle's rules and messages (docs/compat.md, "Params") with
 * two deliberate fixes: a width/height that is not positive gets its own message (pytrickle masks it
 * behind the integer message), and callers answer validation failures with 400 (pytrickle: 500).
 *
 * Everything that is not a reserved key passes through untouched to the processor.
 */
import { ErrorCodes, TrickleError } from './errors';

/** A flat, JSON-compatible params object as the gateway sends it (snake_case keys). */
export type StreamParams = Record<string, unknown>;

/** pytrickle's defaults. */
export const DEFAULT_WIDTH = 512;
export const DEFAULT_HEIGHT = 512;
export const DEFAULT_MAX_FRAMERATE = 24;
export const MAX_FRAMERATE_LIMIT = 60;

/**
 * Largest stream width/height accepted at start or by an update: 4096 covers DCI 4K, and keeps one
 * hostile start from asking for frames of gigabytes. The media path needs even sizes (H.264 4:2:0).
 */
export const MAX_DIMENSION = 4096;

/**
 * Bounds of any JSON value that crosses the process boundary (params, control messages): nesting
 * depth and number of values. Deeper values are refused before anything walks them recursively
 * (`JSON.stringify` of a value nested a few thousand levels overflows the stack).
 */
export const JSON_LIMITS = Object.freeze({ maxDepth: 64, maxValues: 100_000 });

/**
 * Checks a parsed JSON value against {@link JSON_LIMITS} without recursion (an explicit stack), so
 * the check itself cannot overflow. Returns the reason when a bound is exceeded.
 *
 * @example
 * jsonBoundsProblem(JSON.parse('[[[]]]'), { maxDepth: 2, maxValues: 10 }); // → 'nest deeper than 2 levels'
 */
export function jsonBoundsProblem(value: unknown, limits: { maxDepth: number; maxValues: number } = JSON_LIMITS): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (++values > limits.maxValues) return `hold more than ${limits.maxValues} values`;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limits.maxDepth) return `nest deeper than ${limits.maxDepth} levels`;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** Thrown when params fail validation; `message` is the exact reason used in HTTP error bodies. */
export class ParamsValidationError extends TrickleError {
  constructor(reason: string) {
    super(ErrorCodes.ERR_INVALID_PARAM, reason);
    this.name = 'ParamsValidationError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Python's `int()` on the values JSON can carry: integers, integer-valued numbers, integer strings. */
function toInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string') {
    const s = value.trim();
    if (!/^[+-]?\d+$/.test(s)) return undefined;
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return undefined;
}

/**
 * Validates and normalises a params object. Returns a shallow copy in which `width`/`height` and
 * `max_framerate` are numbers and `detect_out_resolution` is a boolean; other keys are untouched.
 *
 * @throws ParamsValidationError with pytrickle's reason text.
 * @example
 * validateParams({ width: '640', height: 360, prompt: 'x' }); // → { width: 640, height: 360, prompt: 'x' }
 */
export function validateParams(value: unknown): StreamParams {
  if (!isPlainObject(value)) throw new ParamsValidationError('Params must be a dictionary');
  const tooBig = jsonBoundsProblem(value);
  if (tooBig) throw new ParamsValidationError(`Params must not ${tooBig}`);
  const out: StreamParams = { ...value };

  const hasWidth = 'width' in value && value['width'] !== null;
  const hasHeight = 'height' in value && value['height'] !== null;
  if (hasWidth || hasHeight) {
    if (!(hasWidth && hasHeight)) {
      throw new ParamsValidationError("Both 'width' and 'height' must be provided together");
    }
    const width = toInteger(value['width']);
    const height = toInteger(value['height']);
    if (width === undefined || height === undefined || typeof value['width'] === 'boolean' || typeof value['height'] === 'boolean') {
      throw new ParamsValidationError('Width and height must be valid integers or integer strings');
    }
    if (width <= 0 || height <= 0) {
      throw new ParamsValidationError(`Width and height must be positive integers (received ${width}x${height})`);
    }
    if (width < 2 || height < 2 || width > MAX_DIMENSION || height > MAX_DIMENSION || width % 2 !== 0 || height % 2 !== 0) {
      throw new ParamsValidationError(`Width and height must be even integers from 2 to ${MAX_DIMENSION} (received ${width}x${height})`);
    }
    out['width'] = width;
    out['height'] = height;
  }

  if ('max_framerate' in value && value['max_framerate'] !== null) {
    const raw = value['max_framerate'];
    const fps = typeof raw === 'boolean' ? undefined : toInteger(raw);
    if (fps === undefined) throw new ParamsValidationError('max_framerate must be a valid integer');
    if (fps <= 0) throw new ParamsValidationError('max_framerate must be a positive integer');
    if (fps > MAX_FRAMERATE_LIMIT) throw new ParamsValidationError(`max_framerate cannot exceed ${MAX_FRAMERATE_LIMIT} FPS`);
    out['max_framerate'] = fps;
  }

  if ('bitrate' in value && value['bitrate'] !== null) {
    const raw = value['bitrate'];
    if (typeof raw === 'string' && raw.trim().toLowerCase() === 'quality') {
      out['bitrate'] = 'quality';
    } else {
      const bps = typeof raw === 'boolean' ? undefined : toInteger(raw);
      if (bps === undefined || bps < MIN_BITRATE || bps > MAX_BITRATE) {
        throw new ParamsValidationError(`bitrate must be an integer from ${MIN_BITRATE} to ${MAX_BITRATE} bits/s, or "quality"`);
      }
      out['bitrate'] = bps;
    }
  }

  if ('detect_out_resolution' in value && value['detect_out_resolution'] !== null) {
    out['detect_out_resolution'] = toBool(value['detect_out_resolution']);
  }
  return out;
}

function toBool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw !== 0;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === '0' || s === 'no') return false;
  }
  throw new ParamsValidationError('detect_out_resolution must be a boolean value');
}

/** The media settings a stream takes from its (validated) params. */
export interface StreamMediaSettings {
  width: number;
  height: number;
  maxFramerate: number;
  detectOutResolution: boolean;
  /** Output rate control: bits/s, 'quality' (constant quality), or null for the live default ({@link liveBitrate}). */
  bitrate: number | 'quality' | null;
}

export const MIN_BITRATE = 10_000;
export const MAX_BITRATE = 500_000_000;

/**
 * The default output bitrate, chosen for live delivery: 0.15 bits per pixel per frame (about
 * 0.94 Mbit/s at 512×512 24 fps, 7.5 Mbit/s at 1080p 24 fps), between 300 kbit/s and 8 Mbit/s,
 * rounded to kbit/s. A bounded rate (x264 ABR with a one-second VBV; NVENC CBR) keeps segment sizes
 * steady for the trickle channel, where constant quality would swing with the content.
 */
export function liveBitrate(width: number, height: number, fps: number): number {
  const bps = 0.15 * width * height * fps;
  return Math.round(Math.min(8_000_000, Math.max(300_000, bps)) / 1000) * 1000;
}


/** Media settings from validated params, with pytrickle's defaults. */
export function mediaSettings(params: StreamParams): StreamMediaSettings {
  return {
    width: typeof params['width'] === 'number' ? params['width'] : DEFAULT_WIDTH,
    height: typeof params['height'] === 'number' ? params['height'] : DEFAULT_HEIGHT,
    maxFramerate: typeof params['max_framerate'] === 'number' ? params['max_framerate'] : DEFAULT_MAX_FRAMERATE,
    detectOutResolution: typeof params['detect_out_resolution'] === 'boolean' ? params['detect_out_resolution'] : true,
    bitrate: typeof params['bitrate'] === 'number' || params['bitrate'] === 'quality' ? (params['bitrate'] as number | 'quality') : null,
  };
}
