// admin-settings.js is the console's settings page: calls, network (ICE) and
// workspace settings in one form. The server validates every change; a bad
// value is shown next to its field and nothing is saved. Settings fixed on
// the server's command line are shown, disabled, with the flag that fixed them.
import * as admin from './admin-api.js';
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { sentence } from './auth-card.js';
import { pageHead, statusLine, errorBox, loading } from './admin-widgets.js';
import { bytes } from './admin-format.js';

/**
 * GROUPS lay the page out. A field names its setting by keys: the first one
 * the server knows is used (older names first), so the page shows exactly
 * what this server offers. kind: bool, int, duration, string, enum, lines
 * (a list, one per line), json, team, bytes.
 */
const GROUPS = [
  {
    id: 'calls',
    title: 'Calls',
    text: 'Who may call where, and what a call may do. Changes apply at once to new calls and to everyone\'s call buttons.',
    fields: [
      { keys: ['calls_enabled'], kind: 'bool', label: 'Calls are on', hint: 'Off: nobody can start or join a call anywhere.' },
      {
        label: 'Calls in each kind of room',
        group: [
          { keys: ['calls_in_channels', 'calls_channels'], kind: 'bool', label: 'Public channels' },
          { keys: ['calls_in_private', 'calls_private'], kind: 'bool', label: 'Private channels' },
          { keys: ['calls_in_dms', 'calls_dms'], kind: 'bool', label: 'Direct messages' },
          { keys: ['calls_in_groups', 'calls_group_dms'], kind: 'bool', label: 'Group messages' },
          { keys: ['calls_in_discussions', 'calls_discussions'], kind: 'bool', label: 'Discussions' },
        ],
      },
      { keys: ['ringing', 'ringing_enabled'], kind: 'bool', label: 'Direct message calls ring', hint: 'The other person gets a ringing popup on all their devices.' },
      { keys: ['ring_timeout'], kind: 'duration', label: 'Ring timeout', hint: 'How long a call rings before it counts as missed, e.g. 30s or 1m.', flag: '--ring-timeout' },
      { keys: ['video_allowed'], kind: 'bool', label: 'Cameras allowed' },
      { keys: ['screen_share_allowed'], kind: 'bool', label: 'Screen sharing allowed' },
      { keys: ['max_call_participants'], kind: 'int', label: 'Most people in one call', flag: '--max-call-participants' },
      { keys: ['recording_allowed'], kind: 'bool', label: 'Recording allowed' },
      { keys: ['recording_by'], kind: 'enum', label: 'Who may record', options: [['host', 'The host of the call'], ['admins', 'Admins only']] },
      { keys: ['recording_max'], kind: 'duration', label: 'Longest recording', hint: 'A recording stops by itself after this long, e.g. 60m.', flag: '--recording-max' },
      { keys: ['recording_reminder'], kind: 'duration', label: 'Recording reminder', hint: 'How long before the limit the host is reminded, e.g. 10m (0s: no reminder).', flag: '--recording-reminder' },
      { keys: ['default_mic_on'], kind: 'bool', label: 'Microphone on when joining' },
      { keys: ['default_camera_on'], kind: 'bool', label: 'Camera on when joining' },
    ],
  },
  {
    id: 'network',
    title: 'Network (ICE)',
    text: 'How call media finds its way to this server.',
    fields: [
      { keys: ['public_ips'], kind: 'lines', label: 'Public IP addresses', hint: 'Advertised to callers instead of the server\'s own addresses, one per line (a server behind NAT). Empty: the server\'s own.', flag: '--public-ip' },
      {
        keys: ['ice_servers'],
        kind: 'json',
        label: 'ICE servers shown to clients',
        hint: 'A JSON list such as [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]. Empty: this server\'s own STUN/TURN.',
      },
    ],
  },
  {
    id: 'workspace',
    title: 'Workspace',
    text: 'The name people see, how they get an account, and what is kept.',
    fields: [
      { keys: ['site_name'], kind: 'string', label: 'Site name', hint: 'Shown in the sidebar, the page title and on the login page.' },
      {
        keys: ['signup'],
        kind: 'enum',
        label: 'Who can get an account',
        options: [['closed', 'Only people an admin creates'], ['invite', 'People with an invite link'], ['open', 'Anyone who finds the login page (open sign-up)']],
      },
      { keys: ['default_team_id'], kind: 'team', label: 'Default team', hint: 'New accounts join this team.' },
      { keys: ['max_upload_bytes'], kind: 'bytes', label: 'Upload size limit (bytes)', flag: '--max-upload' },
      { keys: ['message_retention_days'], kind: 'int', label: 'Delete messages after (days)', hint: '0 keeps messages forever (the default).' },
    ],
  },
];

/** settingsPage returns {node, load(), refresh(), destroy()}. */
export function settingsPage(ctx) {
  const head = pageHead({
    title: 'Settings',
    text: 'Changes apply without a restart and are announced to everyone connected. Each change is written to the audit log.',
  });
  const body = el('div', { class: 'admin-settings-body' }, loading());
  const formError = el('p', { class: 'form-error', role: 'alert', hidden: true });
  const status = statusLine();
  const save = el('button', { type: 'submit', class: 'button button-primary', disabled: true }, 'Save changes');
  const discard = el('button', { type: 'button', class: 'button button-secondary', disabled: true }, 'Discard');
  const bar = el('div', { class: 'admin-savebar' }, status.node, discard, save);
  const form = el('form', { class: 'admin-form', novalidate: true, 'aria-labelledby': head.id }, body, formError, bar);
  const node = el('div', { class: 'admin-page-inner' }, head.node, form);

  let values = new Map();
  let teams = [];
  let controls = []; // {key, def, input, read(), error, wrap}
  let saving = false;
  let loaded = false;

  async function load() {
    try {
      const [settings, teamList] = await Promise.all([admin.settings(), admin.teams().catch(() => [])]);
      values = settings;
      teams = teamList;
      loaded = true;
      render();
    } catch (err) {
      if (err.status === 403) {
        ctx.onForbidden();
        return;
      }
      body.replaceChildren(errorBox(`Could not load the settings: ${err.message}`, { onRetry: load }));
    }
  }

  function render() {
    controls = [];
    const groups = [...GROUPS, otherGroup()].map((g) => renderGroup(g)).filter(Boolean);
    body.replaceChildren(...groups);
    updateDirty();
  }

  function renderGroup(g) {
    const rows = g.fields.map((f) => (f.group ? renderSet(f) : renderField(f))).filter(Boolean);
    if (!rows.length) return null;
    const id = uid(`admin-${g.id}`);
    return el('section', { class: 'admin-section admin-settings-group', 'aria-labelledby': id, dataset: { group: g.id } },
      el('div', { class: 'admin-section-head' },
        el('div', { class: 'admin-section-text' },
          el('h3', { id, class: 'admin-section-title' }, g.title),
          el('p', { class: 'admin-section-lead' }, g.text))),
      el('div', { class: 'admin-fields' }, rows));
  }

  function renderSet(f) {
    const items = f.group.map((sub) => renderField(sub, { inSet: true })).filter(Boolean);
    if (!items.length) return null;
    return el('fieldset', { class: 'admin-fieldset' },
      el('legend', { class: 'field-label' }, f.label),
      el('div', { class: 'admin-checks' }, items));
  }

  /** otherGroup shows settings this page has no place for yet, by the type the server gives. */
  function otherGroup() {
    const known = new Set(GROUPS.flatMap((g) => g.fields.flatMap((f) => (f.group ? f.group : [f]).flatMap((x) => x.keys))));
    const kinds = {
      bool: 'bool', int: 'int', duration: 'duration', string: 'string', enum: 'enum', ips: 'lines', ice_servers: 'json',
    };
    const fields = [...values.values()].filter((s) => !known.has(s.key)).map((s) => ({
      keys: [s.key],
      kind: (s.type === 'enum' && !Array.isArray(s.options) ? 'string' : kinds[s.type])
        || (typeof s.value === 'boolean' ? 'bool' : typeof s.value === 'number' ? 'int' : typeof s.value === 'string' ? 'string' : 'json'),
      options: (s.options || []).map((o) => [o, o]),
      label: s.description ? sentence(s.description).replace(/\.$/, '') : s.key,
    }));
    return { id: 'other', title: 'Other', text: 'More settings this server offers.', fields };
  }

  function keyOf(f) {
    return f.keys.find((k) => values.has(k)) || null;
  }

  function renderField(f, { inSet = false } = {}) {
    const key = keyOf(f);
    if (!key) return null;
    const s = values.get(key);
    const fixed = Boolean(s.fixed);
    const id = uid(`set-${key}`);
    const errId = `${id}-error`;
    const hintId = `${id}-hint`;
    const error = el('p', { id: errId, class: 'field-error', hidden: true });
    const hintText = f.hint || '';
    const fixedNote = fixed
      ? el('p', { class: 'admin-fixed' }, icon('lock', { size: 14 }),
        el('span', null, `Fixed by the command line${f.flag ? ` (${f.flag})` : ''}: change it there and restart the server.`))
      : null;
    const describedBy = [hintText && hintId, fixed && `${id}-fixed`, errId].filter(Boolean).join(' ');
    if (fixedNote) fixedNote.id = `${id}-fixed`;
    const hint = hintText ? el('p', { id: hintId, class: 'field-hint' }, hintText) : null;

    let input;
    let read;
    const value = s.value;
    switch (f.kind) {
      case 'bool': {
        input = el('input', { id, type: 'checkbox', class: 'admin-switch', name: key, checked: Boolean(value), disabled: fixed, 'aria-describedby': describedBy });
        read = () => input.checked;
        const wrap = el('div', { class: ['admin-field', 'admin-field-bool', fixed && 'is-fixed'], dataset: { key } },
          el('div', { class: 'admin-bool-row' },
            input,
            el('label', { for: id, class: 'admin-bool-label' }, f.label),
            fixed ? el('span', { class: 'admin-badge' }, 'Fixed') : null),
          hint, fixedNote, error);
        controls.push({ key, f, input, read, error, wrap, initial: encode(f, value) });
        return wrap;
      }
      case 'enum': {
        const opts = [...f.options];
        if (value != null && !opts.some(([v]) => v === value)) opts.push([String(value), String(value)]);
        input = el('select', { id, name: key, class: 'input select', disabled: fixed, 'aria-describedby': describedBy },
          opts.map(([v, label]) => el('option', { value: v, selected: v === value }, label)));
        read = () => input.value;
        break;
      }
      case 'team': {
        const opts = [['', 'No default team'], ...teams.map((t) => [t.id, t.display_name || t.name])];
        if (value && !opts.some(([v]) => v === value)) opts.push([value, `Team ${value}`]);
        input = el('select', { id, name: key, class: 'input select', disabled: fixed, 'aria-describedby': describedBy },
          opts.map(([v, label]) => el('option', { value: v, selected: v === (value || '') }, label)));
        read = () => input.value;
        break;
      }
      case 'lines': {
        const list = Array.isArray(value) ? value : (value ? [String(value)] : []);
        input = el('textarea', { id, name: key, class: 'input admin-textarea', rows: 3, disabled: fixed, spellcheck: 'false', 'aria-describedby': describedBy });
        input.value = list.join('\n');
        read = () => input.value.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
        break;
      }
      case 'json': {
        input = el('textarea', { id, name: key, class: 'input admin-textarea admin-code', rows: 5, disabled: fixed, spellcheck: 'false', 'aria-describedby': describedBy });
        input.value = jsonText(value);
        read = () => {
          const text = input.value.trim();
          if (!text) return [];
          return JSON.parse(text);
        };
        break;
      }
      case 'int':
      case 'bytes': {
        input = el('input', {
          id, name: key, type: 'text', inputmode: 'numeric', class: 'input admin-input-short', disabled: fixed,
          autocomplete: 'off', 'aria-describedby': describedBy,
        });
        input.value = value == null ? '' : String(value);
        // A number goes as a number; anything else goes as typed, for the
        // server to refuse with its own words.
        read = () => {
          const t = input.value.trim();
          return /^-?\d+$/.test(t) ? Number(t) : t;
        };
        break;
      }
      default: {
        input = el('input', {
          id, name: key, type: 'text', class: ['input', f.kind === 'duration' && 'admin-input-short'], disabled: fixed,
          autocomplete: 'off', spellcheck: 'false', 'aria-describedby': describedBy,
        });
        input.value = value == null ? '' : (f.kind === 'duration' ? shortDuration(String(value)) : String(value));
        read = () => input.value.trim();
      }
    }
    const extra = f.kind === 'bytes' ? el('p', { class: 'field-hint admin-live-hint', 'aria-live': 'polite' }) : null;
    const showBytes = () => {
      if (!extra) return;
      const n = Number(input.value.trim());
      extra.textContent = Number.isFinite(n) && n > 0 ? `= ${bytes(n)}` : '';
    };
    showBytes();
    input.addEventListener('input', showBytes);
    const wrap = el('div', { class: ['admin-field', 'field', fixed && 'is-fixed'], dataset: { key } },
      el('div', { class: 'admin-label-row' },
        el('label', { for: id, class: 'field-label' }, f.label),
        fixed ? el('span', { class: 'admin-badge' }, 'Fixed') : null),
      input, extra, hint, fixedNote, error);
    controls.push({ key, f, input, read, error, wrap, initial: encode(f, value) });
    return wrap;
  }

  function encode(f, v) {
    if (f.kind === 'lines') return JSON.stringify(Array.isArray(v) ? v : (v ? [String(v)] : []));
    if (f.kind === 'json') return JSON.stringify(parseMaybe(v) ?? []);
    if (f.kind === 'team') return JSON.stringify(v || '');
    if (f.kind === 'duration' && typeof v === 'string') return JSON.stringify(shortDuration(v));
    return JSON.stringify(v);
  }

  /** changes returns {changes, errors}: what differs from the server, and values that are not even JSON. */
  function changes() {
    const out = {};
    const bad = [];
    for (const c of controls) {
      if (c.input.disabled) continue;
      let v;
      try {
        v = c.read();
      } catch (err) {
        bad.push({ c, message: `Not valid JSON: ${err.message}` });
        continue;
      }
      if (JSON.stringify(v) !== c.initial) out[c.key] = v;
    }
    return { changes: out, bad };
  }

  function updateDirty() {
    const { changes: ch, bad } = changes();
    const dirty = Object.keys(ch).length > 0 || bad.length > 0;
    save.disabled = !dirty || saving;
    discard.disabled = !dirty || saving;
    for (const c of controls) c.wrap.classList.toggle('is-changed', Object.hasOwn(ch, c.key));
    return dirty;
  }

  function clearErrors() {
    formError.hidden = true;
    for (const c of controls) {
      c.error.hidden = true;
      c.error.textContent = '';
      c.input.removeAttribute('aria-invalid');
    }
  }

  function fieldError(c, message) {
    c.error.textContent = message;
    c.error.hidden = false;
    c.input.setAttribute('aria-invalid', 'true');
  }

  /** keyInMessage finds which changed setting a server error is about. */
  function keyInMessage(message, keys) {
    const sorted = [...keys].sort((a, b) => b.length - a.length);
    return sorted.find((k) => message.startsWith(k)) || sorted.find((k) => message.includes(k)) || null;
  }

  /** humanize swaps the setting's key in a server message for the label people see. */
  function humanize(message, c) {
    const text = message.replaceAll(`"${c.key}"`, c.f.label).replaceAll(c.key, c.f.label);
    return sentence(text);
  }

  form.addEventListener('input', () => {
    updateDirty();
    status.clear();
  });
  form.addEventListener('change', () => updateDirty());
  discard.addEventListener('click', () => {
    clearErrors();
    render();
    status.set('Changes discarded', { clearAfter: 4000 });
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (saving || !loaded) return;
    clearErrors();
    status.clear();
    const { changes: ch, bad } = changes();
    if (bad.length) {
      for (const b of bad) fieldError(b.c, b.message);
      bad[0].c.input.focus();
      status.set('Nothing was saved: fix the marked field', { kind: 'error' });
      return;
    }
    const keys = Object.keys(ch);
    if (!keys.length) return;
    saving = true;
    save.disabled = true;
    save.setAttribute('aria-busy', 'true');
    try {
      values = await admin.saveSettings(ch);
      saving = false;
      render();
      status.set(`Saved ${keys.length === 1 ? 'one change' : `${keys.length} changes`}. Everyone connected has been told`, { kind: 'ok' });
    } catch (err) {
      saving = false;
      if (err.status === 403 && err.code !== 'setting_fixed') {
        ctx.onForbidden();
        return;
      }
      const key = keyInMessage(err.message || '', keys);
      const c = key && controls.find((x) => x.key === key);
      if (c) {
        fieldError(c, humanize(err.message, c));
        c.input.focus();
        status.set('Nothing was saved: fix the marked field', { kind: 'error' });
      } else {
        formError.textContent = `Nothing was saved: ${sentence(err.message)}`;
        formError.hidden = false;
      }
      updateDirty();
    } finally {
      save.removeAttribute('aria-busy');
    }
  });

  // Another admin's change reaches this page too, unless it has edits of its own.
  const offSocket = ctx.socket?.on('settings_changed', () => {
    if (!loaded || saving || updateDirty()) return;
    load();
  });

  return {
    node,
    load,
    refresh: () => { if (!updateDirty()) load(); },
    destroy: () => offSocket?.(),
  };
}

/** shortDuration drops the zero parts Go writes: "1h0m0s" → "1h", "10m0s" → "10m". */
function shortDuration(text) {
  return text.replace(/(\d)m0s$/, '$1m').replace(/(\d)h0m$/, '$1h');
}

function parseMaybe(v) {
  if (typeof v !== 'string') return v;
  if (!v.trim()) return [];
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function jsonText(v) {
  if (v == null || (Array.isArray(v) && v.length === 0)) return '';
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}
