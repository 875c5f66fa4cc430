// admin-format.js turns the numbers of the system console into short text:
// call lengths, uptimes, bitrates, loss and dates for tables.
import { toDate, size } from './format.js';

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** clock is a length in seconds as "4:05" or "1:02:03", the way call timers read. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** since is the seconds from an RFC 3339 time to now. */
export function since(value) {
  const t = toDate(value).getTime();
  return Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 1000) : 0;
}

/** span is a long length for people: "3 d 4 h", "2 h 5 min", "45 s". */
export function span(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** bitrate is bits per second for people: "48 kbit/s", "1.2 Mbit/s". */
export function bitrate(bps) {
  if (!Number.isFinite(bps) || bps < 0) return '–';
  if (bps < 1000) return `${Math.round(bps)} bit/s`;
  if (bps < 1e6) return `${Math.round(bps / 1000)} kbit/s`;
  return `${(bps / 1e6).toFixed(1)} Mbit/s`;
}

/** percent is a loss ratio already in percent: "0 %", "2.5 %". */
export function percent(p) {
  if (!Number.isFinite(p)) return '–';
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)} %`;
}

/** dateTime is "Jun 3, 2026, 9:41 AM"; empty for a missing time. */
export function dateTime(value) {
  if (!value) return '';
  const d = toDate(value);
  return Number.isNaN(d.getTime()) ? '' : dateTimeFmt.format(d);
}

/** date is "Jun 3, 2026". */
export function date(value) {
  if (!value) return '';
  const d = toDate(value);
  return Number.isNaN(d.getTime()) ? '' : dateFmt.format(d);
}

/** bytes is format.size with "0 B" for nothing and a dash for unknown. */
export function bytes(n) {
  if (n === 0) return '0 B';
  return size(n) || '–';
}
