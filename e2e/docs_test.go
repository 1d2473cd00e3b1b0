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

// docExamples are the worked examples in the documentation that run against a fresh
// `lian up` (two chains, the default).
var docExamples = []struct{ file, heading string }{
	{"README.md", "## Five-minute walkthrough"},
	{"docs/governance.md", "## Worked example (`lian up`)"},
	{"docs/credits.md", "## Worked example (`lian up`)"},
	{"docs/cross-chain.md", "## Try it with `lian up`"},
}

// TestDocExamples runs each worked example of the documentation, command by command,
// against its own fresh `lian up`, as a reader would in a second terminal: `./lian` is
// the built binary, LIAN_HOME and LIAN_GATEWAY point at the network, and the gateway's
// default address in a command is the network's. A command must succeed, unless its
// comment (on its line, or the comment lines just above it) says it is refused or
// fails: then it must fail. A command with --prove must print a verified proof.
func TestDocExamples(t *testing.T) {
	for _, ex := range docExamples {
		t.Run(filepath.Base(ex.file), func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("..", ex.file))
			if err != nil {
				t.Fatal(err)
			}
			cmds := docCommands(t, string(doc), ex.heading)
			if len(cmds) < 5 {
				t.Fatalf("%s %q: %d commands: the section was not found whole", ex.file, ex.heading, len(cmds))
			}
			home := t.TempDir()
			u := startUp(t, home)
			work := t.TempDir()
			if err := os.Symlink(lianBin, filepath.Join(work, "lian")); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "LIAN_HOME="+home, "LIAN_GATEWAY="+u.gateway)
			for _, c := range cmds {
				line := strings.ReplaceAll(c.line, "http://127.0.0.1:8700", u.gateway)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				cmd := exec.CommandContext(ctx, "bash", "-c", line)
				cmd.Dir, cmd.Env = work, env
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				cancel()
				switch {
				case err != nil && !c.fails:
					t.Fatalf("%s: command failed: %s\n%v\n%s", ex.file, c.line, err, out.String())
				case err == nil && c.fails:
					t.Fatalf("%s: the comment says this command fails, but it succeeded: %s\n%s", ex.file, c.line, out.String())
				}
				if strings.Contains(line, "--prove") && !c.fails && !verifiedLine.MatchString(out.String()) {
					t.Fatalf("%s: %s: no verified proof in the output:\n%s", ex.file, c.line, out.String())
				}
			}
			t.Logf("%s: ran %d commands", ex.file, len(cmds))
			u.p.interrupt(t)
		})
	}
}

// verifiedLine is the CLI's text row of a proof it checked.
var verifiedLine = regexp.MustCompile(`(?m)^\s*verified:\s+true\s*$`)

// docCommand is one shell command of a worked example.
type docCommand struct {
	line  string
	fails bool // its comment says it is refused or fails
}

// failsWord marks a comment that announces a failing command.
var failsWord = regexp.MustCompile(`\b(refused|fails)\b`)

// docCommands returns the commands of the ```sh blocks in the section under heading
// (up to the next heading of the same level), with continuation lines joined.
func docCommands(t *testing.T, doc, heading string) []docCommand {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("no heading %q", heading)
	}
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if i := strings.Index(section, "\n"+level); i >= 0 {
		section = section[:i]
	}
	var cmds []docCommand
	var comment []string
	for rest := section; ; {
		var block string
		var found bool
		if _, rest, found = strings.Cut(rest, "```sh\n"); !found {
			break
		}
		if block, rest, found = strings.Cut(rest, "```"); !found {
			t.Fatalf("unterminated sh block under %q", heading)
		}
		block = strings.ReplaceAll(block, "\\\n", " ")
		comment = nil
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
				comment = nil
				continue
			case strings.HasPrefix(line, "#"):
				comment = append(comment, line)
				continue
			}
			trailing := ""
			if i := strings.Index(line, "  #"); i >= 0 {
				trailing = line[i:]
			}
			cmds = append(cmds, docCommand{line: line, fails: failsWord.MatchString(strings.Join(comment, " ") + trailing)})
			comment = nil
		}
	}
	return cmds
}
