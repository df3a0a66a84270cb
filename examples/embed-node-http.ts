/**
 * The worker inside an existing node:http server: requests under /worker go to the worker, the rest
 * to the application. The worker opens no port of its own.
 *
 *   npx tsx examples/embed-node-http.ts    # then: curl localhost:8080/worker/health
 */
import { createServer, type Server } from 'node:http';

import { StreamServer } from 'trickle-rt';

import processor from './passthrough';

export async function createApp(): Promise<{ server: Server; worker: StreamServer }> {
  const worker = new StreamServer({ processor, routePrefix: '/worker', capacity: 2 });
  await worker.initialize(); // /worker/health says IDLE from the first request on
  const server = createServer((req, res) => {
    if (req.url === '/worker' || req.url?.startsWith('/worker/')) {
      void worker.handleRequest(req, res);
      return;
    }
    res.end('my app\n');
  });
  return { server, worker };
}

if (require.main === module) {
  void createApp().then(({ server, worker }) => {
    server.listen(8080, () => console.log('listening on http://127.0.0.1:8080 (worker under /worker)'));
    process.once('SIGTERM', () => void worker.shutdown().then(() => server.close()));
  });
}
