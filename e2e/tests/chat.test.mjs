// Team chat in two browsers against a real server: live posts, unread and
// mention badges, threads, reactions and direct messages.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, login, screenshot, strongPassword,
} from '../lib/harness.mjs';
import { apiAs } from '../lib/api.mjs';

const sidebarOf = (page) => page.getByRole('navigation', { name: 'Sidebar' });
const roomLink = (page, id) => sidebarOf(page).locator(`a.room-link[data-channel-id="${id}"]`);
const roomLog = (page) => page.getByRole('log', { name: /^Messages in / });
const postIn = (scope, text) => scope.locator('article.post').filter({ hasText: text });

async function openRoom(page, id) {
  await roomLink(page, id).click();
  await page.waitForURL((url) => url.pathname === `/channels/${id}`);
  await roomLog(page).waitFor();
}

/** send types a message into the composer in scope (a page or a panel) and waits for it to show. */
async function send(scope, text, shown = text) {
  const box = scope.getByRole('textbox', { name: /^(Write to|Reply to thread)/ });
  await box.fill(text);
  await box.press('Enter');
  await postIn(scope, shown).first().waitFor();
}

test('two people chat live: posts, unread badges, threads, reactions and DMs', async () => {
  const alicePassword = strongPassword();
  const bobPassword = strongPassword();
  const server = await startServer({
    users: [
      { username: 'alice', password: alicePassword, admin: true },
      { username: 'bob', password: bobPassword },
    ],
  });

  // Alice sets up a team with bob in it, and a second channel they share.
  const alice = await apiAs(server.url, 'alice', alicePassword);
  const bob = await apiAs(server.url, 'bob', bobPassword);
  const team = await alice.call('POST', '/teams', { name: 'acme', display_name: 'Acme' });
  await alice.call('POST', `/teams/${team.id}/members`, { user_id: bob.user.id });
  const random = await alice.call('POST', '/channels', {
    team_id: team.id, name: 'random', display_name: 'Random', type: 'public', purpose: 'Anything goes',
  });
  await alice.call('POST', `/channels/${random.id}/members`, { user_id: bob.user.id });
  const town = (await alice.call('GET', '/channels')).channels.find((c) => c.name === 'town-square');
  assert.ok(town, 'the team has a town-square channel');

  const browser = await launchBrowser();
  const pa = await newPage(browser);
  const pb = await newPage(browser);
  await login(pa, server.url, 'alice', alicePassword);
  await login(pb, server.url, 'bob', bobPassword);

  // Both see the team's channels and open town-square.
  await openRoom(pa, town.id);
  await openRoom(pb, town.id);
  assert.equal(await pa.getByRole('heading', { level: 1 }).textContent(), 'Town Square');

  // A post appears live at the other end.
  await send(pa, 'hello bob');
  await postIn(roomLog(pb), 'hello bob').waitFor();
  assert.match(await postIn(roomLog(pb), 'hello bob').textContent(), /alice/);

  // A post in a room bob does not have open makes it unread for him ...
  await openRoom(pa, random.id);
  await send(pa, 'anyone around for lunch?');
  const bobRandom = roomLink(pb, random.id);
  await sidebarOf(pb).locator(`a.room-link.is-unread[data-channel-id="${random.id}"]`).waitFor();
  assert.equal(await bobRandom.getAttribute('data-unread'), 'true');
  // ... until he opens it; the server agrees it is read.
  await openRoom(pb, random.id);
  await postIn(roomLog(pb), 'anyone around for lunch?').waitFor();
  await sidebarOf(pb).locator(`a.room-link[data-channel-id="${random.id}"][data-unread="false"]`).waitFor();
  await waitUntil(async () => (await bob.call('GET', '/channels')).channels
    .find((c) => c.id === random.id).unread_count === 0, 'the server to mark random read for bob');

  // Bob replies in a thread; alice, in town-square, sees the reply count go to 1.
  await openRoom(pa, town.id);
  await openRoom(pb, town.id);
  const bobsView = postIn(roomLog(pb), 'hello bob');
  await bobsView.hover();
  await bobsView.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Reply in thread' }).click();
  const thread = pb.getByRole('complementary', { name: 'Thread' });
  await postIn(thread, 'hello bob').waitFor();
  await send(thread, 'hi alice, replying in a thread');
  const alicesView = postIn(roomLog(pa), 'hello bob');
  await alicesView.getByRole('button', { name: '1 reply' }).waitFor();
  // The reply stays in the thread, not in the room's list.
  assert.equal(await postIn(roomLog(pa), 'replying in a thread').count(), 0);

  // Alice reacts with a thumbs up; bob sees the chip with a count of 1.
  await alicesView.hover();
  await alicesView.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'Add reaction' }).click();
  await pa.getByRole('dialog', { name: 'Choose an emoji' }).getByRole('button', { name: 'thumbs up' }).click();
  const chip = postIn(roomLog(pb), 'hello bob').locator('button.reaction').filter({ hasText: '👍' });
  await chip.waitFor();
  assert.equal((await chip.locator('.reaction-count').textContent()).trim(), '1');
  assert.equal(await chip.getAttribute('aria-pressed'), 'false', 'bob has not reacted himself');
  await screenshot(pb, 'thread');

  // A direct message from alice shows a mention badge at bob's.
  await sidebarOf(pa).getByRole('button', { name: 'New message' }).click();
  const dialog = pa.getByRole('dialog', { name: 'New message' });
  await dialog.getByRole('checkbox', { name: 'bob' }).check();
  await dialog.getByRole('button', { name: 'Go' }).click();
  await pa.getByRole('heading', { level: 1, name: 'bob' }).waitFor();
  await send(pa, 'psst, a secret for you');
  const dm = sidebarOf(pb).locator('a.room-link[data-type="dm"]').filter({ hasText: 'alice' });
  await dm.locator('.badge').waitFor();
  assert.equal((await dm.locator('.badge').textContent()).trim(), '1');

  // Alice's view of town-square with the thread summary and the reaction.
  await openRoom(pa, town.id);
  await send(pa, 'Check the **release notes** before Friday: https://example.com/notes', 'Check the release notes');
  await screenshot(pa, 'chat');

  // Bob opens the DM: the badge clears and the message is there.
  await dm.click();
  await postIn(roomLog(pb), 'psst, a secret for you').waitFor();
  await dm.locator('.badge').waitFor({ state: 'detached' });

  assert.deepEqual(pa.problems, [], 'no page errors or CSP violations for alice');
  assert.deepEqual(pb.problems, [], 'no page errors or CSP violations for bob');
});

test('on a 375 px phone the room fits and a thread covers the screen', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'carol', password, admin: true }] });
  const carol = await apiAs(server.url, 'carol', password);
  const team = await carol.call('POST', '/teams', { name: 'mobile', display_name: 'Mobile' });
  const town = (await carol.call('GET', '/channels')).channels.find((c) => c.team_id === team.id);
  const root = await carol.call('POST', `/channels/${town.id}/posts`, { message: 'Shipping the phone layout today 🚀' });
  await carol.call('POST', `/channels/${town.id}/posts`, { message: 'Looks good on my phone', root_id: root.id });
  await carol.call('POST', `/posts/${root.id}/reactions`, { emoji: '🎉' });

  const browser = await launchBrowser();
  const page = await newPage(browser, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  await login(page, server.url, 'carol', password);
  // The only team's town-square opens by itself.
  await page.waitForURL((url) => url.pathname === `/channels/${town.id}`);
  const post = postIn(roomLog(page), 'Shipping the phone layout');
  await post.waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width} px wide, wider than the screen`);
  await screenshot(page, 'phone');

  await post.getByRole('button', { name: '1 reply' }).click();
  const thread = page.getByRole('complementary', { name: 'Thread' });
  await postIn(thread, 'Looks good on my phone').waitFor();
  const box = await thread.boundingBox();
  assert.equal(Math.round(box.width), 375, 'the thread covers the screen');
  await screenshot(page, 'phone-thread');
  await thread.getByRole('button', { name: 'Back' }).click();
  await thread.waitFor({ state: 'hidden' });

  // A reload keeps the room.
  await page.reload();
  await post.waitFor();
  assert.equal(new URL(page.url()).pathname, `/channels/${town.id}`);

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

async function waitUntil(cond, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
