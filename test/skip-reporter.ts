/**
 * A node:test reporter that writes one JSON line per skipped test — its
 * name, file and reason — for scripts/run-tests.mjs, which counts and
 * prints them and, under `CI=true`, fails the run on a skip that is not a
 * declared limit (test/skips.ts).
 *
 * @example
 * ```sh
 * node --test --test-reporter=spec --test-reporter-destination=stdout \
 *   --test-reporter=./dist/test/skip-reporter.js --test-reporter-destination=skips.jsonl dist/x.test.js
 * ```
 */

/** A skipped test, as one line of the reporter's output. */
export interface SkippedTest {
  readonly name: string;
  readonly file: string | undefined;
  readonly reason: string;
}

interface TestEvent {
  readonly type: string;
  readonly data: { readonly name?: string; readonly file?: string; readonly skip?: string | boolean };
}

export default async function* skipReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name = '', file } = event.data;
    if (skip === undefined || skip === false) continue;
    const skipped: SkippedTest = { name, file, reason: typeof skip === 'string' ? skip : '' };
    yield `${JSON.stringify(skipped)}\n`;
  }
}
