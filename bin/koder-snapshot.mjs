#!/usr/bin/env node
// Development entry: runs the TypeScript sources through tsx. The Debian
// package ships a bundled build instead (see scripts/ and issue "deb").
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
