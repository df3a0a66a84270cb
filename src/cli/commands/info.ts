import { capabilities } from '../../native/capabilities';
import type { CliCommand } from '../command';

export const infoCommand: CliCommand = {
  name: 'info',
  summary: 'print what this installation can do (versions, CUDA, NVDEC/NVENC, TensorRT) as JSON',
  usage: 'trickle-rt info',
  async run() {
    process.stdout.write(`${JSON.stringify(capabilities(), null, 2)}\n`);
    return 0;
  },
};
