import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  type ActingUserTokens,
  type Bitrix24Client,
  type EntityType,
  type PortalEventReceived,
  type PortalRobotInvoked,
  Refusal,
  type Runtime,
  type UiSession,
  type ErrorCode,
  type TSchema,
  enqueue,
  entityTypeOf,
  eventContentKey,
  subjects,
} from '@hhb24/common';
import { hostAllowed, portalAddress } from './allowed-hosts.js';
import { enqueueAppUpdate } from './app-update.js';
import type { Config } from './config.js';
import { errorPage, sendHtml, sendRefusal } from './http.js';
import type { InstallVerifier } from './install.js';
import type { Installer } from './install-steps.js';
import type { Pages } from './pages.js';
import { type PageLoad, type PortalAuth, portalOrigin } from './portal-auth.js';
import {
  type B24CallAuth,
  B24EventForm,
  B24InstallEventForm,
  B24InstallForm,
  B24PageForm,
  B24PageQuery,
  B24RobotForm,
} from './schemas.js';
import { onUninstallCall } from './uninstall.js';
import type { AdminRights } from './admin-rights.js';
import { type Gateway, asPhpForm, schemaRefusal } from './validation.js';

/** Events whose consumer acts in the acting user's name and so needs the token the event carried. */
const USER_SCOPED_EVENTS = new Set(['ONCRMTIMELINEITEMACTION']);

/** Where a call came from, for the log: the peer address, and X-Forwarded-For as sent (unverified). */
export function callerOf(req: FastifyRequest): string {
  const forwarded = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(forwarded) ? forwarded.join(', ') : (forwarded ?? '')).slice(0, 200);
  return chain ? `${req.ip} (x-forwarded-for: ${chain})` : req.ip;
}

export interface B24Deps {
  runtime: Runtime;
  client: () => Bitrix24Client;
  config: Config;
  auth: PortalAuth;
  verifier: InstallVerifier;
  installer: Installer;
  pages: Pages;
  actingUsers: () => ActingUserTokens;
  adminRights: AdminRights;
}

/**
 * What Bitrix24 sends us: the installer page, the app page, the card tabs (iframe POSTs), events
 * and robot runs (queue-server POSTs). Each body is a PHP-style form checked by its schema
 * (schemas.ts), then authenticated before anything is read or changed.
 */
export function registerB24Routes(app: Gateway, deps: B24Deps): void {
  const { runtime, auth, pages } = deps;

  /** A refused page load: a readable page, framed only by a portal we allow. */
  const refuse = (reply: FastifyReply, req: FastifyRequest, err: unknown) => {
    if (!(err instanceof Refusal)) throw err;
    // The query names the portal whose frame may show the page, unless it is what failed its schema.
    const q = (req.validationError?.validationContext === 'querystring' ? {} : req.query) as B24PageQuery;
    const claimed = portalAddress(q.PROTOCOL ?? '', q.DOMAIN ?? '');
    const origin = claimed && hostAllowed(claimed.host, deps.config.B24_PORTAL_HOSTS) ? claimed.origin : null;
    req.log.info({ code: err.code, status: err.status, ...err.details }, 'bitrix24 page request refused');
    return sendHtml(reply, err.status, errorPage(err.status, err.texts), pages.policy(origin));
  };

  /** A page route: its form parsed and checked; a request that fails is refused with a page, not JSON. */
  const pageRoute = <Form extends TSchema>(body: Form, invalid: ErrorCode) => ({
    schema: { querystring: B24PageQuery, body },
    preValidation: asPhpForm,
    attachValidation: true,
    config: { invalid: { body: invalid } },
  });
  const schemaFailure = (req: FastifyRequest) =>
    req.validationError ? schemaRefusal(req.validationError, req) : null;

  // The installer: verify with the OAuth server, store the portal, show what «Готово» will set up.
  app.post('/b24/install', pageRoute(B24InstallForm, 'b24_install_incomplete'), async (req, reply) => {
    try {
      const invalid = schemaFailure(req);
      if (invalid) throw invalid;
      const form = req.body;
      const { portal, userId } = await deps.verifier.verify(req.query, form);
      // «Готово» asks the portal again whether this user is an admin, with the installer's own token.
      const authRef = await deps.adminRights.remember(
        portal.memberId,
        userId,
        true,
        form.AUTH_ID ?? '',
        Number(form.AUTH_EXPIRES) || 3600,
      );
      const session = {
        memberId: portal.memberId,
        userId,
        isAdmin: true,
        crmAccess: true,
        lang: portal.language === 'en' ? ('en' as const) : ('ru' as const),
        ...(authRef ? { authRef } : {}),
      };
      const steps = await deps.installer.status(portal.memberId, userId);
      return pages.render(reply, session, 'install', { portalOrigin: portalOrigin(portal), data: { steps } });
    } catch (err) {
      return refuse(reply, req, err);
    }
  });

  /**
   * A card's session: scoped to the lead or deal it opened on, once the portal said (with the
   * user's own token) that this user may read it. Without that scope the card says the user has
   * no access to this lead or deal.
   */
  const cardSession = async (
    load: PageLoad,
    type: EntityType,
    rawId: string | undefined,
  ): Promise<UiSession> => {
    const id = Number(rawId);
    if (!Number.isInteger(id) || id <= 0) return load.session;
    if (load.session.isAdmin || (load.session.crmAccess && (await load.mayRead(type, id))))
      return { ...load.session, entity: { type, id } };
    return load.session;
  };

  // The app page and the card tabs.
  for (const path of ['/b24/app', '/b24/placement'])
    app.post(path, pageRoute(B24PageForm, 'invalid_request'), async (req, reply) => {
      try {
        const invalid = schemaFailure(req);
        if (invalid) throw invalid;
        const load = await auth.page(req.query, req.body);
        const { memberId, userId, isAdmin } = load.session;
        const authRef = await deps.adminRights.remember(
          memberId,
          userId,
          isAdmin,
          load.auth.token,
          load.auth.expiresIn,
        );
        if (authRef) load.session.authRef = authRef;
        const origin = portalOrigin(load.portal);
        const tab = /^CRM_(LEAD|DEAL)_DETAIL_TAB$/.exec(load.placement);
        if (tab) {
          const entityType: EntityType = tab[1] === 'LEAD' ? 'lead' : 'deal';
          const session = await cardSession(load, entityType, load.placementOptions['ID']);
          return pages.render(reply, session, 'card', {
            portalOrigin: origin,
            form: { entityType, entityId: load.placementOptions['ID'] ?? '' },
          });
        }
        // «Все отклики (N)» of an activity opens the app on one lead or deal: a card as well.
        if (load.placementOptions['view'] === 'others') {
          const entityType = entityTypeOf(load.placementOptions['entityTypeId']);
          const session = entityType
            ? await cardSession(load, entityType, load.placementOptions['entityId'])
            : load.session;
          return pages.render(reply, session, 'app', {
            portalOrigin: origin,
            form: { ...load.placementOptions },
          });
        }
        return pages.render(reply, load.session, 'app', {
          portalOrigin: origin,
          form: { ...load.placementOptions },
        });
      } catch (err) {
        return refuse(reply, req, err);
      }
    });

  /**
   * Authenticates a queue-server POST (event, robot) by its application_token; a forged one gets
   * 401 and changes nothing. The token passes through users' browsers too (page loads), so it only
   * says which portal the call claims to come from: whatever the call asks for is confirmed with
   * Bitrix24 before anything changes (the uninstall here, robots and clicks by their consumers).
   */
  const authenticated = async (
    req: FastifyRequest,
    reply: FastifyReply,
    callAuth: B24CallAuth | undefined,
    handle: (memberId: string) => Promise<void | { status: number; body: Record<string, string> }>,
  ) => {
    try {
      const portal = await auth.event(callAuth);
      const answer = await handle(portal.memberId);
      return reply.code(answer?.status ?? 200).send(answer?.body ?? { result: 'ok' });
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      req.log.warn({ code: err.code, from: callerOf(req), ...err.details }, 'bitrix24 call refused');
      return sendRefusal(reply, err);
    }
  };
  /** A queue-server route: its form parsed and checked (a call that fails is answered 4xx as JSON). */
  const callRoute = <Form extends TSchema>(body: Form) => ({ schema: { body }, preValidation: asPhpForm });

  app.post('/b24/events', callRoute(B24EventForm), async (req, reply) =>
    authenticated(req, reply, req.body.auth, async (memberId) => {
      const form = req.body;
      const event = form.event.toUpperCase();
      if (event === 'ONAPPUNINSTALL')
        return onUninstallCall(runtime, deps.client(), deps.installer, {
          memberId,
          clean: form.data?.['CLEAN'] === '1',
          from: callerOf(req),
        });
      const data = form.data ?? {};
      // A new version of the app on the portal: what it lacks is registered (app-update.ts).
      if (event === 'ONAPPUPDATE')
        return void (await enqueueAppUpdate(runtime, memberId, data, form.ts ?? ''));
      // A click acted on in the clicking user's name: the token the event carried for that user is
      // handed over sealed in Redis (never on the stream); the consumer asks the portal whose it is.
      const actorToken = USER_SCOPED_EVENTS.has(event)
        ? await deps
            .actingUsers()
            .keep(memberId, form.auth?.access_token ?? '', Number(form.auth?.expires_in || 3600))
        : null;
      // Bitrix24's events carry no id: a repeated delivery and a second update in the same second
      // look the same. The generation tells them apart by when they came (EventOccurrences).
      const occurrence = await runtime.eventOccurrences.current(
        eventContentKey(
          memberId,
          event,
          form.event_handler_id ?? '',
          form.ts ?? '',
          data,
          form.auth?.user_id ?? '',
        ),
      );
      const payload: PortalEventReceived = {
        memberId,
        event,
        data,
        actorToken,
        occurrence,
        at: new Date().toISOString(),
      };
      await enqueue(runtime.db, {
        subject: subjects.portalEventReceived,
        msgId: `event:${occurrence.key}:${occurrence.generation}`,
        payload,
      });
      runtime.wakeOutbox();
    }),
  );

  // ONAPPINSTALL: the installer page records the install (after asking the OAuth server); this
  // callback only confirms a portal we already know and stores nothing. On a first install it
  // arrives before the installer page, so the portal is unknown yet: refused, but not a forgery.
  app.post('/b24/events/install', callRoute(B24InstallEventForm), async (req, reply) => {
    const memberId = req.body.auth?.member_id ?? '';
    if (!memberId || !(await deps.client().store.get(memberId))) {
      req.log.info(
        { memberId },
        'ONAPPINSTALL for a portal not installed yet: the installer page will record it',
      );
      return sendRefusal(reply, 'b24_portal_unknown');
    }
    return authenticated(req, reply, req.body.auth, async () => {});
  });

  // «Обновить статус НН» or «Сменить статус на НН» ran on a lead or deal: recorded for the service
  // that does the work. Another robot's code or a document that is no lead or deal fails the schema.
  app.post('/b24/robot', callRoute(B24RobotForm), async (req, reply) =>
    authenticated(req, reply, req.body.auth, async (memberId) => {
      const form = req.body;
      const [type, id] = form.document_id[2].split('_') as ['LEAD' | 'DEAL', string];
      const payload: PortalRobotInvoked = {
        memberId,
        code: form.code,
        entityType: type === 'LEAD' ? 'lead' : 'deal',
        entityId: Number(id),
        eventToken: form.event_token ?? '',
        properties: form.properties ?? {},
        at: new Date().toISOString(),
      };
      await enqueue(runtime.db, {
        subject: subjects.portalRobotInvoked,
        msgId: `robot:${memberId}:${form.workflow_id || payload.eventToken}`,
        payload,
      });
      runtime.wakeOutbox();
    }),
  );
}
