package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/internal/auth"
)

func init() {
	register(command{name: "package import", summary: "import a content package zip (cmi5, SCORM, xAPI) into a borough", run: runPackageImport})
	register(command{name: "package delete", summary: "delete a package no course version uses, and its files no other package uses", run: runPackageDelete})
	register(command{name: "package sweep", summary: "delete stored package files no package uses (left by deletions or crashed imports)", run: runPackageSweep})
	register(command{name: "course publish", summary: "build the base course and publish it where it changed", run: runCoursePublish})
	register(command{name: "course build", summary: "write the course's cmi5 package zip", run: runCourseBuild})
}

// runCourseBuild writes the cmi5 zip of the course from the embedded
// sources, with local slots from a JSON file if given. It needs no
// database, so it reads no configuration beyond its flags.
func runCourseBuild(ctx context.Context, env *cliEnv, args []string) error {
	fs := flag.NewFlagSet("course build", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: reach course build --out FILE [--slots SLOTS.json]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "where to write the zip (required)")
	slotsFile := fs.String("slots", "", "a JSON file of local slots (boroughName, branding, offers, contacts, caseStudies)")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--out is required"}
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	var opts course.BuildOptions
	if *slotsFile != "" {
		raw, err := os.ReadFile(*slotsFile)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&opts.Slots); err != nil {
			return fmt.Errorf("%s: %w", *slotsFile, err)
		}
	}
	if err := course.BuildFile(*out, opts); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s (%d bytes)\n", *out, st.Size())
	return nil
}

func runPackageImport(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "package import", "package import FILE --borough SLUG [--json] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the borough that owns the package (required)")
	asJSON := fs.Bool("json", false, "print the package as JSON")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one package zip, e.g. 'reach package import course.zip --borough hackney'"}
	}
	a, b, err := openInBorough(ctx, env, cfg, *borough)
	if err != nil {
		return err
	}
	defer a.Close()
	pkg, err := a.Content().ImportFile(ctx, b.ID, "cli", fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		pkg.Files = nil
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pkg)
	}
	fmt.Fprintf(env.stdout, "imported %s package %q into %s: id %s, %d files, %d bytes, %d launchable units\n",
		pkg.Type, pkg.Title, b.Slug, pkg.ID, pkg.FileCount, pkg.Size, len(pkg.Course.AllAUs()))
	for _, w := range pkg.Warnings {
		fmt.Fprintf(env.stderr, "warning: %s\n", w)
	}
	return nil
}

func runCoursePublish(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "course publish", "course publish [--borough SLUG] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "publish in this borough only (default: every borough)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
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
	var boroughs []auth.Borough
	if *borough != "" {
		b, err := a.Borough(ctx, *borough)
		if err != nil {
			return err
		}
		boroughs = []auth.Borough{b}
	} else if boroughs, err = a.Auth.Store().ListBoroughs(ctx); err != nil {
		return err
	}
	if len(boroughs) == 0 {
		return fmt.Errorf("no boroughs yet; create one with 'reach borough create SLUG'")
	}
	for _, b := range boroughs {
		v, published, err := a.Content().PublishBaseCourse(ctx, b, "cli")
		if err != nil {
			return fmt.Errorf("%s: %w", b.Slug, err)
		}
		if published {
			fmt.Fprintf(env.stdout, "%s: published version %d\n", b.Slug, v.Number)
		} else {
			fmt.Fprintf(env.stdout, "%s: version %d is already current\n", b.Slug, v.Number)
		}
	}
	return nil
}

func runPackageDelete(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "package delete", "package delete ID --borough SLUG [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the borough that owns the package (required)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one package id, e.g. 'reach package delete 3f2a… --borough hackney'"}
	}
	a, b, err := openInBorough(ctx, env, cfg, *borough)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Content().DeletePackage(ctx, b.ID, "cli", fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "deleted package %s from %s: %d files removed (%d bytes), %d still used by other packages\n",
		fs.Arg(0), b.Slug, res.Deleted, res.Bytes, res.Checked-res.Deleted)
	return nil
}

func runPackageSweep(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "package sweep", "package sweep [--older-than 1h] [flags]")
	if err != nil {
		return err
	}
	olderThan := fs.Duration("older-than", time.Hour, "only files stored longer ago than this (a margin for imports in progress, on top of their leases)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *olderThan < 0 {
		return usageError{"--older-than must not be negative"}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Content().SweepBlobs(ctx, *olderThan)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "checked %d stored files: deleted %d (%d bytes) that no package uses\n", res.Checked, res.Deleted, res.Bytes)
	return nil
}
