// tsc does not set the executable bit; `npx ner-ops` and the container entrypoint need it.
import { chmodSync, copyFileSync, cpSync, existsSync } from 'node:fs';
for (const name of ['ner-ops', 'kubectl-ner']) {
  const bin = new URL(`../dist/cli/${name}.js`, import.meta.url);
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
// tsc copies no assets: the trainer's WebAssembly kernels sit beside the module that loads them.
copyFileSync(
  new URL('../trainer/dense-kernels.wasm', import.meta.url),
  new URL('../dist/trainer/dense-kernels.wasm', import.meta.url),
);
// The shipped assertion rules are data (YAML) read beside the module that parses them.
cpSync(
  new URL('../engine/assertions/rules/', import.meta.url),
  new URL('../dist/engine/assertions/rules/', import.meta.url),
  { recursive: true },
);
