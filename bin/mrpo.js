#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (built by `npm run build`, which `prepare` runs on install).
// `mrpo serve` runs in a child process with V8 flags that make it faster (src/cli/node-flags.ts).
import { relaunchWithNodeFlags } from '../dist/cli/node-flags.js';

const argv = process.argv.slice(2);
const relaunched = await relaunchWithNodeFlags(argv);
if (relaunched !== null) process.exitCode = relaunched;
else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(argv);
}
