// Process entry point of the `stickyd` command (bin/stickyd.js loads the compiled copy).
import { main } from './cli.js';

main(process.argv.slice(2)).catch(
  (err: unknown) => {
    console.error(`stickyd: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
