package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
)

// failing is a fault whose injection returns err.
type failing struct{ err error }

func (f failing) Name() string                 { return "cut consumer-1 off" }
func (f failing) Inject(context.Context) error { return f.err }
func (f failing) Heal(context.Context) error   { return nil }
func (f failing) Witness(context.Context) (fault.Check, error) {
	return func(context.Context) (string, error) { return "cut", nil }, nil
}

// A fault the platform cannot make skips the spec with the reason; any
// other error of a fault fails it.
func TestInjectSkipsWhatThePlatformCannotMake(t *testing.T) {
	for _, c := range []struct {
		err  error
		want State
	}{
		{fmt.Errorf("disconnect: %w on Kubernetes", fault.ErrUnsupported), Skipped},
		{errors.New("network not found"), Failed},
	} {
		rt := &plainRuntime{started: time.Now(), step: func(string) {}}
		st := NewT(rt, &Env{})
		func() {
			defer rt.recover()
			st.inject(context.Background(), &history.History{}, failing{c.err})
		}()
		if rt.state != c.want || !strings.Contains(rt.message, c.err.Error()) {
			t.Errorf("%v: state %v, %q; want %v with the error", c.err, rt.state, rt.message, c.want)
		}
	}
}
