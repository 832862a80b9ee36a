#!/usr/bin/env node
// Tiny launcher for the compiled CLI (built by `npm ci` / `npm run build` into dist/).
// The version check comes first and uses only syntax every Node.js still parses, so an old runtime
// gets one sentence naming the version it needs instead of a syntax or import error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `stickyd needs Node.js 22.12 or newer (24 LTS recommended); this is Node.js ${process.versions.node}.\n` +
      'Check with `node --version`; see README.md, "Set up".\n',
  );
  process.exit(1);
}
// SIGUSR1 reopens the daemon's log files (logrotate). Without a listener, node opens its inspector
// on that signal; listen from the first moment, so that a rotation during start-up cannot.
process.on('SIGUSR1', () => {});
// The daemon (`stickyd run`, also plain `stickyd -c FILE`) reloads on SIGHUP; one that arrives while
// it is still loading, before it has read its file, has nothing to reload yet, and must not end
// it (node's default). Other commands keep the default, so a closed terminal still ends them.
const command = process.argv[2];
if (command === undefined || command === 'run' || command.startsWith('-')) process.on('SIGHUP', () => {});
// `healthcheck` (a container runs it every few seconds) loads only what it needs.
await import(process.argv[2] === 'healthcheck' ? '../dist/healthcheck-main.js' : '../dist/main.js');
