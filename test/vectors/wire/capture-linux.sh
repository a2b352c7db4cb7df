#!/bin/sh
# Regenerates linux-tcp-ipv4.json and linux-tcp-ipv6.json: real Linux TCP segments captured
# between two network namespaces (prefix "hw"), decoded independently by tshark.
# Needs root, ip, tcpdump, tshark, python3, curl, node. Run from anywhere:
#   sh test/vectors/wire/capture-linux.sh
# Offloads (TSO/GSO/tx checksum) are turned off on both veths so the kernel writes complete
# checksums in software; the captured bytes are then exactly what went on the wire.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=$(( $$ % 100000 ))
NSA="hwA$TAG"; NSB="hwB$TAG"; VA="hwa$TAG"; VB="hwb$TAG"
WORK=$(mktemp -d)
SRV=""; DUMP=""
cleanup() {
  [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
  [ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null || true
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add "$NSA"; ip netns add "$NSB"
ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB"
for ns in "$NSA" "$NSB"; do ip -n "$ns" link set lo up; done
ip -n "$NSA" addr add 10.77.0.1/24 dev "$VA"; ip -n "$NSB" addr add 10.77.0.2/24 dev "$VB"
ip -n "$NSA" addr add fd77::1/64 dev "$VA" nodad; ip -n "$NSB" addr add fd77::2/64 dev "$VB" nodad
ip -n "$NSA" link set "$VA" up; ip -n "$NSB" link set "$VB" up
ip netns exec "$NSA" ethtool -K "$VA" tso off gso off tx off >/dev/null 2>&1 || true
ip netns exec "$NSB" ethtool -K "$VB" tso off gso off tx off >/dev/null 2>&1 || true

mkdir "$WORK/www"; printf 'hello from the hw golden capture\n' > "$WORK/www/hello.txt"
# http.server binding '::' is dual-stack (IPV6_V6ONLY off), so one server serves both families.
(cd "$WORK/www" && exec ip netns exec "$NSB" python3 -m http.server --bind :: 8080 >/dev/null 2>&1) &
SRV=$!
ip netns exec "$NSB" tcpdump -i "$VB" -U --immediate-mode -s 0 -w "$WORK/cap.pcap" tcp port 8080 >/dev/null 2>&1 &
DUMP=$!
sleep 1.5
ip netns exec "$NSA" curl -s -o /dev/null --retry 3 --retry-connrefused http://10.77.0.2:8080/hello.txt
ip netns exec "$NSA" curl -s -o /dev/null --retry 3 --retry-connrefused 'http://[fd77::2]:8080/hello.txt'
sleep 1
kill "$DUMP"; wait "$DUMP" 2>/dev/null || true; DUMP=""

tshark -r "$WORK/cap.pcap" -o tcp.relative_sequence_numbers:FALSE -o tcp.check_checksum:TRUE \
  -o ip.check_checksum:TRUE -T fields -E separator='|' -E occurrence=a -E aggregator=, \
  -e frame.number -e ip.version -e ip.src -e ip.dst -e ip.ttl -e ip.id -e ip.flags.df \
  -e ip.dsfield.dscp -e ip.dsfield.ecn -e ip.checksum.status \
  -e ipv6.src -e ipv6.dst -e ipv6.hlim -e ipv6.flow -e ipv6.tclass.dscp -e ipv6.tclass.ecn \
  -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.window_size_value \
  -e tcp.urgent_pointer -e tcp.hdr_len -e tcp.len -e tcp.checksum.status -e tcp.option_kind \
  -e tcp.options.mss_val -e tcp.options.wscale.shift -e tcp.options.timestamp.tsval \
  -e tcp.options.timestamp.tsecr > "$WORK/fields.txt"
node "$HERE/pcap-to-vectors.mjs" "$WORK/cap.pcap" "$WORK/fields.txt" "$HERE"
