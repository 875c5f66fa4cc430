// signup.js is the "create your account" page, reached by an invite link
// (/invite/<token>) or, when an admin opened sign-up to everyone, from the
// login page (/signup). It needs no session; success signs the new user in.
import * as admin from './admin-api.js';
import { el } from './dom.js';
import { icon } from './icons.js';
import { authCard, field, firstEmpty, sentence } from './auth-card.js';
import { dateTime } from './admin-format.js';

/**
 * signupView returns {node, focus, start()}. mode: 'invite' (with token) or
 * 'open'. onSignedUp(user) runs once the account exists and is signed in;
 * onLogin() goes to the login page.
 */
export function signupView({ siteName, mode, token = '', onSignedUp, onLogin }) {
  const root = el('div', { class: 'auth-page-slot' }, el('div', { class: 'boot', role: 'status' },
    el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', null, 'Checking the link…')));
  let focusTarget = null;

  function showForm(info = {}) {
    const name = info.site_name || siteName;
    const username = field({
      label: 'Username', name: 'username', autocomplete: 'username', hint: 'Letters, digits, ".", "_" or "-". Others mention you as @username.',
    });
    const display = field({ label: 'Full name (optional)', name: 'display_name', autocomplete: 'name', required: false });
    const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password' });
    const confirm = field({ label: 'Repeat the password', name: 'password2', type: 'password', autocomplete: 'new-password' });
    const fields = [username, display, password, confirm];
    const intro = mode === 'invite'
      ? `You have been invited to ${name}${info.role && info.role !== 'member' ? ` as ${info.role === 'guest' ? 'a guest' : 'an admin'}` : ''}. Choose a username and a password.${info.expires_at ? ` This link works until ${dateTime(info.expires_at)}.` : ''}`
      : `Create your account on ${name}.`;
    const card = authCard({
      siteName: name,
      title: `Join ${name}`,
      intro,
      fields,
      submitLabel: 'Create account',
      footer: loginLink('Already have an account?'),
    });
    card.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const empty = firstEmpty(fields);
      if (empty) {
        card.setError(`Enter ${empty === username ? 'a username' : 'the password'}.`);
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
      const body = { username: username.input.value.trim(), password: password.input.value };
      if (display.input.value.trim()) body.display_name = display.input.value.trim();
      try {
        const res = mode === 'invite' ? await admin.acceptInvite(token, body) : await admin.signup(body);
        history.replaceState(null, '', '/');
        onSignedUp(res?.user || res);
      } catch (err) {
        card.setBusy(false);
        if (err.status === 410 || (mode === 'invite' && err.status === 404)) {
          showDead(err);
          return;
        }
        card.setError(signupErrorText(err));
        (err.code === 'username_taken' || err.code === 'invalid_username' ? username : password).input.focus();
      }
    });
    root.replaceChildren(card.node);
    focusTarget = username.input;
    username.input.focus();
  }

  /** showDead is the page of a link that no longer works. */
  function showDead(err) {
    const used = err?.status === 410;
    const isClosed = err?.code === 'signup_closed';
    const go = el('button', { type: 'button', class: 'button button-primary' }, 'Go to log in');
    go.addEventListener('click', () => onLogin());
    root.replaceChildren(el('div', { class: 'auth-page' },
      el('main', { class: 'auth-card auth-card-center' },
        el('div', { class: 'empty-art empty-art-danger', 'aria-hidden': 'true' }, icon('link', { size: 28 })),
        el('h1', { class: 'auth-title' }, isClosed ? 'Sign-up is closed' : 'This invite link does not work'),
        el('p', { class: 'auth-intro', role: 'alert' }, isClosed
          ? `${siteName} does not take new accounts by itself. Ask an administrator for an invite.`
          : used
            ? 'It has expired or has been used already. Ask whoever sent it for a new one.'
            : 'It is not a valid invite for this server. Check that you copied all of it, or ask for a new one.'),
        go)));
    focusTarget = go;
    go.focus();
  }

  function loginLink(text) {
    const a = el('a', { href: '/', class: 'auth-link' }, 'Log in');
    a.addEventListener('click', (event) => {
      event.preventDefault();
      onLogin();
    });
    return el('span', null, `${text} `, a);
  }

  async function start() {
    if (mode !== 'invite') {
      showForm();
      return;
    }
    try {
      showForm(await admin.invite(token));
    } catch (err) {
      if (err.status === 404 || err.status === 410) showDead(err);
      else {
        const retry = el('button', { type: 'button', class: 'button button-primary', onclick: start }, 'Try again');
        root.replaceChildren(el('div', { class: 'auth-page' }, el('main', { class: 'auth-card auth-card-center' },
          el('h1', { class: 'auth-title' }, 'Could not check the invite'),
          el('p', { class: 'auth-intro', role: 'alert' }, sentence(err.message)), retry)));
        retry.focus();
      }
    }
  }

  return {
    node: root,
    start,
    focus: () => focusTarget?.focus(),
  };
}

/** signupErrorText turns a refused sign-up into a sentence for the form. */
function signupErrorText(err) {
  switch (err.code) {
    case 'username_taken':
    case 'conflict':
      return 'That username is taken. Choose another one.';
    case 'signup_closed':
      return 'This server does not take sign-ups right now. Ask an administrator for an invite.';
    case 'rate_limited':
      return 'Too many attempts. Wait a moment and try again.';
    default:
      return sentence(err.message) || 'Could not create the account. Try again.';
  }
}
