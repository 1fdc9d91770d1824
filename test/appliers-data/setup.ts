/** Shared set-up of the data appliers' tests: a plain target root, contexts, archives. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplyContext, Progress } from '../../src/chroot-appliers/applier.ts';
import { resolveTarget, type Target } from '../../src/chroot-appliers/target.ts';
import type { Identity } from '../../src/keys/identity.ts';
import type { Manifest } from '../../src/manifest/types.ts';
import type { PlanStep, StepKind } from '../../src/restore-machine/plan.ts';
import { zstdCli } from '../chroot/tar-builder.ts';
import { BlobDir } from '../helpers/blob-dir.ts';
import { applyContext, type TestApplyContext } from '../helpers/apply-context.ts';

export const UID = 1000;
export const GID = 1000;

export interface Env {
  /** Scratch dir holding everything (removed by dispose). */
  base: string;
  /** The target root (a plain dir with etc/passwd and /home/ana). */
  root: string;
  target: Target;
  blobs: BlobDir;
  dispose(): Promise<void>;
}

/** A target root that is a plain temp dir: etc/passwd with ana (1000) and her home. */
export async function makeEnv(): Promise<Env> {
  const base = await mkdtemp(join(tmpdir(), 'koder-appliers-data-'));
  const root = join(base, 'root');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nana:x:1000:1000:Ana:/home/ana:/bin/bash\n',
  );
  await mkdir(join(root, 'home/ana'), { recursive: true, mode: 0o755 });
  await chown(join(root, 'home/ana'), UID, GID);
  const blobs = await BlobDir.create(join(base, 'blobs'));
  const target = await resolveTarget(root, 'ana');
  return { base, root, target, blobs, dispose: () => rm(base, { recursive: true, force: true }) };
}

export function baseManifest(): Manifest {
  return {
    snapshot: { version: 1, hostname: 'old-laptop', created_at: '2025-01-01T00:00:00Z', koder_user_id: 'u-1' },
  };
}

export type Ctx = TestApplyContext;

/** An ApplyContext on this env's target and blobs (every category chosen). */
export function makeCtx(env: Env, manifest: Manifest, identity?: Identity): Ctx {
  return applyContext({ target: env.target, manifest, blobs: env.blobs, ...(identity ? { identity } : {}) });
}

/** The plan step of `kind` (and `key`) for the context's manifest. */
export function stepOf(ctx: ApplyContext, kind: StepKind, key?: string): PlanStep {
  const s = ctx.plan.steps.find((p) => p.kind === kind && (key === undefined || p.key === key));
  if (!s) throw new Error(`no ${kind} step ${key ?? ''} in the plan`);
  return s;
}

/** A progress callback that records every call. */
export function recorder(): Progress & { calls: Array<{ bytes: number; items: number }> } {
  const calls: Array<{ bytes: number; items: number }> = [];
  const f = ((d: { bytes: number; items: number }) => {
    calls.push({ ...d });
  }) as Progress & { calls: typeof calls };
  f.calls = calls;
  return f;
}

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr)}`);
  return String(r.stdout);
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What capture does for a files entry: `tar --format=posix -C DIR -cf - . | zstd`. */
export function captureFolder(dir: string): { tar: Buffer; zst: Buffer } {
  const r = spawnSync('tar', ['--format=posix', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
  return { tar: r.stdout, zst: zstdCli(r.stdout) };
}
