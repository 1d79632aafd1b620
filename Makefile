# mqchaos: see README.md.
SERVICES        := order-service inventory-service notification-service
SERVICE_TAG     ?= dev
PUBLIC_RABBITMQ := rabbitmq:4-management
PUBLIC_POSTGRES := postgres:15
LOCAL_RABBITMQ  := mqchaos/rabbitmq:3.10-local
LOCAL_POSTGRES  := mqchaos/postgres:15-local
# LOCAL_IMAGES=1: build RabbitMQ and PostgreSQL from Debian packages, for a
# machine that cannot pull. Otherwise the public images are used, unless
# only the local builds are present. RABBITMQ_IMAGE/POSTGRES_IMAGE override.
LOCAL_IMAGES    ?= 0
prefer = $(shell docker image inspect $(1) >/dev/null 2>&1 || ! docker image inspect $(2) >/dev/null 2>&1 && echo $(1) || echo $(2))
ifeq ($(LOCAL_IMAGES),1)
RABBITMQ_IMAGE  ?= $(LOCAL_RABBITMQ)
POSTGRES_IMAGE  ?= $(LOCAL_POSTGRES)
else
RABBITMQ_IMAGE  ?= $(call prefer,$(PUBLIC_RABBITMQ),$(LOCAL_RABBITMQ))
POSTGRES_IMAGE  ?= $(call prefer,$(PUBLIC_POSTGRES),$(LOCAL_POSTGRES))
endif
COMPOSE         ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
export COMPOSE_PROJECT_NAME ?= mqchaos
GINKGO          := go tool ginkgo
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1
export TESTCONTAINERS_RYUK_DISABLED ?= true
export RABBITMQ_IMAGE := $(RABBITMQ_IMAGE)
export POSTGRES_IMAGE := $(POSTGRES_IMAGE)
export SERVICE_TAG

.PHONY: compose-checks all build images service-images infra-images up down demo lint test unit scenarios safe unsafe cluster pyshop bench clean-containers clean-all

all: build

build:
	@mkdir -p bin
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/ ./services/cmd/...

service-images: build
	@for s in $(SERVICES); do \
		docker build -q -f deploy/service.Dockerfile --build-arg SERVICE=$$s -t mqchaos/$$s:$(SERVICE_TAG) . >/dev/null || exit 1; \
		echo "built mqchaos/$$s:$(SERVICE_TAG)"; \
	done

infra-images:
ifeq ($(LOCAL_IMAGES),1)
	deploy/local-images/build.sh $(RABBITMQ_IMAGE) $(POSTGRES_IMAGE)
else
	@for i in $(RABBITMQ_IMAGE) $(POSTGRES_IMAGE); do \
		docker image inspect $$i >/dev/null 2>&1 || docker pull $$i || { \
			echo "make images: cannot pull $$i; on a machine without a registry, build RabbitMQ and PostgreSQL from Debian packages: LOCAL_IMAGES=1 make images" >&2; \
			exit 1; }; \
	done
endif

# Every image the stack and the scenarios use. Their names and the project
# name go to .env, which docker-compose reads by itself: a plain
# `docker-compose up -d` or `down` then acts like `make up` or `make down`.
images: infra-images service-images
	@scripts/write-compose-env.sh COMPOSE_PROJECT_NAME=$(COMPOSE_PROJECT_NAME) \
		RABBITMQ_IMAGE=$(RABBITMQ_IMAGE) POSTGRES_IMAGE=$(POSTGRES_IMAGE) SERVICE_TAG=$(SERVICE_TAG)

# Bring the stack up with docker-compose and place one order through it.
up: images
	$(COMPOSE) up -d
	@COMPOSE="$(COMPOSE)" scripts/wait-healthy.sh

demo: up
	scripts/demo.sh

# The hand checks of the compose stack: dead-lettering, and a broker restart
# mid-stream that loses no accepted order.
compose-checks:
	@COMPOSE="$(COMPOSE)" scripts/compose-checks.sh

down:
	$(COMPOSE) down -v --remove-orphans

# Static checks, run by .ci/run before the tests: go vet, then staticcheck
# (pinned in go.mod, so nothing to install; settings in staticcheck.conf).
lint:
	go vet ./...
	go tool staticcheck ./...

# The test command: unit tests, the services against a real broker, the
# mqchaos command end to end, then the whole scenario suite (safe and
# unsafe sides). Reports: reports/scenarios-junit.xml, reports/figures.json.
test: unit broker-tests e2e scenarios

unit:
	go test ./services/... ./harness/... ./systems/... ./scenarios/catalogue ./scenarios/suite ./cmd/...

# The mqchaos command as a team runs it: built, run from a directory
# outside the repository on one scenario, its exit statuses, JUnit,
# report, GitHub annotations and step summary checked (needs the images).
.PHONY: e2e
e2e:
	MQCHAOS_E2E=1 go test -count=1 -run '^TestEndToEnd$$' ./cmd/mqchaos

# The mqchaos command, built into bin/ (go install ./cmd/mqchaos puts it
# on the PATH).
.PHONY: mqchaos
mqchaos:
	@mkdir -p bin
	CGO_ENABLED=0 go build -trimpath -o bin/mqchaos ./cmd/mqchaos

# Toxiproxy's server, static, for the mqchaos image: mqchaos builds the
# Toxiproxy image from the toxiproxy-server beside it.
bin/toxiproxy-server:
	@mkdir -p bin/.toxiproxy
	cd bin/.toxiproxy && CGO_ENABLED=0 GOBIN=$(CURDIR)/bin/.toxiproxy go install -trimpath github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0
	mv bin/.toxiproxy/server $@ && rmdir bin/.toxiproxy

# The command as an image FROM scratch (mqchaos/mqchaos:$(SERVICE_TAG)),
# with Toxiproxy's server beside it; run with the Docker socket mounted,
# --network host and --pid host (see deploy/mqchaos/Dockerfile). It runs
# systems whose images are built: it has no shell for a description's
# build commands.
.PHONY: mqchaos-image
mqchaos-image: mqchaos bin/toxiproxy-server
	docker build -q -f deploy/mqchaos/Dockerfile -t mqchaos/mqchaos:$(SERVICE_TAG) . >/dev/null
	@echo "built mqchaos/mqchaos:$(SERVICE_TAG)"

# docs/catalogue.md, written anew from the scenarios (a unit test fails
# when the committed page is stale).
.PHONY: catalogue-page
catalogue-page:
	go run ./cmd/mqchaos catalogue > docs/catalogue.md

# The services' AMQP client and runtime against a real RabbitMQ and
# PostgreSQL (consumer timeout, deleted queue, unroutable publish, alarms,
# a refused declare): skipped by a plain `go test`, run here.
.PHONY: broker-tests
broker-tests:
	MQCHAOS_BROKER_TESTS=1 go test -count=1 ./services/internal/rabbit ./services/internal/runner ./services/internal/notification ./services/internal/eventid

# The scenario catalogue, against the reference system or the system whose
# description SYSTEM names (e.g. SYSTEM=systems/pyshop/system.yaml). The
# suite builds the system's images itself, once per run.
SYSTEM         ?=
# Two processes (the machine's two cores), each with its own shared broker:
# 29 specs in 3.5 minutes instead of 6 with the same verdicts. PROCS=1 for
# a serial run.
PROCS          ?= 2
SCENARIO_FLAGS ?= --procs=$(PROCS) --timeout=30m --poll-progress-after=120s
SYSTEM_ARG      = $(if $(SYSTEM),-- -system=$(SYSTEM))
# Then every history the run left is judged again, offline, and must
# give the verdict its spec gave (mqchaos judge; docs/running.md).
scenarios:
	$(GINKGO) $(SCENARIO_FLAGS) --label-filter='!soak && !cluster' ./scenarios $(SYSTEM_ARG)
	@r=$(or $(MQCHAOS_REPORTS),reports); go run ./cmd/mqchaos judge $$r > $$r/judge.txt; s=$$?; \
	  [ $$s -eq 0 ] || awk '/^[^ ]/ { if (b ~ /DIFFERS|; the run recorded/) printf "%s", b; b = "" } { b = b $$0 "\n" }' $$r/judge.txt; \
	  tail -n 1 $$r/judge.txt; exit $$s

safe:
	$(GINKGO) $(SCENARIO_FLAGS) --label-filter='safe && !soak && !cluster' ./scenarios $(SYSTEM_ARG)

unsafe:
	$(GINKGO) $(SCENARIO_FLAGS) --label-filter='unsafe && !soak && !cluster' ./scenarios $(SYSTEM_ARG)

# The mutation run: the catalogue with faults that do nothing (built with
# -tags mqchaos_noop_faults), held to what it must give: every spec that
# injects a fault fails with "fault did not take effect", and no other
# fails (mqchaos expect -no-effect). LABELS=cluster for the cluster's.
MUTATION_OUT ?= reports/mutation-$(shell date -u +%Y%m%dT%H%M%S)
.PHONY: mutation-faults
mutation-faults:
	@mkdir -p $(dir $(MUTATION_OUT))
	-go run -tags mqchaos_noop_faults ./cmd/mqchaos run -system systems/reference/system.yaml -label '$(LABELS)' -out $(MUTATION_OUT) > $(MUTATION_OUT).log 2>&1
	go run ./cmd/mqchaos expect -no-effect -run $(MUTATION_OUT)

# The same specs RUNS times, each run in a directory of its own (REPEAT_OUT):
# the count of runs as they must be, every spec whose verdict was not as
# it must be with the runs it failed in and why (a flip: 0 is the goal),
# and one report of them all with its sensitivity table (per class of
# violation: the smallest caught, and in how many runs). PICK chooses
# the specs, as `mqchaos run` takes them.
RUNS ?= 20
PICK ?= -label 'guarantee:fanout || guarantee:competing-consumers'
REPEAT_OUT ?= reports/repeat-$(shell date -u +%Y%m%dT%H%M%S)
.PHONY: repeat
repeat:
	go build -o bin/mqchaos ./cmd/mqchaos
	@mkdir -p $(REPEAT_OUT); ok=0; \
	for i in $$(seq 1 $(RUNS)); do \
	  if bin/mqchaos run -system systems/reference/system.yaml $(PICK) -out $(REPEAT_OUT)/run-$$i > $(REPEAT_OUT)/run-$$i.log 2>&1; then ok=$$((ok+1)); \
	  else echo "run $$i: not as it must be, see $(REPEAT_OUT)/run-$$i.log"; fi; \
	done; \
	echo "$$ok of $(RUNS) runs as they must be ($(PICK)) in $(REPEAT_OUT)"; \
	grep -H -A1 'NOT AS IT MUST BE' $(REPEAT_OUT)/run-*.log | sed 's|^$(REPEAT_OUT)/||'; \
	dirs=$$(for d in $(REPEAT_OUT)/run-*; do [ -f $$d/figures.json ] && printf '%s,' $$d; done); \
	[ -z "$$dirs" ] || bin/mqchaos report -in "$$dirs" -out $(REPEAT_OUT)/report.html; \
	test $$ok -eq $(RUNS)

# The sensitivity, stated: the scenario "Sensitivity" (one unit lost in
# 10,000 and one duplicated in 10,000 must each be reported, a clean run
# called clean) RUNS times, as repeat runs specs. About a minute and a
# half a run here.
SENSITIVITY_OUT ?= reports/sensitivity-$(shell date -u +%Y%m%dT%H%M%S)
.PHONY: sensitivity
sensitivity:
	@$(MAKE) --no-print-directory repeat PICK="-scenario '^Sensitivity'" REPEAT_OUT=$(SENSITIVITY_OUT)

# One scenario by name, both sides, again and again while reproducing a
# failure mode: NAME is a --focus regular expression over the specs' text
# (make scenario NAME='Broker restart'). The summary ends with where the
# time went: the suite's set-up, then per spec its set-up, load and
# faults, settle, check and teardown. LABELS is the label filter
# (LABELS=cluster for a cluster scenario); SCENARIO_PROCS=2 runs the two
# sides side by side.
NAME           ?=
LABELS         ?= !soak && !cluster
SCENARIO_PROCS ?= 1
.PHONY: scenario
scenario:
	@test -n "$(NAME)" || { echo 'make scenario: name one, e.g. make scenario NAME="Broker restart"' >&2; exit 1; }
	$(GINKGO) --procs=$(SCENARIO_PROCS) --timeout=30m --poll-progress-after=120s --fail-on-empty --label-filter='$(LABELS)' --focus='$(NAME)' ./scenarios $(SYSTEM_ARG)

# The soak: a mixed load for DURATION under a schedule of faults drawn from
# SEED (the same seed gives the same schedule and load), then heal, settle
# and judge. CONTROL= runs it against one of the system's controls, which
# must show its violation. Outside the default run.
SEED     ?= $(shell date +%s)
DURATION ?= 10m
CONTROL  ?=
RATE     ?= 5
soak:
	MQCHAOS_SOAK_SEED=$(SEED) MQCHAOS_SOAK_DURATION=$(DURATION) MQCHAOS_SOAK_CONTROL=$(CONTROL) MQCHAOS_SOAK_RATE=$(RATE) \
		$(GINKGO) --procs=1 --timeout=3h --poll-progress-after=30m --label-filter=soak ./scenarios $(SYSTEM_ARG)

# The scenarios on a three-node RabbitMQ cluster (label cluster): the
# broker alone (leader killed, partitioned, split) and the whole system
# (node killed, rolling restart). Each side starts a cluster of its own
# (35-55 s on two cores) and takes 1.5 to 3 minutes: about 25 minutes in
# all, so they stay out of the default run.
cluster:
	$(GINKGO) --procs=1 --timeout=60m --poll-progress-after=180s --label-filter=cluster ./scenarios $(SYSTEM_ARG)

# The catalogue against pyshop, the Python system with a quick first
# design: it reports that design's flaws, so specs fail by design.
pyshop:
	$(GINKGO) $(SCENARIO_FLAGS) --label-filter='!soak && !cluster' ./scenarios -- -system=systems/pyshop/system.yaml

# The catalogue against the warehouse, the C++ system of a team's fanout
# design (systems/warehouse): it reports that design's flaws, so specs
# fail by design (systems/warehouse/expected-verdicts.yaml).
warehouse:
	$(GINKGO) $(SCENARIO_FLAGS) --label-filter='!soak && !cluster' ./scenarios -- -system=systems/warehouse/system.yaml

# pyshop and the warehouse as regression tests of the harness: the
# catalogue through `mqchaos run`, each run in a directory of its own
# (reports/run-<UTC time>), held to the system's expected-verdict table.
# Exit 1 only when a verdict differs from the table, with a line per
# difference and its figures; specs that fail by design are no failure.
# EXPECT_FLAGS narrows the run (EXPECT_FLAGS="-scenario 'fanout|Backlog'"
# or -label); the table's other entries are then not compared.
EXPECT_FLAGS ?=
.PHONY: pyshop-expect warehouse-expect
pyshop-expect:
	go run ./cmd/mqchaos run -system systems/pyshop/system.yaml -expect systems/pyshop/expected-verdicts.yaml $(EXPECT_FLAGS)

warehouse-expect:
	go run ./cmd/mqchaos run -system systems/warehouse/system.yaml -expect systems/warehouse/expected-verdicts.yaml $(EXPECT_FLAGS)

warehouse-image:
	systems/warehouse/build.sh

# The reference services against baselines of the same work, the drain
# against one program doing its whole work (docs/benchmark.md). Not in
# .ci/run: the nightly runs it.
bench: images
	go run ./systems/reference/cmd/bench

# The workload against a broker: the recorded workload against a plain
# amqp091-go confirmed publisher, the same over HTTP (POST /orders to the
# order service) against a plain net/http client, and open-loop at a rate
# the broker holds and one it cannot
# (docs/benchmark.md#the-workload-against-a-broker).
# BENCHLOAD_FLAGS: see go run ./harness/cmd/benchload -h. Nightly only.
BENCHLOAD_FLAGS ?=
.PHONY: bench-workload
bench-workload: images
	go run ./harness/cmd/benchload $(BENCHLOAD_FLAGS)

# The harness's own costs, with no broker: a history's memory and JSONL
# bytes per operation, mqchaos judge over 1M operations, and headless
# Chromium's time to render the report of a soak and of 100,000
# operations (docs/benchmark.md#the-harness-itself). BENCH_FLAGS: see
# go run ./harness/cmd/bench -h.
BENCH_FLAGS ?=
.PHONY: bench-harness
bench-harness:
	go run ./harness/cmd/bench $(BENCH_FLAGS)

# Remove the containers, networks and volumes of mqchaos runs whose process
# is gone (a run in progress keeps its own); clean-all removes every one.
clean-containers:
	go run ./cmd/mqchaos clean

clean-all:
	go run ./cmd/mqchaos clean -all

print-images:
	@echo RABBITMQ_IMAGE=$(RABBITMQ_IMAGE) POSTGRES_IMAGE=$(POSTGRES_IMAGE)

# The Python system under test (systems/pyshop), built offline from Debian
# packages. IMAGE defaults to mqchaos/pyshop:dev; FORCE=1 rebuilds the base.
pyshop-image:
	systems/pyshop/build.sh

# Fuzz the two input decoders (HTTP POST /orders, AMQP events) for
# FUZZTIME each: every input accepted with its meaning kept, or refused
# with a reason; never a panic or a 5xx. Failures land in testdata/fuzz.
# A count of inputs (Nx), not a duration: with a duration, Go 1.26's
# fuzzing can fail a clean run with "context deadline exceeded" when the
# time runs out (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 400000x
.PHONY: fuzz
fuzz:
	go test ./services/contract -run '^$$' -fuzz '^FuzzDecodeDelivery$$' -fuzztime $(FUZZTIME)
	go test ./services/internal/order -run '^$$' -fuzz '^FuzzCreateOrder$$' -fuzztime $(FUZZTIME)

# Move dead-lettered messages of the compose stack back to their source
# queues, each removed only once its republish is confirmed (safe to
# interrupt and run again). The reference system's description names the
# dead-letter queues and headers; DLQ= narrows the queues (comma-separated),
# REASON= replays only messages whose reason contains it.
DLQ    ?=
REASON ?=
.PHONY: dlq-replay
dlq-replay:
	go run ./cmd/mqchaos dlq-replay -url 'amqp://$(or $(RABBITMQ_USER),mqchaos):$(or $(RABBITMQ_PASSWORD),mqchaos-dev)@127.0.0.1:5672/' -system systems/reference/system.yaml -dlq '$(DLQ)' -reason '$(REASON)'

# Toxiproxy's server, built from its Go module into an image FROM scratch
# (mqchaos/toxiproxy:2.12.0), for the network faults. The harness builds it
# by itself when a stack needs it; FORCE=1 rebuilds.
.PHONY: toxiproxy-image
toxiproxy-image:
	deploy/toxiproxy/build.sh $(if $(filter 1,$(FORCE)),-force)

# Draw the HTML report again, offline, from figures.json and the run
# histories a suite left in reports/. REPORTS lists reports directories to
# merge into one page (comma-separated: local runs, CI shards' artifacts).
REPORTS ?= reports
.PHONY: report
report:
	go run ./cmd/mqchaos report -in '$(REPORTS)' -out reports/report.html

# A single-node Kubernetes cluster on this machine (root; see docs/kubernetes.md).
# k8s-up builds the binaries once into ~/.cache/mqchaos/k8s/<release>/ and
# waits for the node; k8s-images copies Docker's mqchaos images into it;
# k8s-down leaves only the cache.
.PHONY: k8s-up k8s-down k8s-images k8s-smoke
k8s-up:
	deploy/k8s/up.sh
k8s-down:
	deploy/k8s/down.sh
k8s-images:
	deploy/k8s/images.sh $(K8S_IMAGES)
# Deployment, Service ClusterIP, exec, port-forward and pod replacement,
# with the local RabbitMQ image (run k8s-images first).
k8s-smoke:
	deploy/k8s/smoke.sh
# The harness's Kubernetes package on the local cluster (after k8s-up and
# k8s-images).
.PHONY: k8s-test
k8s-test:
	MQCHAOS_KUBECONFIG=/var/lib/mqchaos-k8s/admin.kubeconfig go test -count=1 -v -run OnARealCluster ./harness/kube/
# The catalogue's scenarios that run on the Kubernetes target, against
# SYSTEM (default the reference system) on the local cluster, after k8s-up
# and k8s-images; K8S_OUT is the run's directory.
K8S_SCENARIOS ?= ^(Poison messages|Duplicate delivery|Consumer killed|Broker restart|Multi-service fanout|Competing consumers)
K8S_PROCS     ?= 2
K8S_OUT       ?= reports/k8s-$(shell date -u +%Y%m%dT%H%M%S)
.PHONY: k8s-scenarios
k8s-scenarios:
	go run ./cmd/mqchaos run -target kubernetes -kubeconfig /var/lib/mqchaos-k8s/admin.kubeconfig \
	  -system $(or $(SYSTEM),systems/reference/system.yaml) -scenario '$(K8S_SCENARIOS)' -procs $(K8S_PROCS) -out $(K8S_OUT) $(K8S_FLAGS)
