package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Binding is a binding of the vhost from an exchange to a queue.
type Binding struct {
	Source          string         `json:"source"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"` // "queue" or "exchange"
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
	PropertiesKey   string         `json:"properties_key"` // names the binding in the API
}

// Same is whether b and o are one binding: the same source, destination
// and properties key.
func (b Binding) Same(o Binding) bool {
	return b.Source == o.Source && b.Destination == o.Destination && b.DestinationType == o.DestinationType && b.PropertiesKey == o.PropertiesKey
}

// Bindings lists the bindings of the vhost to queue, but those of the
// default exchange (implicit, and not removable).
func (m *Management) Bindings(ctx context.Context, queue string) ([]Binding, error) {
	var all []Binding
	if _, err := m.do(ctx, http.MethodGet, "/api/queues/"+m.vhost()+"/"+url.PathEscape(queue)+"/bindings", nil, &all); err != nil {
		return nil, fmt.Errorf("list bindings of %s: %w", queue, err)
	}
	var out []Binding
	for _, b := range all {
		if b.Source != "" {
			out = append(out, b)
		}
	}
	return out, nil
}

// Unbind removes binding b. One already gone is fine.
func (m *Management) Unbind(ctx context.Context, b Binding) error {
	path := "/api/bindings/" + m.vhost() + "/e/" + url.PathEscape(b.Source) + "/q/" + url.PathEscape(b.Destination) + "/" + url.PathEscape(b.PropertiesKey)
	status, err := m.do(ctx, http.MethodDelete, path, nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unbind %s from %s (%s): %w", b.Destination, b.Source, b.RoutingKey, err)
	}
	return nil
}

// Bind creates binding b (its source, destination queue, routing key and
// arguments); binding again what exists is fine.
func (m *Management) Bind(ctx context.Context, b Binding) error {
	path := "/api/bindings/" + m.vhost() + "/e/" + url.PathEscape(b.Source) + "/q/" + url.PathEscape(b.Destination)
	body := map[string]any{"routing_key": b.RoutingKey, "arguments": b.Arguments}
	if _, err := m.do(ctx, http.MethodPost, path, body, nil); err != nil {
		return fmt.Errorf("bind %s to %s (%s): %w", b.Destination, b.Source, b.RoutingKey, err)
	}
	return nil
}
