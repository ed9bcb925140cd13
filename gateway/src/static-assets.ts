import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/** The pages' own files (templates/static) and htmx, served by the gateway from memory. */
const templatesDir = new URL('../../../templates/static/', import.meta.url);

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

export function registerStaticAssets(app: FastifyInstance): void {
  const files: Record<string, Buffer> = {
    'app.js': readFileSync(new URL('app.js', templatesDir)),
    'app.css': readFileSync(new URL('app.css', templatesDir)),
    'htmx.min.js': readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js')),
  };
  for (const [name, content] of Object.entries(files)) {
    const etag = `"${createHash('sha256').update(content).digest('base64url').slice(0, 16)}"`;
    app.get(`/static/${name}`, async (req, reply) => {
      reply
        .header('etag', etag)
        .header('cache-control', 'public, max-age=300')
        .header('x-content-type-options', 'nosniff');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(TYPES[name.split('.').pop()!]!).send(content);
    });
  }
}
