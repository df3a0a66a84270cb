/**
 * The worker inside a fastify app, under /worker. Inside its own plugin scope fastify leaves the
 * request body unread (a no-op content parser), and the worker answers on the raw request and
 * response (`reply.hijack()`).
 *
 *   npm install fastify && npx tsx examples/embed-fastify.ts    # then: curl localhost:8080/worker/health
 */
import Fastify, { type FastifyInstance } from 'fastify';

import { StreamServer } from 'trickle-rt';

import processor from './passthrough';

export async function createApp(): Promise<{ app: FastifyInstance; worker: StreamServer }> {
  const worker = new StreamServer({ processor, routePrefix: '/worker', capacity: 2 });
  await worker.initialize();
  const app = Fastify();
  app.get('/', async () => 'my app\n');
  await app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.all('/*', (request, reply) => {
        reply.hijack();
        void worker.handleRequest(request.raw, reply.raw);
      });
    },
    { prefix: '/worker' },
  );
  return { app, worker };
}

if (require.main === module) {
  void createApp().then(async ({ app, worker }) => {
    await app.listen({ port: 8080 });
    console.log('listening on http://127.0.0.1:8080 (worker under /worker)');
    process.once('SIGTERM', () => void worker.shutdown().then(() => app.close()));
  });
}
