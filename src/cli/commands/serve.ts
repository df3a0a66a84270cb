import { native } from '../../native/addon';
import { createLogger } from '../../logger';
import { StreamServer } from '../../worker/stream-server';
import { defineCommand, TLS_CA_OPTION } from '../args';
import { loadProcessor } from '../load-processor';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run a pytrickle-compatible worker (BYOC capability) with a processor module',
  description: `Runs the worker HTTP API (/stream/start, /stream/params, /stream/stop, /health, ...) with the
processor that MODULE exports: a FrameProcessor, a subclass, a factory, or createProcessor hooks, as
the default export (.js, .cjs, .mjs, .ts or .mts).

Livepeer network (docs/livepeer.md): --register byoc registers as a BYOC capability, live-runner runs
as a go-livepeer live runner; default: env LIVEPEER_REGISTRATION, else BYOC when an orchestrator URL
and secret are set (LIVEPEER_ORCH_URL/ORCH_URL, LIVEPEER_ORCH_SECRET/ORCH_SECRET). Prefer the
environment for the secret (a flag shows in ps).

Security (docs/security.md): registering as BYOC generates a token for the orchestrator and requires
it; with no token and no orchestrator the worker listens on 127.0.0.1 unless --host is given; channel
URLs must point at the orchestrator that started the stream or an --allow-channel-origin. --open:
pytrickle behaviour (no generated token, any channel URL, 0.0.0.0).

SIGTERM/SIGINT: stop accepting, drain the streams, end their output channels, unregister, exit. Logs
are JSON lines on stderr (TRICKLE_LOG_LEVEL=debug|info|warn|error).`,
  options: {
    processor: { kind: 'string', short: 'p', valueName: 'MODULE', required: true, help: 'the processor module to load' },
    port: { kind: 'integer', min: 0, max: 65535, default: 8000, help: 'TCP port of the HTTP API (0 = any free port)' },
    host: { kind: 'string', valueName: 'ADDRESS', help: 'address to bind (default: see Security above)' },
    capacity: { kind: 'integer', min: 1, help: 'streams served at once (default: the registration environment, else 1)' },
    prefix: { kind: 'string', valueName: 'PATH', help: 'route prefix (e.g. /live)' },
    'auth-token': { kind: 'string', valueName: 'TOKEN', help: 'require Authorization: Bearer TOKEN (default env TRICKLE_AUTH_TOKEN)' },
    register: { kind: 'string', choices: ['byoc', 'live-runner', 'none'], help: 'how to join the Livepeer network' },
    'orch-url': { kind: 'string', valueName: 'URL', help: 'the orchestrator to register with' },
    'orch-secret': { kind: 'string', valueName: 'SECRET', help: "the orchestrator's secret (prefer the environment)" },
    'worker-url': { kind: 'string', valueName: 'URL', help: 'the address the orchestrator reaches this worker at (default http://localhost:PORT)' },
    'capability-name': { kind: 'string', valueName: 'NAME', help: 'the capability name (/version model_id)' },
    app: { kind: 'string', valueName: 'APP', help: "the live runner's application (default live-video-to-video/NAME)" },
    'tls-ca': TLS_CA_OPTION,
    'allow-channel-origin': { kind: 'string', valueName: 'https://host:port', multiple: true, help: 'an origin channel URLs may point at' },
    open: { kind: 'boolean', help: 'pytrickle behaviour: no generated token, any channel URL, 0.0.0.0' },
    'data-format': {
      kind: 'string',
      choices: ['lines', 'documents'],
      default: 'lines',
      help: 'data channel: JSON lines batched per segment, or one JSON document per segment',
    },
  },
  examples: ['trickle-rt serve --processor ./my-processor.mjs --port 8000'],
  async run({ options }) {
    native(); // fail now, in one line, rather than at the first stream when the addon does not load
    const processor = await loadProcessor(options.processor);
    const logger = createLogger({ fields: { component: 'worker' } });
    const register = options.register as 'byoc' | 'live-runner' | 'none' | undefined;
    const orch = {
      ...(options['orch-url'] !== undefined ? { orchUrl: options['orch-url'] } : {}),
      ...(options['orch-secret'] !== undefined ? { orchSecret: options['orch-secret'] } : {}),
    };
    const workerUrl = options['worker-url'];
    // The orchestrator flags go to the mode in use: the flag, else LIVEPEER_REGISTRATION, else a
    // live runner when --app is given, else BYOC.
    const liveRunner = (register ?? process.env['LIVEPEER_REGISTRATION'] ?? (options.app !== undefined ? 'live-runner' : 'byoc')) === 'live-runner';
    const server = new StreamServer({
      processor,
      port: options.port,
      logger,
      ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
      ...(register !== undefined ? { register: register === 'none' ? false : register } : {}),
      ...(options['capability-name'] !== undefined ? { capabilityName: options['capability-name'] } : {}),
      ...(options['tls-ca'] !== undefined ? { tls: { caFile: options['tls-ca'] } } : {}),
      ...(liveRunner
        ? { liveRunner: { ...orch, ...(workerUrl !== undefined ? { runnerUrl: workerUrl } : {}), ...(options.app !== undefined ? { app: options.app } : {}) } }
        : Object.keys(orch).length > 0 || workerUrl !== undefined
          ? { byoc: { ...orch, ...(workerUrl !== undefined ? { url: workerUrl } : {}) } }
          : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.prefix !== undefined ? { routePrefix: options.prefix } : {}),
      ...(options['auth-token'] !== undefined ? { authToken: options['auth-token'] } : {}),
      ...(options['allow-channel-origin'].length > 0 ? { allowedChannelOrigins: options['allow-channel-origin'] } : {}),
      ...(options.open ? { open: true } : {}),
      dataFormat: options['data-format'] as 'lines' | 'documents',
    });
    server.installProcessGuard(); // an error escaping a stream ends that stream, not the worker
    const done = new Promise<void>((resolve) => server.installSignalHandlers(resolve));
    const { port: bound } = await server.listen();
    process.stdout.write(`${JSON.stringify({ listening: bound, capacity: server.capacity, processor: processor.name })}\n`);
    await done;
    return 0;
  },
});
