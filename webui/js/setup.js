// setup.js is the first-run view: with no user on the server yet, whoever
// holds the setup code from the server log creates the first administrator.
import * as api from './api.js';
import { authCard, field, firstEmpty, sentence } from './auth-card.js';
import { loginErrorText } from './login.js';

/** setupView renders the setup form; onDone(user) runs once the admin exists and is signed in. */
export function setupView({ siteName, onDone, onAlreadySetUp }) {
  const code = field({
    label: 'Setup code',
    name: 'code',
    autocomplete: 'one-time-code',
    hint: 'Printed in the server log when it starts for the first time.',
  });
  const username = field({ label: 'Username', name: 'username', autocomplete: 'username' });
  const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password' });
  const fields = [code, username, password];
  const card = authCard({
    siteName,
    title: `Set up ${siteName}`,
    intro: 'Create the first administrator account. You can invite everyone else once you are in.',
    fields,
    submitLabel: 'Create administrator',
  });

  card.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const empty = firstEmpty(fields);
    if (empty) {
      const names = new Map([[code, 'the setup code'], [username, 'a username'], [password, 'a password']]);
      card.setError(`Enter ${names.get(empty)}.`);
      empty.input.focus();
      return;
    }
    card.setError('');
    card.setBusy(true);
    try {
      const res = await api.setup(code.input.value.trim(), username.input.value.trim(), password.input.value);
      onDone(res.user);
    } catch (err) {
      card.setBusy(false);
      if (err.code === 'setup_done' && onAlreadySetUp) {
        onAlreadySetUp();
        return;
      }
      card.setError(setupErrorText(err));
      const culprit = { bad_setup_code: code, invalid_password: password }[err.code] || username;
      culprit.input.focus();
    }
  });

  return {
    node: card.node,
    focus: () => code.input.focus(),
  };
}

function setupErrorText(err) {
  switch (err.code) {
    case 'bad_setup_code':
      return 'That setup code is not right. Copy it again from the server log.';
    case 'setup_done':
      return 'This server is already set up. Reload the page to log in.';
    case 'rate_limited':
      return loginErrorText(err);
    default:
      return sentence(err.message) || 'Could not finish setup. Try again.';
  }
}
