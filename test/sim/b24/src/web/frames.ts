/**
 * An app inside the portal: an iframe that a hidden form POSTs into, as Bitrix does (query
 * DOMAIN, PROTOCOL, LANG, APP_SID; body AUTH_ID, REFRESH_ID, member_id, PLACEMENT,
 * PLACEMENT_OPTIONS as a JSON string…), and the parent side of the frame protocol (app-layout.js)
 * that answers BX24.js.
 */
import { randomBytes } from 'node:crypto';
import type { AppSpec, Portal, User } from '../model.js';
import type { B24Sim } from '../sim.js';
import { type Raw, html, scriptJson } from './html.js';

export interface FrameConfig {
  frameId: string;
  appSid: string;
  action: string;
  appOrigin: string;
  fields: Record<string, string>;
  initData: Record<string, unknown>;
  /** Where the parent asks for a finished install, new tokens, and frames for openApplication. */
  urls: { installFinish: string; refreshAuth: string; frame: string };
  placement: string;
}

export function frameConfig(
  sim: B24Sim,
  portal: Portal,
  app: AppSpec,
  user: User,
  options: { placement: string; placementOptions: Record<string, unknown>; url?: string },
): FrameConfig {
  const install = portal.installs.get(app.clientId);
  const installing = Boolean(install && !install.installed);
  const url = options.url ?? (installing ? app.installUrl : app.handlerUrl);
  const token = sim.issueToken(portal, app.clientId, user.ID);
  const appSid = randomBytes(16).toString('hex');
  const query = new URLSearchParams({
    DOMAIN: sim.domain(portal),
    PROTOCOL: sim.protocol(),
    LANG: portal.lang,
    APP_SID: appSid,
  });
  const action = `${url}${url.includes('?') ? '&' : '?'}${query}`;
  const placementOptions = JSON.stringify(options.placementOptions);
  const fields: Record<string, string> = {
    AUTH_ID: token.accessToken,
    AUTH_EXPIRES: String(sim.tokens.accessTtlSec),
    REFRESH_ID: token.refreshToken,
    SERVER_ENDPOINT: sim.serverEndpoint(),
    APPLICATION_TOKEN: install?.applicationToken ?? '',
    APPLICATION_SCOPE: app.scopes.join(','),
    member_id: portal.memberId,
    status: 'L',
    PLACEMENT: options.placement,
    PLACEMENT_OPTIONS: placementOptions,
  };
  const base = sim.portalBase(portal);
  let appOrigin = '';
  try {
    appOrigin = new URL(url).origin;
  } catch {
    appOrigin = '';
  }
  return {
    frameId: `app-frame-${appSid.slice(0, 8)}`,
    appSid,
    action,
    appOrigin,
    fields,
    placement: options.placement,
    initData: {
      LANG: portal.lang,
      DOMAIN: sim.domain(portal),
      PROTOCOL: Number(sim.protocol()),
      PATH: '/rest',
      AUTH_ID: token.accessToken,
      AUTH_EXPIRES: sim.tokens.accessTtlSec,
      REFRESH_ID: token.refreshToken,
      MEMBER_ID: portal.memberId,
      FIRST_RUN: installing,
      IS_ADMIN: user.isAdmin,
      INSTALL: installing,
      // What app.option.set and user.option.set saved, as the frame hands them to BX24.js.
      USER_OPTIONS: { ...install?.userOptions.get(user.ID) },
      APP_OPTIONS: { ...install?.appOptions },
      PLACEMENT: options.placement,
      PLACEMENT_OPTIONS: options.placementOptions,
    },
    urls: {
      installFinish: `${base}app/${encodeURIComponent(app.clientId)}/install-finish`,
      refreshAuth: `${base}app/${encodeURIComponent(app.clientId)}/refresh-auth`,
      frame: `${base}app/${encodeURIComponent(app.clientId)}/frame`,
    },
  };
}

/** The frame in a page: the layout div, the form, the iframe, and the script that submits the form. */
export function frameHtml(config: FrameConfig, options: { height?: number; testId?: string } = {}): Raw {
  return html`<div class="app-layout" id="${config.frameId}-layout" data-app-sid="${config.appSid}" data-placement="${config.placement}" style="height:${options.height ?? 600}px">
  <iframe name="${config.frameId}" id="${config.frameId}" class="app-iframe" data-testid="${options.testId ?? 'app-iframe'}" data-placement="${config.placement}" allow="clipboard-write"></iframe>
</div>
<script>B24SimLayout.mount(${scriptJson(config)});</script>`;
}
