package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The rules below are the one validation every way into the services
// applies, HTTP (POST /orders, POST /inventory, path and query parameters)
// and AMQP (every event consumer) alike. A refusal is an error wrapping
// ErrInvalid whose Reason says what was wrong: HTTP answers it with a 4xx
// and {"error": reason}, a consumer dead-letters the message with the
// reason in its x-mqchaos-reason header.
//
//   - Media: a content type, if given, is application/json (or a
//     +json type) with no charset but utf-8; a content encoding, if given,
//     is identity. Anything else is a *MediaError (HTTP 415).
//   - Encoding: the body is valid UTF-8; invalid bytes are refused, never
//     replaced. A byte order mark before the JSON is refused by name.
//   - Syntax: the body is one JSON object, nested at most MaxDepth deep,
//     with nothing after it.
//   - Keys: no object holds a key twice, where keys that differ only in
//     case count as the same (encoding/json matches them to one field);
//     every key of the body names a field of the target exactly.
//   - Types: each field has its type; integers are integer literals.
//   - Text (CheckText): ids, items and other strings are present, not
//     blank (whitespace only), at most MaxIDLength bytes, and hold no
//     control character (U+0000 to U+001F, U+007F to U+009F) and no
//     U+FFFD, the mark a decoder leaves where it replaced an invalid byte
//     or a lone surrogate escape such as \ud800.
//   - Quantities are integers from 1 (0 for a stock level) to MaxQuantity.

// bom is the UTF-8 byte order mark, which RFC 8259 forbids before JSON
// text and some editors and Windows tools still write.
var bom = []byte{0xEF, 0xBB, 0xBF}

// MaxDepth bounds the nesting of objects and arrays in a body.
const MaxDepth = 32

// MaxQuantity is the largest quantity or stock level: the database
// stores them as 32-bit integers.
const MaxQuantity = 1<<31 - 1

// MediaError is a content type or content encoding the services do not
// accept. It is always wrapped together with ErrInvalid.
type MediaError struct{ Reason string }

func (e *MediaError) Error() string { return e.Reason }

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalid, &MediaError{Reason: fmt.Sprintf(format, args...)})
}

// Reason is err's text without the "invalid message: " prefix: what to
// tell the sender.
func Reason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}

// CheckMedia accepts an absent content type or a JSON one (application/json
// or application/*+json) whose charset, if given, is utf-8, and an absent or
// identity content encoding. Its error is a *MediaError wrapped with
// ErrInvalid.
func CheckMedia(contentType, contentEncoding string) error {
	if enc := strings.TrimSpace(contentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return unsupported("content-encoding %q is not supported: send the body unencoded", contentEncoding)
	}
	if strings.TrimSpace(contentType) == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return unsupported("content-type %q is not a media type: want application/json", contentType)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return unsupported("content-type %q is not JSON: want application/json", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return unsupported("charset %q is not supported: want utf-8", cs)
	}
	return nil
}

// Decode decodes body, one JSON object, into dst (a pointer to a struct)
// under the rules above, short of the text rules, which belong to each
// field. Every error wraps ErrInvalid.
func Decode(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("invalid JSON: body is empty")
	}
	if err := checkBOM(body); err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return invalid("body is not valid UTF-8 (at byte %d)", invalidUTF8At(body))
	}
	if err := checkKeys(body, fieldNames(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return invalid("field %q must be %s, got %s", typeErr.Field, kind(typeErr.Type), typeErr.Value)
		}
		return invalid("invalid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// checkBOM refuses a body whose JSON begins with a byte order mark, by
// name: encoding/json would call it an invalid character 'ï'.
func checkBOM(body []byte) error {
	if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), bom) {
		return invalid("body starts with a UTF-8 byte order mark (EF BB BF): JSON must not begin with one, send the body without it")
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 time"
		}
		return "an object"
	default:
		return "a " + t.Kind().String()
	}
}

// frame is an object or array being walked by checkKeys.
type frame struct {
	object  bool
	keyNext bool              // in an object: the next token is a key
	keys    map[string]string // folded key -> key as written
	path    string
}

// checkKeys walks body's tokens: one object, at most MaxDepth deep, with
// no key twice in any object (case-insensitively, as encoding/json
// matches fields) and, when fields is not nil, every top-level key one of
// fields exactly; nothing after it.
func checkKeys(body []byte, fields map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalid("invalid JSON: body must be an object")
	}
	stack := []*frame{{object: true, keyNext: true, keys: map[string]string{}}}
	key := ""
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		top := stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top.object && top.keyNext {
			key = tok.(string) // the decoder only yields string keys
			folded := foldKey(key)
			if prev, dup := top.keys[folded]; dup {
				if prev == key {
					return invalid("duplicate key %q%s", key, top.path)
				}
				return invalid("duplicate key %q%s: it names the same field as %q", key, top.path, prev)
			}
			if len(stack) == 1 && fields != nil && !fields[key] {
				return invalid("unknown field %q", key)
			}
			top.keys[folded] = key
			top.keyNext = false
			continue
		}
		if top.object {
			top.keyNext = true
		}
		if d, ok := tok.(json.Delim); ok { // '{' or '['
			if len(stack) >= MaxDepth {
				return invalid("invalid JSON: nested deeper than %d", MaxDepth)
			}
			path := top.path
			if top.object {
				path = strings.TrimPrefix(path, " in ")
				if path != "" {
					path += "."
				}
				path = " in " + path + key
			}
			stack = append(stack, &frame{object: d == '{', keyNext: true, keys: map[string]string{}, path: path})
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("invalid JSON: body must hold a single object")
	}
	return nil
}

func syntax(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid("invalid JSON: unexpected end of body")
	}
	return invalid("invalid JSON: %v", err)
}

// foldKey maps every rune of k to the smallest rune of its case-folding
// orbit, so that foldKey(a) == foldKey(b) exactly when encoding/json would
// match a and b to the same field (strings.EqualFold).
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

var fieldCache sync.Map // reflect.Type -> map[string]bool

// fieldNames is the set of JSON names of the struct dst points to, or nil
// when dst is not a pointer to a struct.
func fieldNames(dst any) map[string]bool {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	fieldCache.Store(t, names)
	return names
}

// CheckText checks one string field: present, valid UTF-8, at most max
// bytes, no control character, no U+FFFD, not blank. Its error wraps
// ErrInvalid and names the field.
func CheckText(field, s string, max int) error {
	if s == "" {
		return invalid("%s is missing", field)
	}
	if reason := textProblem(s, max); reason != "" {
		return invalid("%s %s", field, reason)
	}
	return nil
}

func textProblem(s string, max int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if len(s) > max {
		return fmt.Sprintf("is longer than %d", max)
	}
	for i, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("holds the control character %U at byte %d", r, i)
		case r == utf8.RuneError:
			return fmt.Sprintf("holds U+FFFD at byte %d: an invalid character was replaced before it was sent", i)
		}
	}
	if strings.TrimSpace(s) == "" {
		return "is blank"
	}
	return ""
}
