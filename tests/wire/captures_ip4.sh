#!/bin/bash
# How the frames in captures_ip4.h were obtained (not run by the test suite; needs root,
# tcpdump, ethtool and tc). Two or three private network namespaces joined by veth pairs,
# checksum offloads off so the captured checksums are the ones on the wire; traffic stays
# inside the namespaces, which are deleted on exit. Writes /tmp/cap.pcap (direct link:
# ARP, pings incl. -R and a fragmented one, a TCP exchange, UDP, port unreachable) and
# /tmp/cap2.pcap (routed: frag-needed, time exceeded, SACK from a rate-limited transfer).
# Dump frames with: tcpdump -r /tmp/cap.pcap -nn -e -xx
set -u

direct() {
A=wv4cap-a; B=wv4cap-b
cleanup() { ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; }
trap cleanup EXIT
cleanup
ip netns add $A; ip netns add $B
for n in $A $B; do ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add v4a netns $A type veth peer name v4b netns $B
ip -n $A link set v4a address 02:00:00:00:00:0a
ip -n $B link set v4b address 02:00:00:00:00:0b
ip -n $A addr add 10.99.4.1/24 dev v4a; ip -n $B addr add 10.99.4.2/24 dev v4b
ip -n $A link set v4a up; ip -n $B link set v4b up; ip -n $A link set lo up; ip -n $B link set lo up
# No offloads so captured checksums are the real ones on the wire.
ip netns exec $A ethtool -K v4a tx off rx off >/dev/null 2>&1
ip netns exec $B ethtool -K v4b tx off rx off >/dev/null 2>&1
sleep 1
ip netns exec $A tcpdump -i v4a -U -w /tmp/cap.pcap -s 0 2>/dev/null &
TD=$!
sleep 1
ip netns exec $A ping -c1 -W1 -s 56 10.99.4.2 >/dev/null
ip netns exec $A ping -c1 -W1 -R 10.99.4.2 >/dev/null
ip netns exec $A ping -c1 -W1 -s 2000 10.99.4.2 >/dev/null
ip netns exec $B python3 -c '
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(("10.99.4.2",8080)); s.listen()
c,_=s.accept(); d=c.recv(100); c.sendall(b"world\n"); c.close()' &
LP=$!
sleep 0.5
ip netns exec $A python3 -c '
import socket,time
s=socket.create_connection(("10.99.4.2",8080)); s.sendall(b"hello\n"); s.recv(100); time.sleep(0.1); s.close()'
wait $LP
ip netns exec $B python3 -c '
import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.99.4.2",5353)); d,a=s.recvfrom(100); s.sendto(b"pong", a)' &
UP=$!
sleep 0.3
ip netns exec $A python3 -c '
import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.99.4.1",40000)); s.sendto(b"ping\n", ("10.99.4.2",5353)); s.recv(100)
s.sendto(b"nobody", ("10.99.4.2",9999))'
wait $UP
sleep 0.5
kill $TD; wait $TD 2>/dev/null
}

routed() {
A=wv4cap-a; R=wv4cap-r; B=wv4cap-b
cleanup() { ip netns del $A 2>/dev/null; ip netns del $R 2>/dev/null; ip netns del $B 2>/dev/null; }
trap cleanup EXIT
cleanup
for n in $A $R $B; do ip netns add $n; ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; ip -n $n link set lo up; done
ip link add v4a netns $A type veth peer name v4ra netns $R
ip link add v4b netns $B type veth peer name v4rb netns $R
ip -n $A link set v4a address 02:00:00:00:00:0a; ip -n $R link set v4ra address 02:00:00:00:00:1a
ip -n $B link set v4b address 02:00:00:00:00:0b; ip -n $R link set v4rb address 02:00:00:00:00:1b
ip -n $R link set v4rb mtu 1400; ip -n $B link set v4b mtu 1400
ip -n $A addr add 10.99.5.1/24 dev v4a; ip -n $R addr add 10.99.5.254/24 dev v4ra
ip -n $R addr add 10.99.6.254/24 dev v4rb; ip -n $B addr add 10.99.6.2/24 dev v4b
for x in "$A v4a" "$R v4ra" "$R v4rb" "$B v4b"; do set -- $x; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 tx off rx off tso off gso off gro off >/dev/null 2>&1; done
ip -n $A route add default via 10.99.5.254; ip -n $B route add default via 10.99.6.254
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
sleep 1
ip netns exec $A tcpdump -i v4a -U -w /tmp/cap2.pcap -s 0 2>/dev/null &
TD=$!
sleep 1
ip netns exec $A ping -c1 -W1 -M do -s 1450 10.99.6.2 >/dev/null
ip netns exec $A ping -c1 -W1 -t 1 10.99.6.2 >/dev/null
# bulk transfer b -> a with loss on b's egress so that a sends SACK blocks
ip netns exec $B tc qdisc add dev v4b root tbf rate 20mbit burst 20k limit 30k
ip netns exec $A python3 -c '
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(("10.99.5.1",8081)); s.listen()
c,_=s.accept()
n=0
while True:
    d=c.recv(65536)
    if not d: break
    n+=len(d)
' &
LP=$!
sleep 0.5
ip netns exec $B timeout 20 python3 -c '
import socket
s=socket.create_connection(("10.99.5.1",8081)); s.sendall(b"x"*300000); s.close()'
wait $LP
sleep 0.3
kill $TD; wait $TD 2>/dev/null
}

(direct)
(routed)
