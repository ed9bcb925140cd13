/** hh.ru writes dates in Moscow time, ISO 8601 without a colon in the offset: 2015-05-14T12:00:05+0300. */
const MOSCOW_OFFSET_MS = 3 * 3600_000;

export function hhDate(ms: number): string {
  return `${new Date(ms + MOSCOW_OFFSET_MS).toISOString().slice(0, 19)}+0300`;
}

export function hhDay(ms: number): string {
  return new Date(ms + MOSCOW_OFFSET_MS).toISOString().slice(0, 10);
}

/** The next Moscow midnight after `ms`: when daily limits (resume views) start over. */
export function nextMoscowMidnight(ms: number): number {
  const day = Math.floor((ms + MOSCOW_OFFSET_MS) / 86_400_000);
  return (day + 1) * 86_400_000 - MOSCOW_OFFSET_MS;
}

/** The simulator's clock: real time plus an offset tests can move forward (code expiry, daily limits). */
export class Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  reset(): void {
    this.offsetMs = 0;
  }
}
