/** The reference Koder ID + Drive server (see README.md). */
export { startServer, DEFAULT_PORT, type ServerOptions, type RunningServer } from './app.ts';
export { ManualClock, systemClock, type Clock } from './clock.ts';
export { addUser, listUsers, findUserByName, type User } from './users.ts';
export { openDb, type Db } from './db/open.ts';
export { CLIENT_ID, API_SCOPE } from './oidc/provider.ts';
