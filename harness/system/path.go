package system

import "strings"

// Lookup follows a dotted path ("items", "order.id") through a decoded
// JSON value, as the description's paths are written; "" is v itself.
// It reports false where a step is missing or not an object.
func Lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
