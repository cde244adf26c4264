// Command reach is the Reach server and its administration CLI.
//
// Every subcommand reads the same configuration as `reach serve`
// (REACH_* environment variables, *_FILE secrets, and flags), exits
// non-zero on error, and has --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/reach-london/reach/internal/app"
)

// command is one subcommand. Names with a space ("borough create") are
// reached by their words in order.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what a subcommand may touch, so tests can run commands
// in-process with their own output and environment.
type cliEnv struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cliEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	app.Version = buildVersion()
	os.Exit(runCLI(ctx, env, os.Args[1:]))
}

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func runCLI(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		if len(args) == 2 && args[0] == "help" && args[1] == "config" {
			printConfigHelp(env.stdout)
			return 0
		}
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			printUsage(env.stdout)
			return 0
		}
		fmt.Fprintf(env.stderr, "reach: unknown command %q\n\n", strings.Join(args, " "))
		printUsage(env.stderr)
		return 2
	}
	err := cmd.run(ctx, env, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.stderr, "reach %s: %s\nRun 'reach %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
		return 2
	}
	fmt.Fprintf(env.stderr, "reach %s: %v\n", cmd.name, err)
	return 1
}

// findCommand matches the longest command name made of leading args.
func findCommand(args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		match := true
		for j, w := range words {
			if args[j] != w {
				match = false
				break
			}
		}
		if match {
			best, bestLen = &commands[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: reach <command> [flags]")
	fmt.Fprintln(w, "\nReach serves the course, its player and tracker, and a Learning Record Store.")
	fmt.Fprintln(w, "\nCommands:")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command reads REACH_* environment variables; run 'reach <command> --help' for its flags,")
	fmt.Fprintln(w, "'reach help config' for the configuration they share, and 'reach --version' for the version.")
}

// version is set at build time by `make build` with
// -ldflags "-X main.version=$(git describe --always --dirty)"; otherwise
// buildVersion reads what the Go toolchain recorded.
var version = ""

// buildVersion is the version this binary was built as: the ldflags
// value, else the main module's version (`go install ...@v1.2.3`), else
// the VCS revision `go build` stamps from a git checkout (with "-dirty"
// when the tree had changes), else "dev" (`go run`, tests).
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	return versionFrom(version, info, ok)
}

func versionFrom(ldflags string, info *debug.BuildInfo, ok bool) string {
	if ldflags != "" {
		return ldflags
	}
	if !ok || info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func init() {
	register(command{name: "version", summary: "print the version (also --version)", run: func(ctx context.Context, env *cliEnv, args []string) error {
		fmt.Fprintln(env.stdout, "reach", buildVersion())
		return nil
	}})
}
