/**
 * The worker-thread side of `SessionThread`: it creates, runs and frees
 * `OnnxModel`s the thread that started it asks for, one message each, and
 * answers with the outputs or the error's class and message. onnxruntime
 * creates a session synchronously (parsing and optimising the graph, tens
 * to hundreds of milliseconds), so a responder that created sessions on
 * its own thread stalled every request meanwhile; here only this thread
 * waits.
 */
import { parentPort } from 'node:worker_threads';
import { ArtifactIntegrityError } from '../runtime/errors.js';
import { InferenceError } from './errors.js';
import type { Column, SessionOptions } from './onnx-session.js';
import { OnnxModel } from './onnx-session.js';

/** What the thread that owns the worker asks for. */
export type SessionRequest =
  | { readonly op: 'load'; readonly id: number; readonly path: string; readonly options: SessionOptions }
  | {
      readonly op: 'run';
      readonly id: number;
      readonly model: number;
      readonly inputs: Readonly<Record<string, Column>>;
      readonly rows?: number;
    }
  | { readonly op: 'close'; readonly id: number; readonly model: number };

/** The error classes an answer can carry, re-created on the owning thread. */
export type SessionErrorKind = 'inference' | 'artifact' | 'other';

export type SessionReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly model?: number;
      readonly inputs?: OnnxModel['inputs'];
      readonly outputs?: OnnxModel['outputs'];
      readonly out?: Record<string, Float32Array>;
    }
  | { readonly id: number; readonly ok: false; readonly kind: SessionErrorKind; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('session-worker.js runs as a worker thread only');

const models = new Map<number, OnnxModel>();
let nextModel = 1;

function kindOf(error: unknown): SessionErrorKind {
  if (error instanceof InferenceError) return 'inference';
  if (error instanceof ArtifactIntegrityError) return 'artifact';
  return 'other';
}

function modelOf(id: number): OnnxModel {
  const model = models.get(id);
  if (model === undefined) throw new InferenceError(`ONNX session ${id} is closed`);
  return model;
}

async function answer(request: SessionRequest): Promise<SessionReply> {
  switch (request.op) {
    case 'load': {
      const model = await OnnxModel.load(request.path, request.options);
      const id = nextModel++;
      models.set(id, model);
      return { id: request.id, ok: true, model: id, inputs: model.inputs, outputs: model.outputs };
    }
    case 'run':
      return {
        id: request.id,
        ok: true,
        out: await modelOf(request.model).run(request.inputs, request.rows),
      };
    case 'close': {
      const model = models.get(request.model);
      models.delete(request.model);
      await model?.close();
      return { id: request.id, ok: true };
    }
  }
}

port.on('message', (request: SessionRequest) => {
  answer(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        kind: kindOf(error),
        message: (error as Error).message ?? String(error),
      } satisfies SessionReply),
  );
});
