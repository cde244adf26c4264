package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs/export"
)

func init() {
	register(command{name: "export statements", summary: "write a borough's statements as JSON lines or CSV", run: runExportStatements})
}

func runExportStatements(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "export statements",
		"export statements --borough B [--format jsonl|csv] [--since T] [--until T] [--verb IRI] [--activity IRI] [--agent JSON] [--registration UUID] [--out FILE] [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the borough whose statements to export (required)")
	format := fs.String("format", "jsonl", "jsonl (one statement per line, as stored) or csv (one row per statement)")
	since := fs.String("since", "", "only statements stored after this ISO 8601 time")
	until := fs.String("until", "", "only statements stored at or before this ISO 8601 time")
	verb := fs.String("verb", "", "only statements with this verb IRI")
	activity := fs.String("activity", "", "only statements about this activity IRI")
	agent := fs.String("agent", "", `only statements about this agent, as xAPI JSON, e.g. '{"mbox":"mailto:a@example.org"}'`)
	registration := fs.String("registration", "", "only statements of this registration UUID")
	relatedActivities := fs.Bool("related-activities", false, "--activity also matches context and sub-statement activities")
	relatedAgents := fs.Bool("related-agents", false, "--agent also matches instructors, team members and authority")
	out := fs.String("out", "", "write to this file instead of standard output (replaced only when the export succeeds)")
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *borough == "" {
		return usageError{"--borough is required"}
	}
	params := url.Values{"format": {*format}}
	for k, v := range map[string]string{"since": *since, "until": *until, "verb": *verb, "activity": *activity,
		"agent": *agent, "registration": *registration} {
		if v != "" {
			params.Set(k, v)
		}
	}
	if *relatedActivities {
		params.Set("related_activities", "true")
	}
	if *relatedAgents {
		params.Set("related_agents", "true")
	}
	req, err := export.ParseRequest(params)
	if err != nil {
		return usageError{flagNames(errs.MessageOf(err))}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Borough(ctx, *borough)
	if err != nil {
		return err
	}

	var w *bufio.Writer
	var tmp *os.File
	defer func() {
		if tmp != nil { // still set only when the export failed
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	open := func() (io.Writer, error) {
		if *out == "" {
			w = bufio.NewWriterSize(env.stdout, 64<<10)
			return w, nil
		}
		// A temporary file beside the target, renamed at the end, so a
		// failed export leaves an existing file as it was.
		f, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*.tmp")
		if err != nil {
			return nil, fmt.Errorf("create output file: %w", err)
		}
		tmp = f
		w = bufio.NewWriterSize(f, 64<<10)
		return w, nil
	}
	n, err := export.Write(ctx, a.Statements(), b.ID, req, open)
	if err == nil && w != nil {
		err = w.Flush()
	}
	if err != nil {
		return fmt.Errorf("export stopped after %d statements: %w", n, err)
	}
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
		tmp = nil
		fmt.Fprintf(env.stderr, "exported %d statements of %s to %s\n", n, b.Slug, *out)
	}
	return nil
}

// flagNames rewrites the query parameter names in an export error as the
// CLI's flag names.
func flagNames(msg string) string {
	r := strings.NewReplacer("related_activities", "--related-activities", "related_agents", "--related-agents")
	msg = r.Replace(msg)
	if strings.HasPrefix(msg, "agent parameter") {
		return "--agent" + strings.TrimPrefix(msg, "agent parameter")
	}
	for _, p := range []string{"since", "until", "verb", "activity", "agent", "registration", "format"} {
		if strings.HasPrefix(msg, p+" ") || strings.HasPrefix(msg, p+":") {
			return "--" + msg
		}
	}
	return msg
}
