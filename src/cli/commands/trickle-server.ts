import { TrickleServer } from '../../trickle-server/trickle-server';
import { intOption, optionValue, parseArgs, untilSignal } from '../args';
import type { CliCommand } from '../command';

const usage = `trickle-rt trickle-server --port N [options]

Runs an embedded trickle server (go-livepeer wire behaviour) until SIGINT/SIGTERM. Prints the base
URL on stdout once listening.

  --port N              TCP port (0 = any free port)
  --host H              address to bind (default 0.0.0.0)
  --base-path P         URL prefix of the channels (default /; the orchestrator uses /ai/trickle/)
  --autocreate          create channels on their first POST (and allow POST {channel})
  --changefeed          maintain the _changes channel
  --channel NAME[=MIME] precreate a channel (repeatable)
  --idle-timeout-ms N   sweep channels without a new segment for this long (default 300000, 0 = never)
  --max-segment-bytes N largest segment accepted (default 67108864)`;

export const trickleServerCommand: CliCommand = {
  name: 'trickle-server',
  summary: 'run an embedded trickle server (channels, segments, EOS) until interrupted',
  usage,
  async run(args) {
    const p = parseArgs(args, { values: ['port', 'host', 'base-path', 'channel', 'idle-timeout-ms', 'max-segment-bytes'], flags: ['autocreate', 'changefeed'] }, 'trickle-server');
    const port = intOption(p, 'port', 0, 65535);
    if (port === undefined) {
      process.stderr.write(`Usage: ${usage}\n`);
      return 2;
    }
    const host = optionValue(p, 'host') ?? '0.0.0.0';
    const server = new TrickleServer({
      basePath: optionValue(p, 'base-path') ?? '/',
      autocreate: p.flags.has('autocreate'),
      changefeed: p.flags.has('changefeed'),
      idleTimeoutMs: intOption(p, 'idle-timeout-ms', 0),
      maxSegmentBytes: intOption(p, 'max-segment-bytes', 1),
    });
    for (const spec of p.values.get('channel') ?? []) {
      const eq = spec.indexOf('=');
      server.createChannel(eq < 0 ? spec : spec.slice(0, eq), eq < 0 ? 'video/MP2T' : spec.slice(eq + 1));
    }
    const signal = untilSignal();
    const bound = await server.listen(port, host);
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    process.stdout.write(`trickle server listening on http://${shownHost}:${bound}${server.basePath}\n`);
    const sig = await signal;
    process.stderr.write(`trickle-server: ${sig}, closing\n`);
    await server.close();
    return 0;
  },
};
