// Package csrf derives the app origin's CSRF token from the cookie it is
// bound to and names the cookies, so the server, the test harness and the
// load generator agree without the latter two importing the server.
package csrf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
)

// Token is the CSRF token that goes with a session cookie's value (or,
// before sign-in, the anonymous CSRF cookie's): an HMAC keyed by that
// secret, so it is bound to the session, worthless without it, and every
// replica computes it without shared state. Pages carry it in their forms
// and the JSON login answer returns it; a Go client holding the cookie
// may compute it.
func Token(cookieValue string) string {
	m := hmac.New(sha256.New, []byte(cookieValue))
	m.Write([]byte("reach csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SessionCookie is the session cookie's name: __Host- prefixed unless the
// configuration allowed insecure development cookies
// (REACH_INSECURE_DEV_COOKIES), which browsers would refuse with it.
func SessionCookie(secure bool) string { return prefix(secure) + "reach_session" }

// AnonCookie is the name of the anonymous CSRF cookie a visitor gets
// before signing in; see SessionCookie.
func AnonCookie(secure bool) string { return prefix(secure) + "reach_csrf" }

func prefix(secure bool) string {
	if secure {
		return "__Host-"
	}
	return ""
}

// FromJar is the token a client holding jar's cookies for base sends:
// bound to its session cookie, else to its anonymous CSRF cookie; "" when
// it has neither.
func FromJar(jar http.CookieJar, base string) string {
	if v := cookie(jar, base, SessionCookie(true), SessionCookie(false)); v != "" {
		return Token(v)
	}
	if v := cookie(jar, base, AnonCookie(true), AnonCookie(false)); v != "" {
		return Token(v)
	}
	return ""
}

// SessionFromJar is jar's session cookie for base, or "".
func SessionFromJar(jar http.CookieJar, base string) string {
	return cookie(jar, base, SessionCookie(true), SessionCookie(false))
}

func cookie(jar http.CookieJar, base string, names ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	for _, name := range names {
		for _, ck := range jar.Cookies(u) {
			if ck.Name == name && ck.Value != "" {
				return ck.Value
			}
		}
	}
	return ""
}
