package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/internal/testenv"
)

func newKey(t *testing.T) string {
	t.Helper()
	code, out, errOut := cli(t, nil, "secrets", "new-key")
	if code != 0 {
		t.Fatalf("secrets new-key: exit %d: %s", code, errOut)
	}
	if _, err := secretbox.ParseKey(out); err != nil {
		t.Fatalf("secrets new-key printed %q: %v", out, err)
	}
	return strings.TrimSpace(out)
}

// TestSecretsKeyFileEmbedded: the embedded setup seals with a key file it
// creates once (mode 0600) and reuses, so its sealed signing key loads on
// the next start.
func TestSecretsKeyFileEmbedded(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"REACH_DATA_DIR": dir}
	if code, _, errOut := cli(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	for range 2 {
		if code, _, errOut := cli(t, env, "borough", "list"); code != 0 {
			t.Fatalf("borough list: exit %d: %s", code, errOut)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets.key mode %v, want 0600", fi.Mode().Perm())
	}
	code, out, errOut := cli(t, env, "secrets", "reseal")
	if code != 0 || !strings.Contains(out, "resealed 0 forwarding target secret(s) and 0 signing key(s)") {
		t.Errorf("reseal on the embedded setup: exit %d, %q %q; its key was sealed from the start", code, out, errOut)
	}
}

// TestSecretsKeyRotation walks an operator through it on PostgreSQL: a
// deployment that started without a key, setting one, rotating it.
func TestSecretsKeyRotation(t *testing.T) {
	env := map[string]string{"REACH_DATA_DIR": t.TempDir(), "REACH_DATABASE_URL": testenv.PostgresURL(t)}
	if code, _, errOut := cli(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	first, second := newKey(t), newKey(t)
	with := func(key, previous string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["REACH_SECRETS_KEY"], e["REACH_SECRETS_KEYS_PREVIOUS"] = key, previous
		return e
	}
	steps := []struct {
		env      map[string]string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{env, []string{"borough", "create", "camden"}, 0, "created borough camden", ""},
		{env, []string{"secrets", "reseal"}, 1, "", "REACH_SECRETS_KEY is not set"},
		{with("dG9vIHNob3J0", ""), []string{"borough", "list"}, 1, "", "REACH_SECRETS_KEY (--secrets-key): the key is 9 bytes"},
		{with("", first), []string{"borough", "list"}, 1, "", "needs REACH_SECRETS_KEY"},
		{with(first, ""), []string{"secrets", "reseal"}, 0, "resealed 0 forwarding target secret(s) and 1 signing key(s)", ""},
		{with(first, ""), []string{"secrets", "reseal"}, 0, "resealed 0 forwarding target secret(s) and 0 signing key(s)", ""},
		{env, []string{"borough", "list"}, 1, "", "no secrets key is set"},
		{with(second, ""), []string{"borough", "list"}, 1, "", "neither REACH_SECRETS_KEY"},
		{with(second, first), []string{"borough", "list"}, 0, "camden", ""},
		{with(second, first), []string{"secrets", "reseal"}, 0, "1 signing key(s) with key " + secretbox.KeyID(mustParseKey(t, second)), ""},
		{with(second, ""), []string{"borough", "list"}, 0, "camden", ""},
		{with(second, ""), []string{"secrets", "reseal", "extra"}, 2, "", "takes no arguments"},
	}
	for _, s := range steps {
		code, out, errOut := cli(t, s.env, s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
			t.Errorf("reach %s (key %.6q, previous %.6q): got exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				strings.Join(s.args, " "), s.env["REACH_SECRETS_KEY"], s.env["REACH_SECRETS_KEYS_PREVIOUS"], code, out, errOut,
				s.wantCode, s.wantOut, s.wantErr)
		}
	}
}

func mustParseKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := secretbox.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
