/**
 * The two ways a repos step ends early (repos.ts): a RepoFailure is this
 * repository's failure, reported as the step's message while the restore goes
 * on; a Rethrow carries an error that must leave the applier (a bundle blob
 * the BlobSource refused: a verification failure stops the restore).
 */
import { CodedError } from '../util/coded-error.ts';

/** A reason to fail this repo, with a message for the person (code `repo_failed`). */
export class RepoFailure extends CodedError {
  override name = 'RepoFailure';
  constructor(message: string) {
    super('repo_failed', message);
  }
}

/** An error that must leave the applier (a verification failure). */
export class Rethrow {
  constructor(readonly error: unknown) {}
}
