import { type Bitrix24ErrorCode, CRM_USER_FIELDS, HH_ACTION_ROBOT_CODE, type UiRequest } from '@hhb24/common';
import type { Ctx, Fragment, PageDeps } from './page-kit.js';
import { type Lang, text } from './texts.js';

/**
 * The installer page: what «Готово» will set up, then each step's outcome (the gateway runs the
 * steps and hands them over in `data.steps`), with what to do about a failed one and «Повторить».
 */
export class InstallPage {
  constructor(private readonly deps: PageDeps) {}

  page(req: UiRequest, ctx: Ctx): Fragment {
    return {
      html: this.deps.renderer.page('install', {
        ...ctx,
        title: text(ctx.lang, 'install.title'),
        framed: true,
        ...this.steps(req),
      }),
    };
  }

  result(req: UiRequest, ctx: Ctx): Fragment {
    return { html: this.deps.renderer.render('partials/install-steps', { ...ctx, ...this.steps(req) }) };
  }

  private steps(req: UiRequest) {
    const lang = req.session.lang;
    const steps = (
      (req.data?.['steps'] ?? []) as Array<{
        key: string;
        state: string;
        errorCode: string | null;
        error: string | null;
      }>
    ).map((s) => ({
      ...s,
      title: stepTitle(s.key, lang),
      fix: s.state === 'failed' ? stepFix(s.errorCode, s.error, lang) : null,
    }));
    return {
      steps,
      complete: steps.length > 0 && steps.every((s) => s.state === 'done'),
      failed: steps.some((s) => s.state === 'failed'),
    };
  }
}

function stepTitle(key: string, lang: Lang): string {
  const [kind, a, b] = key.split(':');
  if (kind === 'userfield') {
    const uf = CRM_USER_FIELDS.find((f) => f.name === b);
    return text(lang, 'install.fieldOn', {
      label: uf?.label[lang] ?? b,
      entity: text(lang, a === 'lead' ? 'install.inLeads' : 'install.inDeals'),
    });
  }
  if (kind === 'placement')
    return text(lang, 'install.tabOn', {
      entity: text(lang, a === 'CRM_LEAD_DETAIL_TAB' ? 'install.tabLead' : 'install.tabDeal'),
    });
  if (kind === 'robot')
    return text(lang, a === HH_ACTION_ROBOT_CODE ? 'install.robotChange' : 'install.robot');
  if (a === 'ONCRMTIMELINEITEMACTION') return text(lang, 'install.eventTimeline');
  if (a === 'ONCRMLEADUPDATE') return text(lang, 'install.eventStageLead');
  if (a === 'ONCRMDEALUPDATE') return text(lang, 'install.eventStageDeal');
  if (a === 'ONAPPUPDATE') return text(lang, 'install.eventUpdate');
  return text(lang, 'install.event');
}

/**
 * What an admin does about a step the portal refused, by the Bitrix24 client's error code
 * (services/common/src/bitrix24/errors.ts; `b24_refresh_busy` is the client's own wait for a refresh).
 */
const STEP_FIXES: Partial<Record<Bitrix24ErrorCode | 'b24_refresh_busy', string>> = {
  b24_access_denied: 'install.fixAccess',
  b24_rate_limited: 'install.fixBusy',
  b24_operation_time_limit: 'install.fixBusy',
  b24_unavailable: 'install.fixBusy',
  b24_refresh_busy: 'install.fixBusy',
  b24_reinstall_required: 'install.fixReinstall',
  b24_invalid_token: 'install.fixReinstall',
  b24_portal_unknown: 'install.fixReinstall',
  b24_portal_deleted: 'install.fixReinstall',
};

function stepFix(code: string | null, error: string | null, lang: Lang): string {
  const key = code ? STEP_FIXES[code as keyof typeof STEP_FIXES] : undefined;
  return key ? text(lang, key) : text(lang, 'install.fixOther', { error: error || code || '' });
}
