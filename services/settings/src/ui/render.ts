import { readFileSync, readdirSync } from 'node:fs';
import { textOf } from '@hhb24/common';
import Handlebars from 'handlebars';
import { type Lang, text } from './texts.js';

/** The templates live at the repository's top (templates/), next to the pages' static files. */
const TEMPLATES = new URL('../../../../../templates/', import.meta.url);

export interface RenderContext {
  lang: Lang;
  [key: string]: unknown;
}

/**
 * Handlebars with the pages' helpers. Everything is escaped (`{{ }}`); the only raw output is a
 * template rendered by this engine (`{{{body}}}` in the layout). URLs from hh.ru or the portal
 * pass `safeUrl`, which lets only http(s) through.
 */
export class Renderer {
  private readonly hbs = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();

  constructor() {
    const partials = new URL('partials/', TEMPLATES);
    for (const file of readdirSync(partials)) {
      if (file.endsWith('.hbs'))
        this.hbs.registerPartial(file.slice(0, -4), readFileSync(new URL(file, partials), 'utf8'));
    }
    this.hbs.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
      const root = (options.data as { root: RenderContext }).root;
      return text(root.lang, key, options.hash as Record<string, unknown>);
    });
    this.hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    this.hbs.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
    this.hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
    this.hbs.registerHelper('json', (value: unknown) => JSON.stringify(value));
    this.hbs.registerHelper('safeUrl', (value: unknown) =>
      typeof value === 'string' && /^https?:\/\//i.test(value) ? value : '',
    );
    // hh.ru writes dates with the employer's offset (2024-05-13T10:00:00+0300): the day as written there.
    this.hbs.registerHelper('date', (value: unknown) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(textOf(value));
      return m ? `${m[3]}.${m[2]}.${m[1]}` : '';
    });
    // Our own instants (ISO, UTC) as Moscow time, the time hh.ru and most portals of our users live by.
    this.hbs.registerHelper('datetime', (value: unknown) => {
      const t = Date.parse(textOf(value));
      if (!Number.isFinite(t)) return '';
      const d = new Date(t + 3 * 3600_000);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${p(d.getUTCDate())}.${p(d.getUTCMonth() + 1)}.${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
    });
  }

  render(template: string, context: RenderContext): string {
    let compiled = this.compiled.get(template);
    if (!compiled) {
      compiled = this.hbs.compile(readFileSync(new URL(`${template}.hbs`, TEMPLATES), 'utf8'), {
        strict: false,
      });
      this.compiled.set(template, compiled);
    }
    return compiled(context);
  }

  /** A full page: the template inside the layout. */
  page(template: string, context: RenderContext & { title: string }): string {
    return this.render('layout', { ...context, body: this.render(template, context) });
  }
}
