import { ensureFixtures } from './fixtures';

/** Global setup of the fast unit project: the media fixtures only (cached under test/.fixtures/). */
export default function setup(): void {
  ensureFixtures();
}
