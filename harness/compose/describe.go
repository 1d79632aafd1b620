package compose

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// described is the description being made, before it is written.
type described struct {
	sum      Summary
	database bool
	services []*outService
	broker   *service // the first broker service, or nil

	brokerHosts map[string]bool
	dbHosts     map[string]bool
	appHosts    map[string]*outService // compose names and aliases of the kept services
}

type outService struct {
	name     string // in the description
	from     *service
	image    string
	build    *outBuild
	builtBy  string // the earlier service whose build makes this image
	command  []string
	port     int
	ready    string // "{http: /health}", "{tcp: 8080}" or ""
	readyWhy string
	replicas int
	ulimits  map[string]int64
	env      []envLine
	todos    []string // comment lines: each TODO, in the service
	notes    []string // plain comment lines
}

type outBuild struct {
	context, dockerfile string
	args                map[string]string
}

type envLine struct{ key, val, was string }

var (
	brokerBuild = regexp.MustCompile(`^(rabbit|rabbitmq|rmq)[-_]?[0-9]*$`)
	dbBuild     = regexp.MustCompile(`^(postgres|postgresql|pg)[-_]?[0-9]*$`)
)

// repo is an image reference's last path component, without tag or
// digest: "bitnami/rabbitmq:3.12" is "rabbitmq".
func repo(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	image, _, _ = strings.Cut(image, ":")
	return strings.ToLower(image)
}

func isBroker(s *service) bool {
	if s.image != "" {
		return strings.Contains(repo(s.image), "rabbitmq")
	}
	return brokerBuild.MatchString(strings.ToLower(s.name))
}

func isPostgres(s *service) bool {
	if s.image != "" {
		r := repo(s.image)
		return strings.Contains(r, "postgres") || strings.Contains(r, "postgis") || strings.Contains(r, "timescaledb")
	}
	return dbBuild.MatchString(strings.ToLower(s.name))
}

var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// serviceName is a compose name as the description allows names:
// lowercase letters, digits and dashes, starting with a letter.
func serviceName(n string) string {
	out := strings.Trim(notName.ReplaceAllString(strings.ToLower(n), "-"), "-")
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "s-" + out
	}
	return out[:min(len(out), 31)]
}

func describe(p *project, outDir string) *described {
	d := &described{
		brokerHosts: map[string]bool{}, dbHosts: map[string]bool{}, appHosts: map[string]*outService{},
	}
	d.sum.Name = p.name
	var apps []*service
	for _, s := range p.services {
		switch {
		case isBroker(s):
			if d.broker == nil {
				d.broker = s
			}
			d.sum.Broker = append(d.sum.Broker, s.name)
			for _, h := range s.hosts {
				d.brokerHosts[h] = true
			}
		case isPostgres(s):
			if !d.database {
				d.database, d.sum.Database = true, s.name
			} else {
				d.sum.Notes = append(d.sum.Notes, fmt.Sprintf("%s is PostgreSQL too: every service gets the one database of its run", s.name))
			}
			for _, h := range s.hosts {
				d.dbHosts[h] = true
			}
		default:
			apps = append(apps, s)
		}
	}
	if len(d.sum.Broker) > 1 {
		d.sum.Notes = append(d.sum.Notes, fmt.Sprintf("%d RabbitMQ services (%s): mqchaos runs one node, or its own cluster for the cluster scenarios; {{.AMQPURLs}} lists every node", len(d.sum.Broker), strings.Join(d.sum.Broker, ", ")))
	}
	if d.broker == nil {
		d.sum.Notes = append(d.sum.Notes, "no RabbitMQ service recognised (an image named rabbitmq): point the services at {{.AMQPURL}} by hand")
	}
	images := map[string]*outService{}
	for _, s := range apps {
		o := &outService{name: serviceName(s.name), from: s, image: s.image, command: s.command, replicas: s.replicas, ulimits: s.ulimits}
		if o.name != s.name {
			o.notes = append(o.notes, fmt.Sprintf("%s in the compose file", s.name))
		}
		if s.build != nil {
			if o.image == "" {
				// What docker compose v2 names the image it builds.
				o.image = serviceName(p.name) + "-" + o.name
			}
			b := &outBuild{dockerfile: s.build.dockerfile, args: s.build.args}
			if strings.Contains(s.build.context, "://") || strings.HasPrefix(s.build.context, "git@") {
				b.context = s.build.context
				o.todos = append(o.todos, "build.context: "+s.build.context+" is remote: mqchaos builds from a directory")
			} else if rel, err := filepath.Rel(outDir, s.build.context); err == nil {
				b.context = filepath.ToSlash(rel)
			} else {
				b.context = filepath.ToSlash(s.build.context)
			}
			switch first, ok := images[o.image]; {
			case ok && first.build != nil:
				// One image, built once (as BuildImages does).
				o.builtBy = first.name
				if !sameBuild(first.build, b) {
					o.todos = append(o.todos, fmt.Sprintf("build: its compose build differs from %s's, and both make %s: mqchaos builds the image once, with %s's build; name another image if they differ", first.name, o.image, first.name))
				}
			default:
				o.build = b
			}
		}
		if _, ok := images[o.image]; !ok {
			images[o.image] = o
		}
		for _, h := range s.hosts {
			d.appHosts[h] = o
		}
		d.services = append(d.services, o)
		d.sum.Services = append(d.sum.Services, o.name)
	}
	if len(apps) == 0 {
		d.sum.Notes = append(d.sum.Notes, "no service besides the broker and the database: the description needs at least one")
	}
	for _, o := range d.services {
		d.fill(o)
	}
	d.sum.TODOs = d.todos()
	return d
}

func sameBuild(a, b *outBuild) bool {
	if a.context != b.context || a.dockerfile != b.dockerfile || len(a.args) != len(b.args) {
		return false
	}
	for k, v := range a.args {
		if b.args[k] != v {
			return false
		}
	}
	return true
}

var (
	healthHTTP = regexp.MustCompile(`https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::([0-9]+))?(/[^\s'"\\)]*)?`)
	healthTCP  = regexp.MustCompile(`(?:\bnc\s+(?:-\S+\s+)*(?:localhost|127\.0\.0\.1)\s+([0-9]+))|(?:/dev/tcp/(?:localhost|127\.0\.0\.1)/([0-9]+))`)
)

// fill works out one service's port, readiness, environment and TODOs.
func (d *described) fill(o *outService) {
	s := o.from
	if len(s.health) > 0 {
		cmd := strings.Join(s.health[min(1, len(s.health)):], " ")
		if m := healthHTTP.FindStringSubmatch(cmd); m != nil {
			port := 80
			if m[1] != "" {
				port, _ = strconv.Atoi(m[1])
			}
			path := m[2]
			if path == "" {
				path = "/"
			}
			o.port, o.ready, o.readyWhy = port, "{http: "+path+"}", "from the health check"
		} else if m := healthTCP.FindStringSubmatch(cmd); m != nil {
			port, _ := strconv.Atoi(m[1] + m[2])
			o.ready, o.readyWhy = fmt.Sprintf("{tcp: %d}", port), "from the health check"
		} else {
			o.todos = append(o.todos, fmt.Sprintf("ready: the health check (%s) cannot be carried over: mqchaos checks readiness itself, with {http: /path} on port, {tcp: N} or {log: 'a line it logs when ready'}", cmd))
		}
	}
	if o.port == 0 && len(s.ports) > 0 {
		o.port = s.ports[0]
	}
	var others []string
	for _, p := range s.ports {
		if p != o.port {
			others = append(others, strconv.Itoa(p))
		}
	}
	if len(others) > 0 {
		o.notes = append(o.notes, fmt.Sprintf("port %d is the HTTP port mqchaos talks to; it also listens on %s", o.port, strings.Join(others, ", ")))
	}
	if o.ready == "" && len(s.health) == 0 {
		if o.port != 0 {
			o.todos = append(o.todos, fmt.Sprintf("ready: how mqchaos knows a replica is ready, e.g. {http: /health} (a 2xx on port %d), {tcp: %d} or {log: 'a line it logs when ready'}; without, a running container counts as ready", o.port, o.port))
		} else {
			o.todos = append(o.todos, "ready: how mqchaos knows a replica is ready, e.g. {log: 'consuming from'} (a line it logs once it consumes); without, a running container counts as ready")
		}
	}
	for _, k := range slices.Sorted(mapKeys(s.env)) {
		v := s.env[k]
		nv, notes := d.rewrite(k, v)
		line := envLine{key: k, val: nv}
		if nv != v {
			was := mask(v)
			if nv == "{{.Password}}" {
				was = "***"
			}
			line.was = was
			d.sum.Replaced = append(d.sum.Replaced, Replacement{Service: o.name, Variable: k, Was: was, Now: nv})
		}
		for _, n := range notes {
			o.todos = append(o.todos, "env."+k+": "+n)
		}
		if strings.Contains(nv, "{{") && !strings.Contains(nv, "{{.") {
			o.todos = append(o.todos, "env."+k+": its value has {{ }}, which the description reads as a template: write {{\"{{\"}} for a literal {{")
		}
		o.env = append(o.env, line)
	}
	for _, w := range s.command {
		if d.mentions(w) {
			o.todos = append(o.todos, fmt.Sprintf("command: %q names the broker's or the database's address, which mqchaos fills in only in env: move it into an environment variable", mask(w)))
		}
	}
	for _, u := range s.unresolved {
		o.todos = append(o.todos, strings.TrimPrefix(u, "services."+s.name+"."))
	}
	o.todos = append(o.todos, s.unsupported...)
	for _, k := range s.unread {
		d.sum.Notes = append(d.sum.Notes, fmt.Sprintf("services.%s.%s: not read by mqchaos init", s.name, k))
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var (
	anyURL  = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*)://(?:([^\s/@,'"]*)@)?(\[[^\]]*\]|[A-Za-z0-9_.\-]+)(?::([0-9]+))?(/[^\s,?#'"]*)?(\?[^\s,#'"]*)?`)
	hostKey = regexp.MustCompile(`(?i)(^|_|^PG)(HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|SERVER|SERVERS|URL|URI|URLS|ENDPOINT|NODES|BROKER|BROKERS)(_|$)`)
	dsnPart = regexp.MustCompile(`\b(host|hostaddr|port|dbname|user|password)=('[^']*'|\S+)`)
)

// rewrite is an environment value with the broker's, the database's and
// the other services' addresses in it replaced, and what the user should
// look at.
func (d *described) rewrite(key, v string) (string, []string) {
	var notes []string
	// A list of broker URLs, for a client that fails over between nodes.
	if parts := strings.Split(v, ","); len(parts) > 1 {
		all := true
		for _, p := range parts {
			m := anyURL.FindStringSubmatch(strings.TrimSpace(p))
			if m == nil || m[0] != strings.TrimSpace(p) || !isAMQP(m[1]) || !d.brokerHosts[m[3]] {
				all = false
				break
			}
		}
		if all {
			return "{{.AMQPURLs}}", nil
		}
	}
	if anyURL.MatchString(v) {
		out := anyURL.ReplaceAllStringFunc(v, func(u string) string {
			r, n := d.url(u, u == v)
			notes = append(notes, n...)
			return r
		})
		return out, notes
	}
	if d.database && dsnPart.MatchString(v) {
		if m := regexp.MustCompile(`\bhost=(\S+)`).FindStringSubmatch(v); m != nil && d.dbHosts[m[1]] {
			return dsnPart.ReplaceAllStringFunc(v, func(part string) string {
				k, _, _ := strings.Cut(part, "=")
				return k + "=" + map[string]string{"host": "{{.DBHost}}", "hostaddr": "{{.DBHost}}", "port": "{{.DBPort}}", "dbname": "{{.Database}}", "user": "{{.User}}", "password": "{{.Password}}"}[k]
			}), nil
		}
	}
	host, port, hasPort := strings.Cut(v, ":")
	if hasPort {
		if _, err := strconv.Atoi(port); err != nil {
			host, hasPort = v, false
		}
	}
	if hasPort || hostKey.MatchString(key) {
		switch {
		case d.brokerHosts[host]:
			return withPort("{{.BrokerHost}}", "{{.BrokerPort}}", "5672", port, hasPort), nil
		case d.dbHosts[host]:
			return withPort("{{.DBHost}}", "{{.DBPort}}", "5432", port, hasPort), nil
		case d.appHosts[host] != nil:
			if !hasPort {
				port = ""
			}
			return d.appAlias(host) + portPart(port), d.aliasNotes(host)
		}
	}
	if strings.Contains(v, ",") && hostKey.MatchString(key) {
		for _, h := range strings.Split(v, ",") {
			h, _, _ = strings.Cut(strings.TrimSpace(h), ":")
			if d.brokerHosts[h] {
				return v, []string{"a list of broker nodes: mqchaos has no template for it; use {{.AMQPURLs}} (URLs, comma-separated) or one node, {{.BrokerHost}}"}
			}
		}
	}
	return d.byRole(key, v), nil
}

func withPort(host, tmpl, std, port string, hasPort bool) string {
	switch {
	case !hasPort:
		return host
	case port == std:
		return host + ":" + tmpl
	}
	return host + ":" + port
}

func isAMQP(scheme string) bool { return scheme == "amqp" || scheme == "amqps" }

// url rewrites one URL; whole says it is the variable's entire value.
func (d *described) url(u string, whole bool) (string, []string) {
	m := anyURL.FindStringSubmatch(u)
	scheme, user, host, port, path, query := m[1], m[2], m[3], m[4], m[5], m[6]
	var notes []string
	switch {
	case d.brokerHosts[host] && isAMQP(scheme):
		if scheme == "amqps" {
			notes = append(notes, "was amqps: mqchaos's broker speaks plain AMQP inside its network")
		}
		if whole && user != "" {
			return "{{.AMQPURL}}" + query, notes
		}
		return "amqp://" + userinfo(user) + "{{.BrokerHost}}:{{.BrokerPort}}/{{.VHost}}" + query, notes
	case d.brokerHosts[host]:
		notes = append(notes, fmt.Sprintf("%s reaches the broker by %s:%s: only AMQP is sure to go through mqchaos's network faults", scheme, host, cmpOr(port, "default port")))
		return scheme + "://" + userinfo(user) + "{{.BrokerHost}}" + portPart(port) + path + query, notes
	case d.dbHosts[host] && (scheme == "postgres" || scheme == "postgresql") && whole && user != "" && strings.Contains(user, ":"):
		return "{{.DatabaseURL}}" + extraQuery(query), nil
	case d.dbHosts[host]:
		return scheme + "://" + userinfo(user) + "{{.DBHost}}:{{.DBPort}}/{{.Database}}" + query, nil
	case d.appHosts[host] != nil:
		return scheme + "://" + user + atSign(user) + d.appAlias(host) + portPart(port) + path + query, d.aliasNotes(host)
	}
	return u, nil
}

func atSign(user string) string {
	if user == "" {
		return ""
	}
	return "@"
}

func portPart(p string) string {
	if p == "" {
		return ""
	}
	return ":" + p
}

// userinfo is the templates for a URL's user and password, as the URL
// had them.
func userinfo(user string) string {
	switch {
	case user == "":
		return ""
	case strings.Contains(user, ":"):
		return "{{.User}}:{{.Password}}@"
	}
	return "{{.User}}@"
}

// extraQuery is a postgres URL's query besides sslmode, to go after
// {{.DatabaseURL}}, which has ?sslmode=disable.
func extraQuery(q string) string {
	vals, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
	if err != nil || len(vals) == 0 {
		return ""
	}
	vals.Del("sslmode")
	if len(vals) == 0 {
		return ""
	}
	return "&" + vals.Encode()
}

func (d *described) appAlias(host string) string { return d.appHosts[host].name + "-1" }

func (d *described) aliasNotes(host string) []string {
	o := d.appHosts[host]
	if o.replicas > 1 {
		return []string{fmt.Sprintf("%s runs %d replicas: mqchaos gives each a name of its own (%s-1, %s-2, ...) and balances nothing, so this reaches %s-1 only", o.name, o.replicas, o.name, o.name, o.name)}
	}
	return nil
}

var (
	brokerTokens = []string{"AMQP", "RABBIT", "RABBITMQ", "MQ", "BROKER"}
	dbTokens     = []string{"DB", "DATABASE", "POSTGRES", "POSTGRESQL", "PG", "PSQL", "SQL", "DATASOURCE"}
)

// byRole templates a broker's or a database's user, password, port,
// vhost or database name, recognised by its variable's name
// (RABBITMQ_USER, DB_PASSWORD, PGDATABASE, ...): mqchaos's broker and
// database know their own credentials only.
func (d *described) byRole(key, v string) string {
	k := strings.ToUpper(key)
	switch k {
	case "PGUSER":
		k = "PG_USER"
	case "PGPASSWORD":
		k = "PG_PASSWORD"
	case "PGDATABASE":
		k = "PG_DATABASE"
	case "PGPORT":
		k = "PG_PORT"
	}
	toks := strings.Split(k, "_")
	if len(toks) < 2 {
		return v
	}
	last := toks[len(toks)-1]
	has := func(set []string) bool {
		for _, t := range toks[:len(toks)-1] {
			if slices.Contains(set, t) {
				return true
			}
		}
		return false
	}
	switch {
	case d.broker != nil && has(brokerTokens):
		switch last {
		case "USER", "USERNAME", "LOGIN":
			return "{{.User}}"
		case "PASS", "PASSWORD", "PASSWD", "PWD":
			return "{{.Password}}"
		case "VHOST":
			return "{{.VHost}}"
		case "PORT":
			if v == "5672" {
				return "{{.BrokerPort}}"
			}
		case "HOST":
			if toks[len(toks)-2] == "VIRTUAL" {
				return "{{.VHost}}"
			}
		}
	case d.database && has(dbTokens):
		switch last {
		case "USER", "USERNAME", "LOGIN":
			return "{{.User}}"
		case "PASS", "PASSWORD", "PASSWD", "PWD":
			return "{{.Password}}"
		case "NAME", "DB", "DATABASE", "DBNAME":
			return "{{.Database}}"
		case "PORT":
			if v == "5432" {
				return "{{.DBPort}}"
			}
		}
	}
	return v
}

// mentions reports whether a word names the broker's or the database's
// address.
func (d *described) mentions(w string) bool {
	for _, m := range anyURL.FindAllStringSubmatch(w, -1) {
		if d.brokerHosts[m[3]] || d.dbHosts[m[3]] {
			return true
		}
	}
	h, _, _ := strings.Cut(w, ":")
	return d.brokerHosts[h] || d.dbHosts[h]
}

var (
	userPass    = regexp.MustCompile(`(://[^\s/@:,]*:)([^\s/@,]*)@`)
	dsnPassword = regexp.MustCompile(`\bpassword=('[^']*'|\S+)`)
)

// mask hides the passwords of the URLs and connection strings in v.
func mask(v string) string {
	return dsnPassword.ReplaceAllString(userPass.ReplaceAllString(v, "${1}***@"), "password=***")
}

// todos lists every TODO in file order, each "field: what".
func (d *described) todos() []string {
	var out []string
	for _, o := range d.services {
		for _, t := range o.todos {
			out = append(out, "services["+o.name+"]."+t)
		}
		out = append(out, "services["+o.name+"].consumes: the queues it consumes, if any, and their dead-letter queues")
	}
	out = append(out,
		"inputs: how one unit of work with an id enters the system (an HTTP request or an AMQP message)",
		"effects: where mqchaos reads which ids each service applied (HTTP, a log line, or SQL)",
		"controls: the switches that turn a safety mechanism off (environment, image or command), if any")
	return out
}
