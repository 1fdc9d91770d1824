/** Uploads that go wrong (uploads.suite.ts) on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { uploadsSuite } from './uploads.suite.ts';

uploadsSuite(() => sqliteBackend);
