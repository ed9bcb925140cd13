/**
 * @hhb24/sim-b24: a simulated Bitrix24 for tests, the benchmark and the demo. Start one with
 * `startB24Sim({ port: 0 })`; drive it with the returned `sim`; read docs/simulators.md.
 */
export { startB24Sim, buildServer, type RunningSim, type StartOptions } from './server.js';
export {
  B24Sim,
  DEFAULT_APP,
  PLACEMENTS,
  type InstallResult,
  type PortalInfo,
  type SimOptions,
  type TimelineAction,
} from './sim.js';
export type * from './model.js';
export { buildPhpQuery, parsePhpQuery, type PhpValue } from './php-form.js';
export { validateLayout, SYSTEM_ICONS, SYSTEM_LOGOS } from './dto/layout.js';
export { message, type Lang } from './texts.js';
