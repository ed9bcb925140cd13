import t from 'tap';
import { installedPortal, rest, sim } from './helpers.js';

t.test(
  'tokens expire, refresh at the server_endpoint host rotates both, a used refresh token is refused',
  async (t) => {
    const running = await sim(t, { accessTokenTtlSec: 1 });
    const { portal, install } = await installedPortal(running);
    t.equal(portal.serverEndpoint, `${running.url}/oauth-server/rest/`, 'the OAuth server is not the portal');
    t.equal((await rest(portal, install.accessToken, 'profile')).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await rest(portal, install.accessToken, 'profile');
    t.same(
      [expired.status, expired.body],
      [401, { error: 'expired_token', error_description: 'The access token provided has expired' }],
    );

    const tokenUrl = portal.serverEndpoint.replace(/rest\/$/, 'oauth/token/');
    const viaGet = await fetch(
      `${tokenUrl}?grant_type=refresh_token&client_id=hh-b24-dev&client_secret=hh-b24-dev-secret&refresh_token=${install.refreshToken}`,
    );
    const pair = (await viaGet.json()) as Record<string, unknown>;
    t.equal(viaGet.status, 200, 'GET with query parameters, as the docs show');
    t.match(pair, {
      access_token: String,
      refresh_token: String,
      expires_in: 1,
      expires: Number,
      client_endpoint: portal.clientEndpoint,
      server_endpoint: portal.serverEndpoint,
      member_id: portal.memberId,
      domain: new URL(running.url).host,
    });
    t.not(pair['refresh_token'], install.refreshToken, 'a new refresh token');
    t.equal(
      (await rest(portal, pair['access_token'] as string, 'profile')).status,
      200,
      'the new access token works',
    );

    const reuse = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'hh-b24-dev',
        client_secret: 'hh-b24-dev-secret',
        refresh_token: install.refreshToken,
      }),
    });
    t.same(
      [reuse.status, ((await reuse.json()) as { error: string }).error],
      [400, 'invalid_grant'],
      'refresh tokens are single-use',
    );
    const viaPost = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'hh-b24-dev',
        client_secret: 'hh-b24-dev-secret',
        refresh_token: pair['refresh_token'] as string,
      }),
    });
    t.equal(viaPost.status, 200, 'POST form, as the official JS SDK sends it');
    const wrongSecret = await fetch(
      `${tokenUrl}?grant_type=refresh_token&client_id=hh-b24-dev&client_secret=nope&refresh_token=x`,
    );
    t.same(
      [wrongSecret.status, ((await wrongSecret.json()) as { error: string }).error],
      [401, 'invalid_client'],
    );
    const refreshes = running.sim.requests().filter((r) => r.kind === 'oauth');
    t.same(
      refreshes.map((r) => r.status),
      [200, 400, 200, 401],
      'the token endpoint is in the request log',
    );
  },
);

t.test('the OAuth server’s app.info is trusted and says whether installation finished', async (t) => {
  const running = await sim(t);
  const { portal, token } = await installedPortal(running, { finish: false });
  const info = async () =>
    (
      (await (await fetch(`${portal.serverEndpoint}app.info?auth=${token}`)).json()) as {
        result: { INSTALLED: boolean; CODE: string };
      }
    ).result;
  t.match(await info(), { INSTALLED: false, CODE: 'hhb24.recruiting' });
  running.sim.finishInstall(portal.memberId);
  t.match(await info(), { INSTALLED: true });
  t.equal((await fetch(`${portal.serverEndpoint}app.info?auth=bad`)).status, 401);
});

t.test(
  'uninstall: the portal answers APPLICATION_NOT_FOUND for the app’s tokens, the OAuth server PAYMENT_REQUIRED',
  async (t) => {
    const running = await sim(t);
    const { portal, install } = await installedPortal(running);
    await running.sim.uninstall(portal.memberId);
    t.same((await rest(portal, install.accessToken, 'app.info')).body, {
      error: 'APPLICATION_NOT_FOUND',
      error_description: 'Application not found',
    });
    running.sim.expireTokens(portal.memberId);
    t.equal(
      (await rest(portal, install.accessToken, 'profile')).body.error,
      'APPLICATION_NOT_FOUND',
      'even once expired: the portal checks the app before the expiry',
    );
    const trusted = await fetch(`${portal.serverEndpoint}app.info?auth=${install.accessToken}`);
    t.equal(trusted.status, 401);
    t.equal(((await trusted.json()) as { error: string }).error, 'APPLICATION_NOT_FOUND');
    const refresh = () =>
      fetch(
        `${portal.serverEndpoint.replace(/rest\/$/, 'oauth/token/')}?grant_type=refresh_token&client_id=hh-b24-dev&client_secret=hh-b24-dev-secret&refresh_token=${install.refreshToken}`,
      );
    const res = await refresh();
    t.equal(res.status, 400);
    t.same(await res.json(), { error: 'PAYMENT_REQUIRED', error_description: 'Payment required' });
    t.equal(((await (await refresh()).json()) as { error: string }).error, 'PAYMENT_REQUIRED', 'every time');

    const again = await running.sim.install(portal.memberId);
    t.equal(
      (await rest(portal, install.accessToken, 'profile')).body.error,
      'APPLICATION_NOT_FOUND',
      'a reinstall does not bring the old tokens back',
    );
    t.equal((await rest(portal, again.accessToken, 'profile')).status, 200, 'the new ones work');
  },
);
