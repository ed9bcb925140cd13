import type { FastifyInstance } from 'fastify';
import { APPLICANT_STATES, STATE_BY_ID } from '../model.js';
import type { HhSim } from '../sim.js';
import { hhDate } from '../time.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page for people (the demo): employers, vacancies, latest negotiations and «Симулировать отклик». */
export function viewRoutes(app: FastifyInstance, sim: HhSim): void {
  const store = sim.store;

  app.get<{ Querystring: { employer?: string; done?: string } }>('/_sim/', async (req, reply) => {
    const employers = [...store.employers.values()];
    const current = store.employers.get(req.query.employer ?? '') ?? employers[0];
    const nav = employers
      .slice(0, 200)
      .map((e) =>
        e === current
          ? `<strong>${esc(e.name)}</strong>`
          : `<a href="/_sim/?employer=${e.id}">${esc(e.name)}</a>`,
      )
      .join(' · ');
    let main = '<p>Данных нет: POST /_sim/generate.</p>';
    if (current) {
      const managers = [...store.managers.values()].filter((m) => m.employerId === current.id);
      const vacancies = store.vacanciesByEmployer.get(current.id)!;
      const negotiations = vacancies
        .flatMap((v) => store.negotiationsByVacancy.get(v.id)!)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, 50);
      main = `<h2>${esc(current.name)} <small>(id ${current.id}${current.paidApiAccess ? '' : ', без платного доступа к API'})</small></h2>
<h3>Менеджеры</h3><table><tr><th>id</th><th>user id</th><th>ФИО</th><th>Права</th></tr>${managers
        .map(
          (m) =>
            `<tr><td>${m.id}</td><td>${m.userId}</td><td>${esc(`${m.lastName} ${m.firstName}`)}</td><td>${m.isAdmin ? 'администратор' : m.grants.size ? `менеджер + вакансии ${[...m.grants].join(', ')}` : 'менеджер'}</td></tr>`,
        )
        .join('')}</table>
<h3>Вакансии</h3><table><tr><th>id</th><th>Название</th><th>Город</th><th>Менеджер</th><th>Откликов</th><th></th></tr>${vacancies
        .map((v) => {
          const m = store.managers.get(v.managerId)!;
          const count = store.negotiationsByVacancy.get(v.id)!.length;
          const button = v.archived
            ? 'в архиве'
            : `<form method="post" action="/_sim/view/respond"><input type="hidden" name="vacancyId" value="${v.id}"><input type="hidden" name="employer" value="${current.id}"><button>Симулировать отклик</button></form>`;
          return `<tr><td>${v.id}</td><td>${esc(v.name)}</td><td>${esc(v.area.name)}</td><td>${esc(`${m.lastName} ${m.firstName}`)}</td><td>${count}</td><td>${button}</td></tr>`;
        })
        .join('')}</table>
<h3>Последние отклики и приглашения</h3><table><tr><th>id</th><th>Создан</th><th>Вакансия</th><th>Соискатель</th><th>Тип</th><th>Статус работодателя</th><th>Статус соискателя</th></tr>${negotiations
        .map((n) => {
          const r = store.resumes.get(n.resumeId)!;
          const who = r.deleted
            ? '<em>резюме удалено</em>'
            : r.hidden.includes('names_and_photo')
              ? '<em>ФИО скрыто</em>'
              : esc(`${r.lastName} ${r.firstName}`);
          return `<tr><td>${n.id}</td><td>${hhDate(n.createdAt)}</td><td>${esc(store.vacancies.get(n.vacancyId)!.name)}</td><td>${who}</td><td>${n.initiator === 'applicant' ? 'отклик' : 'приглашение'}</td><td>${esc(STATE_BY_ID.get(n.employerState)!.name)}</td><td>${APPLICANT_STATES[n.state]}</td></tr>`;
        })
        .join('')}</table>`;
    }
    const done = req.query.done ? `<p class="done">Новый отклик ${esc(req.query.done)} создан.</p>` : '';
    return reply.type('text/html; charset=utf-8')
      .send(`<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>hh.ru — симулятор</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}form{margin:0}.done{background:#e6ffe6;padding:.5em}</style></head>
<body><h1>hh.ru — симулятор</h1>${done}<p>${nav}</p>${main}</body></html>`);
  });

  app.post<{ Body: Record<string, string | undefined> | undefined }>(
    '/_sim/view/respond',
    async (req, reply) => {
      const vacancyId = req.body?.['vacancyId'] ?? '';
      const n = sim.respond({ vacancyId });
      const employer = store.vacancies.get(vacancyId)!.employerId;
      return reply.redirect(`/_sim/?employer=${employer}&done=${n.id}`, 303);
    },
  );
}
