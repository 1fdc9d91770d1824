/** The drive client against a real server (client.suite.ts), on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { driveClientSuite } from './client.suite.ts';

driveClientSuite(() => sqliteBackend);
