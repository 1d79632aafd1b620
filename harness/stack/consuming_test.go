package stack

import "testing"

func TestCoversWantsEveryQueueConsumedByEveryReplica(t *testing.T) {
	want := map[string]int{"orders": 2, "notices": 1}
	for _, c := range []struct {
		got  map[string]int
		ok   bool
		name string
	}{
		{map[string]int{"orders": 2, "notices": 1}, true, "each as many"},
		{map[string]int{"orders": 3, "notices": 1, "other": 1}, true, "more"},
		{map[string]int{"orders": 1, "notices": 1}, false, "a replica short"},
		{map[string]int{"orders": 2}, false, "a queue missing"},
		{nil, false, "nothing"},
	} {
		if covers(c.got, want) != c.ok {
			t.Errorf("%s: covers(%v) = %v, want %v", c.name, c.got, !c.ok, c.ok)
		}
	}
}
