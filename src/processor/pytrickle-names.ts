/**
 * Guardrails for code ported from pytrickle: a processor (or a createProcessor hooks object) that
 * defines a method under pytrickle's name would otherwise load silently and never be called. Each
 * such name gets one warning naming its trickle-rt counterpart.
 */

/** pytrickle's name (and its literal camelCase port) → what trickle-rt calls instead. */
export const PYTRICKLE_NAMES: Readonly<Record<string, { method: string; hook: string }>> = {
  process_video_async: { method: 'processVideo', hook: 'video' },
  processVideoAsync: { method: 'processVideo', hook: 'video' },
  process_audio_async: { method: 'processAudio', hook: 'audio' },
  processAudioAsync: { method: 'processAudio', hook: 'audio' },
  update_params: { method: 'updateParams', hook: 'params' },
  load_model: { method: 'initialize', hook: 'load' },
  loadModel: { method: 'initialize', hook: 'load' },
  ensure_model_loaded: { method: 'initialize', hook: 'load' },
  on_stream_start: { method: 'onStreamStart', hook: 'start' },
  on_stream_stop: { method: 'onStreamStop', hook: 'stop' },
  video_handler: { method: 'processVideo', hook: 'video' },
  audio_handler: { method: 'processAudio', hook: 'audio' },
  model_loader: { method: 'initialize', hook: 'load' },
  param_updater: { method: 'updateParams', hook: 'params' },
  send_data: { method: 'ctx.publishData(value) inside a hook', hook: 'ctx.publishData(value)' },
  publish_data: { method: 'ctx.publishData(value) inside a hook', hook: 'ctx.publishData(value)' },
  send_monitoring_event: { method: 'ctx.sendEvent(event) inside a hook', hook: 'ctx.sendEvent(event)' },
};

/** Every own and inherited property name of `value` (up to, not including, Object.prototype). */
function propertyNames(value: object): Set<string> {
  const names = new Set<string>();
  for (let o: object | null = value; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  }
  return names;
}

/**
 * One warning per pytrickle name that `target` defines. `kind` says whether `target` is a
 * FrameProcessor (method names) or a createProcessor hooks object (hook names).
 *
 * @example
 * for (const w of pytrickleNameWarnings(processor, 'processor')) log.warn(w);
 */
export function pytrickleNameWarnings(target: object, kind: 'processor' | 'hooks'): string[] {
  const names = propertyNames(target);
  const out: string[] = [];
  for (const [name, counterpart] of Object.entries(PYTRICKLE_NAMES)) {
    if (!names.has(name)) continue;
    const instead = kind === 'processor' ? counterpart.method : counterpart.hook;
    out.push(`${kind === 'processor' ? 'the processor' : 'createProcessor'} defines "${name}", pytrickle's name, which trickle-rt never calls; use ${instead} instead (see docs/migrating-from-pytrickle.md)`);
  }
  return out;
}
