/**
 * Reads the text back out of a PDF written with an embedded TrueType subset (as pdfkit writes it):
 * the content streams show glyph ids, and each font's ToUnicode CMap maps them back to letters.
 * If a letter had no glyph in the font (Cyrillic in a Latin-only font), it would not come back.
 */
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream?: Buffer;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const out = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endobj', start);
    const body = text.slice(start, end);
    const s = body.indexOf('stream');
    if (s < 0) {
      out.set(Number(m[1]), { dict: body });
      continue;
    }
    const dict = body.slice(0, s);
    let dataStart = start + s + 'stream'.length;
    if (text[dataStart] === '\r') dataStart++;
    if (text[dataStart] === '\n') dataStart++;
    const length = Number(/\/Length (\d+)/.exec(dict)?.[1]);
    let data = pdf.subarray(dataStart, dataStart + length);
    if (/\/FlateDecode/.test(dict)) data = inflateSync(data);
    out.set(Number(m[1]), { dict, stream: data });
  }
  return out;
}

function cmap(source: string): Map<string, string> {
  const map = new Map<string, string>();
  const utf16 = (hex: string) => Buffer.from(hex, 'hex').swap16().toString('utf16le');
  for (const block of source.match(/beginbfchar([\s\S]*?)endbfchar/g) ?? []) {
    for (const [, from, to] of block.matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g))
      map.set(from!.toLowerCase(), utf16(to!));
  }
  for (const block of source.match(/beginbfrange([\s\S]*?)endbfrange/g) ?? []) {
    for (const [, lo, hi, rest] of block.matchAll(
      /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[0-9a-fA-F]+>)/g,
    )) {
      const first = parseInt(lo!, 16);
      const width = lo!.length;
      const targets = rest!.startsWith('[')
        ? [...rest!.matchAll(/<([0-9a-fA-F]+)>/g)].map((x) => x[1]!)
        : null;
      for (let code = first; code <= parseInt(hi!, 16); code++) {
        const key = code.toString(16).padStart(width, '0');
        if (targets) {
          const target = targets[code - first];
          if (target) map.set(key, utf16(target));
        } else {
          const base = parseInt(rest!.slice(1, -1), 16) + (code - first);
          map.set(key, String.fromCharCode(base));
        }
      }
    }
  }
  return map;
}

export interface PdfText {
  text: string;
  /** Base font names of embedded TrueType fonts (FontFile2). */
  embeddedFonts: string[];
}

export function pdfText(pdf: Buffer): PdfText {
  const objs = objects(pdf);
  const fonts = new Map<string, Map<string, string>>();
  const embeddedFonts: string[] = [];
  for (const obj of objs.values()) {
    for (const [, name, ref] of obj.dict.matchAll(/\/(F\d+) (\d+) 0 R/g)) {
      const font = objs.get(Number(ref));
      const toUnicode = font && /\/ToUnicode (\d+) 0 R/.exec(font.dict)?.[1];
      const cmapObj = toUnicode ? objs.get(Number(toUnicode)) : undefined;
      if (cmapObj?.stream) fonts.set(name!, cmap(cmapObj.stream.toString('latin1')));
    }
    const descriptor = /\/FontFile2 \d+ 0 R/.test(obj.dict)
      ? /\/FontName \/([^\s/]+)/.exec(obj.dict)?.[1]
      : undefined;
    if (descriptor) embeddedFonts.push(descriptor);
  }
  const lines: string[] = [];
  for (const obj of objs.values()) {
    if (!obj.stream || !/\bBT\b/.test(obj.stream.toString('latin1'))) continue;
    const content = obj.stream.toString('latin1');
    let font = new Map<string, string>();
    for (const [, fontName, shown] of content.matchAll(
      /\/(F\d+) [\d.]+ Tf|(\[[^\]]*\]\s*TJ|<[0-9a-fA-F]*>\s*Tj)/g,
    )) {
      if (fontName) {
        font = fonts.get(fontName) ?? new Map();
        continue;
      }
      let line = '';
      for (const [, hex] of shown!.matchAll(/<([0-9a-fA-F]*)>/g)) {
        for (let i = 0; i < hex!.length; i += 4)
          line += font.get(hex!.slice(i, i + 4).toLowerCase()) ?? '\uFFFD';
      }
      lines.push(line);
    }
  }
  return { text: lines.join('\n'), embeddedFonts };
}
