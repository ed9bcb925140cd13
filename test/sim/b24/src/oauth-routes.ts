/**
 * The OAuth server at the `server_endpoint` host: the token endpoint (refresh with rotation; GET
 * query as the docs show, POST form as the official JS SDK sends) and the trusted `app.info`.
 *
 * Token-endpoint HTTP statuses are not confirmed by Bitrix's docs; this follows the PHP SDK's
 * handling: invalid_grant 400, invalid_client 401.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthFault } from './model.js';
import { parsePhpQuery } from './php-form.js';
import { faultAnswer } from './rest/dispatcher.js';
import { TOKEN_ERROR_TEXT } from './oauth.js';
import type { B24Sim } from './sim.js';

function params(req: FastifyRequest): Record<string, string> {
  const query = req.raw.url?.split('?')[1] ?? '';
  const body =
    typeof req.body === 'string'
      ? parsePhpQuery(req.body)
      : ((req.body as Record<string, unknown> | undefined) ?? {});
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...parsePhpQuery(query), ...body }))
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  return out;
}

/** What an injected OAuth fault answers instead (a huge body or a redirect). */
function sendFault(reply: FastifyReply, fault: OAuthFault): FastifyReply {
  const r = faultAnswer(fault);
  return reply
    .code(r.status)
    .headers(r.headers ?? {})
    .header('content-type', r.contentType ?? 'application/json; charset=utf-8')
    .send(r.body);
}

export function registerOAuthRoutes(app: FastifyInstance, sim: B24Sim): void {
  const token = async (req: FastifyRequest) => {
    const started = Date.now();
    const p = params(req);
    const answer = (status: number, body: Record<string, unknown>, memberId: string | null = null) => {
      sim.logRequest({
        at: started,
        kind: 'oauth',
        memberId,
        clientId: p['client_id'] ?? null,
        userId: null,
        method: `oauth.${p['grant_type'] ?? 'token'}`,
        status,
        error: body['error'] as string | undefined,
      });
      return { status, body };
    };
    if (p['grant_type'] !== 'refresh_token') {
      return answer(400, {
        error: 'invalid_request',
        error_description: 'Only grant_type=refresh_token is supported by this server',
      });
    }
    const app = sim.apps.get(p['client_id'] ?? '');
    if (!app || app.clientSecret !== p['client_secret'])
      return answer(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    if (!p['refresh_token'])
      return answer(400, { error: 'invalid_request', error_description: 'Missing refresh_token' });
    const r = sim.tokens.refresh(p['refresh_token'], app.clientId);
    if (!r.ok) return answer(r.status, { error: r.error, error_description: r.description });
    const portal = sim.findPortal(r.token.memberId);
    if (!portal?.installs.has(app.clientId))
      return answer(
        400,
        { error: 'PAYMENT_REQUIRED', error_description: 'Payment required' },
        r.token.memberId,
      );
    return answer(
      200,
      {
        access_token: r.token.accessToken,
        refresh_token: r.token.refreshToken,
        expires: Math.floor(r.token.accessExpiresAt / 1000),
        expires_in: sim.tokens.accessTtlSec,
        scope: app.scopes.join(','),
        // In this answer `domain` is the OAuth server, not the portal (the portal is client_endpoint).
        domain: new URL(sim.baseUrl).host,
        server_endpoint: sim.serverEndpoint(),
        client_endpoint: sim.clientEndpoint(portal),
        member_id: portal.memberId,
        status: 'L',
        user_id: r.token.userId,
      },
      portal.memberId,
    );
  };
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/oauth-server/oauth/token/',
      handler: async (req, reply) => {
        const fault = sim.takeOAuthFault();
        if (fault) return sendFault(reply, fault);
        const r = await token(req);
        return reply.code(r.status).header('cache-control', 'no-store').send(r.body);
      },
    });
    // app.info on the OAuth server: trusted, because the app asks Bitrix, not the portal that called it.
    app.route({
      method,
      url: '/oauth-server/rest/app.info*',
      handler: async (req, reply) => {
        const fault = sim.takeOAuthFault();
        if (fault) return sendFault(reply, fault);
        const p = params(req);
        const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const check = sim.tokens.check(bearer ?? p['auth'] ?? p['access_token'] ?? '');
        if (!check.ok)
          return reply
            .code(401)
            .send({ error: check.error, error_description: TOKEN_ERROR_TEXT[check.error] });
        const portal = sim.findPortal(check.token.memberId);
        const install = portal?.installs.get(check.token.clientId);
        if (!portal || !install)
          return reply
            .code(401)
            .send({ error: 'APPLICATION_NOT_FOUND', error_description: 'Application not found' });
        const app = sim.app(check.token.clientId);
        return reply.send({
          result: {
            ID: 1,
            CODE: app.code,
            VERSION: app.version,
            STATUS: 'L',
            INSTALLED: install.installed,
            PAYMENT_EXPIRED: 'N',
            DAYS: null,
            LANGUAGE_ID: portal.lang,
            LICENSE: `${portal.lang}_project`,
            LICENSE_TYPE: 'project',
            LICENSE_FAMILY: 'project',
          },
        });
      },
    });
  }
}
