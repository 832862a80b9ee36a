/**
 * What the log modules do when the process exits, in order: first every batcher hands over what
 * it holds, then every sink writes out its queue synchronously (nothing asynchronous runs after
 * 'exit'). One 'exit' listener runs both phases, so the order does not depend on which module
 * happened to be loaded first.
 */
const handOvers: Array<() => void> = [];
const writeOuts: Array<() => void> = [];
let hooked = false;
let exiting = false;

/** The process is exiting: start no asynchronous work. */
export function processExiting(): boolean {
  return exiting;
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    exiting = true;
    for (const f of handOvers) f();
    for (const f of writeOuts) f();
  });
}

/** Run `fn` at exit, before the sinks write out. */
export function atExitHandOver(fn: () => void): void {
  hook();
  handOvers.push(fn);
}

/** Run `fn` at exit, after every batcher handed over. */
export function atExitWriteOut(fn: () => void): void {
  hook();
  writeOuts.push(fn);
}
