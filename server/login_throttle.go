package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// LoginBackoff slows repeated failed sign-ins of one account from one
// address (ratelimit.Backoff).
type LoginBackoff interface {
	Wait(ctx context.Context, key string) (time.Duration, error)
	Fail(ctx context.Context, key string) (time.Duration, error)
	Reset(ctx context.Context, key string) error
}

// Sign-in throttling. Two rules, neither of which lets a stranger lock an
// account's owner out:
//   - per client address, at most loginPerAddress attempts in
//     loginWindow, whatever the accounts (slows one address trying many);
//   - per (account, address), failures beyond a few make that address
//     wait before its next try for that account, doubling each time
//     (LoginBackoff): the owner signing in from another address is not
//     slowed at all, and a success forgets the failures.
//
// The account is named by borough and email as typed, whether or not it
// exists, so throttling reveals nothing about which accounts exist.
const (
	loginPerAddress = 30
	loginWindow     = 10 * time.Minute
)

func loginKey(c echo.Context, borough, email string) string {
	sum := sha256.Sum256([]byte(borough + "\x00" + auth.NormalizeEmail(email)))
	return "login:" + hex.EncodeToString(sum[:12]) + "|" + c.RealIP()
}

// loginAllowed checks both rules before a sign-in attempt; it answers a
// RateLimited error with a Retry-After header when the attempt must wait.
func (s *Server) loginAllowed(c echo.Context, borough, email string) error {
	if err := s.limit(c, "login:ip:"+c.RealIP(), loginPerAddress, loginWindow); err != nil {
		return err
	}
	if s.deps.LoginBackoff == nil {
		return nil
	}
	wait, err := s.deps.LoginBackoff.Wait(c.Request().Context(), loginKey(c, borough, email))
	if err != nil {
		s.log.Warn("sign-in backoff unavailable", "err", err)
		return nil
	}
	if wait > 0 {
		secs := int(wait.Seconds() + 0.999)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return errs.E(errs.RateLimited, "too many failed sign-ins to this account from your address; try again in %d seconds", secs)
	}
	return nil
}

// loginDone records the outcome of a sign-in attempt that was allowed: a
// wrong email or password counts towards the backoff, a success forgets it.
func (s *Server) loginDone(c echo.Context, borough, email string, err error) {
	if s.deps.LoginBackoff == nil {
		return
	}
	ctx, key := c.Request().Context(), loginKey(c, borough, email)
	var ferr error
	switch {
	case err == nil:
		ferr = s.deps.LoginBackoff.Reset(ctx, key)
	case errs.Is(err, errs.Unauthorized):
		_, ferr = s.deps.LoginBackoff.Fail(ctx, key)
	}
	if ferr != nil {
		s.log.Warn("sign-in backoff unavailable", "err", ferr)
	}
}
