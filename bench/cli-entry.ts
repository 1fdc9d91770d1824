// The CLI's entry as the .deb bundles it (scripts/deb.ts), for bench/child-bundle.ts.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
