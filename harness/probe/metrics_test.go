package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMetricsSum(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`# HELP mqchaos_messages_acked_total x
mqchaos_messages_acked_total{queue="a"} 3
mqchaos_messages_acked_total{queue="b"} 4
mqchaos_messages_acked_total_extra 100
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.2e+07
# TYPE labelled counter
labelled{queue="a",kind="x"} 1
labelled{queue="a-b",kind="x"} 10
`))
	}))
	defer srv.Close()
	m := NewMetrics(func(context.Context) (string, error) { return srv.URL, nil })
	for _, tc := range []struct {
		metric string
		match  []string
		want   float64
	}{
		{"mqchaos_messages_acked_total", nil, 7},
		{"mqchaos_messages_acked_total", []string{`queue="b"`}, 4},
		{"process_resident_memory_bytes", nil, 1.2e7},
		{"absent", nil, 0},
		// a substring match would also count queue="a-b"
		{"labelled", []string{`queue="a"`}, 1},
		{"labelled", []string{`queue="a"`, `kind="x"`}, 1},
		{"labelled", []string{`kind="x"`}, 11},
	} {
		got, err := m.Sum(context.Background(), tc.metric, tc.match...)
		if err != nil || got != tc.want {
			t.Errorf("Sum(%s, %v) = %v, %v; want %v", tc.metric, tc.match, got, err, tc.want)
		}
	}
}
