package system

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Load reads, defaults and validates the description at path. A
// description that does not validate gives every problem, joined, one a
// line, each prefixed with path like a compiler's message:
// "shop/system.yaml: controls.no-acks.image.worker: ...".
func Load(path string) (*System, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load system: %w", err)
	}
	s, err := Parse(b)
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range j.Unwrap() {
			errs = append(errs, fmt.Errorf("%s: %w", path, e))
		}
		return nil, errors.Join(errs...)
	}
	if err != nil {
		return nil, fmt.Errorf("load system %s: %w", path, err)
	}
	if s.Dir, err = filepath.Abs(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("load system %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a YAML description (unknown fields are errors), fills in
// the defaults and validates it.
func Parse(b []byte) (*System, error) {
	var s System
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// SetDefaults fills in what a description may leave out.
func (s *System) SetDefaults() {
	if s.Database == "" {
		s.Database = "none"
	}
	for i := range s.Services {
		svc := &s.Services[i]
		if svc.Replicas == 0 {
			svc.Replicas = 1
		}
		if svc.Build != nil && svc.Build.Dockerfile == "" {
			svc.Build.Dockerfile = "Dockerfile"
		}
	}
	for name, in := range s.Inputs {
		if in.HTTP != nil {
			if in.HTTP.Method == "" {
				in.HTTP.Method = "POST"
			}
			if in.HTTP.ContentType == "" {
				in.HTTP.ContentType = "application/json"
			}
		}
		if in.AMQP != nil {
			if in.AMQP.MessageID == "" {
				in.AMQP.MessageID = "{{.EventID}}"
			}
			if in.AMQP.ContentType == "" {
				in.AMQP.ContentType = "application/json"
			}
		}
		s.Inputs[name] = in
	}
	effects := make([]*Effect, 0, len(s.Effects)+1)
	for i := range s.Effects {
		effects = append(effects, &s.Effects[i])
	}
	if s.Conflicts != nil {
		effects = append(effects, s.Conflicts)
	}
	for i := range s.Effects {
		if s.Effects[i].Delivery == "" {
			s.Effects[i].Delivery = ExactlyOnce
		}
	}
	for _, c := range s.Controls {
		for _, b := range c.Build {
			if b != nil && b.Dockerfile == "" {
				b.Dockerfile = "Dockerfile"
			}
		}
	}
	for _, e := range effects {
		if e.HTTP != nil && e.HTTP.Service == "" {
			e.HTTP.Service = e.Service
		}
		if e.HTTP != nil && e.HTTP.Replicas == "" {
			e.HTTP.Replicas = ReplicasShared
		}
		if e.Log != nil && e.Log.Service == "" {
			e.Log.Service = e.Service
		}
	}
	s.setInvariantDefaults()
}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// ulimitNames are the limits a container can be given (docker run
// --ulimit, compose's ulimits).
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// Validate returns every problem of the description, joined; each names
// the field, as a path, and what is wrong.
func (s *System) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Name == "" {
		bad("name", "missing")
	}
	if s.Database != "none" && s.Database != "postgres" {
		bad("database", "%q: want postgres or none", s.Database)
	}
	if len(s.Services) == 0 {
		bad("services", "none declared: a system has at least one service")
	}
	seen := map[string]bool{}
	queues := map[string]string{}
	for i, svc := range s.Services {
		f := fmt.Sprintf("services[%d]", i)
		if svc.Name != "" {
			f = fmt.Sprintf("services[%s]", svc.Name)
		}
		switch {
		case svc.Name == "":
			bad(f+".name", "missing")
		case !serviceName.MatchString(svc.Name):
			bad(f+".name", "%q: want lowercase letters, digits and dashes, starting with a letter", svc.Name)
		case seen[svc.Name]:
			bad(f+".name", "%q declared twice", svc.Name)
		}
		seen[svc.Name] = true
		if svc.Image == "" {
			bad(f+".image", "missing")
		}
		if svc.Replicas < 1 {
			bad(f+".replicas", "%d: want 1 or more", svc.Replicas)
		}
		if svc.Port < 0 || svc.Port > 65535 {
			bad(f+".port", "%d: want a port number", svc.Port)
		}
		for _, name := range slices.Sorted(maps.Keys(svc.Ulimits)) {
			switch {
			case !slices.Contains(ulimitNames, name):
				bad(f+".ulimits."+name, "not a limit Docker knows: want one of %s", strings.Join(ulimitNames, ", "))
			case svc.Ulimits[name] < 1:
				bad(f+".ulimits."+name, "%d: want 1 or more", svc.Ulimits[name])
			}
		}
		if svc.Build != nil {
			checkBuild(bad, f+".build", svc.Build)
		}
		n := 0
		if svc.Ready.HTTP != "" {
			n++
			if svc.Port == 0 {
				bad(f+".ready.http", "needs the service's port")
			}
			if !strings.HasPrefix(svc.Ready.HTTP, "/") {
				bad(f+".ready.http", "%q: want a path starting with /", svc.Ready.HTTP)
			}
		}
		if svc.Ready.TCP != 0 {
			n++
		}
		if svc.Ready.Log != "" {
			n++
			if _, err := regexp.Compile(svc.Ready.Log); err != nil {
				bad(f+".ready.log", "%v", err)
			}
		}
		if n > 1 {
			bad(f+".ready", "set one of http, tcp and log")
		}
		for k, v := range svc.Env {
			if err := checkTemplate(v, Vars{}); err != nil {
				bad(f+".env."+k, "%v", err)
			}
		}
		for j, c := range svc.Consumes {
			cf := fmt.Sprintf("%s.consumes[%d]", f, j)
			if c.Queue == "" {
				bad(cf+".queue", "missing")
			} else if other, ok := queues[c.Queue]; ok && other != svc.Name {
				bad(cf+".queue", "%q is consumed by %s too: replicas of one service compete on a queue, two services each need their own", c.Queue, other)
			}
			queues[c.Queue] = svc.Name
		}
	}
	if len(s.Inputs) == 0 {
		bad("inputs", "none declared: the harness needs a way to send work in")
	}
	for _, name := range sortedKeys(s.Inputs) {
		in := s.Inputs[name]
		f := "inputs." + name
		switch {
		case in.HTTP == nil && in.AMQP == nil:
			bad(f, "set one of http and amqp")
		case in.HTTP != nil && in.AMQP != nil:
			bad(f, "set only one of http and amqp")
		case in.HTTP != nil:
			h := in.HTTP
			if s.Service(h.Service) == nil {
				bad(f+".http.service", "%q is not a declared service", h.Service)
			} else if s.Service(h.Service).Port == 0 {
				bad(f+".http.service", "%q has no port", h.Service)
			}
			if !strings.HasPrefix(h.Path, "/") {
				bad(f+".http.path", "%q: want a path starting with /", h.Path)
			}
			if h.IDFromResponse == "" && !strings.Contains(h.Path+h.Body+fmt.Sprint(h.Headers), ".ID") {
				bad(f+".http", "the id appears nowhere: put {{.ID}} in the path, body or a header, or set id_from_response")
			}
			checkUnitTemplates(bad, f+".http", map[string]string{"path": h.Path, "body": h.Body}, h.Headers)
		case in.AMQP != nil:
			a := in.AMQP
			if a.Exchange == "" && a.RoutingKey == "" {
				bad(f+".amqp.routing_key", "missing (with the default exchange it is the queue's name)")
			}
			if len(a.Steps) == 0 && !strings.Contains(a.Body+a.MessageID+fmt.Sprint(a.Headers), ".ID") {
				bad(f+".amqp.body", "the id appears nowhere: put {{.ID}} in the body or a header")
			}
			if len(a.Queues) == 0 {
				bad(f+".amqp.queues", "missing: name the queues the message lands in")
			}
			for _, q := range a.Queues {
				if _, ok := queues[q]; !ok {
					bad(f+".amqp.queues", "%q is consumed by no declared service", q)
				}
			}
			checkUnitTemplates(bad, f+".amqp", map[string]string{"body": a.Body, "routing_key": a.RoutingKey, "message_id": a.MessageID}, a.Headers)
			names := map[string]bool{}
			for i, st := range a.Steps {
				sf := fmt.Sprintf("%s.amqp.steps[%d]", f, i)
				switch {
				case st.Name == "":
					bad(sf+".name", "missing")
				case names[st.Name]:
					bad(sf+".name", "%q is another step's name too", st.Name)
				}
				names[st.Name] = true
				checkUnitTemplates(bad, sf, map[string]string{"body": st.Body, "routing_key": st.RoutingKey}, nil)
				if !strings.Contains(a.Step(i).Body+a.MessageID+fmt.Sprint(a.Headers), ".ID") {
					bad(sf+".body", "the id appears nowhere: put {{.ID}} in the step's or the input's body, or a header")
				}
			}
			if len(a.Steps) == 1 {
				bad(f+".amqp.steps", "one step: an ordered unit has two or more (or leave steps out)")
			}
			for p, body := range a.Poison {
				checkUnitTemplates(bad, f+".amqp.poison", map[string]string{p: body}, nil)
			}
		}
	}
	if len(s.Effects) == 0 {
		bad("effects", "none declared: the harness needs to read what the services did")
	}
	for i, e := range s.Effects {
		s.checkEffect(bad, fmt.Sprintf("effects[%d]", i), e)
	}
	if s.Conflicts != nil {
		s.checkEffect(bad, "conflicts", *s.Conflicts)
	}
	s.checkInvariants(bad)
	s.checkRecovery(bad)
	for _, name := range sortedKeys(s.Controls) {
		s.checkControl(bad, "controls."+name, s.Controls[name])
	}
	for _, name := range sortedKeys(s.Tuning) {
		checkEnvSet(s, bad, "tuning."+name, s.Tuning[name])
	}
	for _, name := range sortedKeys(s.Failpoints) {
		fp := s.Failpoints[name]
		if s.Service(fp.Service) == nil {
			bad("failpoints."+name+".service", "%q is not a declared service", fp.Service)
		}
		if len(fp.Env) == 0 {
			bad("failpoints."+name+".env", "missing: the environment that arms it")
		}
	}
	return errors.Join(errs...)
}

func (s *System) checkEffect(bad func(string, string, ...any), f string, e Effect) {
	if s.Service(e.Service) == nil {
		bad(f+".service", "%q is not a declared service", e.Service)
	}
	for _, in := range e.Inputs {
		if _, ok := s.Inputs[in]; !ok {
			bad(f+".inputs", "%q is not a declared input", in)
		}
	}
	n := 0
	if e.HTTP != nil {
		n++
		if svc := s.Service(e.HTTP.Service); svc == nil {
			bad(f+".http.service", "%q is not a declared service", e.HTTP.Service)
		} else if svc.Port == 0 {
			bad(f+".http.service", "%q has no port", e.HTTP.Service)
		}
		if !strings.HasPrefix(e.HTTP.Path, "/") {
			bad(f+".http.path", "%q: want a path starting with /", e.HTTP.Path)
		}
		if r := e.HTTP.Replicas; r != "" && r != ReplicasShared && r != ReplicasEach {
			bad(f+".http.replicas", "%q: want %s (one replica shows what all did) or %s (each shows its own)", r, ReplicasShared, ReplicasEach)
		}
		if e.HTTP.ID == "" {
			// A list of ids: there is no item to read anything else from.
			for _, field := range []struct {
				name string
				set  bool
			}{{"replica", e.HTTP.Replica != ""}, {"where", len(e.HTTP.Where) > 0}, {"at", e.HTTP.At != ""}, {"step", e.HTTP.Step != ""}} {
				if field.set {
					bad(f+".http."+field.name, "needs id: a list of ids has no fields (set id to the field of an item that holds the id)")
				}
			}
		}
	}
	if e.Log != nil {
		n++
		if s.Service(e.Log.Service) == nil {
			bad(f+".log.service", "%q is not a declared service", e.Log.Service)
		}
		if re, err := regexp.Compile(e.Log.Pattern); err != nil {
			bad(f+".log.pattern", "%v", err)
		} else if re.NumSubexp() < 1 {
			bad(f+".log.pattern", "%q has no group: the first group is the id", e.Log.Pattern)
		}
	}
	if e.SQL != nil {
		n++
		if !s.HasDatabase() {
			bad(f+".sql", "the system has no database")
		}
		if strings.TrimSpace(e.SQL.Query) == "" {
			bad(f+".sql.query", "missing")
		}
	}
	if n != 1 {
		bad(f, "set exactly one of http, log and sql")
	}
	if len(e.Order) > 0 {
		seen := map[string]bool{}
		for _, st := range e.Order {
			if st == "" || seen[st] {
				bad(f+".order", "%q: want distinct, non-empty steps", st)
			}
			seen[st] = true
		}
		switch {
		case len(e.Order) < 2:
			bad(f+".order", "one step: an order needs two or more")
		case e.Log != nil:
			bad(f+".order", "needs an http or sql source: logs are read replica by replica, and cannot tell which of two replicas applied first")
		case e.HTTP != nil && e.HTTP.Step == "":
			bad(f+".http.step", "missing: the field of an item that says which step it applied")
		case e.HTTP != nil && e.HTTP.Replicas == ReplicasEach:
			bad(f+".order", "needs one list in the order applied: with replicas each, no list tells which of two replicas applied first")
		}
		if len(e.Inputs) == 0 {
			bad(f+".inputs", "missing: an effect with an order judges the units of inputs with steps; name them")
		}
		for _, in := range e.Inputs {
			if i, ok := s.Inputs[in]; ok && (i.AMQP == nil || len(i.AMQP.Steps) == 0) {
				bad(f+".inputs", "%q has no steps: an effect with an order judges the units of inputs with steps only", in)
			}
		}
	} else if e.HTTP != nil && e.HTTP.Step != "" {
		bad(f+".http.step", "without order: set order to the steps in the order they must be applied")
	}
	if e.Delivery != "" && e.Delivery != ExactlyOnce && e.Delivery != AtLeastOnce {
		bad(f+".delivery", "%q: want %s or %s", e.Delivery, ExactlyOnce, AtLeastOnce)
	}
}

// checkControl checks one control: at least one of env, image and
// command, each naming declared services, and a build only for an image
// the control sets.
func (s *System) checkControl(bad func(string, string, ...any), f string, c Control) {
	if len(c.Env) == 0 && len(c.Image) == 0 && len(c.Command) == 0 {
		bad(f, "empty: set env, image or command")
	}
	if c.Env != nil {
		checkEnvSet(s, bad, f+".env", c.Env)
	}
	service := func(field, svc string) bool {
		switch {
		case svc == "*":
			bad(field, `"*": name each service (an image or a command is one service's)`)
		case s.Service(svc) == nil:
			bad(field, "%q is not a declared service", svc)
		default:
			return true
		}
		return false
	}
	for _, svc := range sortedKeys(c.Image) {
		if service(f+".image."+svc, svc) && c.Image[svc] == "" {
			bad(f+".image."+svc, "empty: want an image name")
		}
	}
	for _, svc := range sortedKeys(c.Command) {
		if service(f+".command."+svc, svc) && len(c.Command[svc]) == 0 {
			bad(f+".command."+svc, "empty: want the command and its arguments")
		}
	}
	for _, svc := range sortedKeys(c.Build) {
		field := f + ".build." + svc
		if !service(field, svc) {
			continue
		}
		if c.Image[svc] == "" {
			bad(field, "builds no image: set %s.image.%s to the image it builds", f, svc)
		}
		if c.Build[svc] == nil {
			bad(field, "empty: want at least a context")
			continue
		}
		checkBuild(bad, field, c.Build[svc])
	}
}

// checkBuild checks a service's or a control's build.
func checkBuild(bad func(string, string, ...any), f string, b *Build) {
	if b.Context == "" {
		bad(f+".context", "missing")
	}
	for j, g := range b.Sources {
		if msg := badSource(g); msg != "" {
			bad(fmt.Sprintf("%s.sources[%d]", f, j), "%q: %s", g, msg)
		}
	}
}

func checkEnvSet(s *System, bad func(string, string, ...any), field string, set EnvSet) {
	if len(set) == 0 {
		bad(field, "empty")
	}
	for svc := range set {
		if svc != "*" && s.Service(svc) == nil {
			bad(field, "%q is not a declared service", svc)
		}
	}
}

func checkUnitTemplates(bad func(string, string, ...any), field string, texts map[string]string, headers map[string]string) {
	for k, v := range texts {
		if _, err := template.New(k).Funcs(UnitFuncs(nil)).Parse(v); err != nil {
			bad(field+"."+k, "%v", err)
		}
	}
	for k, v := range headers {
		if _, err := template.New(k).Funcs(UnitFuncs(nil)).Parse(v); err != nil {
			bad(field+".headers."+k, "%v", err)
		}
	}
}

func checkTemplate(text string, data any) error {
	_, err := Render(text, data)
	return err
}

// Render executes a container-settings template over data.
func Render(text string, data any) (string, error) { return render(text, data, nil) }

// render executes text over data with funcs; a missing key is an error.
func render(text string, data any, funcs template.FuncMap) (string, error) {
	t, err := template.New("").Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// badSource says what is wrong with a build's source glob, or "".
func badSource(g string) string {
	switch {
	case g == "":
		return "empty"
	case strings.HasPrefix(g, "/"):
		return "want a path relative to the build's context"
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return "want a clean path inside the build's context, without . or .. or //"
		}
		if _, err := path.Match(seg, ""); err != nil {
			return "malformed glob"
		}
	}
	return ""
}
