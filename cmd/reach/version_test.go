package main

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name    string
		ldflags string
		info    *debug.BuildInfo
		want    string
	}{
		{"ldflags win", "v1.4.0-3-gabc1234", &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}}, "v1.4.0-3-gabc1234"},
		{"go install of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"git checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef0123", "false")}, "0123456789ab"},
		{"changed checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef0123", "true")}, "0123456789ab-dirty"},
		{"go run", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build info", "", nil, "dev"},
	}
	for _, tt := range tests {
		if got := versionFrom(tt.ldflags, tt.info, tt.info != nil); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// `reach --version` works like `reach version`, and a binary built the way
// `make build` builds it reports the version it was given (issue 15).
func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := cli(t, nil, args...)
		if code != 0 || out != "reach "+buildVersion()+"\n" {
			t.Errorf("reach %s: exit %d, stdout %q, stderr %q", args[0], code, out, errOut)
		}
	}
	bin := filepath.Join(t.TempDir(), "reach")
	build := exec.Command("go", "build", "-ldflags=-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || string(out) != "reach v9.8.7-test\n" {
		t.Errorf("built binary --version: %v %q", err, out)
	}
}

// A command's --help shows its usage and own flags first, then names the
// shared configuration flags once in a short section (issue 15).
func TestHelpShowsTheCommandsOwnFlagsFirst(t *testing.T) {
	code, out, _ := cli(t, nil, "admin", "create", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	usage, flags, config := strings.Index(out, "Usage: reach admin create EMAIL"), strings.Index(out, "-borough"), strings.Index(out, "Configuration, shared by every command")
	if usage != 0 || flags < 0 || config < flags {
		t.Errorf("want usage, then the command's flags, then the shared configuration:\n%s", out)
	}
	if strings.Contains(out, "app listen address") || strings.Count(out, "--database-url") != 1 || len(strings.Split(out, "\n")) > 20 {
		t.Errorf("the shared configuration is described at length or more than once:\n%s", out)
	}
	code, out, _ = cli(t, nil, "help", "config")
	if code != 0 || !strings.Contains(out, "app listen address") || !strings.Contains(out, "REACH_DATABASE_URL") {
		t.Errorf("reach help config: exit %d\n%s", code, out)
	}
}
