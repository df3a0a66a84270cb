import { capabilities, packageVersion } from '../../native/capabilities';
import { TrickleError } from '../../errors';
import type { LoadAttempt } from '../../native/addon';
import { defineCommand } from '../args';

/** What runs without the native addon, and what needs it (for a degraded install's report). */
const WITHOUT_ADDON = [
  'the trickle protocol: TrickleServer, TricklePublisher, TrickleSubscriber, MpegTsSplitter',
  'the commands trickle-server, publish and subscribe',
];
const NEEDS_ADDON = [
  'decode, encode and frames (Decoder, Encoder, VideoFrame, Tensor)',
  'TensorRT engines',
  'the worker (StreamServer, trickle-rt serve) and trickle-rt demo',
];

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'print what this installation can do (versions, CUDA, NVDEC/NVENC, TensorRT) as JSON',
  description: `Prints the package, Node and FFmpeg versions and the GPU features usable on this machine, as JSON.
When the native addon does not load, prints a degraded report instead ("status": "degraded": what
works, what does not, every load attempt with its remedy) and a one-line summary on stderr; the exit
code is 0 either way, so that the report can be read.`,
  options: {},
  async run() {
    try {
      process.stdout.write(`${JSON.stringify({ status: 'ok', ...capabilities() }, null, 2)}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof TrickleError) || err.code !== 'ERR_NATIVE_LOAD') throw err;
      const attempts = (err as TrickleError & { attempts?: LoadAttempt[] }).attempts ?? [];
      const report = {
        status: 'degraded',
        version: packageVersion(),
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        addon: null,
        works: WITHOUT_ADDON,
        doesNotWork: NEEDS_ADDON.map((what) => `${what}: the native addon does not load`),
        loadAttempts: attempts,
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      const remedy = attempts.find((a) => !/does not exist|not built from source|no source build here/.test(a.remedy))?.remedy;
      process.stderr.write(`trickle-rt info: degraded install: the native addon does not load${remedy ? ` (${remedy})` : ''}; the trickle protocol parts work\n`);
      return 0;
    }
  },
});
