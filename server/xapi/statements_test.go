package xapi

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

const sid1 = "11111111-1111-4111-8111-111111111111"

func statementJSON(actor, activity string) string {
	return `{"actor":{"mbox":"mailto:` + actor + `@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"` + activity + `","definition":{"name":{"en":"Thing"}}}}`
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func eachDB(t *testing.T, fn func(t *testing.T, h *harness)) {
	for name, u := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) { fn(t, newHarness(t, u)) })
	}
}

func TestStatementsScenarios(t *testing.T) {
	eachDB(t, func(t *testing.T, h *harness) {
		steps := []struct {
			name       string
			method     string
			path       string
			user, ver  string
			body       string
			hdr        map[string]string
			wantStatus int
			wantBody   string // substring
			wantHeader map[string]string
		}{
			{"no version header", "GET", "/xapi/statements", "a", "", "", nil, 400, "X-Experience-API-Version", map[string]string{HeaderVersion: "2.0.0"}},
			{"old version", "GET", "/xapi/statements", "a", "0.95", "", nil, 400, "not supported", nil},
			{"no credentials", "GET", "/xapi/statements", "", "1.0.3", "", nil, 401, "", map[string]string{"WWW-Authenticate": `Basic realm="xapi"`}},
			{"put", "PUT", "/xapi/statements?statementId=" + sid1, "a", "1.0.3", statementJSON("ada", "http://example.org/a/1"), nil, 204, "", map[string]string{HeaderVersion: "1.0.3"}},
			{"put same again", "PUT", "/xapi/statements?statementId=" + sid1, "a", "1.0.3", statementJSON("ada", "http://example.org/a/1"), nil, 204, "", nil},
			{"put different content", "PUT", "/xapi/statements?statementId=" + sid1, "a", "1.0.3", statementJSON("bob", "http://example.org/a/1"), nil, 409, "immutable", nil},
			{"put an array", "PUT", "/xapi/statements?statementId=" + sid1, "a", "1.0.3", "[" + statementJSON("ada", "http://example.org/a/1") + "]", nil, 400, "not an array", nil},
			{"put without id", "PUT", "/xapi/statements", "a", "1.0.3", statementJSON("ada", "http://example.org/a/1"), nil, 400, "statementId", nil},
			{"get it", "GET", "/xapi/statements?statementId=" + sid1, "a", "2.0.0", "", nil, 200, `"id":"` + sid1 + `"`, map[string]string{HeaderVersion: "2.0.0"}},
			{"other borough cannot see it", "GET", "/xapi/statements?statementId=" + sid1, "b", "1.0.3", "", nil, 404, "", nil},
			{"other borough query is empty", "GET", "/xapi/statements", "b", "1.0.3", "", nil, 200, `{"statements":[],"more":""}`, nil},
			{"other borough sees no definition", "GET", "/xapi/activities?activityId=http://example.org/a/1", "b", "1.0.3", "", nil, 200, `{"id":"http://example.org/a/1","objectType":"Activity"}`, nil},
			{"own borough sees the definition", "GET", "/xapi/activities?activityId=http://example.org/a/1", "a", "1.0.3", "", nil, 200, `"definition":{"name":{"en":"Thing"}}`, nil},
			{"post batch", "POST", "/xapi/statements", "a", "1.0.3", "[" + statementJSON("ada", "http://example.org/a/2") + "," + statementJSON("bob", "http://example.org/a/2") + "]", nil, 200, `","`, nil},
			{"post bad batch stores nothing", "POST", "/xapi/statements", "a", "1.0.3", "[" + statementJSON("cat", "http://example.org/a/3") + `,{"actor":{}}]`, nil, 400, "statements[1].actor", nil},
			{"nothing of the bad batch", "GET", "/xapi/statements?activity=http://example.org/a/3", "a", "1.0.3", "", nil, 200, `{"statements":[],"more":""}`, nil},
			{"post wrong content type", "POST", "/xapi/statements", "a", "1.0.3", statementJSON("ada", "http://example.org/a/1"), map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 400, "application/json or multipart/mixed", nil},
			{"read-only cannot write", "POST", "/xapi/statements", "ro", "1.0.3", statementJSON("ada", "http://example.org/a/1"), nil, 403, "statements/write", nil},
			{"write-only cannot read", "GET", "/xapi/statements", "wo", "1.0.3", "", nil, 403, "statements/read", nil},
			{"query by agent", "GET", "/xapi/statements?agent=" + url.QueryEscape(`{"mbox":"mailto:bob@example.org"}`), "a", "1.0.3", "", nil, 200, "bob@example.org", map[string]string{"Last-Modified": "*"}},
			{"unknown parameter", "GET", "/xapi/statements?colour=red", "a", "1.0.3", "", nil, 400, "colour", map[string]string{HeaderConsistentThrough: "*"}},
			{"statementId with agent", "GET", "/xapi/statements?statementId=" + sid1 + "&agent=" + url.QueryEscape(`{"mbox":"mailto:a@b.c"}`), "a", "1.0.3", "", nil, 400, "cannot be combined", nil},
			{"head has no body", "HEAD", "/xapi/statements?statementId=" + sid1, "a", "1.0.3", "", nil, 200, "", map[string]string{"Last-Modified": "*"}},
			{"agents resource", "GET", "/xapi/agents?agent=" + url.QueryEscape(`{"mbox":"mailto:ada@example.org","name":"Ada"}`), "a", "1.0.3", "", nil, 200, `{"objectType":"Person","name":["Ada"],"mbox":["mailto:ada@example.org"]}`, nil},
			{"agents resource bad agent", "GET", "/xapi/agents?agent=" + url.QueryEscape(`{"name":"Ada"}`), "a", "1.0.3", "", nil, 400, "exactly one of", nil},
			{"alternate syntax GET", "POST", "/xapi/statements?method=GET", "a", "1.0.3", "limit=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, `"statements":[{`, nil},
			{"alternate syntax with extra query", "POST", "/xapi/statements?method=GET&limit=1", "a", "1.0.3", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "no query parameter but method", nil},
			{"alternate syntax in 2.0", "POST", "/xapi/statements?method=GET", "a", "2.0.0", "limit=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "not part of xAPI 2.0", nil},
			{"preflight", "OPTIONS", "/xapi/statements", "", "", "", map[string]string{"Origin": "https://content.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,x-experience-api-version"}, 204, "", map[string]string{"Access-Control-Allow-Origin": "*"}},
		}
		for _, s := range steps {
			resp := h.do(t, s.method, s.path, s.user, s.ver, s.body, s.hdr)
			body := readAll(t, resp)
			if resp.StatusCode != s.wantStatus {
				t.Errorf("%s: got status %d, want %d (body %s)", s.name, resp.StatusCode, s.wantStatus, body)
				continue
			}
			if !strings.Contains(body, s.wantBody) {
				t.Errorf("%s: got body %s, want it to contain %s", s.name, body, s.wantBody)
			}
			if s.method == "HEAD" && body != "" {
				t.Errorf("%s: got a body on HEAD", s.name)
			}
			for k, v := range s.wantHeader {
				got := resp.Header.Get(k)
				if (v == "*" && got == "") || (v != "*" && got != v) {
					t.Errorf("%s: got header %s=%q, want %q", s.name, k, got, v)
				}
			}
		}
	})
}

func TestMorePaging(t *testing.T) {
	h := newHarness(t, testenv.SQLiteURL(t))
	for i := 0; i < 3; i++ {
		resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", statementJSON("ada", "http://example.org/m"), nil)
		readAll(t, resp)
	}
	resp := h.do(t, "GET", "/xapi/statements?limit=2", "a", "1.0.3", "", nil)
	var page struct {
		Statements []json.RawMessage
		More       string
	}
	if err := json.Unmarshal([]byte(readAll(t, resp)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Statements) != 2 || !strings.HasPrefix(page.More, "/xapi/statements?more=") {
		t.Fatalf("got %d statements and more %q", len(page.Statements), page.More)
	}
	firstMore := page.More
	resp = h.do(t, "GET", page.More, "a", "1.0.3", "", nil)
	if err := json.Unmarshal([]byte(readAll(t, resp)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Statements) != 1 || page.More != "" {
		t.Fatalf("second page: got %d statements and more %q, want 1 and none", len(page.Statements), page.More)
	}
	// Another borough following the link sees only its own statements.
	resp = h.do(t, "GET", firstMore, "b", "1.0.3", "", nil)
	if got := readAll(t, resp); got != `{"statements":[],"more":""}` {
		t.Fatalf("other borough following a more link: got %s, want no statements", got)
	}
}

func multipartRequest(t *testing.T, stmt string, parts map[string][]byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreatePart(map[string][]string{"Content-Type": {"application/json"}})
	w.Write([]byte(stmt))
	for ct, data := range parts {
		sum := sha256.Sum256(data)
		w, _ := mw.CreatePart(map[string][]string{"Content-Type": {ct}, "Content-Transfer-Encoding": {"binary"},
			"X-Experience-API-Hash": {hex.EncodeToString(sum[:])}})
		w.Write(data)
	}
	mw.Close()
	return buf.String(), "multipart/mixed; boundary=" + mw.Boundary()
}

func TestAttachmentsRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, h *harness) {
		data := []byte("a certificate of completion")
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		stmt := `{"id":"` + sid1 + `","actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/a"},
			"attachments":[{"usageType":"http://example.org/certificate","display":{"en":"Certificate"},"contentType":"text/plain","length":27,"sha2":"` + sha + `"}]}`
		// Without the part the statement is refused.
		resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", stmt, nil)
		if body := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(body, "no fileUrl") {
			t.Fatalf("attachment without part: got %d %s", resp.StatusCode, body)
		}
		body, ct := multipartRequest(t, stmt, map[string][]byte{"text/plain": data})
		resp = h.do(t, "POST", "/xapi/statements", "a", "1.0.3", body, map[string]string{"Content-Type": ct})
		if got := readAll(t, resp); resp.StatusCode != 200 {
			t.Fatalf("multipart post: got %d %s", resp.StatusCode, got)
		}
		resp = h.do(t, "GET", "/xapi/statements?attachments=true&statementId="+sid1, "a", "1.0.3", "", nil)
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/mixed" {
			t.Fatalf("got Content-Type %q, want multipart/mixed", resp.Header.Get("Content-Type"))
		}
		stmts, parts, err := lrs.ParseMultipart(resp.Body, params["boundary"], 1<<20)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(stmts), sid1) || len(parts) != 1 || !bytes.Equal(parts[0].Data, data) {
			t.Fatalf("got %s and %d parts", stmts, len(parts))
		}
		// Another borough cannot fetch the statement or its bytes.
		resp = h.do(t, "GET", "/xapi/statements?attachments=true&statementId="+sid1, "b", "1.0.3", "", nil)
		if readAll(t, resp); resp.StatusCode != 404 {
			t.Fatalf("other borough: got %d, want 404", resp.StatusCode)
		}
	})
}

func signJWS(t *testing.T, key *rsa.PrivateKey, cert []byte, payload string) string {
	t.Helper()
	hdr, _ := json.Marshal(map[string]any{"alg": "RS256", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}})
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestSignedStatements(t *testing.T) {
	h := newHarness(t, testenv.SQLiteURL(t))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	original := statementJSON("ada", "http://example.org/signed")
	tests := []struct {
		name    string
		payload string
		want    int
	}{
		{"matching payload", original, 200},
		{"tampered payload", statementJSON("eve", "http://example.org/signed"), 400},
	}
	for _, tt := range tests {
		jws := signJWS(t, key, cert, tt.payload)
		sum := sha256.Sum256([]byte(jws))
		stmt := strings.TrimSuffix(original, "}") + `,"attachments":[{"usageType":"` + lrs.SignatureUsageType +
			`","display":{"en":"Signature"},"contentType":"application/octet-stream","length":` + itoa(len(jws)) + `,"sha2":"` + hex.EncodeToString(sum[:]) + `"}]}`
		body, ct := multipartRequest(t, stmt, map[string][]byte{"application/octet-stream": []byte(jws)})
		resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", body, map[string]string{"Content-Type": ct})
		if got := readAll(t, resp); resp.StatusCode != tt.want {
			t.Errorf("%s: got %d %s, want %d", tt.name, resp.StatusCode, got, tt.want)
		}
	}
}

// TestAlternateSyntaxAfterParsedForm covers a middleware before ours
// having parsed (and so consumed) the form body.
func TestAlternateSyntaxAfterParsedForm(t *testing.T) {
	h := newHarness(t, testenv.SQLiteURL(t))
	e := echo.New()
	e.HTTPErrorHandler = testErrorHandler
	g := e.Group("/xapi", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			_ = c.Request().ParseForm()
			return next(c)
		}
	})
	New(Deps{Statements: h.svc, Auth: h.auth}).Register(g)
	form := url.Values{"statementId": {sid1}, "content": {statementJSON("ada", "http://example.org/alt")},
		"X-Experience-API-Version": {"1.0.3"}, "Authorization": {basic("a")}}
	req := httptest.NewRequest("POST", "/xapi/statements?method=PUT", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("got %d %s, want 204", rec.Code, rec.Body.String())
	}
}

func TestDefaultVersion(t *testing.T) {
	tests := []struct {
		configured lrs.Version
		want       string
	}{
		{"", "2.0.0"},
		{lrs.V103, "1.0.3"},
		{"1.0", "1.0.3"},
		{"9.9", "2.0.0"},
	}
	for _, tt := range tests {
		h := newHarnessWith(t, testenv.SQLiteURL(t), func(d *Deps) { d.DefaultVersion = tt.configured })
		resp := h.do(t, "GET", "/xapi/statements", "a", "", "", nil)
		readAll(t, resp)
		if resp.StatusCode != 400 || resp.Header.Get(HeaderVersion) != tt.want {
			t.Errorf("default %q: got %d with version %q, want 400 with %q", tt.configured, resp.StatusCode, resp.Header.Get(HeaderVersion), tt.want)
		}
	}
}

func TestStatementsBodyLimit(t *testing.T) {
	h := newHarnessWith(t, testenv.SQLiteURL(t), func(d *Deps) { d.MaxAttachmentBytes = 1000 })
	big := "[" + strings.TrimSuffix(strings.Repeat(statementJSON("ada", "http://example.org/big")+",", 20), ",") + "]"
	resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", big, nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s, want 413", resp.StatusCode, body)
	}
	resp = h.do(t, "POST", "/xapi/statements", "a", "1.0.3", statementJSON("ada", "http://example.org/small"), nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("small statement: got %d %s, want 200", resp.StatusCode, body)
	}
}
