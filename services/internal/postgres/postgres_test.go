package postgres

import (
	"strings"
	"testing"
)

func TestCheckEncodingRefusesAllButUTF8(t *testing.T) {
	if err := CheckEncoding("UTF8"); err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"SQL_ASCII", "LATIN1", ""} {
		if err := CheckEncoding(enc); err == nil || !strings.Contains(err.Error(), "want UTF8") {
			t.Errorf("%q: %v", enc, err)
		}
	}
}
