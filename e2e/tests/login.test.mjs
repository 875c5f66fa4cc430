// Logging in and out through the web UI against a real server.
import assert from 'node:assert/strict';
import {
  test, startServer, launchBrowser, newPage, login, waitForView, screenshot, strongPassword,
} from '../lib/harness.mjs';

test('log in, stay logged in across a reload, log out', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'alice', password, admin: true }] });
  const browser = await launchBrowser();
  const page = await newPage(browser);

  // A visitor without a session sees the login form.
  await page.goto(server.url);
  await waitForView(page, 'login');
  const username = page.getByLabel('Username', { exact: true });
  const passwordInput = page.getByLabel('Password', { exact: true });
  const submit = page.getByRole('button', { name: 'Log in', exact: true });
  await username.waitFor();
  await passwordInput.waitFor();
  await submit.waitFor();

  // A wrong password shows an error and keeps the form.
  await username.fill('alice');
  await passwordInput.fill(`${password}-wrong`);
  await submit.click();
  const error = page.getByRole('alert');
  await error.waitFor();
  assert.match(await error.textContent(), /incorrect username or password/i);
  assert.equal(await page.locator('#app').getAttribute('data-view'), 'login');

  // The right password opens the shell with alice in the sidebar.
  await login(page, server.url, 'alice', password);
  const sidebar = page.getByRole('navigation', { name: 'Sidebar' });
  await sidebar.getByRole('button', { name: 'alice', exact: true }).waitFor();
  await sidebar.getByRole('button', { name: 'Channels' }).waitFor();
  await sidebar.getByRole('button', { name: 'Direct messages' }).waitFor();
  await page.getByRole('heading', { name: 'Nothing here yet' }).waitFor();
  await screenshot(page, 'shell');

  // The session cookie survives a reload.
  await page.reload();
  await waitForView(page, 'shell');
  await sidebar.getByRole('button', { name: 'alice', exact: true }).waitFor();

  // The account menu logs out back to the login form.
  await sidebar.getByRole('button', { name: 'alice', exact: true }).click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await waitForView(page, 'login');
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();

  // And the server agrees: a reload stays on the login form.
  await page.reload();
  await waitForView(page, 'login');

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('the shell fits a 375 px wide phone, sidebar in a drawer', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'bob', password, admin: false }] });
  const browser = await launchBrowser();
  const page = await newPage(browser, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });

  await login(page, server.url, 'bob', password);
  await page.getByRole('heading', { name: 'Nothing here yet' }).waitFor();
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 375, `page is ${scrollWidth} px wide, wider than the screen`);

  await page.getByRole('button', { name: 'Open sidebar' }).click();
  const sidebar = page.getByRole('navigation', { name: 'Sidebar' });
  await sidebar.getByRole('button', { name: 'bob', exact: true }).waitFor();
  // Let the slide-in finish before the picture.
  await page.waitForFunction(() => getComputedStyle(document.querySelector('nav[aria-label="Sidebar"]')).transform === 'none');
  await screenshot(page, 'shell-375px-drawer');
  await page.keyboard.press('Escape');
  await sidebar.waitFor({ state: 'hidden' });

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});

test('login and logout work from the keyboard alone', async () => {
  const password = strongPassword();
  const server = await startServer({ users: [{ username: 'carol', password, admin: false }] });
  const browser = await launchBrowser();
  const page = await newPage(browser);

  await page.goto(server.url);
  await waitForView(page, 'login');
  // The username field has focus on arrival; Tab reaches the password; Enter submits.
  await page.keyboard.type('carol');
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await waitForView(page, 'shell');

  const account = page.getByRole('navigation', { name: 'Sidebar' }).getByRole('button', { name: 'carol', exact: true });
  await account.focus();
  await page.keyboard.press('Enter');
  const logout = page.getByRole('menuitem', { name: 'Log out' });
  await logout.waitFor();
  assert.ok(await logout.evaluate((node) => node === document.activeElement), 'the menu opens with focus on its first item');
  // Escape closes the menu and gives focus back to the button.
  await page.keyboard.press('Escape');
  await logout.waitFor({ state: 'hidden' });
  assert.ok(await account.evaluate((node) => node === document.activeElement), 'focus returns to the account button');

  await page.keyboard.press('ArrowUp');
  await logout.waitFor();
  await page.keyboard.press('Enter');
  await waitForView(page, 'login');

  assert.deepEqual(page.problems, [], 'no page errors or CSP violations');
});
