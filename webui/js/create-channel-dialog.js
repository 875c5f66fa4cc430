// create-channel-dialog.js creates a public or private channel in the
// current team.
import * as api from './api.js';
import { el, uid } from './dom.js';
import { icon } from './icons.js';
import { openDialog, textField } from './dialog.js';
import { slug } from './format.js';

/** createChannelDialog opens the dialog; onCreated(channel) runs after success. */
export function createChannelDialog({ teamId, onCreated }) {
  const display = textField({ label: 'Name', name: 'display_name', placeholder: 'e.g. plan-launch', required: true, maxlength: 64 });
  const name = textField({
    label: 'URL name', name: 'name', placeholder: 'plan-launch', required: true, maxlength: 64,
    hint: 'Lowercase letters, digits, - and _.',
  });
  const purpose = textField({ label: 'Purpose (optional)', name: 'purpose', placeholder: 'What is this channel about?', maxlength: 250 });
  let touched = false;
  display.input.addEventListener('input', () => {
    if (!touched) name.input.value = slug(display.input.value);
  });
  name.input.addEventListener('input', () => { touched = true; });

  const group = uid('visibility');
  const option = (value, label, text, iconName, checked) => {
    const id = uid('vis');
    return el('label', { class: 'choice', for: id },
      el('input', { id, type: 'radio', name: group, value, checked }),
      el('span', { class: 'choice-icon', 'aria-hidden': 'true' }, icon(iconName, { size: 18 })),
      el('span', { class: 'choice-text' }, el('span', { class: 'choice-label' }, label), el('span', { class: 'choice-hint' }, text)));
  };
  const visibility = el('fieldset', { class: 'choices' },
    el('legend', { class: 'field-label' }, 'Visibility'),
    option('public', 'Public channel', 'Anyone in the team can find and join it.', 'hash', true),
    option('private', 'Private channel', 'Only people you invite can see it.', 'lock', false));

  const d = openDialog({
    title: 'Create a channel',
    content: [display.wrap, name.wrap, visibility, purpose.wrap],
    submitLabel: 'Create channel',
    onSubmit: async () => {
      const displayName = display.input.value.trim();
      if (!displayName) {
        display.input.focus();
        throw new Error('Give the channel a name.');
      }
      const type = visibility.querySelector('input:checked')?.value || 'public';
      const body = {
        team_id: teamId,
        name: name.input.value.trim() || slug(displayName),
        display_name: displayName,
        type,
      };
      if (purpose.input.value.trim()) body.purpose = purpose.input.value.trim();
      const channel = await api.createChannel(body);
      onCreated(channel);
    },
  });
  display.input.focus();
  return d;
}
