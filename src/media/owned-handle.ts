import type { TrickleError } from '../errors';

/**
 * @internal The one native reference a JS object (frame, tensor, engine) owns. `get()` throws the
 * owner's "closed" error once `release()` has dropped the reference; `release()` closes the native
 * handle exactly once (idempotent). In-flight native work holds its own references.
 */
export class OwnedHandle<H extends { close(): void }> {
  #handle: H | null;
  readonly #closedError: () => TrickleError;

  constructor(handle: H, closedError: () => TrickleError) {
    this.#handle = handle;
    this.#closedError = closedError;
  }

  get released(): boolean {
    return this.#handle === null;
  }

  get(): H {
    if (!this.#handle) throw this.#closedError();
    return this.#handle;
  }

  release(): void {
    const h = this.#handle;
    this.#handle = null;
    h?.close();
  }
}
