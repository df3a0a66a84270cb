/**
 * The worker's running streams: by id (gateway_request_id) and by alias (X-Stream-Id), with the
 * counters of ended streams that `/metrics` reports.
 */
import type { StreamEnd, StreamHandle } from '../stream/stream-handle';

/** Counters summed over ended streams (`/metrics` totals). */
const ENDED_COUNTERS = ['framesIn', 'framesOut', 'framesGated', 'framesDropped', 'framesStale', 'framesSkipped', 'processorErrors', 'framesNulled', 'bytesIn', 'bytesOut', 'processorDeadlineMisses', 'inputStalls', 'segmentsCut', 'restarts'] as const;

export class StreamRegistry {
  private readonly byId = new Map<string, StreamHandle>();
  private readonly aliases = new Map<string, string>();
  /** Streams registered since creation. */
  started = 0;
  /** Streams that have ended since creation. */
  ended = 0;
  /** Counters of ended streams, summed. */
  readonly endedCounters: Record<string, number> = {};

  /** @param onChange called after a stream is added or removed; `end` is set when one ended. */
  constructor(private readonly onChange: (stream: StreamHandle, end?: StreamEnd) => void) {}

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  all(): StreamHandle[] {
    return [...this.byId.values()];
  }

  /** The stream with this id or alias, if it runs. */
  get(id: string): StreamHandle | undefined {
    return this.byId.get(id) ?? this.byId.get(this.aliases.get(id) ?? '');
  }

  /** Adds a stream; it leaves the registry by itself when it ends. */
  add(stream: StreamHandle): void {
    this.byId.set(stream.id, stream);
    const alias = stream.request.streamIdHeader;
    if (alias && alias !== stream.id) this.aliases.set(alias, stream.id);
    this.started += 1;
    this.onChange(stream);
    void stream.done.then((end) => {
      if (this.byId.get(stream.id) === stream) this.byId.delete(stream.id);
      if (alias && this.aliases.get(alias) === stream.id) this.aliases.delete(alias);
      this.ended += 1;
      const snap = stream.stats.snapshot();
      for (const key of ENDED_COUNTERS) this.endedCounters[key] = (this.endedCounters[key] ?? 0) + snap[key];
      this.onChange(stream, end);
    });
  }

  /**
   * The stream a stop/params request addresses, never another one:
   * - `session` (Livepeer-Session-Id, set by the orchestrator's session proxy) confines the request
   *   to that session's stream: an id naming another stream is `unknown`;
   * - otherwise an explicit id (query/body `stream_id`), else `X-Stream-Id`: the stream it names, or
   *   `unknown` when none runs under that id (go-livepeer sends a stop after a stream ended by itself);
   * - no id at all: the running stream when the worker serves one stream at a time (`capacity` 1,
   *   pytrickle's behaviour), else `ambiguous`.
   */
  target(ids: { explicit?: string | undefined; header?: string | undefined; session?: string | undefined }, capacity: number): TargetResult {
    if (ids.session) {
      const s = this.get(ids.session);
      const named = ids.explicit ?? ids.header;
      if (!s || (named !== undefined && this.get(named) !== s)) return { kind: 'unknown', id: named ?? ids.session };
      return { kind: 'stream', stream: s };
    }
    const named = ids.explicit ?? ids.header;
    if (named !== undefined) {
      const s = this.get(named);
      return s ? { kind: 'stream', stream: s } : { kind: 'unknown', id: named };
    }
    const all = this.all();
    if (all.length === 0) return { kind: 'none' };
    if (capacity === 1 && all.length === 1) return { kind: 'stream', stream: all[0] as StreamHandle };
    return { kind: 'ambiguous', running: all.length };
  }
}

/** What a stop/params request addresses (see {@link StreamRegistry.target}). */
export type TargetResult =
  | { kind: 'stream'; stream: StreamHandle }
  | { kind: 'unknown'; id: string }
  | { kind: 'none' }
  | { kind: 'ambiguous'; running: number };
