import t from 'tap';
import { startHhSim } from '../src/index.js';
import { call } from './helpers.js';

t.test('the same seed gives the same data; the data has what the product must handle', async (t) => {
  const [a, b] = await Promise.all([
    startHhSim({ generate: { seed: 7 } }),
    startHhSim({ generate: { seed: 7 } }),
  ]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const snapshot = (s: typeof a) =>
    JSON.stringify({
      managers: [...s.sim.store.managers.values()].map((m) => [m.id, m.lastName, m.firstName, m.email]),
      resumes: [...s.sim.store.resumes.values()].map((r) => [
        r.id,
        r.lastName,
        r.phones[0]?.number,
        r.hidden,
        r.deleted,
      ]),
      negotiations: [...s.sim.store.negotiations.values()].map((n) => [
        n.id,
        n.vacancyId,
        n.resumeId,
        n.employerState,
        n.state,
        n.initiator,
      ]),
    });
  t.equal(snapshot(a), snapshot(b), 'deterministic');
  const other = await startHhSim({ generate: { seed: 8 } });
  t.teardown(() => other.close());
  t.not(snapshot(other), snapshot(a), 'another seed, other data');

  const store = a.sim.store;
  const resumes = [...store.resumes.values()];
  const negotiations = [...store.negotiations.values()];
  t.ok(
    resumes.every((r) => /^[А-ЯЁ][а-яё]+$/.test(r.firstName) && /^[А-ЯЁ][а-яё]+$/.test(r.lastName)),
    'Russian names',
  );
  t.ok(
    resumes.every((r) => r.phones[0]!.country === '7' && /^9\d\d$/.test(r.phones[0]!.city)),
    'Russian mobile phones',
  );
  t.ok(new Set(resumes.map((r) => r.area.name)).size >= 6, 'several cities');
  t.ok(
    resumes.some((r) => r.hidden.includes('names_and_photo')) &&
      resumes.some((r) => r.hidden.includes('phones') || r.hidden.includes('email')),
    'some hide names, some contacts',
  );
  const byResume = Math.max(...[...store.negotiationsByResume.values()].map((l) => l.length));
  t.ok(byResume >= 30, `one applicant responded to ${byResume} vacancies`);
  t.ok(resumes.filter((r) => r.deleted).length >= 3, 'tombstones');
  t.ok(
    negotiations.some((n) => n.initiator === 'employer'),
    'invitations',
  );
  t.ok(new Set(negotiations.map((n) => n.employerState)).size >= 6, 'negotiations in many employer states');
  for (const employer of store.employers.values()) {
    t.ok(
      new Set(store.vacanciesByEmployer.get(employer.id)!.map((v) => v.managerId)).size >= 2,
      `${employer.name}: vacancies of several managers`,
    );
  }
  t.ok(
    [...store.employers.values()].some((e) => !e.paidApiAccess),
    'an employer without paid API access',
  );
});

t.test('100 employers and 10 000 negotiations: generated quickly, answered quickly', async (t) => {
  const started = Date.now();
  const big = await startHhSim({
    generate: {
      seed: 3,
      employers: 100,
      managersPerEmployer: 3,
      vacanciesPerManager: 5,
      negotiations: 10_000,
    },
    settings: { rateLimit: { by: 'off' } },
  });
  const generatedIn = Date.now() - started;
  t.teardown(() => big.close());
  t.equal(big.sim.store.negotiations.size, 10_000);
  t.equal(big.sim.store.employers.size, 100);
  t.ok(generatedIn < 10_000, `generated and started in ${generatedIn} ms`);
  const employer = [...big.sim.store.employers.values()][50]!;
  const admin = [...big.sim.store.managers.values()].find((m) => m.employerId === employer.id && m.isAdmin)!;
  const token = big.sim.issueTokens(admin.userId).access_token;
  const vacancy = big.sim.store.vacanciesByEmployer.get(employer.id)![0]!;
  const paths = [
    `/employers/${employer.id}/vacancies/active?per_page=50&manager_id=${admin.id}`,
    `/negotiations?vacancy_id=${vacancy.id}`,
    `/negotiations/response?vacancy_id=${vacancy.id}&per_page=50`,
    '/me',
  ];
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = performance.now();
    const r = await call(`${big.url}${paths[i % paths.length]}`, { token });
    times.push(performance.now() - s);
    if (r.status !== 200) t.fail(`${paths[i % paths.length]} answered ${r.status}`);
  }
  times.sort((x, y) => x - y);
  const p95 = times[Math.floor(times.length * 0.95)]!;
  t.ok(p95 < 50, `p95 ${p95.toFixed(1)} ms over 200 API calls (median ${times[100]!.toFixed(1)} ms)`);
});
