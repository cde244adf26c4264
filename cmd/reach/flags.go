package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/reach-london/reach/internal/config"
)

// newFlags makes a subcommand's flag set with the configuration flags, so
// every subcommand works against the same configuration as serve. It
// returns the config to fill by parse. Its --help shows the command's own
// flags first and names the shared configuration flags once, briefly
// ('reach help config' describes them).
func newFlags(env *cliEnv, name, usage string) (*flag.FlagSet, *config.Config, error) {
	cfg, err := config.Load(env.getenv)
	if err != nil {
		return nil, nil, err
	}
	fs := flag.NewFlagSet("reach "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg.RegisterFlags(fs)
	shared := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { shared[f.Name] = true })
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: reach %s\n", usage)
		own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
		own.SetOutput(out)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			if !shared[f.Name] {
				own.Var(f.Value, f.Name, f.Usage)
				own.Lookup(f.Name).DefValue = f.DefValue
				n++
			}
		})
		if n > 0 {
			fmt.Fprintln(out, "\nFlags:")
			own.PrintDefaults()
		}
		printSharedSummary(out, shared)
	}
	return fs, &cfg, nil
}

// printSharedSummary names the configuration flags in a few lines.
func printSharedSummary(out io.Writer, shared map[string]bool) {
	var names []string
	scratch := flag.NewFlagSet("", flag.ContinueOnError)
	var c config.Config
	c.RegisterFlags(scratch)
	scratch.VisitAll(func(f *flag.Flag) {
		if shared[f.Name] {
			names = append(names, "--"+f.Name)
		}
	})
	fmt.Fprintln(out, "\nConfiguration, shared by every command (each flag also set by its REACH_* variable;")
	fmt.Fprintln(out, "'reach help config' describes them):")
	line := " "
	for _, n := range names {
		if len(line)+len(n)+1 > 78 {
			fmt.Fprintln(out, line)
			line = " "
		}
		line += " " + n
	}
	fmt.Fprintln(out, line)
}

// printConfigHelp describes every configuration flag and its variable.
func printConfigHelp(out io.Writer) {
	fs := flag.NewFlagSet("reach", flag.ContinueOnError)
	fs.SetOutput(out)
	c := config.Default()
	c.RegisterFlags(fs)
	fmt.Fprintln(out, "Configuration shared by every reach command. Each setting is a flag and a")
	fmt.Fprintln(out, "REACH_* environment variable (a flag wins); secrets also read REACH_*_FILE.")
	fmt.Fprintln(out, strings.Repeat("-", 20))
	fs.PrintDefaults()
}

// parseFlags parses args, prints help to stdout on --help, and finishes the
// configuration.
func parseFlags(env *cliEnv, fs *flag.FlagSet, cfg *config.Config, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(env.stderr)
	if err == flag.ErrHelp {
		fs.SetOutput(env.stdout)
		fs.Usage()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return cfg.Finish()
}
