package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/auth"
)

func init() {
	register(command{name: "borough create", summary: "create a borough (tenant)", run: runBoroughCreate})
	register(command{name: "borough list", summary: "list boroughs", run: runBoroughList})
	register(command{name: "admin create", summary: "create a platform admin, or a borough admin with --borough", run: runAdminCreate})
	register(command{name: "admin reset-password", summary: "give an account a new one-time password and end its sessions", run: runResetPassword})
	register(command{name: "credentials create", summary: "create LRS credentials for a borough's LMS", run: runCredentialsCreate})
	register(command{name: "keys rotate", summary: "start signing tokens with a new key", run: runKeysRotate})
}

func runBoroughCreate(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "borough create", "borough create SLUG [--name NAME] [flags]")
	if err != nil {
		return err
	}
	name := fs.String("name", "", "display name (defaults to the official name for London boroughs)")
	publishCourse := fs.Bool("publish-course", true, "publish the base course in the new borough (--publish-course=false to start with none)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one borough slug, e.g. 'reach borough create hackney'"}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Auth.CreateBorough(ctx, "cli", fs.Arg(0), *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created borough %s (%s)\n", b.Slug, b.Name)
	if *publishCourse {
		v, _, err := a.Content().PublishBaseCourse(ctx, b, "cli")
		if err != nil {
			return fmt.Errorf("the borough was created but its course could not be published (publish it from the borough's Course page in the admin UI): %w", err)
		}
		fmt.Fprintf(env.stdout, "published the base course as version %d\n", v.Number)
	}
	return nil
}

func runBoroughList(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "borough list", "borough list [flags]")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	bs, err := a.Auth.Store().ListBoroughs(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		fmt.Fprintf(env.stdout, "%s\t%s\n", b.Slug, b.Name)
	}
	return nil
}

func runAdminCreate(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "admin create", "admin create EMAIL [--borough SLUG] [--name NAME] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "make a borough admin of this borough (default: a platform admin)")
	name := fs.String("name", "", "the admin's name")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one email address"}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	n := auth.NewUser{Email: fs.Arg(0), Name: *name, Role: auth.RolePlatformAdmin}
	if *borough != "" {
		b, err := boroughBySlug(ctx, a, *borough)
		if err != nil {
			return err
		}
		n.BoroughID, n.Role = b.ID, auth.RoleBoroughAdmin
	}
	u, password, err := a.Auth.CreateUser(ctx, "cli", n)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created %s %s\none-time password: %s\n", strings.ReplaceAll(string(u.Role), "_", " "), u.Email, password)
	return nil
}

func runResetPassword(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "admin reset-password", "admin reset-password EMAIL [--borough SLUG] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the account's borough (default: a platform admin)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one email address"}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	boroughID := ""
	if *borough != "" {
		b, err := boroughBySlug(ctx, a, *borough)
		if err != nil {
			return err
		}
		boroughID = b.ID
	}
	u, password, err := a.Auth.ResetPassword(ctx, "cli", boroughID, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "reset the password of %s; every session of the account has ended\none-time password: %s\n", u.Email, password)
	return nil
}

func runCredentialsCreate(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "credentials create", "credentials create --borough SLUG --scope SCOPE[,SCOPE] [--name NAME] [--json] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the borough whose store the credentials open (required)")
	scope := fs.String("scope", "", "xAPI scopes, comma-separated: "+scopeNames()+" (required)")
	name := fs.String("name", "", "a name for the credentials, e.g. the LMS they are for (default: cli)")
	asJSON := fs.Bool("json", false, `print {"key":…,"secret":…,"endpoint":…}`)
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *scope == "" {
		return usageError{"--scope is required"}
	}
	scopes, err := auth.ParseScopes(*scope)
	if err != nil {
		return usageError{err.Error()}
	}
	if *borough == "" {
		return usageError{"--borough is required"}
	}
	if *name == "" {
		*name = "cli"
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := boroughBySlug(ctx, a, *borough)
	if err != nil {
		return err
	}
	c, secret, err := a.Auth.CreateCredential(ctx, "cli", b.ID, *name, scopes)
	if err != nil {
		return err
	}
	endpoint := cfg.PublicURL + "/xapi/"
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"key": c.Key, "secret": secret, "endpoint": endpoint})
	}
	fmt.Fprintf(env.stdout, "endpoint: %s\nkey:      %s\nsecret:   %s\nThe secret is shown once.\n", endpoint, c.Key, secret)
	return nil
}

func runKeysRotate(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "keys rotate", "keys rotate [flags]")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.Auth.RotateKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "new signing key %s; tokens signed by older keys stay valid until they expire\n", kid)
	return nil
}

func scopeNames() string {
	s := make([]string, len(auth.XAPIScopes))
	for i, sc := range auth.XAPIScopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// reorder moves positional arguments after flags, so 'borough create
// hackney --name X' parses like 'borough create --name X hackney'.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && !isBoolFlag(a) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func isBoolFlag(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "json", "s3-tls", "print-config", "publish-course", "h", "help":
		return true
	}
	return false
}

// boroughBySlug resolves --borough, with a usage error when it is missing.
func boroughBySlug(ctx context.Context, a *app.App, slug string) (auth.Borough, error) {
	if slug == "" {
		return auth.Borough{}, usageError{"--borough is required"}
	}
	return a.Borough(ctx, slug)
}
