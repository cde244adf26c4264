package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C on `make run` stops the server gracefully and make ends with
// status 0, not "make: *** Error 1" (issue 15). The test runs the real
// Makefile target (without rebuilding the player bundle) in its own
// process group and interrupts the whole group, as a terminal does.
func TestMakeRunEndsCleanlyOnInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		addr := freePort(t)
		cmd := exec.Command("make", "-s", "-C", "../..", "-o", "web", "run")
		cmd.Env = append(os.Environ(), "REACH_DATA_DIR="+t.TempDir(), "REACH_ADDR="+addr, "REACH_CONTENT_ADDR="+freePort(t), "REACH_LOG_LEVEL=warn")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				_ = cmd.Wait()
				t.Fatalf("make run did not start:\n%s", out.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
			t.Fatal(err)
		}
		// make itself dies of the signal after its recipe ends, as it
		// should; what matters is that the recipe ended cleanly, which
		// make reports as "make: *** ... Error N" when it did not.
		err := cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if (err != nil && !(ws.Signaled() && ws.Signal() == sig)) || bytes.Contains(out.Bytes(), []byte("make: ***")) {
			t.Errorf("make run after %v: %v\n%s", sig, err, out.String())
		}
	}
}
