// Process exit codes: the one table every command and the docs agree on.
export const ExitCode = {
  Ok: 0,
  WorkFailed: 1,
  BadInput: 2,
  Remote: 3,
  Bug: 4,
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
