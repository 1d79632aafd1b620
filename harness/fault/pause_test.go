package fault

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// freezer fails its first n pauses with err.
type freezer struct {
	Docker
	n, pauses int
	err       error
}

func (f *freezer) ContainerPause(context.Context, string, client.ContainerPauseOptions) (client.ContainerPauseResult, error) {
	f.pauses++
	if f.pauses <= f.n {
		return client.ContainerPauseResult{}, f.err
	}
	return client.ContainerPauseResult{}, nil
}

// A freeze the runtime gave up on is asked for again; any other error,
// or one that keeps coming, is the fault's error.
func TestPauseAsksAgainWhenTheFreezeTimesOut(t *testing.T) {
	timeout := errors.New("Error response from daemon: Cannot pause container c: OCI runtime pause failed: unable to freeze: unknown")
	f := &freezer{n: 2, err: timeout}
	if err := Pause(OnDocker(f), Target{Name: "postgres", ID: "c"}).Inject(context.Background()); err != nil || f.pauses != 3 {
		t.Errorf("after 2 timeouts: %v, %d pauses; want success at the third", err, f.pauses)
	}
	f = &freezer{n: 100, err: timeout}
	if err := Pause(OnDocker(f), Target{Name: "postgres", ID: "c"}).Inject(context.Background()); err == nil || f.pauses != freezeTries || !strings.Contains(err.Error(), "unable to freeze") {
		t.Errorf("always timing out: %v, %d pauses; want an error after %d", err, f.pauses, freezeTries)
	}
	f = &freezer{n: 1, err: errors.New("No such container: c")}
	if err := Pause(OnDocker(f), Target{Name: "postgres", ID: "c"}).Inject(context.Background()); err == nil || f.pauses != 1 {
		t.Errorf("no such container: %v, %d pauses; want the error at once", err, f.pauses)
	}
}
