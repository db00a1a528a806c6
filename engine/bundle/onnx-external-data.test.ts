/** Finding ONNX tensors stored outside the model, wherever a tensor can sit. */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError, usesExternalData } from './onnx-external-data.js';

const { onnx } = onnxProto;

const inline = { name: 'w', dims: [2], dataType: 1, floatData: [1, 2] };
const external = {
  name: 'w',
  dims: [2],
  dataType: 1,
  dataLocation: 1,
  externalData: [{ key: 'location', value: 'secret.bin' }],
};

function model(graph: object, functions: object[] = []): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject({ irVersion: 8, graph, functions })).finish();
}

describe('usesExternalData', () => {
  it('passes a model whose tensors are inline', () => {
    expect(usesExternalData(model({ name: 'g', initializer: [inline], node: [{ opType: 'Identity' }] }))).toBe(false);
  });

  it('finds external data in an initializer, a node attribute, a subgraph and a sparse initializer', () => {
    expect(usesExternalData(model({ name: 'g', initializer: [external] }))).toBe(true);
    expect(
      usesExternalData(
        model({ name: 'g', node: [{ opType: 'Constant', attribute: [{ name: 'value', t: external }] }] }),
      ),
    ).toBe(true);
    const subgraph = { name: 'then', initializer: [external] };
    expect(
      usesExternalData(
        model({ name: 'g', node: [{ opType: 'If', attribute: [{ name: 'then_branch', g: subgraph }] }] }),
      ),
    ).toBe(true);
    expect(
      usesExternalData(
        model({ name: 'g', sparseInitializer: [{ values: external, indices: { ...inline, name: 'i' }, dims: [4] }] }),
      ),
    ).toBe(true);
    // data_location alone marks it too (the location entries may be missing).
    expect(usesExternalData(model({ name: 'g', initializer: [{ ...external, externalData: [] }] }))).toBe(true);
  });

  it('finds external data inside a model-local function', () => {
    const fn = { name: 'f', domain: 'x', node: [{ opType: 'Constant', attribute: [{ name: 'value', t: external }] }] };
    expect(usesExternalData(model({ name: 'g' }, [fn]))).toBe(true);
  });

  it('throws OnnxFormatError on bytes that are not protobuf', () => {
    expect(() => usesExternalData(Uint8Array.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(OnnxFormatError);
  });
});
