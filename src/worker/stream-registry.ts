/**
 * The worker's running streams: by id (gateway_request_id) and by alias (X-Stream-Id), with the
 * counters of ended streams that `/metrics` reports.
 */
import type { StreamEnd, StreamHandle } from '../stream/stream-handle';

/** Counters summed over ended streams (`/metrics` totals). */
const ENDED_COUNTERS = ['framesIn', 'framesOut', 'framesGated', 'framesDropped', 'framesStale', 'processorErrors', 'framesNulled', 'bytesIn', 'bytesOut'] as const;

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

  /** Streams a stop/params request addresses: an explicit id (body/query/header) or all of them. */
  targets(explicit: string | undefined, header: string | undefined): { streams: StreamHandle[]; unknownId?: string } {
    if (explicit !== undefined) {
      const s = this.get(explicit);
      return s ? { streams: [s] } : { streams: [], unknownId: explicit };
    }
    if (header) {
      const s = this.get(header);
      if (s) return { streams: [s] };
    }
    return { streams: this.all() };
  }
}
