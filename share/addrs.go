package share

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// InterfaceAddrs returns the IP addresses of the machine's network
// interfaces, IPv4 first, without IPv6 link-local addresses (which need a
// zone to be used).
func InterfaceAddrs() []netip.Addr {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var addrs []netip.Addr
	for _, a := range ifaddrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr().Unmap()
		if ip.Is6() && ip.IsLinkLocalUnicast() {
			continue
		}
		addrs = append(addrs, ip)
	}
	sortAddrs(addrs)
	return slices.Compact(addrs)
}

// LANAddrs returns the addresses others on the network can reach this
// machine at: InterfaceAddrs without loopback and link-local ones.
func LANAddrs() []netip.Addr {
	var lan []netip.Addr
	for _, ip := range InterfaceAddrs() {
		if !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
			lan = append(lan, ip)
		}
	}
	return lan
}

// sortAddrs puts IPv4 before IPv6, each in address order.
func sortAddrs(addrs []netip.Addr) {
	slices.SortFunc(addrs, func(a, b netip.Addr) int {
		if a.Is4() != b.Is4() {
			if a.Is4() {
				return -1
			}
			return 1
		}
		return a.Compare(b)
	})
}

// hostsFor returns the addresses to print URLs for, given the address a
// listener is bound to and the machine's LAN addresses: the address
// itself when it is specific, else every LAN address of its family (IPv4
// only for 0.0.0.0), else loopback when the machine has no LAN address.
func hostsFor(bound netip.Addr, lan []netip.Addr) []netip.Addr {
	bound = bound.Unmap()
	if !bound.IsUnspecified() {
		return []netip.Addr{bound}
	}
	var hosts []netip.Addr
	for _, ip := range lan {
		if ip.Is4() || bound.Is6() {
			hosts = append(hosts, ip)
		}
	}
	if len(hosts) == 0 {
		hosts = append(hosts, netip.MustParseAddr("127.0.0.1"))
	}
	return hosts
}

// URL returns scheme://host:port/ with an IPv6 host in brackets.
func URL(scheme string, host netip.Addr, port int) string {
	return scheme + "://" + net.JoinHostPort(host.Unmap().String(), strconv.Itoa(port)) + "/"
}

// urls builds one URL per host.
func urls(scheme string, hosts []netip.Addr, port int) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, URL(scheme, h, port))
	}
	return out
}
