package checkpoint

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestRejections(t *testing.T) {
	s, path := openTest(t, Options{})
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.FixedZone("x", 3600))
	want := Rejection{BodyDigest: sha256.Sum256([]byte(`{"email":"a@b.c"}`)), Status: 404, Error: "404 not_found", RunID: "r1", At: at}
	if _, ok, err := s.RejectionOf("scope", "c-1"); ok || err != nil {
		t.Fatalf("RejectionOf on an empty state = %v, %v; want none", ok, err)
	}
	if err := s.PutRejection("scope", "c-1", want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.RejectionOf("scope", "c-1")
	if err != nil || !ok || got.BodyDigest != want.BodyDigest || got.Status != 404 || got.Error != want.Error || got.RunID != "r1" || !got.At.Equal(at) || got.At.Location() != time.UTC {
		t.Errorf("RejectionOf after reopening = %+v, %v, %v; want %+v in UTC", got, ok, err, want)
	}
	if _, ok, _ := s.RejectionOf("other scope", "c-1"); ok {
		t.Error("a rejection in one scope shows in another")
	}
	s.Close()
	s, _ = Open(path, Options{})
	defer s.Close()
	if err := s.ForgetRejection("scope", "c-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.RejectionOf("scope", "c-1"); ok {
		t.Error("ForgetRejection left the rejection")
	}
}

func TestReadsAndListings(t *testing.T) {
	s, _ := openTest(t, Options{})
	for _, a := range []struct {
		fp, day string
		n       int
	}{{"test_1", "2026-12-01", 3}, {"test_1", "2026-12-01", 2}, {"test_1", "2026-12-02", 1}, {"live_2", "2026-12-01", 7}} {
		if err := s.AddReads(a.fp, a.day, a.n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Reads()
	if err != nil {
		t.Fatal(err)
	}
	want := []Quota{{"live_2", "2026-12-01", 7}, {"test_1", "2026-12-01", 5}, {"test_1", "2026-12-02", 1}}
	if len(got) != len(want) {
		t.Fatalf("Reads() = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Reads()[%d] = %v; want %v", i, got[i], want[i])
		}
	}
	if _, _, ok, err := s.Listing("scope"); ok || err != nil {
		t.Errorf("Listing on an empty state = %v, %v; want none", ok, err)
	}
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	if err := s.PutListing("scope", 330, at); err != nil {
		t.Fatal(err)
	}
	if n, when, ok, err := s.Listing("scope"); n != 330 || !when.Equal(at) || !ok || err != nil {
		t.Errorf("Listing = %d, %s, %v, %v; want 330 at %s", n, when, ok, err, at)
	}
}
