/**
 * A bounded HTTP load on loopback for the fault tests: `clients` loops of
 * fetch, each outcome kept with its time, until `stop()`.
 *
 * @example
 * ```ts
 * const load = startLoad(4, (i) => ({ url: `${base}/v1/recommendations/u${i % 50}` }));
 * await sleep(2000);
 * const outcomes = await load.stop();
 * ```
 */
export interface Outcome {
  /** The request's number, as given to `next`. */
  readonly n: number;
  /** ms since the load started, when the request was sent. */
  readonly sentAt: number;
  readonly doneAt: number;
  /** The HTTP status, or undefined when no answer came. */
  readonly status?: number;
  readonly body?: unknown;
  /** Why no answer came: the error code of the connection (ECONNREFUSED, ECONNRESET, …). */
  readonly error?: string;
}

export interface LoadRequest {
  readonly url: string;
  readonly init?: RequestInit;
}

export interface Load {
  readonly startedAt: number;
  /** The outcomes so far. */
  readonly outcomes: readonly Outcome[];
  stop(): Promise<Outcome[]>;
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export function startLoad(clients: number, next: (n: number) => LoadRequest): Load {
  const startedAt = Date.now();
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const request = n++;
      const { url, init } = next(request);
      const sentAt = Date.now() - startedAt;
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: kept as text.
        }
        outcomes.push({ n: request, sentAt, doneAt: Date.now() - startedAt, status: res.status, body });
      } catch (err) {
        outcomes.push({ n: request, sentAt, doneAt: Date.now() - startedAt, error: errorCode(err) });
        // The server is gone (or not there yet): do not spin.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    startedAt,
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
