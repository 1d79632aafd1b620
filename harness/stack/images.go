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

	"github.com/mqchaos/mqchaos/harness/images"
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
	Toxiproxy string // default images.Toxiproxy, built when a stack needs it
	// ToxiproxyServer is Toxiproxy's server binary to build the Toxiproxy
	// image from; "" looks beside the executable, then runs go install
	// (images.BuildToxiproxy).
	ToxiproxyServer string
}

// ImagesFromEnv reads RABBITMQ_IMAGE, POSTGRES_IMAGE, TOXIPROXY_IMAGE and
// MQCHAOS_TOXIPROXY_SERVER from getenv. With LOCAL_IMAGES=1 the Debian-built images
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
		RabbitMQ:        pick("RABBITMQ_IMAGE", PublicRabbitMQ, LocalRabbitMQ),
		Postgres:        pick("POSTGRES_IMAGE", PublicPostgres, LocalPostgres),
		Toxiproxy:       cmp.Or(getenv("TOXIPROXY_IMAGE"), images.Toxiproxy),
		ToxiproxyServer: getenv("MQCHAOS_TOXIPROXY_SERVER"),
	}
}

func imagePresent(ctx context.Context, image string) bool {
	ok, _ := images.Exists(ctx, image)
	return ok
}

// BuildImages builds the image of every service of sys that has a Build,
// and then every image a control builds (system.Control.Build): it runs
// the build's command, if any, in its context with sh, then builds the
// image through the Docker Engine API (images.Build). Services and
// controls that share an image are built once. A build that names its
// Sources is skipped, command and image build, when the image already
// carries their recipe (images.LabelRecipe, see SourcesRecipe); one
// without is built every time (the engine's cache keeps that cheap). A
// command where there is no sh (the mqchaos image) is an error that says
// to build the image beforehand. It returns the images it built. It
// blocks until done; run it once per suite.
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
		if recipe != "" {
			have, err := images.Label(ctx, svc.Image, images.LabelRecipe)
			if err != nil {
				return built, fmt.Errorf("build %s: %w", svc.Name, err)
			}
			if have == recipe {
				continue
			}
		}
		if b.Run != "" && !ran[dir+"\x00"+b.Run] {
			if err := runBuildCommand(ctx, dir, b.Run); err != nil {
				return built, fmt.Errorf("build %s: %w", svc.Name, err)
			}
			ran[dir+"\x00"+b.Run] = true
		}
		spec := images.Spec{Context: dir, Dockerfile: b.Dockerfile, Tag: svc.Image, Args: b.Args}
		if recipe != "" {
			spec.Labels = map[string]string{images.LabelRecipe: recipe}
		}
		if err := images.Build(ctx, spec); err != nil {
			return built, err
		}
		built = append(built, svc.Image)
	}
	return built, nil
}

// runBuildCommand runs a description's build command with sh in dir.
func runBuildCommand(ctx context.Context, dir, run string) error {
	if _, err := exec.LookPath("sh"); err != nil {
		return fmt.Errorf("%q needs a shell and there is none here (the mqchaos image has none): build the image beforehand, outside the container, or drop the build from the description", run)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", run)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", run, err, out)
	}
	return nil
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
		if have, _ := images.AnyTagged(ctx, "testcontainers/ryuk"); !have {
			set["TESTCONTAINERS_RYUK_DISABLED"] = "true"
		}
	}
	return set
}
