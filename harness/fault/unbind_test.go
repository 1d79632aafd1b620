package fault

import (
	"context"
	"slices"
	"testing"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// binder is a broker's bindings in memory.
type binder struct{ bs []broker.Binding }

func (f *binder) Bindings(_ context.Context, queue string) ([]broker.Binding, error) {
	var out []broker.Binding
	for _, b := range f.bs {
		if b.Destination == queue {
			out = append(out, b)
		}
	}
	return out, nil
}

func (f *binder) Unbind(_ context.Context, b broker.Binding) error {
	f.bs = slices.DeleteFunc(f.bs, func(x broker.Binding) bool {
		return x.Source == b.Source && x.Destination == b.Destination && x.RoutingKey == b.RoutingKey
	})
	return nil
}

func (f *binder) Bind(_ context.Context, b broker.Binding) error {
	f.bs = append(f.bs, b)
	return nil
}

func TestUnbindRemovesAndRestores(t *testing.T) {
	ctx := context.Background()
	orig := []broker.Binding{
		{Source: "orders", Destination: "a", RoutingKey: "order.placed"},
		{Source: "orders", Destination: "a", RoutingKey: "order.cancelled"},
		{Source: "orders", Destination: "b", RoutingKey: "order.placed"},
		{Source: "results", Destination: "c", RoutingKey: "#"},
	}
	f := &binder{bs: slices.Clone(orig)}
	u := Unbind(f, "a", "b")
	if err := u.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.bs) != 1 || f.bs[0].Destination != "c" {
		t.Fatalf("after Inject: %v, want only the binding to c", f.bs)
	}
	if err := u.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	key := func(b broker.Binding) string { return b.Source + ">" + b.Destination + ":" + b.RoutingKey }
	var got, want []string
	for _, b := range f.bs {
		got = append(got, key(b))
	}
	for _, b := range orig {
		want = append(want, key(b))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after Heal: %v, want %v", got, want)
	}
	if err := Unbind(f, "nothing-bound").Inject(ctx); err == nil {
		t.Fatal("Unbind of a queue without bindings: no error")
	}
}
