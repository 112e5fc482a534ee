/**
 * ONNX models exported by PyTorch itself (a tiny stand-in for each of the
 * engine's three, with FORMAT.md's input names, and a generic two-input
 * model), run in onnxruntime-node and compared with what torch computed.
 * Needs a Python that imports torch (Debian's /usr/bin/python3 has it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArtifactIntegrityError } from '../registry/errors.js';
import { skipWhenMissing } from '../test/skips.js';
import { InferenceError } from './errors.js';
import {
  ItemTower,
  type ItemTowerInputs,
  loadModels,
  OnnxModel,
  type RankerInputs,
  type UserTowerInputs,
} from './onnx-models.js';
import { checkParity } from './parity.js';
import { findPython, runPython } from './test-support.js';

// Writes <name>.onnx per model and parity.json (export.py's layout) into argv[1].
const EXPORT = `
import inspect, json, sys
import torch
from torch import nn

out = sys.argv[1]
torch.manual_seed(7)
H = 5
USER = [('user', 'int', ()), ('history_items', 'int', (H,)), ('history_types', 'int', (H,)),
        ('user_cat', 'int', (3,)), ('context_cat', 'int', (4,)), ('user_dense', 'float', (2,))]
ITEM = [('item', 'int', ()), ('categories', 'int', (2,)), ('tags', 'int', (2,)), ('language', 'int', ()),
        ('catalog_dense', 'float', (3,))]
RANKER = USER + [('item', 'int', ()), ('item_categories', 'int', (2,)), ('item_language', 'int', ()),
                 ('item_dense', 'float', (2,)), ('cross_dense', 'float', (2,))]
MODELS = {  # inputs, then output widths (0: one probability per row)
    'two_inputs': ([('ids', 'int', (2,)), ('dense', 'float', (3,))], {'out': 4}),
    'user_tower': (USER, {'embedding': 9}),
    'item_tower': (ITEM, {'embedding': 9}),
    'ranker': (RANKER, {'click': 0, 'engagement': 0}),
}

class Tiny(nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        self.kinds = [kind for _, kind, _ in inputs]
        self.layers = nn.ModuleList(nn.Embedding(50, 8) if kind == 'int' else nn.Linear(shape[0], 8)
                                    for _, kind, shape in inputs)
        self.widths = list(outputs.values())
        self.heads = nn.ModuleList(nn.Linear(8, max(width, 1)) for width in self.widths)

    def forward(self, *xs):
        h = 0
        for kind, layer, x in zip(self.kinds, self.layers, xs):
            h = h + (layer(x).reshape(x.shape[0], -1, 8).sum(1) if kind == 'int' else layer(x))
        h = torch.tanh(h)
        ys = [torch.sigmoid(head(h)).squeeze(1) if width == 0 else head(h) for head, width in zip(self.heads, self.widths)]
        return tuple(ys) if len(ys) > 1 else ys[0]

def as_json(t):
    return {'dtype': 'int64' if t.dtype == torch.int64 else 'float32', 'shape': list(t.shape), 'data': t.reshape(-1).tolist()}

options = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
parity = {}
for name, (inputs, outputs) in MODELS.items():
    model = Tiny(inputs, outputs).eval()
    xs = tuple(torch.randint(0, 50, (4, *shape)) if kind == 'int' else torch.randn(4, *shape) for _, kind, shape in inputs)
    names = [n for n, _, _ in inputs]
    torch.onnx.export(model, xs, f'{out}/{name}.onnx', input_names=names, output_names=list(outputs),
                      dynamic_axes={n: {0: 'batch'} for n in [*names, *outputs]}, opset_version=13, **options)
    with torch.no_grad():
        ys = model(*xs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    parity[name] = {'inputs': {n: as_json(x) for n, x in zip(names, xs)},
                    'outputs': {n: as_json(y) for n, y in zip(outputs, ys)}}
with open(f'{out}/parity.json', 'w') as f:
    json.dump(parity, f)
`;

interface Recorded {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: number[];
}
type Parity = Record<string, { inputs: Record<string, Recorded>; outputs: Record<string, Recorded> }>;

function maxDifference(actual: Float32Array, expected: readonly number[]): number {
  assert.equal(actual.length, expected.length);
  return expected.reduce((worst, v, i) => Math.max(worst, Math.abs(v - actual[i]!)), 0);
}

/** Recorded inputs as a batch: int64 columns as BigInt64Array or Int32Array, or left as numbers to exercise the conversion. */
function batch(
  inputs: Record<string, Recorded>,
  ints: 'bigint' | 'int32' | 'numbers',
): Record<string, unknown> {
  const int64 = (data: readonly number[]) =>
    ints === 'bigint'
      ? BigInt64Array.from(data, (v) => BigInt(v))
      : ints === 'int32'
        ? Int32Array.from(data)
        : data;
  return Object.fromEntries(
    Object.entries(inputs).map(([name, t]) => [
      name,
      t.dtype === 'int64' ? int64(t.data) : Float32Array.from(t.data),
    ]),
  );
}

const python = findPython(['torch']);

describe('ONNX models exported by PyTorch', {
  skip: skipWhenMissing(python.found ? undefined : python.reason),
}, () => {
  let dir: string;
  let parity: Parity;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recstream-onnx-'));
    runPython(python.found!, EXPORT, [dir]);
    parity = JSON.parse(await readFile(join(dir, 'parity.json'), 'utf8')) as Parity;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the generic session helper matches torch, whichever way int64 inputs are given', async () => {
    const model = await OnnxModel.load(join(dir, 'two_inputs.onnx'));
    try {
      assert.deepEqual(
        model.inputs.map((i) => [i.name, i.type, i.shape]),
        [
          ['ids', 'int64', ['batch', 2]],
          ['dense', 'float32', ['batch', 3]],
        ],
      );
      const { inputs, outputs } = parity.two_inputs!;
      const ids = inputs.ids!.data;
      const dense = Float32Array.from(inputs.dense!.data);
      for (const given of [BigInt64Array.from(ids, (v) => BigInt(v)), Int32Array.from(ids), ids]) {
        const { out } = await model.run({ ids: given, dense });
        assert.ok(maxDifference(out!, outputs.out!.data) < 1e-5);
      }
      // Row by row gives the same numbers as the whole batch.
      const { out: first } = await model.run({ ids: ids.slice(0, 2), dense: dense.subarray(0, 3) }, 1);
      assert.ok(maxDifference(first!, outputs.out!.data.slice(0, 4)) < 1e-5);
      const { out: none } = await model.run({ ids: [], dense: [] });
      assert.equal(none!.length, 0);
    } finally {
      await model.close();
    }
  });

  test('a batch the model does not declare is refused, naming the model and the input', async () => {
    const model = await OnnxModel.load(join(dir, 'two_inputs.onnx'));
    try {
      const refused = async (inputs: Parameters<OnnxModel['run']>[0], message: RegExp, rows?: number) =>
        assert.rejects(model.run(inputs, rows), (err: Error) => {
          assert.ok(err instanceof InferenceError, err.message);
          assert.match(err.message, /two_inputs\.onnx/);
          assert.match(err.message, message);
          return true;
        });
      await refused({ ids: [1, 2] }, /needs input dense, which the batch lacks/);
      await refused(
        { ids: [1, 2], dense: [1, 2] },
        /input dense has 2 values for 1 rows; .*\[batch, 3\], so 3 per row/,
      );
      await refused({ ids: [1, 2, 3] }, /input ids has 3 values, not whole rows of 2/);
      await refused(
        { ids: new Float32Array(2), dense: [1, 2, 3] },
        /input ids is int64 \[batch, 2\], given a Float32Array/,
      );
      await refused({ ids: [1, 2.5], dense: [1, 2, 3] }, /numbers that are not all integers/);
      await refused(
        { ids: [1, 2], dense: new BigInt64Array(3) },
        /input dense is float32 .* given a BigInt64Array/,
      );
      await refused({ ids: [1, 2], dense: [1, 2, 3] }, /input ids has 2 values for 2 rows/, 2);
    } finally {
      await model.close();
    }
  });

  for (const ownThread of [false, true])
    test(`the user tower, item tower and ranker of an artifact directory match torch${ownThread ? ', run on a session thread' : ''}`, async () => {
      const models = await loadModels(dir, { threads: 2, ownThread });
      try {
        for (const ints of ['bigint', 'numbers'] as const) {
          const user = await models.userTower.embed(
            batch(parity.user_tower!.inputs, ints) as unknown as UserTowerInputs,
          );
          assert.ok(maxDifference(user, parity.user_tower!.outputs.embedding!.data) < 1e-5);
          const item = await models.itemTower.embed(
            batch(parity.item_tower!.inputs, ints) as unknown as ItemTowerInputs,
          );
          assert.ok(maxDifference(item, parity.item_tower!.outputs.embedding!.data) < 1e-5);
          const scores = await models.ranker.score({
            ...(batch(parity.ranker!.inputs, ints) as unknown as RankerInputs),
            size: 4,
          });
          assert.ok(maxDifference(scores.click, parity.ranker!.outputs.click!.data) < 1e-5);
          assert.ok(maxDifference(scores.engagement, parity.ranker!.outputs.engagement!.data) < 1e-5);
        }
      } finally {
        await models.close();
      }
    });

  test('a file that is not the model its wrapper expects, or no file, is refused at load', async () => {
    await assert.rejects(ItemTower.load(join(dir, 'two_inputs.onnx')), /has outputs \[out\], not embedding/);
    await assert.rejects(ItemTower.load(join(dir, 'ranker.onnx')), InferenceError);
    await assert.rejects(loadModels(join(dir, 'missing')), ArtifactIntegrityError);
  });

  test('on a session thread, concurrent runs are joined into one batch and each caller gets its own rows', async () => {
    const models = await loadModels(dir, { ownThread: true });
    try {
      const good = { ...(batch(parity.ranker!.inputs, 'bigint') as unknown as RankerInputs), size: 4 };
      const narrow = { ...(batch(parity.ranker!.inputs, 'int32') as unknown as RankerInputs), size: 4 };
      // Joined as given: int32 columns alone stay int32, an int32 caller beside an int64 one is widened.
      const answers = await Promise.allSettled([
        models.ranker.score(good),
        models.ranker.score(narrow),
        models.ranker.score({ ...good, cross_dense: new Float32Array(3) }),
        models.ranker.score(good),
        models.ranker.score(narrow),
        models.ranker.score(narrow),
      ]);
      assert.equal(answers[2]!.status, 'rejected');
      assert.ok((answers[2] as PromiseRejectedResult).reason instanceof InferenceError);
      for (const i of [0, 1, 3, 4, 5]) {
        const scores = (answers[i] as PromiseFulfilledResult<Awaited<ReturnType<typeof models.ranker.score>>>)
          .value;
        assert.ok(maxDifference(scores.click, parity.ranker!.outputs.click!.data) < 1e-5);
        assert.ok(maxDifference(scores.engagement, parity.ranker!.outputs.engagement!.data) < 1e-5);
      }
    } finally {
      await models.close();
    }
  });

  test('a session thread reports the same error classes, for a batch and for a missing file', async () => {
    await assert.rejects(loadModels(join(dir, 'missing'), { ownThread: true }), ArtifactIntegrityError);
    const models = await loadModels(dir, { ownThread: true });
    try {
      const good = batch(parity.user_tower!.inputs, 'bigint') as unknown as UserTowerInputs;
      await assert.rejects(
        models.userTower.embed({ ...good, user_dense: new Float32Array(1) }),
        (err: unknown) => err instanceof InferenceError && /input user_dense has 1 values/.test(err.message),
      );
      assert.equal(
        (await models.userTower.embed(good)).length,
        parity.user_tower!.outputs.embedding!.data.length,
      );
    } finally {
      await models.close();
    }
  });

  test('models loaded with their sha256 run from the bytes that were hashed; a file that differs is refused by name', async () => {
    const sha256 = Object.fromEntries(
      await Promise.all(
        ['user_tower.onnx', 'item_tower.onnx', 'ranker.onnx'].map(async (file) => [
          file,
          createHash('sha256')
            .update(await readFile(join(dir, file)))
            .digest('hex'),
        ]),
      ),
    );
    const models = await loadModels(dir, { ownThread: true, sha256 });
    try {
      const { inputs, outputs } = parity.item_tower!;
      const embedding = await models.itemTower.embed(batch(inputs, 'int32') as unknown as ItemTowerInputs);
      assert.ok(maxDifference(embedding, outputs.embedding!.data) < 1e-5);
    } finally {
      await models.close();
    }
    await assert.rejects(
      loadModels(dir, { ownThread: true, sha256: { ...sha256, 'ranker.onnx': '0'.repeat(64) } }),
      (error: unknown) =>
        error instanceof ArtifactIntegrityError &&
        /ranker\.onnx has sha256 [0-9a-f]{64}, expected 0{64}/.test(error.message),
    );
    await assert.rejects(
      loadModels(dir, { ownThread: true, sha256: { 'ranker.onnx': sha256['ranker.onnx']! } }),
      /no sha256 given for user_tower\.onnx, item_tower\.onnx/,
    );
  });

  test('checkParity reports each output within 1e-5 of torch, as export.py writes parity.json', async () => {
    const diffs = await checkParity(dir);
    assert.deepEqual(Object.keys(diffs).sort(), [
      'item_tower.embedding',
      'ranker.click',
      'ranker.engagement',
      'two_inputs.out',
      'user_tower.embedding',
    ]);
    for (const [output, diff] of Object.entries(diffs)) assert.ok(diff < 1e-5, `${output}: ${diff}`);
  });

  test('checkParity reads other layouts of parity.json and reports real differences', async () => {
    const original = JSON.stringify(parity);
    const nested = (t: Recorded) => {
      const width = t.data.length / t.shape[0]!;
      return t.shape.length === 1
        ? t.data
        : Array.from({ length: t.shape[0]! }, (_, r) => t.data.slice(r * width, (r + 1) * width));
    };
    // A list of models; inputs as a list of bare nested lists in declared order; a lone output tensor.
    const variant = Object.entries(parity).map(([model, { inputs, outputs }]) => ({
      model,
      inputs: Object.values(inputs).map(nested),
      outputs: Object.keys(outputs).length === 1 ? Object.values(outputs)[0] : outputs,
    }));
    await writeFile(join(dir, 'parity.json'), JSON.stringify(variant));
    try {
      for (const [output, diff] of Object.entries(await checkParity(dir)))
        assert.ok(diff < 1e-5, `${output}: ${diff}`);

      const changed = JSON.parse(original) as Parity;
      changed.user_tower!.outputs.embedding!.data[3]! += 0.25;
      delete changed.ranker!.outputs.engagement;
      const text = JSON.stringify(changed).replace(
        /"click":\{"dtype":"float32","shape":\[4\],"data":\[[^\]]+\]/,
        '"click":{"dtype":"float32","shape":[4],"data":[NaN, 0.5, 0.5, 0.5]',
      );
      await writeFile(join(dir, 'parity.json'), text);
      const diffs = await checkParity(dir);
      assert.ok(Math.abs(diffs['user_tower.embedding']! - 0.25) < 1e-5);
      assert.equal(diffs['ranker.click'], Number.POSITIVE_INFINITY);
      assert.equal(diffs['ranker.engagement'], undefined);
    } finally {
      await writeFile(join(dir, 'parity.json'), original);
    }
  });
});
