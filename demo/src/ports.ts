/**
 * The demo's fixed ports, tried before anything starts: a port taken by another program is named
 * with the variable that moves it, instead of a listen error from deep inside a service.
 */
import { createServer } from 'node:net';

export interface PortSetting {
  variable: string;
  port: number;
}

function free(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The settings whose port is taken (port 0 means any free one, so it never is). */
export async function takenPorts(host: string, settings: PortSetting[]): Promise<PortSetting[]> {
  const taken: PortSetting[] = [];
  for (const s of settings) if (s.port !== 0 && !(await free(host, s.port))) taken.push(s);
  return taken;
}

export function describeTaken(taken: PortSetting[]): string {
  return [
    'Ports the demo needs are taken by other programs:',
    ...taken.map(
      (s) =>
        `  ${s.port} (${s.variable}): set ${s.variable} to a free port${s.variable === 'GATEWAY_PORT' ? '' : ', or 0 for any'}`,
    ),
    `e.g. ${taken.map((s) => `${s.variable}=${s.variable === 'GATEWAY_PORT' ? s.port + 100 : 0}`).join(' ')} npm run demo`,
  ].join('\n');
}
