// Assemble trainer/dense-kernels.wat into the committed trainer/dense-kernels.wasm (`npm run build:kernels`),
// with the wabt package (a devDependency). The binary is committed so that building and running need no
// assembler. `--check` writes nothing and exits 1 when the committed binary is not what the source
// assembles to (trainer/dense-kernels.test.ts runs it).
import { readFile, writeFile } from 'node:fs/promises';
import wabt from 'wabt';

const source = new URL('../trainer/dense-kernels.wat', import.meta.url);
const target = new URL('../trainer/dense-kernels.wasm', import.meta.url);
const toolkit = await wabt();
const module = toolkit.parseWat('dense-kernels.wat', await readFile(source, 'utf8'), { simd: true });
module.validate();
// No names or debug sections: the bytes depend on the source alone.
const binary = Buffer.from(module.toBinary({ log: false, write_debug_names: false }).buffer);
module.destroy();
if (process.argv.includes('--check')) {
  if (!binary.equals(await readFile(target))) {
    console.error(`${target.pathname} is not what ${source.pathname} assembles to: run npm run build:kernels`);
    process.exit(1);
  }
} else {
  await writeFile(target, binary);
  console.log(`wrote ${target.pathname} (${binary.length} bytes)`);
}
