import { parseArgs } from 'node:util';

import { invalidArg } from '../../errors';
import { createLogger } from '../../logger';
import { StreamServer } from '../../worker/stream-server';
import type { CliCommand } from '../command';
import { loadProcessor } from '../load-processor';

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw invalidArg(`--${name}`, `an integer ≥ ${min}`, value);
  return n;
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run a pytrickle-compatible worker (BYOC capability) with a processor module',
  usage:
    'trickle-rt serve --processor MODULE [--port 8000] [--host 0.0.0.0] [--capacity 1] [--prefix /] [--auth-token T]\n\n' +
    'MODULE exports (default) a FrameProcessor, a subclass, a factory, or createProcessor hooks (.js, .mjs, or .ts\n' +
    'with the typescript package). Registers with an orchestrator when ORCH_URL and ORCH_SECRET are set.\n' +
    'SIGTERM/SIGINT: stop accepting, drain streams, DELETE output channels, exit. Logs: JSON lines on stderr\n' +
    '(TRICKLE_LOG_LEVEL=debug|info|warn|error).',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        processor: { type: 'string', short: 'p' },
        port: { type: 'string' },
        host: { type: 'string' },
        capacity: { type: 'string' },
        prefix: { type: 'string' },
        'auth-token': { type: 'string' },
      },
      strict: true,
    });
    if (!values.processor) throw invalidArg('--processor', 'a module path', values.processor);
    const port = positiveInt('port', values.port, 8000, 0);
    const capacity = positiveInt('capacity', values.capacity, 1);
    const processor = await loadProcessor(values.processor);
    const logger = createLogger({ fields: { component: 'worker' } });
    const server = new StreamServer({
      processor,
      port,
      capacity,
      logger,
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.prefix !== undefined ? { routePrefix: values.prefix } : {}),
      ...(values['auth-token'] !== undefined ? { authToken: values['auth-token'] } : {}),
    });
    const done = new Promise<void>((resolve) => server.installSignalHandlers(resolve));
    const { port: bound } = await server.listen();
    process.stdout.write(`${JSON.stringify({ listening: bound, capacity, processor: processor.name })}\n`);
    await done;
    return 0;
  },
};
