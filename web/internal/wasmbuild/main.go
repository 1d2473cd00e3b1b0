// Command wasmbuild builds the explorer's WebAssembly verifier (package web/wasm) and
// writes it, gzip-compressed, to web/ui/assets/verify.wasm.gz with the toolchain's
// wasm_exec.js and a manifest (verify.wasm.json). `go generate ./web` runs it; the
// explorer serves the committed files, so a fresh clone needs no build step.
//
// The build is reproducible: the same toolchain and module versions give the same bytes
// (web's TestWasmUpToDate rebuilds it and compares).
//
// One dependency needs help: github.com/syndtr/goleveldb (imported by cosmos-db, under
// package client's store) has no file locking for GOOS=js and does not compile there.
// The verifier never opens a database, so the build uses a copy of that module with the
// missing functions answering "not supported", through an alternate go.mod (-modfile)
// that replaces the module with the copy. The copy lives at web/wasm/_goleveldb during
// the build (a fixed path, recorded in the binary) and is removed afterwards.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	leveldbModule = "github.com/syndtr/goleveldb"
	// copyDir is where the patched copy of goleveldb lives during a build, relative to
	// the module root. It starts with "_" so that ./... patterns ignore it.
	copyDir = "web/wasm/_goleveldb"
	// lockStale is the age after which a leftover copy is taken for a crashed build.
	lockStale = 15 * time.Minute
)

// shim completes goleveldb's storage package for GOOS=js: its file storage needs locks,
// renames and directory syncs, which the verifier never uses.
const shim = `//go:build js

package storage

import (
	"os"
	"syscall"
)

func newFileLock(path string, readOnly bool) (fileLock, error) { return nil, syscall.ENOTSUP }

func setFileLock(f *os.File, readOnly, lock bool) error { return syscall.ENOTSUP }

func rename(oldpath, newpath string) error { return syscall.ENOTSUP }

func isErrInvalid(err error) bool { return false }

func syncDir(name string) error { return syscall.ENOTSUP }
`

// Manifest describes a built verifier; the explorer shows it and the test compares it.
type Manifest struct {
	Go      string `json:"go"`     // toolchain version that built it
	SHA256  string `json:"sha256"` // of the uncompressed .wasm
	Bytes   int    `json:"bytes"`  // uncompressed size
	Gzipped int    `json:"gzipped"`
	Command string `json:"command"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("wasmbuild: ")
	out := flag.String("out", "", "output directory (default: <module root>/web/ui/assets)")
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		log.Fatal(err)
	}
	if *out == "" {
		*out = filepath.Join(root, "web", "ui", "assets")
	}
	m, err := build(root, *out)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%d bytes, %d gzipped, %s)", filepath.Join(*out, "verify.wasm.gz"), m.Bytes, m.Gzipped, m.Go)
}

func moduleRoot() (string, error) {
	gomod, err := goOutput("", nil, "env", "GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not in a Go module (run it inside the lian repository)")
	}
	return filepath.Dir(gomod), nil
}

func build(root, out string) (*Manifest, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	src, err := goOutput(root, nil, "list", "-m", "-f", "{{.Dir}}", leveldbModule)
	if err == nil && src == "" {
		if _, err = goOutput(root, nil, "mod", "download", leveldbModule); err == nil {
			src, err = goOutput(root, nil, "list", "-m", "-f", "{{.Dir}}", leveldbModule)
		}
	}
	if err != nil {
		return nil, err
	}
	if src == "" {
		return nil, fmt.Errorf("module %s is not in the module cache", leveldbModule)
	}

	dst := filepath.Join(root, filepath.FromSlash(copyDir))
	release, err := lock(dst)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := copyTree(src, dst); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dst, "leveldb", "storage", "file_storage_js.go"), []byte(shim), 0o644); err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp("", "lian-wasmbuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	if bytes.Contains(gomod, []byte("replace "+leveldbModule)) || bytes.Contains(gomod, []byte("\t"+leveldbModule+" =>")) {
		return nil, fmt.Errorf("go.mod replaces %s already; update wasmbuild", leveldbModule)
	}
	gomod = append(gomod, []byte("\nreplace "+leveldbModule+" => ./"+copyDir+"\n")...)
	if err := os.WriteFile(filepath.Join(tmp, "wasm.mod"), gomod, 0o644); err != nil {
		return nil, err
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "wasm.sum"), gosum, 0o644); err != nil {
		return nil, err
	}

	wasmFile := filepath.Join(tmp, "verify.wasm")
	env := []string{"GOOS=js", "GOARCH=wasm", "GOWASM=", "CGO_ENABLED=0", "GOFLAGS=-mod=mod"}
	if _, err := goOutput(root, env, "build", "-modfile="+filepath.Join(tmp, "wasm.mod"),
		"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", wasmFile, "./web/wasm"); err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(wasmFile)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(wasm); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}

	goroot, err := goOutput(root, nil, "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	execJS, err := os.ReadFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return nil, fmt.Errorf("the toolchain's wasm_exec.js: %w", err)
	}
	version, err := goOutput(root, nil, "env", "GOVERSION")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	m := &Manifest{Go: version, SHA256: hex.EncodeToString(sum[:]), Bytes: len(wasm), Gzipped: gz.Len(), Command: "go generate ./web"}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{
		"verify.wasm.gz":   gz.Bytes(),
		"wasm_exec.js":     execJS,
		"verify.wasm.json": append(mj, '\n'),
	} {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// lock takes the copy directory for this build: it creates it (failing if another build
// holds it), removing a leftover of a crashed build first. release removes it.
func lock(dir string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err == nil && time.Since(fi.ModTime()) > lockStale {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s exists: another wasm build is running (or crashed: remove it)", dir)
		}
		return nil, err
	}
	return func() { os.RemoveAll(dir) }, nil
}

// copyTree copies the regular files under src to dst (which exists), writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

// goOutput runs the go command in dir with extra environment and returns its trimmed
// standard output.
func goOutput(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
