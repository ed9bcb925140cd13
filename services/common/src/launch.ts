import type { FastifyInstance } from 'fastify';
import { ConfigError, type ConfigOf, type Schema, loadConfig } from './config.js';
import type { Runtime } from './runtime.js';

/** Exit code of a start refused for bad configuration (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

/** For `main.ts`: validated configuration, or a message naming each bad variable and exit 78. */
export function configOrExit<S extends Schema>(
  service: string,
  schema: S,
  env: Record<string, string | undefined>,
): ConfigOf<S> {
  try {
    return loadConfig(service, schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

export interface Launchable {
  app: FastifyInstance;
  runtime: Runtime;
  port: number;
}

/**
 * Listens, then starts the runtimes (so /livez and /readyz answer while dependencies are awaited),
 * and shuts everything down on SIGINT/SIGTERM within the timeout. Used by every `main.ts` and by
 * the one-process mesh.
 */
export async function launch(
  services: Launchable[],
  options: {
    host: string;
    shutdownTimeoutMs: number;
    /** Closed after the services, within the same timeout (the demo's simulators). */
    alsoClose?: Array<() => Promise<unknown>>;
  },
): Promise<void> {
  const log = services[0]!.runtime.log;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: options.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, options.shutdownTimeoutMs);
    deadline.unref();
    const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(
      services.map((s) => s.app.close()),
    );
    results.push(...(await Promise.allSettled((options.alsoClose ?? []).map((close) => close()))));
    const failed = results.filter((r) => r.status === 'rejected');
    for (const f of failed) log.error({ err: f.reason }, 'shutdown error');
    log.info('stopped');
    process.exit(failed.length > 0 ? 1 : 0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  for (const s of services) {
    await s.app.listen({ port: s.port, host: options.host });
  }
  try {
    await Promise.all(services.map((s) => s.runtime.start()));
  } catch (err) {
    if (stopping) return;
    log.fatal({ err }, 'start failed');
    await shutdown('start failure');
  }
}
