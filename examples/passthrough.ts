/**
 * The smallest worker: every frame goes out unchanged (audio is passed through untouched).
 *
 *   trickle-rt serve --processor examples/passthrough.ts --port 8000
 */
import { createProcessor } from 'trickle-rt';

export default createProcessor({
  name: 'passthrough',
  // Frames arrive at the input's own size instead of the default 512×512 crop.
  inputSize: 'native',
  video: (frame) => frame,
});
