import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import type { Resume } from './model.js';
import type { Renderer } from './render.js';

/**
 * The fonts ship with the package (dejavu-fonts-ttf): Cyrillic renders without system fonts.
 * Parsed once and shared by every document (each embeds its own subset): given a path, pdfkit
 * parses the font again for each document, most of a document's time.
 */
let parsed: { body: fontkit.Font; bold: fontkit.Font } | undefined;
function fonts(): { body: fontkit.Font; bold: fontkit.Font } {
  if (!parsed) {
    const file = (name: string) =>
      readFileSync(createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/${name}`));
    parsed = {
      body: fontkit.create(file('DejaVuSans.ttf')),
      bold: fontkit.create(file('DejaVuSans-Bold.ttf')),
    };
  }
  return parsed;
}

/** The lines of a downloaded resume: what the applicant shows an employer, hidden fields left out. */
export function resumeLines(r: Resume, render: Renderer): { heading: string; lines: string[] } {
  const hidden = new Set(r.hidden);
  const heading = hidden.has('names_and_photo')
    ? `Соискатель скрыл ФИО (резюме ${r.id.slice(0, 8)})`
    : [r.lastName, r.firstName, r.middleName].filter(Boolean).join(' ');
  const lines = [
    r.title,
    `${r.gender === 'male' ? 'Мужчина' : 'Женщина'}, ${render.age(r)} лет, ${r.area.name}`,
    ...r.phones.map((p) =>
      hidden.has('phones')
        ? 'Телефон скрыт соискателем'
        : `${render.formatPhone(p)}${p.comment ? ` — ${p.comment}` : ''}`,
    ),
    ...(r.email === null ? [] : [hidden.has('email') ? 'Эл. почта скрыта соискателем' : r.email]),
    ...(r.salary ? [`Желаемая зарплата: ${r.salary.amount.toLocaleString('ru-RU')} руб.`] : []),
    'Опыт работы',
    ...r.experience.map(
      (e) =>
        `${e.start.slice(0, 7)} — ${e.end ? e.end.slice(0, 7) : 'по настоящее время'}: ${e.position}${hidden.has('experience') ? '' : `, ${e.company}`}`,
    ),
    ...(r.skills.length ? [`Ключевые навыки: ${r.skills.join(', ')}`] : []),
  ];
  return { heading, lines };
}

/** What a PDF shows: plain data, so a worker thread can render it. */
export interface PdfContent {
  title: string;
  heading: string;
  lines: string[];
}

export function pdfContent(r: Resume, render: Renderer): PdfContent {
  return { title: r.title, ...resumeLines(r, render) };
}

/**
 * Renders in this thread (a few milliseconds: the fonts are subset every time). The
 * server renders in a worker instead (pdf-pool.ts): a blocked event loop would judge the rate
 * limit of every request that queued meanwhile at once, as if they had arrived together.
 */
export function renderPdf({ title, heading, lines }: PdfContent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: 56,
      info: { Title: `${heading} — ${title}`, Author: 'hh.ru (симулятор)' },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    // fontkit's glyph objects are dropped for each document (the decoded tables stay): glyphs the
    // last document's subset created carry no code points, and reused they map its text to nothing.
    // pdfkit takes a parsed font as it is; its types know only paths and bytes.
    const { body, bold } = fonts();
    body._glyphs = {};
    bold._glyphs = {};
    doc.registerFont('body', body as unknown as Buffer);
    doc.registerFont('bold', bold as unknown as Buffer);
    doc.font('bold').fontSize(18).text(heading);
    doc.moveDown(0.5);
    for (const line of lines) {
      if (line === 'Опыт работы')
        doc.moveDown(0.5).font('bold').fontSize(13).text(line).font('body').fontSize(11);
      else doc.font('body').fontSize(11).text(line);
    }
    doc.end();
  });
}

/** RTF with \uN escapes: Cyrillic survives any code page. */
export function resumeRtf(r: Resume, render: Renderer): Buffer {
  const { heading, lines } = resumeLines(r, render);
  const esc = (s: string) =>
    [...s]
      .map((c) => (c.charCodeAt(0) < 128 ? c.replace(/[\\{}]/g, '\\$&') : `\\u${c.charCodeAt(0)}?`))
      .join('');
  const body = [`{\\b\\fs32 ${esc(heading)}}\\par`, ...lines.map((l) => `${esc(l)}\\par`)].join('\n');
  return Buffer.from(`{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs22\n${body}\n}`, 'ascii');
}
