/**
 * Building small ONNX graphs in code (onnx-proto's generated protobuf classes). Used by the trainer to
 * export the CRF emission model, and by tests to build a tiny token-classification transformer stand-in.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

export const OPSET = 17;

type Dim = number | string;

export interface TensorInit {
  name: string;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

export interface GraphSpec {
  name: string;
  inputs: { name: string; type: 'int32' | 'int64' | 'float32'; shape: Dim[] }[];
  outputs: { name: string; type: 'int32' | 'int64' | 'float32'; shape: Dim[] }[];
  initializers: TensorInit[];
  nodes: NodeSpec[];
  docString?: string;
}

const elemType = { int32: DataType.INT32, int64: DataType.INT64, float32: DataType.FLOAT } as const;

function valueInfo(v: { name: string; type: keyof typeof elemType; shape: Dim[] }) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: elemType[v.type],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function tensor(t: TensorInit) {
  const dataType = t.data instanceof Float32Array ? DataType.FLOAT : t.data instanceof Int32Array ? DataType.INT32 : DataType.INT64;
  // Copy into a little-endian byte view; typed arrays are little-endian on every platform Node supports.
  const rawData = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, dims: t.dims, dataType, rawData };
}

/** Serialise a graph to ONNX model bytes. */
export function buildOnnxModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nerops',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    docString: spec.docString ?? '',
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: spec.initializers.map(tensor),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, v]) =>
          Array.isArray(v)
            ? { name, ints: v, type: onnx.AttributeProto.AttributeType.INTS }
            : Number.isInteger(v)
              ? { name, i: v, type: onnx.AttributeProto.AttributeType.INT }
              : { name, f: v, type: onnx.AttributeProto.AttributeType.FLOAT },
        ),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The CRF emission model: `features` int32 [tokens, slots] → `emissions` float32 [tokens, labels],
 * emissions[t] = Σ_s W[features[t, s]]. A Gather over the weight rows followed by a ReduceSum is exactly
 * a sparse linear layer, and ONNX Runtime runs it without materialising a one-hot matrix.
 */
export function crfEmissionModel(weights: Float32Array, rows: number, labels: number, slots: number, dense?: DenseGraphWeights): Uint8Array {
  if (dense) return wideAndDeepModel(weights, rows, labels, slots, dense);
  return buildOnnxModel({
    name: 'nerops-crf-emissions',
    docString: 'Hashed-feature linear emission scores for a linear-chain CRF (nerops).',
    inputs: [{ name: 'features', type: 'int32', shape: ['tokens', slots] }],
    outputs: [{ name: 'emissions', type: 'float32', shape: ['tokens', labels] }],
    initializers: [
      { name: 'emission_weights', dims: [rows, labels], data: weights },
      { name: 'reduce_axes', dims: [1], data: BigInt64Array.from([1n]) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['emission_weights', 'features'], outputs: ['gathered'], attributes: { axis: 0 } },
      { op: 'ReduceSum', inputs: ['gathered', 'reduce_axes'], outputs: ['emissions'], attributes: { keepdims: 0 } },
    ],
  });
}

/** Weights of the dense branch: embedding table [rows, cols], W1 [window·cols, hidden], W2 [hidden, labels]. */
export interface DenseGraphWeights {
  table: Float32Array;
  tableRows: number;
  tableCols: number;
  window: number;
  hidden: number;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * Wide & deep emissions: the sparse linear part above plus an MLP over the window's embeddings,
 * `window` int32 [tokens, w] → Gather(table) → Reshape [tokens, w·cols] → MatMul W1 → Add b1 → Relu →
 * MatMul W2 → Add b2, summed with the sparse scores.
 */
function wideAndDeepModel(weights: Float32Array, rows: number, labels: number, slots: number, d: DenseGraphWeights): Uint8Array {
  const inDim = d.window * d.tableCols;
  return buildOnnxModel({
    name: 'nerops-crf-wide-deep-emissions',
    docString: 'Hashed-feature linear emission scores plus an MLP over window word embeddings, for a linear-chain CRF (nerops).',
    inputs: [
      { name: 'features', type: 'int32', shape: ['tokens', slots] },
      { name: 'window', type: 'int32', shape: ['tokens', d.window] },
    ],
    outputs: [{ name: 'emissions', type: 'float32', shape: ['tokens', labels] }],
    initializers: [
      { name: 'emission_weights', dims: [rows, labels], data: weights },
      { name: 'reduce_axes', dims: [1], data: BigInt64Array.from([1n]) },
      { name: 'embeddings', dims: [d.tableRows, d.tableCols], data: d.table },
      { name: 'window_shape', dims: [2], data: BigInt64Array.from([-1n, BigInt(inDim)]) },
      { name: 'w1', dims: [inDim, d.hidden], data: d.w1 },
      { name: 'b1', dims: [d.hidden], data: d.b1 },
      { name: 'w2', dims: [d.hidden, labels], data: d.w2 },
      { name: 'b2', dims: [labels], data: d.b2 },
    ],
    nodes: [
      { op: 'Gather', inputs: ['emission_weights', 'features'], outputs: ['gathered'], attributes: { axis: 0 } },
      { op: 'ReduceSum', inputs: ['gathered', 'reduce_axes'], outputs: ['sparse'], attributes: { keepdims: 0 } },
      { op: 'Gather', inputs: ['embeddings', 'window'], outputs: ['window_vectors'], attributes: { axis: 0 } },
      { op: 'Reshape', inputs: ['window_vectors', 'window_shape'], outputs: ['x'] },
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h_pre'] },
      { op: 'Add', inputs: ['h_pre', 'b1'], outputs: ['h_bias'] },
      { op: 'Relu', inputs: ['h_bias'], outputs: ['h'] },
      { op: 'MatMul', inputs: ['h', 'w2'], outputs: ['dense_pre'] },
      { op: 'Add', inputs: ['dense_pre', 'b2'], outputs: ['dense'] },
      { op: 'Add', inputs: ['sparse', 'dense'], outputs: ['emissions'] },
    ],
  });
}
