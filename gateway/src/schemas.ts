/**
 * Every gateway route's input as a TypeBox schema: path parameters, query strings and bodies. The
 * routes declare them (`schema: { params, querystring, body }`), fastify checks them with
 * TypeBox's compiler before the handler runs (the same compiler that checks the NATS messages,
 * services/common/src/schema.ts), and the handlers' request types are derived from them
 * (@fastify/type-provider-typebox). A request that does not fit is answered with a 4xx naming the
 * field (`validation.ts`); nothing is read from it further.
 *
 * Bitrix24 posts its forms the PHP way (`auth[member_id]=…`): those bodies are parsed into nested
 * objects first (php-form.ts, in `preValidation`), then checked here like any other body.
 * Authentication still decides what only it can (whether a token is the portal's, 401): a schema
 * only says what a field must look like, so a field that authentication reads is optional here.
 */
import { Enum, HH_ROBOT_CODES, HhCallback, Ids, type Static, Type } from '@hhb24/common';

/** A form field of Bitrix24's, at most `max` characters. */
const text = (max: number) => Type.String({ maxLength: max });
/** A whole number as a form writes it. */
const digits = (max = 12) => Type.String({ pattern: `^\\d{1,${max}}$` });
/** A nested part of a PHP-style form (`data[…]`, `properties[…]`): strings and nested parts. */
const FormSection = Type.Record(Type.String(), Type.Unknown());

// ---- Bitrix24 page loads: /b24/install, /b24/app, /b24/placement ------------------------------

/** The iframe's query: the portal names itself (PROTOCOL 1 = https) and its language. */
export const B24PageQuery = Type.Object({
  DOMAIN: Type.Optional(text(255)),
  PROTOCOL: Type.Optional(Enum(['0', '1'])),
  LANG: Type.Optional(text(8)),
});
export type B24PageQuery = Static<typeof B24PageQuery>;

/** The app page and the card tabs: who opens them and where (checked with the portal by PortalAuth). */
export const B24PageForm = Type.Object({
  member_id: Type.Optional(text(64)),
  APPLICATION_TOKEN: Type.Optional(text(128)),
  AUTH_ID: Type.Optional(text(512)),
  AUTH_EXPIRES: Type.Optional(digits(9)),
  PLACEMENT: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]{1,64}$' })),
  PLACEMENT_OPTIONS: Type.Optional(text(4096)),
});
export type B24PageForm = Static<typeof B24PageForm>;

/**
 * PLACEMENT_OPTIONS, a JSON object: the lead or deal of a card tab (`ID`), or what an activity's
 * «Все отклики (N)» opens (`view`, `entityTypeId`, `entityId`).
 */
export const PlacementOptions = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean(), Type.Null()]),
);

/** The installer page: what the OAuth server is asked to confirm (InstallVerifier). */
export const B24InstallForm = Type.Object({
  member_id: Ids.memberId(),
  REFRESH_ID: Type.String({ minLength: 1, maxLength: 512 }),
  APPLICATION_TOKEN: Type.String({ minLength: 1, maxLength: 128 }),
  SERVER_ENDPOINT: Type.Optional(text(512)),
  AUTH_ID: Type.Optional(text(512)),
  AUTH_EXPIRES: Type.Optional(digits(9)),
  APPLICATION_SCOPE: Type.Optional(text(2000)),
});
export type B24InstallForm = Static<typeof B24InstallForm>;

// ---- Bitrix24's queue: /b24/events, /b24/events/install, /b24/robot ---------------------------

/** The `auth[…]` block of an event or robot call (its application_token is checked by PortalAuth.event). */
export const B24CallAuth = Type.Object({
  member_id: Type.Optional(text(64)),
  application_token: Type.Optional(text(128)),
  access_token: Type.Optional(text(512)),
  expires_in: Type.Optional(digits(9)),
  user_id: Type.Optional(text(20)),
});
export type B24CallAuth = Static<typeof B24CallAuth>;

/** An event (https://apidocs.bitrix24.com/api-reference/events/index.html): its name, when, what. */
export const B24EventForm = Type.Object({
  event: Type.String({ minLength: 1, maxLength: 100 }),
  event_handler_id: Type.Optional(text(64)),
  ts: Type.Optional(text(20)),
  data: Type.Optional(FormSection),
  auth: Type.Optional(B24CallAuth),
});
export type B24EventForm = Static<typeof B24EventForm>;

/** ONAPPINSTALL: only the portal it names is read. */
export const B24InstallEventForm = Type.Object({ auth: Type.Optional(B24CallAuth) });
export type B24InstallEventForm = Static<typeof B24InstallEventForm>;

/** A robot run: one of our robots on a lead or deal (`document_id[2]` = `DEAL_7`). */
export const B24RobotForm = Type.Object({
  code: Enum(HH_ROBOT_CODES),
  document_id: Type.Object({ 2: Type.String({ pattern: '^(LEAD|DEAL)_[1-9]\\d{0,17}$' }) }),
  event_token: Type.Optional(text(512)),
  workflow_id: Type.Optional(text(200)),
  properties: Type.Optional(FormSection),
  auth: Type.Optional(B24CallAuth),
});
export type B24RobotForm = Static<typeof B24RobotForm>;

// ---- the app pages' own requests: /ui/*, and the hh.ru login window -----------------------------

/**
 * The `/ui/<route>` path. A property named `*` breaks fastify's schema compiler, so the wildcard
 * is described as what every property of the params must be.
 */
export const UiParams = Type.Object(
  {},
  { additionalProperties: Type.String({ pattern: '^[a-z0-9-]+(/[a-z0-9-]+){0,3}$' }) },
);
/** The wildcard's value, `tab/settings`: what every property of UiParams is. */
export type UiParams = Static<typeof UiParams> & { '*'?: string };

/** The pages post plain fields (a repeated one as a list); settings checks each form's own fields. */
const UiField = Type.Union([
  Type.String({ maxLength: 10_000 }),
  Type.Array(Type.String({ maxLength: 10_000 }), { maxItems: 100 }),
]);
export const UiForm = Type.Record(Type.String({ maxLength: 100 }), UiField, { maxProperties: 500 });
export type UiForm = Static<typeof UiForm>;

/** «Скачать резюме» (`/ui/card/pdf`): the response whose PDF is wanted. */
export const PdfForm = Type.Object({ negotiationId: Ids.negotiationId() });

/** «Войти» posts the page's session to /hh/oauth/start. */
export const HhLoginForm = Type.Object({ _session: Type.Optional(text(4096)) });
export type HhLoginForm = Static<typeof HhLoginForm>;

/** hh.ru's redirect back (https://api.hh.ru/openapi/redoc#tag/Avtorizaciya-rabotodatelya): a code, or an error. */
export const HhLoginCallbackQuery = Type.Object({
  state: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' })),
  code: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{1,512}$' })),
  error: Type.Optional(text(200)),
  error_description: Type.Optional(text(2000)),
});
export type HhLoginCallbackQuery = Static<typeof HhLoginCallbackQuery>;

// ---- hh.ru's webhooks ---------------------------------------------------------------------------

/** `/hh/webhook/{accountId}.{mac}` (its HMAC is checked by verifyHhWebhookToken). */
export const HhWebhookParams = Type.Object({
  token: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}\\.[A-Za-z0-9_-]{1,100}$' }),
});
export { HhCallback };
