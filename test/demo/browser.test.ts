/**
 * The chat page in a real browser (Debian's chromium, headless, through playwright-core): two
 * tabs and a TCP user chat together, and a tab reconnects by itself when the server comes back.
 * `WIREKIT_SCREENSHOT=1` also saves docs/demo.png, the README's picture.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { needPeer, root } from '../helpers.js';
import { type Demo, startDemo, TcpUser } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const stops: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

async function launch(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
  stops.push(() => browser.close());
  return browser;
}

async function demo(args: string[] = []): Promise<Demo> {
  const started = await startDemo(args);
  stops.push(started.stop);
  return started;
}

async function enterPage(browser: Browser, demo: Demo, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 960, height: 600 }, locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(demo.url);
  await page.locator('#name').fill(name);
  await page.locator('#name-form button').click();
  await page.locator('#message').waitFor({ state: 'visible' });
  await page.locator('#users li.me', { hasText: `${name} (you)` }).waitFor();
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.locator('#message').fill(text);
  await page.locator('#message').press('Enter');
}

/** The texts of the chat messages a page shows, as `[name] text`. */
function shown(page: Page): Promise<string[]> {
  return page
    .locator('#messages li.message')
    .evaluateAll((items) =>
      items.map(
        (li) => `[${li.querySelector('.name')?.textContent}] ${li.querySelector('.text')?.textContent}`,
      ),
    );
}

async function users(page: Page): Promise<string[]> {
  return page.locator('#users li').allTextContents();
}

test('two tabs and a terminal chat together; each sees who is online and every message', async (t) => {
  if (!needPeer(t, CHROMIUM, ['--version'])) return;
  const [browser, served] = await Promise.all([launch(), demo()]);
  const ada = await enterPage(browser, served, 'Ada');
  const grace = await enterPage(browser, served, 'Grace');
  await ada.locator('#users li', { hasText: 'Grace' }).waitFor();
  assert.deepEqual(await users(grace), ['Ada', 'Grace (you)']);

  await say(ada, 'Hello Grace! Two tabs, one room.');
  await grace.locator('#messages li.message', { hasText: 'Hello Grace' }).waitFor();
  await say(grace, 'Hi Ada, nice page');
  await ada.locator('#messages li.message', { hasText: 'nice page' }).waitFor();

  const term = await TcpUser.open(served);
  t.after(() => term.close());
  await grace.locator('#users li', { hasText: term.name }).waitFor();
  await ada.locator('#messages li.notice', { hasText: `${term.name} joined` }).waitFor();
  assert.match(term.lines.at(-1)!, /^\* 3 online: Ada, Grace, guest-\d{4}$/);
  await term.say('hello from the terminal');
  await say(grace, 'welcome, terminal');
  await term.waitFor(/^\[Grace\] welcome, terminal$/);
  await ada.locator('#messages li.message', { hasText: 'welcome, terminal' }).waitFor();

  const expected = [
    '[Ada] Hello Grace! Two tabs, one room.',
    '[Grace] Hi Ada, nice page',
    `[${term.name}] hello from the terminal`,
    '[Grace] welcome, terminal',
  ];
  assert.deepEqual(await shown(ada), expected);
  assert.deepEqual(await shown(grace), expected);
  assert.deepEqual(await users(ada), ['Ada (you)', 'Grace', term.name]);
  if (process.env.WIREKIT_SCREENSHOT === '1') await ada.screenshot({ path: join(root, 'docs/demo.png') });

  // What a user wrote is text on the page, never markup.
  const xss = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';
  await term.say(xss);
  await say(grace, `${xss} too`);
  for (const page of [ada, grace]) {
    await page.locator('#messages li.message', { hasText: `${xss} too` }).waitFor();
    assert.deepEqual((await shown(page)).slice(-2), [`[${term.name}] ${xss}`, `[Grace] ${xss} too`]);
    assert.equal(await page.locator('#messages img, #messages script').count(), 0);
    assert.equal(await page.title(), 'wirekit chat');
  }

  await grace.locator('#message').fill('/nick Grace H');
  await grace.locator('#message').press('Enter');
  await ada.locator('#messages li.notice', { hasText: 'Grace is now known as Grace H' }).waitFor();
  await term.waitFor(/^\* Grace is now known as Grace H$/);
  await grace.close();
  await ada.locator('#messages li.notice', { hasText: 'Grace H left' }).waitFor();
  await term.waitFor(/^\* Grace H left$/);
});

test('a tab shows that it is offline, reconnects by itself when the server is back, and rejoins', async (t) => {
  if (!needPeer(t, CHROMIUM, ['--version'])) return;
  const [browser, first] = await Promise.all([launch(), demo()]);
  const port = new URL(first.url).port;
  const page = await enterPage(browser, first, 'Ada');
  await say(page, 'before the restart');
  await page.locator('#messages li.message', { hasText: 'before the restart' }).waitFor();
  assert.equal(await first.stop(), 0);
  await page.locator('#status.offline', { hasText: /reconnecting in \d+ s/ }).waitFor();
  assert.equal(await page.locator('#message-form').isHidden(), true);

  const second = await demo(['--http-port', port]).catch(async (err: unknown) => {
    // Another process took the port meanwhile: nothing to learn here.
    t.skip(`port ${port} was taken: ${String(err)}`);
    return undefined;
  });
  if (second === undefined) return;
  await page.locator('#status.online').waitFor({ timeout: 15_000 });
  await page.locator('#users li.me', { hasText: 'Ada (you)' }).waitFor();
  // A new process has a new, empty history.
  assert.deepEqual(await shown(page), []);
  await say(page, 'after the restart');
  await page.locator('#messages li.message', { hasText: 'after the restart' }).waitFor();
});
