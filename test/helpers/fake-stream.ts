/** A StreamHandle without media, for tests of the HTTP layer, and a StreamServer that makes them. */
import { silentLogger } from '../../src/logger';
import { createProcessor } from '../../src/processor/create-processor';
import { StreamStats } from '../../src/stream/stream-stats';
import { StreamServer, type StreamServerOptions } from '../../src/worker/stream-server';
import type { StreamParams } from '../../src/params';
import type { ParamsSource, StartRequest, StreamEnd, StreamHandle, StreamPhase } from '../../src/stream/stream-handle';

export class FakeStream implements StreamHandle {
  readonly id: string;
  readonly stats = new StreamStats();
  phase: StreamPhase = 'starting';
  params: StreamParams;
  readonly updates: Array<{ params: StreamParams; source: ParamsSource }> = [];
  stopReason: StreamEnd['reason'] | undefined;
  failUpdate: Error | undefined;
  readonly done: Promise<StreamEnd>;
  private resolve!: (e: StreamEnd) => void;

  constructor(readonly request: StartRequest) {
    this.id = request.gateway_request_id;
    this.params = { ...request.params };
    this.done = new Promise((r) => {
      this.resolve = r;
    });
  }
  start(): void {
    this.phase = 'running';
  }
  async stop(reason: StreamEnd['reason']): Promise<void> {
    this.stopReason = reason;
    this.end({ reason });
  }
  end(e: StreamEnd): void {
    this.phase = 'closed';
    this.resolve(e);
  }
  async updateParams(params: StreamParams, source: ParamsSource): Promise<void> {
    if (this.failUpdate) throw this.failUpdate;
    this.updates.push({ params, source });
    this.params = { ...this.params, ...params };
  }
}

/**
 * A StreamServer (no processor hooks, silent) whose streams are FakeStreams, collected in `made`.
 * Not listening: the caller listens, initializes and shuts it down as its test needs.
 */
export function fakeStreamServer(options: Partial<StreamServerOptions> = {}): { server: StreamServer; made: FakeStream[] } {
  const made: FakeStream[] = [];
  const server = new StreamServer({
    processor: createProcessor({}),
    logger: silentLogger,
    streamFactory: (req) => {
      const s = new FakeStream(req);
      made.push(s);
      return s;
    },
    ...options,
  });
  return { server, made };
}
