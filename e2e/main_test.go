package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/node"
)

// lianBin is the path of the lian binary built for the tests.
var lianBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lian-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lianBin = filepath.Join(dir, "lian")
	build := exec.Command("go", "build", "-o", lianBin, "github.com/lianchain/lian/cmd/lian")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build lian:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running lian process whose output is captured.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// start runs lian with args in the background; the process is killed at test end.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(lianBin, args...), done: make(chan struct{})}
	p.cmd.Stdout = lockedWriter{p}
	p.cmd.Stderr = lockedWriter{p}
	p.cmd.Env = append(os.Environ(), "LIAN_HOME=", "LIAN_GATEWAY=")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start lian %v: %v", args, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// freeze stops the process (SIGSTOP): it keeps its connections but answers nothing,
// as a machine cut off from the network would. thaw resumes it (SIGCONT).
func (p *proc) freeze() { p.cmd.Process.Signal(syscall.SIGSTOP) }

func (p *proc) thaw() { p.cmd.Process.Signal(syscall.SIGCONT) }

// interrupt sends SIGINT and waits (with a deadline) for a clean exit.
func (p *proc) interrupt(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("lian exited with %v after SIGINT; output:\n%s", p.err, tail(p.output()))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("lian did not stop within 60s of SIGINT; output:\n%s", tail(p.output()))
	}
}

// waitLine polls the output for a line starting with prefix and returns it.
func (p *proc) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.output()))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				return sc.Text()
			}
		}
		if p.exited() {
			t.Fatalf("lian exited (%v) before printing %q; output:\n%s", p.err, prefix, tail(p.output()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no line %q within %s; output:\n%s", prefix, timeout, tail(p.output()))
	return ""
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// run runs lian to completion and returns stdout; it fails the test on a non-zero exit
// unless wantErr.
func run(t *testing.T, wantErr bool, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lianBin, args...)
	cmd.Env = append(os.Environ(), "LIAN_HOME=", "LIAN_GATEWAY=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err != nil) != wantErr {
		t.Fatalf("lian %s: err=%v (want error: %v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, wantErr, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// runJSON runs lian with -o json and decodes its one JSON document.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := run(t, false, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("lian %s: output is not one JSON document: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// poll calls cond until it returns true or the deadline passes.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var _ = io.Discard

// checkStoredInvariants opens the state store of each stopped node home and checks
// that it keeps every module's invariants.
func checkStoredInvariants(t *testing.T, homes ...string) {
	t.Helper()
	for _, h := range homes {
		a, err := app.Open(node.DataDir(h))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if err := a.CheckInvariants(); err != nil {
			t.Errorf("%s: %v", h, err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("%s: close: %v", h, err)
		}
	}
	t.Logf("invariants hold in the stored state of %d nodes", len(homes))
}
