// create-team-dialog.js asks for a new team's name and creates it; you
// become its team admin and it starts with a public town-square channel.
import * as api from './api.js';
import { openDialog, textField } from './dialog.js';
import { slug } from './format.js';

/** createTeamDialog opens the dialog; onCreated(team) runs after success. */
export function createTeamDialog({ onCreated }) {
  const display = textField({ label: 'Team name', name: 'display_name', placeholder: 'e.g. Acme Design', required: true, maxlength: 64 });
  const name = textField({
    label: 'URL name', name: 'name', placeholder: 'acme-design', required: true, maxlength: 64,
    hint: 'Lowercase letters, digits, - and _.',
  });
  let touched = false;
  display.input.addEventListener('input', () => {
    if (!touched) name.input.value = slug(display.input.value);
  });
  name.input.addEventListener('input', () => { touched = true; });

  const d = openDialog({
    title: 'Create a team',
    description: 'A team groups channels and people. You will be its admin.',
    content: [display.wrap, name.wrap],
    submitLabel: 'Create team',
    onSubmit: async () => {
      const displayName = display.input.value.trim();
      const teamName = name.input.value.trim() || slug(displayName);
      if (!displayName) {
        display.input.focus();
        throw new Error('Give the team a name.');
      }
      const team = await api.createTeam(teamName, displayName);
      onCreated(team);
    },
  });
  display.input.focus();
  return d;
}

