package rabbit

import (
	"bytes"

	amqp "github.com/rabbitmq/amqp091-go"
)

// maxUnclaimed bounds the returns kept that no publish claimed (their
// publisher gave up waiting, or published without confirms).
const maxUnclaimed = 4096

// returns collects the basic.return of one publishing channel and matches
// them to publishes.
//
// The broker sends a returned mandatory message's basic.return before
// the basic.ack that confirms it, and amqp091-go's reader hands the
// return to the notify channel before it settles the confirm. So once a
// publish is seen acked, its return, if any, is in the notify channel or
// already collected; take drains the channel before it matches.
//
// A return carries no delivery tag: it is matched on exchange, routing
// key, message id and body. Two identical messages published at once are
// routed alike, so which of them takes which return does not matter.
type returns struct {
	in    <-chan amqp.Return
	query chan returnQuery
	done  chan struct{} // closed when in is, with the channel
}

type returnQuery struct {
	msgs  []Message
	idx   []int
	reply chan map[int]amqp.Return
}

// watchReturns collects what arrives on in (a buffered NotifyReturn
// channel), calling counted for each, until in closes.
func watchReturns(in <-chan amqp.Return, counted func(amqp.Return)) *returns {
	r := &returns{in: in, query: make(chan returnQuery), done: make(chan struct{})}
	go r.run(counted)
	return r
}

func (r *returns) run(counted func(amqp.Return)) {
	defer close(r.done)
	var got []amqp.Return
	add := func(ret amqp.Return) {
		counted(ret)
		if len(got) == maxUnclaimed {
			got = got[1:]
		}
		got = append(got, ret)
	}
	for {
		select {
		case ret, ok := <-r.in:
			if !ok {
				return
			}
			add(ret)
		case q := <-r.query:
		drain:
			for {
				select {
				case ret, ok := <-r.in:
					if !ok {
						break drain
					}
					add(ret)
				default:
					break drain
				}
			}
			matched := map[int]amqp.Return{}
			for _, i := range q.idx {
				m := q.msgs[i]
				for j, ret := range got {
					if ret.Exchange == m.Exchange && ret.RoutingKey == m.RoutingKey &&
						ret.MessageId == m.Publishing.MessageId && bytes.Equal(ret.Body, m.Publishing.Body) {
						matched[i] = ret
						got = append(got[:j], got[j+1:]...)
						break
					}
				}
			}
			q.reply <- matched
		}
	}
}

// take returns, by index, the messages of msgs[idx] that were returned,
// and forgets those returns. Call it only after their confirms arrived.
func (r *returns) take(msgs []Message, idx []int) map[int]amqp.Return {
	q := returnQuery{msgs: msgs, idx: idx, reply: make(chan map[int]amqp.Return, 1)}
	select {
	case r.query <- q:
		return <-q.reply
	case <-r.done:
		return nil
	}
}
