import t from 'tap';
import { createTestEnv, eventually, spawnNode } from '@hhb24/common/testing';
import { harness, testSpec } from './helpers.js';

const worker = new URL('./fixtures/consumer-worker.js', import.meta.url);

for (const mode of ['hang-before-commit', 'die-after-commit'] as const) {
  t.test(
    `a consumer process killed mid-message (${mode}): the message is redelivered and its effect happens once`,
    async (t) => {
      const env = createTestEnv();
      const spec = testSpec('crash-worker');
      t.teardown(() => env.cleanup());
      const h = await harness(env, [spec]);
      t.teardown(() => h.close());
      const childEnv = { ...env.env, FIXTURE_SPEC: JSON.stringify(spec) };

      await h.publish('m-1', { n: 1 });
      const doomed = spawnNode(worker, childEnv, [mode]);
      await doomed.waitForLine(mode === 'hang-before-commit' ? /^processing m-1/ : /^committed m-1/);
      doomed.child.kill('SIGKILL');
      const killed = await doomed.exited;
      t.equal(killed.signal, 'SIGKILL', 'the first worker died');

      const survivor = spawnNode(worker, childEnv, ['normal']);
      t.teardown(() => void survivor.child.kill('SIGKILL'));
      await survivor.waitForLine(/^started/);
      await eventually(async () => (await h.unfinished(spec)) === 0, {
        timeoutMs: 15_000,
        what: 'the message to be acknowledged',
      });

      const effects = await h.db('effects').select('msg_id', 'worker');
      t.equal(effects.length, 1, 'the effect happened exactly once');
      t.equal(effects[0]?.msg_id, 'm-1');
      if (mode === 'hang-before-commit') {
        t.equal(effects[0]?.worker, survivor.child.pid, 'the uncommitted work was redone by the survivor');
        t.ok(survivor.lines.includes('done m-1'));
      } else {
        t.equal(effects[0]?.worker, doomed.child.pid, 'the committed effect stands');
        await survivor.waitForLine(/^already done m-1/);
        t.notOk(
          survivor.lines.includes('done m-1'),
          'the redelivery found the inbox claim and did not redo the work',
        );
      }
      t.equal(Number((await h.db('dead_letters').count({ n: '*' }))[0]?.n), 0, 'nothing dead-lettered');

      survivor.child.kill('SIGTERM');
      t.equal((await survivor.exited).code, 0, 'the survivor shut down cleanly');
    },
  );
}
