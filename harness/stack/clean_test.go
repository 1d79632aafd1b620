package stack

import (
	"strconv"
	"testing"
)

func TestOrphan(t *testing.T) {
	alive := func(pid int) bool { return pid == 42 }
	labels := func(host, pid, ns string) map[string]string {
		l := map[string]string{LabelHost: host, LabelPID: pid}
		if ns != "" {
			l[LabelPIDNS] = ns
		}
		return l
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"live process here", labels("vm", "42", "pid:[1]"), false},
		{"ended process here", labels("vm", "43", "pid:[1]"), true},
		{"before the namespace label, live", labels("vm", "42", ""), false},
		{"before the namespace label, ended", labels("vm", "43", ""), true},
		{"another PID namespace", labels("vm", "43", "pid:[2]"), false},
		{"another host", labels("elsewhere", "42", "pid:[1]"), true},
		{"no pid", labels("vm", "", "pid:[1]"), true},
	} {
		if got := orphan(c.labels, "vm", "pid:[1]", alive); got != c.want {
			t.Errorf("%s: orphan %v, want %v", c.name, got, c.want)
		}
	}
	if ns := pidNamespace(); ns == "" {
		t.Log("no /proc/self/ns/pid here")
	} else if _, err := strconv.Atoi(ns[len("pid:[") : len(ns)-1]); err != nil {
		t.Errorf("pid namespace %q", ns)
	}
}
