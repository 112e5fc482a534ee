/**
 * A loopback TCP proxy in front of a Kafka-protocol server that can take the
 * broker away and bring it back, as a broker restart looks to its clients:
 * every open connection is reset, new connections are refused for a while,
 * then accepted again — and the log behind it is intact, which go-mokapi
 * (topics in memory only) cannot give by being restarted itself.
 *
 * Kafka clients connect to the bootstrap address once and then to the
 * addresses the broker advertises in its `Metadata` and `FindCoordinator`
 * answers. go-mokapi advertises the port it listens on, so the proxy rewrites
 * the port in those two answers to its own: every connection of every client
 * goes through it. The host is left as it is (loopback on both sides), so no
 * frame changes length. Only the versions kafkajs 2.2 speaks are understood
 * (Metadata v0–v6, FindCoordinator v0–v2, all with non-flexible encodings);
 * any other version of those two answers fails the connection loudly rather
 * than leaking the broker's own port.
 *
 * @example
 * ```ts
 * const proxy = await startKafkaProxy(kafka.port);
 * // clients use proxy.brokers …
 * await proxy.outage(5000); // every connection reset, refused for 5 s
 * await proxy.close();
 * ```
 */
import { createServer, type Server, Socket } from 'node:net';

const METADATA = 3;
const FIND_COORDINATOR = 10;

export interface KafkaProxy {
  /** Bootstrap brokers for clients: the proxy's address. */
  readonly brokers: readonly string[];
  readonly port: number;
  /** Connections made through the proxy so far. */
  connectionsAccepted(): number;
  /** Connections reset by outages so far. */
  connectionsReset(): number;
  /** Resets every open connection, refuses new ones for `ms`, then accepts again on the same port. */
  outage(ms: number): Promise<void>;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/** Splits a byte stream into size-prefixed Kafka frames (the 4-byte size included). */
class Frames {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.length < 4) return out;
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = this.chunks[0]!.readInt32BE(0) + 4;
      if (this.length < size) return out;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      out.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
    }
  }
}

/** Offset just past a non-nullable or nullable STRING starting at `at`. */
function skipString(frame: Buffer, at: number): number {
  const length = frame.readInt16BE(at);
  return at + 2 + Math.max(length, 0);
}

/** Offsets of every advertised port in a response frame (size prefix included) of `apiKey`/`version`. */
export function advertisedPorts(frame: Buffer, apiKey: number, version: number): number[] {
  // size, correlation id
  let at = 8;
  if (apiKey === METADATA) {
    if (version > 6) throw new Error(`Metadata v${version} is not understood by the proxy`);
    if (version >= 3) at += 4; // throttle_time_ms
    const brokers = frame.readInt32BE(at);
    at += 4;
    const ports: number[] = [];
    for (let i = 0; i < brokers; i++) {
      at = skipString(frame, at + 4); // node_id, host
      ports.push(at);
      at += 4;
      if (version >= 1) at = skipString(frame, at); // rack
    }
    return ports;
  }
  if (apiKey === FIND_COORDINATOR) {
    if (version > 2) throw new Error(`FindCoordinator v${version} is not understood by the proxy`);
    if (version >= 1)
      at = skipString(frame, at + 4 + 2); // throttle_time_ms, error_code, error_message
    else at += 2; // error_code
    return [skipString(frame, at + 4)]; // node_id, host
  }
  return [];
}

/** Starts a proxy on a free loopback port forwarding to `127.0.0.1:upstreamPort`. */
export async function startKafkaProxy(upstreamPort: number): Promise<KafkaProxy> {
  const open = new Set<{ client: Socket; upstream: Socket }>();
  let accepted = 0;
  let reset = 0;

  const server: Server = createServer({ noDelay: true }, (client) => {
    accepted++;
    const upstream = new Socket();
    const pair = { client, upstream };
    open.add(pair);
    // Requests in flight on this connection: correlation id → api key and version.
    const inFlight = new Map<number, { apiKey: number; version: number }>();
    const requests = new Frames();
    const responses = new Frames();
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (chunk) => {
      for (const frame of requests.push(chunk)) {
        const apiKey = frame.readInt16BE(4);
        if (apiKey === METADATA || apiKey === FIND_COORDINATOR)
          inFlight.set(frame.readInt32BE(8), { apiKey, version: frame.readInt16BE(6) });
        upstream.write(frame);
      }
    });
    upstream.on('data', (chunk) => {
      for (const frame of responses.push(chunk)) {
        const request = inFlight.get(frame.readInt32BE(4));
        if (request) {
          inFlight.delete(frame.readInt32BE(4));
          try {
            for (const at of advertisedPorts(frame, request.apiKey, request.version))
              frame.writeInt32BE(proxy.port, at);
          } catch (err) {
            client.destroy(err as Error);
            return;
          }
        }
        client.write(frame);
      }
    });
    upstream.connect(upstreamPort, '127.0.0.1');
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });

  const resetAll = () => {
    for (const pair of open) {
      reset++;
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    open.clear();
  };

  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));

  const port = await listen(0);
  const proxy: KafkaProxy = {
    brokers: [`127.0.0.1:${port}`],
    port,
    connectionsAccepted: () => accepted,
    connectionsReset: () => reset,
    async outage(ms) {
      const closed = stopListening();
      resetAll();
      await closed;
      await new Promise((r) => setTimeout(r, ms));
      await listen(port);
    },
    async close() {
      const closed = server.listening ? stopListening() : Promise.resolve();
      resetAll();
      await closed;
    },
  };
  return proxy;
}
