// auth-card.js is the centred card the login and setup views share: the site
// mark, a heading, a form with labelled fields and one error region.
import { el, uid } from './dom.js';

/**
 * field builds a labelled input. Returns {wrap, input}.
 * opts: label, name, type, autocomplete, hint, required, inputmode.
 */
export function field({ label, name, type = 'text', autocomplete, hint, required = true, inputmode }) {
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const input = el('input', {
    id,
    name,
    type,
    class: 'input',
    autocomplete,
    inputmode,
    required,
    autocapitalize: type === 'password' ? null : 'none',
    spellcheck: type === 'password' ? null : 'false',
    'aria-describedby': hintId,
  });
  const wrap = el('div', { class: 'field' },
    el('label', { for: id, class: 'field-label' }, label),
    input,
    hint ? el('p', { id: hintId, class: 'field-hint' }, hint) : null,
  );
  return { wrap, input };
}

/**
 * authCard lays out a page-centred card. Returns {node, form, error, submit,
 * setError(message), setBusy(bool)}.
 */
export function authCard({ siteName, title, intro, fields, submitLabel, footer }) {
  const errorId = uid('form-error');
  const error = el('p', { id: errorId, class: 'form-error', role: 'alert', hidden: true });
  const submit = el('button', { type: 'submit', class: 'button button-primary button-block' }, submitLabel);
  const form = el('form', { class: 'auth-form', novalidate: true, 'aria-describedby': errorId },
    fields.map((f) => f.wrap),
    error,
    submit,
  );
  const headingId = uid('auth-title');
  const node = el('div', { class: 'auth-page' },
    el('main', { class: 'auth-card', 'aria-labelledby': headingId },
      el('div', { class: 'auth-brand' },
        el('img', { class: 'auth-logo', src: '/icons/favicon.svg', alt: '', width: 40, height: 40 }),
        el('span', { class: 'auth-site' }, siteName),
      ),
      el('h1', { id: headingId, class: 'auth-title' }, title),
      intro ? el('p', { class: 'auth-intro' }, intro) : null,
      form,
      footer ? el('p', { class: 'auth-footer' }, footer) : null,
    ),
  );

  const setError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
    for (const f of fields) f.input.setAttribute('aria-invalid', message ? 'true' : 'false');
  };
  const setBusy = (busy) => {
    submit.disabled = busy;
    submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    form.classList.toggle('is-busy', busy);
  };
  return { node, form, error, submit, setError, setBusy };
}

/** firstEmpty returns the first required field left blank, or null. */
export function firstEmpty(fields) {
  return fields.find((f) => f.input.required && f.input.value.trim() === '') || null;
}

/** sentence turns a server message ("password is too short") into a sentence for a form. */
export function sentence(text) {
  if (!text) return '';
  const s = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
