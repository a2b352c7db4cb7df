/** Ready-made topologies for the common cases. */
import { SimNetwork, type ConnectOptions, type SimHost, type SimLink, type SimRouter } from './network.js';

export interface SimPairOptions {
  seed: number | string;
  /** Settings of the one link (middleboxes included). */
  link?: ConnectOptions;
  /** Default ['10.0.0.1', 'fd00::1']. */
  clientAddresses?: string[];
  /** Default ['10.0.0.2', 'fd00::2']. */
  serverAddresses?: string[];
}

/** client —[link + middleboxes]— server. */
export function simPair(opts: SimPairOptions): { sim: SimNetwork; client: SimHost; server: SimHost; link: SimLink } {
  const sim = new SimNetwork({ seed: opts.seed });
  const client = sim.addHost('client', { addresses: opts.clientAddresses ?? ['10.0.0.1', 'fd00::1'] });
  const server = sim.addHost('server', { addresses: opts.serverAddresses ?? ['10.0.0.2', 'fd00::2'] });
  const link = sim.connect(client, server, { name: 'link', ...opts.link });
  return { sim, client, server, link };
}

export interface DumbbellOptions {
  seed: number | string;
  /** Number of client/server pairs (1..250). */
  pairs: number;
  /** The shared link between the two routers (rate, delay, queue, middleboxes…). */
  bottleneck: ConnectOptions;
  /** Access links of every host (default: no limits). */
  access?: ConnectOptions;
}

/**
 * client_i — left ═[bottleneck]═ right — server_i, for i < pairs: flows share one queue, as for
 * congestion-control fairness experiments. Client i is 10.1.0.(i+1) / fd01::(i+1), server i is
 * 10.2.0.(i+1) / fd02::(i+1).
 */
export function dumbbell(opts: DumbbellOptions): {
  sim: SimNetwork;
  clients: SimHost[];
  servers: SimHost[];
  left: SimRouter;
  right: SimRouter;
  bottleneck: SimLink;
} {
  if (!Number.isInteger(opts.pairs) || opts.pairs < 1 || opts.pairs > 250) throw new RangeError(`pairs must be 1..250, got ${opts.pairs}`);
  const sim = new SimNetwork({ seed: opts.seed });
  const left = sim.addRouter('left', { addresses: ['10.1.255.254', 'fd01::ffff'] });
  const right = sim.addRouter('right', { addresses: ['10.2.255.254', 'fd02::ffff'] });
  const bottleneck = sim.connect(left, right, { name: 'bottleneck', ...opts.bottleneck });
  const clients: SimHost[] = [];
  const servers: SimHost[] = [];
  for (let i = 0; i < opts.pairs; i++) {
    const c = sim.addHost(`client${i}`, { addresses: [`10.1.0.${i + 1}`, `fd01::${(i + 1).toString(16)}`] });
    const s = sim.addHost(`server${i}`, { addresses: [`10.2.0.${i + 1}`, `fd02::${(i + 1).toString(16)}`] });
    sim.connect(c, left, { ...opts.access, name: `client${i}-left` });
    sim.connect(right, s, { ...opts.access, name: `right-server${i}` });
    clients.push(c);
    servers.push(s);
  }
  return { sim, clients, servers, left, right, bottleneck };
}
