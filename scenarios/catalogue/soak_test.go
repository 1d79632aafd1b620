package catalogue

import (
	"strings"
	"testing"
	"time"
)

func TestSoakFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := SoakFromEnv(env(map[string]string{"MQCHAOS_SOAK_DURATION": "10m", "MQCHAOS_SOAK_SEED": "42", "MQCHAOS_SOAK_CONTROL": "auto-ack"}), 7)
	if err != nil || c.Duration != 10*time.Minute || c.Seed != 42 || c.Control != "auto-ack" || c.Rate != 5 {
		t.Errorf("got %+v, %v", c, err)
	}
	c, err = SoakFromEnv(env(nil), 7)
	if err != nil || c.Duration != 0 || c.Seed != 7 || c.Overlap != 0.25 {
		t.Errorf("unset: got %+v, %v", c, err)
	}
	_, err = SoakFromEnv(env(map[string]string{"MQCHAOS_SOAK_DURATION": "5s", "MQCHAOS_SOAK_SEED": "-1", "MQCHAOS_SOAK_RATE": "0", "MQCHAOS_SOAK_OVERLAP": "2", "MQCHAOS_SOAK_MIX": "restart=1", "MQCHAOS_SOAK_HOLD": "10ms", "MQCHAOS_SOAK_SCHEDULE": "/no/such/file"}), 7)
	for _, want := range []string{"MQCHAOS_SOAK_DURATION", "MQCHAOS_SOAK_SEED", "MQCHAOS_SOAK_RATE", "MQCHAOS_SOAK_OVERLAP", "MQCHAOS_SOAK_MIX", "MQCHAOS_SOAK_HOLD", "MQCHAOS_SOAK_SCHEDULE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
