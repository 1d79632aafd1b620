package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Image names.
const (
	PublicRabbitMQ = "rabbitmq:3.13-management"
	PublicPostgres = "postgres:15"
	LocalRabbitMQ  = "mqchaos/rabbitmq:3.10-local" // built by `make images LOCAL_IMAGES=1`
	LocalPostgres  = "mqchaos/postgres:15-local"
)

// Services are the services of the system under test, by short name.
var Services = []string{"order", "inventory", "notification"}

// Images names every image a stack runs.
type Images struct {
	RabbitMQ   string
	Postgres   string
	ServiceTag string // services run mqchaos/<name>-service:<tag>
}

// Service is the image of service name ("order", ...).
func (i Images) Service(name string) string {
	return fmt.Sprintf("mqchaos/%s-service:%s", name, i.ServiceTag)
}

// ImagesFromEnv reads RABBITMQ_IMAGE, POSTGRES_IMAGE and SERVICE_TAG
// (default "dev") from getenv. With LOCAL_IMAGES=1 the Debian-built images
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
	tag := getenv("SERVICE_TAG")
	if tag == "" {
		tag = "dev"
	}
	return Images{
		RabbitMQ:   pick("RABBITMQ_IMAGE", PublicRabbitMQ, LocalRabbitMQ),
		Postgres:   pick("POSTGRES_IMAGE", PublicPostgres, LocalPostgres),
		ServiceTag: tag,
	}
}

func imagePresent(ctx context.Context, image string) bool {
	return exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil
}

// BuildServiceImages compiles the services of the module at root as static
// binaries and builds their images (deploy/service.Dockerfile). It blocks
// for the few seconds that takes; run it once per suite.
func BuildServiceImages(ctx context.Context, root string, images Images) error {
	dir, err := os.MkdirTemp("", "mqchaos-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "bin")+"/", "./services/cmd/...")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build services: %w: %s", err, out)
	}
	for _, s := range Services {
		cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-f", filepath.Join(root, "deploy", "service.Dockerfile"),
			"--build-arg", "SERVICE="+s+"-service", "-t", images.Service(s), dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build image %s: %w: %s", images.Service(s), err, out)
		}
	}
	return nil
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
