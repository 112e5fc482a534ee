/** Every benchmark suite by name. */
import type { Suite } from '../result.js';
import { annSuite } from './ann.js';
import { freshnessSuite } from './freshness.js';
import { importSuite } from './import.js';
import { ingestSuite } from './ingest.js';
import { logSuite } from './log.js';
import { onlineSuite } from './online.js';
import { pipelineSuite } from './pipeline.js';
import { qualitySuite } from './quality.js';
import { replaySuite } from './replay.js';
import { runtimeSuite } from './runtime.js';
import { serveSuite } from './serve.js';
import { simulateSuite } from './simulate.js';
import { threadsSuite } from './threads.js';
import { topologySuite } from './topology.js';
import { trainSuite } from './train.js';

export const SUITES: Readonly<Record<string, Suite>> = {
  ann: annSuite,
  freshness: freshnessSuite,
  import: importSuite,
  ingest: ingestSuite,
  log: logSuite,
  online: onlineSuite,
  pipeline: pipelineSuite,
  quality: qualitySuite,
  replay: replaySuite,
  runtime: runtimeSuite,
  serve: serveSuite,
  simulate: simulateSuite,
  threads: threadsSuite,
  topology: topologySuite,
  train: trainSuite,
};
