/**
 * Helpers for the inference tests: a Python interpreter that has the
 * modules a test needs (to check against NumPy and PyTorch themselves),
 * temporary directories, and seeded random unit vectors.
 *
 * @example
 * ```ts
 * const python = findPython(['torch']);
 * if (!python.found) return missingService(t, python.reason); // test/skips.ts
 * await withTempDir(async (dir) => runPython(python.found!, script, [dir]));
 * ```
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The first of $RECSTREAM_PYTHON, `python3` and `/usr/bin/python3` (Debian's,
 * which has python3-torch) that imports every module; else why none did.
 */
export function findPython(modules: readonly string[]): { found?: string; reason: string } {
  const tried = [process.env.RECSTREAM_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of tried) {
    const probe = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    if (probe.status === 0) return { found: python, reason: '' };
  }
  return { reason: `no Python that imports ${modules.join(', ')} (tried ${tried.join(', ')})` };
}

/** Runs an inline script; throws with its stderr when it fails. */
export function runPython(python: string, script: string, args: readonly string[] = []): string {
  const run = spawnSync(python, ['-c', script, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${python} failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-inference-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `rows` random vectors of `dims` (Gaussian, so uniform on the sphere), each scaled to unit length. */
export function unitVectors(rows: number, dims: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      const v = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      out[r * dims + d] = v;
      norm += v * v;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) out[r * dims + d]! *= scale;
  }
  return out;
}
