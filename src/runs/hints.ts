// The commands our messages suggest ("details: manymodels runs show RUN", "--resume RUN"),
// written so they can be copied and run as they are: with `-f FILE` when the project file is
// not the default pipelines.yaml, or the suggestion would read another file's runs.
import type { Project } from '../pipeline/project.js';

const DEFAULT_FILE = 'pipelines.yaml';

/** A path as one shell word: quoted only when it needs to be. */
function shellWord(word: string): string {
  return /^[\w./@:+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `manymodels <words>`, plus `-f <file>` when the file shown for the project is not the default. */
export function cliCommand(project: Pick<Project, 'file'> | string | undefined, words: string): string {
  const file = typeof project === 'string' ? project : project?.file.displayPath;
  return `manymodels ${words}${file && file !== DEFAULT_FILE ? ` -f ${shellWord(file)}` : ''}`;
}

/** The same, bound to one project: `hint('runs show RUN')`. */
export function cliHints(project: Pick<Project, 'file'> | string | undefined): (words: string) => string {
  return (words) => cliCommand(project, words);
}
