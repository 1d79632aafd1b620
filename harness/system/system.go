// Package system describes a system under test: the services to start,
// how a unit of work with a unique id enters it, how the harness reads
// which ids each service applied, and the switches that turn its safety
// mechanisms off. A description is a YAML file (Load) or Go values; the
// harness's stack, workload and effect packages take it, so that the same
// scenario catalogue runs against any system on RabbitMQ.
//
// Strings marked "template" are Go text/template text. Container settings
// (Service.Env, Build.Args) see Vars; message and request bodies see the
// workload's Unit (package workload) and the functions pick and intn.
package system

import (
	"slices"
	"sort"

	"github.com/testcontainers/testcontainers-go"
)

// System is one described system.
type System struct {
	Name string `yaml:"name"`
	// Database is "postgres" (each stack gets a database of its own) or
	// "none" (the default): no database is started.
	Database string `yaml:"database"`
	// ReasonHeader is the header a service puts on a message it
	// dead-letters to say why (optional).
	ReasonHeader string `yaml:"reason_header"`
	// SourceHeader is the header such a service puts the source queue in
	// (optional; the broker's own dead-lettering records it in x-death).
	SourceHeader string           `yaml:"source_header"`
	Services     []Service        `yaml:"services"`
	Inputs       map[string]Input `yaml:"inputs"`
	Effects      []Effect         `yaml:"effects"`
	// Conflicts, if set, is where the system records a later message for
	// a unit it already applied whose contents differ (one id per
	// conflict recorded): the first wins, the conflict is kept on record.
	Conflicts *Effect            `yaml:"conflicts"`
	Controls  map[string]Control `yaml:"controls"`
	// Failpoints are named crash points: the environment that makes a
	// service exit at a point of its processing.
	Failpoints map[string]Failpoint `yaml:"failpoints"`
	// Tuning are named settings a scenario may ask for, such as
	// "slow-consumer" (one message at a time, so a stream lasts seconds).
	Tuning map[string]EnvSet `yaml:"tuning"`
	// Invariants are conditions on the system's state that must hold
	// during a run and at its end (optional; see Invariant).
	Invariants []Invariant `yaml:"invariants"`
	// Recovery are how soon after the heal of each kind of fault the
	// system must be ready and drained again (optional; a kind left out
	// gets DefaultRecovery). See RecoveryBudget.
	Recovery map[string]RecoveryBudget `yaml:"recovery"`

	// Dir is where the description was loaded from; relative build
	// contexts resolve against it.
	Dir string `yaml:"-"`
}

// Service is one service of the system: one image, run as Replicas
// containers.
type Service struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	// Build, if set, builds Image before a run.
	Build   *Build   `yaml:"build"`
	Command []string `yaml:"command"`
	// Env is the replicas' environment; values are templates over Vars,
	// e.g. AMQP_URL: "{{.AMQPURL}}".
	Env      map[string]string `yaml:"env"`
	Replicas int               `yaml:"replicas"` // default 1
	Port     int               `yaml:"port"`     // HTTP port, if any
	Ready    Ready             `yaml:"ready"`
	Consumes []Consume         `yaml:"consumes"`
	// Ulimits are the replicas' resource limits, by the names Docker and
	// compose give them (nofile: 1024), each set as both soft and hard:
	// a program that raises its soft limit to the hard one (Go does)
	// still gets the number written here.
	Ulimits map[string]int64 `yaml:"ulimits"`
	// Options are passed through to testcontainers for every replica,
	// after the harness's own: anything a container can be given, a
	// service can. Go only.
	Options []testcontainers.ContainerCustomizer `yaml:"-"`
}

// Build builds a service's image.
type Build struct {
	Context    string            `yaml:"context"`    // relative to the description
	Dockerfile string            `yaml:"dockerfile"` // relative to Context; default Dockerfile
	Args       map[string]string `yaml:"args"`
	// Run is a shell command run in Context before the image is built,
	// e.g. compiling binaries the Dockerfile copies.
	Run string `yaml:"run"`
	// Sources, if set, are globs relative to Context ("services/**",
	// "go.mod", "deploy/*.Dockerfile"; "**" matches any number of
	// directories) naming every file the image is made from. The harness
	// then skips Run and the docker build when the image already carries
	// the digest of those files, the Dockerfile, Args and Run (package
	// stack). Unset, the image is built on every run.
	Sources []string `yaml:"sources"`
}

// Ready is how the harness knows a replica is ready: at most one of HTTP
// (a path on Port answering 2xx), TCP (a port accepting connections) or
// Log (a regular expression matched by a log line). None: the container
// is running.
type Ready struct {
	HTTP string `yaml:"http"`
	TCP  int    `yaml:"tcp"`
	Log  string `yaml:"log"`
}

// Consume is a queue a service consumes, and its dead-letter queue.
type Consume struct {
	Queue      string `yaml:"queue"`
	DeadLetter string `yaml:"dead_letter"`
}

// Input is how one unit of work enters the system: exactly one of HTTP
// and AMQP.
type Input struct {
	HTTP *HTTPInput `yaml:"http"`
	AMQP *AMQPInput `yaml:"amqp"`
}

// HTTPInput is a request to a service.
type HTTPInput struct {
	Service string            `yaml:"service"`
	Method  string            `yaml:"method"` // default POST
	Path    string            `yaml:"path"`   // template
	Body    string            `yaml:"body"`   // template
	Headers map[string]string `yaml:"headers"`
	// ContentType defaults to application/json.
	ContentType string `yaml:"content_type"`
	// IDFromResponse, for a service that makes the id itself: the path in
	// the 2xx JSON body to the id (e.g. "order_id"). A request without an
	// answer then has no id to follow.
	IDFromResponse string `yaml:"id_from_response"`
}

// AMQPInput is a message published to the broker with confirms and
// mandatory set.
type AMQPInput struct {
	Exchange   string            `yaml:"exchange"`
	RoutingKey string            `yaml:"routing_key"` // template
	Body       string            `yaml:"body"`        // template
	Headers    map[string]string `yaml:"headers"`     // templates
	// MessageID defaults to "{{.EventID}}"; Type is the type property.
	MessageID   string `yaml:"message_id"`
	Type        string `yaml:"type"`
	ContentType string `yaml:"content_type"` // default application/json
	// Queues are the queues the message lands in directly.
	Queues []string `yaml:"queues"`
	// Poison are bodies (templates) of this input's shape that a consumer
	// must dead-letter, by name, besides the harness's own (invalid JSON,
	// invalid UTF-8, ...).
	Poison map[string]string `yaml:"poison"`
	// Steps, if set, make a unit of this input several messages of one
	// key (its id), in this order: one per step, each published once the
	// one before it is confirmed, on one channel, so that the queues hold
	// them in this order. A step's fields replace the input's; its
	// templates see the step's name as {{.Step}}. An effect with Order
	// says how the system shows the order it applied them in.
	Steps []Step `yaml:"steps"`
}

// Step is one message of an ordered unit (AMQPInput.Steps); empty fields
// are the input's.
type Step struct {
	Name       string `yaml:"name"`
	RoutingKey string `yaml:"routing_key"` // template
	Type       string `yaml:"type"`
	Body       string `yaml:"body"` // template
}

// Step returns the input's message for step i of Steps (the input itself
// without steps): the step's fields over the input's.
func (a AMQPInput) Step(i int) AMQPInput {
	if i >= len(a.Steps) {
		return a
	}
	st := a.Steps[i]
	out := a
	out.Steps = nil
	for _, f := range []struct {
		dst *string
		v   string
	}{{&out.RoutingKey, st.RoutingKey}, {&out.Type, st.Type}, {&out.Body, st.Body}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	return out
}

// StepNames lists the input's steps' names, in order (none without steps).
func (a AMQPInput) StepNames() []string {
	var out []string
	for _, st := range a.Steps {
		out = append(out, st.Name)
	}
	return out
}

// Effect is what one service does with a unit of work, and where the
// harness reads it: exactly one of HTTP, Log and SQL. Each source lists
// one id per time the effect was applied.
type Effect struct {
	Service string `yaml:"service"`
	What    string `yaml:"what"`
	// Inputs limits the effect to these inputs (default: every input).
	Inputs []string `yaml:"inputs"`
	// Delivery is what the system promises of the effect: ExactlyOnce
	// (the default: an id applied twice is a violation) or AtLeastOnce
	// (duplicates are by design, counted but no violation; a lost id
	// still is).
	Delivery string `yaml:"delivery"`
	// Order, if set, are the steps each unit's effect goes through, in
	// the order they must be applied (an order received, then
	// cancelled): the source tells each item's step (HTTPEffect.Step, or
	// the second column of a SQL effect) and lists each id's items in
	// the order they were applied. Items of other steps are left out. A
	// unit with a step missing is lost; one whose steps were applied in
	// another order is out of order.
	Order []string    `yaml:"order"`
	HTTP  *HTTPEffect `yaml:"http"`
	Log   *LogEffect  `yaml:"log"`
	SQL   *SQLEffect  `yaml:"sql"`
}

// HTTPEffect is a GET returning a JSON array with one item per effect:
// objects, the id at the dotted path ID, or, with ID unset, the ids
// themselves (["a", "b"], numbers taken as their decimal text).
type HTTPEffect struct {
	Service string `yaml:"service"` // default: the effect's service
	Path    string `yaml:"path"`
	Items   string `yaml:"items"` // dotted path to the array; default: the body
	// ID is the dotted path to the id in an item; unset, each item is an
	// id (a string or a number), and Replica, Where and At cannot be set.
	ID string `yaml:"id"`
	// Replica is the dotted path to the replica that applied it (optional).
	Replica string `yaml:"replica"`
	// Where keeps only the items whose fields have these values.
	Where map[string]string `yaml:"where"`
	// At is the dotted path to when the effect was applied, an RFC 3339
	// time (optional): scenarios that time work end to end read it.
	At string `yaml:"at"`
	// Replicas is how the service's replicas are read: ReplicasShared
	// (the default) or ReplicasEach.
	Replicas string `yaml:"replicas"`
	// Step is the dotted path to the step an item applied, for an
	// effect with Order.
	Step string `yaml:"step"`
}

// How an HTTP effect's replicas are read (HTTPEffect.Replicas).
const (
	// ReplicasShared: every replica shows the same state, kept where they
	// all reach it (a database), so one running replica is read.
	ReplicasShared = "shared"
	// ReplicasEach: each replica shows only the work it did itself (kept
	// in its memory), so every running replica is read and their ids put
	// together.
	ReplicasEach = "each"
)

// LogEffect is a log line per effect in every replica's log: Pattern is a
// regular expression whose first group is the id.
type LogEffect struct {
	Service string `yaml:"service"` // default: the effect's service
	Pattern string `yaml:"pattern"`
}

// SQLEffect is a query on the stack's database returning one row per
// effect, the id first; for an effect with Order, the step second, the
// rows in the order applied.
type SQLEffect struct {
	Query string `yaml:"query"`
}

// Delivery promises an effect can be declared with (Effect.Delivery).
const (
	ExactlyOnce = "exactly-once"
	AtLeastOnce = "at-least-once"
)

// AllowsDuplicates reports whether an id applied more than once is by
// design (Delivery is AtLeastOnce) rather than a violation.
func (e Effect) AllowsDuplicates() bool { return e.Delivery == AtLeastOnce }

// Control is what switches one safety mechanism off: environment over
// the description's, another image and another command, each by service.
// At least one of Env, Image and Command is set; a control may set all
// three. In YAML:
//
//	controls:
//	  no-acks:
//	    description: the worker acks before it processes
//	    image: {worker: shop/worker:unsafe}           # by service; no "*"
//	    build: {worker: {context: ., dockerfile: Dockerfile.unsafe}}   # optional
//	    command: {worker: [python3, worker.py, --ack-early]}           # by service; no "*"
//	    env: {"*": {ACK_MODE: early}}                  # "*" is every service
type Control struct {
	Description string `yaml:"description"`
	Env         EnvSet `yaml:"env"`
	// Image runs another image for a service: a ready-made unsafe build.
	Image map[string]string `yaml:"image"`
	// Build, by service, builds that service's Image as a service's Build
	// does (package stack's BuildImages builds controls' images too).
	Build map[string]*Build `yaml:"build"`
	// Command replaces a service's command (and the description's).
	Command map[string][]string `yaml:"command"`
}

// EnvSet is environment by service name; "*" is every service.
type EnvSet map[string]map[string]string

// Failpoint makes Service exit at a point of its processing.
type Failpoint struct {
	Service  string            `yaml:"service"`
	Env      map[string]string `yaml:"env"`
	ExitCode int               `yaml:"exit_code"` // the status it exits with; 0: any
}

// Vars are what a service's Env and Build.Args templates see.
type Vars struct {
	Service     string // "inventory"
	Replica     string // "inventory-2", also its network alias
	AMQPURL     string // amqp://user:pass@rabbitmq:5672/vhost, inside the network
	BrokerHost  string
	BrokerPort  int
	VHost       string
	User        string // the broker's and the database's
	Password    string
	DatabaseURL string // postgres://user:pass@postgres:5432/db?sslmode=disable; "" without one
	DBHost      string
	DBPort      int
	Database    string
	// AMQPURLs is every broker node's AMQP URL for the vhost inside the
	// network, comma-separated, in node order (amqp://…@rabbitmq-1:5672/vhost,…):
	// for a client that fails over between the nodes of a cluster. On a
	// single node it is the one node's. Never through a Toxiproxy.
	AMQPURLs string
}

// Service returns the named service, or nil.
func (s *System) Service(name string) *Service {
	for i := range s.Services {
		if s.Services[i].Name == name {
			return &s.Services[i]
		}
	}
	return nil
}

// ServiceNames lists the services in description order.
func (s *System) ServiceNames() []string {
	out := make([]string, len(s.Services))
	for i, svc := range s.Services {
		out[i] = svc.Name
	}
	return out
}

// HasDatabase reports whether the system uses a database.
func (s *System) HasDatabase() bool { return s.Database == "postgres" }

// InputNames lists the inputs of a kind ("http" or "amqp"), sorted.
func (s *System) InputNames(kind string) []string {
	var out []string
	for name, in := range s.Inputs {
		if (kind == "http" && in.HTTP != nil) || (kind == "amqp" && in.AMQP != nil) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// EffectsOf lists the effects that a unit of work of input must have.
func (s *System) EffectsOf(input string) []Effect {
	var out []Effect
	for _, e := range s.Effects {
		if len(e.Inputs) == 0 || slices.Contains(e.Inputs, input) {
			out = append(out, e)
		}
	}
	return out
}

// ConsumerOf is the service that consumes queue, or nil.
func (s *System) ConsumerOf(queue string) *Service {
	for i := range s.Services {
		for _, c := range s.Services[i].Consumes {
			if c.Queue == queue {
				return &s.Services[i]
			}
		}
	}
	return nil
}

// DeadLetterOf is queue's dead-letter queue, or "".
func (s *System) DeadLetterOf(queue string) string {
	for _, svc := range s.Services {
		for _, c := range svc.Consumes {
			if c.Queue == queue {
				return c.DeadLetter
			}
		}
	}
	return ""
}

// DeadLetterQueues lists every declared dead-letter queue, deduplicated.
func (s *System) DeadLetterQueues() []string {
	var out []string
	for _, svc := range s.Services {
		for _, c := range svc.Consumes {
			if c.DeadLetter != "" && !slices.Contains(out, c.DeadLetter) {
				out = append(out, c.DeadLetter)
			}
		}
	}
	return out
}

// Merge adds set's environment for service ("*" first, then the
// service's own) to env, which it returns.
func (set EnvSet) Merge(service string, env map[string]string) map[string]string {
	if env == nil {
		env = map[string]string{}
	}
	for _, k := range []string{"*", service} {
		for key, v := range set[k] {
			env[key] = v
		}
	}
	return env
}
