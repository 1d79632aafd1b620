package queueload

import (
	"context"
	"testing"
)

func TestWorkersPinnedToTheirOwnNodesFailOverAmongThemOnly(t *testing.T) {
	all := func(context.Context) ([]string, error) { return []string{"n1", "n2", "n3"}, nil }
	sides := [][]string{{"n1"}, {"n2", "n3"}}
	own := func(_ context.Context, i int) ([]string, error) { return sides[i%2], nil }
	ctx := context.Background()

	pick := func(list func(context.Context, int) ([]string, error), i int, attempts int) []string {
		var got []string
		for a := range attempts {
			u, err := node(ctx, list, i, a)
			if err != nil {
				t.Fatalf("worker %d, attempt %d: %v", i, a, err)
			}
			got = append(got, u)
		}
		return got
	}
	for _, tc := range []struct {
		name   string
		list   func(context.Context, int) ([]string, error)
		worker int
		want   []string
	}{
		{"unpinned worker 0 goes round all nodes", nodes(all, nil), 0, []string{"n1", "n2", "n3", "n1"}},
		{"unpinned worker 1 starts one further", nodes(all, nil), 1, []string{"n2", "n3", "n1", "n2"}},
		{"worker 0 pinned to the minority stays there", nodes(all, own), 0, []string{"n1", "n1", "n1"}},
		{"worker 1 pinned to the majority fails over within it", nodes(all, own), 1, []string{"n3", "n2", "n3"}},
	} {
		got := pick(tc.list, tc.worker, len(tc.want))
		for k := range tc.want {
			if got[k] != tc.want[k] {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

func TestANodeListThatIsEmptyIsAnError(t *testing.T) {
	none := func(context.Context, int) ([]string, error) { return nil, nil }
	if _, err := node(context.Background(), none, 0, 0); err == nil {
		t.Fatal("no node: want an error")
	}
}
