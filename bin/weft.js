#!/usr/bin/env -S node --max-semi-space-size=64
// Thin launcher: run the TypeScript CLI through tsx so there is no build output to keep in sync.
import { register } from 'tsx/esm/api';
register();
const { runAsProgram } = await import('../src/cli/main.ts');
runAsProgram(process.argv.slice(2));
