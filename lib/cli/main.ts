#!/usr/bin/env node
// The `wcow-resources` executable (package.json "bin").

import { run } from './program';

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Only a bug in the CLI itself reaches here: commands report their own failures.
    process.stderr.write(`error ERR_INTERNAL: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
