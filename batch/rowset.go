package batch

// rowSet is a set of row numbers (bit n-1 for row n): an eighth of a byte a
// row of the file, whatever the rows hold. It is not safe for concurrent
// use; the runner guards its sets with its mutex.
type rowSet []uint64

// add puts row num (>= 1) in the set.
func (s *rowSet) add(num int) {
	if num < 1 {
		return
	}
	w := (num - 1) / 64
	if w >= len(*s) {
		*s = append(*s, make([]uint64, w+1-len(*s))...)
	}
	(*s)[w] |= 1 << ((num - 1) % 64)
}

// has reports whether row num is in the set.
func (s rowSet) has(num int) bool {
	w := (num - 1) / 64
	return num >= 1 && w < len(s) && s[w]&(1<<((num-1)%64)) != 0
}
