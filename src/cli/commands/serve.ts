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
    'trickle-rt serve --processor MODULE [--port 8000] [--host H] [--capacity 1] [--prefix /] [--auth-token T]\n' +
    '                 [--register byoc|live-runner|none] [--orch-url URL] [--orch-secret S] [--worker-url URL]\n' +
    '                 [--capability-name NAME] [--app APP] [--tls-ca FILE]\n' +
    '                 [--allow-channel-origin https://host:port]... [--open]\n\n' +
    'MODULE exports (default) a FrameProcessor, a subclass, a factory, or createProcessor hooks (.js, .mjs, or .ts\n' +
    'with the typescript package).\n\n' +
    'Livepeer network (docs/livepeer.md): --register byoc registers as a BYOC capability, live-runner runs as a\n' +
    'go-livepeer live runner; default: env LIVEPEER_REGISTRATION, else BYOC when an orchestrator URL and secret\n' +
    'are set (LIVEPEER_ORCH_URL/ORCH_URL, LIVEPEER_ORCH_SECRET/ORCH_SECRET). --worker-url is the address the\n' +
    'orchestrator reaches this worker at (default http://localhost:PORT); --app the live runner\'s application\n' +
    '(default live-video-to-video/NAME). Prefer the environment for the secret (a flag shows in ps).\n' +
    '--tls-ca FILE verifies the orchestrator against a CA or its own certificate (default: env TRICKLE_TLS_CA,\n' +
    'else no verification, as go-livepeer\'s self-signed certificate needs).\n' +
    'SIGTERM/SIGINT: stop accepting, drain streams, DELETE output channels, unregister, exit. Logs: JSON lines on\n' +
    'stderr (TRICKLE_LOG_LEVEL=debug|info|warn|error).\n' +
    'Security (docs/security.md): registering as BYOC generates a token for the orchestrator and requires it; with\n' +
    'no token and no orchestrator the worker listens on 127.0.0.1 unless --host is given; channel URLs must point\n' +
    'at the orchestrator that started the stream or an --allow-channel-origin. --open: pytrickle behaviour (no\n' +
    'generated token, any channel URL, 0.0.0.0).',
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
        register: { type: 'string' },
        'orch-url': { type: 'string' },
        'orch-secret': { type: 'string' },
        'worker-url': { type: 'string' },
        'capability-name': { type: 'string' },
        app: { type: 'string' },
        'tls-ca': { type: 'string' },
        'allow-channel-origin': { type: 'string', multiple: true },
        open: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.processor) throw invalidArg('--processor', 'a module path', values.processor);
    const port = positiveInt('port', values.port, 8000, 0);
    // Without the flag, the capacity comes from the registration's environment (one capacity, advertised and served).
    const capacity = values.capacity === undefined ? undefined : positiveInt('capacity', values.capacity, 1);
    const register = values.register;
    if (register !== undefined && register !== 'byoc' && register !== 'live-runner' && register !== 'none') {
      throw invalidArg('--register', 'byoc, live-runner or none', register);
    }
    const orch = {
      ...(values['orch-url'] !== undefined ? { orchUrl: values['orch-url'] } : {}),
      ...(values['orch-secret'] !== undefined ? { orchSecret: values['orch-secret'] } : {}),
    };
    // The orchestrator flags go to the mode in use: the flag, else LIVEPEER_REGISTRATION, else a
    // live runner when --app is given, else BYOC.
    const liveRunner = (register ?? process.env['LIVEPEER_REGISTRATION'] ?? (values.app !== undefined ? 'live-runner' : 'byoc')) === 'live-runner';
    const processor = await loadProcessor(values.processor);
    const logger = createLogger({ fields: { component: 'worker' } });
    const server = new StreamServer({
      processor,
      port,
      logger,
      ...(capacity !== undefined ? { capacity } : {}),
      ...(register !== undefined ? { register: register === 'none' ? false : register } : {}),
      ...(values['capability-name'] !== undefined ? { capabilityName: values['capability-name'] } : {}),
      ...(values['tls-ca'] !== undefined ? { tls: { caFile: values['tls-ca'] } } : {}),
      ...(liveRunner
        ? { liveRunner: { ...orch, ...(values['worker-url'] !== undefined ? { runnerUrl: values['worker-url'] } : {}), ...(values.app !== undefined ? { app: values.app } : {}) } }
        : Object.keys(orch).length > 0 || values['worker-url'] !== undefined
          ? { byoc: { ...orch, ...(values['worker-url'] !== undefined ? { url: values['worker-url'] } : {}) } }
          : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values.prefix !== undefined ? { routePrefix: values.prefix } : {}),
      ...(values['auth-token'] !== undefined ? { authToken: values['auth-token'] } : {}),
      ...(values['allow-channel-origin'] !== undefined ? { allowedChannelOrigins: values['allow-channel-origin'] } : {}),
      ...(values.open ? { open: true } : {}),
    });
    const done = new Promise<void>((resolve) => server.installSignalHandlers(resolve));
    server.installProcessGuard();
    const { port: bound } = await server.listen();
    process.stdout.write(`${JSON.stringify({ listening: bound, capacity: server.capacity, processor: processor.name })}\n`);
    await done;
    return 0;
  },
};
