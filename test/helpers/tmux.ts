// A tmux pane a real-terminal test drives: what it shows now, and waiting until it shows something.
import { spawnSync } from 'node:child_process';

export interface TmuxPane {
  /** The pane's visible lines, as `tmux capture-pane -p` prints them. */
  capture(): string;
  /** Polls the pane every 150 ms until `test` holds (its screen), or fails naming `what` with the last screen. */
  until(what: string, test: (screen: string) => boolean, ms?: number): Promise<string>;
}

export function tmuxPane(session: string): TmuxPane {
  const capture = (): string => spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
  return {
    capture,
    async until(what, test, ms = 60_000) {
      const end = Date.now() + ms;
      let screen = '';
      while (Date.now() < end) {
        screen = capture();
        if (test(screen)) return screen;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
    },
  };
}
