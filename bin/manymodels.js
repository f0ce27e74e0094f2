#!/usr/bin/env node
// The installed entry point: checks the Node version, selects React's production build,
// wires Ctrl-C to an AbortSignal and hands the process to runCli, which returns the exit code.
// node:sqlite (the local registry) needs 22.13 or newer without a flag.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`manymodels needs Node.js 22.13 or newer (this is ${process.version}).\nRun scripts/bootstrap.sh, then: source .tooling/env.sh\n`);
  process.exit(2);
}
// React (the dashboard, the live progress view) runs its production build unless the user
// chose otherwise: the development build is several times slower per frame. Set before
// anything imports react.
process.env.NODE_ENV ??= 'production';
const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts > 1) process.exit(130);
  controller.abort();
});
const { runCli } = await import('../dist/cli/main.js');
const { processIo } = await import('../dist/cli/io.js');
const io = processIo(controller.signal);
const code = await runCli(process.argv.slice(2), io);
// Output that could not be written (stdout on a full disk) is the work failing, unless it
// failed anyway; a reader that went away (EPIPE) changes nothing.
process.exitCode = code === 0 && (io.stdout.failed || io.stderr.failed) ? 1 : code;
