package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestLoadShort is the CI version of `make load`: learners, LMS readers
// and an LMS writer against three replicas for 15 seconds, with no error
// allowed, and every acknowledged statement readable afterwards.
func TestLoadShort(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, sharedBackends(t), 3)
	reader, err := c.Credential(ctx, borough, "all/read")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := c.Credential(ctx, borough, "statements/write")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, r := range c.Replicas {
		targets = append(targets, r.URL)
	}
	before := map[int]Usage{}
	for _, pid := range c.PIDs() {
		before[pid] = ReadUsage(pid)
	}
	rep, err := RunLoad(ctx, LoadOptions{Targets: targets, Borough: borough, Learners: 6, Readers: 2, Writers: 1,
		Duration: 15 * time.Second, MaxRequests: 50000, ReaderCred: reader, WriterCred: writer})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	PrintUsage(&out, before, c.PIDs(), rep.Elapsed)
	t.Log("\n" + out.String())
	if rep.Errors != 0 {
		t.Errorf("%d errors under load", rep.Errors)
	}
	for _, kind := range []string{"signup", "launch", "fetch", "launchdata", "statement", "lrs-read", "lrs-write"} {
		found := false
		for _, k := range rep.Kinds {
			found = found || (k.Kind == kind && k.Count > 0)
		}
		if !found {
			t.Errorf("no %s requests were made", kind)
		}
	}
	missing, dup, err := VerifyStored(ctx, nil, c.Replicas[0].URL, reader, rep.Acked)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || dup != 0 {
		t.Errorf("of %d acknowledged statements %d are missing and %d stored twice", len(rep.Acked), missing, dup)
	}
}
