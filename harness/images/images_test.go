package images

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// write makes each file (slash path, content) under dir.
func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// entries is the regular files of a build context's tar, sorted, after
// checking that every entry is owned by root.
func entries(t *testing.T, r io.ReadCloser) []string {
	t.Helper()
	defer r.Close()
	var files []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		if h.Typeflag == tar.TypeReg {
			files = append(files, h.Name)
		}
	}
	slices.Sort(files)
	return files
}

// The reference system's context is the repository, whose .dockerignore
// leaves only bin/: the Dockerfile and the .dockerignore go in anyway,
// as the docker CLI sends them.
func TestContextHonoursDockerignoreAndKeepsTheDockerfile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		".dockerignore":             "*\n!bin/\n",
		"deploy/service.Dockerfile": "FROM scratch\n",
		"bin/order-service":         "binary",
		"services/order/main.go":    "package main",
		"go.mod":                    "module x",
	})
	r, inTar, err := Context(dir, "deploy/service.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if inTar != "deploy/service.Dockerfile" {
		t.Errorf("dockerfile in tar %q", inTar)
	}
	want := []string{".dockerignore", "bin/order-service", "deploy/service.Dockerfile"}
	if got := entries(t, r); !slices.Equal(got, want) {
		t.Errorf("context %v, want %v", got, want)
	}
}

func TestContextWithoutDockerignoreSendsEverything(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "src/a.cpp": "", "build.sh": ""})
	r, inTar, err := Context(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Dockerfile", "build.sh", "src/a.cpp"}
	if got := entries(t, r); inTar != "Dockerfile" || !slices.Equal(got, want) {
		t.Errorf("context %v (dockerfile %q), want %v", got, inTar, want)
	}
}

func TestContextRefusesAMissingOrOutsideDockerfile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"ctx/Dockerfile": "FROM scratch\n", "other/Dockerfile": "FROM scratch\n"})
	for _, df := range []string{"../other/Dockerfile", filepath.Join(dir, "other/Dockerfile"), "Missing.Dockerfile"} {
		if r, _, err := Context(filepath.Join(dir, "ctx"), df); err == nil {
			r.Close()
			t.Errorf("%s: no error", df)
		}
	}
	r, inTar, err := Context(filepath.Join(dir, "ctx"), filepath.Join(dir, "ctx/Dockerfile"))
	if err != nil || inTar != "Dockerfile" {
		t.Errorf("absolute dockerfile inside the context: %q, %v", inTar, err)
	} else {
		r.Close()
	}
}

func TestReadBuildLog(t *testing.T) {
	ok := `{"stream":"Step 1/2 : FROM scratch\n"}
{"stream":" ---\u003e Running\n"}
{"aux":{"ID":"sha256:abc"}}
{"stream":"Successfully built abc\n"}
`
	if err := readBuildLog(strings.NewReader(ok)); err != nil {
		t.Errorf("successful build: %v", err)
	}
	var log strings.Builder
	for i := range 30 {
		log.WriteString(`{"stream":"line ` + string(rune('a'+i%26)) + `\n"}` + "\n")
	}
	log.WriteString(`{"stream":"Step 2/2 : COPY bin/order-service /service\n"}` + "\n")
	log.WriteString(`{"errorDetail":{"message":"COPY failed: file not found in build context"},"error":"COPY failed: file not found in build context"}` + "\n")
	err := readBuildLog(strings.NewReader(log.String()))
	if err == nil {
		t.Fatal("failed build: no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "COPY failed: file not found in build context" {
		t.Errorf("first line %q", lines[0])
	}
	if len(lines) != 1+tailLines || lines[len(lines)-1] != "  | Step 2/2 : COPY bin/order-service /service" {
		t.Errorf("tail %q", lines[1:])
	}
	if err := readBuildLog(strings.NewReader(`{"error":"old engine says no"}`)); err == nil || err.Error() != "old engine says no" {
		t.Errorf("error without errorDetail: %v", err)
	}
}

// The server binary: the one named, else the one beside the executable,
// else none (go install builds it).
func TestFindToxiproxyServer(t *testing.T) {
	files := map[string]bool{"/opt/tp": true, "/bin/" + ToxiproxyServerName: true}
	isFile := func(p string) bool { return files[p] }
	for _, c := range []struct {
		server, exe, want string
		err               bool
	}{
		{"/opt/tp", "/bin/mqchaos", "/opt/tp", false},
		{"/opt/missing", "/bin/mqchaos", "", true},
		{"", "/bin/mqchaos", "/bin/" + ToxiproxyServerName, false},
		{"", "/usr/local/bin/mqchaos", "", false},
		{"", "", "", false},
	} {
		got, err := findToxiproxyServer(c.server, c.exe, isFile)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("server %q exe %q: %q, %v; want %q (error %v)", c.server, c.exe, got, err, c.want, c.err)
		}
	}
}
