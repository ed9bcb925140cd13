/**
 * The CRM's currencies as the official SDK's helper reads them (crm.currency.base.get,
 * crm.currency.list, then crm.currency.get for each one's formats). Shapes and errors:
 * https://apidocs.bitrix24.com/api-reference/crm/currency/ (crm-currency-base-get,
 * crm-currency-list, crm-currency-get).
 */
import type { Currency } from '../../model.js';
import { type CallContext, ListResult, type MethodSpec, asRecord, param, portalTime } from '../context.js';
import { legacy } from '../errors.js';

/** A currency as the portal shows it: the formats of the portal's language beside the rate. */
function row(ctx: CallContext, c: Currency): Record<string, unknown> {
  const format = c.lang[ctx.portal.lang] ?? c.lang['en']!;
  return {
    CURRENCY: c.CURRENCY,
    AMOUNT_CNT: c.AMOUNT_CNT,
    AMOUNT: c.AMOUNT,
    SORT: c.SORT,
    BASE: c.BASE,
    FULL_NAME: format.FULL_NAME,
    LID: ctx.portal.lang,
    FORMAT_STRING: format.FORMAT_STRING,
    DEC_POINT: format.DEC_POINT,
    THOUSANDS_SEP: format.THOUSANDS_SEP,
    DECIMALS: format.DECIMALS,
    DATE_UPDATE: portalTime(ctx.portal, c.DATE_UPDATE),
  };
}

/** Reading currencies needs access to the CRM («Access denied.» in the legacy crm error shape). */
function requireCrm(ctx: CallContext): void {
  if (!ctx.user.crmAccess) throw legacy('Access denied.');
}

const ORDERABLE = new Set(['CURRENCY', 'AMOUNT_CNT', 'AMOUNT', 'SORT', 'BASE', 'DATE_UPDATE']);

export const currencyMethods: Record<string, MethodSpec> = {
  'crm.currency.base.get': {
    scope: 'crm',
    handler: (ctx) => ctx.portal.currencies.find((c) => c.BASE === 'Y')?.CURRENCY ?? '',
  },
  /** Every currency in one answer (no paging); `total` is always 0, as the method's page says. */
  'crm.currency.list': {
    scope: 'crm',
    handler: (ctx, params) => {
      requireCrm(ctx);
      const order = Object.entries(asRecord(param(params, 'order')))
        .map(([field, dir]) => [field.toUpperCase(), String(dir).toUpperCase() === 'DESC' ? -1 : 1] as const)
        .filter(([field]) => ORDERABLE.has(field));
      const keys = order.length > 0 ? order : ([['SORT', 1]] as const);
      const value = (c: Currency, field: string): string | number => {
        const v = c[field as keyof Currency] as string | number;
        return field === 'CURRENCY' || field === 'BASE' ? String(v) : Number(v);
      };
      const rows = [...ctx.portal.currencies].sort((a, b) => {
        for (const [field, dir] of keys) {
          const x = value(a, field);
          const y = value(b, field);
          if (x !== y) return (x < y ? -1 : 1) * dir;
        }
        return 0;
      });
      return new ListResult(
        rows.map((c) => row(ctx, c)),
        0,
      );
    },
  },
  /** One currency, with its formats in each language (`LANG`). */
  'crm.currency.get': {
    scope: 'crm',
    handler: (ctx, params) => {
      requireCrm(ctx);
      const id = String(param(params, 'id') ?? '');
      const c = ctx.portal.currencies.find((x) => x.CURRENCY === id);
      if (!c) throw legacy('Not found');
      return { ...row(ctx, c), LANG: c.lang };
    },
  },
};
