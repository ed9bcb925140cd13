import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT_PATHS, safeUrl } from '../src/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
  return { lines, log: pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream) };
}

t.test('tokens, secrets and Authorization headers never reach the log', async (t) => {
  const { lines, log } = capture();
  log.info(
    {
      req: { headers: { authorization: 'Bearer SECRET-1', cookie: 'sid=SECRET-2' } },
      headers: { authorization: 'Bearer SECRET-3' },
      access_token: 'SECRET-4',
      portal: { refresh_token: 'SECRET-5', member_id: 'visible-member' },
      body: { auth: { application_token: 'SECRET-6' } },
      tokens: { accessToken: 'SECRET-7' },
      client_secret: 'SECRET-8',
      AUTH_ID: 'SECRET-9',
    },
    'call',
  );
  const out = lines.join('');
  t.notMatch(out, /SECRET-/);
  t.match(out, /visible-member/, 'non-secret fields stay');
  t.match(out, /\[redacted\]/);
});

t.test('logged URLs lose their query strings and secret path segments', async (t) => {
  t.equal(safeUrl('/oauth/callback?code=abc&state=xyz'), '/oauth/callback');
  t.equal(safeUrl('/hh/webhook/9f8e7d6c5b4a'), '/hh/webhook/***');
  t.equal(safeUrl('/install'), '/install');
});
