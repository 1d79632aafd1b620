package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// Toxiproxy's version and the image the harness builds of it.
const (
	ToxiproxyVersion = "v2.12.0"
	Toxiproxy        = "mqchaos/toxiproxy:2.12.0" // built by EnsureToxiproxy or `make toxiproxy-image`
)

// ToxiproxyServerName is the file name of Toxiproxy's server binary that
// the harness looks for beside its own executable (the mqchaos image
// ships it as /toxiproxy-server).
const ToxiproxyServerName = "toxiproxy-server"

// toxiproxyDockerfile is the image's whole recipe, with Toxiproxy's server
// binary: like Toxiproxy's own image, FROM scratch.
const toxiproxyDockerfile = `FROM scratch
COPY toxiproxy /toxiproxy
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
`

// toxiproxyRecipe is a digest of what the image is built from; an image
// with another recipe (an older version) is rebuilt.
func toxiproxyRecipe() string {
	sum := sha256.Sum256([]byte(ToxiproxyVersion + "\x00" + runtime.GOARCH + "\x00" + toxiproxyDockerfile))
	return hex.EncodeToString(sum[:])[:16]
}

var ensured struct {
	sync.Mutex
	done map[string]bool
}

// EnsureToxiproxy builds image (Toxiproxy) when it is missing or was
// built from another recipe, with the server binary BuildToxiproxy finds;
// any other image name is left to the engine (e.g.
// ghcr.io/shopify/toxiproxy:2.12.0 where it can be pulled). It blocks
// until done, and checks once per process; safe for concurrent use. Two
// processes may both build it.
func EnsureToxiproxy(ctx context.Context, image, server string) error {
	if image != Toxiproxy {
		return nil
	}
	ensured.Lock()
	defer ensured.Unlock()
	if ensured.done[image] {
		return nil
	}
	have, err := Label(ctx, image, LabelRecipe)
	if err != nil {
		return err
	}
	if have != toxiproxyRecipe() {
		if err := BuildToxiproxy(ctx, image, server); err != nil {
			return err
		}
	}
	if ensured.done == nil {
		ensured.done = map[string]bool{}
	}
	ensured.done[image] = true
	return nil
}

// BuildToxiproxy builds image FROM scratch, labelled with the recipe,
// around Toxiproxy's server at ToxiproxyVersion: the binary at server
// when set (MQCHAOS_TOXIPROXY_SERVER), else ToxiproxyServerName beside
// the running executable, else one `go install` builds (CGO off, a
// static binary; it needs Go and the module proxy or cache). It blocks
// until done.
func BuildToxiproxy(ctx context.Context, image, server string) error {
	fail := func(err error) error { return fmt.Errorf("build %s: %w", image, err) }
	exe, _ := os.Executable()
	bin, err := findToxiproxyServer(server, exe, isFile)
	if err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp("", "mqchaos-toxiproxy-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		if bin, err = goInstallToxiproxy(ctx, dir); err != nil {
			return fail(err)
		}
	}
	buildDir := filepath.Join(dir, "context")
	if err := os.Mkdir(buildDir, 0o755); err != nil {
		return fail(err)
	}
	if err := copyFile(bin, filepath.Join(buildDir, "toxiproxy")); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(buildDir, "Dockerfile"), []byte(toxiproxyDockerfile), 0o644); err != nil {
		return fail(err)
	}
	return Build(ctx, Spec{Context: buildDir, Tag: image, Labels: map[string]string{LabelRecipe: toxiproxyRecipe()}})
}

// findToxiproxyServer is the server binary to put in the image: server
// when set (it must exist), else ToxiproxyServerName in exe's directory
// when there is one, else "" (build it with go install).
func findToxiproxyServer(server, exe string, isFile func(string) bool) (string, error) {
	if server != "" {
		if !isFile(server) {
			return "", fmt.Errorf("toxiproxy server %s (MQCHAOS_TOXIPROXY_SERVER): not a file", server)
		}
		return server, nil
	}
	if exe != "" {
		if beside := filepath.Join(filepath.Dir(exe), ToxiproxyServerName); isFile(beside) {
			return beside, nil
		}
	}
	return "", nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// goInstallToxiproxy builds Toxiproxy's server into dir and returns its path.
func goInstallToxiproxy(ctx context.Context, dir string) (string, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("no toxiproxy server binary: set MQCHAOS_TOXIPROXY_SERVER, put %s beside the mqchaos executable, or install Go to build it", ToxiproxyServerName)
	}
	install := exec.CommandContext(ctx, "go", "install", "github.com/Shopify/toxiproxy/v2/cmd/server@"+ToxiproxyVersion)
	install.Dir = dir // outside any module, so go.work and go.mod play no part
	install.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+dir, "GOFLAGS=-trimpath")
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install toxiproxy %s: %w: %s", ToxiproxyVersion, err, out)
	}
	return filepath.Join(dir, "server"), nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
