package rabbit

import (
	"hash/fnv"
	"net/url"
)

// endpoints are the URLs of a broker's nodes (one for a single node) and
// the one to dial next. A session that ends or fails to start on one
// node sends the next dial to the node after it, round-robin, so a
// client whose node died reaches a live one at its next attempt, and
// one that was refused by every node goes round them all with its
// backoff between attempts. Not safe for concurrent use: Run alone
// holds it.
type endpoints struct {
	urls []string
	next int
}

// newEndpoints starts at the URL that name (the connection's, e.g.
// "inventory-service@inventory-1") hashes to: a system's clients spread
// over the nodes instead of all opening on the first (and, RabbitMQ
// placing a queue's leader on the node of the client that declares it,
// so do their queues), and a replica opens on the same node every time,
// so a run can be repeated.
func newEndpoints(urls []string, name string) *endpoints {
	h := fnv.New32a()
	h.Write([]byte(name))
	return &endpoints{urls: urls, next: int(h.Sum32() % uint32(len(urls)))}
}

// current is the URL to dial now and its position.
func (e *endpoints) current() (int, string) { return e.next, e.urls[e.next] }

// failed says that the session on urls[i] ended or never began: the
// next dial goes to the URL after it, the first after the last.
func (e *endpoints) failed(i int) { e.next = (i + 1) % len(e.urls) }

// hostOf is u's host and port for logs and errors, without its user and
// password (which an unparsable u might show, so it is not repeated).
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(unparsable URL)"
	}
	return p.Host
}
