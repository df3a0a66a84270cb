/**
 * Tiny ONNX models written byte by byte (protobuf wire format), so engine tests need no model files
 * and no ONNX tooling. Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto,
 * ValueInfoProto, TypeProto, TensorShapeProto, TensorProto).
 */

/** onnx TensorProto.DataType values used here. */
export const OnnxType = { FLOAT: 1, UINT8: 2, FLOAT16: 10 } as const;

/** A dimension: a fixed size or a named dynamic one. */
export type OnnxDim = number | string;

export interface OnnxValue {
  name: string;
  elemType: number;
  shape: OnnxDim[];
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  floats: number[];
  /** Store the data in an external file instead (TensorProto.external_data, data_location EXTERNAL). */
  external?: { location: string; offset?: number; length?: number };
}

export interface OnnxGraph {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  initializers?: OnnxInitializer[];
  opset?: number;
}

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function key(field: number, wire: 0 | 2 | 5): number[] {
  return varint((field << 3) | wire);
}

function int(field: number, value: number): number[] {
  return [...key(field, 0), ...varint(value)];
}

function bytes(field: number, payload: Uint8Array | number[]): number[] {
  return [...key(field, 2), ...varint(payload.length), ...payload];
}

function str(field: number, s: string): number[] {
  return bytes(field, Buffer.from(s, 'utf8'));
}

function valueInfo(v: OnnxValue): number[] {
  const dims = v.shape.map((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const shape = dims.flat();
  const tensorType = [...int(1, v.elemType), ...bytes(2, shape)];
  const type = bytes(1, tensorType);
  return [...str(1, v.name), ...bytes(2, type)];
}

function node(n: OnnxNode, index: number): number[] {
  return [
    ...n.inputs.flatMap((i) => str(1, i)),
    ...n.outputs.flatMap((o) => str(2, o)),
    ...str(3, `${n.opType.toLowerCase()}_${index}`),
    ...str(4, n.opType),
  ];
}

function initializer(t: OnnxInitializer): number[] {
  const raw = Buffer.alloc(t.floats.length * 4);
  t.floats.forEach((f, i) => raw.writeFloatLE(f, i * 4));
  // TensorProto: dims = 1 (repeated int64), data_type = 2, name = 8, raw_data = 9,
  // external_data = 13 (StringStringEntryProto: key = 1, value = 2), data_location = 14 (1 = EXTERNAL).
  const head = [...t.dims.flatMap((d) => int(1, d)), ...int(2, OnnxType.FLOAT), ...str(8, t.name)];
  if (!t.external) return [...head, ...bytes(9, raw)];
  const entry = (k: string, v: string): number[] => bytes(13, [...str(1, k), ...str(2, v)]);
  return [
    ...head,
    ...entry('location', t.external.location),
    ...(t.external.offset !== undefined ? entry('offset', String(t.external.offset)) : []),
    ...entry('length', String(t.external.length ?? raw.length)),
    ...int(14, 1),
  ];
}

/** Serializes a single-graph model (ir_version 8, default-domain opset, 13 unless given). */
export function onnxModel(g: OnnxGraph): Buffer {
  const graph = [
    ...g.nodes.flatMap((n, i) => bytes(1, node(n, i))),
    ...str(2, 'trickle_rt_test'),
    ...(g.initializers ?? []).flatMap((t) => bytes(5, initializer(t))),
    ...g.inputs.flatMap((v) => bytes(11, valueInfo(v))),
    ...g.outputs.flatMap((v) => bytes(12, valueInfo(v))),
  ];
  const opset = [...str(1, ''), ...int(2, g.opset ?? 13)];
  const model = [...int(1, 8), ...str(2, 'trickle-rt-test'), ...bytes(7, graph), ...bytes(8, opset)];
  return Buffer.from(model);
}

/** z = x + y, float32, shape `shape` (dims may be named to make them dynamic). */
export function addModel(shape: OnnxDim[], elemType: number = OnnxType.FLOAT): Buffer {
  return onnxModel({
    inputs: [
      { name: 'x', elemType, shape },
      { name: 'y', elemType, shape },
    ],
    outputs: [{ name: 'z', elemType, shape }],
    nodes: [{ opType: 'Add', inputs: ['x', 'y'], outputs: ['z'] }],
  });
}

/** out = in * scale + bias with constant initializers (one input): a per-frame "effect". */
export function scaleBiasModel(shape: OnnxDim[], scale: number, bias: number): Buffer {
  return onnxModel({
    inputs: [{ name: 'input', elemType: OnnxType.FLOAT, shape }],
    outputs: [{ name: 'output', elemType: OnnxType.FLOAT, shape }],
    initializers: [
      { name: 'scale', dims: [], floats: [scale] },
      { name: 'bias', dims: [], floats: [bias] },
    ],
    nodes: [
      { opType: 'Mul', inputs: ['input', 'scale'], outputs: ['scaled'] },
      { opType: 'Add', inputs: ['scaled', 'bias'], outputs: ['output'] },
    ],
  });
}
