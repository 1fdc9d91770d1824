/** POST /v1/me/packs/rewrite (pack-rewrite.suite.ts) on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { packRewriteSuite } from './pack-rewrite.suite.ts';

packRewriteSuite(() => sqliteBackend);
