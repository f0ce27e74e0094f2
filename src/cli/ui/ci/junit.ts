// `--junit FILE`: one <testcase> per group in the Jenkins/Ant JUnit XML that
// PublishTestResults@2 (and most CI systems) read — classname the pipeline, name the group's
// keys; a failed group or a rejected promotion is a <failure> with its reason, a skipped group
// <skipped/>. The schema it keeps to is docs/junit.xsd. Written to a temporary file and
// renamed, so a reader never sees half a report.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactSecrets } from '../../../core/redact.js';

export interface JunitCase {
  name: string;
  classname: string;
  seconds?: number;
  failure?: { type: string; message: string; detail?: string };
  skipped?: string;
}

export interface JunitSuite {
  name: string;
  timestamp?: string;
  seconds?: number;
  properties: Record<string, string>;
  cases: JunitCase[];
}

/** XML 1.0 cannot carry most control characters even escaped: drop them. */
function xmlText(value: string): string {
  return redactSecrets(value)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function xmlAttr(value: string): string {
  return xmlText(value).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

const seconds = (s: number | undefined): string => (s !== undefined && Number.isFinite(s) && s >= 0 ? s.toFixed(3) : '0.000');

/** Ant's schema wants a timestamp without a zone: `2026-12-07T03:04:05`. */
function antTimestamp(iso: string | undefined): string | undefined {
  const m = iso ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(iso) : null;
  return m?.[1];
}

export function junitXml(title: string, suites: readonly JunitSuite[]): string {
  const count = (s: JunitSuite, f: (c: JunitCase) => boolean): number => s.cases.filter(f).length;
  const total = { tests: 0, failures: 0, skipped: 0, time: 0 };
  const body: string[] = [];
  suites.forEach((s, id) => {
    const failures = count(s, (c) => c.failure !== undefined);
    const skipped = count(s, (c) => c.skipped !== undefined);
    const time = s.seconds ?? s.cases.reduce((sum, c) => sum + (c.seconds ?? 0), 0);
    total.tests += s.cases.length;
    total.failures += failures;
    total.skipped += skipped;
    total.time += time;
    const stamp = antTimestamp(s.timestamp);
    body.push(
      `  <testsuite name="${xmlAttr(s.name)}" id="${id}" tests="${s.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(time)}"${stamp ? ` timestamp="${stamp}"` : ''}>`,
    );
    const props = Object.entries(s.properties);
    if (props.length) {
      body.push('    <properties>');
      for (const [name, value] of props) body.push(`      <property name="${xmlAttr(name)}" value="${xmlAttr(value)}"/>`);
      body.push('    </properties>');
    }
    for (const c of s.cases) {
      const head = `    <testcase classname="${xmlAttr(c.classname)}" name="${xmlAttr(c.name)}" time="${seconds(c.seconds)}"`;
      if (c.failure) {
        body.push(`${head}>`, `      <failure type="${xmlAttr(c.failure.type)}" message="${xmlAttr(c.failure.message)}">${xmlText(c.failure.detail ?? c.failure.message)}</failure>`, '    </testcase>');
      } else if (c.skipped !== undefined) {
        body.push(`${head}>`, `      <skipped message="${xmlAttr(c.skipped)}"/>`, '    </testcase>');
      } else {
        body.push(`${head}/>`);
      }
    }
    body.push('  </testsuite>');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttr(title)}" tests="${total.tests}" failures="${total.failures}" errors="0" skipped="${total.skipped}" time="${seconds(total.time)}">`,
    ...body,
    '</testsuites>',
    '',
  ].join('\n');
}

/** Writes the report whole or not at all: a temporary file beside it, then a rename. */
export function writeJunitFile(file: string, xml: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, xml);
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
