// Azure Pipelines logging commands: `##vso[area.action key=value;…]message` on stdout, one
// per line. Escaping follows the agent's task library: a property value escapes %, CR, LF,
// `]` and `;` (%AZP25, %0D, %0A, %5D, %3B); the message escapes %, CR and LF. Every value is
// redacted first: the log, the issue list and the summary page are all readable by anyone
// who can see the run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactSecrets } from '../../../core/redact.js';
import type { OutputStream } from '../../io.js';
import type { CiIssue, CiReporter } from './reporter.js';

export function escapeAzureData(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeAzureProperty(value: string): string {
  return escapeAzureData(value).replace(/]/g, '%5D').replace(/;/g, '%3B');
}

/** The agent finds `##vso[` anywhere in a line, and `##[` formats a line. */
export const neutralizeAzure = (text: string): string => text.replace(/##vso\[/gi, '##vso [').replace(/##\[/g, '## [');

export function azureCommand(command: string, properties: Record<string, string | number | undefined>, message = ''): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeAzureProperty(redactSecrets(String(value)))};`)
    .join('');
  // One command per line: a `##vso[` quoted in the message (a group's error) is broken up too.
  return `##vso[${command}${props ? ` ${props}` : ''}]${escapeAzureData(neutralizeAzure(redactSecrets(message)))}`;
}

/** Relative to the checkout when the file is inside it, so the issue links to the source. */
export function sourcePath(file: string, cwd: string, checkout: string | undefined): string {
  if (!checkout) return file;
  const rel = path.relative(checkout, path.resolve(cwd, file));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

export function azureReporter(out: OutputStream, env: Record<string, string | undefined>, cwd: string): CiReporter {
  const emit = (line: string): void => void out.write(`${line}\n`);
  return {
    system: 'azure',
    issue(i: CiIssue) {
      emit(
        azureCommand(
          'task.logissue',
          {
            type: i.severity,
            sourcepath: i.file ? sourcePath(i.file, cwd, env.BUILD_SOURCESDIRECTORY) : undefined,
            linenumber: i.file && i.line ? i.line : undefined,
            columnnumber: i.file && i.line && i.column ? i.column : undefined,
            code: i.code,
          },
          i.message,
        ),
      );
    },
    progress(percent, operation) {
      emit(azureCommand('task.setprogress', { value: Math.max(0, Math.min(100, Math.floor(percent))) }, operation));
    },
    output(name, value) {
      emit(azureCommand('task.setvariable', { variable: name, isOutput: 'true' }, String(value)));
    },
    summary(markdown, file) {
      // The agent reads the file when it processes the command: it must exist first, at an absolute path.
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, redactSecrets(markdown));
      emit(azureCommand('task.uploadsummary', {}, path.resolve(file)));
    },
    succeededWithIssues(reason) {
      emit(azureCommand('task.complete', { result: 'SucceededWithIssues' }, reason));
    },
    neutralize: neutralizeAzure,
  };
}
