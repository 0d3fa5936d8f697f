package batch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// planRows is plan's row store. Plan decides every row without a request,
// so nothing has to survive a crash, and a million-row plan keeps one byte a
// row in memory instead of a database: the outcome, and which address keys
// the update clears only because the address is replaced whole. The texts
// of invalid rows and the warnings of others, known in file order, go to a
// spool file beside the report and are read back in the same order by the
// report pass.
type planRows struct {
	codes []byte // index: row number - 1

	spool  *os.File
	w      *bufio.Writer
	r      *bufio.Reader
	next   int // the row number of the next spooled text, 0 when none is read
	text   string
	warns  string
	reader bool
}

const (
	planInvalid byte = 1 + iota
	planUnchanged
	planWouldUpdate
	planOutcomeBits byte = 0x03
)

// addressKeys are the keys an implied clear can name, by bit (from bit 2).
var addressKeys = [...]string{
	"billing_address.line1", "billing_address.line2", "billing_address.city",
	"billing_address.state", "billing_address.zip_code", "billing_address.country",
}

func newPlanRows(dir string) (*planRows, error) {
	f, err := os.CreateTemp(dir, ".plan-errors-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create plan spool in %s: %w", dir, err)
	}
	return &planRows{spool: f, w: bufio.NewWriter(f)}, nil
}

// close removes the spool.
func (p *planRows) close() {
	p.spool.Close()
	os.Remove(p.spool.Name())
}

// put records a row's outcome; implied names the address keys its update
// clears only because the address is replaced whole; text is an invalid
// row's reason; warnings the row's warnings. Rows come in file order.
func (p *planRows) put(num int, outcome string, implied []string, text, warnings string) error {
	var c byte
	switch outcome {
	case outInvalid:
		c = planInvalid
	case outUnchanged:
		c = planUnchanged
	case outWouldUpdate:
		c = planWouldUpdate
	}
	for _, k := range implied {
		if i := slices.Index(addressKeys[:], k); i >= 0 {
			c |= 1 << (2 + i)
		}
	}
	for len(p.codes) < num {
		p.codes = append(p.codes, 0)
	}
	p.codes[num-1] = c
	if text == "" && warnings == "" {
		return nil
	}
	// A spooled row: its number, then each text with its length first.
	var hdr [binary.MaxVarintLen64]byte
	if _, err := p.w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(num))]); err != nil {
		return fmt.Errorf("write plan spool: %w", err)
	}
	for _, s := range [...]string{text, warnings} {
		if _, err := p.w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(s)))]); err != nil {
			return fmt.Errorf("write plan spool: %w", err)
		}
		if _, err := p.w.WriteString(s); err != nil {
			return fmt.Errorf("write plan spool: %w", err)
		}
	}
	return nil
}

// get returns a row's outcome ("" when it was not decided), the address
// keys it clears by implication, and its spooled text and warnings. Calls
// must come in increasing row order (the report pass's).
func (p *planRows) get(num int) (outcome string, implied []string, text, warnings string, err error) {
	if num >= 1 && num <= len(p.codes) {
		c := p.codes[num-1]
		switch c & planOutcomeBits {
		case planInvalid:
			outcome = outInvalid
		case planUnchanged:
			outcome = outUnchanged
		case planWouldUpdate:
			outcome = outWouldUpdate
		}
		for i, k := range addressKeys {
			if c&(1<<(2+i)) != 0 {
				implied = append(implied, k)
			}
		}
	}
	if !p.reader {
		if err := p.w.Flush(); err != nil {
			return "", nil, "", "", fmt.Errorf("flush plan spool: %w", err)
		}
		if _, err := p.spool.Seek(0, io.SeekStart); err != nil {
			return "", nil, "", "", fmt.Errorf("rewind plan spool: %w", err)
		}
		p.r, p.reader = bufio.NewReader(p.spool), true
	}
	for p.r != nil && (p.next == 0 || p.next < num) {
		if err := p.readNext(); err != nil {
			return "", nil, "", "", err
		}
	}
	if p.next == num {
		text, warnings = p.text, p.warns
	}
	return outcome, implied, text, warnings, nil
}

func (p *planRows) readNext() error {
	num, err := binary.ReadUvarint(p.r)
	if errors.Is(err, io.EOF) {
		p.r, p.next = nil, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("read plan spool: %w", err)
	}
	var texts [2]string
	for i := range texts {
		n, err := binary.ReadUvarint(p.r)
		if err != nil {
			return fmt.Errorf("read plan spool: %w", err)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.r, buf); err != nil {
			return fmt.Errorf("read plan spool: %w", err)
		}
		texts[i] = string(buf)
	}
	p.next, p.text, p.warns = int(num), texts[0], texts[1]
	return nil
}
