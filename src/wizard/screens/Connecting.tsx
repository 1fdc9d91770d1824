/** Before the first state arrives from the daemon. */
import { Screen, Status } from '../components.tsx';
import { msgs } from '../i18n/index.ts';
import { connection } from '../state.ts';

export function Connecting() {
  const m = msgs.value;
  return (
    <Screen title={m.connecting_title}>
      <Status busy>{connection.value === 'lost' ? m.connection_lost : m.connecting}</Status>
    </Screen>
  );
}
