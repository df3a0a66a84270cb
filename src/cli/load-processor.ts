/**
 * Loads a user processor module for `trickle-rt serve`. The module may export (default or named
 * `processor`): a FrameProcessor instance, a FrameProcessor subclass, a (possibly async) factory
 * returning one, or a plain object of createProcessor hooks. `.js`/`.cjs`/`.mjs` load natively;
 * `.ts` is transpiled on the fly when the `typescript` package is installed (development).
 *
 * `require('trickle-rt')` / `import 'trickle-rt'` inside the module resolve to the running copy of
 * trickle-rt, so frames and processors are instances of the same classes the worker uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ErrorCodes, TrickleError } from '../errors';
import { createProcessor, isFrameProcessor, type ProcessorHooks } from '../processor/create-processor';
import { FrameProcessor } from '../processor/frame-processor';

interface ModuleInternals {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _extensions: Record<string, (module: { _compile(code: string, filename: string): void }, filename: string) => void>;
}

let aliased = false;

/** Makes `trickle-rt` resolve to this running copy (src/ under tests and ts, dist/ when built). */
function aliasSelf(): void {
  if (aliased) return;
  aliased = true;
  const internals = Module as unknown as ModuleInternals;
  const original = internals._resolveFilename.bind(Module);
  const self = join(__dirname, '..', 'index');
  internals._resolveFilename = (request, parent, isMain, options) =>
    original(request === 'trickle-rt' ? self : request, parent, isMain, options);
}

let tsHooked = false;

function hookTypeScript(): void {
  if (tsHooked) return;
  let ts: typeof import('typescript');
  try {
    ts = require('typescript') as typeof import('typescript');
  } catch {
    throw new TrickleError(
      ErrorCodes.ERR_INVALID_ARG,
      'loading a .ts processor needs the "typescript" package (npm install -D typescript), or compile it to .js first',
    );
  }
  tsHooked = true;
  const internals = Module as unknown as ModuleInternals;
  internals._extensions['.ts'] = (module, filename) => {
    const out = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    module._compile(out.outputText, filename);
  };
}

type Exported = unknown;

async function toProcessor(value: Exported, path: string): Promise<FrameProcessor> {
  if (isFrameProcessor(value)) return value as FrameProcessor;
  if (typeof value === 'function') {
    const fn = value as (...args: unknown[]) => unknown;
    if (fn.prototype instanceof FrameProcessor || (fn.prototype && typeof fn.prototype.processVideo === 'function')) {
      return new (fn as unknown as new () => FrameProcessor)();
    }
    const made = await fn();
    if (isFrameProcessor(made)) return made as FrameProcessor;
    throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `the factory exported by ${path} did not return a FrameProcessor`);
  }
  if (typeof value === 'object' && value !== null) {
    const hooks = value as Record<string, unknown>;
    if (['video', 'audio', 'load', 'params', 'start', 'stop'].some((k) => typeof hooks[k] === 'function')) {
      return createProcessor(hooks as ProcessorHooks<never, never>);
    }
  }
  throw new TrickleError(
    ErrorCodes.ERR_INVALID_ARG,
    `${path} exports no processor: export default a FrameProcessor, a subclass, a factory, or createProcessor hooks`,
  );
}

/**
 * Loads a processor module.
 *
 * @example
 * const processor = await loadProcessor('./examples/tint.ts');
 */
export async function loadProcessor(modulePath: string, cwd = process.cwd()): Promise<FrameProcessor> {
  const path = resolve(cwd, modulePath);
  if (!existsSync(path)) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, `processor module not found: ${path}`);
  aliasSelf();
  let mod: Record<string, unknown>;
  if (extname(path) === '.mjs') {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } else {
    if (extname(path) === '.ts' || extname(path) === '.mts' || extname(path) === '.cts') hookTypeScript();
    mod = require(path) as Record<string, unknown>;
  }
  const candidate = mod['default'] ?? mod['processor'] ?? mod;
  return toProcessor(candidate, path);
}
