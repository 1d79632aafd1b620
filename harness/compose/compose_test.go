package compose_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/compose"
	"github.com/mqchaos/mqchaos/harness/system"
)

var update = flag.Bool("update", false, "rewrite the golden descriptions in testdata")

// golden compares what Describe makes of compose, as if written to out,
// with testdata/<name>/system.yaml (rewritten with -update).
func golden(t *testing.T, name, composePath, out string) ([]byte, compose.Summary) {
	t.Helper()
	got, sum, err := compose.Describe(composePath, out)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name, "system.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from what init makes of %s now (go test -update rewrites it):\n%s", path, composePath, got)
	}
	if sum.Lines != strings.Count(string(got), "\n") {
		t.Errorf("summary says %d lines, the text has %d", sum.Lines, strings.Count(string(got), "\n"))
	}
	return got, sum
}

// As made, a description decodes (no unknown field) and misses only
// what a compose file cannot say.
func expectOnlyTODOsMissing(t *testing.T, text []byte) {
	t.Helper()
	_, err := system.Parse(text)
	if err == nil {
		t.Fatal("a description with its TODOs open validated")
	}
	left := strings.Split(err.Error(), "\n")
	want := []string{"inputs: none declared: the harness needs a way to send work in", "effects: none declared: the harness needs to read what the services did"}
	if !slices.Equal(left, want) {
		t.Errorf("the description as made fails with\n%s\nwant only\n%s", err, strings.Join(want, "\n"))
	}
}

// written counts the lines of filled that are not in made (a longest
// common subsequence of lines): what the user wrote or changed. Blank
// lines and comments are not counted.
func written(made, filled []byte) (lines []string) {
	a, b := strings.Split(string(made), "\n"), strings.Split(string(filled), "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	for i, j := 0, 0; j < len(b); {
		switch {
		case i < len(a) && a[i] == b[j]:
			i, j = i+1, j+1
		case i < len(a) && lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			if l := strings.TrimSpace(b[j]); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, b[j])
			}
			j++
		}
	}
	return lines
}

// loadFilled loads testdata/<name>/filled.yaml, the description as made
// with its TODOs filled in by hand, and counts the lines written.
func loadFilled(t *testing.T, name string, made []byte) (*system.System, []string) {
	t.Helper()
	path := filepath.Join("testdata", name, "filled.yaml")
	s, err := system.Load(path)
	if err != nil {
		t.Fatalf("filled in, the description does not load:\n%v", err)
	}
	filled, _ := os.ReadFile(path)
	return s, written(made, filled)
}

// pyshop: init on its compose file, TODOs filled in, means what
// systems/pyshop/system.yaml means.
func TestPyshopFilledInMatchesItsDescription(t *testing.T) {
	made, sum := golden(t, "pyshop", "../../systems/pyshop/docker-compose.yml", "../../systems/pyshop/system.yaml")
	expectOnlyTODOsMissing(t, made)
	if !slices.Equal(sum.Broker, []string{"rabbitmq"}) || sum.Database != "" || !slices.Equal(sum.Services, []string{"order", "inventory", "notification"}) || len(sum.Replaced) != 3 {
		t.Errorf("summary %+v", sum)
	}
	got, lines := loadFilled(t, "pyshop", made)
	want, err := system.Load("../../systems/pyshop/system.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got.Dir, want.Dir = "", ""
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("filled in, pyshop's description differs from systems/pyshop/system.yaml:\n%s\nwant\n%s", g, w)
	}
	t.Logf("pyshop: %d lines written by hand, of %d:\n%s", len(lines), strings.Count(string(made), "\n"), strings.Join(lines, "\n"))
	if len(lines) != pyshopLinesWritten {
		t.Errorf("%d lines written by hand, want %d: a change to init or to the fixture changed the user's work", len(lines), pyshopLinesWritten)
	}
}

// pyshopLinesWritten is how many lines a pyshop user writes after init:
// reported in issue 17.
const pyshopLinesWritten = 31

// shop: a compose file written the many ways teams write them.
func TestShopAddressesBecomeTemplates(t *testing.T) {
	made, sum := golden(t, "shop", "testdata/shop/docker-compose.yml", "testdata/shop/system.yaml")
	expectOnlyTODOsMissing(t, made)
	if !slices.Equal(sum.Broker, []string{"rabbitmq"}) || sum.Database != "db" || !slices.Equal(sum.Services, []string{"redis", "api", "worker", "notifier"}) {
		t.Errorf("summary %+v", sum)
	}
	now := map[string]string{}
	for _, r := range sum.Replaced {
		now[r.Service+"."+r.Variable] = r.Now
	}
	for k, want := range map[string]string{
		"api.DATABASE_URL":               "{{.DatabaseURL}}&application_name=api",
		"api.SQLALCHEMY_URL":             "postgresql+psycopg2://{{.User}}:{{.Password}}@{{.DBHost}}:{{.DBPort}}/{{.Database}}",
		"api.CELERY_BROKER_URL":          "{{.AMQPURL}}",
		"api.DB_HOST":                    "{{.DBHost}}",
		"api.DB_PORT":                    "{{.DBPort}}",
		"api.DB_NAME":                    "{{.Database}}",
		"api.DB_USER":                    "{{.User}}",
		"api.DB_PASSWORD":                "{{.Password}}",
		"api.REDIS_URL":                  "redis://redis-1:6379/0",
		"api.NOTIFIER_URL":               "http://notifier-1:3000/notify",
		"worker.RABBITMQ_HOST":           "{{.BrokerHost}}",
		"worker.RABBITMQ_PORT":           "{{.BrokerPort}}",
		"worker.RABBITMQ_USER":           "{{.User}}",
		"worker.RABBITMQ_PASSWORD":       "{{.Password}}",
		"worker.RABBITMQ_VHOST":          "{{.VHost}}",
		"worker.PGHOST":                  "{{.DBHost}}",
		"worker.PGDATABASE":              "{{.Database}}",
		"worker.PG_DSN":                  "host={{.DBHost}} port={{.DBPort}} dbname={{.Database}} user={{.User}} password={{.Password}}",
		"notifier.AMQP_URLS":             "{{.AMQPURLs}}",
		"notifier.SPRING_DATASOURCE_URL": "jdbc:postgresql://{{.DBHost}}:{{.DBPort}}/{{.Database}}",
		"notifier.CACHE_HOST":            "redis-1:6379",
	} {
		if now[k] != want {
			t.Errorf("%s became %q, want %q", k, now[k], want)
		}
	}
	for _, k := range []string{"api.SERVICE_NAME", "worker.LOG_LEVEL", "api.SECRET_KEY"} {
		if _, ok := now[k]; ok {
			t.Errorf("%s was rewritten: %s", k, now[k])
		}
	}
	for _, r := range sum.Replaced {
		if strings.Contains(r.Was, "s3cret") || strings.Contains(r.Was, "pw") || strings.Contains(r.Was, "password=x") {
			t.Errorf("a password shows in the summary: %s", r)
		}
	}
	todos := strings.Join(sum.TODOs, "\n")
	for _, want := range []string{
		"services[api].environment.DEBUG: DEBUG is taken from the shell",
		"services[worker].command: \"amqp://shop:***@rabbitmq:5672/\" names the broker's",
		"services[worker].volumes: mqchaos mounts nothing",
		"services[notifier].entrypoint: mqchaos runs the image's entrypoint",
		"services[worker].ready: how mqchaos knows",
		"services[redis].ready: how mqchaos knows",
	} {
		if !strings.Contains(todos, want) {
			t.Errorf("no TODO %q in\n%s", want, todos)
		}
	}
	if strings.Contains(todos, "services[db]") || strings.Contains(todos, "services[rabbitmq]") {
		t.Errorf("a TODO for the database or the broker, which are left out:\n%s", todos)
	}
	s, lines := loadFilled(t, "shop", made)
	api := s.Service("api")
	if api.Replicas != 2 || api.Port != 8000 || api.Ready.HTTP != "/healthz" || api.Build.Context != "api" || api.Build.Dockerfile != "docker/Dockerfile" || api.Build.Args["PYTHON_VERSION"] != "3.12" || api.Image != "shop/api:dev" ||
		strings.Join(api.Command, "|") != "gunicorn|-b|0.0.0.0:8000|--workers|2|shop.wsgi" || api.Env["SECRET_KEY"] != "not so secret" || api.Env["FEATURE_X"] != "on" {
		t.Errorf("api %+v", api)
	}
	if !strings.Contains(todos, "services[worker].build: its compose build differs from api's, and both make shop/api:dev") {
		t.Errorf("no TODO for the worker's build in\n%s", todos)
	}
	if w := s.Service("worker"); w.Replicas != 3 || w.Build != nil || w.Image != "shop/api:dev" {
		t.Errorf("worker %+v", w)
	}
	if n := s.Service("notifier"); n.Image != "shop-notifier" || n.Port != 3000 || n.Ready.HTTP != "/" {
		t.Errorf("notifier %+v", n)
	}
	if !s.HasDatabase() {
		t.Error("no database")
	}
	t.Logf("shop: %d lines written by hand", len(lines))
}

// Every malformed compose file is refused with the file, the line and
// the field.
func TestBadComposeFilesSayWhatAndWhere(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"yaml syntax", "services:\n  web:\n    image: x\n\tports: [80]\n", "docker-compose.yml:3: found a tab character"},
		{"not a mapping", "- a\n- b\n", `docker-compose.yml:1: want a mapping with services, not a list`},
		{"empty", "", "docker-compose.yml: empty: want a compose file with services"},
		{"no services", "version: '3'\nvolumes: {}\n", "docker-compose.yml:1: services: missing"},
		{"services a list", "services:\n  - web\n", "docker-compose.yml:2: services: want a mapping of services, not a list"},
		{"service without image", "services:\n  web:\n    ports: [80]\n", "docker-compose.yml:3: services.web: neither image nor build"},
		{"empty service", "services:\n  web:\n", "docker-compose.yml:2: services.web: empty: want at least an image or a build"},
		{"bad port", "services:\n  web:\n    image: x\n    ports: [\"80:abc\"]\n", `docker-compose.yml:4: services.web.ports[0]: "80:abc": want a port mapping`},
		{"port out of range", "services:\n  web:\n    image: x\n    ports:\n      - 8080:70000\n", `docker-compose.yml:5: services.web.ports[0]: "8080:70000": want a port number`},
		{"bad replicas", "services:\n  web:\n    image: x\n    deploy:\n      replicas: many\n", `docker-compose.yml:5: services.web.deploy.replicas: "many": want a number of replicas`},
		{"bad environment", "services:\n  web:\n    image: x\n    environment:\n      - =x\n", `docker-compose.yml:5: services.web.environment[0]: "=x": want KEY=VALUE`},
		{"environment a string", "services:\n  web:\n    image: x\n    environment: A=1\n", `docker-compose.yml:4: services.web.environment: want a mapping or a list of KEY=VALUE`},
		{"missing env file", "services:\n  web:\n    image: x\n    env_file: nope.env\n", "docker-compose.yml:4: services.web.env_file[0]: open "},
		{"required variable", "services:\n  web:\n    image: \"shop/web:${TAG:?set TAG}\"\n", "docker-compose.yml:3: services.web.image: TAG: set TAG"},
		{"unterminated quote", "services:\n  web:\n    image: x\n    command: run 'me\n", `docker-compose.yml:4: services.web.command: "run 'me": unterminated ' quote`},
		{"ulimits a list", "services:\n  web:\n    image: x\n    ulimits: [nofile]\n", "docker-compose.yml:4: services.web.ulimits: want a mapping of limits, not a list"},
		{"bad ulimit", "services:\n  web:\n    image: x\n    ulimits:\n      nofile: {soft: 1, hard: lots}\n", `docker-compose.yml:5: services.web.ulimits.nofile.hard: "lots": want a number`},
		{"bad health check", "services:\n  web:\n    image: x\n    healthcheck: curl\n", "docker-compose.yml:4: services.web.healthcheck: want a mapping"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "docker-compose.yml")
			if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := compose.Init(p, filepath.Join(dir, "system.yaml"))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "system.yaml")); err == nil {
				t.Error("a description was written for a bad compose file")
			}
		})
	}
}

// Init writes a new file and never overwrites one.
func TestInitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "system.yaml")
	sum, err := compose.Init("../../systems/pyshop/docker-compose.yml", out)
	if err != nil {
		t.Fatal(err)
	}
	made, _ := os.ReadFile(out)
	if want, _, _ := compose.Describe("../../systems/pyshop/docker-compose.yml", out); string(made) != string(want) || sum.Lines == 0 {
		t.Errorf("Init wrote %d bytes, Describe makes %d", len(made), len(want))
	}
	if err := os.WriteFile(out, []byte("name: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = compose.Init("../../systems/pyshop/docker-compose.yml", out)
	if err == nil || !strings.Contains(err.Error(), out+" already exists; mqchaos init never overwrites a file") {
		t.Errorf("got %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "name: mine\n" {
		t.Errorf("the file was overwritten: %q", b)
	}
}

// A cluster of brokers, a bitnami database, and what init cannot carry.
func TestClusterAndWhatCannotBeCarried(t *testing.T) {
	dir := t.TempDir()
	text := `
name: Ledger
services:
  rmq1: {image: "bitnami/rabbitmq:3.12", environment: {RABBITMQ_USERNAME: l, RABBITMQ_PASSWORD: p}}
  rmq2: {image: "bitnami/rabbitmq:3.12"}
  pg: {image: bitnami/postgresql:15}
  Ledger_Writer:
    build: {context: ., target: prod}
    environment:
      AMQP_NODES: rmq1:5672,rmq2:5672
      JDBC: jdbc:postgresql://pg:5432/ledger
      HTTP_PORT: "8080"
    ports: ["8080"]
    healthcheck: {test: ["CMD", "/bin/check"]}
    mem_reservation: 64m
  poller:
    image: ledger/poller
    command: ["poll", "--db", "postgres://l:p@pg/ledger"]
    healthcheck: {disable: true}
`
	p := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	made, sum, err := compose.Describe(p, filepath.Join(dir, "system.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	expectOnlyTODOsMissing(t, made)
	if sum.Name != "Ledger" || !slices.Equal(sum.Broker, []string{"rmq1", "rmq2"}) || sum.Database != "pg" || !slices.Equal(sum.Services, []string{"ledger-writer", "poller"}) {
		t.Errorf("summary %+v", sum)
	}
	todos := strings.Join(sum.TODOs, "\n")
	for _, want := range []string{
		"services[ledger-writer].build.target: mqchaos builds the Dockerfile's last stage",
		"services[ledger-writer].ready: the health check (/bin/check) cannot be carried over",
		"services[ledger-writer].env.AMQP_NODES: a list of broker nodes",
		`services[poller].command: "postgres://l:***@pg/ledger" names`,
		"services[poller].ready: how mqchaos knows",
	} {
		if !strings.Contains(todos, want) {
			t.Errorf("no TODO %q in\n%s", want, todos)
		}
	}
	notes := strings.Join(sum.Notes, "\n")
	for _, want := range []string{"2 RabbitMQ services (rmq1, rmq2)", "services.Ledger_Writer.mem_reservation: not read"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in\n%s", want, notes)
		}
	}
	for _, want := range []string{
		"  - name: ledger-writer\n    # Ledger_Writer in the compose file\n    image: ledger-ledger-writer\n",
		`JDBC: "jdbc:postgresql://{{.DBHost}}:{{.DBPort}}/{{.Database}}"`,
		`HTTP_PORT: "8080"` + "\n",
		"database: postgres",
	} {
		if !strings.Contains(string(made), want) {
			t.Errorf("the description has no %q:\n%s", want, made)
		}
	}
}
