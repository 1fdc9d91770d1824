/** Quotas (quota.suite.ts) on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { quotaSuite } from './quota.suite.ts';

quotaSuite(() => sqliteBackend);
