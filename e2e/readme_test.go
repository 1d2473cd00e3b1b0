package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's five-minute walkthrough, line by line, against
// a `lian up` network, as a newcomer would in a second terminal: `./lian` is the built
// binary, LIAN_HOME and LIAN_GATEWAY point at the network. A line fails the test if it
// exits non-zero, unless the comment above it says it is refused (then it must fail).
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := shBlockAfter(t, string(readme), "## Five-minute walkthrough")

	home := t.TempDir()
	u := startUp(t, home)
	work := t.TempDir()
	if err := os.Symlink(lianBin, filepath.Join(work, "lian")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LIAN_HOME="+home, "LIAN_GATEWAY="+u.gateway)

	var comment []string
	ran := 0
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			comment = append(comment, line)
			continue
		}
		wantFail := strings.Contains(strings.Join(comment, " "), "refused")
		comment = nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir, cmd.Env = work, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		switch {
		case err != nil && !wantFail:
			t.Fatalf("README line failed: %s\n%v\n%s", line, err, out.String())
		case err == nil && wantFail:
			t.Fatalf("README line should be refused but succeeded: %s\n%s", line, out.String())
		}
		if strings.Contains(line, "--prove") && !verifiedLine.MatchString(out.String()) {
			t.Fatalf("README line %s: no verified proof in the output:\n%s", line, out.String())
		}
		ran++
	}
	if ran < 10 {
		t.Fatalf("ran %d lines of the walkthrough: the README's block was not found whole", ran)
	}
	t.Logf("ran the README walkthrough's %d commands", ran)
	u.p.interrupt(t)
}

// verifiedLine is the text output's row of a proof the CLI checked.
var verifiedLine = regexp.MustCompile(`(?m)^\s*verified:\s+true\s*$`)

// shBlockAfter returns the first ```sh block after the heading.
func shBlockAfter(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, heading)
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("no sh block after %q", heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated sh block after %q", heading)
	}
	return block
}
