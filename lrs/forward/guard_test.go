package forward

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

// TestGuardClassifies: which addresses forwarding may connect to, by
// default and with REACH_FORWARD_ALLOW_PRIVATE.
func TestGuardClassifies(t *testing.T) {
	tests := []struct {
		addr                   string
		byDefault, withPrivate bool // allowed?
	}{
		{"93.184.216.34", true, true},
		{"8.8.8.8", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"10.0.0.1", false, true},
		{"172.16.5.4", false, true},
		{"172.31.255.255", false, true},
		{"192.168.1.1", false, true},
		{"100.64.0.1", false, true}, // shared address space (CGNAT)
		{"100.127.255.254", false, true},
		{"fc00::1", false, true}, // unique local
		{"fd12:3456::1", false, true},
		{"::ffff:127.0.0.1", false, true}, // IPv4-mapped
		{"::ffff:10.0.0.1", false, true},
		{"64:ff9b::7f00:1", false, true},  // NAT64 of 127.0.0.1
		{"2002:a00:1::", false, true},     // 6to4 of 10.0.0.1
		{"169.254.169.254", false, false}, // cloud metadata
		{"169.254.0.1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"240.0.0.1", false, false},
		{"::7f00:1", false, false}, // deprecated IPv4-compatible
		{"172.32.0.1", true, true},
		{"100.128.0.1", true, true},
	}
	for _, tc := range tests {
		ip := netip.MustParseAddr(tc.addr)
		if got := (Guard{}).Check(ip) == nil; got != tc.byDefault {
			t.Errorf("%s by default: allowed %v, want %v", tc.addr, got, tc.byDefault)
		}
		if got := (Guard{AllowPrivate: true}).Check(ip) == nil; got != tc.withPrivate {
			t.Errorf("%s with AllowPrivate: allowed %v, want %v", tc.addr, got, tc.withPrivate)
		}
	}
}

// countingServer is a loopback HTTP server that counts its requests.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func port(t *testing.T, srv *httptest.Server) string {
	u, _ := url.Parse(srv.URL)
	return u.Port()
}

// TestSenderRefusesLoopbackAfterResolution: by default the sender does not
// connect to a loopback server, whether the target names it by address,
// as IPv6 or by a name that resolves to it; with AllowPrivate it does.
func TestSenderRefusesLoopbackAfterResolution(t *testing.T) {
	srv, hits := countingServer(t, nil)
	p := port(t, srv)
	ctx := context.Background()
	endpoints := []string{"http://127.0.0.1:" + p + "/xapi/", "http://localhost:" + p + "/xapi/", "http://[::ffff:127.0.0.1]:" + p + "/xapi/"}
	refusing := NewSender(Guard{}, nil)
	for _, e := range endpoints {
		code, err := refusing.Post(ctx, Target{Endpoint: e, Version: Version103, AuthType: AuthBearer, Secret: "t"}, []byte("[]"))
		if code != 0 || err == nil || err.Error() != Unreachable {
			t.Errorf("%s: got %d, %v; want refused with %q", e, code, err, Unreachable)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests through the default guard, want 0", n)
	}
	allowing := NewSender(Guard{AllowPrivate: true}, nil)
	code, err := allowing.Post(ctx, Target{Endpoint: endpoints[0], Version: Version103, AuthType: AuthBearer, Secret: "t"}, []byte("[]"))
	if code != http.StatusOK || err != nil || hits.Load() != 1 {
		t.Fatalf("with AllowPrivate: got %d, %v, %d requests; want 200 and one request", code, err, hits.Load())
	}
	// The refusal happens at dial time, on the resolved address.
	if err := (Guard{}).control("tcp", net.JoinHostPort("127.0.0.1", p), nil); !isRefused(err) {
		t.Errorf("control on 127.0.0.1: got %v, want a refusal", err)
	}
}

// TestSenderChecksEveryRedirect: a target the guard admits redirects to
// a loopback address it does not; the redirect is not followed. The
// tests can only listen on loopback, so the guard admits the first
// server's exact address as if it were a public LRS.
func TestSenderChecksEveryRedirect(t *testing.T) {
	inner, innerHits := countingServer(t, nil)
	outer, outerHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/xapi/statements", http.StatusTemporaryRedirect)
	})
	outerAddr := netip.MustParseAddrPort(strings.TrimPrefix(outer.URL, "http://"))
	g := Guard{allow: func(ap netip.AddrPort) bool { return ap == outerAddr }}
	tg := Target{Endpoint: outer.URL + "/xapi/", Version: Version103, AuthType: AuthBearer, Secret: "t"}
	code, err := NewSender(g, nil).Post(context.Background(), tg, []byte("[]"))
	if outerHits.Load() != 1 {
		t.Fatalf("the admitted target got %d requests, want 1", outerHits.Load())
	}
	if innerHits.Load() != 0 || code != 0 || err == nil || err.Error() != Unreachable {
		t.Fatalf("redirect to loopback: got %d, %v and %d requests at the loopback server; want refused, none", code, err, innerHits.Load())
	}
	// The same redirect to an admitted address is followed, so the
	// refusal above is the guard's doing.
	innerAddr := netip.MustParseAddrPort(strings.TrimPrefix(inner.URL, "http://"))
	g.allow = func(ap netip.AddrPort) bool { return ap == outerAddr || ap == innerAddr }
	if code, err := NewSender(g, nil).Post(context.Background(), tg, []byte("[]")); code != 200 || err != nil || innerHits.Load() != 1 {
		t.Fatalf("redirect to an admitted address: got %d, %v, %d requests; want 200 and one", code, err, innerHits.Load())
	}
}

// TestServiceRefusesPrivateEndpoints: create and update refuse an
// endpoint whose host is, or resolves to, a refused address, and store
// nothing; a name that resolves to a public address is accepted.
func TestServiceRefusesPrivateEndpoints(t *testing.T) {
	lookup := func(ctx context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "internal.example.org":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")}, nil
		case "lrs.example.org":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		}
		return nil, errors.New("no such host")
	}
	store := &memStore{}
	svc := NewService(store, nopAudit{}, NewSender(Guard{lookup: lookup}, nil))
	in := func(endpoint string) Input {
		return Input{Name: ptr("t " + endpoint), Endpoint: ptr(endpoint), AuthType: ptr(AuthBearer), Secret: ptr("s")}
	}
	for _, e := range []string{"http://127.0.0.1/xapi/", "http://10.0.0.1/xapi/", "http://169.254.169.254/latest/",
		"http://[::1]:8080/xapi/", "http://localhost:8080/xapi/", "http://app.localhost/", "http://[::ffff:7f00:1]/",
		"https://internal.example.org/xapi/", "http://100.64.1.1/", "http://[fd00::5]/", "http://0.0.0.0:8080/"} {
		_, err := svc.Create(context.Background(), "admin", "b1", in(e))
		if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), "address") {
			t.Errorf("create %s: got %v, want an Invalid error naming the address", e, err)
		}
	}
	if len(store.targets) != 0 {
		t.Fatalf("refused endpoints stored %d targets", len(store.targets))
	}
	tg, err := svc.Create(context.Background(), "admin", "b1", in("https://lrs.example.org/xapi/"))
	if err != nil {
		t.Fatalf("public endpoint: %v", err)
	}
	if _, err := svc.Create(context.Background(), "admin", "b1", in("https://unresolvable.example.org/xapi/")); err != nil {
		t.Fatalf("a name that does not resolve now is checked when connecting, not refused: %v", err)
	}
	if _, err := svc.Update(context.Background(), "admin", "b1", tg.ID, Input{Endpoint: ptr("http://127.0.0.1:9/")}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("update to loopback: got %v, want Invalid", err)
	}
	if got := store.targets[tg.ID].Endpoint; got != "https://lrs.example.org/xapi/" {
		t.Errorf("after a refused update the endpoint is %q", got)
	}
	// With AllowPrivate, an on-premises LRS is accepted, link-local not.
	private := NewService(store, nopAudit{}, NewSender(Guard{AllowPrivate: true, lookup: lookup}, nil))
	if _, err := private.Create(context.Background(), "admin", "b1", in("http://10.0.0.1/xapi/")); err != nil {
		t.Errorf("AllowPrivate, 10.0.0.1: %v", err)
	}
	if _, err := private.Create(context.Background(), "admin", "b1", in("http://169.254.169.254/")); errs.KindOf(err) != errs.Invalid {
		t.Errorf("AllowPrivate, 169.254.169.254: got %v, want Invalid", err)
	}
}

type nopAudit struct{}

func (nopAudit) Audit(context.Context, string, string, string, string, map[string]any) {}

// memStore keeps targets in memory, for the service's validation.
type memStore struct {
	Store
	targets map[string]Target
}

func (m *memStore) MaxSeq(context.Context) (int64, error) { return 0, nil }
func (m *memStore) CreateTarget(_ context.Context, t Target, _ int64) error {
	if m.targets == nil {
		m.targets = map[string]Target{}
	}
	m.targets[t.ID] = t
	return nil
}
func (m *memStore) UpdateTarget(_ context.Context, t Target) error {
	m.targets[t.ID] = t
	return nil
}
func (m *memStore) Target(_ context.Context, borough, id string) (Target, State, error) {
	t, ok := m.targets[id]
	if !ok || t.BoroughID != borough {
		return Target{}, State{}, errs.E(errs.NotFound, "no target")
	}
	return t, State{}, nil
}

// bigAttachment is an attachment source whose bytes outgrow the pipe's
// buffer, so the writer is still writing when a connection is refused.
type bigAttachment struct{}

func (bigAttachment) OpenAttachment(context.Context, string, string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(strings.Repeat("x", 1<<20))), nil
}

// TestSenderRefusalWithAttachmentsReadsTheSame: a refused connection
// while attachments stream reads like any other unreachable target, not
// as a failure to read the attachment.
func TestSenderRefusalWithAttachmentsReadsTheSame(t *testing.T) {
	srv, hits := countingServer(t, nil)
	tg := Target{Endpoint: srv.URL + "/xapi/", Version: Version103, AuthType: AuthBearer, Secret: "t"}
	code, err := NewSender(Guard{}, nil).PostWithAttachments(context.Background(), tg, []byte("[]"), bigAttachment{},
		[]part{{sha2: "abc", contentType: "text/plain"}})
	if code != 0 || err == nil || err.Error() != Unreachable || hits.Load() != 0 {
		t.Fatalf("got %d, %v, %d requests; want refused with %q", code, err, hits.Load(), Unreachable)
	}
}

// FuzzGuardControl: whatever address the dialer hands the guard, it
// never admits one that netip calls loopback, private, link-local,
// unspecified or multicast, in any IPv6 form of an IPv4 address.
func FuzzGuardControl(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::ffff:10.0.0.1]:443", "[64:ff9b::a9fe:a9fe]:80", "[2002:7f00:1::]:80",
		"[fe80::1%eth0]:80", "93.184.216.34:443", "[::]:0", "garbage", "[::ffff:7f00:1]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, address string) {
		if (Guard{}).control("tcp", address, nil) != nil {
			return
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			t.Fatalf("admitted %q, which is not an address", address)
		}
		ip := ap.Addr().Unmap()
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() ||
			cgnat.Contains(ip) {
			t.Fatalf("admitted %q", address)
		}
		if ip.Is6() {
			b := ip.As16()
			for _, v4 := range []netip.Addr{netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})} {
				if (nat64.Contains(ip) || sixToFour.Contains(ip)) && (v4.IsLoopback() || v4.IsPrivate() || v4.IsLinkLocalUnicast()) {
					t.Fatalf("admitted %q, which carries %s", address, v4)
				}
			}
		}
	})
}
