/** A DriveClient for the saved login (the `--server` given, else $KODER_SNAPSHOT_SERVER, else the last `login`). */
import { AuthSession } from '../auth/session.ts';
import { DriveClient } from './client.ts';

export async function connect(o: { server?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ session: AuthSession; client: DriveClient }> {
  const session = await AuthSession.load(o.server, { env: o.env });
  return { session, client: new DriveClient({ server: session.server, tokens: session }) };
}
