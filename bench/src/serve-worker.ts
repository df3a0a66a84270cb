/**
 * The runtime under test for B3/B4/B5/B9: a StreamServer with an identity processor in its own
 * process (as a worker runs in production), started by the probe. It reports its port over IPC and
 * answers `usage` requests (RSS, CPU time, per-stream stats). It exits when the probe disconnects.
 */
import { createProcessor } from 'trickle-rt';
import { createLogger } from 'trickle-rt';
import { StreamServer } from 'trickle-rt';

export interface ServeWorkerConfig {
  capacity: number;
  /** StreamServer's input backlog bound (ms; 0: none); the runtime's default when absent. */
  maxInputBacklogMs?: number;
  /** Decoder / encoder threads per stream; the runtime's defaults when absent. */
  decoderThreads?: number;
  encoderThreads?: number;
}

export type ServeWorkerRequest = { type: 'usage'; id: number };
export type ServeWorkerReply =
  | { type: 'ready'; port: number; pid: number }
  | { type: 'usage'; id: number; rssBytes: number; cpuUserUs: number; cpuSystemUs: number; streams: Record<string, unknown> };

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ServeWorkerConfig;
  const server = new StreamServer({
    processor: createProcessor({ name: 'identity', video: (frame) => frame }),
    port: 0,
    host: '127.0.0.1',
    capacity: cfg.capacity,
    ...(cfg.maxInputBacklogMs !== undefined ? { maxInputBacklogMs: cfg.maxInputBacklogMs } : {}),
    ...(cfg.decoderThreads !== undefined || cfg.encoderThreads !== undefined
      ? { media: { ...(cfg.decoderThreads !== undefined ? { decoderThreads: cfg.decoderThreads } : {}), ...(cfg.encoderThreads !== undefined ? { encoderThreads: cfg.encoderThreads } : {}) } }
      : {}),
    register: false,
    logger: createLogger({ level: 'warn' }),
  });
  await server.listen();
  await server.initialize();
  process.on('message', (msg: ServeWorkerRequest) => {
    if (msg.type !== 'usage') return;
    const cpu = process.cpuUsage();
    const streams: Record<string, unknown> = {};
    for (const s of server.streams()) streams[s.id] = s.stats.snapshot();
    const reply: ServeWorkerReply = { type: 'usage', id: msg.id, rssBytes: process.memoryUsage.rss(), cpuUserUs: cpu.user, cpuSystemUs: cpu.system, streams };
    process.send?.(reply);
  });
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready', port: server.port, pid: process.pid } satisfies ServeWorkerReply);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench serve-worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
