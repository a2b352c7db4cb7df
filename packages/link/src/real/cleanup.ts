/**
 * Process-wide registry of synchronous clean-up steps (nft tables, reserved ports) that must run
 * when a link is closed, when the process exits, and on SIGINT/SIGTERM — a leftover RST-dropping
 * rule would silently break the namespace's own TCP after we are gone.
 */

type Step = () => void;

const steps = new Set<Step>();
let installed = false;

function runAll(): void {
  for (const s of [...steps]) {
    steps.delete(s);
    try {
      s();
    } catch {
      // Best effort on the way out: one failed step must not keep the others from running.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  // Re-raise with the default behaviour so the process still ends as it would have without us,
  // unless the application has its own handler for this signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', runAll);
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigterm);
}

/**
 * Registers a synchronous clean-up step; returns a function that runs it now (once) and
 * unregisters it. Handlers are removed when no step is left, so an idle process is unaffected.
 */
export function registerCleanup(step: Step): () => void {
  let done = false;
  const wrapped: Step = () => {
    if (done) return;
    done = true;
    step();
  };
  steps.add(wrapped);
  install();
  return () => {
    steps.delete(wrapped);
    if (steps.size === 0) uninstall();
    wrapped();
  };
}
