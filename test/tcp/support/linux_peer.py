"""Linux-side peers for the namespace tests (kernel TCP), with `ss -ti` and TCP_INFO of the live connection.

  linux_peer.py serve PORT FILE SSDIR   HTTP/1.0 server on [::]:PORT (dual stack): answers any GET
                                        with FILE; before sending, saves info() of that
                                        connection to SSDIR/<client port>.json
  linux_peer.py fetch HOST PORT         connects, reads to EOF; after the first bytes, records
                                        info() of the connection; prints JSON {sha256, bytes, info}
"""
import hashlib, json, os, socket, subprocess, sys, threading


def info(sock):
    """What Linux negotiated on this connection: `ss -tin` of it, and TCP_INFO's option bits
    (tcpi_options: 1 timestamps, 2 SACK, 4 window scaling; then snd_wscale / rcv_wscale nibbles),
    which is where ss reads them from."""
    lp = sock.getsockname()[1]
    rp = sock.getpeername()[1]
    ss = subprocess.run(['ss', '-tinH', '( sport = :%d and dport = :%d )' % (lp, rp)],
                        capture_output=True, text=True).stdout
    ti = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return {'ss': ss, 'options': ti[5], 'snd_wscale': ti[6] & 15, 'rcv_wscale': ti[6] >> 4}


def serve(port, path, ssdir):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('::', port))
    srv.listen(16)
    print('ready', flush=True)

    def handle(c, addr):
        try:
            req = b''
            while b'\r\n\r\n' not in req and len(req) < 65536:
                b = c.recv(4096)
                if not b:
                    break
                req += b
            with open(os.path.join(ssdir, '%d.json' % addr[1]), 'w') as f:
                json.dump(info(c), f)
            size = os.path.getsize(path)
            c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n' % size)
            with open(path, 'rb') as f:
                c.sendfile(f)
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError as e:
            print('error', e, file=sys.stderr, flush=True)
        finally:
            c.close()

    while True:
        c, addr = srv.accept()
        threading.Thread(target=handle, args=(c, addr), daemon=True).start()


def fetch(host, port):
    s = socket.create_connection((host, port), timeout=60)
    h = hashlib.sha256()
    n = 0
    ti = None
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        if ti is None:
            ti = info(s)
        h.update(b)
        n += len(b)
    s.close()
    print(json.dumps({'sha256': h.hexdigest(), 'bytes': n, 'info': ti}))


if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        fetch(sys.argv[2], int(sys.argv[3]))
