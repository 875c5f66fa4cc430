// emoji.js is the small built-in emoji set the picker offers: the common
// reactions and feelings, each with a name and search words.

/** EMOJI lists [character, name, keywords]. */
export const EMOJI = [
  ['👍', 'thumbs up', '+1 yes ok like agree'],
  ['👎', 'thumbs down', '-1 no dislike'],
  ['❤️', 'red heart', 'love like'],
  ['😂', 'tears of joy', 'laugh lol funny'],
  ['🎉', 'party popper', 'tada celebrate congrats'],
  ['🙏', 'folded hands', 'thanks please pray'],
  ['👀', 'eyes', 'look watching seen'],
  ['✅', 'check mark', 'done yes ok'],
  ['🔥', 'fire', 'hot lit'],
  ['🚀', 'rocket', 'ship launch fast'],
  ['😀', 'grinning face', 'smile happy'],
  ['😃', 'smiling face', 'smile happy'],
  ['😄', 'grinning eyes', 'smile happy'],
  ['😁', 'beaming face', 'grin'],
  ['😅', 'sweat smile', 'phew relief'],
  ['🤣', 'rolling on the floor', 'rofl laugh'],
  ['🙂', 'slight smile', 'smile'],
  ['😉', 'wink', 'wink'],
  ['😊', 'blush', 'smile happy'],
  ['😍', 'heart eyes', 'love'],
  ['🥰', 'smiling with hearts', 'love'],
  ['😘', 'kiss', 'love'],
  ['😎', 'sunglasses', 'cool'],
  ['🤔', 'thinking', 'hmm think'],
  ['🤨', 'raised eyebrow', 'skeptical'],
  ['😐', 'neutral face', 'meh'],
  ['🙄', 'eye roll', 'whatever'],
  ['😏', 'smirk', 'smirk'],
  ['😬', 'grimace', 'awkward'],
  ['😴', 'sleeping', 'tired zzz'],
  ['😮', 'open mouth', 'wow surprised'],
  ['😲', 'astonished', 'wow shocked'],
  ['🤯', 'mind blown', 'wow'],
  ['😢', 'crying', 'sad tear'],
  ['😭', 'sobbing', 'sad cry'],
  ['😡', 'angry', 'mad'],
  ['🥳', 'partying face', 'party celebrate'],
  ['🤗', 'hug', 'hugs'],
  ['🤝', 'handshake', 'deal agree'],
  ['👏', 'clapping', 'applause bravo'],
  ['🙌', 'raised hands', 'hooray celebrate'],
  ['👋', 'waving hand', 'hello hi bye'],
  ['💪', 'flexed biceps', 'strong'],
  ['👌', 'ok hand', 'ok perfect'],
  ['✌️', 'victory hand', 'peace'],
  ['🤞', 'crossed fingers', 'luck hope'],
  ['👉', 'pointing right', 'this'],
  ['☝️', 'pointing up', 'this above'],
  ['💯', 'hundred points', '100 perfect'],
  ['⭐', 'star', 'favorite'],
  ['✨', 'sparkles', 'shiny new'],
  ['💡', 'light bulb', 'idea'],
  ['⚠️', 'warning', 'caution'],
  ['❌', 'cross mark', 'no wrong'],
  ['❓', 'question mark', 'question'],
  ['❗', 'exclamation mark', 'important'],
  ['🐛', 'bug', 'bug issue'],
  ['🛠️', 'hammer and wrench', 'fix tools'],
  ['📌', 'pushpin', 'pin'],
  ['📎', 'paperclip', 'attachment'],
  ['📅', 'calendar', 'date'],
  ['☕', 'coffee', 'break'],
  ['🍕', 'pizza', 'food lunch'],
  ['🎂', 'birthday cake', 'birthday'],
  ['🌟', 'glowing star', 'star'],
  ['🏆', 'trophy', 'win'],
];

const byChar = new Map(EMOJI.map(([ch, name]) => [ch, name]));

/** emojiName returns the picker's name for an emoji, or the emoji itself. */
export function emojiName(ch) {
  return byChar.get(ch) || ch;
}

/** findEmoji filters the set by a search string (name or keyword prefix). */
export function findEmoji(query) {
  const q = query.trim().toLowerCase();
  if (!q) return EMOJI;
  return EMOJI.filter(([, name, words]) => `${name} ${words}`.split(/\s+/).some((w) => w.startsWith(q)) || name.includes(q));
}
