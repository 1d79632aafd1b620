// Package compose turns a team's docker-compose.yml into a first system
// description (package system) for `mqchaos init`: its services with
// their images, builds, commands, environment, HTTP port, health check and
// replicas. The broker (RabbitMQ) and the database (PostgreSQL) services
// are left out, since mqchaos starts its own for every run, and their
// addresses in the other services' environment become the description's
// templates ({{.AMQPURL}}, {{.DatabaseURL}}, {{.BrokerHost}}, ...). What
// a compose file cannot say (how work enters the system, where its
// effects show, which switches turn safety off) is written as a commented
// TODO for the user to fill in.
//
// The package does no I/O beyond reading the compose file, the env files
// it names and the .env beside it, and (Init only) writing the new file.
package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Summary is what Init inferred and what it left to the user.
type Summary struct {
	// Name is the system's name: the compose file's name: field, or its
	// directory's name.
	Name string
	// Services are the services described, by their names in the
	// description, in compose order.
	Services []string
	// Broker are the compose services recognised as RabbitMQ and left out
	// (more than one for a cluster).
	Broker []string
	// Database is the compose service recognised as PostgreSQL and left
	// out, or "".
	Database string
	// Replaced are the values turned into templates or other addresses.
	Replaced []Replacement
	// TODOs are what the user must fill in or decide, each "field: what",
	// in the order they appear in the file; each is a TODO comment there.
	TODOs []string
	// Notes are compose settings not carried over, and why.
	Notes []string
	// Lines is how many lines the description has.
	Lines int
}

// Replacement is one value of a service's environment that Init rewrote.
type Replacement struct {
	Service  string // the service, by its name in the description
	Variable string // the environment variable
	Was      string // the compose value, with any password masked
	Now      string // the description's value: a template, or an address
}

// String is the replacement as one line: "order: RABBITMQ_URL: amqp://... -> {{.AMQPURL}}".
func (r Replacement) String() string {
	return fmt.Sprintf("%s: %s: %s -> %s", r.Service, r.Variable, r.Was, r.Now)
}

// Init reads the compose file at composePath and writes a description to
// outPath (see Describe). It never overwrites: if outPath exists it
// returns an error saying so and writes nothing. Build contexts in the
// description are relative to outPath's directory.
func Init(composePath, outPath string) (Summary, error) {
	if _, err := os.Lstat(outPath); err == nil {
		return Summary{}, fmt.Errorf("%s already exists; mqchaos init never overwrites a file: move it away or name another", outPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Summary{}, err
	}
	text, sum, err := Describe(composePath, outPath)
	if err != nil {
		return sum, err
	}
	f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return sum, fmt.Errorf("%s already exists; mqchaos init never overwrites a file: move it away or name another", outPath)
	}
	if err != nil {
		return sum, err
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return sum, fmt.Errorf("write %s: %w", outPath, err)
	}
	if err := f.Close(); err != nil {
		return sum, fmt.Errorf("write %s: %w", outPath, err)
	}
	return sum, nil
}

// Describe is Init without the writing: the description it would write
// for the compose file at composePath, to be saved at outPath, and its
// summary. An error for a malformed compose file names the file, the
// line where yaml gives one, and the field: "docker-compose.yml:12:
// services.web.ports[1]: ...".
func Describe(composePath, outPath string) ([]byte, Summary, error) {
	b, err := os.ReadFile(composePath)
	if err != nil {
		return nil, Summary{}, err
	}
	p := &parser{file: composePath, dir: filepath.Dir(composePath)}
	if p.vars, err = readEnvFile(filepath.Join(p.dir, ".env"), true); err != nil {
		return nil, Summary{}, err
	}
	proj, err := p.parse(b)
	if err != nil {
		return nil, Summary{}, err
	}
	outDir, err := filepath.Abs(filepath.Dir(outPath))
	if err != nil {
		return nil, Summary{}, err
	}
	d := describe(proj, outDir)
	text := d.write(filepath.Base(composePath))
	d.sum.Lines = bytes.Count(text, []byte("\n"))
	return text, d.sum, nil
}

// project is the parts of a compose file Init reads.
type project struct {
	name     string
	services []*service
}

// service is one compose service, its values interpolated.
type service struct {
	name        string
	image       string
	build       *build
	command     []string
	env         map[string]string
	ports       []int // container TCP ports, published or exposed, in order
	health      []string
	replicas    int
	ulimits     map[string]int64
	hosts       []string // names it is reached by: its name, container_name, hostname, aliases
	unresolved  []string // ${VAR}s with no value, by field
	unsupported []string // compose keys Init does not carry, with why
	unread      []string // compose keys Init does not know
	// fromEnvironment are the keys environment: set, which win over an
	// env_file's.
	fromEnvironment []string
}

type build struct {
	context    string // absolute, or a URL
	dockerfile string
	args       map[string]string
}

type parser struct {
	file string
	dir  string
	vars map[string]string
	root *yaml.Node
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// fail is an error at a node: file:line: field: message.
func (p *parser) fail(n *yaml.Node, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	if n != nil && n.Line > 0 {
		return fmt.Errorf("%s:%d: %s", p.file, n.Line, msg)
	}
	return fmt.Errorf("%s: %s", p.file, msg)
}

func (p *parser) parse(b []byte) (*project, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", p.file, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", p.file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, p.fail(nil, "", "empty: want a compose file with services")
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, p.fail(root, "", "want a mapping with services, not %s", kindOf(root))
	}
	p.root = root
	abs, err := filepath.Abs(p.dir)
	if err != nil {
		return nil, err
	}
	proj := &project{name: filepath.Base(abs)}
	if n := get(root, "name"); n != nil {
		if proj.name, err = p.str(n, "name"); err != nil {
			return nil, err
		}
	}
	svcs := get(root, "services")
	if svcs == nil {
		return nil, p.fail(root, "services", "missing: a compose file names its services")
	}
	if svcs.Kind != yaml.MappingNode {
		return nil, p.fail(svcs, "services", "want a mapping of services, not %s", kindOf(svcs))
	}
	if len(svcs.Content) == 0 {
		return nil, p.fail(svcs, "services", "none declared")
	}
	for _, kv := range pairs(svcs) {
		s, err := p.service(kv.key.Value, kv.val)
		if err != nil {
			return nil, err
		}
		proj.services = append(proj.services, s)
	}
	return proj, nil
}

// carried are the service keys Init reads; ignored are those it leaves
// out because mqchaos does the job itself or they do not matter to a run.
var (
	ignored = map[string]string{
		"depends_on": "", "restart": "", "networks": "", "labels": "", "logging": "", "profiles": "",
		"stop_grace_period": "", "stop_signal": "", "init": "", "pull_policy": "", "platform": "",
		"extra_hosts": "", "links": "", "tty": "", "stdin_open": "", "mem_limit": "", "cpus": "",
		"security_opt": "", "cap_add": "", "cap_drop": "",
	}
	unsupportedKeys = map[string]string{
		"entrypoint":   "mqchaos runs the image's entrypoint: put it in the image, or its arguments in command",
		"volumes":      "mqchaos mounts nothing: bake the files a service needs into its image",
		"user":         "mqchaos runs the image's user: set USER in the Dockerfile",
		"working_dir":  "mqchaos runs in the image's directory: set WORKDIR in the Dockerfile",
		"secrets":      "mqchaos mounts no secrets: pass them in env",
		"configs":      "mqchaos mounts no configs: bake them into the image",
		"tmpfs":        "mqchaos mounts nothing",
		"sysctls":      "not supported by mqchaos",
		"privileged":   "not supported by mqchaos",
		"network_mode": "mqchaos puts every service on its own network",
		"extends":      "not followed: write the service out in full",
	}
)

func (p *parser) service(name string, n *yaml.Node) (*service, error) {
	f := "services." + name
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, p.fail(n, f, "empty: want at least an image or a build")
		}
		return nil, p.fail(n, f, "want a mapping, not %s", kindOf(n))
	}
	s := &service{name: name, env: map[string]string{}, replicas: 1, hosts: []string{name}}
	for _, kv := range pairs(n) {
		k, v := kv.key.Value, kv.val
		kf := f + "." + k
		var err error
		switch k {
		case "image":
			s.image, err = p.istr(s, v, kf)
		case "build":
			s.build, err = p.build(s, v, kf)
		case "command":
			s.command, err = p.words(s, v, kf)
		case "entrypoint":
			_, err = p.words(s, v, kf) // read for its errors only
			s.unsupported = append(s.unsupported, k+": "+unsupportedKeys[k])
		case "environment":
			err = p.environment(s, v, kf)
		case "env_file":
			err = p.envFiles(s, v, kf)
		case "ports":
			err = p.ports(s, v, kf, true)
		case "expose":
			err = p.ports(s, v, kf, false)
		case "healthcheck":
			err = p.healthcheck(s, v, kf)
		case "deploy":
			if r := get(v, "replicas"); r != nil {
				s.replicas, err = p.count(r, kf+".replicas")
			}
		case "scale":
			s.replicas, err = p.count(v, kf)
		case "ulimits":
			s.ulimits, err = p.ulimits(v, kf)
		case "container_name", "hostname":
			var h string
			h, err = p.istr(s, v, kf)
			s.hosts = append(s.hosts, h)
		case "volumes":
			s.unsupported = append(s.unsupported, k+": "+unsupportedKeys[k])
		default:
			if _, ok := ignored[k]; ok || strings.HasPrefix(k, "x-") {
				break
			}
			if why, ok := unsupportedKeys[k]; ok {
				s.unsupported = append(s.unsupported, k+": "+why)
				break
			}
			s.unread = append(s.unread, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if nets := get(n, "networks"); nets != nil && nets.Kind == yaml.MappingNode {
		for _, kv := range pairs(nets) {
			if al := get(kv.val, "aliases"); al != nil && al.Kind == yaml.SequenceNode {
				for _, a := range al.Content {
					s.hosts = append(s.hosts, a.Value)
				}
			}
		}
	}
	if s.image == "" && s.build == nil {
		return nil, p.fail(n, f, "neither image nor build: want at least one")
	}
	return s, nil
}

func (p *parser) str(n *yaml.Node, field string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.fail(n, field, "want a string, not %s", kindOf(n))
	}
	return n.Value, nil
}

// istr is a string, interpolated.
func (p *parser) istr(s *service, n *yaml.Node, field string) (string, error) {
	v, err := p.str(n, field)
	if err != nil {
		return "", err
	}
	return p.interpolate(s, n, field, v)
}

func (p *parser) count(n *yaml.Node, field string) (int, error) {
	v, err := p.str(n, field)
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, p.fail(n, field, "%q: want a number of replicas", v)
	}
	return max(i, 1), nil
}

// ulimits are compose's ulimits, each a number or {soft, hard}: the hard
// limit is kept, since a description sets both to one number (and a Go
// program raises its soft limit to the hard one).
func (p *parser) ulimits(n *yaml.Node, field string) (map[string]int64, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.fail(n, field, "want a mapping of limits, not %s", kindOf(n))
	}
	out := map[string]int64{}
	for _, kv := range pairs(n) {
		f, v := field+"."+kv.key.Value, resolve(kv.val)
		if hard := get(v, "hard"); v.Kind == yaml.MappingNode && hard != nil {
			f, v = f+".hard", resolve(hard)
		}
		s, err := p.str(v, f)
		if err != nil {
			return nil, err
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || i < 1 {
			return nil, p.fail(v, f, "%q: want a number", s)
		}
		out[kv.key.Value] = i
	}
	return out, nil
}

// words is a command: a list, or a string split as a shell would.
func (p *parser) words(s *service, n *yaml.Node, field string) ([]string, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		var out []string
		for i, it := range n.Content {
			w, err := p.istr(s, it, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
		return out, nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		v, err := p.istr(s, n, field)
		if err != nil {
			return nil, err
		}
		w, err := splitWords(v)
		if err != nil {
			return nil, p.fail(n, field, "%q: %v", v, err)
		}
		return w, nil
	}
	return nil, p.fail(n, field, "want a list or a string, not %s", kindOf(n))
}

func (p *parser) build(s *service, n *yaml.Node, field string) (*build, error) {
	n = resolve(n)
	b := &build{dockerfile: "Dockerfile"}
	ctx := "."
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := p.istr(s, n, field)
		if err != nil {
			return nil, err
		}
		ctx = v
	case yaml.MappingNode:
		for _, kv := range pairs(n) {
			kf := field + "." + kv.key.Value
			var err error
			switch kv.key.Value {
			case "context":
				ctx, err = p.istr(s, kv.val, kf)
			case "dockerfile":
				b.dockerfile, err = p.istr(s, kv.val, kf)
			case "args":
				b.args, err = p.keyValues(s, kv.val, kf)
			case "target":
				var target string
				target, err = p.istr(s, kv.val, kf)
				s.unsupported = append(s.unsupported, "build.target: mqchaos builds the Dockerfile's last stage: move "+target+" last or into a Dockerfile of its own")
			case "dockerfile_inline":
				s.unsupported = append(s.unsupported, "build.dockerfile_inline: write the Dockerfile to a file")
			}
			if err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.fail(n, field, "want a path or a mapping, not %s", kindOf(n))
	}
	if strings.Contains(ctx, "://") || strings.HasPrefix(ctx, "git@") {
		b.context = ctx
	} else if filepath.IsAbs(ctx) {
		b.context = filepath.Clean(ctx)
	} else {
		abs, err := filepath.Abs(filepath.Join(p.dir, ctx))
		if err != nil {
			return nil, err
		}
		b.context = abs
	}
	return b, nil
}

// keyValues reads a mapping or a list of KEY=VALUE; a KEY without a value
// is taken from .env, and noted when it is not there.
func (p *parser) keyValues(s *service, n *yaml.Node, field string) (map[string]string, error) {
	n = resolve(n)
	out := map[string]string{}
	switch n.Kind {
	case yaml.MappingNode:
		for _, kv := range pairs(n) {
			kf := field + "." + kv.key.Value
			v := resolve(kv.val)
			if v.Kind != yaml.ScalarNode {
				return nil, p.fail(v, kf, "want a value, not %s", kindOf(v))
			}
			if v.Tag == "!!null" {
				p.fromShell(s, out, kv.key.Value, kf)
				continue
			}
			val, err := p.interpolate(s, v, kf, v.Value)
			if err != nil {
				return nil, err
			}
			out[kv.key.Value] = val
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			kf := fmt.Sprintf("%s[%d]", field, i)
			v, err := p.str(it, kf)
			if err != nil {
				return nil, err
			}
			k, val, ok := strings.Cut(v, "=")
			if k == "" {
				return nil, p.fail(it, kf, "%q: want KEY=VALUE", v)
			}
			if !ok {
				p.fromShell(s, out, k, kf)
				continue
			}
			if out[k], err = p.interpolate(s, it, kf, val); err != nil {
				return nil, err
			}
		}
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			return nil, p.fail(n, field, "want a mapping or a list of KEY=VALUE, not %s", kindOf(n))
		}
	default:
		return nil, p.fail(n, field, "want a mapping or a list of KEY=VALUE, not %s", kindOf(n))
	}
	return out, nil
}

// fromShell is a variable compose would pass through from the shell:
// .env's value if it has one, else left for the user.
func (p *parser) fromShell(s *service, out map[string]string, k, field string) {
	if v, ok := p.vars[k]; ok {
		out[k] = v
		return
	}
	out[k] = ""
	s.unresolved = append(s.unresolved, field+": "+k+" is taken from the shell, which init does not read")
}

func (p *parser) environment(s *service, n *yaml.Node, field string) error {
	kv, err := p.keyValues(s, n, field)
	for k, v := range kv {
		s.env[k] = v // environment wins over env_file, read in either order
		s.fromEnvironment = append(s.fromEnvironment, k)
	}
	return err
}

func (p *parser) envFiles(s *service, n *yaml.Node, field string) error {
	n = resolve(n)
	var paths []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		paths = []*yaml.Node{n}
	case yaml.SequenceNode:
		paths = n.Content
	default:
		return p.fail(n, field, "want a path or a list of paths, not %s", kindOf(n))
	}
	for i, pn := range paths {
		pn = resolve(pn)
		required := true
		if pn.Kind == yaml.MappingNode {
			if r := get(pn, "required"); r != nil && r.Value == "false" {
				required = false
			}
			pn = get(pn, "path")
			if pn == nil {
				return p.fail(paths[i], fmt.Sprintf("%s[%d].path", field, i), "missing")
			}
		}
		rel, err := p.str(pn, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return err
		}
		vars, err := readEnvFile(filepath.Join(p.dir, rel), !required)
		if err != nil {
			return p.fail(pn, fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		for k, v := range vars {
			if !slices.Contains(s.fromEnvironment, k) {
				s.env[k] = v
			}
		}
	}
	return nil
}

var portSpec = regexp.MustCompile(`^(?:(?:\[[0-9a-fA-F:.]*\]|[0-9.]+):)?(?:([0-9]+(?:-[0-9]+)?):)?([0-9]+(?:-[0-9]+)?)(?:/(tcp|udp|sctp))?$`)

// ports reads ports (published) or expose: the container's TCP ports.
func (p *parser) ports(s *service, n *yaml.Node, field string, published bool) error {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return p.fail(n, field, "want a list, not %s", kindOf(n))
	}
	for i, it := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		it = resolve(it)
		if it.Kind == yaml.MappingNode && published {
			t := get(it, "target")
			if t == nil {
				return p.fail(it, f+".target", "missing")
			}
			port, err := strconv.Atoi(t.Value)
			if err != nil || port < 1 || port > 65535 {
				return p.fail(t, f+".target", "%q: want a port number", t.Value)
			}
			if pr := get(it, "protocol"); pr != nil && pr.Value != "tcp" {
				continue
			}
			s.addPort(port)
			continue
		}
		v, err := p.istr(s, it, f)
		if err != nil {
			return err
		}
		m := portSpec.FindStringSubmatch(v)
		if m == nil {
			return p.fail(it, f, "%q: want a port mapping such as 8080, 8080:80 or 127.0.0.1:8080:80/tcp", v)
		}
		if m[3] != "" && m[3] != "tcp" {
			continue
		}
		lo, hi, _ := strings.Cut(m[2], "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if hi != "" {
			b, _ = strconv.Atoi(hi)
		}
		if a < 1 || b > 65535 || b < a {
			return p.fail(it, f, "%q: want a port number from 1 to 65535", v)
		}
		for port := a; port <= b; port++ {
			s.addPort(port)
		}
	}
	return nil
}

func (s *service) addPort(port int) {
	if !slices.Contains(s.ports, port) {
		s.ports = append(s.ports, port)
	}
}

func (p *parser) healthcheck(s *service, n *yaml.Node, field string) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return p.fail(n, field, "want a mapping, not %s", kindOf(n))
	}
	if d := get(n, "disable"); d != nil && d.Value == "true" {
		return nil
	}
	t := get(n, "test")
	if t == nil {
		return nil
	}
	t = resolve(t)
	switch t.Kind {
	case yaml.ScalarNode:
		v, err := p.istr(s, t, field+".test")
		if err != nil {
			return err
		}
		s.health = []string{"CMD-SHELL", v}
	case yaml.SequenceNode:
		w, err := p.words(s, t, field+".test")
		if err != nil {
			return err
		}
		s.health = w
	default:
		return p.fail(t, field+".test", "want a string or a list, not %s", kindOf(t))
	}
	if len(s.health) > 0 && s.health[0] == "NONE" {
		s.health = nil
	}
	return nil
}

var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate replaces ${VAR}, ${VAR:-default}, $VAR and $$ as compose
// does, from the .env file beside the compose file; a variable that has
// no value there and no default is kept as written and noted.
func (p *parser) interpolate(s *service, n *yaml.Node, field, v string) (string, error) {
	var bad error
	out := interpolation.ReplaceAllStringFunc(v, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sm := interpolation.FindStringSubmatch(m)
		name, op, arg := sm[1], sm[2], sm[3]
		if name == "" {
			name = sm[4]
		}
		val, set := p.vars[name]
		switch op {
		case ":-":
			if val == "" {
				return arg
			}
			return val
		case "-":
			if !set {
				return arg
			}
			return val
		case ":+":
			if val != "" {
				return arg
			}
			return ""
		case "+":
			if set {
				return arg
			}
			return ""
		case ":?", "?":
			if !set || (op == ":?" && val == "") {
				bad = p.fail(n, field, "%s: %s", name, cmpOr(arg, "required"))
			}
			return val
		}
		if !set {
			if s != nil {
				s.unresolved = append(s.unresolved, fmt.Sprintf("%s: %s has no value (not in .env, no default)", field, m))
			}
			return m
		}
		return val
	})
	return out, bad
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// readEnvFile reads KEY=VALUE lines (# comments, optional quotes, an
// optional leading export). A missing file is an error unless optional.
func readEnvFile(path string, optional bool) (map[string]string, error) {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: %q: want KEY=VALUE", path, i+1, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		} else if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out[k] = v
	}
	return out, nil
}

// splitWords splits a command as a POSIX shell would split words:
// whitespace, single and double quotes, backslash escapes.
func splitWords(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			in = true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

type pair struct{ key, val *yaml.Node }

// pairs is a mapping's entries, merge keys (<<: *anchor) resolved: a
// merged entry comes first and gives way to one written out.
func pairs(n *yaml.Node) []pair {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var merged, own []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			v = resolve(v)
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, src := range srcs {
				merged = append(merged, pairs(src)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	var out []pair
	for _, m := range merged {
		if !hasKey(own, m.key.Value) && !hasKey(out, m.key.Value) {
			out = append(out, m)
		}
	}
	return append(out, own...)
}

func hasKey(ps []pair, k string) bool {
	for _, p := range ps {
		if p.key.Value == k {
			return true
		}
	}
	return false
}

// get is the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key.Value == key {
			return resolve(p.val)
		}
	}
	return nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}
