import t from 'tap';
import { AppError, Type, ValidationError, createService, defineRpc, rpc } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';

const double = defineRpc(
  'test.rpc.double',
  Type.Object({ n: Type.Number() }),
  Type.Object({ doubled: Type.Number(), by: Type.String() }),
);

t.test(
  'request/reply between services: answers, remote errors with their codes, shared by replicas',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const servers = ['replica-a', 'replica-b'].map((name) => {
      const s = createService({ name: 'doubler', config: env.config });
      s.runtime.serve(double, async (req) => {
        if (req.n < 0) throw new ValidationError('n must not be negative');
        if (req.n === 13) throw new Error('unlucky');
        // A reply that does not fit the contract's schema.
        if (req.n === 7)
          return { doubled: 'fourteen', by: name } as unknown as { doubled: number; by: string };
        return { doubled: req.n * 2, by: name };
      });
      return s;
    });
    const client = createService({ name: 'asker', config: env.config });
    for (const s of [...servers, client]) {
      await s.runtime.start();
      t.teardown(() => s.app.close());
    }

    t.same((await client.runtime.call(double, { n: 21 })).doubled, 42);
    const by = new Set<string>();
    for (let i = 0; i < 40; i++) by.add((await client.runtime.call(double, { n: 100 + i })).by);
    t.same([...by].sort(), ['replica-a', 'replica-b'], 'both replicas answer (queue group)');

    const invalid = await client.runtime.call(double, { n: -1 }).catch((e: unknown) => e);
    t.type(invalid, AppError);
    t.equal((invalid as AppError).code, 'validation_failed');
    t.equal((invalid as AppError).status, 400);
    t.equal((invalid as AppError).retryable, false);
    const badShape = await client.runtime
      .call(double, { n: 'x' } as unknown as { n: number })
      .catch((e: AppError) => e);
    t.equal((badShape as AppError).code, 'validation_failed', 'the caller checks its request before sending');
    t.match((badShape as AppError).message, /^test\.rpc\.double request: n: must be number$/);
    const badReply = await client.runtime.call(double, { n: 7 }).catch((e: AppError) => e);
    t.equal((badReply as AppError).code, 'rpc_bad_reply', 'the caller checks the reply');
    t.match((badReply as AppError).message, /doubled: must be number/);
    const crashed = await client.runtime.call(double, { n: 13 }).catch((e: AppError) => e);
    t.equal((crashed as AppError).code, 'unexpected');
    t.equal((crashed as AppError).retryable, true);

    const nobody = defineRpc('test.rpc.nobody', Type.Object({}), Type.Object({}));
    const unavailable = await client.runtime.call(nobody, {}, { timeoutMs: 300 }).catch((e: AppError) => e);
    t.equal((unavailable as AppError).code, 'rpc_unavailable');
    t.equal((unavailable as AppError).retryable, true);
    t.equal(
      (unavailable as AppError).wait,
      true,
      'a service that does not answer makes the work wait, not fail',
    );
  },
);

t.test('a malformed request is answered with a validation error naming the field', async (t) => {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const server = createService({ name: 'hh-connector', config: env.config });
  let called = 0;
  server.runtime.serve(rpc.hhPdf, async () => {
    called++;
    return null;
  });
  await server.runtime.start();
  t.teardown(() => server.app.close());
  const { nc } = server.runtime.nats;
  const ask = async (body: unknown) => {
    const msg = await nc.request(server.runtime.naming.subject(rpc.hhPdf.subject), JSON.stringify(body), {
      timeout: 5000,
    });
    return JSON.parse(new TextDecoder().decode(msg.data)) as {
      ok: boolean;
      error?: { code: string; message: string; status: number };
    };
  };
  const wrongId = await ask({ memberId: 'portal-1', negotiationId: 'abc' });
  t.equal(wrongId.ok, false);
  t.equal(wrongId.error?.code, 'validation_failed');
  t.equal(wrongId.error?.status, 400);
  t.match(wrongId.error?.message, /^rpc\.hh\.pdf request: negotiationId: must match pattern/);
  const missing = await ask({ negotiationId: '12' });
  t.equal(missing.error?.message, 'rpc.hh.pdf request: memberId: is required');
  const wrongType = await ask({ memberId: 7, negotiationId: '12' });
  t.match(wrongType.error?.message, /^rpc\.hh\.pdf request: memberId: /);
  const notJson = await nc.request(server.runtime.naming.subject(rpc.hhPdf.subject), '{', { timeout: 5000 });
  t.match(new TextDecoder().decode(notJson.data), /request is not JSON/);
  t.equal(called, 0, 'the handler never sees a malformed request');
  t.same(await ask({ memberId: 'portal-1', negotiationId: '12' }), { ok: true, result: null });
  t.equal(called, 1);
});
