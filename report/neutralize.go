package report

import "strings"

// Neutralize guards a CSV cell against spreadsheet formula injection: a cell
// that begins with '=', '+', '-', '@', TAB or CR is returned with a leading
// apostrophe; any other cell is returned as is. See the package doc for the
// reader's inverse rule, which makes the pair round-trip.
func Neutralize(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// isErrorName reports whether a header cell or JSON key names the
// juicebatch_error column, matched as the reader matches headers: case and
// surrounding spaces ignored (a leading BOM too, should the caller pass one).
func isErrorName(s string) bool {
	s = strings.TrimPrefix(s, "\uFEFF")
	return strings.EqualFold(strings.TrimSpace(s), ErrorColumn)
}
