// The whole journey of a new user in real headless Chromium (Debian's, driven by
// playwright-core; no browser is ever downloaded), against the real server.
// usage: node tests/journey.mjs <base-url> <local CSV file, uploaded after sign-up> [screenshot dir]
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Evaluated through the DevTools protocol: the page's Content-Security-Policy (no inline
// scripts) stays in force for the app itself.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const [base, csvFile, shots = 'test-results'] = process.argv.slice(2);
// Connectors read files from the workspace's own area; the journey uploads its CSV there.
const csvPath = 'uploads/accounts.csv';
mkdirSync(shots, { recursive: true });
const step = (name) => console.log(`step: ${name}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
page.setDefaultTimeout(30000);
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
// Accessibility: axe-core on the page as it is; serious and critical findings fail the journey.
const a11y = [];
async function audit(name) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0]?.target?.join(' ')}`);
  });
  for (const f of found) a11y.push(`${name}: ${f}`);
}
// Responsive: nothing wider than a phone's screen on the main pages.
async function fitsPhone(name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize({ width: 1360, height: 900 });
  if (overflow > 1) a11y.push(`${name}: ${overflow}px wider than a 390px screen`);
}

const email = `ui-${Date.now()}@example.com`;
try {
  step('sign up');
  await page.goto(base);
  await page.getByRole('button', { name: 'New here? Create a workspace' }).click();
  await page.getByLabel('Company').fill('Browser Co');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long browser passphrase');
  await shot('01-sign-up');
  await audit('01-sign-up');
  await fitsPhone('01-sign-up');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Connectors' }).waitFor();

  step('upload a CSV into the workspace');
  const uploaded = await page.evaluate(
    async ([path, body]) => {
      const token = localStorage.getItem('autonomos.token');
      const r = await fetch(`/${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body });
      return r.status;
    },
    [csvPath, readFileSync(csvFile, 'utf8')],
  );
  if (uploaded >= 300) throw new Error(`the upload answered HTTP ${uploaded}`);

  step('create a CSV connector');
  await page.getByLabel('Name', { exact: true }).fill('crm-export');
  await page.getByLabel(/workspace's files/).fill(csvPath);
  await page.getByRole('button', { name: 'Create CSV connector' }).click();
  await page.getByRole('cell', { name: 'crm-export' }).waitFor();

  step('test the connection: the source answers, the connector is healthy');
  await page.getByText('UNKNOWN', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByTestId('connection-test').getByText(/^\s*answered in \d+ ms/).waitFor();
  await page.getByText('HEALTHY', { exact: true }).waitFor();

  step('sync, status live');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByTestId('run-status').getByText('SUCCEEDED').waitFor();
  await shot('02-connectors');
  await audit('02-connectors');
  await fitsPhone('02-connectors');

  step('approve a proposal');
  await page.goto(`${base}/#/reviews`);
  const approve = page.getByRole('button', { name: 'Approve' }).first();
  await approve.waitFor();
  const reviews = page.locator('ul.reviews > li');
  const before = await reviews.count();
  await shot('03-review-queue');
  await audit('03-review-queue');
  await fitsPhone('03-review-queue');
  const field = (await reviews.first().locator('strong').textContent()).split('.').pop();
  await approve.click();
  await page.waitForFunction((n) => document.querySelectorAll('ul.reviews > li').length < n, before);

  step('map another proposal to a target of our choice');
  await reviews.first().click();
  await page.getByLabel('Map to').selectOption('account.description');
  await page.getByRole('button', { name: 'Map', exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll('ul.reviews > li').length < n, before - 1);

  step('see it in the grid and export CSV');
  await page.goto(`${base}/#/grid`);
  await page.getByLabel('Search').fill(field);
  await page.getByRole('row').filter({ hasText: field }).first().waitFor();
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const link = page.getByTestId('export-link').getByRole('link', { name: 'download' });
  await link.waitFor();
  const csv = await (await page.request.get(new URL(await link.getAttribute('href'), base).toString())).text();
  if (!csv.startsWith('id,') || !csv.includes(field)) throw new Error(`export does not hold ${field}: ${csv.slice(0, 200)}`);
  await shot('04-lineage-grid');
  await audit('04-lineage-grid');
  await fitsPhone('04-lineage-grid');

  step('tree');
  await page.goto(`${base}/#/tree`);
  await page.getByRole('tree').getByText('crm-export').first().waitFor();
  await shot('05-tree');
  await audit('05-tree');
  await fitsPhone('05-tree');

  step('graph and impact');
  await page.goto(`${base}/#/graph`);
  const node = page.getByRole('button', { name: `Impact of ${field}` });
  await node.waitFor();
  await node.click();
  await page.getByTestId('impact').getByText(/records hold its values/).waitFor();
  await shot('06-graph');
  await audit('06-graph');
  await fitsPhone('06-graph');

  step('a live flow event arrives');
  await page.goto(`${base}/#/flow`);
  await page.getByRole('heading', { name: 'Flow monitor' }).waitFor();
  await page.waitForTimeout(500);
  await page.getByRole('button', { name: 'Start a demo flow' }).click();
  await page.getByTestId('flow-AGENT').getByText('DEMO').first().waitFor();
  await page.getByTestId('flow-AAM').getByRole('button').first().click();
  await page.getByLabel('Event details').waitFor();
  await shot('07-flow-monitor');
  await audit('07-flow-monitor');
  await fitsPhone('07-flow-monitor');

  step('metrics, dark theme');
  await page.goto(`${base}/#/metrics`);
  await page.getByText(/source fields/).first().waitFor();
  // The tenant holds the one connector made above, of the default 100.
  await page.getByLabel('Quota use').getByText('1 of 100').waitFor();
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await shot('08-metrics-dark');
  await audit('08-metrics-dark');
  await fitsPhone('08-metrics-dark');

  step('records: search, open one, see where each value came from');
  await page.goto(`${base}/#/records`);
  await page.getByLabel('Search').fill('initech');
  const records = page.getByRole('table', { name: 'Unified records' });
  await records.getByRole('link', { name: 'Initech' }).waitFor();
  await shot('10-records');
  await audit('10-records');
  await fitsPhone('10-records');
  await records.getByRole('link', { name: 'Initech' }).click();
  await page.getByRole('table', { name: 'Values and provenance' }).getByText(/crm-export · Account Name \(3\)/).waitFor();
  await page.getByRole('list', { name: 'Source records' }).getByText(/crm-export #3/).waitFor();
  await shot('11-record');
  await audit('11-record');

  step('match review: the two Acmes are one');
  await page.goto(`${base}/#/matches`);
  const linkPair = page.getByRole('button', { name: 'Link', exact: true }).first();
  await linkPair.waitFor();
  await shot('12-match-review');
  await audit('12-match-review');
  await fitsPhone('12-match-review');
  await linkPair.click();
  await page.getByText('No pairs wait for review.').waitFor();

  step('transform editor: a bad step is refused by path, a good one previewed and saved');
  await page.goto(`${base}/#/transforms`);
  const option = page.locator('option', { hasText: 'Account Name → account.name' });
  await option.waitFor({ state: 'attached' });
  await page.getByLabel('Mapping').selectOption(await option.getAttribute('value'));
  await page.getByLabel('Steps (JSON)').fill('[{ "op": "eval", "code": "1" }]');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('alert').getByText(/transform\.steps\[0\]\.op/).waitFor();
  await page.getByLabel('Steps (JSON)').fill('[{ "op": "case", "to": "upper" }]');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('table', { name: 'Preview' }).getByText('INITECH', { exact: true }).waitFor();
  await shot('13-transform-editor');
  await audit('13-transform-editor');
  await page.getByRole('button', { name: 'Save and approve' }).click();
  await page.getByRole('status').getByText('Saved as version 2, active.').waitFor();

  step('configure a connector: bad JSON is refused, a rename is saved');
  await page.goto(`${base}/#/connectors`);
  await page.getByRole('button', { name: 'Configure' }).first().click();
  const form = page.getByRole('form', { name: 'Configure crm-export' });
  await form.getByLabel(/^Configuration/).fill('{ not json');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.getByRole('alert').getByText(/not JSON/).waitFor();
  await form.getByLabel(/^Configuration/).fill(JSON.stringify({ path: csvPath, idColumn: 'id' }));
  await form.getByLabel('Connector name').fill('crm-renamed');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('cell', { name: 'crm-renamed' }).waitFor();

  step('schedule a sync, set a drift policy, check the schema, read the drift timeline');
  await page.goto(`${base}/#/automation`);
  await page.getByTestId('schedule-state').getByText(/Not scheduled/).waitFor();
  await page.getByLabel('Interval (seconds)').fill('3600');
  await page.getByRole('button', { name: 'Save schedule' }).click();
  await page.getByTestId('schedule-state').getByText(/every 3600 seconds · next run/).waitFor();
  await page.getByLabel("When the source's schema changes").selectOption('PAUSE');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByTestId('observer-state').getByText(/Policy PAUSE/).waitFor();
  await page.getByRole('button', { name: 'Check schema now' }).click();
  await page.getByRole('status').getByText(/Checked 1 entities: 0 changes/).waitFor();
  await page.getByRole('heading', { name: /Drift timeline/ }).waitFor();
  await shot('14-schedules-drift');
  await audit('14-schedules-drift');
  await fitsPhone('14-schedules-drift');

  step('webhooks: add an endpoint, its secret shown once, a test delivery in the log');
  await page.goto(`${base}/#/webhooks`);
  await page.getByText('No endpoints yet.').waitFor();
  await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/hooks');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByTestId('webhook-secret').getByText(/whsec_/).waitFor();
  await page.getByRole('button', { name: 'Send test' }).click();
  await page.getByRole('status').getByText(/Test FAILED/).waitFor();
  await page.getByRole('table', { name: 'Delivery log' }).getByText('FAILED').waitFor();
  await shot('15-webhooks');
  await audit('15-webhooks');
  await fitsPhone('15-webhooks');

  step('sign out and back in');
  await page.goto(`${base}/#/connectors`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long browser passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('cell', { name: 'crm-renamed' }).waitFor();

  step('errors are shown, not blank screens');
  await page.route('**/graphql', (route) => route.fulfill({ status: 500, body: 'upstream trouble' }));
  await page.goto(`${base}/#/grid`);
  await page.getByRole('alert').waitFor();
  await shot('09-error-state');
  await page.unroute('**/graphql');
  if (consoleErrors.length) throw new Error(`page errors: ${consoleErrors.join('; ')}`);
  if (a11y.length) throw new Error(`accessibility / layout:\n  ${a11y.join('\n  ')}`);
  console.log('journey: ok');
} catch (e) {
  failed = true;
  console.error(`journey failed: ${e.stack ?? e}`);
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
