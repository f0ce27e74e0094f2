// GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message` on
// stdout, the step summary appended to $GITHUB_STEP_SUMMARY and outputs to $GITHUB_OUTPUT.
// Escaping follows the actions toolkit: the message escapes %, CR and LF (%25, %0D, %0A); a
// property value also escapes `:` and `,` (%3A, %2C). Everything is redacted first.
import { appendFileSync } from 'node:fs';
import { redactSecrets } from '../../../core/redact.js';
import type { OutputStream } from '../../io.js';
import { sourcePath } from './azure.js';
import type { CiIssue, CiReporter } from './reporter.js';

export function escapeGithubData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeGithubProperty(value: string): string {
  return escapeGithubData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function githubCommand(command: string, properties: Record<string, string | number | undefined>, message = ''): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeGithubProperty(redactSecrets(String(value)))}`)
    .join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeGithubData(redactSecrets(message))}`;
}

export function githubReporter(out: OutputStream, env: Record<string, string | undefined>, cwd: string): CiReporter {
  const emit = (line: string): void => void out.write(`${line}\n`);
  return {
    system: 'github',
    issue(i: CiIssue) {
      emit(
        githubCommand(
          i.severity,
          {
            file: i.file ? sourcePath(i.file, cwd, env.GITHUB_WORKSPACE) : undefined,
            line: i.file && i.line ? i.line : undefined,
            col: i.file && i.line && i.column ? i.column : undefined,
            title: i.code,
          },
          i.message,
        ),
      );
    },
    progress: () => undefined,
    output(name, value) {
      // name=value lines; a value is one line (ids and counts), so no heredoc delimiter is needed.
      if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `${name}=${redactSecrets(String(value)).replace(/[\r\n]+/g, ' ')}\n`);
    },
    summary(markdown) {
      if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${redactSecrets(markdown)}\n`);
    },
    // GitHub has no "succeeded with issues": the MM510 warning annotation already says it.
    succeededWithIssues: () => undefined,
    // A workflow command is a line that starts with `::` (the runner also still reads `##[`).
    neutralize: (text) => text.replace(/^(\s*):(?=:)/gm, '$1: ').replace(/##\[/g, '## ['),
  };
}
