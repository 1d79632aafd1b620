// Package effect reads what a system's services did, as declared in its
// description: an HTTP endpoint returning JSON, the services' log lines,
// or a SQL query. Each source gives one id per time an effect was applied,
// so an id listed twice was applied twice.
package effect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Observed is what one source showed at one moment.
type Observed struct {
	IDs []string // one per effect
	// Steps, of an effect with an order, is the step each of IDs
	// applied (Steps[i] is IDs[i]'s), listed in the order applied;
	// items of steps the order does not name are left out.
	Steps    []string
	Replicas map[string]int // effects by replica, where the source tells
	// At is when each id's effect was first applied, where the source
	// tells (an HTTP effect with At); nil otherwise.
	At map[string]time.Time
	// Began and Ended are when the read began and ended (set by Read).
	Began, Ended time.Time
}

// Name is how an effect is called in verdicts: "inventory: stock reserved".
func Name(e system.Effect) string {
	if e.What == "" {
		return e.Service
	}
	return e.Service + ": " + e.What
}

// Read reads one effect's source on s.
func Read(ctx context.Context, s *stack.Stack, e system.Effect) (Observed, error) {
	var (
		o     Observed
		err   error
		began = time.Now()
	)
	switch {
	case e.HTTP != nil:
		o, err = readHTTP(ctx, s, e.HTTP, e.Order)
	case e.Log != nil:
		o, err = readLogs(ctx, s, e.Log)
	case e.SQL != nil:
		o, err = readSQL(ctx, s, e.SQL, e.Order)
	default:
		err = fmt.Errorf("no source")
	}
	if err != nil {
		return o, fmt.Errorf("read effect %q: %w", Name(e), err)
	}
	o.Began, o.Ended = began, time.Now()
	return o, nil
}

// ReadAll reads every effect, keyed by Name.
func ReadAll(ctx context.Context, s *stack.Stack, effects []system.Effect) (map[string]Observed, error) {
	out := make(map[string]Observed, len(effects))
	for _, e := range effects {
		o, err := Read(ctx, s, e)
		if err != nil {
			return nil, err
		}
		out[Name(e)] = o
	}
	return out, nil
}

// RecordReads records in h, as its final reads (history.KindRead), what
// obs shows of each effect that applies to one of the inputs named kinds
// at least: the ids, and how the effect is judged (against which of those
// inputs; at-least-once or not). An effect limited to other inputs is not
// recorded, and so not judged. checker.Judge then judges h.
func RecordReads(h *history.History, kinds []string, effects []system.Effect, obs map[string]Observed) {
	for _, e := range effects {
		var ks []string
		for _, k := range kinds {
			if len(e.Inputs) == 0 || slices.Contains(e.Inputs, k) {
				ks = append(ks, k)
			}
		}
		if len(ks) == 0 {
			continue
		}
		o := obs[Name(e)]
		began, ended := o.Began, o.Ended
		if began.IsZero() {
			began = time.Now()
			ended = began
		}
		h.ReadSteps(Name(e), o.IDs, o.Steps, history.Judged{Inputs: ks, AtLeastOnce: e.AllowsDuplicates(), Order: e.Order}, began, ended)
	}
}

// readHTTP reads src from one running replica of its service, or, with
// src.Replicas ReplicasEach, from every running one.
func readHTTP(ctx context.Context, s *stack.Stack, src *system.HTTPEffect, order []string) (Observed, error) {
	if src.Replicas != system.ReplicasEach {
		var body any
		if err := probe.GetJSON(ctx, s.URL(src.Service), src.Path, &body); err != nil {
			return Observed{}, err
		}
		return FromJSONInOrder(body, src, order)
	}
	var rs []replica
	for _, r := range s.Replicas(src.Service) {
		rs = append(rs, replica{name: r.Name, url: r.URL})
	}
	return readEach(ctx, rs, src)
}

// replica is one replica of an effect's service: its name and where it
// answers.
type replica struct {
	name string
	url  probe.BaseURL
}

// readEach reads src from every replica in rs that runs and puts what
// they show together: their ids, the earliest time of each, and how many
// each applied (by src.Replica if set, otherwise by the replica's name).
// A replica whose address cannot be looked up is not running, stopped on
// purpose, and skipped, as Stack.URL skips it; one that runs and cannot
// be read is an error naming it, since leaving out its work would show
// that work as lost. With none running, it is an error.
func readEach(ctx context.Context, rs []replica, src *system.HTTPEffect) (Observed, error) {
	o := Observed{Replicas: map[string]int{}}
	var notRunning []error
	for _, r := range rs {
		u, err := r.url(ctx)
		if err != nil {
			notRunning = append(notRunning, err)
			continue
		}
		var body any
		if err := probe.GetJSON(ctx, probe.At(u), src.Path, &body); err != nil {
			return Observed{}, fmt.Errorf("%s: %w", r.name, err)
		}
		ro, err := FromJSON(body, src)
		if err != nil {
			return Observed{}, fmt.Errorf("%s: %w", r.name, err)
		}
		o.IDs = append(o.IDs, ro.IDs...)
		o.Steps = append(o.Steps, ro.Steps...)
		if src.Replica != "" {
			for name, n := range ro.Replicas {
				o.Replicas[name] += n
			}
		} else if len(ro.IDs) > 0 {
			o.Replicas[r.name] += len(ro.IDs)
		}
		for id, at := range ro.At {
			if o.At == nil {
				o.At = map[string]time.Time{}
			}
			if first, ok := o.At[id]; !ok || at.Before(first) {
				o.At[id] = at
			}
		}
	}
	if len(notRunning) == len(rs) {
		err := fmt.Errorf("no running %s replica", src.Service)
		if len(notRunning) > 0 {
			err = fmt.Errorf("%w: %w", err, errors.Join(notRunning...))
		}
		return Observed{}, err
	}
	return o, nil
}

// FromJSON picks the effects out of a decoded JSON body: one per item of
// the list at src.Items, its id at src.ID, or, with src.ID unset, the
// item itself (a string or a number).
func FromJSON(body any, src *system.HTTPEffect) (Observed, error) {
	return FromJSONInOrder(body, src, nil)
}

// FromJSONInOrder is FromJSON for an effect with an order: each item's
// step, at src.Step, goes to Steps, and items whose step order does not
// name are left out. With no order it is FromJSON.
func FromJSONInOrder(body any, src *system.HTTPEffect, order []string) (Observed, error) {
	o := Observed{Replicas: map[string]int{}}
	items, ok := system.Lookup(body, src.Items)
	if !ok {
		return o, fmt.Errorf("%s: no %q in the body", src.Path, src.Items)
	}
	list, ok := items.([]any)
	if !ok {
		if items == nil {
			return o, nil // an empty list serialised as null
		}
		return o, fmt.Errorf("%s: %q is not a list", src.Path, src.Items)
	}
	if src.ID == "" {
		for i, it := range list {
			switch it.(type) {
			case string, float64:
			default:
				return o, fmt.Errorf("%s: item %d is %s, not an id: set id to the field that holds it", src.Path, i, kind(it))
			}
			if scalar(it) == "" {
				return o, fmt.Errorf("%s: item %d is an empty id", src.Path, i)
			}
			o.IDs = append(o.IDs, scalar(it))
		}
		return o, nil
	}
item:
	for i, it := range list {
		for k, want := range src.Where {
			v, _ := system.Lookup(it, k)
			if scalar(v) != want {
				continue item
			}
		}
		if _, ok := it.(map[string]any); !ok {
			return o, fmt.Errorf("%s: item %d is %s, not an object: for a list of ids, leave id unset", src.Path, i, kind(it))
		}
		if len(order) > 0 {
			st, _ := system.Lookup(it, src.Step)
			if !slices.Contains(order, scalar(st)) {
				continue
			}
			o.Steps = append(o.Steps, scalar(st))
		}
		id, ok := system.Lookup(it, src.ID)
		if !ok || scalar(id) == "" {
			return o, fmt.Errorf("%s: item %d has no %q", src.Path, i, src.ID)
		}
		o.IDs = append(o.IDs, scalar(id))
		if src.At != "" {
			v, _ := system.Lookup(it, src.At)
			at, err := time.Parse(time.RFC3339Nano, scalar(v))
			if err != nil {
				return o, fmt.Errorf("%s: item %d: %q is not an RFC 3339 time: %w", src.Path, i, src.At, err)
			}
			if o.At == nil {
				o.At = map[string]time.Time{}
			}
			if first, ok := o.At[scalar(id)]; !ok || at.Before(first) {
				o.At[scalar(id)] = at
			}
		}
		if src.Replica != "" {
			r, _ := system.Lookup(it, src.Replica)
			o.Replicas[scalar(r)]++
		}
	}
	return o, nil
}

// kind names a decoded JSON value's type for an error.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	default:
		return "a number"
	}
}

func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		// 12345678901, not 1.2345678901e+10: a numeric id as it was sent.
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func readLogs(ctx context.Context, s *stack.Stack, src *system.LogEffect) (Observed, error) {
	re, err := regexp.Compile(src.Pattern)
	if err != nil {
		return Observed{}, err
	}
	o := Observed{Replicas: map[string]int{}}
	for _, r := range s.Replicas(src.Service) {
		b, err := r.Logs(ctx)
		if err != nil {
			return o, err
		}
		ids := FromLog(b, re)
		o.IDs = append(o.IDs, ids...)
		if len(ids) > 0 {
			o.Replicas[r.Name] += len(ids)
		}
	}
	return o, nil
}

// FromLog returns the first group of every line re matches.
func FromLog(log []byte, re *regexp.Regexp) []string {
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := re.FindSubmatch(sc.Bytes()); m != nil {
			ids = append(ids, string(m[1]))
		}
	}
	return ids
}

// readSQL runs src's query: the id first in each row and, for an effect
// with an order, its step second; rows of steps order does not name are
// left out.
func readSQL(ctx context.Context, s *stack.Stack, src *system.SQLEffect, order []string) (Observed, error) {
	u, err := s.DatabaseURL(ctx)
	if err != nil {
		return Observed{}, err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return Observed{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, src.Query)
	if err != nil {
		return Observed{}, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	o := Observed{Replicas: map[string]int{}}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return o, fmt.Errorf("query: %w", err)
		}
		if len(order) > 0 {
			if len(vals) < 2 {
				return o, fmt.Errorf("query: %d column: want the id, then the step", len(vals))
			}
			if !slices.Contains(order, scalar(vals[1])) {
				continue
			}
			o.Steps = append(o.Steps, scalar(vals[1]))
		}
		o.IDs = append(o.IDs, scalar(vals[0]))
	}
	return o, rows.Err()
}
