// format.js turns times and sizes into the short text a chat shows.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const shortDayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** toDate accepts an RFC 3339 string or a Date. */
export function toDate(value) {
  return value instanceof Date ? value : new Date(value);
}

/** time is "9:41 AM" (in the reader's locale). */
export function time(value) {
  return timeFmt.format(toDate(value));
}

/** fullTime is the tooltip text: "Monday, 3 June 2024 at 09:41". */
export function fullTime(value) {
  return fullFmt.format(toDate(value));
}

/** dayKey groups times by the reader's calendar day. */
export function dayKey(value) {
  const d = toDate(value);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** dayLabel is "Today", "Yesterday" or the date for a day separator. */
export function dayLabel(value) {
  const d = toDate(value);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  return d.getFullYear() === today.getFullYear() ? dayFmt.format(d) : dayYearFmt.format(d);
}

/** shortWhen is "9:41 AM" today, else "Jun 3", for compact lists such as search results. */
export function shortWhen(value) {
  const d = toDate(value);
  return dayKey(d) === dayKey(new Date()) ? time(d) : shortDayFmt.format(d);
}

/** size is a byte count for people: "912 B", "14 KB", "3.2 MB". */
export function size(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = -1;
  do {
    n /= 1000;
    i += 1;
  } while (n >= 1000 && i < units.length - 1);
  return `${n >= 10 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** plural is "1 reply" / "3 replies". */
export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** names joins names for a sentence: "alice", "alice and bob", "alice, bob and 2 others". */
export function names(list, { max = 3 } = {}) {
  if (list.length === 0) return '';
  if (list.length === 1) return list[0];
  if (list.length <= max) return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
  const rest = list.length - (max - 1);
  return `${list.slice(0, max - 1).join(', ')} and ${rest} others`;
}

/** slug turns a display name into a channel or team name: "Design Team!" → "design-team". */
export function slug(text) {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}
