/**
 * Implementation modules by name, loaded lazily in the scenario worker so that a scenario process
 * loads only what it measures (a cold start of B6 does not pay for the media engine).
 */
import type { ScenarioImpl } from './scenario';

export const IMPLEMENTATIONS: Record<string, () => ScenarioImpl> = {
  /* eslint-disable @typescript-eslint/no-require-imports */
  'media-loop': () => (require('./scenarios/media-loop') as typeof import('./scenarios/media-loop')).run,
  streams: () => (require('./scenarios/streams') as typeof import('./scenarios/streams')).run,
  latency: () => (require('./scenarios/latency') as typeof import('./scenarios/latency')).run,
  'first-frame': () => (require('./scenarios/first-frame') as typeof import('./scenarios/first-frame')).run,
  transport: () => (require('./scenarios/transport') as typeof import('./scenarios/transport')).run,
  'gpu-copies': () => (require('./scenarios/gpu-copies') as typeof import('./scenarios/gpu-copies')).run,
  nvdec: () => (require('./scenarios/nvdec') as typeof import('./scenarios/nvdec')).run,
  'worker-cpu': () => (require('./scenarios/worker-cpu') as typeof import('./scenarios/worker-cpu')).run,
  soak: () => (require('./scenarios/soak') as typeof import('./scenarios/soak')).run,
  hostile: () => (require('./scenarios/hostile') as typeof import('./scenarios/hostile')).run,
  /* eslint-enable @typescript-eslint/no-require-imports */
};
