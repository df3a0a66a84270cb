import { open } from 'node:fs/promises';

import { looksLikeMpegTs, MpegTsSplitter, type SplitPiece } from '../../trickle/mpegts-splitter';
import { TricklePublisher } from '../../trickle/trickle-publisher';
import type { TrickleSegmentWriter } from '../../trickle/trickle-segment-writer';
import { CliUsageError, defineCommand, TLS_CA_OPTION, tlsOption } from '../args';

const PROBE_BYTES = 188 * 4;

/** Cuts non-TS input every `size` bytes. */
class FixedSplitter {
  private inSegment = 0;
  private started = false;
  constructor(private readonly size: number) {}
  push(chunk: Buffer): SplitPiece[] {
    const out: SplitPiece[] = [];
    let off = 0;
    while (off < chunk.length) {
      const newSegment = !this.started || this.inSegment >= this.size;
      if (newSegment) this.inSegment = 0;
      this.started = true;
      const take = Math.min(chunk.length - off, this.size - this.inSegment);
      out.push({ data: chunk.subarray(off, off + take), newSegment });
      this.inSegment += take;
      off += take;
    }
    return out;
  }
  flush(): SplitPiece[] {
    return [];
  }
}

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'publish a file or stdin to a trickle channel (MPEG-TS cut at keyframes)',
  description: `Publishes a file (or stdin with -) to a trickle channel, streaming. MPEG-TS input is cut into one
segment per keyframe (GOP); other input into segments of --segment-bytes. Ends with DELETE on the
channel so that subscribers see the end of the stream.`,
  positionals: [{ name: 'FILE', help: 'the file to publish, or - for stdin', required: true }],
  options: {
    url: { kind: 'string', valueName: 'URL', required: true, help: 'the channel URL, e.g. http://127.0.0.1:8935/ai/trickle/stream1' },
    'segment-bytes': { kind: 'integer', min: 188, help: 'cut every N bytes (other input; default 1048576) / at most N bytes per segment (MPEG-TS; default: keyframes only)' },
    mime: { kind: 'string', default: 'video/MP2T', help: 'Content-Type of the segments' },
    start: { kind: 'string', valueName: 'next|N', default: 'next', help: "first segment: resume after the channel's last one, or N" },
    'keep-channel': { kind: 'boolean', help: 'do not DELETE the channel at the end' },
    'tls-ca': TLS_CA_OPTION,
  },
  examples: ['trickle-rt publish --url http://127.0.0.1:3389/stream1 clip.ts'],
  async run({ options, positionals }) {
    const url = options.url;
    const input = positionals[0]!;
    const segmentBytes = options['segment-bytes'];
    const startText = options.start;
    const start = startText === 'next' ? 'next' : Number(startText);
    if (start !== 'next' && (!/^\d+$/.test(startText) || !Number.isSafeInteger(start))) {
      throw new CliUsageError(`--start must be "next" or a segment index ≥ 0, not ${JSON.stringify(startText)}`, 'e.g. --start next');
    }
    // Opened before anything else, so that a wrong path is the first and only error.
    const file = input === '-' ? undefined : await open(input, 'r');
    const abort = new AbortController();
    const onSignal = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const publisher = new TricklePublisher(url, {
      mime: options.mime,
      start,
      deleteOnClose: !options['keep-channel'],
      ...tlsOption(options['tls-ca']),
      signal: abort.signal,
    });
    const source = file === undefined ? process.stdin : file.createReadStream({ highWaterMark: 256 * 1024 });
    let splitter: MpegTsSplitter | FixedSplitter | undefined;
    let probe: Buffer[] = [];
    let probed = 0;
    let seg: TrickleSegmentWriter | undefined;
    let segments = 0;
    let bytes = 0;
    const place = async (pieces: SplitPiece[]): Promise<void> => {
      for (const piece of pieces) {
        if (piece.newSegment || !seg) {
          if (seg) await seg.end();
          seg = await publisher.next();
          segments++;
        }
        bytes += piece.data.length;
        await seg.write(piece.data);
      }
    };
    const choose = (head: Buffer): MpegTsSplitter | FixedSplitter =>
      looksLikeMpegTs(head) ? new MpegTsSplitter(segmentBytes === undefined ? {} : { maxSegmentBytes: segmentBytes }) : new FixedSplitter(segmentBytes ?? 1024 * 1024);
    try {
      await publisher.start();
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (!splitter) {
          probe.push(chunk);
          probed += chunk.length;
          if (probed < PROBE_BYTES) continue;
          const head = Buffer.concat(probe);
          probe = [];
          splitter = choose(head);
          await place(splitter.push(head));
          continue;
        }
        await place(splitter.push(chunk));
      }
      if (!splitter && probed > 0) {
        const head = Buffer.concat(probe);
        splitter = choose(head);
        await place(splitter.push(head));
      }
      if (splitter) await place(splitter.flush());
      if (seg) await seg.end();
      await publisher.close();
    } catch (err) {
      publisher.destroy();
      if ('destroy' in source && source !== process.stdin) source.destroy();
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const kind = splitter instanceof MpegTsSplitter ? 'MPEG-TS, cut at keyframes' : 'fixed-size';
    process.stderr.write(`published ${segments} segments, ${bytes} bytes (${kind})\n`);
    return 0;
  },
});
