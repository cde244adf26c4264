package main

import (
	"context"
	"fmt"

	"github.com/reach-london/reach/internal/secretbox"
)

func init() {
	register(command{name: "secrets new-key", summary: "print a new random key for REACH_SECRETS_KEY", run: runSecretsNewKey})
	register(command{name: "secrets reseal", summary: "seal every stored secret with the current REACH_SECRETS_KEY", run: runSecretsReseal})
}

func runSecretsNewKey(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "secrets new-key", "secrets new-key")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"'reach secrets new-key' takes no arguments"}
	}
	fmt.Fprintln(env.stdout, secretbox.EncodeKey(secretbox.NewKey()))
	return nil
}

// runSecretsReseal is the last step of setting or rotating the key: with
// REACH_SECRETS_KEY the new key and REACH_SECRETS_KEYS_PREVIOUS the old
// one, it seals everything with the new key, after which the old one can
// go. It also seals secrets stored before any key was set.
func runSecretsReseal(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "secrets reseal", "secrets reseal [flags]")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"'reach secrets reseal' takes no arguments"}
	}
	a, err := openApp(ctx, env, cfg, "error")
	if err != nil {
		return err
	}
	defer a.Close()
	targets, keys, err := a.ResealSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "resealed %d forwarding target secret(s) and %d signing key(s) with key %s\n",
		targets, keys, a.Secrets.CurrentKeyID())
	return nil
}
