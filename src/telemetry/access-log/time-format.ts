/**
 * The time formats of `%START_TIME(...)%` and `%DOWNSTREAM_PEER_CERT_V_START(...)%`: strftime
 * conversions in UTC, as Envoy prints them, compiled once into a list of parts. `%f` prints the
 * fraction of the second with 9 digits, `%1f` … `%9f` with that many (times are known to the
 * millisecond, so digits past the third are zeros); `%s` is seconds since the epoch. A conversion
 * not listed here is printed as written, as Envoy's formatter leaves one it does not know.
 */

/** Prints a time (ms since the epoch). */
export type TimeFormatter = (ms: number) => string;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

type Part = string | ((d: Date, ms: number) => string);

function fraction(digits: number): Part {
  return (_d, ms) => {
    const frac = pad(((ms % 1000) + 1000) % 1000, 3);
    return digits <= 3 ? frac.slice(0, digits) : frac + '0'.repeat(digits - 3);
  };
}

/** The conversion after `%` (`Y`, `3f`), or null when it is none this formatter knows. */
function conversion(c: string, digit: number | null): Part | null {
  if (digit !== null) return c === 'f' ? fraction(digit) : null;
  switch (c) {
    case 'Y':
      return (d) => pad(d.getUTCFullYear(), 4);
    case 'y':
      return (d) => pad(d.getUTCFullYear() % 100, 2);
    case 'm':
      return (d) => pad(d.getUTCMonth() + 1, 2);
    case 'd':
      return (d) => pad(d.getUTCDate(), 2);
    case 'e':
      return (d) => String(d.getUTCDate()).padStart(2, ' ');
    case 'H':
      return (d) => pad(d.getUTCHours(), 2);
    case 'M':
      return (d) => pad(d.getUTCMinutes(), 2);
    case 'S':
      return (d) => pad(d.getUTCSeconds(), 2);
    case 'j':
      return (d) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
    case 'a':
      return (d) => DAYS[d.getUTCDay()] ?? '';
    case 'b':
      return (d) => MONTHS[d.getUTCMonth()] ?? '';
    case 'F':
      return (d) => `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
    case 'T':
      return (d) => `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
    case 'z':
      return () => '+0000';
    case 'Z':
      return () => 'UTC';
    case 's':
      return (_d, ms) => String(Math.floor(ms / 1000));
    case 'f':
      return fraction(9);
    case '%':
      return () => '%';
    default:
      return null;
  }
}

/** Compiles a strftime pattern; null or '' gives Envoy's default, ISO 8601 to the millisecond. */
export function compileTimeFormat(pattern: string | null): TimeFormatter {
  if (pattern === null || pattern === '') return (ms) => new Date(ms).toISOString();
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch !== '%' || i + 1 >= pattern.length) {
      text += ch;
      continue;
    }
    let j = i + 1;
    let digit: number | null = null;
    const code = pattern.charCodeAt(j);
    if (code >= 49 && code <= 57 && j + 1 < pattern.length) {
      digit = code - 48;
      j++;
    }
    const part = conversion(pattern[j] ?? '', digit);
    if (part === null) {
      text += ch;
      continue;
    }
    if (text !== '') parts.push(text);
    text = '';
    parts.push(part);
    i = j;
  }
  if (text !== '') parts.push(text);
  return (ms) => {
    const d = new Date(ms);
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(d, ms);
    return out;
  };
}
