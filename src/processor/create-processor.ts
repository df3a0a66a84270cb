import { invalidArg } from '../errors';
import type { StreamParams } from '../params';
import { FrameProcessor, type AudioMode, type ClosableFrame, type InputSize, type StreamContext } from './frame-processor';
import { isParamsSchema, type ParamsSchema } from './params-schema';
import { pytrickleNameWarnings } from './pytrickle-names';

type MaybePromise<T> = T | Promise<T>;

/** The hooks of {@link createProcessor}; every one is optional. */
export interface ProcessorHooks<V extends ClosableFrame, A extends ClosableFrame> {
  name?: string;
  inputSize?: InputSize;
  /** Default: `'process'` when an `audio` hook is given, else `'passthrough'`. */
  audioMode?: AudioMode;
  /** Loads models once, before the worker reports IDLE. */
  load?: () => MaybePromise<void>;
  /** Video hook; omitted = passthrough. `null` drops the frame. */
  video?: (frame: V, ctx: StreamContext) => MaybePromise<V | null>;
  /** Audio hook; omitted = passthrough. A single frame is accepted as `[frame]`. */
  audio?: (frame: A, ctx: StreamContext) => MaybePromise<A | A[] | null>;
  /** Validates params before they reach a frame (a Standard Schema validator such as zod, or a function). */
  paramsSchema?: ParamsSchema;
  /** Params update hook (HTTP and control channel). */
  params?: (params: StreamParams, ctx: StreamContext) => MaybePromise<void>;
  /** Stream start hook, with the start request's params. */
  start?: (params: StreamParams, ctx: StreamContext) => MaybePromise<void>;
  /** Stream stop hook. */
  stop?: (ctx: StreamContext) => MaybePromise<void>;
}

const HOOKS = ['load', 'video', 'audio', 'params', 'start', 'stop'] as const;

/**
 * Builds a {@link FrameProcessor} from plain functions, for small processors.
 *
 * @example
 * export default createProcessor({
 *   video: (frame, ctx) => (ctx.params['enabled'] === false ? frame : tint(frame)),
 *   params: (p, ctx) => ctx.log.info('params', { p }),
 * });
 */
export function createProcessor<V extends ClosableFrame = ClosableFrame, A extends ClosableFrame = ClosableFrame>(
  hooks: ProcessorHooks<V, A>,
): FrameProcessor<V, A> {
  if (typeof hooks !== 'object' || hooks === null) throw invalidArg('hooks', 'an object of functions', hooks);
  for (const key of HOOKS) {
    const fn = hooks[key];
    if (fn !== undefined && typeof fn !== 'function') throw invalidArg(`hooks.${key}`, 'a function', fn);
  }
  for (const warning of pytrickleNameWarnings(hooks, 'hooks')) process.emitWarning(warning, 'TrickleRtWarning');
  if (hooks.paramsSchema !== undefined && !isParamsSchema(hooks.paramsSchema)) {
    throw invalidArg('hooks.paramsSchema', 'a Standard Schema validator (e.g. zod) or a function', hooks.paramsSchema);
  }
  class FunctionalProcessor extends FrameProcessor<V, A> {
    override name = hooks.name ?? 'processor';
    override paramsSchema = hooks.paramsSchema;
    override inputSize: InputSize = hooks.inputSize ?? 'params';
    override audioMode: AudioMode = hooks.audioMode ?? (hooks.audio ? 'process' : 'passthrough');
    override async initialize(): Promise<void> {
      await hooks.load?.();
    }
    override processVideo(frame: V, ctx: StreamContext): MaybePromise<V | null> {
      return hooks.video ? hooks.video(frame, ctx) : frame;
    }
    override async processAudio(frame: A, ctx: StreamContext): Promise<A[] | null> {
      if (!hooks.audio) return [frame];
      const out = await hooks.audio(frame, ctx);
      if (out === null || out === undefined) return null;
      return Array.isArray(out) ? out : [out];
    }
    override async updateParams(params: StreamParams, ctx: StreamContext): Promise<void> {
      await hooks.params?.(params, ctx);
    }
    override async onStreamStart(params: StreamParams, ctx: StreamContext): Promise<void> {
      await hooks.start?.(params, ctx);
    }
    override async onStreamStop(ctx: StreamContext): Promise<void> {
      await hooks.stop?.(ctx);
    }
  }
  return new FunctionalProcessor();
}

/** True for a FrameProcessor instance or anything with its shape (processors from another copy of the package). */
export function isFrameProcessor(value: unknown): value is FrameProcessor {
  if (value instanceof FrameProcessor) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['processVideo'] === 'function' && typeof v['initialize'] === 'function';
}
