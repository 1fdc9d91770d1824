/** The server under seeded malformed requests (fuzz.suite.ts), on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { fuzzSuite } from './fuzz.suite.ts';

fuzzSuite(() => sqliteBackend);
