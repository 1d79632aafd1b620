package compose

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// writer builds the description's text.
type writer struct{ b strings.Builder }

func (w *writer) line(indent int, format string, args ...any) {
	w.b.WriteString(strings.Repeat(" ", indent))
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteString("\n")
}

// comment writes text as comment lines of at most about 76 columns.
func (w *writer) comment(indent int, text string) {
	prefix := strings.Repeat(" ", indent) + "# "
	line := prefix
	for _, word := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(word) > 76 {
			w.b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = prefix + "  "
		}
		if len(line) > len(prefix) && !strings.HasSuffix(line, "  ") {
			line += " "
		}
		line += word
	}
	w.b.WriteString(line + "\n")
}

var plain = regexp.MustCompile(`^[A-Za-z0-9_./@%+-][A-Za-z0-9_./@%+:=-]*$`)

// str is a YAML scalar for s: plain where that reads back as the same
// string, double-quoted otherwise.
func str(s string) string {
	if plain.MatchString(s) && !reserved(s) && !strings.HasSuffix(s, ":") {
		return s
	}
	return strconv.Quote(s)
}

// reserved reports whether a plain s would read back as something other
// than a string: a number, a boolean, null.
func reserved(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~":
		return true
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return true
	}
	_, err := strconv.ParseInt(s, 0, 64)
	return err == nil || strings.HasPrefix(s, "0")
}

func list(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (d *described) write(composeFile string) []byte {
	w := &writer{}
	var deps, left []string
	if len(d.sum.Broker) > 0 {
		deps = append(deps, "RabbitMQ")
		left = append(left, d.sum.Broker...)
	}
	if d.sum.Database != "" {
		deps = append(deps, "PostgreSQL")
		left = append(left, d.sum.Database)
	}
	w.comment(0, fmt.Sprintf("%s, described for mqchaos by `mqchaos init` from %s.", d.sum.Name, composeFile))
	if len(deps) > 0 {
		verb := "is"
		if len(left) > 1 {
			verb = "are"
		}
		w.comment(0, fmt.Sprintf("mqchaos starts its own %s for every run, so %s %s left out here, and their addresses in the environment are templates it fills in.", strings.Join(deps, " and "), andList(left), verb))
	}
	w.comment(0, "Fill in every TODO, then run `mqchaos check`; the fields are described in docs/description.md.")
	w.line(0, "name: %s", str(d.sum.Name))
	if d.database {
		w.line(0, "database: postgres        # each run gets a database of its own")
	} else {
		w.line(0, "database: none            # no PostgreSQL service in %s", composeFile)
	}
	w.line(0, "")
	w.line(0, "services:")
	for _, o := range d.services {
		d.writeService(w, o)
	}
	w.line(0, "")
	w.comment(0, "TODO(inputs): how one unit of work, with an id of its own, enters the system: an HTTP request to a service or an AMQP message. {{.ID}} is the unit's id; a service that makes the id itself returns it (id_from_response: the field).")
	w.line(0, "inputs:")
	httpSvc, amqpQueue := "", "orders"
	for _, o := range d.own() {
		if o.port != 0 && httpSvc == "" {
			httpSvc = o.name
		}
	}
	if httpSvc != "" {
		w.line(0, "#   order_http:")
		w.line(0, "#     http: {service: %s, path: /orders, body: '{\"id\": \"{{.ID}}\", \"item\": \"{{pick \"a\" \"b\"}}\"}'}", httpSvc)
	}
	w.line(0, "#   order_amqp:")
	w.line(0, "#     amqp: {exchange: orders, routing_key: order.created, body: '{\"id\": \"{{.ID}}\"}', queues: [%s]}", amqpQueue)
	w.line(0, "")
	todo := "TODO(effects): where mqchaos reads which ids each service applied, one entry per time it applied one: a JSON list over HTTP (objects, with id: the field that holds the id, or a plain list of ids), a log line whose first group is the id, or a SQL query. An effect that may repeat by design is delivery: at-least-once."
	for _, o := range d.services {
		if o.replicas > 1 && o.port != 0 {
			todo += fmt.Sprintf(" An HTTP effect of %s, which runs %d replicas, is read from one of them: if each replica lists only its own work, add replicas: each to its http.", o.name, o.replicas)
			break
		}
	}
	w.comment(0, todo)
	w.line(0, "effects:")
	if ex := d.own(); len(ex) > 0 {
		w.line(0, "#   - service: %s", ex[0].name)
		w.line(0, "#     what: order stored")
		w.line(0, "#     log: {pattern: 'order (\\S+) stored'}    # or http: {path: /orders, id: id}; or sql: {query: ...}")
	}
	w.line(0, "")
	w.comment(0, "TODO(controls): the switches that turn one safety mechanism off, by the catalogue's names (`mqchaos check` lists them): environment, another image or another command, by service. None: leave it empty.")
	w.line(0, "controls: {}")
	if ex := d.own(); len(ex) > 0 {
		s := ex[0].name
		w.line(0, "#   no-idempotency:")
		w.line(0, "#     description: consumers apply every delivery, duplicates included")
		w.line(0, "#     env: {\"*\": {DEDUP: \"off\"}}          # \"*\" is every service")
		w.line(0, "#     image: {%s: %s}", s, str(imageTag(ex[0].image, "unsafe")))
		w.line(0, "#     command: {%s: [\"./run\", \"--no-dedup\"]}", s)
	}
	return []byte(w.b.String())
}

// imageTag is image with another tag, for an example.
func imageTag(image, tag string) string {
	name := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name = image[:i]
	}
	return name + ":" + tag
}

func (d *described) writeService(w *writer, o *outService) {
	w.line(2, "- name: %s", str(o.name))
	for _, n := range o.notes {
		w.comment(4, n)
	}
	w.line(4, "image: %s", str(o.image))
	switch {
	case o.build != nil:
		w.line(4, "build:")
		w.line(6, "context: %s", str(o.build.context))
		if o.build.dockerfile != "Dockerfile" {
			w.line(6, "dockerfile: %s", str(o.build.dockerfile))
		}
		if len(o.build.args) > 0 {
			w.line(6, "args:")
			for _, k := range slices.Sorted(mapKeys(o.build.args)) {
				w.line(8, "%s: %s", str(k), strconv.Quote(o.build.args[k]))
			}
		}
		w.comment(6, "optional: run: a command to run before docker build; sources: [globs] to skip an unchanged build")
	case o.builtBy != "":
		w.comment(4, "built by "+o.builtBy+"'s build")
	}
	if len(o.command) > 0 {
		w.line(4, "command: %s", list(o.command))
	}
	if o.port != 0 {
		w.line(4, "port: %d", o.port)
	}
	if o.ready != "" {
		w.line(4, "ready: %s   # %s", o.ready, o.readyWhy)
	}
	if o.replicas > 1 {
		w.line(4, "replicas: %d", o.replicas)
	}
	if len(o.ulimits) > 0 {
		var ls []string
		for _, name := range slices.Sorted(maps.Keys(o.ulimits)) {
			ls = append(ls, fmt.Sprintf("%s: %d", name, o.ulimits[name]))
		}
		w.line(4, "ulimits: {%s}", strings.Join(ls, ", "))
	}
	if len(o.env) > 0 {
		w.line(4, "env:")
		for _, e := range o.env {
			was := ""
			if e.was != "" {
				was = "   # was " + e.was
			}
			w.line(6, "%s: %s%s", str(e.key), strconv.Quote(e.val), was)
		}
	}
	for _, t := range o.todos {
		w.comment(4, "TODO("+strings.SplitN(t, ":", 2)[0]+"): "+strings.TrimSpace(strings.SplitN(t, ":", 2)[1]))
	}
	w.comment(4, "TODO(consumes): the queues "+o.name+" consumes, if any, and their dead-letter queues:")
	w.line(4, "# consumes:")
	w.line(4, "#   - {queue: orders, dead_letter: orders.dlq}")
}

// own is the services the team builds, or, if it builds none, every
// service: the examples in the TODOs name one of them.
func (d *described) own() []*outService {
	var out []*outService
	for _, o := range d.services {
		if o.build != nil || o.builtBy != "" {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return d.services
	}
	return out
}

// andList is "a", "a and b", "a, b and c".
func andList(ss []string) string {
	if len(ss) < 2 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " and " + ss[len(ss)-1]
}
