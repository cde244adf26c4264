package clustertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/reach-london/reach/internal/csrf"
)

// Browser is a learner's browser: it keeps cookies and does not follow
// redirects. Cookies ignore ports, so a session cookie set by one replica
// is sent to every replica on 127.0.0.1, as behind a load balancer.
type Browser struct {
	Base string // replica the next request goes to
	IP   string // sent as X-Forwarded-For: each simulated learner has its own address
	HTTP *http.Client
}

// NewBrowser returns a browser talking to base.
func NewBrowser(base, ip string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Base: base, IP: ip, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends a request (a form when form is non-nil) and returns the status
// and body.
func (b *Browser) Do(ctx context.Context, method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.Base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.IP != "" {
		req.Header.Set("X-Forwarded-For", b.IP)
	}
	res, err := b.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, string(out), err
}

// Cookie returns the value of the named cookie for 127.0.0.1.
func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.Base)
	for _, c := range b.HTTP.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// CSRF is the token the browser's forms carry: the one bound to its
// session cookie (see csrf.FromJar).
func (b *Browser) CSRF() string { return csrf.FromJar(b.HTTP.Jar, b.Base) }

// SessionCookie is the browser's session cookie, "" when signed out.
func (b *Browser) SessionCookie() string { return csrf.SessionFromJar(b.HTTP.Jar, b.Base) }

// StatusError is an unexpected HTTP answer.
type StatusError struct {
	What   string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	body := e.Body
	// For an HTML page, its title says enough.
	if _, rest, ok := strings.Cut(body, "<title>"); ok {
		body, _, _ = strings.Cut(rest, "</title>")
	}
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%s: HTTP %d %s", e.What, e.Status, body)
}

// SignUp creates a learner account in borough and leaves the browser
// signed in.
func (b *Browser) SignUp(ctx context.Context, borough, name, email, password string) error {
	st, body, err := b.Do(ctx, http.MethodPost, "/b/"+borough+"/signup", url.Values{"name": {name}, "email": {email},
		"password": {password}, "profession": {"linkworker"}})
	if err != nil {
		return err
	}
	if st != http.StatusSeeOther {
		return &StatusError{"sign up", st, body}
	}
	// Sign-up signs no one in (it answers the same for an address that
	// already has an account).
	return b.SignIn(ctx, borough, email, password)
}

// SignIn signs the browser in.
func (b *Browser) SignIn(ctx context.Context, borough, email, password string) error {
	st, body, err := b.Do(ctx, http.MethodPost, "/b/"+borough+"/signin", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		return err
	}
	if st != http.StatusSeeOther {
		return &StatusError{"sign in", st, body}
	}
	return nil
}

var moduleRE = regexp.MustCompile(`/modules/([^/"]+)/launch`)

// Modules reads the dashboard and returns the module ids in order.
func (b *Browser) Modules(ctx context.Context, borough string) ([]string, error) {
	st, body, err := b.Do(ctx, http.MethodGet, "/b/"+borough+"/dashboard", nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, &StatusError{"dashboard", st, body}
	}
	var out []string
	for _, m := range moduleRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard shows no modules")
	}
	return out, nil
}

var launchURLRE = regexp.MustCompile(`href="([^"]+)" data-launch-url`)

// Launch is what a cmi5 launch URL carries.
type Launch struct {
	URL                                       string // the AU's launch URL on the content origin
	Endpoint, Fetch, Registration, ActivityID string
	Actor                                     json.RawMessage
}

// LaunchModule presses the module's launch button and reads the launch URL.
func (b *Browser) LaunchModule(ctx context.Context, borough, module string) (Launch, error) {
	st, body, err := b.Do(ctx, http.MethodPost, "/b/"+borough+"/modules/"+module+"/launch", url.Values{"_csrf": {b.CSRF()}})
	if err != nil {
		return Launch{}, err
	}
	if st != http.StatusOK {
		return Launch{}, &StatusError{"launch", st, body}
	}
	m := launchURLRE.FindStringSubmatch(body)
	if m == nil {
		return Launch{}, fmt.Errorf("launch page has no launch link")
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return Launch{}, err
	}
	q := u.Query()
	return Launch{URL: u.String(), Endpoint: q.Get("endpoint"), Fetch: q.Get("fetch"), Registration: q.Get("registration"),
		ActivityID: q.Get("activityId"), Actor: json.RawMessage(q.Get("actor"))}, nil
}

// Rebase points a URL the cluster issued (with the shared public URL) at
// one replica, as the load balancer would route it.
func Rebase(raw, base string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	b, err := url.Parse(base)
	if err != nil {
		return raw
	}
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String()
}

// FetchToken redeems a cmi5 fetch URL; it returns the HTTP status, the
// auth-token (on success) and the cmi5 error-code (on failure).
func FetchToken(ctx context.Context, hc *http.Client, fetchURL string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fetchURL, nil)
	if err != nil {
		return 0, "", "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	var out map[string]string
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out["auth-token"], out["error-code"], nil
}

// AU is a launched assignable unit talking to the LRS with its token.
type AU struct {
	Base         string // replica the next request goes to (…/xapi/ is appended)
	Token        string // Basic auth-token
	Launch       Launch
	SessionID    string
	MasteryScore float64
	HTTP         *http.Client
}

// XAPI sends an xAPI request with the AU's token.
func (a *AU) XAPI(ctx context.Context, method, path string, body any) (int, []byte, error) {
	return xapiDo(ctx, a.HTTP, method, a.Base+"/xapi/"+path, "Basic "+a.Token, body)
}

func xapiDo(ctx context.Context, hc *http.Client, method, u, authz string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// ReadLaunchData reads LMS.LaunchData for the session id and mastery score.
func (a *AU) ReadLaunchData(ctx context.Context) error {
	q := url.Values{"activityId": {a.Launch.ActivityID}, "agent": {string(a.Launch.Actor)},
		"registration": {a.Launch.Registration}, "stateId": {"LMS.LaunchData"}}
	st, raw, err := a.XAPI(ctx, http.MethodGet, "activities/state?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return &StatusError{"LMS.LaunchData", st, string(raw)}
	}
	var ld struct {
		ContextTemplate struct {
			Extensions map[string]string `json:"extensions"`
		} `json:"contextTemplate"`
		MasteryScore *float64 `json:"masteryScore"`
	}
	if err := json.Unmarshal(raw, &ld); err != nil {
		return err
	}
	a.SessionID = ld.ContextTemplate.Extensions[extSessionID]
	if ld.MasteryScore != nil {
		a.MasteryScore = *ld.MasteryScore
	}
	if a.SessionID == "" {
		return fmt.Errorf("LMS.LaunchData has no session id")
	}
	return nil
}

// xAPI and cmi5 identifiers used by the simulated AU.
const (
	extSessionID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
	catCMI5      = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
	catMoveOn    = "https://w3id.org/xapi/cmi5/context/categories/moveon"
	VerbInit     = "http://adlnet.gov/expapi/verbs/initialized"
	VerbComplete = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed   = "http://adlnet.gov/expapi/verbs/passed"
	VerbTerm     = "http://adlnet.gov/expapi/verbs/terminated"
	VerbExp      = "http://adlnet.gov/expapi/verbs/experienced"
	VerbAnswered = "http://adlnet.gov/expapi/verbs/answered"
)

// Statement builds a statement in the AU's session with a fresh id.
// cmi5 marks a cmi5-defined statement, moveOn one that counts for moveOn.
func (a *AU) Statement(verb string, object string, cmi5, moveOn bool, result map[string]any) map[string]any {
	cats := []any{}
	if cmi5 {
		cats = append(cats, map[string]any{"id": catCMI5})
	}
	if moveOn {
		cats = append(cats, map[string]any{"id": catMoveOn})
	}
	if object == "" {
		object = a.Launch.ActivityID
	}
	ctxv := map[string]any{"registration": a.Launch.Registration,
		"extensions": map[string]any{extSessionID: a.SessionID}}
	if len(cats) > 0 {
		ctxv["contextActivities"] = map[string]any{"category": cats}
	}
	s := map[string]any{"id": uuid.NewString(), "actor": a.Launch.Actor, "verb": map[string]any{"id": verb},
		"object": map[string]any{"id": object}, "context": ctxv}
	if result != nil {
		s["result"] = result
	}
	return s
}

// Post sends statements and expects 200.
func (a *AU) Post(ctx context.Context, what string, stmts ...map[string]any) error {
	var body any = stmts
	if len(stmts) == 1 {
		body = stmts[0]
	}
	st, raw, err := a.XAPI(ctx, http.MethodPost, "statements", body)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return &StatusError{what, st, string(raw)}
	}
	return nil
}

// LRSClient reads and writes the LRS with Basic credentials.
type LRSClient struct {
	Cred Credential
	HTTP *http.Client
}

// Do sends an xAPI request to base+"/xapi/"+path.
func (c LRSClient) Do(ctx context.Context, base, method, path string, body any) (int, []byte, error) {
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Cred.Key+":"+c.Cred.Secret))
	return xapiDo(ctx, c.HTTP, method, base+"/xapi/"+path, authz, body)
}

// StatementIDs pages through GET /xapi/statements with the query q and
// returns every statement id, following "more" links.
func (c LRSClient) StatementIDs(ctx context.Context, base string, q url.Values) ([]string, error) {
	var ids []string
	path := "statements?" + q.Encode()
	for path != "" {
		st, raw, err := c.Do(ctx, base, http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		if st != http.StatusOK {
			return nil, &StatusError{"GET statements", st, string(raw)}
		}
		var res struct {
			Statements []struct {
				ID string `json:"id"`
			} `json:"statements"`
			More string `json:"more"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, err
		}
		for _, s := range res.Statements {
			ids = append(ids, s.ID)
		}
		path = ""
		if res.More != "" {
			// more is an absolute path on the LRS (…/xapi/statements?…).
			_, rest, ok := strings.Cut(res.More, "/xapi/")
			if !ok {
				return nil, fmt.Errorf("unexpected more link %q", res.More)
			}
			path = rest
		}
	}
	return ids, nil
}
