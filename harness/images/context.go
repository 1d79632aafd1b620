package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	archive "github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is the build context of dir as the docker CLI sends it: a tar
// of dir without what its .dockerignore excludes, every entry owned by
// root, with the .dockerignore and the Dockerfile themselves always in.
// dockerfile is relative to dir and must lie inside it; inTar is its
// slash-separated path in the tar. The caller closes the reader; the tar
// is written as it is read.
func Context(dir, dockerfile string) (tar io.ReadCloser, inTar string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, "", err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("context: %w", err)
	} else if !fi.IsDir() {
		return nil, "", fmt.Errorf("context %s: not a directory", dir)
	}
	rel := dockerfile
	if filepath.IsAbs(rel) {
		if rel, err = filepath.Rel(dir, rel); err != nil {
			return nil, "", err
		}
	}
	rel = filepath.Clean(rel)
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", fmt.Errorf("dockerfile %s is outside the context %s", dockerfile, dir)
	}
	if fi, err := os.Stat(filepath.Join(dir, rel)); err != nil {
		return nil, "", fmt.Errorf("dockerfile: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("dockerfile %s: not a file", filepath.Join(dir, rel))
	}
	inTar = filepath.ToSlash(rel)
	excludes, err := ignored(dir)
	if err != nil {
		return nil, "", err
	}
	excludes = keepBuildFiles(excludes, inTar)
	tar, err = archive.TarWithOptions(dir, &archive.TarOptions{
		ExcludePatterns: excludes,
		ChownOpts:       &archive.ChownOpts{UID: 0, GID: 0},
	})
	if err != nil {
		return nil, "", fmt.Errorf("context %s: %w", dir, err)
	}
	return tar, inTar, nil
}

// ignored is the patterns of dir's .dockerignore; none without one.
func ignored(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("context: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("context: %s: %w", f.Name(), err)
	}
	return patterns, nil
}

// keepBuildFiles adds exceptions for the .dockerignore and the Dockerfile
// when excludes would leave them out, as the docker CLI does: the engine
// needs the Dockerfile, and either may appear in the recipe.
func keepBuildFiles(excludes []string, dockerfile string) []string {
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return excludes // the tar reports the bad pattern
	}
	for _, f := range []string{".dockerignore", dockerfile} {
		if out, _ := pm.MatchesOrParentMatches(f); out {
			excludes = append(excludes, "!"+f)
		}
	}
	return excludes
}
