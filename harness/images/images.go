// Package images inspects, pulls and builds container images through the
// Docker Engine API (the moby client), with no docker CLI: the harness
// runs from an image FROM scratch, where there is none.
//
// Every function opens its own client from the environment (DOCKER_HOST
// and friends, or the default socket), blocks until the engine answers,
// and is safe for concurrent use.
package images

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// LabelRecipe is the label on an image the harness or `make images`
// builds: a digest of what the image is built from. An image whose label
// matches the current recipe is up to date and is not built again.
const LabelRecipe = "io.mqchaos.recipe"

func docker() (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// Exists reports whether image is on the engine. A missing image is
// (false, nil); an engine that cannot be asked is an error.
func Exists(ctx context.Context, image string) (bool, error) {
	_, err := inspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Label is image's label key, "" when the image is missing or has none.
func Label(ctx context.Context, image, key string) (string, error) {
	res, err := inspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if res.Config == nil {
		return "", nil
	}
	return res.Config.Labels[key], nil
}

func inspect(ctx context.Context, image string) (client.ImageInspectResult, error) {
	cli, err := docker()
	if err != nil {
		return client.ImageInspectResult{}, err
	}
	defer cli.Close()
	res, err := cli.ImageInspect(ctx, image)
	if err != nil && !cerrdefs.IsNotFound(err) {
		err = fmt.Errorf("inspect image %s: %w", image, err)
	}
	return res, err
}

// AnyTagged reports whether the engine has an image of repository under
// any tag ("testcontainers/ryuk"), as `docker images -q repository`.
func AnyTagged(ctx context.Context, repository string) (bool, error) {
	cli, err := docker()
	if err != nil {
		return false, err
	}
	defer cli.Close()
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repository)})
	if err != nil {
		return false, fmt.Errorf("list images %s: %w", repository, err)
	}
	return len(res.Items) > 0, nil
}

// Pull pulls image from its registry and waits until it is on the engine.
func Pull(ctx context.Context, image string) error {
	cli, err := docker()
	if err != nil {
		return err
	}
	defer cli.Close()
	pull, err := cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		err = pull.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	return nil
}

// Spec is one image build, as `docker build -f Dockerfile -t Tag
// --build-arg ... --label ... Context` with the classic builder.
type Spec struct {
	Context    string            // the directory sent as build context; its .dockerignore is honoured
	Dockerfile string            // relative to Context; "Dockerfile" when empty
	Tag        string            // the image's name
	Args       map[string]string // build args
	Labels     map[string]string // labels on the image, e.g. LabelRecipe
}

// tailLines is how much of a failed build's log its error carries.
const tailLines = 15

// Build builds s and blocks until the engine is done. The build's log is
// kept only for the error of a failed build: one line naming the image,
// the Dockerfile and the engine's message, then the log's last lines.
func Build(ctx context.Context, s Spec) error {
	dockerfile := s.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	where := filepath.Join(s.Context, dockerfile)
	fail := func(err error) error { return fmt.Errorf("build image %s from %s: %w", s.Tag, where, err) }
	tar, inTar, err := Context(s.Context, dockerfile)
	if err != nil {
		return fail(err)
	}
	defer tar.Close()
	cli, err := docker()
	if err != nil {
		return fail(err)
	}
	defer cli.Close()
	args := map[string]*string{}
	for k, v := range s.Args {
		args[k] = &v
	}
	res, err := cli.ImageBuild(ctx, tar, client.ImageBuildOptions{
		Tags:       []string{s.Tag},
		Dockerfile: inTar,
		BuildArgs:  args,
		Labels:     maps.Clone(s.Labels),
		Remove:     true, // the CLI's default: no intermediate containers left behind
	})
	if err != nil {
		return fail(err)
	}
	defer res.Body.Close()
	if err := readBuildLog(res.Body); err != nil {
		return fail(err)
	}
	return nil
}

// readBuildLog reads the engine's build stream to its end: nil when the
// build succeeded, else the engine's error followed by the log's tail.
func readBuildLog(r io.Reader) error {
	var tail []string
	keep := func(text string) {
		for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
			if line = strings.TrimRight(line, "\r"); line == "" {
				continue
			}
			tail = append(tail, line)
			if len(tail) > tailLines {
				tail = tail[1:]
			}
		}
	}
	dec := json.NewDecoder(r)
	for {
		var m struct {
			jsonstream.Message
			ErrorMessage string `json:"error"` // what engines before errorDetail sent
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return withTail(fmt.Errorf("read build log: %w", err), tail)
		}
		keep(m.Stream)
		keep(m.Status)
		if m.Error != nil && m.Error.Message != "" {
			m.ErrorMessage = m.Error.Message
		}
		if m.Error != nil || m.ErrorMessage != "" {
			return withTail(errors.New(cmp.Or(strings.TrimSpace(m.ErrorMessage), "build failed")), tail)
		}
	}
}

func withTail(err error, tail []string) error {
	if len(tail) == 0 {
		return err
	}
	return fmt.Errorf("%w\n  | %s", err, strings.Join(tail, "\n  | "))
}
