// Writes models/recstream_models/feature_spec.py, the training engine's
// column spec, from the feature declaration (features/feature-service.ts),
// compiled: run `npm run gen:features`, which builds first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { pythonFeatureSpec } = await import(new URL('../dist/features/python-spec.js', import.meta.url).href);
const out = join(root, 'models', 'recstream_models', 'feature_spec.py');
writeFileSync(out, pythonFeatureSpec());
console.log(`wrote ${out}`);
