/** A big blob upload keeps memory flat (upload-memory.suite.ts), on the embedded backend: SQLite + files. */
import { sqliteBackend } from '../helpers/backends.ts';
import { uploadMemorySuite } from './upload-memory.suite.ts';

uploadMemorySuite(() => sqliteBackend);
