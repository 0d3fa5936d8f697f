package live

import "fmt"

// Method is how the customers a run must read are read.
type Method int

const (
	// Singles reads each customer with GET /customers/{id}.
	Singles Method = iota
	// Pages lists the account, 100 records a request.
	Pages
)

func (m Method) String() string {
	if m == Pages {
		return "list pages"
	}
	return "single reads"
}

// Choice is the cost decision for one run, with its reasons.
type Choice struct {
	Method Method
	// PageLimit, for Pages, is how many pages the listing may read before
	// the rest is read one by one: the account's size is not known, and
	// past that many pages single reads would have been cheaper. 0 means
	// no limit (the size is known).
	PageLimit int
	// Wanted is the estimated number of customers to read; Known the
	// account's size the state remembers (-1 when it remembers none).
	Wanted, Known int
	// Estimate is the expected number of read requests.
	Estimate int
}

// Reason is the choice as a log line's message.
func (c Choice) Reason() string {
	switch {
	case c.Method == Singles && c.Known >= 0:
		return fmt.Sprintf("reading %d customers one by one: fewer requests than listing the account's %d customers (%d pages)", c.Wanted, c.Known, Pages1(c.Known))
	case c.Method == Singles:
		return fmt.Sprintf("reading %d customers one by one", c.Wanted)
	case c.Known >= 0:
		return fmt.Sprintf("listing the account (%d customers, %d pages) to read %d customers", c.Known, Pages1(c.Known), c.Wanted)
	}
	return fmt.Sprintf("listing the account to read %d customers (its size is not known yet; after %d pages the rest is read one by one)", c.Wanted, c.PageLimit)
}

// Pages1 is how many list requests an account of n customers takes.
func Pages1(n int) int {
	if n <= 0 {
		return 1
	}
	return (n + PageSize - 1) / PageSize
}

// Choose picks the cheaper way to read wanted customers of an account of
// known customers (-1: unknown). Listing reads every customer of the
// account, 100 a request; single reads cost one a customer. With the size
// unknown, a listing is tried when it may be cheaper (more than one page's
// worth wanted) and capped at wanted-1 pages, so that it never costs more
// than about twice the single reads: the worst case of not knowing.
func Choose(wanted, known int) Choice {
	c := Choice{Wanted: wanted, Known: known}
	switch {
	case wanted <= 1:
		c.Method, c.Estimate = Singles, wanted
	case known >= 0:
		if p := Pages1(known); p < wanted {
			c.Method, c.Estimate = Pages, p
		} else {
			c.Method, c.Estimate = Singles, wanted
		}
	case wanted > PageSize/2:
		c.Method, c.PageLimit = Pages, wanted-1
		c.Estimate = Pages1(wanted)
	default:
		c.Method, c.Estimate = Singles, wanted
	}
	return c
}
