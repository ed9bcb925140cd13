import {
  CRM_USER_FIELDS,
  type BatchCommand,
  type Bitrix24Client,
  Bitrix24Error,
  HH_ACTION_ROBOT_CODE,
  HH_STATE_NAMES,
  HH_STATES,
  APP_VERSION,
  HH_STATUS_ROBOT_CODE,
  type Knex,
  type Logger,
} from '@hhb24/common';

export type StepState = 'done' | 'failed' | 'pending';

/** One registration on the portal and how it went; the page names it by `key` and explains `errorCode`. */
export interface InstallStep {
  key: string;
  state: StepState;
  errorCode: string | null;
  error: string | null;
}

interface StepSpec {
  key: string;
  /** Reads whether it is there already (Bitrix keeps user fields across reinstalls, and answers a repeat with an error). */
  check: BatchCommand;
  isDone(result: unknown): boolean;
  add: BatchCommand;
}

const PLACEMENTS = ['CRM_LEAD_DETAIL_TAB', 'CRM_DEAL_DETAIL_TAB'] as const;
const BOUND_EVENTS = [
  'ONAPPUNINSTALL',
  'ONAPPUPDATE',
  'ONCRMTIMELINEITEMACTION',
  'ONCRMLEADUPDATE',
  'ONCRMDEALUPDATE',
] as const;
const asList = (v: unknown): unknown[] =>
  Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : [];
const BATCH_WAIT_MS = 20_000;

/** Every registration «Готово» makes, with handler URLs under PUBLIC_URL. */
export function installSteps(publicUrl: string, installerUserId: number): StepSpec[] {
  const base = publicUrl.replace(/\/$/, '');
  const steps: StepSpec[] = [];
  for (const entity of ['lead', 'deal'] as const) {
    for (const uf of CRM_USER_FIELDS) {
      steps.push({
        key: `userfield:${entity}:${uf.name}`,
        check: [`crm.${entity}.userfield.list`, { filter: { FIELD_NAME: uf.name } }],
        isDone: (r) => asList(r).length > 0,
        add: [
          `crm.${entity}.userfield.add`,
          {
            fields: {
              FIELD_NAME: uf.name,
              USER_TYPE_ID: uf.type,
              XML_ID: uf.name,
              EDIT_FORM_LABEL: uf.label,
              LIST_COLUMN_LABEL: uf.label,
              LIST_FILTER_LABEL: uf.label,
              MULTIPLE: 'N',
              MANDATORY: 'N',
              SHOW_FILTER: 'Y',
            },
          },
        ],
      });
    }
  }
  const tab = `${base}/b24/placement`;
  for (const placement of PLACEMENTS) {
    steps.push({
      key: `placement:${placement}`,
      check: ['placement.get', {}],
      isDone: (r) =>
        asList(r).some(
          (p) =>
            (p as { placement?: string; handler?: string }).placement === placement &&
            (p as { handler?: string }).handler === tab,
        ),
      add: [
        'placement.bind',
        {
          PLACEMENT: placement,
          HANDLER: tab,
          TITLE: 'HH.ru',
          LANG_ALL: { ru: { TITLE: 'HH.ru' }, en: { TITLE: 'HH.ru' } },
        },
      ],
    });
  }
  // The robots wait for the answer (USE_SUBSCRIPTION): timeline-renderer completes each run with bizproc.event.send.
  const returned = {
    status: { Name: { ru: 'Статус НН', en: 'HH status' }, Type: 'string' },
    error: { Name: { ru: 'Ошибка', en: 'Error' }, Type: 'string' },
  };
  const robots = [
    {
      CODE: HH_STATUS_ROBOT_CODE,
      NAME: { ru: 'Обновить статус НН', en: 'Refresh HH status' },
      DESCRIPTION: {
        ru: 'Перечитывает статус отклика на hh.ru и записывает его в карточку',
        en: 'Reads the response status on hh.ru again and writes it to the card',
      },
      PROPERTIES: {},
    },
    {
      CODE: HH_ACTION_ROBOT_CODE,
      NAME: { ru: 'Сменить статус на НН', en: 'Change HH status' },
      DESCRIPTION: {
        ru: 'Переводит отклик на hh.ru в выбранный статус',
        en: 'Moves the response on hh.ru to the chosen status',
      },
      PROPERTIES: {
        action: {
          Name: { ru: 'Статус на hh.ru', en: 'Status on hh.ru' },
          Type: 'select',
          Required: 'Y',
          // The states a recruiter can move a response to, by their names in the app; a discard goes silent or with a message.
          Options: {
            ...Object.fromEntries(
              HH_STATES.filter((s) => s !== 'response' && s !== 'discard').map((s) => [s, HH_STATE_NAMES[s]]),
            ),
            discard: 'Отказ без сообщения',
            discard_message: 'Отказ с сообщением',
          },
        },
        message: { Name: { ru: 'Сообщение соискателю', en: 'Message to the applicant' }, Type: 'text' },
      },
    },
  ];
  for (const robot of robots) {
    steps.push({
      key: `robot:${robot.CODE}`,
      check: ['bizproc.robot.list', {}],
      isDone: (r) => asList(r).includes(robot.CODE),
      add: [
        'bizproc.robot.add',
        {
          ...robot,
          HANDLER: `${base}/b24/robot`,
          AUTH_USER_ID: installerUserId,
          USE_SUBSCRIPTION: 'Y',
          RETURN_PROPERTIES: returned,
          FILTER: {
            INCLUDE: [
              ['crm', 'CCrmDocumentLead'],
              ['crm', 'CCrmDocumentDeal'],
            ],
          },
        },
      ],
    });
  }
  const events = `${base}/b24/events`;
  // The uninstall; an update of the app (what a new version adds is registered then); clicks on the
  // activity's «Другие отклики»; stage moves of leads and deals (two-way status).
  for (const event of BOUND_EVENTS) {
    steps.push({
      key: `event:${event}`,
      check: ['event.get', {}],
      isDone: (r) =>
        asList(r).some(
          (e) => (e as { event?: string }).event === event && (e as { handler?: string }).handler === events,
        ),
      add: ['event.bind', { event, handler: events }],
    });
  }
  return steps;
}

/** What Bitrix answers when the thing is there already: counts as done. */
const ALREADY = /already binded|already installed|already exists/i;

/**
 * The registrations «Готово» runs on a portal, each recorded in `b24_install_steps`. A retry skips
 * what is recorded as done, checks the rest against the portal (one batch) and adds what is
 * missing (a second batch), so nothing is created twice and a failure stops nothing else.
 */
export class Installer {
  constructor(
    private readonly db: () => Knex,
    private readonly client: () => Bitrix24Client,
    private readonly publicUrl: string,
    private readonly log: Logger,
  ) {}

  async status(memberId: string, installerUserId = 1): Promise<InstallStep[]> {
    const rows = (await this.db()('b24_install_steps').where({ member_id: memberId })) as Array<{
      step: string;
      state: StepState;
      error_code: string | null;
      error: string | null;
    }>;
    const recorded = new Map(rows.map((r) => [r.step, r]));
    return installSteps(this.publicUrl, installerUserId).map((s) => {
      const r = recorded.get(s.key);
      return {
        key: s.key,
        state: r?.state ?? 'pending',
        errorCode: r?.error_code ?? null,
        error: r?.error ?? null,
      };
    });
  }

  /**
   * Registers what is missing. `recheck`: every step is checked against the portal, even those
   * recorded as done (after an update of the app Bitrix24 has deleted the app's robots). When every
   * step is done the portal's registrations are at APP_VERSION.
   */
  async run(
    memberId: string,
    installerUserId: number,
    options: { recheck?: boolean } = {},
  ): Promise<InstallStep[]> {
    const specs = installSteps(this.publicUrl, installerUserId);
    const before = new Map((await this.status(memberId, installerUserId)).map((s) => [s.key, s]));
    const pending = options.recheck ? specs : specs.filter((s) => before.get(s.key)?.state !== 'done');
    if (pending.length === 0) {
      await this.client().store.setAppVersion(memberId, APP_VERSION);
      return [...before.values()];
    }
    const outcome = new Map<string, InstallStep>();
    const fail = (key: string, err: unknown) => {
      const e = err instanceof Bitrix24Error ? err : null;
      outcome.set(key, {
        key,
        state: 'failed',
        errorCode: e?.code ?? 'unexpected',
        error: (e?.details.b24Description || e?.details.b24Error || (err as Error).message || '').slice(
          0,
          500,
        ),
      });
    };
    try {
      const checks = await this.client().batch(
        memberId,
        pending.map((s) => s.check),
        { maxWaitMs: BATCH_WAIT_MS },
      );
      const missing: StepSpec[] = [];
      pending.forEach((s, i) => {
        const err = checks.errors[String(i)];
        if (err) fail(s.key, err);
        else if (s.isDone(checks.results[String(i)]))
          outcome.set(s.key, { key: s.key, state: 'done', errorCode: null, error: null });
        else missing.push(s);
      });
      if (missing.length > 0) {
        const adds = await this.client().batch(
          memberId,
          missing.map((s) => s.add),
          { maxWaitMs: BATCH_WAIT_MS },
        );
        missing.forEach((s, i) => {
          const err = adds.errors[String(i)];
          if (err && !ALREADY.test(err.details.b24Description)) fail(s.key, err);
          else outcome.set(s.key, { key: s.key, state: 'done', errorCode: null, error: null });
        });
      }
    } catch (err) {
      // The whole batch failed (the portal is busy or refuses the app): every pending step waits for a retry.
      this.log.warn({ err, memberId }, 'install steps could not run');
      for (const s of pending) if (!outcome.has(s.key)) fail(s.key, err);
    }
    const rows = [...outcome.values()].map((s) => ({
      member_id: memberId,
      step: s.key,
      state: s.state,
      error_code: s.errorCode,
      error: s.error,
      updated_at: new Date(),
    }));
    await this.db()('b24_install_steps').insert(rows).onConflict(['member_id', 'step']).merge();
    const failed = rows.filter((r) => r.state === 'failed');
    if (failed.length > 0)
      this.log.warn(
        { memberId, failed: failed.map((r) => `${r.step}: ${r.error_code}`) },
        'some install steps failed',
      );
    else {
      await this.client().store.setAppVersion(memberId, APP_VERSION);
      this.log.info({ memberId, appVersion: APP_VERSION }, 'install steps done');
    }
    return specs.map((s) => outcome.get(s.key) ?? before.get(s.key)!);
  }

  /** After an uninstall Bitrix has removed placements, robots and handlers: a reinstall registers them again. */
  async forget(trx: Knex.Transaction, memberId: string): Promise<void> {
    await trx('b24_install_steps').where({ member_id: memberId }).delete();
  }
}
