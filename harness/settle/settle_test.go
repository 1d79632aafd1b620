package settle_test

import (
	"testing"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/settle"
)

func TestFingerprintChangesWithAnyCount(t *testing.T) {
	a := settle.Fingerprint(map[string]effect.Observed{"x": {IDs: []string{"1"}}, "y": {}})
	b := settle.Fingerprint(map[string]effect.Observed{"y": {}, "x": {IDs: []string{"1"}}})
	c := settle.Fingerprint(map[string]effect.Observed{"x": {IDs: []string{"1"}}, "y": {IDs: []string{"1"}}})
	if a != b || a == c {
		t.Errorf("%q %q %q", a, b, c)
	}
}
