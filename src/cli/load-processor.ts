/**
 * Loads a user processor module for `trickle-rt serve`. The module may export (default or named
 * `processor`): a FrameProcessor instance, a FrameProcessor subclass, a (possibly async) factory
 * returning one, or a plain object of createProcessor hooks.
 *
 * Every module is loaded with `import()`, so ESM and top-level `await` work: `.js`/`.mjs`/`.cjs`
 * by Node itself; `.ts`/`.mts`/`.cts` by Node's own type stripping where this Node has it
 * (22.18+, 23.6+), else (or when the file needs more than stripping, e.g. `using` before Node 24)
 * by tsx, the maintained TypeScript loader that trickle-rt lists as an optional dependency. A `.ts`
 * entry is loaded as an ES module whatever its package.json says, so that top-level `await` works.
 *
 * `import 'trickle-rt'` inside the module resolves to the running copy of trickle-rt (through a
 * resolve hook registered with Node's public `module.register`), so frames and processors are
 * instances of the same classes the worker uses.
 */
import { existsSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ErrorCodes, TrickleError } from '../errors';
import { createProcessor, isFrameProcessor, type ProcessorHooks } from '../processor/create-processor';
import { FrameProcessor } from '../processor/frame-processor';
import { CliUsageError } from './args';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/** The entry of this running copy of trickle-rt (dist/index.js; src/index.ts under the tests). */
function selfEntry(): string {
  for (const ext of ['.js', '.ts']) {
    const file = join(__dirname, '..', `index${ext}`);
    if (existsSync(file)) return pathToFileURL(file).href;
  }
  return pathToFileURL(join(__dirname, '..', 'index.js')).href;
}

type Register = (specifier: string, options?: { data?: unknown }) => void;
const register = (nodeModule as unknown as { register?: Register }).register;

/**
 * Registers an ESM resolve hook: the bare specifier `trickle-rt` is this running copy. Hooks run
 * last-registered first, so it is registered again after tsx's hooks, ahead of tsx's own resolution
 * (which would follow a tsconfig `paths` entry for trickle-rt to other files).
 */
function registerSelfAlias(): void {
  if (!register) return;
  const self = selfEntry();
  const hooks = `
let self;
let format;
export function initialize(data) { self = data.self; format = data.format; }
export async function resolve(specifier, context, next) {
  if (specifier === 'trickle-rt') return { url: self, format, shortCircuit: true };
  return next(specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { self, format: self.endsWith('.js') ? 'commonjs' : undefined } });
}

let selfAliased = false;
function aliasSelf(): void {
  if (selfAliased) return;
  selfAliased = true;
  registerSelfAlias();
}

/**
 * ESM resolve hook for tsx: a user's .ts file (outside node_modules and outside trickle-rt's own
 * src/) is an ES module whatever its package.json says, so that top-level await works.
 */
function treatTsAsModule(): void {
  if (!register) return;
  const ownSrc = pathToFileURL(join(__dirname, '..', '..', 'src')).href + '/';
  const hooks = `
const ownSrc = ${JSON.stringify(ownSrc)};
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const path = r.url.split('?')[0];
  if (path.startsWith('file:') && path.endsWith('.ts') && !path.includes('/node_modules/') && !path.startsWith(ownSrc)) return { ...r, format: 'module' };
  return r;
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

interface TsxScope {
  import(specifier: string, parent: string): Promise<Record<string, unknown>>;
}
interface TsxApi {
  register(options: { namespace: string }): TsxScope;
}

let tsxScope: TsxScope | null | undefined;

/** tsx's hooks under their own namespace, between two of ours; null when tsx is not installed. */
async function tsxLoader(): Promise<TsxScope | null> {
  if (tsxScope !== undefined) return tsxScope;
  let api: TsxApi;
  try {
    api = (await import('tsx/esm/api')) as unknown as TsxApi;
  } catch {
    tsxScope = null;
    return null;
  }
  // Resolution order (last registered runs first): our trickle-rt alias, then tsx, then the
  // format of user .ts files (tsx passes on the format the next hook gives it).
  treatTsAsModule();
  tsxScope = api.register({ namespace: 'trickle-rt-processor' });
  registerSelfAlias();
  return tsxScope;
}

/** Whether this Node strips TypeScript types itself. */
function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  const ts = TS_EXTENSIONS.has(extname(path));
  let nativeError: unknown;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Node cannot read this TypeScript (no type stripping here, or syntax it does not strip):
    // hand it to tsx. Any other error is the module's own.
    const needsLoader = ts && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' || err instanceof SyntaxError);
    if (!needsLoader) throw err;
    nativeError = err;
  }
  const tsx = await tsxLoader();
  if (!tsx) {
    const why = nodeStripsTypes() ? `Node ${process.version} could not strip its types (${(nativeError as Error).message.split('\n')[0]})` : `Node ${process.version} does not strip TypeScript types`;
    throw new CliUsageError(
      `cannot load the TypeScript processor ${path}: ${why}, and the TypeScript loader tsx is not installed`,
      'install it (npm install tsx), use Node 22.18 or later, or compile the processor to .js',
    );
  }
  return tsx.import(url, pathToFileURL(join(process.cwd(), 'index.js')).href);
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
  if (!existsSync(path)) {
    throw new CliUsageError(`processor module not found: ${path}`, 'check the path given to --processor (relative paths start from the current directory)');
  }
  if (statSync(path).isDirectory()) {
    throw new CliUsageError(`${path} is a directory`, 'give --processor the module file, e.g. ./my-processor.mjs');
  }
  aliasSelf();
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && /'trickle-rt'/.test(message)) {
      throw new CliUsageError(
        `${path} requires trickle-rt with require(), which cannot be pointed at the running copy`,
        'write the processor as an ES module (import ... from "trickle-rt"; .mjs, .mts or .ts) or install trickle-rt in its project',
      );
    }
    throw err;
  }
  let candidate: unknown = mod['default'] ?? mod['processor'] ?? mod;
  // A module compiled to CommonJS (TypeScript inside node_modules, a .cts file) arrives as its whole
  // `module.exports`: the processor is its `default` or `processor` property.
  if (!isFrameProcessor(candidate) && typeof candidate === 'object' && candidate !== null) {
    const inner = candidate as Record<string, unknown>;
    if (inner['default'] !== undefined || inner['processor'] !== undefined) candidate = inner['default'] ?? inner['processor'];
  }
  return toProcessor(candidate, path);
}
