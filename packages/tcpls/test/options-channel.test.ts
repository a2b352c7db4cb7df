import fc from 'fast-check';
import type { TcpOption } from '@tcpls/tcp/wire';
import {
  type OptionDifference,
  type SynSegmentInfo,
  type TcplsEvent,
  ApplyRefuseReason,
  emitTcpOptions,
  parseTcpOptions,
} from '../src/index.js';
import { FakeTcp, clientSyn, makePair, serverSynAck } from './fakes.js';

const clone = (s: SynSegmentInfo): SynSegmentInfo => ({ ...s, options: s.options.map((o) => ({ ...o })) });
const optLen = (o: TcpOption): number => emitTcpOptions([o]).length;
/** A middlebox that overwrites the first option of `kind` with NOPs (TCPOPTSTRIP, nft reset). */
const stripToNops = (kind: TcpOption['kind']) => (s: SynSegmentInfo): SynSegmentInfo => {
  const i = s.options.findIndex((o) => o.kind === kind);
  const nops: TcpOption[] = Array.from({ length: optLen(s.options[i]) }, () => ({ kind: 'nop' }));
  return { ...s, options: [...s.options.slice(0, i), ...nops, ...s.options.slice(i + 1)] };
};
const mssClamp = (mss: number) => (s: SynSegmentInfo): SynSegmentInfo => ({
  ...s,
  options: s.options.map((o) => (o.kind === 'mss' ? { kind: 'mss', mss } : o)),
});

function diffsOf(events: TcplsEvent[]): OptionDifference[][] {
  return events.filter((e) => e.type === 'option-differences').map((e) => (e.type === 'option-differences' ? e.differences : []));
}

/** Runs the report exchange on one connection; `toServer` rewrites the client's SYN on the path. */
function exchange(toServer: (s: SynSegmentInfo) => SynSegmentInfo, toClient: (s: SynSegmentInfo) => SynSegmentInfo = (s) => s) {
  const syn = clientSyn();
  const synAck = serverSynAck();
  const tcpC = new FakeTcp({ sent: syn, received: toClient(clone(synAck)) });
  const tcpS = new FakeTcp({ sent: synAck, received: toServer(clone(syn)) });
  const p = makePair();
  p.addConnection(0, tcpC, tcpS);
  p.pump();
  const c = diffsOf(p.events(p.client));
  const s = diffsOf(p.events(p.server));
  expect(c).toHaveLength(1);
  expect(s).toHaveLength(1);
  return { client: c[0], server: s[0], pair: p, tcpC, tcpS };
}

const fields = (d: OptionDifference[]) => d.map((x) => x.field).sort();

describe('TCP-options channel: one middlebox rewrite → exactly its differences, seen by both sides', () => {
  const cases: [string, (s: SynSegmentInfo) => SynSegmentInfo, string[]][] = [
    ['no rewrite', (s) => s, []],
    ['MSS clamped to 1200', mssClamp(1200), ['mss']],
    ['SACK-permitted stripped to NOPs', stripToNops('sackPermitted'), ['nop-padding', 'sackPermitted']],
    ['timestamps stripped to NOPs', stripToNops('timestamps'), ['nop-padding', 'timestamps']],
    ['window scale stripped to NOPs', stripToNops('wscale'), ['nop-padding', 'wscale']],
    ['experimental option 254 stripped to NOPs', stripToNops('experimental'), ['nop-padding', 'option:254']],
    ['ISN shifted', (s) => ({ ...s, seq: (s.seq + 0x10000) >>> 0 }), ['isn']],
    ['window rewritten', (s) => ({ ...s, window: 8192 }), ['window']],
    ['ECN bits bleached', (s) => ({ ...s, flags: s.flags & 0x3f }), ['ecn']],
    ['options reordered', (s) => ({ ...s, options: [s.options[1], s.options[0], ...s.options.slice(2)] }), ['options-order']],
    ['experimental option removed (option space shrinks)', (s) => ({ ...s, options: s.options.filter((o) => o.kind !== 'experimental') }), ['option:254']],
    ['timestamp value rewritten', (s) => ({ ...s, options: s.options.map((o) => (o.kind === 'timestamps' ? { ...o, tsVal: 5 } : o)) }), ['timestamps']],
  ];
  for (const [name, rewrite, expected] of cases) {
    test(`${name} on the client's SYN → ${expected.length ? expected.join(', ') : 'no difference'}`, () => {
      const { client, server } = exchange(rewrite);
      expect(fields(server)).toEqual(expected);
      expect(fields(client)).toEqual(expected);
      for (const d of server) expect(d).toMatchObject({ connection: 0, direction: 'peer-to-me' });
      for (const d of client) expect(d).toMatchObject({ connection: 0, direction: 'me-to-peer' });
      // both sides agree on what was sent and what was seen
      expect(client.map((d) => [d.field, d.sent, d.seen])).toEqual(server.map((d) => [d.field, d.sent, d.seen]));
    });
  }

  test('MSS clamp values: sent 1460, seen 1200', () => {
    const { server } = exchange(mssClamp(1200));
    expect(server).toEqual([{ connection: 0, direction: 'peer-to-me', field: 'mss', sent: 1460, seen: 1200 }]);
  });

  test('a rewrite of both SYN and SYN-ACK (nft "tcp flags syn") is reported once per direction', () => {
    const { client, server } = exchange(mssClamp(1200), mssClamp(1200));
    expect(server.map((d) => [d.direction, d.field, d.sent, d.seen])).toEqual([
      ['peer-to-me', 'mss', 1460, 1200],
      ['me-to-peer', 'mss', 1400, 1200],
    ]);
    expect(client.map((d) => [d.direction, d.field, d.sent, d.seen])).toEqual([
      ['peer-to-me', 'mss', 1400, 1200],
      ['me-to-peer', 'mss', 1460, 1200],
    ]);
  });

  test('SYN and SYN-ACK carry different options legitimately: never compared with each other', () => {
    // clientSyn and serverSynAck differ in MSS, wscale, timestamps and option 254; a clean path is still clean.
    const { client, server } = exchange((s) => s);
    expect(client).toEqual([]);
    expect(server).toEqual([]);
  });

  test('differences are kept in session stats', () => {
    const { pair } = exchange(stripToNops('sackPermitted'));
    const st = pair.server.stats().connections[0];
    expect(fields(st.differences ?? [])).toEqual(['nop-padding', 'sackPermitted']);
    expect(pair.client.stats().connections[0].differences?.length).toBe(2);
  });

  test('a changed SYN view is re-reported and re-compared; an unchanged one is not re-sent', () => {
    const syn = clientSyn();
    const synAck = serverSynAck();
    const tcpC = new FakeTcp({ sent: syn, received: synAck });
    const tcpS = new FakeTcp({ sent: synAck, received: null });
    const p = makePair();
    p.addConnection(0, tcpC, tcpS);
    p.pump();
    // the server has not seen the SYN yet (null): nothing to compare in that direction
    expect(diffsOf(p.events(p.server))).toEqual([[]]);
    p.events(p.client);
    tcpS.info = { sent: synAck, received: mssClamp(536)(clone(syn)) };
    p.server.refreshTcpInfo(0);
    p.client.refreshTcpInfo(0); // unchanged: no new report
    const moved = p.pump();
    expect(moved).toBeGreaterThan(0);
    expect(diffsOf(p.events(p.server)).map(fields)).toEqual([['mss']]);
    expect(diffsOf(p.events(p.client)).map(fields)).toEqual([['mss']]);
  });
});

describe('TCP options codec (byte-exact)', () => {
  test('parse(emit(list)) re-emits the same bytes for SYN-like lists', () => {
    for (const s of [clientSyn(), serverSynAck()]) {
      const b = emitTcpOptions(s.options);
      expect(emitTcpOptions(parseTcpOptions(b))).toEqual(b);
      expect(parseTcpOptions(b)).toEqual(s.options);
    }
  });
  test('any parseable option bytes re-emit exactly (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        let parsed: TcpOption[];
        try {
          parsed = parseTcpOptions(b);
        } catch {
          return;
        }
        expect(emitTcpOptions(parsed)).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });
  test('a known kind with an odd length is kept as unknown, byte-exact', () => {
    const b = Uint8Array.of(2, 3, 5);
    expect(parseTcpOptions(b)).toEqual([{ kind: 'unknown', code: 2, data: Uint8Array.of(5) }]);
  });
  test('a length byte < 2 or past the end is rejected', () => {
    expect(() => parseTcpOptions(Uint8Array.of(2, 1))).toThrow(expect.objectContaining({ code: 'frame-encoding' }));
    expect(() => parseTcpOptions(Uint8Array.of(2, 9, 0))).toThrow(expect.objectContaining({ code: 'frame-encoding' }));
    expect(() => parseTcpOptions(Uint8Array.of(8))).toThrow(expect.objectContaining({ code: 'frame-encoding' }));
  });
});

describe('TCP Options Apply: applied through TcpControl when local policy allows', () => {
  function setup(policy?: { userTimeout: { minMs: number; maxMs: number } | null; congestionControllers: string[] }) {
    const tcpC = new FakeTcp({ sent: clientSyn(), received: serverSynAck() });
    const tcpS = new FakeTcp({ sent: serverSynAck(), received: clientSyn() });
    const p = makePair({}, policy ? { policy } : {});
    p.addConnection(0, tcpC, tcpS);
    p.pump();
    p.events(p.client);
    p.events(p.server);
    return { p, tcpC, tcpS };
  }

  test('user timeout 30 s within policy → setUserTimeout(30000) and Apply Ack', () => {
    const { p, tcpS } = setup();
    const id = p.client.requestOption(0, { kind: 'userTimeout', granularity: 'seconds', timeout: 30 });
    p.pump();
    expect(tcpS.userTimeouts).toEqual([30000]);
    expect(p.events(p.client)).toContainEqual({ type: 'option-applied', requestId: id, connection: 0, setting: { kind: 'userTimeout', granularity: 'seconds', timeout: 30 } });
    expect(p.events(p.server)).toContainEqual(expect.objectContaining({ type: 'option-request', requestId: id, applied: true }));
    expect(p.server.stats().connections[0].applied).toHaveLength(1);
  });

  test('user timeout in minutes uses the RFC 5482 G bit: 2 min → 120000 ms', () => {
    const { p, tcpS } = setup();
    p.client.requestOption(0, { kind: 'userTimeout', granularity: 'minutes', timeout: 2 });
    p.pump();
    expect(tcpS.userTimeouts).toEqual([120000]);
  });

  const refusals: [string, Parameters<typeof setup>[0], Parameters<import('../src/index.js').TcplsSession['requestOption']>, number][] = [
    ['user timeout above the policy maximum', undefined, [0, { kind: 'userTimeout', granularity: 'minutes', timeout: 11 }], ApplyRefuseReason.outOfRange],
    ['user timeout below the policy minimum', { userTimeout: { minMs: 5000, maxMs: 60000 }, congestionControllers: [] }, [0, { kind: 'userTimeout', granularity: 'seconds', timeout: 1 }], ApplyRefuseReason.outOfRange],
    ['user timeout when policy forbids it', { userTimeout: null, congestionControllers: [] }, [0, { kind: 'userTimeout', granularity: 'seconds', timeout: 30 }], ApplyRefuseReason.notAllowed],
    ['congestion controller not in the allowed list', undefined, [0, { kind: 'congestionControl', name: 'cubic', params: {} }], ApplyRefuseReason.notAllowed],
    ['allowed controller the TCP does not have', { userTimeout: null, congestionControllers: ['westwood'] }, [0, { kind: 'congestionControl', name: 'westwood', params: {} }], ApplyRefuseReason.unknownController],
    ['unknown setting kind', undefined, [0, { kind: 'unknown', code: 77, data: Uint8Array.of(1) }], ApplyRefuseReason.unsupportedSetting],
  ];
  for (const [name, policy, args, reason] of refusals) {
    test(`${name} → Apply Refuse (${reason}), TCP untouched`, () => {
      const { p, tcpS } = setup(policy);
      const id = p.client.requestOption(...args);
      p.pump();
      expect(tcpS.userTimeouts).toEqual([]);
      expect(tcpS.controllers).toEqual([]);
      expect(p.events(p.client)).toContainEqual(expect.objectContaining({ type: 'option-refused', requestId: id, reason }));
      expect(p.events(p.server)).toContainEqual(expect.objectContaining({ type: 'option-request', requestId: id, applied: false, reason }));
    });
  }

  test('allowed congestion controller with parameters is applied (Vegas → CUBIC, as in the paper)', () => {
    const { p, tcpS } = setup({ userTimeout: null, congestionControllers: ['cubic', 'vegas'] });
    const id = p.client.requestOption(0, { kind: 'congestionControl', name: 'cubic', params: { beta: 0.7, c: 0.4 } });
    p.pump();
    expect(tcpS.controllers).toEqual([{ name: 'cubic', params: { beta: 0.7, c: 0.4 } }]);
    expect(p.events(p.client)).toContainEqual(expect.objectContaining({ type: 'option-applied', requestId: id }));
  });

  test('the server can ask the client too', () => {
    const { p, tcpC } = setup();
    p.server.requestOption(0, { kind: 'userTimeout', granularity: 'seconds', timeout: 250 });
    p.pump();
    expect(tcpC.userTimeouts).toEqual([250000]);
  });

  test('without a TcpControl there is nothing to compare: no option-differences event, stats say null', () => {
    const p = makePair();
    p.addConnection(0, new FakeTcp({ sent: clientSyn(), received: serverSynAck() }), undefined);
    p.pump();
    expect(p.events(p.server).filter((e) => e.type === 'option-differences')).toEqual([]);
    expect(p.server.stats().connections[0].differences).toBeNull();
  });

  test('a request on a connection the peer has no TCP control for is refused unknownConnection', () => {
    const p = makePair();
    p.addConnection(0); // no TcpControl on either side
    p.client.requestOption(0, { kind: 'userTimeout', granularity: 'seconds', timeout: 30 });
    p.pump();
    expect(p.events(p.client)).toContainEqual(expect.objectContaining({ type: 'option-refused', reason: ApplyRefuseReason.unknownConnection, reasonName: 'unknownConnection' }));
  });
});
