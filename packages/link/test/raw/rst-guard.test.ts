import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToIp, ipToBytes, samePrefix } from '../../src/real/addr.js';
import { formatPortList, parsePortList, releasePorts, reservePorts, rstGuardRuleset, rstTableOwner } from '../../src/real/rst-guard.js';

describe('reserved-port list (net.ipv4.ip_local_reserved_ports)', () => {
  test('parses single ports and ranges, ignores malformed parts', () => {
    expect([...parsePortList('80,9000-9002, x, 70000, 5-3\n')].sort((a, b) => a - b)).toEqual([80, 9000, 9001, 9002]);
    expect(parsePortList('').size).toBe(0);
  });

  test('formats back into compact ranges', () => {
    expect(formatPortList([9002, 80, 9000, 9001, 81, 7])).toBe('7,80-81,9000-9002');
    expect(formatPortList([])).toBe('');
  });

  test('reserve adds only our ports; release removes only what we added, keeping entries others added meanwhile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-ports-'));
    const file = join(dir, 'ports');
    try {
      writeFileSync(file, '1000-1002\n');
      const mine = reservePorts([1001, 5000, 5001], file);
      expect(mine).toEqual([5000, 5001]); // 1001 was someone else's
      expect(readFileSync(file, 'utf8').trim()).toBe('1000-1002,5000-5001');
      writeFileSync(file, readFileSync(file, 'utf8').trim() + ',7000\n'); // another link adds one
      releasePorts(mine, file);
      expect(readFileSync(file, 'utf8').trim()).toBe('1000-1002,7000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two links of one process sharing a port: the port stays reserved until both released it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-ports-'));
    const file = join(dir, 'ports');
    try {
      writeFileSync(file, '\n');
      const a = reservePorts([6000], file);
      const b = reservePorts([6000], file);
      releasePorts(a, file);
      expect(readFileSync(file, 'utf8').trim()).toBe('6000');
      releasePorts(b, file);
      expect(readFileSync(file, 'utf8').trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RST guard ruleset', () => {
  test('IPv4: drops outgoing RSTs from the address without our mark, on the output hook', () => {
    const r = rstGuardRuleset('tcpls_rst_1_1', { address: '10.0.0.1', mark: 0x7c15 });
    expect(r).toContain('table ip tcpls_rst_1_1');
    expect(r).toContain('type filter hook output priority filter; policy accept;');
    expect(r).toContain('ip saddr 10.0.0.1 tcp flags & rst == rst meta mark != 31765 drop');
  });

  test('IPv6 with ports: an ip6 table limited to those source ports', () => {
    const r = rstGuardRuleset('t', { address: 'fd00::1', mark: 5, ports: [443, 8443, 443] });
    expect(r).toContain('table ip6 t');
    expect(r).toContain('ip6 saddr fd00::1 tcp sport { 443, 8443 } tcp flags & rst == rst meta mark != 5 drop');
  });

  test('the owner PID is read back from a table name; other tables (the lab\'s, anyone\'s) have none', () => {
    expect(rstTableOwner('tcpls_rst_4242_3')).toBe(4242);
    for (const other of ['tcpls_rst_x_1', 'tcpls_rst_12', 'hl1_loss', 'xtcpls_rst_1_1', 'tcpls_rst_1_1_1', 'filter']) {
      expect(rstTableOwner(other)).toBeNull();
    }
  });
});

describe('address helpers', () => {
  test.each([
    ['10.1.2.3', '0a010203'],
    ['fd00::1', 'fd000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['fe80::1:0:0:2', 'fe800000000000000001000000000002'],
  ])('%s parses to %s', (text, hex) => {
    expect(Buffer.from(ipToBytes(text)!).toString('hex')).toBe(hex);
  });

  test('bad text is null; bytes format back to a parseable address', () => {
    expect(ipToBytes('10.1.2')).toBeNull();
    expect(ipToBytes('fe80::1%eth0')).toBeNull();
    const b = ipToBytes('fd00:77:1::2')!;
    expect(ipToBytes(bytesToIp(b, 0, 16))).toEqual(b);
  });

  test('samePrefix compares the leading bits only', () => {
    expect(samePrefix(ipToBytes('10.0.1.5')!, ipToBytes('10.0.1.200')!, 24)).toBe(true);
    expect(samePrefix(ipToBytes('10.0.1.5')!, ipToBytes('10.0.2.5')!, 24)).toBe(false);
    expect(samePrefix(ipToBytes('10.0.1.5')!, ipToBytes('10.0.1.129')!, 25)).toBe(false);
    expect(samePrefix(ipToBytes('fd00::1')!, ipToBytes('fd00::ffff')!, 64)).toBe(true);
  });
});
