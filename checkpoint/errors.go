package checkpoint

import (
	"errors"
	"fmt"
	"time"
)

// ErrLocked reports that another process (or another Store in this process)
// holds the state file's lock. The error returned by [Open] names the path.
var ErrLocked = errors.New("state file is in use by another juicebatch process")

// ErrNotState reports that a file exists at the state path but is not a
// juicebatch state file: it is empty, foreign, corrupt, truncated or written
// in an unknown format version. The error returned names the path, the reason
// and what to do.
var ErrNotState = errors.New("not a usable juicebatch state file")

// ErrBudgetSpent reports that an [Attempt] would exceed its daily budget.
// Nothing was written.
var ErrBudgetSpent = errors.New("daily request budget spent")

// stateError carries a complete, human-readable message and matches its
// sentinel (and its cause, when there is one) with errors.Is.
type stateError struct {
	msg   string
	kind  error
	cause error
}

func (e *stateError) Error() string { return e.msg }

func (e *stateError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// notState builds an ErrNotState error for path. reason says what is wrong
// with the file in a few words.
func notState(path, reason string, cause error) error {
	return &stateError{
		msg: fmt.Sprintf("checkpoint: %s is not a usable juicebatch state file (%s); "+
			"move it aside or point juicebatch at another state file (a missing one is created), "+
			"or restore it from a backup", path, reason),
		kind:  ErrNotState,
		cause: cause,
	}
}

func locked(path string, waited time.Duration) error {
	return &stateError{
		msg:  fmt.Sprintf("checkpoint: state file %s is in use by another juicebatch process (waited %s)", path, waited),
		kind: ErrLocked,
	}
}

// corruptRecord is returned by the decoders; the transaction wrappers turn it
// into a notState error that names the file.
type corruptRecord struct {
	what   string
	reason string
}

func (e *corruptRecord) Error() string {
	return fmt.Sprintf("corrupt %s record: %s", e.what, e.reason)
}
