package identity

import (
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// Window is how long an identity may stay PENDING, or TEMPORARY_FAILURE,
// before it becomes FAILED (reference §9: 72 hours).
const Window = 72 * time.Hour

// outcome is what one check of one verifiable thing found.
type outcome struct {
	// ok: every required record is present and right.
	ok bool
	// unknown: DNS could not answer (SERVFAIL, timeout); the status is left
	// alone because the failure is not the customer's record.
	unknown bool
	// errorType is SES's VerificationError for a failed check.
	errorType string
	records   []store.RecordCheck
}

// advance applies one check's outcome to v at time now; this is the whole
// state machine of reference §9:
//
//	PENDING ──ok──► SUCCESS ──not ok──► TEMPORARY_FAILURE ──ok──► SUCCESS
//	   │                                       │
//	   └── not ok for 72 h ──► FAILED ◄── not ok for 72 h
//
// FAILED stays FAILED until a check passes (SES stops checking; sesame
// keeps checking daily and on request, so a fixed record recovers).
// NOT_STARTED is never advanced.
func advance(v store.Verification, o outcome, now time.Time) store.Verification {
	if v.Status == store.StatusNotStarted {
		return v
	}
	v.LastChecked = now
	v.Records = o.records
	if o.unknown && !o.ok {
		v.ErrorType = "DNS_SERVER_ERROR"
		return v
	}
	if o.ok {
		if v.Status != store.StatusSuccess {
			v.Status, v.Since = store.StatusSuccess, now
		}
		v.LastSuccess, v.ErrorType = now, ""
		return v
	}
	v.ErrorType = o.errorType
	switch v.Status {
	case store.StatusSuccess:
		v.Status, v.Since = store.StatusTemporaryFailure, now
	case store.StatusPending, store.StatusTemporaryFailure:
		if now.Sub(v.Since) >= Window {
			v.Status, v.Since = store.StatusFailed, now
		}
	}
	return v
}

// nextCheck returns when a thing in status v should be checked again:
// often at first, then backing off, so a freshly published record is seen
// within seconds while a forgotten one costs little.
func nextCheck(v store.Verification, now time.Time) time.Time {
	elapsed := now.Sub(v.Since)
	clamp := func(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }
	switch v.Status {
	case store.StatusPending, store.StatusTemporaryFailure:
		return now.Add(clamp(elapsed/12, 10*time.Second, time.Hour))
	case store.StatusSuccess:
		return now.Add(time.Hour)
	case store.StatusFailed:
		return now.Add(24 * time.Hour)
	default:
		return now.Add(365 * 24 * time.Hour)
	}
}
