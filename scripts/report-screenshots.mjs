// Regenerates the pictures of docs/results.md: one screenshot per section of a report page,
// taken in Debian's headless Chromium through playwright-core (no browser download).
// Usage: node scripts/report-screenshots.mjs REPORT.html [OUT_DIR=docs/images]
// Make REPORT.html with: manymodels report --html REPORT.html (after train, promote, score).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [file, outDir = 'docs/images'] = process.argv.slice(2);
if (!file || !existsSync(file)) {
  console.error('usage: node scripts/report-screenshots.mjs REPORT.html [OUT_DIR]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  for (const colorScheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 820, height: 900 }, colorScheme });
    await page.goto(`file://${path.resolve(file)}`);
    const ids = colorScheme === 'light' ? await page.$$eval('section', (s) => s.map((e) => e.id)) : ['overview', 'forecasts'];
    for (const id of ids) {
      const out = path.join(outDir, `report-${id}${colorScheme === 'dark' ? '-dark' : ''}.png`);
      await page.locator(`section#${id}`).screenshot({ path: out });
      console.log(out);
    }
    await page.close();
  }
} finally {
  await browser.close();
}
