// login.js is the sign-in view: username and password, one error line.
import * as api from './api.js';
import { el } from './dom.js';
import { authCard, field, firstEmpty, sentence } from './auth-card.js';

/**
 * loginView renders the login form; onLoggedIn(user) runs after success.
 * onSignup, when sign-up is open to everyone, opens the sign-up page.
 */
export function loginView({ siteName, onLoggedIn, notice, onSignup }) {
  const username = field({ label: 'Username', name: 'username', autocomplete: 'username' });
  const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password' });
  const fields = [username, password];
  const card = authCard({
    siteName,
    title: `Log in to ${siteName}`,
    intro: notice || null,
    fields,
    submitLabel: 'Log in',
    footer: onSignup
      ? el('span', null, 'No account yet? ', el('a', { href: '/signup', class: 'auth-link', onclick: (event) => {
        event.preventDefault();
        onSignup();
      } }, 'Sign up'))
      : 'No account yet? Ask an administrator of this server to create one for you.',
  });

  card.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const empty = firstEmpty(fields);
    if (empty) {
      card.setError(`Enter your ${empty === username ? 'username' : 'password'}.`);
      empty.input.focus();
      return;
    }
    card.setError('');
    card.setBusy(true);
    try {
      const res = await api.login(username.input.value.trim(), password.input.value);
      onLoggedIn(res.user);
    } catch (err) {
      card.setBusy(false);
      card.setError(loginErrorText(err));
      password.input.select();
      password.input.focus();
    }
  });

  return {
    node: card.node,
    focus: () => username.input.focus(),
  };
}

/** loginErrorText turns a failed login into a sentence for the form. */
export function loginErrorText(err) {
  switch (err.code) {
    case 'invalid_credentials':
      return 'Incorrect username or password.';
    case 'rate_limited':
      return err.retryAfter
        ? `Too many attempts. Try again in ${formatWait(err.retryAfter)}.`
        : 'Too many attempts. Wait a moment and try again.';
    case 'deactivated':
      return 'This account has been deactivated. Ask an administrator if you need it back.';
    default:
      return sentence(err.message) || 'Could not log in. Try again.';
  }
}

function formatWait(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
