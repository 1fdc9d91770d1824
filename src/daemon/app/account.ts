/**
 * The app's Account screen: who, how much storage, the audit log (what was
 * created, read, shared, from which address, when; newest first, a page at
 * a time), and the account's erasure: asked for, it happens after the
 * server's grace (24 h), which the page counts down and can cancel.
 */
import type { AccountInfo, AuditPage } from './contract.ts';
import type { AppSession } from './session.ts';
import { CodedError } from '../../util/coded-error.ts';

const PAGE = 50;

export async function accountInfo(s: AppSession): Promise<AccountInfo> {
  const me = await (await s.client()).me();
  return { id: me.id, name: me.name, createdAt: me.created_at, usage: me.usage, eraseAfter: me.erase_after };
}

export async function auditPage(s: AppSession, before: string | null): Promise<AuditPage> {
  const b = before === null || before === '' ? undefined : Number(before);
  if (b !== undefined && !Number.isSafeInteger(b)) throw new CodedError('app_bad_request', 'before: a sequence number');
  const entries = await (await s.client()).audit({ limit: PAGE, ...(b !== undefined ? { before: b } : {}) });
  const page: AuditPage = { entries: entries.map((e) => ({ seq: e.seq, action: e.action, object: e.object, otherUser: e.other_user_id, at: e.at, ip: e.ip })) };
  if (entries.length === PAGE) page.next = entries[entries.length - 1]!.seq;
  return page;
}

export async function requestErasure(s: AppSession): Promise<{ eraseAfter: number }> {
  const r = await (await s.client()).requestErasure();
  await s.refreshAccount();
  return { eraseAfter: r.erase_after };
}

export async function cancelErasure(s: AppSession): Promise<{ canceled: boolean }> {
  const canceled = await (await s.client()).cancelErasure();
  await s.refreshAccount();
  return { canceled };
}
