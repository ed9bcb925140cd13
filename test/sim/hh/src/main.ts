/**
 * `npm run sim:hh`: the simulated hh.ru as a process. Environment: HH_SIM_PORT (3101), HH_SIM_HOST
 * (127.0.0.1), HH_SIM_PUBLIC_URL, HH_SIM_SEED (1), HH_SIM_EMPLOYERS, HH_SIM_NEGOTIATIONS,
 * HH_SIM_REDIRECT_URI, HH_SIM_RATE_LIMIT (requests/s, 0 = off), HH_SIM_RATE_LIMIT_BY (address|account),
 * HH_SIM_TOKEN_TTL_SEC. Everything else: the control API under /_sim/.
 */
import { DEFAULT_APP, startHhSim } from './index.js';

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    console.error(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
    process.exit(78);
  }
  return Number(raw);
}

const rate = int('HH_SIM_RATE_LIMIT', 10);
const by = process.env['HH_SIM_RATE_LIMIT_BY'] ?? 'address';
if (by !== 'address' && by !== 'account') {
  console.error(`HH_SIM_RATE_LIMIT_BY must be address or account, got ${JSON.stringify(by)}`);
  process.exit(78);
}
const redirectUri = process.env['HH_SIM_REDIRECT_URI'];
const running = await startHhSim({
  port: int('HH_SIM_PORT', 3101),
  host: process.env['HH_SIM_HOST'] ?? '127.0.0.1',
  publicUrl: process.env['HH_SIM_PUBLIC_URL'] || undefined,
  generate: {
    seed: int('HH_SIM_SEED', 1),
    ...(process.env['HH_SIM_EMPLOYERS'] ? { employers: int('HH_SIM_EMPLOYERS', 3) } : {}),
    ...(process.env['HH_SIM_NEGOTIATIONS'] ? { negotiations: int('HH_SIM_NEGOTIATIONS', 400) } : {}),
  },
  settings: {
    rateLimit: rate === 0 ? { by: 'off' } : { by, perSec: rate, burst: rate },
    ...(process.env['HH_SIM_TOKEN_TTL_SEC']
      ? { accessTokenTtlSec: int('HH_SIM_TOKEN_TTL_SEC', 1_209_600) }
      : {}),
    ...(redirectUri ? { apps: [{ ...DEFAULT_APP, redirectUri }] } : {}),
  },
});
const s = running.sim.summary();
console.log(`hh.ru simulator listening on ${running.url}`);
console.log(
  `  ${s.employers} employers, ${s.vacancies} vacancies, ${s.negotiations} negotiations; app client_id hh-b24-dev`,
);
console.log(
  `  people: ${running.url}/_sim/   authorize: ${running.url}/oauth/authorize?response_type=code&client_id=hh-b24-dev`,
);
const stop = () => void running.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
