import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';

const main = new URL('../src/main.js', import.meta.url).pathname;

/** Runs `npm run sim:b24`'s program and waits for the line with its URL. */
async function start(t: Test, env: Record<string, string>): Promise<{ url: string; lines: string[] }> {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGTERM'));
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${lines.join('\n')}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      const m = lines.map((l) => /^Bitrix24 simulator: (http:\/\/\S+)$/.exec(l)).find(Boolean);
      // The control API line comes last: everything is printed once it is there.
      if (m && lines.some((l) => l.includes('control API'))) {
        clearTimeout(timer);
        resolve({ url: m[1]!, lines });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
  });
}

t.test(
  'the simulator as a process: prints its URL; portals are created and read over the control API',
  async (t) => {
    const { url, lines } = await start(t, { B24_SIM_PORT: '0', B24_SIM_DEMO_PORTAL: 'demo' });
    t.match(lines.join('\n'), /portal demo: http:\/\/127\.0\.0\.1:\d+\/portal\/demo\//);
    const json = async (path: string, body?: unknown) => {
      const res = await fetch(
        `${url}${path}`,
        body === undefined
          ? {}
          : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      );
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown> & Array<Record<string, unknown>>,
      };
    };
    const created = await json('/_sim/portals', { name: 'acme', lang: 'en' });
    t.match(created.body, {
      name: 'acme',
      lang: 'en',
      clientEndpoint: `${url}/portal/acme/rest/`,
      memberId: /^[0-9a-f]{32}$/,
    });
    t.same((await json('/_sim/portals', { name: 'acme' })).status, 400, 'a taken name is refused');
    t.same((await json('/_sim/portals')).body.map((p) => p['name']).sort(), ['acme', 'demo']);
    await fetch(`${url}/_sim/apps/hh-b24-dev`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ installEventUrl: '' }),
    });
    const install = await json('/_sim/portals/acme/install', {});
    t.match(install.body, { accessToken: String, applicationToken: String });
    const lead = await json('/_sim/portals/acme/entities/lead', { TITLE: 'From the control API' });
    t.equal(lead.body['TITLE'], 'From the control API');
    const call = await fetch(
      `${url}/portal/acme/rest/crm.lead.list.json?auth=${install.body['accessToken']}`,
    );
    t.equal(((await call.json()) as { total: number }).total, 1, 'the app sees it over REST');
    t.equal((await json('/_sim/portals/acme/requests')).body.length, 1, 'the request log is readable');
    const page = await fetch(`${url}/portal/acme/crm/lead/list/`);
    t.equal(page.status, 200);
    t.match(await page.text(), /From the control API/, 'and a person sees it in the web view');
    const home = await (await fetch(`${url}/`)).text();
    t.match(home, /data-testid="create-portal-form"/, 'the home page offers to create a portal');
  },
);
