/**
 * Whether an ONNX model refers to external data. A tensor stored outside the model file is loaded by ONNX
 * Runtime from a path relative to the model, and a model created from bytes (as every runtime here does)
 * resolves it against the process's working directory: outside the bundle and outside its digest. Our
 * bundles always embed their tensors, so a model that points elsewhere is refused before it is loaded.
 *
 * This walks the protobuf wire format along the messages that can hold a tensor (graphs, nodes, attributes,
 * functions, sparse tensors), without decoding the tensors themselves, so a large model costs no copies.
 */

/** Which field of which message leads to which message. Fields not listed are skipped. */
type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'function' | 'sparse' | 'tensor';
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  function: { 7: 'node' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  tensor: {},
};
/** TensorProto.external_data (repeated entries) and TensorProto.data_location (EXTERNAL = 1). */
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const MAX_DEPTH = 64;

export class OnnxFormatError extends Error {}

function varint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new OnnxFormatError('truncated varint');
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new OnnxFormatError('varint too long');
}

function scan(buf: Uint8Array, start: number, end: number, kind: Kind, depth: number): boolean {
  if (depth > MAX_DEPTH) throw new OnnxFormatError('messages nested too deeply');
  let pos = start;
  while (pos < end) {
    const [key, afterKey] = varint(buf, pos);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const [value, next] = varint(buf, pos);
      if (kind === 'tensor' && field === TENSOR_DATA_LOCATION && value === 1) return true;
      pos = next;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [len, next] = varint(buf, pos);
      pos = next;
      if (pos + len > end) throw new OnnxFormatError('length-delimited field runs past its message');
      if (kind === 'tensor' && field === TENSOR_EXTERNAL_DATA) return true;
      const child = CHILDREN[kind][field];
      if (child && scan(buf, pos, pos + len, child, depth + 1)) return true;
      pos += len;
    } else {
      throw new OnnxFormatError(`unsupported protobuf wire type ${wire}`);
    }
  }
  if (pos !== end) throw new OnnxFormatError('field runs past its message');
  return false;
}

/** True when any tensor of the model (initializers, attributes, subgraphs, functions) lives in external data. */
export function usesExternalData(model: Uint8Array): boolean {
  return scan(model, 0, model.length, 'model', 0);
}
