/** Every `recstream` sub-command, in the order `--help` lists them. */
import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { describeCommand } from './describe.js';
import { dlqListCommand } from './dlq-list.js';
import { dlqReplayCommand } from './dlq-replay.js';
import { evalCommand } from './eval.js';
import {
  experimentsListCommand,
  experimentsShowCommand,
  experimentsStartCommand,
  experimentsStopCommand,
} from './experiments.js';
import { importCommand } from './import.js';
import { indexCommand } from './index-build.js';
import { materializeCommand } from './materialize.js';
import { modelsListCommand, modelsPromoteCommand, modelsRollbackCommand } from './models.js';
import { onlineActivateCommand } from './online-activate.js';
import { onlineDropCommand } from './online-drop.js';
import { onlineGetCommand } from './online-get.js';
import { onlineNamespacesCommand } from './online-namespaces.js';
import { processCommand } from './process.js';
import { registryServeCommand } from './registry-serve.js';
import { rebuildCommand, replayCommand } from './replay.js';
import { serveCommand } from './serve.js';
import { simulateCommand } from './simulate.js';
import { stateDigestCommand } from './state-digest.js';
import { topicsCommand } from './topics.js';
import { trainCommand } from './train.js';
import { upCommand } from './up.js';

export const COMMANDS: readonly Command[] = [
  demoCommand,
  processCommand,
  serveCommand,
  upCommand,
  trainCommand,
  indexCommand,
  materializeCommand,
  simulateCommand,
  importCommand,
  describeCommand,
  topicsCommand,
  registryServeCommand,
  stateDigestCommand,
  replayCommand,
  rebuildCommand,
  onlineGetCommand,
  onlineNamespacesCommand,
  onlineActivateCommand,
  onlineDropCommand,
  dlqListCommand,
  dlqReplayCommand,
  modelsListCommand,
  modelsPromoteCommand,
  modelsRollbackCommand,
  experimentsStartCommand,
  experimentsStopCommand,
  experimentsListCommand,
  experimentsShowCommand,
  evalCommand,
  benchCommand,
];
