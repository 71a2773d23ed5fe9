/**
 * Driving async socket calls on virtual time. A blocked call is a pending Promise whose
 * continuation runs as a microtask, while the network only moves when the test steps the
 * clock; `drive()` alternates the two: let every microtask run, then run one timer/frame
 * event, until the promise settles. Nothing here touches real time except setImmediate,
 * used only to flush microtasks.
 */
export interface Steppable {
  step(): boolean;
}

/** Run every queued microtask (and the continuations they queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Step `net` until `p` settles; resolve or reject with it. Fails after `maxSteps`, or when
 * nothing is left to run while `p` is still pending (a deadlock in the code under test).
 */
export async function drive<T>(net: Steppable, p: Promise<T>, maxSteps = 200_000): Promise<T> {
  const r: { state: 'pending' | 'ok' | 'err'; value?: T; error?: unknown } = { state: 'pending' };
  p.then(
    (v) => {
      r.state = 'ok';
      r.value = v;
    },
    (e: unknown) => {
      r.state = 'err';
      r.error = e;
    },
  );
  for (let i = 0; ; i++) {
    await settle();
    if (r.state === 'ok') return r.value as T;
    if (r.state === 'err') throw r.error;
    if (i >= maxSteps) throw new Error(`drive: still pending after ${maxSteps} steps`);
    if (!net.step()) {
      await settle();
      if (r.state === 'pending') throw new Error('drive: nothing left to run and the call is still blocked');
    }
  }
}

/** Step until pred() holds (flushing microtasks between steps). */
export async function driveUntil(net: Steppable, pred: () => boolean, maxSteps = 200_000): Promise<void> {
  for (let i = 0; ; i++) {
    await settle();
    if (pred()) return;
    if (i >= maxSteps || !net.step()) throw new Error('driveUntil: condition never became true');
  }
}

/** Whether `p` is still pending after microtasks ran (without moving time). */
export async function isPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return !done;
}

/** The errno code a promise rejects with (fails the test if it resolves). */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** The errno code a synchronous call throws. */
export function errnoOfSync(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  throw new Error('expected the call to fail, it succeeded');
}
