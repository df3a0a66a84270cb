/**
 * Keys of the engine cache. A TensorRT engine only runs on the GPU model, compute capability and
 * TensorRT version it was built for, and bakes in the input shapes of its optimization profile, so
 * a build from ONNX is cached under a key made of exactly those, plus the model's bytes (sha256),
 * the bytes of every external-data file the model references, and the build options that change
 * the plan.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';

import { invalidArg } from '../errors';

export interface EngineCacheKeyParts {
  /** sha256 (hex) of the ONNX file. */
  modelSha256: string;
  /** The external-data files the model references (weights stored beside it) and their sha256. */
  externalData?: ReadonlyArray<{ location: string; sha256: string }>;
  /** GPU model name, e.g. "NVIDIA H100 80GB HBM3". */
  gpu: string;
  /** Compute capability, e.g. "9.0". */
  computeCapability: string;
  /** TensorRT runtime version, e.g. "10.16.0". */
  tensorrtVersion: string;
  /** Shapes given for dynamic inputs (order of names does not matter). */
  inputShapes: Readonly<Record<string, readonly number[]>>;
  fp16: boolean;
  /** 0 = TensorRT's default. */
  workspaceBytes: number;
}

/** The cache key: sha256 (hex) of a canonical JSON of the parts (input names sorted). */
export function engineCacheKey(parts: EngineCacheKeyParts): string {
  const shapes = Object.keys(parts.inputShapes)
    .sort()
    .map((name) => [name, [...(parts.inputShapes[name] ?? [])]]);
  const canonical = JSON.stringify([
    'trickle-rt-engine-v1',
    parts.modelSha256,
    parts.gpu,
    parts.computeCapability,
    parts.tensorrtVersion,
    shapes,
    parts.fp16,
    parts.workspaceBytes,
    // only when there are some: keys of models without external data stay what they were
    ...((parts.externalData ?? []).length > 0
      ? [[...(parts.externalData ?? [])].sort((a, b) => (a.location < b.location ? -1 : 1)).map((e) => [e.location, e.sha256])]
      : []),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** `<cacheDir>/<model name>-<first 24 hex digits of the key>.engine`. */
export function engineCachePath(cacheDir: string, modelPath: string, key: string): string {
  const stem = basename(modelPath, extname(modelPath)).replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
  return join(cacheDir, `${stem}-${key.slice(0, 24)}.engine`);
}

/**
 * Where engines are cached when `cacheDir` is not given: `$TRICKLE_RT_CACHE_DIR/engines`, else
 * `$XDG_CACHE_HOME/trickle-rt/engines`, else `~/.cache/trickle-rt/engines`.
 */
export function defaultEngineCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['TRICKLE_RT_CACHE_DIR'];
  if (own) return join(own, 'engines');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg || join(homedir(), '.cache'), 'trickle-rt', 'engines');
}

/** sha256 (hex) of a file, streamed (ONNX models can be large). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha256 of every external-data file the ONNX model at `modelPath` references, by location (relative
 * to the model's folder, as TensorRT's parser resolves them). A referenced file that is missing, or
 * a location that leaves the model's folder, is an `ERR_INVALID_ARG`.
 */
export async function onnxExternalDataHashes(modelPath: string): Promise<Array<{ location: string; sha256: string }>> {
  let locations: string[];
  try {
    locations = onnxExternalDataFiles(await readFile(modelPath));
  } catch (err) {
    throw invalidArg('path', 'a readable ONNX model', `${modelPath} (${(err as Error).message})`);
  }
  const dir = dirname(resolve(modelPath));
  const out: Array<{ location: string; sha256: string }> = [];
  for (const location of locations) {
    const file = resolve(dir, location);
    if (isAbsolute(location) || !file.startsWith(dir + '/')) {
      throw invalidArg('path', 'an ONNX model whose external data lies in its own folder', `${modelPath} (external data "${location}")`);
    }
    if (!existsSync(file)) {
      throw invalidArg('path', 'an ONNX model whose external-data files exist', `${modelPath} (missing external data "${location}")`);
    }
    out.push({ location, sha256: await sha256File(file) });
  }
  return out;
}

/**
 * The external-data files an ONNX model references: the `location` of every TensorProto stored with
 * `data_location = EXTERNAL` (initializers, sparse initializers, and tensors in node attributes,
 * subgraphs included). Read from the protobuf wire format directly (field numbers of onnx.proto), so
 * no ONNX tooling is needed. Locations are as written in the model, relative to its folder.
 * Throws on bytes that are not a well-formed protobuf message.
 */
export function onnxExternalDataFiles(model: Uint8Array): string[] {
  const found = new Set<string>();
  const view = (start: number, end: number): Reader => new Reader(model, start, end);

  // TensorProto: external_data = 13 (StringStringEntryProto: key = 1, value = 2), data_location = 14.
  const tensor = (r: Reader): void => {
    let external = false;
    let location: string | undefined;
    r.forEach((field, wire, start, end) => {
      if (field === 14 && wire === 0) external = r.lastVarint === 1;
      if (field === 13 && wire === 2) {
        let k = '';
        let v = '';
        view(start, end).forEach((f, w, s, e) => {
          if (w !== 2) return;
          const text = Buffer.from(model.subarray(s, e)).toString('utf8');
          if (f === 1) k = text;
          if (f === 2) v = text;
        });
        if (k === 'location') location = v;
      }
    });
    if (external && location !== undefined) found.add(location);
  };
  // AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22, sparse_tensors = 23.
  const attribute = (r: Reader): void =>
    r.forEach((field, wire, start, end) => {
      if (wire !== 2) return;
      if (field === 5 || field === 10) tensor(view(start, end));
      else if (field === 6 || field === 11) graph(view(start, end));
      else if (field === 22 || field === 23) sparse(view(start, end));
    });
  // SparseTensorProto: values = 1, indices = 2.
  const sparse = (r: Reader): void =>
    r.forEach((field, wire, start, end) => {
      if (wire === 2 && (field === 1 || field === 2)) tensor(view(start, end));
    });
  // NodeProto: attribute = 5.
  const node = (r: Reader): void =>
    r.forEach((field, wire, start, end) => {
      if (wire === 2 && field === 5) attribute(view(start, end));
    });
  // GraphProto: node = 1, initializer = 5, sparse_initializer = 15.
  const graph = (r: Reader): void =>
    r.forEach((field, wire, start, end) => {
      if (wire !== 2) return;
      if (field === 1) node(view(start, end));
      else if (field === 5) tensor(view(start, end));
      else if (field === 15) sparse(view(start, end));
    });
  // ModelProto: graph = 7; functions = 25 (FunctionProto: node = 7).
  view(0, model.length).forEach((field, wire, start, end) => {
    if (wire !== 2) return;
    if (field === 7) graph(view(start, end));
    else if (field === 25) {
      view(start, end).forEach((f, w, s, e) => {
        if (w === 2 && f === 7) node(view(s, e));
      });
    }
  });
  return [...found].sort();
}

/** A protobuf message reader over [start, end) of `buf`: fields in order, nested by offsets. */
class Reader {
  lastVarint = 0;
  #pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.#pos = start;
  }

  #varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.#pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** Calls `fn(field, wireType, valueStart, valueEnd)` for every field of the message. */
  forEach(fn: (field: number, wire: number, start: number, end: number) => void): void {
    while (this.#pos < this.end) {
      const tag = this.#varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      const start = this.#pos;
      if (wire === 0) {
        this.lastVarint = this.#varint();
      } else if (wire === 1) {
        this.#pos += 8;
      } else if (wire === 5) {
        this.#pos += 4;
      } else if (wire === 2) {
        const len = this.#varint();
        if (len > this.end - this.#pos) throw new Error('length-delimited field runs past its message');
        this.#pos += len;
        fn(field, wire, this.#pos - len, this.#pos);
        continue;
      } else {
        throw new Error(`unsupported protobuf wire type ${wire}`);
      }
      if (this.#pos > this.end) throw new Error('field runs past its message');
      fn(field, wire, start, this.#pos);
    }
  }
}
