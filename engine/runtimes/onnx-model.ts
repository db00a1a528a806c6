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
  const dataType =
    t.data instanceof Float32Array ? DataType.FLOAT : t.data instanceof Int32Array ? DataType.INT32 : DataType.INT64;
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
export function crfEmissionModel(
  weights: Float32Array,
  rows: number,
  labels: number,
  slots: number,
  dense?: DenseGraphWeights,
): Uint8Array {
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
 * Wide & deep emissions: the sparse linear part above plus an MLP over the window's embeddings.
 *
 * The embeddings are fixed, so the first layer's product for window position p and embedding row r,
 * Σ_c table[r, c] · W1[p·cols + c, :], is the same for every token: it is computed once here into a
 * table `projected` [window·rows, hidden]. At run time the first layer is then a Gather of `window`
 * rows (offset by p·rows per position) and a ReduceSum — lookups instead of a [tokens, window·cols] ×
 * [window·cols, hidden] MatMul, which was most of the dense branch's cost.
 *
 *   window int32 [tokens, w] + offsets → Gather(projected) → ReduceSum → Add b1 → Relu → MatMul W2 → Add b2,
 * summed with the sparse scores.
 */
function wideAndDeepModel(
  weights: Float32Array,
  rows: number,
  labels: number,
  slots: number,
  d: DenseGraphWeights,
): Uint8Array {
  const projected = projectEmbeddings(d);
  return buildOnnxModel({
    name: 'nerops-crf-wide-deep-emissions',
    docString:
      'Hashed-feature linear emission scores plus an MLP over window word embeddings, for a linear-chain CRF (nerops).',
    inputs: [
      { name: 'features', type: 'int32', shape: ['tokens', slots] },
      { name: 'window', type: 'int32', shape: ['tokens', d.window] },
    ],
    outputs: [{ name: 'emissions', type: 'float32', shape: ['tokens', labels] }],
    initializers: [
      { name: 'emission_weights', dims: [rows, labels], data: weights },
      { name: 'reduce_axes', dims: [1], data: BigInt64Array.from([1n]) },
      { name: 'projected', dims: [d.window * d.tableRows, d.hidden], data: projected },
      {
        name: 'position_offsets',
        dims: [d.window],
        data: Int32Array.from({ length: d.window }, (_, p) => p * d.tableRows),
      },
      { name: 'b1', dims: [d.hidden], data: d.b1 },
      { name: 'w2', dims: [d.hidden, labels], data: d.w2 },
      { name: 'b2', dims: [labels], data: d.b2 },
    ],
    nodes: [
      { op: 'Gather', inputs: ['emission_weights', 'features'], outputs: ['gathered'], attributes: { axis: 0 } },
      { op: 'ReduceSum', inputs: ['gathered', 'reduce_axes'], outputs: ['sparse'], attributes: { keepdims: 0 } },
      { op: 'Add', inputs: ['window', 'position_offsets'], outputs: ['projected_rows'] },
      {
        op: 'Gather',
        inputs: ['projected', 'projected_rows'],
        outputs: ['window_projections'],
        attributes: { axis: 0 },
      },
      {
        op: 'ReduceSum',
        inputs: ['window_projections', 'reduce_axes'],
        outputs: ['h_pre'],
        attributes: { keepdims: 0 },
      },
      { op: 'Add', inputs: ['h_pre', 'b1'], outputs: ['h_bias'] },
      { op: 'Relu', inputs: ['h_bias'], outputs: ['h'] },
      { op: 'MatMul', inputs: ['h', 'w2'], outputs: ['dense_pre'] },
      { op: 'Add', inputs: ['dense_pre', 'b2'], outputs: ['dense'] },
      { op: 'Add', inputs: ['sparse', 'dense'], outputs: ['emissions'] },
    ],
  });
}

/** projected[p·rows + r, h] = Σ_c table[r, c] · W1[p·cols + c, h]: the first layer for every (position, row). */
export function projectEmbeddings(d: DenseGraphWeights): Float32Array {
  const { tableRows: R, tableCols: C, hidden: H, window: Wn } = d;
  const out = new Float32Array(Wn * R * H);
  const acc = new Float64Array(H);
  for (let p = 0; p < Wn; p++) {
    for (let r = 0; r < R; r++) {
      acc.fill(0);
      for (let c = 0; c < C; c++) {
        const x = d.table[r * C + c] as number;
        if (x === 0) continue;
        const w = (p * C + c) * H;
        for (let h = 0; h < H; h++) acc[h] = (acc[h] as number) + x * (d.w1[w + h] as number);
      }
      const o = (p * R + r) * H;
      for (let h = 0; h < H; h++) out[o + h] = acc[h] as number;
    }
  }
  return out;
}
