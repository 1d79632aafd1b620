package stack

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/system"
)

func TestMatchSource(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"go.mod", "go.mod", true},
		{"go.mod", "sub/go.mod", false},
		{"services/**", "services/cmd/order/main.go", true},
		{"services/**", "services/x.go", true},
		{"services/**", "servicesx/a.go", false},
		{"services/**/*.go", "services/a.go", true},
		{"services/**/*.go", "services/internal/rabbit/client.go", true},
		{"services/**/*.go", "services/internal/rabbit/README.md", false},
		{"deploy/*.Dockerfile", "deploy/service.Dockerfile", true},
		{"deploy/*.Dockerfile", "deploy/x/service.Dockerfile", false},
		{"**", "anything/at/all", true},
		{"**/go.sum", "go.sum", true},
	}
	for _, c := range cases {
		if got := MatchSource(c.pattern, c.path); got != c.want {
			t.Errorf("MatchSource(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

// writeTree writes files (slash-separated path: content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSourcesRecipeChangesWithWhatTheImageIsMadeOfOnly(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile":               "FROM scratch\nCOPY bin/x /x\n",
		"go.mod":                   "module x\n",
		"services/cmd/x/main.go":   "package main\n",
		"services/internal/a.go":   "package internal\n",
		"docs/notes.md":            "not a source\n",
		"bin/x":                    "a build output\n",
		".git/objects/ab/cdef0123": "not walked\n",
	})
	b := &system.Build{Context: ".", Dockerfile: "Dockerfile", Args: map[string]string{"SERVICE": "x"}, Run: "make x", Sources: []string{"services/**", "go.mod"}}
	recipe := func(b *system.Build) string {
		t.Helper()
		r, err := SourcesRecipe(dir, b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := recipe(b)
	if base == "" {
		t.Fatal("no recipe for a build with sources")
	}
	if again := recipe(b); again != base {
		t.Fatalf("recipe not stable: %s then %s", base, again)
	}

	// What the image is not made of leaves the recipe as it is.
	writeTree(t, dir, map[string]string{"docs/notes.md": "changed\n", "bin/x": "rebuilt\n", "services.txt": "outside the globs\n"})
	if got := recipe(b); got != base {
		t.Errorf("a file outside the sources changed the recipe")
	}
	now := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "go.mod"), now, now); err != nil {
		t.Fatal(err)
	}
	if got := recipe(b); got != base {
		t.Errorf("a file's time changed the recipe")
	}

	// Each part of the recipe changes it.
	changed := map[string]func(){
		"a source's content": func() { writeTree(t, dir, map[string]string{"services/internal/a.go": "package internal // edited\n"}) },
		"a new source":       func() { writeTree(t, dir, map[string]string{"services/internal/b.go": "package internal\n"}) },
		"a removed source": func() {
			if err := os.Remove(filepath.Join(dir, "services", "internal", "b.go")); err != nil {
				t.Fatal(err)
			}
		},
		"a renamed source": func() {
			if err := os.Rename(filepath.Join(dir, "services", "internal", "a.go"), filepath.Join(dir, "services", "internal", "c.go")); err != nil {
				t.Fatal(err)
			}
		},
		"the Dockerfile":  func() { writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY bin/x /service\n"}) },
		"a build arg":     func() { b.Args["SERVICE"] = "y" },
		"the run command": func() { b.Run = "make y" },
	}
	prev := base
	for _, what := range []string{"a source's content", "a new source", "a removed source", "a renamed source", "the Dockerfile", "a build arg", "the run command"} {
		changed[what]()
		got := recipe(b)
		if got == prev {
			t.Errorf("%s did not change the recipe", what)
		}
		prev = got
	}

	b.Sources = nil
	if got := recipe(b); got != "" {
		t.Errorf("a build without sources has recipe %q: want none (always built)", got)
	}
}

func TestSourceFilesWalksOnlyWhereAGlobCanMatch(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod": "", "go.sum": "", "services/a.go": "", "services/sub/b.go": "", "services/sub/b.md": "",
		"deploy/service.Dockerfile": "", "deploy/other/x.Dockerfile": "", "bin/x": "",
	})
	got, err := sourceFiles(dir, []string{"services/**/*.go", "go.*", "deploy/*.Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deploy/service.Dockerfile", "go.mod", "go.sum", "services/a.go", "services/sub/b.go"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, c := range []struct {
		pattern, dir string
		want         bool
	}{
		{"services/**", "services", true},
		{"services/**", "services/internal/rabbit", true},
		{"services/**", "bin", false},
		{"go.mod", "services", false},
		{"deploy/*.Dockerfile", "deploy", true},
		{"deploy/*.Dockerfile", "deploy/other", false},
		{"*/cmd/*.go", "services/cmd", true},
	} {
		if got := mayMatchBelow(c.pattern, c.dir); got != c.want {
			t.Errorf("mayMatchBelow(%q, %q) = %v, want %v", c.pattern, c.dir, got, c.want)
		}
	}
}
