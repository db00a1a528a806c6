/**
 * A small five-field cron matcher (UTC) for `spec.triggers.schedule`: minute, hour, day of month, month,
 * day of week, with `*`, `?`, lists, ranges, steps (`*\/15`, `1-5/2`), month and weekday names and the
 * macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`. As in Vixie cron,
 * when both day of month and day of week are restricted a day matching either one matches. The Quartz
 * extensions the CRD pattern lets through (`L`, `W`, `#`) are refused with a message.
 */

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  /** Day of month field was not `*`/`?`. */
  domRestricted: boolean;
  /** Day of week field was not `*`/`?`. */
  dowRestricted: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseField(
  text: string,
  min: number,
  max: number,
  names: string[] | undefined,
  nameBase: number,
  what: string,
): Set<number> {
  const out = new Set<number>();
  const num = (s: string): number => {
    const i = names ? names.indexOf(s.toUpperCase()) : -1;
    const n = i >= 0 ? i + nameBase : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`cron ${what}: '${s}' is not in ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`cron ${what}: bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      lo = num(a);
      hi = num(b);
      if (lo > hi) throw new Error(`cron ${what}: range '${range}' is reversed`);
    } else {
      lo = num(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parse a schedule; throws an Error with a readable message for what it does not support. */
export function parseCron(expression: string): CronSchedule {
  const expr = MACROS[expression.trim()] ?? expression.trim();
  const fields = expr.split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron: expected 5 fields, got ${fields.length} in '${expression}'`);
  if (
    /[LW#]/i.test(
      fields
        .slice(2)
        .join(' ')
        .replace(/[A-Za-z]{3}/g, (w) => (MONTHS.includes(w.toUpperCase()) || DAYS.includes(w.toUpperCase()) ? '' : w)),
    )
  ) {
    throw new Error(`cron: L, W and # are not supported in '${expression}'`);
  }
  const [mi, h, dom, mo, dow] = fields as [string, string, string, string, string];
  const daysOfWeek = parseField(dow, 0, 7, DAYS, 0, 'day of week');
  if (daysOfWeek.has(7)) {
    daysOfWeek.delete(7);
    daysOfWeek.add(0);
  }
  return {
    minutes: parseField(mi, 0, 59, undefined, 0, 'minute'),
    hours: parseField(h, 0, 23, undefined, 0, 'hour'),
    daysOfMonth: parseField(dom, 1, 31, undefined, 1, 'day of month'),
    months: parseField(mo, 1, 12, MONTHS, 1, 'month'),
    daysOfWeek,
    domRestricted: dom !== '*' && dom !== '?',
    dowRestricted: dow !== '*' && dow !== '?',
  };
}

/** True when the minute starting at `d` (UTC) matches. */
export function cronMatches(s: CronSchedule, d: Date): boolean {
  if (!s.minutes.has(d.getUTCMinutes()) || !s.hours.has(d.getUTCHours()) || !s.months.has(d.getUTCMonth() + 1))
    return false;
  const domOk = s.daysOfMonth.has(d.getUTCDate());
  const dowOk = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

const MINUTE = 60_000;
/** How far the searches look (a little over a leap year, so `@yearly` and Feb 29 are found). */
const HORIZON_MINUTES = 367 * 24 * 60;

/** The first matching minute strictly after `after`, or undefined within the horizon. */
export function nextCronTime(s: CronSchedule, after: Date): Date | undefined {
  let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < HORIZON_MINUTES; i++, t += MINUTE) if (cronMatches(s, new Date(t))) return new Date(t);
  return undefined;
}

/** The latest matching minute in (after, upTo], or undefined when none. */
export function lastCronTimeBetween(s: CronSchedule, after: Date, upTo: Date): Date | undefined {
  const first = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  let t = Math.floor(upTo.getTime() / MINUTE) * MINUTE;
  for (let i = 0; t >= first && i < HORIZON_MINUTES; i++, t -= MINUTE)
    if (cronMatches(s, new Date(t))) return new Date(t);
  return undefined;
}
