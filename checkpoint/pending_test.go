package checkpoint

import (
	"slices"
	"testing"
	"time"
)

// marks are pending marks for ids, in that order.
func marks(ids ...string) []PendingMark {
	out := make([]PendingMark, len(ids))
	for i, id := range ids {
		out[i] = PendingMark{CustomerID: id, Order: i + 1}
	}
	return out
}

func TestPendingMarks(t *testing.T) {
	s, _ := openTest(t, Options{})
	const scope = "https://api.example.com test_abc"
	night1, night2 := day0, day0.Add(24*time.Hour)

	before, err := s.MarkPending(scope, marks("c-3", "c-1", "c-2", ""), night1, 1)
	if err != nil || !slices.Equal(before, []bool{false, false, false, false}) {
		t.Fatalf("MarkPending(night 1) = %v, %v; want none pending before", before, err)
	}
	// The next night: c-1 is still pending (keeps night 1), c-4 is new.
	before, err = s.MarkPending(scope, marks("c-1", "c-4"), night2, 2)
	if err != nil || !slices.Equal(before, []bool{true, false}) {
		t.Fatalf("MarkPending(night 2) = %v, %v; want c-1 pending before", before, err)
	}
	// Marked again by the same invocation: not "before".
	if before, err = s.MarkPending(scope, marks("c-4"), night2, 2); err != nil || before[0] {
		t.Fatalf("MarkPending(again) = %v, %v; want not pending before", before, err)
	}
	if since, ok, err := s.PendingSince(scope, "c-1"); err != nil || !ok || !since.Equal(night1) {
		t.Errorf("PendingSince(c-1) = %s, %v, %v; want night 1", since, ok, err)
	}
	if _, ok, err := s.PendingSince("other scope", "c-1"); err != nil || ok {
		t.Errorf("PendingSince(other scope) = %v, %v; want none", ok, err)
	}

	tests := []struct {
		n    int
		want []string
	}{
		{0, nil},
		// Ties go by the order the marking run met them in: c-3 first.
		{2, []string{"c-3", "c-1"}},
		{3, []string{"c-3", "c-1", "c-2"}},
		{10, []string{"c-3", "c-1", "c-2", "c-4"}},
	}
	for _, tt := range tests {
		marks, err := s.OldestPending(scope, tt.n)
		var got []string
		for _, m := range marks {
			got = append(got, m.CustomerID)
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("OldestPending(%d) = %v, %v; want %v", tt.n, got, err, tt.want)
		}
	}

	st, err := s.PendingStats(scope)
	if err != nil || st.Count != 4 || !st.Oldest.Equal(night1) {
		t.Errorf("PendingStats = %+v, %v; want 4 since night 1", st, err)
	}
	// An applied update clears its customer's mark in the same transaction.
	l := s.RunLog("run-1")
	r := row(1)
	r.CustomerID, r.Outcome = "c-1", "updated"
	if err := l.Outcome([]Row{r}, &AppliedUpdate{Scope: scope, CustomerID: "c-1", Fields: map[string][32]byte{"email": {1}}, At: night2}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.PendingSince(scope, "c-1"); ok {
		t.Errorf("c-1 still pending after its update was applied")
	}
	// A sweep by invocation 2 drops what it did not mark (c-2, c-3).
	if n, err := s.SweepPending(scope, 2); err != nil || n != 2 {
		t.Errorf("SweepPending = %d, %v; want 2", n, err)
	}
	if err := s.SetChurn(scope, 150, night2); err != nil {
		t.Fatal(err)
	}
	all, err := s.Backlogs()
	if err != nil || len(all) != 1 || all[0].Count != 1 || !all[0].Oldest.Equal(night2) || all[0].Churn != 150 || !all[0].ChurnAt.Equal(night2) {
		t.Errorf("Backlogs = %+v, %v; want c-4 since night 2, churn 150", all, err)
	}
}

func TestPendingReadOnly(t *testing.T) {
	s, path := openTest(t, Options{})
	if _, err := s.MarkPending("scope", marks("c-1"), day0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkPending("", marks("c-1"), day0, 1); err == nil {
		t.Errorf("MarkPending with an empty scope: no error")
	}
	s.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if st, err := ro.PendingStats("scope"); err != nil || st.Count != 1 {
		t.Errorf("read-only PendingStats = %+v, %v", st, err)
	}
	if _, err := ro.MarkPending("scope", marks("c-2"), day0, 2); err == nil {
		t.Errorf("MarkPending on a read-only store: no error")
	}
}
