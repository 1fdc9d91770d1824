/**
 * A young-generation GC on demand (and a full one, rarely), for worker threads whose garbage is
 * mostly node:crypto's output buffers: V8 counts them as external memory
 * and, in a thread that allocates little else, collects them only after
 * ≈ 64 MiB have piled up. `gc` is V8's own (--expose-gc, switched on here
 * for contexts made from now on: the flag only decides whether a new
 * context gets the function); a minor GC of such a heap takes ≈ 0.1–0.3 ms.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (o?: { type?: 'minor' | 'major' }) => void;
let gc: Gc | undefined;

function v8Gc(): Gc {
  if (!gc) {
    gc = (globalThis as { gc?: Gc }).gc;
    if (!gc) {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    }
  }
  return gc;
}

export function youngGc(): void {
  v8Gc()({ type: 'minor' });
}

/** A full GC: once, after a phase that left much garbage in the old generation (a restore's planning). */
export function fullGc(): void {
  v8Gc()({ type: 'major' });
}

/** Calls youngGc() once every `bytes` reported through the returned function. */
export function gcEvery(bytes: number): (n: number) => void {
  let since = 0;
  return (n) => {
    since += n;
    if (since < bytes) return;
    since = 0;
    youngGc();
  };
}
