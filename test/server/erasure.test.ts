/** Erasure of an account (erasure.suite.ts) on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { erasureSuite } from './erasure.suite.ts';

erasureSuite(() => sqliteBackend);
