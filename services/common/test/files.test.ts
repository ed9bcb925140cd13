import t from 'tap';
import { FILE_PART_BYTES, FileStore, StreamedFile, queryBase64 } from '@hhb24/common';
import { b24Harness } from './b24-helpers.js';

/** Bytes in uneven chunks, as a download arrives. */
function* chunked(bytes: Buffer, sizes: number[]): Generator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function gather(bytes: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const b of bytes) out.push(b);
  return Buffer.concat(out);
}

const sample = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919) % 256));

t.test('queryBase64: chunk by chunk, the URL-encoded base64 of the whole', async (t) => {
  for (const n of [0, 1, 2, 3, 4, 100_001]) {
    const bytes = sample(n);
    const encoded = await gather(queryBase64(chunked(bytes, [1, 5, 4096, 2, 70_000])));
    t.equal(encoded.toString('latin1'), encodeURIComponent(bytes.toString('base64')), `${n} bytes`);
  }
});

t.test('a file is stored in parts as it comes, read back part by part, replaced by key', async (t) => {
  const h = await b24Harness(t, { rateLimit: false });
  const files = new FileStore(h.db);
  const bytes = sample(2 * FILE_PART_BYTES + 12_345);
  const ref = await files.write('portal-a', 'hh-resume:1', chunked(bytes, [65_536, 1, 100_000]));
  t.equal(ref.size, bytes.length);
  t.match(ref.key, /^hh-resume:1:/, 'a key of its own under the prefix');
  const parts = await h
    .db('stored_files')
    .where({ member_id: 'portal-a', file_key: ref.key })
    .orderBy('part');
  t.same(
    parts.map((p: { data: Buffer }) => p.data.length),
    [FILE_PART_BYTES, FILE_PART_BYTES, 12_345],
    'three parts, none bigger than a part',
  );
  t.equal(await files.size('portal-a', ref.key), bytes.length);
  t.same(await gather(files.read('portal-a', ref.key, ref.size)), bytes, 'read back whole');
  t.equal(await files.size('portal-b', ref.key), null, 'another portal has no such file');

  // A failing source leaves nothing behind.
  async function* broken() {
    yield bytes.subarray(0, FILE_PART_BYTES + 1);
    throw new Error('connection reset');
  }
  const before = await h.db('stored_files').count<Array<{ count: string }>>('* as count');
  await t.rejects(files.write('portal-a', 'hh-resume:2', broken()), /connection reset/);
  t.same(await h.db('stored_files').count('* as count'), before, 'a broken download stores nothing');

  // A reader of a removed file hears it is gone (and tries again with a newer reference).
  const reading = files.read('portal-a', ref.key, ref.size);
  await reading.next();
  await files.remove('portal-a', [ref.key]);
  await t.rejects(gather(reading), { code: 'file_gone' }, 'a reader of a removed file hears it is gone');
});

t.test('a stored file goes into a batch command as streamed base64; a plain call refuses it', async (t) => {
  const h = await b24Harness(t, { rateLimit: false });
  const { memberId } = await h.installPortal();
  await h.client.call(memberId, 'crm.lead.userfield.add', {
    fields: { FIELD_NAME: 'HH_RESUME', USER_TYPE_ID: 'file', EDIT_FORM_LABEL: 'Резюме' },
  });
  const files = new FileStore(h.db);
  // Bytes whose base64 holds «+», «/» and «=»: each must arrive as itself.
  const bytes = Buffer.concat([
    Buffer.from('%PDF-1.4\n'),
    sample(FILE_PART_BYTES + 1001),
    Buffer.from([0xfb, 0xff]),
  ]);
  const ref = await files.write(memberId, 'hh-resume:9', [bytes]);
  const result = await h.client.batch(memberId, {
    lead: [
      'crm.lead.add',
      {
        fields: {
          TITLE: 'С резюме',
          UF_CRM_HH_RESUME: { fileData: ['cv.pdf', files.upload(memberId, ref)] },
        },
      },
    ],
  });
  t.same(result.errors, {});
  const lead = h.running.sim
    .entities(memberId, 'lead')
    .find((l) => String(l['ID']) === String(result.results['lead']))!;
  const file = h.running.sim.file(memberId, (lead['UF_CRM_HH_RESUME'] as { id: number }).id);
  t.equal(file?.name, 'cv.pdf');
  t.same(file?.content, bytes, 'the portal holds the stored bytes');

  const plain = new StreamedFile(3, () => [Buffer.from('abc')]);
  await t.rejects(
    h.client.call(memberId, 'crm.lead.add', { fields: { UF_CRM_HH_RESUME: { fileData: ['x.pdf', plain] } } }),
    /only inside a Bitrix24 batch command/,
  );
});
