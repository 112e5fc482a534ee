/**
 * The `serve` bench's reference: a bare Node `http` server that answers
 * every request 200 with one fixed JSON body (a real recommendation
 * response the responder gave in the same run, so the bytes on the wire are
 * the same size) — no routing, no validation, no store, no model. The
 * ceiling the responder's own work is compared with, on the same core.
 *
 * Usage: `node reference-server.js <body.json>`; prints `listening on http://127.0.0.1:<port>`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = readFileSync(process.argv[2]!);
const server = createServer((_request, response) => {
  response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
