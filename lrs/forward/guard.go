package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Guard decides which addresses forwarding may connect to. A target's URL
// is chosen by a borough admin, so without it a target could point at the
// server's own loopback services, the cluster's private network or a cloud
// metadata service, and use Reach to reach them (server-side request
// forgery). The check runs on the address actually dialled, after DNS
// resolution, for the first request and every redirect alike, so a name
// that resolves differently later (DNS rebinding) or a target that
// redirects elsewhere gains nothing. Create and update check the endpoint
// too, so an admin learns at once that it will be refused.
type Guard struct {
	// AllowPrivate admits loopback, private (RFC 1918, unique-local),
	// shared (100.64.0.0/10) and similar non-public addresses, for an LRS
	// on the same network (REACH_FORWARD_ALLOW_PRIVATE). Link-local
	// addresses (where cloud metadata services live), unspecified,
	// multicast and reserved addresses stay refused even then: no LRS
	// lives there.
	AllowPrivate bool

	// allow, in tests, admits particular addresses otherwise refused, so
	// a test can stand a loopback server in for a public LRS.
	allow func(netip.AddrPort) bool
	// lookup resolves names for the check on create and update
	// (net.DefaultResolver when nil).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// RefusedAddressError says that forwarding may not connect to an address.
type RefusedAddressError struct {
	Addr   netip.Addr
	Reason string // "loopback", "private", "link-local", …
	// Private is true when REACH_FORWARD_ALLOW_PRIVATE would admit it.
	Private bool
}

func (e *RefusedAddressError) Error() string {
	msg := fmt.Sprintf("%s is a %s address; forwarding to loopback, private, link-local and reserved addresses is refused", e.Addr, e.Reason)
	if e.Private {
		msg += " (an operator can allow private networks for an LRS on premises with REACH_FORWARD_ALLOW_PRIVATE=true)"
	}
	return msg
}

var (
	cgnat        = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	ietfProtocol = netip.MustParsePrefix("192.0.0.0/24")
	benchmarking = netip.MustParsePrefix("198.18.0.0/15")
	reservedV4   = netip.MustParsePrefix("240.0.0.0/4") // and 255.255.255.255
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local   = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	v4Compatible = netip.MustParsePrefix("::/96")
	siteLocal    = netip.MustParsePrefix("fec0::/10")
)

// classify says why ip is not a public unicast address ("" when it is),
// and whether it is merely private (admitted by AllowPrivate).
func classify(ip netip.Addr) (reason string, private bool) {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if ip.Is6() {
		// Addresses that carry an IPv4 address inside are judged by it.
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return classify(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		case nat64Local.Contains(ip):
			return "private", true
		}
	}
	switch {
	case !ip.IsValid():
		return "invalid", false
	case ip.IsUnspecified():
		return "unspecified", false
	case ip.IsLoopback():
		return "loopback", true
	case ip.IsLinkLocalUnicast():
		return "link-local", false
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast", false
	case ip.IsPrivate(), cgnat.Contains(ip), ietfProtocol.Contains(ip), benchmarking.Contains(ip), siteLocal.Contains(ip):
		return "private", true
	case thisNetwork.Contains(ip), reservedV4.Contains(ip):
		return "reserved", false
	case ip.Is6() && v4Compatible.Contains(ip):
		// Deprecated IPv4-compatible form (::a.b.c.d).
		return "reserved", false
	}
	return "", false
}

// Check returns a *RefusedAddressError when forwarding may not connect to
// ip, and nil when it may.
func (g Guard) Check(ip netip.Addr) error {
	reason, private := classify(ip)
	if reason == "" || (private && g.AllowPrivate) {
		return nil
	}
	return &RefusedAddressError{Addr: ip.Unmap(), Reason: reason, Private: private}
}

// control is the dialer's Control hook: it runs on the resolved address
// of every connection, just before it is made.
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("forwarding: unexpected address %q", address)
	}
	if g.allow != nil && g.allow(ap) {
		return nil
	}
	return g.Check(ap.Addr())
}

// CheckHost checks a target's host name or address as an admin enters
// it: an address literal must be allowed, and so must every address a
// name resolves to now. A name that does not resolve now is accepted (it
// may later); the check on every connection still applies.
func (g Guard) CheckHost(ctx context.Context, host string, port uint16) error {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if g.allow != nil && g.allow(netip.AddrPortFrom(ip, port)) {
			return nil
		}
		return g.Check(ip)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// RFC 6761: always loopback, whatever a resolver says.
		return g.Check(netip.IPv6Loopback())
	}
	lookup := g.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if g.allow != nil && g.allow(netip.AddrPortFrom(a, port)) {
			continue
		}
		if err := g.Check(a); err != nil {
			return err
		}
	}
	return nil
}

// isRefused reports whether err is (or wraps) a refusal by the guard.
func isRefused(err error) bool {
	var r *RefusedAddressError
	return errors.As(err, &r)
}
