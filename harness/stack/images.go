package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/system"
)

// Image names.
const (
	PublicRabbitMQ = "rabbitmq:4-management" // the current 4.x release
	PublicPostgres = "postgres:15"
	LocalRabbitMQ  = "mqchaos/rabbitmq:3.10-local" // built by `make images LOCAL_IMAGES=1`
	LocalPostgres  = "mqchaos/postgres:15-local"
)

// Images names the broker's, the database's and Toxiproxy's images; each
// service's image is in the system's description.
type Images struct {
	RabbitMQ  string
	Postgres  string
	Toxiproxy string // default LocalToxiproxy, built when a stack needs it
}

// ImagesFromEnv reads RABBITMQ_IMAGE, POSTGRES_IMAGE and TOXIPROXY_IMAGE from getenv. With LOCAL_IMAGES=1 the Debian-built images
// are the defaults; otherwise the public ones, unless only the local build
// is present on the engine (so nothing is pulled that cannot be).
func ImagesFromEnv(ctx context.Context, getenv func(string) string) Images {
	pick := func(env, public, local string) string {
		if v := getenv(env); v != "" {
			return v
		}
		if getenv("LOCAL_IMAGES") == "1" || (!imagePresent(ctx, public) && imagePresent(ctx, local)) {
			return local
		}
		return public
	}
	return Images{
		RabbitMQ:  pick("RABBITMQ_IMAGE", PublicRabbitMQ, LocalRabbitMQ),
		Postgres:  pick("POSTGRES_IMAGE", PublicPostgres, LocalPostgres),
		Toxiproxy: cmp.Or(getenv("TOXIPROXY_IMAGE"), LocalToxiproxy),
	}
}

func imagePresent(ctx context.Context, image string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil
}

// BuildImages builds the image of every service of sys that has a Build,
// and then every image a control builds (system.Control.Build): it runs
// the build's command, if any, in its context, then docker build.
// Services and controls that share an image are built once. A build that names its
// Sources is skipped, command and docker build, when the image already
// carries their recipe (LabelRecipe, see SourcesRecipe); one without is
// built every time (docker's cache keeps that cheap). It returns the
// images it built. It blocks until done; run it once per suite.
func BuildImages(ctx context.Context, sys *system.System) (built []string, err error) {
	ran := map[string]bool{}
	done := map[string]bool{}
	for _, svc := range imageBuilds(sys) {
		b := svc.Build
		if b == nil || done[svc.Image] {
			continue
		}
		done[svc.Image] = true
		dir := b.Context
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(sys.Dir, dir)
		}
		recipe, err := SourcesRecipe(dir, b)
		if err != nil {
			return built, fmt.Errorf("build %s: %w", svc.Name, err)
		}
		if recipe != "" && imageRecipe(ctx, svc.Image) == recipe {
			continue
		}
		if b.Run != "" && !ran[dir+"\x00"+b.Run] {
			cmd := exec.CommandContext(ctx, "sh", "-c", b.Run)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return built, fmt.Errorf("build %s: %s: %w: %s", svc.Name, b.Run, err, out)
			}
			ran[dir+"\x00"+b.Run] = true
		}
		args := []string{"build", "-q", "-f", filepath.Join(dir, b.Dockerfile), "-t", svc.Image}
		for _, k := range slices.Sorted(maps.Keys(b.Args)) {
			args = append(args, "--build-arg", k+"="+b.Args[k])
		}
		if recipe != "" {
			args = append(args, "--label", LabelRecipe+"="+recipe)
		}
		cmd := exec.CommandContext(ctx, "docker", append(args, dir)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return built, fmt.Errorf("build image %s: %w: %s", svc.Image, err, out)
		}
		built = append(built, svc.Image)
	}
	return built, nil
}

// imageBuilds is every image sys builds, as services: the services' own,
// in description order, then the controls', by control and service name
// ("no-acks/worker" names one in errors).
func imageBuilds(sys *system.System) []system.Service {
	out := slices.Clone(sys.Services)
	for _, name := range slices.Sorted(maps.Keys(sys.Controls)) {
		c := sys.Controls[name]
		for _, svc := range slices.Sorted(maps.Keys(c.Build)) {
			out = append(out, system.Service{Name: name + "/" + svc, Image: c.Image[svc], Build: c.Build[svc]})
		}
	}
	return out
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module ") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// TestcontainersDefaults returns the testcontainers settings the harness
// needs where the caller has not set them: the Docker host is reached on
// 127.0.0.1 (every port is published there), and Ryuk, the reaper, is
// disabled when its image is not on the engine (it cannot always be
// pulled; the harness removes what it starts itself, see Clean).
func TestcontainersDefaults(ctx context.Context, getenv func(string) string) map[string]string {
	set := map[string]string{}
	if getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		set["TESTCONTAINERS_HOST_OVERRIDE"] = "127.0.0.1"
	}
	if getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		out, _ := exec.CommandContext(ctx, "docker", "images", "-q", "testcontainers/ryuk").Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			set["TESTCONTAINERS_RYUK_DISABLED"] = "true"
		}
	}
	return set
}
