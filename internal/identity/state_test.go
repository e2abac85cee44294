package identity

import (
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

func TestAdvance(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := func(s store.Status, since time.Time) store.Verification {
		return store.Verification{Status: s, Since: since}
	}
	ok := outcome{ok: true}
	bad := outcome{errorType: "HOST_NOT_FOUND"}
	unknown := outcome{unknown: true}
	tests := []struct {
		name      string
		in        store.Verification
		o         outcome
		now       time.Time
		want      store.Status
		wantSince time.Time
	}{
		{"pending passes", v(store.StatusPending, t0), ok, t0.Add(time.Minute), store.StatusSuccess, t0.Add(time.Minute)},
		{"pending fails early", v(store.StatusPending, t0), bad, t0.Add(71 * time.Hour), store.StatusPending, t0},
		{"pending fails at 72h", v(store.StatusPending, t0), bad, t0.Add(72 * time.Hour), store.StatusFailed, t0.Add(72 * time.Hour)},
		{"success stays", v(store.StatusSuccess, t0), ok, t0.Add(time.Hour), store.StatusSuccess, t0},
		{"record disappears", v(store.StatusSuccess, t0), bad, t0.Add(time.Hour), store.StatusTemporaryFailure, t0.Add(time.Hour)},
		{"record returns", v(store.StatusTemporaryFailure, t0), ok, t0.Add(time.Hour), store.StatusSuccess, t0.Add(time.Hour)},
		{"temporary failure at 72h", v(store.StatusTemporaryFailure, t0), bad, t0.Add(72 * time.Hour), store.StatusFailed, t0.Add(72 * time.Hour)},
		{"failed recovers", v(store.StatusFailed, t0), ok, t0.Add(100 * time.Hour), store.StatusSuccess, t0.Add(100 * time.Hour)},
		{"failed stays", v(store.StatusFailed, t0), bad, t0.Add(100 * time.Hour), store.StatusFailed, t0},
		{"dns error leaves success", v(store.StatusSuccess, t0), unknown, t0.Add(time.Hour), store.StatusSuccess, t0},
		{"dns error never fails pending", v(store.StatusPending, t0), unknown, t0.Add(80 * time.Hour), store.StatusPending, t0},
		{"not started", v(store.StatusNotStarted, t0), ok, t0.Add(time.Hour), store.StatusNotStarted, t0},
		{"a pass beats a dns error elsewhere", v(store.StatusPending, t0), outcome{ok: true, unknown: true}, t0.Add(time.Minute), store.StatusSuccess, t0.Add(time.Minute)},
	}
	for _, tc := range tests {
		got := advance(tc.in, tc.o, tc.now)
		if got.Status != tc.want || !got.Since.Equal(tc.wantSince) {
			t.Errorf("%s: got %s since %v, want %s since %v", tc.name, got.Status, got.Since, tc.want, tc.wantSince)
		}
		if tc.in.Status != store.StatusNotStarted && !got.LastChecked.Equal(tc.now) {
			t.Errorf("%s: LastChecked not set", tc.name)
		}
		if tc.o.ok && tc.want == store.StatusSuccess && (!got.LastSuccess.Equal(tc.now) || got.ErrorType != "") {
			t.Errorf("%s: LastSuccess/ErrorType = %v/%q", tc.name, got.LastSuccess, got.ErrorType)
		}
	}
}

func TestNextCheckBacksOff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := store.Verification{Status: store.StatusPending, Since: t0}
	first := nextCheck(p, t0.Add(time.Second)).Sub(t0.Add(time.Second))
	later := nextCheck(p, t0.Add(24*time.Hour)).Sub(t0.Add(24 * time.Hour))
	if first != 10*time.Second || later != time.Hour {
		t.Errorf("pending intervals %v then %v; want 10s then 1h", first, later)
	}
	if d := nextCheck(store.Verification{Status: store.StatusSuccess}, t0).Sub(t0); d != time.Hour {
		t.Errorf("success re-check %v", d)
	}
}
