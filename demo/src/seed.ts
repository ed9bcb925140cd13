/**
 * What the demo shows, in both simulators: an hh.ru employer with two managers, six vacancies and a
 * few hundred responses and invitations of every kind the generator makes (hidden names and
 * contacts, deleted resumes, one applicant who responded to several vacancies), and a
 * Russian-language Bitrix24 portal where our app is registered and ready to install. `npm run demo`
 * starts both in its process; the compose demo profile starts each in its own container (sim.ts).
 */
import { type GenerateOptions, type RunningHhSim, startHhSim } from '@hhb24/sim-hh';
import { DEFAULT_APP as B24_APP, type PortalInfo, type RunningSim, startB24Sim } from '@hhb24/sim-b24';
import { DEFAULT_APP as HH_APP } from '@hhb24/sim-hh';

/** The apps both simulators register by default; the services' development defaults name them too. */
export const DEMO_APPS = {
  hh: { clientId: HH_APP.clientId, clientSecret: HH_APP.clientSecret },
  b24: { clientId: B24_APP.clientId, clientSecret: B24_APP.clientSecret },
};

export function demoEmployer(seed: number, responses: number): GenerateOptions {
  return {
    seed,
    employers: 1,
    managersPerEmployer: 2,
    vacanciesPerManager: 3,
    negotiations: responses,
    invitationShare: 0.15,
    hiddenShare: 0.12,
    tombstones: Math.min(3, Math.floor(responses / 50)),
    heavyApplicantResponses: Math.min(4, Math.floor(responses / 20)),
    unpaidEmployers: 0,
  };
}

export interface HhOptions {
  host: string;
  port: number;
  /** Where browsers and the services reach it (default http://host:port). */
  publicUrl?: string;
  /** The gateway's base URL: hh.ru sends people back to {gateway}/hh/oauth/callback. */
  gatewayUrl: string;
  seed: number;
  responses: number;
  rateLimits: boolean;
}

export async function startDemoHh(o: HhOptions): Promise<RunningHhSim> {
  return startHhSim({
    host: o.host,
    port: o.port,
    publicUrl: o.publicUrl,
    generate: demoEmployer(o.seed, o.responses),
    settings: {
      // hh.ru's limit per client address, as in production; off only when asked (the demo's test).
      rateLimit: o.rateLimits ? { by: 'address', perSec: 10, burst: 10 } : { by: 'off' },
      apps: [{ ...HH_APP, name: 'hh-b24', redirectUri: `${o.gatewayUrl}/hh/oauth/callback` }],
    },
  });
}

export interface B24Options {
  host: string;
  port: number;
  publicUrl?: string;
  gatewayUrl: string;
  /** The simulated hh.ru's page for people, linked from the portal's menu. */
  hhUrl: string;
  portal: string;
  rateLimits: boolean;
}

export async function startDemoB24(o: B24Options): Promise<{ b24: RunningSim; portal: PortalInfo }> {
  const b24 = await startB24Sim({
    host: o.host,
    port: o.port,
    publicUrl: o.publicUrl,
    appBaseUrl: `${o.gatewayUrl}/b24/`,
    rateLimit: o.rateLimits ? undefined : false,
    links: [{ label: 'hh.ru (симулятор): вакансии и «Симулировать отклик»', url: `${o.hhUrl}/_sim/` }],
  });
  const portal = b24.sim.createPortal({ name: o.portal, lang: 'ru' });
  return { b24, portal };
}
