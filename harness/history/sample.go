package history

import "time"

// Sample is one observation of the system's state at a moment, beside the
// operations: a replica's readiness (1 ready, 0 not) or a queue's depth
// (ready plus unacked messages).
type Sample struct {
	Observed string    `json:"observed"` // SampleReady or SampleDepth
	Name     string    `json:"name"`     // a replica ("inventory-1") or a queue
	Value    float64   `json:"value"`
	At       time.Time `json:"at"`
}

// What a Sample observed.
const (
	SampleReady = "ready"
	SampleDepth = "depth"
)

// Observe records a sample taken now.
func (h *History) Observe(observed, name string, value float64) {
	s := Sample{Observed: observed, Name: name, Value: value, At: time.Now()}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples = append(h.samples, s)
}

// AddSamples records samples taken elsewhere (by a sampler with a history
// of its own).
func (h *History) AddSamples(ss []Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples = append(h.samples, ss...)
}

// Samples returns a copy of the samples, in the order recorded.
func (h *History) Samples() []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Sample(nil), h.samples...)
}
