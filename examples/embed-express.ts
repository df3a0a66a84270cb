/**
 * The worker as express middleware: it answers its routes under /worker and hands every other
 * request on (next()), so it can sit anywhere in the middleware chain.
 *
 *   npm install express && npx tsx examples/embed-express.ts    # then: curl localhost:8080/worker/health
 */
import express, { type Express } from 'express';

import { StreamServer } from 'trickle-rt';

import processor from './passthrough';

export async function createApp(): Promise<{ app: Express; worker: StreamServer }> {
  const worker = new StreamServer({ processor, routePrefix: '/worker', capacity: 2 });
  await worker.initialize();
  const app = express();
  app.use(worker.handleRequest); // or app.use('/worker', worker.handleRequest): the prefix is found either way
  app.get('/', (_req, res) => {
    res.send('my app\n');
  });
  return { app, worker };
}

if (require.main === module) {
  void createApp().then(({ app, worker }) => {
    const server = app.listen(8080, () => console.log('listening on http://127.0.0.1:8080 (worker under /worker)'));
    process.once('SIGTERM', () => void worker.shutdown().then(() => server.close()));
  });
}
