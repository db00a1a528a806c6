// tsc does not set the executable bit; `npx ner-ops` and the container entrypoint need it.
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/ner-ops.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
