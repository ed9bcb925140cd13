/**
 * Counts the statements the services send to Postgres, on the wire (the `mesh` scenario of
 * bench/bench.mjs). pg_stat_statements would count them in the server, but it must be in
 * shared_preload_libraries, which takes a restart of a Postgres others' tests run on; so the
 * benchmark points the services at this proxy instead and it counts what passes through.
 *
 * Run by the benchmark with fork(): it listens on an ephemeral port of 127.0.0.1, says
 * `{ port }`, forwards every connection to PG_COUNT_TARGET (host:port) unchanged, and answers a
 * `count` message with the statements seen so far: every simple query ('Q') and every execution
 * of an extended-protocol portal ('E'), by the first word of its text (select, insert, update,
 * delete, with, begin, commit…), which is what pg_stat_statements counts as calls (node-postgres
 * sends each parameterised query as Parse/Bind/Describe/Execute/Sync, its statement unnamed).
 * Server → client bytes are passed on without being read.
 */
import { connect, createServer } from 'node:net';

const [host, port] = (process.env['PG_COUNT_TARGET'] ?? '127.0.0.1:5432').split(':');
const counts = {};
let total = 0;
/** With PG_COUNT_TEXTS=1, also by the statement's first 120 characters (to see which ones; costs CPU). */
const keepTexts = process.env['PG_COUNT_TEXTS'] === '1';
const texts = new Map();
const textOf = (b, from, to) =>
  b
    .toString('utf8', from, Math.min(to, from + 120))
    .replace(/\s+/g, ' ')
    .trim();
const kindOf = (b, from, to) => {
  const text = b
    .toString('latin1', from, Math.min(to, from + 40))
    .trimStart()
    .toLowerCase();
  return /^[a-z]+/.exec(text)?.[0] ?? 'other';
};
const count = (kind, text) => {
  counts[kind] = (counts[kind] ?? 0) + 1;
  total++;
  if (text !== undefined) texts.set(text, (texts.get(text) ?? 0) + 1);
};

/** Reads the client's message headers (type, length) and skips the bodies, across chunks. */
function scanner() {
  let carry = null;
  let skip = 0;
  let startup = true;
  let parsed = 'other';
  let parsedText;
  return (chunk) => {
    const b = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    let i = Math.min(skip, b.length);
    skip -= i;
    while (i < b.length) {
      if (startup) {
        // Untyped: the SSL/GSS request (answered by one byte, then the startup again), then the startup message.
        if (b.length - i < 8) return void (carry = b.subarray(i));
        const len = b.readInt32BE(i);
        const code = b.readInt32BE(i + 4);
        if (code !== 80877103 && code !== 80877104) startup = false;
        const adv = Math.min(len, b.length - i);
        skip = len - adv;
        i += adv;
        continue;
      }
      if (b.length - i < 5) return void (carry = b.subarray(i));
      const type = b[i];
      const len = b.readInt32BE(i + 1);
      const end = Math.min(i + 1 + len, b.length);
      if (type === 0x51) count(kindOf(b, i + 5, end), keepTexts ? textOf(b, i + 5, end - 1) : undefined);
      else if (type === 0x50) {
        // Parse: the statement's name (a C string), then its text.
        const nameEnd = b.indexOf(0, i + 5);
        parsed = nameEnd >= 0 && nameEnd < end ? kindOf(b, nameEnd + 1, end) : 'other';
        if (keepTexts) parsedText = nameEnd >= 0 && nameEnd < end ? textOf(b, nameEnd + 1, end) : '?';
      } else if (type === 0x45) count(parsed, parsedText);
      const adv = Math.min(1 + len, b.length - i);
      skip = 1 + len - adv;
      i += adv;
    }
  };
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = connect({ host, port: Number(port) });
  upstream.setNoDelay(true);
  const scan = scanner();
  client.on('data', (chunk) => {
    scan(chunk);
    upstream.write(chunk);
  });
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'count')
    process.send({
      total,
      byKind: { ...counts },
      ...(keepTexts
        ? { byText: Object.fromEntries([...texts].sort((a, b) => b[1] - a[1]).slice(0, 60)) }
        : {}),
    });
});
process.on('disconnect', () => process.exit(0));
