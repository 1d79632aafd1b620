package workload

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Poison is a message no consumer can process, and its name.
type Poison struct {
	Name    string
	Message broker.Message
}

// PoisonMessages returns the messages a consumer of in must dead-letter
// rather than retry or crash on: the harness's own, which no system can
// take (invalid JSON, an empty body, a JSON value that is not an object,
// an empty object, invalid UTF-8, 256 KiB of garbage), and the
// description's poison bodies of the input's own shape. Each is routed as
// in's messages are, with message id prefix-<name>.
func PoisonMessages(in *system.AMQPInput, prefix string, rng *rand.Rand) ([]Poison, error) {
	bodies := map[string][]byte{
		"invalid-json":  []byte(`{"id": "` + prefix + `", "quantity": `),
		"empty-body":    {},
		"not-an-object": []byte(`[1, 2, 3]`),
		"null":          []byte(`null`),
		"empty-object":  []byte(`{}`),
		"invalid-utf8":  []byte("{\"id\": \"\xff\xfe\xfd\"}"),
		"oversized":     bytes.Repeat([]byte("x"), 256<<10),
	}
	for i, name := range slices.Sorted(maps.Keys(in.Poison)) {
		u := fresh(system.Unit{ID: fmt.Sprintf("%s-%s", prefix, name), Seq: i + 1})
		b, err := system.RenderUnit(in.Poison[name], u, rng)
		if err != nil {
			return nil, fmt.Errorf("poison %s: %w", name, err)
		}
		bodies[name] = []byte(b)
	}
	var out []Poison
	for _, name := range slices.Sorted(maps.Keys(bodies)) {
		m, err := Message(in, system.Unit{ID: prefix + "-" + name}, rng)
		if err != nil {
			return nil, fmt.Errorf("poison %s: %w", name, err)
		}
		m.Body, m.MessageID = bodies[name], prefix+"-"+name
		out = append(out, Poison{Name: name, Message: m})
	}
	return out, nil
}
