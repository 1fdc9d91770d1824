/**
 * The Backup app's API on the daemon (behind http.ts's guards, beside the
 * wizard's): every route of contract.ts's AppApi, each a thin handler that
 * parses, calls one function of the app's modules and answers JSON. The
 * table is typed by AppApi, so a route missing here, or answering another
 * shape, does not compile. Errors: the app's CodedErrors, the vault's
 * KeyErrors and the drive's DriveErrors, mapped in one place
 * (session.ts, appErrorStatus).
 */
import type { IncomingMessage } from 'node:http';
import { NotFoundError } from '../../server/errors.ts';
import { readJson, sendJson } from '../../server/http/respond.ts';
import type { DaemonSurface } from '../http.ts';
import { accountInfo, auditPage, cancelErasure, requestErasure } from './account.ts';
import type { AppApi, AppRoute, AppState } from './contract.ts';
import { overview } from './overview.ts';
import { configView, saveInclude, scheduleView, setSchedule } from './schedule-config.ts';
import { appErrorStatus, type AppSession } from './session.ts';
import { lookupUser, revokeShare, shareSnapshot, sharesOf } from './sharing.ts';
import { deletePlan, deleteSnapshot, listFiles, listSnapshots, snapshotCard, snapshotFull, startRestore } from './snapshots.ts';
import { changePassphrase, keysInfo, newRecoveryKey } from './vault-keys.ts';

interface Ctx<R extends AppRoute> {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  body: AppApi[R]['body'];
}
type Handler<R extends AppRoute> = (c: Ctx<R>) => Promise<AppApi[R]['answer']>;
type Table = { [R in AppRoute]: Handler<R> };

const ok = <T>(x: T) => Promise.resolve(x);

function handlers(s: AppSession): Table {
  return {
    'POST /api/app/sign-in': () => ok({ started: s.signIn() }),
    'POST /api/app/sign-in/cancel': () => ok({ canceled: s.cancelSignIn() }),
    'POST /api/app/sign-out': async () => ({ signedOut: await s.signOut() }),
    'POST /api/app/setup': ({ body }) => s.setup(body?.passphrase),
    'GET /api/app/overview': () => overview(s),
    'POST /api/app/backup': async () => ({ job: await s.startBackup() }),
    'POST /api/app/backup/cancel': async () => ({ canceled: await s.backup.cancel() }),
    'GET /api/app/schedule': async () => ({ schedule: await scheduleView(s), config: await configView(s) }),
    'POST /api/app/schedule': ({ body }) => setSchedule(s, body),
    'PUT /api/app/config': ({ body }) => saveInclude(s, body),
    'GET /api/app/snapshots': () => listSnapshots(s),
    'GET /api/snapshots/:id/details': ({ params }) => snapshotCard(s, params.id!),
    'GET /api/app/snapshots/:id': ({ params }) => snapshotFull(s, params.id!),
    'GET /api/app/snapshots/:id/files': ({ params, url }) => listFiles(s, params.id!, url.searchParams.get('path') ?? undefined),
    'GET /api/app/snapshots/:id/delete-plan': ({ params }) => deletePlan(s, params.id!),
    'DELETE /api/app/snapshots/:id': ({ params }) => deleteSnapshot(s, params.id!),
    'POST /api/app/restore': async ({ body }) => ({ job: await startRestore(s, body) }),
    'POST /api/app/restore/cancel': async () => ({ canceled: await s.restore.cancel() }),
    'GET /api/app/snapshots/:id/shares': ({ params }) => sharesOf(s, params.id!),
    'POST /api/app/snapshots/:id/shares': ({ params, body }) => shareSnapshot(s, params.id!, body?.user),
    'DELETE /api/app/snapshots/:id/shares/:user': ({ params }) => revokeShare(s, params.id!, params.user!),
    'GET /api/app/users/:name': ({ params }) => lookupUser(s, params.name!),
    'GET /api/app/keys': () => keysInfo(s),
    'POST /api/app/keys/passphrase': ({ body }) => changePassphrase(s, body),
    'POST /api/app/keys/recovery': ({ body }) => newRecoveryKey(s, body),
    'GET /api/app/account': () => accountInfo(s),
    'GET /api/app/audit': ({ url }) => auditPage(s, url.searchParams.get('before')),
    'POST /api/app/account/erase': () => requestErasure(s),
    'POST /api/app/account/erase/cancel': () => cancelErasure(s),
  };
}

/** `METHOD /a/:x/b` → a matcher of method and path, giving the decoded parameters. */
function compile(route: string): { method: string; match: (path: string) => Record<string, string> | undefined } {
  const [method, pattern] = route.split(' ') as [string, string];
  const names: string[] = [];
  const re = new RegExp(`^${pattern.replace(/:([a-z]+)/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
  return {
    method,
    match: (path) => {
      const m = re.exec(path);
      if (!m) return undefined;
      try {
        return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      } catch {
        return undefined;
      }
    },
  };
}

/** Transitions go out on the state stream at once; progress is coalesced (http.ts). */
export function appUrgentKey(st: AppState): string {
  return [st.revision, st.account.state, st.account.state === 'signing-in' ? st.account.login?.userCode ?? '' : '', st.keys.state, st.backup?.id ?? '', st.backup?.state ?? '', st.restore?.id ?? '', st.restore?.state ?? ''].join('|');
}

/** The app's surface for the daemon: its page, its state stream, its routes. */
export function appSurface(s: AppSession, appDir: string): DaemonSurface {
  const table = handlers(s);
  const routes = (Object.keys(table) as AppRoute[]).map((r) => ({ route: r, ...compile(r) }));
  return {
    pageDir: appDir,
    subscribe: (l) => s.subscribe(l),
    urgentKey: (state) => appUrgentKey(state as AppState),
    mapError: appErrorStatus,
    async route(req, res, url) {
      const method = req.method ?? 'GET';
      for (const r of routes) {
        if (r.method !== method) continue;
        const params = r.match(url.pathname);
        if (!params) continue;
        const body = method === 'POST' || method === 'PUT' ? await readJson(req, 64 * 1024) : undefined;
        const answer = await (table[r.route] as Handler<AppRoute>)({ req, url, params, body: body as never });
        return sendJson(res, r.route === 'POST /api/app/backup' || r.route === 'POST /api/app/restore' ? 202 : 200, answer);
      }
      throw new NotFoundError('route');
    },
  };
}
