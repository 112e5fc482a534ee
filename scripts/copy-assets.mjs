// Finishes dist/ after tsc: copies non-TypeScript assets that the compiled
// code reads at run time (Avro schemas, byte fixtures, the operator console's
// HTML, JavaScript and CSS), mirroring the source layout, and makes the
// `recstream` bin executable. npm sets that bit only
// when it links the bin (install, or the first `npx recstream`); a dist/
// built afterwards, e.g. in a fresh clone at a path npx has cached, would
// otherwise fail with "Permission denied".
import { chmodSync, cpSync, existsSync } from 'node:fs';

for (const dir of ['schemas', 'responders/console']) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true, filter: (src) => !src.endsWith('.ts') });
}
chmodSync('dist/cli/main.js', 0o755);
