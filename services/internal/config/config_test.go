package config

import (
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestDefaultsAreSafe(t *testing.T) {
	c, err := Load("inventory", env(map[string]string{"AMQP_URL": "amqp://x", "DATABASE_URL": "postgres://x"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Unsafe()) != 0 || c.QueueType != "quorum" || c.Idempotency != IdempotencyDurable || c.Prefetch != 512 || c.Workers != 2 || c.ConsumeBatch != 128 || c.Heartbeat != 10*time.Second {
		t.Fatalf("defaults %+v, unsafe %v", c, c.Unsafe())
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	_, err := Load("order", env(map[string]string{
		"QUEUE_TYPE": "stream", "PREFETCH": "zero", "AMQP_HEARTBEAT": "soon", "IDEMPOTENCY": "maybe", "UNSAFE_AUTO_ACK": "sure", "FAILPOINTS": "a=-1",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"AMQP_URL is required", "DATABASE_URL is required", `QUEUE_TYPE "stream"`, `PREFETCH "zero"`, `AMQP_HEARTBEAT "soon"`, `IDEMPOTENCY "maybe"`, `UNSAFE_AUTO_ACK "sure"`, "FAILPOINTS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUnsafeSwitchesAreListed(t *testing.T) {
	c, err := Load("inventory", env(map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d", "UNSAFE_AUTO_ACK": "true", "IDEMPOTENCY": "memory"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Unsafe(), " "); got != "UNSAFE_AUTO_ACK IDEMPOTENCY=memory" {
		t.Fatalf("Unsafe() = %q", got)
	}
}

func TestParseCounts(t *testing.T) {
	m, err := ParseCounts(" a=2, b ,,c=0")
	if err != nil || m["a"] != 2 || m["b"] != 1 || m["c"] != 0 || len(m) != 3 {
		t.Fatalf("%v %v", m, err)
	}
}

func TestOutageBudget(t *testing.T) {
	base := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d"}
	c, err := Load("inventory", env(base))
	if err != nil || c.OutageBudget != 5*time.Minute || c.UnsafeCountOutageRetries || c.UnsafeRedeliveredIsPoison {
		t.Fatalf("default %s, unsafe %v %v, %v", c.OutageBudget, c.UnsafeCountOutageRetries, c.UnsafeRedeliveredIsPoison, err)
	}
	for v, ok := range map[string]bool{"10m": true, "25m": true, "0s": false, "26m": false, "-1m": false} {
		base["OUTAGE_BUDGET"] = v
		_, err := Load("inventory", env(base))
		if (err == nil) != ok {
			t.Errorf("OUTAGE_BUDGET=%s: %v", v, err)
		}
	}
	c, err = Load("inventory", env(map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d", "UNSAFE_COUNT_OUTAGE_RETRIES": "true"}))
	if err != nil || strings.Join(c.Unsafe(), " ") != "UNSAFE_COUNT_OUTAGE_RETRIES" {
		t.Fatalf("Unsafe() = %v, %v", c.Unsafe(), err)
	}
	c, err = Load("inventory", env(map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d", "UNSAFE_REDELIVERED_IS_POISON": "true"}))
	if err != nil || !c.UnsafeRedeliveredIsPoison || strings.Join(c.Unsafe(), " ") != "UNSAFE_REDELIVERED_IS_POISON" {
		t.Fatalf("Unsafe() = %v, %v", c.Unsafe(), err)
	}
	_, err = Load("inventory", env(map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d", "UNSAFE_REDELIVERED_IS_POISON": "sometimes"}))
	if err == nil || !strings.Contains(err.Error(), `UNSAFE_REDELIVERED_IS_POISON "sometimes"`) {
		t.Fatalf("want a refusal of a non-boolean, got %v", err)
	}
}

// AMQP_HEARTBEAT=0 is accepted and kept as 0, which the AMQP client takes
// as the broker's interval: the no-heartbeats control relies on it.
func TestHeartbeatZeroIsTheBrokers(t *testing.T) {
	c, err := Load("inventory", env(map[string]string{"AMQP_URL": "amqp://x", "DATABASE_URL": "postgres://x", "AMQP_HEARTBEAT": "0"}))
	if err != nil || c.Heartbeat != 0 {
		t.Fatalf("AMQP_HEARTBEAT=0: heartbeat %s, err %v", c.Heartbeat, err)
	}
}

// UNSAFE_HTTP_NO_IDEMPOTENCY is off by default, read as a boolean and
// listed among the unsafe switches.
func TestHTTPNoIdempotency(t *testing.T) {
	base := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d"}
	c, err := Load("order", env(base))
	if err != nil || c.UnsafeHTTPNoIdempotency {
		t.Fatalf("default: %v, %v", c.UnsafeHTTPNoIdempotency, err)
	}
	base["UNSAFE_HTTP_NO_IDEMPOTENCY"] = "true"
	c, err = Load("order", env(base))
	if err != nil || !c.UnsafeHTTPNoIdempotency || strings.Join(c.Unsafe(), " ") != "UNSAFE_HTTP_NO_IDEMPOTENCY" {
		t.Fatalf("Unsafe() = %v, %v", c.Unsafe(), err)
	}
	base["UNSAFE_HTTP_NO_IDEMPOTENCY"] = "perhaps"
	if _, err := Load("order", env(base)); err == nil || !strings.Contains(err.Error(), `UNSAFE_HTTP_NO_IDEMPOTENCY "perhaps"`) {
		t.Fatalf("want a refusal of a non-boolean, got %v", err)
	}
}

// The broker-failure switches are off by default, listed when on, and
// validated like the others.
func TestBrokerFailureSwitches(t *testing.T) {
	base := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d"}
	c, err := Load("order", env(base))
	if err != nil || c.UnsafeNoConsumerRecovery || c.UnsafeNoMandatory {
		t.Fatalf("defaults: recovery off %v, mandatory off %v, %v", c.UnsafeNoConsumerRecovery, c.UnsafeNoMandatory, err)
	}
	base["UNSAFE_NO_CONSUMER_RECOVERY"], base["UNSAFE_NO_MANDATORY"], base["UNSAFE_IGNORE_TOPOLOGY_ERRORS"] = "true", "1", "true"
	c, err = Load("order", env(base))
	if err != nil || strings.Join(c.Unsafe(), " ") != "UNSAFE_NO_CONSUMER_RECOVERY UNSAFE_NO_MANDATORY UNSAFE_IGNORE_TOPOLOGY_ERRORS" {
		t.Fatalf("Unsafe() = %v, %v", c.Unsafe(), err)
	}
	base["UNSAFE_NO_CONSUMER_RECOVERY"], base["UNSAFE_NO_MANDATORY"] = "often", "no way"
	_, err = Load("order", env(base))
	for _, want := range []string{`UNSAFE_NO_CONSUMER_RECOVERY "often"`, `UNSAFE_NO_MANDATORY "no way"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestOutboxRetry(t *testing.T) {
	base := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d"}
	c, err := Load("order", env(base))
	if err != nil || c.OutboxRetryBase != time.Second || c.OutboxRetryMax != 30*time.Second {
		t.Fatalf("defaults %s %s, %v", c.OutboxRetryBase, c.OutboxRetryMax, err)
	}
	for _, bad := range [][2]string{{"0s", "1s"}, {"2s", "1s"}} {
		base["OUTBOX_RETRY_BASE"], base["OUTBOX_RETRY_MAX"] = bad[0], bad[1]
		if _, err := Load("order", env(base)); err == nil || !strings.Contains(err.Error(), "OUTBOX_RETRY_BASE") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestAMQPURLIsOneURLOrAList(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "d"}
	for v, want := range map[string][]string{
		"amqp://u:p@rabbitmq:5672/vh":                        {"amqp://u:p@rabbitmq:5672/vh"},
		"amqp://r1:5672/, amqp://r2:5672/ ,amqps://r3:5671/": {"amqp://r1:5672/", "amqp://r2:5672/", "amqps://r3:5671/"},
	} {
		base["AMQP_URL"] = v
		c, err := Load("order", env(base))
		if err != nil || strings.Join(c.AMQPURLs, " ") != strings.Join(want, " ") {
			t.Errorf("AMQP_URL %q: %q, %v; want %q", v, c.AMQPURLs, err, want)
		}
	}
}

func TestAMQPURLNamesEveryBadURL(t *testing.T) {
	_, err := Load("order", env(map[string]string{"DATABASE_URL": "d", "AMQP_URL": "amqp://u:p@r1/,http://u:secret@r2/,,amqp://r4/"}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"AMQP_URL: URL 2 of 4 (http://u:xxxxx@r2/)", "URL 3 of 4:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, never := range []string{"secret", "URL 1 of 4", "URL 4 of 4"} {
		if strings.Contains(err.Error(), never) {
			t.Errorf("error shows %q:\n%v", never, err)
		}
	}
}

func TestHTTPLimits(t *testing.T) {
	base := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d"}
	c, err := Load("order", env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPHeaderTimeout != 5*time.Second || c.HTTPBodyTimeout != 10*time.Second || c.HTTPHandlerTimeout != 30*time.Second ||
		c.HTTPWriteTimeout != time.Minute || c.HTTPIdleTimeout != time.Minute || c.HTTPMaxHeaderBytes != 64<<10 || c.HTTPMaxConns != 512 || c.UnsafeNoHTTPLimits {
		t.Fatalf("defaults %+v", c)
	}
	bad := map[string]string{
		"HTTP_HEADER_TIMEOUT": "0s", "HTTP_IDLE_TIMEOUT": "0", "HTTP_BODY_TIMEOUT": "40s", "HTTP_MAX_CONNS": "0", "HTTP_MAX_HEADER_BYTES": "100", "UNSAFE_NO_HTTP_LIMITS": "yes please",
	}
	for k, v := range base {
		bad[k] = v
	}
	_, err = Load("order", env(bad))
	for _, want := range []string{
		"HTTP_HEADER_TIMEOUT must be positive", "HTTP_IDLE_TIMEOUT must be positive", "HTTP_WRITE_TIMEOUT 1m0s must be above HTTP_BODY_TIMEOUT + HTTP_HANDLER_TIMEOUT (1m10s)",
		"HTTP_MAX_CONNS must be positive", "HTTP_MAX_HEADER_BYTES must be at least 4096", `UNSAFE_NO_HTTP_LIMITS "yes please"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	base["UNSAFE_NO_HTTP_LIMITS"] = "true"
	if c, err := Load("order", env(base)); err != nil || strings.Join(c.Unsafe(), " ") != "UNSAFE_NO_HTTP_LIMITS" {
		t.Fatalf("unsafe %v, %v", c.Unsafe(), err)
	}
}
