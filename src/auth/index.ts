/** Koder ID login for clients (see README.md). */
export { AuthError, type AuthErrorCode } from './errors.ts';
export { checkServerUrl, isLoopbackHost, serverKey } from './secure-url.ts';
export { startDeviceLogin, type DeviceLogin, type DeviceLoginOptions, type LoginOutcome } from './device-flow.ts';
export { AuthSession, type SessionOptions } from './session.ts';
export { qrSvg, qrTerminal } from '../util/qr.ts';
export { saveTokens, loadTokens, deleteTokens, tokenPath, configDir, loadConfig, saveConfig, type StoredTokens, type ClientConfig } from './token-store.ts';
export { DEFAULT_CLIENT_ID, DEFAULT_SCOPE } from './oidc-config.ts';
