package stack

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestDNSLabelIsAValidServiceName(t *testing.T) {
	long := strings.Repeat("competing_consumers_safe_", 4) + "_1a2b3c4d-inventory-1"
	for in, want := range map[string]string{
		"rabbitmq": "rabbitmq",
		"poison_messages_safe_0a1b2c3d-inventory-1": "poison-messages-safe-0a1b2c3d-inventory-1",
		"1st": "p-1st",
		"__":  "p",
		long:  "",
	} {
		got := dnsLabel(in)
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 || len(got) > 63 {
			t.Errorf("dnsLabel(%q) = %q: not a Service name: %v", in, got, errs)
		}
		if want != "" && got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if a, b := dnsLabel(long), dnsLabel(long+"x"); a == b {
		t.Errorf("two long names cut to one: %q", a)
	}
}
