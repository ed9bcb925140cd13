/**
 * Preloaded into each service with `--profile` (NODE_OPTIONS=--import …; node refuses --cpu-prof
 * there): samples the CPU from the start and writes <service>.<pid>.cpuprofile into
 * BENCH_PROFILE_DIR on SIGUSR2, so the benchmark can collect it before it stops the process.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env['BENCH_PROFILE_DIR'];
if (dir) {
  const name = /([^/]+)\/dist\/src\/main\.js$/.exec(process.argv[1] ?? '')?.[1] ?? 'node';
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')),
  );
  process.on('SIGUSR2', () =>
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(`${dir}/${name}.${process.pid}.cpuprofile`, JSON.stringify(result.profile));
      process.stdout.write(
        `${JSON.stringify({ msg: 'cpu profile written', err: err ? String(err) : undefined })}\n`,
      );
    }),
  );
}
