/**
 * Plant time: SAP keeps posting dates and confirmation times as local wall-clock time of the
 * plant, without an offset. These helpers convert instants to and from the wall-clock time of an
 * IANA time zone with Intl only (no time-zone data of our own), across daylight-saving changes.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Why `name` is not an IANA time zone this runtime knows, or undefined when it is one. */
export function timeZoneProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return 'time zone empty (an IANA name such as Europe/Berlin, or UTC)';
  try {
    formatter(name);
    return undefined;
  } catch {
    return `unknown time zone '${name}' (an IANA name such as Europe/Berlin, or UTC)`;
  }
}

/** The wall-clock time at an instant, as if it were UTC: its day's midnight and the seconds into that day. */
export function wallClock(ms: number, timeZone: string): { dayMs: number; seconds: number } {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const dayMs = Math.floor(local / DAY_MS) * DAY_MS;
  return { dayMs, seconds: Math.floor((local - dayMs) / 1000) };
}

/** Offset of the zone at an instant (ms to add to UTC for the wall clock). */
function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const { dayMs, seconds } = wallClock(whole, timeZone);
  return dayMs + seconds * 1000 - whole;
}

/**
 * The instant of a wall-clock time. A time that happens twice (the hour after a fall-back) is the
 * first of the two; a time that does not happen (the hour skipped in spring) is moved forward by
 * the gap, as java.time and Temporal's 'compatible' do.
 */
export function instantOfWallClock(dayMs: number, seconds: number, timeZone: string): number {
  const local = dayMs + seconds * 1000;
  const before = offsetAt(local - DAY_MS, timeZone);
  const after = offsetAt(local + DAY_MS, timeZone);
  const candidates = [...new Set([before, after])].map((o) => local - o).filter((t) => offsetAt(t, timeZone) === local - t);
  if (candidates.length) return Math.min(...candidates);
  // In the gap: read with the offset before it, which lands the same distance after the change.
  return local - before;
}
