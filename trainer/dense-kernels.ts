/**
 * The wide & deep trainer's two hot loops (the MLP's first layer forward, and its rank-one SGD steps) as
 * WebAssembly SIMD kernels, dense-kernels.wat. Why: in plain JavaScript they were most of the wide & deep
 * training time (V8 does not vectorise typed-array loops); no npm package offers f64 SIMD
 * kernels with a guaranteed summation order, and the order is what keeps training bit-for-bit
 * reproducible (the kernels give exactly the sums the JavaScript loops gave, see dense-kernels.wat).
 *
 * Each `DenseKernels` owns one WebAssembly memory, sized once when it is made and never grown (growing
 * would detach the typed arrays that view it): the parameters, then scratch room for `CHUNK_TOKENS`
 * tokens' inputs, pre-activations and hidden gradients. Longer sentences go through in chunks.
 */
import { readFileSync } from 'node:fs';

/** Tokens the scratch buffers hold; a sentence longer than this is processed in chunks of it. */
export const CHUNK_TOKENS = 128;

/**
 * The part of the WebAssembly JavaScript API used here. TypeScript declares it only in the DOM library,
 * which this Node project does not load.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  firstLayer(x: number, n: number, inDim: number, w1: number, b1: number, hidden: number, out: number): void;
  rankOneSteps(w1: number, inDim: number, hidden: number, x: number, dh: number, count: number, lr: number): void;
}

let compiled: object | undefined;

/** The compiled kernel module (compiled once per process; under a kilobyte). */
function kernelModule(): object {
  compiled ??= new wasm.Module(readFileSync(new URL('./dense-kernels.wasm', import.meta.url)));
  return compiled;
}

const PAGE = 65536;

export class DenseKernels {
  /** The parameters (W1 | b1 | W2 | b2), in the kernels' memory. */
  readonly params: Float64Array;
  /** Scratch: CHUNK_TOKENS × inDim inputs. */
  readonly x: Float64Array;
  /** Scratch: CHUNK_TOKENS × hidden pre-activations. */
  readonly pre: Float64Array;
  /** Scratch: CHUNK_TOKENS × hidden gradients. */
  readonly dh: Float64Array;
  readonly #exports: KernelExports;
  readonly #inDim: number;
  readonly #hidden: number;

  constructor(parameterCount: number, inDim: number, hidden: number) {
    this.#exports = new wasm.Instance(kernelModule(), {}).exports as unknown as KernelExports;
    this.#inDim = inDim;
    this.#hidden = hidden;
    const sizes = [parameterCount, CHUNK_TOKENS * inDim, CHUNK_TOKENS * hidden, CHUNK_TOKENS * hidden];
    const bytes = sizes.reduce((total, n) => total + n * 8, 0);
    const memory = this.#exports.memory;
    const missing = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
    if (missing > 0) memory.grow(missing);
    const views: Float64Array[] = [];
    let offset = 0;
    for (const n of sizes) {
      views.push(new Float64Array(memory.buffer, offset, n));
      offset += n * 8;
    }
    [this.params, this.x, this.pre, this.dh] = views as [Float64Array, Float64Array, Float64Array, Float64Array];
  }

  /**
   * pre[k·H + h] = b1[h] + x_k · W1[h] for the first n (≤ CHUNK_TOKENS) rows of `x`, with W1 transposed
   * ([hidden][inDim]) at parameter offset `w1`, b1 at `b1`.
   */
  firstLayer(n: number, w1: number, b1: number): void {
    this.#exports.firstLayer(
      this.x.byteOffset,
      n,
      this.#inDim,
      this.params.byteOffset + w1 * 8,
      this.params.byteOffset + b1 * 8,
      this.#hidden,
      this.pre.byteOffset,
    );
  }

  /** W1[h] += (lr · dh[j·H + h]) · x_j for h, then j < count (≤ CHUNK_TOKENS) in order; W1 at parameter offset `w1`. */
  rankOneSteps(count: number, w1: number, lr: number): void {
    this.#exports.rankOneSteps(
      this.params.byteOffset + w1 * 8,
      this.#inDim,
      this.#hidden,
      this.x.byteOffset,
      this.dh.byteOffset,
      count,
      lr,
    );
  }
}
