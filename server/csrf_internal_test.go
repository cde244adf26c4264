package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/config"
)

// TestRiskySettingsWarnAtEveryStart: a content origin on the app's site
// and insecure development cookies are logged as warnings each time the
// server starts, and not otherwise.
func TestRiskySettingsWarnAtEveryStart(t *testing.T) {
	for _, tt := range []struct {
		name       string
		pub, cnt   string
		same, dev  bool
		want, dont []string
	}{
		{"two sites", "http://localhost:8080", "http://127.0.0.1:8081", false, false, nil,
			[]string{"REACH_ALLOW_SAME_SITE_CONTENT", "REACH_INSECURE_DEV_COOKIES"}},
		{"same site accepted", "https://app.reach.example", "https://content.reach.example", true, false,
			[]string{"REACH_ALLOW_SAME_SITE_CONTENT"}, []string{"REACH_INSECURE_DEV_COOKIES"}},
		{"insecure development cookies", "http://app.reach.test", "http://content.reach.test", true, true,
			[]string{"REACH_ALLOW_SAME_SITE_CONTENT", "REACH_INSECURE_DEV_COOKIES"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Addr, cfg.ContentAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.PublicURL, cfg.ContentURL = tt.pub, tt.cnt
			cfg.AllowSameSiteContent, cfg.InsecureDevCookies = tt.same, tt.dev
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				var buf bytes.Buffer
				s := New(Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
				if err := s.Start(); err != nil {
					t.Fatal(err)
				}
				_ = s.Shutdown(context.Background())
				for _, w := range tt.want {
					if !strings.Contains(buf.String(), "level=WARN msg="+`"`+w) {
						t.Errorf("no warning naming %s at start:\n%s", w, buf.String())
					}
				}
				for _, w := range tt.dont {
					if strings.Contains(buf.String(), w) {
						t.Errorf("warning naming %s at start:\n%s", w, buf.String())
					}
				}
			}
		})
	}
}

// TestDispatchLaunchURL: a dispatch plays a package file through the
// dispatch's own file route, which other LMSs may frame.
func TestDispatchLaunchURL(t *testing.T) {
	const cu = "https://content.example"
	for in, want := range map[string]string{
		cu + "/p/pkg1/tok.en/au/index.html?fetch=x&endpoint=y": cu + "/d/dsp_1/pkg1/au/index.html?fetch=x&endpoint=y",
		cu + "/player/attempt#token=x":                         cu + "/player/attempt#token=x",
		cu + "/p/pkg1":                                         cu + "/p/pkg1",
		"https://elsewhere.example/p/pkg1/tok/index.html":      "https://elsewhere.example/p/pkg1/tok/index.html",
	} {
		if got := dispatchLaunchURL(in, cu, "dsp_1"); got != want {
			t.Errorf("dispatchLaunchURL(%s) = %s, want %s", in, got, want)
		}
	}
}
