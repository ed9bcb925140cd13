/**
 * A portal's data after the app is removed (docs/security.md, «What is erased when»): with CLEAN
 * every row of the portal goes from every table of every service at once, the other portal's rows
 * stay, the portal's messages left in the streams change nothing, and a reinstall imports from
 * scratch; without CLEAN the data stays for HH_DATA_RETENTION_DAYS and then goes. The tables are
 * read from information_schema, so a table added later is checked without changing this test.
 */
import t, { type Test } from 'tap';
import { type Knex, rpc, subjects } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { checkPortal, visibleNegotiations } from './expect.js';
import { LEAD_SETTINGS, World } from './world.js';

/** Columns that name a row's portal. */
const PORTAL_COLUMNS = ['member_id', 'portal'];
/**
 * Tables without such a column, and why none of their rows is a portal's: a table added with
 * portal data and without a portal column fails the test until it is named here or erased.
 */
const NO_PORTAL_COLUMN: Record<string, string> = {
  outbox: 'messages not yet published: checked below by the portal their payload names',
  inbox: 'message ids already handled (consumer, id), pruned after 8 days',
  message_defers: 'how often a stream message waited (stream, consumer, sequence)',
};
/**
 * The record of the erasure itself: the portal's id and the times of the uninstall and of each
 * service's erasure, no personal data. Every consumer reads it to skip the portal's old messages.
 */
const ERASURE_RECORDS = new Set(['portal_uninstalls', 'portal_erasures']);

interface PortalTableRef {
  table: string;
  column: string;
}

async function portalTables(db: Knex, schema: string, t: Test): Promise<PortalTableRef[]> {
  const columns = (
    await db.raw<{ rows: Array<{ table_name: string; column_name: string }> }>(
      `select c.table_name, c.column_name from information_schema.columns c
         join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name
        where c.table_schema = ? and tb.table_type = 'BASE TABLE'`,
      [schema],
    )
  ).rows;
  const tables = new Set(columns.map((c) => c.table_name));
  const withPortal = columns.filter((c) => PORTAL_COLUMNS.includes(c.column_name));
  const without = [...tables]
    .filter((name) => !withPortal.some((c) => c.table_name === name) && !name.startsWith('migrations_'))
    .sort();
  t.same(
    without,
    Object.keys(NO_PORTAL_COLUMN).sort(),
    'every other table is one known to hold no portal data',
  );
  return withPortal
    .filter((c) => !ERASURE_RECORDS.has(c.table_name))
    .map((c) => ({ table: c.table_name, column: c.column_name }))
    .sort((a, b) => a.table.localeCompare(b.table));
}

/** Rows of the portal per table (and outbox rows whose payload names it). */
async function rowsOf(db: Knex, tables: PortalTableRef[], memberId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { table, column } of tables) {
    const [row] = await db(table).where(column, memberId).count<Array<{ count: string }>>('* as count');
    out[table] = Number(row!.count);
  }
  const [outbox] = await db('outbox')
    .whereRaw(
      `payload->>'memberId' = ? or payload#>>'{snapshot,memberId}' = ? or payload#>>'{settings,memberId}' = ?`,
      [memberId, memberId, memberId],
    )
    .count<Array<{ count: string }>>('* as count');
  out['outbox'] = Number(outbox!.count);
  return out;
}

/** The portal's rows once two looks a second apart agree (a finished import's last chores done). */
async function settledRowsOf(db: Knex, tables: PortalTableRef[], memberId: string) {
  // The first reconciliation pass after the import is one of those chores.
  await eventually(async () => (await db('hh_reconciliations').where({ member_id: memberId })).length > 0, {
    timeoutMs: 30_000,
    what: `the first reconciliation pass of ${memberId}`,
  });
  let last = await rowsOf(db, tables, memberId);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await rowsOf(db, tables, memberId);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

const nonZero = (rows: Record<string, number>) =>
  Object.fromEntries(Object.entries(rows).filter(([, n]) => n > 0));

/** Installs a portal, logs in as the employer's admin, imports everything into leads. */
async function importedPortal(world: World, employerIndex: number) {
  const { hh } = world;
  const employer = [...hh.sim.store.employers.values()][employerIndex]!;
  const admin = [...hh.sim.store.managers.values()].find((m) => m.employerId === employer.id && m.isAdmin)!;
  const memberId = await world.installPortal();
  await world.registerHandlers(memberId);
  await world.connect(memberId, admin.userId);
  const settings = await world.saveSettings(memberId, LEAD_SETTINGS);
  await world.requestImport(memberId);
  return { memberId, admin, settings };
}

/** Each service's word that it erased the portal (portal_erasures), once every service said it. */
async function erasedBy(world: World, memberId: string, timeoutMs = 30_000) {
  const services = world.services.map((s) => s.runtime.name).sort();
  return eventually(
    async () => {
      const rows = await world
        .db('portal_erasures')
        .where({ member_id: memberId })
        .orderBy('service')
        .select('service', 'rows', 'tables');
      return rows.length === services.length ? rows : null;
    },
    { timeoutMs, what: `every service (${services.join(', ')}) to erase ${memberId}` },
  );
}

/** Messages skipped as an erased portal's, over every service of the world. */
async function skipped(world: World): Promise<number> {
  let n = 0;
  for (const s of world.services) {
    const metric = await s.runtime.metrics.messages.get();
    for (const v of metric.values) if (v.labels.outcome === 'erased') n += v.value;
  }
  return n;
}

const generate = {
  seed: 21,
  employers: 2,
  unpaidEmployers: 0,
  managersPerEmployer: 1,
  vacanciesPerManager: 2,
  negotiations: 40,
  heavyApplicantResponses: 2,
  tombstones: 1,
  hiddenShare: 0.2,
};

t.test(
  'CLEAN: every table of every service loses the portal’s rows, the other portal keeps its own, old messages change nothing, a reinstall imports from scratch',
  async (t) => {
    const world = await World.forTest(t, {
      b24RateLimit: false,
      generate,
      env: { DATA_ERASE_SWEEP_SEC: '1' },
    });
    const { hh, b24 } = world;
    const schema = world.testEnv.config.DATABASE_SCHEMA;
    const a = await importedPortal(world, 0);
    const b = await importedPortal(world, 1);
    await world.waitForImport(a.memberId);
    await world.waitForImport(b.memberId);

    // Rows the import does not leave by itself: a refused write (the portal made a field required)
    // and a dead letter naming the portal.
    b24.sim.setRequired(a.memberId, 'lead', 'UF_CRM_PASSPORT');
    const vacancyOfA = visibleNegotiations(hh.sim, a.admin.id)[0]!.vacancyId;
    hh.sim.respond({ vacancyId: vacancyOfA });
    await eventually(
      async () => (await world.db('crm_failures').where({ member_id: a.memberId })).length > 0,
      {
        timeoutMs: 30_000,
        what: 'a refused write of portal A',
      },
    );
    b24.sim.setRequired(a.memberId, 'lead', 'UF_CRM_PASSPORT', false);
    await world.nats.js.publish(
      world.naming.subject(subjects.hhImportRequested),
      JSON.stringify({ memberId: a.memberId, kind: 'bogus' }),
    );
    await eventually(async () => (await world.db('dead_letters').where({ portal: a.memberId })).length > 0, {
      what: 'a dead letter of portal A',
    });

    const tables = await portalTables(world.db, schema, t);
    const beforeA = await rowsOf(world.db, tables, a.memberId);
    const beforeB = await settledRowsOf(world.db, tables, b.memberId);
    for (const table of [
      'b24_portals',
      'portal_settings',
      'hh_accounts',
      'hh_imports',
      'hh_vacancies',
      'hh_negotiations',
      'hh_resumes',
      'stored_files',
      'hh_person_keys',
      'hh_state_history',
      'hh_analytics',
      'crm_links',
      'crm_failures',
      'crm_write_counts',
      'tl_activities',
      'dead_letters',
    ])
      t.ok(beforeA[table]! > 0, `before: portal A has rows in ${table} (${beforeA[table]})`);
    const entitiesOfA = b24.sim.entities(a.memberId, 'lead').length;

    // The admin removes the app and asks to erase its data; Bitrix24 confirms it to the gateway.
    await b24.sim.uninstall(a.memberId, { clean: true });
    await b24.sim.idle();
    t.match(
      b24.sim.deliveries(a.memberId).at(-1),
      { name: 'ONAPPUNINSTALL', status: 200 },
      'the uninstall taken',
    );
    const erasures = await erasedBy(world, a.memberId);
    t.same(
      erasures.map((e) => e.service),
      ['crm-writer', 'gateway', 'hh-connector', 'settings', 'timeline-renderer'],
      'each service says it erased the portal',
    );
    t.ok(erasures.find((e) => e.service === 'hh-connector')!.rows > 0, 'hh-connector counted what it erased');
    const afterA = await rowsOf(world.db, tables, a.memberId);
    t.same(nonZero(afterA), {}, `no row of portal A is left in any of ${tables.length} tables or the outbox`);
    t.same(
      await rowsOf(world.db, tables, b.memberId),
      beforeB,
      'portal B’s rows are as they were, table by table',
    );

    // Its messages still in the streams (published again, as a redelivery would bring them) are skipped.
    const skippedBefore = await skipped(world);
    const stream = world.naming.stream('HH');
    const info = await world.nats.jsm.streams.info(stream);
    const old: Array<{ subject: string; data: Uint8Array }> = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && old.length < 5; seq++) {
      const m = await world.nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!m || m.subject !== world.naming.subject(subjects.hhNegotiationSynced)) continue;
      if ((m.json<{ snapshot: { memberId: string } }>().snapshot.memberId ?? '') === a.memberId)
        old.push({ subject: m.subject, data: m.data });
    }
    t.equal(old.length, 5, 'portal A’s snapshots are still in the HH stream');
    for (const [i, m] of old.entries())
      await world.nats.js.publish(m.subject, m.data, { msgID: `erase-test-${i}-${Date.now()}` });
    await world.nats.js.publish(
      world.naming.subject(subjects.hhImportRequested),
      JSON.stringify({
        memberId: a.memberId,
        kind: 'initial',
        requestedBy: 1,
        requestedAt: new Date().toISOString(),
      }),
      { msgID: `erase-test-import-${Date.now()}` },
    );
    await eventually(async () => (await skipped(world)) >= skippedBefore + old.length + 1, {
      what: 'the old messages skipped',
    });
    await new Promise((r) => setTimeout(r, 500));
    t.same(nonZero(await rowsOf(world.db, tables, a.memberId)), {}, 'they wrote nothing');
    t.equal(b24.sim.entities(a.memberId, 'lead').length, entitiesOfA, 'and nothing reached the portal');

    // Installed again: the import starts from scratch, one lead per negotiation (the portal kept its leads).
    const reinstalledAt = new Date();
    await world.reinstallPortal(a.memberId);
    await world.registerHandlers(a.memberId);
    await world.connect(a.memberId, a.admin.userId);
    await world.saveSettings(a.memberId, LEAD_SETTINGS);
    await world.requestImport(a.memberId);
    const progress = await world.waitForImport(a.memberId);
    const check = checkPortal(hh.sim, b24.sim, a.memberId, a.admin.id, a.settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated, entities: check.entities },
      { missing: [], duplicated: [], entities: check.expected },
      `exactly one lead per negotiation (${check.expected})`,
    );
    t.equal(progress.loaded, check.expected, 'every negotiation loaded again');
    const stale = await world
      .db('hh_negotiations')
      .where({ member_id: a.memberId })
      .where('first_seen_at', '<', reinstalledAt)
      .count<Array<{ count: string }>>('* as count');
    t.equal(Number(stale[0]!.count), 0, 'no negotiation row older than the reinstall');
    const staleLinks = await world
      .db('crm_links')
      .where({ member_id: a.memberId })
      .where('created_at', '<', reinstalledAt)
      .count<Array<{ count: string }>>('* as count');
    t.equal(Number(staleLinks[0]!.count), 0, 'no CRM link older than the reinstall');
  },
);

t.test(
  'without CLEAN: the data is kept for a reinstall until HH_DATA_RETENTION_DAYS passed, then erased in every service',
  async (t) => {
    const retentionSec = 8;
    const world = await World.forTest(t, {
      b24RateLimit: false,
      generate: { ...generate, negotiations: 16, seed: 22 },
      // A fraction of a day: 8 seconds.
      env: { HH_DATA_RETENTION_DAYS: String(retentionSec / 86_400), DATA_ERASE_SWEEP_SEC: '1' },
    });
    const schema = world.testEnv.config.DATABASE_SCHEMA;
    const a = await importedPortal(world, 0);
    const b = await importedPortal(world, 1);
    await world.waitForImport(a.memberId);
    await world.waitForImport(b.memberId);
    const tables = await portalTables(world.db, schema, t);
    const beforeB = await settledRowsOf(world.db, tables, b.memberId);

    const uninstalledAt = Date.now();
    await world.b24.sim.uninstall(a.memberId, { clean: false });
    await world.b24.sim.idle();
    t.match(world.b24.sim.deliveries(a.memberId).at(-1), { name: 'ONAPPUNINSTALL', status: 200 });
    const kept = await rowsOf(world.db, tables, a.memberId);
    t.ok(Date.now() - uninstalledAt < retentionSec * 1000, 'looked within the retention');
    t.match(
      kept,
      { b24_portals: 1, hh_negotiations: Number, crm_links: Number, tl_activities: Number },
      'kept for a reinstall',
    );
    t.ok(kept['hh_negotiations']! > 0 && kept['crm_links']! > 0, 'negotiations and links kept');
    t.equal(
      (await world.db('b24_portals').where({ member_id: a.memberId }).first<{ status: string }>())?.status,
      'uninstalled',
    );

    const erasures = await erasedBy(world, a.memberId, 60_000);
    t.ok(Date.now() - uninstalledAt >= retentionSec * 1000, 'erased once the retention passed');
    t.equal(erasures.length, 5, 'by every service');
    t.same(nonZero(await rowsOf(world.db, tables, a.memberId)), {}, 'no row of portal A is left');
    t.same(await rowsOf(world.db, tables, b.memberId), beforeB, 'portal B’s rows are as they were');
  },
);

t.test(
  'resume PDFs: dropped once every lead of the resume holds the file; a new response with a known resume gets the file again',
  async (t) => {
    const world = await World.start({
      b24RateLimit: false,
      generate: { ...generate, employers: 1, negotiations: 16, seed: 23 },
      // 1.8 seconds after download.
      env: { HH_PDF_KEEP_HOURS: '0.0005' },
    });
    t.teardown(() => world.close());
    const { hh, b24 } = world;
    const a = await importedPortal(world, 0);
    await world.waitForImport(a.memberId);
    const resumes = () =>
      world
        .db('hh_resumes')
        .where({ member_id: a.memberId })
        .select('resume_id', world.db.raw('pdf_file is not null as has_pdf'), 'pdf_dropped_at');
    t.ok(
      (await resumes()).some((r: { has_pdf: boolean }) => r.has_pdf),
      'the PDFs were kept for the writes',
    );
    await eventually(async () => (await resumes()).every((r: { has_pdf: boolean }) => !r.has_pdf), {
      timeoutMs: 30_000,
      what: 'the PDFs the portal holds dropped',
    });
    t.equal(
      (await world.db('stored_files').where({ member_id: a.memberId })).length,
      0,
      'and their stored files with them',
    );
    const before = checkPortal(hh.sim, b24.sim, a.memberId, a.admin.id, a.settings);
    t.same(before.wrong, [], 'every lead still holds its resume file, in the portal');
    t.ok(before.withPdf > 0, `${before.withPdf} leads with the file`);
    const lead = b24.sim.entities(a.memberId, 'lead').find((l) => l['UF_CRM_HH_RESUME'])!;
    const card = await world.call(rpc.hhCard, {
      memberId: a.memberId,
      entityType: 'lead',
      entityId: Number(lead['ID']),
    });
    t.equal(card?.pdfAvailable, false, 'the card tab no longer offers our copy (the card’s field has it)');

    // The same applicant answers another vacancy with the same resume: the file is downloaded again for it.
    const seen = visibleNegotiations(hh.sim, a.admin.id);
    const vacancies = [...new Set(seen.map((n) => n.vacancyId))];
    const pair = seen
      .filter((n) => !hh.sim.store.resumes.get(n.resumeId)!.deleted)
      .flatMap((n) =>
        vacancies
          .filter((v) => !seen.some((m) => m.resumeId === n.resumeId && m.vacancyId === v))
          .map((v) => ({ resumeId: n.resumeId, vacancyId: v })),
      )[0]!;
    t.ok(pair, 'a known resume and a vacancy it has not answered');
    const arrived = hh.sim.respond(pair);
    const created = await eventually(
      async () => b24.sim.entities(a.memberId, 'lead').find((l) => l['ORIGIN_ID'] === arrived.id),
      { timeoutMs: 30_000, what: 'the new response’s lead' },
    );
    const file = created['UF_CRM_HH_RESUME'] as { id: number } | undefined;
    t.ok(file, 'its lead holds the resume file');
    t.equal(
      b24.sim
        .file(a.memberId, file?.id ?? 0)
        ?.content.subarray(0, 5)
        .toString('latin1'),
      '%PDF-',
      'a PDF',
    );
  },
);
