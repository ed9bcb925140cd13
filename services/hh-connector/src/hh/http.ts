import { BodyTooLarge, UnavailableError, isRefusedRedirect, readCapped, streamCapped } from '@hhb24/common';
import { Agent, fetch as undiciFetch } from 'undici';
import { HH_ERROR_CODES, HhError } from './errors.js';

/** A byte cap and the setting that sets it (named in the failure when an answer passes it). */
export interface ByteCap {
  bytes: number;
  setting: string;
}

export interface HhHttpConfig {
  /** https://api.hh.ru, or the simulator. */
  apiUrl: string;
  /** https://hh.ru (the authorize page), or the simulator. */
  oauthUrl: string;
  /** Sent as HH-User-Agent (and User-Agent): hh.ru refuses requests without one. */
  userAgent: string;
  timeoutMs: number;
  /** Largest JSON answer read (HH_MAX_JSON_BYTES): every call but the PDF downloads. */
  jsonCap: ByteCap;
  /** Largest resume PDF read (HH_MAX_PDF_BYTES). */
  pdfCap: ByteCap;
  /**
   * Local addresses calls may leave from (HH_EGRESS_ADDRESSES); each call names one as `egress`.
   * Empty: the system's routing chooses, as for any other outgoing call.
   */
  egressAddresses?: readonly string[];
}

export interface HhResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, when the answer was JSON. */
  body: unknown;
  /** The raw bytes (PDF downloads). */
  bytes: Buffer;
  /** With `stream`, a successful answer's body as it arrives (cut at the cap), instead of `bytes`. */
  stream?: AsyncIterable<Uint8Array>;
}

export interface SendInit {
  token?: string;
  form?: Record<string, string | string[] | undefined>;
  json?: unknown;
  /** The answer is a file (a resume PDF): read up to the PDF cap instead of the JSON one. */
  file?: boolean;
  /**
   * A successful answer is not read here: `stream` gives its body as it arrives (a resume PDF
   * written into the file store part by part, never held whole).
   */
  stream?: boolean;
  /** The local address the call leaves from: one of `egressAddresses`. */
  egress?: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

/**
 * A URL as errors and logs name it: the path only (query strings may carry ids we keep out of
 * logs), and a download's file name left out (hh.ru names resume files after the applicant).
 */
export function pathOf(url: URL): string {
  return url.pathname.replace(/(\/download\/)[^/]*$/, '$1…');
}

/** The HTTP layer: base URLs, User-Agent, timeouts. Answers are returned whatever their status; only transport failures throw. */
export class HhHttp {
  private readonly api: URL;
  /** One connection pool per egress address, its sockets bound to that address (undici's `localAddress`). */
  private readonly agents = new Map<string, Agent>();

  constructor(readonly config: HhHttpConfig) {
    this.api = new URL(config.apiUrl);
    for (const address of config.egressAddresses ?? [])
      this.agents.set(address, new Agent({ localAddress: address }));
  }

  /** Closes the egress addresses' connection pools (on shutdown). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.agents.values()].map((a) => a.close()));
  }

  /** The connection pool of the call's egress address; undefined: Node's own (no addresses set). */
  private dispatcher(egress: string | undefined): Agent | undefined {
    if (egress === undefined) {
      if (this.agents.size > 0) throw new Error('an hh.ru call without its egress address');
      return undefined;
    }
    const agent = this.agents.get(egress);
    if (!agent) throw new Error(`${egress} is not one of HH_EGRESS_ADDRESSES`);
    return agent;
  }

  /**
   * A URL on the API host: a path, or a URL hh.ru gave us (resume, download, action URLs). A URL on
   * any other origin is refused, so a tampered answer cannot make us send the token elsewhere.
   */
  url(target: string, query: Query = {}): URL {
    const url = target.startsWith('/')
      ? new URL(target.replace(/^\/+/, ''), `${this.api.href.replace(/\/?$/, '/')}`)
      : new URL(target);
    if (url.origin !== this.api.origin) {
      throw new HhError(
        HH_ERROR_CODES.untrustedUrl,
        `refusing to call ${url.origin}: not the hh.ru API (${this.api.origin})`,
        { status: 0, errors: [] },
        { status: 502 },
      );
    }
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async send(method: string, url: URL, init: SendInit = {}): Promise<HhResponse> {
    const headers: Record<string, string> = {
      'hh-user-agent': this.config.userAgent,
      'user-agent': this.config.userAgent,
      // What the answer is: JSON, or for a download the resume's PDF.
      accept: init.file ? 'application/pdf' : 'application/json',
    };
    if (init.token) headers['authorization'] = `Bearer ${init.token}`;
    let body: string | undefined;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form))
        for (const one of v === undefined ? [] : [v].flat()) params.append(k, one);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    const cap = init.file ? this.config.pdfCap : this.config.jsonCap;
    const dispatcher = this.dispatcher(init.egress);
    const request: RequestInit = {
      method,
      headers,
      body,
      // The request carries the account's token (or the app's secret): never to another address.
      redirect: 'error',
      signal: AbortSignal.timeout(this.config.timeoutMs),
    };
    let res: Response;
    let bytes: Buffer;
    try {
      // Through an egress address's pool, undici's fetch: the library Node's own fetch is built on,
      // so pool and fetch are one version, and the options above and the answer's stream are the same.
      res = dispatcher ? await undiciFetch(url, { ...request, dispatcher }) : await fetch(url, request);
      if (init.stream && res.ok)
        return {
          status: res.status,
          headers: res.headers,
          body: undefined,
          bytes: Buffer.alloc(0),
          stream: this.streamed(res, cap, method, url),
        };
      bytes = await readCapped(res, cap.bytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw tooLarge(cap, method, url);
      if (isRefusedRedirect(err))
        throw new HhError(
          HH_ERROR_CODES.redirected,
          `hh.ru answered with a redirect, which is not followed (the call carries a token): ${method} ${pathOf(url)}`,
          { status: 0, errors: [] },
          { retryable: false, status: 502 },
        );
      const failure = err as Error;
      const why =
        failure.name === 'TimeoutError'
          ? `no answer in ${this.config.timeoutMs} ms`
          : failure.cause instanceof Error
            ? `${failure.cause.name}: ${failure.cause.message}`
            : failure.message;
      throw new UnavailableError(
        HH_ERROR_CODES.unavailable,
        `hh.ru unreachable: ${method} ${pathOf(url)}${init.egress ? ` from ${init.egress}` : ''}: ${why}`,
        { cause: err },
      );
    }
    return this.answer(res, bytes);
  }

  private answer(res: Response, bytes: Buffer): HhResponse {
    let parsed: unknown;
    if ((res.headers.get('content-type') ?? '').includes('json') && bytes.length > 0) {
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed, bytes };
  }

  /** A body read as it arrives, its failures named as `send` names them. */
  private async *streamed(res: Response, cap: ByteCap, method: string, url: URL): AsyncGenerator<Uint8Array> {
    try {
      yield* streamCapped(res, cap.bytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw tooLarge(cap, method, url);
      throw new UnavailableError(
        HH_ERROR_CODES.unavailable,
        `hh.ru unreachable: ${method} ${pathOf(url)}: the answer broke off: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** hh.ru's answer passed its cap: reading stopped there, and trying again would read it again. */
function tooLarge(cap: ByteCap, method: string, url: URL): HhError {
  return new HhError(
    HH_ERROR_CODES.tooLarge,
    `hh.ru's answer is larger than ${cap.setting} (${cap.bytes} bytes), reading stopped there: ${method} ${pathOf(url)}`,
    { status: 0, errors: [], capBytes: cap.bytes, setting: cap.setting },
    { retryable: false, status: 502 },
  );
}
