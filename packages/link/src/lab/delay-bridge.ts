/**
 * The userspace delay bridge: a standalone program (`node dist/lab/delay-bridge.js --a IF --b IF
 * --delay MS`) that the lab starts inside a bridge namespace when the kernel has no netem. It
 * captures every frame arriving on one veth (libpcap through `cap`, filter "inbound" so the frames
 * it injects itself are not captured again) and sends it out of the other veth `delay` ms later:
 * a transparent wire with latency, ARP and neighbour discovery included.
 *
 * Pitfalls handled (see docs/environment.md): the Cap objects live in a module-level array for the
 * whole run (a collected Cap aborts the process), and the capture buffer is reused by the addon, so
 * every frame is copied before it is queued.
 *
 * Prints "ready <a> <b> <delay>" on stdout once both captures are open; ends on SIGTERM/SIGINT.
 */
import { createRequire } from 'node:module';
import type { CapHandle as NativeCapHandle } from '../real/native.js';
import { DelayQueue } from './delay-queue.js';

/** cap's handle as the links use it, plus libpcap's minimum-bytes knob that only the bridge sets. */
type CapHandle = NativeCapHandle & { setMinBytes?(n: number): void };
type CapModule = { Cap: new () => CapHandle };

/** Strong references for the life of the process (never collected while in use). */
const keepAlive: unknown[] = [];

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) {
    process.stderr.write(`delay-bridge: missing --${name}\n`);
    process.exit(2);
  }
  return v;
}

function optArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

class Direction {
  readonly queue: DelayQueue;
  private timer: NodeJS.Timeout | null = null;
  sendErrors = 0;

  constructor(delay: number, private readonly out: CapHandle) {
    this.queue = new DelayQueue(delay);
  }

  receive(frame: Buffer): void {
    const wasEmpty = this.queue.length === 0;
    this.queue.push(frame, performance.now());
    if (wasEmpty) this.arm();
  }

  private arm(): void {
    const due = this.queue.nextDue();
    if (due === null || this.timer !== null) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - performance.now()));
  }

  private flush(): void {
    this.timer = null;
    // Half a millisecond early is fine: setTimeout fires in whole milliseconds, often late.
    for (const f of this.queue.popDue(performance.now() + 0.5)) {
      try {
        this.out.send(f as Buffer, f.length);
      } catch {
        this.sendErrors++;
      }
    }
    this.arm();
  }
}

function main(): void {
  const ifA = arg('a');
  const ifB = arg('b');
  const delay = Number(arg('delay'));
  if (!(delay >= 0 && delay <= 10_000)) {
    process.stderr.write(`delay-bridge: bad --delay\n`);
    process.exit(2);
  }
  const require = createRequire(import.meta.url);
  const { Cap } = require('cap') as CapModule;
  const capA = new Cap();
  const capB = new Cap();
  const bufA = Buffer.alloc(65535);
  const bufB = Buffer.alloc(65535);
  // 16 MB of kernel ring per side: bursts at link rate while the event loop is busy.
  const ring = 16 * 1024 * 1024;
  capA.open(ifA, 'inbound', ring, bufA);
  capB.open(ifB, 'inbound', ring, bufB);
  capA.setMinBytes?.(0);
  capB.setMinBytes?.(0);
  const aToB = new Direction(delay, capB);
  const bToA = new Direction(delay, capA);
  keepAlive.push(capA, capB, bufA, bufB, aToB, bToA);
  capA.on('packet', (n) => aToB.receive(Buffer.from(bufA.subarray(0, n))));
  capB.on('packet', (n) => bToA.receive(Buffer.from(bufB.subarray(0, n))));

  const stop = (): void => {
    const s = (d: Direction): string => `enq=${d.queue.stats.enqueued} sent=${d.queue.stats.sent} dropped=${d.queue.stats.dropped} sendErrors=${d.sendErrors}`;
    process.stdout.write(`stopping: a->b ${s(aToB)}; b->a ${s(bToA)}\n`);
    try { capA.close(); } catch { /* already closed */ }
    try { capB.close(); } catch { /* already closed */ }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Frames that arrive in the first few hundred milliseconds after the captures open were seen
  // to go missing (the first ARP reply, so the first exchange took a 1 s ARP retry): report ready
  // only after a settling time, so the lab's first RTT is already the configured one.
  const warmup = Number(optArg('warmup') ?? '1000');
  setTimeout(() => process.stdout.write(`ready ${ifA} ${ifB} ${delay}\n`), Math.max(0, Math.min(warmup, 10_000)));
}

main();
