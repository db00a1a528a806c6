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
export function crfEmissionModel(weights: Float32Array, rows: number, labels: number, slots: number): Uint8Array {
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
