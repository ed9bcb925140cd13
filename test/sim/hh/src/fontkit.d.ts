/** The part of fontkit (a dependency of pdfkit, without types of its own) the PDF renderer uses. */
declare module 'fontkit' {
  /** A parsed font; pdfkit recognises it by its layout method. */
  export interface Font {
    layout(text: string): unknown;
    /** Glyph objects by id, created as text is laid out or a subset is written. */
    _glyphs: Record<number, unknown>;
  }
  export function create(buffer: Buffer): Font;
}
