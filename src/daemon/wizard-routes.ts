/**
 * The installer wizard's API on the daemon (behind http.ts's guards): its
 * state stream is the RestoreSession's UiState, keyed by phase; the routes
 * are the wizard's events, the snapshot details, and the installer's own
 * (status, apply with JSON-lines progress, defaults).
 *
 *   GET  /api/status                   { phase, confirmed, mode }
 *   POST /api/events                   a UiEvent
 *   POST /api/apply                    { root, user } → JSON lines: progress…, then report | error | skipped
 *   POST /api/defaults                 { hostname } (the installer page's own)
 *   GET  /api/snapshots/<id>/details   SnapshotDetails (verified chain, folded)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestError, NotFoundError } from '../server/errors.ts';
import { readJson, sendJson } from '../server/http/respond.ts';
import { isHostname } from '../manifest/index.ts';
import type { DaemonSurface } from './http.ts';
import type { RestoreSession } from './restore-session.ts';
import type { UiEvent, UiState } from './ui-state.ts';

const EVENT_TYPES = new Set(['START', 'START_EXPORT', 'SKIP', 'NEW_CODE', 'CHOOSE', 'BACK', 'RETRY', 'CONFIRM', 'RETRY_FAILED']);

export function wizardSurface(session: RestoreSession, wizardDir: string): DaemonSurface {
  const applyRoute = async (req: IncomingMessage, res: ServerResponse) => {
    const body = (await readJson(req, 16 * 1024)) as { root?: unknown; user?: unknown };
    if (typeof body?.root !== 'string' || typeof body.user !== 'string') throw new BadRequestError('invalid_apply', 'body must be { "root": "/target", "user": "name" }');
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
    const line = (x: unknown) => res.write(JSON.stringify(x) + '\n');
    const phase = session.ui().phase;
    if (phase === 'skipped' || phase === 'welcome') {
      line({ type: 'skipped', message: phase === 'skipped' ? 'the person chose to skip the restore' : 'no restore was chosen' });
      res.end();
      return;
    }
    let last = '';
    const unsubscribe = session.subscribe((ui) => {
      if (!ui.progress) return;
      const p = ui.progress;
      const msg = JSON.stringify({
        type: 'progress', phase: ui.phase, current: p.current, label: ui.plan?.steps.find((s) => s.id === p.current)?.label,
        stepPhase: p.phase, detail: p.detail, fraction: Math.round(p.fraction * 1e4) / 1e4, etaSeconds: p.etaSeconds,
        doneBytes: p.doneBytes, totalBytes: p.totalBytes, doneItems: p.doneItems, totalItems: p.totalItems,
      });
      if (msg !== last) res.write((last = msg) + '\n');
    });
    try {
      const report = await session.applyTo({ root: body.root, user: body.user });
      line({ type: 'report', report });
    } catch (e) {
      line({ type: 'error', code: (e as { code?: string }).code ?? 'ERROR', message: (e as Error).message });
    } finally {
      unsubscribe();
      res.end();
    }
  };

  return {
    pageDir: wizardDir,
    subscribe: (l) => session.subscribe(l),
    urgentKey: (state) => (state as UiState).phase,
    async route(req, res, url) {
      const method = req.method ?? 'GET';
      const route = `${method} ${url.pathname}`;
      if (route === 'GET /api/status') {
        const ui = session.ui();
        return sendJson(res, 200, { phase: ui.phase, confirmed: ui.confirmed ?? false, mode: ui.mode });
      }
      if (route === 'POST /api/events') {
        const e = (await readJson(req, 64 * 1024)) as UiEvent;
        if (!e || typeof e !== 'object' || !EVENT_TYPES.has((e as { type?: string }).type ?? '')) throw new BadRequestError('invalid_event', 'unknown event');
        session.send(e);
        return sendJson(res, 202, { accepted: e.type });
      }
      if (route === 'POST /api/apply') return applyRoute(req, res);
      if (route === 'POST /api/defaults') {
        // The installer page: the hostname the person gave on the installer's users page (GlobalStorage), offered as the default.
        const body = (await readJson(req, 4 * 1024)) as { hostname?: unknown };
        if (typeof body?.hostname !== 'string' || !isHostname(body.hostname)) throw new BadRequestError('invalid_defaults', 'body must be { "hostname": an RFC 1123 hostname }');
        session.setDefaults({ hostname: body.hostname });
        return sendJson(res, 202, { defaults: session.ui().defaults });
      }
      const details = /^\/api\/snapshots\/([0-9a-f]{64})\/details$/.exec(url.pathname);
      if (method === 'GET' && details) return sendJson(res, 200, await session.details(details[1]!));
      throw new NotFoundError('route');
    },
  };
}
