package sessionize

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/apisessions/apisessions"
)

// parsePrefix reads a trusted proxy: a CIDR, or a bare address meaning
// just that host.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", s)
		}
		// Addresses are compared unmapped, so an IPv4-mapped range
		// (::ffff:10.0.0.0/104) must be one of IPv4 too.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad CIDR or address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseIP reads an address as found in a peer or forwarding header: with or
// without a port, IPv6 bracketed or not, IPv4-mapped IPv6 unmapped.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

func (s *Sessionizer) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP returns the client address of ex. Forwarding headers are believed
// only when the peer is a trusted proxy: X-Forwarded-For is walked from the
// right past trusted proxies to the first address that is not one (the
// left-most entries are whatever the client chose to send); X-Real-IP is
// used when there is no X-Forwarded-For.
func (s *Sessionizer) clientIP(ex *apisessions.Exchange) string {
	peer, ok := parseIP(ex.ClientIP)
	if !ok {
		return ex.ClientIP
	}
	if len(s.proxies) == 0 || !s.trusted(peer) {
		return canonicalIP(ex.ClientIP, peer)
	}
	var xff string
	n := 0
	for _, h := range ex.Request.Headers {
		if strings.EqualFold(h.Name, "X-Forwarded-For") {
			// Repeated headers are one list, in order.
			if n > 0 {
				xff += ","
			}
			xff += h.Value
			n++
		}
	}
	if n > 0 {
		return resolveXFF(xff, peer, s.trusted).String()
	}
	if v, ok := ex.Request.Headers.Get("X-Real-IP"); ok {
		if a, ok := parseIP(v); ok {
			return a.String()
		}
	}
	return peer.String()
}

// canonicalIP returns the canonical text of a, reusing raw when it is that
// already (the common plain IPv4 peer) to spare an allocation per request.
func canonicalIP(raw string, a netip.Addr) string {
	if a.Is4() && len(raw) <= len("255.255.255.255") {
		if b, err := netip.ParseAddr(raw); err == nil && b == a {
			return raw
		}
	}
	return a.String()
}

// resolveXFF walks an X-Forwarded-For list from the right. It returns the
// first address that is not trusted; when it meets an entry that does not
// parse it stops at the last good hop, since nothing left of a forged entry
// can be believed; when every entry is trusted it returns the left-most.
func resolveXFF(list string, peer netip.Addr, trusted func(netip.Addr) bool) netip.Addr {
	last := peer
	for list != "" {
		var e string
		if i := strings.LastIndexByte(list, ','); i >= 0 {
			e, list = list[i+1:], list[:i]
		} else {
			e, list = list, ""
		}
		if strings.TrimSpace(e) == "" {
			continue
		}
		a, ok := parseIP(e)
		if !ok {
			return last
		}
		if !trusted(a) {
			return a
		}
		last = a
	}
	return last
}
