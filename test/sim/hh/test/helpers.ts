import { request as httpRequest } from 'node:http';
import { type Manager, type RunningHhSim, type StartOptions, startHhSim } from '../src/index.js';

export const UA = 'hhb24-tests/1.0 (dev@hhb24.example)';

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
  bytes: Buffer;
}

export interface CallOptions {
  method?: string;
  token?: string;
  form?: Record<string, string | string[]>;
  json?: unknown;
  headers?: Record<string, string>;
  redirect?: 'manual' | 'follow';
}

/** One HTTP call with hh.ru's required User-Agent (HH-User-Agent) unless headers override it. */
export async function call(url: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'hh-user-agent': UA, ...(options.headers ?? {}) };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(options.form)) for (const one of [v].flat()) params.append(k, one);
    body = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, {
    method: options.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
    redirect: options.redirect ?? 'manual',
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  const text = type.includes('json') || type.startsWith('text/') ? bytes.toString('utf8') : '';
  return {
    status: res.status,
    headers: res.headers,
    body: type.includes('json') && text ? JSON.parse(text) : text,
    bytes,
  };
}

/** A raw request without any User-Agent (fetch always sends one). */
export function callWithoutUserAgent(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: {} }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A simulator for one test file: generated data, no rate limit unless asked (tests fire fast). */
export async function simFor(
  t: { teardown(fn: () => unknown): void },
  options: StartOptions = {},
): Promise<RunningHhSim> {
  const running = await startHhSim({
    ...options,
    settings: { rateLimit: { by: 'off' }, ...(options.settings ?? {}) },
  });
  t.teardown(() => running.close());
  return running;
}

/** The generated employers in roles tests need: a paid employer's admin and managers, and the unpaid employer. */
export function cast(running: RunningHhSim) {
  const store = running.sim.store;
  const employers = [...store.employers.values()];
  const paid = employers.find((e) => e.paidApiAccess)!;
  const unpaid = employers.find((e) => !e.paidApiAccess)!;
  const managersOf = (eid: string) => [...store.managers.values()].filter((m) => m.employerId === eid);
  const [admin, owner, granted, plain] = managersOf(paid.id) as [Manager, Manager, Manager, Manager];
  return {
    paid,
    unpaid,
    admin,
    owner,
    granted,
    plain,
    unpaidAdmin: managersOf(unpaid.id)[0]!,
    other: employers.find((e) => e !== paid)!,
  };
}
