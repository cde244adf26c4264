package forward_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/lrs/forward"
)

// TestForwardingRefusesPrivateTargets: by default a borough admin cannot
// point forwarding at loopback, private or link-local addresses, by
// address or by a name that resolves to one; the answer is a 400 naming
// the address, and nothing is stored.
func TestForwardingRefusesPrivateTargets(t *testing.T) {
	ctx := context.Background()
	src := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	ac := adminClient(t, src)
	in := func(endpoint string) client.ForwardingInput {
		return client.ForwardingInput{Name: ptr("t " + endpoint), Endpoint: ptr(endpoint), AuthType: ptr("bearer"), Secret: ptr("t")}
	}
	for _, e := range []string{
		src.URL + "/xapi/", // Reach's own app origin, on 127.0.0.1
		"http://10.0.0.1/xapi/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:8080/xapi/",
		"http://localhost:6379/", // a name resolving to loopback
		"http://[::ffff:127.0.0.1]:5432/",
		"http://100.64.0.1/",
		"http://[fd00::1]/",
	} {
		_, err := ac.CreateForwarding(ctx, "london", in(e))
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Message, "address") {
			t.Errorf("create %s: got %v, want 400 naming the address", e, err)
		}
	}
	if ts, err := ac.Forwardings(ctx, "london"); err != nil || len(ts) != 0 {
		t.Fatalf("after refused targets: got %d targets, %v; want none", len(ts), err)
	}
	// A public name is accepted (it does not resolve in the test
	// sandbox, so the check falls to connection time); moving it to
	// loopback is refused and changes nothing.
	tg, err := ac.CreateForwarding(ctx, "london", in("https://lrs.example.org/xapi/"))
	if err != nil {
		t.Fatal(err)
	}
	var ce *client.Error
	if _, err := ac.UpdateForwarding(ctx, "london", tg.ID, client.ForwardingInput{Endpoint: ptr("http://127.0.0.1:5432/")}); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Errorf("update to loopback: got %v, want 400", err)
	}
	if got, _ := ac.Forwarding(ctx, "london", tg.ID); got.Endpoint != "https://lrs.example.org/xapi/" {
		t.Errorf("after a refused update the endpoint is %q", got.Endpoint)
	}
}

// TestForwardingTestRevealsNoPorts: the test action answers a closed
// port, an open port that does not speak HTTP and one that never answers
// with the same words after the same wait, and never shows what a target
// sent back.
func TestForwardingTestRevealsNoPorts(t *testing.T) {
	ctx := context.Background()
	src := startAllowingLoopback(t, reachtest.Backend{Name: "embedded"})
	ac := adminClient(t, src)

	garbage := listen(t, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")); c.Close() })
	silent := listen(t, func(c net.Conn) {}) // holds the connection open, says nothing
	closed := closedAddr(t)
	secretBody := "internal-service-detail-4711"
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"`+secretBody+`"}}`, http.StatusUnauthorized)
	}))
	t.Cleanup(refusing.Close)

	ids := map[string]string{}
	for name, addr := range map[string]string{"closed": closed, "garbage": garbage, "silent": silent, "http401": strings.TrimPrefix(refusing.URL, "http://")} {
		tg, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr(name), Endpoint: ptr("http://" + addr + "/xapi/"),
			AuthType: ptr("bearer"), Secret: ptr("t")})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = tg.ID
	}
	type answer struct {
		res     client.ForwardingTest
		elapsed time.Duration
		err     error
	}
	var mu sync.Mutex
	got := map[string]answer{}
	var wg sync.WaitGroup
	for _, name := range []string{"closed", "garbage", "silent"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := ac.TestForwarding(ctx, "london", ids[name])
			mu.Lock()
			got[name] = answer{res, time.Since(start), err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	want := got["closed"]
	if want.err != nil || want.res.OK || want.res.Status != 0 || !strings.Contains(want.res.Message, forward.Unreachable) {
		t.Fatalf("closed port: got %+v, %v; want not ok, status 0, %q", want.res, want.err, forward.Unreachable)
	}
	for name, a := range got {
		if a.err != nil || a.res.OK != want.res.OK || a.res.Status != want.res.Status || a.res.Message != want.res.Message {
			t.Errorf("%s: got %+v, %v; want the same answer as the closed port, %+v", name, a.res, a.err, want.res)
		}
		// Every answer waits out the same time, so a refused connection
		// (at once) is not told from a silent port (the whole wait).
		if a.elapsed < forward.TestWait-50*time.Millisecond {
			t.Errorf("%s: answered after %v, want no sooner than %v like every unreachable target", name, a.elapsed, forward.TestWait)
		}
	}
	res, err := ac.TestForwarding(ctx, "london", ids["http401"])
	if err != nil || res.OK || res.Status != http.StatusUnauthorized || strings.Contains(res.Message, secretBody) {
		t.Errorf("a target answering 401: got %+v, %v; want status 401 and none of its body", res, err)
	}
}

// listen accepts connections on loopback and hands each to serve, until
// the test ends.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	return ln.Addr().String()
}
