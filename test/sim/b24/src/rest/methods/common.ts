/**
 * The `basic` methods of Bitrix24's «common» section that the official SDKs' helpers call:
 * server.time, and the app's settings (app.option.*, shared by the portal's users) and each user's
 * (user.option.*). Shapes and errors: https://apidocs.bitrix24.com/api-reference/common/system/server-time.html
 * and https://apidocs.bitrix24.com/api-reference/common/settings/ (app-option-get, app-option-set,
 * user-option-get, user-option-set).
 */
import { type CallContext, ListResult, type MethodSpec, type Params, param, portalTime } from '../context.js';
import { accessDenied, argumentNull } from '../errors.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What `*.option.get` answers: one saved value (null when there is none) with `option`, else all of
 * them (`[]` when none). Reading all, settings named `next` and `total` land beside `result`, as the
 * REST server lifts those keys out of every answer (the methods' pages warn of it).
 */
function readOptions(saved: Record<string, unknown>, params: Params): unknown {
  const option = param(params, 'option');
  if (option !== undefined && option !== null && option !== '')
    return Object.hasOwn(saved, String(option)) ? saved[String(option)] : null;
  const { next, total, ...rest } = saved;
  return new ListResult(Object.keys(rest).length === 0 ? [] : rest, total, next);
}

/**
 * What `*.option.set` writes: the `options` object, or without one the request's parameters
 * themselves; only the keys given change, each with the type it came in (strings from a form, JSON
 * types from a JSON body). Nothing to write: 400 ERROR_ARGUMENT.
 */
function writeOptions(saved: Record<string, unknown>, params: Params): true {
  const given = param(params, 'options') ?? params;
  if (!isObject(given) || Object.keys(given).length === 0) throw argumentNull('options');
  Object.assign(saved, given);
  return true;
}

function userOptions(ctx: CallContext): Record<string, unknown> {
  let mine = ctx.install.userOptions.get(ctx.user.ID);
  if (!mine) {
    mine = {};
    ctx.install.userOptions.set(ctx.user.ID, mine);
  }
  return mine;
}

export const commonMethods: Record<string, MethodSpec> = {
  /** The portal's server time in its own time zone, `YYYY-MM-DDThh:mm:ss±hh:mm`. */
  'server.time': { scope: null, handler: (ctx) => portalTime(ctx.portal, Date.now()) },
  'app.option.get': { scope: null, handler: (ctx, params) => readOptions(ctx.install.appOptions, params) },
  'app.option.set': {
    scope: null,
    handler: (ctx, params) => {
      if (!ctx.user.isAdmin) throw accessDenied('Administrator authorization required');
      return writeOptions(ctx.install.appOptions, params);
    },
  },
  'user.option.get': { scope: null, handler: (ctx, params) => readOptions(userOptions(ctx), params) },
  'user.option.set': { scope: null, handler: (ctx, params) => writeOptions(userOptions(ctx), params) },
};
