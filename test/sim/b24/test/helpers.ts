import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { Test } from 'tap';
import {
  type PortalInfo,
  type RunningSim,
  type StartOptions,
  parsePhpQuery,
  startB24Sim,
} from '../src/index.js';

export async function sim(t: Test, options: StartOptions = {}): Promise<RunningSim> {
  const running = await startB24Sim({ port: 0, ...options });
  t.teardown(() => running.close());
  return running;
}

export interface Received {
  path: string;
  contentType: string;
  raw: string;
  body: Record<string, unknown>;
  at: number;
}

/** A stand-in for the app's server: records every POST (events, install callback, robot calls). */
export async function collector(
  t: Test,
  respond: (req: IncomingMessage, res: ServerResponse, raw: string) => void = (_q, res) => res.end('ok'),
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        raw,
        body: parsePhpQuery(raw),
        at: Date.now(),
      });
      respond(req, res, raw);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, received };
}

export interface CallResult {
  status: number;
  body: Record<string, unknown> & {
    result?: unknown;
    error?: unknown;
    error_description?: string;
    next?: number;
    total?: number;
  };
}

/** A REST call as an app would make it: JSON body, token in `auth`. */
export async function rest(
  portal: PortalInfo,
  token: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<CallResult> {
  const res = await fetch(`${portal.clientEndpoint}${method}.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, auth: token }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as CallResult['body'] };
  } catch {
    return { status: res.status, body: { raw: text } };
  }
}

/** A portal with the default app installed and its installation finished; no install callback is sent. */
export async function installedPortal(
  running: RunningSim,
  options: { lang?: 'ru' | 'en'; name?: string; finish?: boolean } = {},
) {
  running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
  const portal = running.sim.createPortal({ lang: options.lang ?? 'ru', name: options.name });
  const install = await running.sim.install(portal.memberId);
  if (options.finish !== false) running.sim.finishInstall(portal.memberId);
  return { portal, token: install.accessToken, install };
}
