import t from 'tap';
import { AppError, BreakerRegistry, UnavailableError, ValidationError } from '@hhb24/common';
import { createMetrics } from '../src/metrics.js';
import { silentLog } from './helpers.js';

const settings = {
  volumeThreshold: 5,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 300,
  rollingCountTimeoutMs: 10_000,
};
const down = () => Promise.reject(new AppError('http_502', 'bad gateway', { retryable: true }));
const fine = () => Promise.resolve('ok');

t.test('a breaker opens on a run of failures, not on two early ones, and recovers', async (t) => {
  const metrics = createMetrics('breaker-test');
  const breakers = new BreakerRegistry({ log: silentLog, metrics, settings });

  for (let i = 0; i < 2; i++) await t.rejects(breakers.fire('bitrix24', 'portal-a', down), /bad gateway/);
  t.notOk(breakers.get('bitrix24', 'portal-a').opened, 'two early failures do not open it');
  for (let i = 0; i < 3; i++) await t.rejects(breakers.fire('bitrix24', 'portal-a', down), /bad gateway/);
  t.ok(breakers.get('bitrix24', 'portal-a').opened, 'five failures in a row open it');

  let called = false;
  const rejected = await breakers
    .fire('bitrix24', 'portal-a', async () => (called = true))
    .catch((e: unknown) => e);
  t.type(rejected, UnavailableError, 'open: calls are refused with a retryable error');
  t.equal((rejected as UnavailableError).code, 'breaker_open');
  t.equal((rejected as UnavailableError).retryAfterMs, 300);
  t.notOk(called, 'the downstream was not called');
  t.equal(await breakers.fire('bitrix24', 'portal-b', fine), 'ok', 'another tenant is unaffected');
  t.match(await metrics.registry.getSingleMetricAsString('hhb24_breakers_open'), /downstream="bitrix24".* 1/);

  await new Promise((r) => setTimeout(r, 350));
  t.equal(
    await breakers.fire('bitrix24', 'portal-a', fine),
    'ok',
    'after the reset timeout a trial call goes through',
  );
  t.ok(breakers.get('bitrix24', 'portal-a').closed, 'and closes it');
  t.match(await metrics.registry.getSingleMetricAsString('hhb24_breakers_open'), /downstream="bitrix24".* 0/);
  t.match(await metrics.registry.getSingleMetricAsString('hhb24_breaker_events_total'), /event="open".* 1/);
  breakers.shutdown();
});

t.test('errors that say "your input is wrong" do not open a breaker', async (t) => {
  const breakers = new BreakerRegistry({ log: silentLog, settings });
  for (let i = 0; i < 10; i++) {
    await t.rejects(
      breakers.fire('hh', 'acc', () => Promise.reject(new ValidationError('bad field'))),
      ValidationError,
    );
  }
  t.ok(breakers.get('hh', 'acc').closed);
  breakers.shutdown();
});

t.test('idle breakers are forgotten beyond the limit, open ones are kept', async (t) => {
  const breakers = new BreakerRegistry({ log: silentLog, settings, maxEntries: 3 });
  for (let i = 0; i < 5; i++) await t.rejects(breakers.fire('b24', 'sick', down));
  const sick = breakers.get('b24', 'sick');
  t.ok(sick.opened);
  for (const tenant of ['a', 'b', 'c', 'd']) await breakers.fire('b24', tenant, fine);
  t.equal(breakers.get('b24', 'sick'), sick, 'the open breaker survived eviction');
  breakers.shutdown();
});
