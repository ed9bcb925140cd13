/**
 * The web view in a real browser (Debian's chromium through playwright-core): a person creates
 * a portal, installs an app whose installer calls BX24.installFinish(), opens a card, clicks
 * timeline buttons and placement tabs, and moves a stage so that a robot runs.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import t, { type Test } from 'tap';
import { type Browser, chromium } from 'playwright-core';
import type { RunningSim } from '../src/index.js';
import { rest, sim } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const PDF = Buffer.from('%PDF-1.4\n% Малыш Алексей\n');

interface AppCall {
  path: string;
  query: URLSearchParams;
  body: URLSearchParams;
}

/** A tiny app: installer, app page and tab pages that use BX24 from the simulator, plus a handler for events and robots. */
async function testApp(t: Test, simUrl: string): Promise<{ url: string; calls: AppCall[] }> {
  const calls: AppCall[] = [];
  const page = (
    title: string,
    body: URLSearchParams,
    extra: string,
  ) => `<!doctype html><html><head><meta charset="utf-8"><script src="${simUrl}/api/v1/"></script></head>
<body><h1>${title}</h1><div id="placement">${body.get('PLACEMENT') ?? ''}</div><pre id="options">${(body.get('PLACEMENT_OPTIONS') ?? '').replace(/</g, '&lt;')}</pre>
<div id="ready"></div>${extra}<script>BX24.init(function () { document.getElementById('ready').textContent = 'ready:' + BX24.placement.info().placement; });</script></body></html>`;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = new URLSearchParams(raw);
      calls.push({ path: url.pathname, query: url.searchParams, body });
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (url.pathname === '/b24/install') {
        return res.end(
          page(
            'Установка приложения',
            body,
            '<button id="finish" onclick="BX24.installFinish()">Готово</button>',
          ),
        );
      }
      if (url.pathname === '/b24/app') {
        return res.end(
          page(
            'Приложение',
            body,
            `<div id="installed"></div><button id="open-app" onclick="BX24.openApplication({from: 'button'}, function () { document.getElementById('closed').textContent = 'closed'; }, {title: 'Из приложения'})">Открыть</button>
<button id="close-app" onclick="BX24.closeApplication()">Закрыть</button><div id="closed"></div>
<script>BX24.init(function () { BX24.callMethod('app.info', {}, function (r) { document.getElementById('installed').textContent = 'INSTALLED=' + r.data().INSTALLED; }); });</script>`,
          ),
        );
      }
      if (url.pathname === '/b24/tab') return res.end(page('Вкладка', body, ''));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls };
}

async function browser(t: Test): Promise<Browser> {
  const b = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => b.close());
  return b;
}

async function setup(
  t: Test,
): Promise<{ running: RunningSim; app: { url: string; calls: AppCall[] }; b: Browser }> {
  const running = await sim(t, { rateLimit: false });
  const app = await testApp(t, running.url);
  running.sim.updateApp('hh-b24-dev', {
    handlerUrl: `${app.url}/b24/app`,
    installUrl: `${app.url}/b24/install`,
    installEventUrl: `${app.url}/b24/events/install`,
  });
  return { running, app, b: await browser(t) };
}

if (!existsSync(CHROMIUM)) {
  t.fail(
    `${CHROMIUM} is missing, so the web view cannot be tested: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`,
  );
} else {
  t.test(
    'a person creates a portal and installs the app; the installer’s BX24.installFinish() finishes it',
    async (t) => {
      const { running, app, b } = await setup(t);
      const page = await b.newPage();
      await page.goto(running.url);
      await page.getByTestId('portal-name').fill('acme');
      await page.getByTestId('portal-lang').selectOption('ru');
      await page.getByTestId('create-portal').click();
      await page.waitForURL(`${running.url}/portal/acme/`);
      const portal = running.sim.portalInfo('acme');
      t.equal(await page.getByTestId('member-id').textContent(), portal.memberId, 'the new portal’s desk');

      await page.getByTestId('menu-market').click();
      await page.getByTestId('install-app').click();
      await page.getByTestId('app-installing').waitFor();
      const installer = page.frameLocator('[data-testid=app-iframe]');
      await installer.locator('#ready').filter({ hasText: 'ready:DEFAULT' }).waitFor();
      const post = app.calls.find((c) => c.path === '/b24/install')!;
      t.match(
        Object.fromEntries(post.query),
        { DOMAIN: portal.domain, PROTOCOL: '0', LANG: 'ru', APP_SID: /^[0-9a-f]{32}$/ },
        'query string of the iframe POST',
      );
      t.match(
        Object.fromEntries(post.body),
        {
          AUTH_ID: /\w+/,
          REFRESH_ID: /\w+/,
          AUTH_EXPIRES: '3600',
          member_id: portal.memberId,
          PLACEMENT: 'DEFAULT',
          PLACEMENT_OPTIONS: '{}',
          SERVER_ENDPOINT: portal.serverEndpoint,
          APPLICATION_TOKEN: /\w+/,
        },
        'form body of the iframe POST',
      );
      t.equal(running.sim.portal('acme').installs.get('hh-b24-dev')!.installed, false, 'not installed yet');
      const install = app.calls.find((c) => c.path === '/b24/events/install');
      t.equal(install?.body.get('event'), 'ONAPPINSTALL', 'the install callback went to the app too');

      await installer.locator('#finish').click();
      await page.getByTestId('install-finished').waitFor();
      t.equal(
        running.sim.portal('acme').installs.get('hh-b24-dev')!.installed,
        true,
        'installFinish reached the portal',
      );
      const appFrame = page.frameLocator('[data-testid=app-iframe]');
      await appFrame.locator('#installed').filter({ hasText: 'INSTALLED=true' }).waitFor();
      t.pass('the app page opened in the iframe and BX24.callMethod(app.info) says INSTALLED');

      await appFrame.locator('#open-app').click();
      const slider = page.frameLocator('[data-testid=slider-iframe]');
      await slider.locator('#options').filter({ hasText: '"from":"button"' }).waitFor();
      t.equal(
        await page.locator('.slider-title').textContent(),
        'Из приложения',
        'BX24.openApplication opened the app in a slider with its params',
      );
      await slider.locator('#close-app').click();
      await appFrame.locator('#closed').filter({ hasText: 'closed' }).waitFor();
      t.equal(
        await page.getByTestId('app-slider').count(),
        0,
        'BX24.closeApplication closed it and the opener heard',
      );
    },
  );

  t.test('a card: fields and files, timeline buttons, the placement tab, notifications', async (t) => {
    const { running, app, b } = await setup(t);
    running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
    const portal = running.sim.createPortal({ name: 'card', lang: 'ru' });
    const { accessToken: token } = await running.sim.install(portal.memberId);
    running.sim.finishInstall(portal.memberId);
    await rest(portal, token, 'crm.lead.userfield.add', {
      fields: { FIELD_NAME: 'HH_RESUME', USER_TYPE_ID: 'file', EDIT_FORM_LABEL: { ru: 'Резюме' } },
    });
    const leadId = (
      await rest(portal, token, 'crm.lead.add', {
        fields: {
          TITLE: 'Отклик: Алексей',
          NAME: 'Алексей',
          UF_CRM_HH_RESUME: { fileData: ['Малыш Алексей.pdf', PDF.toString('base64')] },
        },
      })
    ).body.result as number;
    await rest(portal, token, 'placement.bind', {
      PLACEMENT: 'CRM_LEAD_DETAIL_TAB',
      HANDLER: `${app.url}/b24/tab`,
      TITLE: 'HH.ru',
    });
    await rest(portal, token, 'event.bind', {
      event: 'ONCRMTIMELINEITEMACTION',
      handler: `${app.url}/b24/events`,
    });
    const added = await rest(portal, token, 'crm.activity.configurable.add', {
      ownerTypeId: 1,
      ownerId: leadId,
      fields: {},
      layout: {
        icon: { code: 'document' },
        header: { title: 'Отклик', tags: { s: { title: 'новый', type: 'primary' } } },
        body: {
          logo: { code: 'document' },
          blocks: {
            vacancy: {
              type: 'withTitle',
              properties: {
                title: 'Вакансия',
                inline: true,
                block: { type: 'text', properties: { value: 'Программист' } },
              },
            },
            resume: {
              type: 'link',
              properties: { text: 'Резюме', action: { type: 'redirect', uri: 'https://hh.ru/resume/abc' } },
            },
            list: {
              type: 'link',
              properties: { text: 'Все лиды', action: { type: 'redirect', uri: '/crm/lead/list/' } },
            },
          },
        },
        footer: {
          buttons: {
            others: {
              title: 'Другие отклики',
              type: 'primary',
              action: { type: 'restEvent', id: 'others', actionParams: { negotiation: 'n-1' } },
            },
            open: {
              title: 'Открыть',
              type: 'secondary',
              action: {
                type: 'openRestApp',
                actionParams: { negotiation: 'n-1' },
                sliderParams: { title: 'Отклик n-1' },
              },
            },
          },
        },
      },
    });
    t.equal(added.status, 200);
    await rest(portal, token, 'im.notify.system.add', { USER_ID: 1, MESSAGE: 'Найдено [B]25[/B] откликов' });

    const page = await b.newPage();
    const card = `${portal.baseUrl}crm/lead/details/${leadId}/`;
    await page.goto(card);
    t.equal(await page.getByTestId('entity-title').textContent(), 'Отклик: Алексей');
    t.equal(await page.locator('[data-testid=entity-fields] dd[data-field=NAME]').textContent(), 'Алексей');
    const fileLink = page.getByTestId('file-link');
    t.equal(await fileLink.textContent(), 'Малыш Алексей.pdf');
    const download = await page.request.get((await fileLink.getAttribute('href'))!);
    t.same(Buffer.from(await download.body()), PDF, 'the file downloads from the card');
    t.equal(
      await page.locator('[data-testid=activity] [data-testid=activity-title]').textContent(),
      'Отклик',
      'the activity is drawn from its layout',
    );
    const external = page.locator(
      '[data-testid=activity-link][data-button-key="body.blocks.resume.properties.action"]',
    );
    t.same(
      [await external.getAttribute('href'), await external.getAttribute('target')],
      ['https://hh.ru/resume/abc', '_blank'],
      'an external redirect opens a new tab',
    );

    await page.locator('[data-testid=activity-button][data-button-key=others]').click();
    await page.getByTestId('event-sent').waitFor();
    await running.sim.idle();
    const event = app.calls.find((c) => c.path === '/b24/events')!;
    t.match(
      Object.fromEntries(event.body),
      {
        event: 'ONCRMTIMELINEITEMACTION',
        'data[id]': 'others',
        'data[negotiation]': 'n-1',
        'data[entityId]': String(leadId),
        'auth[member_id]': portal.memberId,
      },
      'restEvent sent the event',
    );

    await page.locator('[data-testid=activity-button][data-button-key=open]').click();
    const slider = page.frameLocator('[data-testid=slider-iframe]');
    await slider.locator('#ready').filter({ hasText: 'ready:DEFAULT' }).waitFor();
    const options = JSON.parse((await slider.locator('#options').textContent())!) as Record<string, string>;
    t.match(
      options,
      {
        negotiation: 'n-1',
        entityTypeId: '1',
        entityId: String(leadId),
        activityId: String((added.body.result as { activity: { id: number } }).activity.id),
      },
      'openRestApp opened the app with its params',
    );
    t.equal(await page.locator('.slider-title').textContent(), 'Отклик n-1');
    await page.getByTestId('slider-close').click();

    await page
      .locator('[data-testid=activity-link][data-button-key="body.blocks.list.properties.action"]')
      .click();
    await page.waitForURL(`${portal.baseUrl}crm/lead/list/`);
    t.equal(await page.getByTestId('entity-row').count(), 1, 'a portal link goes to the portal page');

    await page.goto(card);
    await page.getByTestId('placement-tab').click();
    const tab = page.frameLocator('[data-testid=placement-iframe]');
    await tab.locator('#ready').filter({ hasText: 'ready:CRM_LEAD_DETAIL_TAB' }).waitFor();
    t.same(
      JSON.parse((await tab.locator('#options').textContent())!),
      { ID: String(leadId) },
      'the tab got PLACEMENT_OPTIONS as a JSON string',
    );

    await page.getByTestId('menu-notifications').click();
    t.match(
      await page.getByTestId('notification').innerHTML(),
      /Найдено <b>25<\/b> откликов/,
      'the notification, with its BB codes',
    );
  });

  t.test(
    'a robot placed on a stage in the automation settings runs when the entity is moved there',
    async (t) => {
      const { running, app, b } = await setup(t);
      running.sim.updateApp('hh-b24-dev', { installEventUrl: '' });
      const portal = running.sim.createPortal({ name: 'robots', lang: 'ru' });
      const { accessToken: token } = await running.sim.install(portal.memberId);
      running.sim.finishInstall(portal.memberId);
      await rest(portal, token, 'bizproc.robot.add', {
        CODE: 'hh_status',
        HANDLER: `${app.url}/b24/robot`,
        NAME: { ru: 'Обновить статус HH' },
        PROPERTIES: { note: { Name: 'Заметка', Type: 'string', Default: 'по умолчанию' } },
        RETURN_PROPERTIES: { hhStatus: { Name: 'Статус', Type: 'string' } },
      });
      const dealId = Number(running.sim.createEntity(portal.memberId, 'deal', { TITLE: 'Кандидат' })['ID']);

      const page = await b.newPage();
      await page.goto(`${portal.baseUrl}crm/deal/automation/`);
      const robotCard = page.locator('[data-testid=robot-card][data-code=hh_status]');
      await robotCard.getByTestId('robot-stage').selectOption('EXECUTING');
      await robotCard.getByTestId('add-robot-form').locator('input[name=prop_note]').fill('со стадии');
      await robotCard.getByTestId('add-robot').click();
      await page
        .locator(
          '[data-testid=robots-stage][data-stage-id=EXECUTING] [data-testid=automation-rule][data-code=hh_status]',
        )
        .waitFor();
      t.same(
        running.sim.automation(portal.memberId).map((r) => [r.stageId, r.properties['note']]),
        [['EXECUTING', 'со стадии']],
        'the rule is stored',
      );

      await page.goto(`${portal.baseUrl}crm/deal/details/${dealId}/`);
      await page.locator('[data-testid=stage-button][data-stage-id=EXECUTING]').click();
      t.equal(await page.getByTestId('robots-started').textContent(), 'Стадия изменена. Запущено роботов: 1');
      t.equal(
        await page.locator('[data-testid=stage-button][data-current=true]').getAttribute('data-stage-id'),
        'EXECUTING',
      );
      await running.sim.idle();
      const call = app.calls.find((c) => c.path === '/b24/robot')!;
      t.match(Object.fromEntries(call.body), {
        code: 'hh_status',
        'document_id[2]': `DEAL_${dealId}`,
        'properties[note]': 'со стадии',
        'auth[member_id]': portal.memberId,
      });
      await rest(portal, token, 'bizproc.event.send', {
        event_token: call.body.get('event_token'),
        return_values: { hhStatus: 'interview' },
      });

      await page.goto(`${portal.baseUrl}crm/deal/automation/`);
      const run = page.locator(`[data-testid=robot-run][data-entity-id="${dealId}"]`);
      t.equal(await run.getAttribute('data-status'), 'completed', 'the run shows as completed');
      t.equal(
        await run.getByTestId('robot-run-returned').textContent(),
        'Статус: interview',
        'the returned values by the names the robot gave them',
      );

      await page.locator('[data-testid=robot-card][data-code=hh_status] [data-testid=run-robot]').click();
      await page.locator('[data-testid=robot-run]').nth(1).waitFor();
      t.equal(running.sim.robotRuns(portal.memberId).length, 2, '«Запустить сейчас» runs it once more');
      t.equal(
        running.sim.robotRuns(portal.memberId)[1]!.properties['note'],
        'по умолчанию',
        'with the robot’s defaults',
      );
    },
  );
}
