import t from 'tap';
import { AppError, ValidationError, createService, defineRpc } from '@hhb24/common';
import { createTestEnv } from '@hhb24/common/testing';

const double = defineRpc<{ n: number }, { doubled: number; by: string }>('test.rpc.double');

t.test(
  'request/reply between services: answers, remote errors with their codes, shared by replicas',
  async (t) => {
    const env = createTestEnv();
    t.teardown(() => env.cleanup());
    const servers = ['replica-a', 'replica-b'].map((name) => {
      const s = createService({ name: 'doubler', config: env.config });
      s.runtime.serve(
        double,
        async (req) => {
          if (req.n < 0) throw new ValidationError('n must not be negative');
          if (req.n === 13) throw new Error('unlucky');
          return { doubled: req.n * 2, by: name };
        },
        {
          decode: (v) => {
            if (typeof (v as { n?: unknown }).n !== 'number') throw new ValidationError('n must be a number');
            return v as { n: number };
          },
        },
      );
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
    t.match((badShape as AppError).message, /n must be a number/);
    const crashed = await client.runtime.call(double, { n: 13 }).catch((e: AppError) => e);
    t.equal((crashed as AppError).code, 'unexpected');
    t.equal((crashed as AppError).retryable, true);

    const nobody = defineRpc<object, object>('test.rpc.nobody');
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
