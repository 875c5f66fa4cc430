// reset-password.js is the page of a one-time password reset link
// (/reset/<token>) an admin handed out: choose a new password, then log in
// with it. Using the link ends every session the account had.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { authCard, field, firstEmpty, sentence } from './auth-card.js';

/** resetView returns {node, focus, start()}; onDone(notice) goes to the login page. */
export function resetView({ siteName, token, onDone }) {
  const root = el('div', { class: 'auth-page-slot' }, el('div', { class: 'boot', role: 'status' },
    el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', null, 'Checking the link…')));
  let focusTarget = null;

  function showForm(info) {
    const password = field({ label: 'New password', name: 'password', type: 'password', autocomplete: 'new-password' });
    const confirm = field({ label: 'Repeat the new password', name: 'password2', type: 'password', autocomplete: 'new-password' });
    const fields = [password, confirm];
    const card = authCard({
      siteName,
      title: 'Choose a new password',
      intro: info?.username ? `For the account @${info.username}. You will be signed out everywhere else.` : 'You will be signed out everywhere else.',
      fields,
      submitLabel: 'Set password',
    });
    card.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const empty = firstEmpty(fields);
      if (empty) {
        card.setError('Enter the new password twice.');
        empty.input.focus();
        return;
      }
      if (password.input.value !== confirm.input.value) {
        card.setError('The two passwords differ. Type the same password twice.');
        confirm.input.select();
        confirm.input.focus();
        return;
      }
      card.setError('');
      card.setBusy(true);
      try {
        await admin.resetPassword(token, password.input.value);
        history.replaceState(null, '', '/');
        onDone('Your password has been changed. Log in with the new one.');
      } catch (err) {
        card.setBusy(false);
        if (err.status === 404 || err.status === 410) {
          showDead(err);
          return;
        }
        card.setError(sentence(err.message) || 'Could not set the password. Try again.');
        password.input.select();
        password.input.focus();
      }
    });
    root.replaceChildren(card.node);
    focusTarget = password.input;
    password.input.focus();
  }

  function showDead(err) {
    const go = el('button', { type: 'button', class: 'button button-primary' }, 'Go to log in');
    go.addEventListener('click', () => {
      history.replaceState(null, '', '/');
      onDone();
    });
    root.replaceChildren(el('div', { class: 'auth-page' },
      el('main', { class: 'auth-card auth-card-center' },
        el('div', { class: 'empty-art empty-art-danger', 'aria-hidden': 'true' }, icon('lock', { size: 28 })),
        el('h1', { class: 'auth-title' }, 'This reset link does not work'),
        el('p', { class: 'auth-intro', role: 'alert' }, err?.status === 410
          ? 'It has expired or has been used already. Ask an administrator for a new one.'
          : 'It is not a valid reset link for this server. Check that you copied all of it, or ask an administrator for a new one.'),
        go)));
    focusTarget = go;
    go.focus();
  }

  async function start() {
    try {
      showForm(await admin.resetInfo(token));
    } catch (err) {
      if (err.status === 404 || err.status === 410) showDead(err);
      else showForm(null);
    }
  }

  return { node: root, start, focus: () => focusTarget?.focus() };
}
