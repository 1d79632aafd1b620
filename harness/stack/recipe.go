package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/system"
)

// SourcesRecipe is the digest of what a service's image is built from,
// with b's context at dir: the Dockerfile, the build args and the run
// command, and the path and content of every file under dir that b's
// Sources match. A change to any of them changes the digest; nothing
// else does (not a file's time, not a file outside the Sources, not the
// toolchain the run command calls). "" when b has no Sources.
func SourcesRecipe(dir string, b *system.Build) (string, error) {
	if len(b.Sources) == 0 {
		return "", nil
	}
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s\x00", len(s), s) }
	dockerfile, err := os.ReadFile(filepath.Join(dir, b.Dockerfile))
	if err != nil {
		return "", fmt.Errorf("recipe: %w", err)
	}
	field("dockerfile")
	field(b.Dockerfile)
	field(string(dockerfile))
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		field("arg")
		field(k)
		field(b.Args[k])
	}
	field("run")
	field(b.Run)
	files, err := sourceFiles(dir, b.Sources)
	if err != nil {
		return "", fmt.Errorf("recipe: %w", err)
	}
	for _, rel := range files {
		content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return "", fmt.Errorf("recipe: %w", err)
		}
		field("file")
		field(rel)
		field(string(content))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sourceFiles is every regular file under dir that one of globs matches,
// as a slash-separated path relative to dir, sorted. Directories no glob
// can reach (.git, bin) are not walked.
func sourceFiles(dir string, globs []string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && !slices.ContainsFunc(globs, func(g string) bool { return mayMatchBelow(g, rel) }) {
				return filepath.SkipDir
			}
			return nil
		}
		if !slices.ContainsFunc(globs, func(g string) bool { return MatchSource(g, rel) }) {
			return nil
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() { // a symlink counts as what it points to
			files = append(files, rel)
		}
		return nil
	})
	return files, err // WalkDir visits in lexical order
}

// MatchSource reports whether the slash-separated path rel, relative to
// a build's context, matches the Sources glob pattern: segments as in
// path.Match, and a "**" segment matching any number of directories,
// none included.
func MatchSource(pattern, rel string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(rel, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// mayMatchBelow reports whether pattern can match a path inside the
// directory dir (slash-separated, relative to the context).
func mayMatchBelow(pattern, dir string) bool {
	pat, name := strings.Split(pattern, "/"), strings.Split(dir, "/")
	for ; len(name) > 0; pat, name = pat[1:], name[1:] {
		if len(pat) == 0 {
			return false
		}
		if pat[0] == "**" {
			return true
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
	}
	return len(pat) > 0
}
