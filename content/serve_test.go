package content_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

func fetch(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: past the memory cache
		zip := makeZip(t, append(files("cmi5.xml", cmi5XML, "au1/index.html", `<link href="../css/site.css">`, "css/site.css", "body{}",
			"au1/My File.txt", "spaced", "au1/100%.txt", "percent", "au1/café.txt", "accent"), zentry{name: "media/big.bin", body: big})...)
		pkg, err := admin.ImportPackage(ctx, "london", bytes.NewReader(zip))
		if err != nil {
			t.Fatal(err)
		}
		pv, err := admin.PreviewPackage(ctx, "london", pkg.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pv.URL, inst.ContentURL+"/p/"+pkg.ID+"/") || !strings.HasSuffix(pv.URL, "/au1/index.html") {
			t.Fatalf("preview URL %q is not on the content origin %s", pv.URL, inst.ContentURL)
		}
		root := strings.TrimSuffix(pv.URL, "au1/index.html")

		res, body := fetch(t, "GET", pv.URL)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(body, "site.css") {
			t.Fatalf("launch page: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		etag := res.Header.Get("ETag")
		if len(etag) != 66 || strings.HasPrefix(etag, "W/") {
			t.Errorf("ETag %q is not a strong sha256 tag", etag)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("token URL Cache-Control %q must be private", cc)
		}
		if res, _ := fetch(t, "GET", pv.URL, "If-None-Match", etag); res.StatusCode != 304 {
			t.Errorf("If-None-Match: got %d, want 304", res.StatusCode)
		}
		// A relative link resolves under the same token.
		if res, body := fetch(t, "GET", root+"css/site.css"); res.StatusCode != 200 || body != "body{}" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
			t.Errorf("relative css: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		if res, body := fetch(t, "GET", root+"au1/My%20File.txt"); res.StatusCode != 200 || body != "spaced" {
			t.Errorf("escaped path: %d %q", res.StatusCode, body)
		}
		if res, body := fetch(t, "GET", root+"au1/100%25.txt"); res.StatusCode != 200 || body != "percent" {
			t.Errorf("percent in a name: %d %q", res.StatusCode, body)
		}
		if res, body := fetch(t, "GET", root+"au1/caf%C3%A9.txt"); res.StatusCode != 200 || body != "accent" {
			t.Errorf("accent in a name: %d %q", res.StatusCode, body)
		}
		if res, _ := fetch(t, "GET", root+"au1/..%2F..%2Fcmi5.xml"); res.StatusCode != 404 {
			t.Errorf("escaped traversal: %d", res.StatusCode)
		}
		// Range on a large file streams only the bytes asked for.
		res, body = fetch(t, "GET", root+"media/big.bin", "Range", "bytes=16-31")
		if res.StatusCode != 206 || body != "0123456789abcdef" || res.Header.Get("Content-Range") != "bytes 16-31/1048576" {
			t.Errorf("range: %d %q %q", res.StatusCode, res.Header.Get("Content-Range"), body)
		}
		if res, _ := fetch(t, "HEAD", root+"media/big.bin"); res.StatusCode != 200 || res.ContentLength != 1<<20 {
			t.Errorf("HEAD big: %d length %d", res.StatusCode, res.ContentLength)
		}
		// The content address serves the same bytes, cacheable forever.
		sum := strings.Trim(etag, `"`)
		res, body = fetch(t, "GET", inst.ContentURL+"/c/sha256/"+sum)
		if res.StatusCode != 200 || !strings.Contains(body, "site.css") || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			res.Header.Get("ETag") != etag || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("content address: %d %v", res.StatusCode, res.Header)
		}

		// The package root without a slash redirects to its index.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if res, err := noFollow.Get(strings.TrimSuffix(root, "/")); err != nil || res.StatusCode != 301 || res.Header.Get("Location") != strings.TrimPrefix(root, inst.ContentURL) {
			t.Errorf("root redirect: %v %v", res, err)
		}
		// Access checks.
		for _, tt := range []struct {
			name, url string
			status    int
		}{
			{"missing file", root + "nope.html", 404},
			{"no token", inst.ContentURL + "/p/" + pkg.ID + "/x/au1/index.html", 401},
			{"forged token", strings.Replace(pv.URL, "/p/"+pkg.ID+"/", "/p/"+pkg.ID+"/eyJhbGciOiJFZERTQSJ9.e30.AAAA", 1), 401},
			{"token of another package", strings.Replace(pv.URL, "/p/"+pkg.ID+"/", "/p/"+pkg.BoroughID+"/", 1), 403},
			{"session token instead of content token", inst.ContentURL + "/p/" + pkg.ID + "/" + admin.Token + "/au1/index.html", 401},
			{"unknown blob", inst.ContentURL + "/c/sha256/" + strings.Repeat("0", 64), 404},
			{"not a hash", inst.ContentURL + "/c/sha256/abc", 404},
			{"never on the app origin", inst.URL + strings.TrimPrefix(pv.URL, inst.ContentURL), 404},
			{"blobs never on the app origin", inst.URL + "/c/sha256/" + sum, 404},
		} {
			if res, _ := fetch(t, "GET", tt.url); res.StatusCode != tt.status {
				t.Errorf("%s: got %d, want %d", tt.name, res.StatusCode, tt.status)
			}
		}
		// A content token is useless on the app origin's API.
		tok := strings.Split(strings.TrimPrefix(pv.URL, inst.ContentURL+"/p/"+pkg.ID+"/"), "/")[0]
		stranger := client.New(inst.URL)
		stranger.Token = tok
		if _, err := stranger.Me(ctx); err == nil {
			t.Error("a content token signed in on the app origin")
		}
	})
}
