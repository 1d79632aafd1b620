package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// WriteJSONL writes h's operations to w as JSON Lines, one Op per line in
// invocation order, then its samples, one per line: enough to judge the
// run again offline or to draw its report. It takes a snapshot, so it is safe while operations are still
// being recorded (those recorded later are not written).
func (h *History) WriteJSONL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends every value with a newline
	for i, op := range h.Ops() {
		if err := enc.Encode(op); err != nil {
			return fmt.Errorf("write op %d: %w", i, err)
		}
	}
	for i, s := range h.Samples() {
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("write sample %d: %w", i, err)
		}
	}
	return bw.Flush()
}

// ReadFile reads the history file at path, written by WriteJSONL.
func ReadFile(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// ReadJSONL reads a history written by WriteJSONL. Blank lines are
// skipped; a line that is neither an Op nor a Sample is an error naming
// its line number. A line may be of any length: a final read of a
// large run's effect lists every id it showed.
func ReadJSONL(r io.Reader) (*History, error) {
	h := &History{}
	br := bufio.NewReaderSize(r, 64*1024)
	var long []byte // a line longer than br's buffer, put together
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read history: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if err := h.readLine(line); err != nil {
				return nil, fmt.Errorf("read history line %d: %w", n, err)
			}
		}
		if err != nil { // io.EOF
			return h, nil
		}
	}
}

// readLine adds the Op or the Sample line holds to h. The two have no
// field name in common, so one decoding reads either.
func (h *History) readLine(line []byte) error {
	var either struct {
		Op
		Sample
	}
	if err := json.Unmarshal(line, &either); err != nil {
		return err
	}
	if either.Observed != "" {
		h.samples = append(h.samples, either.Sample)
	} else {
		h.ops = append(h.ops, either.Op)
	}
	return nil
}
