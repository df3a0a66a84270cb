import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

import { ErrorCodes, TrickleError } from '../../errors';
import { TrickleSubscriber } from '../../trickle/trickle-subscriber';
import { defineCommand, TLS_CA_OPTION, tlsOption } from '../args';

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

export const subscribeCommand = defineCommand({
  name: 'subscribe',
  summary: 'read a trickle channel to a file or stdout until the end of the stream',
  description: `Reads a trickle channel and writes the bytes of its segments, in order, to a file or stdout,
until the channel ends (EOS), disappears (404) or SIGINT/SIGTERM.`,
  options: {
    url: { kind: 'string', valueName: 'URL', required: true, help: 'the channel URL' },
    out: { kind: 'string', valueName: 'FILE', help: 'where to write (default: stdout)' },
    start: { kind: 'integer', min: -2, default: -2, help: 'first segment: -2 = the current one from its start, -1 = the next one, N = that one' },
    'tls-ca': TLS_CA_OPTION,
  },
  examples: ['trickle-rt subscribe --url http://127.0.0.1:3389/stream1-out --out out.ts'],
  async run({ options }) {
    const url = options.url;
    const start = options.start;
    const outPath = options.out;
    const out: Writable = outPath ? createWriteStream(outPath) : process.stdout;
    const sub = new TrickleSubscriber(url, { start, ...tlsOption(options['tls-ca']) });
    const onSignal = (): void => sub.close();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let segments = 0;
    let bytes = 0;
    try {
      for await (const segment of sub) {
        segments++;
        for await (const chunk of segment) {
          bytes += chunk.length;
          await write(out, chunk);
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (out !== process.stdout) {
        out.end();
        await once(out, 'close');
      }
    }
    process.stderr.write(`received ${segments} segments, ${bytes} bytes (end: ${sub.endReason ?? 'error'})\n`);
    if (sub.endReason === 'not-found' && segments === 0) {
      throw new TrickleError(ErrorCodes.ERR_STREAM_NOT_FOUND, `trickle channel ${url} does not exist`);
    }
    return 0;
  },
});
