/** The /v1 API (api.suite.ts) on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { apiSuite } from './api.suite.ts';

apiSuite(() => sqliteBackend);
