package stack

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/system"
)

func TestWithControlSetsEnvImageAndCommand(t *testing.T) {
	o := options{env: system.EnvSet{}, image: map[string]string{}, command: map[string][]string{}}
	cmd := []string{"python3", "worker.py", "--ack-early"}
	WithEnvSet(system.EnvSet{"worker": {"A": "1"}})(&o)
	WithControl(system.Control{
		Env:     system.EnvSet{"*": {"ACK": "early"}, "worker": {"A": "2"}},
		Image:   map[string]string{"worker": "shop/worker:unsafe"},
		Command: map[string][]string{"worker": cmd},
	})(&o)
	cmd[0] = "changed after" // the option keeps its own copy
	w := o.override(system.Service{Name: "worker", Image: "shop/worker:1", Command: []string{"worker.py"}})
	if w.Image != "shop/worker:unsafe" || strings.Join(w.Command, " ") != "python3 worker.py --ack-early" {
		t.Errorf("worker: %+v", w)
	}
	api := o.override(system.Service{Name: "api", Image: "shop/api:1", Command: []string{"api"}})
	if api.Image != "shop/api:1" || strings.Join(api.Command, " ") != "api" {
		t.Errorf("a service the control does not name changed: %+v", api)
	}
	if env := o.env.Merge("worker", nil); env["A"] != "2" || env["ACK"] != "early" {
		t.Errorf("env %v", env)
	}
}

// A control's image is built as a service's is: after the services',
// named by control and service in errors.
func TestBuildImagesBuildsControlsImages(t *testing.T) {
	sys := &system.System{
		Dir:      t.TempDir(),
		Services: []system.Service{{Name: "worker", Image: "shop/worker:1"}},
		Controls: map[string]system.Control{
			"no-acks": {Image: map[string]string{"worker": "shop/worker:unsafe"}, Build: map[string]*system.Build{"worker": {Context: ".", Dockerfile: "Dockerfile", Run: "echo refused >&2; exit 3"}}},
			"env":     {Env: system.EnvSet{"*": {"X": "1"}}},
		},
	}
	got := imageBuilds(sys)
	if names := []string{got[0].Name, got[1].Name}; len(got) != 2 || !slices.Equal(names, []string{"worker", "no-acks/worker"}) || got[1].Image != "shop/worker:unsafe" {
		t.Fatalf("builds %+v", got)
	}
	_, err := BuildImages(context.Background(), sys)
	if err == nil || !strings.Contains(err.Error(), "build no-acks/worker: echo refused >&2; exit 3: exit status 3: refused") {
		t.Errorf("got %v", err)
	}
}
