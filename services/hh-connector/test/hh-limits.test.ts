/**
 * What hh.ru answers is read only up to a cap (PDF and JSON apart), as a stream that is cut there,
 * and a redirect is never followed: every call carries the account's token or the app's secret.
 */
import { createServer } from 'node:http';
import t from 'tap';
import { HH_ERROR_CODES, HhError } from '../src/hh/index.js';
import { harness, people } from './helpers.js';

/** A download's bytes, gathered (the service writes them into the file store instead). */
async function whole(bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of bytes) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const MB = 1_000_000;

t.test('answers bigger than their cap are cut where the cap is, and fail naming it', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const sim = h.running.sim;
  const account = await h.connect(admin.userId);
  const vacancy = [...sim.store.vacancies.values()].find((v) => v.managerId === admin.id)!;
  const n = sim.respond({ vacancyId: vacancy.id });
  const client = h.hh.account(account.id);
  const item = await client.negotiation(n.id);
  const resume = await client.resume(item.resume!.url);
  const pdfUrl = resume.actions.download.pdf.url;
  const pdfPath = new URL(pdfUrl).pathname;

  const pdf = await client.resumePdf(pdfUrl, whole);
  t.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-', 'a real resume PDF passes the default caps');

  const capped = h.client({
    pdfCap: { bytes: 2 * MB, setting: 'HH_MAX_PDF_BYTES' },
    jsonCap: { bytes: 1 * MB, setting: 'HH_MAX_JSON_BYTES' },
  });

  await t.test('a PDF without a declared length: read to the cap, then the stream is dropped', async (t) => {
    const fault = sim.addFault({ kind: 'huge_body', match: pdfPath, bytes: 200 * MB, times: 1 });
    const started = process.memoryUsage().arrayBuffers;
    const err = await capped
      .account(account.id)
      .resumePdf(pdfUrl, whole)
      .catch((e: unknown) => e);
    t.type(err, HhError);
    t.match(err, { code: HH_ERROR_CODES.tooLarge, retryable: false, wait: false });
    t.match(
      (err as Error).message,
      /larger than HH_MAX_PDF_BYTES \(2000000 bytes\)/,
      'the failure names the setting and its value',
    );
    t.match(
      (err as Error).message,
      /: GET \/resumes\/\w+\/download\/…$/,
      'and the path without its query or the file name (the applicant’s name)',
    );
    t.ok(
      fault.servedBytes < 20 * MB,
      `the simulator made ${(fault.servedBytes / MB).toFixed(1)} MB of the 200 MB before the client hung up`,
    );
    t.ok(
      process.memoryUsage().arrayBuffers - started < 20 * MB,
      'the client held no more than the cap and what was in flight',
    );
  });

  await t.test('a declared length above the cap is refused before reading', async (t) => {
    const fault = sim.addFault({
      kind: 'huge_body',
      match: `/negotiations/${n.id}`,
      bytes: 50 * MB,
      declareLength: true,
      times: 1,
    });
    const err = await capped
      .account(account.id)
      .negotiation(n.id)
      .catch((e: unknown) => e);
    t.match(err, { code: HH_ERROR_CODES.tooLarge, retryable: false });
    t.match((err as Error).message, /larger than HH_MAX_JSON_BYTES \(1000000 bytes\)/);
    t.ok(fault.servedBytes < 10 * MB, `${(fault.servedBytes / MB).toFixed(1)} MB made of 50 MB`);
  });

  await t.test('JSON has its own, smaller cap: a PDF-sized JSON answer is refused', async (t) => {
    sim.addFault({ kind: 'huge_body', match: '/me', bytes: 1.5 * MB, times: 1 });
    const err = await capped
      .account(account.id)
      .me()
      .catch((e: unknown) => e);
    t.match(err, { code: HH_ERROR_CODES.tooLarge });
    t.match((err as Error).message, /HH_MAX_JSON_BYTES/);
    t.equal((await capped.account(account.id).me()).id, admin.userId, 'the next answer is read as usual');
  });
});

t.test('a redirect is refused: the token never goes to the address it names', async (t) => {
  const h = await harness(t);
  const { admin } = people(h.running);
  const sim = h.running.sim;
  const account = await h.connect(admin.userId);
  const hits: Array<{ url: string; authorization: string | undefined }> = [];
  const evil = createServer((req, res) => {
    hits.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => evil.close(() => r())));
  const elsewhere = `http://127.0.0.1:${(evil.address() as { port: number }).port}/me`;

  sim.addFault({ kind: 'redirect', match: '/me', location: elsewhere, times: 1 });
  const err = await h.hh
    .account(account.id)
    .me()
    .catch((e: unknown) => e);
  t.type(err, HhError);
  t.match(err, { code: HH_ERROR_CODES.redirected, retryable: false });
  t.match((err as Error).message, /redirect, which is not followed/);
  t.same(hits, [], 'the address the redirect named was never called');
  t.equal(sim.requests({ path: '/me' }).at(-1)?.status, 302, 'hh.ru’s answer was the redirect');

  await t.test('the token endpoint too (the app’s client_secret travels there)', async (t) => {
    sim.addFault({
      kind: 'redirect',
      match: '/token',
      location: elsewhere.replace('/me', '/token'),
      times: 1,
    });
    const code = sim.authorize({ userId: admin.userId });
    const refused = await h.hh.oauth.exchangeCode(code).catch((e: unknown) => e);
    t.match(refused, { code: HH_ERROR_CODES.redirected });
    t.same(hits, [], 'nothing reached the other address');
  });
});
