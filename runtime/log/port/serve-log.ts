/**
 * Serves an `EventLog` this thread owns to a worker thread over a
 * `MessagePort`: the other end is a {@link PortLog}. The embedded log is
 * one writer per data dir, so the stream threads of one process reach it
 * through the thread that opened it; each request is answered as soon as
 * the log answers it, so one worker's long poll does not hold up another
 * request.
 *
 * The consumers a worker opens live here; when its port closes (the worker
 * closed its log, or died), they are closed.
 *
 * @example
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const served = serveLog(platform.log, port1);
 * new Worker(url, { workerData: { port: port2 }, transferList: [port2] });
 * // … later
 * await served.close();
 * ```
 */
import type { MessagePort } from 'node:worker_threads';
import { LogUsageError } from '../../errors.js';
import type { EventLog, LogConsumer, OutgoingRecord } from '../log.js';
import {
  type EncodedAppendLog,
  type LogRequest,
  type LogResponse,
  type OpenedConsumer,
  type Polled,
  reviveBatch,
  reviveOutgoing,
  type Seek,
  toWireError,
} from './wire.js';

export interface ServedLog {
  /** Closes the consumers the worker left open and stops answering. */
  close(): Promise<void>;
}

export function serveLog(log: EventLog, port: MessagePort): ServedLog {
  const consumers = new Map<number, LogConsumer>();
  let nextConsumer = 1;
  let closed: Promise<void> | undefined;

  const consumerOf = (id: number): LogConsumer => {
    const consumer = consumers.get(id);
    if (consumer === undefined) throw new LogUsageError(`consumer ${id} is closed`);
    return consumer;
  };
  const applySeeks = (consumer: LogConsumer, seeks: readonly Seek[]) => {
    for (const s of seeks) consumer.seek(s.topic, s.partition, s.offset);
  };
  const positions = (consumer: LogConsumer) =>
    consumer.assignment().map((tp) => ({ ...tp, offset: consumer.position(tp.topic, tp.partition) }));

  const answer = async (request: LogRequest): Promise<unknown> => {
    switch (request.kind) {
      case 'log': {
        const args =
          request.method === 'append'
            ? [request.args[0], (request.args[1] as OutgoingRecord[]).map(reviveOutgoing)]
            : request.args;
        const method = log[request.method] as (...a: unknown[]) => Promise<unknown>;
        return method.apply(log, args);
      }
      case 'open': {
        const consumer = await log.consumer(request.options);
        const id = nextConsumer++;
        consumers.set(id, consumer);
        return {
          consumer: id,
          assignment: consumer.assignment(),
          positions: positions(consumer),
        } satisfies OpenedConsumer;
      }
      case 'poll': {
        const consumer = consumerOf(request.consumer);
        applySeeks(consumer, request.seeks);
        const records = await consumer.poll(request.options);
        return { records, positions: positions(consumer) } satisfies Polled;
      }
      case 'commit': {
        const consumer = consumerOf(request.consumer);
        applySeeks(consumer, request.seeks);
        await consumer.commit(request.offsets);
        return undefined;
      }
      case 'close': {
        const consumer = consumers.get(request.consumer);
        consumers.delete(request.consumer);
        await consumer?.close();
        return undefined;
      }
      case 'appendEncoded': {
        if (!('appendEncoded' in log))
          throw new LogUsageError(`a ${log.kind} log takes records, not encoded batches`);
        return (log as EventLog & EncodedAppendLog).appendEncoded(
          request.topic,
          request.partitions,
          request.batches.map(reviveBatch),
        );
      }
    }
  };

  const onMessage = (request: LogRequest) => {
    answer(request).then(
      (value) => reply({ id: request.id, ok: true, value }),
      (error: unknown) => reply({ id: request.id, ok: false, error: toWireError(error) }),
    );
  };
  const reply = (response: LogResponse) => {
    if (closed === undefined) port.postMessage(response);
  };
  const close = (): Promise<void> => {
    closed ??= (async () => {
      port.off('message', onMessage);
      port.close();
      const open = [...consumers.values()];
      consumers.clear();
      await Promise.allSettled(open.map((c) => c.close()));
    })();
    return closed;
  };
  port.on('message', onMessage);
  port.once('close', () => void close());
  return { close };
}
