import type { AddressInfo } from 'node:net';
import { type GenerateOptions, DEFAULT_GENERATE } from './generator.js';
import { buildServer } from './server.js';
import { type SettingsPatch, applySettings, defaultSettings } from './settings.js';
import { HhSim } from './sim.js';

export { HhSim, type RespondInput } from './sim.js';
export {
  DEFAULT_APP,
  type SimSettings,
  type SettingsPatch,
  type SimApp,
  type RateLimitSettings,
} from './settings.js';
export { DEFAULT_GENERATE, type GenerateOptions, type GenerateSummary } from './generator.js';
export type { FaultRule, FaultKind, ActiveFault } from './faults.js';
export type { Delivery, DeliveryAttempt, Subscription } from './webhooks.js';
export type { RequestRecord } from './context.js';
export type { LoggedEvent, SimEvent } from './store.js';
export type { Employer, Manager, Vacancy, Resume, Negotiation, HiddenField } from './model.js';
export { EMPLOYER_STATES, TRANSITIONS } from './model.js';

export interface StartOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** The base URL written into API answers, when the simulator is reached through another address. */
  publicUrl?: string;
  settings?: SettingsPatch;
  /** Data to generate at start (default: DEFAULT_GENERATE); false starts empty. */
  generate?: GenerateOptions | false;
}

export interface RunningHhSim {
  /** Base URL of both faces: the hh.ru pages (/oauth/authorize) and the API. */
  url: string;
  sim: HhSim;
  close(): Promise<void>;
}

/** Starts the simulated hh.ru on one port. */
export async function startHhSim(options: StartOptions = {}): Promise<RunningHhSim> {
  const host = options.host ?? '127.0.0.1';
  const settings = applySettings(defaultSettings('http://pending'), options.settings ?? {});
  const sim = new HhSim(settings, options.generate === undefined ? DEFAULT_GENERATE : options.generate);
  const app = buildServer(sim);
  await app.listen({ port: options.port ?? 0, host });
  const port = (app.server.address() as AddressInfo).port;
  const url = (options.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(
    /\/$/,
    '',
  );
  sim.configure({ baseUrl: url });
  sim.reset();
  return {
    url,
    sim,
    async close() {
      sim.webhooks.close();
      await app.close();
      await sim.context.pdfs.close();
    },
  };
}
