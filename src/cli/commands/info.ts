import { capabilities } from '../../native/capabilities';
import { defineCommand } from '../args';

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'print what this installation can do (versions, CUDA, NVDEC/NVENC, TensorRT) as JSON',
  description: 'Prints the package, Node and FFmpeg versions and the GPU features usable on this machine, as JSON.',
  options: {},
  async run() {
    process.stdout.write(`${JSON.stringify(capabilities(), null, 2)}\n`);
    return 0;
  },
});
