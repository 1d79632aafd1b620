package runner

import (
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/services/internal/config"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
)

func TestHTTPLimitsComeFromTheConfigAndTheUnsafeSwitchLiftsThem(t *testing.T) {
	env := map[string]string{"AMQP_URL": "amqp://a", "DATABASE_URL": "d", "HTTP_BODY_TIMEOUT": "2s", "HTTP_MAX_CONNS": "7"}
	cfg, err := config.Load("order", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := httpserver.Limits{HeaderTimeout: 5 * time.Second, BodyTimeout: 2 * time.Second, HandlerTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10, MaxConns: 7}
	if got := HTTPLimits(cfg); got != want {
		t.Fatalf("limits %+v, want %+v", got, want)
	}
	cfg.UnsafeNoHTTPLimits = true
	if got := HTTPLimits(cfg); got != (httpserver.Limits{MaxHeaderBytes: 64 << 10}) {
		t.Fatalf("unsafe limits %+v: want none but the header size", got)
	}
}
