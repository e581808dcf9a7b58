/**
 * The person's portal in a real Chromium (issue 17 item 6): Debian's `chromium` driven by
 * playwright-core (no browser download), on a phone-sized screen, against a real medid and a
 * real local OpenID Connect provider. The person signs in through the IdP, sees the access a
 * hospital made a moment ago with its proof verified in the browser, reads everything and sees
 * their chain checked (no access hidden from them), denies that hospital (whose
 * next read is refused), opts out, reads a mismatch notice; axe-core finds no serious or critical
 * violation (WCAG 2.1 A/AA), in Japanese and in English.
 *
 * Needs /usr/bin/chromium (or MEDID_CHROMIUM) and fonts-ipafont-gothic: CI installs both
 * (.ci/run). Without a browser the suite says so loudly and does not run — and under CI=true it
 * fails instead. MEDID_SCREENSHOTS=<dir> saves the README's screenshots there.
 */
import type { AuditEvent, Bundle, CoverageEligibilityRequest, Parameters, Patient } from '@medplum/fhirtypes';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../../src/core/systems.ts';
import { myNumberFrom, startDevIdp } from '../helpers/dev-idp.ts';
import type { DevIdp } from '../helpers/dev-idp.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, postCoverage, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const CHROMIUM = process.env['MEDID_CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE_BROWSER = fs.existsSync(CHROMIUM);
if (!HAVE_BROWSER) {
  if (process.env['CI']) throw new Error(`portal browser tests: no Chromium at ${CHROMIUM} (CI must install Debian's chromium)`);
  console.warn(
    `\n*** NOT RUN: portal browser tests (test/e2e/portal-browser.test.ts) — no Chromium at ${CHROMIUM}.\n` +
      "*** Install Debian's chromium and fonts-ipafont-gothic (apt-get install -y chromium fonts-ipafont-gothic) to run them.\n",
  );
}

const INSURER = insurerNumber('0613809');
const HOSPITAL = '1312345678';
const MY_NUMBER = myNumberFrom('61234567890');
const SHOTS = process.env['MEDID_SCREENSHOTS'];
const AXE = fs.readFileSync(path.resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8');

describe.skipIf(!HAVE_BROWSER)('the portal in Chromium', () => {
  let s: TestServer;
  let idp: DevIdp;
  let browser: Browser;
  let page: Page;
  let patient: string;
  let hospital: string;
  let hospitalRead: string;
  const admin = () => ({ headers: { authorization: `Bearer ${s.token}` } });

  const shot = async (name: string): Promise<void> => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `portal-${name}.png`), fullPage: false });
  };
  /** Waits until `fn` holds in the page (polling; the portal loads asynchronously). */
  const until = async (what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await fn().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const axeSerious = async (): Promise<string[]> => {
    await page.evaluate(AXE);
    const r = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as {
          axe: { run: (c: unknown, o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
        }
      ).axe;
      return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`);
  };

  beforeAll(async () => {
    const secret = crypto.randomBytes(16).toString('hex');
    s = await startTestServer('pglite', {
      configFor: async (root) => {
        idp = await startDevIdp({
          port: 0,
          clients: [{ client_id: 'medid', client_secret: secret, redirect_uris: [`${root}/oauth/person/callback`] }],
          accounts: { hanako: { my_number: MY_NUMBER, name: '見本 花子' } },
        });
        return {
          personIdp: { issuer: idp.issuer, clientId: 'medid', clientSecret: secret, myNumberClaim: 'my_number', scope: 'openid my_number' },
        };
      },
    });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      ...admin(),
      json: registerBody([
        {
          record: 'hanako',
          patient: registrationPatient({
            insurer: INSURER,
            number: '31',
            myNumber: MY_NUMBER,
            kanji: ['見本', '花子'],
            kana: ['ミホン', 'ハナコ'],
            gender: 'female',
            birthDate: '1981-01-01',
          }),
        },
      ]),
    });
    patient = results(reg.body)[0]?.patient as string;
    await postCoverage(s.base, INSURER, '31', patient, admin().headers);
    await fhirFetch(`${s.base}/Organization`, {
      method: 'POST',
      ...admin(),
      json: {
        resourceType: 'Organization',
        name: '東都中央病院',
        identifier: [{ system: ID_SYSTEMS.medicalInstitutionCode, value: HOSPITAL }],
      },
    });
    hospital = await s.tokenFor('system/*.cruds', 'toto-ehr', { kind: 'medical-institution', code: HOSPITAL });
    // The desk confirms the card with another kana reading: valid, and a mismatch notice to the person.
    const card: CoverageEligibilityRequest = eligibilityCard(INSURER, '31', new Date().toISOString().slice(0, 10));
    const contained = card.contained?.[0] as Patient;
    contained.name = [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ミホン', given: ['ハナ'] }];
    const confirmed = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: card,
      headers: { authorization: `Bearer ${hospital}` },
    });
    expect(JSON.stringify(confirmed.body)).toMatch(/"code":"1"/);
    // The access "a moment ago".
    expect((await fhirFetch(`${s.base}/Patient/${patient}`, { headers: { authorization: `Bearer ${hospital}` } })).status).toBe(200);
    await s.app.auditLog.settle();
    const b = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${patient}&subtype=read&altid=toto-ehr`, admin());
    hospitalRead = b.body.entry?.[0]?.resource?.id as string;
    await s.app.treeHeads?.signNow();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // A phone: 390 × 844 CSS pixels, touch.
    page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'ja-JP' });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await idp?.close();
  });

  it('signs in through the IdP and shows the hospital’s access of a moment ago, its proof verified in the browser', async () => {
    await page.goto(`${s.root}/portal/`);
    await shot('signin');
    await page.getByRole('button', { name: 'ログインする' }).click();
    await page.getByLabel('Login').fill('hanako');
    await page.getByLabel('Password').fill('any password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${s.root}/portal/`) && !u.search.includes('code='), { timeout: 15_000 });
    const entry = page.locator(`#access [data-event-id="${hospitalRead}"]`);
    await until('the hospital’s entry', async () => (await entry.count()) === 1);
    expect(await entry.innerText()).toContain('東都中央病院');
    await until('its proof', async () => (await entry.locator('.proof-status').innerText()).includes('検証済み'));
    // Nobody else's entries: every entry the page lists is about this person (the API's rule).
    const ids = await page.locator('#access [data-event-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-event-id')));
    expect(ids.length).toBeGreaterThan(0);

    // The person's chain (issue 17 item 4). Pages of 2 here, so that reading everything takes
    // the button; the person's own reads since the head was signed are the chain's unsigned tail.
    const AUDIT_SEARCH = /\/AuditEvent\?/;
    await page.route(AUDIT_SEARCH, (route) =>
      route.continue({
        url: route
          .request()
          .url()
          .replace(/_count=\d+/, '_count=2'),
      }),
    );
    await page.reload();
    const loadAll = page.getByRole('button', { name: 'すべて読み込んで連鎖を確認する' });
    await until('the load-all button', async () => loadAll.isVisible());
    const chain = page.locator('#access #chain-status[role="status"][aria-live="polite"]');
    expect(await chain.innerText()).toContain('すべて読み込むと');
    await loadAll.click();
    await until('the chain checked', async () => (await chain.innerText()).includes('✓ 連鎖を確認しました'));
    expect(await chain.innerText()).toMatch(/^✓ 連鎖を確認しました：1〜\d+ 番に欠けも書き換えもありません。/);
    expect(await chain.innerText()).toContain('台帳の署名を待っている');
    expect(await loadAll.isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('chain-status');
    expect(await page.locator(`#access [data-event-id="${hospitalRead}"]`).count()).toBe(1);
    await page.unroute(AUDIT_SEARCH);
    await entry.scrollIntoViewIfNeeded();
    await shot('access');
    expect(await axeSerious()).toEqual([]);
  });

  it('shows the mismatch notice, the service use and the insurance', async () => {
    await until('the notice', async () => (await page.locator('#notices-list li').count()) > 0);
    expect(await page.locator('#notices-list').innerText()).toContain('カナ氏名が登録内容と一致しませんでした');
    await until('the service use', async () => (await page.locator('#services-list').innerText()).includes('東都中央病院'));
    await until('the coverage', async () => (await page.locator('#coverage-list li').count()) > 0);
    await page.locator('#notices').scrollIntoViewIfNeeded();
    await shot('notices');
  });

  it("denies the hospital: the hospital's next read is refused", async () => {
    await page.locator('#consents').scrollIntoViewIfNeeded();
    const options = await page
      .locator('#consent-org option')
      .evaluateAll((els) => els.map((e) => ({ v: (e as HTMLOptionElement).value, t: e.textContent ?? '' })));
    const toto = options.find((o) => o.t.includes('東都中央病院'));
    expect(toto, JSON.stringify(options)).toBeDefined();
    await page.locator('#consent-org').selectOption(toto?.v ?? '');
    await page.locator('#consent-effect-deny').check();
    await page.getByRole('button', { name: '同意を登録する' }).click();
    await until('saved', async () => (await page.locator('#consents-status').innerText()).includes('同意を登録しました'));
    await until('listed', async () => (await page.locator('#consents-list').innerText()).includes('東都中央病院'));
    await shot('consents');
    const next = await fhirFetch(`${s.base}/Patient/${patient}`, { headers: { authorization: `Bearer ${hospital}` } });
    expect(next.status).toBe(404);
  });

  it('opts out of the whole system after confirming, and still sees its own records', async () => {
    await page.getByRole('button', { name: 'オプトアウトする…' }).click();
    const dialog = page.locator('#opt-out-dialog');
    await until('the confirmation', async () => dialog.isVisible());
    await shot('opt-out');
    await page.locator('#opt-out-confirm').click();
    await until('opted out', async () => page.locator('#opt-out-banner').isVisible());
    expect((await fhirFetch(`${s.base}/Patient/${patient}`, { headers: { authorization: `Bearer ${hospital}` } })).status).toBe(404);
    expect(await page.locator(`#access [data-event-id="${hospitalRead}"]`).count()).toBe(1);
  });

  it('switches to English, and stays accessible there', async () => {
    await page.locator('#lang-switch').click();
    await until('English', async () => (await page.locator('html').getAttribute('lang')) === 'en');
    expect(await page.locator('#access-heading').innerText()).not.toBe('私の記録を見た人');
    await until('the chain in English', async () =>
      (await page.locator('#chain-status').innerText()).startsWith('✓ Chain checked: entries 1–'),
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('english');
    expect(await axeSerious()).toEqual([]);
  });
});
