package catalogue

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

// ends runs wait and reports whether it returned within 5 s; if not, it
// cancels ctx, which ends any Eventually polling with it.
func ends(t *testing.T, cancel context.CancelFunc, wait func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait()
	}()
	select {
	case <-done:
		return true
	case <-time.After(5 * time.Second):
		cancel()
		<-done
		return false
	}
}

// A spec's Eventually given a context with no deadline gives up at the
// default timeout, as it does without a context: a readiness wait once
// hung until the suite's 4-minute timeout. The default is lowered to
// 100 ms on the instances here; what is tested is that it applies.
func TestEventuallyWithAContextEndsAtTheDefaultTimeout(t *testing.T) {
	never := func() bool { return false }

	rt := &plainRuntime{started: time.Now(), step: func(string) {}}
	st := NewT(rt, &Env{})
	st.SetDefaultEventuallyTimeout(100 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background()) // no deadline
	defer cancel()
	if !ends(t, cancel, func() {
		defer rt.recover() // the failure ends the spec with a panic
		st.Eventually(ctx, never).Should(gomega.BeTrue())
	}) {
		t.Error("T: still waiting 5 s after a default timeout of 100 ms")
	}
	if !rt.Failed() || !strings.Contains(rt.message, "Timed out after") {
		t.Errorf("T: the spec did not fail on the timeout: failed %v, %q", rt.Failed(), rt.message)
	}

	q := st.Quietly()
	q.SetDefaultEventuallyTimeout(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	held := true
	if !ends(t, cancel, func() { held = q.Eventually(ctx, never).Should(gomega.BeTrue()) }) {
		t.Error("Quietly: still waiting 5 s after a default timeout of 100 ms")
	}
	if held {
		t.Error("Quietly: a wait that never holds held")
	}
}
