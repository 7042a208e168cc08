#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (built by `npm run build`, which `prepare` runs on install).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
