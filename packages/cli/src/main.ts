#!/usr/bin/env node
import { run } from './cli.js';
import { CliError } from './http.js';

// Output piped into `head` closes early; that is not an error worth a message.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  // Every failure is one line on stderr: the person needs the reason, not a stack trace.
  (error: unknown) => {
    const known = error instanceof CliError;
    const message = known ? error.message : `unexpected error: ${(error as Error)?.message ?? error}`;
    process.stderr.write(`cinemaabyss: ${message.replace(/\s+/g, ' ')}\n`);
    process.exitCode = known ? error.exitCode : 1;
  },
);
