/**
 * One of the demo's simulators, seeded as `npm run demo` seeds it, in a process of its own: the
 * compose demo profile runs `node demo/dist/src/sim.js hh` and `node demo/dist/src/sim.js b24`
 * next to the services (docs/operations.md, «The demo»).
 */
import { configOrExit } from '@hhb24/common';
import { simSchema } from './config.js';
import { startDemoB24, startDemoHh } from './seed.js';

const which = process.argv[2];
if (which !== 'hh' && which !== 'b24') {
  process.stderr.write('usage: node demo/dist/src/sim.js hh|b24\n');
  process.exit(64);
}
const c = configOrExit(`demo ${which} simulator`, simSchema, process.env);
const gatewayUrl = c.PUBLIC_URL.replace(/\/$/, '');
let close: () => Promise<void>;
if (which === 'hh') {
  const hh = await startDemoHh({
    host: c.DEMO_HOST,
    port: c.HH_SIM_PORT,
    publicUrl: c.HH_SIM_PUBLIC_URL,
    gatewayUrl,
    seed: c.DEMO_SEED,
    responses: c.DEMO_RESPONSES,
    rateLimits: c.DEMO_RATE_LIMITS,
  });
  process.stdout.write(`hh.ru simulator: ${hh.url}/_sim/\n`);
  close = () => hh.close();
} else {
  const { b24, portal } = await startDemoB24({
    host: c.DEMO_HOST,
    port: c.B24_SIM_PORT,
    publicUrl: c.B24_SIM_PUBLIC_URL,
    gatewayUrl,
    hhUrl: c.HH_SIM_PUBLIC_URL.replace(/\/$/, ''),
    portal: c.DEMO_PORTAL,
    rateLimits: c.DEMO_RATE_LIMITS,
  });
  process.stdout.write(`hh-b24 demo portal: ${portal.baseUrl}\n`);
  close = () => b24.close();
}
const stop = () =>
  void close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
