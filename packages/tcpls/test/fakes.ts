/**
 * In-memory fakes for the session's lower layers: a record channel per connection direction and a
 * TcpControl whose SYN info a test sets (e.g. after a simulated middlebox rewrite).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TcpOption } from '@tcpls/tcp/wire';
import {
  type ChannelClose,
  type RecordChannel,
  type SynSegmentInfo,
  type TcpControl,
  type TcpSynInfo,
  type TcplsEvent,
  type TcplsSessionOptions,
  TcplsSession,
  seededRandom as seededBytes,
} from '../src/index.js';

/** Deterministic random bytes (xorshift32) so tokens are reproducible. */
export const seededRandom = seededBytes;

export class FakeChannel implements RecordChannel {
  outbox: { seq: bigint; plaintext: Uint8Array }[] = [];
  nextSeq = 0n;
  closedWith: ChannelClose | undefined;
  capacity = Infinity;
  maxPlaintext?: number;
  sent = 0;
  sendRecord(plaintext: Uint8Array): bigint {
    if (this.closedWith) throw new Error('record sent on a closed channel');
    if (plaintext.length > (this.maxPlaintext ?? 16384)) throw new Error('record too large');
    const seq = this.nextSeq++;
    this.outbox.push({ seq, plaintext: plaintext.slice() });
    this.sent++;
    if (this.capacity !== Infinity) this.capacity -= plaintext.length + 22;
    return seq;
  }
  sendCapacity(): number {
    return this.capacity;
  }
  close(how: ChannelClose): void {
    this.closedWith ??= how;
  }
}

export class FakeTcp implements TcpControl {
  userTimeouts: number[] = [];
  controllers: { name: string; params: Record<string, number> }[] = [];
  known = ['reno', 'cubic', 'bbr', 'vegas'];
  constructor(public info: TcpSynInfo) {}
  synInfo(): TcpSynInfo {
    return this.info;
  }
  setUserTimeout(ms: number): void {
    this.userTimeouts.push(ms);
  }
  setCongestionControl(name: string, params: Record<string, number>): void {
    if (!this.known.includes(name)) throw Object.assign(new Error(`no controller ${name}`), { code: 'unknown-controller' });
    this.controllers.push({ name, params });
  }
}

/** A Linux-like client SYN: MSS, SACK-permitted, timestamps, NOP, window scale, an RFC 6994 option. */
export function clientSyn(): SynSegmentInfo {
  const options: TcpOption[] = [
    { kind: 'mss', mss: 1460 },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', tsVal: 1000, tsEcr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', shift: 7 },
    { kind: 'experimental', code: 254, exid: 0xf989, data: Uint8Array.of(0xab, 0xcd) },
    { kind: 'nop' },
    { kind: 'nop' },
  ];
  return { flags: 0x02 | 0x40 | 0x80, seq: 0x11223344, window: 64240, options, ipEcn: 0 };
}

/** The server's SYN-ACK: other options than the SYN, as Linux legitimately answers. */
export function serverSynAck(): SynSegmentInfo {
  const options: TcpOption[] = [
    { kind: 'mss', mss: 1400 },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', tsVal: 777, tsEcr: 1000 },
    { kind: 'nop' },
    { kind: 'wscale', shift: 9 },
  ];
  return { flags: 0x12 | 0x40, seq: 0xa0b0c0d0, window: 65160, options, ipEcn: 0 };
}

export interface Pair {
  client: TcplsSession;
  server: TcplsSession;
  /** channels[id] = { c: client's channel, s: server's channel } */
  channels: Map<number, { c: FakeChannel; s: FakeChannel }>;
  addConnection(id: number, tcpC?: FakeTcp, tcpS?: FakeTcp): { c: FakeChannel; s: FakeChannel };
  /** Flushes both sides and delivers records until nothing moves; returns the records moved. */
  pump(now?: number): number;
  /** Drains the session's events. */
  events(s: TcplsSession): TcplsEvent[];
}

export function makePair(
  clientOpts: Partial<TcplsSessionOptions> = {},
  serverOpts: Partial<TcplsSessionOptions> = {},
): Pair {
  const client = new TcplsSession({ role: 'client', random: seededRandom(1), ...clientOpts });
  const server = new TcplsSession({ role: 'server', random: seededRandom(2), ...serverOpts });
  const channels = new Map<number, { c: FakeChannel; s: FakeChannel }>();
  return {
    client,
    server,
    channels,
    addConnection(id, tcpC, tcpS) {
      const pair = { c: new FakeChannel(), s: new FakeChannel() };
      channels.set(id, pair);
      client.addConnection(id, pair.c, tcpC);
      server.addConnection(id, pair.s, tcpS);
      return pair;
    },
    pump(now = 0) {
      let moved = 0;
      for (let step = 0; step < 10_000; step++) {
        client.flush(now);
        server.flush(now);
        let any = false;
        for (const [id, { c, s }] of channels) {
          for (const r of c.outbox.splice(0)) {
            server.receiveRecord(id, r.seq, r.plaintext, now);
            any = true;
            moved++;
          }
          for (const r of s.outbox.splice(0)) {
            client.receiveRecord(id, r.seq, r.plaintext, now);
            any = true;
            moved++;
          }
        }
        if (!any) return moved;
      }
      throw new Error('pump: no quiescence after 10000 steps (livelock)');
    },
    events(s) {
      const out: TcplsEvent[] = [];
      for (let e = s.pollEvent(); e; e = s.pollEvent()) out.push(e);
      return out;
    },
  };
}

let ed25519: { certPem: string; keyPem: string } | null = null;

/** A throw-away self-signed Ed25519 certificate (CN=localhost) made once with `openssl req`. */
export function ed25519Certificate(): { certPem: string; keyPem: string } {
  if (ed25519) return ed25519;
  const dir = mkdtempSync(join(tmpdir(), 'tcpls-test-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    ed25519 = { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
    return ed25519;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
