/**
 * One place that knows how to stop this process: what was started (in order), what work
 * is in flight, and what the signals mean. The first SIGINT/SIGTERM aborts `stopping` and
 * runs the orderly shutdown (cancel syncs, drain the worker, stop embedded services); a
 * second one, or the deadline, runs only the synchronous emergency steps and exits.
 */
import { logger } from '../core/log.js';

const log = logger({ component: 'lifecycle' });

interface Step {
  name: string;
  /** Orderly stop. */
  stop: () => Promise<void>;
  /** Synchronous last resort (second signal, deadline, exit): kill a child, remove a file. */
  kill?: () => void;
}

const steps: Step[] = [];
const beforeStop: (() => Promise<void>)[] = [];
const controller = new AbortController();
let signalName: NodeJS.Signals | null = null;
let shuttingDown: Promise<void> | null = null;
let exitCodeOnSignal: (sig: NodeJS.Signals) => number = (sig) => (sig === 'SIGINT' ? 130 : 143);

/** Aborted when a signal asks the process to stop; long waits race against it. */
export const stopping: AbortSignal = controller.signal;

export class ShutdownError extends Error {
  constructor() {
    super(`stopped by ${signalName ?? 'a signal'}`);
    this.name = 'ShutdownError';
  }
}

/** Throws when a signal has asked the process to stop (between steps of a long command). */
export function checkStopping(): void {
  if (stopping.aborted) throw new ShutdownError();
}

/** Resolves with `p`, or rejects with ShutdownError as soon as a signal arrives. */
export function unlessStopping<T>(p: Promise<T>): Promise<T> {
  if (stopping.aborted) return Promise.reject(new ShutdownError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ShutdownError());
    stopping.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (stopping.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (stopping.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** Registers something started; stopped in reverse order. Returns a function that unregisters it. */
export function onStop(name: string, stop: () => Promise<void>, kill?: () => void): () => void {
  const step: Step = { name, stop, kill };
  steps.push(step);
  return () => {
    const i = steps.indexOf(step);
    if (i >= 0) steps.splice(i, 1);
  };
}

/** Work to wind down before anything is stopped (cancelling syncs in flight). */
export function beforeStopping(fn: () => Promise<void>): () => void {
  beforeStop.push(fn);
  return () => {
    const i = beforeStop.indexOf(fn);
    if (i >= 0) beforeStop.splice(i, 1);
  };
}

/** The exit code a signal-stopped run ends with (a service asked to stop may say 0). */
export function setSignalExitCode(fn: (sig: NodeJS.Signals) => number): void {
  exitCodeOnSignal = fn;
}

export function stoppedBy(): NodeJS.Signals | null {
  return signalName;
}

function emergency(): void {
  for (const s of [...steps].reverse()) {
    try {
      s.kill?.();
    } catch {
      // Best effort: the process is about to exit.
    }
  }
}

/** Runs every registered stop step, newest first; each failure is logged, none stops the others. */
export async function stopAll(): Promise<void> {
  for (const fn of beforeStop.splice(0)) {
    try {
      await fn();
    } catch (e) {
      log.warn('winding down failed', { error: (e as Error).message });
    }
  }
  while (steps.length) {
    const s = steps.pop()!;
    try {
      await s.stop();
    } catch (e) {
      log.warn(`stopping ${s.name} failed`, { error: (e as Error).message });
    }
  }
}

/** Total time the orderly shutdown may take before the emergency steps run and the process exits. */
export const SHUTDOWN_DEADLINE_MS = 13_000;

function onSignal(sig: NodeJS.Signals): void {
  if (shuttingDown) {
    log.warn(`${sig} again: exiting now`);
    emergency();
    process.exit(exitCodeOnSignal(sig));
  }
  signalName = sig;
  log.info(`${sig}: shutting down (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to exit at once)`);
  controller.abort(new ShutdownError());
  const deadline = setTimeout(() => {
    log.warn(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS / 1000} s: exiting`);
    emergency();
    process.exit(exitCodeOnSignal(sig));
  }, SHUTDOWN_DEADLINE_MS);
  // Not unref'd: it keeps the process alive until the shutdown ends in process.exit, even
  // while a step awaits something that holds no handle (the process would end with 0).
  shuttingDown = stopAll().then(() => {
    clearTimeout(deadline);
    process.exit(exitCodeOnSignal(sig));
  });
}

let installed = false;

/**
 * Takes over SIGINT/SIGTERM (replacing the early handler of bin/runsync.js, replaying a
 * signal it caught) and makes sure emergency steps run on any exit.
 */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const early = (globalThis as { __runsyncEarlySignal?: { caught: NodeJS.Signals | null; handler: (s: NodeJS.Signals) => void } }).__runsyncEarlySignal;
  // Ours first, then the early ones off: removing a signal's last listener stops Node's
  // watcher, and a signal that arrived meanwhile but is not yet dispatched would be lost.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (early) {
    process.off('SIGINT', early.handler);
    process.off('SIGTERM', early.handler);
  }
  process.on('exit', emergency);
  if (early?.caught) onSignal(early.caught);
}
