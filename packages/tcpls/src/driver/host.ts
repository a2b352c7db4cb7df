/**
 * TCPLS over our own TCP: a TcplsEndpoint on a Host's connection (HostConnection), for any link the
 * Host runs on — the simulator (virtual clock, fully synchronous and deterministic), a raw-socket
 * link or a pcap link (real time). The TCP-options channel gets the real TcpControl of the
 * connection: the SYN / SYN-ACK exactly as our TCP sent and parsed them, and live user-timeout and
 * congestion-controller changes (RFC 5482 semantics; applied to our engine directly, no setsockopt).
 */
import { type Host, type HostConnection, type Listener, type TcpConfig, type TcpEvent, systemClock } from '@tcpls/tcp';
import type { TcpControl } from '../interfaces.js';
import { type ByteTransport, type EndpointOptions, TcplsEndpoint } from './endpoint.js';

/** Controllers our TCP implements (packages/tcp congestion/). */
export const TCP_CONTROLLERS = ['newreno', 'cubic'] as const;

/** The byte pipe of a Host connection. */
export function hostTransport(hc: HostConnection): ByteTransport {
  return {
    kind: 'user',
    write: (d) => (hc.released ? d.length : hc.write(d)),
    read: () => (hc.released ? null : hc.read()),
    shutdown: () => {
      if (!hc.released) hc.shutdown();
    },
    abort: () => {
      if (!hc.released) hc.abort();
    },
  };
}

/** TcpControl of a Host connection; settings re-arm the host's timer (the user timeout is a deadline). */
export function hostTcpControl(hc: HostConnection): TcpControl {
  return {
    synInfo: () => hc.conn.synInfo(),
    setUserTimeout(ms: number) {
      hc.conn.setUserTimeout(ms);
      if (!hc.released) hc.host.service(hc);
    },
    setCongestionControl(name: string, params: Record<string, number>) {
      if (!(TCP_CONTROLLERS as readonly string[]).includes(name)) {
        throw Object.assign(new Error(`no congestion controller '${name}' (have ${TCP_CONTROLLERS.join(', ')})`), { code: 'unknown-controller' });
      }
      hc.conn.setCongestionControl(name as (typeof TCP_CONTROLLERS)[number], params);
      if (!hc.released) hc.host.service(hc);
    },
  };
}

/** Endpoint options without what the Host supplies (transport, TCP control, clock). */
export type HostEndpointOptions = Omit<EndpointOptions, 'role' | 'transport' | 'tcp' | 'now'> & {
  now?: () => number;
  /** Called after the endpoint handled each TCP event of its connection (e.g. to release the Host once it is closed). */
  afterTcpEvent?: (ev: TcpEvent, hc: HostConnection) => void;
};

/** Wall-clock ms that advance with the host's clock (virtual time on the simulator). */
export function anchoredWallClock(host: Host): () => number {
  const base = Date.now() - host.clock.now();
  return () => base + host.clock.now();
}

/** On the system clock (a real link), pumps are batched per event-loop turn; on a virtual one never. */
function realTimeDefer(host: Host): ((fn: () => void) => void) | undefined {
  return host.clock === systemClock ? queueMicrotask : undefined;
}

/** The session's timer on the host's clock (virtual time on the simulator). */
function hostTimer(host: Host): (atMs: number, fn: () => void) => { cancel(): void } {
  return (atMs, fn) => host.clock.setTimer(atMs, fn);
}

/** A TcplsEndpoint on a Host connection: the Host supplies transport, TCP control, clocks and timer. */
function hostEndpoint(host: Host, hc: HostConnection, role: 'client' | 'server', opts: HostEndpointOptions): TcplsEndpoint {
  return new TcplsEndpoint({
    ...opts,
    role,
    transport: hostTransport(hc),
    tcp: hostTcpControl(hc),
    now: opts.now ?? (() => host.clock.now()),
    wallNow: opts.wallNow ?? anchoredWallClock(host),
    defer: opts.defer ?? realTimeDefer(host),
    timer: opts.timer ?? hostTimer(host),
    tcpStats: () => hc.conn.stats(),
    label: opts.label ?? `${hc.local.address}:${hc.local.port}-${hc.remote.address}:${hc.remote.port}`,
  });
}

function bind(hc: HostConnection, ep: TcplsEndpoint, established: boolean, after?: (ev: TcpEvent, hc: HostConnection) => void): void {
  hc.onEvent = (ev) => {
    handleTcpEvent(ev, ep);
    after?.(ev, hc);
  };
  if (established) ep.start();
}

function handleTcpEvent(ev: TcpEvent, ep: TcplsEndpoint): void {
  switch (ev.type) {
    case 'connected':
      ep.start();
      return;
    case 'readable':
    case 'writable':
      ep.schedulePump();
      return;
    case 'peer-closed':
      ep.pump();
      // TLS ends with close_notify before FIN; a FIN without it ends the session too.
      if (ep.mode !== 'closed') ep.transportClosed(null);
      return;
    case 'closed':
      ep.transportClosed(ev.error);
      return;
  }
}

/**
 * Client: opens a TCP connection on `host` and runs TCPLS on it. Returns at once; the endpoint's
 * `onReady` handler says when the session is up. `tcp` adds TCP settings (e.g. extraSynOptions).
 */
export function connectOverHost(
  host: Host,
  remote: { address: string; port: number },
  opts: HostEndpointOptions & { localAddress?: string; localPort?: number; tcp?: Partial<TcpConfig> },
): { endpoint: TcplsEndpoint; connection: HostConnection } {
  // Records are written whole: Nagle would only hold back the tail of each flush.
  const hc = host.connect({ remote, local: { address: opts.localAddress, port: opts.localPort }, tcp: { nagle: false, ...opts.tcp } });
  const ep = hostEndpoint(host, hc, 'client', opts);
  bind(hc, ep, false, opts.afterTcpEvent);
  return { endpoint: ep, connection: hc };
}

/** Server: accepts TCP connections on `port` and runs a TCPLS endpoint on each. */
export function listenOverHost(
  host: Host,
  port: number,
  opts: HostEndpointOptions & { address?: string; tcp?: Partial<TcpConfig> },
  onEndpoint: (ep: TcplsEndpoint, hc: HostConnection) => void,
): Listener {
  return host.listen(port, { address: opts.address, tcp: { nagle: false, ...opts.tcp } }, (hc) => {
    const ep = hostEndpoint(host, hc, 'server', opts);
    onEndpoint(ep, hc);
    bind(hc, ep, true, opts.afterTcpEvent);
  });
}
