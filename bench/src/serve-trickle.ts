/**
 * The trickle server under test for B11, in its own process (so its RSS is its own): a
 * TrickleServer with the limits it is given, autocreate on (an attacker may create channels), on
 * 127.0.0.1. It reports its port over IPC and answers `usage` requests (RSS and the server's limit
 * counters). It exits when the bench disconnects.
 */
import { TrickleServer, type TrickleServerOptions } from 'trickle-rt';

export type ServeTrickleRequest = { type: 'usage'; id: number };
export type ServeTrickleReply =
  | { type: 'ready'; port: number; pid: number }
  | { type: 'usage'; id: number; rssBytes: number; counters: Record<string, number> };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as TrickleServerOptions;
  const server = new TrickleServer({ ...options, autocreate: true });
  const port = await server.listen(0, '127.0.0.1');
  process.on('message', (msg: ServeTrickleRequest) => {
    if (msg.type !== 'usage') return;
    const counters: Record<string, number> = { ...server.counters(), channels: server.channelNames().length };
    const mem = process.memoryUsage();
    counters['heapTotalBytes'] = mem.heapTotal;
    counters['arrayBufferBytes'] = mem.arrayBuffers;
    // 1: segment slabs are kernel pages given back at once and body chunks are freed when copied (the addon loaded).
    counters['slabMemoryPages'] = server.slabMemory === 'pages' ? 1 : 0;
    process.send?.({ type: 'usage', id: msg.id, rssBytes: mem.rss, counters } satisfies ServeTrickleReply);
  });
  process.on('disconnect', () => {
    void server.close().finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready', port, pid: process.pid } satisfies ServeTrickleReply);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench serve-trickle: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
