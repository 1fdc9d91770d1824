/**
 * The secrets applier ('secrets.restore'): every `[secrets.NAME]` of the
 * manifest opened with the person's identity and written into the target.
 *
 * - Locked (no `ctx.identity`: neither passphrase nor recovery key given):
 *   nothing is written; status 'skipped', details = the secret names.
 * - Each value is opened (`openSealed`, libsodium crypto_box_seal_open) in
 *   memory only. The plaintext is written nowhere but the file it belongs
 *   in: for `type = "file"` a temp name in the destination folder, opened
 *   O_CREAT|O_EXCL|O_NOFOLLOW *with the secret's mode* (the umask can only
 *   take bits away; an fchmod on the still-private fd puts them back — it
 *   never widens beyond the mode), fchown'd to the owner before any byte is
 *   written, fsync'd, then renamed over the final name (atomic). The buffer
 *   is zeroed afterwards. An identical file already there is left as it is
 *   (owner and mode corrected), so a second run writes no plaintext at all.
 * - `type = "tar"`: the plaintext is an (uncompressed) tar of a folder such
 *   as `~/.gnupg`, entries relative to the folder (`tar -C ~/.gnupg -cf - .`).
 *   It is extracted with tar-extract.ts (absolute names, `..`, devices,
 *   FIFOs, setuid/setgid, symlinks out of the folder are refused) into a
 *   staging dir on the destination's filesystem (commit-staging.ts: inside a
 *   root-only 0700 folder), modes as in the tar but never group/world-
 *   writable, then committed (renamed) into the folder. The folder itself gets
 *   the secret's `mode` (e.g. 0700). A folder that already holds exactly the
 *   tar's content is left alone.
 * - Owner: the target user for paths in their home (`~/…`, the usual case);
 *   root for a path outside it (e.g. /etc/NetworkManager/system-connections/…,
 *   which NetworkManager only reads when root-owned). Missing parent folders
 *   (`~/.ssh`) are created 0700 with the same owner.
 * - A file already there with other content is kept as `NAME.pre-restore`.
 * - A secret that cannot be opened (sealed to another key, or altered: the
 *   Poly1305 tag fails) or written is a failed item; the others go on. The
 *   step is 'failed' when any item failed, with one detail line per item.
 *   Plaintext never appears in a message.
 */
import { constants as fsc } from 'node:fs';
import { chmod, lchown, lstat, open, readdir, readlink, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fromB64 } from '../keys/b64.ts';
import type { SealingKeyPair } from '../keys/identity.ts';
import { openSealed } from '../keys/seal.ts';
import type { SecretEntry } from '../manifest/types.ts';
import type { PlanStep } from '../restore-machine/plan.ts';
import type { ApplyContext, Progress, StepApplier, StepOutcome } from './applier.ts';
import { commitStaging, removeStaging, stagingDirFor } from './commit-staging.ts';
import { placeAside } from './pre-restore.ts';
import { ensureDirInRoot, isInside, resolveInRoot } from './safe-path.ts';
import { extractTar, safeComponents } from './tar-extract.ts';
import { readTar } from './tar-reader.ts';
import { targetPath, type Target } from './target.ts';
import { errMessage, fsyncDir, lstatOrUndefined } from '../util/fs.ts';
import { CodedError } from '../util/coded-error.ts';

export const SECRETS_LOCKED_MESSAGE = 'secrets locked: no passphrase or recovery key given';

/** One secret cannot be restored (code `secret_unusable`): reported, the others go on. */
class SecretFailure extends CodedError {
  override name = 'SecretFailure';
  constructor(message: string) {
    super('secret_unusable', message);
  }
}


/** `"0600"` → 0o600 (permission bits only: no setuid/setgid/sticky). */
export function parseSecretMode(mode: string): number {
  if (!/^0?[0-7]{3}$/.test(mode)) throw new SecretFailure(`bad mode ${JSON.stringify(mode)}`);
  return parseInt(mode, 8) & 0o777;
}

/** Who owns a secret at `dest` (a path inside the target): the user in their home, root elsewhere. */
export function secretOwner(target: Target, dest: string): { uid: number; gid: number } {
  return isInside(target.home, dest) ? { uid: target.uid, gid: target.gid } : { uid: 0, gid: 0 };
}

async function sameBytes(path: string, plain: Uint8Array): Promise<boolean> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    if ((await fh.stat()).size !== plain.length) return false;
    const b = await fh.readFile();
    try {
      return b.equals(plain);
    } finally {
      b.fill(0);
    }
  } finally {
    await fh.close();
  }
}

/** Writes one secret file (see the file header). Returns detail lines. */
async function writeSecretFile(root: string, dest: string, plain: Uint8Array, mode: number, owner: { uid: number; gid: number }): Promise<string[]> {
  const { dir } = await ensureDirInRoot(root, dirname(dest), { mode: 0o700, ...owner });
  const name = basename(dest);
  const finalPath = join(dir, name);
  const existing = await lstatOrUndefined(finalPath);
  if (existing?.isFile() && (await sameBytes(finalPath, plain))) {
    if (existing.uid !== owner.uid || existing.gid !== owner.gid) await lchown(finalPath, owner.uid, owner.gid);
    if ((existing.mode & 0o7777) !== mode) await chmod(finalPath, mode);
    return [];
  }
  // A fixed temp name: a leftover from an interrupted run is removed here.
  const tmp = join(dir, `.${name}.koder-restore-tmp`);
  await rm(tmp, { force: true });
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, mode);
  try {
    try {
      await fh.chown(owner.uid, owner.gid);
      await fh.chmod(mode); // only restores bits the umask removed
      let off = 0;
      while (off < plain.length) off += (await fh.write(plain, off, plain.length - off)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
    const details: string[] = [];
    if (existing) {
      // A file keeps its name until the rename below: no moment without it.
      const keep = await placeAside(finalPath, { keepName: true });
      details.push(`kept ${'/' + relative(root, keep)} (was different)`);
    }
    await rename(tmp, finalPath);
    await fsyncDir(dir);
    return details;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** True when the folder already holds every entry of the tar with the same content. */
async function tarAlreadyThere(plain: Uint8Array, dirHost: string): Promise<boolean> {
  if (!(await lstatOrUndefined(dirHost))?.isDirectory()) return false;
  try {
    for await (const { header: h, body } of readTar((async function* () {
      yield plain;
    })())) {
      const parts = safeComponents(h.name);
      const p = parts.length ? join(dirHost, ...parts) : dirHost;
      const st = await lstatOrUndefined(p);
      if (!st) return false;
      if (h.type === 'directory') {
        if (!st.isDirectory()) return false;
      } else if (h.type === 'symlink') {
        if (!st.isSymbolicLink() || (await readlink(p)) !== h.linkname) return false;
      } else if (h.type === 'file') {
        if (!st.isFile() || st.size !== h.size) return false;
        const chunks: Buffer[] = [];
        for await (const c of body()) chunks.push(c);
        const want = Buffer.concat(chunks);
        const same = await sameBytes(p, want);
        want.fill(0);
        if (!same) return false;
      } else return false;
    }
    return true;
  } catch {
    return false; // unreadable or unsafe: extraction reports it
  }
}

/** Removes group/world write from everything below `dir` (no symlink followed). */
async function dropGroupWorldWrite(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) continue;
    const st = await lstat(p);
    if (st.mode & 0o022) await chmod(p, st.mode & 0o7755);
    if (e.isDirectory()) await dropGroupWorldWrite(p);
  }
}

/** Restores a folder secret (`type = "tar"`). Returns detail lines. */
async function writeSecretTar(root: string, dest: string, key: string, plain: Uint8Array, mode: number, owner: { uid: number; gid: number }): Promise<string[]> {
  const { dir: parent } = await ensureDirInRoot(root, dirname(dest), { mode: 0o700, ...owner });
  const dirHost = join(parent, basename(dest));
  const fixFolder = async () => {
    const st = await lstat(dirHost);
    if (st.uid !== owner.uid || st.gid !== owner.gid) await lchown(dirHost, owner.uid, owner.gid);
    if ((st.mode & 0o7777) !== mode) await chmod(dirHost, mode);
  };
  if (await tarAlreadyThere(plain, dirHost)) {
    await fixFolder();
    return [];
  }
  const staging = await stagingDirFor(root, dest, key);
  try {
    await extractTar(
      (async function* () {
        yield plain;
      })(),
      { stagingDir: staging, ...owner },
    );
    await dropGroupWorldWrite(staging);
    await ensureDirInRoot(root, dest, { mode, ...owner });
    await fixFolder();
    const r = await commitStaging({ targetRoot: root, dest, stagingDir: staging, ...owner });
    return r.preRestored.map((p) => `kept ${p} (was different)`);
  } finally {
    await removeStaging(staging);
  }
}

async function restoreSecret(name: string, s: SecretEntry, target: Target, keys: SealingKeyPair): Promise<string[]> {
  const mode = parseSecretMode(s.mode);
  const sealed = fromB64(s.sealed);
  if (!sealed) throw new SecretFailure('the sealed value is not base64');
  let plain: Uint8Array;
  try {
    plain = await openSealed(sealed, keys);
  } catch {
    throw new SecretFailure('cannot be opened: it was sealed to another key, or it was altered');
  }
  try {
    const dest = targetPath(target, s.path);
    await resolveInRoot(target.root, dest, { followFinal: false }); // refuses a path escaping the root early
    const owner = secretOwner(target, dest);
    if ((s.type ?? 'file') === 'tar') return await writeSecretTar(target.root, dest, `secret-${name}`, plain, mode, owner);
    return await writeSecretFile(target.root, dest, plain, mode, owner);
  } finally {
    plain.fill(0);
  }
}

export const applySecrets: StepApplier = async (_step: PlanStep, ctx: ApplyContext, progress: Progress): Promise<StepOutcome> => {
  const secrets = Object.entries(ctx.manifest.secrets ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const names = secrets.map(([n]) => n);
  if (!ctx.identity) return { status: 'skipped', message: SECRETS_LOCKED_MESSAGE, details: names };
  const details: string[] = [];
  let failed = 0;
  let done = 0;
  for (const [name, s] of secrets) {
    try {
      for (const d of await restoreSecret(name, s, ctx.target, ctx.identity.sealing)) details.push(`${name}: ${d}`);
    } catch (e) {
      failed += 1;
      details.push(`${name}: ${errMessage(e)}`);
    }
    done += 1;
    progress({ bytes: 0, items: done });
  }
  ctx.log(`secrets: ${secrets.length - failed} of ${secrets.length} restored`);
  return {
    status: failed ? 'failed' : 'done',
    message: failed ? `${failed} of ${secrets.length} secrets could not be restored` : `${secrets.length} secrets restored`,
    ...(details.length ? { details } : {}),
  };
};
