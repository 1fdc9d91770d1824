/**
 * Pieces both pages use (the installer wizard and the Backup app): the
 * screen frame, icons, callouts, spinners and status lines, sizes, the
 * daemon's error text, the language switch, and the device-flow sign-in code
 * (QR, code, address, a countdown exact to the second).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LANG_LIST, LANG_NAMES, lang, uiMsgs, type Lang } from './i18n/index.ts';
import { formatBytes, formatClock } from './format.ts';
import { aboutMinutes } from '../daemon/eta.ts';
import type { UiMessages } from './i18n/en.ts';

/**
 * A screen: its heading (focused on arrival), a body, and the action bar.
 * The wizard's bodies fit; the app's may scroll (`scrolls`): then the body is
 * a region named by the heading that the keyboard can reach and scroll.
 */
export function Screen(props: { title: string; children?: ComponentChildren; actions?: ComponentChildren; class?: string; scrolls?: boolean }) {
  return (
    <>
      <h1 id="screen-title" tabIndex={-1}>
        {props.title}
      </h1>
      {props.scrolls ? (
        <div class={`content ${props.class ?? ''}`} tabIndex={0} role="region" aria-labelledby="screen-title">
          {props.children}
        </div>
      ) : (
        <div class={`content ${props.class ?? ''}`}>{props.children}</div>
      )}
      {props.actions ? <div class="actions">{props.actions}</div> : null}
    </>
  );
}

const ICON_PATHS = {
  ok: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1.6 14.6-4.2-4.2 1.4-1.4 2.8 2.8 6.4-6.4 1.4 1.4z',
  warn: 'M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z',
  bad: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2zm0-4h-2V7h2z',
  shield: 'M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5zm3.5 13.09-1.41 1.41L12 13.41 9.91 15.5 8.5 14.09 10.59 12 8.5 9.91 9.91 8.5 12 10.59l2.09-2.09 1.41 1.41L13.41 12z',
  folder: 'M10 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-8z',
  file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z',
  link: 'M3.9 12a3.1 3.1 0 0 1 3.1-3.1h4V7H7a5 5 0 0 0 0 10h4v-1.9H7A3.1 3.1 0 0 1 3.9 12zM8 13h8v-2H8zm9-6h-4v1.9h4a3.1 3.1 0 0 1 0 6.2h-4V17h4a5 5 0 0 0 0-10z',
} as const;
export type IconKind = keyof typeof ICON_PATHS;

export function Icon(props: { kind: IconKind; class?: string }) {
  return (
    <svg class={`icon ${props.class ?? ''}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={ICON_PATHS[props.kind]} fill="currentColor" />
    </svg>
  );
}

/** A coloured message with an icon (the colour is never the only signal: the words say it). */
export function Callout(props: { tone: 'ok' | 'warn' | 'bad'; icon?: IconKind; children: ComponentChildren; id?: string; role?: 'status' | 'alert' }) {
  return (
    <p class={`callout ${props.tone}`} id={props.id} role={props.role}>
      <Icon kind={props.icon ?? props.tone} />
      <span>{props.children}</span>
    </p>
  );
}

export function Spinner() {
  return <span class="spinner" aria-hidden="true" />;
}

/** A line that screen readers announce when it changes. */
export function Status(props: { children: ComponentChildren; busy?: boolean; class?: string }) {
  return (
    <p class={`status ${props.class ?? ''}`} role="status" aria-live="polite">
      {props.busy ? <Spinner /> : null}
      {props.children}
    </p>
  );
}

/** The daemon's own error text (not translated: it is data). */
export function ErrorDetail(props: { error?: { message?: string } | undefined }) {
  const m = uiMsgs.value;
  if (!props.error?.message) return null;
  return (
    <div class="error-detail">
      <p class="error-detail-label">{m.error_detail}</p>
      <p class="error-detail-text" translate={false}>
        {props.error.message}
      </p>
    </div>
  );
}

/** A path, wrapped after its slashes when it must wrap (not inside a name). */
export function PathText(props: { path: string }) {
  const parts = props.path.split('/');
  return <>{parts.map((p, i) => (i < parts.length - 1 ? [p, '/', <wbr key={i} />] : p))}</>;
}

export function Size(props: { bytes: number }) {
  return (
    <span class="size" translate={false}>
      {formatBytes(props.bytes, lang.value)}
    </span>
  );
}

/** The language buttons of the header; `onPick` applies the choice (each page sets its own title). */
export function LangSwitch(props: { onPick: (l: Lang) => void }) {
  const m = uiMsgs.value;
  const current = lang.value;
  return (
    <div class="langs" role="group" aria-label={m.language_label}>
      {LANG_LIST.map((l) => (
        <button key={l} type="button" class="lang" lang={l} aria-pressed={current === l} onClick={() => props.onPick(l)} translate={false}>
          {LANG_NAMES[l]}
        </button>
      ))}
    </div>
  );
}

/**
 * Whole seconds until `until` (epoch ms), rounded up as a countdown reads
 * (10:00 for the first second of a 10-minute code, 0:01 for its last), read
 * from the clock at each render and re-rendered right when it changes — not
 * from a once-a-second tick, which may be up to a second old and would show
 * one second too many (10:01) or still 0:01 after the code expired.
 */
export function useSecondsLeft(until: number): number {
  const [, rerender] = useState(0);
  const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => rerender((x) => x + 1), Math.max(0, until - Date.now() - (left - 1) * 1000) + 1);
    return () => clearTimeout(t);
  });
  return left;
}

/** "The code expires in 9:12", exact to the second; "This code has expired." once it has. */
export function Countdown({ until }: { until: number }) {
  const m = uiMsgs.value;
  const left = useSecondsLeft(until);
  return <p class={`timer ${left <= 60 ? 'timer-low' : ''}`}>{left > 0 ? m.login_time_left(formatClock(left)) : m.login_time_over}</p>;
}

export interface DeviceCodeView {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  expiresAt: number;
  qrSvg: string;
}

/**
 * A device-flow sign-in code (RFC 8628): the QR code of the complete link,
 * the address and the code to type, the time left, "waiting for you".
 * `children` go after the code (the app's "open on this computer").
 */
export function DeviceCode(props: { login: DeviceCodeView; children?: ComponentChildren }) {
  const m = uiMsgs.value;
  const { login } = props;
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(login.qrSvg)}`;
  return (
    <>
      <div class="qr-box">
        <img class="qr" src={qr} alt={m.login_qr_alt} width={220} height={220} />
      </div>
      <div class="login-text">
        <p>{m.login_scan}</p>
        <p>
          {m.login_or_open}
          <br />
          <span class="url" translate={false}>
            {login.verificationUri}
          </span>
        </p>
        <p>{m.login_enter_code}</p>
        <p class="user-code" translate={false}>
          {login.userCode}
        </p>
        <Countdown until={login.expiresAt} />
        {props.children}
        <Status busy>{m.login_waiting}</Status>
      </div>
    </>
  );
}

/** Seconds left now: the daemon's estimate made at `etaAt`, counted down since (never below zero). */
export function etaSeconds(p: { etaSeconds?: number; etaAt?: number }, at: number): number | undefined {
  if (p.etaSeconds === undefined) return undefined;
  return Math.max(0, p.etaSeconds - (p.etaAt ? Math.max(0, at - p.etaAt) / 1000 : 0));
}

/** "About 3 minutes left", "Less than a minute left", "About 1 h 25 min left". */
export function etaText(m: UiMessages, seconds: number): string {
  const mins = aboutMinutes(seconds);
  return mins === 0 ? m.eta_under_minute : mins < 60 ? m.eta_minutes(mins) : m.eta_hours(Math.floor(mins / 60), mins % 60);
}

export type AnyStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';
const STATUS_ICONS: Record<AnyStatus, string> = { pending: '○', running: '◐', done: '✓', skipped: '–', failed: '✕' };

export function statusText(m: UiMessages, s: AnyStatus): string {
  return { pending: m.status_pending, running: m.status_running, done: m.status_done, skipped: m.status_skipped, failed: m.status_failed }[s];
}

/** A status badge: the colour is never the only signal (a symbol and the word say it). */
export function Badge(props: { status: AnyStatus }) {
  return (
    <span class={`badge badge-${props.status}`}>
      <span aria-hidden="true">{STATUS_ICONS[props.status]}</span> {statusText(uiMsgs.value, props.status)}
    </span>
  );
}
