import { existsSync, readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import type { PageDeps } from '../src/ui/page-kit.js';
import { PageRoutes } from '../src/ui/routes.js';

const templates = new URL('../../../../templates/', import.meta.url);

function files(dir: URL, ext: string): Array<{ name: string; src: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(new URL(`${e.name}/`, dir), ext)
      : e.name.endsWith(ext)
        ? [{ name: e.name, src: readFileSync(new URL(e.name, dir), 'utf8') }]
        : [],
  );
}

// Building the table reads nothing: the handlers only hold what they are given.
const { routes } = new PageRoutes({} as PageDeps);

t.test('the route table: one row per method and path, each with a template that exists', async (t) => {
  const keys = routes.map((r) => `${r.method} ${r.path}`);
  t.same(keys.length, new Set(keys).size, 'no method and path twice');
  for (const r of routes) {
    t.match(r.path, /^[a-z0-9-]+(\/[a-z0-9-]+){0,3}$/, `${r.path}: a path the gateway passes on`);
    if (r.handler !== 'gateway')
      t.ok(existsSync(new URL(`${r.template}.hbs`, templates)), `${r.method} ${r.path} → ${r.template}.hbs`);
  }
});

t.test('every request a page makes is a row of the table, with the same method', async (t) => {
  const asked: string[] = [];
  for (const { name, src } of files(templates, '.hbs')) {
    for (const m of src.matchAll(/hx-(get|post)="\/ui\/([a-z0-9/-]+)["?]/g))
      asked.push(`${m[1]!.toUpperCase()} ${m[2]} (${name})`);
    for (const m of src.matchAll(/<form method="post" action="\/ui\/([a-z0-9/-]+)"/g))
      asked.push(`POST ${m[1]} (${name})`);
  }
  // The tab bar asks /ui/tab/{{key}} for each tab.
  for (const tab of ['auth', 'settings', 'vacancies', 'new-responses', 'feedback', 'health'])
    asked.push(`GET tab/${tab} (partials/tabs.hbs)`);
  for (const m of readFileSync(new URL('static/app.js', templates), 'utf8').matchAll(
    /htmx\.ajax\('(GET|POST)', '\/ui\/([a-z0-9/-]+)/g,
  ))
    asked.push(`${m[1]} ${m[2]} (static/app.js)`);
  t.ok(asked.length > 15, `${asked.length} requests found in the templates and app.js`);
  const table = new Set(routes.map((r) => `${r.method} ${r.path}`));
  for (const a of asked) t.ok(table.has(a.replace(/ \(.*$/, '')), a);
});
