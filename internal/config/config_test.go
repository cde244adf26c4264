package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadAndValidate(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(secretFile, []byte("postgres://u:pw@db:5432/reach\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; empty means valid
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults are valid", env: nil, check: func(t *testing.T, c Config) {
			if c.Addr != ":8080" || c.ContentAddr != ":8081" || c.DataDir != "./data" {
				t.Errorf("got %q %q %q, want :8080 :8081 ./data", c.Addr, c.ContentAddr, c.DataDir)
			}
			if c.PublicURL != "http://localhost:8080" || c.ContentURL != "http://127.0.0.1:8081" {
				t.Errorf("got URLs %q %q", c.PublicURL, c.ContentURL)
			}
			if got := c.EffectiveDatabaseURL(); got != "sqlite:data/reach.db" {
				t.Errorf("got database %q, want sqlite:data/reach.db", got)
			}
		}},
		{name: "secret from file", env: map[string]string{"REACH_DATABASE_URL_FILE": secretFile}, check: func(t *testing.T, c Config) {
			if c.DatabaseURL != "postgres://u:pw@db:5432/reach" {
				t.Errorf("got %q", c.DatabaseURL)
			}
		}},
		{name: "file for a non-secret", env: map[string]string{"REACH_ADDR_FILE": secretFile}, wantErr: "only secrets"},
		{name: "both value and file", env: map[string]string{"REACH_DATABASE_URL": "postgres://x/y", "REACH_DATABASE_URL_FILE": secretFile}, wantErr: "both set"},
		{name: "missing secret file", env: map[string]string{"REACH_REDIS_URL_FILE": "/nonexistent/redis"}, wantErr: "REACH_REDIS_URL_FILE"},
		{name: "bad database scheme", env: map[string]string{"REACH_DATABASE_URL": "mysql://u:hunter2@h/db"}, wantErr: "REACH_DATABASE_URL (--database-url)"},
		{name: "bad redis", env: map[string]string{"REACH_REDIS_URL": "localhost:6379"}, wantErr: "REACH_REDIS_URL"},
		{name: "same origin for content", env: map[string]string{"REACH_PUBLIC_URL": "https://reach.example", "REACH_CONTENT_URL": "https://reach.example/"}, wantErr: "same origin"},
		{name: "content on the same host, another port", env: map[string]string{"REACH_PUBLIC_URL": "http://localhost:8080", "REACH_CONTENT_URL": "http://localhost:8081"}, wantErr: "REACH_ALLOW_SAME_SITE_CONTENT"},
		{name: "content on a sibling subdomain", env: map[string]string{"REACH_PUBLIC_URL": "https://app.reach.example", "REACH_CONTENT_URL": "https://content.reach.example"}, wantErr: "same site"},
		{name: "content under the app's host", env: map[string]string{"REACH_PUBLIC_URL": "https://reach.example.co.uk", "REACH_CONTENT_URL": "https://cdn.reach.example.co.uk"}, wantErr: "same site"},
		{name: "same site accepted explicitly", env: map[string]string{"REACH_PUBLIC_URL": "https://app.reach.example", "REACH_CONTENT_URL": "https://content.reach.example", "REACH_ALLOW_SAME_SITE_CONTENT": "true"}},
		{name: "content on another registrable domain", env: map[string]string{"REACH_PUBLIC_URL": "https://reach.london.example", "REACH_CONTENT_URL": "https://content.reach-london.example"}},
		{name: "public suffix hosts are separate sites", env: map[string]string{"REACH_PUBLIC_URL": "https://reach-app.github.io", "REACH_CONTENT_URL": "https://reach-content.github.io"}},
		{name: "loopback addresses on derived URLs", env: map[string]string{"REACH_ADDR": "127.0.0.1:9080", "REACH_CONTENT_ADDR": "127.0.0.1:9081"}, check: func(t *testing.T, c Config) {
			if c.PublicURL != "http://localhost:9080" || c.ContentURL != "http://127.0.0.1:9081" {
				t.Errorf("got URLs %q %q", c.PublicURL, c.ContentURL)
			}
		}},
		{name: "plain http on a real host", env: map[string]string{"REACH_PUBLIC_URL": "http://reach.example", "REACH_CONTENT_URL": "http://reach-content.example"}, wantErr: "REACH_INSECURE_DEV_COOKIES"},
		{name: "plain http on a real host, insecure dev cookies", env: map[string]string{"REACH_PUBLIC_URL": "http://reach.example", "REACH_CONTENT_URL": "http://reach-content.example", "REACH_INSECURE_DEV_COOKIES": "true"}, check: func(t *testing.T, c Config) {
			if c.SecureCookies() {
				t.Error("SecureCookies() for plain http on reach.example")
			}
		}},
		{name: "same listen address", env: map[string]string{"REACH_CONTENT_ADDR": ":8080"}, wantErr: "must differ"},
		{name: "s3 without bucket", env: map[string]string{"REACH_S3_ENDPOINT": "minio:9000", "REACH_S3_ACCESS_KEY": "a", "REACH_S3_SECRET_KEY": "b"}, wantErr: "REACH_S3_BUCKET"},
		{name: "s3 with scheme", env: map[string]string{"REACH_S3_ENDPOINT": "http://minio:9000", "REACH_S3_BUCKET": "b", "REACH_S3_ACCESS_KEY": "a", "REACH_S3_SECRET_KEY": "b"}, wantErr: "without a scheme"},
		{name: "byte suffix", env: map[string]string{"REACH_MAX_BODY_BYTES": "5MiB"}, check: func(t *testing.T, c Config) {
			if c.MaxBodyBytes != 5<<20 {
				t.Errorf("got %d, want %d", c.MaxBodyBytes, 5<<20)
			}
		}},
		{name: "bad byte count", env: map[string]string{"REACH_MAX_BODY_BYTES": "lots"}, wantErr: "byte count"},
		{name: "bad duration", env: map[string]string{"REACH_SESSION_TTL": "forever"}, wantErr: "duration"},
		{name: "bad log level", env: map[string]string{"REACH_LOG_LEVEL": "loud"}, wantErr: "REACH_LOG_LEVEL"},
		{name: "bad xAPI version", env: map[string]string{"REACH_XAPI_DEFAULT_VERSION": "1.0"}, wantErr: "REACH_XAPI_DEFAULT_VERSION"},
		{name: "bad trusted proxy", env: map[string]string{"REACH_TRUSTED_PROXIES": "10.0.0.0/8, lan"}, wantErr: "REACH_TRUSTED_PROXIES"},
		{name: "trusted proxies", env: map[string]string{"REACH_TRUSTED_PROXIES": "10.0.0.0/8, fc00::/7"}, check: func(t *testing.T, c Config) {
			if got := c.TrustedProxyNets(); len(got) != 2 || got[1] != "fc00::/7" {
				t.Errorf("got %q", got)
			}
		}},
		{name: "bad borough slug", env: map[string]string{"REACH_DEFAULT_BOROUGH": "Tower Hamlets"}, wantErr: "REACH_DEFAULT_BOROUGH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env))
			if err == nil {
				err = c.Finish()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load(env(map[string]string{"REACH_ADDR": ":9000", "REACH_LOG_LEVEL": "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--addr", ":9100", "--max-upload-bytes", "2GiB"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" || c.LogLevel != "debug" || c.MaxUploadBytes != 2<<30 {
		t.Errorf("got addr %q level %q upload %d", c.Addr, c.LogLevel, c.MaxUploadBytes)
	}
}

func TestDumpMasksSecrets(t *testing.T) {
	c := Default()
	c.DatabaseURL = "postgres://reach:hunter2@db:5432/reach?password=hunter2"
	c.S3SecretKey = "hunter2"
	c.RedisURL = "redis://:hunter2@cache:6379/0"
	out := c.Dump()
	if strings.Contains(out, "hunter2") {
		t.Fatalf("dump leaks a secret:\n%s", out)
	}
	for _, want := range []string{"REACH_DATABASE_URL=postgres://", "db:5432", "REACH_S3_SECRET_KEY=********", "REACH_ADDR=:8080"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
}
