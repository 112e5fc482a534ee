// Copies non-TypeScript assets that the compiled code reads at run time
// (Avro schemas, byte fixtures) into dist/, mirroring the source layout.
import { cpSync, existsSync } from 'node:fs';

for (const dir of ['schemas']) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true, filter: (src) => !src.endsWith('.ts') });
}
