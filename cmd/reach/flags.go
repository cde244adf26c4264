package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/reach-london/reach/internal/config"
)

// newFlags makes a subcommand's flag set with the configuration flags, so
// every subcommand works against the same configuration as serve. It
// returns the config to fill by parse.
func newFlags(env *cliEnv, name, usage string) (*flag.FlagSet, *config.Config, error) {
	cfg, err := config.Load(env.getenv)
	if err != nil {
		return nil, nil, err
	}
	fs := flag.NewFlagSet("reach "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: reach %s\n\n", usage)
		fmt.Fprintln(out, "Flags (each also set by the REACH_* variable named after it):")
		fs.PrintDefaults()
	}
	cfg.RegisterFlags(fs)
	return fs, &cfg, nil
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
