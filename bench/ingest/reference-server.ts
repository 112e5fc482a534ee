/**
 * The `ingest` bench's reference: a bare Node `http` server that reads the
 * same request bodies, parses them as JSON and answers 202 with the count —
 * no validation, no dedup, no log write. The ceiling the ingest's own work
 * is compared with, measured in the same run on the same core.
 *
 * Usage: `node reference-server.js`; prints `listening on http://127.0.0.1:<port>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const events = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
    const body = JSON.stringify({ accepted: events.length, duplicates: 0 });
    response.writeHead(202, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
