/**
 * `npm run sim:b24`: the simulator as a process. B24_SIM_PORT (3102), B24_SIM_HOST (127.0.0.1),
 * B24_SIM_PUBLIC_URL (what portals announce; default http://host:port), B24_SIM_APP_BASE_URL
 * (the default app's pages: {base}app, {base}install, {base}events/install; default
 * http://127.0.0.1:3000/b24/), B24_SIM_TOKEN_TTL_SEC (3600), B24_SIM_RATE_LIMIT (on|off),
 * B24_SIM_DEMO_PORTAL (a portal to create at start; empty for none).
 */
import { startB24Sim } from './server.js';

const env = process.env;
const port = Number(env['B24_SIM_PORT'] ?? 3102);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`B24_SIM_PORT must be a port number, got ${JSON.stringify(env['B24_SIM_PORT'])}`);
  process.exit(78);
}
const running = await startB24Sim({
  port,
  host: env['B24_SIM_HOST'] || '127.0.0.1',
  publicUrl: env['B24_SIM_PUBLIC_URL'] || undefined,
  appBaseUrl: env['B24_SIM_APP_BASE_URL'] || undefined,
  accessTokenTtlSec: env['B24_SIM_TOKEN_TTL_SEC'] ? Number(env['B24_SIM_TOKEN_TTL_SEC']) : undefined,
  rateLimit: env['B24_SIM_RATE_LIMIT'] === 'off' ? false : undefined,
  allowUndottedHandlerHosts: env['B24_SIM_ALLOW_UNDOTTED_HOSTS'] === 'true',
});
const demo = env['B24_SIM_DEMO_PORTAL'] ?? 'demo';
if (demo) running.sim.createPortal({ name: demo, lang: 'ru' });
console.log(`Bitrix24 simulator: ${running.url}`);
if (demo) console.log(`  portal ${demo}: ${running.url}/portal/${demo}/`);
console.log(`  control API: ${running.url}/_sim/portals`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void running.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
