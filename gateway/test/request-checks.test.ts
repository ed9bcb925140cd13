import t from 'tap';
import { hostAllowed, portalAddress, tokenEndpoint } from '../src/allowed-hosts.js';
import { parsePhpForm } from '../src/php-form.js';
import { SESSION_TTL_MS, SessionSigner } from '../src/session.js';

t.test(
  'allowed hosts: exact hosts, subdomains of *.domain (not the domain itself), ports as written',
  async (t) => {
    const allowed = ['*.bitrix24.ru', 'crm.example.com', '127.0.0.1:3102'];
    t.ok(hostAllowed('acme.bitrix24.ru', allowed));
    t.ok(hostAllowed('ACME.Bitrix24.RU', allowed), 'case does not matter');
    t.notOk(hostAllowed('bitrix24.ru', allowed), 'the wildcard needs a subdomain');
    t.notOk(hostAllowed('evilbitrix24.ru', allowed), 'a suffix that is not a subdomain');
    t.notOk(hostAllowed('acme.bitrix24.ru.evil.com', allowed));
    t.ok(hostAllowed('127.0.0.1:3102', allowed));
    t.notOk(hostAllowed('127.0.0.1:3103', allowed), 'another port is another host');
    t.notOk(hostAllowed('crm.example.com:8443', allowed));
  },
);

t.test(
  'portal addresses and OAuth endpoints: only plain http(s) addresses, no credentials, queries or tricks',
  async (t) => {
    t.equal(portalAddress('1', 'acme.bitrix24.ru')?.toString(), 'https://acme.bitrix24.ru/');
    t.equal(
      portalAddress('0', '127.0.0.1:3102/portal/acme')?.toString(),
      'http://127.0.0.1:3102/portal/acme/',
    );
    for (const bad of [
      'user@evil.com',
      'evil.com?x=1',
      'evil.com#x',
      '//evil.com',
      '/portal',
      'a b.com',
      'evil.com\\@good.com',
      'x'.repeat(300),
    ]) {
      t.equal(portalAddress('1', bad), null, `refused: ${bad.slice(0, 40)}`);
    }
    const oauth = ['oauth.bitrix.info'];
    t.equal(
      tokenEndpoint('https://oauth.bitrix.info/rest/', oauth),
      'https://oauth.bitrix.info/oauth/token/',
    );
    t.equal(tokenEndpoint('https://evil.com/rest/', oauth), null, 'a host not allowed');
    t.equal(tokenEndpoint('https://oauth.bitrix.info/other/', oauth), null, 'not a REST endpoint');
    t.equal(tokenEndpoint('ftp://oauth.bitrix.info/rest/', oauth), null);
    t.equal(tokenEndpoint('https://x:y@oauth.bitrix.info/rest/', oauth), null);
  },
);

t.test('PHP-style forms: nesting, limits, no prototype keys', async (t) => {
  const form = parsePhpForm(
    'event=ONAPPUNINSTALL&data%5BCLEAN%5D=1&auth%5Bmember_id%5D=m1&document_id%5B%5D=crm&document_id%5B%5D=CCrmDocumentLead&document_id%5B%5D=LEAD_7&__proto__%5Bx%5D=1&a%5Bconstructor%5D%5Bprototype%5D=1',
  );
  t.same(JSON.parse(JSON.stringify(form)), {
    event: 'ONAPPUNINSTALL',
    data: { CLEAN: '1' },
    auth: { member_id: 'm1' },
    document_id: { 0: 'crm', 1: 'CCrmDocumentLead', 2: 'LEAD_7' },
  });
  t.equal(({} as Record<string, unknown>)['x'], undefined, 'Object.prototype untouched');
  const deep = parsePhpForm(`a${'[b]'.repeat(10)}=1`);
  t.same(Object.keys(deep), [], 'too deep: dropped');
  const many = parsePhpForm(Array.from({ length: 5000 }, (_, i) => `k${i}=v`).join('&'));
  t.equal(Object.keys(many).length, 1000, 'at most 1000 fields');
});

t.test('sessions: signed, expiring, and any change breaks them', async (t) => {
  const signer = new SessionSigner('k'.repeat(40));
  const session = { memberId: 'm1', userId: 7, isAdmin: false, crmAccess: true, lang: 'ru' as const };
  const token = signer.sign(session, 1_000_000);
  t.same(signer.verify(token, 1_000_000 + 1000), session);
  t.equal(signer.verify(token, 1_000_000 + SESSION_TTL_MS + 1), null, 'expired');
  t.equal(new SessionSigner('o'.repeat(40)).verify(token, 1_000_001), null, 'another key');
  const [body, mac] = token.split('.');
  const changed = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), isAdmin: true }),
  ).toString('base64url');
  t.equal(signer.verify(`${changed}.${mac}`, 1_000_001), null, 'a changed claim');
  for (const junk of ['', '.', 'a.b', undefined, 42, `${body}.`, 'x'.repeat(5000)])
    t.equal(signer.verify(junk, 1_000_001), null);
});
