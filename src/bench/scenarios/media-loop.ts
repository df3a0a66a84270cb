import type { ScenarioOutcome } from '../scenario';
import type { RunOptions } from '../types';

/** Not measurable in this build yet: it needs the streaming Decoder/Encoder (src/media, issue 4). */
export async function run(_params: Record<string, unknown>, _opts: RunOptions): Promise<ScenarioOutcome> {
  return { status: 'unavailable', reason: 'needs the streaming Decoder/Encoder (src/media, issue 4), which is not in this build yet', cases: [], notes: [] };
}
