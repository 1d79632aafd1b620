package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
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
// large run's effect lists every id it showed. Lines are decoded on
// every core, in chunks, and kept in the order read.
func ReadJSONL(r io.Reader) (*History, error) {
	work := make(chan *chunk)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range work {
				c.decode()
			}
		})
	}
	var chunks []*chunk
	err := readChunks(r, func(c *chunk) {
		chunks = append(chunks, c)
		work <- c
	})
	close(work)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	h := &History{}
	var nops, nsamples int
	for _, c := range chunks {
		if c.err != nil {
			return nil, c.err
		}
		nops, nsamples = nops+len(c.ops), nsamples+len(c.samples)
	}
	h.ops, h.samples = make([]Op, 0, nops), make([]Sample, 0, nsamples)
	for _, c := range chunks {
		h.ops, h.samples = append(h.ops, c.ops...), append(h.samples, c.samples...)
	}
	return h, nil
}

// chunkBytes is about how much of a history one chunk holds.
const chunkBytes = 256 << 10

// chunk is lines of a history, each with its number, then what they
// hold once decoded.
type chunk struct {
	text    []byte
	ends    []int // where each line ends in text
	numbers []int
	ops     []Op
	samples []Sample
	err     error
}

// readChunks reads r's lines, blank ones left out, and hands them to
// each in chunks, in order.
func readChunks(r io.Reader, each func(*chunk)) error {
	br := bufio.NewReaderSize(r, 64*1024)
	fresh := func() *chunk { return &chunk{text: make([]byte, 0, chunkBytes+br.Size())} }
	c := fresh()
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) { // a long line: read on
			c.text = append(c.text, line...)
			line, err = br.ReadSlice('\n')
		}
		c.text = append(c.text, line...)
		start := 0
		if k := len(c.ends); k > 0 {
			start = c.ends[k-1]
		}
		if len(bytes.TrimSpace(c.text[start:])) == 0 {
			c.text = c.text[:start]
		} else {
			c.ends, c.numbers = append(c.ends, len(c.text)), append(c.numbers, n)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(c.text) >= chunkBytes || err != nil {
			if len(c.ends) > 0 {
				each(c)
			}
			c = fresh()
		}
		if err != nil { // io.EOF
			return nil
		}
	}
}

// decode decodes c's lines, each an Op or a Sample (the two have no
// field name in common, so one decoding reads either), up to the first
// that is neither.
func (c *chunk) decode() {
	start := 0
	for i, end := range c.ends {
		var either struct {
			Op
			Sample
		}
		if err := json.Unmarshal(c.text[start:end], &either); err != nil {
			c.err = fmt.Errorf("read history line %d: %w", c.numbers[i], err)
			break
		}
		if either.Observed != "" {
			c.samples = append(c.samples, either.Sample)
		} else {
			c.ops = append(c.ops, either.Op)
		}
		start = end
	}
	c.text, c.ends, c.numbers = nil, nil, nil
}
