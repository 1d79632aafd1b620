package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeOrderPlacedDelivery is DecodeDelivery(…, TypeOrderPlaced) followed
// by DecodeOrderPlaced, in one pass over the body: the same rules, the same
// values, a refusal for the same messages (FuzzDecodeDelivery holds the two
// to it). It is what a consumer of OrderPlaced calls. Every error wraps
// ErrInvalid.
func DecodeOrderPlacedDelivery(contentType, contentEncoding string, body []byte) (Envelope, OrderPlaced, error) {
	var o OrderPlaced
	env, err := decodeEvent(contentType, contentEncoding, body, []eventField{
		{name: "order_id", str: &o.OrderID}, {name: "item", str: &o.Item}, {name: "quantity", num: &o.Quantity},
	}, TypeOrderPlaced)
	if err == nil {
		if err = ValidateOrder(o.OrderID, o.Item, o.Quantity); err != nil {
			err = fmt.Errorf("%s data: %w", env.Type, err)
		}
	}
	return env, o, err
}

// DecodeInventoryResultDelivery is DecodeDelivery(…, TypeInventoryReserved,
// TypeInventoryFailed) followed by DecodeInventoryResult, in one pass over
// the body. Every error wraps ErrInvalid.
func DecodeInventoryResultDelivery(contentType, contentEncoding string, body []byte) (Envelope, InventoryResult, error) {
	var r InventoryResult
	env, err := decodeEvent(contentType, contentEncoding, body, []eventField{
		{name: "order_id", str: &r.OrderID}, {name: "item", str: &r.Item}, {name: "quantity", num: &r.Quantity}, {name: "reason", str: &r.Reason},
	}, TypeInventoryReserved, TypeInventoryFailed)
	if err == nil {
		err = ValidateOrder(r.OrderID, r.Item, r.Quantity)
		if err == nil && r.Reason != "" {
			err = CheckText("reason", r.Reason, MaxReasonLength)
		}
		if err != nil {
			err = fmt.Errorf("%s data: %w", env.Type, err)
		}
	}
	return env, r, err
}

// eventField is a field of an event's data and where its value goes: a
// string (str) or an integer (num).
type eventField struct {
	name string
	str  *string
	num  *int
}

// decodeEvent applies CheckMedia and the rules of Decode to the envelope
// and to its data (whose fields are data) in one walk of body, then the
// envelope's checks of DecodeEnvelope. Refusals come in the order the two
// passes gave them: the body's syntax, duplicate keys, depth and the
// envelope's own fields first, then missing fields, the event id, the type,
// and last the data's unknown fields and types.
func decodeEvent(contentType, contentEncoding string, body []byte, data []eventField, accept ...string) (Envelope, error) {
	var env Envelope
	if err := CheckMedia(contentType, contentEncoding); err != nil {
		return env, err
	}
	if len(body) > MaxMessageBytes {
		return env, invalid("body of %d bytes exceeds %d", len(body), MaxMessageBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return env, invalid("invalid JSON: body is empty")
	}
	if err := checkBOM(body); err != nil {
		return env, err
	}
	if !utf8.Valid(body) {
		return env, invalid("body is not valid UTF-8 (at byte %d)", invalidUTF8At(body))
	}
	s := &scanner{b: body, data: data}
	if err := s.event(&env); err != nil {
		return env, err
	}
	if err := validEnvelope(env, accept); err != nil {
		return env, err
	}
	if s.dataErr != "" {
		return env, invalid("%s data: %s", env.Type, s.dataErr)
	}
	return env, nil
}

// scanner walks one JSON text. It checks what checkKeys checks (syntax,
// depth, duplicate keys by case folding, unknown keys of the envelope and
// of its data) and decodes as encoding/json would into the envelope and
// the data's fields. The data's unknown fields and type errors are kept in
// dataErr (the first of them) and the walk goes on, so that the
// envelope's refusals come first, as they did when the data was decoded
// after the envelope.
type scanner struct {
	b       []byte
	i       int
	data    []eventField
	dataErr string
}

// syntaxErr is a refusal of the body's syntax, worded as encoding/json's.
func (s *scanner) syntaxErr(what string) error {
	if s.i >= len(s.b) {
		return invalid("invalid JSON: unexpected end of body")
	}
	return invalid("invalid JSON: invalid character %s %s", quoteChar(s.b[s.i]), what)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x80:
		return strconv.Quote(string(rune(c)))
	}
	return "'" + string(c) + "'"
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// event walks the body: one object, the envelope, and nothing after it.
func (s *scanner) event(env *Envelope) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if s.i < len(s.b) && !strings.ContainsRune(`[{"-0123456789tfn`, rune(s.b[s.i])) {
			return s.syntaxErr("looking for beginning of value")
		}
		return invalid("invalid JSON: body must be an object")
	}
	err := s.object("", func(key string) error {
		switch key {
		case "event_id":
			return s.envString(key, &env.EventID)
		case "type":
			return s.envString(key, &env.Type)
		case "occurred_at":
			start := s.i
			if err := s.value(1, key); err != nil {
				return err
			}
			if err := env.OccurredAt.UnmarshalJSON(s.b[start:s.i]); err != nil {
				return invalid("invalid JSON: %v", err)
			}
			return nil
		case "data":
			return s.dataValue(env)
		}
		return invalid("unknown field %q", key)
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.b) {
		return invalid("invalid JSON: body must hold a single object")
	}
	return nil
}

// envString decodes a string field of the envelope (null leaves it as is).
func (s *scanner) envString(key string, dst *string) error {
	start := s.i
	if err := s.value(1, key); err != nil {
		return err
	}
	v, kind := s.stringAt(start)
	switch kind {
	case "string":
		*dst = v
	case "null":
	default:
		return invalid("field %q must be a string, got %s", key, kind)
	}
	return nil
}

// dataValue walks the envelope's data: an object whose keys are the
// data's fields, or anything else, which the data's decoder refuses.
func (s *scanner) dataValue(env *Envelope) error {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '{' {
		err := s.object("data", func(key string) error {
			for _, f := range s.data {
				if f.name == key {
					return s.dataField(f)
				}
			}
			s.setDataErr(fmt.Sprintf("unknown field %q", key))
			return s.value(2, "data."+key)
		})
		if err != nil {
			return err
		}
	} else if err := s.value(1, "data"); err != nil {
		return err
	} else if string(s.b[start:s.i]) != "null" {
		s.setDataErr("invalid JSON: body must be an object")
	}
	env.Data = json.RawMessage(s.b[start:s.i])
	return nil
}

func (s *scanner) setDataErr(reason string) {
	if s.dataErr == "" {
		s.dataErr = reason
	}
}

// dataField decodes one field of the data as encoding/json would:
// null leaves it as is, a value of another type is a type error.
func (s *scanner) dataField(f eventField) error {
	start := s.i
	if err := s.value(2, "data."+f.name); err != nil {
		return err
	}
	raw := s.b[start:s.i]
	v, kind := s.stringAt(start)
	switch {
	case kind == "null":
	case f.str != nil && kind == "string":
		*f.str = v
	case f.str != nil:
		s.setDataErr(fmt.Sprintf("field %q must be a string, got %s", f.name, kind))
	case kind == "number":
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			s.setDataErr(fmt.Sprintf("field %q must be an integer, got number %s", f.name, raw))
			break
		}
		*f.num = int(n)
	default:
		s.setDataErr(fmt.Sprintf("field %q must be an integer, got %s", f.name, kind))
	}
	return nil
}

// stringAt reads the value that starts at start (already walked): its
// kind as encoding/json names it in a type error, and its text if it is
// a string.
func (s *scanner) stringAt(start int) (string, string) {
	raw := s.b[start:s.i]
	switch raw[0] {
	case '"':
		inner := raw[1 : len(raw)-1]
		if !strings.ContainsRune(string(inner), '\\') {
			return string(inner), "string"
		}
		var v string
		_ = json.Unmarshal(raw, &v) // walked already: a valid string literal
		return v, "string"
	case '{':
		return "", "object"
	case '[':
		return "", "array"
	case 't', 'f':
		return "", "bool"
	case 'n':
		return "", "null"
	}
	return "", "number"
}

// object walks an object at path (dotted keys, "" for the body's own),
// checking its keys for duplicates, and hands each key to field, which
// walks its value.
func (s *scanner) object(path string, field func(key string) error) error {
	s.i++             // '{'
	var keys []string // folded, as written
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.syntaxErr("looking for beginning of object key string")
		}
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		key, _ := s.stringAt(start)
		folded := foldASCII(key)
		for j := 0; j < len(keys); j += 2 {
			if keys[j] == folded {
				in := ""
				if path != "" {
					in = " in " + path
				}
				if prev := keys[j+1]; prev != key {
					return invalid("duplicate key %q%s: it names the same field as %q", key, in, prev)
				}
				return invalid("duplicate key %q%s", key, in)
			}
		}
		keys = append(keys, folded, key)
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.syntaxErr("after object key")
		}
		s.i++
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.syntaxErr("")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.syntaxErr("after object key:value pair")
		}
	}
}

// value walks any value at depth (the container it is in): nested
// objects and arrays count toward MaxDepth and their keys are checked.
func (s *scanner) value(depth int, path string) error {
	if s.i >= len(s.b) {
		return s.syntaxErr("")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		if depth >= MaxDepth {
			return invalid("invalid JSON: nested deeper than %d", MaxDepth)
		}
		return s.object(path, func(key string) error {
			return s.value(depth+1, strings.TrimPrefix(path+"."+key, "."))
		})
	case c == '[':
		if depth >= MaxDepth {
			return invalid("invalid JSON: nested deeper than %d", MaxDepth)
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth+1, path); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.syntaxErr("")
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.syntaxErr("after array element")
			}
		}
	case c == '"':
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.syntaxErr("looking for beginning of value")
}

func (s *scanner) literal(lit string) error {
	for j := range len(lit) {
		if s.i >= len(s.b) || s.b[s.i] != lit[j] {
			return s.syntaxErr("in literal " + lit + " (expecting " + quoteChar(lit[j]) + ")")
		}
		s.i++
	}
	return nil
}

// str walks a string literal: no raw control character, valid escapes.
func (s *scanner) str() error {
	s.i++ // '"'
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.syntaxErr("in string literal")
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return s.syntaxErr("")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.b) {
						return s.syntaxErr("")
					}
					if !isHex(s.b[s.i]) {
						return s.syntaxErr("in \\u hexadecimal character escape")
					}
					s.i++
				}
			default:
				return s.syntaxErr("in string escape code")
			}
		default:
			s.i++
		}
	}
	return s.syntaxErr("")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number walks a number literal: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		return s.syntaxErr("in numeric literal")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.syntaxErr("after decimal point in numeric literal")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.syntaxErr("in exponent of numeric literal")
		}
	}
	return nil
}

// foldASCII is foldKey with a fast path for ASCII keys, whose folded form
// is their upper case (the smallest rune of each ASCII letter's orbit).
func foldASCII(k string) string {
	for j := 0; j < len(k); j++ {
		if k[j] >= utf8.RuneSelf {
			return foldKey(k)
		}
	}
	for j := 0; j < len(k); j++ {
		if c := k[j]; c >= 'a' && c <= 'z' {
			return strings.ToUpper(k)
		}
	}
	return k
}
