package batch

// planRows is plan's row store: one byte a row, its outcome and whether its
// update clears address fields only because the address is replaced whole.
// Plan decides every row without a request, so nothing has to survive a
// crash, and a million-row plan keeps a megabyte instead of a database; the
// report pass recomputes the few texts it needs.
type planRows struct {
	codes []byte // index: row number - 1
}

const (
	planInvalid byte = 1 + iota
	planUnchanged
	planWouldUpdate
	planImplied byte = 0x80 // flag: the row's note names implied clears
)

func (p *planRows) put(num int, outcome string, implied bool) {
	var c byte
	switch outcome {
	case outInvalid:
		c = planInvalid
	case outUnchanged:
		c = planUnchanged
	case outWouldUpdate:
		c = planWouldUpdate
	}
	if implied && c == planWouldUpdate {
		c |= planImplied
	}
	for len(p.codes) < num {
		p.codes = append(p.codes, 0)
	}
	p.codes[num-1] = c
}

// get returns a row's outcome ("" when it was not decided) and the flag.
func (p *planRows) get(num int) (string, bool) {
	if num < 1 || num > len(p.codes) {
		return "", false
	}
	c := p.codes[num-1]
	implied := c&planImplied != 0
	switch c &^ planImplied {
	case planInvalid:
		return outInvalid, false
	case planUnchanged:
		return outUnchanged, false
	case planWouldUpdate:
		return outWouldUpdate, implied
	}
	return "", false
}
